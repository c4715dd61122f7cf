//! Comparing at equal size: for a target file size, the codec quality at which each method's
//! compressed LR comes closest to the target without going over.
//!
//! A learned downscaler's LR holds more detail than bicubic's and costs more bytes at the same
//! JPEG quality, so equal quality flatters it; codec engineers compare at equal size. The size
//! is given in bits per HR pixel (the unit of the rate–distortion tables), so one target means
//! the same budget for every method of an image.
//!
//! File size grows with quality almost everywhere, but not strictly (a quality step can save a
//! few bytes). The search bisects as if it were monotonic, then looks at every quality within
//! [`WINDOW`] of the boundary, so small bumps cannot hide the best fit; `tests/equal_size.rs`
//! checks it against trying all 100 qualities.

use serde::Serialize;

use crate::codec::Quality;
use crate::error::Result;

/// Qualities examined on each side of the bisection's boundary.
pub const WINDOW: u8 = 4;

/// Bytes a compressed LR may take for `bpp` bits per pixel of a `width`×`height` HR image.
pub fn target_bytes(bpp: f64, width: u32, height: u32) -> usize {
    (bpp * width as f64 * height as f64 / 8.0).floor().max(0.0) as usize
}

/// The quality the search chose, and what the user should know about the choice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizeMatch {
    pub quality: u8,
    pub bytes: usize,
    pub target_bytes: usize,
    /// False when even quality 1 is over the target (quality 1 is then used).
    pub within_target: bool,
    /// Why this quality, when it is not obvious (equal sizes, target out of reach).
    pub note: Option<String>,
}

/// Finds the quality whose size is the largest not above `target`; of qualities with the same
/// size, the highest. `size_at` compresses at a quality and returns the byte count (callers
/// cache it: the chosen quality's file is needed afterwards).
pub fn search(target: usize, mut size_at: impl FnMut(Quality) -> Result<usize>) -> Result<SizeMatch> {
    let mut sizes: [Option<usize>; 101] = [None; 101];
    let mut size = |q: u8| -> Result<usize> {
        if let Some(bytes) = sizes[q as usize] {
            return Ok(bytes);
        }
        let bytes = size_at(Quality::new(q)?)?;
        sizes[q as usize] = Some(bytes);
        Ok(bytes)
    };
    // Largest q with size(q) ≤ target, if size were monotonic.
    let (mut low, mut high) = (1u8, 100u8);
    if size(1)? > target {
        let bytes = size(1)?;
        return Ok(SizeMatch {
            quality: 1,
            bytes,
            target_bytes: target,
            within_target: false,
            note: Some(format!("even quality 1 takes {bytes} bytes, over the target of {target}")),
        });
    }
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        if size(mid)? <= target {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    let mut best = (low, size(low)?);
    let mut tie = None;
    for q in low.saturating_sub(WINDOW).max(1)..=low.saturating_add(WINDOW).min(100) {
        let bytes = size(q)?;
        if bytes > target {
            continue;
        }
        if bytes > best.1 || (bytes == best.1 && q > best.0) {
            tie = (bytes == best.1).then_some(best.0);
            best = (q, bytes);
        } else if bytes == best.1 && q < best.0 {
            tie = Some(q);
        }
    }
    let note = tie.map(|other| {
        format!("qualities {} and {} give the same {} bytes; the higher is used", other.min(best.0), other.max(best.0), best.1)
    });
    Ok(SizeMatch { quality: best.0, bytes: best.1, target_bytes: target, within_target: true, note })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(sizes: &[usize], target: usize) -> SizeMatch {
        search(target, |q| Ok(sizes[q.get() as usize - 1])).unwrap()
    }

    #[test]
    fn closest_without_going_over_with_ties_and_bumps() {
        let linear: Vec<usize> = (1..=100).map(|q| 1000 + 10 * q).collect();
        assert_eq!(run(&linear, 1505).quality, 50);
        assert_eq!(run(&linear, 1500).quality, 50, "exactly the target is allowed");
        assert_eq!(run(&linear, 99_999).quality, 100);
        let low = run(&linear, 900);
        assert!(!low.within_target && low.quality == 1 && low.note.unwrap().contains("over the target"));

        // A plateau: qualities 40–42 give the same size; the highest is used and said.
        let mut plateau = linear.clone();
        plateau[39] = 1415;
        plateau[40] = 1415;
        plateau[41] = 1415;
        let m = run(&plateau, 1419);
        assert_eq!((m.quality, m.bytes), (42, 1415));
        assert!(m.note.unwrap().contains("the same 1415 bytes"));

        // A bump: quality 61 is larger than 62 and 63; bisection alone could stop below.
        let mut bump = linear.clone();
        bump[60] = 5000;
        assert_eq!(run(&bump, 1635).quality, 63);
    }
}
