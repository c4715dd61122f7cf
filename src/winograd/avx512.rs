//! The Winograd path's three loops written with AVX-512 intrinsics: the input transform, the α²
//! GEMMs and the output transform.
//!
//! Why not the generic code compiled for AVX-512: that code works on `[f32; 16]` arrays, and
//! the compiler kept assembling them from scalars and spilling them (the input transform alone
//! was 27 % of an upscale). Here every value is a register. The transforms do the same
//! additions and multiplications in the same order as the generic code, so they give its bits
//! (a test checks it); the GEMM is a register-blocked micro-kernel (`T` tiles × `R` registers of
//! output channels, all accumulators in registers) that reads the band's transformed inputs
//! and the packed weights where they are, with no packing per call.

use std::arch::x86_64::*;

use super::{next_tile, Geometry, Out, Sink, WinogradConv, LANES};

/// Tiles per micro-kernel step for `R` registers of output channels: `T·R` accumulators, `R`
/// weight registers and one broadcast fill 31 of the 32 registers for R = 2 and 3 (16 for R =
/// 1, whose step matches R = 2's so that conv4's bands are whole steps of the split sums).
pub const fn tiles_per_step(r: usize) -> usize {
    match r {
        // One register (conv5's split sums): 14 keeps its bands' rows those of conv4's pass.
        1 | 2 => 14,
        3 => 9,
        _ => 0,
    }
}

/// How many tiles ahead the input transform asks for its pixels.
const PREFETCH_TILES: usize = 6;

/// `Bᵀ d` for one column of α registers; the generic `input_1d`'s operations in its order.
#[inline(always)]
unsafe fn input_1d<const A: usize>(d: [__m512; A]) -> [__m512; A] {
    let (add, sub, mul, set) = (_mm512_add_ps, _mm512_sub_ps, _mm512_mul_ps, _mm512_set1_ps);
    let mut v = [_mm512_setzero_ps(); A];
    if A == 4 {
        v[0] = sub(d[0], d[2]);
        v[1] = add(d[1], d[2]);
        v[2] = sub(d[2], d[1]);
        v[3] = sub(d[1], d[3]);
    } else {
        use super::f4::*;
        let (d0, d1, d2, d3, d4, d5) = (d[0], d[1], d[2], d[3], d[4], d[5]);
        let (e1, f1) = (add(mul(set(B12), d2), d4), add(mul(set(B1), d1), mul(set(B13), d3)));
        let (e3, f3) = (add(mul(set(B34), d2), d4), add(mul(set(B3), d1), mul(set(B33), d3)));
        v[0] = add(sub(d0, mul(set(C0), d2)), d4);
        v[1] = add(e1, f1);
        v[2] = sub(e1, f1);
        v[3] = add(e3, f3);
        v[4] = sub(e3, f3);
        v[5] = add(sub(d1, mul(set(C0), d3)), d5);
    }
    v
}

/// `Aᵀ m` for one column of α registers; the generic `output_1d`'s operations in its order.
#[inline(always)]
unsafe fn output_1d<const A: usize, const M: usize>(m: [__m512; A]) -> [__m512; M] {
    let (add, sub, mul, set) = (_mm512_add_ps, _mm512_sub_ps, _mm512_mul_ps, _mm512_set1_ps);
    let mut y = [_mm512_setzero_ps(); M];
    if A == 4 {
        y[0] = add(add(m[0], m[1]), m[2]);
        y[1] = sub(sub(m[1], m[2]), m[3]);
    } else {
        use super::f4::*;
        let (s12, d12, s34, d34) = (add(m[1], m[2]), sub(m[1], m[2]), add(m[3], m[4]), sub(m[3], m[4]));
        y[0] = add(add(m[0], s12), s34);
        y[1] = add(mul(set(P), d12), mul(set(Q), d34));
        y[2] = add(mul(set(P2), s12), mul(set(Q2), s34));
        y[3] = add(add(mul(set(P3), d12), mul(set(Q3), d34)), m[5]);
    }
    y
}

