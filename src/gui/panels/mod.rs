//! The window's panels, one file each. They read the app state and call its methods; no
//! image work happens here.

mod edits_form;
mod input;
mod output_form;
pub(crate) mod overall;
mod overlay_form;
mod recipe;
pub(crate) mod results;
pub(crate) mod trial;
pub(crate) mod workers;

use eframe::egui;

use super::command::Command;
use super::view::BatchView;
use crate::engine::recipe::OnExist;

pub(super) use input::{drop_highlight, empty_state, top_bar};
pub(super) use recipe::{RecipeView, recipe_panel};

/// What the controls row shows, read from the state once a frame.
pub(crate) struct Controls<'a> {
    /// Start is possible: an input with images, nothing being prepared or running.
    pub(crate) can_start: bool,
    /// A batch is running (Pause and Cancel apply).
    pub(crate) running: bool,
    /// The input folder is watched (the switch is on; Cancel stops watching).
    pub(crate) watching: bool,
    /// The running batch is paused.
    pub(crate) paused: bool,
    /// The running batch paused itself at a failure of the whole batch (a full disk): why.
    pub(crate) halted: Option<&'a str>,
    /// No batch yet: the estimate shows.
    pub(crate) before_batch: bool,
    /// Start is scanning and planning.
    pub(crate) preparing: bool,
    /// The message line, unless the forecast already says the same.
    pub(crate) message: Option<&'a str>,
    /// The command *Copy as command* put on the clipboard, shown to read and select.
    pub(crate) copied: Option<&'a str>,
    /// The preview's and estimate's state.
    pub(crate) trials: &'a super::trial::Trials,
    /// The worker count the estimate assumes.
    pub(crate) workers: usize,
    /// What Start would do (the estimate is scaled to what is left), once planned.
    pub(crate) outlook: Option<&'a crate::engine::plan::Outlook>,
}

/// Start, Pause, Cancel, the estimate and the message line: a function of what they show;
/// the buttons push commands.
pub(crate) fn controls(c: &Controls, commands: &mut Vec<Command>, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        let ctx = ui.ctx().clone();
        if ui
            .add_enabled(
                c.can_start,
                egui::Button::new("▶ Start").min_size(egui::vec2(90.0, 28.0)),
            )
            .on_hover_text("Start converting (Ctrl+Enter)")
            .clicked()
        {
            commands.push(Command::Start);
        }
        // The switch: on, the folder is converted and then watched until it is turned off.
        let switch = egui::Button::selectable(c.watching, "👁 Watch this folder")
            .min_size(egui::vec2(90.0, 28.0));
        let hint = if c.watching {
            "Stop watching: what is being converted is cancelled, what is done stays"
        } else {
            "Convert what is in the folder, then each image copied into it once it is \
             complete, until this is turned off"
        };
        if ui
            .add_enabled(c.can_start || c.watching, switch)
            .on_hover_text(hint)
            .clicked()
        {
            commands.push(Command::Watch(!c.watching));
        }
        let pause_label = if c.paused { "⏵ Resume" } else { "⏸ Pause" };
        if ui
            .add_enabled(
                c.running,
                egui::Button::new(pause_label).min_size(egui::vec2(90.0, 28.0)),
            )
            .on_hover_text("Pause or resume (Space)")
            .clicked()
        {
            commands.push(Command::TogglePause);
        }
        if ui
            .add_enabled(
                c.running,
                egui::Button::new("⏹ Cancel").min_size(egui::vec2(90.0, 28.0)),
            )
            .on_hover_text(if c.watching {
                "Stop watching (Escape)"
            } else {
                "Cancel the batch (Escape)"
            })
            .clicked()
        {
            commands.push(Command::Cancel);
        }
        if c.before_batch {
            ui.separator();
            estimate_label(c, ui);
        }
        if c.preparing {
            ui.spinner();
            ui.label("Planning…");
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    });
    if c.before_batch {
        estimate_warnings(c, ui);
    }
    if let Some(reason) = c.halted {
        halt_banner(reason, commands, ui);
    }
    message_area(c.message, c.copied, ui);
}

