//! Loading user images: every supported format, the conversions to 8-bit RGB, and every error
//! case naming the file.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::codecs::gif::GifEncoder;
use image::{
    DynamicImage, Frame, GrayImage, ImageBuffer, ImageFormat, Luma, Rgb, Rgb32FImage, RgbImage, Rgba,
    RgbaImage,
};
use rescale_lab::image_io::{
    load_image, load_image_from_bytes, save_png, to_f32, to_u8, LoadOptions, LoadedImage,
};
use rescale_lab::modcrop::modcrop;
use rescale_lab::EngineError;
use tempfile::TempDir;

/// A small image whose every pixel differs, odd-sized to catch stride mistakes.
fn test_pattern(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| Rgb([(x * 31 % 256) as u8, (y * 17 % 256) as u8, ((x + y) * 7 % 256) as u8]))
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

fn write(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn load(path: &Path) -> Result<LoadedImage, EngineError> {
    load_image(path, &LoadOptions::default())
}

/// The error, checking that its message names the file.
fn load_error(path: &Path) -> (EngineError, String) {
    let error = load(path).expect_err("loading should fail");
    let message = error.to_string();
    println!("{message}");
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(message.contains(name), "message does not name the file: {message}");
    (error, message)
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    // PNG chunks end in a CRC-32 (IEEE) of type and data; the decoder checks it.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &byte in bytes {
            crc ^= byte as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    chunk.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    chunk
}

/// A PNG whose header claims `width × height` RGB pixels but whose data is an empty zlib
/// stream: the shape of a decompression bomb, without the bomb.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, RGB, deflate, no filter, no interlace
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend(png_chunk(b"IHDR", &ihdr));
    bytes.extend(png_chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
    bytes.extend(png_chunk(b"IEND", &[]));
    bytes
}

#[test]
fn lossless_formats_round_trip_exactly() {
    let dir = TempDir::new().unwrap();
    let original = test_pattern(13, 7);
    for (format, name) in [
        (ImageFormat::Png, "a.png"),
        (ImageFormat::Bmp, "a.bmp"),
        (ImageFormat::Tiff, "a.tiff"),
        (ImageFormat::WebP, "a.webp"),
    ] {
        let path = write(&dir, name, &encode(&DynamicImage::ImageRgb8(original.clone()), format));
        let loaded = load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(loaded.rgb, original, "{name} pixels");
        assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
        assert_eq!(loaded.path, path);
    }
}

#[test]
fn format_is_read_from_contents_not_name() {
    let dir = TempDir::new().unwrap();
    let original = test_pattern(9, 5);
    let path = write(&dir, "really_a_bmp.png", &encode(&DynamicImage::ImageRgb8(original.clone()), ImageFormat::Bmp));
    assert_eq!(load(&path).unwrap().rgb, original);
}

#[test]
fn jpeg_loads_close_to_original() {
    let dir = TempDir::new().unwrap();
    // Smooth content so that quality 75 stays close.
    let original = RgbImage::from_fn(33, 17, |x, y| Rgb([(x * 4) as u8, (y * 8) as u8, 128]));
    let path = write(&dir, "a.jpg", &encode(&DynamicImage::ImageRgb8(original.clone()), ImageFormat::Jpeg));
    let loaded = load(&path).unwrap();
    assert_eq!(loaded.rgb.dimensions(), (33, 17));
    let worst = loaded.rgb.as_raw().iter().zip(original.as_raw()).map(|(&a, &b)| a.abs_diff(b)).max().unwrap();
    assert!(worst < 24, "JPEG differs by {worst}");
}

#[test]
fn sixteen_bit_png_is_rounded_to_eight_bits_with_warning() {
    let dir = TempDir::new().unwrap();
    // 25828 / 257 = 100.498 → 100; 25829 / 257 = 100.502 → 101 (truncation would give 100).
    let values = [0u16, 65535, 25700, 25828, 25829, 128, 129];
    let expected = [0u8, 255, 100, 100, 101, 0, 1];
    let image = ImageBuffer::<Rgb<u16>, Vec<u16>>::from_fn(values.len() as u32, 1, |x, _| {
        let v = values[x as usize];
        Rgb([v, 65535 - v, v])
    });
    let path = write(&dir, "deep.png", &encode(&DynamicImage::ImageRgb16(image), ImageFormat::Png));
    let loaded = load(&path).unwrap();
    for (x, &e) in expected.iter().enumerate() {
        assert_eq!(loaded.rgb.get_pixel(x as u32, 0).0, [e, 255 - e, e], "value {}", values[x]);
    }
    assert!(loaded.warnings.iter().any(|w| w.contains("16-bit")), "{:?}", loaded.warnings);
}

#[test]
fn grayscale_png_becomes_rgb() {
    let dir = TempDir::new().unwrap();
    let gray = GrayImage::from_fn(6, 3, |x, y| Luma([(x * 40 + y) as u8]));
    let path = write(&dir, "gray.png", &encode(&DynamicImage::ImageLuma8(gray.clone()), ImageFormat::Png));
    let loaded = load(&path).unwrap();
    for (x, y, pixel) in loaded.rgb.enumerate_pixels() {
        let l = gray.get_pixel(x, y).0[0];
        assert_eq!(pixel.0, [l, l, l]);
    }
    assert!(loaded.warnings.is_empty());
}

#[test]
fn rgba_png_is_composited_onto_white_with_warning() {
    let dir = TempDir::new().unwrap();
    let pixels = [[255u8, 0, 0, 0], [0, 0, 0, 128], [100, 50, 200, 255], [200, 100, 0, 51]];
    let image = RgbaImage::from_fn(4, 1, |x, _| Rgba(pixels[x as usize]));
    let path = write(&dir, "alpha.png", &encode(&DynamicImage::ImageRgba8(image), ImageFormat::Png));
    let loaded = load(&path).unwrap();
    let got: Vec<[u8; 3]> = loaded.rgb.pixels().map(|p| p.0).collect();
    // c·a + 255·(1 − a): alpha 0 → white; 128 → 127.0; 51 (0.2) → 0.2c + 204.
    assert_eq!(got, vec![[255, 255, 255], [127, 127, 127], [100, 50, 200], [244, 224, 204]]);
    assert!(loaded.warnings.iter().any(|w| w.contains("white")), "{:?}", loaded.warnings);
}

#[test]
fn opaque_rgba_png_has_no_warning() {
    let dir = TempDir::new().unwrap();
    let image = RgbaImage::from_pixel(3, 2, Rgba([10, 20, 30, 255]));
    let path = write(&dir, "opaque.png", &encode(&DynamicImage::ImageRgba8(image), ImageFormat::Png));
    let loaded = load(&path).unwrap();
    assert!(loaded.rgb.pixels().all(|p| p.0 == [10, 20, 30]));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

fn gif_bytes(frames: &[RgbaImage]) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut bytes);
        encoder.encode_frames(frames.iter().map(|f| Frame::new(f.clone()))).unwrap();
    }
    bytes
}

