//! The app's SSIMULACRA2/Butteraugli passes run beside the compute thread: a slider move made
//! while one is running starts at once instead of waiting a second or so for it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use image::{Rgb, RgbImage};
use rescale_lab::bicubic::Bicubic;
use rescale_lab::codec::{Codec, Quality};
use rescale_lab::gui::worker::{ComputeJob, Event, JobMethod, Workers};
use rescale_lab::rescaler::UpscaleOptions;

/// Photo-sized, so that a perceptual pass takes far longer than Bicubic's whole pass.
fn image() -> Arc<RgbImage> {
    Arc::new(RgbImage::from_fn(1024, 680, |x, y| {
        let noise = ((x.wrapping_mul(73) ^ y.wrapping_mul(151)) % 41) as u8;
        Rgb([(x / 4) as u8, (y * 255 / 680) as u8, 100u8.wrapping_add(noise).wrapping_add(if (x / 8 + y / 8) % 2 == 0 { 60 } else { 0 })])
    }))
}

fn job(job_id: u64, image: &Arc<RgbImage>, quality: u8) -> ComputeJob {
    ComputeJob {
        job_id,
        doc_id: 1,
        image: image.clone(),
        methods: vec![JobMethod { key: "bicubic-x2".into(), label: "Bicubic".into(), rescaler: Arc::new(Bicubic::new(2)), is_network: false }],
        codec: Codec::Jpeg { quality: Quality::new(quality).unwrap() },
        target_bpp: None,
        perceptual: true,
        compute_ahead: false,
        options: UpscaleOptions::default(),
        diff_full_scale: 32,
        region: None,
        have_full: Vec::new(),
    }
}

/// What came, as (job, kind) in order, until `until` has come.
fn events_until(workers: &Workers, seen: &mut Vec<(u64, &'static str)>, until: (u64, &'static str)) {
    let start = Instant::now();
    while !seen.contains(&until) {
        let left = Duration::from_secs(120).saturating_sub(start.elapsed());
        let event = workers.events.recv_timeout(left).unwrap_or_else(|_| panic!("no {until:?} within 120 s; seen {seen:?}"));
        seen.push(match event {
            Event::Result(r) => {
                assert!(r.outcome.is_ok(), "job {}: {:?}", r.job_id, r.outcome.err());
                (r.job_id, "result")
            }
            Event::Perceptual(p) => {
                assert!(p.outcome.is_ok(), "job {}: {:?}", p.job_id, p.outcome.err());
                (p.job_id, "perceptual")
            }
            Event::JobFinished { job_id } => (job_id, "finished"),
            _ => continue,
        });
    }
}

#[test]
fn a_new_job_does_not_wait_for_the_perceptual_pass_of_the_previous_one() {
    let workers = Workers::start(egui::Context::default(), 4096);
    let image = image();
    let mut seen = Vec::new();

    // Job 1's whole image is in; its perceptual pass starts now.
    workers.submit(job(1, &image, 75));
    events_until(&workers, &mut seen, (1, "result"));
    // The slider moves.
    workers.submit(job(2, &image, 74));
    events_until(&workers, &mut seen, (2, "finished"));

    let at = |what| seen.iter().position(|e| *e == what);
    let result_2 = at((2, "result")).expect("job 2's result");
    // Job 1's pass (begun before job 2 came) may finish, but only after job 2's result: job 2
    // did not wait for it. On the compute thread it came first, every time.
    if let Some(stale) = at((1, "perceptual")) {
        assert!(stale > result_2, "job 2 waited for job 1's perceptual pass: {seen:?}");
    }
    // Job 2's own pass is done before its job is reported finished (the app's "idle").
    let perceptual_2 = at((2, "perceptual")).expect("job 2's perceptual pass");
    assert!(result_2 < perceptual_2 && perceptual_2 < at((2, "finished")).unwrap(), "{seen:?}");
}
