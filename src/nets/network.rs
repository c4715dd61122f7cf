//! IRN or SAIN behind the [`Rescaler`] trait: image ↔ tensor conversion, the latent draw, tiling.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use image::Rgb32FImage;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

use super::tiling::{halo_cells, tiled_forward, tiled_inverse, Tiling};
use super::{Arch, Irn, Sain};
use crate::checkpoint::Checkpoint;
use crate::error::{EngineError, Result};
use crate::rescaler::{Rescaler, UpscaleOptions};

/// Either network, as built from a checkpoint.
#[derive(Debug, Clone)]
pub enum Net {
    Irn(Irn),
    Sain(Sain),
}

impl Net {
    pub fn arch(&self) -> Arch {
        match self {
            Net::Irn(_) => Arch::Irn,
            Net::Sain(_) => Arch::Sain,
        }
    }

    pub fn scale(&self) -> u32 {
        match self {
            Net::Irn(net) => net.scale(),
            Net::Sain(net) => net.scale(),
        }
    }

    /// HR (N, 3, H, W) → the LR image (N, 3, H/s, W/s) the model hands out, not yet clamped.
    pub fn downscale(&self, hr: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Net::Irn(net) => net.forward(hr)?.narrow(1, 0, 3),
            Net::Sain(net) => Ok(net.forward(hr)?.1),
        }
    }

    /// `[LR, z]` (N, 3s², h, w) → HR (N, 3, hs, ws).
    pub fn upscale(&self, lr_and_z: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Net::Irn(net) => net.inverse(lr_and_z),
            Net::Sain(net) => Ok(net.inverse(lr_and_z)?.0),
        }
    }

    /// `n` latent values: T times a draw, N(0, 1) for IRN and the learned mixture for SAIN, as the
    /// official code's `gaussian_scale`. T = 0 is deterministic: z = 0 for both.
    pub fn sample_latent(&self, n: usize, options: &UpscaleOptions) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(options.seed);
        match self {
            Net::Irn(_) if options.temperature == 0.0 => vec![0.0; n],
            Net::Irn(_) => {
                let t = options.temperature;
                StandardNormal.sample_iter(&mut rng).take(n).map(|e: f32| t * e).collect()
            }
            Net::Sain(net) => net.gmm().sample(n, options.temperature, &mut rng),
        }
    }
}

/// Interleaved RGB → a (1, 3, H, W) tensor, in one pass over the pixels.
pub fn image_to_tensor(image: &Rgb32FImage, device: &Device) -> Result<Tensor> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let plane = w * h;
    let mut planar = vec![0f32; 3 * plane];
    let (r, rest) = planar.split_at_mut(plane);
    let (g, b) = rest.split_at_mut(plane);
    for (i, px) in image.as_raw().chunks_exact(3).enumerate() {
        r[i] = px[0];
        g[i] = px[1];
        b[i] = px[2];
    }
    Ok(Tensor::from_vec(planar, (1, 3, h, w), device)?)
}