#[test]
fn gif_loads_first_frame_and_warns_when_animated() {
    let dir = TempDir::new().unwrap();
    let red = RgbaImage::from_pixel(5, 4, Rgba([255, 0, 0, 255]));
    let blue = RgbaImage::from_pixel(5, 4, Rgba([0, 0, 255, 255]));

    let still = write(&dir, "still.gif", &gif_bytes(std::slice::from_ref(&red)));
    let loaded = load(&still).unwrap();
    assert_eq!(loaded.rgb.dimensions(), (5, 4));
    assert!(loaded.rgb.pixels().all(|p| p.0 == [255, 0, 0]));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);

    let animated = write(&dir, "animated.gif", &gif_bytes(&[red, blue]));
    let loaded = load(&animated).unwrap();
    assert!(loaded.rgb.pixels().all(|p| p.0 == [255, 0, 0]), "not the first frame");
    assert!(loaded.warnings.iter().any(|w| w.contains("first frame")), "{:?}", loaded.warnings);
}

/// Inserts an APP1 EXIF segment holding only Orientation = `orientation` after the SOI marker.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08".to_vec(); // big-endian, first IFD at 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // value padding
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut payload = b"Exif\x00\x00".to_vec();
    payload.extend(tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn jpeg_exif_orientation_6_is_rotated_upright() {
    let dir = TempDir::new().unwrap();
    // Left half red, right half blue, 32 wide and 16 high.
    let image = RgbImage::from_fn(32, 16, |x, _| if x < 16 { Rgb([255, 0, 0]) } else { Rgb([0, 0, 255]) });
    let jpeg = encode(&DynamicImage::ImageRgb8(image), ImageFormat::Jpeg);
    let path = write(&dir, "rotated.jpg", &with_exif_orientation(&jpeg, 6));
    let loaded = load(&path).unwrap();
    // Orientation 6: rotate 90° clockwise to display, so the left half ends on top.
    assert_eq!(loaded.rgb.dimensions(), (16, 32));
    let top = loaded.rgb.get_pixel(8, 4).0;
    let bottom = loaded.rgb.get_pixel(8, 28).0;
    assert!(top[0] > 200 && top[2] < 60, "top should be red: {top:?}");
    assert!(bottom[2] > 200 && bottom[0] < 60, "bottom should be blue: {bottom:?}");
    assert!(loaded.warnings.iter().any(|w| w.contains("EXIF")), "{:?}", loaded.warnings);
}

#[test]
fn odd_sized_images_keep_their_size() {
    let dir = TempDir::new().unwrap();
    for (w, h) in [(1, 1), (7, 5), (1, 9), (11, 1)] {
        let original = test_pattern(w, h);
        let path = write(&dir, "odd.png", &encode(&DynamicImage::ImageRgb8(original.clone()), ImageFormat::Png));
        assert_eq!(load(&path).unwrap().rgb, original);
    }
}

#[test]
fn loading_from_bytes_matches_loading_from_file() {
    let dir = TempDir::new().unwrap();
    let original = test_pattern(10, 6);
    let bytes = encode(&DynamicImage::ImageRgb8(original.clone()), ImageFormat::Png);
    let from_bytes = load_image_from_bytes(&bytes, Path::new("pasted.png"), &LoadOptions::default()).unwrap();
    let from_file = load(&write(&dir, "file.png", &bytes)).unwrap();
    assert_eq!(from_bytes.rgb, original);
    assert_eq!(from_file.rgb, original);
    assert_eq!(from_bytes.path, Path::new("pasted.png"));

    let error = load_image_from_bytes(b"hello", Path::new("clipboard.png"), &LoadOptions::default()).unwrap_err();
    assert!(error.to_string().contains("clipboard.png"), "{error}");
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let dir = TempDir::new().unwrap();
    let (error, _) = load_error(&dir.path().join("nowhere.png"));
    assert!(matches!(error, EngineError::Io { .. }), "{error:?}");
}

#[test]
fn empty_file_says_so() {
    let dir = TempDir::new().unwrap();
    let (error, message) = load_error(&write(&dir, "empty.png", b""));
    assert!(matches!(error, EngineError::Image { .. }));
    assert!(message.contains("file is empty"), "{message}");
}

#[test]
fn text_file_named_png_is_rejected() {
    let dir = TempDir::new().unwrap();
    let (error, message) = load_error(&write(&dir, "notes.png", b"this is not an image at all\n"));
    assert!(matches!(error, EngineError::Image { .. }));
    assert!(message.contains("not a valid PNG"), "{message}");
}

#[test]
fn unknown_content_lists_supported_formats() {
    let dir = TempDir::new().unwrap();
    let (_, message) = load_error(&write(&dir, "data.bin", &[0x13, 0x37, 0x00, 0x42, 0x99, 0x01]));
    assert!(
        message.contains("not a supported image format (expected PNG, JPEG, WebP, BMP, TIFF or GIF)"),
        "{message}"
    );
}

#[test]
fn recognised_but_unsupported_format_is_named() {
    let dir = TempDir::new().unwrap();
    // A valid binary PPM (PNM), which the engine deliberately does not accept.
    let mut ppm = b"P6\n2 1\n255\n".to_vec();
    ppm.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
    let (error, message) = load_error(&write(&dir, "picture.ppm", &ppm));
    assert!(matches!(error, EngineError::Image { .. }));
    assert!(message.contains("PNM") && message.contains("not a supported image format"), "{message}");
}

#[test]
fn corrupt_png_is_reported() {
    let dir = TempDir::new().unwrap();
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(&[0x5a; 200]);
    let (error, message) = load_error(&write(&dir, "garbage.png", &bytes));
    assert!(matches!(error, EngineError::Image { .. }), "{error:?}");
    assert!(message.contains("corrupt PNG: the data is damaged"), "{message}");
    assert!(!message.contains("ends too early"), "{message}");
}

#[test]
fn png_whose_chunks_are_damaged_is_not_called_truncated() {
    let dir = TempDir::new().unwrap();
    let good = encode(&DynamicImage::ImageRgb8(test_pattern(64, 64)), ImageFormat::Png);
    // A whole file whose IDAT length is overwritten with a huge value: the decoder runs out of
    // bytes, but the file is not short, its chunk is damaged (and its checksum says so).
    let idat = good.windows(4).position(|w| w == b"IDAT").unwrap() - 4;
    let mut bytes = good.clone();
    bytes[idat..idat + 4].copy_from_slice(&0x00ff_ffffu32.to_be_bytes());
    let (_, message) = load_error(&write(&dir, "long_chunk.png", &bytes));
    assert!(message.contains("IDAT chunk at byte"), "{message}");
    // Random bytes after the first chunk: named as damage, with where it starts.
    let mut bytes = good[..33].to_vec();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    bytes.extend((0..400).map(|_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 24) as u8
    }));
    let (error, message) = load_error(&write(&dir, "noise.png", &bytes));
    assert!(matches!(error, EngineError::Image { .. }), "{error:?}");
    assert!(message.contains("damaged") && message.contains("byte 33"), "{message}");
}

