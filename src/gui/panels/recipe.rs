//! The recipe form (left panel): one collapsible card per output (resize, format, quality,
//! metadata, naming, sub-folder), then what applies to the whole batch (on-exist, the output
//! folder), presets (recipe files) and *Copy as command*.

use eframe::egui;

use crate::engine::format::{Control, Format};
use crate::engine::name::NameTemplate;
use crate::engine::recipe::{
    Chroma, Filter, MAX_EFFORT, MetadataMode, OnExist, OutputFormat, Recipe,
};
use crate::engine::recipe_file;
use crate::gui::app::ConveyorApp;
use crate::gui::settings::{OutputForm, QualityMode, ResizeMode, VisualTarget};
use crate::gui::state::DialogPurpose;
use crate::gui::view::FirstImage;

fn labelled(
    ui: &mut egui::Ui,
    label: &str,
    add: impl FnOnce(&mut egui::Ui) -> egui::Response,
) -> egui::Response {
    ui.horizontal(|ui| {
        let l = ui.label(label);
        add(ui).labelled_by(l.id)
    })
    .inner
}

fn combo<T: Copy + PartialEq>(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut T,
    options: &[T],
    name: impl Fn(T) -> String,
) {
    egui::ComboBox::from_label(label)
        .selected_text(name(*value))
        .show_ui(ui, |ui| {
            for &opt in options {
                ui.selectable_value(value, opt, name(opt));
            }
        });
}

fn format_label(f: OutputFormat) -> String {
    match f {
        OutputFormat::Keep => "Keep each format".into(),
        OutputFormat::To(format) => format.label().to_owned(),
    }
}

/// The whole form; disabled while a batch runs.
pub(crate) fn recipe_panel(app: &mut ConveyorApp, ui: &mut egui::Ui) {
    egui::Panel::left("recipe")
        .frame(super::unfilled(egui::Frame::side_top_panel(ui.style())))
        .resizable(true)
        .default_size(300.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.add_space(6.0);
                ui.heading("Recipe");
                ui.add_enabled_ui(!app.busy(), |ui| {
                    outputs(app, ui);
                    batch_options(app, ui);
                });
            });
        });
}

