//! One output's form (the card's body): resize, format, quality or a size or visual target,
//! metadata, naming and sub-folder. A function of the form it edits and the first image's
//! name (for the example); it knows nothing of the window.

use eframe::egui;

use crate::engine::format::{Control, Format};
use crate::engine::name::NameTemplate;
use crate::engine::recipe::{Chroma, Filter, MAX_EFFORT, MetadataMode, OutputFormat, Recipe};
use crate::engine::recipe_file;
use crate::gui::settings::{OutputForm, QualityMode, ResizeMode, VisualTarget};
use crate::gui::view::FirstImage;

pub(super) fn labelled(
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

pub(super) fn combo<T: Copy + PartialEq>(
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

pub(super) fn format_label(f: OutputFormat) -> String {
    match f {
        OutputFormat::Keep => "Keep each format".into(),
        OutputFormat::To(format) => format.label().to_owned(),
    }
}

/// `kept`: the formats the input has, which "Keep each format" writes: a control for one of
/// them shows under Keep only when the input has it.
pub(super) fn output_form(
    s: &mut OutputForm,
    (card, commands): (usize, &mut Vec<crate::gui::command::Command>),
    first: Option<FirstImage>,
    kept: &[Format],
    ui: &mut egui::Ui,
) {
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

    super::edits_form::edits_form(&mut s.recipe.edits, (card, commands), ui);

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
    // The formats a control would apply to: the chosen one, or under Keep those of the input's
    // formats that have it (none: the control is not shown).
    let applies = |control: Control| -> Vec<&'static str> {
        match format {
            OutputFormat::To(f) if f.takes(control) => vec![f.label()],
            OutputFormat::To(_) => Vec::new(),
            OutputFormat::Keep => Format::writable()
                .filter(|f| f.takes(control) && kept.contains(f))
                .map(Format::label)
                .collect(),
        }
    };
    let lossless_for = applies(Control::Lossless);
    if !lossless_for.is_empty() {
        // Named after the format(s) it applies to: "Lossless WebP", or for Keep the input's
        // formats that have the control ("Lossless WebP and AVIF").
        ui.checkbox(
            &mut s.recipe.lossless,
            format!("Lossless {}", lossless_for.join(" and ")),
        );
    }
    if !applies(Control::Effort).is_empty() {
        ui.horizontal(|ui| {
            let label = ui.label("Effort");
            ui.add(egui::Slider::new(&mut s.recipe.effort, 0..=MAX_EFFORT))
                .labelled_by(label.id)
                .on_hover_text(
                    "Encoder effort: 0 is fastest, 10 makes the smallest files (each step up \
                     is slower). AVIF: the encoder's speed; lossy WebP: libwebp's method, up to \
                     6; PNG: from 5 a search for the smallest lossless file (9 and 10 take \
                     seconds an image); JPEG: 5 and 6 progressive, from 7 mozjpeg's trellis \
                     quantisation at the same look",
                );
        });
    }
    if !applies(Control::Colors).is_empty() {
        // A palette is a lossy choice for PNG: off unless ticked, then a number of colours.
        let mut palette = s.recipe.png_colors.is_some();
        ui.checkbox(&mut palette, "PNG palette").on_hover_text(
            "Reduce PNG outputs to at most this many colours, dithered: much smaller files \
                 for logos, screenshots and flat artwork; visible on photos",
        );
        match (palette, s.recipe.png_colors) {
            (true, None) => s.recipe.png_colors = Some(256),
            (false, Some(_)) => s.recipe.png_colors = None,
            _ => {}
        }
        if let Some(colors) = &mut s.recipe.png_colors {
            ui.horizontal(|ui| {
                let label = ui.label("Colours");
                ui.add(egui::Slider::new(colors, 2..=256))
                    .labelled_by(label.id);
            });
        }
    }
    // Keep: quality still matters for the lossy inputs even when lossless WebP is ticked.
    let lossy = format.takes(Control::Quality)
        && !(format != OutputFormat::Keep && format.takes(Control::Lossless) && s.recipe.lossless);
    if lossy {
        let form = &mut s.quality_form;
        let before = form.mode;
        ui.horizontal(|ui| {
            for mode in QualityMode::ALL {
                ui.radio_value(&mut form.mode, mode, mode.label());
            }
        });
        if before != form.mode {
            if form.mode == QualityMode::Visual {
                // A visual target searches up to the highest quality allowed: a cap left at
                // the fixed quality's 80 made most images miss a "High" (80) look.
                form.quality_before_visual = Some(s.recipe.quality);
                s.recipe.quality = 100;
            } else if let Some(q) = form.quality_before_visual.take() {
                s.recipe.quality = q;
            }
        }
        match form.mode {
            QualityMode::Quality => {
                ui.add(egui::Slider::new(&mut s.recipe.quality, 1..=100).text("Quality"));
            }
            QualityMode::MaxSize | QualityMode::Visual => {
                ui.add(egui::Slider::new(&mut s.recipe.quality, 1..=100).text("Highest quality"))
                    .on_hover_text("The search never goes above this quality");
            }
        }
        match form.mode {
            QualityMode::Quality => {}
            QualityMode::MaxSize => {
                labelled(ui, "At most", |ui| {
                    ui.add(
                        egui::DragValue::new(&mut form.max_kib)
                            .range(1..=1_048_576)
                            .suffix(" KiB"),
                    )
                })
                .on_hover_text(
                    "Each JPEG or lossy WebP gets the highest quality (up to the highest quality \
                     above) whose file fits; a file that cannot fit even at quality 10 fails",
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
    let mut keep = !s.recipe.reencode;
    if ui
        .checkbox(&mut keep, "Keep originals that would grow")
        .on_hover_text(
            "When an output in the input's own format and size is not smaller, keep the \
             original's bytes (unless metadata is to be removed from it); unticked, every file \
             is re-encoded",
        )
        .changed()
    {
        s.recipe.reencode = !keep;
        if !keep {
            s.recipe.smaller_only = false;
        }
    }
    if !applies(Control::Chroma).is_empty() {
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
        .on_hover_text(
            "Tokens: {stem} {ext} {w} {h} {n} {n:04} {date} {date:%Y-%m-%d_%H%M%S} {camera}\n\
             {date}: when the photo was taken (EXIF), else the file's time",
        )
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
        photo: crate::engine::photo::Photo {
            date: chrono::NaiveDate::from_ymd_opt(2026, 7, 14)
                .and_then(|d| d.and_hms_opt(9, 41, 0)),
            camera: Some("Canon EOS R6".into()),
        },
    };
    let first = first.unwrap_or(&camera);
    let stem = &first.stem;
    // As the plan does: `keep` follows the extension, and keeps its spelling.
    let out_ext = recipe.format.extension_for(&first.ext.to_string_lossy());
    let size = first.header.map_or((0, 0), |h| recipe.output_size(h.size));
    let facts = crate::engine::name::Facts {
        stem,
        ext: first.ext.as_os_str(),
        size,
        n: 1,
        date: first.photo.date,
        camera: first.photo.camera.as_deref(),
    };
    let mut name = recipe.name_template.render(&facts);
    name.push(".");
    name.push(out_ext);
    let name = name.to_string_lossy().into_owned();
    if recipe.subfolder.is_empty() {
        name
    } else {
        format!("{}/{name}", recipe.subfolder)
    }
}
