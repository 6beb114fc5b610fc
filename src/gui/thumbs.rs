//! Small pictures for the input's file list, made on one background thread as rows come into
//! view: the most recently asked first, so scrolling fast never queues up the rows scrolled
//! past. Only the recently shown are kept as textures.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use crossbeam_channel::{Receiver, Sender, unbounded};
use eframe::egui;

use crate::engine::preview::{Thumbnail, icon};

/// Pixels on a thumbnail's longer side.
pub const SIDE: u32 = 48;
/// Textures kept; beyond this the least recently shown go.
const KEEP: usize = 600;

/// What the loader thread is asked for, newest last.
#[derive(Default)]
struct Wanted {
    paths: Mutex<(Vec<PathBuf>, bool)>,
    ready: Condvar,
}

/// A thumbnail as the list shows it.
pub enum Thumb {
    /// Still loading.
    Loading,
    /// Loaded: the texture and the image's own size.
    Ready(egui::TextureHandle, (u32, u32)),
    /// Not readable as an image.
    Failed(String),
}

/// The list's thumbnails and their loader.
#[derive(Default)]
pub struct Thumbs {
    shown: HashMap<PathBuf, (Thumb, u64)>,
    frame: u64,
    wanted: Arc<Wanted>,
    done: Option<Receiver<(PathBuf, Result<Thumbnail, String>)>>,
    loader: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Thumbs {
    fn drop(&mut self) {
        self.wanted
            .paths
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1 = true;
        self.wanted.ready.notify_all();
    }
}

fn load(
    wanted: &Wanted,
    done: &Sender<(PathBuf, Result<Thumbnail, String>)>,
    wake: &egui::Context,
) {
    loop {
        let path = {
            let mut guard = wanted.paths.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if guard.1 {
                    return;
                }
                if let Some(p) = guard.0.pop() {
                    break p;
                }
                guard = wanted
                    .ready
                    .wait(guard)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        // No small pictures of objects in storage: a fetch per row scrolled past would cost
        // more than the list is worth (the preview fetches the one picked).
        let result = if crate::engine::remote::is_remote(&path) {
            Err("in object storage".to_owned())
        } else {
            std::panic::catch_unwind(|| icon(&path, SIDE))
                .unwrap_or_else(|_| Err("could not be read".to_owned()))
        };
        if done.send((path, result)).is_err() {
            return;
        }
        wake.request_repaint();
    }
}

impl Thumbs {
    /// Starts a frame: picks up what the loader finished.
    pub fn begin_frame(&mut self, ctx: &egui::Context) {
        self.frame += 1;
        let Some(done) = &self.done else { return };
        for (path, result) in done.try_iter() {
            let thumb = match result {
                Ok(t) => {
                    let size = [t.preview_width as usize, t.preview_height as usize];
                    let image = egui::ColorImage::from_rgba_unmultiplied(size, &t.rgba);
                    let name = format!("thumb-{}", path.display());
                    let tex = ctx.load_texture(name, image, egui::TextureOptions::LINEAR);
                    Thumb::Ready(tex, (t.width, t.height))
                }
                Err(e) => Thumb::Failed(e),
            };
            if let Some(entry) = self.shown.get_mut(&path) {
                entry.0 = thumb;
            }
        }
        if self.shown.len() > KEEP {
            let mut ages: Vec<u64> = self.shown.values().map(|(_, seen)| *seen).collect();
            ages.sort_unstable();
            let cut = ages[ages.len() - KEEP];
            self.shown.retain(|_, (_, seen)| *seen >= cut);
        }
    }

    /// The thumbnail of `path` for a row drawn this frame; asks the loader for it if need be.
    pub fn get(&mut self, ctx: &egui::Context, path: &Path) -> &Thumb {
        let frame = self.frame;
        if !self.shown.contains_key(path) {
            self.ensure_loader(ctx);
            let mut guard = self
                .wanted
                .paths
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            guard.0.push(path.to_path_buf());
            drop(guard);
            self.wanted.ready.notify_one();
        }
        let entry = self
            .shown
            .entry(path.to_path_buf())
            .or_insert((Thumb::Loading, frame));
        entry.1 = frame;
        &entry.0
    }

    /// Forgets asks for rows no longer in view (they are asked again when they return).
    pub fn end_frame(&mut self) {
        let frame = self.frame;
        let mut guard = self
            .wanted
            .paths
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let shown = &mut self.shown;
        guard.0.retain(|p| {
            let keep = shown.get(p).is_some_and(|(_, seen)| *seen == frame);
            if !keep {
                shown.remove(p);
            }
            keep
        });
    }

    fn ensure_loader(&mut self, ctx: &egui::Context) {
        if self.loader.is_some() {
            return;
        }
        let (tx, rx) = unbounded();
        let wanted = Arc::clone(&self.wanted);
        let wake = ctx.clone();
        self.loader = std::thread::Builder::new()
            .name("conveyor-thumbnails".into())
            .spawn(move || load(&wanted, &tx, &wake))
            .ok();
        self.done = Some(rx);
    }
}