/// The generic `input_tiles`'s contract and output, with `rows` rows per ξ block (≥ `nt`), for
/// channels `[c0, n)` (the rows hold channel `c0` first). Channels run
/// in the outer loop so that the columns shared by neighbouring tiles stay in registers.
///
/// # Safety
/// As the generic `input_tiles`; `out` must hold `α²·rows·padded_channels(n − c0)` floats; the
/// CPU must have AVX-512F.
#[target_feature(enable = "avx512f")]
pub unsafe fn input_tiles<const A: usize, const M: usize>(geo: &Geometry, feat: *const f32, t0: usize, nt: usize, (c0, n): (usize, usize), out: *mut f32, rows: usize) {
    let stride = (n - c0).div_ceil(LANES) * LANES;
    for c in (c0..n).step_by(LANES) {
        let lanes = LANES.min(n - c);
        // Lanes past `n` are neither read (other bands write those channels now) nor nonzero.
        let mask = ((1u32 << lanes) - 1) as __mmask16;
        let mut cols = [[_mm512_setzero_ps(); A]; A];
        let mut previous: Option<(usize, usize)> = None;
        for k in 0..nt {
            let (ty, tx, first_new) = next_tile::<A, M>(geo, t0 + k, &mut previous);
            // The feature map is far larger than L2 and each channel register of a pixel is its
            // own cache line, visited once per convolution: without this the loads below wait
            // on L3 for every tile.
            if k + PREFETCH_TILES < nt {
                let (py, px) = ((t0 + k + PREFETCH_TILES) / geo.tw, (t0 + k + PREFETCH_TILES) % geo.tw);
                for i in 0..A {
                    for j in 0..A {
                        _mm_prefetch::<_MM_HINT_T0>(feat.add(((M * py + i) * geo.wp + M * px + j) * geo.width + c) as *const i8);
                    }
                }
            }
            for j in 0..first_new {
                cols[j] = cols[j + M];
            }
            for (j, col) in cols.iter_mut().enumerate().skip(first_new) {
                let mut d = [_mm512_setzero_ps(); A];
                for (i, d) in d.iter_mut().enumerate() {
                    *d = _mm512_maskz_loadu_ps(mask, feat.add(((M * ty + i) * geo.wp + M * tx + j) * geo.width + c));
                }
                *col = input_1d::<A>(d);
            }
            for i in 0..A {
                let mut row = [_mm512_setzero_ps(); A];
                for (j, r) in row.iter_mut().enumerate() {
                    *r = cols[j][i];
                }
                let v = input_1d::<A>(row);
                for (j, v) in v.iter().enumerate() {
                    _mm512_storeu_ps(out.add(((i * A + j) * rows + k) * stride + c - c0), *v);
                }
            }
        }
    }
}

/// `C = V · U` for `rows` (a multiple of `T`) rows: `V` is rows × `k` (row stride `vs`), `U` is
/// `k` × 16·R (row stride `us`), `C` rows × 16·R (row stride `cs`); with `accumulate`,
/// `C += V · U`. The sum over `k` is taken [`super::ACCUMULATE_STEPS`] terms at a time in
/// registers, then added to `C`.
///
/// # Safety
/// The three matrices must be in bounds as described; the CPU must have AVX-512F.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm<const R: usize, const T: usize>(rows: usize, k: usize, v: *const f32, vs: usize, u: *const f32, us: usize, c: *mut f32, cs: usize, accumulate: bool) {
    gemm_to::<R, T>(rows, k, v, vs, u, us, |row, r| c.add(row * cs + r * LANES), accumulate)
}

/// [`gemm`] with the last register of outputs written elsewhere: registers `0..R − 1` to `c`
/// (row stride `cs`), register `R − 1` to `c2` (row stride `cs2`). conv4's pass takes conv4's
/// 32 outputs and conv5's split sums this way in one GEMM (`super::SplitConv5`).
///
/// # Safety
/// As [`gemm`], with `C` rows × 16·(R − 1) and `C2` rows × 16.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm_split_last<const R: usize, const T: usize>(rows: usize, k: usize, v: *const f32, vs: usize, u: *const f32, us: usize, (c, cs): (*mut f32, usize), (c2, cs2): (*mut f32, usize), accumulate: bool) {
    gemm_to::<R, T>(rows, k, v, vs, u, us, |row, r| if r + 1 < R { c.add(row * cs + r * LANES) } else { c2.add(row * cs2) }, accumulate)
}

