//! The pure view model of a batch: built from pool events, drawn by the panels. No egui here,
//! so it is tested without a window. `batch.rs` folds events into a [`BatchView`],
//! `summary.rs` reads counts, rates and rows off it, `input.rs` sums up the input, and
//! `text.rs` holds the texts (titles, savings, clocks, natural order).

mod batch;
mod input;
mod retry;
mod rows;
mod summary;
mod text;
mod watch;

pub use batch::{BatchView, Marker, RATE_WINDOW, ResultRow, SAMPLE_EVERY, Sample, WorkerRow};
pub use input::{FirstImage, InputSummary};
pub use summary::ResultFilter;
pub use text::{clock, natural_cmp, natural_ranks, saving, window_title};
pub use watch::{Jobs, Watching};

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use super::*;
    use crate::engine::event::Event;
    use crate::engine::format::Format;
    use crate::engine::job::{Action, Converted, ErrorKind, Failure};
    use crate::engine::job::{Job, JobId, Outcome, Stage};
    use crate::engine::units::human_bytes;

    #[test]
    fn savings_read_as_a_person_would_say_them() {
        assert_eq!(saving(1000, 400), "saved 60 %");
        assert_eq!(saving(1000, 1050), "grew 5 %");
        // A file copied as it was, and changes that round to nothing: never "-0 %".
        assert_eq!(saving(1263, 1263), "same size");
        assert_eq!(saving(100_000, 99_990), "saved 0 %");
        assert_eq!(saving(100_000, 100_010), "grew 0 %");
        assert_eq!(saving(0, 0), "same size");
        assert_eq!(saving(0, 10), "grew from nothing");
    }

    #[test]
    fn the_left_out_line_names_only_what_there_is() {
        let mut s = InputSummary::default();
        assert_eq!(s.left_out(), None);
        s.ignored = 1;
        assert_eq!(s.left_out().as_deref(), Some("1 other file ignored"));
        s.ignored = 3;
        s.skipped = vec!["a.png: empty".to_owned(), "b.jpg: empty".to_owned()];
        assert_eq!(
            s.left_out().as_deref(),
            Some("2 will be skipped, 3 other files ignored")
        );
        let unreadable = InputSummary {
            warnings: vec!["/in/locked: permission denied".to_owned()],
            ..InputSummary::default()
        };
        assert_eq!(
            unreadable.left_out().as_deref(),
            Some("1 could not be read")
        );
    }

    fn jobs(n: usize) -> Arc<[Job]> {
        (0..n)
            .map(|i| Job {
                output_index: 0,
                input: PathBuf::from(format!("/in/sub/{i}.png")),
                output: PathBuf::from(format!("/out/sub/{i}.jpg")),
                format: Format::Jpeg,
                input_bytes: 1000,
                action: Action::Convert,
                note: None,
                replace: false,
                journal: None,
            })
            .collect()
    }

    fn ok() -> Outcome {
        Outcome::Ok(Converted {
            output_bytes: 400,
            quality: None,
            score: None,
            width: 30,
            height: 20,
            warnings: vec![],
        })
    }

    /// Ends `job` as converted, with no worker (as a plan's skip does).
    fn finish(v: &mut BatchView, job: JobId) {
        v.apply(
            &Event::Finished {
                worker: None,
                job,
                outcome: ok(),
                millis: 1,
            },
            0.1,
        );
    }

    /// Once a job has finished, a worker's bar gives each stage the share of time the batch's
    /// jobs spent in it: an encode that takes most of the time takes most of the bar.
    #[test]
    fn worker_bars_weigh_stages_by_the_time_they_take() {
        let mut v = BatchView::new(jobs(2), Path::new("/in"), 1);
        v.apply(&Event::WorkerStarted { worker: 1 }, 0.0);
        let stage = |job, stage, done| Event::Stage {
            worker: 1,
            job,
            stage,
            done,
        };
        v.apply(&Event::Started { worker: 1, job: 0 }, 0.0);
        for (event, at) in [
            (stage(0, Stage::Decode, 0.0), 0.0),
            (stage(0, Stage::Resize, 0.0), 0.1),
            (stage(0, Stage::Encode, 0.0), 0.2),
            (stage(0, Stage::Encode, 0.5), 0.5),
        ] {
            v.apply(&event, at);
        }
        // Nothing learned yet: a quarter a stage.
        assert!((v.workers[&1].progress - 0.625).abs() < 1e-6);
        v.apply(&stage(0, Stage::Write, 0.0), 0.9);
        v.apply(
            &Event::Finished {
                worker: Some(1),
                job: 0,
                outcome: ok(),
                millis: 1000,
            },
            1.0,
        );
        v.apply(&Event::Started { worker: 1, job: 1 }, 1.0);
        v.apply(&stage(1, Stage::Decode, 0.0), 1.0);
        assert!(v.workers[&1].progress.abs() < 1e-6);
        v.apply(&stage(1, Stage::Encode, 0.0), 1.2);
        assert!((v.workers[&1].progress - 0.2).abs() < 1e-6);
        // Job 0 was half-way through its encode, by libwebp's word, half a second into its
        // second: so is job 1's bar when its encode says the same.
        v.apply(&stage(1, Stage::Encode, 0.5), 1.5);
        assert!((v.workers[&1].progress - 0.5).abs() < 1e-6);
        v.apply(&stage(1, Stage::Write, 0.0), 1.9);
        assert!((v.workers[&1].progress - 0.9).abs() < 1e-6);
    }

    #[test]
    fn rows_follow_workers_and_results_follow_jobs() {
        let mut v = BatchView::new(jobs(3), Path::new("/in"), 2);
        v.apply(
            &Event::BatchStarted {
                total: 3,
                workers: 2,
            },
            0.0,
        );
        v.apply(&Event::WorkerStarted { worker: 1 }, 0.0);
        v.apply(&Event::WorkerStarted { worker: 2 }, 0.0);
        v.apply(&Event::Started { worker: 1, job: 0 }, 0.1);
        v.apply(
            &Event::Stage {
                worker: 1,
                job: 0,
                stage: Stage::Encode,
                done: 0.0,
            },
            0.2,
        );
        let row = &v.workers[&1];
        assert_eq!(v.file_of(row).as_deref(), Some("sub/0.png"));
        assert_eq!(row.stage, Some(Stage::Encode));
        assert!((row.progress - 0.5).abs() < 1e-6);
        // Through the encode, the bar moves through the encode's quarter.
        v.apply(
            &Event::Stage {
                worker: 1,
                job: 0,
                stage: Stage::Encode,
                done: 0.6,
            },
            0.3,
        );
        assert!((v.workers[&1].progress - 0.65).abs() < 1e-6);
        v.apply(
            &Event::Finished {
                worker: Some(1),
                job: 0,
                outcome: ok(),
                millis: 5,
            },
            0.3,
        );
        v.apply(
            &Event::Finished {
                worker: Some(2),
                job: 1,
                outcome: Outcome::Failed(Failure {
                    kind: ErrorKind::Truncated,
                    reason: "truncated JPEG data".into(),
                    systemic: false,
                }),
                millis: 5,
            },
            0.4,
        );
        assert_eq!(v.workers[&1].done, 1);
        assert_eq!(v.file_of(&v.workers[&1]), None);
        assert_eq!((v.ok, v.failed, v.ended()), (1, 1, 2));
        assert_eq!(v.filtered_len(ResultFilter::Failed), 1);
        let failed = v.filtered_row(ResultFilter::Failed, 0).expect("row");
        assert_eq!(v.row_detail(failed), "truncated JPEG data");
        assert_eq!(v.row_name(failed), "sub/1.png");
        let ok_row = v.filtered_row(ResultFilter::All, 0).expect("row");
        assert_eq!(v.row_detail(ok_row), "30×20, 1000 B ➡ 400 B (saved 60 %)");
        assert_eq!(v.failed_jobs()[0].input, PathBuf::from("/in/sub/1.png"));
        v.apply(&Event::WorkerRetiring { worker: 2 }, 0.5);
        assert!(v.workers[&2].retiring);
        v.apply(&Event::WorkerRetired { worker: 2 }, 0.6);
        assert!(!v.workers.contains_key(&2));
    }

    #[test]
    fn paused_time_is_excluded_from_rate_and_eta() {
        let mut v = BatchView::new(jobs(10), Path::new("/in"), 1);
        v.apply(&Event::WorkerStarted { worker: 1 }, 0.0);
        for i in 0..4 {
            v.apply(
                &Event::Finished {
                    worker: Some(1),
                    job: i,
                    outcome: ok(),
                    millis: 1,
                },
                1.0,
            );
        }
        v.apply(&Event::Paused, 2.0);
        v.tick(10.0);
        assert!(
            (v.active_seconds() - 2.0).abs() < 1e-9,
            "paused time excluded"
        );
        v.apply(&Event::Resumed, 10.0);
        v.tick(12.0);
        assert!((v.active_seconds() - 4.0).abs() < 1e-9);
        assert!((v.images_per_second() - 1.0).abs() < 1e-9);
        assert!((v.eta_seconds().expect("eta") - 6.0).abs() < 1e-9);
        let (mb_in, mb_out) = v.megabytes_per_second();
        assert!((mb_in - 0.001).abs() < 1e-9 && (mb_out - 0.0004).abs() < 1e-9);
    }

    #[test]
    fn chart_samples_throughput_and_marks_worker_changes() {
        let mut v = BatchView::new(jobs(100), Path::new("/in"), 1);
        v.apply(&Event::WorkerStarted { worker: 1 }, 0.0);
        let mut job = 0;
        // One image every 0.1 s for 2 s, then two every 0.1 s after going to 2 workers.
        for step in 1..=40 {
            let t = step as f64 * 0.1;
            if step == 21 {
                v.apply(&Event::WorkersChanged { target: 2 }, t);
            }
            let per_step = if step > 20 { 2 } else { 1 };
            for _ in 0..per_step {
                v.apply(
                    &Event::Finished {
                        worker: Some(1),
                        job,
                        outcome: ok(),
                        millis: 1,
                    },
                    t,
                );
                job += 1;
            }
        }
        v.tick(4.0);
        assert_eq!(v.markers.len(), 2);
        assert!((v.markers[1].t - 2.1).abs() < 1e-9);
        assert_eq!(v.markers[1].workers, 2);
        let early = v
            .samples
            .iter()
            .find(|s| (s.t - 2.0).abs() < 1e-9)
            .expect("sample at 2 s");
        let late = v.samples.last().expect("samples");
        assert!((early.rate - 10.0).abs() < 1.0, "{early:?}");
        assert!((late.rate - 20.0).abs() < 1.5, "{late:?}");
    }

    #[test]
    fn the_title_says_where_the_batch_stands() {
        assert_eq!(window_title(None, None, None), "Conveyor");
        assert_eq!(
            window_title(Some("trip"), None, None),
            "Conveyor — trip — scanning…"
        );
        let summary = InputSummary {
            images: 3,
            ..InputSummary::default()
        };
        assert_eq!(
            window_title(Some("trip"), Some(&summary), None),
            "Conveyor — trip — 3 images"
        );
        let mut v = BatchView::new(jobs(3), Path::new("/in"), 1);
        finish(&mut v, 0);
        assert_eq!(
            window_title(Some("trip"), Some(&summary), Some(&v)),
            "Conveyor — trip — 1 of 3 (33%)"
        );
        finish(&mut v, 1);
        finish(&mut v, 2);
        v.apply(&Event::BatchFinished { cancelled: false }, 0.2);
        assert_eq!(
            window_title(Some("trip"), Some(&summary), Some(&v)),
            "Conveyor — trip — finished: 3 converted"
        );
    }

    #[test]
    fn names_sort_as_people_read_them() {
        let mut names = vec![
            "img_10.jpg",
            "IMG_2.jpg",
            "img_1.jpg",
            "img_02b.jpg",
            "a/img_9.png",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            [
                "a/img_9.png",
                "img_1.jpg",
                "IMG_2.jpg",
                "img_02b.jpg",
                "img_10.jpg"
            ]
        );
        let mut v =
            BatchView::new(jobs(12), Path::new("/in"), 1).with_ranks(natural_ranks(&jobs(12)));
        for job in (0..12).rev() {
            finish(&mut v, job);
        }
        v.apply(&Event::BatchFinished { cancelled: false }, 0.2);
        let listed: Vec<String> = v.listed().map(|r| v.row_name(r)).collect();
        assert_eq!(listed[..3], ["sub/0.png", "sub/1.png", "sub/2.png"]);
        assert_eq!(listed[11], "sub/11.png", "11 after 2, not after 1");
        // Each job still finds its own row after the re-ordering.
        for job in 0..12 {
            assert_eq!(v.row_of_job(job).map(|r| r.job), Some(job));
        }
    }

    #[test]
    fn formats_for_people() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_572_864), "1.5 MiB");
        assert_eq!(clock(65.0), "1:05");
        assert_eq!(clock(3725.0), "1:02:05");
    }

    /// A hot folder's batches in one view: each batch's jobs follow the last's, its events
    /// land on them, the workers wait between batches (rows and counts kept, no "stopped"
    /// line), a pool's own count is no chart mark, and the view finishes only when the watch
    /// stops.
    #[test]
    fn a_watched_folders_batches_fold_into_one_view() {
        let mut v = BatchView::watching(Path::new("/in"), 2, "14:05".into());
        let run = |v: &mut BatchView, n: usize, at: f64| {
            for event in [
                Event::BatchStarted {
                    total: n,
                    workers: 2,
                },
                Event::WorkersChanged { target: 2 },
                Event::WorkerStarted { worker: 1 },
                Event::WorkerStarted { worker: 2 },
            ] {
                v.apply_arrival(event, at);
            }
            for job in 0..n {
                v.apply_arrival(Event::Started { worker: 1, job }, at);
                v.apply_arrival(
                    Event::Finished {
                        worker: Some(1),
                        job,
                        outcome: ok(),
                        millis: 5,
                    },
                    at,
                );
            }
            for event in [
                Event::WorkerRetired { worker: 1 },
                Event::WorkerRetired { worker: 2 },
                Event::BatchFinished { cancelled: false },
            ] {
                v.apply_arrival(event, at);
            }
        };
        v.arrivals(jobs(3));
        run(&mut v, 3, 0.5);
        let later: Arc<[Job]> = jobs(5)[3..].to_vec().into();
        v.arrivals(later);
        assert!(v.watching.as_ref().is_some_and(|w| w.busy));
        run(&mut v, 2, 1.5);
        assert_eq!((v.total, v.ok, v.results.len()), (5, 5, 5));
        assert_eq!(v.jobs().len(), 5);
        assert_eq!(
            v.jobs().get(4).map(|j| j.input.clone()),
            Some(PathBuf::from("/in/sub/4.png"))
        );
        // The second batch's job 1 is the view's job 4.
        assert_eq!(v.results[4].job, 4);
        assert_eq!(v.row_name(&v.results[4]), "sub/4.png");
        assert!(!v.finished && !v.watching.as_ref().unwrap().busy);
        assert_eq!(v.workers.len(), 2, "the workers wait for the next files");
        assert_eq!(v.workers[&1].converted, 5, "a worker's count goes on");
        assert!(v.workers.values().all(|w| w.job.is_none()));
        assert_eq!(v.retired.count, 0);
        assert_eq!(
            v.markers.len(),
            1,
            "no mark for a count that did not change"
        );
        v.apply_arrival(Event::WorkersChanged { target: 1 }, 2.0);
        assert_eq!(v.markers.len(), 2);
        // A row the next pool will not have goes with the next arrivals.
        v.arrivals(jobs(1));
        assert_eq!(v.workers.len(), 1);
        assert_eq!(
            v.watch_text().as_deref(),
            Some("watching — 5 converted since 14:05")
        );
        v.followed(jobs(7)[6].clone(), "renamed".into(), 2.5);
        assert_eq!((v.skipped, v.total), (1, 7));
        v.stop_watching(true, 3.0);
        assert!(v.finished);
        assert_eq!(v.jobs().iter().count(), 7);
    }
}
