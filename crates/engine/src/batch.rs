//! One batch, the same way for every front end. A [`Request`] says what to convert, where,
//! and how; [`Request::check`] refuses what cannot run (recipes that are invalid or write the
//! same files, a template that needs local inputs) and [`Request::connect`] reaches object
//! storage if a path is in it; [`prepare`] scans, reads the output's journal and plans;
//! [`Prepared::sweep`] removes what an interrupted run left; [`Prepared::start`] makes the
//! pipeline, the journal writer and the prefetch and starts the pool. The command line, the
//! window and the window's forecast ([`outlook`]) all go through here.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};

use super::job::{Action, Job};
use super::journal::{Journal, JournalWriter};
use super::pipeline::{MemoryBudget, Pipeline, Prefetch};
use super::plan::{self, Outlook, Plan, PlanOptions, RemoteOut, Shard};
use super::pool::{self, PoolHandle, Priority, Waker};
use super::recipe::Recipe;
use super::recipe_file::{first_collision, output_name};
use super::remote::{self, Location, Store};
use super::scan::{self, Scan, ScanError, ScanOptions};

/// What finds the inputs: [`scan::scan`], or a stand-in a test gives the window.
pub type Scanner = Arc<dyn Fn(&[PathBuf], &ScanOptions) -> Result<Scan, ScanError> + Send + Sync>;

/// The scanner every front end uses.
pub fn default_scanner() -> Scanner {
    Arc::new(scan::scan)
}

/// Limits on what one image may take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Refuse images with more pixels than this (`None`: the default).
    pub max_pixels: Option<u64>,
    /// Refuse files larger than this (`None`: the default).
    pub max_file_size: Option<u64>,
    /// Image memory all workers share (`None`: the default).
    pub memory_limit: Option<u64>,
}

/// What a front end asks for.
#[derive(Debug, Clone)]
pub struct Request {
    /// Folders and files, or `s3://` prefixes.
    pub inputs: Vec<PathBuf>,
    /// The output folder, or an `s3://` prefix.
    pub out: PathBuf,
    /// One recipe per output made from every input; never empty.
    pub recipes: Vec<Recipe>,
    /// Walk input folders' sub-folders.
    pub recursive: bool,
    /// Only this part of the batch.
    pub shard: Option<Shard>,
    /// Per-image limits.
    pub limits: Limits,
    /// Whether the output folder must be writable now (checked before planning, so a folder
    /// that cannot be written is one message; a dry run needs no folder).
    pub check_writable: bool,
}

impl Request {
    /// A request with the defaults: recursive, no shard, default limits.
    pub fn new(inputs: Vec<PathBuf>, out: PathBuf, recipes: Vec<Recipe>) -> Request {
        Request {
            inputs,
            out,
            recipes,
            recursive: true,
            shard: None,
            limits: Limits::default(),
            check_writable: false,
        }
    }

    /// Refuses what cannot run, in one sentence for the user: an invalid recipe, two outputs
    /// that would write the same files, a naming template with the image's size over inputs
    /// in object storage.
    pub fn check(&self) -> Result<(), String> {
        if self.recipes.is_empty() {
            return Err("the batch has no outputs".into());
        }
        let several = self.recipes.len() > 1;
        for (i, recipe) in self.recipes.iter().enumerate() {
            recipe
                .validate()
                .map_err(|e| e.to_string())
                .and_then(|()| recipe.edits.check())
                .map_err(|e| {
                    if several {
                        format!("Output {}: {e}", i + 1)
                    } else {
                        e
                    }
                })?;
        }
        if let Some((i, j)) = first_collision(&self.recipes) {
            return Err(format!(
                "Outputs {} and {} would write the same files ({}); give one another name, \
                 sub-folder or format.",
                i + 1,
                j + 1,
                output_name(&self.recipes[j])
            ));
        }
        if self.inputs.iter().any(|p| remote::is_remote(p))
            && self
                .recipes
                .iter()
                .any(|r| r.name_template.needs_size() || r.name_template.needs_photo())
        {
            return Err(
                "a naming template with the image's size, date or camera needs local inputs \
                 (it reads every header before the batch)"
                    .into(),
            );
        }
        Ok(())
    }

