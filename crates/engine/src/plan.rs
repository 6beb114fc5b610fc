//! Deciding every output before any work starts: mirrored folders, the naming template,
//! distinct names for inputs that would land on one output, the on-exist policy and shards.
//! Pure apart from file metadata and (only when the template needs image sizes) headers.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use super::durable;
use super::format::Format;
use super::hash::{PassedHash, fnv1a};
use super::header;
use super::job::{Action, Job, Note, Pending, PendingCommon, SkipReason};
use super::journal::{self, Journal, OutStat, Verdict};
use super::name::Facts;
use super::options;
use super::photo::Photo;
use super::recipe::{OnExist, ParseError, Recipe};
use super::scan::{Files, Found, Scan, ScanWarning, resolve};

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
    /// The jobs (only this shard's, when sharded), shared with the pool that runs them.
    pub jobs: Arc<[Job]>,
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
                    } else if job.note.as_deref().is_some_and(Note::is_rename) {
                        o.renamed += 1;
                    } else if matches!(job.note.as_deref(), Some(Note::ReplacesStranger { .. })) {
                        o.replace += 1;
                    }
                }
                Action::Skip(reason) => match **reason {
                    SkipReason::AlreadyConverted => o.done += 1,
                    SkipReason::InTheWay => o.in_the_way += 1,
                    _ => o.other_skips += 1,
                },
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
///
/// Made for a million inputs: nothing per input is kept but the jobs themselves. Names are
/// looked up by a 64-bit hash checked against the name itself (a name whose hash another
/// already has is kept whole), paths are built when they are needed, and the journal's entry
/// for a job shares its folder and recipe with the others'.
pub fn plan_outputs(scan: &Scan, recipes: &[Recipe], options: &PlanOptions) -> Plan {
    let Some(first) = recipes.first() else {
        return Plan {
            jobs: Arc::from([]),
            warnings: scan.warnings.clone(),
            total_inputs: scan.found.len(),
        };
    };
    let files = &scan.found;
    let slots = recipes.len();
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
    let originals = Originals::new(files, recipes, &out_resolved, &key);
    // `CONVEYOR_PHASES` set: how long reading the journal and planning took, on stderr (for
    // the bench script).
    let phases = std::env::var_os("CONVEYOR_PHASES").map(|_| std::time::Instant::now());
    let journal = match remote {
        Some(r) => r.journal.clone(),
        None => Journal::load(out_dir),
    };
    if let Some(start) = phases {
        eprintln!(
            "phase: journal of {} entries read in {:.2} s",
            journal.len(),
            start.elapsed().as_secs_f64()
        );
    }

    // What every job of an output and format records alike, and the fingerprint versions
    // before 0.2 wrote for it.
    // (A few entries: a list looked through beats hashing a key a job.)
    type Common = ((usize, Format), Arc<PendingCommon>, Option<String>);
    let mut commons: Vec<Common> = Vec::new();
    let real_dirs: Vec<Arc<Path>> = files
        .dirs()
        .iter()
        .map(|d| Arc::from(d.real.as_path()))
        .collect();
    // The header is probed once per input, whichever outputs need the size.
    let needs_size = recipes.iter().any(|r| r.name_template.needs_size());
    let sizes: Vec<Option<(u32, u32)>> = if needs_size {
        files
            .iter()
            .map(|f| {
                f.skip()
                    .is_none()
                    .then(|| header::probe(&f.path()).map(|h| h.size))
                    .flatten()
            })
            .collect()
    } else {
        Vec::new()
    };
    // What each photo says (date, camera), read from its header when a template needs it.
    let needs_photo = recipes.iter().any(|r| r.name_template.needs_photo());
    let photos: Vec<Photo> = if needs_photo {
        files
            .iter()
            .map(|f| {
                if f.skip().is_none() {
                    Photo::read(&f.path())
                } else {
                    Photo::default()
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let draft = Drafts::new(files, recipes, out_dir, (&sizes, &photos), fold);
    let count = files.len() * slots;
    // Each input's journal text (its real path), written into `buf`; `false` when it has
    // none. Made from its folder's text without a path or a system call, except for links.
    let real_dir_texts: Vec<Option<&str>> = files
        .dirs()
        .iter()
        .map(|d| d.real.to_str().filter(|t| !t.is_empty()))
        .collect();
    let input_text = |i: usize, buf: &mut String| -> bool {
        buf.clear();
        let f = files.get(i);
        if !f.is_link()
            && let (Some(Some(dir)), Some(name)) =
                (real_dir_texts.get(f.dir_index()), f.name().to_str())
        {
            buf.push_str(dir);
            if !dir.ends_with('/') {
                buf.push('/');
            }
            buf.push_str(name);
            return true;
        }
        match journal::path_text(&f.real()) {
            Some(text) => {
                buf.push_str(&text);
                true
            }
            None => false,
        }
    };

    // Who holds each output name (compare keys): inputs of this batch, by output index, and
    // outputs the journal records for inputs outside this batch that still exist.
    let mut named = Named::new(count);
    let mut owners = Owners::default();
    let holder_name = |named: &Named, h: usize| {
        if h < count {
            files.get(h / slots).path().display().to_string()
        } else {
            named.stranger(h - count).unwrap_or_default()
        }
    };
    if !journal.is_empty() {
        // 1. A name an earlier run gave an input stays with it. The journal's entries for
        // inputs of this batch are marked on the way.
        let mut in_batch = vec![false; journal.len()];
        let mut input = String::new();
        for i in 0..files.len() {
            if !input_text(i, &mut input) {
                continue;
            }
            journal.mark_input(&mut in_batch, &input);
            if files.get(i).skip().is_some() {
                continue;
            }
            for d in i * slots..(i + 1) * slots {
                let (_, slot, recipe) = draft.at(d);
                let format = draft.format(d);
                let Some(prev) = journal.previous_output(
                    &input,
                    slot,
                    recipe.name_template.as_str(),
                    draft.rel_dir(d),
                    format.spec().extensions,
                ) else {
                    continue;
                };
                // Most often the earlier name is the natural one (`prev` is in the output's
                // folder already): then it is found by its hash, as in step 2, without a path.
                let natural_name = with_ext(&draft.base(d), draft.ext(d));
                if natural_name.to_str() == Some(prev.rsplit('/').next().unwrap_or(prev)) {
                    let hash = draft.natural_hash(d);
                    let natural_key = || key(&draft.natural(d));
                    if owners
                        .get_hashed(hash, natural_key, |h| named.key(h, &draft, &key))
                        .is_none()
                    {
                        named.give_natural(d);
                        owners.insert_hashed(hash, natural_key, d, |h| named.key(h, &draft, &key));
                    }
                    continue;
                }
                let path = out_dir.join(journal::text_path(prev));
                let k = key(&path);
                if owners.get(&k, |h| named.key(h, &draft, &key)).is_some() {
                    continue;
                }
                let natural = draft.natural(d);
                if path == natural {
                    // Kept by the output made last time under its natural name: nothing to
                    // hold.
                    named.give_natural(d);
                } else {
                    let note = (key(&natural) != k).then(|| {
                        Box::new(Note::EarlierName {
                            name: display_name(&path),
                        })
                    });
                    named.give(d, path, note);
                }
                owners.insert(&k, d, |h| named.key(h, &draft, &key));
            }
        }
        for e in journal.latest() {
            if in_batch.get(e.index()).copied().unwrap_or(false) {
                continue;
            }
            let path = out_dir.join(journal::text_path(e.output()));
            if journal::text_path(e.input()).exists() && stat(&path).is_some() {
                let k = key(&path);
                if owners.get(&k, |h| named.key(h, &draft, &key)).is_none() {
                    let h = count
                        + named.add_stranger(
                            k.clone(),
                            journal::text_path(e.input()).display().to_string(),
                        );
                    owners.insert(&k, h, |h| named.key(h, &draft, &key));
                }
            }
        }
    }
    // 2. Everyone else gets the natural name, or a distinct one if it is held: `{n}` numbers
    // after the batch's, other templates a `-k` suffix that is no one's natural name. The
    // natural names still to give out are known by hash: a name wrongly thought one of them is
    // only passed over for the next.
    let hashes: Vec<u64> = (0..count)
        .map(|d| {
            if named.is_given(d) {
                0
            } else {
                draft.natural_hash(d)
            }
        })
        .collect();
    let taken: HashSet<u64, PassedHash> = (0..count)
        .filter(|&d| !named.is_given(d))
        .map(|d| hashes[d])
        .collect();
    for (d, &hash) in hashes.iter().enumerate() {
        if named.is_given(d) {
            continue;
        }
        let (f, _, recipe) = draft.at(d);
        let natural_key = || key(&draft.natural(d));
        let Some(holder) = owners.get_hashed(hash, natural_key, |h| named.key(h, &draft, &key))
        else {
            named.give_natural(d);
            owners.insert_hashed(hash, natural_key, d, |h| named.key(h, &draft, &key));
            continue;
        };
        let natural = draft.natural(d);
        let holder = holder_name(&named, holder);
        let free = |c: &PathBuf| {
            let k = key(c);
            owners.get(&k, |h| named.key(h, &draft, &key)).is_none()
                && !taken.contains(&hash_path(&k))
        };
        let ext = draft.ext(d);
        let dir = draft.dir(d);
        let renamed = if recipe.name_template.numbered() {
            let name = f.name();
            let (stem, in_ext) = stem_ext(name);
            (files.len() + 1..)
                .map(|n| {
                    let facts = draft.facts(d / recipes.len(), stem, in_ext, (0, 0), n);
                    let base = recipe.name_template.render(&facts);
                    dir.join(with_ext(&base, ext))
                })
                .take(1_000_000)
                .find(free)
        } else {
            let base = draft.base(d);
            (1..)
                .map(|k| dir.join(with_suffix(&base, k, ext)))
                .take(1_000_000)
                .find(free)
        }
        .unwrap_or_else(|| natural.clone());
        let note = Note::RenamedForOther {
            to: display_name(&renamed),
            natural: display_name(&natural),
            holder,
        };
        let k = key(&renamed);
        named.give(d, renamed, Some(Box::new(note)));
        owners.insert(&k, d, |h| named.key(h, &draft, &key));
    }

    // Only `--on-exist rename` looks names up from here on.
    drop(taken);
    drop(hashes);
    if on_exist != OnExist::Rename {
        owners = Owners::default();
    }

    // 3. What to do with each: the journal first, then the on-exist policy. Decided for the
    // whole batch (a rename takes a name from every shard's view), kept for this shard.
    // Whether an output's folder exists, looked up once per input folder and output: in a
    // first run none does, and a million outputs then cost no system call each.
    let dir_present: Vec<std::cell::Cell<Option<bool>>> =
        vec![Default::default(); draft.dirs.len()];
    let draft_dir_present = |d: usize| {
        if remote.is_some() {
            return true;
        }
        let (f, slot, _) = draft.at(d);
        let cell = &dir_present[f.dir_index() * slots + slot];
        cell.get().unwrap_or_else(|| {
            let dir = draft.dir(d);
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            let present = fs::metadata(dir).is_ok_and(|m| m.is_dir());
            cell.set(Some(present));
            present
        })
    };
    let mine = |d: usize| {
        options
            .shard
            .is_none_or(|s| s.contains(&draft.at(d).0.rel()))
    };
    // A resumed run finds many outputs in place and looks at each: a million `stat`s are over a
    // second on one thread, before the first file is converted. They are read ahead here on
    // every core (the pass below decides in order, as renames must); a first run (no journal)
    // reads none ahead, and finds no output folder to look in.
    let ahead: Vec<Option<(u64, i64, bool)>> = if remote.is_none() && !journal.is_empty() {
        // Only in output folders that exist (looked up once each, as below).
        let mut present = vec![false; dir_present.len()];
        for d in 0..count {
            let (f, slot, _) = draft.at(d);
            if let Some(p) = present.get_mut(f.dir_index() * slots + slot) {
                *p = draft_dir_present(d);
            }
        }
        stat_ahead(count, |d| {
            let (f, slot, _) = draft.at(d);
            let in_place = present
                .get(f.dir_index() * slots + slot)
                .copied()
                .unwrap_or(false);
            (in_place && (mine(d) || on_exist == OnExist::Rename)).then(|| {
                named
                    .get(d, &draft)
                    .map_or_else(|| draft.natural(d), |(path, _)| path)
            })
        })
    } else {
        Vec::new()
    };
    let stat_output = |d: usize, path: &Path| match ahead.get(d) {
        Some(seen) => seen.map(|(bytes, mtime, is_file)| OutStat {
            is_file,
            bytes,
            mtime: (mtime != i64::MIN).then_some(mtime),
            etag: None,
        }),
        None => stat(path),
    };
    let mut input = String::new();
    let mut make = |d: usize| -> Job {
        let (f, slot, _) = draft.at(d);
        // Every output was given a name above.
        let (output, note) = named
            .get(d, &draft)
            .unwrap_or_else(|| (draft.natural(d), None));
        let format = draft.format(d);
        let at = match commons.iter().position(|(k, _, _)| *k == (slot, format)) {
            Some(at) => at,
            None => {
                let recipe = &recipes[slot];
                commons.push((
                    (slot, format),
                    Arc::new(PendingCommon {
                        out_dir: out_dir.clone(),
                        recipe: options::fingerprint(recipe, format),
                        name: recipe.name_template.as_str().to_owned(),
                    }),
                    options::legacy_fingerprint(recipe, format),
                ));
                commons.len() - 1
            }
        };
        let (common, legacy) = (Arc::clone(&commons[at].1), commons[at].2.clone());
        // A link leads elsewhere: its real path is its own. (An object's job is pointed at a
        // local copy when it runs, and its entry made whole then: `Pending::for_path`.)
        let whole = f.is_link();
        let real = if whole {
            Arc::from(f.real().as_path())
        } else {
            Arc::clone(&real_dirs[f.dir_index()])
        };
        let mut job = Job {
            input: f.path(),
            output,
            output_index: slot,
            format,
            input_bytes: f.bytes(),
            action: Action::Convert,
            note,
            replace: false,
            journal: Some(Pending::new(
                real,
                whole,
                f.modified_nanos(),
                Arc::clone(&common),
            )),
        };
        // The output as the volume resolves and compares it (worked out only when needed).
        let resolved = |job: &Job| {
            let rel_out = job.output.strip_prefix(out_dir).unwrap_or(&job.output);
            key(&out_resolved.join(rel_out))
        };
        if let Some(reason) = f.skip() {
            job.action = Action::skip(SkipReason::Input(reason.to_owned()));
        } else if !originals.is_empty() && originals.contains(&resolved(&job)) {
            job.action = Action::skip(SkipReason::WouldReplaceOriginal);
        } else if let Some(now) = draft_dir_present(d)
            .then(|| stat_output(d, &job.output))
            .flatten()
        {
            let verdict = if journal.is_empty() || !input_text(d / slots, &mut input) {
                Verdict::Unknown
            } else {
                let want = journal::Want {
                    input: &input,
                    in_bytes: f.bytes(),
                    in_mtime: f.modified_nanos(),
                    recipe: &common.recipe,
                };
                match output_key(&job.output, draft.dir(d), draft.rel_dir(d), out_dir) {
                    Some(k) => journal.verdict(&k, &now, &want, legacy.as_deref()),
                    None => Verdict::Unknown,
                }
            };
            match verdict {
                Verdict::Vouched => {
                    job.action = Action::skip(SkipReason::AlreadyConverted);
                }
                Verdict::Stale(why) => {
                    job.replace = true;
                    job.note = Some(Box::new(Note::Redone(why)));
                }
                Verdict::Unknown => {
                    let resolved_out = resolved(&job);
                    let in_input_folder = root_dirs.iter().any(|r| resolved_out.starts_with(r));
                    match on_exist {
                        OnExist::Rename => {
                            let (ext, dir, base) = (draft.ext(d), draft.dir(d), draft.base(d));
                            if let Some(free) = (1..)
                                .map(|k| dir.join(with_suffix(&base, k, ext)))
                                .take(1_000_000)
                                .find(|c| {
                                    owners
                                        .get(&key(c), |h| named.key(h, &draft, &key))
                                        .is_none()
                                        && stat(c).is_none()
                                })
                            {
                                job.note = Some(Box::new(Note::RenamedBesideStranger {
                                    to: display_name(&free),
                                    natural: display_name(&job.output),
                                }));
                                // Held by a name no other output can have: the job's own
                                // slot keeps the new name for the lookups after this one.
                                named.give(d, free.clone(), None);
                                owners.insert(&key(&free), d, |h| named.key(h, &draft, &key));
                                job.output = free;
                            }
                        }
                        _ if in_input_folder => {
                            job.action = Action::skip(SkipReason::InTheWayInInputFolder);
                        }
                        OnExist::Skip => {
                            job.action = Action::skip(SkipReason::InTheWay);
                        }
                        OnExist::Overwrite => {
                            job.note = Some(Box::new(Note::ReplacesStranger {
                                name: display_name(&job.output),
                            }));
                        }
                    }
                }
            }
        }
        job
    };
    // Without a shard every output is a job: the jobs are made in place (a million of them are
    // never copied from a growing list into the shared one).
    let jobs: Arc<[Job]> = match options.shard {
        None => (0..count).map(&mut make).collect(),
        Some(_) => {
            let mut jobs = Vec::new();
            for d in 0..count {
                let mine = mine(d);
                // A rename takes a name from every shard's view: every output is decided.
                if mine || on_exist == OnExist::Rename {
                    let job = make(d);
                    if mine {
                        jobs.push(job);
                    }
                }
            }
            jobs.into()
        }
    };
    if let Some(start) = phases {
        eprintln!(
            "phase: {} jobs planned in {:.2} s (reading the journal included)",
            jobs.len(),
            start.elapsed().as_secs_f64()
        );
    }
    Plan {
        jobs,
        warnings: scan.warnings.clone(),
        total_inputs: scan.found.len(),
    }
}

/// Each output's size, time (`i64::MIN` for none) and whether it is a file, for the outputs
/// `path_of` names, read on every core; `None` where there is none (or none was asked).
fn stat_ahead(
    count: usize,
    path_of: impl Fn(usize) -> Option<PathBuf> + Sync,
) -> Vec<Option<(u64, i64, bool)>> {
    let mut seen = vec![None; count];
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8);
    let chunk = count.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for (i, part) in seen.chunks_mut(chunk).enumerate() {
            let path_of = &path_of;
            s.spawn(move || {
                for (j, slot) in part.iter_mut().enumerate() {
                    if let Some(path) = path_of(i * chunk + j) {
                        *slot = fs::symlink_metadata(&path).ok().map(|m| {
                            let s = OutStat::of(&m);
                            (s.bytes, s.mtime.unwrap_or(i64::MIN), s.is_file)
                        });
                    }
                }
            });
        }
    });
    seen
}

/// The names given to outputs: a flag per output, and the name itself only where it is not
/// the natural one (a rename, an earlier run's) or comes with a note; the natural name is
/// worked out again when asked. Plus the holders from outside the batch (the journal's).
struct Named {
    given: Vec<bool>,
    other: HashMap<usize, (PathBuf, Option<Box<Note>>)>,
    strangers: Vec<(PathBuf, String)>,
}

impl Named {
    fn new(count: usize) -> Named {
        Named {
            given: vec![false; count],
            other: HashMap::new(),
            strangers: Vec::new(),
        }
    }

    fn is_given(&self, d: usize) -> bool {
        self.given.get(d).copied().unwrap_or(false)
    }

    fn give_natural(&mut self, d: usize) {
        self.given[d] = true;
        self.other.remove(&d);
    }

    fn give(&mut self, d: usize, path: PathBuf, note: Option<Box<Note>>) {
        self.given[d] = true;
        self.other.insert(d, (path, note));
    }

    /// Output `d`'s name and note, if given.
    fn get(&self, d: usize, draft: &Drafts) -> Option<(PathBuf, Option<Box<Note>>)> {
        if !self.is_given(d) {
            return None;
        }
        Some(
            self.other
                .get(&d)
                .cloned()
                .unwrap_or_else(|| (draft.natural(d), None)),
        )
    }

    /// A holder from outside the batch; its index past the outputs'.
    fn add_stranger(&mut self, key: PathBuf, who: String) -> usize {
        self.strangers.push((key, who));
        self.strangers.len() - 1
    }

    fn stranger(&self, i: usize) -> Option<String> {
        self.strangers.get(i).map(|(_, who)| who.clone())
    }

    /// The compare key of holder `h`'s name: an output's (`h` below the output count) or a
    /// holder from outside the batch.
    fn key(&self, h: usize, draft: &Drafts, key: &dyn Fn(&Path) -> PathBuf) -> Option<PathBuf> {
        let count = self.given.len();
        if h < count {
            self.get(h, draft).map(|(p, _)| key(&p))
        } else {
            self.strangers.get(h - count).map(|(k, _)| k.clone())
        }
    }
}

/// The outputs of a batch before names are decided: output `d` is input `d / slots`'s
/// `d % slots`th. Everything is worked out when asked, so nothing is held per output.
/// What was read of each input before naming: its size and what the photo says (each empty
/// when no template needs it).
type Looked<'a> = (&'a [Option<(u32, u32)>], &'a [Photo]);

struct Drafts<'a> {
    files: &'a Files,
    recipes: &'a [Recipe],
    /// Each input's size, when a template needs it (empty otherwise).
    sizes: &'a [Option<(u32, u32)>],
    /// What each photo says, when a template needs it (empty otherwise).
    photos: &'a [Photo],
    /// Each input folder's output folder per output: `out_dir/subfolder/rel`, made once.
    dirs: Vec<PathBuf>,
    /// Each of those folders' compare key, hashed ([`hash_path`]).
    dir_hashers: Vec<std::collections::hash_map::DefaultHasher>,
    /// Each of those folders relative to the output folder, as journal text.
    rel_texts: Vec<String>,
    fold: bool,
}

