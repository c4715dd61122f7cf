//! Reading any user image into 8-bit RGB, and writing PNGs.
//!
//! Whatever the file holds (grey, alpha, 16-bit, float TIFF, EXIF-rotated JPEG, first frame of a
//! GIF), the engine only ever sees upright 8-bit RGB, which is what the papers evaluate on.
//! The format is recognised from the file's first bytes, not its name, so a mislabelled file
//! still loads and a text file called `.png` gets a clear message.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use image::codecs::gif::GifDecoder;
use image::codecs::png::PngEncoder;
use image::error::{ImageError, LimitErrorKind};
use image::metadata::Orientation;
use image::{
    AnimationDecoder, DynamicImage, ImageBuffer, ImageDecoder, ImageEncoder, ImageFormat,
    ImageReader, Limits, Pixel, Rgb, Rgb32FImage, RgbImage,
};
use rayon::prelude::*;

use crate::error::{EngineError, Result};

pub const DEFAULT_MAX_MEGAPIXELS: f64 = 64.0;

const SUPPORTED_FORMATS_TEXT: &str =
    "not a supported image format (expected PNG, JPEG, WebP, BMP, TIFF or GIF)";

/// Bytes per pixel of the widest buffer a decoder may produce (RGBA, 32-bit float).
const WIDEST_PIXEL_BYTES: f64 = 16.0;
/// Working memory a decoder may need beyond its output buffer (row buffers, Huffman tables…).
const DECODER_SLACK_BYTES: f64 = 256.0 * 1024.0 * 1024.0;

#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    pub max_megapixels: f64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self { max_megapixels: DEFAULT_MAX_MEGAPIXELS }
    }
}

#[derive(Debug, Clone)]
pub struct LoadedImage {
    pub path: PathBuf,
    pub rgb: RgbImage,
    /// Things the user should know but that do not stop the load (alpha dropped, 16-bit reduced…).
    pub warnings: Vec<String>,
}

/// Reads PNG, JPEG, WebP, BMP, TIFF or GIF (first frame) from a file.
pub fn load_image(path: &Path, options: &LoadOptions) -> Result<LoadedImage> {
    crate::files::require_regular_file(path)?;
    let file = File::open(path).map_err(|error| EngineError::io(path, error))?;
    let mut reader = BufReader::new(file);
    decode(&mut reader, path, options)
}

/// Same as `load_image` for bytes already in memory (drop, clipboard); `name` is used in errors.
pub fn load_image_from_bytes(bytes: &[u8], name: &Path, options: &LoadOptions) -> Result<LoadedImage> {
    let mut reader = Cursor::new(bytes);
    decode(&mut reader, name, options)
}

/// Writes an 8-bit RGB PNG. Overwrites: callers decide whether that is allowed.
pub fn save_png(image: &RgbImage, path: &Path) -> Result<()> {
    let io_error = |source| EngineError::Io { path: path.to_path_buf(), error: source };
    let file = File::create(path).map_err(io_error)?;
    let mut writer = std::io::BufWriter::new(file);
    PngEncoder::new(&mut writer)
        .write_image(image.as_raw(), image.width(), image.height(), image::ExtendedColorType::Rgb8)
        .map_err(|error| match error {
            ImageError::IoError(source) => io_error(source),
            other => EngineError::Image { path: path.to_path_buf(), reason: format!("cannot write PNG: {other}") },
        })?;
    // BufWriter's drop swallows errors; a full disk must not look like success.
    std::io::Write::flush(&mut writer).map_err(io_error)?;
    Ok(())
}

/// 8-bit values to [0, 1].
pub fn to_f32(image: &RgbImage) -> Rgb32FImage {
    let data: Vec<f32> = image.as_raw().par_iter().map(|&v| v as f32 / 255.0).collect();
    Rgb32FImage::from_raw(image.width(), image.height(), data)
        .expect("buffer has exactly width*height*3 values")
}

