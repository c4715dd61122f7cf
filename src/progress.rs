//! Progress of long network passes, reported tile by tile.
//!
//! The tile loop (`nets::tiling`) runs on the caller's thread, so a reporter installed for the
//! duration of a call on that thread sees every tile of every pass the call makes, without a
//! callback threaded through the `Rescaler` trait. Calls on other threads are unaffected.

use std::cell::RefCell;
use std::thread::LocalKey;

/// Which of a network's two passes a tile belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Downscale,
    Upscale,
}

impl Pass {
    /// What the pass is doing, for a progress line ("upscaling, tile 2 of 4").
    pub fn doing(self) -> &'static str {
        match self {
            Pass::Downscale => "downscaling",
            Pass::Upscale => "upscaling",
        }
    }
}

/// One network pass over an image: `done` of `total` tiles finished (0 when a pass starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileProgress {
    pub pass: Pass,
    pub done: usize,
    pub total: usize,
}

type Reporter<'a> = Box<dyn FnMut(TileProgress) + 'a>;

thread_local! {
    static REPORTER: RefCell<Option<Reporter<'static>>> = const { RefCell::new(None) };
}

/// Runs `work` with `reporter` receiving the tile progress of the passes it makes.
pub fn with_reporter<R>(reporter: impl FnMut(TileProgress) + 'static, work: impl FnOnce() -> R) -> R {
    with_installed(&REPORTER, Box::new(reporter), work)
}

type Cancel = Box<dyn Fn() -> bool>;

thread_local! {
    static CANCEL: RefCell<Option<Cancel>> = const { RefCell::new(None) };
}

/// Runs `work` with `cancelled` asked before each tile and each invertible block of its
/// upscaling passes: once it says true, the pass stops with `EngineError::Cancelled` instead of
/// finishing a stale result.
/// Downscales are never stopped: they do not depend on the settings that change.
pub fn with_cancel<R>(cancelled: impl Fn() -> bool + 'static, work: impl FnOnce() -> R) -> R {
    with_installed(&CANCEL, Box::new(cancelled), work)
}

/// Runs `work` with `value` in this thread's `slot`, then puts back what was there. Restored
/// even if `work` panics, so a later call on this thread sees the right hook.
fn with_installed<T: 'static, R>(slot: &'static LocalKey<RefCell<Option<T>>>, value: T, work: impl FnOnce() -> R) -> R {
    struct Restore<T: 'static> {
        slot: &'static LocalKey<RefCell<Option<T>>>,
        previous: Option<T>,
    }
    impl<T: 'static> Drop for Restore<T> {
        fn drop(&mut self) {
            let previous = self.previous.take();
            self.slot.with(|slot| *slot.borrow_mut() = previous);
        }
    }
    let previous = slot.with(|s| s.borrow_mut().replace(value));
    let _restore = Restore { slot, previous };
    work()
}

/// Whether the work running on this thread has been asked to stop.
pub(crate) fn cancelled() -> bool {
    CANCEL.with(|slot| slot.try_borrow().ok().and_then(|c| c.as_ref().map(|f| f())).unwrap_or(false))
}

pub(crate) fn report(pass: Pass, done: usize, total: usize) {
    REPORTER.with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            if let Some(reporter) = slot.as_mut() {
                reporter(TileProgress { pass, done, total });
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn reports_reach_the_installed_reporter_only_during_the_call() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        with_reporter(move |p| sink.lock().unwrap().push(p), || report(Pass::Upscale, 1, 4));
        report(Pass::Upscale, 2, 4);
        assert_eq!(*seen.lock().unwrap(), vec![TileProgress { pass: Pass::Upscale, done: 1, total: 4 }]);
    }

    #[test]
    fn a_cancel_check_is_seen_only_during_the_call() {
        assert!(!cancelled());
        assert!(with_cancel(|| true, cancelled));
        assert!(!cancelled());
    }
}
