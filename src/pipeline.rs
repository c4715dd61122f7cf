//! The experiment chain: HR → modcrop → downscale → round to 8 bits → codec → upscale → metrics.
//!
//! Each stage's output is cached, keyed by exactly what it depends on, so moving the quality
//! slider re-runs only codec → upscale → metrics, and changing the latent seed or temperature
//! re-runs only upscale → metrics.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use image::RgbImage;
use serde::Serialize;

use crate::codec::{Codec, Compressed};
use crate::equal_size::{self, SizeMatch};
use crate::error::{EngineError, Result};
use crate::image_io::{to_f32, to_u8};
use crate::metrics::{self, Metrics};
use crate::modcrop::{modcrop, Modcrop};
use crate::region::{Region, RegionOutput};
use crate::rescaler::{Rescaler, UpscaleOptions};

/// Wall time of each stage. A stage served from the cache reports the time it took when it ran.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct StageTimings {
    pub downscale: Duration,
    pub codec: Duration,
    pub upscale: Duration,
    pub metrics: Duration,
}

impl StageTimings {
    pub fn total(&self) -> Duration {
        self.downscale + self.codec + self.upscale + self.metrics
    }
}

/// Which stages were computed for this result (false: served from the cache).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct StagesRun {
    pub downscale: bool,
    pub codec: bool,
    pub upscale: bool,
}

/// Everything one method produced for one image and one experiment setting.
#[derive(Debug, Clone)]
pub struct MethodOutput {
    /// The cache key the caller gave (unique per loaded model).
    pub method_key: String,
    /// The rescaler's display name.
    pub method: String,
    pub scale: u32,
    pub codec: Codec,
    /// LR image rounded to 8 bits, before the codec.
    pub lr: RgbImage,
    /// The codec's file bytes and what decodes from them (the upscaler's input).
    pub compressed: Compressed,
    /// The reconstruction, 8-bit, same size as the modcropped HR.
    pub reconstruction: RgbImage,
    pub metrics: Metrics,
    /// Bits per pixel of the modcropped HR image that the compressed LR costs.
    pub bits_per_pixel: f64,
    pub timings: StageTimings,
    pub stages_run: StagesRun,
}

impl MethodOutput {
    pub fn compressed_bytes(&self) -> usize {
        self.compressed.bytes.len()
    }
}

type LrKey = (String, u32);
type CodecKey = (String, u32, Codec);
type UpscaleKey = (String, u32, Codec, u64, u32);

/// One image under study, with the cached stage outputs of every method run on it.
pub struct Pipeline {
    original: RgbImage,
    /// Modcropped HR per scale: the reference of the metrics at that scale.
    hr_by_scale: HashMap<u32, (RgbImage, Modcrop)>,
    lr_cache: HashMap<LrKey, (RgbImage, Duration)>,
    codec_cache: Recent<CodecKey, (Compressed, Duration)>,
    upscale_cache: Recent<UpscaleKey, (RgbImage, Duration)>,
    /// Region upscales, for the regions asked again (the slider back at a quality, or one
    /// computed ahead of it).
    region_cache: Recent<(UpscaleKey, Region), (RgbImage, Duration)>,
}

/// Upscale results kept, of every method; the slider sweeps produce many and each is an HR
/// image. The byte bound is what holds on a large photo: a 12 MP reconstruction is 36 MB, so
/// about four settings of three methods stay, where the sample keeps all 24.
const MAX_UPSCALE_CACHE: (usize, usize) = (24, 512 << 20);
/// Compressed LRs (file bytes and decoded pixels): 9.5 MB each for a 12 MP photo at ×2.
const MAX_CODEC_CACHE: (usize, usize) = (64, 128 << 20);
/// Region upscales kept: a 256² crop is 0.2 MB, and each slider position keeps one per method.
const MAX_REGION_CACHE: (usize, usize) = (32, 96 << 20);
/// Larger regions are not kept (nor computed ahead): at most 32 × 3 MB in the cache.
pub const MAX_CACHED_REGION_PIXELS: u64 = 1 << 20;

