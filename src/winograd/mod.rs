//! Winograd minimal filtering for the DenseBlock's 3×3 convolutions on the CPU.
//!
//! F(m×m, 3×3) computes an m×m output tile from an α×α input tile (α = m + 2) with α²
//! multiplications per input/output channel pair instead of 9·m²: 2.25× fewer for F(2×2, 3×3)
//! and 4× fewer for F(4×4, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural
//! Networks", 2016). Over channels the products become α² independent GEMMs:
//! `M_ξ = V_ξ · U_ξ` with `V_ξ` (tiles × cin) the transformed input and `U_ξ` (cin × cout) the
//! transformed weights, then each tile's output is `Aᵀ M A`.
//!
//! Each band of tiles transforms its inputs on the fly, for every channel the convolution
//! reads, into a buffer that stays in L2, and multiplies from there. Keeping the transformed
//! tiles of x, x1, x2… for the whole block and reusing them in every later convolution (each
//! channel transformed once) was tried first: those tiles are 2.25–4× the feature map, so they
//! live in memory, and reading them back made every convolution memory-bound, no faster than
//! the direct path (`docs/cpu-performance.md`). `fast_conv` runs conv1–conv4 of every block
//! here, conv5 when it has at least `fast_conv::WINOGRAD_MIN_COUT` outputs, and conv5 with 9
//! outputs as a [`Split`] (its sums over conv4's inputs taken in conv4's pass). With AVX-512
//! the three loops are `avx512.rs`'s intrinsics; elsewhere the generic code below and the GEMM
//! crate.
//!
//! Precision: the transforms add and subtract scaled copies of the inputs, and the products
//! of large values cancel in the output transform; F(4×4, 3×3) (the default) keeps F(2×2)'s
//! accuracy on the parity fixtures because its points are 0, ±3/2, ±2/3 and its GEMMs sum 16
//! channels at a time ([`ACCUMULATE_STEPS`]); see `docs/cpu-performance.md`.

use rayon::prelude::*;

use crate::aligned::Aligned;
use crate::fast_conv::{gemm_rows, PackedConv3x3, SendPtr};
use crate::simd::{simd, Simd};

type Ptr = SendPtr<f32>;

#[cfg(target_arch = "x86_64")]
mod avx512;

/// One F(m×m, 3×3) algorithm: its output tile side and its three transform matrices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Variant {
    pub name: &'static str,
    /// Output tile side.
    pub m: usize,
    /// Input tile side, m + 2.
    pub alpha: usize,
    /// Bᵀ, α × α, row-major.
    bt: &'static [f64],
    /// G, α × 3.
    g: &'static [f64],
    /// Aᵀ, m × α.
    at: &'static [f64],
}

/// F(2×2, 3×3): interpolation points 0, 1, −1, ∞.
pub const F2X3: Variant = Variant {
    name: "F(2x2,3x3)",
    m: 2,
    alpha: 4,
    bt: &[1., 0., -1., 0., 0., 1., 1., 0., 0., -1., 1., 0., 0., 1., 0., -1.],
    g: &[1., 0., 0., 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0., 0., 1.],
    at: &[1., 1., 1., 0., 0., 1., -1., -1.],
};

/// F(4×4, 3×3): interpolation points 0, ±3/2, ±2/3, ∞. The textbook points 0, ±1, ±2 give
/// rounding errors about 13× F(2×2)'s; these give about 4× (a float32 simulation of the
/// 2-D algorithm over 128 channels: 7.9e-6 against 2.4e-5, F(2×2) 1.7e-6; the search over
/// small rationals is in `docs/cpu-performance.md`). Their constants are not binary fractions,
/// so the transforms round them to float32, which the simulation includes.
pub const F4X3: Variant = Variant {
    name: "F(4x4,3x3)",
    m: 4,
    alpha: 6,
    bt: &[
        1., 0., -97. / 36., 0., 1., 0., //
        0., -2. / 3., -4. / 9., 3. / 2., 1., 0., //
        0., 2. / 3., -4. / 9., -3. / 2., 1., 0., //
        0., -3. / 2., -9. / 4., 2. / 3., 1., 0., //
        0., 3. / 2., -9. / 4., -2. / 3., 1., 0., //
        0., 1., 0., -97. / 36., 0., 1.,
    ],
    g: &[
        1., 0., 0., //
        8. / 65., 12. / 65., 18. / 65., //
        8. / 65., -12. / 65., 18. / 65., //
        -81. / 130., -27. / 65., -18. / 65., //
        -81. / 130., 27. / 65., -18. / 65., //
        0., 0., 1.,
    ],
    at: &[
        1., 1., 1., 1., 1., 0., //
        0., 3. / 2., -3. / 2., 2. / 3., -2. / 3., 0., //
        0., 9. / 4., 9. / 4., 4. / 9., 4. / 9., 0., //
        0., 27. / 8., -27. / 8., 8. / 27., -8. / 27., 1.,
    ],
};

/// F(4×4, 3×3)'s transform constants in float32 (see [`F4X3`]): `Bᵀ` rows 0 and 5 are
/// `d0 − C0·d2 + d4`; rows 1 and 2 are `(B12·d2 + d4) ± (B1·d1 + B13·d3)`, rows 3 and 4 the
/// same with B34, B3, B33; `Aᵀ` uses p = 3/2, q = 2/3 and their squares and cubes.
pub(crate) mod f4 {
    pub const C0: f32 = 97.0 / 36.0;
    pub const B12: f32 = -4.0 / 9.0;
    pub const B1: f32 = -2.0 / 3.0;
    pub const B13: f32 = 3.0 / 2.0;
    pub const B34: f32 = -9.0 / 4.0;
    pub const B3: f32 = -3.0 / 2.0;
    pub const B33: f32 = 2.0 / 3.0;
    pub const P: f32 = 3.0 / 2.0;
    pub const Q: f32 = 2.0 / 3.0;
    pub const P2: f32 = 9.0 / 4.0;
    pub const Q2: f32 = 4.0 / 9.0;
    pub const P3: f32 = 27.0 / 8.0;
    pub const Q3: f32 = 8.0 / 27.0;
}

