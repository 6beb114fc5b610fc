//! Recipes on the command line: the outputs of a run (a recipe file's, with the options given
//! applied to each, or one from the options alone), and `conveyor recipe check|show`.

use std::path::Path;
use std::process::ExitCode;

use super::args::{RecipeArgs, RecipeCommand};
use super::run::{EXIT_OK, EXIT_USAGE};
use crate::engine::format::{Control, Format};
use crate::engine::recipe::{OutputFormat, Recipe};
use crate::engine::recipe_file::{self, first_collision, output_name};
use crate::engine::units::human_bytes;

/// The outputs a run makes: each of the recipe file's outputs with the options given applied
/// (options override every output's value), or the one output the options describe. An error
/// is one line for the user.
pub fn outputs(file: Option<&Path>, args: &RecipeArgs) -> Result<Vec<Recipe>, String> {
    let patch = args.patch();
    let Some(file) = file else {
        let recipe = patch.apply(Recipe::default());
        recipe.validate().map_err(|e| e.0)?;
        // Asked for by name, lossless must not quietly become lossy.
        if let OutputFormat::To(f) = recipe.format
            && args.lossless
            && !f.takes(Control::Lossless)
        {
            return Err(format!(
                "--lossless: this build of Conveyor cannot write {} losslessly{}; use --format \
                 png, or --format webp --lossless",
                f.label(),
                if f == Format::Avif {
                    " (that needs the `aom` feature: libaom)"
                } else {
                    ""
                }
            ));
        }
        return Ok(vec![recipe]);
    };
    let recipes: Vec<Recipe> = recipe_file::read(file)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|r| patch.apply(r))
        .collect();
    for (i, r) in recipes.iter().enumerate() {
        r.validate().map_err(|e| {
            format!(
                "{}: output {} with the options given: {}",
                file.display(),
                i + 1,
                e.0
            )
        })?;
    }
    if let Some((i, j)) = first_collision(&recipes) {
        return Err(format!(
            "{}: with the options given, outputs {} and {} would both write {}",
            file.display(),
            i + 1,
            j + 1,
            output_name(&recipes[j])
        ));
    }
    Ok(recipes)
}

/// One line saying what an output does.
pub fn describe(r: &Recipe) -> String {
    let mut parts = vec![match r.resize {
        Some(spec) => format!("resize {spec} ({})", r.filter),
        None => "no resize".to_owned(),
    }];
    let format = match r.format {
        OutputFormat::Keep => "each input's own format".to_owned(),
        OutputFormat::To(f) => f.label().to_owned(),
    };
    let lossy = match r.format {
        OutputFormat::To(f) => r.is_lossy(f),
        OutputFormat::Keep => true,
    };
    if lossy {
        let mut q = format!("{format} at quality {}", r.quality);
        if let Some(max) = r.max_size {
            q.push_str(&format!(", at most {}", human_bytes(max)));
        }
        if let Some(score) = r.target_score {
            q.push_str(&format!(", aiming at SSIMULACRA2 {score}"));
        }
        parts.push(q);
    } else {
        parts.push(format!("{format}, lossless"));
    }
    parts.push(format!("metadata {}", r.metadata));
    if r.keep_dates {
        parts.push("input dates kept".into());
    }
    if r.smaller_only {
        parts.push("originals kept when smaller".into());
    }
    if r.allow_upscale {
        parts.push("may enlarge".into());
    }
    parts.join(", ")
}

/// Runs `conveyor recipe …`.
pub fn command(cmd: &RecipeCommand) -> ExitCode {
    match cmd {
        RecipeCommand::Check { file } => match recipe_file::read(file) {
            Ok(recipes) => {
                let n = recipes.len();
                println!(
                    "{}: {n} output{} from every input, each input decoded once",
                    file.display(),
                    if n == 1 { "" } else { "s" }
                );
                for (i, r) in recipes.iter().enumerate() {
                    println!("  {}. {} — {}", i + 1, output_name(r), describe(r));
                }
                ExitCode::from(EXIT_OK)
            }
            Err(e) => {
                eprintln!("conveyor: {e}");
                ExitCode::from(EXIT_USAGE)
            }
        },
        RecipeCommand::Show {
            recipe_file,
            recipe,
        } => match outputs(recipe_file.as_deref(), recipe) {
            Ok(recipes) => {
                print!("{}", recipe_file::to_toml(&recipes));
                ExitCode::from(EXIT_OK)
            }
            Err(e) => {
                eprintln!("conveyor: {e}");
                ExitCode::from(EXIT_USAGE)
            }
        },
    }
}
