//! Fast CPU inference for the networks' only heavy operation: the DenseBlock's 3×3 convolutions.
//!
//! candle 0.11's CPU `conv2d` runs these shapes (3×3, padding 1, 3–173 input channels, 32
//! output channels) at a small fraction of the machine's GEMM throughput. This module computes
//! the same thing as an im2col + GEMM over **NHWC** data:
//!
//! * One feature buffer per image, `H·W` pixels × `cin + 4·32` channels, holds
//!   `[x, x1, x2, x3, x4]` side by side, so the DenseBlock's concatenations are free: conv k
//!   reads channels `[0, cin + (k−1)·32)` of every pixel and writes its 32 outputs straight into
//!   the next 32 channels.
//! * The output pixels are split into bands of consecutive pixels (raster order). For each band
//!   a thread gathers the 3×3 neighbourhoods into a reused im2col buffer (`band × 9·cin`, bounded
//!   to a cache-sized number of bytes), multiplies it with the pre-packed weights
//!   (`9·cin × cout`) with the `gemm` crate, and applies bias + LeakyReLU in place. Bands run in
//!   parallel on rayon's pool (each GEMM single-threaded), which parallelises the gathering and
//!   the epilogue too.
//! * The last convolution writes NCHW directly (GEMM destination strides), so the result needs
//!   no transpose.
//!
//! Weights are packed once ([`PackedConv3x3`], [`PackedDenseBlock`]); the results equal candle's
//! `conv2d` chain up to f32 summation order (see `tests/fast_conv.rs`).

use candle_core::{bail, DType, Device, Result, Tensor};
use gemm::{gemm, Parallelism};
use rayon::prelude::*;

/// Channels added by each of the DenseBlock's first four convolutions.
pub const GROWTH: usize = 32;
/// The DenseBlock's LeakyReLU slope.
pub const LEAKY_SLOPE: f32 = 0.2;

/// Target size in bytes of one band's im2col buffer (about half a core's L2 here).
const BAND_BYTES: usize = 1 << 20;
/// Smallest band, in pixels, so tiny-`cin` convolutions still make GEMMs worth calling.
const MIN_BAND_PIXELS: usize = 64;
/// Largest band, in pixels, so large images still give every thread many bands.
const MAX_BAND_PIXELS: usize = 4096;
/// Convolutions with at most this many outputs use the kn2row path: one GEMM of the pixels'
/// channel vectors (read in place, no im2col) with all nine taps' weights side by side
/// (`cin × 9·cout`), then a 3×3 shift-and-add. An im2col GEMM with so few output columns is
/// bound by the im2col buffer's memory traffic (9·cin floats per pixel for 2·cout flops each).
pub const KN2ROW_MAX_COUT: usize = 16;
/// Target size in bytes of one kn2row band's GEMM output.
const KN2ROW_BAND_BYTES: usize = 1 << 20;

/// What follows a convolution's bias.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    None,
    LeakyRelu(f32),
}

/// One 3×3 convolution (stride 1, padding 1) with bias, its weights packed for the GEMM.
#[derive(Debug, Clone)]
pub struct PackedConv3x3 {
    cin: usize,
    cout: usize,
    /// `9·cin × cout`, row-major; row `(ky·3 + kx)·cin + c` (the im2col column order).
    weight: Vec<f32>,
    /// For small `cout` only (see [`KN2ROW_MAX_COUT`]): `cin × 9·cout`, row-major;
    /// element `(c, tap·cout + o)`.
    weight_kn2row: Option<Vec<f32>>,
    bias: Vec<f32>,
}

