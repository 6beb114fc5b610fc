//! Command-line arguments, shared by `run` and `gui`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::engine::edit::Takes;
use crate::engine::options::{self, OPTIONS, RecipeOption, RecipePatch, Value};
use crate::engine::plan::ShardChoice;
use crate::engine::units::{parse_duration, parse_size};

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

#[cfg(feature = "gui")]
macro_rules! window {
    () => {
        "the window"
    };
}
#[cfg(not(feature = "gui"))]
macro_rules! window {
    () => {
        "no window (headless)"
    };
}

/// `--version`: the version and the optional codecs, storage and window this build has.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (optional codecs: ",
    jpeg_codec!(),
    "; ",
    avif_codec!(),
    "; ",
    object_storage!(),
    "; ",
    window!(),
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
    /// Watch folders: convert what is there, then each new or changed image once it is
    /// completely written, until stopped (a hot folder).
    Watch(WatchArgs),
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

/// Options that make up a recipe: one flag per option of the engine's option table
/// ([`OPTIONS`]), each checked as it is parsed. Unset options keep the base recipe's value.
#[derive(Debug, Clone, Default)]
pub struct RecipeArgs {
    given: RecipePatch,
}

impl RecipeArgs {
    /// The options given, as a patch over a base recipe.
    pub fn patch(&self) -> RecipePatch {
        self.given.clone()
    }
}

/// Parses one option's value with the options table's own check, and names the values it
/// takes (so shell completion offers `webp`, `keep` … instead of file names).
#[derive(Clone)]
struct OptionValue(&'static RecipeOption);

impl clap::builder::TypedValueParser for OptionValue {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let text = value
            .to_str()
            .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidUtf8).with_cmd(cmd))?;
        self.0
            .check(&Value::Text(text.to_owned()))
            .map(|()| text.to_owned())
            .map_err(|e| {
                let flag = arg
                    .and_then(clap::Arg::get_long)
                    .map_or_else(String::new, |long| format!(" for --{long}"));
                clap::Error::raw(
                    clap::error::ErrorKind::ValueValidation,
                    format!("invalid value '{text}'{flag}: {e}\n"),
                )
                .with_cmd(cmd)
            })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        let choices = (self.0.choices)();
        (!choices.is_empty()).then(|| {
            Box::new(choices.into_iter().map(clap::builder::PossibleValue::new))
                as Box<dyn Iterator<Item = _>>
        })
    }
}

/// The command-line argument of one option.
fn recipe_arg(o: &'static RecipeOption, flag: &'static str) -> clap::Arg {
    // clap turns `{n}` in help into a line break; a word joiner (U+2060, invisible, and
    // dropped again by the naming template's parser) keeps the token as written.
    let help = (o.help)().replace("{n}", "{\u{2060}n}");
    let arg = clap::Arg::new(o.key).long(flag).help(help);
    match o.value_name {
        None => arg.action(clap::ArgAction::SetTrue),
        Some(name) => arg
            .value_name(name)
            .action(clap::ArgAction::Set)
            .value_parser(OptionValue(o))
            .hide_possible_values(true),
    }
}

/// Checks one edit flag's value as it is parsed.
#[derive(Clone)]
struct EditValue(&'static str);

impl clap::builder::TypedValueParser for EditValue {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let text = value
            .to_str()
            .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidUtf8).with_cmd(cmd))?;
        crate::engine::edit::Edit::parse(self.0, text)
            .map(|_| text.to_owned())
            .map_err(|e| {
                clap::Error::raw(
                    clap::error::ErrorKind::ValueValidation,
                    format!("invalid value '{text}' for --{}: {}\n", self.0, e.0),
                )
                .with_cmd(cmd)
            })
    }
}