#[test]
fn truncated_png_is_reported() {
    let dir = TempDir::new().unwrap();
    let bytes = encode(&DynamicImage::ImageRgb8(test_pattern(64, 64)), ImageFormat::Png);
    let (error, message) = load_error(&write(&dir, "cut.png", &bytes[..bytes.len() / 2]));
    assert!(matches!(error, EngineError::Image { .. }), "{error:?}");
    assert!(message.contains("truncated PNG: the file ends too early"), "{message}");
    assert!(message.contains("IDAT chunk at byte"), "{message}");
}

#[test]
fn truncated_jpeg_is_reported() {
    let dir = TempDir::new().unwrap();
    let bytes = encode(&DynamicImage::ImageRgb8(test_pattern(64, 64)), ImageFormat::Jpeg);
    for (name, keep) in [("cut_header.jpg", 40), ("cut_half.jpg", bytes.len() / 2)] {
        let (error, message) = load_error(&write(&dir, name, &bytes[..keep]));
        assert!(matches!(error, EngineError::Image { .. }), "{name}: {error:?}");
        assert!(message.contains("JPEG"), "{message}");
    }
}

#[test]
fn image_over_megapixel_limit_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "big.png", &encode(&DynamicImage::ImageRgb8(test_pattern(100, 50)), ImageFormat::Png));
    let error = load_image(&path, &LoadOptions { max_megapixels: 0.004 }).unwrap_err();
    match &error {
        EngineError::ImageTooLarge { width, height, limit_mp, .. } => {
            assert_eq!((*width, *height), (100, 50));
            assert_eq!(*limit_mp, 0.004);
        }
        other => panic!("expected ImageTooLarge, got {other:?}"),
    }
    assert!(error.to_string().contains("big.png"));
    // Just under the limit it loads.
    assert!(load_image(&path, &LoadOptions { max_megapixels: 0.005 }).is_ok());
}

