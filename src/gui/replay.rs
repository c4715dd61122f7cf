//! `gui --replay 70,65,…`: the app's own latency, measured the way a user meets it. Once the
//! window is idle on its first result, the quality moves to each listed value in turn; for
//! each move it prints one JSON line: when each method's current full-resolution result (its
//! panel's PSNR/SSIM) arrived, when every panel was current, and when the app was idle again
//! (perceptual metrics, work ahead). Then the window closes. Compare with
//! `speed --round-trip --whole` on the same image: the raw passes, one after the other.

use std::collections::VecDeque;
use std::time::Instant;

use super::app::RescaleApp;

/// A settled app: the previous move's stragglers (texture uploads, a last frame) are over.
const SETTLE_FRAMES: u32 = 3;

pub struct Replay {
    moves: VecDeque<u8>,
    current: Option<Move>,
    idle_frames: u32,
    pub reports: Vec<serde_json::Value>,
}

struct Move {
    from: u8,
    to: u8,
    started: Instant,
    /// Per method key: seconds from the move to its current full-resolution result.
    arrived: Vec<(String, f64)>,
    all_current: Option<f64>,
}

impl Replay {
    pub fn new(qualities: Vec<u8>) -> Self {
        Self { moves: qualities.into(), current: None, idle_frames: 0, reports: Vec::new() }
    }
}

/// One frame of the replay; `true` when it has ended (the caller closes the window).
pub fn step(app: &mut RescaleApp) -> bool {
    let Some(mut replay) = app.replay.take() else { return false };
    let ended = advance(app, &mut replay);
    app.replay = Some(replay);
    ended
}

fn advance(app: &mut RescaleApp, replay: &mut Replay) -> bool {
    let keys: Vec<String> = app.runnable_methods().into_iter().map(|m| m.key).collect();
    let idle = app.is_idle() && app.active_doc().is_some();
    if let Some(m) = replay.current.as_mut() {
        let t = m.started.elapsed().as_secs_f64();
        for key in &keys {
            if app.current_full_result(key).is_some() && !m.arrived.iter().any(|(k, _)| k == key) {
                m.arrived.push((key.clone(), t));
            }
        }
        if m.all_current.is_none() && keys.iter().all(|k| m.arrived.iter().any(|(a, _)| a == k)) {
            m.all_current = Some(t);
        }
        if idle && m.all_current.is_some() {
            let report = serde_json::json!({
                "from_quality": m.from,
                "to_quality": m.to,
                "method_s": m.arrived.iter().map(|(k, s)| (k.clone(), serde_json::json!(s))).collect::<serde_json::Map<_, _>>(),
                "all_current_s": m.all_current,
                "idle_s": t,
            });
            println!("{report}");
            replay.reports.push(report);
            replay.current = None;
            replay.idle_frames = 0;
        }
        return false;
    }
    if !idle {
        replay.idle_frames = 0;
        return false;
    }
    replay.idle_frames += 1;
    if replay.idle_frames < SETTLE_FRAMES {
        return false;
    }
    let Some(to) = replay.moves.pop_front() else { return true };
    let from = app.settings.quality;
    app.settings.quality = to;
    replay.current = Some(Move { from, to, started: Instant::now(), arrived: Vec::new(), all_current: None });
    false
}
