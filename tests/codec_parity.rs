//! JPEG and WebP against Pillow 13 (libjpeg-turbo, libwebp 1.6.0): decoding Pillow's files must
//! give Pillow's pixels, and encoding `source.png` must give Pillow's quality and file size.
//! References: `../shared/fixtures/codecs/` (see its README and `codecs.json`).

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use rescale_lab::codec::{decode_jpeg, decode_webp, encode_jpeg, encode_webp};
use rescale_lab::{Codec, EngineError, Quality};
use serde::Deserialize;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/codecs")
}

#[derive(Debug, Deserialize)]
struct Case {
    format: String,
    quality: u8,
    file: String,
    bytes: usize,
    decoded: String,
    psnr_rgb_vs_source: f64,
}

#[derive(Debug, Deserialize)]
struct Fixtures {
    cases: Vec<Case>,
}

fn cases(format: &str) -> Vec<Case> {
    let text = std::fs::read_to_string(fixtures_dir().join("codecs.json")).expect("codecs.json");
    let fixtures: Fixtures = serde_json::from_str(&text).expect("codecs.json parses");
    let selected: Vec<Case> = fixtures.cases.into_iter().filter(|c| c.format == format).collect();
    assert!(!selected.is_empty(), "no {format} cases in codecs.json");
    selected
}

fn load_png(name: &str) -> RgbImage {
    image::open(fixtures_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}")).to_rgb8()
}

