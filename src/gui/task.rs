//! Work run in the background and polled each frame: one helper for the scan, the plan, file
//! dialogs and previews. A task that panics, or whose thread cannot start, ends with an error
//! the window shows; it never leaves the app waiting forever.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crossbeam_channel::{Receiver, TryRecvError, bounded};
use eframe::egui;

use crate::engine::pool::panic_message;

/// A value being computed on another thread.
pub struct Task<T> {
    rx: Option<Receiver<Result<T, String>>>,
    /// An answer known at once (the thread could not start).
    ready: Option<Result<T, String>>,
}

impl<T: Send + 'static> Task<T> {
    /// Runs `work` on a thread called `name`; when it ends, `wake` (if any) asks for a repaint
    /// so the result is picked up without waiting for input.
    pub fn spawn(
        name: &str,
        wake: Option<egui::Context>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Task<T> {
        let (tx, rx) = bounded(1);
        let what = name.to_owned();
        let started = std::thread::Builder::new()
            .name(format!("conveyor-{name}"))
            .spawn(move || {
                let result = catch_unwind(AssertUnwindSafe(work)).map_err(|payload| {
                    format!(
                        "the {what} stopped unexpectedly: {}",
                        panic_message(payload.as_ref())
                    )
                });
                // The window may have dropped the task; then nobody wants the answer.
                let _ = tx.send(result);
                if let Some(ctx) = wake {
                    ctx.request_repaint();
                }
            });
        match started {
            Ok(_) => Task {
                rx: Some(rx),
                ready: None,
            },
            Err(e) => Task {
                rx: None,
                ready: Some(Err(format!("could not start the {name}: {e}"))),
            },
        }
    }

    /// The result once the task has ended (given once); `None` while it runs.
    pub fn poll(&mut self) -> Option<Result<T, String>> {
        if let Some(ready) = self.ready.take() {
            return Some(ready);
        }
        let rx = self.rx.as_ref()?;
        match rx.try_recv() {
            Ok(result) => {
                self.rx = None;
                Some(result)
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.rx = None;
                Some(Err("a background task ended without an answer".to_owned()))
            }
        }
    }

    /// Whether the task has not yet been polled to its end.
    pub fn pending(&self) -> bool {
        self.ready.is_some() || self.rx.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait<T: Send + 'static>(mut task: Task<T>) -> Result<T, String> {
        loop {
            if let Some(r) = task.poll() {
                assert!(!task.pending());
                return r;
            }
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_result_arrives_once() {
        assert_eq!(wait(Task::spawn("sum", None, || 2 + 2)), Ok(4));
    }

    #[test]
    fn a_panic_becomes_an_error() {
        let err = wait(Task::spawn("scan", None, || -> u8 {
            panic!("disk on fire")
        }))
        .expect_err("a panic is an error");
        assert!(
            err.contains("scan") && err.contains("disk on fire"),
            "{err}"
        );
    }
}
