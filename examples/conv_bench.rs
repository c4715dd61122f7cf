//! CPU throughput of the DenseBlock convolutions: candle's `conv2d` vs `fast_conv`, and the
//! machine's GEMM ceiling (the `gemm` crate on a similar-sized matmul).
//!
//! `cargo run --release --example conv_bench -- [SIZE] [REPS] [fast]` (default 256 5; `fast`
//! skips candle). Prints medians.

use std::time::Instant;

use candle_core::{Device, Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig};
use rescale_lab::fast_conv::{conv3x3_packed, Activation, PackedConv3x3, PackedDenseBlock, GROWTH};

fn median_secs(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?; // warm-up
    let mut t = Vec::with_capacity(reps);
    for _ in 0..reps {
        let s = Instant::now();
        f()?;
        t.push(s.elapsed().as_secs_f64());
    }
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Ok(t[t.len() / 2])
}

fn rand_t(shape: &[usize], scale: f64) -> Result<Tensor> {
    Tensor::randn(0f32, 1f32, shape, &Device::Cpu)?.affine(scale, 0.0)
}

fn gemm_gflops(m: usize, n: usize, k: usize, reps: usize, threads: usize) -> Result<f64> {
    let a = vec![0.5f32; m * k];
    let b = vec![0.25f32; k * n];
    let mut c = vec![0f32; m * n];
    let par = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    let t = median_secs(reps, || {
        // SAFETY: row-major m×k, k×n, m×n buffers of exactly those sizes.
        unsafe {
            gemm::gemm(
                m, n, k, c.as_mut_ptr(), 1, n as isize, false, a.as_ptr(), 1, k as isize,
                b.as_ptr(), 1, n as isize, 0.0, 1.0, false, false, false, par,
            )
        };
        Ok(())
    })?;
    Ok(2.0 * (m * n * k) as f64 / t / 1e9)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let size: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(256);
    let reps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    // Third argument `fast`: skip the (slow) candle measurements, print 0 for them.
    let fast_only = args.get(3).is_some_and(|s| s == "fast");
    let threads = rayon::current_num_threads();
    let (h, w) = (size, size);
    let cfg = Conv2dConfig { padding: 1, ..Default::default() };
    println!("{h}×{w}, median of {reps}, rayon threads {threads}");
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        println!("loadavg: {}", l.trim());
    }

    println!("\n## GEMM ceiling (gemm crate, f32, row-major)");
    println!("{:<34} {:>9}", "shape m×k×n", "GFLOP/s");
    for &(m, k, n) in &[(1024, 1024, 1024), (2048, 2048, 2048), (h * w, 9 * 173, 32), (h * w, 9 * 77, 32), (4096, 9 * 173, 32)] {
        let g = gemm_gflops(m, n, k, reps, threads)?;
        println!("{:<34} {:>9.1}", format!("{m}×{k}×{n} (Rayon({threads}))"), g);
    }
    let g1 = gemm_gflops(1024, 1024, 1024, reps, 1)?;
    println!("{:<34} {:>9.1}", "1024×1024×1024 (1 thread)", g1);
    // candle's own matmul on the same square shape.
    let a = rand_t(&[1024, 1024], 1.0)?;
    let b = rand_t(&[1024, 1024], 1.0)?;
    let t = median_secs(reps, || a.matmul(&b).map(|_| ()))?;
    println!("{:<34} {:>9.1}", "candle matmul 1024³", 2.0 * 1024f64.powi(3) / t / 1e9);

    println!("\n## Single 3×3 convs (padding 1), {h}×{w}");
    println!("{:<12} {:>8} {:>12} {:>12} {:>12} {:>8}", "cin→cout", "GFLOP", "candle GF/s", "fast GF/s", "fast ms", "speedup");
    for &(cin, cout) in &[(3, 32), (9, 32), (45, 32), (77, 32), (109, 32), (141, 32), (131, 9), (173, 3)] {
        let s = 1.0 / ((cin * 9) as f64).sqrt();
        let wt = rand_t(&[cout, cin, 3, 3], s)?;
        let b = rand_t(&[cout], s)?;
        let x = rand_t(&[1, cin, h, w], 1.0)?;
        let conv = Conv2d::new(wt.clone(), Some(b.clone()), cfg);
        let packed = PackedConv3x3::from_tensors(&wt, &b)?;
        let flops = packed.flops(h, w);
        let tc = if fast_only { f64::INFINITY } else { median_secs(reps, || conv.forward(&x).map(|_| ()))? };
        let tf = median_secs(reps, || conv3x3_packed(&x, &packed, Activation::None).map(|_| ()))?;
        println!(
            "{:<12} {:>8.3} {:>12.1} {:>12.1} {:>12.1} {:>7.1}×",
            format!("{cin}→{cout}"),
            flops / 1e9,
            flops / tc / 1e9,
            flops / tf / 1e9,
            tf * 1e3,
            tc / tf
        );
    }

    println!("\n## Whole DenseBlocks (5 convs + LeakyReLU + concatenation), {h}×{w}");
    println!("{:<22} {:>8} {:>12} {:>12} {:>10} {:>10} {:>8}", "block cin→cout", "GFLOP", "candle GF/s", "fast GF/s", "candle ms", "fast ms", "speedup");
    for &(cin, cout, what) in &[(9, 3, "IRN×2 F"), (3, 9, "IRN×2 G,H"), (45, 3, "IRN×4 F"), (3, 45, "IRN×4 G,H")] {
        let convs: Vec<(Tensor, Tensor)> = (0..5)
            .map(|k| {
                let i = cin + k * GROWTH;
                let o = if k < 4 { GROWTH } else { cout };
                let s = 1.0 / ((i * 9) as f64).sqrt();
                Ok((rand_t(&[o, i, 3, 3], s)?, rand_t(&[o], s)?))
            })
            .collect::<Result<_>>()?;
        let arr: [(Tensor, Tensor); 5] = convs.clone().try_into().unwrap();
        let packed = PackedDenseBlock::new(&arr)?;
        let layers: Vec<Conv2d> = convs.iter().map(|(w, b)| Conv2d::new(w.clone(), Some(b.clone()), cfg)).collect();
        let x = rand_t(&[1, cin, h, w], 1.0)?;
        let flops = packed.flops(h, w);
        let tc = if fast_only { f64::INFINITY } else { median_secs(reps, || {
            let mut f = x.clone();
            for conv in &layers[..4] {
                let g = candle_nn::ops::leaky_relu(&conv.forward(&f)?, 0.2)?;
                f = Tensor::cat(&[&f, &g], 1)?;
            }
            layers[4].forward(&f).map(|_| ())
        })? };
        let tf = median_secs(reps, || packed.forward(&x).map(|_| ()))?;
        println!(
            "{:<22} {:>8.3} {:>12.1} {:>12.1} {:>10.1} {:>10.1} {:>7.1}×",
            format!("{cin}→{cout} ({what})"),
            flops / 1e9,
            flops / tc / 1e9,
            flops / tf / 1e9,
            tc * 1e3,
            tf * 1e3,
            tc / tf
        );
    }
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        println!("\nloadavg: {}", l.trim());
    }
    Ok(())
}