impl Pipeline {
    pub fn new(original: RgbImage) -> Self {
        Self {
            original,
            hr_by_scale: HashMap::new(),
            lr_cache: HashMap::new(),
            codec_cache: Recent::new(MAX_CODEC_CACHE),
            upscale_cache: Recent::new(MAX_UPSCALE_CACHE),
            region_cache: Recent::new(MAX_REGION_CACHE),
        }
    }

    pub fn original(&self) -> &RgbImage {
        &self.original
    }

    /// The HR reference at `scale` (modcropped) and what the crop removed.
    pub fn hr(&mut self, scale: u32) -> Result<(&RgbImage, Modcrop)> {
        if scale == 0 {
            return Err(EngineError::InvalidArgument("scale must be at least 1".into()));
        }
        let (w, h) = self.original.dimensions();
        if w < scale || h < scale {
            return Err(EngineError::InvalidArgument(format!(
                "image is {w}x{h}, smaller than one {scale}x{scale} block"
            )));
        }
        let original = &self.original;
        let (hr, crop) = self.hr_by_scale.entry(scale).or_insert_with(|| modcrop(original, scale));
        // Refused up front: a NaN SSIM would poison every average it enters.
        let min = metrics::min_measurable_side(scale);
        if hr.width() < min || hr.height() < min {
            return Err(EngineError::TooSmallToMeasure { width: w, height: h, scale, min });
        }
        Ok((hr, *crop))
    }

    /// Runs (or fetches from the cache) every stage for one method.
    ///
    /// `method_key` must identify the rescaler uniquely (two IRN checkpoints need two keys).
    pub fn run(
        &mut self,
        method_key: &str,
        rescaler: &dyn Rescaler,
        codec: Codec,
        options: &UpscaleOptions,
    ) -> Result<MethodOutput> {
        let scale = rescaler.scale();
        let mut stages_run = StagesRun::default();
        let mut timings = StageTimings::default();
        self.hr(scale)?;
        stages_run.downscale = self.downscale_stage(method_key, rescaler)?;
        stages_run.codec = self.codec_stage(method_key, scale, codec)?;
        let hr = &self.hr_by_scale[&scale].0;

        let lr_key = (method_key.to_string(), scale);
        let (lr, downscale_time) = &self.lr_cache[&lr_key];
        timings.downscale = *downscale_time;

        let codec_key = (method_key.to_string(), scale, codec);
        let (compressed, codec_time) = &self.codec_cache[&codec_key];
        timings.codec = *codec_time;

        let upscale_key = upscale_key(method_key, scale, codec, options);
        if !self.upscale_cache.contains_key(&upscale_key) {
            let start = Instant::now();
            let reconstruction = rescaler.upscale(&to_f32(&compressed.decoded), options)?;
            ensure_finite(&reconstruction, rescaler.name(), "upscale")?;
            let reconstruction = to_u8(&reconstruction);
            if reconstruction.dimensions() != hr.dimensions() {
                return Err(EngineError::Model(format!(
                    "{} returned {}x{} for a {}x{} reference",
                    rescaler.name(),
                    reconstruction.width(),
                    reconstruction.height(),
                    hr.width(),
                    hr.height()
                )));
            }
            let bytes = reconstruction.len();
            self.upscale_cache.insert(upscale_key.clone(), (reconstruction, start.elapsed()), bytes);
            stages_run.upscale = true;
        }
        let (reconstruction, upscale_time) = &self.upscale_cache[&upscale_key];
        timings.upscale = *upscale_time;

        // Metrics are cheap next to the networks and always recomputed, so their time is live.
        let start = Instant::now();
        let metrics = metrics::evaluate(hr, reconstruction, scale);
        timings.metrics = start.elapsed();

        Ok(MethodOutput {
            method_key: method_key.to_string(),
            method: rescaler.name().to_string(),
            scale,
            codec,
            lr: lr.clone(),
            bits_per_pixel: metrics::bits_per_pixel(compressed.bytes.len(), hr.width(), hr.height()),
            compressed: compressed.clone(),
            reconstruction: reconstruction.clone(),
            metrics,
            timings,
            stages_run,
        })
    }

