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
use super::hash::fnv1a;
use super::header;
use super::job::{Action, Job, Note, SkipReason};
use super::journal::{self, Entry, Journal, OutStat, Verdict};
use super::options;
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

/// What `--shard` was given: a part, or `auto` (optionally `auto/N`) to take it from the
/// scheduler the process runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardChoice {
    /// `K/N`.
    Fixed(Shard),
    /// `auto` or `auto/N`: the part comes from the scheduler's environment; N, when given, is
    /// the count (Kubernetes has no variable for it) or a check of the scheduler's.
    Auto(Option<u32>),
}

impl FromStr for ShardChoice {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t == "auto" {
            return Ok(ShardChoice::Auto(None));
        }
        if let Some(n) = t.strip_prefix("auto/") {
            return match n.trim().parse::<u32>() {
                Ok(n) if n > 0 => Ok(ShardChoice::Auto(Some(n))),
                _ => Err(ParseError(format!(
                    "'{s}' is not a shard; use auto/N with N >= 1 (the number of parts)"
                ))),
            };
        }
        s.parse().map(ShardChoice::Fixed)
    }
}

/// The scheduler variables `--shard auto` reads, for its error message.
pub const SCHEDULER_VARIABLES: &str = "SLURM_ARRAY_TASK_ID (Slurm job array), \
    JOB_COMPLETION_INDEX (Kubernetes indexed Job), AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job)";

impl ShardChoice {
    /// The shard this process takes, reading scheduler variables through `var` (the process's
    /// environment in use). `Ok(None)` is no shard at all.
    pub fn resolve(self, var: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, String> {
        let count = match self {
            ShardChoice::Fixed(s) => return Ok(Some(s)),
            ShardChoice::Auto(count) => count,
        };
        let number = |name: &str| -> Result<Option<u64>, String> {
            match var(name) {
                None => Ok(None),
                Some(v) if v.trim().is_empty() => Ok(None),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| format!("--shard auto: {name}={v} is not a whole number")),
            }
        };
        // (scheduler, 0-based index, count if the scheduler says)
        let found: (&str, u64, Option<u64>) = if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
            let step = number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
            let (count, max) = (
                number("SLURM_ARRAY_TASK_COUNT")?,
                number("SLURM_ARRAY_TASK_MAX")?,
            );
            // The first task's id: told, or worked out from the last and the count.
            let min = match (number("SLURM_ARRAY_TASK_MIN")?, max, count) {
                (Some(min), _, _) => min,
                (None, Some(max), Some(n)) if n > 0 => {
                    max.saturating_sub((n - 1).saturating_mul(step))
                }
                _ => {
                    return Err("--shard auto: Slurm sets SLURM_ARRAY_TASK_ID but not \
                                SLURM_ARRAY_TASK_MIN, so the first task is unknown"
                        .into());
                }
            };
            let n = match (count, max) {
                (Some(n), _) => Some(n),
                (None, Some(max)) if max >= min => Some((max - min) / step + 1),
                _ => None,
            };
            if id < min || (id - min) % step != 0 {
                return Err(format!(
                    "--shard auto: SLURM_ARRAY_TASK_ID={id} is not in the array \
                     (SLURM_ARRAY_TASK_MIN={min}, step {step})"
                ));
            }
            ("Slurm", (id - min) / step, n)
        } else if let Some(i) = number("JOB_COMPLETION_INDEX")? {
            ("Kubernetes", i, None)
        } else if let Some(i) = number("AWS_BATCH_JOB_ARRAY_INDEX")? {
            ("AWS Batch", i, number("AWS_BATCH_JOB_ARRAY_SIZE")?)
        } else {
            return Err(format!(
                "--shard auto: no scheduler found; looked for {SCHEDULER_VARIABLES}"
            ));
        };
        let (scheduler, index, told) = found;
        let n = match (told, count) {
            (Some(t), Some(c)) if t != u64::from(c) => {
                return Err(format!(
                    "--shard auto/{c}: the {scheduler} array has {t} tasks, not {c}"
                ));
            }
            (Some(t), _) => t,
            (None, Some(c)) => u64::from(c),
            (None, None) => {
                return Err(format!(
                    "--shard auto: {scheduler} does not say how many parts there are; \
                     give the count as --shard auto/N"
                ));
            }
        };
        if index >= n {
            return Err(format!(
                "--shard auto: {scheduler} task index {index} (from 0) is outside {n} parts"
            ));
        }
        let too_many = || format!("--shard auto: {n} parts are too many");
        Ok(Some(Shard {
            index: u32::try_from(index + 1).map_err(|_| too_many())?,
            count: u32::try_from(n).map_err(|_| too_many())?,
        }))
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

/// What a plan will do, counted for a front end to show before it starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outlook {
    /// Outputs that will be written.
    pub convert: usize,
    /// Of those, outputs of Conveyor's own that no longer match and are redone in place.
    pub redo: usize,
    /// Of those, outputs written under another name because of a collision.
    pub renamed: usize,
    /// Of those, outputs that replace a file Conveyor did not make (`overwrite`).
    pub replace: usize,
    /// Outputs the journal vouches for: skipped as already converted.
    pub done: usize,
    /// Outputs skipped because a file Conveyor did not make is in the way (`skip`).
    pub in_the_way: usize,
    /// Outputs skipped for any other reason.
    pub other_skips: usize,
    /// Outputs in the plan, whatever they will do.
    pub total: usize,
    /// Of the outputs to write, those of empty input files: they will fail.
    pub empty: usize,
    /// Bytes free on the output folder's disk, where that can be told.
    pub free_bytes: Option<u64>,
}

