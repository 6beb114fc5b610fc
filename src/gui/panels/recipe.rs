//! The recipe form (left panel): resize, format, quality, metadata, naming, output, presets.

use eframe::egui;

use crate::engine::format::{Control, Format};
use crate::engine::name::NameTemplate;
use crate::engine::recipe::{Chroma, Filter, MetadataMode, OnExist, OutputFormat, Recipe};
use crate::gui::app::ConveyorApp;
use crate::gui::settings::{QualityMode, ResizeMode, VisualTarget};
use crate::gui::state::DialogPurpose;

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
        .resizable(true)
        .default_size(300.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.add_space(6.0);
                ui.heading("Recipe");
                ui.add_enabled_ui(!app.busy(), |ui| form(app, ui));
            });
        });
}

fn form(app: &mut ConveyorApp, ui: &mut egui::Ui) {
    let s = &mut app.settings;
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
        ui.checkbox(&mut s.recipe.lossless, "Lossless WebP");
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
    });

    ui.add_space(8.0);
    ui.strong("Output");
    let l = ui.label("Name template");
    let edited = ui
        .text_edit_singleline(&mut app.name_text)
        .labelled_by(l.id)
        .on_hover_text("Tokens: {stem} {ext} {w} {h} {n}")
        .changed();
    if edited {
        match NameTemplate::parse(&app.name_text) {
            Ok(t) => {
                app.settings.recipe.name_template = t;
                app.name_error = None;
            }
            Err(e) => app.name_error = Some(e.to_string()),
        }
    }
    let s = &mut app.settings;
    let example = example_name(
        &s.current_recipe(),
        app.input
            .as_ref()
            .and_then(|i| i.summary.as_ref())
            .and_then(|r| r.as_ref().ok())
            .and_then(|s| s.first_stem.clone()),
    );
    match &app.name_error {
        None => ui.label(egui::RichText::new(format!("e.g. {example}")).weak()),
        Some(e) => ui.colored_label(ui.visuals().error_fg_color, e),
    };
    let s = &mut app.settings;
    combo(
        ui,
        "If the output exists",
        &mut s.recipe.on_exist,
        OnExist::ALL,
        |o| match o {
            OnExist::Skip => "Skip it".to_owned(),
            OnExist::Overwrite => "Overwrite".to_owned(),
            OnExist::Rename => "Write beside it".to_owned(),
        },
    );
    let out = app.output_dir();
    ui.horizontal_wrapped(|ui| {
        ui.label("Output folder:");
        match &out {
            Some(dir) => ui.label(egui::RichText::new(dir.display().to_string()).monospace()),
            None => ui.label(egui::RichText::new("beside the input, <input>-converted").weak()),
        };
    });
    ui.horizontal(|ui| {
        if ui.button("Choose output…").clicked() {
            app.ask(DialogPurpose::Output);
        }
        if app.out_override.is_some() && ui.button("Use default").clicked() {
            app.out_override = None;
        }
    });

    ui.add_space(8.0);
    ui.strong("Presets");
    presets(app, ui);
}

fn example_name(recipe: &Recipe, stem: Option<std::ffi::OsString>) -> String {
    let stem = stem.unwrap_or_else(|| "IMG_0042".into());
    // The example input: a camera's JPEG.
    let input_ext = Format::Jpeg.extension();
    let format = recipe.format.resolve(input_ext);
    let size = recipe.resize.map_or((4000, 3000), |r| {
        r.geometry(4000, 3000, recipe.allow_upscale).output
    });
    let ext = std::ffi::OsStr::new(input_ext);
    let mut name = recipe.name_template.render(&stem, ext, size, 1);
    name.push(".");
    name.push(format.extension());
    name.to_string_lossy().into_owned()
}

fn presets(app: &mut ConveyorApp, ui: &mut egui::Ui) {
    let names: Vec<String> = app.settings.presets.keys().cloned().collect();
    ui.horizontal(|ui| {
        let selected = app
            .chosen_preset
            .clone()
            .unwrap_or_else(|| "Choose…".to_owned());
        egui::ComboBox::from_label("Preset")
            .selected_text(selected)
            .show_ui(ui, |ui| {
                for name in &names {
                    if ui
                        .selectable_label(app.chosen_preset.as_deref() == Some(name), name)
                        .clicked()
                    {
                        app.chosen_preset = Some(name.clone());
                        app.settings.load_preset(name);
                        app.name_text = app.settings.recipe.name_template.to_string();
                        app.name_error = None;
                    }
                }
            });
        if let Some(name) = app.chosen_preset.clone()
            && ui
                .button("Delete")
                .on_hover_text("Delete this preset")
                .clicked()
        {
            app.settings.presets.remove(&name);
            app.chosen_preset = None;
        }
    });
    ui.horizontal(|ui| {
        let l = ui.label("Preset name");
        ui.add(egui::TextEdit::singleline(&mut app.preset_name).desired_width(120.0))
            .labelled_by(l.id);
        let can_save = !app.preset_name.trim().is_empty();
        if ui
            .add_enabled(can_save, egui::Button::new("Save preset"))
            .clicked()
        {
            app.settings.save_preset(&app.preset_name);
            app.chosen_preset = Some(app.preset_name.trim().to_owned());
            app.preset_name.clear();
        }
    });
}