    /// Which network passes `run` would make for this setting (false: served from the cache).
    /// With no codec (at equal size, before the search has chosen one) the upscale counts as
    /// needed.
    pub fn passes_to_run(&self, method_key: &str, scale: u32, codec: Option<Codec>, options: &UpscaleOptions) -> StagesRun {
        StagesRun {
            downscale: !self.lr_cache.contains_key(&(method_key.to_string(), scale)),
            codec: codec.is_none_or(|c| !self.codec_cache.contains_key(&(method_key.to_string(), scale, c))),
            upscale: codec.is_none_or(|c| !self.upscale_cache.contains_key(&upscale_key(method_key, scale, c, options))),
        }
    }

    /// `run` at equal size: the codec's quality is chosen so that this method's compressed LR
    /// comes closest to `bpp` bits per HR pixel without going over (`equal_size::search`).
    /// `codec` gives the family; its quality is ignored.
    pub fn run_at_size(
        &mut self,
        method_key: &str,
        rescaler: &dyn Rescaler,
        codec: Codec,
        bpp: f64,
        options: &UpscaleOptions,
    ) -> Result<(MethodOutput, SizeMatch)> {
        let (codec, matched) = self.size_matched(method_key, rescaler, codec, bpp)?;
        Ok((self.run(method_key, rescaler, codec, options)?, matched))
    }

    /// The codec setting of `codec`'s family whose compressed LR comes closest to `bpp` bits per
    /// HR pixel without going over, and how the search found it.
    pub fn size_matched(&mut self, method_key: &str, rescaler: &dyn Rescaler, codec: Codec, bpp: f64) -> Result<(Codec, SizeMatch)> {
        if codec == Codec::None {
            return Err(EngineError::InvalidArgument("a target size needs a lossy codec (JPEG or WebP)".into()));
        }
        if !(bpp.is_finite() && bpp > 0.0) {
            return Err(EngineError::InvalidArgument(format!("the target size must be positive, got {bpp} bpp")));
        }
        let scale = rescaler.scale();
        let (width, height) = self.hr(scale)?.0.dimensions();
        self.downscale_stage(method_key, rescaler)?;
        let target = equal_size::target_bytes(bpp, width, height);
        let matched = equal_size::search(target, |quality| {
            let at = codec.with_quality(quality);
            self.codec_stage(method_key, scale, at)?;
            Ok(self.codec_cache[&(method_key.to_string(), scale, at)].0.bytes.len())
        })?;
        let quality = crate::codec::Quality::new(matched.quality)?;
        Ok((codec.with_quality(quality), matched))
    }

    /// One region of what [`Self::run`] would reconstruct, without upscaling the rest: cut from
    /// the cached whole-image result when there is one, otherwise upscaled on its own
    /// ([`Rescaler::upscale_region`]). The downscale and codec stages are the whole image's
    /// (and cached as in `run`), so the LR, its size and its bytes are the same.
    pub fn run_region(
        &mut self,
        method_key: &str,
        rescaler: &dyn Rescaler,
        codec: Codec,
        options: &UpscaleOptions,
        region: Region,
    ) -> Result<RegionOutput> {
        let scale = rescaler.scale();
        let (hr_w, hr_h) = self.hr(scale)?.0.dimensions();
        if region.width == 0
            || region.height == 0
            || region.x + region.width > hr_w
            || region.y + region.height > hr_h
            || [region.x, region.y, region.width, region.height].iter().any(|v| v % scale != 0)
        {
            return Err(EngineError::InvalidArgument(format!(
                "region {}x{} at ({}, {}) is not inside the {hr_w}x{hr_h} image on the ×{scale} grid",
                region.width, region.height, region.x, region.y
            )));
        }
        self.downscale_stage(method_key, rescaler)?;
        self.codec_stage(method_key, scale, codec)?;
        let hr = &self.hr_by_scale[&scale].0;
        let key = upscale_key(method_key, scale, codec, options);
        if let Some((whole, _)) = self.upscale_cache.get(&key) {
            let reconstruction = region.crop(whole);
            let metrics = region.metrics(hr, &reconstruction, scale);
            return Ok(RegionOutput { region, reconstruction, metrics, upscale: Duration::ZERO, from_whole: true, from_cache: false });
        }
        if let Some((reconstruction, upscale)) = self.region_cache.get(&(key.clone(), region)) {
            let metrics = region.metrics(hr, reconstruction, scale);
            return Ok(RegionOutput { region, reconstruction: reconstruction.clone(), metrics, upscale: *upscale, from_whole: false, from_cache: true });
        }
        let decoded = &self.codec_cache[&(method_key.to_string(), scale, codec)].0.decoded;
        let start = Instant::now();
        let upscaled = rescaler.upscale_region(&to_f32(decoded), options, region.lr(scale))?;
        ensure_finite(&upscaled, rescaler.name(), "upscale")?;
        let reconstruction = to_u8(&upscaled);
        if reconstruction.dimensions() != (region.width, region.height) {
            return Err(EngineError::Model(format!(
                "{} returned {}x{} for a {}x{} region",
                rescaler.name(),
                reconstruction.width(),
                reconstruction.height(),
                region.width,
                region.height
            )));
        }
        let upscale = start.elapsed();
        let metrics = region.metrics(hr, &reconstruction, scale);
        if region.pixels() <= MAX_CACHED_REGION_PIXELS {
            self.region_cache.insert((key, region), (reconstruction.clone(), upscale), reconstruction.len());
        }
        Ok(RegionOutput { region, reconstruction, metrics, upscale, from_whole: false, from_cache: false })
    }