    /// Checks where outputs go: a bucket URL that parses, or a folder that is one (and can
    /// be written, when [`Request::check_writable`]). The output prefix, if it is in object
    /// storage.
    pub fn check_out(&self) -> Result<Option<Location>, String> {
        match Location::parse(&self.out) {
            Some(out) => out.map(Some),
            None => {
                plan::check_out_dir(&self.out, self.check_writable)?;
                super::journal::check_files(&self.out)?;
                Ok(None)
            }
        }
    }

    /// Whether an input or the output is in object storage.
    pub fn uses_store(&self) -> bool {
        self.inputs.iter().any(|p| remote::is_remote(p)) || remote::is_remote(&self.out)
    }

    /// Object storage, connected, if an input or the output is in it (`extra`: another path
    /// that may be, such as a report's).
    pub fn connect(&self, extra: Option<&Path>) -> Result<Option<Arc<dyn Store>>, String> {
        if self.uses_store() || extra.is_some_and(remote::is_remote) {
            super::s3::connect().map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Why a batch could not be prepared, in one sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrepareError {
    /// The output folder or prefix cannot be used.
    Output(String),
    /// The inputs cannot be read.
    Input(String),
}

impl std::fmt::Display for PrepareError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrepareError::Output(e) | PrepareError::Input(e) => f.write_str(e),
        }
    }
}

/// Object storage connected the first time a path in it is used, then shared (a window
/// scans, forecasts and starts from several threads; one client serves them all).
#[derive(Default)]
pub struct LazyStore {
    store: Mutex<Option<Arc<dyn Store>>>,
}

impl std::fmt::Debug for LazyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let connected = self
            .store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        f.debug_struct("LazyStore")
            .field("connected", &connected)
            .finish()
    }
}

impl LazyStore {
    /// One already connected (a test's, or a front end's own configuration).
    pub fn connected(store: Arc<dyn Store>) -> LazyStore {
        LazyStore {
            store: Mutex::new(Some(store)),
        }
    }

    /// The store, connected now if need be, when one of `paths` is in object storage; `None`
    /// when none is. A refused connection is the error, in one sentence (and is tried again
    /// next time).
    pub fn for_paths<'a>(
        &self,
        paths: impl IntoIterator<Item = &'a Path>,
    ) -> Result<Option<Arc<dyn Store>>, String> {
        if !paths.into_iter().any(remote::is_remote) {
            return Ok(None);
        }
        let mut slot = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(store) = slot.as_ref() {
            return Ok(Some(Arc::clone(store)));
        }
        let store = super::s3::connect()?;
        *slot = Some(Arc::clone(&store));
        Ok(Some(store))
    }
}

/// Everything a planned batch starts its pool with: the request, object storage, and the
/// output prefix if the output is in it. Kept by a front end to run some jobs again
/// ([`Setup::start_jobs`]: *Retry failed*).
#[derive(Clone)]
pub struct Setup {
    /// What was asked.
    pub request: Request,
    store: Option<Arc<dyn Store>>,
    remote_out: Option<Location>,
}

/// A planned batch, ready to start.
pub struct Prepared {
    /// The plan: every job, the scan's warnings, how many inputs the whole batch has.
    pub plan: Plan,
    /// How its pool starts.
    pub setup: Setup,
}

