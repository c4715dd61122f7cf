//! Fast CPU inference for the networks' only heavy operation: the DenseBlock's 3×3 convolutions.
//!
//! candle 0.11's CPU `conv2d` runs these shapes (3×3, padding 1, 3–173 input channels, 32
//! output channels) at a small fraction of the machine's GEMM throughput. This module computes
//! the same thing as GEMMs over **zero-padded NHWC** data:
//!
//! * One feature buffer per image, `(H + 2)·(W + 2)` pixels × `cin + 4·32` channels, holds
//!   `[x, x1, x2, x3, x4]` side by side with a one-pixel zero border, so the DenseBlock's
//!   concatenations are free (conv k reads channels `[0, cin + (k−1)·32)` of every pixel and
//!   writes its 32 outputs straight into the next 32 channels) and so is the padding.
//! * With the border in memory, tap `(ky, kx)` of padded pixel `q` is pixel
//!   `q + (ky − 1)·(W + 2) + kx − 1`. A band of consecutive pixels is therefore convolved by
//!   nine GEMMs, one per tap, each reading its `band × cin` input in place (row stride = the
//!   buffer's channel count) and accumulating into a small per-thread tile: no im2col copy at
//!   all. Bias + LeakyReLU are applied to the tile, which is then stored, border columns
//!   skipped. Bands run in parallel on rayon's pool with single-threaded GEMMs.
//! * Convolutions with few outputs (the last one, `cout` = 3 or 9) use kn2row: one GEMM of the
//!   pixels' channel vectors with all nine taps' weights side by side (`cin × 9·cout`), then a
//!   3×3 shift-and-add; a GEMM with 3 output columns would waste most of the kernel.
//! * The last convolution writes NCHW directly, so the result needs no transpose.
//!
//! Weights are packed once ([`PackedConv3x3`], [`PackedDenseBlock`]); the results equal candle's
//! `conv2d` chain up to f32 summation order (see `tests/fast_conv.rs`). Speed and FLOP counts:
//! `docs/cpu-performance.md`.

use candle_core::{bail, DType, Device, Result, Tensor};
use gemm::{gemm, Parallelism};
use rayon::prelude::*;

use crate::narrow_conv::{NarrowConv, Padded};
use crate::winograd::{Geometry, Sink, Split, SplitConv5, Variant, WinogradConv};

/// Channels added by each of the DenseBlock's first four convolutions.
pub const GROWTH: usize = 32;
/// The DenseBlock's LeakyReLU slope.
pub const LEAKY_SLOPE: f32 = 0.2;

/// Target size in bytes of the input a band's nine GEMMs read (about half a core's L2 here).
const BAND_BYTES: usize = 1 << 20;
/// Smallest band, in pixels, so tiny-`cin` convolutions still make GEMMs worth calling.
const MIN_BAND_PIXELS: usize = 64;
/// Largest band, in pixels, so large images still give every thread many bands.
const MAX_BAND_PIXELS: usize = 4096;
/// Convolutions with at most this many outputs use the kn2row path: one GEMM of the pixels'
/// channel vectors (read in place, no im2col) with all nine taps' weights side by side
/// (`cin × 9·cout`), then a 3×3 shift-and-add. Nine per-tap GEMMs with so few output columns
/// would run the GEMM kernel mostly empty and re-read the input nine times for 2·cout flops.
pub const KN2ROW_MAX_COUT: usize = 16;
/// The last convolution of a block joins the Winograd path from this many outputs on.
pub const WINOGRAD_MIN_COUT: usize = 32;
/// Target size in bytes of one kn2row band's GEMM output.
const KN2ROW_BAND_BYTES: usize = 1 << 20;

/// What follows a convolution's bias.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    None,
    LeakyRelu(f32),
}

impl Activation {
    #[inline(always)]
    fn apply(self, v: f32) -> f32 {
        match self {
            Activation::LeakyRelu(slope) if v < 0.0 => v * slope,
            _ => v,
        }
    }
}

