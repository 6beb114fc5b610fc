//! The recipe form (left panel): one collapsible card per output (resize, format, quality,
//! metadata, naming, sub-folder), then what applies to the whole batch (on-exist, the output
//! folder), presets (recipe files) and *Copy as command*.

use std::path::PathBuf;

use eframe::egui;

use crate::engine::edit::Edit;

use crate::engine::recipe::{OnExist, OutputFormat, Recipe};
use crate::gui::command::Command;
use crate::gui::command::DialogPurpose;
use crate::gui::presets::Preset;
use crate::gui::settings::Settings;
use crate::gui::view::FirstImage;

use super::output_form::{combo, output_form};

/// The whole form; disabled while a batch runs.
/// What the recipe panel shows, and the parts of the window's state it edits, borrowed once a
/// frame; the panel pushes commands for everything else.
pub(crate) struct RecipeView<'a> {
    /// A batch is being prepared or running: the form is read-only.
    pub(crate) busy: bool,
    /// The output folder the next batch writes to.
    pub(crate) output_dir: Option<PathBuf>,
    /// The user chose the output folder (*Use default* applies).
    pub(crate) chosen_output: bool,
    /// The input's first image, for the naming example.
    pub(crate) first: Option<FirstImage>,
    /// The formats the input has (what "Keep each format" writes).
    pub(crate) input_formats: Vec<crate::engine::format::Format>,
    /// The presets the menu offers.
    pub(crate) presets: &'a [Preset],
    /// The outputs' forms and the worker count.
    pub(crate) settings: &'a mut Settings,
    /// The output card that is open (`usize::MAX`: none).
    pub(crate) open_output: &'a mut usize,
    /// The preset last loaded (cleared by a change).
    pub(crate) chosen_preset: &'a mut Option<String>,
    /// The output folder being typed.
    pub(crate) out_text: &'a mut Option<String>,
    /// The name to save a preset under.
    pub(crate) preset_name: &'a mut String,
    /// What the user asked for.
    pub(crate) commands: &'a mut Vec<Command>,
}

/// The recipe form (left panel): a function of a [`RecipeView`].
pub(crate) fn recipe_panel(p: &mut RecipeView, ui: &mut egui::Ui) {
    egui::Panel::left("recipe")
        .frame(super::unfilled(egui::Frame::side_top_panel(ui.style())))
        .resizable(true)
        .default_size(300.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.add_space(6.0);
                ui.heading("Recipe");
                ui.add_enabled_ui(!p.busy, |ui| {
                    outputs(p, ui);
                    batch_options(p, ui);
                });
            });
        });
}

/// One card per output; the open one shows its form. *Add output* duplicates the open card.
fn outputs(p: &mut RecipeView, ui: &mut egui::Ui) {
    let count = p.settings.outputs.len();
    *p.open_output = (*p.open_output).min(count.saturating_sub(1));
    let mut action: Option<CardAction> = None;
    for i in 0..count {
        let open = i == *p.open_output;
        let title = card_title(i, count, &p.settings.outputs[i].current_recipe());
        let id = ui.make_persistent_id(("output card", i));
        let header = egui::CollapsingHeader::new(egui::RichText::new(title).strong())
            .id_salt(id)
            .open(Some(open))
            .show(ui, |ui| {
                form(p, i, ui);
                ui.horizontal(|ui| {
                    if ui
                        .button("Add output")
                        .on_hover_text(
                            "Add another output made from every input (a copy of this one to edit)",
                        )
                        .clicked()
                    {
                        action = Some(CardAction::Duplicate(i));
                    }
                    if count > 1
                        && ui
                            .button("Remove output")
                            .on_hover_text("Stop making this output")
                            .clicked()
                    {
                        action = Some(CardAction::Remove(i));
                    }
                });
            });
        if header.header_response.clicked() {
            action = Some(if open {
                CardAction::Close
            } else {
                CardAction::Open(i)
            });
        }
    }
    match action {
        Some(CardAction::Duplicate(i)) => {
            *p.open_output = p.settings.duplicate_output(i);
            *p.chosen_preset = None;
        }
        Some(CardAction::Remove(i)) if p.settings.remove_output(i) => {
            *p.open_output = i.saturating_sub(1);
            *p.chosen_preset = None;
        }
        Some(CardAction::Open(i)) => *p.open_output = i,
        // Every card closed would hide the whole form: closing one opens nothing else, so
        // the form stays where it is unless there are several.
        Some(CardAction::Close) if count > 1 => *p.open_output = usize::MAX,
        _ => {}
    }
}

/// What a click on the cards asked for.
enum CardAction {
    Duplicate(usize),
    Remove(usize),
    Open(usize),
    Close,
}

/// "Output 2 · fit:480x480 · WebP q80 · in small/" (a target instead of the quality when there
/// is one: "WebP look 80", "JPEG ≤ 300 KiB").
fn card_title(i: usize, count: usize, r: &Recipe) -> String {
    let size = r.resize.map_or("same size".to_owned(), |s| s.to_string());
    let format = match r.format {
        OutputFormat::Keep => "same format".to_owned(),
        OutputFormat::To(f) if r.is_lossy(f) => match (r.target_score, r.max_size) {
            (Some(score), _) => format!("{} look {score}", f.label()),
            (None, Some(max)) => {
                format!("{} ≤ {}", f.label(), crate::engine::units::human_bytes(max))
            }
            (None, None) => format!("{} q{}", f.label(), r.quality),
        },
        OutputFormat::To(f) => match r.png_colors {
            Some(n) if f == crate::engine::format::Format::Png => format!("PNG {n} colours"),
            _ => f.label().to_owned(),
        },
    };
    let mut title = if count > 1 {
        format!("Output {} · {size} · {format}", i + 1)
    } else {
        format!("Output · {size} · {format}")
    };
    match r.edits.0.iter().filter(|e| **e != Edit::Resize).count() {
        0 => {}
        1 => title.push_str(" · 1 edit"),
        n => title.push_str(&format!(" · {n} edits")),
    }
    if !r.subfolder.is_empty() {
        title.push_str(&format!(" · in {}/", r.subfolder));
    }
    title
}

