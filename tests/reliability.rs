//! Regressions of the hostile-input review (issue 16): each test reproduces one way the command
//! line used to panic, hang, print a wrong number, lose a table or fail late, and checks that it
//! now fails early and clearly, or works.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rescale-lab"));
    command.env_remove("RUST_BACKTRACE").stdin(Stdio::null());
    command
}

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared").join(rel)
}

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(name)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs to completion, or fails the test if the command is still running after `limit` (a
/// hang is the bug under test, so it must not hang the suite).
fn output_within(command: &mut Command, limit: Duration) -> Output {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("still running after {limit:?}: {command:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// `run IMAGE --method irn --weights WEIGHTS --out OUT`.
fn run_irn_with(image: &Path, weights: &Path, out: &Path) -> Command {
    let mut command = bin();
    command.arg("run").arg(image).args(["--method", "irn", "--weights"]).arg(weights).arg("--out").arg(out);
    command
}

fn small_crop(path: &Path, from: &str, side: u32) {
    let image = image::open(shared(from)).unwrap().to_rgb8();
    image::imageops::crop_imm(&image, 0, 0, side, side).to_image().save(path).unwrap();
}

/// A JPEG whose middle is overwritten but whose markers, end marker included, are intact.
fn damaged_jpeg(path: &Path) {
    let image = image::open(shared("data/eval/Set5/bird.png")).unwrap().to_rgb8();
    let mut bytes = rescale_lab::codec::encode_jpeg(&image, rescale_lab::codec::Quality::new(90).unwrap()).unwrap();
    let middle = bytes.len() / 2;
    let mut state = 12345u32;
    for byte in &mut bytes[middle..middle + 200] {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *byte = (state >> 16) as u8;
    }
    assert_eq!(&bytes[bytes.len() - 2..], &[0xFF, 0xD9]);
    std::fs::write(path, bytes).unwrap();
}

#[cfg(unix)]
#[test]
fn non_utf8_paths_in_json_reports_do_not_panic() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9.png"));
    small_crop(&image, "data/eval/Set5/bird.png", 64);
    let out = bin().arg("run").arg(&image).arg("--json").arg("--out").arg(dir.path().join("out")).output().unwrap();
    assert!(out.status.success(), "exit {:?}: {}", out.status, stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["image"].as_str().unwrap().contains("caf"), "{report}");
    assert_eq!(report["files"].as_array().unwrap().len(), 3);
}

#[test]
fn a_jpeg_damaged_in_the_middle_is_refused_not_measured() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("damaged.jpg");
    damaged_jpeg(&image);
    let out = bin().arg("run").arg(&image).arg("--out").arg(dir.path().join("out")).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("damaged.jpg") && message.contains("corrupt JPEG data"), "{message}");
    assert!(!dir.path().join("out").join("damaged_x2_bicubic_lr.png").exists());
    // The same encoder's undamaged file still loads.
    let image = image::open(shared("data/eval/Set5/bird.png")).unwrap().to_rgb8();
    let good = rescale_lab::codec::encode_jpeg(&image, rescale_lab::codec::Quality::new(90).unwrap()).unwrap();
    let loaded = rescale_lab::image_io::load_image_from_bytes(&good, Path::new("good.jpg"), &Default::default()).unwrap();
    assert_eq!(loaded.rgb.dimensions(), image.dimensions());
}

/// The shipped IRN ×2 weights with one value of one tensor replaced.
fn poisoned_weights(path: &Path, value: f32) {
    let mut tensors = candle_core::safetensors::load(shipped("irn_x2.safetensors"), &candle_core::Device::Cpu).unwrap();
    let name = "operations.1.F.conv1.weight";
    let tensor = &tensors[name];
    let mut values = tensor.to_dtype(candle_core::DType::F32).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    values[7] = value;
    let poisoned = candle_core::Tensor::from_vec(values, tensor.shape(), &candle_core::Device::Cpu).unwrap();
    tensors.insert(name.to_string(), poisoned);
    candle_core::safetensors::save(&tensors, path).unwrap();
}

#[test]
fn weights_with_nan_or_inf_are_refused_instead_of_giving_black_images() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("crop.png");
    small_crop(&image, "data/eval/Set5/baby.png", 64);
    for (name, value) in [("nan.safetensors", f32::NAN), ("inf.safetensors", f32::INFINITY)] {
        let weights = dir.path().join(name);
        poisoned_weights(&weights, value);
        let out = run_irn_with(&image, &weights, &dir.path().join("out")).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let message = stderr(&out);
        assert!(message.contains(name) && message.contains("operations.1.F.conv1.weight") && message.contains("1 NaN or infinite"), "{message}");
        assert!(!out.stdout.windows(4).any(|w| w == b"PSNR"), "no metrics printed");
    }
}

/// A rescaler whose upscale returns NaN, as finite weights can overflow to.
struct Overflowing;