/// One 3×3 convolution (stride 1, padding 1) with bias, its weights packed for the GEMM.
#[derive(Debug, Clone)]
pub struct PackedConv3x3 {
    cin: usize,
    cout: usize,
    /// `9·cin × cout`, row-major; row `(ky·3 + kx)·cin + c`: tap-major, so tap `t`'s
    /// `cin × cout` block starts at row `t·cin`.
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

    /// The PyTorch weight `w[o][c][ky][kx]`.
    pub fn weight_at(&self, o: usize, c: usize, ky: usize, kx: usize) -> f32 {
        self.weight[((ky * 3 + kx) * self.cin + c) * self.cout + o]
    }

    pub fn bias(&self) -> &[f32] {
        &self.bias
    }

    /// Multiply-adds ×2 for one `h × w` image.
    pub fn flops(&self, h: usize, w: usize) -> f64 {
        2.0 * 9.0 * (self.cin * self.cout * h * w) as f64
    }
}

#[derive(Clone, Copy)]
pub(crate) struct SendPtr<T>(pub(crate) *mut T);
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}
impl<T> SendPtr<T> {
    /// By method so closures capture the whole (Send) wrapper, not the raw field.
    pub(crate) fn get(self) -> *mut T {
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

/// kn2row for small `cout`, unless `FAST_CONV_NO_KN2ROW` is set (for comparisons). Read once:
/// this is asked for every convolution.
fn kn2row_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("FAST_CONV_NO_KN2ROW").is_none())
}

/// Where a convolution's outputs go: output channel `o` of image pixel `(y, x)` is written to
/// `ptr[y·row + x·px + o·ch]`.
#[derive(Clone, Copy)]
struct Dst {
    ptr: SendPtr<f32>,
    row: usize,
    px: usize,
    ch: usize,
}

impl Dst {
    /// # Safety
    /// `(y, x, o)` must be inside the destination the caller described.
    #[inline(always)]
    unsafe fn write(self, y: usize, x: usize, values: &[f32], act: Activation) {
        let base = self.ptr.get().add(y * self.row + x * self.px);
        for (o, &v) in values.iter().enumerate() {
            *base.add(o * self.ch) = act.apply(v);
        }
    }
}

thread_local! {
    /// Per-thread scratch (GEMM accumulators), reused across calls: no allocation or zeroing
    /// per band. Every element a band reads is written by its first GEMM first.
    static SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    SCRATCH.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        f(&mut buf[..len])
    })
}

/// 3×3 convolution (padding 1) of an image held in a **zero-padded** NHWC buffer.
///
/// The source has `(h + 2) × (w + 2)` pixels of `src_stride` floats; image pixel `(y, x)` is
/// padded pixel `(y + 1, x + 1)` and holds channel `c < cin` at
/// `src[((y + 1)·(w + 2) + x + 1)·src_stride + c]`; the first `cin` channels of the border
/// pixels are zero. With the border in memory every tap of every pixel is a plain read, so no
/// im2col is needed: see [`conv_taps`] and [`conv_kn2row`].
///
/// # Safety
/// `src` must be readable as described and `dst` writable at every output index, no
/// destination element may be a source element, and nobody else may write either during
/// the call.
unsafe fn conv3x3_padded(h: usize, w: usize, src: *const f32, src_stride: usize, conv: &PackedConv3x3, dst: Dst, act: Activation) {
    if h == 0 || w == 0 || conv.cout == 0 {
        return;
    }
    if conv.weight_kn2row.is_some() && kn2row_enabled() {
        conv_kn2row(h, w, src, src_stride, conv, dst, act)
    } else {
        conv_taps(h, w, src, src_stride, conv, dst, act)
    }
}

