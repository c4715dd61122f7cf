//! A 3×3 convolution to a few output channels: the DenseBlock's conv5 with 3 or 9 outputs from
//! 131–137 inputs, which every ×2 block has, on CPUs with AVX-512.
//!
//! As a GEMM this is (pixels × cin)·(cin × cout) nine times with cout = 3 or 9, a shape that
//! fills a third to a half of the GEMM crate's micro-kernels; Winograd would pad the outputs to
//! 16 lanes and transform all the input channels once more. Here the sixteen lanes run over
//! input channels: each pixel's 9·cin products for one output are summed in a register, then
//! across its lanes. Five neighbouring pixels share every weight register and the outputs go
//! three at a time: 15 accumulators, five inputs and a weight stay in registers (with seven
//! pixels the compiler spilled accumulators; with all nine outputs at once the weights no longer
//! fit in L1). The next pixels' lines are prefetched: the feature map is in L3, and without that
//! the kernel was no faster than the GEMM path it replaces (`docs/cpu-performance.md`).

use rayon::prelude::*;

use crate::aligned::Aligned;
use crate::fast_conv::{PackedConv3x3, SendPtr};

const LANES: usize = 16;

/// Outputs computed together.
const GROUP: usize = 3;
/// Pixels computed together (see the module's note).
const PIXELS: usize = 5;

/// conv5's weights in groups of three outputs, `w[(((group·9 + tap)·chunks + chunk)·3 + o)·16 +
/// lane]` (input channel `chunk·16 + lane`, zero past `cin`), and its bias.
#[derive(Debug, Clone)]
pub struct NarrowConv {
    cin: usize,
    cout: usize,
    chunks: usize,
    w: Aligned,
    bias: Vec<f32>,
}

/// The feature buffer a [`NarrowConv`] reads: zero-padded NHWC, `width` floats a pixel and `wp`
/// pixels a row, the image's pixel (y, x) at (y + 1, x + 1), zeros around it.
#[derive(Debug, Clone, Copy)]
pub struct Padded {
    pub h: usize,
    pub w: usize,
    pub wp: usize,
    pub width: usize,
}

impl NarrowConv {
    /// `None` where this path does not apply: output counts other than 3 and 9, a CPU without
    /// AVX-512, or `RESCALE_LAB_NARROW=off` (to measure it; `RESCALE_LAB_SIMD=avx2|base` also
    /// turns it off, as it does the Winograd kernels).
    pub fn new(conv: &PackedConv3x3) -> Option<Self> {
        let off = std::env::var("RESCALE_LAB_NARROW").is_ok_and(|v| v == "off") || std::env::var("RESCALE_LAB_SIMD").is_ok_and(|v| matches!(v.as_str(), "avx2" | "base"));
        #[cfg(target_arch = "x86_64")]
        if matches!(conv.cout(), 3 | 9) && !off && std::arch::is_x86_feature_detected!("avx512f") {
            let (cin, cout) = (conv.cin(), conv.cout());
            let chunks = cin.div_ceil(LANES);
            let mut w = vec![0f32; 9 * chunks * cout * LANES];
            for tap in 0..9 {
                for c in 0..cin {
                    for o in 0..cout {
                        let (group, o3) = (o / GROUP, o % GROUP);
                        w[(((group * 9 + tap) * chunks + c / LANES) * GROUP + o3) * LANES + c % LANES] = conv.weight_at(o, c, tap / 3, tap % 3);
                    }
                }
            }
            return Some(Self { cin, cout, chunks, w: Aligned::from_slice(&w), bias: conv.bias().to_vec() });
        }
        let _ = (conv, off);
        None
    }

    /// Reads channels `[0, cin)` of `feat` and writes the NCHW planes `out` (`cout × h × w`),
    /// rows in parallel.
    pub fn forward(&self, feat: &[f32], geo: Padded, out: &mut [f32]) {
        assert!(self.cin <= geo.width && geo.wp >= geo.w + 2 && feat.len() >= (geo.h + 2) * geo.wp * geo.width);
        assert_eq!(out.len(), self.cout * geo.h * geo.w);
        let dst = SendPtr(out.as_mut_ptr());
        (0..geo.h).into_par_iter().with_min_len(4).for_each(|y| {
            // SAFETY: `new` checked AVX-512F; row y reads padded rows y..y+3 (in bounds, checked
            // above) and writes only row y of each output plane.
            #[cfg(target_arch = "x86_64")]
            unsafe {
                self.row(feat.as_ptr(), geo, y, dst.get());
            }
            #[cfg(not(target_arch = "x86_64"))]
            let _ = (y, dst);
        });
    }