impl Outlook {
    /// The share of the plan's outputs still to write (1 for an empty plan): what an estimate
    /// made for every file scales by.
    pub fn share_left(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.convert as f64 / self.total as f64
        }
    }

    /// Counts what `jobs` will do.
    pub fn of(jobs: &[Job]) -> Outlook {
        let mut o = Outlook {
            total: jobs.len(),
            ..Outlook::default()
        };
        for job in jobs {
            match &job.action {
                Action::Convert => {
                    o.convert += 1;
                    if job.input_bytes == 0 {
                        o.empty += 1;
                    }
                    if job.replace {
                        o.redo += 1;
                    } else if job.note.as_ref().is_some_and(Note::is_rename) {
                        o.renamed += 1;
                    } else if matches!(job.note, Some(Note::ReplacesStranger { .. })) {
                        o.replace += 1;
                    }
                }
                Action::Skip(SkipReason::AlreadyConverted) => o.done += 1,
                Action::Skip(SkipReason::InTheWay) => o.in_the_way += 1,
                Action::Skip(_) => o.other_skips += 1,
            }
        }
        o
    }
}

/// Options for [`plan`] besides the recipe.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// The output folder.
    pub out_dir: PathBuf,
    /// Only this part of the batch.
    pub shard: Option<Shard>,
    /// Whether the output volume ignores case in names; `None` finds out ([`folds_case`]).
    pub fold_case: Option<bool>,
    /// For an output in object storage (`out_dir` is its URL): the journal and what is under
    /// the prefix now, listed before planning ([`Journal::load_remote`]).
    pub remote_out: Option<RemoteOut>,
}

/// What an object storage output prefix holds, for the plan.
#[derive(Debug, Clone, Default)]
pub struct RemoteOut {
    /// Every shard's journal object, with entries recovered from objects' metadata.
    pub journal: Journal,
    /// What is at each output key (relative to the prefix) now.
    pub objects: HashMap<String, OutStat>,
}

/// The folders the jobs write into, each once.
pub fn output_dirs(jobs: &[Job]) -> std::collections::BTreeSet<PathBuf> {
    jobs.iter()
        .filter(|j| j.action == Action::Convert)
        .filter_map(|j| j.output.parent().map(Path::to_path_buf))
        .collect()
}

