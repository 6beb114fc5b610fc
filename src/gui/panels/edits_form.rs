//! An output card's edits: the ordered list (crop, rotate, flip, pad, and where the resize
//! happens), each row with its own small form, moved up or down or removed, and a menu to add
//! one. The list is the recipe's own (`Recipe::edits`): what the command line and recipe files
//! give shows here, and what is changed here goes into *Copy as command*, presets and the
//! journal's fingerprint as every other option does.

use eframe::egui;

use crate::engine::edit::{
    Adjust, Axis, Crop, Edit, EditList, Fill, Gravity, Interest, Length, Pad, PadTo, Sharpen, Text,
    Watermark,
};
use crate::gui::command::Command;

use super::overlay_form::{self, gravity_combo};

/// What a row's buttons asked for.
enum RowMove {
    Up(usize),
    Down(usize),
    Remove(usize),
}

/// The edits section of an output card.
pub(super) fn edits_form(
    edits: &mut EditList,
    (card, commands): (usize, &mut Vec<Command>),
    ui: &mut egui::Ui,
) {
    ui.add_space(8.0);
    ui.horizontal(|ui| {
        ui.strong("Edits");
        ui.menu_button("➕ Add", |ui| {
            let gravity = Gravity::Center;
            let mut add = |edit| {
                edits.0.push(edit);
            };
            if ui
                .button("Crop to a ratio, smartly")
                .on_hover_text("Keeps what draws the eye (detail, skin, strong colour)")
                .clicked()
            {
                add(Edit::Crop(Crop::Smart {
                    w: 3,
                    h: 2,
                    by: Interest::Attention,
                }));
            }
            if ui.button("Trim the border").clicked() {
                add(Edit::Crop(Crop::Trim {
                    tolerance: crate::engine::edit::TRIM_TOLERANCE,
                }));
            }
            if ui.button("Crop to a ratio").clicked() {
                add(Edit::Crop(Crop::Aspect {
                    w: 3,
                    h: 2,
                    gravity,
                }));
            }
            if ui.button("Rotate").clicked() {
                add(Edit::Rotate(1));
            }
            if ui.button("Flip").clicked() {
                add(Edit::Flip(Axis::Horizontal));
            }
            if ui.button("Pad to a canvas").clicked() {
                add(Edit::Pad(Pad {
                    to: PadTo::Canvas {
                        w: 1600,
                        h: 1600,
                        gravity,
                    },
                    fill: Fill::Background,
                }));
            }
            if ui.button("Add margins").clicked() {
                add(Edit::Pad(Pad {
                    to: PadTo::Margins([20; 4]),
                    fill: Fill::Background,
                }));
            }
            if ui.button("Grey").clicked() {
                add(Edit::Grayscale);
            }
            if ui.button("Adjust tones").clicked() {
                add(Edit::Adjust(Adjust::default()));
            }
            if ui.button("Watermark").clicked() {
                add(Edit::Watermark(Watermark {
                    path: std::path::PathBuf::new(),
                    gravity: Gravity::SouthEast,
                    opacity: 0.5,
                    scale: Some(20.0),
                    margin: 16,
                    tile: false,
                }));
            }
            if ui
                .button("Text")
                .on_hover_text("A line of text: © {date:%Y}, {camera}, {stem} …")
                .clicked()
                && let Ok(mut t) = "© {date:%Y}".parse::<Text>()
            {
                t.shadow = Some(crate::engine::spec::Rgb([0, 0, 0]));
                add(Edit::Text(t));
            }
            if ui
                .button("Sharpen")
                .on_hover_text("After the resize: what a downscaled picture needs for screens")
                .clicked()
            {
                add(Edit::Sharpen(Sharpen::default()));
            }
            if !edits.0.contains(&Edit::Resize)
                && ui
                    .button("Resize here")
                    .on_hover_text(
                        "Where the resize (Size, above) happens among the edits; without it \
                         the picture is resized first",
                    )
                    .clicked()
            {
                edits.0.push(Edit::Resize);
            }
        });
    });
    if edits.is_empty() {
        ui.label(egui::RichText::new("None: crop, rotate, pad, sharpen … with ➕ Add").weak());
        return;
    }
    let count = edits.0.len();
    let mut asked = None;
    for (i, edit) in edits.0.iter_mut().enumerate() {
        ui.horizontal(|ui| {
            ui.label(format!("{}.", i + 1));
            edit_row(edit, (card, i), commands, ui);
            if ui
                .add_enabled(i > 0, egui::Button::new("⏶").small())
                .on_hover_text("Earlier")
                .clicked()
            {
                asked = Some(RowMove::Up(i));
            }
            if ui
                .add_enabled(i + 1 < count, egui::Button::new("⏷").small())
                .on_hover_text("Later")
                .clicked()
            {
                asked = Some(RowMove::Down(i));
            }
            if ui
                .add(egui::Button::new("✖").small())
                .on_hover_text("Remove")
                .clicked()
            {
                asked = Some(RowMove::Remove(i));
            }
        });
    }
    match asked {
        Some(RowMove::Up(i)) => edits.0.swap(i, i - 1),
        Some(RowMove::Down(i)) => edits.0.swap(i, i + 1),
        Some(RowMove::Remove(i)) => {
            edits.0.remove(i);
        }
        None => {}
    }
    // A resize first is what no marker means: one way to say it.
    *edits = EditList::normal(std::mem::take(&mut edits.0));
}

