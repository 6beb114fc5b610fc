//! Input that is not a widget's: keyboard shortcuts, files dropped on the window, and close
//! requests (which ask first while a batch runs).

use std::path::PathBuf;

use eframe::egui;

use super::ConveyorApp;
use crate::gui::command::Command;

impl ConveyorApp {
    /// Keyboard shortcuts: Ctrl+Enter start, Space pause/resume (outside text fields),
    /// Escape cancel.
    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) {
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter)) {
            self.commands.push(Command::Start);
        }
        let copy = egui::Modifiers::COMMAND | egui::Modifiers::SHIFT;
        if ctx.input_mut(|i| i.consume_key(copy, egui::Key::C)) {
            self.commands.push(Command::CopyCommand);
        }
        let typing = ctx.egui_wants_keyboard_input();
        if !typing && ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Space)) {
            self.commands.push(Command::TogglePause);
        }
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Escape)) {
            self.commands.push(if self.confirm_close {
                Command::KeepRunning
            } else {
                Command::Cancel
            });
        }
    }

    pub(super) fn handle_drops(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if !dropped.is_empty() {
            if self.busy() {
                self.message = Some(super::BUSY_DROP.into());
            } else {
                self.set_input(dropped);
            }
        }
    }

    pub(super) fn handle_close(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested()) && self.busy() && !self.closing {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm_close = true;
        }
    }

    /// Stops the batch (if any) and lets the window close once it has wound down.
    pub(super) fn stop_and_quit(&mut self, ctx: &egui::Context) {
        self.confirm_close = false;
        self.closing = true;
        self.preparing = None;
        self.cancel();
        if !self
            .batch
            .as_ref()
            .is_some_and(crate::gui::state::Batch::running)
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}