/// Which variant the DenseBlocks use: `RESCALE_LAB_WINOGRAD` = `off`, `f2` or `f4`; read once.
/// The default is the one chosen by measurement (`docs/cpu-performance.md`).
pub fn configured() -> Option<Variant> {
    static V: std::sync::OnceLock<Option<Variant>> = std::sync::OnceLock::new();
    *V.get_or_init(|| match std::env::var("RESCALE_LAB_WINOGRAD").ok().as_deref() {
        Some("off") | Some("0") => None,
        Some("f2") => Some(F2X3),
        Some("f4") => Some(F4X3),
        _ => DEFAULT,
    })
}

/// The variant used unless `RESCALE_LAB_WINOGRAD` says otherwise.
pub const DEFAULT: Option<Variant> = Some(F4X3);

/// The GEMMs sum over input channels this many terms at a time before adding to the running
/// total. The Winograd-domain terms are large and cancel (F(4×4) scales inputs by up to ~10
/// before the output transform), so one long float32 running sum was what made F(4×4)
/// inaccurate: with it, the parity fixtures' worst case used 83 % of its tolerance, with sums of
/// 16 it uses 34 %, the same as with the sums taken in f64 (`docs/cpu-performance.md`).
pub const ACCUMULATE_STEPS: usize = 16;

/// Channels of one transform step: one AVX-512 register of f32.
const LANES: usize = 16;
/// Target size in bytes of a band's transformed inputs and products: a fifth of a core's L2
/// (measured: 192–768 KiB alike, 1–2 MiB slower, as the band then competes with the
/// feature map's lines and the weights). Bands are rounded up to whole micro-kernel steps, so
/// the largest convolutions' come to 0.6–0.7 MiB.
const BAND_BYTES: usize = 384 << 10;

fn band_bytes() -> usize {
    static B: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *B.get_or_init(|| std::env::var("WINO_BAND_KIB").ok().and_then(|v| v.parse::<usize>().ok()).map_or(BAND_BYTES, |k| k << 10))
}

/// Tiles per band: as many as fit [`band_bytes`] with `floats_per_tile` floats of transformed
/// inputs and products each (at least 8), at most half a thread's share of `tiles` so that every
/// thread gets work, rounded up to whole micro-kernel steps (`step`, 0 for none).
fn band_tiles(tiles: usize, floats_per_tile: usize, step: usize) -> usize {
    let by_cache = band_bytes() / (floats_per_tile * std::mem::size_of::<f32>());
    let band = by_cache.max(8).min(tiles.div_ceil(2 * rayon::current_num_threads().max(1))).max(1);
    if step > 0 {
        band.next_multiple_of(step)
    } else {
        band
    }
}

/// A convolution's weights in the Winograd domain: `u[(ξ·cin + c)·ostride + o]`, rows padded
/// with zeros to whole registers (`ostride = padded_channels(cout)`).
#[derive(Debug, Clone)]
pub struct WinogradConv {
    cin: usize,
    cout: usize,
    u: Aligned,
    /// The bias, zero-padded to whole registers.
    bias: Vec<f32>,
}

impl WinogradConv {
    /// `U = G g Gᵀ` for every (input, output) channel pair, computed in f64.
    pub fn new(variant: Variant, conv: &PackedConv3x3) -> Self {
        let (cin, cout, a) = (conv.cin(), conv.cout(), variant.alpha);
        let ostride = padded_channels(cout);
        let mut u = vec![0f32; a * a * cin * ostride];
        for c in 0..cin {
            for o in 0..cout {
                let g = |ky: usize, kx: usize| conv.weight_at(o, c, ky, kx) as f64;
                for i in 0..a {
                    for j in 0..a {
                        let mut sum = 0.0;
                        for k in 0..3 {
                            for l in 0..3 {
                                sum += variant.g[i * 3 + k] * g(k, l) * variant.g[j * 3 + l];
                            }
                        }
                        u[((i * a + j) * cin + c) * ostride + o] = sum as f32;
                    }
                }
            }
        }
        let mut bias = conv.bias().to_vec();
        bias.resize(padded_channels(cout), 0.0);
        Self { cin, cout, u: Aligned::from_slice(&u), bias }
    }

    pub fn cout(&self) -> usize {
        self.cout
    }
}

/// Where a convolution's outputs go.
#[derive(Debug, Clone, Copy)]
pub enum Sink {
    /// Channels `[slot, slot + cout)` of the spatial buffer's image pixels, after a LeakyReLU.
    Features { slot: usize, slope: f32 },
    /// NCHW planes of `h × w` (the block's output), no activation.
    Planes,
}

/// The geometry of one image in the Winograd path. The spatial buffer is zero-padded NHWC with
/// `hp × wp` pixels of `width` channels, where `hp = m·th + 2` and `wp = m·tw + 2` (the image
/// pixel (y, x) is (y + 1, x + 1)); everything outside the image is zero, so every tile reads
/// only zeros past the edges.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    pub h: usize,
    pub w: usize,
    pub th: usize,
    pub tw: usize,
    pub hp: usize,
    pub wp: usize,
    pub width: usize,
}

impl Geometry {
    pub fn new(variant: Variant, h: usize, w: usize, width: usize) -> Self {
        let m = variant.m;
        let (th, tw) = (h.div_ceil(m), w.div_ceil(m));
        Self { h, w, th, tw, hp: m * th + 2, wp: m * tw + 2, width }
    }

