//! Finding inputs and planning outputs. Pure apart from reading directory listings, file
//! metadata and (only when the naming template needs image sizes) image headers.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::pipeline::decode;
use super::recipe::{OnExist, OutputFormat, ParseError, Recipe};

/// File extensions picked up as images (compared without regard to case).
pub const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff", "qoi",
];

/// Whether `path` has one of [`IMAGE_EXTENSIONS`].
pub fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(OsStr::to_str)
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// An input file found by the scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The path as found (the user's input joined with the relative path).
    pub path: PathBuf,
    /// Index of the input argument this came from.
    pub root: usize,
    /// Path relative to its input folder (just the file name for a single-file input).
    pub rel: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
    /// Why this file will not be converted even though its name looks like an image.
    pub skip: Option<String>,
}

/// Something the scan could not read; the scan goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanWarning {
    /// Where.
    pub path: PathBuf,
    /// What went wrong, for people.
    pub reason: String,
}

/// The result of scanning the inputs.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// The input arguments, as given.
    pub roots: Vec<PathBuf>,
    /// Image-named files, sorted by (root, relative path).
    pub found: Vec<Found>,
    /// Folders or entries that could not be read, symlink loops and the like.
    pub warnings: Vec<ScanWarning>,
    /// Files ignored because their extension is not an image's (counted for display).
    pub ignored: usize,
}

/// Options for [`scan`].
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Descend into sub-folders.
    pub recursive: bool,
    /// Folders never scanned as input (the output folder).
    pub exclude: Vec<PathBuf>,
}

/// Why the scan could not start.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// An input argument does not exist or cannot be read.
    #[error("{path}: {reason}")]
    Input {
        /// The input as given.
        path: PathBuf,
        /// Why it is unusable.
        reason: String,
    },
}

/// Describes a non-regular file type for a skip reason.
fn odd_file_kind(ft: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_block_device() || ft.is_char_device() {
            return "a device";
        }
    }
    if ft.is_dir() {
        return "a folder";
    }
    "not a regular file"
}

/// Makes a path absolute and resolves links as far as the path exists, so two spellings of one
/// folder compare equal.
pub fn resolve(path: &Path) -> PathBuf {
    if let Ok(p) = fs::canonicalize(path) {
        return p;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => resolve(parent).join(name),
        _ => std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf()),
    }
}

/// Examines one image-named entry without opening it (opening a FIFO would block).
fn examine(path: &Path) -> (u64, Option<String>) {
    match fs::metadata(path) {
        Ok(m) if m.is_file() => (m.len(), None),
        Ok(m) => (
            0,
            Some(format!("not converted: {}", odd_file_kind(&m.file_type()))),
        ),
        Err(e) => (0, Some(format!("cannot read file metadata: {e}"))),
    }
}

/// Lists the image files under each input. Never opens a file, so FIFOs and devices cannot hang
/// it; symlinked folders are followed and loops reported as warnings.
pub fn scan(inputs: &[PathBuf], options: &ScanOptions) -> Result<Scan, ScanError> {
    let exclude: Vec<PathBuf> = options.exclude.iter().map(|p| resolve(p)).collect();
    let mut out = Scan {
        roots: inputs.to_vec(),
        ..Scan::default()
    };
    let mut seen: HashSet<PathBuf> = HashSet::new();
    for (root_index, input) in inputs.iter().enumerate() {
        let meta = fs::metadata(input).map_err(|e| ScanError::Input {
            path: input.clone(),
            reason: e.to_string(),
        })?;
        if !meta.is_dir() {
            let (bytes, skip) = examine(input);
            let rel = PathBuf::from(input.file_name().unwrap_or(input.as_os_str()));
            if inputs.len() == 1 || seen.insert(resolve(input)) {
                out.found.push(Found {
                    path: input.clone(),
                    root: root_index,
                    rel,
                    bytes,
                    skip,
                });
            }
            continue;
        }
        let walker = walkdir::WalkDir::new(input)
            .follow_links(true)
            .max_depth(if options.recursive { usize::MAX } else { 1 })
            .into_iter()
            .filter_entry(|e| {
                e.depth() == 0
                    || !e.file_type().is_dir()
                    || !exclude.iter().any(|x| *x == resolve(e.path()))
            });
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = e.path().unwrap_or(input).to_path_buf();
                    let reason = if e.loop_ancestor().is_some() {
                        "symlink loop; not followed".to_owned()
                    } else {
                        e.io_error()
                            .map_or_else(|| e.to_string(), |io| io.to_string())
                    };
                    out.warnings.push(ScanWarning { path, reason });
                    continue;
                }
            };
            if entry.file_type().is_dir() {
                continue;
            }
            if !has_image_extension(entry.path()) {
                out.ignored += 1;
                continue;
            }
            if inputs.len() > 1 && !seen.insert(resolve(entry.path())) {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(input)
                .map(Path::to_path_buf)
                .unwrap_or_else(|_| PathBuf::from(entry.file_name()));
            let (bytes, skip) = examine(entry.path());
            out.found.push(Found {
                path: entry.path().to_path_buf(),
                root: root_index,
                rel,
                bytes,
                skip,
            });
        }
    }
    out.found
        .sort_by(|a, b| (a.root, &a.rel).cmp(&(b.root, &b.rel)));
    Ok(out)
}