/// Scans the inputs (listing an output prefix in object storage and reading its journal at
/// the same time), then plans every output. `stop` ends the walk early (Ctrl-C); a plan made
/// from a stopped scan covers what was found.
pub fn prepare(
    request: Request,
    store: Option<Arc<dyn Store>>,
    stop: Option<Arc<AtomicBool>>,
    scanner: &Scanner,
) -> Result<Prepared, PrepareError> {
    let out_object = request.check_out().map_err(PrepareError::Output)?;
    let options = ScanOptions {
        recursive: request.recursive,
        exclude: vec![request.out.clone()],
        stop,
        store: store.clone(),
    };
    // An output prefix in object storage is listed (and its journal read) while the inputs
    // are scanned: two round trips at once instead of one after the other.
    let (listed, found) = std::thread::scope(|s| {
        let listing = match (&out_object, &store) {
            (Some(out), Some(store)) => Some(s.spawn(move || {
                store
                    .list(out, true)
                    .and_then(|listing| Journal::load_remote(store.as_ref(), out, &listing))
                    .map_err(|e| e.to_string())
            })),
            _ => None,
        };
        let found = scanner(&request.inputs, &options);
        let listed = listing.map(|h| {
            h.join().unwrap_or_else(|panic| {
                Err(format!(
                    "internal error while listing: {}",
                    pool::panic_message(panic.as_ref())
                ))
            })
        });
        (listed, found)
    });
    let remote_out = match (&out_object, listed) {
        (Some(_), Some(Ok((journal, objects)))) => Some(RemoteOut { journal, objects }),
        (Some(out), Some(Err(e))) => return Err(PrepareError::Output(format!("{out}: {e}"))),
        (Some(out), None) => {
            return Err(PrepareError::Output(format!(
                "{out}: object storage is not connected"
            )));
        }
        _ => None,
    };
    let found = found.map_err(|e| PrepareError::Input(e.to_string()))?;
    let plan = plan::plan_outputs(
        &found,
        &request.recipes,
        &PlanOptions {
            out_dir: request.out.clone(),
            shard: request.shard,
            remote_out,
            ..PlanOptions::default()
        },
    );
    Ok(Prepared {
        plan,
        setup: Setup {
            request,
            store,
            remote_out: out_object,
        },
    })
}

/// What Start would do with `found` (a scan already made) under `recipes` into `out` (a
/// folder, or a prefix in `store`): the window's forecast. Folder checks, the listing and the
/// journal are read here, so call it off the UI thread.
pub fn outlook(
    found: &Scan,
    recipes: &[Recipe],
    out: &Path,
    store: Option<&Arc<dyn Store>>,
) -> Result<Outlook, String> {
    let remote_out = match Location::parse(out) {
        None => {
            plan::check_out_dir(out, true)?;
            None
        }
        Some(prefix) => {
            let prefix = prefix?;
            let store =
                store.ok_or_else(|| format!("{prefix}: object storage is not connected"))?;
            let listing = store.list(&prefix, true).map_err(|e| e.reason)?;
            let (journal, objects) =
                Journal::load_remote(store.as_ref(), &prefix, &listing).map_err(|e| e.reason)?;
            Some(RemoteOut { journal, objects })
        }
    };
    let options = PlanOptions {
        out_dir: out.to_path_buf(),
        remote_out,
        ..PlanOptions::default()
    };
    let free_bytes = if options.remote_out.is_none() {
        crate::durable::free_space(out)
    } else {
        None
    };
    Ok(Outlook {
        free_bytes,
        ..Outlook::of(&plan::plan_outputs(found, recipes, &options).jobs)
    })
}

/// How a started batch runs.
#[derive(Clone)]
pub struct Run {
    /// Workers at the start (the count can change while it runs).
    pub workers: usize,
    /// The workers' scheduling priority.
    pub priority: Priority,
    /// Called after each event.
    pub waker: Waker,
    /// Stop or pause at a failure of the whole batch (a full disk).
    pub on_systemic: pool::OnSystemic,
}

impl Prepared {
    /// Removes temporary files an interrupted run left in the folders this batch writes
    /// (none for an output in object storage); how many.
    pub fn sweep(&self) -> usize {
        if self.setup.remote_out.is_some() {
            0
        } else {
            plan::sweep_stale_temps(&self.plan.jobs)
        }
    }

    /// The recipes, one per output.
    pub fn recipes(&self) -> &[Recipe] {
        &self.setup.request.recipes
    }

    /// Starts the pool over every job of the plan.
    pub fn start(self, run: Run) -> Result<Running, String> {
        self.setup.start_jobs(self.plan.jobs, run)
    }
}

