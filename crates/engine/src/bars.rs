//! The workers' bars: where a batch's jobs spend their time, stage by stage, turned into how
//! far each job in hand is. Pure (the front end brings the clock); the window and the terminal
//! both draw from [`WorkerBars`].

use std::collections::BTreeMap;

use super::event::{Event, WorkerId};
use super::job::{Outcome, Stage};

/// The workers' bars of one batch, kept from its events: each job in hand timed by stage, and
/// the batch's [`StageTimes`] that weigh them.
#[derive(Debug, Clone, Default)]
pub struct WorkerBars {
    clocks: BTreeMap<WorkerId, StageClock>,
    times: StageTimes,
}

impl WorkerBars {
    /// Takes in one event seen at `now` (seconds on the front end's clock). A stage report
    /// gives its worker's bar: how far the job in hand is, 0..1.
    pub fn observe(&mut self, event: &Event, now: f64) -> Option<(WorkerId, f32)> {
        match event {
            Event::Started { worker, .. } => {
                self.clocks.insert(*worker, StageClock::started(now));
                None
            }
            Event::Stage {
                worker,
                stage,
                done,
                ..
            } => {
                self.clocks
                    .entry(*worker)
                    .or_insert_with(|| StageClock::started(now))
                    .enter(*stage, *done, now);
                Some((*worker, self.times.progress(*stage, *done)))
            }
            Event::Finished {
                worker: Some(worker),
                outcome,
                ..
            } => {
                if let Some(clock) = self.clocks.remove(worker)
                    && matches!(outcome, Outcome::Ok(_))
                {
                    self.times.add(&clock.finish(now));
                }
                None
            }
            _ => None,
        }
    }
}

/// Where a batch's converted jobs have spent their time, stage by stage, so that the bar of a
/// job in hand gives each stage its share of that time (a WebP encode most of the bar, a
/// resize little) instead of a quarter each; and, inside a stage whose codec says how far it
/// is, how the codec's word maps to time (libwebp says 40 % when three quarters of its time
/// has passed). Pure: the front end brings the clock.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageTimes {
    seconds: [f64; Stage::ALL.len()],
    /// Per stage and whole percent the codec reported: the summed share of the stage's time
    /// that had passed, and how many reports.
    curves: BTreeMap<(usize, u8), (f64, u32)>,
}

impl StageTimes {
    /// Counts one finished job's time (from [`StageClock::finish`]).
    pub fn add(&mut self, spent: &StageSpent) {
        for (total, &s) in self.seconds.iter_mut().zip(&spent.seconds) {
            if s.is_finite() && s > 0.0 {
                *total += s;
            }
        }
        for &(stage, done, share) in &spent.marks {
            let entry = self
                .curves
                .entry((stage.index(), percent(done)))
                .or_default();
            entry.0 += share.clamp(0.0, 1.0);
            entry.1 += 1;
        }
    }

    /// The share of a whole job done when the codec says `done` (0..1) of `stage` is: each
    /// stage weighs what it has taken so far in this batch (equal quarters until a job has
    /// finished), and within a stage `done` counts for the share of time it has meant so far.
    pub fn progress(&self, stage: Stage, done: f32) -> f32 {
        let total: f64 = self.seconds.iter().sum();
        if total <= 0.0 {
            return stage.overall_at(done);
        }
        let i = stage.index();
        let before: f64 = self.seconds[..i].iter().sum();
        ((before + self.seconds[i] * self.time_share(i, done)) / total) as f32
    }

    /// The share of stage `i`'s time that has passed when its codec says `done`: learned
    /// reports, made never to fall as `done` rises, joined by straight lines from 0 and to 1.
    fn time_share(&self, i: usize, done: f32) -> f64 {
        let p = percent(done);
        if p == 0 {
            return 0.0;
        }
        let (mut lo, mut lo_share) = (0u8, 0.0f64);
        for (&(_, q), &(sum, n)) in self.curves.range((i, 1)..=(i, p)) {
            lo = q;
            lo_share = lo_share.max(sum / f64::from(n));
        }
        let above = if p < 100 {
            self.curves.range((i, p + 1)..=(i, 100)).next()
        } else {
            None
        };
        let (hi, hi_share) =
            above.map_or((100, 1.0), |(&(_, q), &(sum, n))| (q, sum / f64::from(n)));
        let hi_share = hi_share.max(lo_share);
        if hi <= lo {
            return lo_share;
        }
        lo_share + (hi_share - lo_share) * f64::from(p - lo) / f64::from(hi - lo)
    }
}

/// A share done as a whole percent, 0..=100 (anything not a number counts as 0).
fn percent(done: f32) -> u8 {
    if done.is_finite() {
        (done.clamp(0.0, 1.0) * 100.0).round() as u8
    } else {
        0
    }
}

/// One finished job's time, from [`StageClock::finish`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageSpent {
    /// Seconds in each stage.
    pub seconds: [f64; Stage::ALL.len()],
    /// Each report from inside a stage: the stage, the share the codec said was done, and the
    /// share of the stage's time that had passed.
    pub marks: Vec<(Stage, f32, f64)>,
}

