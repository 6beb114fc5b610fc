//! Deciding every output before any work starts: mirrored folders, the naming template,
//! distinct names for inputs that would land on one output, the on-exist policy and shards.
//! Pure apart from file metadata and (only when the template needs image sizes) headers.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::durable;
use super::format::Format;
use super::header;
use super::job::{Action, Job};
use super::recipe::{OnExist, ParseError, Recipe};
use super::scan::{Scan, ScanWarning, resolve};

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

/// The folders the jobs write into, each once.
pub fn output_dirs(jobs: &[Job]) -> std::collections::BTreeSet<PathBuf> {
    jobs.iter()
        .filter(|j| j.action == Action::Convert)
        .filter_map(|j| j.output.parent().map(Path::to_path_buf))
        .collect()
}

/// Removes what interrupted runs left in the jobs' output folders (see
/// [`durable::remove_stale_temps`]); returns how many files.
pub fn sweep_stale_temps(jobs: &[Job]) -> usize {
    output_dirs(jobs)
        .iter()
        .map(|d| durable::remove_stale_temps(d))
        .sum()
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
        format: Format,
    }
    let drafts: Vec<Draft> = scan
        .found
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let ext = f.rel.extension().unwrap_or_default();
            let format = recipe.format.resolve(&ext.to_string_lossy());
            let size = if recipe.name_template.needs_size() && f.skip.is_none() {
                header::probe(&f.path)
                    .map(|h| h.size)
                    .map(|(w, h)| match recipe.resize {
                        Some(spec) => spec.geometry(w, h, recipe.allow_upscale).output,
                        None => (w, h),
                    })
                    .unwrap_or((0, 0))
            } else {
                (0, 0)
            };
            let stem = f.rel.file_stem().unwrap_or_default();
            let base = recipe.name_template.render(stem, ext, size, i + 1);
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
        name.push(d.format.extension());
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
        let ext = draft.format.extension();
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
                    let ext = draft.format.extension();
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