/// One card per output; the open one shows its form. *Add output* duplicates the open card.
fn outputs(app: &mut ConveyorApp, ui: &mut egui::Ui) {
    let count = app.settings.outputs.len();
    app.open_output = app.open_output.min(count.saturating_sub(1));
    let mut action: Option<CardAction> = None;
    for i in 0..count {
        let open = i == app.open_output;
        let title = card_title(i, count, &app.settings.outputs[i].current_recipe());
        let id = ui.make_persistent_id(("output card", i));
        let header = egui::CollapsingHeader::new(egui::RichText::new(title).strong())
            .id_salt(id)
            .open(Some(open))
            .show(ui, |ui| {
                form(app, i, ui);
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
            app.open_output = app.settings.duplicate_output(i);
            app.chosen_preset = None;
        }
        Some(CardAction::Remove(i)) if app.settings.remove_output(i) => {
            app.open_output = i.saturating_sub(1);
            app.chosen_preset = None;
        }
        Some(CardAction::Open(i)) => app.open_output = i,
        // Every card closed would hide the whole form: closing one opens nothing else, so
        // the form stays where it is unless there are several.
        Some(CardAction::Close) if count > 1 => app.open_output = usize::MAX,
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

/// "Output 2 · fit:480x480 · WebP q80 · in small/".
fn card_title(i: usize, count: usize, r: &Recipe) -> String {
    let size = r.resize.map_or("same size".to_owned(), |s| s.to_string());
    let format = match r.format {
        OutputFormat::Keep => "same format".to_owned(),
        OutputFormat::To(f) if r.is_lossy(f) => format!("{} q{}", f.label(), r.quality),
        OutputFormat::To(f) => f.label().to_owned(),
    };
    let mut title = if count > 1 {
        format!("Output {} · {size} · {format}", i + 1)
    } else {
        format!("Output · {size} · {format}")
    };
    if !r.subfolder.is_empty() {
        title.push_str(&format!(" · in {}/", r.subfolder));
    }
    title
}

/// The output folder, what to do with existing files, presets and the command line: the
/// batch's, not one output's.
fn batch_options(app: &mut ConveyorApp, ui: &mut egui::Ui) {
    ui.add_space(8.0);
    ui.strong("Output");
    let first = app.settings.first_mut();
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
    let shown = app
        .output_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let label = ui.label("Output folder:");
    let mut text = app.out_text.clone().unwrap_or(shown);
    let field = ui
        .add(
            egui::TextEdit::singleline(&mut text)
                .hint_text("beside the input, <input>-converted")
                .font(egui::TextStyle::Monospace)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id)
        .on_hover_text("Type or paste a folder; Enter or leaving the field uses it");
    if field.changed() {
        app.out_text = Some(text);
    }
    if field.lost_focus()
        && let Some(typed) = app.out_text.take()
    {
        let typed = typed.trim();
        if typed.is_empty() {
            app.out_override = None;
        } else {
            app.set_output(std::path::PathBuf::from(typed));
        }
    }
    ui.horizontal(|ui| {
        if ui.button("Choose output…").clicked() {
            app.ask(DialogPurpose::Output);
        }
        if app.out_override.is_some() && ui.button("Use default").clicked() {
            app.out_override = None;
        }
    });
    if ui
        .button("Copy as command")
        .on_hover_text(
            "Put the equivalent `conveyor run …` on the clipboard (with a recipe file when \
             there are several outputs)",
        )
        .clicked()
    {
        match app.command_line() {
            Ok(command) => {
                ui.ctx().copy_text(command.clone());
                app.message = Some(format!("Copied: {command}"));
                app.copied_command = Some(command);
            }
            Err(e) => app.message = Some(e),
        }
    }

    ui.add_space(8.0);
    ui.strong("Presets");
    presets(app, ui);
}

/// Output `i`'s form.
fn form(app: &mut ConveyorApp, i: usize, ui: &mut egui::Ui) {
    let stem = app
        .input
        .as_ref()
        .and_then(|i| i.summary.as_ref())
        .and_then(|r| r.as_ref().ok())
        .and_then(|s| s.first.clone());
    let Some(s) = app.settings.outputs.get_mut(i) else {
        return;
    };
    output_form(s, stem, ui);
}

fn output_form(s: &mut OutputForm, first: Option<FirstImage>, ui: &mut egui::Ui) {
    ui.add_space(4.0);
    ui.strong("Size");
    combo(
        ui,
        "Resize",
        &mut s.resize_form.mode,
        &ResizeMode::ALL,
        |m| m.label().to_owned(),
    );
    let form = &mut s.resize_form;
    if form.mode.takes_box() {
        ui.horizontal(|ui| {
            let w = ui.label("Width");
            ui.add(
                egui::DragValue::new(&mut form.width)
                    .range(1..=65535)
                    .suffix(" px"),
            )
            .labelled_by(w.id);
            let h = ui.label("Height");
            ui.add(
                egui::DragValue::new(&mut form.height)
                    .range(1..=65535)
                    .suffix(" px"),
            )
            .labelled_by(h.id);
        });
    } else if form.mode != ResizeMode::None {
        let suffix = if form.mode == ResizeMode::Scale {
            " %"
        } else {
            " px"
        };
        labelled(ui, "Amount", |ui| {
            ui.add(
                egui::DragValue::new(&mut form.amount)
                    .range(1..=65535)
                    .suffix(suffix),
            )
        });
    }
    if form.mode != ResizeMode::None {
        combo(ui, "Filter", &mut s.recipe.filter, Filter::ALL, |f| {
            f.name().to_owned()
        });
        ui.checkbox(&mut s.recipe.allow_upscale, "Allow enlarging");
    }

    ui.add_space(8.0);
    ui.strong("Format");
    combo(
        ui,
        "Output format",
        &mut s.recipe.format,
        &OutputFormat::choices(),
        format_label,
    );
    let format = s.recipe.format;
    if format.takes(Control::Lossless) {
        // Named after the format(s) it applies to: "Lossless WebP", or for Keep every format
        // that has the control ("Lossless WebP and AVIF").
        let names: Vec<&str> = match format {
            OutputFormat::To(f) => vec![f.label()],
            OutputFormat::Keep => Format::writable()
                .filter(|f| f.takes(Control::Lossless))
                .map(Format::label)
                .collect(),
        };
        ui.checkbox(
            &mut s.recipe.lossless,
            format!("Lossless {}", names.join(" and ")),
        );
    }
    if format.takes(Control::Effort) {
        ui.horizontal(|ui| {
            let label = ui.label("Effort");
            ui.add(egui::Slider::new(&mut s.recipe.effort, 0..=MAX_EFFORT))
                .labelled_by(label.id)
                .on_hover_text(
                    "AVIF encoder effort: 0 is fastest, 10 makes the smallest files (each step \
                     up is slower)",
                );
        });
    }
    // Keep: quality still matters for the lossy inputs even when lossless WebP is ticked.
    let lossy = format.takes(Control::Quality)
        && !(format != OutputFormat::Keep && format.takes(Control::Lossless) && s.recipe.lossless);
    if lossy {
        let form = &mut s.quality_form;
        ui.horizontal(|ui| {
            for mode in QualityMode::ALL {
                ui.radio_value(&mut form.mode, mode, mode.label());
            }
        });
        match form.mode {
            QualityMode::Quality => {
                ui.add(egui::Slider::new(&mut s.recipe.quality, 1..=100).text("Quality"));
            }
            QualityMode::MaxSize => {
                labelled(ui, "At most", |ui| {
                    ui.add(
                        egui::DragValue::new(&mut form.max_kib)
                            .range(1..=1_048_576)
                            .suffix(" KiB"),
                    )
                })
                .on_hover_text(
                    "Each JPEG or lossy WebP gets the highest quality (up to the slider's) whose \
                     file fits; a file that cannot fit even at quality 10 fails",
                );
            }
            QualityMode::Visual => {
                combo(ui, "Look", &mut form.visual, &VisualTarget::ALL, |v| {
                    v.label()
                });
                ui.label(
                    egui::RichText::new(
                        "Each image gets the lowest quality that scores this (SSIMULACRA2); \
                         about 6 encodes per image",
                    )
                    .weak(),
                );
            }
        }
    }
    ui.checkbox(&mut s.recipe.smaller_only, "Keep originals that would grow")
        .on_hover_text(
            "When an output in the input's own format is not smaller, copy the original instead",
        );
    if format.takes(Control::Chroma) {
        combo(ui, "JPEG colour", &mut s.recipe.chroma, Chroma::ALL, |c| {
            match c {
                Chroma::S420 => "4:2:0 (smaller files)",
                Chroma::S444 => "4:4:4 (full-resolution colour)",
            }
            .to_owned()
        });
    }
    if format.may_flatten() {
        ui.horizontal(|ui| {
            let l = ui.label("Background");
            ui.color_edit_button_srgb(&mut s.recipe.background.0)
                .labelled_by(l.id)
                .on_hover_text("What transparency becomes in formats without alpha (JPEG, BMP)");
        });
    }
    ui.horizontal(|ui| {
        ui.label("Metadata");
        ui.radio_value(&mut s.recipe.metadata, MetadataMode::Keep, "Keep")
            .on_hover_text("Copy EXIF and the colour profile");
        ui.radio_value(&mut s.recipe.metadata, MetadataMode::Strip, "Strip")
            .on_hover_text("Remove EXIF, XMP and comments; the colour profile stays");
        ui.radio_value(
            &mut s.recipe.metadata,
            MetadataMode::StripLocation,
            "Strip location",
        )
        .on_hover_text(
            "Remove only where the photo was taken (GPS); camera, dates and the rest stay",
        );
    });
    ui.checkbox(&mut s.recipe.keep_dates, "Keep file dates")
        .on_hover_text("Give each output its input's modification date");

    ui.add_space(8.0);
    ui.strong("Name");
    let l = ui.label("Name template");
    let edited = ui
        .text_edit_singleline(s.name_text())
        .labelled_by(l.id)
        .on_hover_text("Tokens: {stem} {ext} {w} {h} {n}")
        .changed();
    if edited {
        match NameTemplate::parse(s.name_text()) {
            Ok(t) => {
                s.recipe.name_template = t;
                s.name_error = None;
            }
            Err(e) => s.name_error = Some(e.to_string()),
        }
    }
    let example = example_name(&s.current_recipe(), first.as_ref());
    match &s.name_error {
        None => ui.label(egui::RichText::new(format!("e.g. {example}")).weak()),
        Some(e) => ui.colored_label(ui.visuals().error_fg_color, e),
    };
    let l = ui.label("Sub-folder");
    let changed = ui
        .text_edit_singleline(s.subfolder_text())
        .labelled_by(l.id)
        .on_hover_text("A folder under the output folder for this output; empty: the output folder")
        .changed();
    if changed {
        match recipe_file::clean_subfolder(s.subfolder_text()) {
            Ok(clean) => {
                s.recipe.subfolder = clean;
                s.subfolder_error = None;
            }
            Err(e) => s.subfolder_error = Some(e),
        }
    }
    if let Some(e) = &s.subfolder_error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
}

/// The output name the input's first image gets: its real stem, extension, format and size
/// through the recipe (a camera's 4000×3000 JPEG stands in before an input is chosen).
fn example_name(recipe: &Recipe, first: Option<&FirstImage>) -> String {
    let camera = FirstImage {
        stem: "IMG_0042".into(),
        ext: Format::Jpeg.extension().into(),
        header: Some(crate::engine::header::Header {
            format: Format::Jpeg,
            size: (4000, 3000),
        }),
    };
    let first = first.unwrap_or(&camera);
    let stem = &first.stem;
    // As the plan does: `keep` follows the extension.
    let format = recipe.format.resolve(&first.ext.to_string_lossy());
    let size = first.header.map_or((0, 0), |h| {
        recipe.resize.map_or(h.size, |r| {
            r.geometry(h.size.0, h.size.1, recipe.allow_upscale).output
        })
    });
    let ext = first.ext.as_os_str();
    let mut name = recipe.name_template.render(stem, ext, size, 1);
    name.push(".");
    name.push(format.extension());
    let name = name.to_string_lossy().into_owned();
    if recipe.subfolder.is_empty() {
        name
    } else {
        format!("{}/{name}", recipe.subfolder)
    }
}

fn presets(app: &mut ConveyorApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        let selected = app
            .chosen_preset
            .clone()
            .unwrap_or_else(|| "Choose…".to_owned());
        let mut picked = None;
        egui::ComboBox::from_label("Preset")
            .selected_text(selected)
            .show_ui(ui, |ui| {
                for preset in &app.presets {
                    let label = if preset.path.is_some() {
                        preset.name.clone()
                    } else {
                        format!("{} (built in)", preset.name)
                    };
                    if ui
                        .selectable_label(app.chosen_preset.as_deref() == Some(&preset.name), label)
                        .clicked()
                    {
                        picked = Some(preset.clone());
                    }
                }
            });
        if let Some(preset) = picked {
            app.load_preset(&preset);
        }
        let chosen_is_mine = app.chosen_preset.as_ref().and_then(|name| {
            app.presets
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
            app.delete_preset(&preset);
        }
    });
    ui.horizontal(|ui| {
        let l = ui.label("Preset name");
        ui.add(egui::TextEdit::singleline(&mut app.preset_name).desired_width(120.0))
            .labelled_by(l.id);
        let can_save = !app.preset_name.trim().is_empty();
        if ui
            .add_enabled(can_save, egui::Button::new("Save preset"))
            .on_hover_text("Save every output as a recipe file in the app's presets folder")
            .clicked()
        {
            let name = app.preset_name.trim().to_owned();
            app.save_preset(&name);
        }
    });
    ui.horizontal(|ui| {
        if ui
            .button("Import…")
            .on_hover_text("Load a recipe file (.toml)")
            .clicked()
        {
            app.ask(DialogPurpose::ImportRecipe);
        }
        if ui
            .button("Export…")
            .on_hover_text("Save the recipe as a file for `conveyor run --recipe`")
            .clicked()
        {
            app.ask(DialogPurpose::ExportRecipe);
        }
    });
}