/// The one message of a batch paused by a full or unwritable disk, and the choice: Retry once
/// the cause is fixed, or Stop. Wrapped inside the panel like every message.
pub(crate) fn halt_banner(reason: &str, commands: &mut Vec<Command>, ui: &mut egui::Ui) {
    let width = ui.available_width();
    let error = ui.visuals().error_fg_color;
    egui::Frame::group(ui.style())
        .stroke(egui::Stroke::new(1.0, error))
        .show(ui, |ui| {
            ui.set_max_width(width - 16.0);
            ui.add(
                egui::Label::new(
                    egui::RichText::new(format!("The batch is paused: {reason}."))
                        .color(error)
                        .strong(),
                )
                .wrap(),
            );
            ui.add(
                egui::Label::new(
                    "Every file after it would fail the same way, so nothing more is read. \
                     The files it met are back in the queue and nothing is lost. Free some \
                     space or make the output folder writable, then Retry; Stop ends the \
                     batch and keeps what is converted.",
                )
                .wrap(),
            );
            ui.horizontal(|ui| {
                if ui
                    .button("⟳ Retry")
                    .on_hover_text("Go on with the batch, starting with the files put back")
                    .clicked()
                {
                    commands.push(Command::TogglePause);
                }
                if ui
                    .button("⏹ Stop")
                    .on_hover_text("End the batch here; what is converted stays")
                    .clicked()
                {
                    commands.push(Command::Cancel);
                }
            });
        });
}

/// The message line under the controls: wrapped inside the panel (a long path or command never
/// widens it), and the copied command in a box to read and select.
pub(crate) fn message_area(message: Option<&str>, copied: Option<&str>, ui: &mut egui::Ui) {
    if message.is_none() && copied.is_none() {
        return;
    }
    let width = ui.available_width();
    ui.allocate_ui(egui::vec2(width, 0.0), |ui| {
        ui.set_max_width(width);
        if let Some(msg) = message {
            ui.add(
                egui::Label::new(egui::RichText::new(msg).color(ui.visuals().warn_fg_color)).wrap(),
            );
        }
        if let Some(command) = copied {
            let mut text = command;
            ui.add(
                egui::TextEdit::multiline(&mut text)
                    .id_salt("copied-command")
                    .font(egui::TextStyle::Monospace)
                    .desired_width(width)
                    .desired_rows(1),
            );
        }
    });
}

/// The estimate beside Start: for the outputs left to write (a resumed batch is not estimated
/// as a whole one), never a stale figure while a new one is made.
fn estimate_label(c: &Controls, ui: &mut egui::Ui) {
    let trials = c.trials;
    if trials.estimating() {
        ui.spinner();
        ui.add(egui::Label::new("Updating the estimate…").truncate());
        return;
    }
    match &trials.estimate {
        Some(Some(e)) if e.sampled > 0 => {
            if c.outlook.is_some_and(|o| o.convert == 0) {
                ui.add(egui::Label::new("Estimate: nothing left to write").truncate());
                return;
            }
            let (bytes, seconds) = estimate_left(e, c.outlook);
            let left = c
                .outlook
                .filter(|o| o.convert < o.total)
                .map(|o| format!(" for the {} outputs left", o.convert))
                .unwrap_or_default();
            let text = format!(
                "Estimate: about {} in about {}{left}",
                crate::engine::units::human_bytes(bytes),
                crate::gui::view::clock(seconds)
            );
            // Cut short in a narrow window (the buttons keep their room); whole on hover.
            ui.add(egui::Label::new(&text).truncate())
                .on_hover_text(format!(
                    "{text}: from {} sample image(s) converted with this recipe and {} \
                     worker(s)",
                    e.sampled, c.workers
                ));
        }
        Some(_) => {
            ui.add(egui::Label::new("Estimate: none of the sampled images converted").truncate());
        }
        None => {}
    }
}

/// The estimate's bytes and seconds scaled to the outputs left to write.
fn estimate_left(
    e: &crate::engine::preview::Estimate,
    outlook: Option<&crate::engine::plan::Outlook>,
) -> (u64, f64) {
    let share = outlook.map_or(1.0, crate::engine::plan::Outlook::share_left);
    (
        (e.total_bytes as f64 * share).round() as u64,
        e.seconds * share,
    )
}

