//! A memory budget shared by all workers: each image is charged an estimate taken from its
//! header before its pixels are decoded, so N workers on huge images wait for each other
//! instead of exhausting memory together.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

#[derive(Debug, Default)]
struct Ledger {
    used: u64,
    peak: u64,
}

/// Bytes of image memory all workers together may hold.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: u64,
    ledger: Mutex<Ledger>,
    freed: Condvar,
}

/// Memory held by one image; returned to the budget on drop.
#[derive(Debug)]
pub struct Charge<'a> {
    budget: &'a MemoryBudget,
    bytes: u64,
}

impl Drop for Charge<'_> {
    fn drop(&mut self) {
        let mut ledger = self
            .budget
            .ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        ledger.used = ledger.used.saturating_sub(self.bytes);
        drop(ledger);
        self.budget.freed.notify_all();
    }
}

impl Charge<'_> {
    /// Changes the charge to `bytes` (a better estimate, once a header is read). Shrinking and
    /// growing within the budget happen at once, and a charge that is all the budget holds may
    /// grow past it (it runs alone). Otherwise the charge is given back and then waited for like
    /// a new one, so two growing jobs never wait for each other. Returns `false` if
    /// `still_wanted` said no while waiting (the charge is then empty).
    pub fn resize(&mut self, bytes: u64, still_wanted: &mut dyn FnMut() -> bool) -> bool {
        let budget = self.budget;
        let mut ledger = budget.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        let others = ledger.used.saturating_sub(self.bytes);
        if bytes > self.bytes && others > 0 && others.saturating_add(bytes) > budget.limit {
            ledger.used = others;
            self.bytes = 0;
            budget.freed.notify_all();
            while ledger.used > 0 && ledger.used.saturating_add(bytes) > budget.limit {
                if !still_wanted() {
                    return false;
                }
                ledger = budget
                    .freed
                    .wait_timeout(ledger, Duration::from_millis(200))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        }
        let shrunk = bytes < self.bytes;
        ledger.used = ledger.used.saturating_sub(self.bytes).saturating_add(bytes);
        ledger.peak = ledger.peak.max(ledger.used);
        self.bytes = bytes;
        drop(ledger);
        if shrunk {
            budget.freed.notify_all();
        }
        true
    }
}

/// The default budget: a quarter of physical memory, at most 2 GiB (2 GiB if unknown).
pub fn default_limit() -> u64 {
    const CAP: u64 = 2 << 30;
    total_memory().map_or(CAP, |total| (total / 4).min(CAP))
}

/// Physical memory in bytes, where the platform tells.
fn total_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl MemoryBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> MemoryBudget {
        MemoryBudget {
            limit: limit.max(1),
            ledger: Mutex::new(Ledger::default()),
            freed: Condvar::new(),
        }
    }

    /// The limit in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The most ever held at once.
    pub fn peak(&self) -> u64 {
        self.ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .peak
    }

    /// Waits until `bytes` fit (an image larger than the whole budget runs alone), asking
    /// `still_wanted` now and then; returns `None` if it says no (the batch was cancelled).
    pub fn acquire(
        &self,
        bytes: u64,
        still_wanted: &mut dyn FnMut() -> bool,
    ) -> Option<Charge<'_>> {
        let mut ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        while ledger.used > 0 && ledger.used.saturating_add(bytes) > self.limit {
            if !still_wanted() {
                return None;
            }
            ledger = self
                .freed
                .wait_timeout(ledger, Duration::from_millis(200))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        ledger.used += bytes;
        ledger.peak = ledger.peak.max(ledger.used);
        Some(Charge {
            budget: self,
            bytes,
        })
    }
}

/// Below this size glibc's malloc serves an image buffer from a worker's heap, not from its own
/// `mmap` (see [`keep_freed_memory`]).
pub const REUSE_BELOW: usize = 16 << 20;
/// Free memory a worker's heap keeps at its top for the next job before giving it back.
pub const KEEP_FREE: usize = 32 << 20;

/// Lets each worker reuse the memory of its previous image instead of getting fresh pages from
/// the kernel for every file (glibc on Linux; elsewhere nothing to do). With glibc's defaults a
/// job's buffers (the file, the decoded and resized pixels: a few MiB each) are given back to
/// the kernel when the job ends and faulted in again, page by page and zeroed, by the next one:
/// 65,000 page faults and a tenth of the CPU for 40 12-megapixel JPEGs. Buffers under
/// [`REUSE_BELOW`] now come from the heap, which keeps up to [`KEEP_FREE`] free for the next
/// job; larger images still map and unmap their own memory, so peak memory does not grow with
/// the biggest image seen. Call it once, before the workers start. Returns whether both settings
/// took.
#[allow(unsafe_code)]
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let set = |param, bytes: usize| {
            let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
            // SAFETY: mallopt only changes malloc's tuning parameters; it takes malloc's lock.
            unsafe { libc::mallopt(param, value) == 1 }
        };
        set(libc::M_MMAP_THRESHOLD, REUSE_BELOW) & set(libc::M_TRIM_THRESHOLD, KEEP_FREE)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn workers_together_stay_within_the_budget() {
        let budget = MemoryBudget::new(100);
        let held = AtomicU64::new(0);
        let most = AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..6 {
                s.spawn(|| {
                    for _ in 0..50 {
                        let charge = budget.acquire(40, &mut || true).expect("admitted");
                        let now = held.fetch_add(40, Ordering::SeqCst) + 40;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        held.fetch_sub(40, Ordering::SeqCst);
                        drop(charge);
                    }
                });
            }
        });
        assert!(
            most.load(Ordering::SeqCst) <= 80,
            "two 40-byte images fit in 100, never three"
        );
        assert!(budget.peak() <= 100);
    }

    #[test]
    fn an_image_larger_than_the_budget_runs_alone_and_waiting_can_be_abandoned() {
        let budget = MemoryBudget::new(100);
        let big = budget
            .acquire(500, &mut || true)
            .expect("alone, it may run");
        let mut asked = 0;
        let refused = budget.acquire(10, &mut || {
            asked += 1;
            asked < 2
        });
        assert!(refused.is_none(), "cancelled while waiting");
        drop(big);
        assert!(budget.acquire(10, &mut || false).is_some(), "free again");
    }

    #[test]
    fn a_charge_grows_in_place_when_alone_and_never_deadlocks_with_another() {
        let budget = MemoryBudget::new(100);
        let mut alone = budget.acquire(300, &mut || true).expect("alone");
        assert!(alone.resize(350, &mut || true), "alone, it grows at once");
        assert_eq!(budget.peak(), 350);
        assert!(alone.resize(40, &mut || true));
        let other = budget.acquire(40, &mut || true).expect("fits beside");
        // Growing past the budget beside another charge waits; refusing to wait empties it.
        assert!(!alone.resize(90, &mut || false));
        drop(other);
        assert!(alone.resize(90, &mut || true));
        drop(alone);
        // Two charges that both grow: each gives its share back, so neither waits forever.
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..100 {
                        let mut c = budget.acquire(40, &mut || true).expect("admitted");
                        assert!(c.resize(80, &mut || true));
                    }
                });
            }
        });
        assert!(
            budget.acquire(100, &mut || false).is_some(),
            "all given back"
        );
    }

    #[test]
    fn the_default_limit_is_at_most_2_gib() {
        assert!(default_limit() <= 2 << 30);
    }
}
