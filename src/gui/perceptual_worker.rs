//! SSIMULACRA2 and Butteraugli on threads of their own, out of the way of newer work.
//!
//! Each method's perceptual pass takes about a second on a 1-MP image (two cores), inside the
//! metric crates, where it cannot be stopped. On the compute thread a slider move made while
//! one ran waited for it: measured in the app, the crop's IRN came 0.7–1.1 s after the move
//! (now 0.4–0.6 s), and a crop already computed ahead 0.25–0.54 s (now 0.04–0.06 s). Here the
//! compute thread hands a job's full results over and is free for the next job at once. Each
//! job's passes get threads of their own at normal priority; when a newer job starts, the
//! threads of older jobs are demoted to run only on otherwise idle cores (Linux's
//! `SCHED_IDLE`), so a stale pass finishes without taking the cores from the newer job's
//! convolutions, and the passes it has not begun are skipped. (Everything at idle priority
//! from the start would starve the metrics whenever another program keeps the cores busy.)
//! The compute thread waits for a job's passes before it computes ahead of the slider, so idle
//! work never delays them.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use egui::ColorImage;
use image::RgbImage;

use crate::perceptual::PerceptualMetrics;

use super::colormap;
use super::worker::{panic_message, shrink_color_image, Closed, Event, MethodView, PerceptualResult};

/// Butteraugli's distance drawn so that this distance is the top of the ramp (1 is about the
/// threshold of visibility; beyond 4 the difference is plain to anyone).
pub const BUTTERAUGLI_FULL_SCALE: f32 = 4.0;

/// The perceptual passes of one job: every full-resolution result it computed.
pub struct PerceptualJob {
    pub job_id: u64,
    pub doc_id: u64,
    /// Method key, the modcropped original it is measured against, and its result.
    pub results: Vec<(String, Arc<RgbImage>, Arc<MethodView>)>,
}

/// The jobs whose passes are running, each with its threads' kernel ids.
type Running = Arc<Mutex<Vec<(u64, Vec<i64>)>>>;

/// The handle the compute thread keeps.
pub struct PerceptualWorker {
    events: Sender<Event>,
    ctx: egui::Context,
    max_side: usize,
    /// The newest job submitted: passes of older jobs not yet begun are skipped.
    latest: Arc<AtomicU64>,
    /// Passes for a closed image not yet begun are skipped too.
    closed: Closed,
    /// The newest job whose passes are all done or skipped.
    done: Arc<AtomicU64>,
    running: Running,
}

impl PerceptualWorker {
    pub(super) fn new(events: Sender<Event>, ctx: egui::Context, max_side: usize, latest: Arc<AtomicU64>, closed: Closed) -> Self {
        Self { events, ctx, max_side, latest, closed, done: Arc::new(AtomicU64::new(0)), running: Arc::default() }
    }

    /// Starts the job's passes; the job's `JobFinished` is sent once they are done or skipped.
    pub fn submit(&self, job: PerceptualJob) {
        let (events, ctx, max_side) = (self.events.clone(), self.ctx.clone(), self.max_side);
        let (latest, closed, done, running) = (self.latest.clone(), self.closed.clone(), self.done.clone(), self.running.clone());
        let job_id = job.job_id;
        running.lock().unwrap_or_else(|e| e.into_inner()).push((job_id, Vec::new()));
        let spawned = std::thread::Builder::new().name("rescale-perceptual".into()).spawn(move || {
            register(&running, job_id, &latest);
            let pool = {
                let (running, latest) = (running.clone(), latest.clone());
                // Two threads: SSIMULACRA2 and Butteraugli run side by side.
                rayon::ThreadPoolBuilder::new()
                    .num_threads(2)
                    .thread_name(|i| format!("rescale-perceptual-{i}"))
                    .start_handler(move |_| register(&running, job_id, &latest))
                    .build()
            };
            for (key, hr, view) in &job.results {
                if latest.load(Ordering::Relaxed) > job_id || closed.contains(job.doc_id) {
                    break;
                }
                let pass = || measure(hr, view, max_side);
                let outcome = match &pool {
                    Ok(pool) => pool.install(pass),
                    Err(_) => pass(),
                };
                let _ = events.send(Event::Perceptual(Box::new(PerceptualResult { job_id, doc_id: job.doc_id, key: key.clone(), outcome })));
                ctx.request_repaint();
            }
            finish(&running, &done, &events, &ctx, job_id);
        });
        // No thread: the passes are skipped, and the job is finished all the same.
        if spawned.is_err() {
            finish(&self.running, &self.done, &self.events, &self.ctx, job_id);
        }
    }

