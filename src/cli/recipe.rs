//! Recipes on the command line: the outputs of a run (a recipe file's, with the options given
//! applied to each, or one from the options alone), and `conveyor recipe check|show`.

use std::path::Path;
use std::process::ExitCode;

use super::args::{RecipeArgs, RecipeCommand};
use super::exit::{EXIT_OK, EXIT_USAGE};
use crate::engine::format::{Control, Format};
use crate::engine::options::describe;
use crate::engine::recipe::{OutputFormat, Recipe};
use crate::engine::recipe_file::{self, first_collision, output_name};

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
            && patch.get("lossless").is_some()
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
