//! A region upscaled on its own (with its halo and its window of the whole-image latent) is the
//! whole-image result's region: exactly when its window covers what the whole pass sees, and
//! to the tiles' seam tolerance otherwise. Shipped weights, a real photo, JPEG in between.

use std::path::PathBuf;

use candle_core::Device;
use image::RgbImage;
use rescale_lab::codec::Codec;
use rescale_lab::nets::{NetworkRescaler, Tiling};
use rescale_lab::pipeline::Pipeline;
use rescale_lab::region::Region;
use rescale_lab::{Bicubic, EngineError, Quality, Rescaler, UpscaleOptions};

fn model(name: &str) -> NetworkRescaler {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models").join(name);
    NetworkRescaler::load(&path, &Device::Cpu).unwrap()
}

fn photo(w: u32, h: u32) -> RgbImage {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sunset_pier.png");
    let img = image::open(path).unwrap().to_rgb8();
    image::imageops::crop_imm(&img, 200, 150, w, h).to_image()
}

fn jpeg(q: u8) -> Codec {
    Codec::Jpeg { quality: Quality::new(q).unwrap() }
}

/// (largest difference in 8-bit levels, share of values that differ).
fn compare(a: &RgbImage, b: &RgbImage) -> (u8, f64) {
    assert_eq!(a.dimensions(), b.dimensions());
    let diffs: Vec<u8> = a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| x.abs_diff(*y)).collect();
    let max = diffs.iter().copied().max().unwrap_or(0);
    (max, diffs.iter().filter(|d| **d > 0).count() as f64 / diffs.len() as f64)
}

/// The whole result first in one pipeline, the region first in another (so it is computed, not
/// cut from the cache).
fn region_and_whole(rescaler: &dyn Rescaler, image: &RgbImage, region: Region, options: &UpscaleOptions) -> (RgbImage, RgbImage, rescale_lab::region::RegionOutput) {
    let mut first = Pipeline::new(image.clone());
    let out = first.run_region("m", rescaler, jpeg(40), options, region).unwrap();
    assert!(!out.from_whole);
    let mut whole = Pipeline::new(image.clone());
    let full = whole.run("m", rescaler, jpeg(40), options).unwrap();
    let cut = whole.run_region("m", rescaler, jpeg(40), options, region).unwrap();
    assert!(cut.from_whole);
    assert_eq!(cut.reconstruction, region.crop(&full.reconstruction));
    (out.reconstruction.clone(), cut.reconstruction, out)
}

#[test]
fn a_region_whose_window_covers_the_image_is_bit_for_bit_the_whole_result() {
    // 128×96 HR at ×2 is 64×48 LR; the region's 16-pixel halo reaches every edge, so the region's
    // pass sees exactly the whole pass's input, latent included (T = 1, random).
    let image = photo(128, 96);
    let options = UpscaleOptions { temperature: 1.0, seed: 7 };
    for name in ["irn_x2.safetensors", "sain_x2_jpeg.safetensors"] {
        let net = model(name);
        let region = Region { x: 32, y: 32, width: 64, height: 32 };
        let (alone, cut, out) = region_and_whole(&net, &image, region, &options);
        assert_eq!(alone, cut, "{name}: the region differs from the whole image's");
        let whole_metrics = region.metrics(&photo(128, 96), &cut, 2).unwrap();
        assert_eq!(out.metrics.unwrap().psnr_y, whole_metrics.psnr_y);
    }
}

#[test]
fn a_region_inside_a_larger_image_matches_the_whole_result_to_the_seam_tolerance() {
    // 320×256 HR: the region's window (region + 16 LR pixels) is a part of the image, so the far
    // context differs, as it does between two tiles of the whole-image pass.
    let image = photo(320, 256);
    let options = UpscaleOptions { temperature: 1.0, seed: 3 };
    for name in ["irn_x2.safetensors", "sain_x2_jpeg.safetensors"] {
        let net = model(name);
        let region = Region { x: 96, y: 64, width: 128, height: 96 };
        let (alone, cut, out) = region_and_whole(&net, &image, region, &options);
        let (max, share) = compare(&alone, &cut);
        assert!(max <= 1, "{name}: region and whole differ by {max} levels");
        assert!(share < 0.01, "{name}: {:.2} % of the region's values differ", share * 100.0);
        let a = out.metrics.unwrap();
        let b = region.metrics(&image, &cut, 2).unwrap();
        assert!((a.psnr_y - b.psnr_y).abs() < 0.01, "{name}: region PSNR-Y {} vs {}", a.psnr_y, b.psnr_y);
        // Another draw of the latent changes IRN's region visibly, so a region cut from the
        // wrong place of the latent would fail above (SAIN's trained mixture barely moves it).
        if name.starts_with("sain") {
            continue;
        }
        let moved = net.upscale_region(
            &rescale_lab::image_io::to_f32(&Pipeline::new(image.clone()).run("m", &net, jpeg(40), &options).unwrap().compressed.decoded),
            &UpscaleOptions { temperature: 1.0, seed: 4 },
            region.lr(2),
        );
        let (moved_max, _) = compare(&rescale_lab::image_io::to_u8(&moved.unwrap()), &cut);
        assert!(moved_max > 1, "{name}: another latent gives the same region; the test cannot tell");
    }
}