/// One job's time by stage, measured as its reports arrive (seconds on the front end's clock).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageClock {
    stage: Option<Stage>,
    since: f64,
    /// Reports inside the current stage: share done, seconds since the stage began.
    pending: Vec<(f32, f64)>,
    spent: StageSpent,
}

impl StageClock {
    /// A clock for a job a worker took at `now`.
    pub fn started(now: f64) -> StageClock {
        StageClock {
            since: now,
            ..StageClock::default()
        }
    }

    /// The job reported `stage`, `done` of the way through, at `now`: a new stage closes the
    /// one before.
    pub fn enter(&mut self, stage: Stage, done: f32, now: f64) {
        if self.stage != Some(stage) {
            self.close(now);
            self.stage = Some(stage);
            self.since = now;
        }
        if done > 0.0 && done.is_finite() {
            self.pending.push((done, (now - self.since).max(0.0)));
        }
    }

    fn close(&mut self, now: f64) {
        let Some(stage) = self.stage else {
            return;
        };
        let took = (now - self.since).max(0.0);
        self.spent.seconds[stage.index()] += took;
        for (done, at) in self.pending.drain(..) {
            let share = if took > 0.0 { at / took } else { 1.0 };
            self.spent.marks.push((stage, done, share));
        }
    }

    /// The job ended at `now`: its time by stage.
    pub fn finish(mut self, now: f64) -> StageSpent {
        self.close(now);
        self.spent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jobs_bar_gives_each_stage_the_share_of_time_it_has_taken() {
        let mut times = StageTimes::default();
        // Nothing learned yet: a quarter each.
        assert_eq!(times.progress(Stage::Encode, 0.5), 0.625);
        // A job that decoded 0.1 s, resized 0.1 s, encoded 0.7 s and wrote 0.1 s.
        let mut clock = StageClock::started(10.0);
        for (stage, at) in [
            (Stage::Decode, 10.0),
            (Stage::Decode, 10.05),
            (Stage::Resize, 10.1),
            (Stage::Encode, 10.2),
            (Stage::Write, 10.9),
        ] {
            clock.enter(stage, 0.0, at);
        }
        let spent = clock.finish(11.0);
        for (got, want) in spent.seconds.iter().zip([0.1, 0.1, 0.7, 0.1]) {
            assert!((got - want).abs() < 1e-9, "{spent:?}");
        }
        times.add(&spent);
        let at = |stage, done| times.progress(stage, done);
        assert!(at(Stage::Decode, 0.0).abs() < 1e-6);
        assert!((at(Stage::Encode, 0.0) - 0.2).abs() < 1e-6);
        // No word from inside the encode yet: its share counts for as much time.
        assert!((at(Stage::Encode, 0.5) - 0.55).abs() < 1e-6);
        assert!((at(Stage::Write, 0.0) - 0.9).abs() < 1e-6);
        assert!((at(Stage::Write, 1.0) - 1.0).abs() < 1e-6);
        // Nonsense in, a bar still in 0..1.
        assert!((0.0..=1.0).contains(&at(Stage::Encode, f32::NAN)));
        assert!((0.0..=1.0).contains(&at(Stage::Encode, 7.0)));
    }

    /// libwebp's percents are task budgets, not time: 20 % after its analysis (a tenth of the
    /// time here), 40 % at the end of its main pass (80 %), then nothing until it is done.
    /// Once an encode like that has finished, the bar moves with the time instead.
    #[test]
    fn a_codecs_word_counts_for_the_time_it_has_meant() {
        let mut times = StageTimes::default();
        let mut clock = StageClock::started(0.0);
        clock.enter(Stage::Encode, 0.0, 0.0);
        for (done, at) in [
            (0.1, 0.05),
            (0.2, 0.1),
            (0.3, 0.45),
            (0.4, 0.8),
            (0.97, 1.0),
        ] {
            clock.enter(Stage::Encode, done, at);
        }
        times.add(&clock.finish(1.0));
        // All of the job's time went to the encode, so its bar is the encode's time share.
        let at = |done| times.progress(Stage::Encode, done);
        assert!(at(0.0).abs() < 1e-6);
        assert!((at(0.2) - 0.1).abs() < 1e-6, "{}", at(0.2));
        assert!(
            (at(0.35) - 0.625).abs() < 1e-6,
            "between reports: {}",
            at(0.35)
        );
        assert!((at(0.4) - 0.8).abs() < 1e-6);
        assert!((at(0.97) - 1.0).abs() < 1e-6);
        // Never backwards as the codec's word rises, whatever was learned.
        let mut odd = StageClock::started(0.0);
        odd.enter(Stage::Encode, 0.0, 0.0);
        odd.enter(Stage::Encode, 0.5, 0.9);
        odd.enter(Stage::Encode, 0.6, 0.2);
        times.add(&odd.finish(1.0));
        let steps: Vec<f32> = (0..=100)
            .map(|p| times.progress(Stage::Encode, p as f32 / 100.0))
            .collect();
        assert!(steps.windows(2).all(|w| w[0] <= w[1]), "{steps:?}");
    }
}