#[test]
fn hostile_header_is_refused_before_allocating() {
    let dir = TempDir::new().unwrap();
    // Claims 4 gigapixels in 33 bytes; decoding would need 12 GB.
    let path = write(&dir, "bomb.png", &png_claiming(65_536, 65_536));
    let (error, _) = load_error(&path);
    match error {
        EngineError::ImageTooLarge { width, height, .. } => assert_eq!((width, height), (65_536, 65_536)),
        other => panic!("expected ImageTooLarge, got {other:?}"),
    }
    // A side longer than the whole pixel budget is refused by the decoder's own limits.
    let path = write(&dir, "long.png", &png_claiming(1 << 30, 1));
    let (_, message) = load_error(&path);
    assert!(message.contains("64.0 MP"), "{message}");
}

#[test]
fn zero_sized_image_is_an_error() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "zero.png", &png_claiming(0, 10));
    let (error, _) = load_error(&path);
    assert!(matches!(error, EngineError::Image { .. }), "{error:?}");
}

#[test]
fn invalid_megapixel_limit_is_an_argument_error() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "a.png", &encode(&DynamicImage::ImageRgb8(test_pattern(4, 4)), ImageFormat::Png));
    for limit in [0.0, -1.0, f64::NAN] {
        let error = load_image(&path, &LoadOptions { max_megapixels: limit }).unwrap_err();
        assert!(matches!(error, EngineError::InvalidArgument(_)), "{limit}: {error:?}");
    }
}