/// One of N deterministic, disjoint parts of a batch (`K/N`, 1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which part, 1..=count.
    pub index: u32,
    /// How many parts.
    pub count: u32,
}

impl FromStr for Shard {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseError(format!("'{s}' is not a shard; use K/N with 1 <= K <= N"));
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether the input at relative path `rel` belongs to this shard. Decided by a stable hash
    /// of the path, so every host agrees without talking to the others, and a file keeps its
    /// shard when others are added.
    pub fn contains(&self, rel: &Path) -> bool {
        fnv1a(&path_bytes(rel)) % u64::from(self.count) == u64::from(self.index - 1)
    }
}

fn path_bytes(p: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        p.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        p.to_string_lossy().replace('\\', "/").into_bytes()
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What the pool does with a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Convert it.
    Convert,
    /// Report it as skipped with this reason; never touch it.
    Skip(String),
}

/// One input and everything decided about it before any work starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The source file (never opened for writing).
    pub input: PathBuf,
    /// Where the result goes.
    pub output: PathBuf,
    /// The concrete output format.
    pub format: OutputFormat,
    /// Source size in bytes.
    pub input_bytes: u64,
    /// Convert or skip.
    pub action: Action,
    /// Anything the report should say about how the output was named.
    pub note: Option<String>,
}

/// Every job of a batch, in a fixed order.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The jobs (only this shard's, when sharded).
    pub jobs: Vec<Job>,
    /// Warnings from the scan.
    pub warnings: Vec<ScanWarning>,
    /// Image-named inputs across all shards.
    pub total_inputs: usize,
}

/// Options for [`plan`] besides the recipe.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The output folder.
    pub out_dir: PathBuf,
    /// Only this part of the batch.
    pub shard: Option<Shard>,
}

/// Renders the naming template for one input.
pub fn render_name(
    template: &str,
    stem: &OsStr,
    ext: &OsStr,
    size: (u32, u32),
    n: usize,
) -> OsString {
    let mut out = OsString::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push(&rest[..open]);
        let tail = &rest[open..];
        let Some(close) = tail.find('}') else {
            out.push(tail);
            return out;
        };
        match &tail[..=close] {
            "{stem}" => out.push(stem),
            "{ext}" => out.push(ext),
            "{w}" => out.push(size.0.to_string()),
            "{h}" => out.push(size.1.to_string()),
            "{n}" => out.push(n.to_string()),
            other => out.push(other),
        }
        rest = &tail[close + 1..];
    }
    out.push(rest);
    out
}

fn with_suffix(base: &OsStr, k: usize, ext: &str) -> OsString {
    let mut name = base.to_os_string();
    name.push(format!("-{k}.{ext}"));
    name
}