/// The output folder, what to do with existing files, presets and the command line: the
/// batch's, not one output's.
fn batch_options(p: &mut RecipeView, ui: &mut egui::Ui) {
    ui.add_space(8.0);
    ui.strong("Output");
    let first = p.settings.first_mut();
    combo(
        ui,
        "If the output exists",
        &mut first.recipe.on_exist,
        OnExist::ALL,
        |o| match o {
            OnExist::Skip => "Skip it".to_owned(),
            OnExist::Overwrite => "Overwrite".to_owned(),
            OnExist::Rename => "Write beside it".to_owned(),
        },
    );
    let shown = p
        .output_dir
        .as_ref()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let label = ui.label("Output folder:");
    let mut text = p.out_text.clone().unwrap_or(shown);
    let field = ui
        .add(
            egui::TextEdit::singleline(&mut text)
                .hint_text("beside the input, <input>-converted")
                .font(egui::TextStyle::Monospace)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id)
        .on_hover_text(if cfg!(feature = "s3") {
            "Type or paste a folder, or s3://bucket/prefix; Enter or leaving the field uses it"
        } else {
            "Type or paste a folder; Enter or leaving the field uses it"
        });
    if field.changed() {
        *p.out_text = Some(text);
    }
    if field.lost_focus()
        && let Some(typed) = p.out_text.take()
    {
        let typed = typed.trim();
        p.commands.push(if typed.is_empty() {
            Command::DefaultOutput
        } else {
            Command::SetOutput(std::path::PathBuf::from(typed))
        });
    }
    ui.horizontal(|ui| {
        if ui.button("Choose output…").clicked() {
            p.commands.push(Command::Ask(DialogPurpose::Output));
        }
        if p.chosen_output && ui.button("Use default").clicked() {
            p.commands.push(Command::DefaultOutput);
        }
    });
    if ui
        .button("Copy as command")
        .on_hover_text(
            "Put the equivalent `conveyor run …` on the clipboard (with a recipe file when \
             there are several outputs); Ctrl+Shift+C",
        )
        .clicked()
    {
        p.commands.push(Command::CopyCommand);
    }

    ui.add_space(8.0);
    ui.strong("Presets");
    presets(p, ui);
}

/// Output `i`'s form.
fn form(p: &mut RecipeView, i: usize, ui: &mut egui::Ui) {
    let stem = p.first.clone();
    let Some(s) = p.settings.outputs.get_mut(i) else {
        return;
    };
    output_form(s, (i, p.commands), stem, &p.input_formats, ui);
}

fn presets(p: &mut RecipeView, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        let selected = p
            .chosen_preset
            .clone()
            .unwrap_or_else(|| "Choose…".to_owned());
        let mut picked = None;
        egui::ComboBox::from_label("Preset")
            .selected_text(selected)
            .show_ui(ui, |ui| {
                for preset in p.presets {
                    let label = if preset.path.is_some() {
                        preset.name.clone()
                    } else {
                        format!("{} (built in)", preset.name)
                    };
                    if ui
                        .selectable_label(p.chosen_preset.as_deref() == Some(&preset.name), label)
                        .clicked()
                    {
                        picked = Some(preset.clone());
                    }
                }
            });
        if let Some(preset) = picked {
            p.commands.push(Command::LoadPreset(preset));
        }
        let chosen_is_mine = p.chosen_preset.as_ref().and_then(|name| {
            p.presets
                .iter()
                .find(|p| &p.name == name && p.path.is_some())
                .cloned()
        });
        if let Some(preset) = chosen_is_mine
            && ui
                .button("Delete")
                .on_hover_text("Delete this preset's file")
                .clicked()
        {
            p.commands.push(Command::DeletePreset(preset));
        }
    });
    ui.horizontal(|ui| {
        let l = ui.label("Preset name");
        ui.add(egui::TextEdit::singleline(&mut *p.preset_name).desired_width(120.0))
            .labelled_by(l.id);
        let can_save = !p.preset_name.trim().is_empty();
        if ui
            .add_enabled(can_save, egui::Button::new("Save preset"))
            .on_hover_text("Save every output as a recipe file in the app's presets folder")
            .clicked()
        {
            let name = p.preset_name.trim().to_owned();
            p.commands.push(Command::SavePreset(name));
        }
    });
    ui.horizontal(|ui| {
        if ui
            .button("Import…")
            .on_hover_text("Load a recipe file (.toml)")
            .clicked()
        {
            p.commands.push(Command::Ask(DialogPurpose::ImportRecipe));
        }
        if ui
            .button("Export…")
            .on_hover_text("Save the recipe as a file for `conveyor run --recipe`")
            .clicked()
        {
            p.commands.push(Command::Ask(DialogPurpose::ExportRecipe));
        }
    });
}