fn read_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// PSNR over all RGB values, 8-bit peak, no border crop (how codecs.json was computed).
fn psnr_rgb(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let squared: f64 = a.as_raw().iter().zip(b.as_raw()).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum();
    let mse = squared / a.as_raw().len() as f64;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// (largest absolute difference, number of values differing at all, share of values within 1)
fn pixel_agreement(a: &RgbImage, b: &RgbImage) -> (u8, usize, f64) {
    assert_eq!(a.dimensions(), b.dimensions());
    let diffs: Vec<u8> = a.as_raw().iter().zip(b.as_raw()).map(|(&x, &y)| x.abs_diff(y)).collect();
    let max = diffs.iter().copied().max().unwrap_or(0);
    let differing = diffs.iter().filter(|&&d| d > 0).count();
    let within_one = diffs.iter().filter(|&&d| d <= 1).count() as f64 / diffs.len() as f64;
    (max, differing, within_one)
}

fn quality(value: u8) -> Quality {
    Quality::new(value).unwrap()
}

fn check_decoding(format: &str, decode: fn(&[u8]) -> rescale_lab::Result<RgbImage>) {
    for case in cases(format) {
        let ours = decode(&read_fixture(&case.file)).unwrap_or_else(|e| panic!("{}: {e}", case.file));
        let pillow = load_png(&case.decoded);
        let (max, differing, within_one) = pixel_agreement(&ours, &pillow);
        println!(
            "{format} q{:>3} decode: max |diff| {max}, {differing} of {} values differ, {:.4}% within 1",
            case.quality,
            pillow.as_raw().len(),
            within_one * 100.0
        );
        assert!(within_one >= 0.999, "{}: only {:.4}% of values within 1 of Pillow", case.file, within_one * 100.0);
    }
}

#[test]
fn jpeg_decoding_matches_pillow() {
    check_decoding("JPEG", decode_jpeg);
}

#[test]
fn webp_decoding_matches_pillow() {
    check_decoding("WEBP", decode_webp);
}

fn check_encoding(format: &str, make: fn(Quality) -> Codec) {
    let source = load_png("source.png");
    for case in cases(format) {
        let compressed = make(quality(case.quality)).compress(&source).unwrap();
        let psnr = psnr_rgb(&source, &compressed.decoded);
        let psnr_delta = psnr - case.psnr_rgb_vs_source;
        let size_delta = compressed.bytes.len() as f64 / case.bytes as f64 - 1.0;
        let identical = compressed.bytes == read_fixture(&case.file);
        println!(
            "{format} q{:>3} encode: PSNR {psnr:.4} dB (Pillow {:.4}, delta {psnr_delta:+.4}), \
             {} bytes (Pillow {}, delta {:+.3}%), byte-identical: {identical}",
            case.quality,
            case.psnr_rgb_vs_source,
            compressed.bytes.len(),
            case.bytes,
            size_delta * 100.0
        );
        assert!(psnr_delta.abs() <= 0.05, "{format} q{}: PSNR off by {psnr_delta:+.4} dB", case.quality);
        assert!(size_delta.abs() <= 0.03, "{format} q{}: size off by {:+.3}%", case.quality, size_delta * 100.0);
    }
}

#[test]
fn jpeg_encoding_matches_pillow() {
    check_encoding("JPEG", |quality| Codec::Jpeg { quality });
}

#[test]
fn webp_encoding_matches_pillow() {
    check_encoding("WEBP", |quality| Codec::Webp { quality });
}

/// With the same settings as Pillow, libjpeg-turbo and libwebp are deterministic down to the
/// byte, so anything but identical files means a setting differs from Pillow's.
#[test]
fn files_are_byte_identical_to_pillow() {
    let source = load_png("source.png");
    for (format, encode) in [("JPEG", encode_jpeg as fn(&RgbImage, Quality) -> _), ("WEBP", encode_webp)] {
        for case in cases(format) {
            let ours = encode(&source, quality(case.quality)).unwrap();
            assert!(ours == read_fixture(&case.file), "{format} q{}: file differs from Pillow's", case.quality);
        }
    }
}

fn assert_codec_error<T: std::fmt::Debug>(result: rescale_lab::Result<T>, what: &str) {
    match result {
        Err(error @ EngineError::Codec { .. }) => println!("{what}: {error}"),
        other => panic!("{what}: expected a codec error, got {other:?}"),
    }
}

fn small_source() -> RgbImage {
    load_png("source.png")
}

#[test]
fn truncated_jpeg_is_an_error() {
    let bytes = encode_jpeg(&small_source(), quality(75)).unwrap();
    for len in [0, 1, 2, 3, 20, 200, 623, bytes.len() / 2, bytes.len() - 100, bytes.len() - 2] {
        assert_codec_error(decode_jpeg(&bytes[..len]), &format!("JPEG cut to {len} of {} bytes", bytes.len()));
    }
}

#[test]
fn corrupt_jpeg_is_an_error() {
    let bytes = encode_jpeg(&small_source(), quality(75)).unwrap();
    assert_codec_error(decode_jpeg(b"definitely not a JPEG file"), "text");
    assert_codec_error(decode_jpeg(&[0xFF; 4096]), "0xFF run");

    let mut no_start_marker = bytes.clone();
    no_start_marker[1] = 0x00;
    assert_codec_error(decode_jpeg(&no_start_marker), "SOI destroyed");

    // A restart marker in the middle of the entropy-coded data, where none is expected.
    let mut stray_marker = bytes.clone();
    let middle = bytes.len() / 2;
    stray_marker[middle..middle + 2].copy_from_slice(&[0xFF, 0xD3]);
    assert_codec_error(decode_jpeg(&stray_marker), "stray RST3 marker");

    // Scan data replaced by noise (a fixed LCG, so the test is reproducible).
    let mut noisy = bytes.clone();
    let mut state: u32 = 12345;
    for byte in &mut noisy[1000..bytes.len() - 2] {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        *byte = (state >> 16) as u8;
    }
    assert_codec_error(decode_jpeg(&noisy), "noise in the scan");
}

#[test]
fn truncated_webp_is_an_error() {
    let bytes = encode_webp(&small_source(), quality(75)).unwrap();
    for len in [0, 1, 4, 12, 20, 30, 200, bytes.len() / 2, bytes.len() - 100, bytes.len() - 1] {
        assert_codec_error(decode_webp(&bytes[..len]), &format!("WebP cut to {len} of {} bytes", bytes.len()));
    }
}

#[test]
fn corrupt_webp_is_an_error() {
    let bytes = encode_webp(&small_source(), quality(75)).unwrap();
    assert_codec_error(decode_webp(b"RIFF\x10\x00\x00\x00WEBPVP8 nonsense"), "nonsense VP8 chunk");
    assert_codec_error(decode_webp(&[0xFF; 4096]), "0xFF run");

    let mut bad_fourcc = bytes.clone();
    bad_fourcc[8..12].copy_from_slice(b"WEPB");
    assert_codec_error(decode_webp(&bad_fourcc), "RIFF form type changed");

    // The VP8 frame start code (9d 01 2a) broken.
    let mut bad_start_code = bytes.clone();
    bad_start_code[23] = 0x00;
    assert_codec_error(decode_webp(&bad_start_code), "VP8 start code destroyed");
}

#[test]
fn extreme_qualities_work() {
    let source = small_source();
    for make in [|quality| Codec::Jpeg { quality }, |quality| Codec::Webp { quality }] as [fn(Quality) -> Codec; 2] {
        let mut previous: Option<(u8, f64, usize)> = None;
        for value in [1, 50, 100] {
            let codec = make(quality(value));
            let compressed = codec.compress(&source).unwrap_or_else(|e| panic!("{}: {e}", codec.label()));
            assert_eq!(compressed.decoded.dimensions(), source.dimensions());
            let psnr = psnr_rgb(&source, &compressed.decoded);
            println!("{}: {psnr:.2} dB, {} bytes", codec.label(), compressed.bytes.len());
            if let Some((previous_value, previous_psnr, previous_len)) = previous {
                assert!(psnr > previous_psnr + 1.0, "{}: PSNR not above q{previous_value}'s", codec.label());
                assert!(compressed.bytes.len() > previous_len, "{}: file not larger than q{previous_value}'s", codec.label());
            }
            previous = Some((value, psnr, compressed.bytes.len()));
        }
    }
}

fn patterned(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| Rgb([(x * 7 + y * 3) as u8, (x * y) as u8, (255 - x * 5) as u8]))
}