#[test]
fn save_png_round_trips_and_names_unwritable_path() {
    let dir = TempDir::new().unwrap();
    let original = test_pattern(21, 8);
    let path = dir.path().join("out.png");
    save_png(&original, &path).unwrap();
    assert_eq!(load(&path).unwrap().rgb, original);

    let bad = dir.path().join("no_such_dir").join("out.png");
    let error = save_png(&original, &bad).unwrap_err();
    assert!(matches!(error, EngineError::Io { .. }));
    assert!(error.to_string().contains("no_such_dir"), "{error}");
}

#[test]
fn to_f32_and_to_u8_round_trip_every_value() {
    let all = RgbImage::from_fn(256, 1, |x, _| Rgb([x as u8, 255 - x as u8, x as u8]));
    let float = to_f32(&all);
    assert_eq!(float.get_pixel(255, 0).0, [1.0, 0.0, 1.0]);
    assert_eq!(to_u8(&float), all);
}

#[test]
fn to_u8_clamps_and_rounds_half_to_even_like_numpy() {
    // Find f32 values whose product with 255 in f32 is exactly k + 0.5, as in numpy's
    // `(img * 255.0).round()` on a float32 array.
    let exact_half = |k: u8| -> Option<f32> {
        let target = k as f32 + 0.5;
        let mut x = target / 255.0;
        for _ in 0..8 {
            x = x.next_down();
        }
        (0..16).map(|i| (0..i).fold(x, |v, _| v.next_up())).find(|&v| v * 255.0 == target)
    };
    let mut checked = 0;
    for k in [0u8, 1, 2, 3, 100, 101, 126, 127, 200, 253] {
        if let Some(x) = exact_half(k) {
            let image = Rgb32FImage::from_pixel(1, 1, Rgb([x, x, x]));
            let even = if k % 2 == 0 { k } else { k + 1 };
            assert_eq!(to_u8(&image).get_pixel(0, 0).0[0], even, "{k}.5");
            checked += 1;
        }
    }
    assert!(checked >= 3, "too few exact halves found ({checked})");

    let image = Rgb32FImage::from_raw(2, 1, vec![-0.2, 1.7, f32::NAN, 0.999, 0.0, f32::INFINITY]).unwrap();
    assert_eq!(to_u8(&image).as_raw(), &vec![0, 255, 0, 255, 0, 255]);
}

