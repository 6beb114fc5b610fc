//! Command-line arguments, shared by `run` and `gui`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::engine::format::Format;
use crate::engine::name::NameTemplate;
use crate::engine::plan::ShardChoice;
use crate::engine::recipe::{
    Chroma, Filter, MetadataMode, OnExist, OutputFormat, RecipePatch, ResizeSpec, Rgb,
};
use crate::engine::units::parse_size;

/// The `--format` help, from the format table.
fn format_help() -> String {
    let names: Vec<&str> = OutputFormat::choices().iter().map(|c| c.name()).collect();
    format!("Output format: {} [default: keep]", names.join(", "))
}

/// The `--quality` help, from the format table.
fn quality_help() -> String {
    use crate::engine::format::Control;
    let labels: Vec<&str> = Format::writable()
        .filter(|f| f.takes(Control::Quality))
        .map(Format::label)
        .collect();
    format!(
        "Quality for {} (lossy), 1-100 [default: 85]",
        labels.join(" and ")
    )
}

/// The JPEG and AVIF-output codecs this build has (for `--version`).
#[cfg(feature = "turbo")]
macro_rules! jpeg_codec {
    () => {
        "libjpeg-turbo for JPEG"
    };
}
#[cfg(not(feature = "turbo"))]
macro_rules! jpeg_codec {
    () => {
        "none for JPEG: jpeg-decoder and jpeg-encoder"
    };
}
#[cfg(feature = "aom")]
macro_rules! avif_codec {
    () => {
        "libaom for AVIF output (lossless too)"
    };
}
#[cfg(not(feature = "aom"))]
macro_rules! avif_codec {
    () => {
        "none for AVIF output: rav1e, no lossless"
    };
}

#[cfg(feature = "s3")]
macro_rules! object_storage {
    () => {
        "S3 object storage"
    };
}
#[cfg(not(feature = "s3"))]
macro_rules! object_storage {
    () => {
        "no object storage"
    };
}

/// `--version`: the version and the optional codecs and storage this build has.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (optional codecs: ",
    jpeg_codec!(),
    "; ",
    avif_codec!(),
    "; ",
    object_storage!(),
    ")"
);

/// Batch image conversion: resize, convert and re-compress whole folders.
#[derive(Debug, Parser)]
#[command(name = "conveyor", version = VERSION, about, long_about = None)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; with none, the window opens.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Folders or images to open in the window, as if dropped on it (what a file manager's
    /// "Open with Conveyor" passes).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// The sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert images headless, with live progress in the terminal.
    Run(RunArgs),
    /// Open the window, optionally preloaded (and started).
    Gui(GuiArgs),
    /// Check a recipe file, or print the recipe file for a set of options.
    #[command(subcommand)]
    Recipe(RecipeCommand),
    /// Work with reports: join the reports of a sharded batch.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page, or write a page per command into a folder.
    Man {
        /// Write conveyor.1, conveyor-run.1, … into this folder instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// `conveyor report …`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Join shard reports (JSON) into one, checking that the shards are disjoint and complete;
    /// exits 1 if anything is missing or failed.
    Merge {
        /// The shards' JSON reports.
        #[arg(required = true, value_name = "REPORT")]
        reports: Vec<PathBuf>,
        /// The merged report: .json or .csv by extension.
        #[arg(long, short = 'o', value_name = "FILE")]
        out: PathBuf,
    },
}

/// `conveyor recipe …`.
#[derive(Debug, Subcommand)]
pub enum RecipeCommand {
    /// Validate a recipe file and print what it will do.
    Check {
        /// The recipe file (TOML with one or more [[output]] tables).
        #[arg(value_name = "FILE.toml")]
        file: PathBuf,
    },
    /// Print the recipe file for the given options (with --recipe, that file's outputs with
    /// the options applied to each).
    Show {
        /// Start from this recipe file's outputs.
        #[arg(long = "recipe", value_name = "FILE.toml")]
        recipe_file: Option<PathBuf>,
        /// The options.
        #[command(flatten)]
        recipe: RecipeArgs,
    },
}