    /// A job newer than `job_id`'s is starting: the passes of `job_id` and older ones yield
    /// their cores to it from now on.
    pub fn yield_to(&self, job_id: u64) {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        for (_, threads) in running.iter().filter(|(id, _)| *id < job_id) {
            threads.iter().for_each(|&tid| idle_priority(tid));
        }
    }

    /// Whether every pass of `job_id` (and of the jobs before it) is done or skipped.
    pub fn finished(&self, job_id: u64) -> bool {
        self.done.load(Ordering::Acquire) >= job_id
    }
}

/// `job_id`'s passes are done or skipped: its threads leave `running` and the app hears.
fn finish(running: &Running, done: &AtomicU64, events: &Sender<Event>, ctx: &egui::Context, job_id: u64) {
    running.lock().unwrap_or_else(|e| e.into_inner()).retain(|(id, _)| *id != job_id);
    done.fetch_max(job_id, Ordering::Release);
    let _ = events.send(Event::JobFinished { job_id });
    ctx.request_repaint();
}

/// Adds the calling thread to `job_id`'s threads, so that a newer job can demote it, and
/// demotes it at once if a newer job came while it started.
fn register(running: &Running, job_id: u64, latest: &AtomicU64) {
    let tid = thread_id();
    let mut running = running.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, threads)) = running.iter_mut().find(|(id, _)| *id == job_id) {
        threads.push(tid);
    }
    if latest.load(Ordering::Relaxed) > job_id {
        idle_priority(tid);
    }
}

/// SSIMULACRA2, Butteraugli and its map, of a full-resolution result.
fn measure(hr: &RgbImage, view: &MethodView, max_side: usize) -> Result<(PerceptualMetrics, ColorImage), String> {
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<(PerceptualMetrics, ColorImage), String> {
        let (metrics, map) = crate::perceptual::evaluate_with_map(hr, &view.output.reconstruction).map_err(|e| e.to_string())?;
        let pixels = map.iter().map(|&d| colormap::ramp(d / BUTTERAUGLI_FULL_SCALE)).collect();
        let image = ColorImage::new([hr.width() as usize, hr.height() as usize], pixels);
        Ok((metrics, shrink_color_image(image, max_side)))
    }));
    match result {
        Ok(outcome) => outcome,
        Err(panic) => Err(panic_message(&panic)),
    }
}

/// The calling thread's kernel id (0 where there is none to demote).
fn thread_id() -> i64 {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid has no preconditions.
    return unsafe { libc::gettid() } as i64;
    #[cfg(not(target_os = "linux"))]
    return 0;
}

/// Makes thread `tid` of this process run only when no normal thread wants its core (Linux's
/// `SCHED_IDLE`: the lowest weight there is, and preempted as soon as a normal thread wakes;
/// nice 19 measured the same within the noise). Either way the stale pass fills the gaps where
/// a region's workers wait on each other. Elsewhere, or if it fails, nothing changes.
fn idle_priority(tid: i64) {
    #[cfg(target_os = "linux")]
    if tid > 0 {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: lowers the policy of one of this process's own threads, which needs no
        // privilege; a thread that has already exited gives ESRCH, which is ignored.
        unsafe { libc::sched_setscheduler(tid as libc::pid_t, libc::SCHED_IDLE, &param) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = tid;
}
