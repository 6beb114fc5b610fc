//! Pool tests with a fake pipeline: every job ends exactly once under live grow/shrink, pause,
//! cancel and panics, and no worker thread outlives its batch.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use crate::common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use conveyor::engine::event::Event;
use conveyor::engine::format::Format;
use conveyor::engine::job::{Action, Job};
use conveyor::engine::job::{Converted, Outcome, Stage};
use conveyor::engine::job::{Flow, JobError, Processor};
use conveyor::engine::pool::{self, PoolHandle};

/// A stand-in pipeline: a little real work per stage, counting every run per job.
struct Fake {
    runs: Vec<AtomicUsize>,
    running: AtomicUsize,
    max_running: AtomicUsize,
    panic_every: Option<usize>,
    work: Duration,
}

impl Fake {
    fn new(jobs: usize, work: Duration) -> Fake {
        Fake {
            runs: (0..jobs).map(|_| AtomicUsize::new(0)).collect(),
            running: AtomicUsize::new(0),
            max_running: AtomicUsize::new(0),
            panic_every: None,
            work,
        }
    }
}

fn job_index(job: &Job) -> usize {
    job.input
        .to_str()
        .and_then(|s| s.strip_prefix("job-"))
        .and_then(|s| s.parse().ok())
        .expect("fake job name")
}