/// The convolution as nine shifted GEMMs accumulated in a band-local tile. In the padded
/// buffer's raster order, tap `(ky, kx)` of padded pixel `q` is pixel
/// `q + (ky − 1)·(w + 2) + kx − 1`: for a band of consecutive pixels each tap's inputs form one
/// strided matrix read in place (`m × cin`, row stride `src_stride`). Bands cover padded
/// pixels (1, 1) to (h, w) in raster order, border columns in between included: their
/// outputs are computed and dropped.
unsafe fn conv_taps(h: usize, w: usize, src: *const f32, src_stride: usize, conv: &PackedConv3x3, dst: Dst, act: Activation) {
    let (cin, cout) = (conv.cin, conv.cout);
    let wp = w + 2;
    // Padded pixels (1, 1) ..= (h, w): every tap of every one of them is inside the buffer.
    let first = wp + 1;
    let count = (h - 1) * wp + w;
    let threads = rayon::current_num_threads().max(1);
    // The three input row windows of a band (m + 2 rows of pixels) should stay in cache.
    let by_cache = band_bytes() / (src_stride * std::mem::size_of::<f32>()).max(1);
    let by_balance = count.div_ceil(4 * threads);
    let band = by_cache.min(MAX_BAND_PIXELS).min(by_balance).max(MIN_BAND_PIXELS).min(count);
    let bands = count.div_ceil(band);
    let src = SendConstPtr(src);
    (0..bands).into_par_iter().for_each(|b| {
        let src = src.get();
        let q0 = first + b * band;
        let q1 = (q0 + band).min(first + count);
        let m = q1 - q0;
        with_scratch(m * cout, |acc| {
            for tap in 0..9 {
                let (ky, kx) = (tap / 3, tap % 3);
                // q0 ≥ w + 3, so the offset never goes below pixel 0.
                let q = q0 + ky * wp + kx - wp - 1;
                // SAFETY: pixels q..q + m of the padded source, channels [0, cin); acc is m × cout.
                unsafe {
                    gemm_rows(
                        (m, cout, cin),
                        (acc.as_mut_ptr(), cout),
                        tap > 0,
                        (src.add(q * src_stride), src_stride),
                        (conv.weight.as_ptr().add(tap * cin * cout), cout),
                    )
                }
            }
            epilogue(q0, wp, acc, conv, dst, act);
        });
    });
}

/// `dst = lhs · rhs` (or `dst += lhs · rhs` with `accumulate`) on this thread, for
/// `(m, n, k)` row-major matrices given as (pointer, row stride); columns are contiguous. Every
/// GEMM of the CPU path has this shape: bands run in parallel, each GEMM on its own thread.
///
/// # Safety
/// `dst` must be writable (and readable with `accumulate`) as `m × n`, `lhs` readable as
/// `m × k`, `rhs` as `k × n`, with those row strides, and `dst` must not overlap the others.
pub(crate) unsafe fn gemm_rows(
    (m, n, k): (usize, usize, usize),
    (dst, dst_rs): (*mut f32, usize),
    accumulate: bool,
    (lhs, lhs_rs): (*const f32, usize),
    (rhs, rhs_rs): (*const f32, usize),
) {
    gemm(
        m,
        n,
        k,
        dst,
        1,
        dst_rs as isize,
        accumulate,
        lhs,
        1,
        lhs_rs as isize,
        rhs,
        1,
        rhs_rs as isize,
        if accumulate { 1.0 } else { 0.0 },
        1.0,
        false,
        false,
        false,
        Parallelism::None,
    )
}

/// Bias, activation and the store of a band's `m × cout` tile (padded pixels from `q0`),
/// border columns skipped. Works on runs of consecutive interior pixels; an NCHW destination
/// is written plane by plane so that each store stream is contiguous.
fn epilogue(q0: usize, wp: usize, acc: &mut [f32], conv: &PackedConv3x3, dst: Dst, act: Activation) {
    let cout = conv.cout;
    for row in acc.chunks_exact_mut(cout) {
        for (v, &bias) in row.iter_mut().zip(&conv.bias) {
            *v = act.apply(*v + bias);
        }
    }
    let m = acc.len() / cout;
    let mut i = 0;
    while i < m {
        let q = q0 + i;
        let (yp, xp) = (q / wp, q % wp);
        if xp == 0 || xp == wp - 1 {
            i += 1;
            continue;
        }
        // Interior pixels (yp, xp..) up to the row's right border or the tile's end.
        let run = (wp - 1 - xp).min(m - i);
        let (y, x) = (yp - 1, xp - 1);
        let tile = &acc[i * cout..(i + run) * cout];
        // SAFETY: image pixels (y, x..x + run) belong to the calling band only.
        unsafe {
            let base = dst.ptr.get().add(y * dst.row + x * dst.px);
            if dst.ch == 1 {
                for (j, values) in tile.chunks_exact(cout).enumerate() {
                    std::ptr::copy_nonoverlapping(values.as_ptr(), base.add(j * dst.px), cout);
                }
            } else {
                for o in 0..cout {
                    let plane = base.add(o * dst.ch);
                    for j in 0..run {
                        *plane.add(j * dst.px) = tile[j * cout + o];
                    }
                }
            }
        }
        i += run;
    }
}