/// Clamp to [0, 1] and round to 8 bits, as the papers do before metrics and codecs.
///
/// The official code does `np.uint8((img * 255.0).round())` on a float32 array (and
/// `torch.round` in its quantisation layer): the product is taken in f32 and halves are rounded
/// to even, so this does the same to give bit-identical 8-bit images. NaN becomes 0.
pub fn to_u8(image: &Rgb32FImage) -> RgbImage {
    let data: Vec<u8> = image.as_raw().par_iter().map(|&v| unit_to_u8(v)).collect();
    RgbImage::from_raw(image.width(), image.height(), data)
        .expect("buffer has exactly width*height*3 values")
}

fn unit_to_u8(value: f32) -> u8 {
    // `as u8` maps NaN to 0 and saturates, so no value can panic here.
    (value.clamp(0.0, 1.0) * 255.0).round_ties_even() as u8
}

fn image_error(path: &Path, reason: impl Into<String>) -> EngineError {
    EngineError::Image { path: path.to_path_buf(), reason: reason.into() }
}

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::WebP => "WebP",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Tiff => "TIFF",
        ImageFormat::Gif => "GIF",
        ImageFormat::Ico => "ICO",
        ImageFormat::Avif => "AVIF",
        ImageFormat::Hdr => "Radiance HDR",
        ImageFormat::OpenExr => "OpenEXR",
        ImageFormat::Pnm => "PNM",
        ImageFormat::Qoi => "QOI",
        ImageFormat::Dds => "DDS",
        ImageFormat::Tga => "TGA",
        ImageFormat::Farbfeld => "farbfeld",
        _ => "this",
    }
}

fn is_supported(format: ImageFormat) -> bool {
    matches!(
        format,
        ImageFormat::Png
            | ImageFormat::Jpeg
            | ImageFormat::WebP
            | ImageFormat::Bmp
            | ImageFormat::Tiff
            | ImageFormat::Gif
    )
}

/// Turns the image crate's error into one sentence for the user.
fn describe_decode_error<R: Read + Seek>(
    reader: &mut R,
    path: &Path,
    format: ImageFormat,
    limit_mp: f64,
    error: ImageError,
) -> EngineError {
    let name = format_name(format);
    let ran_out = matches!(&error, ImageError::IoError(source) if source.kind() == std::io::ErrorKind::UnexpectedEof);
    // A PNG decoder runs out of bytes both when the file is cut short and when damaged bytes
    // are read as a chunk length; only the chunk structure tells the two apart.
    if format == ImageFormat::Png && (ran_out || matches!(error, ImageError::Decoding(_))) {
        match png_chunk_problem(reader) {
            Some(PngProblem::Damaged(why)) => return image_error(path, format!("corrupt PNG: the data is damaged: {why}")),
            Some(PngProblem::CutShort(why)) => {
                return image_error(path, format!("truncated PNG: the file ends too early: {why}"))
            }
            None => {}
        }
    }
    match error {
        _ if ran_out => image_error(path, format!("truncated or corrupt {name}: the file ends too early")),
        ImageError::IoError(source) => EngineError::Io { path: path.to_path_buf(), error: source },
        ImageError::Decoding(error) => {
            let detail = match std::error::Error::source(&error) {
                Some(underlying) => underlying.to_string(),
                None => "invalid data".to_string(),
            };
            image_error(path, format!("truncated or corrupt {name}: {detail}"))
        }
        ImageError::Unsupported(error) => {
            image_error(path, format!("{name} variant not supported: {error}"))
        }
        ImageError::Limits(error) => image_error(
            path,
            match error.kind() {
                LimitErrorKind::DimensionError => {
                    format!("image is wider or taller than the limit of {limit_mp:.1} MP allows")
                }
                LimitErrorKind::InsufficientMemory => format!(
                    "decoding this {name} needs more memory than an image of {limit_mp:.1} MP may use"
                ),
                _ => format!("{name} decoder refused the memory limits: {error}"),
            },
        ),
        other => image_error(path, format!("cannot decode {name}: {other}")),
    }
}