/// One edit's form.
fn edit_row(edit: &mut Edit, id: (usize, usize), commands: &mut Vec<Command>, ui: &mut egui::Ui) {
    match edit {
        Edit::Crop(crop) => crop_form(crop, id, ui),
        Edit::Rotate(_) | Edit::Turn(_) => rotate_form(edit, id, ui),
        Edit::Flip(axis) => {
            ui.label("Flip");
            egui::ComboBox::from_id_salt(("flip", id))
                .selected_text(axis_label(*axis))
                .show_ui(ui, |ui| {
                    for a in [Axis::Horizontal, Axis::Vertical] {
                        ui.selectable_value(axis, a, axis_label(a));
                    }
                });
        }
        Edit::Pad(p) => pad_form(p, id, ui),
        Edit::Grayscale => {
            ui.label("Grey");
        }
        Edit::Adjust(a) => {
            ui.label("Adjust");
            for (value, what, range) in [
                (&mut a.brightness, "Brightness", -100.0..=100.0),
                (&mut a.contrast, "Contrast", -100.0..=100.0),
                (&mut a.saturation, "Saturation", -100.0..=100.0),
            ] {
                ui.add(egui::DragValue::new(value).range(range).speed(0.5))
                    .on_hover_text(format!("{what}, -100 to 100"));
            }
            ui.add(
                egui::DragValue::new(&mut a.gamma)
                    .range(0.1..=10.0)
                    .speed(0.01)
                    .prefix("γ "),
            )
            .on_hover_text("Gamma: above 1 lightens the middle tones");
        }
        Edit::Sharpen(sh) => {
            ui.label("Sharpen");
            ui.add(
                egui::DragValue::new(&mut sh.amount)
                    .range(0.0..=10.0)
                    .speed(0.01),
            )
            .on_hover_text("Amount (0.75: for screens)");
            ui.add(
                egui::DragValue::new(&mut sh.radius)
                    .range(0.1..=50.0)
                    .speed(0.01)
                    .prefix("r "),
            )
            .on_hover_text("Radius (the blur's sigma, in pixels)");
        }
        Edit::Watermark(w) => overlay_form::watermark_form(w, id, commands, ui),
        Edit::Text(t) => overlay_form::text_form(t, id, commands, ui),
        Edit::Resize => {
            ui.label("Resize (as set under Size)");
        }
    }
}

/// A canvas (its size and the picture's place) or margins, and what fills the room.
fn pad_form(p: &mut Pad, id: (usize, usize), ui: &mut egui::Ui) {
    match &mut p.to {
        PadTo::Canvas { w, h, gravity } => {
            ui.label("Pad to");
            ui.add(egui::DragValue::new(w).range(1..=65535));
            ui.label("×");
            ui.add(egui::DragValue::new(h).range(1..=65535));
            gravity_combo(gravity, ("pad", id), ui);
        }
        PadTo::Margins(m) => {
            ui.label("Margins");
            for (value, side) in m.iter_mut().zip(["top", "right", "bottom", "left"]) {
                ui.add(egui::DragValue::new(value).range(0..=10000).suffix(" px"))
                    .on_hover_text(side);
            }
        }
    }
    let label = match p.fill {
        Fill::Background => "background colour",
        Fill::Transparent => "transparent",
        Fill::Color(_) => "colour",
    };
    egui::ComboBox::from_id_salt(("fill", id))
        .selected_text(label)
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut p.fill, Fill::Background, "background colour");
            ui.selectable_value(&mut p.fill, Fill::Transparent, "transparent");
            if ui
                .selectable_label(matches!(p.fill, Fill::Color(_)), "colour")
                .clicked()
                && !matches!(p.fill, Fill::Color(_))
            {
                p.fill = Fill::Color(crate::engine::spec::Rgb([0, 0, 0]));
            }
        })
        .response
        .on_hover_text("What fills the new room (transparent needs a format with alpha)");
    if let Fill::Color(c) = &mut p.fill {
        ui.color_edit_button_srgb(&mut c.0);
    }
}

