//! Bicubic & Bicubic through the whole pipeline (modcrop, MATLAB bicubic, 8-bit LR, Pillow-like
//! codec, metrics) against the numbers the official IRN/SAIN code gets on the same files, as
//! tabulated in ../shared/docs/rescaling-models.md ("Bicubic & Bicubic on these files").

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rescale_lab::bench::{run_bench, BenchConfig};
use rescale_lab::codec::{Codec, Quality};
use rescale_lab::methods::Method;

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared").join(rel)
}

/// (dataset, scale, codec, quality) → (PSNR-Y, SSIM-Y, PSNR-RGB, bpp)
type Reference = HashMap<(String, u32, String, Option<u8>), (f64, f64, f64, Option<f64>)>;

fn reference_table() -> Reference {
    let doc = std::fs::read_to_string(shared("docs/rescaling-models.md")).unwrap();
    let section = doc.split("## Bicubic & Bicubic on these files").nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    let mut table = Reference::new();
    let mut dataset = String::new();
    for line in section.lines() {
        if let Some(name) = line.strip_prefix("**").and_then(|l| l.strip_suffix("**")) {
            dataset = name.to_string();
        } else if line.starts_with("| x") {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let quality = cells[2].parse::<u8>().ok();
            let bpp = cells[6].parse::<f64>().ok();
            table.insert(
                (dataset.clone(), cells[0][1..].parse().unwrap(), cells[1].to_string(), quality),
                (cells[3].parse().unwrap(), cells[4].parse().unwrap(), cells[5].parse().unwrap(), bpp),
            );
        }
    }
    assert!(table.len() >= 51, "parsed {} reference rows", table.len());
    table
}

fn check(datasets: &[&str], scale: u32, codecs: Vec<Codec>, reference: &Reference) -> usize {
    let config = BenchConfig {
        datasets: datasets.iter().map(|d| shared(&format!("data/eval/{d}"))).collect(),
        codecs,
        methods: vec![Method::bicubic(scale)],
        options: Default::default(),
        load: Default::default(),
        strict: true,
        perceptual: false,
        target_bpp: Vec::new(),
    };
    let rows = run_bench(&config, |_| {}).unwrap().rows;
    for row in &rows {
        let key = (row.dataset.clone(), scale, row.codec.clone(), row.quality);
        let (psnr_y, ssim_y, psnr_rgb, bpp) = reference[&key];
        // The table is rounded to 3 decimals (dB) and 4 (SSIM, bpp).
        assert!((row.psnr_y - psnr_y).abs() <= 0.002, "{key:?}: PSNR-Y {} vs {psnr_y}", row.psnr_y);
        assert!((row.psnr_rgb - psnr_rgb).abs() <= 0.002, "{key:?}: PSNR-RGB {} vs {psnr_rgb}", row.psnr_rgb);
        assert!((row.ssim_y - ssim_y).abs() <= 0.0002, "{key:?}: SSIM-Y {} vs {ssim_y}", row.ssim_y);
        if let (Some(ours), Some(theirs)) = (row.bpp, bpp) {
            assert!((ours - theirs).abs() <= 0.0005, "{key:?}: bpp {ours} vs {theirs}");
        }
    }
    rows.len()
}

fn jpeg(qualities: &[u8]) -> Vec<Codec> {
    qualities.iter().map(|&q| Codec::Jpeg { quality: Quality::new(q).unwrap() }).collect()
}

fn webp(qualities: &[u8]) -> Vec<Codec> {
    qualities.iter().map(|&q| Codec::Webp { quality: Quality::new(q).unwrap() }).collect()
}

const QUALITIES: [u8; 5] = [30, 50, 70, 80, 90];

#[test]
fn bicubic_matches_the_official_pipeline_on_set5_and_set14() {
    let reference = reference_table();
    let sets = ["Set5", "Set14"];
    let mut checked = 0;
    for scale in [2, 4] {
        checked += check(&sets, scale, vec![Codec::None], &reference);
        checked += check(&sets, scale, jpeg(&QUALITIES), &reference);
    }
    checked += check(&sets, 2, webp(&QUALITIES), &reference);
    assert_eq!(checked, 2 * (2 + 10 + 5));
}

#[test]
fn bicubic_matches_the_official_pipeline_on_bsd100_at_the_ends_of_the_range() {
    let reference = reference_table();
    let checked = check(&["BSD100"], 2, jpeg(&[30, 90]), &reference)
        + check(&["BSD100"], 4, vec![Codec::None], &reference)
        + check(&["BSD100"], 2, webp(&[30]), &reference);
    assert_eq!(checked, 4);
}
