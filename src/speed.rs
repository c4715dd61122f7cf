//! How fast each network downscales and upscales at a few sizes on a device, measured through
//! the same [`Rescaler`] calls the app makes (conversions and tiling included).

use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use image::Rgb32FImage;

use crate::codec::Codec;
use crate::device::device_name;
use crate::error::Result;
use crate::nets::NetworkRescaler;
use crate::pipeline::Pipeline;
use crate::region::Region;
use crate::rescaler::{Rescaler, UpscaleOptions};

/// The sizes of the CLI's `speed` table (square HR images).
pub const DEFAULT_SIZES: [u32; 3] = [256, 512, 1024];

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SpeedRow {
    pub model: String,
    pub arch: String,
    pub scale: u32,
    /// Side of the square HR image.
    pub size: u32,
    pub device: String,
    /// Median wall time of HR → LR.
    pub downscale_ms: f64,
    /// Median wall time of LR → HR, latent draw included.
    pub upscale_ms: f64,
    pub runs: usize,
}

impl SpeedRow {
    /// Column titles matching the `Display` layout.
    pub fn header() -> String {
        format!(
            "{:<24} {:<5} {:>5} {:>11} {:<8} {:>14} {:>12} {:>4}",
            "model", "arch", "scale", "size", "device", "downscale ms", "upscale ms", "runs"
        )
    }
}

impl fmt::Display for SpeedRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<24} {:<5} {:>5} {:>11} {:<8} {:>14.1} {:>12.1} {:>4}",
            self.model,
            self.arch,
            format!("×{}", self.scale),
            format!("{0}×{0}", self.size),
            self.device,
            self.downscale_ms,
            self.upscale_ms,
            self.runs
        )
    }
}

/// Times every model at every size. Each model first runs once on a small image so that
/// one-off costs (allocator growth, GPU kernel compilation) stay out of the numbers. `runs`
/// gives the number of timed runs (the median is reported); `None` takes 3 for sizes up to 256
/// and a single run above, which keeps the default table quick on a CPU. Sizes are rounded down
/// to a multiple of the model's scale.
pub fn speed_report(
    models: &[(String, PathBuf)],
    sizes: &[u32],
    runs: Option<usize>,
    device: &Device,
) -> Result<Vec<SpeedRow>> {
    let mut rows = Vec::new();
    for (name, path) in models {
        let rescaler = NetworkRescaler::load(path, device)?;
        let scale = rescaler.scale();
        let options = UpscaleOptions::default();
        let warm = test_image(16 * scale);
        rescaler.upscale(&rescaler.downscale(&warm)?, &options)?;
        for &size in sizes {
            let side = (size / scale).max(1) * scale;
            let hr = test_image(side);
            let runs = runs.unwrap_or(if side <= 256 { 3 } else { 1 }).max(1);
            let (mut down, mut up) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                let start = Instant::now();
                let lr = rescaler.downscale(&hr)?;
                down.push(start.elapsed().as_secs_f64() * 1e3);
                let start = Instant::now();
                rescaler.upscale(&lr, &options)?;
                up.push(start.elapsed().as_secs_f64() * 1e3);
            }
            rows.push(SpeedRow {
                model: name.clone(),
                arch: rescaler.arch().to_string(),
                scale,
                size: side,
                device: device_name(device),
                downscale_ms: median(&mut down),
                upscale_ms: median(&mut up),
                runs,
            });
        }
    }
    Ok(rows)
}

/// What one move of the GUI's quality slider costs: for every method, codec → upscale → metrics
/// at the new quality (the HR reference and the downscaled LR stay cached, as in the app).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RoundTrip {
    pub width: u32,
    pub height: u32,
    /// Median over the slider moves, per method (label, milliseconds), in the order given.
    pub per_method_ms: Vec<(String, f64)>,
    /// Median over the slider moves of the sum over methods: the time until every panel is new.
    pub total_ms: f64,
    /// The qualities visited after the warm-up one.
    pub qualities: Vec<u8>,
    /// When set, each move computes only this region (as the app does with a crop set), the
    /// whole image's downscale and codec stages included as in the app.
    pub region: Option<Region>,
}

/// Moves the quality through `qualities` (the first one only warms the caches: it includes the
/// downscale) and times each move with every method, the way the GUI worker runs them: one
/// after the other on one [`Pipeline`]. With a `region`, each move computes that region only
/// ([`Pipeline::run_region`]), which is what the app puts on screen first when a crop is set.
pub fn slider_round_trip(
    image: &image::RgbImage,
    methods: &[(String, &dyn Rescaler)],
    codec_at: impl Fn(u8) -> Result<Codec>,
    qualities: &[u8],
    region: Option<Region>,
) -> Result<RoundTrip> {
    if qualities.len() < 2 {
        return Err(crate::error::EngineError::InvalidArgument(
            "a round trip needs at least two qualities (the first one warms the caches)".into(),
        ));
    }
    let mut pipeline = Pipeline::new(image.clone());
    let options = UpscaleOptions::default();
    let mut per_method: Vec<Vec<f64>> = vec![Vec::new(); methods.len()];
    let mut totals = Vec::new();
    for (i, &quality) in qualities.iter().enumerate() {
        let codec = codec_at(quality)?;
        let mut total = 0.0;
        for (m, (key, rescaler)) in methods.iter().enumerate() {
            let start = Instant::now();
            match region {
                Some(region) => drop(pipeline.run_region(key, *rescaler, codec, &options, region)?),
                None => drop(pipeline.run(key, *rescaler, codec, &options)?),
            }
            let ms = start.elapsed().as_secs_f64() * 1e3;
            if i > 0 {
                per_method[m].push(ms);
            }
            total += ms;
        }
        if i > 0 {
            totals.push(total);
        }
    }
    let (width, height) = image.dimensions();
    Ok(RoundTrip {
        width,
        height,
        per_method_ms: methods.iter().zip(&mut per_method).map(|((k, _), t)| (k.clone(), median(t))).collect(),
        total_ms: median(&mut totals),
        qualities: qualities[1..].to_vec(),
        region,
    })
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A smooth pattern with detail at several frequencies, so no code path sees only zeros; the
/// PyTorch side of `training/bench_cpu.py` builds the same image.
fn test_image(side: u32) -> Rgb32FImage {
    Rgb32FImage::from_fn(side, side, |x, y| {
        let (u, v) = (x as f32 / side as f32, y as f32 / side as f32);
        image::Rgb([
            0.5 + 0.4 * (9.0 * u + 3.0 * v).sin(),
            0.5 + 0.4 * (31.0 * u * v).cos(),
            0.5 + 0.3 * (57.0 * v).sin() * (13.0 * u).cos(),
        ])
    })
}
