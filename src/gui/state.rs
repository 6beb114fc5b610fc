//! What the app holds besides its settings: the chosen input, the batch, the pending plan, a
//! dialog's purpose and the preview of a finished file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use eframe::egui;

use super::task::Task;
use super::view::{BatchView, InputSummary};
use crate::engine::batch::{Running, Setup};
use crate::engine::job::JobId;
use crate::engine::preview::Thumbnail;
use crate::engine::remote::{Location, is_remote};
use crate::engine::report::{Report, Summary, record_of};
use crate::engine::scan::ScanWarning;

/// A finished scan: what the window summarises, and the scan itself for planning.
pub(super) type Scanned = (InputSummary, std::sync::Arc<crate::engine::scan::Scan>);

/// The chosen input and its scan.
pub(super) struct Input {
    pub(super) paths: Vec<PathBuf>,
    pub(super) summary: Option<Result<InputSummary, String>>,
    /// The scan itself, for planning before Start.
    pub(super) scan: Option<std::sync::Arc<crate::engine::scan::Scan>>,
    pub(super) scanning: Option<Task<Result<Scanned, String>>>,
}

impl Input {
    /// The folder names are shown relative to, and the default output's sibling.
    pub(super) fn root(&self) -> PathBuf {
        match self.paths.as_slice() {
            [one] if one.is_dir() || is_remote(one) => one.clone(),
            [first, ..] => first.parent().map(Path::to_path_buf).unwrap_or_default(),
            [] => PathBuf::new(),
        }
    }

    /// `<input>-converted` beside the input folder (for an `s3://bucket/prefix` input,
    /// `s3://bucket/prefix-converted`; for a whole bucket, `s3://bucket/converted`).
    pub(super) fn default_output(&self) -> PathBuf {
        let root = self.root();
        if let Some(Ok(prefix)) = Location::parse(&root) {
            let key = prefix.key.trim_end_matches('/');
            return PathBuf::from(if key.is_empty() {
                format!("{prefix}converted")
            } else {
                format!("s3://{}/{key}-converted", prefix.bucket)
            });
        }
        let mut name = root
            .file_name()
            .map(OsString::from)
            .unwrap_or_else(|| "images".into());
        name.push("-converted");
        root.parent()
            .map_or_else(|| PathBuf::from(&name), |p| p.join(&name))
    }
}

/// A running or finished batch.
pub(super) struct Batch {
    /// How its pool started (for *Retry failed*: the same outputs into the same place; a hot
    /// folder's is known once its first batch starts).
    pub(super) setup: Option<Setup>,
    /// The running pool; `None` once it has ended.
    pub(super) handle: Option<Running>,
    /// The hot folder, while the window watches one (`None` once it has stopped).
    pub(super) hot: Option<crate::engine::hot::HotFolder>,
    pub(super) view: BatchView,
    pub(super) started: Instant,
    pub(super) out_dir: PathBuf,
    pub(super) warnings: Vec<ScanWarning>,
    pub(super) elapsed_at_finish: Option<f64>,
    /// The outputs it makes.
    pub(super) recipes: Vec<crate::engine::recipe::Recipe>,
}

impl Batch {
    pub(super) fn running(&self) -> bool {
        !self.view.finished
    }

    /// The report of what has ended so far.
    pub(super) fn report(&self) -> Report {
        let summary = Summary {
            elapsed_seconds: self
                .elapsed_at_finish
                .unwrap_or_else(|| self.started.elapsed().as_secs_f64()),
            workers: self.view.target_workers,
            outputs: self
                .recipes
                .iter()
                .map(crate::engine::recipe_file::output_name)
                .collect(),
            recipes: self
                .recipes
                .iter()
                .map(crate::engine::options::describe)
                .collect(),
            ..Summary::default()
        };
        // Made from the view's rows (a job with none has not ended: cancelled), so the
        // window keeps no second record of every file.
        let files = self
            .view
            .jobs()
            .iter()
            .enumerate()
            .map(|(id, job)| match self.view.row_of_job(id) {
                Some(row) => record_of(job, &row.outcome(), row.worker, u64::from(row.millis)),
                None => record_of(job, &crate::engine::job::Outcome::Cancelled, None, 0),
            })
            .collect();
        Report::new(files, summary).with_scan_warnings(&self.warnings)
    }
}

/// Scan and plan, done off the UI thread before a batch starts.
pub(super) struct Prepared {
    pub(super) prepared: crate::engine::batch::Prepared,
    pub(super) warnings: Vec<ScanWarning>,
    /// The batch's view, made on the planning thread: for a million jobs it is hundreds of
    /// megabytes to fill, a stall if the window thread made it at Start.
    pub(super) view: crate::gui::view::BatchView,
}

/// Previews of one finished file, loading or loaded.
pub(super) struct Preview {
    pub(super) job: JobId,
    pub(super) loading: Option<Task<[Result<Thumbnail, String>; 2]>>,
    pub(super) loaded: Option<[Result<(egui::TextureHandle, Thumbnail), String>; 2]>,
}

/// What the current input, recipe and output folder would do if started now: planned in the
/// background whenever one of them changes, shown before Start.
pub(super) struct Forecast {
    /// What it was planned for: the outputs and the output folder.
    pub(super) key: (Vec<crate::engine::recipe::Recipe>, PathBuf),
    pub(super) task: Option<Task<Result<crate::engine::plan::Outlook, String>>>,
    pub(super) result: Option<Result<crate::engine::plan::Outlook, String>>,
}