impl PackedConv3x3 {
    /// From PyTorch's OIHW layout: `weight` is `cout × cin × 3 × 3`, `bias` has `cout` values.
    pub fn from_oihw(cin: usize, cout: usize, weight: &[f32], bias: &[f32]) -> Result<Self> {
        if weight.len() != cout * cin * 9 {
            bail!("fast_conv: weight has {} values, expected {cout}×{cin}×3×3", weight.len());
        }
        if bias.len() != cout {
            bail!("fast_conv: bias has {} values, expected {cout}", bias.len());
        }
        let mut packed = vec![0f32; 9 * cin * cout];
        for o in 0..cout {
            for c in 0..cin {
                for tap in 0..9 {
                    packed[(tap * cin + c) * cout + o] = weight[(o * cin + c) * 9 + tap];
                }
            }
        }
        let weight_kn2row = (cout <= KN2ROW_MAX_COUT).then(|| {
            let mut kn = vec![0f32; cin * 9 * cout];
            for o in 0..cout {
                for c in 0..cin {
                    for tap in 0..9 {
                        kn[c * 9 * cout + tap * cout + o] = weight[(o * cin + c) * 9 + tap];
                    }
                }
            }
            kn
        });
        Ok(Self { cin, cout, weight: packed, weight_kn2row, bias: bias.to_vec() })
    }

    /// From candle tensors: `weight` `(cout, cin, 3, 3)`, `bias` `(cout)` (any float dtype/device).
    pub fn from_tensors(weight: &Tensor, bias: &Tensor) -> Result<Self> {
        let (cout, cin, kh, kw) = weight.dims4()?;
        if (kh, kw) != (3, 3) {
            bail!("fast_conv: expected a 3×3 kernel, got {kh}×{kw}");
        }
        let w = weight.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let b = bias.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        Self::from_oihw(cin, cout, &w, &b)
    }

    pub fn cin(&self) -> usize {
        self.cin
    }

    pub fn cout(&self) -> usize {
        self.cout
    }

    /// Multiply-adds ×2 for one `h × w` image.
    pub fn flops(&self, h: usize, w: usize) -> f64 {
        2.0 * 9.0 * (self.cin * self.cout * h * w) as f64
    }
}

#[derive(Clone, Copy)]
struct SendPtr<T>(*mut T);
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}
impl<T> SendPtr<T> {
    /// By method so closures capture the whole (Send) wrapper, not the raw field.
    fn get(self) -> *mut T {
        self.0
    }
}

#[derive(Clone, Copy)]
struct SendConstPtr<T>(*const T);
unsafe impl<T> Send for SendConstPtr<T> {}
unsafe impl<T> Sync for SendConstPtr<T> {}
impl<T> SendConstPtr<T> {
    fn get(self) -> *const T {
        self.0
    }
}

/// [`BAND_BYTES`], or `FAST_CONV_BAND_KIB` (for tuning).
fn band_bytes() -> usize {
    static B: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *B.get_or_init(|| {
        std::env::var("FAST_CONV_BAND_KIB").ok().and_then(|v| v.parse::<usize>().ok()).map_or(BAND_BYTES, |k| k << 10)
    })
}

fn band_pixels(pixels: usize, k: usize) -> usize {
    let by_cache = band_bytes() / (k * std::mem::size_of::<f32>()).max(1);
    let threads = rayon::current_num_threads().max(1);
    // At least ~4 bands per thread when the image allows it.
    let by_balance = pixels.div_ceil(4 * threads);
    by_cache.min(MAX_BAND_PIXELS).min(by_balance).max(MIN_BAND_PIXELS).min(pixels).max(1)
}

