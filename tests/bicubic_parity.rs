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