    /// Computes `region` at `codec` into the cache unless its upscale, or the whole image's, is
    /// there already, or the region is too large to keep ([`MAX_CACHED_REGION_PIXELS`]); returns
    /// whether it ran. For work ahead of the user (the app's slider
    /// neighbours): a later [`Self::run_region`] then only cuts and measures.
    pub fn prefetch_region(&mut self, method_key: &str, rescaler: &dyn Rescaler, codec: Codec, options: &UpscaleOptions, region: Region) -> Result<bool> {
        let key = upscale_key(method_key, rescaler.scale(), codec, options);
        if region.pixels() > MAX_CACHED_REGION_PIXELS || self.upscale_cache.contains_key(&key) || self.region_cache.contains_key(&(key, region)) {
            return Ok(false);
        }
        self.run_region(method_key, rescaler, codec, options, region).map(|_| true)
    }

    /// HR → LR for one method, unless cached. Returns whether it ran.
    fn downscale_stage(&mut self, method_key: &str, rescaler: &dyn Rescaler) -> Result<bool> {
        let scale = rescaler.scale();
        let lr_key = (method_key.to_string(), scale);
        if self.lr_cache.contains_key(&lr_key) {
            return Ok(false);
        }
        self.hr(scale)?;
        let hr = &self.hr_by_scale[&scale].0;
        let start = Instant::now();
        let lr = rescaler.downscale(&to_f32(hr))?;
        ensure_finite(&lr, rescaler.name(), "downscale")?;
        self.lr_cache.insert(lr_key, (to_u8(&lr), start.elapsed()));
        Ok(true)
    }

    /// LR → compressed LR for one codec setting, unless cached. Returns whether it ran.
    fn codec_stage(&mut self, method_key: &str, scale: u32, codec: Codec) -> Result<bool> {
        let codec_key = (method_key.to_string(), scale, codec);
        if self.codec_cache.contains_key(&codec_key) {
            return Ok(false);
        }
        let lr = &self.lr_cache[&(method_key.to_string(), scale)].0;
        let start = Instant::now();
        let compressed = codec.compress(lr)?;
        let bytes = compressed.bytes.len() + compressed.decoded.len();
        self.codec_cache.insert(codec_key, (compressed, start.elapsed()), bytes);
        Ok(true)
    }

    /// Forgets everything computed for one method (e.g. its model was reloaded).
    pub fn forget_method(&mut self, method_key: &str) {
        self.lr_cache.retain(|k, _| k.0 != method_key);
        self.codec_cache.retain(|k| k.0 != method_key);
        self.upscale_cache.retain(|k| k.0 != method_key);
        self.region_cache.retain(|k| k.0 .0 != method_key);
    }
}

