//! What a panel says while its method runs: nothing for a moment, then what it is doing, how
//! long it has taken and about how long the whole method has left.
//!
//! The estimate is per method, not per pass: a network's run on a new image is a downscale pass,
//! the codec, an upscale pass and the metrics and maps, and a slider move re-runs all but the
//! first. Each part's pace (seconds per HR pixel) is learned from the method's last
//! full-resolution run in this session, and the tiles of the pass under way correct it as they
//! finish, so that a 12 MP photo opened first still gets an estimate after its first tile.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::pipeline::{StageTimings, StagesRun};
use crate::progress::Pass;

/// Waits shorter than this say nothing (a spinner is enough).
pub const QUIET_FOR: Duration = Duration::from_millis(1500);

/// The network passes one run of a method will make (false: served from the cache) and the HR
/// pixels it works on.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunPlan {
    pub downscale: bool,
    pub upscale: bool,
    pub pixels: u64,
}

/// How far one method's run has got.
#[derive(Debug, Clone, Copy)]
pub struct MethodProgress {
    pub started: Instant,
    pub plan: RunPlan,
    /// The tiled pass under way, once it reports tiles.
    pub pass: Option<PassProgress>,
}

#[derive(Debug, Clone, Copy)]
pub struct PassProgress {
    pub pass: Pass,
    pub done: usize,
    pub total: usize,
    pub started: Instant,
}

/// Seconds per HR pixel of each part of a method's run; `None` until a run has measured it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pace {
    pub downscale: Option<f64>,
    pub upscale: Option<f64>,
    /// Codec, metrics, maps and display images: whatever is not a network pass.
    pub rest: Option<f64>,
}

/// The paces of every method key, from their last full-resolution runs.
#[derive(Debug, Default)]
pub struct Paces(HashMap<String, Pace>);

impl Paces {
    /// Learns from a run of `pixels` HR pixels that took `total`, of which the stages it ran
    /// took `timings`.
    pub fn learn(&mut self, key: &str, pixels: u64, total: Duration, ran: StagesRun, timings: StageTimings) {
        if pixels == 0 {
            return;
        }
        let per_px = |d: Duration| d.as_secs_f64() / pixels as f64;
        let pace = self.0.entry(key.to_string()).or_default();
        let mut passes = Duration::ZERO;
        if ran.downscale {
            pace.downscale = Some(per_px(timings.downscale));
            passes += timings.downscale;
        }
        if ran.upscale {
            pace.upscale = Some(per_px(timings.upscale));
            passes += timings.upscale;
        }
        pace.rest = Some(per_px(total.saturating_sub(passes)));
    }

    pub fn get(&self, key: &str) -> Pace {
        self.0.get(key).copied().unwrap_or_default()
    }
}

/// How long the rest of the method's run takes, at the paces known and the tiles done so far:
/// `None` while some part it still has to do has no pace yet.
pub fn method_time_left(p: &MethodProgress, pace: &Pace, now: Instant) -> Option<Duration> {
    let px = p.plan.pixels as f64;
    let at_pace = |s: Option<f64>| s.map(|s| Duration::from_secs_f64(s * px));
    let rest = at_pace(pace.rest).unwrap_or(Duration::ZERO);
    match p.pass {
        // A pass under way: its tiles say how long it takes as a whole.
        Some(pass) => {
            let pass_elapsed = now.saturating_duration_since(pass.started);
            let pace_of = |kind| match kind {
                Pass::Downscale => at_pace(pace.downscale),
                Pass::Upscale => at_pace(pace.upscale),
            };
            let whole_pass = if pass.done > 0 {
                Some(pass_elapsed.mul_f64(pass.total as f64 / pass.done as f64))
            } else {
                pace_of(pass.pass)
            };
            let this_left = whole_pass?.saturating_sub(pass_elapsed);
            // The upscale after a downscale costs about what the downscale does (the same
            // blocks, run backwards, over the same tiles) when no run has measured it yet.
            let upscale_after = match pass.pass {
                Pass::Downscale if p.plan.upscale => Some(pace_of(Pass::Upscale).or(whole_pass)?),
                _ => None,
            };
            Some(this_left + upscale_after.unwrap_or_default() + rest)
        }
        // Nothing reported yet (a pass before its first tile, or an untiled image): the run as
        // a whole at the paces known, less the time it has taken.
        None => {
            let mut total = rest;
            if p.plan.downscale {
                total += at_pace(pace.downscale)?;
            }
            if p.plan.upscale {
                total += at_pace(pace.upscale)?;
            }
            Some(total.saturating_sub(now.saturating_duration_since(p.started)))
        }
    }
}

/// "upscaling, tile 3 of 8 · 20 s so far, about 45 s left", or `None` for a short wait.
pub fn wait_text(p: &MethodProgress, pace: &Pace, now: Instant) -> Option<String> {
    let elapsed = now.saturating_duration_since(p.started);
    if elapsed < QUIET_FOR {
        return None;
    }
    let mut parts = Vec::new();
    match p.pass {
        Some(pass) if pass.done < pass.total => parts.push(format!("{}, tile {} of {}", pass.pass.doing(), pass.done + 1, pass.total)),
        Some(pass) if pass.pass == Pass::Downscale && p.plan.upscale => parts.push("encoding the LR, then upscaling".to_string()),
        Some(_) => parts.push("measuring and drawing maps".to_string()),
        None => {}
    }
    let left = method_time_left(p, pace, now);
    parts.push(match left {
        Some(left) if left < Duration::from_secs(1) => format!("{} so far, almost done", seconds(elapsed)),
        Some(left) => format!("{} so far, about {} left", seconds(elapsed), seconds(left)),
        None if p.pass.is_some_and(|pass| pass.done == 0) => format!("{} so far, time left after the first tile", seconds(elapsed)),
        None => format!("{} so far", seconds(elapsed)),
    });
    Some(parts.join(" · "))
}