/// Convolutions with few outputs: one GEMM of the pixels' channel vectors, read in place,
/// with all nine taps' weights side by side (`cin × 9·cout`), then a 3×3 shift-and-add. Bands
/// of whole image rows; the GEMM covers the band's rows plus one padded row above and below.
unsafe fn conv_kn2row(h: usize, w: usize, src: *const f32, src_stride: usize, conv: &PackedConv3x3, dst: Dst, act: Activation) {
    let (cin, cout) = (conv.cin, conv.cout);
    let n = 9 * cout;
    let wp = w + 2;
    let wkn = conv.weight_kn2row.as_ref().expect("kn2row weights");
    let threads = rayon::current_num_threads().max(1);
    // Rows per band: GEMM output of (rows + 2) padded rows bounded, ≥ 4 bands per thread when
    // the image is tall enough, and ≥ 8 rows where possible so the halo overhead stays small.
    let by_cache = KN2ROW_BAND_BYTES / (wp * n * std::mem::size_of::<f32>()).max(1);
    let rows = by_cache.saturating_sub(2).min(h.div_ceil(4 * threads)).max(8.min(h)).max(1);
    let bands = h.div_ceil(rows);
    let src = SendConstPtr(src);
    (0..bands).into_par_iter().for_each(|b| {
        let src = src.get();
        let y0 = b * rows;
        let y1 = (y0 + rows).min(h);
        // Padded rows y0 ..= y1 + 1 (image rows y0 − 1 ..= y1).
        let m = (y1 - y0 + 2) * wp;
        with_scratch(m * n + cout, |buf| {
            let (y_buf, acc) = buf.split_at_mut(m * n);
            // SAFETY: padded rows y0..y1 + 2 of the source, channels [0, cin).
            unsafe {
                gemm_rows((m, n, cin), (y_buf.as_mut_ptr(), n), false, (src.add(y0 * wp * src_stride), src_stride), (wkn.as_ptr(), n))
            }
            // The networks' small convolutions have 3 or 9 outputs: fixed-size sums for those.
            match cout {
                3 => shift_add(y0, y1, w, y_buf, &mut [0.0; 3], conv, dst, act),
                9 => shift_add(y0, y1, w, y_buf, &mut [0.0; 9], conv, dst, act),
                _ => shift_add(y0, y1, w, y_buf, acc, conv, dst, act),
            }
        });
    });
}

/// The kn2row sum for image rows `y0..y1`: `y_buf` holds the GEMM output (`9·cout` values per
/// padded pixel) of padded rows `y0 ..= y1 + 1`; `acc` is a `cout`-long accumulator. Inlined
/// into each call above, so a fixed-size `acc` gives loops of a known length.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn shift_add(
    y0: usize,
    y1: usize,
    w: usize,
    y_buf: &[f32],
    acc: &mut [f32],
    conv: &PackedConv3x3,
    dst: Dst,
    act: Activation,
) {
    let (wp, cout) = (w + 2, acc.len());
    let n = 9 * cout;
    for y in y0..y1 {
        for x in 0..w {
            acc.copy_from_slice(&conv.bias);
            for ky in 0..3 {
                let row = (y - y0 + ky) * wp + x;
                for kx in 0..3 {
                    let at = (row + kx) * n + (ky * 3 + kx) * cout;
                    for (a, &v) in acc.iter_mut().zip(&y_buf[at..at + cout]) {
                        *a += v;
                    }
                }
            }
            // SAFETY: pixel (y, x) belongs to the calling band only.
            unsafe { dst.write(y, x, acc, act) };
        }
    }
}

