//! Work ahead of the quality slider: once a job's regions are on screen and nothing is queued,
//! the compute thread upscales the job's region (the crop) at the two nearest neighbouring
//! qualities, the direction the slider last moved first, into the pipeline's region cache; the
//! other neighbours once the job is done. A move to one of them then shows
//! the networks' crop as soon as it is cut and measured, instead of after ~0.4 s per network on
//! a 2-core CPU. A newer job stops this work between InvBlocks (`progress::with_cancel`), as
//! it stops any stale work, so the user never waits on it.
//!
//! The setting "Crop ahead of the slider" (on by default) turns it off for the user, to keep
//! the CPU idle; `RESCALE_LAB_PREFETCH=off` turns it off whatever the setting (to measure).

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::codec::Quality;
use crate::pipeline::Pipeline;

use super::worker::ComputeJob;

/// Whether the app computes ahead; read once.
pub fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("RESCALE_LAB_PREFETCH").map_or(true, |v| v != "off"))
}

/// The qualities to compute ahead of `quality`, nearest first: one on in the direction from
/// `previous` to `quality` (down when unknown: the usual way to look for artefacts), one back,
/// then two more on; about 3 s of background work for IRN and SAIN on a 256² crop.
pub fn neighbours(quality: u8, previous: Option<u8>) -> Vec<u8> {
    let down = previous.is_none_or(|p| p >= quality);
    let step = |k: i32| -> i32 { if down { -k } else { k } };
    [step(1), step(-1), step(2), step(3)]
        .into_iter()
        .map(|d| quality as i32 + d)
        .filter(|q| (1..=100).contains(q))
        .map(|q| q as u8)
        .collect()
}

/// Computes `job`'s region for its networks at the first `count` [`neighbours`] of its
/// quality (those already cached cost nothing), until `interrupted` says a newer job is
/// waiting. Errors and panics are dropped: the real job at that quality will meet them again
/// and report them.
pub fn run(pipeline: &mut Pipeline, job: &ComputeJob, previous: Option<u8>, count: usize, mut interrupted: impl FnMut() -> bool) {
    let (Some(region), Some(quality), None, true) = (job.region, job.codec.quality(), job.target_bpp, job.compute_ahead && enabled()) else {
        return;
    };
    for q in neighbours(quality.get(), previous).into_iter().take(count) {
        let Ok(q) = Quality::new(q) else { continue };
        let codec = job.codec.with_quality(q);
        for method in job.methods.iter().filter(|m| m.is_network) {
            if interrupted() {
                return;
            }
            let _ = catch_unwind(AssertUnwindSafe(|| pipeline.prefetch_region(&method.key, method.rescaler.as_ref(), codec, &job.options, region)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_follow_the_slider_and_stay_in_range() {
        assert_eq!(neighbours(75, Some(76)), vec![74, 76, 73, 72]);
        assert_eq!(neighbours(75, None), vec![74, 76, 73, 72]);
        assert_eq!(neighbours(75, Some(70)), vec![76, 74, 77, 78]);
        assert_eq!(neighbours(1, Some(2)), vec![2]);
        assert_eq!(neighbours(99, Some(98)), vec![100, 98]);
    }
}