/// Under the controls before Start: the estimate's warnings, wrapped: more output than the disk
/// has free, and sampled files that failed (the batch will fail them too).
fn estimate_warnings(c: &Controls, ui: &mut egui::Ui) {
    let Some(Some(e)) = &c.trials.estimate else {
        return;
    };
    if c.trials.estimating() {
        return;
    }
    let warn = ui.visuals().warn_fg_color;
    let width = ui.available_width();
    if e.sampled > 0
        && let Some(o) = c.outlook
        && let Some(free) = o.free_bytes
        && o.convert > 0
    {
        let (bytes, _) = estimate_left(e, Some(o));
        if bytes > free {
            ui.allocate_ui(egui::vec2(width, 0.0), |ui| {
                ui.set_max_width(width);
                ui.add(
                    egui::Label::new(
                        egui::RichText::new(format!(
                            "⚠ The output disk has only {} free, less than the estimate. Free \
                             some space or choose another output folder; if the disk fills, \
                             the batch pauses and asks.",
                            crate::engine::units::human_bytes(free)
                        ))
                        .color(warn),
                    )
                    .wrap(),
                );
            });
        }
    }
    if let Some((path, why)) = e.failed.first() {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let others = match e.failed.len() - 1 {
            0 => String::new(),
            1 => " (and 1 other)".to_owned(),
            n => format!(" (and {n} others)"),
        };
        let all: Vec<String> = e
            .failed
            .iter()
            .map(|(p, w)| format!("{}: {w}", p.display()))
            .collect();
        ui.allocate_ui(egui::vec2(width, 0.0), |ui| {
            ui.set_max_width(width);
            ui.add(
                egui::Label::new(
                    egui::RichText::new(format!(
                        "⚠ {} of {} sampled images could not be converted with this recipe, so \
                         the batch will fail them too: {name}: {why}{others}",
                        e.failed.len(),
                        e.failed.len() + e.sampled
                    ))
                    .color(warn),
                )
                .wrap(),
            )
            .on_hover_text(all.join("\n"));
        });
    }
}

/// Asks before closing mid-batch, saying what quitting leaves (`left`: [`quit_text`]'s).
pub(super) fn close_dialog(left: &str, commands: &mut Vec<Command>, ctx: &egui::Context) {
    egui::Modal::new(egui::Id::unique("confirm-close")).show(ctx, |ui| {
        ui.heading("Stop the batch and quit?");
        ui.label(left);
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            if ui.button("Stop and quit").clicked() {
                commands.push(Command::StopAndQuit);
            }
            if ui.button("Keep running").clicked() {
                commands.push(Command::KeepRunning);
            }
        });
    });
}

/// What quitting mid-batch leaves, and what starting the batch again will do, for the batch's
/// actual on-exist policy (the journal decides about Conveyor's own outputs whatever it is).
pub(crate) fn quit_text(view: Option<&BatchView>, on_exist: OnExist) -> String {
    let (converted, settled, total) = view.map_or((0, 0, 0), |v| (v.ok, v.ok + v.skipped, v.total));
    let left = total.saturating_sub(settled);
    let so_far = view.map_or_else(|| "0 converted".to_owned(), BatchView::outcome_text);
    let policy = match on_exist {
        OnExist::Skip => {
            "Files in the output folder that Conveyor did not make stay as they are (those \
             images are skipped)."
        }
        OnExist::Overwrite => {
            "Files in the output folder that Conveyor did not make are replaced (\u{201c}If the \
             output exists: Overwrite\u{201d})."
        }
        OnExist::Rename => {
            "Files in the output folder that Conveyor did not make are kept, and the new \
             outputs are written beside them under a -1, -2, \u{2026} name."
        }
    };
    format!(
        "The images in hand are abandoned cleanly: no partial files are left behind.\n\
         So far {converted} of {total} are converted ({so_far}); the batch goes on until you \
         choose. Starting the same batch again (same folders, same recipe) converts only the \
         {left} not converted yet, failed ones included: the journal in the output folder \
         vouches for the finished ones. Changing the recipe converts everything again.\n{policy}"
    )
}

/// Light and mid grey squares under an image, so its transparent parts show as such.
pub(super) fn checkerboard(painter: &egui::Painter, rect: egui::Rect) {
    const CELL: f32 = 8.0;
    painter.rect_filled(rect, 0.0, egui::Color32::from_gray(204));
    let columns = (rect.width() / CELL).ceil() as usize;
    let rows = (rect.height() / CELL).ceil() as usize;
    for row in 0..rows {
        for column in (row % 2..columns).step_by(2) {
            let min = rect.min + egui::vec2(column as f32 * CELL, row as f32 * CELL);
            let cell = egui::Rect::from_min_size(min, egui::vec2(CELL, CELL)).intersect(rect);
            painter.rect_filled(cell, 0.0, egui::Color32::from_gray(153));
        }
    }
}

/// `frame` without its fill. The window's clear colour is the panels' colour, so painting it
/// again over the whole window only costs: on a software-rendered desktop (llvmpipe) every
/// filled pixel is shaded on the CPU, every frame, while the workers want those cores.
pub(crate) fn unfilled(frame: egui::Frame) -> egui::Frame {
    frame.fill(egui::Color32::TRANSPARENT)
}