/// Decides every job's output before any work: mirrored folders, the naming template, distinct
/// names for inputs that would land on one output, the on-exist policy and the shard.
pub fn plan(scan: &Scan, recipe: &Recipe, options: &PlanOptions) -> Plan {
    let out_dir = &options.out_dir;
    let out_resolved = resolve(out_dir);
    // Resolved input folders (None for single-file inputs).
    let root_dirs: Vec<Option<PathBuf>> = scan
        .roots
        .iter()
        .map(|r| {
            fs::metadata(r)
                .is_ok_and(|m| m.is_dir())
                .then(|| resolve(r))
        })
        .collect();
    // Every original's resolved path: an output must never land on one.
    let originals: HashSet<PathBuf> = scan
        .found
        .iter()
        .map(|f| match root_dirs.get(f.root) {
            Some(Some(root)) => root.join(&f.rel),
            _ => resolve(&f.path),
        })
        .collect();

    struct Draft {
        dir: PathBuf,
        base: OsString,
        format: OutputFormat,
    }
    let drafts: Vec<Draft> = scan
        .found
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let ext = f.rel.extension().unwrap_or_default();
            let format = recipe.format.resolve(&ext.to_string_lossy());
            let size = if recipe.name_needs_size() && f.skip.is_none() {
                decode::probe(&f.path)
                    .map(|(w, h)| match recipe.resize {
                        Some(spec) => spec.geometry(w, h, recipe.allow_upscale).output,
                        None => (w, h),
                    })
                    .unwrap_or((0, 0))
            } else {
                (0, 0)
            };
            let stem = f.rel.file_stem().unwrap_or_default();
            let base = render_name(&recipe.name_template, stem, ext, size, i + 1);
            let dir = match f.rel.parent() {
                Some(p) => out_dir.join(p),
                None => out_dir.clone(),
            };
            Draft { dir, base, format }
        })
        .collect();

    let file_name = |d: &Draft| {
        let mut name = d.base.clone();
        name.push(".");
        name.push(d.format.extension().unwrap_or("png"));
        name
    };
    let natural: Vec<PathBuf> = drafts.iter().map(|d| d.dir.join(file_name(d))).collect();
    let taken: HashSet<&PathBuf> = natural.iter().collect();
    let mut assigned: HashSet<PathBuf> = HashSet::new();
    let mut first_owner: HashMap<PathBuf, usize> = HashMap::new();
    let mut outputs: Vec<(PathBuf, Option<String>)> = Vec::with_capacity(natural.len());
    for (i, (path, draft)) in natural.iter().zip(&drafts).enumerate() {
        if assigned.insert(path.clone()) {
            first_owner.insert(path.clone(), i);
            outputs.push((path.clone(), None));
            continue;
        }
        let ext = draft.format.extension().unwrap_or("png");
        let renamed = (1..)
            .map(|k| draft.dir.join(with_suffix(&draft.base, k, ext)))
            .find(|c| !taken.contains(c) && !assigned.contains(c))
            .unwrap_or_else(|| path.clone());
        assigned.insert(renamed.clone());
        let other = first_owner
            .get(path)
            .and_then(|&j| scan.found.get(j))
            .map(|f| f.path.display().to_string())
            .unwrap_or_default();
        let note = format!(
            "renamed to {} because {} is also the output of {}",
            display_name(&renamed),
            display_name(path),
            other
        );
        outputs.push((renamed, Some(note)));
    }

    let mut jobs = Vec::new();
    for ((f, draft), (output, note)) in scan.found.iter().zip(&drafts).zip(outputs) {
        if let Some(shard) = options.shard
            && !shard.contains(&f.rel)
        {
            continue;
        }
        let mut job = Job {
            input: f.path.clone(),
            output,
            format: draft.format,
            input_bytes: f.bytes,
            action: Action::Convert,
            note,
        };
        let resolved_out =
            out_resolved.join(job.output.strip_prefix(out_dir).unwrap_or(&job.output));
        if let Some(reason) = &f.skip {
            job.action = Action::Skip(reason.clone());
        } else if originals.contains(&resolved_out) {
            job.action = Action::Skip(
                "the output would replace an original; choose another output folder or name".into(),
            );
        } else if fs::symlink_metadata(&job.output).is_ok() {
            match recipe.on_exist {
                OnExist::Skip => job.action = Action::Skip("output exists".into()),
                OnExist::Overwrite => {}
                OnExist::Rename => {
                    let ext = draft.format.extension().unwrap_or("png");
                    if let Some(free) = (1..)
                        .map(|k| draft.dir.join(with_suffix(&draft.base, k, ext)))
                        .find(|c| !assigned.contains(c) && fs::symlink_metadata(c).is_err())
                    {
                        job.note = Some(format!(
                            "renamed to {} because {} exists",
                            display_name(&free),
                            display_name(&job.output)
                        ));
                        assigned.insert(free.clone());
                        job.output = free;
                    }
                }
            }
        }
        jobs.push(job);
    }
    Plan {
        jobs,
        warnings: scan.warnings.clone(),
        total_inputs: scan.found.len(),
    }
}

fn display_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