impl<'a> Drafts<'a> {
    fn new(
        files: &'a Files,
        recipes: &'a [Recipe],
        out_dir: &Path,
        (sizes, photos): Looked<'a>,
        fold: bool,
    ) -> Drafts<'a> {
        let dirs: Vec<PathBuf> = files
            .dirs()
            .iter()
            .flat_map(|d| {
                recipes
                    .iter()
                    .map(|r| out_dir.join(Path::new(&r.subfolder).join(&d.rel)))
            })
            .collect();
        let dir_hashers = dirs
            .iter()
            .map(|d| folder_hasher(&compare_key(d, fold)))
            .collect();
        let rel_texts = files
            .dirs()
            .iter()
            .flat_map(|d| {
                recipes.iter().map(|r| {
                    journal::key(&Path::new(&r.subfolder).join(&d.rel)).unwrap_or_default()
                })
            })
            .collect();
        Drafts {
            files,
            recipes,
            sizes,
            photos,
            dirs,
            dir_hashers,
            rel_texts,
            fold,
        }
    }

    /// [`hash_path`] of the natural name's compare key, without making the path.
    fn natural_hash(&self, d: usize) -> u64 {
        let (f, slot, _) = self.at(d);
        let hasher = self.dir_hashers[f.dir_index() * self.recipes.len() + slot].clone();
        let name = with_ext(&self.base(d), self.ext(d));
        if self.fold {
            hash_name(hasher, compare_key(Path::new(&name), true).as_os_str())
        } else {
            hash_name(hasher, &name)
        }
    }

    fn at(&self, d: usize) -> (Found<'a>, usize, &'a Recipe) {
        let slot = d % self.recipes.len();
        (
            self.files.get(d / self.recipes.len()),
            slot,
            &self.recipes[slot],
        )
    }

    fn format(&self, d: usize) -> Format {
        let (f, _, recipe) = self.at(d);
        recipe
            .format
            .resolve(&stem_ext(f.name()).1.to_string_lossy())
    }

    /// The output's extension: the input's own spelling when the format is kept (`.tiff`
    /// stays `.tiff`, `.jpeg` stays `.jpeg`), else the format's usual one.
    fn ext(&self, d: usize) -> &'static str {
        let (f, _, recipe) = self.at(d);
        recipe
            .format
            .extension_for(&stem_ext(f.name()).1.to_string_lossy())
    }

    /// The output's folder relative to the output folder (`subfolder/rel`), as journal text.
    fn rel_dir(&self, d: usize) -> &str {
        let (f, slot, _) = self.at(d);
        self.rel_texts
            .get(f.dir_index() * self.recipes.len() + slot)
            .map_or("", String::as_str)
    }

    fn dir(&self, d: usize) -> &Path {
        let (f, slot, _) = self.at(d);
        &self.dirs[f.dir_index() * self.recipes.len() + slot]
    }

    /// The name from the template, without the extension.
    fn base(&self, d: usize) -> OsString {
        let (f, _, recipe) = self.at(d);
        let (stem, ext) = stem_ext(f.name());
        let i = d / self.recipes.len();
        let size = match self.sizes.get(i).copied().flatten() {
            Some(size) if recipe.name_template.needs_size() => recipe.output_size(size),
            _ => (0, 0),
        };
        recipe
            .name_template
            .render(&self.facts(i, stem, ext, size, i + 1))
    }

    /// What input `i`'s names are made from.
    fn facts<'f>(
        &'f self,
        i: usize,
        stem: &'f OsStr,
        ext: &'f OsStr,
        size: (u32, u32),
        n: usize,
    ) -> Facts<'f> {
        let photo = self.photos.get(i);
        Facts {
            stem,
            ext,
            size,
            n,
            date: photo.and_then(|p| p.date),
            camera: photo.and_then(|p| p.camera.as_deref()),
        }
    }

    /// The name the output has unless another holds it.
    fn natural(&self, d: usize) -> PathBuf {
        let (dir, base, ext) = (self.dir(d), self.base(d), self.ext(d));
        let mut path = PathBuf::with_capacity(dir.as_os_str().len() + base.len() + ext.len() + 2);
        path.push(dir);
        path.push(base);
        path.as_mut_os_string().push(".");
        path.as_mut_os_string().push(ext);
        path
    }
}