/// The core routine on raw pointers (so that source and destination may share one buffer).
///
/// Pixel `p = y·w + x` of the source holds channel `c` at `src[p·src_stride + c]` (`c < cin`);
/// output channel `o` of pixel `p` goes to `dst[p·dst_px + o·dst_ch]`.
///
/// # Safety
/// `src` must be readable at every such index and `dst` writable at every such index, for all
/// `h·w` pixels, and no destination element may be a source element or be touched by anyone
/// else during the call.
#[allow(clippy::too_many_arguments)]
unsafe fn conv3x3_raw(
    h: usize,
    w: usize,
    src: *const f32,
    src_stride: usize,
    conv: &PackedConv3x3,
    dst: *mut f32,
    dst_px: usize,
    dst_ch: usize,
    act: Activation,
) {
    let pixels = h * w;
    if pixels == 0 || conv.cout == 0 {
        return;
    }
    if conv.weight_kn2row.is_some() && std::env::var_os("FAST_CONV_NO_KN2ROW").is_none() {
        return conv3x3_kn2row_raw(h, w, src, src_stride, conv, dst, dst_px, dst_ch, act);
    }
    let cin = conv.cin;
    let cout = conv.cout;
    let k = 9 * cin;
    let band = band_pixels(pixels, k);
    let bands = pixels.div_ceil(band);
    let src = SendConstPtr(src);
    let dst = SendPtr(dst);

    (0..bands).into_par_iter().for_each_init(
        || vec![0f32; band * k],
        |col, b| {
            let (src, dst) = (src.get(), dst.get());
            let p0 = b * band;
            let p1 = (p0 + band).min(pixels);
            let m = p1 - p0;
            // im2col: row (p − p0) = the 9 neighbours' channel vectors, tap-major.
            let (mut y, mut x) = (p0 / w, p0 % w);
            for row in col[..m * k].chunks_exact_mut(k) {
                for ky in 0..3 {
                    let yy = y as isize + ky as isize - 1;
                    for kx in 0..3 {
                        let xx = x as isize + kx as isize - 1;
                        let seg = &mut row[(ky * 3 + kx) * cin..(ky * 3 + kx + 1) * cin];
                        if yy < 0 || yy >= h as isize || xx < 0 || xx >= w as isize {
                            seg.fill(0.0);
                        } else {
                            let q = yy as usize * w + xx as usize;
                            // SAFETY: caller guarantees channels [0, cin) of pixel q are
                            // readable and not written during the call.
                            let s = unsafe { std::slice::from_raw_parts(src.add(q * src_stride), cin) };
                            seg.copy_from_slice(s);
                        }
                    }
                }
                x += 1;
                if x == w {
                    x = 0;
                    y += 1;
                }
            }
            // SAFETY: dst rows p0..p1 belong to this band only; strides as documented.
            unsafe {
                let out = dst.add(p0 * dst_px);
                gemm(
                    m,
                    cout,
                    k,
                    out,
                    dst_ch as isize,
                    dst_px as isize,
                    false,
                    col.as_ptr(),
                    1,
                    k as isize,
                    conv.weight.as_ptr(),
                    1,
                    cout as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    Parallelism::None,
                );
                // Bias + activation.
                for i in 0..m {
                    let px = out.add(i * dst_px);
                    for (o, &bias) in conv.bias.iter().enumerate() {
                        let e = px.add(o * dst_ch);
                        let mut v = *e + bias;
                        if let Activation::LeakyRelu(slope) = act {
                            if v < 0.0 {
                                v *= slope;
                            }
                        }
                        *e = v;
                    }
                }
            }
        },
    );
}