impl clap::Args for RecipeArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let cmd = OPTIONS.iter().fold(cmd, |cmd, o| match o.flag {
            Some(flag) => cmd.arg(recipe_arg(o, flag)),
            None => cmd,
        });
        // Edits: each flag as often as wanted, applied in the order given.
        options::edit_flags().fold(cmd, |cmd, o| {
            let arg = clap::Arg::new(o.name)
                .long(o.name)
                .value_name(o.value_name)
                .help(o.help)
                .action(clap::ArgAction::Append)
                .value_parser(EditValue(o.name));
            cmd.arg(match o.takes {
                Takes::Value => arg,
                // `--sharpen` alone: the defaults.
                Takes::Maybe => arg.num_args(0..=1).default_missing_value(""),
            })
        })
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for RecipeArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut args = RecipeArgs::default();
        args.update_from_arg_matches(matches)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        for o in OPTIONS.iter().filter(|o| o.flag.is_some()) {
            let value = match o.value_name {
                None => matches.get_flag(o.key).then_some(Value::Bool(true)),
                Some(_) => matches
                    .get_one::<String>(o.key)
                    .map(|text| Value::Text(text.clone())),
            };
            if let Some(value) = value {
                self.given
                    .set(o.key, value)
                    .map_err(|e| clap::Error::raw(clap::error::ErrorKind::InvalidValue, e))?;
            }
        }
        // The edit flags and `--resize`, by their places among the arguments.
        let mut edits: Vec<(usize, &str, String)> = Vec::new();
        for name in options::edit_flags().map(|o| o.name).chain(["resize"]) {
            let (Ok(Some(values)), Some(places)) = (
                matches.try_get_many::<String>(name),
                matches.indices_of(name),
            ) else {
                continue;
            };
            edits.extend(places.zip(values).map(|(at, v)| (at, name, v.clone())));
        }
        if let Some(text) = options::fold_edits(&edits) {
            self.given
                .set("edit", Value::Text(text))
                .map_err(|e| clap::Error::raw(clap::error::ErrorKind::InvalidValue, e))?;
        }
        Ok(())
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
    /// Limits on what one image may take.
    #[command(flatten)]
    pub limits: LimitArgs,
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Limits on what one image may take (`run` and `watch`).
#[derive(Debug, Clone, Copy, Args)]
pub struct LimitArgs {
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
}

impl LimitArgs {
    /// The engine's limits.
    pub fn limits(&self) -> crate::engine::batch::Limits {
        crate::engine::batch::Limits {
            max_pixels: self.max_pixels,
            max_file_size: self.max_file_size,
            memory_limit: self.memory_limit,
        }
    }
}

/// `conveyor watch`.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Folders to watch (their sub-folders too).
    #[arg(required = true, value_name = "FOLDER")]
    pub inputs: Vec<PathBuf>,
    /// Output folder; sub-folders of the inputs are mirrored inside it (never read as input,
    /// also when it is inside a watched folder).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    /// Watch only the top level of each folder.
    #[arg(long)]
    pub no_recursive: bool,
    /// What every image becomes.
    #[command(flatten)]
    pub recipe: RecipeArgs,
    /// A recipe file: one output per [[output]] table; options given here override every
    /// output's value.
    #[arg(long = "recipe", value_name = "FILE.toml")]
    pub recipe_file: Option<PathBuf>,
    /// Worker threads [default: logical CPUs].
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
    /// How long a new or changed file must stay the same size and time (and be closed by the
    /// program writing it, where the system tells) before it is converted, e.g. 2s or 500ms.
    #[arg(long, value_name = "TIME", value_parser = parse_duration, default_value = "2s")]
    pub settle: Duration,
    /// Look at the folders every TIME instead of waiting for the system's change events: for
    /// network shares, whose changes raise no events (e.g. 5s).
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub poll: Option<Duration>,
    /// Convert what is there and not converted yet, then stop (for cron).
    #[arg(long)]
    pub once: bool,
    /// Append a JSON Lines record of every file to FILE as it finishes (the fields of a
    /// report's `files`).
    #[arg(long, value_name = "FILE.jsonl")]
    pub report: Option<PathBuf>,
    /// Limits on what one image may take.
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Say only what failed (no line per converted file).
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
    /// Watch the input folder as soon as the window opens: convert what is there, then each
    /// image copied into it (needs --input; *Watch this folder* in the window).
    #[arg(long, requires = "input", conflicts_with = "start")]
    pub watch: bool,
}
