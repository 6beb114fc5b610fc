//! The preview before the run: the chosen input before and after the current recipe, side by
//! side or split by a swipe line, fitted or at 100 % with one pan shared by both sides, and what
//! the output weighs. The conversion itself runs in `gui/trial.rs`.

use eframe::egui;

use crate::engine::units::human_bytes;
use crate::gui::command::Command;
use std::path::PathBuf;

use crate::gui::state::Input;
use crate::gui::thumbs::{Thumb, Thumbs};
use crate::gui::trial::{Shown, TrialView, Trials};
use crate::gui::view::saving;

/// How many of the input's files the picker lists.
const PICKABLE: usize = 500;

/// The preview section (shown in place of the results before a batch): a function of the
/// input, the image previewed (`current`) and the preview's state, with the small pictures
/// and the way the preview is looked at as what it edits; picking another image is a command.
pub(crate) fn trial_section(
    input: &Input,
    current: PathBuf,
    thumbs: &mut Thumbs,
    trials: &mut Trials,
    commands: &mut Vec<Command>,
    ui: &mut egui::Ui,
) {
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(LIST_WIDTH);
            file_list(input, &current, thumbs, commands, ui);
        });
        ui.separator();
        ui.vertical(|ui| preview_section(input, current, trials, commands, ui));
    });
}

/// Width of the input's file list.
const LIST_WIDTH: f32 = 300.0;

/// The input's images, in natural order, each with a small picture loaded off the UI thread as
/// it comes into view; clicking one previews it.
fn file_list(
    input: &Input,
    current: &std::path::Path,
    thumbs: &mut Thumbs,
    commands: &mut Vec<Command>,
    ui: &mut egui::Ui,
) {
    let Some(summary) = input.summary.as_ref().and_then(|s| s.as_ref().ok()) else {
        return;
    };
    let root = input.root();
    ui.strong(format!("Files ({})", summary.files.len()));
    let side = crate::gui::thumbs::SIDE as f32;
    let row_height = side + 4.0;
    let ctx = ui.ctx().clone();
    let mut pick = None;
    egui::ScrollArea::vertical()
        .id_salt("input-files")
        .auto_shrink([false, false])
        .show_rows(ui, row_height, summary.files.len(), |ui, range| {
            for (path, bytes) in &summary.files[range] {
                let name = path
                    .strip_prefix(&root)
                    .unwrap_or(path)
                    .to_string_lossy()
                    .into_owned();
                let selected = path == current;
                let response = ui
                    .horizontal(|ui| {
                        ui.set_height(row_height);
                        let (rect, _) =
                            ui.allocate_exact_size(egui::vec2(side, side), egui::Sense::hover());
                        let detail = match thumbs.get(&ctx, path) {
                            Thumb::Loading => {
                                ui.painter()
                                    .rect_filled(rect, 3.0, ui.visuals().faint_bg_color);
                                human_bytes(*bytes)
                            }
                            Thumb::Ready(tex, (w, h)) => {
                                let size = tex.size_vec2();
                                let k = (side / size.x).min(side / size.y);
                                let at = egui::Rect::from_center_size(rect.center(), size * k);
                                super::checkerboard(ui.painter(), at);
                                egui::Image::from_texture(egui::load::SizedTexture::from_handle(
                                    tex,
                                ))
                                .paint_at(ui, at);
                                format!("{w}×{h} · {}", human_bytes(*bytes))
                            }
                            Thumb::Failed(e) => {
                                ui.painter()
                                    .rect_filled(rect, 3.0, ui.visuals().faint_bg_color);
                                format!("{} · {e}", human_bytes(*bytes))
                            }
                        };
                        ui.vertical(|ui| {
                            ui.add(egui::Label::new(&name).truncate());
                            ui.add(
                                egui::Label::new(egui::RichText::new(detail).weak().small())
                                    .truncate(),
                            );
                        });
                        // The whole row is the click target and the highlight.
                        ui.add_space(ui.available_width());
                    })
                    .response;
                let response = ui
                    .interact(
                        response.rect,
                        ui.scope_id().with(("file", path)),
                        egui::Sense::click(),
                    )
                    .on_hover_text(path.display().to_string());
                if selected {
                    ui.painter().rect_stroke(
                        response.rect,
                        3.0,
                        ui.visuals().selection.stroke,
                        egui::StrokeKind::Inside,
                    );
                }
                if response.clicked() {
                    pick = Some(path.clone());
                }
            }
        });
    if let Some(p) = pick {
        commands.push(Command::PickTrial(p));
    }
}