/// kn2row variant of [`conv3x3_raw`] (same contract); bands of whole rows.
#[allow(clippy::too_many_arguments)]
unsafe fn conv3x3_kn2row_raw(
    h: usize,
    w: usize,
    src: *const f32,
    src_stride: usize,
    conv: &PackedConv3x3,
    dst: *mut f32,
    dst_px: usize,
    dst_ch: usize,
    act: Activation,
) {
    let cin = conv.cin;
    let cout = conv.cout;
    let n = 9 * cout;
    let wkn = conv.weight_kn2row.as_ref().expect("kn2row weights");
    let threads = rayon::current_num_threads().max(1);
    // Rows per band: GEMM output of (rows + 2 halo rows) bounded, ≥ 4 bands per thread when
    // the image is tall enough, and ≥ 8 rows where possible so the halo overhead stays small.
    let by_cache = KN2ROW_BAND_BYTES / (w * n * std::mem::size_of::<f32>()).max(1);
    let rows = by_cache.saturating_sub(2).min(h.div_ceil(4 * threads)).max(8.min(h)).max(1);
    let bands = h.div_ceil(rows);
    let src = SendConstPtr(src);
    let dst = SendPtr(dst);
    (0..bands).into_par_iter().for_each_init(
        || (vec![0f32; (rows + 2) * w * n], vec![0f32; cout]),
        |(y_buf, acc), b| {
            let (src, dst) = (src.get(), dst.get());
            let y0 = b * rows;
            let y1 = (y0 + rows).min(h);
            let e0 = y0.saturating_sub(1);
            let e1 = (y1 + 1).min(h);
            let m = (e1 - e0) * w;
            // SAFETY: rows e0..e1 of the source, channels [0, cin), stride src_stride.
            unsafe {
                gemm(
                    m,
                    n,
                    cin,
                    y_buf.as_mut_ptr(),
                    1,
                    n as isize,
                    false,
                    src.add(e0 * w * src_stride),
                    1,
                    src_stride as isize,
                    wkn.as_ptr(),
                    1,
                    n as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    Parallelism::None,
                );
            }
            for y in y0..y1 {
                for x in 0..w {
                    acc.copy_from_slice(&conv.bias);
                    for ky in 0..3 {
                        let yy = y as isize + ky as isize - 1;
                        if yy < 0 || yy >= h as isize {
                            continue;
                        }
                        let row = (yy as usize - e0) * w;
                        for kx in 0..3 {
                            let xx = x as isize + kx as isize - 1;
                            if xx < 0 || xx >= w as isize {
                                continue;
                            }
                            let tap = ky * 3 + kx;
                            let at = (row + xx as usize) * n + tap * cout;
                            for (a, &v) in acc.iter_mut().zip(&y_buf[at..at + cout]) {
                                *a += v;
                            }
                        }
                    }
                    // SAFETY: pixel (y, x) of this band's rows; strides as documented.
                    let px = unsafe { dst.add((y * w + x) * dst_px) };
                    for (o, &a) in acc.iter().enumerate() {
                        let v = match act {
                            Activation::LeakyRelu(slope) if a < 0.0 => a * slope,
                            _ => a,
                        };
                        unsafe { *px.add(o * dst_ch) = v };
                    }
                }
            }
        },
    );
}

/// 3×3 convolution (padding 1) of one NHWC image held in slices.
///
/// `src[p·src_stride + c]` is channel `c < conv.cin()` of pixel `p = y·w + x`; output channel
/// `o` of pixel `p` is written to `dst[p·dst_stride + o]` (other elements are left alone).
#[allow(clippy::too_many_arguments)]
pub fn conv3x3_nhwc(
    h: usize,
    w: usize,
    src: &[f32],
    src_stride: usize,
    conv: &PackedConv3x3,
    dst: &mut [f32],
    dst_stride: usize,
    act: Activation,
) {
    let pixels = h * w;
    assert!(src_stride >= conv.cin && dst_stride >= conv.cout, "fast_conv: stride too small");
    if pixels == 0 {
        return;
    }
    assert!(src.len() >= (pixels - 1) * src_stride + conv.cin, "fast_conv: src too short");
    assert!(dst.len() >= (pixels - 1) * dst_stride + conv.cout, "fast_conv: dst too short");
    // SAFETY: bounds checked above; src and dst are distinct borrows.
    unsafe { conv3x3_raw(h, w, src.as_ptr(), src_stride, conv, dst.as_mut_ptr(), dst_stride, 1, act) }
}