/// Whether `out_dir` can take the batch's outputs: a folder (not a file) that exists or can be
/// made, and with `writable`, one in which this process can write. A missing folder is not made
/// here (the first output makes it); the nearest folder that exists is checked instead. The
/// error is one sentence for the user, said once before any file is planned rather than once
/// per file. (A dry run checks only the shape: it writes nothing.)
pub fn check_out_dir(out_dir: &Path, writable: bool) -> Result<(), String> {
    let shown = out_dir.display();
    let writable = |dir: &Path| {
        if !writable {
            return Ok(());
        }
        tempfile::Builder::new()
            .prefix(".conveyor-check")
            .tempfile_in(dir)
            .map(drop)
            .map_err(|e| {
                format!(
                    "The output folder {shown} cannot be written to ({}); choose another \
                     folder or change its permissions.",
                    super::job::io_words(&e)
                )
            })
    };
    match fs::metadata(out_dir) {
        Ok(m) if m.is_dir() => writable(out_dir),
        Ok(_) => Err(format!(
            "The output folder {shown} is a file, not a folder; choose a folder."
        )),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            let existing = out_dir
                .ancestors()
                .skip(1)
                .map(|a| {
                    if a.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        a
                    }
                })
                .find(|a| fs::metadata(a).is_ok())
                .unwrap_or(Path::new("."));
            if existing.is_dir() {
                writable(existing)
            } else {
                Err(format!(
                    "The output folder {shown} cannot be made: {} is a file.",
                    existing.display()
                ))
            }
        }
        Err(e) => Err(format!(
            "The output folder {shown} cannot be used ({}).",
            super::job::io_words(&e)
        )),
    }
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

/// Whether the volume holding `dir` (or its nearest existing ancestor) treats names that differ
/// only in case as one file: found by looking up a name with its case swapped and comparing the
/// files. Undecidable (no name with letters to try) means yes on macOS and Windows, where it is
/// the default, and no elsewhere.
pub fn folds_case(dir: &Path) -> bool {
    let mut d = resolve(dir);
    while fs::symlink_metadata(&d).is_err() {
        if !d.pop() {
            break;
        }
    }
    let listed = fs::read_dir(&d)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .take(64)
        .map(|e| e.path());
    std::iter::once(d.clone())
        .chain(listed)
        .find_map(|p| same_under_swapped_case(&p))
        .unwrap_or(cfg!(any(target_os = "macos", windows)))
}

