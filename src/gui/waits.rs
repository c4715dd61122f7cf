//! What a panel says while its method runs: nothing for a moment, then how long it has taken and,
//! once a network pass reports tiles, how far the pass is and about how long it has left.

use std::time::{Duration, Instant};

use super::worker::MethodProgress;

/// Waits shorter than this say nothing (a spinner is enough).
pub const QUIET_FOR: Duration = Duration::from_millis(1500);

pub fn wait_text(p: &MethodProgress, now: Instant) -> Option<String> {
    let elapsed = now.saturating_duration_since(p.started);
    if elapsed < QUIET_FOR {
        return None;
    }
    let mut text = format!("{} so far", seconds(elapsed));
    if let Some((pass, done, total, pass_started)) = p.pass {
        text.push_str(&format!(" · pass {pass}: {done}/{total} tiles"));
        if let Some(left) = time_left(now.saturating_duration_since(pass_started), done, total) {
            text.push_str(&format!(", about {} left in this pass", seconds(left)));
        }
    }
    Some(text)
}

/// At the pace so far, how long the rest takes: `None` before the first step or after the last.
pub fn time_left(elapsed: Duration, done: usize, total: usize) -> Option<Duration> {
    (done > 0 && done < total).then(|| elapsed.mul_f64((total - done) as f64 / done as f64))
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.0} s")
    } else {
        format!("{}:{:02} min", (s / 60.0) as u64, (s % 60.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_at_first_then_elapsed_then_tiles_and_time_left() {
        let t0 = Instant::now();
        let p = MethodProgress { started: t0, pass: None };
        assert_eq!(wait_text(&p, t0 + Duration::from_millis(500)), None);
        assert_eq!(wait_text(&p, t0 + Duration::from_secs(3)).unwrap(), "3 s so far");
        let p = MethodProgress { started: t0, pass: Some((2, 5, 20, t0 + Duration::from_secs(10))) };
        // 5 tiles in 10 s: 15 more take about 30 s.
        assert_eq!(wait_text(&p, t0 + Duration::from_secs(20)).unwrap(), "20 s so far · pass 2: 5/20 tiles, about 30 s left in this pass");
        assert_eq!(wait_text(&p, t0 + Duration::from_secs(95)).unwrap(), "1:35 min so far · pass 2: 5/20 tiles, about 4:15 min left in this pass");
    }
}