enum PngProblem {
    /// Bytes that cannot be PNG chunks, or a chunk whose checksum fails.
    Damaged(String),
    /// Every chunk read is whole and intact, but the file stops before PNG's `IEND`.
    CutShort(String),
}

/// Walks a PNG's chunks (length, type, data, CRC-32) from the start of `reader` and says what
/// is wrong with them; `None` when they are all intact up to `IEND`, or the file cannot be read.
fn png_chunk_problem<R: Read + Seek>(reader: &mut R) -> Option<PngProblem> {
    const SIGNATURE_LEN: u64 = 8;
    const IEND: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82];
    let total = reader.seek(SeekFrom::End(0)).ok()?;
    let mut tail = [0u8; 12];
    let ends_with_iend = total >= 20
        && reader.seek(SeekFrom::End(-12)).is_ok()
        && reader.read_exact(&mut tail).is_ok()
        && tail == IEND;
    reader.seek(SeekFrom::Start(SIGNATURE_LEN)).ok()?;
    let mut offset = SIGNATURE_LEN;
    let mut last_type = String::from("signature");
    let mut data = Vec::new();
    loop {
        if offset == total {
            return Some(PngProblem::CutShort(format!("it stops after its {last_type} chunk, before the IEND chunk that ends a PNG")));
        }
        let mut head = [0u8; 8];
        if offset + 8 > total {
            return Some(PngProblem::CutShort(format!("{} stray bytes at byte {offset}, after its {last_type} chunk", total - offset)));
        }
        reader.read_exact(&mut head).ok()?;
        let length = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as u64;
        let kind = &head[4..8];
        if offset == SIGNATURE_LEN && (kind != b"IHDR" || length != 13) {
            return Some(PngProblem::Damaged("bytes 8 to 15 are not the IHDR chunk header that every PNG starts with".to_string()));
        }
        if !kind.iter().all(u8::is_ascii_alphabetic) || length > i32::MAX as u64 {
            return Some(PngProblem::Damaged(format!("at byte {offset}, after its {last_type} chunk, the bytes are not a chunk header")));
        }
        let kind_text = String::from_utf8_lossy(kind).into_owned();
        let left = total - offset - 8;
        if length + 4 > left && ends_with_iend {
            return Some(PngProblem::Damaged(format!(
                "its {kind_text} chunk at byte {offset} claims {length} bytes, past the IEND chunk that ends the file"
            )));
        }
        if length + 4 > left {
            return Some(PngProblem::CutShort(format!(
                "its {kind_text} chunk at byte {offset} needs {} bytes, {left} are left",
                length + 4
            )));
        }
        data.resize(length as usize + 4, 0);
        reader.read_exact(&mut data).ok()?;
        let (body, stored) = data.split_at(length as usize);
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(body);
        if crc.finalize() != u32::from_be_bytes([stored[0], stored[1], stored[2], stored[3]]) {
            return Some(PngProblem::Damaged(format!("its {kind_text} chunk at byte {offset} fails its checksum")));
        }
        if kind == b"IEND" {
            return None;
        }
        offset += 8 + length + 4;
        last_type = kind_text;
    }
}

/// Refuses anything that is not one of our six formats, judging by content, with a message
/// that says what the file looks like instead.
fn detect_format(header: &[u8], path: &Path) -> Result<ImageFormat> {
    if header.is_empty() {
        return Err(image_error(path, "file is empty"));
    }
    match image::guess_format(header) {
        Ok(format) if is_supported(format) => Ok(format),
        Ok(format) => Err(image_error(
            path,
            format!("{} files are {SUPPORTED_FORMATS_TEXT}", format_name(format)),
        )),
        Err(_) => {
            let claimed = path
                .extension()
                .and_then(ImageFormat::from_extension)
                .filter(|&format| is_supported(format));
            Err(match claimed {
                Some(format) => image_error(
                    path,
                    format!(
                        "not a valid {name} file: its contents do not start like a {name} \
                         (expected PNG, JPEG, WebP, BMP, TIFF or GIF)",
                        name = format_name(format)
                    ),
                ),
                None => image_error(path, SUPPORTED_FORMATS_TEXT),
            })
        }
    }
}

