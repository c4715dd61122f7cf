//! Times `metrics::evaluate` (PSNR and SSIM, Y and RGB) the way the app runs it after every
//! slider move: `cargo run --release --example metrics_bench [IMAGE]` (default: the bundled
//! sample). The distorted image is the reference with a fixed pattern added to red.
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "assets/sunset_pier.png".into());
    let reference = match image::open(&path) {
        Ok(image) => image.to_rgb8(),
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let mut distorted = reference.clone();
    for (i, p) in distorted.pixels_mut().enumerate() {
        p.0[0] = p.0[0].wrapping_add((i % 7) as u8);
    }
    let mut times = Vec::new();
    let mut metrics = None;
    for _ in 0..15 {
        let start = Instant::now();
        metrics = Some(rescale_lab::metrics::evaluate(&reference, &distorted, 2));
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let (w, h) = reference.dimensions();
    println!("{w}x{h}: median {:.1} ms of 15 ({:?})", times[times.len() / 2], metrics.unwrap());
}