impl Processor for Fake {
    fn process(
        &self,
        job: &Job,
        progress: &mut dyn FnMut(Stage, f32) -> Flow,
    ) -> Result<Converted, JobError> {
        let i = job_index(job);
        self.runs[i].fetch_add(1, Ordering::SeqCst);
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        let result = (|| {
            for stage in Stage::ALL {
                if progress(stage, 0.0) == Flow::Cancel {
                    return Err(JobError::Cancelled);
                }
                // Simulated work for this stage; nothing waits on it.
                std::thread::sleep(self.work);
                if self.panic_every.is_some_and(|n| i % n == 7) && stage == Stage::Resize {
                    self.running.fetch_sub(1, Ordering::SeqCst);
                    panic!("fake decoder exploded on job {i}");
                }
            }
            Ok(Converted {
                output_bytes: i as u64,
                quality: None,
                score: None,
                width: 1,
                height: 1,
                warnings: vec![],
            })
        })();
        self.running.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

/// A fake job's result: a 1x1 output of no bytes.
fn nothing_made() -> Converted {
    Converted {
        output_bytes: 0,
        quality: None,
        score: None,
        width: 1,
        height: 1,
        warnings: vec![],
    }
}

fn jobs(n: usize) -> Arc<[Job]> {
    (0..n)
        .map(|i| Job {
            output_index: 0,
            input: PathBuf::from(format!("job-{i}")),
            output: PathBuf::from(format!("out-{i}.png")),
            format: Format::Png,
            input_bytes: 0,
            action: Action::Convert,
            note: None,
            replace: false,
            journal: None,
        })
        .collect()
}

/// Everything a test learns from one batch's event stream.
#[derive(Default)]
struct Log {
    outcomes: HashMap<usize, Vec<Outcome>>,
    started_workers: Vec<usize>,
    retired_workers: Vec<usize>,
    retiring: Vec<usize>,
    finished_batch: Option<bool>,
    events_after_batch_finished: usize,
}

impl Log {
    fn note(&mut self, event: &Event) {
        if self.finished_batch.is_some() {
            self.events_after_batch_finished += 1;
        }
        match event {
            Event::Finished { job, outcome, .. } => {
                self.outcomes.entry(*job).or_default().push(outcome.clone())
            }
            Event::WorkerStarted { worker } => self.started_workers.push(*worker),
            Event::WorkerRetired { worker } => self.retired_workers.push(*worker),
            Event::WorkerRetiring { worker } => self.retiring.push(*worker),
            Event::BatchFinished { cancelled } => self.finished_batch = Some(*cancelled),
            _ => {}
        }
    }

    fn finished(&self) -> usize {
        self.outcomes.values().map(Vec::len).sum()
    }

    /// Each job ended exactly once, and every worker that started also retired.
    fn assert_complete(&self, n: usize) {
        assert_eq!(self.outcomes.len(), n, "every job ends");
        for (job, outcomes) in &self.outcomes {
            assert_eq!(outcomes.len(), 1, "job {job} ended {outcomes:?}");
        }
        let mut started = self.started_workers.clone();
        let mut retired = self.retired_workers.clone();
        started.sort_unstable();
        retired.sort_unstable();
        assert_eq!(started, retired, "no stray workers");
        assert!(self.finished_batch.is_some(), "BatchFinished was sent");
        assert_eq!(self.events_after_batch_finished, 0, "BatchFinished is last");
    }

    fn count(&self, status: &str) -> usize {
        self.outcomes
            .values()
            .flatten()
            .filter(|o| o.status().name() == status)
            .count()
    }
}

fn start(fake: &Arc<Fake>, n: usize, workers: usize) -> PoolHandle {
    pool::start(
        jobs(n),
        Arc::clone(fake) as Arc<dyn Processor>,
        workers,
        pool::Priority::Normal,
        Arc::new(|_| {}),
    )
    .expect("pool starts")
}

/// Drains events until the batch ends, calling `on_finished` after each finished job.
fn drive(handle: &PoolHandle, log: &mut Log, mut on_finished: impl FnMut(&PoolHandle, usize)) {
    for event in handle.events() {
        log.note(&event);
        if matches!(event, Event::Finished { .. }) {
            on_finished(handle, log.finished());
        }
        if matches!(event, Event::BatchFinished { .. }) {
            break;
        }
    }
}

#[test]
fn every_job_ends_once_under_repeated_live_grow_and_shrink() {
    let n = 600;
    let fake = Arc::new(Fake::new(n, Duration::from_micros(200)));
    let handle = start(&fake, n, 2);
    let mut log = Log::default();
    let schedule = [
        (40, 6),
        (80, 1),
        (120, 8),
        (170, 3),
        (220, 1),
        (260, 5),
        (330, 2),
    ];
    let mut expected_retiring = 0;
    let mut current: usize = 2;
    drive(&handle, &mut log, |h, done| {
        if let Some(&(_, target)) = schedule.iter().find(|(at, _)| *at == done) {
            expected_retiring += current.saturating_sub(target);
            current = target;
            h.set_workers(target);
            assert_eq!(h.workers(), target);
        }
    });
    handle.wait();
    log.assert_complete(n);
    assert_eq!(log.count("ok"), n);
    assert_eq!(
        log.retiring.len(),
        expected_retiring,
        "each shrink retires the surplus"
    );
    assert!(
        fake.runs.iter().all(|r| r.load(Ordering::SeqCst) == 1),
        "no job ran twice"
    );
    assert!(fake.max_running.load(Ordering::SeqCst) <= 8);
    // Grow started new workers with fresh numbers: 2 + 4 + 7 + 4 + 0... at least 2 + 4 + 7.
    assert!(log.started_workers.len() >= 2 + 4 + 7);
}

#[test]
fn shrinking_retires_the_newest_workers_and_grow_adds_new_ones() {
    let n = 500;
    let fake = Arc::new(Fake::new(n, Duration::from_micros(100)));
    let handle = start(&fake, n, 4);
    let mut log = Log::default();
    drive(&handle, &mut log, |h, done| {
        if done == 20 {
            h.set_workers(2);
        }
        if done == 60 {
            h.set_workers(3);
        }
    });
    handle.wait();
    log.assert_complete(n);
    assert_eq!(log.retiring, vec![4, 3], "the newest workers retire first");
    assert!(
        log.started_workers.contains(&5),
        "growing starts a worker with a new number"
    );
}

#[test]
fn pause_stops_taking_jobs_and_resume_finishes_the_batch() {
    let n = 500;
    let workers = 3;
    let fake = Arc::new(Fake::new(n, Duration::from_micros(100)));
    let handle = start(&fake, n, workers);
    let mut log = Log::default();
    let mut started_after_pause = 0;
    let mut paused = false;
    loop {
        let event = match handle.events().recv_timeout(Duration::from_millis(20)) {
            Ok(event) => event,
            // Idle stream: stop watching once the pause has taken hold and no job is in hand.
            Err(_) if paused && handle.busy() == 0 => break,
            Err(_) => continue,
        };
        log.note(&event);
        match event {
            Event::Finished { .. } if log.finished() == 50 => {
                handle.pause();
                assert!(handle.is_paused());
            }
            Event::Paused => paused = true,
            Event::Started { .. } if paused => started_after_pause += 1,
            _ => {}
        }
    }
    // Once every worker is idle, a paused pool starts nothing more.
    let quiet = handle.events().recv_timeout(Duration::from_millis(300));
    assert!(
        !matches!(quiet, Ok(Event::Started { .. })),
        "a job started while paused: {quiet:?}"
    );
    if let Ok(e) = quiet {
        log.note(&e);
    }
    assert!(
        started_after_pause <= workers,
        "at most one racing job per worker after pause, got {started_after_pause}"
    );
    assert!(log.finished() < n, "pause held the batch");
    handle.resume();
    assert!(!handle.is_paused());
    drive(&handle, &mut log, |_, _| {});
    handle.wait();
    log.assert_complete(n);
    assert_eq!(log.count("ok"), n);
}

#[test]
fn cancel_ends_every_job_exactly_once() {
    let n = 520;
    let workers = 4;
    let fake = Arc::new(Fake::new(n, Duration::from_micros(300)));
    let handle = start(&fake, n, workers);
    let mut log = Log::default();
    let mut ran_before_cancel = 0;
    drive(&handle, &mut log, |h, done| {
        if done == 30 {
            h.cancel();
            assert!(h.is_cancelled());
            ran_before_cancel = fake.runs.iter().map(|r| r.load(Ordering::SeqCst)).sum();
        }
    });
    handle.wait();
    log.assert_complete(n);
    assert_eq!(log.finished_batch, Some(true));
    let (ok, cancelled) = (log.count("ok"), log.count("cancelled"));
    assert!(ok >= 30, "jobs finished before cancel stay ok");
    // Only jobs already in hand when cancel came (plus one racing pick-up per worker) can
    // still finish; everything queued ends as cancelled.
    assert!(
        ok <= ran_before_cancel + workers,
        "{ok} ok after {ran_before_cancel} had started"
    );
    assert!(cancelled > 0);
    assert_eq!(ok + cancelled, n);
    assert!(fake.runs.iter().all(|r| r.load(Ordering::SeqCst) <= 1));
}

#[test]
fn cancel_while_paused_still_ends_every_job() {
    let n = 500;
    let fake = Arc::new(Fake::new(n, Duration::from_micros(100)));
    let handle = start(&fake, n, 2);
    let mut log = Log::default();
    drive(&handle, &mut log, |h, done| {
        if done == 10 {
            h.pause();
            h.cancel();
        }
    });
    handle.wait();
    log.assert_complete(n);
    assert_eq!(log.count("ok") + log.count("cancelled"), n);
}

#[test]
fn a_panicking_job_fails_alone_and_its_worker_carries_on() {
    let n = 520;
    let mut fake = Fake::new(n, Duration::from_micros(20));
    fake.panic_every = Some(50);
    let fake = Arc::new(fake);
    let handle = start(&fake, n, 3);
    let mut log = Log::default();
    drive(&handle, &mut log, |_, _| {});
    handle.wait();
    log.assert_complete(n);
    let panicking: Vec<usize> = (0..n).filter(|i| i % 50 == 7).collect();
    for i in &panicking {
        match &log.outcomes[i][..] {
            [Outcome::Failed(reason)] => {
                assert!(reason.reason.contains("fake decoder exploded"), "{reason}")
            }
            other => panic!("job {i}: {other:?}"),
        }
    }
    assert_eq!(log.count("ok"), n - panicking.len());
    assert_eq!(
        log.started_workers.len(),
        3,
        "no worker died and was replaced"
    );
}

#[test]
fn skipped_jobs_end_without_a_worker() {
    let mut list: Vec<Job> = jobs(500).to_vec();
    for job in list.iter_mut().step_by(2) {
        job.action = Action::skip(conveyor::engine::job::SkipReason::Input(
            "output exists".into(),
        ));
    }
    let fake = Arc::new(Fake::new(500, Duration::ZERO));
    let handle = pool::start(
        list.into(),
        Arc::clone(&fake) as Arc<dyn Processor>,
        2,
        pool::Priority::Normal,
        Arc::new(|_| {}),
    )
    .expect("pool starts");
    let mut log = Log::default();
    let mut by_worker = HashMap::new();
    for event in handle.events() {
        log.note(&event);
        if let Event::Finished { job, worker, .. } = &event {
            by_worker.insert(*job, *worker);
        }
        if matches!(event, Event::BatchFinished { .. }) {
            break;
        }
    }
    handle.wait();
    log.assert_complete(500);
    assert_eq!(log.count("skipped"), 250);
    for i in (0..500).step_by(2) {
        assert_eq!(by_worker[&i], None);
        assert_eq!(
            fake.runs[i].load(Ordering::SeqCst),
            0,
            "skipped job {i} ran"
        );
    }
}

#[test]
fn dropping_the_handle_cancels_and_joins_every_thread() {
    let n = 500;
    let fake = Arc::new(Fake::new(n, Duration::from_micros(500)));
    let wakes = Arc::new(AtomicUsize::new(0));
    let w = Arc::clone(&wakes);
    let handle = pool::start(
        jobs(n),
        Arc::clone(&fake) as Arc<dyn Processor>,
        3,
        pool::Priority::Normal,
        Arc::new(move |_| {
            w.fetch_add(1, Ordering::SeqCst);
        }),
    )
    .expect("pool starts");
    let events = handle.events().clone();
    let first = events.recv().expect("an event");
    assert!(matches!(
        first,
        Event::BatchStarted {
            total: 500,
            workers: 3
        }
    ));
    drop(handle);
    let ran: usize = fake.runs.iter().map(|r| r.load(Ordering::SeqCst)).sum();
    assert_eq!(
        fake.running.load(Ordering::SeqCst),
        0,
        "no job still running after drop"
    );
    let rest: Vec<Event> = events.try_iter().collect();
    assert!(matches!(
        rest.last(),
        Some(Event::BatchFinished { cancelled: true })
    ));
    let mut log = Log::default();
    log.note(&first);
    rest.iter().for_each(|e| log.note(e));
    log.assert_complete(n);
    assert!(ran < n, "drop stopped the batch early");
    assert!(
        wakes.load(Ordering::SeqCst) >= rest.len(),
        "the waker ran for each event"
    );
}

#[test]
fn workers_can_be_added_and_removed_while_paused_even_after_feeding_ends() {
    // Fewer jobs than the queue holds: the feeder is done before the first resize.
    let n = 40;
    let fake = Arc::new(Fake::new(n, Duration::from_micros(100)));
    let handle = start(&fake, n, 3);
    handle.pause();
    let mut log = Log::default();
    let live = |log: &Log| log.started_workers.len() - log.retired_workers.len();
    while live(&log) < 3 {
        log.note(&handle.events().recv().expect("event"));
    }
    handle.set_workers(5);
    while live(&log) < 5 {
        log.note(&handle.events().recv().expect("event"));
    }
    handle.set_workers(2);
    while live(&log) > 2 {
        log.note(&handle.events().recv().expect("event"));
    }
    assert_eq!(
        log.retiring,
        vec![5, 4, 3],
        "each retiring worker is announced before it retires"
    );
    handle.resume();
    drive(&handle, &mut log, |_, _| {});
    handle.wait();
    log.assert_complete(n);
}

/// Records the niceness of the thread that runs each job (Linux: field 19 of
/// /proc/thread-self/stat) and of a thread that job's thread starts.
struct NiceProbe {
    seen: std::sync::Mutex<Vec<(i32, i32)>>,
}

#[cfg(target_os = "linux")]
fn own_nice() -> i32 {
    common::thread_stat_field(19)
}

#[cfg(target_os = "linux")]
impl Processor for NiceProbe {
    fn process(
        &self,
        _job: &Job,
        _progress: &mut dyn FnMut(Stage, f32) -> Flow,
    ) -> Result<Converted, JobError> {
        let child = std::thread::spawn(own_nice).join().expect("child");
        self.seen.lock().unwrap().push((own_nice(), child));
        Ok(nothing_made())
    }
}

/// The window's workers run below interactive threads (and so do the threads they start);
/// the command line's run like anything else. The thread that started the pool keeps its own.
#[cfg(target_os = "linux")]
#[test]
fn background_workers_run_at_lower_priority_and_normal_ones_do_not() {
    let before = own_nice();
    for (priority, want) in [
        (pool::Priority::Background, pool::BACKGROUND_NICE),
        (pool::Priority::Normal, 0),
    ] {
        let probe = Arc::new(NiceProbe {
            seen: std::sync::Mutex::new(Vec::new()),
        });
        let handle = pool::start(
            jobs(6),
            Arc::clone(&probe) as Arc<dyn Processor>,
            2,
            priority,
            Arc::new(|_| {}),
        )
        .expect("pool starts");
        let mut log = Log::default();
        drive(&handle, &mut log, |_, _| {});
        handle.wait();
        log.assert_complete(6);
        let seen = probe.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 6);
        let want = (before + want).min(19);
        assert!(
            seen.iter().all(|&n| n == (want, want)),
            "{priority:?}: every job and the thread it started at nice {want}: {seen:?}"
        );
    }
    assert_eq!(own_nice(), before, "the caller's thread is left as it was");
}

/// Reports each stage twice (a boundary passed again to check for a cancel) and moves through
/// the encode, as the real pipeline does.
struct Chatty;

impl Processor for Chatty {
    fn process(
        &self,
        _job: &Job,
        progress: &mut dyn FnMut(Stage, f32) -> Flow,
    ) -> Result<Converted, JobError> {
        for (stage, done) in [
            (Stage::Decode, 0.0),
            (Stage::Decode, 0.0),
            (Stage::Resize, 0.0),
            (Stage::Encode, 0.0),
            (Stage::Encode, 0.4),
            (Stage::Encode, 0.4),
            (Stage::Encode, 0.9),
            (Stage::Write, 0.0),
            (Stage::Write, 0.0),
        ] {
            if progress(stage, done) == Flow::Cancel {
                return Err(JobError::Cancelled);
            }
        }
        Ok(nothing_made())
    }
}

/// A front end hears each step of a job once, in order, including the steps inside a stage.
#[test]
fn stage_reports_reach_the_front_end_once_each_with_how_far_the_stage_is() {
    let handle = pool::start(
        jobs(3),
        Arc::new(Chatty),
        1,
        pool::Priority::Normal,
        Arc::new(|_| {}),
    )
    .expect("pool starts");
    let mut heard: HashMap<usize, Vec<(Stage, f32)>> = HashMap::new();
    let mut log = Log::default();
    for event in handle.events() {
        log.note(&event);
        if let Event::Stage {
            job, stage, done, ..
        } = event
        {
            heard.entry(job).or_default().push((stage, done));
        }
        if matches!(event, Event::BatchFinished { .. }) {
            break;
        }
    }
    handle.wait();
    log.assert_complete(3);
    let want = vec![
        (Stage::Decode, 0.0),
        (Stage::Resize, 0.0),
        (Stage::Encode, 0.0),
        (Stage::Encode, 0.4),
        (Stage::Encode, 0.9),
        (Stage::Write, 0.0),
    ];
    for job in 0..3 {
        assert_eq!(heard.get(&job), Some(&want), "job {job}");
    }
}
