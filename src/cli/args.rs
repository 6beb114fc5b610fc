//! Command-line arguments, shared by `run` and `gui`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::engine::recipe::{
    Chroma, Filter, MetadataMode, OnExist, OutputFormat, Recipe, ResizeSpec, Rgb,
};
use crate::engine::scan::Shard;

/// Batch image conversion: resize, convert and re-compress whole folders.
#[derive(Debug, Parser)]
#[command(name = "conveyor", version, about, long_about = None)]
pub struct Cli {
    /// What to do; with none, the window opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert images headless, with live progress in the terminal.
    Run(RunArgs),
    /// Open the window, optionally preloaded (and started).
    Gui(GuiArgs),
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
    /// Output format: keep, jpeg, png, webp, gif, bmp, tiff, qoi [default: keep].
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,
    /// Quality for JPEG and lossy WebP, 1-100 [default: 85].
    #[arg(long, value_name = "1-100", value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality: Option<u8>,
    /// Lossless WebP.
    #[arg(long)]
    pub lossless: bool,
    /// JPEG chroma subsampling: 420 (smaller files) or 444 (full-resolution colour) [default: 420].
    #[arg(long, value_name = "420|444")]
    pub chroma: Option<Chroma>,
    /// What transparency becomes in formats without alpha, as #RRGGBB [default: #ffffff].
    #[arg(long, value_name = "#RRGGBB")]
    pub background: Option<Rgb>,
    /// Metadata: keep (EXIF and ICC) or strip (EXIF, XMP, comments; ICC stays) [default: keep].
    #[arg(long, value_name = "MODE")]
    pub metadata: Option<MetadataMode>,
    /// Output file name before its extension; tokens {stem} {ext} {w} {h} {n} [default: {stem}].
    #[arg(long = "name", value_name = "TEMPLATE")]
    pub name_template: Option<String>,
    /// When the output exists: skip, overwrite, rename [default: skip].
    #[arg(long, value_name = "POLICY")]
    pub on_exist: Option<OnExist>,
    /// Allow outputs larger than their sources.
    #[arg(long)]
    pub allow_upscale: bool,
}

impl RecipeArgs {
    /// `base` with every option given on the command line applied.
    pub fn apply(&self, mut base: Recipe) -> Recipe {
        if self.resize.is_some() {
            base.resize = self.resize;
        }
        if let Some(v) = self.filter {
            base.filter = v;
        }
        if let Some(v) = self.format {
            base.format = v;
        }
        if let Some(v) = self.quality {
            base.quality = v;
        }
        if self.lossless {
            base.lossless = true;
        }
        if let Some(v) = self.chroma {
            base.chroma = v;
        }
        if let Some(v) = self.background {
            base.background = v;
        }
        if let Some(v) = self.metadata {
            base.metadata = v;
        }
        if let Some(v) = &self.name_template {
            base.name_template.clone_from(v);
        }
        if let Some(v) = self.on_exist {
            base.on_exist = v;
        }
        if self.allow_upscale {
            base.allow_upscale = true;
        }
        base
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
    /// Worker threads [default: logical CPUs].
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
    /// Plan only: write nothing, list what would happen.
    #[arg(long)]
    pub dry_run: bool,
    /// Write a report of every file: .json or .csv by extension.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Process only the K-th of N deterministic, disjoint parts of the batch.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Refuse images with more pixels than this [default: 250000000].
    #[arg(long, value_name = "PIXELS")]
    pub max_pixels: Option<u64>,
    /// Refuse files larger than this, e.g. 200M [default: 1G].
    #[arg(long, value_name = "SIZE", value_parser = crate::engine::pipeline::budget::parse_size)]
    pub max_file_size: Option<u64>,
    /// Image memory all workers share, e.g. 512M or 2G; workers wait for room
    /// [default: a quarter of RAM, at most 2G].
    #[arg(long, value_name = "SIZE", value_parser = crate::engine::pipeline::budget::parse_size)]
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
    /// Recipe options (override the saved settings).
    #[command(flatten)]
    pub recipe: RecipeArgs,
    /// Worker threads [default: logical CPUs].
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
    /// Start converting as soon as the window opens (needs --input).
    #[arg(long, requires = "input")]
    pub start: bool,
}

/// Logical CPUs, the default worker count.
pub fn default_workers() -> usize {
    num_cpus::get().max(1)
}