/// Options that make up a [`Recipe`]. Unset options keep the base recipe's value.
#[derive(Debug, Clone, Default, Args)]
pub struct RecipeArgs {
    /// Resize: fit:WxH, fill:WxH, exact:WxH, scale:N%, long:N, short:N, width:N, height:N
    /// [default: no resize].
    #[arg(long, value_name = "SPEC")]
    pub resize: Option<ResizeSpec>,
    /// Resampling filter: lanczos3, catmull-rom, bilinear, nearest [default: lanczos3].
    #[arg(long, value_name = "FILTER")]
    pub filter: Option<Filter>,
    #[arg(long, value_name = "FORMAT", help = format_help())]
    pub format: Option<OutputFormat>,
    #[arg(long, value_name = "1-100", help = quality_help(),
          value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality: Option<u8>,
    /// Lossless WebP, or AVIF in builds with the `aom` feature (PNG is always lossless).
    #[arg(long)]
    pub lossless: bool,
    /// JPEG chroma subsampling: 420 (smaller files) or 444 (full-resolution colour) [default: 420].
    #[arg(long, value_name = "420|444")]
    pub chroma: Option<Chroma>,
    /// AVIF encoder effort: 0 fastest to 10 smallest files (rav1e speed 10 - N, at least 1;
    /// in builds with the `aom` feature libaom's cpu-used 11 - N, at most 9)
    /// [default: 4: rav1e speed 6, libaom cpu-used 7].
    #[arg(long, value_name = "0-10", value_parser = clap::value_parser!(u8).range(0..=10))]
    pub effort: Option<u8>,
    /// What transparency becomes in formats without alpha, as #RRGGBB [default: #ffffff].
    #[arg(long, value_name = "#RRGGBB")]
    pub background: Option<Rgb>,
    /// Metadata: keep (EXIF and ICC), strip (EXIF, XMP, comments; ICC stays) or strip-location
    /// (only the GPS position goes) [default: keep].
    #[arg(long, value_name = "MODE")]
    pub metadata: Option<MetadataMode>,
    /// Output file name before its extension; tokens {stem} {ext} {w} {h} {n} [default: {stem}].
    #[arg(long = "name", value_name = "TEMPLATE")]
    pub name_template: Option<NameTemplate>,
    /// When the output exists: skip, overwrite, rename [default: skip].
    #[arg(long, value_name = "POLICY")]
    pub on_exist: Option<OnExist>,
    /// Allow outputs larger than their sources.
    #[arg(long)]
    pub allow_upscale: bool,
    /// Lossy outputs: the highest quality (not above --quality) whose file fits in SIZE (200K,
    /// 1.5M; binary units); a file that cannot fit even at quality 10 fails (over_size).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_size: Option<u64>,
    /// Lossy outputs: the lowest quality (not above --quality) whose output scores at least N
    /// by SSIMULACRA2 against the resized image (70 medium, 80 high, 90 visually lossless).
    #[arg(long, value_name = "0-100", value_parser = parse_score)]
    pub target_score: Option<f64>,
    /// When an output in the input's own format is not smaller than the input, keep the
    /// original's bytes instead (unless --metadata strip has something to remove).
    #[arg(long)]
    pub smaller_only: bool,
    /// Give each output its input's modification time.
    #[arg(long)]
    pub keep_dates: bool,
}

/// A SSIMULACRA2 target: a number from 0 to 100.
fn parse_score(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "'{text}' is not a score; use a number from 0 to 100 (70 medium, 80 high, 90 \
             visually lossless)"
        )),
    }
}

impl RecipeArgs {
    /// The options given, as a patch over a base recipe.
    pub fn patch(&self) -> RecipePatch {
        RecipePatch {
            resize: self.resize,
            filter: self.filter,
            format: self.format,
            quality: self.quality,
            lossless: self.lossless,
            chroma: self.chroma,
            effort: self.effort,
            background: self.background,
            metadata: self.metadata,
            name_template: self.name_template.clone(),
            on_exist: self.on_exist,
            allow_upscale: self.allow_upscale,
            max_size: self.max_size,
            target_score: self.target_score,
            smaller_only: self.smaller_only,
            keep_dates: self.keep_dates,
        }
    }
}

/// `conveyor run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Folders (scanned recursively) and/or single image files.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Output folder; sub-folders of the inputs are mirrored inside it.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    /// Take only the top level of each input folder.
    #[arg(long)]
    pub no_recursive: bool,
    /// What every image becomes.
    #[command(flatten)]
    pub recipe: RecipeArgs,
    /// A recipe file: one output per [[output]] table, each input decoded once for all of them;
    /// options given here override every output's value.
    #[arg(long = "recipe", value_name = "FILE.toml")]
    pub recipe_file: Option<PathBuf>,
    /// Worker threads [default: logical CPUs].
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
    /// Plan only: write nothing, list what would happen.
    #[arg(long)]
    pub dry_run: bool,
    /// Write a report of every file: .json or .csv by extension.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Process only the K-th of N deterministic, disjoint parts of the batch; `auto` (or
    /// `auto/N`) takes K and N from a Slurm array, a Kubernetes indexed Job or an AWS Batch
    /// array job.
    #[arg(long, value_name = "K/N|auto[/N]")]
    pub shard: Option<ShardChoice>,
    /// Refuse images with more pixels than this [default: 250000000].
    #[arg(long, value_name = "PIXELS")]
    pub max_pixels: Option<u64>,
    /// Refuse files larger than this, e.g. 200M [default: 1G].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,
    /// Image memory all workers share, e.g. 512M or 2G; workers wait for room
    /// [default: a quarter of RAM, at most 2G].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<u64>,
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `conveyor gui`.
#[derive(Debug, Clone, Default, Args)]
pub struct GuiArgs {
    /// Preload this input folder.
    #[arg(long, value_name = "DIR")]
    pub input: Option<PathBuf>,
    /// Output folder [default: a sibling folder `<input>-converted`].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Recipe options (override the saved settings, or every output of --recipe).
    #[command(flatten)]
    pub recipe: RecipeArgs,
    /// Show this recipe file's outputs instead of the saved recipe.
    #[arg(long = "recipe", value_name = "FILE.toml")]
    pub recipe_file: Option<PathBuf>,
    /// Worker threads [default: logical CPUs].
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
    /// Start converting as soon as the window opens (needs --input).
    #[arg(long, requires = "input")]
    pub start: bool,
}