fn decoder_limits(max_megapixels: f64) -> Limits {
    let max_pixels = max_megapixels * 1e6;
    // A side longer than the whole pixel budget can never pass the megapixel check; anything
    // shorter is left to that check so that the user gets the real size in the message.
    let max_side = max_pixels.ceil().min(u32::MAX as f64) as u32;
    let mut limits = Limits::default();
    limits.max_image_width = Some(max_side);
    limits.max_image_height = Some(max_side);
    limits.max_alloc = Some((max_pixels * WIDEST_PIXEL_BYTES + DECODER_SLACK_BYTES) as u64);
    limits
}

fn decode<R: BufRead + Seek>(reader: &mut R, path: &Path, options: &LoadOptions) -> Result<LoadedImage> {
    let io_error = |source| EngineError::Io { path: path.to_path_buf(), error: source };
    if !(options.max_megapixels > 0.0) {
        return Err(EngineError::InvalidArgument(format!(
            "the megapixel limit must be positive, got {}",
            options.max_megapixels
        )));
    }

    let mut header = Vec::with_capacity(32);
    reader.by_ref().take(32).read_to_end(&mut header).map_err(io_error)?;
    reader.seek(SeekFrom::Start(0)).map_err(io_error)?;
    let format = detect_format(&header, path)?;
    // JPEG: the whole file, for libjpeg's check of the entropy-coded data once the size is known.
    let jpeg_bytes = if format == ImageFormat::Jpeg {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(io_error)?;
        reader.seek(SeekFrom::Start(0)).map_err(io_error)?;
        Some(bytes)
    } else {
        None
    };
    match decode_as(reader, path, options, format, &header, jpeg_bytes.as_deref()) {
        Ok(image) => Ok(image),
        Err(DecodeFailure::Engine(error)) => Err(error),
        // Described once the decoder has let go of the reader, which the description may read.
        Err(DecodeFailure::Decoder(error)) => {
            Err(describe_decode_error(reader, path, format, options.max_megapixels, error))
        }
    }
}

enum DecodeFailure {
    Engine(EngineError),
    Decoder(ImageError),
}

impl From<EngineError> for DecodeFailure {
    fn from(error: EngineError) -> Self {
        DecodeFailure::Engine(error)
    }
}

