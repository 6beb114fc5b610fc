//! Inputs in object storage, copied to local temporary files a few ahead of the workers, so a
//! worker finds its next input already here instead of waiting on the network while its core
//! idles. One thread fetches, in the order the pool hands the inputs out; a worker that asks
//! for one not yet started fetches it itself.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use crate::remote::{Location, Store, StoreError};

/// A fetched input: its local copy (removed when dropped), or why it could not be fetched.
pub type Fetched = Result<tempfile::TempPath, StoreError>;

enum Slot {
    /// The fetching thread is on it.
    InFlight,
    /// Done, waiting for its worker.
    Ready(Fetched),
    /// A worker asked before the thread started on it, and fetches it itself.
    Claimed,
}

struct State {
    /// The remote inputs, in the order they will be asked for.
    order: Vec<PathBuf>,
    /// The next of `order` the thread will fetch.
    next: usize,
    /// Inputs asked for so far.
    taken: usize,
    slots: HashMap<PathBuf, Slot>,
    stopped: bool,
}

/// The prefetcher of one batch.
pub struct Prefetch {
    state: Mutex<State>,
    changed: Condvar,
    ahead: usize,
}

impl std::fmt::Debug for Prefetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefetch")
            .field("ahead", &self.ahead)
            .finish_non_exhaustive()
    }
}

/// Streams `object` into a new temporary file.
pub fn fetch(store: &dyn Store, object: &Location) -> Fetched {
    let mut copy = tempfile::Builder::new()
        .prefix(".conveyor-fetch-")
        .tempfile()
        .map_err(|e| StoreError::local_copy(object, &e, true))?;
    store.fetch(object, copy.as_file_mut())?;
    Ok(copy.into_temp_path())
}

impl Prefetch {
    /// Starts fetching `inputs` (in the order workers will ask for them), keeping at most
    /// `ahead` fetched and not yet asked for.
    pub fn start(
        store: Arc<dyn Store>,
        inputs: Vec<PathBuf>,
        ahead: usize,
    ) -> std::io::Result<Arc<Prefetch>> {
        let prefetch = Arc::new(Prefetch {
            state: Mutex::new(State {
                order: inputs,
                next: 0,
                taken: 0,
                slots: HashMap::new(),
                stopped: false,
            }),
            changed: Condvar::new(),
            ahead: ahead.max(1),
        });
        let worker = Arc::clone(&prefetch);
        std::thread::Builder::new()
            .name("conveyor-prefetch".into())
            .spawn(move || worker.run(store.as_ref()))?;
        Ok(prefetch)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn run(&self, store: &dyn Store) {
        loop {
            let path = {
                let mut state = self.lock();
                loop {
                    if state.stopped || state.next >= state.order.len() {
                        return;
                    }
                    if state.next < state.taken + self.ahead {
                        break;
                    }
                    state = self
                        .changed
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                let path = state.order[state.next].clone();
                state.next += 1;
                if state.slots.contains_key(&path) {
                    // A worker got there first.
                    continue;
                }
                state.slots.insert(path.clone(), Slot::InFlight);
                path
            };
            let fetched = match Location::parse(&path) {
                Some(Ok(object)) => fetch(store, &object),
                Some(Err(reason)) => Err(StoreError {
                    fatal: false,
                    reason,
                }),
                None => continue,
            };
            self.lock().slots.insert(path, Slot::Ready(fetched));
            self.changed.notify_all();
        }
    }

    /// The local copy of `input`: ready, or waited for if the thread is fetching it. `None` if
    /// the thread has not started on it (the caller fetches it itself, and the thread will
    /// not).
    pub fn take(&self, input: &Path) -> Option<Fetched> {
        let mut state = self.lock();
        state.taken += 1;
        self.changed.notify_all();
        loop {
            match state.slots.remove(input) {
                Some(Slot::Ready(fetched)) => return Some(fetched),
                Some(Slot::InFlight) => {
                    state.slots.insert(input.to_path_buf(), Slot::InFlight);
                    state = self
                        .changed
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Some(Slot::Claimed) | None => {
                    // Marked, so the thread skips it when it gets there.
                    state.slots.insert(input.to_path_buf(), Slot::Claimed);
                    return None;
                }
            }
        }
    }

    /// Stops fetching (the batch ended or was cancelled); copies not taken are removed.
    pub fn stop(&self) {
        let mut state = self.lock();
        state.stopped = true;
        state.slots.clear();
        self.changed.notify_all();
    }
}