    pub fn tiles(&self) -> usize {
        self.th * self.tw
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn input_tiles_avx2<const A: usize, const M: usize>(geo: &Geometry, feat: *const f32, t0: usize, nt: usize, n: usize, out: &mut [f32], rows: usize) {
    input_tiles::<A, M>(geo, feat, t0, nt, n, out, rows)
}

/// The input transform of tiles `t0..t0 + nt` (raster order), channels `[0, n)`, `LANES`
/// channels at a time, into `out`: α² blocks of `rows` (≥ `nt`) rows of
/// [`padded_channels`]`(n)` floats, one block per ξ, each the left operand of that ξ's GEMM.
/// Reads channels `[0, n)` only (a last partial register is zero-filled past `n`): other bands
/// write the next channels of the same pixels meanwhile. Writes whole registers (the rows are
/// padded); rows past `nt` are left as they are.
///
/// # Safety
/// `feat` must be the spatial buffer of `geo` (`hp·wp·width` floats), with channels `[0, n)` of
/// every pixel written before the call and not written during it.
#[inline(always)]
unsafe fn input_tiles<const A: usize, const M: usize>(geo: &Geometry, feat: *const f32, t0: usize, nt: usize, n: usize, out: &mut [f32], rows: usize) {
    let stride = padded_channels(n);
    let chunks = stride / LANES;
    // cols[chunk][j] = Bᵀ (column j of the tile): the vertical half of the transform.
    // Neighbouring tiles of a row share A − M columns, so those are carried over.
    let mut cols = vec![[[[0f32; LANES]; A]; A]; chunks];
    let mut previous: Option<(usize, usize)> = None;
    for k in 0..nt {
        let (ty, tx, first_new) = next_tile::<A, M>(geo, t0 + k, &mut previous);
        for (chunk, cols) in cols.iter_mut().enumerate() {
            let c = chunk * LANES;
            if first_new > 0 {
                cols.copy_within(M..A, 0);
            }
            for (j, col) in cols.iter_mut().enumerate().skip(first_new) {
                let lanes = LANES.min(n - c);
                let px: [[f32; LANES]; A] = std::array::from_fn(|i| {
                    let at = ((M * ty + i) * geo.wp + M * tx + j) * geo.width + c;
                    load_lanes(feat.add(at), lanes)
                });
                *col = input_1d::<A>(&px);
            }
            // The horizontal half: row i of the result is Bᵀ applied across the columns.
            for i in 0..A {
                let row: [[f32; LANES]; A] = std::array::from_fn(|j| cols[j][i]);
                let v = input_1d::<A>(&row);
                for (j, v) in v.iter().enumerate() {
                    let at = ((i * A + j) * rows + k) * stride + c;
                    out[at..at + LANES].copy_from_slice(v);
                }
            }
        }
    }
}

/// Tile `t`'s row and column in the grid, and the first of its α columns not carried over
/// from `previous` (the tile before it in the walk, which it then replaces): its left
/// neighbour shares α − m columns with it, any other tile none.
#[inline(always)]
fn next_tile<const A: usize, const M: usize>(geo: &Geometry, t: usize, previous: &mut Option<(usize, usize)>) -> (usize, usize, usize) {
    let (ty, tx) = (t / geo.tw, t % geo.tw);
    let first_new = match *previous {
        Some((py, px)) if py == ty && px + 1 == tx => A - M,
        _ => 0,
    };
    *previous = Some((ty, tx));
    (ty, tx, first_new)
}

/// `lanes` floats from `src`, zero-filled to a register, reading nothing past them.
///
/// # Safety
/// `src..src + lanes` must be readable.
#[inline(always)]
unsafe fn load_lanes(src: *const f32, lanes: usize) -> [f32; LANES] {
    let mut v = [0f32; LANES];
    if lanes == LANES {
        std::ptr::copy_nonoverlapping(src, v.as_mut_ptr(), LANES);
        return v;
    }
    for (l, x) in v.iter_mut().enumerate().take(lanes) {
        *x = *src.add(l);
    }
    v
}

/// Row length of the transformed inputs of `n` channels: whole registers.
fn padded_channels(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

/// `Bᵀ d` for one column of α vectors, written out: the matrices' zeros and ones cost nothing.
#[inline(always)]
fn input_1d<const A: usize>(d: &[[f32; LANES]; A]) -> [[f32; LANES]; A] {
    let mut v = [[0f32; LANES]; A];
    for l in 0..LANES {
        if A == 4 {
            v[0][l] = d[0][l] - d[2][l];
            v[1][l] = d[1][l] + d[2][l];
            v[2][l] = d[2][l] - d[1][l];
            v[3][l] = d[1][l] - d[3][l];
        } else {
            use f4::*;
            let (d0, d1, d2, d3, d4, d5) = (d[0][l], d[1][l], d[2][l], d[3][l], d[4][l], d[5][l]);
            let (e1, f1) = (B12 * d2 + d4, B1 * d1 + B13 * d3);
            let (e3, f3) = (B34 * d2 + d4, B3 * d1 + B33 * d3);
            v[0][l] = d0 - C0 * d2 + d4;
            v[1][l] = e1 + f1;
            v[2][l] = e1 - f1;
            v[3][l] = e3 + f3;
            v[4][l] = e3 - f3;
            v[5][l] = d1 - C0 * d3 + d5;
        }
    }
    v
}

/// `Aᵀ m` for one column of α vectors, written out like [`input_1d`].
#[inline(always)]
fn output_1d<const A: usize, const M: usize, const O: usize>(m: &[[f32; O]; A]) -> [[f32; O]; M] {
    let mut y = [[0f32; O]; M];
    for l in 0..O {
        if A == 4 {
            y[0][l] = m[0][l] + m[1][l] + m[2][l];
            y[1][l] = m[1][l] - m[2][l] - m[3][l];
        } else {
            use f4::*;
            let (m0, m1, m2, m3, m4, m5) = (m[0][l], m[1][l], m[2][l], m[3][l], m[4][l], m[5][l]);
            let (s12, d12, s34, d34) = (m1 + m2, m1 - m2, m3 + m4, m3 - m4);
            y[0][l] = m0 + s12 + s34;
            y[1][l] = P * d12 + Q * d34;
            y[2][l] = P2 * s12 + Q2 * s34;
            y[3][l] = P3 * d12 + Q3 * d34 + m5;
        }
    }
    y
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Aligned> = std::cell::RefCell::new(Aligned::default());
}

/// One convolution: reads channels `[0, conv.cin)` of the image in `feat` and writes to
/// `sink`: into `feat` itself (channels past the ones read) or into the NCHW `planes`. Bands of
/// tiles run in parallel; each transforms its tiles' inputs into a buffer that stays in cache,
/// multiplies, and transforms the products back.
pub fn convolve(variant: Variant, geo: &Geometry, conv: &WinogradConv, feat: &mut [f32], sink: Sink, planes: &mut [f32]) {
    convolve_with(variant, geo, conv, feat, sink, planes, None)
}

/// conv5's sums over the channels conv4 reads, taken in conv4's pass from the transformed
/// inputs it has in cache, and finished by [`finish_split`]. For conv5s with 8 to 16 outputs
/// (the ×2 blocks' 9, padded to one register), whose own transform of all their ~131 input
/// channels would cost more than their products; with AVX-512 only (see [`split_supported`]).
pub struct Split<'a> {
    pub conv5: &'a SplitConv5,
    /// α² blocks of [`Split::rows`]`(geo)` rows of 16 floats.
    pub sums: &'a mut [f32],
}

/// conv5 in the Winograd domain (`cin` = conv4's + 32, `cout` ≤ 16) for a [`Split`], and
/// conv4's weights beside conv5's rows for conv4's inputs (48 outputs a row: conv4's 32, then
/// conv5's 16 lanes), so that conv4's pass takes both GEMMs as one: each transformed input
/// is read once, and the kernel loads one value per three FMAs instead of one per FMA for
/// conv5's lone register of outputs.
#[derive(Debug, Clone)]
pub struct SplitConv5 {
    pub conv5: WinogradConv,
    pair: Aligned,
}

impl SplitConv5 {
    /// `None` where the split does not run ([`split_supported`]) or conv4 is not the block's.
    pub fn new(conv4: &WinogradConv, conv5: WinogradConv) -> Option<Self> {
        if !split_supported(&conv5) || conv4.cout != 32 || conv5.cin <= conv4.cin {
            return None;
        }
        let (cin, ostride, xis) = (conv4.cin, padded_channels(conv4.cout), conv4.u.len() / (conv4.cin * 32));
        let mut pair = vec![0f32; xis * cin * 48];
        for xi in 0..xis {
            for c in 0..cin {
                let row = &mut pair[(xi * cin + c) * 48..][..48];
                row[..32].copy_from_slice(&conv4.u[(xi * cin + c) * ostride..][..32]);
                row[32..].copy_from_slice(&conv5.u[(xi * conv5.cin + c) * LANES..][..LANES]);
            }
        }
        Some(Self { conv5, pair: Aligned::from_slice(&pair) })
    }
}

impl Split<'_> {
    /// Rows per ξ block of the sums for `geo`: its tiles, rounded up to the steps of conv4's
    /// pass (three registers) and of conv5's (one).
    #[cfg(target_arch = "x86_64")]
    pub fn rows(geo: &Geometry) -> usize {
        let tiles = geo.tiles();
        tiles.next_multiple_of(avx512::tiles_per_step(1)).max(tiles.next_multiple_of(avx512::tiles_per_step(3)))
    }
    #[cfg(not(target_arch = "x86_64"))]
    pub fn rows(geo: &Geometry) -> usize {
        geo.tiles()
    }
}

/// The fewest conv5 outputs worth a [`Split`]: padded to 16 lanes, 3 outputs cost more products
/// than `narrow_conv`'s direct sums, 9 fewer (measured in `docs/cpu-performance.md`).
const SPLIT_MIN_COUT: usize = 8;

/// `RESCALE_LAB_SPLIT=off` turns the split off (to measure it); read once, as the other knobs,
/// so that blocks built before a change of the variable still pass the checks.
fn split_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("RESCALE_LAB_SPLIT").map_or(true, |v| v != "off"))
}