impl Setup {
    /// Object storage, if the batch uses it.
    pub fn store(&self) -> Option<&Arc<dyn Store>> {
        self.store.as_ref()
    }

    /// Starts the pool over `jobs` (a plan's, or some of them again).
    pub fn start_jobs(&self, jobs: Arc<[Job]>, run: Run) -> Result<Running, String> {
        start_jobs(
            jobs,
            &self.request,
            self.store.clone(),
            self.remote_out.as_ref(),
            run,
        )
    }
}

/// Starts the pool over `jobs` as `request` says.
fn start_jobs(
    jobs: Arc<[Job]>,
    request: &Request,
    store: Option<Arc<dyn Store>>,
    remote_out: Option<&Location>,
    run: Run,
) -> Result<Running, String> {
    let mut pipeline = Pipeline::with_outputs(request.recipes.clone());
    let journal_shard = request.shard.map(|s| (s.index, s.count));
    let journal = match (remote_out, &store) {
        (Some(out), Some(store)) => JournalWriter::remote(Arc::clone(store), out, journal_shard)
            .map_err(|e| e.to_string())?,
        _ => JournalWriter::new(&request.out, journal_shard),
    };
    let journal = Arc::new(journal);
    pipeline.journal = Some(Arc::clone(&journal));
    pipeline.store = store.clone();
    let mut warnings = Vec::new();
    // Inputs in object storage are fetched a few ahead of the workers, in the pool's order.
    if let Some(store) = &store {
        let mut inputs: Vec<PathBuf> = Vec::new();
        for job in jobs.iter().filter(|j| j.action == Action::Convert) {
            if remote::is_remote(&job.input) && inputs.last() != Some(&job.input) {
                inputs.push(job.input.clone());
            }
        }
        if !inputs.is_empty() {
            match Prefetch::start(Arc::clone(store), inputs, run.workers + 1) {
                Ok(p) => pipeline.prefetch = Some(p),
                Err(e) => warnings.push(format!("inputs will not be fetched ahead: {e}")),
            }
        }
    }
    let prefetch = pipeline.prefetch.clone();
    if let Some(max) = request.limits.max_pixels {
        pipeline.limits.max_pixels = max;
    }
    if let Some(max) = request.limits.max_file_size {
        pipeline.limits.max_file_bytes = max;
    }
    if let Some(limit) = request.limits.memory_limit {
        pipeline.budget = MemoryBudget::new(limit);
    }
    pool::quiet_worker_panics();
    let handle = pool::start_with(
        Arc::clone(&jobs),
        Arc::new(pipeline),
        run.workers,
        run.priority,
        run.waker,
        run.on_systemic,
    )
    .map_err(|e| format!("Could not start workers: {e}"))?;
    Ok(Running {
        jobs,
        handle: Some(handle),
        journal,
        prefetch,
        warnings,
    })
}

/// A started batch: the pool's handle, and what must be closed when it ends.
pub struct Running {
    /// The jobs, in the pool's numbering.
    pub jobs: Arc<[Job]>,
    handle: Option<PoolHandle>,
    journal: Arc<JournalWriter>,
    prefetch: Option<Arc<Prefetch>>,
    /// What went wrong without stopping the batch (said once by the front end).
    pub warnings: Vec<String>,
}

impl Running {
    /// The pool: events, pause, cancel, worker count.
    pub fn handle(&self) -> Option<&PoolHandle> {
        self.handle.as_ref()
    }

    /// Waits for the workers, stops the prefetch and saves the journal; the journal's error,
    /// if any, in one sentence (the outputs stand, and a re-run reads their own records).
    pub fn finish(&mut self) -> Result<(), String> {
        if let Some(handle) = self.handle.take() {
            handle.wait();
        }
        if let Some(p) = &self.prefetch {
            p.stop();
        }
        self.journal.finish().map_err(|e| {
            format!(
                "the journal {} could not be saved ({e}); a re-run reads the outputs' own \
                 records instead",
                self.journal.path().display()
            )
        })
    }
}