/// At the pace so far, how long the rest takes: `None` before the first step or after the last.
pub fn time_left(elapsed: Duration, done: usize, total: usize) -> Option<Duration> {
    (done > 0 && done < total).then(|| elapsed.mul_f64((total - done) as f64 / done as f64))
}

pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64().round();
    if s < 60.0 {
        format!("{s:.0} s")
    } else {
        format!("{}:{:02} min", (s / 60.0) as u64, (s % 60.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MP: u64 = 1_000_000;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn new_image(t0: Instant) -> MethodProgress {
        MethodProgress { started: t0, plan: RunPlan { downscale: true, upscale: true, pixels: 12 * MP }, pass: None }
    }

    #[test]
    fn quiet_at_first_then_what_it_does_and_the_methods_time_left() {
        let t0 = Instant::now();
        let none = Pace::default();
        let mut p = new_image(t0);
        assert_eq!(wait_text(&p, &none, t0 + secs(0.5)), None);
        // No run measured yet, nothing reported: only the time so far.
        assert_eq!(wait_text(&p, &none, t0 + secs(3.0)).unwrap(), "3 s so far");
        // The downscale's first tile is under way: the estimate comes after it.
        p.pass = Some(PassProgress { pass: Pass::Downscale, done: 0, total: 48, started: t0 + secs(1.0) });
        assert_eq!(wait_text(&p, &none, t0 + secs(3.0)).unwrap(), "downscaling, tile 1 of 48 · 3 s so far, time left after the first tile");
        // 12 of 48 tiles in 10 s: 30 s more for this pass, and as long again for the upscale.
        p.pass = Some(PassProgress { pass: Pass::Downscale, done: 12, total: 48, started: t0 + secs(1.0) });
        assert_eq!(wait_text(&p, &none, t0 + secs(11.0)).unwrap(), "downscaling, tile 13 of 48 · 11 s so far, about 1:10 min left");
        // The downscale is done; the codec runs before the upscale reports its tiles.
        p.pass = Some(PassProgress { pass: Pass::Downscale, done: 48, total: 48, started: t0 + secs(1.0) });
        assert!(wait_text(&p, &none, t0 + secs(42.0)).unwrap().starts_with("encoding the LR, then upscaling · 42 s so far"));
    }

    #[test]
    fn a_measured_run_gives_an_estimate_from_the_start_and_the_tiles_correct_it() {
        let t0 = Instant::now();
        let mut paces = Paces::default();
        // The sample (0.7 MP): downscale 1.4 s, upscale 2.1 s, 0.7 s for the rest.
        let timings = StageTimings { downscale: secs(1.4), codec: secs(0.05), upscale: secs(2.1), metrics: secs(0.1) };
        paces.learn("sain", 700_000, secs(4.2), StagesRun { downscale: true, codec: true, upscale: true }, timings);
        let pace = paces.get("sain");
        let mut p = new_image(t0);
        // 12 MP at those paces: 24 + 36 + 12 s.
        let left = method_time_left(&p, &pace, t0 + secs(2.0)).unwrap();
        assert!((left.as_secs_f64() - 70.0).abs() < 0.01, "{left:?}");
        // The tiles run slower than the sample did: 10 of 40 upscale tiles in 15 s.
        p.plan.downscale = false;
        p.pass = Some(PassProgress { pass: Pass::Upscale, done: 10, total: 40, started: t0 + secs(1.0) });
        assert_eq!(wait_text(&p, &pace, t0 + secs(16.0)).unwrap(), "upscaling, tile 11 of 40 · 16 s so far, about 57 s left");
        // Last tile done: what is left is the rest.
        p.pass = Some(PassProgress { pass: Pass::Upscale, done: 40, total: 40, started: t0 + secs(1.0) });
        assert_eq!(wait_text(&p, &pace, t0 + secs(61.0)).unwrap(), "measuring and drawing maps · 1:01 min so far, about 12 s left");
        // A slider move on a cached downscale: only the upscale and the rest, less the time taken.
        let q = MethodProgress { started: t0, plan: RunPlan { downscale: false, upscale: true, pixels: 700_000 }, pass: None };
        assert_eq!(wait_text(&q, &pace, t0 + secs(1.6)).unwrap(), "2 s so far, about 1 s left");
        assert_eq!(wait_text(&q, &pace, t0 + secs(2.9)).unwrap(), "3 s so far, almost done");
    }

    #[test]
    fn an_unmeasured_upscale_is_not_guessed_from_nothing() {
        let t0 = Instant::now();
        let p = new_image(t0);
        let mut pace = Pace { downscale: Some(1e-6), upscale: None, rest: None };
        assert_eq!(method_time_left(&p, &pace, t0), None);
        pace.upscale = Some(2e-6);
        assert_eq!(method_time_left(&p, &pace, t0), Some(secs(36.0)));
    }
}