/// `RESCALE_LAB_SPLIT=separate` takes conv5's split sums in a GEMM of their own in conv4's
/// pass (to measure [`SplitConv5`]'s single GEMM against it).
fn pair_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("RESCALE_LAB_SPLIT").map_or(true, |v| v != "separate"))
}

/// Whether [`Split`] can run here: the AVX-512 kernels, and a conv5 of 8 to 16 outputs.
pub fn split_supported(conv5: &WinogradConv) -> bool {
    #[cfg(target_arch = "x86_64")]
    return simd() == Simd::Avx512 && (SPLIT_MIN_COUT..=LANES).contains(&conv5.cout) && split_enabled();
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

/// [`convolve`] for conv4, also taking conv5's sums over conv4's input channels into `split`.
pub fn convolve_with(variant: Variant, geo: &Geometry, conv: &WinogradConv, feat: &mut [f32], sink: Sink, planes: &mut [f32], split: Option<Split>) {
    match variant.m {
        2 => convolve_impl::<4, 2>(variant, geo, conv, feat, sink, planes, split),
        4 => convolve_impl::<6, 4>(variant, geo, conv, feat, sink, planes, split),
        _ => unreachable!("winograd: F(2x2) and F(4x4) only"),
    }
}

/// conv5's pass after a [`convolve_with`] that filled `split`: transforms only the channels
/// from `c0` (conv4's outputs, at any offset: the loads need no alignment), adds their
/// products to the sums, and writes the NCHW `planes`.
pub fn finish_split(variant: Variant, geo: &Geometry, c0: usize, feat: &[f32], split: Split, planes: &mut [f32]) {
    match variant.m {
        2 => finish_split_impl::<4, 2>(geo, c0, feat, split, planes),
        4 => finish_split_impl::<6, 4>(geo, c0, feat, split, planes),
        _ => unreachable!("winograd: F(2x2) and F(4x4) only"),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn finish_split_impl<const A: usize, const M: usize>(_: &Geometry, _: usize, _: &[f32], _: Split, _: &mut [f32]) {
    unreachable!("winograd: the split conv5 needs AVX-512 (split_supported)")
}

#[cfg(target_arch = "x86_64")]
fn finish_split_impl<const A: usize, const M: usize>(geo: &Geometry, c0: usize, feat: &[f32], split: Split, planes: &mut [f32]) {
    let conv5 = &split.conv5.conv5;
    assert!(split_supported(conv5) && c0 < conv5.cin && conv5.cin <= geo.width);
    assert!(feat.len() >= geo.hp * geo.wp * geo.width && planes.len() >= conv5.cout * geo.h * geo.w);
    let (tiles, srows) = (geo.tiles(), Split::rows(geo));
    assert!(split.sums.len() >= A * A * srows * LANES);
    let stride = padded_channels(conv5.cin - c0);
    let step = avx512::tiles_per_step(1);
    let band = band_tiles(tiles, A * A * (stride + LANES), step);
    let (feat_ptr, sums, planes_ptr) = (SendPtr(feat.as_ptr() as *mut f32), SendPtr(split.sums.as_mut_ptr()), SendPtr(planes.as_mut_ptr()));
    (0..tiles.div_ceil(band)).into_par_iter().for_each(|b| {
        let t0 = b * band;
        let nt = band.min(tiles - t0);
        let rows = nt.next_multiple_of(step);
        SCRATCH.with(|cell| {
            let mut v = cell.borrow_mut();
            v.ensure_len(A * A * rows * stride);
            // SAFETY: channels [c0, cin) of `feat` were written by conv4's pass and are only
            // read here; this band adds to rows [t0, t0 + rows) of each ξ block of the sums
            // (in bounds: t0 + rows ≤ srows) and writes its tiles' pixels of the planes, which no
            // other band touches; AVX-512 is present (split_supported).
            unsafe {
                avx512::input_tiles::<A, M>(geo, feat_ptr.get(), t0, nt, (c0, conv5.cin), v.as_mut_ptr(), rows);
                for xi in 0..A * A {
                    let (vx, ux, mx) = (v.as_ptr().add(xi * rows * stride), conv5.u.as_ptr().add((xi * conv5.cin + c0) * LANES), sums.get().add((xi * srows + t0) * LANES));
                    avx512::gemm::<1, { avx512::tiles_per_step(1) }>(rows, conv5.cin - c0, vx, stride, ux, LANES, mx, LANES, true);
                }
                let out = Out { feat: SendPtr(std::ptr::null_mut()), planes: planes_ptr, sink: Sink::Planes };
                avx512::output_band::<A, M>(geo, sums.get().add(t0 * LANES), srows, nt, t0, conv5, out);
            }
        });
    });
}

fn convolve_impl<const A: usize, const M: usize>(variant: Variant, geo: &Geometry, conv: &WinogradConv, feat: &mut [f32], sink: Sink, planes: &mut [f32], split: Option<Split>) {
    assert_eq!((variant.alpha, variant.m), (A, M));
    let split = split.map(|split| {
        let srows = Split::rows(geo);
        let conv5 = &split.conv5.conv5;
        assert!(split_supported(conv5) && conv5.cin > conv.cin && conv.cout == 32 && split.sums.len() >= A * A * srows * LANES);
        assert_eq!(split.conv5.pair.len(), A * A * conv.cin * 48, "winograd: the split's weights are not this conv4's");
        (split.conv5, SendPtr(split.sums.as_mut_ptr()), srows)
    });
    let simd = simd();
    let tiles = geo.tiles();
    let (cin, cout) = (conv.cin, conv.cout);
    let stride = padded_channels(cin);
    let ostride = padded_channels(cout);
    assert!(cin <= geo.width && feat.len() >= geo.hp * geo.wp * geo.width);
    match sink {
        Sink::Features { slot, .. } => assert!(cin <= slot && slot + ostride <= geo.width),
        Sink::Planes => assert!(planes.len() >= cout * geo.h * geo.w),
    }
    // With AVX-512 and 2 or 3 registers of outputs, the micro-kernel multiplies `step` tiles at
    // a time (the band's GEMM rows are rounded up to it); otherwise the GEMM crate does.
    #[cfg(target_arch = "x86_64")]
    let step = match (simd, &split) {
        // conv4 with conv5's split sums: one GEMM of three registers (`SplitConv5`).
        (Simd::Avx512, Some(_)) if pair_enabled() => avx512::tiles_per_step(3),
        (Simd::Avx512, _) => avx512::tiles_per_step(ostride / LANES),
        _ => 0,
    };
    #[cfg(not(target_arch = "x86_64"))]
    let step = 0;
    let band = band_tiles(tiles, A * A * (stride + ostride), step);
    // Each band writes its rows of the sums rounded up to whole kernel steps.
    assert!(split.is_none_or(|(_, _, srows)| step == 0 || tiles.next_multiple_of(step) <= srows), "winograd: conv4's bands must be whole steps within the split sums");
    let bands = tiles.div_ceil(band);
    let feat_ptr = SendPtr(feat.as_mut_ptr());
    let planes_ptr = SendPtr(planes.as_mut_ptr());
    (0..bands).into_par_iter().for_each(|b| {
        let t0 = b * band;
        let nt = band.min(tiles - t0);
        let rows = if step > 0 { nt.next_multiple_of(step) } else { nt };
        SCRATCH.with(|cell| {
            let mut buf = cell.borrow_mut();
            let (v_len, m_len) = (A * A * rows * stride, A * A * rows * ostride);
            buf.ensure_len(v_len + m_len);
            let (v, rest) = buf.split_at_mut(v_len);
            let mm = &mut rest[..m_len];
            let out = Out { feat: feat_ptr, planes: planes_ptr, sink };
            // SAFETY: channels [0, cin) of `feat` are read, which no band writes (outputs go to
            // channels ≥ cin, or to `planes`); this band's tiles' pixels are written by this band
            // only; V_ξ is rows × cin (row stride `stride`), U_ξ cin × cout (row stride
            // `ostride`), M_ξ rows × cout (row stride `ostride`), all in bounds; the features
            // the kernels were compiled for are present (`simd`).
            unsafe {
                let feat = feat_ptr.get() as *const f32;
                match simd {
                    #[cfg(target_arch = "x86_64")]
                    Simd::Avx512 => {
                        avx512::input_tiles::<A, M>(geo, feat, t0, nt, (0, cin), v.as_mut_ptr(), rows);
                        let registers = ostride / LANES;
                        match (registers, split) {
                            // conv4's outputs and conv5's sums over its inputs in one GEMM.
                            // SAFETY: rows [t0, t0 + rows) of each ξ block of the sums are this
                            // band's (t0 + rows ≤ srows: bands are whole kernel steps).
                            (2, Some((pair, sums, srows))) if pair_enabled() => {
                                for xi in 0..A * A {
                                    let (vx, ux) = (v.as_ptr().add(xi * rows * stride), pair.pair.as_ptr().add(xi * cin * 48));
                                    let (mx, sx) = (mm.as_mut_ptr().add(xi * rows * ostride), sums.get().add((xi * srows + t0) * LANES));
                                    avx512::gemm_split_last::<3, { avx512::tiles_per_step(3) }>(rows, cin, vx, stride, ux, 48, (mx, ostride), (sx, LANES), false);
                                }
                            }
                            (2 | 3, _) => {
                                for xi in 0..A * A {
                                    let (vx, ux, mx) = (v.as_ptr().add(xi * rows * stride), conv.u.as_ptr().add(xi * cin * ostride), mm.as_mut_ptr().add(xi * rows * ostride));
                                    if registers == 2 {
                                        avx512::gemm::<2, { avx512::tiles_per_step(2) }>(rows, cin, vx, stride, ux, ostride, mx, ostride, false);
                                    } else {
                                        avx512::gemm::<3, { avx512::tiles_per_step(3) }>(rows, cin, vx, stride, ux, ostride, mx, ostride, false);
                                    }
                                }
                            }
                            _ => generic_gemms::<A>(conv, v, mm, rows),
                        }
                        // conv5's sums over these channels, from the same transformed inputs.
                        // SAFETY: rows [t0, t0 + rows) of each ξ block are this band's
                        // (t0 + rows ≤ srows: bands are whole kernel steps).
                        if let Some((conv5, sums, srows)) = split.filter(|_| !pair_enabled()) {
                            let conv5 = &conv5.conv5;
                            for xi in 0..A * A {
                                let (vx, ux, sx) = (v.as_ptr().add(xi * rows * stride), conv5.u.as_ptr().add(xi * conv5.cin * LANES), sums.get().add((xi * srows + t0) * LANES));
                                avx512::gemm::<1, { avx512::tiles_per_step(1) }>(rows, cin, vx, stride, ux, LANES, sx, LANES, false);
                            }
                        }
                        avx512::output_band::<A, M>(geo, mm.as_ptr(), rows, nt, t0, conv, out);
                    }
                    #[cfg(target_arch = "x86_64")]
                    Simd::Avx2 => {
                        input_tiles_avx2::<A, M>(geo, feat, t0, nt, cin, v, rows);
                        generic_gemms::<A>(conv, v, mm, rows);
                        output_band_avx2::<A, M>(geo, mm, rows, nt, t0, conv, out);
                    }
                    Simd::Base => {
                        input_tiles::<A, M>(geo, feat, t0, nt, cin, v, rows);
                        generic_gemms::<A>(conv, v, mm, rows);
                        output_band::<A, M>(geo, mm, rows, nt, t0, conv, out);
                    }
                }
            }
        });
    });
}

/// The α² GEMMs `M_ξ = V_ξ · U_ξ` of a band by the GEMM crate, [`ACCUMULATE_STEPS`] input
/// channels per call as the AVX-512 micro-kernel sums them.
fn generic_gemms<const A: usize>(conv: &WinogradConv, v: &[f32], mm: &mut [f32], rows: usize) {
    let (cin, cout) = (conv.cin, conv.cout);
    let (stride, ostride) = (padded_channels(cin), padded_channels(cout));
    assert!(v.len() >= A * A * rows * stride && mm.len() >= A * A * rows * ostride && conv.u.len() >= A * A * cin * ostride);
    for xi in 0..A * A {
        for k0 in (0..cin).step_by(ACCUMULATE_STEPS) {
            let kc = ACCUMULATE_STEPS.min(cin - k0);
            // SAFETY: V_ξ is rows × cin (row stride `stride`), U_ξ cin × cout (row stride
            // `ostride`); M_ξ is rows × cout (row stride `ostride`), all in bounds (checked
            // above); columns/rows [k0, k0 + kc) of them are within.
            unsafe {
                gemm_rows(
                    (rows, cout, kc),
                    (mm.as_mut_ptr().add(xi * rows * ostride), ostride),
                    k0 > 0,
                    (v.as_ptr().add(xi * rows * stride + k0), stride),
                    (conv.u.as_ptr().add((xi * cin + k0) * ostride), ostride),
                )
            }
        }
    }
}

/// The destination of a band's outputs.
#[derive(Clone, Copy)]
struct Out {
    feat: Ptr,
    planes: Ptr,
    sink: Sink,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn output_band_avx2<const A: usize, const M: usize>(geo: &Geometry, mm: &[f32], rows: usize, nt: usize, t0: usize, conv: &WinogradConv, out: Out) {
    output_band::<A, M>(geo, mm, rows, nt, t0, conv, out)
}

/// The output transform of a band of `nt` tiles from `t0`: `mm` holds the band's α² GEMM
/// outputs (`rows` ≥ `nt` rows of [`padded_channels`]`(cout)` each), `LANES` channels at a time; bias,
/// then the sink.
///
/// # Safety
/// `out` must point at the buffers of `geo` that [`convolve`] checked, with no other writer of
/// these tiles' pixels.
#[inline(always)]
unsafe fn output_band<const A: usize, const M: usize>(geo: &Geometry, mm: &[f32], rows: usize, nt: usize, t0: usize, conv: &WinogradConv, out: Out) {
    let ostride = padded_channels(conv.cout);
    let plane = geo.h * geo.w;
    let slope = match out.sink {
        Sink::Features { slope, .. } => slope,
        Sink::Planes => 1.0,
    };
    let mut t = [[[0f32; LANES]; A]; M];
    for k in 0..nt {
        let tile = t0 + k;
        let (ty, tx) = (tile / geo.tw, tile % geo.tw);
        for o0 in (0..conv.cout).step_by(LANES) {
            let lanes = LANES.min(conv.cout - o0);
            let bias: [f32; LANES] = conv.bias[o0..o0 + LANES].try_into().unwrap();
            // t = Aᵀ m (columns), then y = t A (rows), on vectors of output channels.
            for j in 0..A {
                let col: [[f32; LANES]; A] = std::array::from_fn(|r| mm[((r * A + j) * rows + k) * ostride + o0..][..LANES].try_into().unwrap());
                let y = output_1d::<A, M, LANES>(&col);
                for i in 0..M {
                    t[i][j] = y[i];
                }
            }
            for i in 0..M {
                let y = M * ty + i;
                if y >= geo.h {
                    break;
                }
                let row = output_1d::<A, M, LANES>(&t[i]);
                for (j, values) in row.iter().enumerate() {
                    let x = M * tx + j;
                    if x >= geo.w {
                        break;
                    }
                    // One select per lane (v·1 is v exactly, so the planes' no-activation
                    // shares the loop).
                    let mut acc = [0f32; LANES];
                    for l in 0..LANES {
                        let v = values[l] + bias[l];
                        acc[l] = if v < 0.0 { v * slope } else { v };
                    }
                    match out.sink {
                        Sink::Features { slot, .. } => {
                            // Whole registers: the channels past cout are the next ones' (or
                            // padding), written before anything reads them.
                            let dst = out.feat.get().add(((y + 1) * geo.wp + x + 1) * geo.width + slot + o0);
                            std::ptr::copy_nonoverlapping(acc.as_ptr(), dst, LANES);
                        }
                        Sink::Planes => {
                            let dst = out.planes.get().add(y * geo.w + x);
                            for (l, &v) in acc[..lanes].iter().enumerate() {
                                *dst.add((o0 + l) * plane) = v;
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fast_conv::GROWTH;

    /// The written-out transforms are the matrices: exactly for F(2×2) (its constants are 0
    /// and ±1), to float32 rounding for F(4×4) (its constants are rounded to float32).
    #[test]
    fn the_fast_transforms_are_the_matrices() {
        fn check<const A: usize, const M: usize>(v: Variant, tolerance: f64) {
            // Values differ per lane, so a lane mixed up with another would show.
            let d: [[f32; LANES]; A] = std::array::from_fn(|k| std::array::from_fn(|l| k as f32 * 1.5 - 2.0 + l as f32 * 0.25));
            let got = input_1d::<A>(&d);
            let m: [[f32; GROWTH]; A] = std::array::from_fn(|k| std::array::from_fn(|l| (k * k) as f32 - 3.0 - l as f32 * 0.5));
            let out = output_1d::<A, M, GROWTH>(&m);
            for l in 0..LANES {
                for i in 0..A {
                    let want: f64 = (0..A).map(|k| v.bt[i * A + k] * d[k][l] as f64).sum();
                    let size: f64 = (0..A).map(|k| (v.bt[i * A + k] * d[k][l] as f64).abs()).sum();
                    let err = (got[i][l] as f64 - want).abs();
                    assert!(err <= tolerance * size, "{} Bᵀ row {i} lane {l}: {} vs {want}", v.name, got[i][l]);
                }
            }
            for l in 0..GROWTH {
                for i in 0..M {
                    let want: f64 = (0..A).map(|k| v.at[i * A + k] * m[k][l] as f64).sum();
                    let size: f64 = (0..A).map(|k| (v.at[i * A + k] * m[k][l] as f64).abs()).sum();
                    let err = (out[i][l] as f64 - want).abs();
                    assert!(err <= tolerance * size, "{} Aᵀ row {i} lane {l}: {} vs {want}", v.name, out[i][l]);
                }
            }
        }
        check::<4, 2>(F2X3, 0.0);
        // A few float32 roundings of the products and sums, and of the constants.
        check::<6, 4>(F4X3, 4.0 * f32::EPSILON as f64);
    }

    /// The transforms written for AVX-512 and the generic ones compiled for AVX2 give the
    /// portable build's bits: the same additions and multiplications in the same order (Rust
    /// never fuses them on its own), into both sinks, with GEMM rows padded past the tiles.
    #[test]
    fn every_instruction_set_computes_the_same_transforms() {
        fn check<const A: usize, const M: usize>(variant: Variant) {
            let geo = Geometry::new(variant, 13, 11, 96);
            let feat: Vec<f32> = (0..geo.hp * geo.wp * geo.width).map(|i| ((i * 7919) % 1013) as f32 / 97.0 - 5.0).collect();
            let (nt, n, cout, slot) = (geo.tiles() - 3, 41, 45, 43);
            let rows = nt + 5;
            let len = A * A * rows * padded_channels(n);
            let conv = PackedConv3x3::from_oihw(n, cout, &(0..cout * n * 9).map(|i| ((i * 31) % 17) as f32 / 40.0 - 0.2).collect::<Vec<_>>(), &[0.1; 45]).unwrap();
            let wconv = WinogradConv::new(variant, &conv);
            let mm: Vec<f32> = (0..A * A * rows * padded_channels(cout)).map(|i| ((i * 13) % 101) as f32 / 10.0 - 5.0).collect();
            // Input transform, then both sinks of the output transform, by one implementation.
            type Output = (Vec<f32>, Vec<f32>, Vec<f32>);
            let run = |f: &dyn Fn(&mut [f32], Out, Out)| -> Output {
                let mut v = vec![0f32; len];
                let mut planes = vec![0f32; cout * geo.h * geo.w];
                let mut features = feat.clone();
                let to_planes = Out { feat: SendPtr(std::ptr::null_mut()), planes: SendPtr(planes.as_mut_ptr()), sink: Sink::Planes };
                let to_features = Out { feat: SendPtr(features.as_mut_ptr()), planes: SendPtr(std::ptr::null_mut()), sink: Sink::Features { slot, slope: 0.2 } };
                f(&mut v, to_planes, to_features);
                (v, planes, features)
            };
            let base = run(&|v, p, f| unsafe {
                input_tiles::<A, M>(&geo, feat.as_ptr(), 3, nt, n, v, rows);
                output_band::<A, M>(&geo, &mm, rows, nt, 3, &wconv, p);
                output_band::<A, M>(&geo, &mm, rows, nt, 3, &wconv, f);
            });
            assert!(base.1.iter().any(|&x| x < 0.0) && base.2.iter().any(|&x| x < 0.0), "the outputs cover both signs");
            #[cfg(target_arch = "x86_64")]
            for (name, level) in [("avx512f", Simd::Avx512), ("avx2", Simd::Avx2)] {
                let present = match level {
                    Simd::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
                    _ => std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"),
                };
                if !present {
                    eprintln!("{name} not on this CPU: its transforms are not compared here");
                    continue;
                }
                let got = run(&|v, p, f| unsafe {
                    match level {
                        Simd::Avx512 => {
                            avx512::input_tiles::<A, M>(&geo, feat.as_ptr(), 3, nt, (0, n), v.as_mut_ptr(), rows);
                            avx512::output_band::<A, M>(&geo, mm.as_ptr(), rows, nt, 3, &wconv, p);
                            avx512::output_band::<A, M>(&geo, mm.as_ptr(), rows, nt, 3, &wconv, f);
                        }
                        _ => {
                            input_tiles_avx2::<A, M>(&geo, feat.as_ptr(), 3, nt, n, v, rows);
                            output_band_avx2::<A, M>(&geo, &mm, rows, nt, 3, &wconv, p);
                            output_band_avx2::<A, M>(&geo, &mm, rows, nt, 3, &wconv, f);
                        }
                    }
                });
                let same = |a: &[f32], b: &[f32]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
                assert!(same(&got.0, &base.0), "{} {name}: input transform differs from the portable one", variant.name);
                assert!(same(&got.1, &base.1), "{} {name}: output transform into planes differs", variant.name);
                assert!(same(&got.2, &base.2), "{} {name}: output transform into features differs", variant.name);
            }
        }
        check::<4, 2>(F2X3);
        check::<6, 4>(F4X3);
    }

    /// Whether the AVX-512 kernels can run here; says so when they cannot (the test then checks
    /// nothing on this CPU).
    #[cfg(target_arch = "x86_64")]
    fn avx512_here() -> bool {
        let here = std::arch::is_x86_feature_detected!("avx512f");
        if !here {
            eprintln!("avx512f not on this CPU: not run here");
        }
        here
    }

    /// The AVX-512 input transform of channels `[c0, n)` from an offset that is not a whole
    /// register (the split conv5's pass: c0 = 99 or 105) gives the bits of the transform of all
    /// channels, zeros past `n`.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx512_input_transform_from_any_channel_matches_the_whole() {
        if !avx512_here() {
            return;
        }
        fn check<const A: usize, const M: usize>(variant: Variant) {
            let geo = Geometry::new(variant, 9, 13, 144);
            let feat: Vec<f32> = (0..geo.hp * geo.wp * geo.width).map(|i| ((i * 7919) % 1013) as f32 / 97.0 - 5.0).collect();
            let (n, c0, nt) = (131, 99, geo.tiles());
            let rows = nt + 3;
            let (whole, part) = (padded_channels(n), padded_channels(n - c0));
            let mut all = vec![0f32; A * A * rows * whole];
            let mut some = vec![f32::NAN; A * A * rows * part];
            unsafe {
                avx512::input_tiles::<A, M>(&geo, feat.as_ptr(), 0, nt, (0, n), all.as_mut_ptr(), rows);
                avx512::input_tiles::<A, M>(&geo, feat.as_ptr(), 0, nt, (c0, n), some.as_mut_ptr(), rows);
            }
            for xi in 0..A * A {
                for k in 0..nt {
                    let (row_all, row_some) = ((xi * rows + k) * whole, (xi * rows + k) * part);
                    for c in c0..n {
                        assert_eq!(some[row_some + c - c0].to_bits(), all[row_all + c].to_bits(), "{} ξ {xi} tile {k} channel {c}", variant.name);
                    }
                    assert!(some[row_some + n - c0..row_some + part].iter().all(|&v| v == 0.0), "{}: not zero past n", variant.name);
                }
            }
        }
        check::<4, 2>(F2X3);
        check::<6, 4>(F4X3);
    }

    /// The AVX-512 micro-kernel is a matrix product: against f64 sums, for every register count,
    /// several tile steps, strides wider than the rows, and adding to what `C` holds.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx512_micro_kernel_multiplies_matrices() {
        if !avx512_here() {
            return;
        }
        fn check<const R: usize, const T: usize>(accumulate: bool) {
            let (rows, k, vs, us, cs) = (3 * T, 37, 48, 16 * R + 16, 16 * R + 32);
            let v: Vec<f32> = (0..rows * vs).map(|i| ((i * 7) % 23) as f32 / 11.0 - 1.0).collect();
            let u: Vec<f32> = (0..k * us).map(|i| ((i * 5) % 19) as f32 / 9.0 - 1.0).collect();
            let before = |i: usize| if accumulate { ((i * 3) % 7) as f32 - 3.0 } else { f32::NAN };
            let mut c: Vec<f32> = (0..rows * cs).map(|i| if i % cs < 16 * R { before(i) } else { f32::NAN }).collect();
            unsafe { avx512::gemm::<R, T>(rows, k, v.as_ptr(), vs, u.as_ptr(), us, c.as_mut_ptr(), cs, accumulate) };
            for t in 0..rows {
                for o in 0..16 * R {
                    let start = if accumulate { before(t * cs + o) as f64 } else { 0.0 };
                    let want: f64 = start + (0..k).map(|kk| v[t * vs + kk] as f64 * u[kk * us + o] as f64).sum::<f64>();
                    let got = c[t * cs + o] as f64;
                    assert!((got - want).abs() <= 1e-5 * (1.0 + want.abs()), "R={R} accumulate {accumulate} row {t} column {o}: {got} vs {want}");
                }
                assert!(c[t * cs + 16 * R].is_nan(), "R={R}: wrote past its columns");
            }
        }
        for accumulate in [false, true] {
            check::<1, { avx512::tiles_per_step(1) }>(accumulate);
            check::<2, { avx512::tiles_per_step(2) }>(accumulate);
            check::<3, { avx512::tiles_per_step(3) }>(accumulate);
        }
    }

    #[test]
    fn the_matrices_compute_a_correlation() {
        for v in [F2X3, F4X3] {
            let d: Vec<f64> = (0..v.alpha).map(|i| ((i * 7 + 3) % 11) as f64 - 4.5).collect();
            let g = [0.3, -1.2, 0.7];
            let gg: Vec<f64> = (0..v.alpha).map(|i| (0..3).map(|k| v.g[i * 3 + k] * g[k]).sum()).collect();
            let bd: Vec<f64> = (0..v.alpha).map(|i| (0..v.alpha).map(|k| v.bt[i * v.alpha + k] * d[k]).sum()).collect();
            for i in 0..v.m {
                let y: f64 = (0..v.alpha).map(|k| v.at[i * v.alpha + k] * gg[k] * bd[k]).sum();
                let direct: f64 = (0..3).map(|k| d[i + k] * g[k]).sum();
                assert!((y - direct).abs() < 1e-12, "{}: output {i} is {y}, direct {direct}", v.name);
            }
        }
    }
}
