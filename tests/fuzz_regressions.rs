//! Replays the fuzzers' inputs (`tests/fuzz/`): the seeds they start from and every input that
//! once crashed or hung a loader (`tests/fuzz/regressions/TARGET/`), through the same harness
//! the fuzz targets call. Each must return — an error is fine — within a bound.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use rescale_lab::fuzzing;

/// Far above what any of these small inputs takes; only a hang gets near it.
const PER_INPUT_LIMIT: Duration = Duration::from_secs(60);

fn fuzz_dir(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz").join(rel)
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// Runs `harness` on every file of the target's seeds and regressions; returns (file, result).
fn replay(target: &str, harness: fn(&[u8]) -> bool) -> Vec<(String, bool)> {
    let mut inputs = files_in(&fuzz_dir(&format!("seeds/{target}")));
    inputs.extend(files_in(&fuzz_dir(&format!("regressions/{target}"))));
    assert!(!inputs.is_empty(), "no inputs for {target}");
    inputs
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            let (sender, receiver) = mpsc::channel();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            std::thread::spawn(move || {
                let _ = sender.send(harness(&bytes));
            });
            match receiver.recv_timeout(PER_INPUT_LIMIT) {
                Ok(result) => (name, result),
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("{target}/{name}: no answer within {PER_INPUT_LIMIT:?}"),
                Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{target}/{name}: the loader panicked"),
            }
        })
        .collect()
}

#[test]
fn image_inputs_load_or_fail_cleanly() {
    let results = replay("image", fuzzing::load_image);
    // Every seed is a valid file of a supported layout and must load.
    for (name, loaded) in &results {
        let is_seed = fuzz_dir("seeds/image").join(name).exists();
        assert!(!is_seed || *loaded, "seed {name} did not load");
    }
}

#[test]
fn pth_inputs_load_or_fail_cleanly() {
    replay("pth", |bytes| fuzzing::load_weights(bytes, "pth"));
    // The first finding: a pickle string claiming 4 GiB made candle allocate it before reading
    // (an out-of-memory under the fuzzer's 3 GiB limit). The kept input is refused by its zip
    // structure now; the same length in an otherwise valid archive is refused by its length.
    let dir = tempfile::tempdir().unwrap();
    let oom = dir.path().join("oom.pth");
    std::fs::copy(fuzz_dir("regressions/pth/oom-5ce0dafd5ea9fe261b9bcba95a3d044289003978"), &oom).unwrap();
    let error = rescale_lab::checkpoint::Checkpoint::read(&oom).unwrap_err().to_string();
    assert!(error.contains("corrupt or truncated PyTorch checkpoint"), "{error}");
    let long_string = dir.path().join("long_string.pth");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&long_string).unwrap());
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("archive/data.pkl", stored).unwrap();
    std::io::Write::write_all(&mut zip, &[0x80, 2, b'X', 0xFF, 0xFF, 0xFF, 0xFF, b'a', b'.']).unwrap();
    zip.finish().unwrap();
    let error = rescale_lab::checkpoint::Checkpoint::read(&long_string).unwrap_err().to_string();
    assert!(error.contains("claims 4294967295 bytes, past the end of the pickle"), "{error}");
    // The harness does build a real network when the file holds one.
    let real = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/nets/irn_x4_small.pth")).unwrap();
    assert!(fuzzing::load_weights(&real, "pth"));
}

#[test]
fn safetensors_inputs_load_or_fail_cleanly() {
    replay("safetensors", |bytes| fuzzing::load_weights(bytes, "safetensors"));
    let real = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/sain_x2_jpeg.safetensors")).unwrap();
    assert!(fuzzing::load_weights(&real, "safetensors"));
}
