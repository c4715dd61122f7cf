//! SSIMULACRA2 and Butteraugli against independent references: libjxl's `butteraugli_main` and
//! the PyPI `ssimulacra2` implementation, on Set5/Set14 images JPEG-compressed as Pillow does
//! (values in tests/fixtures/perceptual_reference.json, made by make_perceptual_reference.py).

use std::path::{Path, PathBuf};

use rescale_lab::codec::{decode_jpeg, encode_jpeg, Quality};
use rescale_lab::perceptual;

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared").join(rel)
}

fn hr(dataset: &str, name: &str) -> image::RgbImage {
    image::open(shared(&format!("data/eval/{dataset}/{name}.png"))).unwrap().to_rgb8()
}

fn jpeg(image: &image::RgbImage, quality: u8) -> image::RgbImage {
    decode_jpeg(&encode_jpeg(image, Quality::new(quality).unwrap()).unwrap()).unwrap()
}

#[test]
fn butteraugli_matches_libjxl_and_ssimulacra2_an_independent_implementation() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/perceptual_reference.json");
    let reference: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for pair in reference["pairs"].as_array().unwrap() {
        let (dataset, name) = (pair["dataset"].as_str().unwrap(), pair["image"].as_str().unwrap());
        let quality = pair["jpeg_quality"].as_u64().unwrap() as u8;
        let original = hr(dataset, name);
        let metrics = perceptual::evaluate(&original, &jpeg(&original, quality)).unwrap();
        let relative = |ours: f64, theirs: f64| (ours - theirs).abs() / theirs;
        let max_norm = pair["butteraugli"].as_f64().unwrap();
        let three_norm = pair["butteraugli_3norm"].as_f64().unwrap();
        let ss2 = pair["ssimulacra2_python"].as_f64().unwrap();
        println!(
            "{name} q{quality}: butteraugli {:.4} vs {max_norm:.4}, 3-norm {:.4} vs {three_norm:.4}, ssimulacra2 {:.3} vs {ss2:.3}",
            metrics.butteraugli, metrics.butteraugli_3norm, metrics.ssimulacra2
        );
        // The reference is the libjxl Debian 12 ships (0.7, 2022); the crate follows current
        // libjxl (its own table: < 0.001 % from today's butteraugli_main). Against 0.7 it reads
        // 0.1–3.6 % higher on the max-norm and 1.5–2.5 % on the 3-norm, always in the same
        // direction: a version difference, bounded here so that a real regression still shows.
        assert!(relative(metrics.butteraugli, max_norm) < 0.04, "{name}: max-norm {} vs libjxl {max_norm}", metrics.butteraugli);
        assert!(relative(metrics.butteraugli_3norm, three_norm) < 0.03, "{name}: 3-norm {} vs libjxl {three_norm}", metrics.butteraugli_3norm);
        // Two independent implementations of the same published metric agree within a point
        // and a half on a 0–100 scale (0.4–1.1 measured).
        assert!((metrics.ssimulacra2 - ss2).abs() < 1.5, "{name}: SSIMULACRA2 {} vs {ss2}", metrics.ssimulacra2);
    }
}

#[test]
fn identical_images_score_perfectly_and_scores_follow_the_jpeg_quality() {
    let original = hr("Set5", "bird");
    let same = perceptual::evaluate(&original, &original).unwrap();
    assert!((same.ssimulacra2 - 100.0).abs() < 1e-6, "{same:?}");
    assert!(same.butteraugli.abs() < 1e-6 && same.butteraugli_3norm.abs() < 1e-6, "{same:?}");
    let scores: Vec<_> = [20, 50, 80, 95].iter().map(|&q| perceptual::evaluate(&original, &jpeg(&original, q)).unwrap()).collect();
    for pair in scores.windows(2) {
        assert!(pair[1].ssimulacra2 > pair[0].ssimulacra2, "SSIMULACRA2 rises with quality: {scores:?}");
        assert!(pair[1].butteraugli_3norm < pair[0].butteraugli_3norm, "Butteraugli falls with quality: {scores:?}");
    }
}

#[test]
fn sizes_are_checked() {
    let a = image::RgbImage::new(16, 16);
    assert!(perceptual::evaluate(&a, &image::RgbImage::new(16, 15)).is_err());
    let tiny = image::RgbImage::new(7, 9);
    let error = perceptual::evaluate(&tiny, &tiny).unwrap_err().to_string();
    assert!(error.contains("too small"), "{error}");
    let (metrics, map) = perceptual::evaluate_with_map(&a, &a).unwrap();
    assert_eq!(map.len(), 256);
    assert_eq!(metrics, perceptual::evaluate(&a, &a).unwrap(), "one pass gives the same numbers");
}