/// A (1, 3, H, W) tensor → interleaved RGB, in one pass over the pixels.
pub fn tensor_to_image(tensor: &Tensor) -> Result<Rgb32FImage> {
    let (n, c, h, w) = tensor.dims4()?;
    if n != 1 || c != 3 {
        return Err(EngineError::Model(format!("expected a 1x3xHxW image tensor, got {:?}", tensor.dims())));
    }
    let planar = tensor.to_dtype(candle_core::DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    let plane = w * h;
    let (r, rest) = planar.split_at(plane);
    let (g, b) = rest.split_at(plane);
    let mut interleaved = vec![0f32; 3 * plane];
    for (i, px) in interleaved.chunks_exact_mut(3).enumerate() {
        px[0] = r[i];
        px[1] = g[i];
        px[2] = b[i];
    }
    Rgb32FImage::from_raw(w as u32, h as u32, interleaved)
        .ok_or_else(|| EngineError::Model("image buffer size mismatch".to_string()))
}

/// IRN or SAIN as a [`Rescaler`]. Large images go through the network in overlapping tiles
/// (see [`Tiling`]); the latent is drawn once for the whole image, so the tiling does not
/// change which random numbers land where.
#[derive(Debug, Clone)]
pub struct NetworkRescaler {
    net: Net,
    device: Device,
    tiling: Tiling,
    path: Option<PathBuf>,
}

impl NetworkRescaler {
    /// Loads whichever network the weight file holds.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let net = Checkpoint::read(path)?.build(device)?;
        Ok(Self { path: Some(path.to_path_buf()), ..Self::from_net(net, device) })
    }

    /// Loads the file, failing if it holds the other architecture.
    pub fn load_as(path: &Path, arch: Arch, device: &Device) -> Result<Self> {
        let net = Checkpoint::read(path)?.build_as(arch, device)?;
        Ok(Self { path: Some(path.to_path_buf()), ..Self::from_net(net, device) })
    }

    pub fn from_net(net: Net, device: &Device) -> Self {
        let tiling = Tiling::for_scale(net.scale() as usize);
        Self { net, device: device.clone(), tiling, path: None }
    }

    pub fn with_tiling(mut self, tiling: Tiling) -> Self {
        self.tiling = tiling;
        self
    }

    pub fn set_tiling(&mut self, tiling: Tiling) {
        self.tiling = tiling;
    }

    pub fn tiling(&self) -> Tiling {
        self.tiling
    }

    pub fn arch(&self) -> Arch {
        self.net.arch()
    }

    pub fn net(&self) -> &Net {
        &self.net
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The weight file it was loaded from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The whole-image latent for an LR of `h`×`w`: (1, 3s² − 3, h, w).
    pub fn latent(&self, h: usize, w: usize, options: &UpscaleOptions) -> Result<Tensor> {
        let s = self.net.scale() as usize;
        let channels = 3 * s * s - 3;
        let z = self.net.sample_latent(channels * h * w, options);
        Ok(Tensor::from_vec(z, (1, channels, h, w), &self.device)?)
    }

    /// HR (1, 3, H, W), sides multiples of the scale → LR (1, 3, H/s, W/s), not clamped.
    pub fn downscale_tensor(&self, hr: &Tensor) -> Result<Tensor> {
        let (_, _, h, w) = hr.dims4()?;
        self.check_multiple(w, h)?;
        let s = self.net.scale() as usize;
        Ok(tiled_forward(hr, s, self.tiling, |tile| self.net.downscale(tile))?)
    }

    /// LR (1, 3, h, w) and a latent from [`Self::latent`] → HR (1, 3, hs, ws).
    pub fn upscale_tensor(&self, lr: &Tensor, z: &Tensor) -> Result<Tensor> {
        let y = Tensor::cat(&[lr, z], 1)?;
        self.upscale_window(&y)
    }

    /// `[LR, z]` of a whole image or of a window of it → HR, tile by tile. A pass stopped
    /// between tiles (`progress::with_cancel`) is `EngineError::Cancelled`.
    fn upscale_window(&self, lr_and_z: &Tensor) -> Result<Tensor> {
        let s = self.net.scale() as usize;
        tiled_inverse(lr_and_z, s, self.tiling, |tile| self.net.upscale(tile))
            .map_err(|e| if crate::progress::cancelled() { EngineError::Cancelled } else { e.into() })
    }

    /// The halo of context a region is run with, in LR pixels: the tiling's, so that a region
    /// sees what a tile of the whole-image pass sees (at least the default when not tiling).
    pub fn region_halo(&self) -> usize {
        let s = self.net.scale() as usize;
        halo_cells(self.tiling, s).max(Tiling::DEFAULT_HALO_LR)
    }

    fn check_options(options: &UpscaleOptions) -> Result<()> {
        if !options.temperature.is_finite() || options.temperature < 0.0 {
            return Err(EngineError::InvalidArgument(format!(
                "temperature must be a finite number ≥ 0, got {}",
                options.temperature
            )));
        }
        Ok(())
    }

    fn check_multiple(&self, w: usize, h: usize) -> Result<()> {
        let s = self.net.scale() as usize;
        if w == 0 || h == 0 || !w.is_multiple_of(s) || !h.is_multiple_of(s) {
            return Err(EngineError::InvalidArgument(format!(
                "{} ×{s} needs an image whose sides are positive multiples of {s}, got {w}x{h} \
                 (crop it to a multiple first)",
                self.arch()
            )));
        }
        Ok(())
    }
}

impl Rescaler for NetworkRescaler {
    fn name(&self) -> &str {
        self.arch().display_name()
    }

    fn scale(&self) -> u32 {
        self.net.scale()
    }

    fn downscale(&self, hr: &Rgb32FImage) -> Result<Rgb32FImage> {
        self.check_multiple(hr.width() as usize, hr.height() as usize)?;
        let lr = self.downscale_tensor(&image_to_tensor(hr, &self.device)?)?;
        tensor_to_image(&lr)
    }

    fn upscale(&self, lr: &Rgb32FImage, options: &UpscaleOptions) -> Result<Rgb32FImage> {
        let (w, h) = (lr.width() as usize, lr.height() as usize);
        if w == 0 || h == 0 {
            return Err(EngineError::InvalidArgument("cannot upscale an empty image".to_string()));
        }
        Self::check_options(options)?;
        let z = self.latent(h, w, options)?;
        let hr = self.upscale_tensor(&image_to_tensor(lr, &self.device)?, &z)?;
        tensor_to_image(&hr)
    }

    /// The region and a halo of [`Self::region_halo`] LR pixels (clipped at the image's edges,
    /// as the tiles are), with the whole image's latent cut to the same window so the random
    /// numbers land where they do in the whole-image pass; the halo is then cut away.
    fn upscale_region(
        &self,
        lr: &Rgb32FImage,
        options: &UpscaleOptions,
        (x, y, w, h): (usize, usize, usize, usize),
    ) -> Result<Rgb32FImage> {
        crate::rescaler::check_region(lr, (x, y, w, h))?;
        Self::check_options(options)?;
        let (lw, lh) = (lr.width() as usize, lr.height() as usize);
        let s = self.net.scale() as usize;
        let halo = self.region_halo();
        let (x0, x1) = (x.saturating_sub(halo), (x + w + halo).min(lw));
        let (y0, y1) = (y.saturating_sub(halo), (y + h + halo).min(lh));
        let z = self.latent(lh, lw, options)?.narrow(2, y0, y1 - y0)?.narrow(3, x0, x1 - x0)?;
        let lr = image_to_tensor(lr, &self.device)?.narrow(2, y0, y1 - y0)?.narrow(3, x0, x1 - x0)?;
        let window = Tensor::cat(&[&lr, &z], 1)?.contiguous()?;
        let hr = self.upscale_window(&window)?;
        let core = hr.narrow(2, (y - y0) * s, h * s)?.narrow(3, (x - x0) * s, w * s)?.contiguous()?;
        tensor_to_image(&core)
    }
}