fn upscale_key(method_key: &str, scale: u32, codec: Codec, options: &UpscaleOptions) -> UpscaleKey {
    (method_key.to_string(), scale, codec, options.seed, options.temperature.to_bits())
}

/// Rounding to 8 bits would turn NaN into black and print a PSNR as if it were real.
fn ensure_finite(image: &image::Rgb32FImage, method: &str, stage: &str) -> Result<()> {
    use rayon::prelude::*;
    let count = image.as_raw().par_iter().filter(|v| !v.is_finite()).count();
    if count > 0 {
        return Err(EngineError::NonFinite { stage: format!("{method}'s {stage}"), count });
    }
    Ok(())
}

/// A bounded cache that drops its oldest entries when full: over its count or its bytes. The
/// newest entries are the current job's: dropping an arbitrary one (as before) could drop the
/// whole image that the job's region was about to be cut from, which was then computed again.
/// An entry larger than the byte bound on its own is still kept, alone.
struct Recent<K, V> {
    map: HashMap<K, V>,
    /// The keys of `map` with their sizes, oldest first.
    order: VecDeque<(K, usize)>,
    bytes: usize,
    max: (usize, usize),
}

impl<K: Clone + Eq + std::hash::Hash, V> Recent<K, V> {
    fn new((max_entries, max_bytes): (usize, usize)) -> Self {
        Self { map: HashMap::new(), order: VecDeque::new(), bytes: 0, max: (max_entries.max(1), max_bytes) }
    }

    fn insert(&mut self, key: K, value: V, bytes: usize) {
        self.retain(|k| k != &key);
        while !self.order.is_empty() && (self.map.len() >= self.max.0 || self.bytes + bytes > self.max.1) {
            if let Some((oldest, size)) = self.order.pop_front() {
                self.map.remove(&oldest);
                self.bytes -= size;
            }
        }
        self.order.push_back((key.clone(), bytes));
        self.bytes += bytes;
        self.map.insert(key, value);
    }

    fn retain(&mut self, keep: impl Fn(&K) -> bool) {
        self.map.retain(|k, _| keep(k));
        self.order.retain(|(k, _)| keep(k));
        self.bytes = self.order.iter().map(|(_, size)| size).sum();
    }
}

impl<K, V> std::ops::Deref for Recent<K, V> {
    type Target = HashMap<K, V>;
    fn deref(&self) -> &HashMap<K, V> {
        &self.map
    }
}

#[cfg(test)]
mod tests {
    use super::Recent;

    #[test]
    fn a_full_cache_drops_its_oldest_entry() {
        let mut cache = Recent::new((3, usize::MAX));
        for (k, v) in [("a", 1), ("b", 2), ("c", 3), ("d", 4)] {
            cache.insert(k, v, 1);
        }
        assert!(!cache.contains_key("a") && ["b", "c", "d"].iter().all(|k| cache.contains_key(k)));
        // A removed key leaves no trace in the order; a re-inserted one becomes the newest.
        cache.retain(|k| *k != "c");
        cache.insert("b", 20, 1);
        cache.insert("e", 5, 1);
        cache.insert("f", 6, 1);
        assert_eq!(cache.len(), 3);
        assert!(!cache.contains_key("d"), "d was the oldest once b was inserted again");
        assert_eq!((cache["b"], cache["e"], cache["f"]), (20, 5, 6));
    }

    #[test]
    fn the_byte_bound_drops_as_many_old_entries_as_a_new_one_needs() {
        let mut cache = Recent::new((10, 100));
        for (k, size) in [("a", 40), ("b", 30), ("c", 20)] {
            cache.insert(k, (), size);
        }
        assert_eq!(cache.bytes, 90);
        // 60 more bytes: a and b must go, c (20 + 60 = 80) stays.
        cache.insert("d", (), 60);
        assert!(!cache.contains_key("a") && !cache.contains_key("b") && cache.contains_key("c"));
        assert_eq!(cache.bytes, 80);
        // Replacing an entry counts its new size only.
        cache.insert("c", (), 10);
        assert_eq!(cache.bytes, 70);
        // One entry over the bound is kept, alone.
        cache.insert("huge", (), 500);
        assert_eq!((cache.len(), cache.bytes), (1, 500));
    }
}