fn decode_as<R: BufRead + Seek>(
    reader: &mut R,
    path: &Path,
    options: &LoadOptions,
    format: ImageFormat,
    header: &[u8],
    jpeg_bytes: Option<&[u8]>,
) -> std::result::Result<LoadedImage, DecodeFailure> {
    let limits = decoder_limits(options.max_megapixels);
    let mut image_reader = ImageReader::with_format(&mut *reader, format);
    image_reader.limits(limits.clone());
    let mut decoder = image_reader.into_decoder().map_err(DecodeFailure::Decoder)?;

    // Header only so far: refuse before a single pixel is allocated.
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(image_error(path, format!("image has no pixels ({width}x{height})")).into());
    }
    let megapixels = width as f64 * height as f64 / 1e6;
    if megapixels > options.max_megapixels {
        return Err(EngineError::ImageTooLarge {
            path: path.to_path_buf(),
            width,
            height,
            megapixels,
            limit_mp: options.max_megapixels,
        }
        .into());
    }

    if let Some(bytes) = jpeg_bytes {
        check_jpeg(bytes, path)?;
    }

    let mut warnings = Vec::new();
    // A broken EXIF block should not make an otherwise fine photo unreadable, but the user is
    // told that its orientation could not be applied.
    let exif_problem = match decoder.exif_metadata() {
        Ok(Some(chunk)) => exif_problem(&chunk),
        Ok(None) => None,
        Err(_) => Some("it cannot be parsed".to_string()),
    };
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    if let Some(problem) = exif_problem {
        warnings.push(format!("EXIF metadata is unreadable ({problem}); its orientation, if any, is not applied"));
    }
    if format == ImageFormat::WebP && webp_is_animated(header) {
        warnings.push("animated WebP: only the first frame is used".to_string());
    }

    let mut image = DynamicImage::from_decoder(decoder).map_err(DecodeFailure::Decoder)?;
    if orientation != Orientation::NoTransforms {
        image.apply_orientation(orientation);
        warnings.push(format!("rotated/flipped upright as its EXIF orientation asks ({orientation:?})"));
    }

    if format == ImageFormat::Gif && gif_is_animated(reader, &limits) {
        warnings.push("animated GIF: only the first frame is used".to_string());
    }
    if format == ImageFormat::Tiff && tiff_has_more_pages(reader) {
        warnings.push("multi-page TIFF: only the first page is used".to_string());
    }

    let rgb = into_rgb8(image, &mut warnings);
    Ok(LoadedImage { path: path.to_path_buf(), rgb, warnings })
}

/// The image crate's JPEG decoder is lenient: a truncated file, or one whose middle is
/// damaged, decodes "successfully" with the missing part filled in with guesses, and a
/// comparison on such pixels would print plausible numbers for garbage. libjpeg reads the
/// entropy-coded data strictly and says what is wrong.
fn check_jpeg(bytes: &[u8], path: &Path) -> Result<()> {
    let complete = jpeg_reaches_end_marker(&mut Cursor::new(bytes)).unwrap_or(false);
    let ends_with_eoi = bytes.ends_with(&[0xFF, 0xD9]);
    match crate::codec::check_jpeg_data(bytes) {
        Err(_) | Ok(()) if !complete && !ends_with_eoi => {
            Err(image_error(path, "truncated or corrupt JPEG: the file ends before its end-of-image marker"))
        }
        Err(error) => {
            let detail = match error {
                EngineError::Codec { reason, .. } => reason,
                other => other.to_string(),
            };
            let detail = detail.strip_prefix("Corrupt JPEG data: ").unwrap_or(&detail);
            Err(image_error(path, format!("corrupt JPEG data ({detail}); re-save or re-export the original")))
        }
        Ok(()) if !complete => Err(image_error(path, "corrupt JPEG: its marker structure is broken")),
        Ok(()) => Ok(()),
    }
}

/// Walks the JPEG marker structure up to the end-of-image marker. Needed because the image
/// crate runs its JPEG decoder in lenient mode, where a truncated file decodes "successfully"
/// with the missing part filled in. Segment payloads are skipped by their length, so an EXIF
/// thumbnail's own end marker is not mistaken for the image's.
fn jpeg_reaches_end_marker<R: BufRead>(reader: &mut R) -> std::io::Result<bool> {
    let mut bytes = reader.bytes();
    let mut next = || bytes.next().transpose();
    if next()? != Some(0xFF) || next()? != Some(0xD8) {
        return Ok(false);
    }
    loop {
        // Outside segments (entropy-coded data, or stray bytes) only 0xFF can start a marker.
        match next()? {
            None => return Ok(false),
            Some(0xFF) => {}
            Some(_) => continue,
        }
        let mut marker = next()?;
        while marker == Some(0xFF) {
            marker = next()?; // fill bytes
        }
        let Some(marker) = marker else { return Ok(false) };
        match marker {
            0xD9 => return Ok(true),
            // Stuffed zero, restart markers and TEM carry no length.
            0x00 | 0x01 | 0xD0..=0xD7 => continue,
            _ => {
                let (Some(high), Some(low)) = (next()?, next()?) else { return Ok(false) };
                let length = u16::from_be_bytes([high, low]);
                if length < 2 {
                    return Ok(false);
                }
                for _ in 2..length {
                    if next()?.is_none() {
                        return Ok(false);
                    }
                }
            }
        }
    }
}