impl rescale_lab::rescaler::Rescaler for Overflowing {
    fn name(&self) -> &str {
        "Overflowing"
    }
    fn scale(&self) -> u32 {
        2
    }
    fn downscale(&self, hr: &image::Rgb32FImage) -> rescale_lab::error::Result<image::Rgb32FImage> {
        Ok(image::imageops::resize(hr, hr.width() / 2, hr.height() / 2, image::imageops::FilterType::Triangle))
    }
    fn upscale(&self, lr: &image::Rgb32FImage, _: &rescale_lab::rescaler::UpscaleOptions) -> rescale_lab::error::Result<image::Rgb32FImage> {
        let mut hr = image::imageops::resize(lr, lr.width() * 2, lr.height() * 2, image::imageops::FilterType::Triangle);
        hr.as_mut()[5] = f32::NAN;
        Ok(hr)
    }
}

#[test]
fn a_network_output_with_nan_is_an_error_not_a_black_pixel() {
    let image = image::open(shared("data/eval/Set5/bird.png")).unwrap().to_rgb8();
    let mut pipeline = rescale_lab::pipeline::Pipeline::new(image);
    let codec = rescale_lab::codec::Codec::Jpeg { quality: rescale_lab::codec::Quality::new(50).unwrap() };
    let error = pipeline.run("overflowing", &Overflowing, codec, &Default::default()).unwrap_err().to_string();
    assert!(error.contains("Overflowing's upscale produced 1 NaN or infinite"), "{error}");
}

#[test]
fn bench_skips_what_it_cannot_use_says_so_and_never_averages_nan() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("Mixed");
    std::fs::create_dir_all(&data).unwrap();
    small_crop(&data.join("a_good.png"), "data/eval/Set5/bird.png", 96);
    small_crop(&data.join("b_tiny.png"), "data/eval/Set5/bird.png", 12);
    std::fs::write(data.join("c_broken.png"), b"not a png at all").unwrap();
    damaged_jpeg(&data.join("d_damaged.jpg"));
    #[cfg(unix)]
    assert!(Command::new("mkfifo").arg(data.join("e_pipe.png")).status().unwrap().success());
    let expected_skips = if cfg!(unix) { 4 } else { 3 };
    let bench = |extra: &[&str]| {
        bin()
            .args(["bench", "--quality", "50", "--quiet"])
            .args(if extra.contains(&"--format") { extra.to_vec() } else { [extra, &["--format", "json"]].concat() })
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap()
    };
    let out = bench(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = &rows[0];
    assert_eq!(row["images"], 1, "{row}");
    assert_eq!(row["skipped"], expected_skips, "{row}");
    // The averages are those of the one good image alone.
    let alone = bin()
        .args(["run", "--quality", "50", "--json", "--out"])
        .arg(dir.path().join("alone"))
        .arg(data.join("a_good.png"))
        .output()
        .unwrap();
    let alone: serde_json::Value = serde_json::from_slice(&alone.stdout).unwrap();
    assert!((row["ssim_y"].as_f64().unwrap() - alone["metrics"]["ssim_y"].as_f64().unwrap()).abs() < 1e-12, "{row}");
    assert!((row["bpp"].as_f64().unwrap() - alone["bpp"].as_f64().unwrap()).abs() < 1e-12, "{row}");
    let message = stderr(&out);
    for (file, reason) in [
        ("b_tiny.png", "too small to measure"),
        ("c_broken.png", "PNG"),
        ("d_damaged.jpg", "corrupt JPEG data"),
        ("e_pipe.png", "not a regular file"),
    ] {
        if file == "e_pipe.png" && !cfg!(unix) {
            continue;
        }
        assert!(message.lines().any(|l| l.contains(file) && l.contains(reason)), "{file}: {message}");
    }
    assert!(message.contains(&format!("{expected_skips} files skipped")) && message.contains("--strict"), "{message}");

    let table = bench(&["--format", "table"]);
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(table.contains(&format!("Mixed (1 images, {expected_skips} files skipped)")), "{table}");

    let strict = bench(&["--strict"]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(stderr(&strict).contains("b_tiny.png"), "{}", stderr(&strict));
}

#[test]
fn two_data_folders_with_the_same_name_keep_their_own_tables() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("a").join("Set5"), dir.path().join("b").join("Set5"));
    for (folder, source) in [(&first, "data/eval/Set5/bird.png"), (&second, "data/eval/Set5/baby.png")] {
        std::fs::create_dir_all(folder).unwrap();
        small_crop(&folder.join("x.png"), source, 64);
    }
    let out = bin().args(["bench", "--quality", "50", "--quiet", "--format", "json", "--data"]).arg(&first).arg(&second).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r["dataset"].as_str().unwrap()).collect();
    assert_eq!(names, ["a/Set5", "b/Set5"]);
    assert_ne!(rows[0]["psnr_y"], rows[1]["psnr_y"]);

    let twice = bin().args(["bench", "--quality", "50", "--quiet", "--data"]).arg(&first).arg(&first).output().unwrap();
    assert_eq!(twice.status.code(), Some(1));
    assert!(stderr(&twice).contains("given twice"), "{}", stderr(&twice));
}