/// The before/after preview of one input image with the recipe.
fn preview_section(
    input: &Input,
    current: PathBuf,
    trials: &mut Trials,
    commands: &mut Vec<Command>,
    ui: &mut egui::Ui,
) {
    let name = |p: &std::path::Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    ui.horizontal_wrapped(|ui| {
        ui.strong("Preview");
        let mut pick = current.clone();
        let files = input
            .summary
            .as_ref()
            .and_then(|s| s.as_ref().ok())
            .map_or(&[][..], |s| s.files.as_slice());
        // The list is built only while the menu is open.
        egui::ComboBox::from_label("Image")
            .selected_text(name(&current))
            .show_ui(ui, |ui| {
                for (f, _) in files.iter().take(PICKABLE) {
                    if ui.selectable_label(*f == pick, name(f)).clicked() {
                        pick = f.clone();
                    }
                }
            });
        if pick != current {
            commands.push(Command::PickTrial(pick));
        }
        // A swipe lays the output over its source: only when they have one shape.
        let swipeable = match &trials.shown {
            Some(Ok(shown)) => same_shape(shown),
            _ => true,
        };
        let view = &mut trials.view;
        ui.separator();
        ui.radio_value(&mut view.actual, false, "Fit");
        ui.radio_value(&mut view.actual, true, "100 %");
        ui.separator();
        if ui
            .radio(!view.swipe || !swipeable, "Side by side")
            .clicked()
        {
            view.swipe = false;
        }
        if ui
            .add_enabled(
                swipeable,
                egui::RadioButton::new(view.swipe && swipeable, "Swipe"),
            )
            .on_disabled_hover_text(
                "The edits change the picture's shape: compare them side by side",
            )
            .clicked()
        {
            view.swipe = true;
        }
        if view.swipe && swipeable {
            ui.add(egui::Slider::new(&mut view.split, 0.0..=1.0).show_value(false))
                .on_hover_text("Where the line between before (left) and after (right) is");
        }
        if trials.busy() {
            ui.spinner();
        }
    });
    match &trials.shown {
        None => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Converting a preview…");
            });
        }
        Some(Err(e)) => {
            ui.add(
                egui::Label::new(
                    egui::RichText::new(format!("No output: {e}"))
                        .color(ui.visuals().error_fg_color),
                )
                .wrap(),
            );
            // The source still shows, so the user sees what the recipe could not convert.
            if let Some(before) = &trials.before_only {
                before_alone(ui, before, &mut trials.view);
            }
        }
        Some(Ok(shown)) => {
            let t = &shown.trial;
            let mut line = format!(
                "Output: {} ({}×{}) · source {} · {}",
                human_bytes(t.output_bytes),
                t.after.width,
                t.after.height,
                human_bytes(t.input_bytes),
                saving(t.input_bytes, t.output_bytes)
            );
            if let Some(q) = t.quality {
                line.push_str(&format!(" · quality {q}"));
            }
            if let Some(score) = t.score {
                line.push_str(&format!(" · score {score:.1}"));
            }
            ui.label(line);
            for w in &t.warnings {
                ui.label(egui::RichText::new(w).weak());
            }
            images(ui, shown, &mut trials.view);
        }
    }
}

/// Where the image goes in `rect` and which part of it shows: fitted whole, or at 100 % from
/// the shared pan (clamped so the image stays in view).
fn placement(rect: egui::Rect, img: egui::Vec2, view: &mut TrialView) -> (egui::Rect, egui::Rect) {
    if !view.actual {
        let k = (rect.width() / img.x).min(rect.height() / img.y).min(1.0);
        let shown = egui::Rect::from_center_size(rect.center(), img * k);
        return (
            shown,
            egui::Rect::from_min_max(egui::Pos2::ZERO, egui::pos2(1.0, 1.0)),
        );
    }
    let visible = egui::vec2(rect.width().min(img.x), rect.height().min(img.y));
    view.pan = view.pan.clamp(egui::Vec2::ZERO, img - visible);
    let uv = egui::Rect::from_min_size(
        egui::pos2(view.pan.x / img.x, view.pan.y / img.y),
        egui::vec2(visible.x / img.x, visible.y / img.y),
    );
    (egui::Rect::from_min_size(rect.min, visible), uv)
}

/// The source alone, fitted (or at 100 %), titled Before: the preview of a file the recipe
/// gives no output for.
fn before_alone(ui: &mut egui::Ui, before: &egui::TextureHandle, view: &mut TrialView) {
    ui.label("Before");
    let img = before.size_vec2();
    let height = (ui.available_height() - 8.0).max(120.0);
    let (rect, response) = ui.allocate_exact_size(
        egui::vec2(ui.available_width(), height),
        egui::Sense::drag(),
    );
    view.pan -= response.drag_delta();
    let (at, uv) = placement(rect, img, view);
    let painter = ui.painter_at(rect);
    super::checkerboard(&painter, at);
    painter.image(before.id(), at, uv, egui::Color32::WHITE);
}

/// How close (in points) to the swipe line a drag must start to move it when the picture can
/// also be panned.
const GRAB: f32 = 16.0;