#[test]
fn tiny_and_odd_sizes_round_trip() {
    for (width, height) in [(1, 1), (37, 23), (2, 17), (16, 16)] {
        let image = patterned(width, height);
        for codec in [Codec::None, Codec::Jpeg { quality: quality(90) }, Codec::Webp { quality: quality(90) }] {
            let compressed = codec.compress(&image).unwrap_or_else(|e| panic!("{} {width}x{height}: {e}", codec.label()));
            assert_eq!(compressed.decoded.dimensions(), (width, height), "{} {width}x{height}", codec.label());
            let reread = match codec {
                Codec::None => image::load_from_memory(&compressed.bytes).unwrap().to_rgb8(),
                Codec::Jpeg { .. } => decode_jpeg(&compressed.bytes).unwrap(),
                Codec::Webp { .. } => decode_webp(&compressed.bytes).unwrap(),
            };
            assert_eq!(reread, compressed.decoded, "{} {width}x{height}: bytes and decoded disagree", codec.label());
        }
        let lossless = Codec::None.compress(&image).unwrap();
        assert_eq!(lossless.decoded, image);
    }
}

#[test]
fn empty_image_is_an_error() {
    let empty = RgbImage::new(0, 0);
    assert_codec_error(encode_jpeg(&empty, quality(75)), "JPEG of 0x0");
    assert_codec_error(encode_webp(&empty, quality(75)), "WebP of 0x0");
}

/// `decode_webp` also reads lossless files (Pillow reads them as RGBA then drops alpha).
#[test]
fn lossless_webp_decodes_exactly() {
    let image = patterned(37, 23);
    let mut bytes = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut bytes)
        .encode(image.as_raw(), 37, 23, image::ExtendedColorType::Rgb8)
        .unwrap();
    assert_eq!(decode_webp(&bytes).unwrap(), image);
}

/// A greyscale JPEG reads as RGB with equal channels, as Pillow's `convert("RGB")` of mode L.
#[test]
fn greyscale_jpeg_decodes_to_grey_rgb() {
    let grey = image::GrayImage::from_fn(37, 23, |x, y| image::Luma([(x * 6 + y * 4) as u8]));
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode(grey.as_raw(), 37, 23, image::ExtendedColorType::L8)
        .unwrap();
    let decoded = decode_jpeg(&bytes).unwrap();
    assert_eq!(decoded.dimensions(), (37, 23));
    assert!(decoded.pixels().all(|p| p[0] == p[1] && p[1] == p[2]));
    let spread = decoded.pixels().map(|p| p[0]).max().unwrap() - decoded.pixels().map(|p| p[0]).min().unwrap();
    assert!(spread > 200, "the gradient survived decoding (spread {spread})");
}
