//! PSNR/SSIM against the official `calculate_psnr`/`calculate_ssim` values in
//! `shared/fixtures/metrics/metrics.json`.

use std::path::Path;

use image::RgbImage;
use rescale_lab::metrics::{evaluate, psnr_rgb, ssim_rgb, try_evaluate};

const DIR: &str = "../shared/fixtures/metrics";
const TOLERANCE: f64 = 1e-6;

fn load_png(name: &str) -> RgbImage {
    let path = Path::new(DIR).join(name);
    image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).into_rgb8()
}

fn field(case: &serde_json::Value, name: &str) -> f64 {
    case[name].as_f64().unwrap_or_else(|| panic!("metrics.json: case without {name}"))
}

#[test]
fn metrics_match_official_protocol() {
    let path = Path::new(DIR).join("metrics.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = json["cases"].as_array().expect("metrics.json: no cases");
    assert!(!cases.is_empty());

    let mut worst = 0.0f64;
    let mut failures = Vec::new();
    for case in cases {
        let gt = load_png(case["gt"].as_str().unwrap());
        let distorted = load_png(case["distorted"].as_str().unwrap());
        let border = case["crop_border"].as_u64().unwrap() as u32;
        let metrics = evaluate(&gt, &distorted, border);
        let checks = [
            ("psnr_rgb", metrics.psnr_rgb),
            ("ssim_rgb", metrics.ssim_rgb),
            ("psnr_y", metrics.psnr_y),
            ("ssim_y", metrics.ssim_y),
            ("psnr_rgb_nocrop", psnr_rgb(&gt, &distorted, 0)),
            ("ssim_rgb_nocrop", ssim_rgb(&gt, &distorted, 0)),
        ];
        for (name, got) in checks {
            let expected = field(case, name);
            let error = (got - expected).abs();
            println!("{} {name}: {got:.12} vs {expected:.12} (error {error:e})", case["distorted"]);
            worst = worst.max(error);
            if !(error <= TOLERANCE) {
                failures.push(format!("{} {name}: {got} vs {expected}", case["distorted"]));
            }
        }
        // The checked variant agrees with the plain one on valid input.
        assert_eq!(try_evaluate(&gt, &distorted, border).unwrap(), metrics);
    }
    println!("worst error {worst:e}");
    assert!(failures.is_empty(), "above {TOLERANCE:e}: {failures:#?}");
}

#[test]
fn metrics_are_symmetric_and_order_matches_quality() {
    let gt = load_png("bird_gt.png");
    let sr = load_png("bird_x4_q90_sr.png");
    let forward = evaluate(&gt, &sr, 4);
    let backward = evaluate(&sr, &gt, 4);
    assert!((forward.psnr_y - backward.psnr_y).abs() < 1e-12);
    assert!((forward.ssim_y - backward.ssim_y).abs() < 1e-12);
    // Against itself the reference is perfect.
    let same = evaluate(&gt, &gt, 4);
    assert_eq!(same.psnr_y, f64::INFINITY);
    assert!((same.ssim_rgb - 1.0).abs() < 1e-12);
    assert!(forward.ssim_y < same.ssim_y);
}

/// Run with `cargo test --release --test metrics_parity -- --ignored --nocapture`; timing
/// depends on the machine, so it is not part of the default run.
#[test]
#[ignore]
fn large_image_metrics_are_fast() {
    let a = RgbImage::from_fn(2048, 2048, |x, y| image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x * y) % 239) as u8]));
    let b = RgbImage::from_fn(2048, 2048, |x, y| image::Rgb([(x % 250) as u8, (y % 241) as u8, ((x + y) % 239) as u8]));
    let start = std::time::Instant::now();
    let metrics = evaluate(&a, &b, 4);
    let elapsed = start.elapsed();
    println!("2048² evaluate: {elapsed:?} {metrics:?}");
    assert!(metrics.psnr_y.is_finite() && metrics.ssim_y.is_finite());
    assert!(elapsed.as_secs_f64() < 5.0, "took {elapsed:?}");
}
