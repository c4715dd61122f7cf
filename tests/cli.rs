//! The command line, run as a user would: real images in, files and numbers out.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rescale-lab"))
}

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared").join(rel)
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A small dataset folder: two crops of Set5 images, one with sides that are not a multiple of 4.
fn small_dataset(dir: &Path) -> PathBuf {
    let data = dir.join("Tiny");
    std::fs::create_dir_all(&data).unwrap();
    let bird = image::open(shared("data/eval/Set5/bird.png")).unwrap().to_rgb8();
    image::imageops::crop_imm(&bird, 10, 20, 96, 64).to_image().save(data.join("a.png")).unwrap();
    let baby = image::open(shared("data/eval/Set5/baby.png")).unwrap().to_rgb8();
    image::imageops::crop_imm(&baby, 100, 100, 70, 51).to_image().save(data.join("b.png")).unwrap();
    data
}

#[test]
fn run_writes_lr_compressed_and_reconstruction_and_prints_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let input = shared("data/eval/Set5/butterfly.png");
    let out_dir = dir.path().join("out");
    let out = bin()
        .args(["run", input.to_str().unwrap(), "--scale", "2", "--method", "bicubic", "--codec", "jpeg", "--quality", "30"])
        .arg("--out")
        .arg(&out_dir)
        .arg("--json")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();

    let lr = image::open(out_dir.join("butterfly_x2_bicubic_lr.png")).unwrap();
    assert_eq!((lr.width(), lr.height()), (128, 128));
    let jpeg = std::fs::read(out_dir.join("butterfly_x2_bicubic_lr_jpeg-q30.jpg")).unwrap();
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "a JPEG file");
    assert_eq!(report["lr_bytes"].as_u64().unwrap() as usize, jpeg.len());
    let sr = image::open(out_dir.join("butterfly_x2_bicubic_jpeg-q30_sr.png")).unwrap().to_rgb8();
    assert_eq!(sr.dimensions(), (256, 256));

    // The printed metrics are the metrics of the files written.
    let gt = image::open(&input).unwrap().to_rgb8();
    let psnr_y = rescale_lab::metrics::psnr_y(&gt, &sr, 2);
    assert!((report["metrics"]["psnr_y"].as_f64().unwrap() - psnr_y).abs() < 1e-9);
    // Bicubic at QF 30 on butterfly sits well below the uncompressed ×2 result and above garbage.
    assert!(psnr_y > 20.0 && psnr_y < 32.0, "psnr_y {psnr_y}");
}

/// SAIN's weights are codec-specific: `run` takes the shipped model trained for the codec asked
/// for, and says which weights ran; where none is shipped for that codec it says so and runs the
/// other one.
#[test]
fn sain_runs_the_shipped_weights_trained_for_the_codec_and_names_them() {
    use rescale_lab::models::{discover, models_dir, TrainedCodec};
    let dir = tempfile::tempdir().unwrap();
    let bird = image::open(shared("data/eval/Set5/bird.png")).unwrap().to_rgb8();
    let input = dir.path().join("crop.png");
    image::imageops::crop_imm(&bird, 40, 40, 96, 96).to_image().save(&input).unwrap();
    let shipped = discover(&models_dir()).unwrap();
    let sain_x2: Vec<_> = shipped.iter().filter(|m| m.manifest.arch == rescale_lab::nets::Arch::Sain && m.manifest.scale == 2).collect();
    assert!(!sain_x2.is_empty(), "a SAIN x2 model is shipped");
    for (flag, codec) in [("jpeg", TrainedCodec::Jpeg), ("webp", TrainedCodec::Webp)] {
        let out = bin()
            .args(["run", input.to_str().unwrap(), "--method", "sain", "--codec", flag, "--quality", "40", "--no-perceptual", "--json"])
            .arg("--out")
            .arg(dir.path().join(flag))
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let weights = Path::new(report["weights"].as_str().unwrap()).to_path_buf();
        let ran = sain_x2.iter().find(|m| m.weights == weights).expect("the weights that ran are a shipped SAIN x2");
        let model = report["model"].as_str().unwrap();
        assert!(model.contains(&ran.manifest.name), "{model}");
        match sain_x2.iter().find(|m| m.manifest.codec == codec) {
            Some(trained) => {
                assert_eq!(ran.weights, trained.weights, "{flag}: the {} model", codec.display_name());
                assert!(model.contains(&format!("{}-trained", codec.display_name())), "{model}");
                assert!(!stderr.contains("note: no SAIN"), "{stderr}");
            }
            None => assert!(
                stderr.contains(&format!("note: no SAIN x2 model for {} is shipped", codec.display_name())),
                "{flag}: {stderr}"
            ),
        }
    }
}