/// An output's key in the journal ([`journal::key`] of its path relative to `out_dir`): its
/// folder's text `rel_dir` and its name when it is in its planned folder `dir`.
fn output_key(output: &Path, dir: &Path, rel_dir: &str, out_dir: &Path) -> Option<String> {
    if output.parent() == Some(dir)
        && let Some(name) = output.file_name().and_then(OsStr::to_str)
        && !rel_dir.starts_with('\0')
    {
        let mut k = String::with_capacity(rel_dir.len() + 1 + name.len());
        k.push_str(rel_dir);
        if !rel_dir.is_empty() {
            k.push('/');
        }
        k.push_str(name);
        return Some(k);
    }
    journal::key(output.strip_prefix(out_dir).ok()?)
}

/// A file name's stem and extension (empty when it has none), as [`Path::file_stem`] and
/// [`Path::extension`] give them for a name, without walking components.
fn stem_ext(name: &OsStr) -> (&OsStr, &OsStr) {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let b = name.as_bytes();
        match b.iter().rposition(|&c| c == b'.') {
            Some(i) if i > 0 && b != b".." => {
                (OsStr::from_bytes(&b[..i]), OsStr::from_bytes(&b[i + 1..]))
            }
            _ => (name, OsStr::new("")),
        }
    }
    #[cfg(not(unix))]
    {
        let p = Path::new(name);
        (
            p.file_stem().unwrap_or_default(),
            p.extension().unwrap_or_default(),
        )
    }
}