    /// Row `y`: [`PIXELS`] pixels at a time, each group of three outputs in turn on the same
    /// pixels (their inputs are then in L1), then one pixel at a time.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn row(&self, feat: *const f32, geo: Padded, y: usize, out: *mut f32) {
        let mut x = 0;
        while x + PIXELS <= geo.w {
            // The columns the next step adds, from L3 (the feature map is far larger than L2):
            // without this every step waits on its loads.
            for column in (x + PIXELS + 2..x + 2 * PIXELS + 2).filter(|&c| c < geo.wp) {
                for ky in 0..3 {
                    let pixel = feat.add(((y + ky) * geo.wp + column) * geo.width);
                    for chunk in 0..self.chunks {
                        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(pixel.add(chunk * LANES) as *const i8);
                    }
                }
            }
            for group in 0..self.cout / GROUP {
                self.pixels::<GROUP, PIXELS>(feat, geo, y, x, group, out);
            }
            x += PIXELS;
        }
        while x < geo.w {
            for group in 0..self.cout / GROUP {
                self.pixels::<GROUP, 1>(feat, geo, y, x, group, out);
            }
            x += 1;
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn pixels<const O: usize, const P: usize>(&self, feat: *const f32, geo: Padded, y: usize, x: usize, group: usize, out: *mut f32) {
        use std::arch::x86_64::*;
        let mut acc = [[_mm512_setzero_ps(); O]; P];
        // Channels past cin are not read: they may be another block's stale values.
        let last = ((1u32 << (self.cin - (self.chunks - 1) * LANES)) - 1) as __mmask16;
        for tap in 0..9 {
            let base = feat.add(((y + tap / 3) * geo.wp + x + tap % 3) * geo.width);
            let weights = self.w.as_ptr().add((group * 9 + tap) * self.chunks * O * LANES);
            for chunk in 0..self.chunks {
                let mask = if chunk + 1 == self.chunks { last } else { 0xffff };
                let mut input = [_mm512_setzero_ps(); P];
                for (p, input) in input.iter_mut().enumerate() {
                    *input = _mm512_maskz_loadu_ps(mask, base.add(p * geo.width + chunk * LANES));
                }
                for o in 0..O {
                    let w = _mm512_loadu_ps(weights.add((chunk * O + o) * LANES));
                    for p in 0..P {
                        acc[p][o] = _mm512_fmadd_ps(input[p], w, acc[p][o]);
                    }
                }
            }
        }
        let plane = geo.h * geo.w;
        for (p, acc) in acc.iter().enumerate() {
            for (o, acc) in acc.iter().enumerate() {
                let o = group * O + o;
                *out.add(o * plane + y * geo.w + x + p) = _mm512_reduce_add_ps(*acc) + self.bias[o];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fast_conv::{conv3x3_nhwc, Activation};

    /// Against the GEMM path's convolution, for both output counts, widths that leave a tail of
    /// single pixels, and NaN in the buffer's channels past `cin` (they must not be read).
    #[test]
    fn matches_the_direct_convolution_and_reads_only_its_channels() {
        if NarrowConv::new(&PackedConv3x3::from_oihw(1, 3, &[0.0; 27], &[0.0; 3]).unwrap()).is_none() {
            eprintln!("no AVX-512 here (or the path is switched off): nothing to compare");
            return;
        }
        for (cin, cout, h, w) in [(37usize, 3usize, 5usize, 13usize), (41, 9, 4, 7), (16, 9, 3, 1)] {
            let weight: Vec<f32> = (0..cout * cin * 9).map(|i| ((i * 37) % 29) as f32 / 29.0 - 0.5).collect();
            let bias: Vec<f32> = (0..cout).map(|o| o as f32 * 0.1 - 0.3).collect();
            let conv = PackedConv3x3::from_oihw(cin, cout, &weight, &bias).unwrap();
            let narrow = NarrowConv::new(&conv).expect("3 or 9 outputs");
            let width = cin.next_multiple_of(16) + 16;
            let geo = Padded { h, w, wp: w + 2, width };
            let image: Vec<f32> = (0..h * w * cin).map(|i| ((i * 13) % 31) as f32 / 31.0 - 0.4).collect();
            let mut feat = vec![f32::NAN; (h + 2) * geo.wp * width];
            for y in 0..h + 2 {
                for x in 0..geo.wp {
                    let inside = (1..=h).contains(&y) && (1..=w).contains(&x);
                    for c in 0..cin {
                        feat[(y * geo.wp + x) * width + c] = if inside { image[((y - 1) * w + x - 1) * cin + c] } else { 0.0 };
                    }
                }
            }
            let mut got = vec![0f32; cout * h * w];
            narrow.forward(&feat, geo, &mut got);
            let mut want = vec![0f32; h * w * cout];
            conv3x3_nhwc(h, w, &image, cin, &conv, &mut want, cout, Activation::None);
            for o in 0..cout {
                for p in 0..h * w {
                    let (g, e) = (got[o * h * w + p], want[p * cout + o]);
                    assert!((g - e).abs() <= 1e-5 * (1.0 + e.abs()), "cin {cin} cout {cout} output {o} pixel {p}: {g} vs {e}");
                }
            }
        }
    }
}
