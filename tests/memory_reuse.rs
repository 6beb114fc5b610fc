//! Workers reuse the memory of their previous image (`budget::keep_freed_memory`). Its own test
//! binary: the measurement counts one thread's page faults, and in a process of its own no
//! other test's thread can share that thread's malloc arena and take the memory it freed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

mod common;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
use conveyor::engine::pipeline::budget::keep_freed_memory;

/// Minor page faults of the calling thread so far.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn faults() -> u64 {
    common::thread_stat_field(10)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn a_worker_reuses_its_last_images_memory_instead_of_faulting_in_fresh_pages() {
    assert!(keep_freed_memory());
    // A job's buffers as a 12-megapixel JPEG to fit 800 makes them: the file, the planes,
    // the pixels at 1/4 scale, the resized pixels. Each round touches every page.
    let sizes = [2_300_000usize, 1_200_000, 2_250_000, 1_440_000];
    let pages: usize = sizes.iter().map(|s| s.div_ceil(4096)).sum();
    let after_first = std::thread::spawn(move || {
        let job = |round: u8| {
            let buffers: Vec<Vec<u8>> = sizes.iter().map(|&n| vec![round; n]).collect();
            std::hint::black_box(&buffers);
        };
        job(1);
        let before = faults();
        for round in 2..6 {
            job(round);
        }
        faults() - before
    })
    .join()
    .expect("thread");
    // Four more jobs: with the kernel's fresh pages each time that is 4 x pages faults.
    assert!(
        after_first < (pages / 10) as u64,
        "{after_first} page faults in four jobs of {pages} pages each"
    );
}