#[cfg(unix)]
#[test]
fn a_fifo_as_image_or_weights_is_refused_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.png");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let limit = Duration::from_secs(60);
    let out = output_within(bin().arg("run").arg(&fifo).arg("--out").arg(dir.path().join("out")), limit);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("pipe.png: not a regular file (a named pipe)"), "{}", stderr(&out));

    let image = dir.path().join("crop.png");
    small_crop(&image, "data/eval/Set5/bird.png", 64);
    let out = output_within(&mut run_irn_with(&image, &fifo, &dir.path().join("out")), limit);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("pipe.png: not a regular file (a named pipe)"), "{}", stderr(&out));
}

#[test]
fn outputs_are_checked_before_the_work_and_never_left_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let image = dir.path().join("pic.png");
    small_crop(&image, "data/eval/Set5/bird.png", 64);
    let run = |extra: &[&str]| bin().arg("run").arg(&image).arg("--out").arg(&out_dir).args(extra).output().unwrap();
    assert!(run(&["--quality", "50"]).status.success());

    // An existing output is reported before the image is even read: with the image now
    // unreadable, the message is still about the output.
    let good = std::fs::read(&image).unwrap();
    std::fs::write(&image, b"garbage").unwrap();
    let out = run(&["--quality", "50"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("pic_x2_bicubic_lr_jpeg-q50.jpg: already exists; pass --force"), "{}", stderr(&out));
    // Likewise an output folder that cannot be written.
    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, b"").unwrap();
    let out = bin().arg("run").arg(&image).arg("--out").arg(blocked.join("sub")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("a-file/sub"), "{}", stderr(&out));
    std::fs::write(&image, &good).unwrap();

    // Another quality into the same folder: the LR is the same file, and is kept.
    let out = run(&["--quality", "60"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("unchanged   "), "{}", String::from_utf8_lossy(&out.stdout));

    // A failure at the last file (its name is taken by a folder) leaves none of the new ones.
    let taken = out_dir.join("pic_x2_bicubic_jpeg-q70_sr.png");
    std::fs::create_dir_all(taken.join("keep")).unwrap();
    let out = run(&["--quality", "70", "--force"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!out_dir.join("pic_x2_bicubic_lr_jpeg-q70.jpg").exists(), "no partial set");
    let leftovers: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporaries left: {leftovers:?}");
}

#[test]
fn bad_values_are_usage_errors_with_exit_code_2() {
    let image = shared("data/eval/Set5/bird.png");
    for args in [
        &["--method", "lanczos"][..],
        &["--temperature=-1"],
        &["--temperature", "nan"],
        &["--temperature", "inf"],
        &["--max-megapixels", "0"],
        &["--device", "tpu"],
        &["--device", "cuda:x"],
        &["--weights", "irn.pth"],
    ] {
        let out = bin().arg("run").arg(&image).args(args).args(["--out", "/nonexistent/never-written"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).is_empty());
    }
    let out = bin().args(["bench", "--methods", "bicubic,nope", "--data"]).arg(shared("data/eval/Set5")).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn os_reasons_are_said_once_and_backtraces_stay_out_of_messages() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin().arg("run").arg(dir.path().join("missing.png")).output().unwrap();
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(message.contains("missing.png: no such file"), "{message}");
    assert!(!message.contains("os error"), "{message}");

    // A .pth whose pickle is garbage: candle attaches a backtrace to that error when
    // RUST_BACKTRACE is set.
    let weights = dir.path().join("garbage.pth");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&weights).unwrap());
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("archive/data.pkl", options).unwrap();
    zip.write_all(&[0x80, 0x02, 0xEE, 0xEE, 0xEE]).unwrap();
    zip.finish().unwrap();
    let out = run_irn_with(&shared("data/eval/Set5/bird.png"), &weights, &dir.path().join("out"))
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(message.contains("garbage.pth: corrupt or truncated PyTorch checkpoint"), "{message}");
    assert_eq!(message.trim_end().lines().count(), 1, "one line, no backtrace: {message}");
}

#[test]
fn options_that_do_nothing_are_not_silently_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("crop.png");
    small_crop(&image, "data/eval/Set5/bird.png", 64);
    let out = bin()
        .arg("run")
        .arg(&image)
        .arg("--irn-weights")
        .arg(shipped("irn_x2.safetensors"))
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(stderr(&out).contains("--irn-weights") && stderr(&out).contains("not used"), "{}", stderr(&out));
}

#[cfg(unix)]
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("crop.png");
    small_crop(&image, "data/eval/Set5/bird.png", 64);
    let mut child = bin()
        .arg("run")
        .arg(&image)
        .arg("--out")
        .arg(dir.path().join("out"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away, as `| head -0` would
    let out = child.wait_with_output().unwrap();
    let message = stderr(&out);
    assert!(!message.contains("panicked"), "{message}");
    assert_ne!(out.status.code(), Some(101));
}
