//! Tiled and whole-image runs agree: tiles see their neighbours through the halo, and the latent
//! is drawn once for the whole image.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use image::Rgb32FImage;
use rescale_lab::nets::{NetworkRescaler, Tiling};
use rescale_lab::{EngineError, Rescaler, UpscaleOptions};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/nets").join(name)
}

/// The fixture networks with their convolution weights scaled by `gain`. At the fixtures' own
/// scale (N(0, 0.05²)) every subnet amplifies, and the inverse outputs reach the hundreds; scaled
/// down they behave like trained nets (outputs of image scale), which is what the tolerance in
/// image units is about. The weights stay random and every subnet still contributes.
fn tamed(dir: &Path, file: &str, gain: f64) -> PathBuf {
    let tensors: HashMap<String, Tensor> = candle_core::pickle::read_all(fixture(file))
        .unwrap()
        .into_iter()
        .map(|(k, t)| if k.ends_with(".weight") { (k, (t * gain).unwrap()) } else { (k, t) })
        .collect();
    let path = dir.join(format!("{file}.safetensors"));
    candle_core::safetensors::save(&tensors, &path).unwrap();
    path
}

/// The fixture's baboon crop is too small for several tiles, so take a sample photo's corner.
fn photo(w: u32, h: u32) -> Rgb32FImage {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/canyon.png");
    let img = image::open(path).unwrap().to_rgb32f();
    image::imageops::crop_imm(&img, 0, 0, w, h).to_image()
}

fn max_abs(a: &Rgb32FImage) -> f32 {
    a.as_raw().iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn max_abs_diff(a: &Rgb32FImage, b: &Rgb32FImage) -> f32 {
    assert_eq!(a.dimensions(), b.dimensions());
    a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// (downscale diff, upscale diff, peak |HR|).
fn compare(weights: &Path, tiling: Tiling, hr: &Rgb32FImage, options: &UpscaleOptions) -> (f32, f32, f32) {
    let whole = NetworkRescaler::load(weights, &Device::Cpu).unwrap().with_tiling(Tiling::whole());
    let tiled = whole.clone().with_tiling(tiling);
    let lr_whole = whole.downscale(hr).unwrap();
    let lr_tiled = tiled.downscale(hr).unwrap();
    let hr_whole = whole.upscale(&lr_whole, options).unwrap();
    let hr_tiled = tiled.upscale(&lr_whole, options).unwrap();
    (max_abs_diff(&lr_whole, &lr_tiled), max_abs_diff(&hr_whole, &hr_tiled), max_abs(&hr_whole))
}

/// 128×96 HR in 4×3 tiles of 32 HR pixels, with a halo of 12 LR pixels; the latent is random (T = 1), the same draw for both
/// runs, so this also checks that each tile gets its slice of the whole-image latent.
#[test]
fn tiled_equals_whole() {
    let dir = tempfile::tempdir().unwrap();
    let hr = photo(128, 96);
    let options = UpscaleOptions { temperature: 1.0, seed: 11 };
    for (file, scale) in [("irn_x2.pth", 2), ("sain_x2.pth", 2), ("irn_x4_small.pth", 4), ("sain_x4_small.pth", 4)] {
        let weights = tamed(dir.path(), file, GAIN);
        let tiling = Tiling { tile: 32, halo: HALO_LR * scale };
        let (down, up, peak) = compare(&weights, tiling, &hr, &options);
        println!("{file} {tiling:?}: downscale max diff {down:.2e}, upscale max diff {up:.2e} (max |HR| {peak:.2})");
        assert!(down <= 1e-3 && up <= 1e-3, "{file}: downscale {down}, upscale {up}");
    }
}

const GAIN: f64 = 0.5;
/// The blocks work at LR resolution, so their reach is counted in LR pixels.
const HALO_LR: usize = 12;

/// Without a halo the seams do show: the test above is not passing by accident.
#[test]
fn no_halo_shows_seams() {
    let dir = tempfile::tempdir().unwrap();
    let hr = photo(64, 64);
    let options = UpscaleOptions { temperature: 1.0, seed: 11 };
    let weights = tamed(dir.path(), "irn_x2.pth", GAIN);
    let (down, up, _) = compare(&weights, Tiling { tile: 32, halo: 0 }, &hr, &options);
    println!("irn_x2 without halo: downscale {down:.2e}, upscale {up:.2e}");
    assert!(down > 1e-2 && up > 1e-2);
}

#[test]
fn sides_must_be_multiples_of_the_scale() {
    let net = NetworkRescaler::load(&fixture("irn_x4_small.pth"), &Device::Cpu).unwrap();
    for (w, h) in [(66, 64), (64, 62), (0, 0)] {
        let hr = Rgb32FImage::new(w, h);
        match net.downscale(&hr) {
            Err(EngineError::InvalidArgument(msg)) => assert!(msg.contains("multiples of 4"), "{msg}"),
            other => panic!("{w}x{h}: expected InvalidArgument, got {:?}", other.map(|i| i.dimensions())),
        }
    }
}

/// The shipped (trained) models with the default halo: seams far below one 8-bit level. Small
/// tiles of 16 LR pixels on a photo crop 4 (×2) or 3 (×4) tiles wide, so that even the first
/// tile's halo stops short of the far side; the halo is what is being checked.
#[test]
fn shipped_models_default_halo() {
    let models = rescale_lab::models::discover(&rescale_lab::models::models_dir()).unwrap();
    if models.is_empty() {
        eprintln!("no shipped models in {}; nothing to check", rescale_lab::models::models_dir().display());
        return;
    }
    let options = UpscaleOptions { temperature: 1.0, seed: 3 };
    for model in models {
        let scale = model.manifest.scale as usize;
        let tiling = Tiling { tile: 16 * scale, ..Tiling::for_scale(scale) };
        let side = if scale == 2 { 128 } else { 192 };
        assert!(side / scale > (tiling.tile + tiling.halo) / scale, "the first tile must not see the whole image");
        let hr = photo(side as u32, side as u32);
        let (down, up, _) = compare(&model.weights, tiling, &hr, &options);
        println!("{} {tiling:?} on {side}²: downscale max diff {down:.2e}, upscale max diff {up:.2e}", model.manifest.name);
        assert!(down <= 1e-3 && up <= 1e-3, "{}: downscale {down}, upscale {up}", model.manifest.name);
    }
}

#[test]
fn tiled_passes_report_their_progress_tile_by_tile() {
    use rescale_lab::progress::{with_reporter, Pass, TileProgress};
    use std::sync::{Arc, Mutex};
    let hr = candle_core::Tensor::zeros((1, 3, 1200, 1000), candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let tiling = rescale_lab::nets::Tiling { tile: 512, halo: 32 };
    let lr = with_reporter(move |p| sink.lock().unwrap().push(p), || {
        rescale_lab::nets::tiling::tiled_forward(&hr, 2, tiling, |t| t.avg_pool2d(2)).unwrap()
    });
    assert_eq!(lr.dims4().unwrap(), (1, 3, 600, 500));
    // 600×500 LR cells in tiles of at most 256: 3 bands of 2 tiles.
    let expected: Vec<TileProgress> = (0..=6).map(|done| TileProgress { pass: Pass::Downscale, done, total: 6 }).collect();
    assert_eq!(*seen.lock().unwrap(), expected);
}