#[test]
fn modcrop_keeps_top_left_multiple_of_scale() {
    let image = test_pattern(13, 10);
    let (cropped, info) = modcrop(&image, 4);
    assert_eq!(cropped.dimensions(), (12, 8));
    assert_eq!(info.original, (13, 10));
    assert_eq!(info.cropped, (12, 8));
    assert!(info.changed());
    for (x, y, pixel) in cropped.enumerate_pixels() {
        assert_eq!(pixel, image.get_pixel(x, y));
    }

    let (same, info) = modcrop(&cropped, 2);
    assert_eq!(same, cropped);
    assert!(!info.changed());

    let (tiny, info) = modcrop(&test_pattern(3, 5), 4);
    assert_eq!(tiny.dimensions(), (0, 4));
    assert_eq!(info.cropped, (0, 4));
    let (unscaled, _) = modcrop(&image, 0);
    assert_eq!(unscaled, image);
}

#[test]
fn broken_exif_is_a_warning_not_silence() {
    let dir = TempDir::new().unwrap();
    let jpeg = encode(&DynamicImage::ImageRgb8(test_pattern(32, 16)), ImageFormat::Jpeg);
    let good = with_exif_orientation(&jpeg, 1);
    // The same block with its first directory pointed past its end, and with orientation 9.
    let exif_at = good.windows(6).position(|w| w == b"Exif\x00\x00").unwrap() + 6;
    let mut outside = good.clone();
    outside[exif_at + 4..exif_at + 8].copy_from_slice(&0x1000u32.to_be_bytes());
    let mut invalid = good.clone();
    invalid[exif_at + 8 + 2 + 8..exif_at + 8 + 2 + 10].copy_from_slice(&9u16.to_be_bytes());
    assert!(load(&write(&dir, "good.jpg", &good)).unwrap().warnings.is_empty());
    for (name, bytes, reason) in [("outside.jpg", &outside, "outside the block"), ("invalid.jpg", &invalid, "orientation entry is invalid (9)")] {
        let loaded = load(&write(&dir, name, bytes)).unwrap();
        assert_eq!(loaded.rgb.dimensions(), (32, 16), "not rotated");
        assert!(loaded.warnings.iter().any(|w| w.contains("EXIF metadata is unreadable") && w.contains(reason)), "{name}: {:?}", loaded.warnings);
    }
}

#[test]
fn multi_page_tiff_warns_that_only_the_first_page_is_used() {
    use tiff::encoder::{colortype, TiffEncoder};
    let dir = TempDir::new().unwrap();
    let (first, second) = (test_pattern(20, 12), RgbImage::from_pixel(20, 12, Rgb([9, 9, 9])));
    let tiff = |pages: &[&RgbImage]| {
        let mut bytes = Cursor::new(Vec::new());
        let mut encoder = TiffEncoder::new(&mut bytes).unwrap();
        for page in pages {
            encoder.write_image::<colortype::RGB8>(20, 12, page.as_raw()).unwrap();
        }
        drop(encoder);
        bytes.into_inner()
    };
    let one_page = tiff(&[&first]);
    let loaded = load(&write(&dir, "pages.tif", &tiff(&[&first, &second]))).unwrap();
    assert_eq!(loaded.rgb, first);
    assert!(loaded.warnings.iter().any(|w| w.contains("multi-page TIFF")), "{:?}", loaded.warnings);
    assert!(load(&write(&dir, "one.tif", &one_page)).unwrap().warnings.is_empty());
}