/// The micro-kernel loop of [`gemm`]; `dst(row, register)` is where that row's register of
/// outputs goes.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_to<const R: usize, const T: usize>(rows: usize, k: usize, v: *const f32, vs: usize, u: *const f32, us: usize, dst: impl Fn(usize, usize) -> *mut f32, accumulate: bool) {
    debug_assert_eq!(rows % T, 0);
    for t0 in (0..rows).step_by(T) {
        let a = v.add(t0 * vs);
        let mut k0 = 0;
        loop {
            let k1 = k.min(k0 + super::ACCUMULATE_STEPS);
            let mut acc = [[_mm512_setzero_ps(); R]; T];
            for kk in k0..k1 {
                let mut b = [_mm512_setzero_ps(); R];
                for (r, b) in b.iter_mut().enumerate() {
                    *b = _mm512_loadu_ps(u.add(kk * us + r * LANES));
                }
                for (t, acc) in acc.iter_mut().enumerate() {
                    let x = _mm512_set1_ps(*a.add(t * vs + kk));
                    for r in 0..R {
                        acc[r] = _mm512_fmadd_ps(x, b[r], acc[r]);
                    }
                }
            }
            for (t, acc) in acc.iter().enumerate() {
                for (r, acc) in acc.iter().enumerate() {
                    let dst = dst(t0 + t, r);
                    _mm512_storeu_ps(dst, if k0 == 0 && !accumulate { *acc } else { _mm512_add_ps(_mm512_loadu_ps(dst), *acc) });
                }
            }
            if k1 >= k {
                break;
            }
            k0 = k1;
        }
    }
}

/// The generic `output_band`'s contract and output, reading `mm` with `rows` rows per ξ block.
///
/// # Safety
/// As the generic `output_band`; the CPU must have AVX-512F.
#[target_feature(enable = "avx512f")]
pub unsafe fn output_band<const A: usize, const M: usize>(geo: &Geometry, mm: *const f32, rows: usize, nt: usize, t0: usize, conv: &WinogradConv, out: Out) {
    let ostride = conv.cout.div_ceil(LANES) * LANES;
    let plane = geo.h * geo.w;
    let slope = _mm512_set1_ps(match out.sink {
        Sink::Features { slope, .. } => slope,
        Sink::Planes => 1.0,
    });
    let zero = _mm512_setzero_ps();
    for k in 0..nt {
        let tile = t0 + k;
        let (ty, tx) = (tile / geo.tw, tile % geo.tw);
        // The outputs' lines are in L3 (the feature map is far larger than L2); ask for them
        // ahead, as the input transform does for its pixels. (The write hint compiles to a plain
        // `prefetcht0`: `prefetchw` needs the `prfchw` target feature, unstable in Rust.)
        if let (Sink::Features { slot, .. }, true) = (out.sink, k + PREFETCH_TILES < nt) {
            let ahead = tile + PREFETCH_TILES;
            let (py, px) = (ahead / geo.tw, ahead % geo.tw);
            for i in 0..M.min(geo.h.saturating_sub(M * py)) {
                for j in 0..M.min(geo.w.saturating_sub(M * px)) {
                    let pixel = out.feat.get().add(((M * py + i + 1) * geo.wp + M * px + j + 1) * geo.width + slot);
                    for o in (0..conv.cout).step_by(LANES) {
                        _mm_prefetch::<_MM_HINT_ET0>(pixel.add(o) as *const i8);
                    }
                    _mm_prefetch::<_MM_HINT_ET0>(pixel.add(conv.cout.div_ceil(LANES) * LANES - 1) as *const i8);
                }
            }
        }
        for o0 in (0..conv.cout).step_by(LANES) {
            let bias = _mm512_loadu_ps(conv.bias.as_ptr().add(o0));
            let mut t = [[zero; A]; M];
            for j in 0..A {
                let mut col = [zero; A];
                for (r, col) in col.iter_mut().enumerate() {
                    *col = _mm512_loadu_ps(mm.add(((r * A + j) * rows + k) * ostride + o0));
                }
                let y = output_1d::<A, M>(col);
                for i in 0..M {
                    t[i][j] = y[i];
                }
            }
            for (i, t) in t.iter().enumerate() {
                let y = M * ty + i;
                if y >= geo.h {
                    break;
                }
                let row = output_1d::<A, M>(*t);
                for (j, values) in row.iter().enumerate() {
                    let x = M * tx + j;
                    if x >= geo.w {
                        break;
                    }
                    let v = _mm512_add_ps(*values, bias);
                    let v = _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask::<_CMP_LT_OQ>(v, zero), v, slope);
                    match out.sink {
                        Sink::Features { slot, .. } => {
                            // Whole registers, as the generic code (channels past cout are the
                            // next ones' or padding, written before anything reads them).
                            _mm512_storeu_ps(out.feat.get().add(((y + 1) * geo.wp + x + 1) * geo.width + slot + o0), v);
                        }
                        Sink::Planes => {
                            let mut lanes = [0f32; LANES];
                            _mm512_storeu_ps(lanes.as_mut_ptr(), v);
                            let dst = out.planes.get().add(y * geo.w + x);
                            for (l, &v) in lanes[..LANES.min(conv.cout - o0)].iter().enumerate() {
                                *dst.add((o0 + l) * plane) = v;
                            }
                        }
                    }
                }
            }
        }
    }
}