#[test]
fn run_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let input = shared("data/eval/Set5/bird.png");
    let args = |force: bool| {
        let mut c = bin();
        c.args(["run", input.to_str().unwrap(), "--codec", "webp", "--quality", "50", "--out"]).arg(dir.path());
        if force {
            c.arg("--force");
        }
        c.output().unwrap()
    };
    assert!(args(false).status.success());
    let sr = dir.path().join("bird_x2_bicubic_webp-q50_sr.png");
    let before = std::fs::metadata(&sr).unwrap().modified().unwrap();
    let second = args(false);
    assert!(!second.status.success());
    let (_, stderr) = text(&second);
    assert!(stderr.contains("already exists") && stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::metadata(&sr).unwrap().modified().unwrap(), before, "file untouched");
    assert!(args(true).status.success());
}

#[test]
fn run_reports_bad_input_by_name_with_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("notes.png");
    std::fs::write(&bogus, b"this is not an image").unwrap();
    let out = bin().args(["run", bogus.to_str().unwrap(), "--out"]).arg(dir.path().join("o")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let (_, stderr) = text(&out);
    assert!(stderr.contains("notes.png"), "{stderr}");

    let missing = dir.path().join("missing.png");
    let out = bin().args(["run", missing.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("missing.png"));
}

#[test]
fn bad_arguments_are_usage_errors() {
    for args in [
        vec!["run", "x.png", "--scale", "3"],
        vec!["run", "x.png", "--quality", "0"],
        vec!["run", "x.png", "--quality", "101"],
        vec!["run", "x.png", "--codec", "gif"],
        vec!["bench"],
    ] {
        let out = bin().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {:?}", text(&out));
    }
    // An unknown method is a bad argument too (the README promises 2 for those).
    let out = bin().args(["run", "x.png", "--method", "lanczos"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("unknown method 'lanczos'"));
}

#[test]
fn bench_table_csv_and_json_agree_with_a_direct_computation() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_dataset(dir.path());
    let run = |format: &str| {
        let out = bin()
            .args(["bench", "--scale", "2", "--codec", "jpeg", "--quality", "30,90", "--methods", "bicubic", "--quiet", "--format", format])
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        stdout
    };
    let json: Vec<serde_json::Value> = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(json.len(), 2);

    // Recompute the QF 30 row image by image with the library.
    let mut sum = 0.0;
    for name in ["a.png", "b.png"] {
        let img = image::open(data.join(name)).unwrap().to_rgb8();
        let mut p = rescale_lab::pipeline::Pipeline::new(img);
        let q = rescale_lab::Quality::new(30).unwrap();
        let out = p
            .run("b", &rescale_lab::Bicubic::new(2), rescale_lab::Codec::Jpeg { quality: q }, &Default::default())
            .unwrap();
        sum += out.metrics.psnr_y;
    }
    let row30 = json.iter().find(|r| r["quality"] == 30).unwrap();
    assert_eq!(row30["images"], 2);
    assert!((row30["psnr_y"].as_f64().unwrap() - sum / 2.0).abs() < 1e-9);
    let row90 = json.iter().find(|r| r["quality"] == 90).unwrap();
    assert!(row90["psnr_y"].as_f64().unwrap() > row30["psnr_y"].as_f64().unwrap());
    assert!(row90["bpp"].as_f64().unwrap() > row30["bpp"].as_f64().unwrap());

    let csv = run("csv");
    assert_eq!(csv.lines().count(), 3);
    // dataset, method, scale, codec, quality, target_bpp and mean_quality (empty at equal
    // quality), images, skipped.
    let row = csv.lines().nth(1).unwrap();
    assert!(row.starts_with("Tiny,Bicubic,2,jpeg,30,,,2,0,"), "{row}");

    let table = run("table");
    assert!(table.contains("Tiny (2 images), x2"), "{table}");
    assert!(table.contains("JPEG QF 30") && table.contains("JPEG QF 90"), "{table}");
    assert!(table.contains(&format!("{:.2}", row30["psnr_y"].as_f64().unwrap())), "{table}");
}

#[test]
fn bench_on_a_folder_without_images_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin().args(["bench", "--quiet", "--data"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("no images"), "{:?}", text(&out));
}

#[test]
fn speed_json_reports_the_requested_runs_and_sizes() {
    let weights = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/training_irn_x2_tiny.safetensors");
    let out = bin()
        .args(["speed", "--sizes", "32,49", "--runs", "2", "--json", "--weights"])
        .arg(&weights)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let rows: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    // Sizes are rounded down to the scale's grid.
    assert_eq!(rows.iter().map(|r| r["size"].as_u64().unwrap()).collect::<Vec<_>>(), [32, 48]);
    for row in &rows {
        assert_eq!(row["runs"], 2);
        assert_eq!(row["scale"], 2);
        assert_eq!(row["model"], "training_irn_x2_tiny");
        assert!(row["downscale_ms"].as_f64().unwrap() > 0.0 && row["upscale_ms"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn speed_round_trip_times_every_method_on_a_centre_crop() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("small.png");
    let bird = image::open(shared("data/eval/Set5/bird.png")).unwrap().to_rgb8();
    image::imageops::crop_imm(&bird, 0, 0, 80, 40).to_image().save(&image).unwrap();
    let out = bin().args(["speed", "--round-trip", "--json", "--image"]).arg(&image).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    // The crop is square, limited by the image's shorter side.
    assert_eq!((result["width"].as_u64(), result["height"].as_u64()), (Some(40), Some(40)));
    assert_eq!(result["qualities"], serde_json::json!([70, 65, 60, 55, 50]));
    let per_method = result["per_method_ms"].as_array().unwrap();
    let labels: Vec<&str> = per_method.iter().map(|m| m[0].as_str().unwrap()).collect();
    assert_eq!(labels.len(), 3, "{labels:?}");
    assert!(labels[0] == "Bicubic" && labels[1].starts_with("IRN") && labels[2].starts_with("SAIN"), "{labels:?}");
    let sum: f64 = per_method.iter().map(|m| m[1].as_f64().unwrap()).sum();
    assert!(sum > 0.0 && result["total_ms"].as_f64().unwrap() > 0.0);

    assert!(result["region"].is_null());

    // --region keeps the whole image and times the centre region only, as the app's crop.
    let out = bin().args(["speed", "--round-trip", "--region", "32", "--json", "--image"]).arg(&image).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!((result["width"].as_u64(), result["height"].as_u64()), (Some(80), Some(40)));
    assert_eq!(result["region"], serde_json::json!({"x": 24, "y": 4, "width": 32, "height": 32}));
    assert_eq!(result["per_method_ms"].as_array().unwrap().len(), 3);

    let missing = bin().args(["speed", "--round-trip", "--image"]).arg(dir.path().join("nope.png")).output().unwrap();
    let (_, stderr) = text(&missing);
    assert!(!missing.status.success() && stderr.contains("nope.png"), "{stderr}");
}

#[test]
fn bench_reports_bjontegaard_deltas_against_bicubic_that_match_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_dataset(dir.path());
    let out = bin()
        .args(["bench", "--scale", "2", "--codec", "jpeg", "--quality", "30,50,70,90", "--methods", "bicubic,sain"])
        .args(["--quiet", "--format", "json", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    let curve = |method: &str| -> Vec<(f64, f64)> {
        rows.iter()
            .filter(|r| r["method"].as_str().unwrap().starts_with(method))
            .map(|r| (r["bpp"].as_f64().unwrap(), r["psnr_y"].as_f64().unwrap()))
            .collect()
    };
    let (bicubic, sain) = (curve("Bicubic"), curve("SAIN"));
    assert_eq!((bicubic.len(), sain.len()), (4, 4));
    let want_db = rescale_lab::rd::bd_psnr(&bicubic, &sain).unwrap();
    let want_rate = rescale_lab::rd::bd_rate(&bicubic, &sain).unwrap();
    for r in rows.iter().filter(|r| r["method"].as_str().unwrap().starts_with("SAIN")) {
        assert!((r["bd_psnr_db"].as_f64().unwrap() - want_db).abs() < 1e-12, "{r}");
        assert!((r["bd_rate_percent"].as_f64().unwrap() - want_rate).abs() < 1e-9, "{r}");
    }
    // the reference itself carries none
    assert!(rows.iter().filter(|r| r["method"] == "Bicubic").all(|r| r.get("bd_psnr_db").is_none()));

    // with three qualities there is nothing to fit: no numbers rather than made-up ones
    let out = bin()
        .args(["bench", "--scale", "2", "--codec", "jpeg", "--quality", "30,60,90", "--methods", "bicubic,sain"])
        .args(["--quiet", "--format", "table", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let (table, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(!table.contains("BD-PSNR"), "{table}");
}

#[test]
fn parity_checks_the_official_fixtures_and_fails_on_a_wrong_reference() {
    let out = bin().args(["parity", "--json"]).arg(shared("fixtures/nets")).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let checks = doc["checks"].as_array().unwrap();
    // 4 fixtures: IRN forward_out, lr, inverse_out; SAIN the same and inverse_lr
    assert_eq!(checks.len(), 2 * 3 + 2 * 4, "{stdout}");
    assert!(checks.iter().all(|c| c["ok"] == true), "{stdout}");
    assert_eq!(doc["failed"], 0);

    // the same weights against another network's reference tensors: refused, exit 1
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(shared("fixtures/nets/sain_x4_small.pth"), dir.path().join("x.pth")).unwrap();
    std::fs::copy(shared("fixtures/nets/sain_x2_io.safetensors"), dir.path().join("x_io.safetensors")).unwrap();
    let out = bin().arg("parity").arg(dir.path()).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains(&dir.path().display().to_string()), "{stderr}");
}

#[test]
fn equal_size_bench_and_run_carry_the_contracted_fields() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_dataset(dir.path());
    let out = bin()
        .args(["bench", "--scale", "2", "--codec", "jpeg", "--bpp", "1.6,2.2,3,4", "--methods", "bicubic,sain", "--quiet", "--format", "json", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 8);
    for row in rows {
        let target = row["target_bpp"].as_f64().unwrap();
        // Every image meets the target, so their mean does too.
        assert!(row["bpp"].as_f64().unwrap() <= target, "{row}");
        let quality = row["mean_quality"].as_f64().unwrap();
        assert!((1.0..=100.0).contains(&quality), "{row}");
        assert!(row["quality"].is_null(), "no single quality at equal size: {row}");
        let s2 = row["ssimulacra2"].as_f64().unwrap();
        let ba = row["butteraugli"].as_f64().unwrap();
        assert!(s2 < 100.0 && ba > 0.0, "{row}");
        let is_bicubic = row["method"] == "Bicubic";
        assert_eq!(row.get("bd_psnr_db").is_some(), !is_bicubic, "{row}");
        assert_eq!(row.get("bd_rate_percent").is_some(), !is_bicubic, "{row}");
    }

    // `run --bpp --json`: the chosen quality, the size match and the perceptual metrics.
    let image = data.join("a.png");
    let out = bin().arg("run").arg(&image).args(["--bpp", "2.5", "--json", "--out"]).arg(dir.path().join("o")).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let matched = &report["size_match"];
    assert_eq!(report["quality"], matched["quality"]);
    assert!(report["lr_bytes"].as_u64().unwrap() <= matched["target_bytes"].as_u64().unwrap());
    let hr = image::open(&image).unwrap().to_rgb8();
    let hr = rescale_lab::modcrop::modcrop(&hr, 2).0;
    let sr = image::open(dir.path().join("o/a_x2_bicubic_jpeg-2.5bpp_sr.png")).unwrap().to_rgb8();
    let direct = rescale_lab::perceptual::evaluate(&hr, &sr).unwrap();
    assert!((report["ssimulacra2"].as_f64().unwrap() - direct.ssimulacra2).abs() < 1e-9);
    assert!((report["butteraugli"].as_f64().unwrap() - direct.butteraugli).abs() < 1e-9);
}