/// Converts a `C×H×W` image (`x[c·H·W + p]`) into NHWC rows of width `stride` (first `C` filled).
fn nchw_to_nhwc(x: &[f32], c: usize, pixels: usize, out: &mut [f32], stride: usize) {
    let out = SendPtr(out.as_mut_ptr());
    const CHUNK: usize = 4096;
    (0..pixels.div_ceil(CHUNK)).into_par_iter().for_each(|b| {
        let out = out.get();
        let p0 = b * CHUNK;
        let p1 = (p0 + CHUNK).min(pixels);
        for ch in 0..c {
            let plane = &x[ch * pixels..(ch + 1) * pixels];
            for (p, &v) in plane.iter().enumerate().take(p1).skip(p0) {
                // SAFETY: chunks are disjoint pixel ranges; out has pixels·stride elements.
                unsafe { *out.add(p * stride + ch) = v };
            }
        }
    });
}

fn check_cpu(t: &Tensor) -> Result<()> {
    if !matches!(t.device(), Device::Cpu) {
        bail!("fast_conv: only CPU tensors are supported");
    }
    Ok(())
}

/// Single-conv convenience on tensors: `input` `(N, cin, H, W)`, `weight` `(cout, cin, 3, 3)`,
/// `bias` `(cout)`; padding 1, stride 1; then `act`. For repeated use pack the weights once with
/// [`PackedConv3x3`] and call [`conv3x3_packed`].
pub fn conv3x3(input: &Tensor, weight: &Tensor, bias: &Tensor, act: Activation) -> Result<Tensor> {
    conv3x3_packed(input, &PackedConv3x3::from_tensors(weight, bias)?, act)
}

/// [`conv3x3`] with pre-packed weights.
pub fn conv3x3_packed(input: &Tensor, conv: &PackedConv3x3, act: Activation) -> Result<Tensor> {
    check_cpu(input)?;
    let (n, c, h, w) = input.dims4()?;
    if c != conv.cin {
        bail!("fast_conv: input has {c} channels, the convolution expects {}", conv.cin);
    }
    let dtype = input.dtype();
    let data = input.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    let pixels = h * w;
    let mut out = vec![0f32; n * conv.cout * pixels];
    let mut nhwc = vec![0f32; pixels * c];
    for i in 0..n {
        nchw_to_nhwc(&data[i * c * pixels..(i + 1) * c * pixels], c, pixels, &mut nhwc, c);
        let dst = &mut out[i * conv.cout * pixels..(i + 1) * conv.cout * pixels];
        // SAFETY: dst holds cout planes of `pixels` values; NCHW strides (1, pixels).
        unsafe { conv3x3_raw(h, w, nhwc.as_ptr(), c, conv, dst.as_mut_ptr(), 1, pixels, act) };
    }
    Tensor::from_vec(out, (n, conv.cout, h, w), &Device::Cpu)?.to_dtype(dtype)
}

/// The DenseBlock (five 3×3 convs, growth 32, LeakyReLU(0.2) after the first four, dense
/// concatenation) with its weights packed once.
#[derive(Debug, Clone)]
pub struct PackedDenseBlock {
    cin: usize,
    cout: usize,
    convs: [PackedConv3x3; 5],
}

impl PackedDenseBlock {
    /// From `(weight, bias)` tensor pairs of `conv1..conv5` in PyTorch layout.
    pub fn new(convs: &[(Tensor, Tensor); 5]) -> Result<Self> {
        let packed = [
            PackedConv3x3::from_tensors(&convs[0].0, &convs[0].1)?,
            PackedConv3x3::from_tensors(&convs[1].0, &convs[1].1)?,
            PackedConv3x3::from_tensors(&convs[2].0, &convs[2].1)?,
            PackedConv3x3::from_tensors(&convs[3].0, &convs[3].1)?,
            PackedConv3x3::from_tensors(&convs[4].0, &convs[4].1)?,
        ];
        Self::from_packed(packed)
    }

    /// From OIHW `(weight, bias)` slices of `conv1..conv5`.
    pub fn from_slices(cin: usize, cout: usize, convs: [(&[f32], &[f32]); 5]) -> Result<Self> {
        let conv = |i: usize| {
            let out = if i < 4 { GROWTH } else { cout };
            PackedConv3x3::from_oihw(cin + i * GROWTH, out, convs[i].0, convs[i].1)
        };
        Self::from_packed([conv(0)?, conv(1)?, conv(2)?, conv(3)?, conv(4)?])
    }