/// Whether `path`'s name with its letters' case swapped names the same file; `None` if the
/// name has no cased letter or cannot be looked at.
fn same_under_swapped_case(path: &Path) -> Option<bool> {
    let name = path.file_name()?.to_str()?;
    let swapped: String = name
        .chars()
        .map(|c| {
            if c.is_lowercase() {
                c.to_uppercase().next().unwrap_or(c)
            } else {
                c.to_lowercase().next().unwrap_or(c)
            }
        })
        .collect();
    if swapped == name {
        return None;
    }
    let a = fs::symlink_metadata(path).ok()?;
    let Ok(b) = fs::symlink_metadata(path.with_file_name(&swapped)) else {
        return Some(false);
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some(a.dev() == b.dev() && a.ino() == b.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        Some(true)
    }
}

/// A path as a volume compares it: itself, or case-folded on a volume that ignores case.
pub fn compare_key(path: &Path, fold_case: bool) -> PathBuf {
    if fold_case {
        PathBuf::from(path.to_string_lossy().to_lowercase())
    } else {
        path.to_path_buf()
    }
}

/// Decides every job's output before any work: mirrored folders, the naming template, distinct
/// names for inputs that would land on one output, the journal's record of earlier runs, the
/// on-exist policy and the shard.
///
/// Names are decided for the whole batch before the shard is picked, so every shard agrees on
/// every name (collision suffixes, `{n}`, and with `--on-exist rename` the free name each input
/// gets), and concurrent shards never choose the same file.
pub fn plan(scan: &Scan, recipe: &Recipe, options: &PlanOptions) -> Plan {
    plan_outputs(scan, std::slice::from_ref(recipe), options)
}

/// [`plan`] for a recipe with several outputs: one job per input and output, the jobs of one
/// input next to each other in output order (the pool runs them together, so each input is
/// decoded once). Each output goes under its recipe's `subfolder`. The first recipe's on-exist
/// policy is the batch's.
pub fn plan_outputs(scan: &Scan, recipes: &[Recipe], options: &PlanOptions) -> Plan {
    let Some(first) = recipes.first() else {
        return Plan {
            jobs: Vec::new(),
            warnings: scan.warnings.clone(),
            total_inputs: scan.found.len(),
        };
    };
    let on_exist = first.on_exist;
    let out_dir = &options.out_dir;
    let out_resolved = resolve(out_dir);
    let remote = options.remote_out.as_ref();
    let fold = options
        .fold_case
        .unwrap_or_else(|| remote.is_none() && folds_case(&out_resolved));
    // What is at an output path now: a file's metadata, or an object's from the listing.
    let stat = |path: &Path| -> Option<OutStat> {
        match remote {
            None => fs::symlink_metadata(path).ok().map(|m| OutStat::of(&m)),
            Some(r) => {
                let rel = journal::key(path.strip_prefix(out_dir).ok()?)?;
                r.objects.get(&rel).cloned()
            }
        }
    };
    let key = |p: &Path| compare_key(p, fold);
    // The input folders, resolved (single-file inputs have none).
    let root_dirs: Vec<PathBuf> = scan
        .roots
        .iter()
        .filter(|r| fs::metadata(r).is_ok_and(|m| m.is_dir()))
        .map(|r| key(&resolve(r)))
        .collect();
    let resolved_inputs: Vec<PathBuf> = scan.found.iter().map(|f| resolve(&f.path)).collect();
    // Every original, by its real path and by the path it was found at (its folder resolved):
    // an output must never land on one.
    let mut folders: HashMap<&Path, PathBuf> = HashMap::new();
    let mut originals: HashSet<PathBuf> = resolved_inputs.iter().map(|p| key(p)).collect();
    for f in &scan.found {
        let folder = f.path.parent().filter(|p| !p.as_os_str().is_empty());
        if let (Some(folder), Some(name)) = (folder, f.path.file_name()) {
            let real = folders.entry(folder).or_insert_with(|| resolve(folder));
            originals.insert(key(&real.join(name)));
        }
    }
    let journal = match remote {
        Some(r) => r.journal.clone(),
        None => Journal::load(out_dir),
    };
    // Each output's fingerprint per format, and the one versions before 0.2 wrote for it.
    let mut fingerprints: HashMap<(usize, Format), (String, Option<String>)> = HashMap::new();

    struct Draft<'r> {
        /// The input's index in the scan.
        input: usize,
        /// The output's index in the recipe list.
        slot: usize,
        recipe: &'r Recipe,
        dir: PathBuf,
        rel_dir: String,
        base: OsString,
        format: Format,
        /// The output's extension: the input's own spelling when the format is kept (`.tiff`
        /// stays `.tiff`, `.jpeg` stays `.jpeg`), else the format's usual one.
        ext: &'static str,
        /// What the journal will record (output fields filled in later).
        entry: Option<Entry>,
    }
    let mut drafts: Vec<Draft> = Vec::with_capacity(scan.found.len() * recipes.len());
    // The header is probed once per input, whichever outputs need the size.
    let needs_size = recipes.iter().any(|r| r.name_template.needs_size());
    for (i, (f, real)) in scan.found.iter().zip(&resolved_inputs).enumerate() {
        let ext = f.rel.extension().unwrap_or_default();
        let source_size = (needs_size && f.skip.is_none())
            .then(|| header::probe(&f.path).map(|h| h.size))
            .flatten();
        for (slot, recipe) in recipes.iter().enumerate() {
            let format = recipe.format.resolve(&ext.to_string_lossy());
            let out_ext = recipe.format.extension_for(&ext.to_string_lossy());
            let size = match source_size {
                Some((w, h)) if recipe.name_template.needs_size() => match recipe.resize {
                    Some(spec) => spec.geometry(w, h, recipe.allow_upscale).output,
                    None => (w, h),
                },
                _ => (0, 0),
            };
            let stem = f.rel.file_stem().unwrap_or_default();
            let base = recipe.name_template.render(stem, ext, size, i + 1);
            let rel_parent =
                Path::new(&recipe.subfolder).join(f.rel.parent().unwrap_or(Path::new("")));
            let entry = journal::path_text(real).map(|input| Entry {
                output: String::new(),
                input,
                in_bytes: f.bytes,
                in_mtime: f.modified.map(journal::nanos),
                recipe: fingerprints
                    .entry((slot, format))
                    .or_insert_with(|| {
                        (
                            options::fingerprint(recipe, format),
                            options::legacy_fingerprint(recipe, format),
                        )
                    })
                    .0
                    .clone(),
                name: recipe.name_template.as_str().to_owned(),
                slot,
                out_bytes: 0,
                out_mtime: None,
                out_etag: None,
                withdrawn: false,
            });
            drafts.push(Draft {
                input: i,
                slot,
                recipe,
                dir: out_dir.join(&rel_parent),
                rel_dir: journal::key(&rel_parent).unwrap_or_default(),
                base,
                format,
                ext: out_ext,
                entry,
            });
        }
    }
    let file_name = |d: &Draft, base: &OsStr| {
        let mut name = base.to_os_string();
        name.push(".");
        name.push(d.ext);
        name
    };

    // Who holds each output name (compare keys): inputs of this batch, by index, and outputs
    // the journal records for inputs outside this batch that still exist.
    let naturals: Vec<PathBuf> = drafts
        .iter()
        .map(|d| d.dir.join(file_name(d, &d.base)))
        .collect();
    let mut owner: HashMap<PathBuf, String> = HashMap::new();
    let mut outputs: Vec<Option<(PathBuf, Option<Note>)>> = vec![None; drafts.len()];
    // 1. A name an earlier run gave an input stays with it.
    for (i, d) in drafts.iter().enumerate() {
        let f = &scan.found[d.input];
        let Some(e) = d.entry.as_ref().filter(|_| f.skip.is_none()) else {
            continue;
        };
        let Some(prev) = journal.previous_output(
            &e.input,
            d.slot,
            d.recipe.name_template.as_str(),
            &d.rel_dir,
            d.format.spec().extensions,
        ) else {
            continue;
        };
        let path = out_dir.join(journal::text_path(prev));
        if owner.contains_key(&key(&path)) {
            continue;
        }
        owner.insert(key(&path), f.path.display().to_string());
        let note = (key(&naturals[i]) != key(&path)).then(|| Note::EarlierName {
            name: display_name(&path),
        });
        outputs[i] = Some((path, note));
    }
    let in_batch: HashSet<&str> = drafts
        .iter()
        .filter_map(|d| d.entry.as_ref().map(|e| e.input.as_str()))
        .collect();
    for e in journal.latest() {
        let path = out_dir.join(journal::text_path(&e.output));
        if !in_batch.contains(e.input.as_str())
            && journal::text_path(&e.input).exists()
            && stat(&path).is_some()
        {
            owner
                .entry(key(&path))
                .or_insert_with(|| journal::text_path(&e.input).display().to_string());
        }
    }
    // 2. Everyone else gets the natural name, or a distinct one if it is held: `{n}` numbers
    // after the batch's, other templates a `-k` suffix that is no one's natural name.
    let taken: HashSet<PathBuf> = naturals
        .iter()
        .zip(&outputs)
        .filter(|(_, o)| o.is_none())
        .map(|(p, _)| key(p))
        .collect();
    for (i, d) in drafts.iter().enumerate() {
        let f = &scan.found[d.input];
        let recipe = d.recipe;
        if outputs[i].is_some() {
            continue;
        }
        let natural = &naturals[i];
        let Some(holder) = owner.get(&key(natural)).cloned() else {
            owner.insert(key(natural), f.path.display().to_string());
            outputs[i] = Some((natural.clone(), None));
            continue;
        };
        let free = |c: &PathBuf| !owner.contains_key(&key(c)) && !taken.contains(&key(c));
        let renamed = if recipe.name_template.numbered() {
            let stem = f.rel.file_stem().unwrap_or_default();
            let ext = f.rel.extension().unwrap_or_default();
            (scan.found.len() + 1..)
                .map(|n| {
                    let base = recipe.name_template.render(stem, ext, (0, 0), n);
                    d.dir.join(file_name(d, &base))
                })
                .take(1_000_000)
                .find(free)
        } else {
            (1..)
                .map(|k| d.dir.join(with_suffix(&d.base, k, d.ext)))
                .take(1_000_000)
                .find(free)
        }
        .unwrap_or_else(|| natural.clone());
        owner.insert(key(&renamed), f.path.display().to_string());
        let note = Note::RenamedForOther {
            to: display_name(&renamed),
            natural: display_name(natural),
            holder,
        };
        outputs[i] = Some((renamed, Some(note)));
    }

    // 3. What to do with each: the journal first, then the on-exist policy. Decided for the
    // whole batch (a rename takes a name from every shard's view), kept for this shard.
    let mut jobs = Vec::new();
    for (d, output) in drafts.into_iter().zip(outputs) {
        let f = &scan.found[d.input];
        let Some((output, note)) = output else {
            continue;
        };
        let mine = options.shard.is_none_or(|s| s.contains(&f.rel));
        if !mine && on_exist != OnExist::Rename {
            continue;
        }
        let rel_out = output
            .strip_prefix(out_dir)
            .unwrap_or(&output)
            .to_path_buf();
        let journal_key = journal::key(&rel_out);
        let entry = d
            .entry
            .zip(journal_key.clone())
            .map(|(e, output)| Entry { output, ..e });
        let mut job = Job {
            input: f.path.clone(),
            output,
            output_index: d.slot,
            format: d.format,
            input_bytes: f.bytes,
            action: Action::Convert,
            note,
            replace: false,
            journal: entry,
        };
        let resolved_out = key(&out_resolved.join(&rel_out));
        if let Some(reason) = &f.skip {
            job.action = Action::Skip(SkipReason::Input(reason.clone()));
        } else if originals.contains(&resolved_out) {
            job.action = Action::Skip(SkipReason::WouldReplaceOriginal);
        } else if let Some(now) = stat(&job.output) {
            let verdict = match (&journal_key, &job.journal) {
                (Some(k), Some(want)) => {
                    let legacy = fingerprints
                        .get(&(d.slot, d.format))
                        .and_then(|(_, old)| old.as_deref());
                    journal.verdict(k, &now, want, legacy)
                }
                _ => Verdict::Unknown,
            };
            match verdict {
                Verdict::Vouched => {
                    job.action = Action::Skip(SkipReason::AlreadyConverted);
                }
                Verdict::Stale(why) => {
                    job.replace = true;
                    job.note = Some(Note::Redone(why));
                }
                Verdict::Unknown => {
                    let in_input_folder = root_dirs.iter().any(|r| resolved_out.starts_with(r));
                    match on_exist {
                        OnExist::Rename => {
                            let ext = d.ext;
                            if let Some(free) = (1..)
                                .map(|k| d.dir.join(with_suffix(&d.base, k, ext)))
                                .take(1_000_000)
                                .find(|c| !owner.contains_key(&key(c)) && stat(c).is_none())
                            {
                                job.note = Some(Note::RenamedBesideStranger {
                                    to: display_name(&free),
                                    natural: display_name(&job.output),
                                });
                                owner.insert(key(&free), f.path.display().to_string());
                                job.output = free;
                                if let (Some(e), Some(k)) = (
                                    job.journal.as_mut(),
                                    job.output.strip_prefix(out_dir).ok().and_then(journal::key),
                                ) {
                                    e.output = k;
                                }
                            }
                        }
                        _ if in_input_folder => {
                            job.action = Action::Skip(SkipReason::InTheWayInInputFolder);
                        }
                        OnExist::Skip => {
                            job.action = Action::Skip(SkipReason::InTheWay);
                        }
                        OnExist::Overwrite => {
                            job.note = Some(Note::ReplacesStranger {
                                name: display_name(&job.output),
                            });
                        }
                    }
                }
            }
        }
        if mine {
            jobs.push(job);
        }
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

#[cfg(test)]
mod tests {
    use super::{Shard, ShardChoice, check_out_dir};

    fn auto(choice: &str, env: &[(&str, &str)]) -> Result<Option<Shard>, String> {
        let choice: ShardChoice = choice.parse().map_err(|e: super::ParseError| e.0)?;
        choice.resolve(|name| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_string())
        })
    }

    fn shard(index: u32, count: u32) -> Result<Option<Shard>, String> {
        Ok(Some(Shard { index, count }))
    }

    #[test]
    fn shard_auto_reads_slurm_kubernetes_and_aws_batch() {
        assert_eq!(auto("3/4", &[("JOB_COMPLETION_INDEX", "0")]), shard(3, 4));
        // Slurm: a 1-based array 1-16, a 0-based one told by its count, and a stepped one.
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "16"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "16"),
        ];
        assert_eq!(auto("auto", &slurm), shard(16, 16));
        assert_eq!(auto("auto/16", &slurm), shard(16, 16));
        let e = auto("auto/8", &slurm).expect_err("count differs");
        assert!(e.contains("16 tasks, not 8"), "{e}");
        let counted = [
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "5"),
        ];
        assert_eq!(auto("auto", &counted), shard(1, 5));
        let stepped = [
            ("SLURM_ARRAY_TASK_ID", "14"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_MAX", "16"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ];
        assert_eq!(auto("auto", &stepped), shard(3, 4));
        let no_min = [("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_MAX", "4")];
        assert!(auto("auto", &no_min).is_err());
        // Kubernetes: the index is 0-based and the count must be given.
        let k8s = [("JOB_COMPLETION_INDEX", "7")];
        assert_eq!(auto("auto/8", &k8s), shard(8, 8));
        let e = auto("auto", &k8s).expect_err("no count");
        assert!(e.contains("Kubernetes") && e.contains("auto/N"), "{e}");
        let e = auto("auto/7", &k8s).expect_err("index too high");
        assert!(e.contains("outside 7 parts"), "{e}");
        // AWS Batch tells both.
        let batch = [
            ("AWS_BATCH_JOB_ARRAY_INDEX", "0"),
            ("AWS_BATCH_JOB_ARRAY_SIZE", "10"),
        ];
        assert_eq!(auto("auto", &batch), shard(1, 10));
        // None: the error names every variable looked for.
        let e = auto("auto", &[]).expect_err("no scheduler");
        for var in [
            "SLURM_ARRAY_TASK_ID",
            "JOB_COMPLETION_INDEX",
            "AWS_BATCH_JOB_ARRAY_INDEX",
        ] {
            assert!(e.contains(var), "{e}");
        }
        let e = auto("auto", &[("JOB_COMPLETION_INDEX", "x")]).expect_err("not a number");
        assert!(e.contains("JOB_COMPLETION_INDEX=x"), "{e}");
        assert!("auto/0".parse::<ShardChoice>().is_err());
        assert!("0/3".parse::<ShardChoice>().is_err());
    }

    #[test]
    fn the_output_folder_is_checked_once_before_planning() {
        let tmp = tempfile::tempdir().expect("tmp");
        let file = tmp.path().join("notes.txt");
        std::fs::write(&file, b"x").expect("write");
        let e = check_out_dir(&file, true).expect_err("a file");
        assert!(e.contains("is a file, not a folder"), "{e}");
        let e = check_out_dir(&file.join("out"), true).expect_err("under a file");
        assert!(
            e.contains("cannot be made") && e.contains("notes.txt is a file"),
            "{e}"
        );
        let missing = tmp.path().join("a/b");
        check_out_dir(&missing, true).expect("can be made");
        assert!(!missing.exists(), "the check makes nothing");
        check_out_dir(tmp.path(), true).expect("an existing folder");
        let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("list").collect();
        assert_eq!(left.len(), 1, "the write check leaves nothing behind");
    }
}
