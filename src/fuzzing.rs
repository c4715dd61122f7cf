//! The harness of the fuzz targets (`tests/fuzz/`), kept in the library so that `cargo test`
//! replays the inputs they found (`tests/fuzz_regressions.rs`) through exactly the same calls.
//! Each function must return for any bytes: an error is a fine outcome, a panic or a hang is not.

use std::path::{Path, PathBuf};

use crate::image_io::{load_image_from_bytes, LoadOptions};

/// Bounds the memory a fuzzed header can ask for (the fuzzer's limit is 2 GiB).
const FUZZ_MAX_MEGAPIXELS: f64 = 16.0;

/// Loads `bytes` as a user image. Returns whether it loaded.
pub fn load_image(bytes: &[u8]) -> bool {
    let options = LoadOptions { max_megapixels: FUZZ_MAX_MEGAPIXELS };
    load_image_from_bytes(bytes, Path::new("fuzz-input"), &options).is_ok()
}

/// Reads `bytes` as a weight file (through a file, as users' weights arrive) and, when they
/// name an IRN or SAIN layout, builds the network on the CPU. Returns whether it built.
pub fn load_weights(bytes: &[u8], extension: &str) -> bool {
    let path = scratch_file(extension);
    if std::fs::write(&path, bytes).is_err() {
        return false;
    }
    let built = crate::checkpoint::Checkpoint::read(&path)
        .and_then(|checkpoint| checkpoint.build(&candle_core::Device::Cpu))
        .is_ok();
    let _ = std::fs::remove_file(&path);
    built
}

/// One file per process and thread, so parallel fuzz jobs and tests do not collide.
fn scratch_file(extension: &str) -> PathBuf {
    let thread = format!("{:?}", std::thread::current().id()).replace(|c: char| !c.is_ascii_alphanumeric(), "");
    std::env::temp_dir().join(format!("rescale-lab-fuzz-{}-{thread}.{extension}", std::process::id()))
}