#[test]
fn a_region_computed_ahead_is_served_from_the_cache_with_the_same_pixels() {
    // What the app does ahead of the slider: the region at the next quality into the cache,
    // then the real request for it. Its pixels and metrics are those of computing it then.
    let image = photo(192, 160);
    let options = UpscaleOptions::default();
    let net = model("irn_x2.safetensors");
    let region = Region { x: 64, y: 32, width: 64, height: 64 };
    let mut ahead = Pipeline::new(image.clone());
    assert!(ahead.prefetch_region("m", &net, jpeg(41), &options, region).unwrap(), "computed ahead");
    assert!(!ahead.prefetch_region("m", &net, jpeg(41), &options, region).unwrap(), "already there");
    let served = ahead.run_region("m", &net, jpeg(41), &options, region).unwrap();
    assert!(served.from_cache && !served.from_whole);
    let fresh = Pipeline::new(image.clone()).run_region("m", &net, jpeg(41), &options, region).unwrap();
    assert!(!fresh.from_cache);
    assert_eq!(served.reconstruction, fresh.reconstruction);
    assert_eq!(served.metrics.unwrap().psnr_y, fresh.metrics.unwrap().psnr_y);
    // Another quality, region or method is not served from it.
    assert!(!ahead.run_region("m", &net, jpeg(42), &options, region).unwrap().from_cache);
    assert!(!ahead.run_region("m", &net, jpeg(41), &options, Region { x: 0, ..region }).unwrap().from_cache);
    assert!(!ahead.run_region("other", &net, jpeg(41), &options, region).unwrap().from_cache);
    // Nor after the method is forgotten (its model reloaded).
    ahead.forget_method("m");
    assert!(!ahead.run_region("m", &net, jpeg(41), &options, region).unwrap().from_cache);
    // A region too large to keep is not computed ahead.
    let large = Region { x: 0, y: 0, width: 1100, height: 1000 };
    assert!(large.pixels() > rescale_lab::pipeline::MAX_CACHED_REGION_PIXELS);
    assert!(!Pipeline::new(RgbImage::new(1100, 1000)).prefetch_region("m", &net, jpeg(41), &options, large).unwrap());
}

#[test]
fn bicubic_regions_are_cut_from_its_whole_upscale() {
    let image = photo(200, 120);
    let region = Region::snap([33, 17, 70, 50], 4, 200, 120).unwrap();
    let bicubic = Bicubic::new(4);
    let (alone, cut, _) = region_and_whole(&bicubic, &image, region, &UpscaleOptions::default());
    assert_eq!(alone, cut);
}

#[test]
fn an_upscale_asked_to_stop_stops_between_tiles_and_a_downscale_does_not() {
    let image = rescale_lab::image_io::to_f32(&photo(256, 128));
    let net = model("irn_x2.safetensors").with_tiling(Tiling { tile: 64, halo: 16 });
    let lr = rescale_lab::progress::with_cancel(|| true, || net.downscale(&image)).unwrap();
    let stopped = rescale_lab::progress::with_cancel(|| true, || net.upscale(&lr, &UpscaleOptions::default()));
    assert!(matches!(stopped, Err(EngineError::Cancelled)), "{stopped:?}");
    assert!(net.upscale(&lr, &UpscaleOptions::default()).is_ok());
}

#[test]
fn regions_outside_the_image_or_off_the_grid_are_refused() {
    let image = photo(64, 64);
    let mut p = Pipeline::new(image);
    let net = model("irn_x2.safetensors");
    for region in [Region { x: 32, y: 0, width: 64, height: 32 }, Region { x: 1, y: 0, width: 32, height: 32 }] {
        let err = p.run_region("m", &net, jpeg(50), &UpscaleOptions::default(), region).unwrap_err();
        assert!(err.to_string().contains("not inside"), "{err}");
    }
}
