//! The app's compute thread, driven through `Workers` as the app drives it: a slider move made
//! while SSIMULACRA2/Butteraugli run starts at once, and closing an image stops its work.

use std::sync::Arc;
use std::time::{Duration, Instant};

use image::{Rgb, RgbImage};
use rescale_lab::bicubic::Bicubic;
use rescale_lab::codec::{Codec, Quality};
use rescale_lab::gui::worker::{ComputeJob, Event, JobMethod, Workers};
use rescale_lab::methods::{default_method, MethodKind};
use rescale_lab::rescaler::UpscaleOptions;

/// Photo-sized, so that a perceptual pass or a network pass takes far longer than Bicubic's.
fn image() -> Arc<RgbImage> {
    Arc::new(RgbImage::from_fn(1024, 680, |x, y| {
        let noise = ((x.wrapping_mul(73) ^ y.wrapping_mul(151)) % 41) as u8;
        Rgb([(x / 4) as u8, (y * 255 / 680) as u8, 100u8.wrapping_add(noise).wrapping_add(if (x / 8 + y / 8) % 2 == 0 { 60 } else { 0 })])
    }))
}

fn bicubic() -> JobMethod {
    JobMethod { key: "bicubic-x2".into(), label: "Bicubic".into(), rescaler: Arc::new(Bicubic::new(2)), is_network: false }
}

/// The shipped IRN ×2.
fn irn() -> JobMethod {
    let method = default_method(MethodKind::Irn, 2, "jpeg", &candle_core::Device::Cpu);
    JobMethod { key: method.key, label: method.label, rescaler: method.rescaler.expect("the shipped IRN ×2 loads"), is_network: true }
}

fn job(job_id: u64, image: &Arc<RgbImage>, quality: u8, methods: Vec<JobMethod>, perceptual: bool) -> ComputeJob {
    ComputeJob {
        job_id,
        doc_id: 1,
        image: image.clone(),
        methods,
        codec: Codec::Jpeg { quality: Quality::new(quality).unwrap() },
        target_bpp: None,
        perceptual,
        compute_ahead: false,
        options: UpscaleOptions::default(),
        diff_full_scale: 32,
        region: None,
        have_full: Vec::new(),
        have_perceptual: Vec::new(),
    }
}

/// What came, as (job, kind, method key) in order, until `until` (job, kind) has come.
fn events_until(workers: &Workers, seen: &mut Vec<(u64, &'static str, String)>, until: (u64, &'static str)) {
    let start = Instant::now();
    while !seen.iter().any(|(job, kind, _)| (*job, *kind) == until) {
        let left = Duration::from_secs(300).saturating_sub(start.elapsed());
        let event = workers.events.recv_timeout(left).unwrap_or_else(|_| panic!("no {until:?} within 300 s; seen {seen:?}"));
        seen.push(match event {
            Event::Result(r) => {
                assert!(r.outcome.is_ok(), "job {}: {:?}", r.job_id, r.outcome.err());
                (r.job_id, "result", r.key)
            }
            Event::Perceptual(p) => {
                assert!(p.outcome.is_ok(), "job {}: {:?}", p.job_id, p.outcome.err());
                (p.job_id, "perceptual", p.key)
            }
            Event::JobFinished { job_id } => (job_id, "finished", String::new()),
            // A network pass over several tiles has finished one.
            Event::Progress { job_id, key, progress } if progress.pass.is_some_and(|p| p.done > 0) => (job_id, "tile", key),
            _ => continue,
        });
    }
}

fn position(seen: &[(u64, &'static str, String)], job: u64, kind: &str) -> Option<usize> {
    seen.iter().position(|(j, k, _)| (*j, *k) == (job, kind))
}

#[test]
fn a_new_job_does_not_wait_for_the_perceptual_pass_of_the_previous_one() {
    let workers = Workers::start(egui::Context::default(), 4096);
    let image = image();
    let mut seen = Vec::new();

    // Job 1's whole image is in; its perceptual pass starts now.
    workers.submit(job(1, &image, 75, vec![bicubic()], true));
    events_until(&workers, &mut seen, (1, "result"));
    // The slider moves.
    workers.submit(job(2, &image, 74, vec![bicubic()], true));
    events_until(&workers, &mut seen, (2, "finished"));

    let result_2 = position(&seen, 2, "result").expect("job 2's result");
    // Job 1's pass (begun before job 2 came) may finish, but only after job 2's result: job 2
    // did not wait for it. On the compute thread it came first, every time.
    if let Some(stale) = position(&seen, 1, "perceptual") {
        assert!(stale > result_2, "job 2 waited for job 1's perceptual pass: {seen:?}");
    }
    // Job 2's own pass is done before its job is reported finished (the app's "idle").
    let perceptual_2 = position(&seen, 2, "perceptual").expect("job 2's perceptual pass");
    assert!(result_2 < perceptual_2 && perceptual_2 < position(&seen, 2, "finished").unwrap(), "{seen:?}");
}

#[test]
fn closing_the_image_stops_its_network_pass() {
    let workers = Workers::start(egui::Context::default(), 4096);
    let image = image();
    let mut seen = Vec::new();
    let irn = irn();
    let irn_key = irn.key.clone();

    // Bicubic's result is in and IRN's full pass (seconds here)
    // have done a tile: the user closes the image.
    workers.submit(job(1, &image, 75, vec![bicubic(), irn], true));
    events_until(&workers, &mut seen, (1, "tile"));
    workers.forget_doc(1);
    let closed_at = seen.len();
    events_until(&workers, &mut seen, (1, "finished"));
    let after = &seen[closed_at..];
    assert!(!after.iter().any(|(_, kind, key)| *kind == "result" && *key == irn_key), "IRN went on for a closed image: {seen:?}");
    assert!(position(&seen, 1, "perceptual").is_none(), "perceptual passes for a closed image: {seen:?}");

    // A job still queued for the closed image does nothing.
    workers.submit(job(2, &image, 70, vec![bicubic()], false));
    events_until(&workers, &mut seen, (2, "finished"));
    assert!(position(&seen, 2, "result").is_none(), "{seen:?}");
}