fn with_ext(base: &OsStr, ext: &str) -> OsString {
    let mut name = base.to_os_string();
    name.push(".");
    name.push(ext);
    name
}

/// A hash of an output path (a compare key) by its folder and its name, so a folder's state
/// can be hashed once for all the names in it ([`Drafts::natural_hash`]).
fn hash_path(p: &Path) -> u64 {
    match (p.parent(), p.file_name()) {
        (Some(dir), Some(name)) => hash_name(folder_hasher(dir), name),
        _ => hash_name(folder_hasher(p), OsStr::new("")),
    }
}

fn folder_hasher(dir: &Path) -> std::collections::hash_map::DefaultHasher {
    use std::hash::Hash;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut h);
    h
}

fn hash_name(mut h: std::collections::hash_map::DefaultHasher, name: &OsStr) -> u64 {
    use std::hash::Hasher;
    #[cfg(test)]
    if FORCE_COLLISIONS.with(std::cell::Cell::get) {
        return 7;
    }
    h.write(name.as_encoded_bytes());
    h.finish()
}

#[cfg(test)]
thread_local! {
    /// Every name hashes alike (a test of the whole-name fallback).
    static FORCE_COLLISIONS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Holders of names (output indices, or any index the caller gives), found by the name's hash
/// and checked against the holder's name; a name whose hash another name already has is kept
/// whole beside them. A million names take about 20 bytes each instead of a path each.
#[derive(Default)]
struct Owners {
    by_hash: HashMap<u64, usize, PassedHash>,
    whole: HashMap<PathBuf, usize>,
}

impl Owners {
    /// The holder of `name`; `name_of` tells a holder's name.
    fn get(&self, name: &Path, name_of: impl Fn(usize) -> Option<PathBuf>) -> Option<usize> {
        self.get_hashed(hash_path(name), || name.to_path_buf(), name_of)
    }

    /// [`Owners::get`] of the name whose hash is `hash`, made by `name` only when a holder of
    /// the hash is found.
    fn get_hashed(
        &self,
        hash: u64,
        name: impl Fn() -> PathBuf,
        name_of: impl Fn(usize) -> Option<PathBuf>,
    ) -> Option<usize> {
        if let Some(&h) = self.by_hash.get(&hash) {
            let name = name();
            if name_of(h).as_deref() == Some(name.as_path()) {
                return Some(h);
            }
            return self.whole.get(&name).copied();
        }
        if self.whole.is_empty() {
            return None;
        }
        self.whole.get(&name()).copied()
    }

    /// Gives `name` to `holder`.
    fn insert(&mut self, name: &Path, holder: usize, name_of: impl Fn(usize) -> Option<PathBuf>) {
        self.insert_hashed(hash_path(name), || name.to_path_buf(), holder, name_of);
    }

    /// [`Owners::insert`] of the name whose hash is `hash`.
    fn insert_hashed(
        &mut self,
        hash: u64,
        name: impl Fn() -> PathBuf,
        holder: usize,
        name_of: impl Fn(usize) -> Option<PathBuf>,
    ) {
        use std::collections::hash_map::Entry as Slot;
        match self.by_hash.entry(hash) {
            Slot::Vacant(v) => {
                v.insert(holder);
            }
            Slot::Occupied(mut o) => {
                let name = name();
                if name_of(*o.get()).as_deref() == Some(name.as_path()) {
                    o.insert(holder);
                } else {
                    self.whole.insert(name, holder);
                }
            }
        }
    }
}

/// The batch's originals, where an output could land on one: only folders that are also
/// output folders are listed (by real path and name), and every link's target.
struct Originals {
    by_dir: HashMap<PathBuf, HashSet<OsString>>,
    links: HashSet<PathBuf>,
}

impl Originals {
    fn new(
        files: &Files,
        recipes: &[Recipe],
        out_resolved: &Path,
        key: &dyn Fn(&Path) -> PathBuf,
    ) -> Originals {
        let output_dirs: HashSet<PathBuf> = files
            .dirs()
            .iter()
            .flat_map(|d| {
                recipes
                    .iter()
                    .map(|r| key(&out_resolved.join(&r.subfolder).join(&d.rel)))
            })
            .collect();
        let mut o = Originals {
            by_dir: HashMap::new(),
            links: HashSet::new(),
        };
        let shared: Vec<Option<PathBuf>> = files
            .dirs()
            .iter()
            .map(|d| Some(key(&d.real)).filter(|k| output_dirs.contains(k)))
            .collect();
        for f in files.iter() {
            if let Some(dir) = &shared[f.dir_index()] {
                o.by_dir
                    .entry(dir.clone())
                    .or_default()
                    .insert(key(Path::new(f.name())).into_os_string());
            }
            if f.is_link() {
                o.links.insert(key(&f.real()));
            }
        }
        o
    }

    /// Whether no output can land on an original.
    fn is_empty(&self) -> bool {
        self.by_dir.is_empty() && self.links.is_empty()
    }

    /// Whether `path` (resolved, a compare key) is an original.
    fn contains(&self, path: &Path) -> bool {
        if self.links.contains(path) {
            return true;
        }
        match (path.parent(), path.file_name()) {
            (Some(dir), Some(name)) => self
                .by_dir
                .get(dir)
                .is_some_and(|names| names.contains(name)),
            _ => false,
        }
    }
}

fn display_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{FORCE_COLLISIONS, Owners};
    use std::path::{Path, PathBuf};

    /// Names found by hash are checked against the holder's name, and a name whose hash
    /// another has is kept whole: with every hash alike, every lookup is still exact.
    #[test]
    fn names_are_found_exactly_even_when_every_hash_collides() {
        for collide in [false, true] {
            FORCE_COLLISIONS.with(|c| c.set(collide));
            let names: Vec<PathBuf> = (0..50)
                .map(|i| PathBuf::from(format!("out/{i}.webp")))
                .collect();
            let name_of = |h: usize| names.get(h).cloned();
            let mut owners = Owners::default();
            for (i, n) in names.iter().enumerate().step_by(2) {
                owners.insert(n, i, name_of);
            }
            for (i, n) in names.iter().enumerate() {
                let want = (i % 2 == 0).then_some(i);
                assert_eq!(
                    owners.get(n, name_of),
                    want,
                    "{} (collide {collide})",
                    n.display()
                );
            }
            assert_eq!(owners.get(Path::new("out/x.webp"), name_of), None);
        }
        FORCE_COLLISIONS.with(|c| c.set(false));
    }

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