/// A quarter turn from a list, or any angle typed (the list's last entry switches to it).
fn rotate_form(edit: &mut Edit, id: (usize, usize), ui: &mut egui::Ui) {
    ui.label("Rotate");
    let shown = match edit {
        Edit::Rotate(q) => format!("{}°", u32::from(*q) * 90),
        _ => "any angle".to_owned(),
    };
    let mut chosen = None;
    egui::ComboBox::from_id_salt(("rotate", id))
        .selected_text(shown)
        .show_ui(ui, |ui| {
            for q in 1..=3u8 {
                if ui
                    .selectable_label(*edit == Edit::Rotate(q), format!("{}°", u32::from(q) * 90))
                    .clicked()
                {
                    chosen = Some(Edit::Rotate(q));
                }
            }
            if ui
                .selectable_label(matches!(edit, Edit::Turn(_)), "any angle")
                .clicked()
                && !matches!(edit, Edit::Turn(_))
            {
                chosen = Some(Edit::Turn(5.0));
            }
        });
    if let Some(c) = chosen {
        *edit = c;
    }
    if let Edit::Turn(degrees) = edit {
        ui.add(
            egui::DragValue::new(degrees)
                .range(-179.9..=179.9)
                .speed(0.1)
                .suffix("°"),
        )
        .on_hover_text("Clockwise; the corners are filled with the background colour");
        // A whole quarter typed is a quarter turn (exact, no resampling).
        if *degrees == 0.0 {
            *degrees = 0.1;
        }
        if degrees.rem_euclid(90.0) == 0.0 {
            *edit = Edit::Rotate((degrees.rem_euclid(360.0) / 90.0) as u8);
        }
    }
}

fn crop_form(crop: &mut Crop, id: (usize, usize), ui: &mut egui::Ui) {
    match crop {
        Crop::Aspect { w, h, gravity } => {
            ui.label("Crop to");
            ui.add(egui::DragValue::new(w).range(1..=1000));
            ui.label(":");
            ui.add(egui::DragValue::new(h).range(1..=1000));
            gravity_combo(gravity, ("crop", id), ui);
        }
        Crop::Smart { w, h, by } => {
            ui.label("Crop to");
            ui.add(egui::DragValue::new(w).range(1..=1000));
            ui.label(":");
            ui.add(egui::DragValue::new(h).range(1..=1000));
            egui::ComboBox::from_id_salt(("interest", id))
                .selected_text(interest_label(*by))
                .show_ui(ui, |ui| {
                    for i in [Interest::Attention, Interest::Entropy] {
                        ui.selectable_value(by, i, interest_label(i));
                    }
                });
        }
        Crop::Trim { tolerance } => {
            ui.label("Trim the border, tolerance");
            ui.add(egui::DragValue::new(tolerance).range(0..=255))
                .on_hover_text("How far from the border's colour a pixel may be (0-255 levels)");
        }
        Crop::Box { x, y, w, h } => {
            ui.label("Crop box");
            for (len, what) in [(x, "left"), (y, "top"), (w, "width"), (h, "height")] {
                match len {
                    Length::Px(n) => {
                        ui.add(egui::DragValue::new(n).suffix(" px"))
                            .on_hover_text(what);
                    }
                    Length::Percent(p) => {
                        ui.add(egui::DragValue::new(p).range(0.0..=100.0).suffix(" %"))
                            .on_hover_text(what);
                    }
                }
            }
        }
    }
}

fn interest_label(by: Interest) -> &'static str {
    match by {
        Interest::Attention => "what draws the eye",
        Interest::Entropy => "the busiest part",
    }
}

fn axis_label(axis: Axis) -> &'static str {
    match axis {
        Axis::Horizontal => "left ↔ right",
        Axis::Vertical => "top ↕ bottom",
    }
}