/// A RIFF chunk: tag, little-endian size, data, padding to an even size.
fn riff_chunk(tag: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = tag.to_vec();
    chunk.extend_from_slice(&(data.len() as u32).to_le_bytes());
    chunk.extend_from_slice(data);
    if data.len() % 2 == 1 {
        chunk.push(0);
    }
    chunk
}

/// An animated WebP of the given frames (all the same size), each a lossless VP8L bitstream.
fn animated_webp(frames: &[RgbImage]) -> Vec<u8> {
    let (width, height) = frames[0].dimensions();
    let u24 = |v: u32| v.to_le_bytes()[..3].to_vec();
    let mut vp8x = vec![0x02, 0, 0, 0]; // animation flag
    vp8x.extend(u24(width - 1));
    vp8x.extend(u24(height - 1));
    let mut body = b"WEBP".to_vec();
    body.extend(riff_chunk(b"VP8X", &vp8x));
    body.extend(riff_chunk(b"ANIM", &[0, 0, 0, 0, 0, 0]));
    for frame in frames {
        let still = encode(&DynamicImage::ImageRgb8(frame.clone()), ImageFormat::WebP);
        let vp8l_at = still.windows(4).position(|w| w == b"VP8L").unwrap();
        let size = u32::from_le_bytes(still[vp8l_at + 4..vp8l_at + 8].try_into().unwrap()) as usize;
        let mut anmf = [u24(0), u24(0), u24(width - 1), u24(height - 1), u24(100)].concat();
        anmf.push(0);
        anmf.extend(riff_chunk(b"VP8L", &still[vp8l_at + 8..vp8l_at + 8 + size]));
        body.extend(riff_chunk(b"ANMF", &anmf));
    }
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend(body);
    file
}

#[test]
fn animated_webp_loads_the_first_frame_and_says_so() {
    let dir = TempDir::new().unwrap();
    let (first, second) = (test_pattern(18, 10), RgbImage::from_pixel(18, 10, Rgb([200, 10, 10])));
    let loaded = load(&write(&dir, "moving.webp", &animated_webp(&[first.clone(), second]))).unwrap();
    // The animation path composites the frame onto the canvas, which may round by one level.
    assert_eq!(loaded.rgb.dimensions(), first.dimensions());
    let worst = loaded.rgb.as_raw().iter().zip(first.as_raw()).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
    assert!(worst <= 1, "the first frame, not the second: max difference {worst}");
    assert!(loaded.warnings.iter().any(|w| w.contains("animated WebP") && w.contains("first frame")), "{:?}", loaded.warnings);
    let still = encode(&DynamicImage::ImageRgb8(first), ImageFormat::WebP);
    assert!(load(&write(&dir, "still.webp", &still)).unwrap().warnings.is_empty());
}

#[cfg(unix)]
#[test]
fn a_named_pipe_is_refused_without_being_opened() {
    let dir = TempDir::new().unwrap();
    let fifo = dir.path().join("pipe.jpg");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (_, message) = load_error(&fifo);
    assert!(message.contains("not a regular file (a named pipe)"), "{message}");
}

#[test]
fn stray_bytes_between_segments_are_not_damage() {
    // Some cameras and editors leave a few bytes before a marker; libjpeg warns ("extraneous
    // bytes before marker") and decodes correctly, so the photo must load.
    let dir = TempDir::new().unwrap();
    let image = test_pattern(40, 24);
    let jpeg = encode(&DynamicImage::ImageRgb8(image), ImageFormat::Jpeg);
    let mut stray = jpeg[..jpeg.len() - 2].to_vec();
    stray.extend_from_slice(&[0x12, 0x34, 0x56, 0xFF, 0xD9]);
    let loaded = load(&write(&dir, "stray.jpg", &stray)).unwrap();
    let clean = load(&write(&dir, "clean.jpg", &jpeg)).unwrap();
    assert_eq!(loaded.rgb, clean.rgb);
}