fn images(ui: &mut egui::Ui, shown: &Shown, view: &mut TrialView) {
    let img = egui::vec2(
        shown.trial.after.preview_width as f32,
        shown.trial.after.preview_height as f32,
    );
    let height = (ui.available_height() - 8.0).max(120.0);
    let width = ui.available_width();
    let sense = egui::Sense::drag();
    // Edits that crop, turn or pad give the output another shape than the source: each side
    // then shows its own picture in its own shape, and a swipe (which lays one over the
    // other) gives way to side by side.
    let same_shape = same_shape(shown);
    if view.swipe && same_shape {
        let (rect, response) =
            ui.allocate_exact_size(egui::vec2(width, height), egui::Sense::click_and_drag());
        response
            .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, "Swipe preview"));
        let (at, _) = placement(rect, img, view);
        let line = at.left() + at.width() * view.split;
        let pointer = response.interact_pointer_pos().or(response.hover_pos());
        let near = |p: Option<egui::Pos2>| p.is_some_and(|p| (p.x - line).abs() <= GRAB);
        // Fitted, there is nothing to pan: any drag moves the line. At 100 %, a drag that
        // starts at the line moves it and one elsewhere pans the picture (judged where the
        // button went down); a click anywhere puts the line there.
        let pannable = view.actual && (img.x > at.width() + 0.5 || img.y > at.height() + 0.5);
        if response.drag_started() {
            view.moving_split = !pannable || near(ui.input(|i| i.pointer.press_origin()));
        }
        if near(pointer) || view.moving_split || !pannable {
            ui.ctx().set_cursor_icon(egui::CursorIcon::ResizeHorizontal);
        }
        let to_split = |p: egui::Pos2| ((p.x - at.left()) / at.width()).clamp(0.0, 1.0);
        if response.dragged() && view.moving_split {
            if let Some(p) = pointer {
                view.split = to_split(p);
            }
        } else if response.dragged() {
            view.pan -= response.drag_delta();
        } else if response.clicked()
            && let Some(p) = response.interact_pointer_pos()
        {
            view.split = to_split(p);
        }
        if response.drag_stopped() {
            view.moving_split = false;
        }
        let (at, uv) = placement(rect, img, view);
        let x = at.left() + at.width() * view.split;
        let painter = ui.painter_at(rect);
        super::checkerboard(&painter, at);
        let left = egui::Rect::from_min_max(at.min, egui::pos2(x, at.bottom()));
        let right = egui::Rect::from_min_max(egui::pos2(x, at.top()), at.max);
        painter
            .with_clip_rect(left)
            .image(shown.before.id(), at, uv, egui::Color32::WHITE);
        painter
            .with_clip_rect(right)
            .image(shown.after.id(), at, uv, egui::Color32::WHITE);
        let stroke = egui::Stroke::new(2.0, egui::Color32::WHITE);
        painter.vline(x, at.y_range(), stroke);
        // A grip on the line says it can be dragged.
        let grip = egui::pos2(x, at.center().y);
        painter.circle(grip, 11.0, egui::Color32::from_black_alpha(160), stroke);
        painter.text(
            grip,
            egui::Align2::CENTER_CENTER,
            "◀▶",
            egui::FontId::proportional(9.0),
            egui::Color32::WHITE,
        );
        // Which side is which, in the picture's top corners.
        corner_label(ui, at, "Before", egui::Align2::LEFT_TOP);
        corner_label(ui, at, "After", egui::Align2::RIGHT_TOP);
        return;
    }
    let half = ((width - 8.0) / 2.0).max(60.0);
    ui.horizontal_top(|ui| {
        for (title, texture) in [("Before", &shown.before), ("After", &shown.after)] {
            ui.vertical(|ui| {
                ui.label(title);
                let (rect, response) =
                    ui.allocate_exact_size(egui::vec2(half, height - 20.0), sense);
                // Dragging either side moves both: one pan.
                view.pan -= response.drag_delta();
                let size = if same_shape { img } else { texture.size_vec2() };
                let (at, uv) = placement(rect, size, view);
                super::checkerboard(&ui.painter_at(rect), at);
                ui.painter_at(rect)
                    .image(texture.id(), at, uv, egui::Color32::WHITE);
            });
        }
    });
}

/// Whether the preview's source and output have one shape (no edit cropped, turned or padded).
fn same_shape(shown: &Shown) -> bool {
    let source = shown.before.size_vec2();
    let img = egui::vec2(
        shown.trial.after.preview_width as f32,
        shown.trial.after.preview_height as f32,
    );
    (source.x * img.y - source.y * img.x).abs() <= 0.02 * source.x * img.y
}

/// A small label on a dark plate in a corner of `at`.
fn corner_label(ui: &mut egui::Ui, at: egui::Rect, text: &str, corner: egui::Align2) {
    let galley = ui.painter().layout_no_wrap(
        text.to_owned(),
        egui::FontId::proportional(12.0),
        egui::Color32::WHITE,
    );
    let size = galley.size() + egui::vec2(10.0, 4.0);
    let inner = at.shrink(6.0);
    let rect = corner.align_size_within_rect(size, inner);
    ui.painter()
        .rect_filled(rect, 3.0, egui::Color32::from_black_alpha(150));
    ui.put(
        rect,
        egui::Label::new(
            egui::RichText::new(text)
                .color(egui::Color32::WHITE)
                .size(12.0),
        )
        .selectable(false),
    );
}
