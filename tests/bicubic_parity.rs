//! `imresize` against the official `imresize_np` outputs in `shared/fixtures/bicubic/`.

use std::path::Path;
use std::time::Instant;

use image::Rgb32FImage;
use rescale_lab::bicubic::imresize;
use rescale_lab::{Bicubic, Rescaler, UpscaleOptions};
use safetensors::{Dtype, SafeTensors};

const FIXTURE: &str = "../shared/fixtures/bicubic/bicubic.safetensors";
const TOLERANCE: f32 = 1e-5;

/// Loads an H×W×3 float32 tensor as an image.
fn load(tensors: &SafeTensors, name: &str) -> Rgb32FImage {
    let view = tensors.tensor(name).unwrap_or_else(|e| panic!("{FIXTURE}: no tensor {name}: {e}"));
    assert_eq!(view.dtype(), Dtype::F32, "{name} is not float32");
    let shape = view.shape();
    assert_eq!(shape.len(), 3, "{name} is not H×W×C");
    assert_eq!(shape[2], 3, "{name} is not RGB");
    let data: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|bytes| f32::from_le_bytes(bytes.try_into().unwrap()))
        .collect();
    Rgb32FImage::from_raw(shape[1] as u32, shape[0] as u32, data).unwrap()
}

fn max_abs_error(got: &Rgb32FImage, expected: &Rgb32FImage) -> f32 {
    assert_eq!(got.dimensions(), expected.dimensions(), "output size");
    got.as_raw().iter().zip(expected.as_raw()).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
}

fn fixture_bytes() -> Vec<u8> {
    std::fs::read(Path::new(FIXTURE)).unwrap_or_else(|e| panic!("{FIXTURE}: {e}"))
}

#[test]
fn imresize_matches_official_imresize_np() {
    let bytes = fixture_bytes();
    let tensors = SafeTensors::deserialize(&bytes).unwrap();
    // (input, scale, expected output)
    let cases = [
        ("hr_rgb", 0.5, "down_x2_rgb"),
        ("hr_rgb", 0.25, "down_x4_rgb"),
        ("down_x2_rgb", 2.0, "up_x2_rgb"),
        ("down_x4_rgb", 4.0, "up_x4_rgb"),
        ("odd_hr_rgb", 0.5, "odd_down_x2_rgb"),
    ];
    let mut failures = Vec::new();
    for (input, scale, expected) in cases {
        let got = imresize(&load(&tensors, input), scale);
        let expected_image = load(&tensors, expected);
        let error = max_abs_error(&got, &expected_image);
        println!("{input} ×{scale} → {expected} {:?}: max abs error {error:e}", got.dimensions());
        if !(error <= TOLERANCE) {
            failures.push(format!("{expected}: {error:e}"));
        }
    }
    assert!(failures.is_empty(), "above {TOLERANCE:e}: {failures:?}");
}

#[test]
fn bicubic_rescaler_matches_official_both_ways() {
    let bytes = fixture_bytes();
    let tensors = SafeTensors::deserialize(&bytes).unwrap();
    let hr = load(&tensors, "hr_rgb");
    for (scale, down_name, up_name) in [(2, "down_x2_rgb", "up_x2_rgb"), (4, "down_x4_rgb", "up_x4_rgb")] {
        let bicubic = Bicubic::new(scale);
        let lr = bicubic.downscale(&hr).unwrap();
        assert!(max_abs_error(&lr, &load(&tensors, down_name)) <= TOLERANCE, "downscale ×{scale}");
        // Upscale the official LR so that this checks the upscale alone.
        let up = bicubic.upscale(&load(&tensors, down_name), &UpscaleOptions::default()).unwrap();
        assert!(max_abs_error(&up, &load(&tensors, up_name)) <= TOLERANCE, "upscale ×{scale}");
    }
}

#[test]
fn bicubic_rescaler_rejects_scale_zero() {
    let image = Rgb32FImage::new(8, 8);
    assert!(Bicubic::new(0).downscale(&image).is_err());
}

/// Run with `cargo test --release --test bicubic_parity -- --ignored --nocapture`; timing
/// depends on the machine, so it is not part of the default run.
#[test]
#[ignore]
fn large_downscale_is_fast() {
    let hr = Rgb32FImage::from_fn(2048, 2048, |x, y| {
        image::Rgb([(x % 256) as f32 / 255.0, (y % 256) as f32 / 255.0, ((x ^ y) % 256) as f32 / 255.0])
    });
    let start = Instant::now();
    let lr = imresize(&hr, 0.25);
    let down = start.elapsed();
    let start = Instant::now();
    let up = imresize(&lr, 4.0);
    let upscale = start.elapsed();
    println!("2048² ×¼: {down:?}; 512² ×4: {upscale:?}");
    assert_eq!(lr.dimensions(), (512, 512));
    assert_eq!(up.dimensions(), (2048, 2048));
    assert!(down.as_secs_f64() < 1.0, "×¼ of 2048² took {down:?}");
}

/// The whole bicubic-and-bicubic protocol (modcrop, ×1/s, LR rounded to 8 bits, ×s, result
/// rounded, metrics with a border of s) on Set5 and Set14, against the official code's numbers
/// in `shared/docs/rescaling-models.md` (given there to three decimals, four for SSIM).
#[test]
fn bicubic_round_trip_matches_published_eval_numbers() {
    use rescale_lab::image_io::{load_image, to_f32, to_u8, LoadOptions};
    use rescale_lab::metrics::evaluate;
    use rescale_lab::modcrop::modcrop;

    // (set, scale, PSNR-Y, SSIM-Y, PSNR-RGB)
    let targets = [
        ("Set5", 2, 33.682, 0.9305, 31.800),
        ("Set5", 4, 28.431, 0.8113, 26.696),
        ("Set14", 2, 30.327, 0.8700, 28.522),
        ("Set14", 4, 26.092, 0.7050, 24.465),
    ];
    for (set, scale, psnr_y, ssim_y, psnr_rgb) in targets {
        let dir = Path::new("../shared/data/eval").join(set);
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "png"))
            .collect();
        paths.sort();
        let bicubic = Bicubic::new(scale);
        let mut sums = [0.0f64; 3];
        for path in &paths {
            let (hr, _) = modcrop(&load_image(path, &LoadOptions::default()).unwrap().rgb, scale);
            let lr = to_u8(&bicubic.downscale(&to_f32(&hr)).unwrap());
            let sr = to_u8(&bicubic.upscale(&to_f32(&lr), &UpscaleOptions::default()).unwrap());
            let metrics = evaluate(&hr, &sr, scale);
            sums[0] += metrics.psnr_y;
            sums[1] += metrics.ssim_y;
            sums[2] += metrics.psnr_rgb;
        }
        let n = paths.len() as f64;
        let [got_psnr_y, got_ssim_y, got_psnr_rgb] = sums.map(|s| s / n);
        println!("{set} ×{scale}: PSNR-Y {got_psnr_y:.4} SSIM-Y {got_ssim_y:.5} PSNR-RGB {got_psnr_rgb:.4} ({n} images)");
        assert!((got_psnr_y - psnr_y).abs() <= 0.0005, "{set} ×{scale} PSNR-Y {got_psnr_y} vs {psnr_y}");
        assert!((got_ssim_y - ssim_y).abs() <= 0.00005, "{set} ×{scale} SSIM-Y {got_ssim_y} vs {ssim_y}");
        assert!((got_psnr_rgb - psnr_rgb).abs() <= 0.0005, "{set} ×{scale} PSNR-RGB {got_psnr_rgb} vs {psnr_rgb}");
    }
}