/// Why an EXIF block (a TIFF structure) cannot be read, or None when its first directory and
/// orientation entry are sound. The image crate treats a broken block as "no orientation".
fn exif_problem(chunk: &[u8]) -> Option<String> {
    let little = match chunk.get(..4)? {
        [0x49, 0x49, 42, 0] => true,
        [0x4D, 0x4D, 0, 42] => false,
        _ if chunk.len() < 8 => return Some("the block is too short".into()),
        _ => return Some("it does not start with a TIFF header".into()),
    };
    let u16_at = |i: usize| chunk.get(i..i + 2).map(|b| if little { u16::from_le_bytes([b[0], b[1]]) } else { u16::from_be_bytes([b[0], b[1]]) });
    let u32_at = |i: usize| {
        chunk.get(i..i + 4).map(|b| {
            let b = [b[0], b[1], b[2], b[3]];
            if little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) }
        })
    };
    let Some(ifd) = u32_at(4).map(|o| o as usize) else { return Some("the block is too short".into()) };
    let Some(count) = u16_at(ifd).map(usize::from) else {
        return Some("its first directory lies outside the block".into());
    };
    if ifd + 2 + count * 12 > chunk.len() {
        return Some("its first directory is cut short".into());
    }
    for entry in (0..count).map(|i| ifd + 2 + i * 12) {
        if u16_at(entry) == Some(0x0112) {
            let value = u16_at(entry + 8).unwrap_or(0);
            if u16_at(entry + 2) != Some(3) || !(1..=8).contains(&value) {
                return Some(format!("its orientation entry is invalid ({value})"));
            }
        }
    }
    None
}

/// The VP8X header's animation flag (byte 20, bit 1).
fn webp_is_animated(header: &[u8]) -> bool {
    header.len() > 20 && &header[12..16] == b"VP8X" && header[20] & 0x02 != 0
}

/// True when the TIFF's first directory links to a second one. Any failure reads as "one page".
fn tiff_has_more_pages<R: BufRead + Seek>(reader: &mut R) -> bool {
    let mut read = |at: u64, len: usize| -> Option<Vec<u8>> {
        reader.seek(SeekFrom::Start(at)).ok()?;
        let mut buffer = vec![0; len];
        reader.read_exact(&mut buffer).ok()?;
        Some(buffer)
    };
    let mut check = || -> Option<bool> {
        let header = read(0, 16)?;
        let little = &header[..2] == b"II";
        let int = |b: &[u8]| -> u64 {
            let mut bytes = [0u8; 8];
            if little {
                bytes[..b.len()].copy_from_slice(b);
                u64::from_le_bytes(bytes)
            } else {
                bytes[8 - b.len()..].copy_from_slice(b);
                u64::from_be_bytes(bytes)
            }
        };
        let big_tiff = int(&header[2..4]) == 43;
        let (offset, count_len, entry_len, next_len) =
            if big_tiff { (int(&header[8..16]), 8, 20, 8) } else { (int(&header[4..8]), 2, 12, 4) };
        let count = int(&read(offset, count_len)?);
        let next_at = offset.checked_add(count_len as u64)?.checked_add(count.checked_mul(entry_len)?)?;
        Some(int(&read(next_at, next_len)?) != 0)
    };
    let more = check().unwrap_or(false);
    let _ = reader.seek(SeekFrom::Start(0));
    more
}