    fn from_packed(convs: [PackedConv3x3; 5]) -> Result<Self> {
        let cin = convs[0].cin;
        for (i, conv) in convs.iter().enumerate() {
            let want_in = cin + i * GROWTH;
            if conv.cin != want_in || (i < 4 && conv.cout != GROWTH) {
                bail!(
                    "fast_conv: conv{} is {}→{}, a DenseBlock needs {want_in}→{}",
                    i + 1,
                    conv.cin,
                    conv.cout,
                    if i < 4 { GROWTH.to_string() } else { "cout".into() }
                );
            }
        }
        let cout = convs[4].cout;
        Ok(Self { cin, cout, convs })
    }

    pub fn cin(&self) -> usize {
        self.cin
    }

    pub fn cout(&self) -> usize {
        self.cout
    }

    /// FLOPs (2 per multiply-add) of one forward pass on an `h × w` image.
    pub fn flops(&self, h: usize, w: usize) -> f64 {
        self.convs.iter().map(|c| c.flops(h, w)).sum()
    }

    /// One image: `x` is `cin × h × w` (NCHW without the batch), `out` receives `cout × h × w`.
    pub fn forward_slice(&self, x: &[f32], h: usize, w: usize, out: &mut [f32]) {
        let pixels = h * w;
        assert_eq!(x.len(), self.cin * pixels, "fast_conv: input size");
        assert_eq!(out.len(), self.cout * pixels, "fast_conv: output size");
        if pixels == 0 {
            return;
        }
        let width = self.cin + 4 * GROWTH;
        let mut feat = vec![0f32; pixels * width];
        nchw_to_nhwc(x, self.cin, pixels, &mut feat, width);
        let base = feat.as_mut_ptr();
        for (i, conv) in self.convs[..4].iter().enumerate() {
            let slot = self.cin + i * GROWTH;
            // SAFETY: conv i reads channels [0, slot) and writes [slot, slot + 32) of every
            // pixel of `feat` (pixels·width values): disjoint, in bounds.
            unsafe {
                conv3x3_raw(h, w, base, width, conv, base.add(slot), width, 1, Activation::LeakyRelu(LEAKY_SLOPE))
            };
        }
        // SAFETY: reads all `width` channels of feat, writes NCHW planes of `out`.
        unsafe { conv3x3_raw(h, w, base, width, &self.convs[4], out.as_mut_ptr(), 1, pixels, Activation::None) };
    }

    /// `x`: `(N, cin, H, W)` CPU tensor; returns `(N, cout, H, W)` in `x`'s dtype.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        check_cpu(x)?;
        let (n, c, h, w) = x.dims4()?;
        if c != self.cin {
            bail!("fast_conv: input has {c} channels, the DenseBlock expects {}", self.cin);
        }
        let dtype = x.dtype();
        let data = x.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let pixels = h * w;
        let mut out = vec![0f32; n * self.cout * pixels];
        for i in 0..n {
            self.forward_slice(
                &data[i * c * pixels..(i + 1) * c * pixels],
                h,
                w,
                &mut out[i * self.cout * pixels..(i + 1) * self.cout * pixels],
            );
        }
        Tensor::from_vec(out, (n, self.cout, h, w), &Device::Cpu)?.to_dtype(dtype)
    }
}

/// One-shot DenseBlock forward (packs the weights every call; keep a [`PackedDenseBlock`] for
/// repeated use). `convs` are conv1..conv5's `(weight, bias)` in PyTorch layout.
pub fn dense_block_forward(input: &Tensor, convs: &[(Tensor, Tensor); 5]) -> Result<Tensor> {
    PackedDenseBlock::new(convs)?.forward(input)
}