/// A zero-padded NHWC buffer (`(h + 2) × (w + 2)` pixels of `width` floats) with the `C×H×W`
/// image `x` in the first `c` channels of its interior.
fn padded_nhwc(x: &[f32], c: usize, h: usize, w: usize, width: usize) -> Vec<f32> {
    let mut out = Vec::new();
    fill_padded_nhwc(x, c, h, w, width, &mut out);
    out
}

/// [`padded_nhwc`] into a reused buffer. Only the border pixels are zeroed (all `width`
/// channels) and the input channels written: a DenseBlock writes every other interior channel
/// before anything reads it, so the rest of the buffer may hold stale values.
fn fill_padded_nhwc(x: &[f32], c: usize, h: usize, w: usize, width: usize, out: &mut Vec<f32>) {
    let len = (h + 2) * (w + 2) * width;
    if out.len() < len {
        out.resize(len, 0.0);
    }
    fill_padded_nhwc_in(x, c, h, w, width, h + 2, w + 2, &mut out[..len])
}

/// [`fill_padded_nhwc`] into a buffer of `hp × wp` pixels (at least `(h + 2) × (w + 2)`): the
/// pixels right of and below the image are zeroed like the border.
#[allow(clippy::too_many_arguments)]
fn fill_padded_nhwc_in(x: &[f32], c: usize, h: usize, w: usize, width: usize, hp: usize, wp: usize, out: &mut [f32]) {
    let len = hp * wp * width;
    let out = &mut out[..len];
    let row_len = wp * width;
    out[..row_len].fill(0.0);
    out[(h + 1) * row_len..].fill(0.0);
    let plane = h * w;
    out[row_len..(h + 1) * row_len].par_chunks_mut(row_len).enumerate().for_each(|(y, row)| {
        row[..width].fill(0.0);
        row[(w + 1) * width..].fill(0.0);
        for ch in 0..c {
            let line = &x[ch * plane + y * w..ch * plane + (y + 1) * w];
            for (xx, &v) in line.iter().enumerate() {
                row[(xx + 1) * width + ch] = v;
            }
        }
    });
}