/// True when the GIF has a second frame. Any failure reads as "not animated": the first frame
/// already decoded, and this only decides whether to warn.
fn gif_is_animated<R: BufRead + Seek>(reader: &mut R, limits: &Limits) -> bool {
    if reader.seek(SeekFrom::Start(0)).is_err() {
        return false;
    }
    let Ok(mut decoder) = GifDecoder::new(reader) else { return false };
    if decoder.set_limits(limits.clone()).is_err() {
        return false;
    }
    decoder.into_frames().take(2).filter(|frame| frame.is_ok()).count() == 2
}

/// Reduces any decoded layout to 8-bit RGB, saying what was lost.
fn into_rgb8(image: DynamicImage, warnings: &mut Vec<String>) -> RgbImage {
    let bits = match image {
        DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_)
        | DynamicImage::ImageRgb16(_)
        | DynamicImage::ImageRgba16(_) => Some("16-bit"),
        DynamicImage::ImageRgb32F(_) | DynamicImage::ImageRgba32F(_) => Some("32-bit float"),
        _ => None,
    };
    if let Some(bits) = bits {
        warnings.push(format!("{bits} image reduced to 8 bits per channel"));
    }
    let (rgb, had_transparency) = match image {
        DynamicImage::ImageRgb8(rgb) => (rgb, false),
        DynamicImage::ImageLuma8(_) => (image.into_rgb8(), false),
        DynamicImage::ImageLumaA8(buffer) => flatten_onto_white(&buffer, 255.0),
        DynamicImage::ImageRgba8(buffer) => flatten_onto_white(&buffer, 255.0),
        DynamicImage::ImageLuma16(buffer) => flatten_onto_white(&buffer, 65535.0),
        DynamicImage::ImageLumaA16(buffer) => flatten_onto_white(&buffer, 65535.0),
        DynamicImage::ImageRgb16(buffer) => flatten_onto_white(&buffer, 65535.0),
        DynamicImage::ImageRgba16(buffer) => flatten_onto_white(&buffer, 65535.0),
        DynamicImage::ImageRgb32F(buffer) => flatten_onto_white(&buffer, 1.0),
        DynamicImage::ImageRgba32F(buffer) => flatten_onto_white(&buffer, 1.0),
        // DynamicImage is non-exhaustive; a future layout goes through the crate's conversion.
        other => (other.into_rgb8(), false),
    };
    if had_transparency {
        warnings.push("transparent pixels composited onto white".to_string());
    }
    rgb
}

/// Composites onto white and rounds to 8 bits; also reports whether any pixel was not opaque.
/// `max` is the subpixel value meaning 1.0 (255, 65535 or 1.0 for float).
fn flatten_onto_white<P>(buffer: &ImageBuffer<P, Vec<P::Subpixel>>, max: f32) -> (RgbImage, bool)
where
    P: Pixel + Sync,
    P::Subpixel: Into<f32> + Sync,
{
    let (width, height) = buffer.dimensions();
    let mut rgb = RgbImage::new(width, height);
    let row_len = width as usize * 3;
    let transparent_rows: usize = rgb
        .par_chunks_mut(row_len)
        .enumerate()
        .map(|(y, row)| {
            let mut any_transparent = false;
            for (x, out) in row.chunks_exact_mut(3).enumerate() {
                let rgba = buffer.get_pixel(x as u32, y as u32).to_rgba();
                let [r, g, b, a]: [f32; 4] = rgba.0.map(|v| Into::<f32>::into(v) / max);
                let alpha = a.clamp(0.0, 1.0);
                any_transparent |= alpha < 1.0;
                let over_white = |c: f32| c.clamp(0.0, 1.0) * alpha + (1.0 - alpha);
                let pixel: Rgb<u8> = Rgb([r, g, b].map(|c| (over_white(c) * 255.0).round() as u8));
                out.copy_from_slice(&pixel.0);
            }
            any_transparent as usize
        })
        .sum();
    (rgb, transparent_rows > 0)
}
