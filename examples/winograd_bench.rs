//! Whole DenseBlocks at SIDE² on the CPU: the direct path (nine shifted GEMMs) against
//! Winograd F(2x2,3x3) and F(4x4,3x3), with each one's largest difference from the direct output.
//!
//! `cargo run --release --example winograd_bench -- [SIDE] [direct|f2|f4]` (default 256, all
//! three). Median (and minimum) of 5 runs each (`RUNS=N` for more); the four block shapes of IRN/SAIN ×2 and ×4.

use rescale_lab::fast_conv::PackedDenseBlock;
use rescale_lab::winograd::{F2X3, F4X3};
use std::time::Instant;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let side: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(256);
    let runs: usize = std::env::var("RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    for (cin, cout) in [(9usize, 3usize), (3, 9), (45, 3), (3, 45)] {
        let mut seed = 1u64;
        let mut rnd = || { seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5 };
        let ws: Vec<(Vec<f32>, Vec<f32>)> = (0..5).map(|i| { let ci = cin + 32 * i; let co = if i < 4 { 32 } else { cout }; ((0..co * ci * 9).map(|_| rnd() * 0.1).collect(), (0..co).map(|_| rnd() * 0.1).collect()) }).collect();
        let convs = [0, 1, 2, 3, 4].map(|i| (ws[i].0.as_slice(), ws[i].1.as_slice()));
        let block = PackedDenseBlock::from_slices(cin, cout, convs).unwrap();
        let x: Vec<f32> = (0..cin * side * side).map(|_| rnd()).collect();
        let flops = block.flops(side, side);
        let mut refout = vec![0f32; cout * side * side];
        let direct = block.clone().with_winograd(None);
        direct.forward_slice(&x, side, side, &mut refout);
        let peak = refout.iter().fold(0f32, |m, v| m.max(v.abs()));
        let only = args.get(2).cloned().unwrap_or_default();
        for (name, b) in [("direct", direct.clone()), ("f2", block.clone().with_winograd(Some(F2X3))), ("f4", block.clone().with_winograd(Some(F4X3)))] {
            if !only.is_empty() && only != name { continue; }
            let mut out = vec![0f32; cout * side * side];
            b.forward_slice(&x, side, side, &mut out);
            let mut ts = vec![];
            for _ in 0..runs { let t = Instant::now(); b.forward_slice(&x, side, side, &mut out); ts.push(t.elapsed().as_secs_f64()); }
            ts.sort_by(f64::total_cmp);
            let err = out.iter().zip(&refout).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            let med = ts[runs / 2];
            println!("{cin}->{cout} {name:<6} {:>7.1} ms (min {:>6.1})  {:>6.1} eff GFLOP/s  max err {:.2e} (peak {:.2e})", med * 1e3, ts[0] * 1e3, flops / med / 1e9, err, peak);
        }
    }
}
