//! The Winograd convolutions (the CPU default) against the direct path, on what users measure:
//! the shipped models' Set5 numbers, through the CLI, must not move by more than 0.01 dB.

use std::path::Path;
use std::process::Command;

fn set5(scale: u32, winograd: &str) -> Vec<(String, f64, f64)> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/eval/Set5");
    let out = Command::new(env!("CARGO_BIN_EXE_rescale-lab"))
        .args(["bench", "--methods", "irn,sain", "--codec", "none", "--quiet", "--no-perceptual", "--format", "json", "--scale"])
        .arg(scale.to_string())
        .arg("--data")
        .arg(&data)
        .env("RESCALE_LAB_WINOGRAD", winograd)
        // Both runs on the fast path: with candle's convolutions the variable would do nothing.
        .env_remove("RESCALE_LAB_NO_FAST_CONV")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| (r["method"].as_str().unwrap().to_string(), r["psnr_y"].as_f64().unwrap(), r["ssim_y"].as_f64().unwrap()))
        .collect()
}

#[test]
fn shipped_models_set5_numbers_move_less_than_a_hundredth_of_a_db() {
    for scale in [2, 4] {
        let direct = set5(scale, "off");
        assert_eq!(direct.len(), 2, "IRN and SAIN at ×{scale}: {direct:?}");
        for variant in ["f2", "f4"] {
            let winograd = set5(scale, variant);
            assert_eq!(winograd.len(), direct.len(), "{variant} ×{scale}: {winograd:?}");
            for ((name, p0, s0), (name1, p1, s1)) in direct.iter().zip(&winograd) {
                assert_eq!(name, name1);
                println!("×{scale} {variant} {name}: PSNR-Y {p0:.5} → {p1:.5}, SSIM-Y {s0:.6} → {s1:.6}");
                assert!((p1 - p0).abs() <= 0.01, "{variant} ×{scale} {name}: PSNR-Y {p0} → {p1}");
                assert!((s1 - s0).abs() <= 1e-4, "{variant} ×{scale} {name}: SSIM-Y {s0} → {s1}");
            }
        }
    }
}

/// The rescaled image written by `rescale-lab run` with `split` as `RESCALE_LAB_SPLIT`.
fn run_with_split(method: &str, split: &str, out: &Path) -> Vec<u8> {
    let image = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/eval/Set5/butterfly.png");
    let status = Command::new(env!("CARGO_BIN_EXE_rescale-lab"))
        .args(["run", "--method", method, "--no-perceptual", "--quality", "40", "--out"])
        .arg(out)
        .arg(&image)
        .env("RESCALE_LAB_SPLIT", split)
        .env_remove("RESCALE_LAB_NO_FAST_CONV")
        .env_remove("RESCALE_LAB_WINOGRAD")
        .env_remove("RESCALE_LAB_SIMD")
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let written = std::fs::read_dir(out).unwrap().map(|e| e.unwrap().path()).find(|p| p.to_string_lossy().ends_with("_sr.png")).expect("the result");
    std::fs::read(written).unwrap()
}

#[test]
fn conv4_and_the_split_conv5_in_one_gemm_give_the_same_bits_as_two() {
    if !avx512_here() {
        eprintln!("no AVX-512 here: the split conv5 does not run, nothing to compare");
        return;
    }
    for method in ["irn", "sain"] {
        let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        assert!(run_with_split(method, "on", one.path()) == run_with_split(method, "separate", two.path()), "{method}: the single GEMM changed the result");
    }
}

fn avx512_here() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}