thread_local! {
    /// The DenseBlock feature buffer of the calling thread, kept between blocks: a network runs
    /// dozens of blocks of the same size in a row, and a fresh zeroed allocation of tens of MB
    /// each time shows in the profile.
    static FEATURES: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    /// conv5's split sums (`winograd::Split`), kept between conv4's pass and conv5's.
    static SPLIT_SUMS: std::cell::RefCell<crate::aligned::Aligned> = std::cell::RefCell::new(crate::aligned::Aligned::default());
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
    let (cin, wp) = (conv.cin, w + 2);
    let mut padded = vec![0f32; (h + 2) * wp * cin];
    for p in 0..pixels {
        let q = (p / w + 1) * wp + p % w + 1;
        padded[q * cin..(q + 1) * cin].copy_from_slice(&src[p * src_stride..p * src_stride + cin]);
    }
    let dst = Dst { ptr: SendPtr(dst.as_mut_ptr()), row: w * dst_stride, px: dst_stride, ch: 1 };
    // SAFETY: `padded` is the documented padded layout; dst bounds checked above.
    unsafe { conv3x3_padded(h, w, padded.as_ptr(), cin, conv, dst, act) }
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
    for i in 0..n {
        let padded = padded_nhwc(&data[i * c * pixels..(i + 1) * c * pixels], c, h, w, c);
        let planes = &mut out[i * conv.cout * pixels..(i + 1) * conv.cout * pixels];
        let dst = Dst { ptr: SendPtr(planes.as_mut_ptr()), row: w, px: 1, ch: pixels };
        // SAFETY: `planes` holds cout planes of h·w values.
        unsafe { conv3x3_padded(h, w, padded.as_ptr(), c, conv, dst, act) };
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
    /// conv1..conv4 (and conv5 with ≥ `WINOGRAD_MIN_COUT` outputs) in the Winograd domain, when
    /// a variant is configured (`crate::winograd`).
    winograd: Option<(Variant, Vec<WinogradConv>)>,
    /// conv5 with 3 or 9 outputs where the CPU has AVX-512 (`crate::narrow_conv`).
    narrow: Option<NarrowConv>,
    /// conv5 with few outputs in the Winograd domain, its sums split between conv4's pass and
    /// its own (`winograd::Split`), where that runs; it then replaces `narrow`.
    split5: Option<SplitConv5>,
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
        let narrow = NarrowConv::new(&convs[4]);
        Ok(Self { cin, cout, convs, winograd: None, narrow, split5: None }.with_winograd(crate::winograd::configured()))
    }

    /// The same block with its convolutions computed by `variant` (`None`: the direct path).
    pub fn with_winograd(mut self, variant: Option<Variant>) -> Self {
        // conv5 too when it has enough outputs to fill the GEMMs (IRN ×4's 45); with 3 or 9 the
        // direct kn2row path is the faster one.
        let count = if self.cout >= WINOGRAD_MIN_COUT { 5 } else { 4 };
        self.winograd = variant.map(|v| (v, self.convs[..count].iter().map(|c| WinogradConv::new(v, c)).collect()));
        self.split5 = match (&self.winograd, count) {
            (Some((v, convs)), 4) => SplitConv5::new(&convs[3], WinogradConv::new(*v, &self.convs[4])),
            _ => None,
        };
        self
    }

    /// The Winograd variant the convolutions run with, if any.
    pub fn winograd(&self) -> Option<Variant> {
        self.winograd.as_ref().map(|(v, _)| *v)
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
        FEATURES.with(|cell| {
            // A block running inside another block's call on this thread (not done by the
            // networks) gets its own buffer instead of a borrow panic.
            match (cell.try_borrow_mut(), &self.winograd) {
                (Ok(mut feat), Some(wino)) => self.forward_winograd(wino, x, h, w, &mut feat, out),
                (Ok(mut feat), None) => self.forward_padded(x, h, w, &mut feat, out),
                (Err(_), Some(wino)) => self.forward_winograd(wino, x, h, w, &mut Vec::new(), out),
                (Err(_), None) => self.forward_padded(x, h, w, &mut Vec::new(), out),
            }
        })
    }

    /// conv1..conv4 by Winograd into the spatial buffer; conv5 into `out`: by Winograd when it
    /// has enough outputs, split between conv4's pass and its own with 9 (`winograd::Split`),
    /// by `narrow_conv` with 3, otherwise by the direct path on the same buffer.
    #[allow(clippy::too_many_arguments)]
    fn forward_winograd(
        &self,
        (variant, wconvs): &(Variant, Vec<WinogradConv>),
        x: &[f32],
        h: usize,
        w: usize,
        feat: &mut Vec<f32>,
        out: &mut [f32],
    ) {
        // Pixels a whole number of cache lines long, starting on a line: the transforms read
        // 16 channels (one line) at a time.
        let width = (self.cin + 4 * GROWTH).next_multiple_of(16);
        let geo = Geometry::new(*variant, h, w, width);
        let feat_len = geo.hp * geo.wp * width;
        if feat.len() < feat_len + 16 {
            feat.resize(feat_len + 16, 0.0);
        }
        let skew = feat.as_ptr().align_offset(64).min(15);
        let feat = &mut feat[skew..skew + feat_len];
        fill_padded_nhwc_in(x, self.cin, h, w, width, geo.hp, geo.wp, feat);
        if let Some(conv5) = &self.split5 {
            for (i, conv) in wconvs.iter().take(3).enumerate() {
                let sink = Sink::Features { slot: self.cin + i * GROWTH, slope: LEAKY_SLOPE };
                crate::winograd::convolve(*variant, &geo, conv, feat, sink, &mut []);
            }
            let c0 = self.cin + 3 * GROWTH;
            let mut run = |sums: &mut crate::aligned::Aligned| {
                sums.ensure_len(variant.alpha * variant.alpha * Split::rows(&geo) * 16);
                let sink = Sink::Features { slot: c0, slope: LEAKY_SLOPE };
                crate::winograd::convolve_with(*variant, &geo, &wconvs[3], feat, sink, &mut [], Some(Split { conv5, sums }));
                crate::winograd::finish_split(*variant, &geo, c0, feat, Split { conv5, sums }, out);
            };
            // As FEATURES: a block run inside another's call on this thread gets its own sums.
            SPLIT_SUMS.with(|cell| match cell.try_borrow_mut() {
                Ok(mut sums) => run(&mut sums),
                Err(_) => run(&mut crate::aligned::Aligned::default()),
            });
            return;
        }
        for (i, conv) in wconvs.iter().take(4).enumerate() {
            let sink = Sink::Features { slot: self.cin + i * GROWTH, slope: LEAKY_SLOPE };
            crate::winograd::convolve(*variant, &geo, conv, feat, sink, &mut []);
        }
        if let Some(conv5) = wconvs.get(4) {
            crate::winograd::convolve(*variant, &geo, conv5, feat, Sink::Planes, out);
            return;
        }
        if let Some(narrow) = &self.narrow {
            narrow.forward(feat, Padded { h, w, wp: geo.wp, width }, out);
            return;
        }
        // conv5 over the whole tile grid (the extra pixels are zero and their outputs dropped).
        let (hh, ww) = (geo.hp - 2, geo.wp - 2);
        let base = feat.as_ptr();
        if (hh, ww) == (h, w) {
            let dst = Dst { ptr: SendPtr(out.as_mut_ptr()), row: w, px: 1, ch: h * w };
            // SAFETY: reads all `width` channels of feat, writes the NCHW planes of `out`.
            unsafe { conv3x3_padded(h, w, base, width, &self.convs[4], dst, Activation::None) };
        } else {
            let mut full = vec![0f32; self.cout * hh * ww];
            let dst = Dst { ptr: SendPtr(full.as_mut_ptr()), row: ww, px: 1, ch: hh * ww };
            // SAFETY: as above, into `full` (cout planes of hh × ww).
            unsafe { conv3x3_padded(hh, ww, base, width, &self.convs[4], dst, Activation::None) };
            for o in 0..self.cout {
                for y in 0..h {
                    out[(o * h + y) * w..][..w].copy_from_slice(&full[(o * hh + y) * ww..][..w]);
                }
            }
        }
    }

    fn forward_padded(&self, x: &[f32], h: usize, w: usize, feat: &mut Vec<f32>, out: &mut [f32]) {
        let (width, wp, pixels) = (self.cin + 4 * GROWTH, w + 2, h * w);
        fill_padded_nhwc(x, self.cin, h, w, width, feat);
        let base = feat.as_mut_ptr();
        for (i, conv) in self.convs[..4].iter().enumerate() {
            let slot = self.cin + i * GROWTH;
            // Interior pixels only: the border keeps its zeros for the next convolutions.
            let dst = Dst { ptr: SendPtr(unsafe { base.add((wp + 1) * width + slot) }), row: wp * width, px: width, ch: 1 };
            // SAFETY: conv i reads channels [0, slot) and writes [slot, slot + 32) of the
            // interior pixels of `feat`: disjoint, in bounds.
            unsafe { conv3x3_padded(h, w, base, width, conv, dst, Activation::LeakyRelu(LEAKY_SLOPE)) };
        }
        if let Some(narrow) = &self.narrow {
            narrow.forward(feat, Padded { h, w, wp, width }, out);
            return;
        }
        let dst = Dst { ptr: SendPtr(out.as_mut_ptr()), row: w, px: 1, ch: pixels };
        // SAFETY: reads all `width` channels of feat, writes the NCHW planes of `out`.
        unsafe { conv3x3_padded(h, w, base, width, &self.convs[4], dst, Activation::None) };
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
