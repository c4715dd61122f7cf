//! Lossy codecs applied to the LR image, behaving like Pillow's defaults (the papers used Pillow).
//!
//! JPEG goes through mozjpeg switched to its libjpeg-turbo profile (`JCP_FASTEST`): baseline,
//! Annex K quantisation tables scaled by `jpeg_set_quality(q, force_baseline = TRUE)`, standard
//! Huffman tables, 4:2:0, islow DCT, no trellis, no deringing. That is what Pillow's
//! `JpegEncode.c` asks of libjpeg-turbo, so the files come out byte for byte as Pillow's.
//! Decoding uses libjpeg's defaults (islow IDCT, fancy upsampling), as Pillow's `JpegDecode.c`.
//!
//! WebP follows Pillow's `_webp.c` `WebPEncode`: `WebPConfigInit` (the DEFAULT preset), the
//! quality, method 4, `exact` off, and the picture imported as ARGB (`use_argb = 1`) so that
//! libwebp itself converts to YUV 4:2:0 inside `WebPEncode` (no sharp YUV). Decoding is
//! libwebp's default (fancy upsampling); for RGB output alpha is dropped, as Pillow's
//! `convert("RGB")` does.
//!
//! libjpeg reports fatal errors through a callback that must not return; here it unwinds
//! (mozjpeg-sys is built with `-fexceptions` and declares its callbacks `C-unwind`) and
//! `catch_unwind` turns that into `EngineError::Codec`. Corrupt-data warnings (truncated file,
//! bad Huffman code, lost marker…) are treated as errors too: libjpeg would otherwise "repair"
//! the stream with grey blocks and return success.

use std::ffi::{c_int, c_ulong, c_void};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

/// Encoder quality 1–100, as Pillow's `quality=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Quality(u8);

impl Quality {
    pub fn new(value: u8) -> Result<Self> {
        if (1..=100).contains(&value) {
            Ok(Self(value))
        } else {
            Err(crate::EngineError::InvalidArgument(format!("quality must be 1–100, got {value}")))
        }
    }
    pub fn get(self) -> u8 {
        self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Codec {
    None,
    Jpeg { quality: Quality },
    Webp { quality: Quality },
}

/// What a codec did to an image: the file it would write and what a decoder reads back.
#[derive(Debug, Clone)]
pub struct Compressed {
    /// Encoded file bytes (for `Codec::None`, a PNG of the image).
    pub bytes: Vec<u8>,
    pub decoded: RgbImage,
}

impl Codec {
    pub fn compress(&self, image: &RgbImage) -> Result<Compressed> {
        match *self {
            Codec::None => Ok(Compressed { bytes: encode_png(image)?, decoded: image.clone() }),
            Codec::Jpeg { quality } => {
                let bytes = encode_jpeg(image, quality)?;
                let decoded = decode_jpeg(&bytes)?;
                Ok(Compressed { bytes, decoded })
            }
            Codec::Webp { quality } => {
                let bytes = encode_webp(image, quality)?;
                let decoded = decode_webp(&bytes)?;
                Ok(Compressed { bytes, decoded })
            }
        }
    }

    /// File extension of `Compressed::bytes`: "png", "jpg" or "webp".
    pub fn extension(&self) -> &'static str {
        match self {
            Codec::None => "png",
            Codec::Jpeg { .. } => "jpg",
            Codec::Webp { .. } => "webp",
        }
    }

    /// Short label for tables and file names: "none", "jpeg-q30", "webp-q90".
    pub fn label(&self) -> String {
        match self {
            Codec::None => "none".into(),
            Codec::Jpeg { quality } => format!("jpeg-q{}", quality.get()),
            Codec::Webp { quality } => format!("webp-q{}", quality.get()),
        }
    }

    /// The same codec at another quality (`None` has no quality and stays as it is).
    pub fn with_quality(&self, quality: Quality) -> Codec {
        match self {
            Codec::None => Codec::None,
            Codec::Jpeg { .. } => Codec::Jpeg { quality },
            Codec::Webp { .. } => Codec::Webp { quality },
        }
    }

    pub fn quality(&self) -> Option<Quality> {
        match self {
            Codec::None => None,
            Codec::Jpeg { quality } | Codec::Webp { quality } => Some(*quality),
        }
    }
}

/// Decodes a JPEG as Pillow (libjpeg-turbo, default options) does.
pub fn decode_jpeg(bytes: &[u8]) -> Result<RgbImage> {
    jpeg::decode(bytes)
}

/// Runs libjpeg over a whole JPEG file and reports the first sign of damaged data (bad Huffman
/// code, lost marker, premature end…) that a lenient decoder would silently paint over. Works
/// for every colour space libjpeg reads (grey, YCbCr, CMYK), holding one row at a time.
pub fn check_jpeg_data(bytes: &[u8]) -> Result<()> {
    jpeg::check_data(bytes)
}

/// Decodes a lossy or lossless WebP as Pillow (libwebp) does.
pub fn decode_webp(bytes: &[u8]) -> Result<RgbImage> {
    webp::decode(bytes)
}

/// Encodes as Pillow's `Image.save(format="JPEG", quality=q)` with its defaults.
pub fn encode_jpeg(image: &RgbImage, quality: Quality) -> Result<Vec<u8>> {
    jpeg::encode(image, quality)
}

/// Encodes as Pillow's `Image.save(format="WEBP", quality=q)` with its defaults (lossy, method 4).
pub fn encode_webp(image: &RgbImage, quality: Quality) -> Result<Vec<u8>> {
    webp::encode(image, quality)
}

fn encode_png(image: &RgbImage) -> Result<Vec<u8>> {
    use image::ImageEncoder;
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(image.as_raw(), image.width(), image.height(), image::ExtendedColorType::Rgb8)
        .map_err(|e| codec_error("PNG", e.to_string()))?;
    Ok(bytes)
}

fn codec_error(codec: &str, reason: impl Into<String>) -> EngineError {
    EngineError::Codec { codec: codec.into(), reason: reason.into() }
}

/// Bytes of an RGB8 buffer of this size, or an error if it cannot be addressed or allocated.
fn rgb_buffer(codec: &str, width: u32, height: u32) -> Result<Vec<u8>> {
    let len = (width as usize)
        .checked_mul(height as usize)
        .and_then(|n| n.checked_mul(3))
        .ok_or_else(|| codec_error(codec, format!("{width}x{height} is too large")))?;
    let mut buffer = Vec::new();
    buffer
        .try_reserve_exact(len)
        .map_err(|_| codec_error(codec, format!("cannot allocate a {width}x{height} image")))?;
    Ok(buffer)
}

mod jpeg {
    use super::*;
    use mozjpeg_sys as ffi;

    const CODEC: &str = "JPEG";

    /// Payload of the unwind started by our libjpeg error callbacks, so that a genuine Rust
    /// panic travelling through the same `catch_unwind` is told apart and re-raised.
    struct LibjpegFailure(String);

    /// Runs libjpeg calls, turning the unwind of a libjpeg error into `EngineError::Codec`.
    fn guarded<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
        match catch_unwind(AssertUnwindSafe(work)) {
            Ok(result) => result,
            Err(payload) => match payload.downcast::<LibjpegFailure>() {
                Ok(failure) => Err(codec_error(CODEC, failure.0)),
                Err(other) => resume_unwind(other),
            },
        }
    }

    fn libjpeg_message(cinfo: &mut ffi::jpeg_common_struct) -> String {
        let mut buffer = [0u8; 80];
        // SAFETY: `err` was set up by `error_manager` before any libjpeg call; format_message
        // writes at most JMSG_LENGTH_MAX (80) bytes, NUL included. Its binding takes the buffer
        // as a shared reference although C writes into it, so it is called through a pointer type.
        unsafe {
            let err = &*cinfo.err;
            if let Some(format) = err.format_message {
                let format: unsafe extern "C-unwind" fn(&mut ffi::jpeg_common_struct, *mut u8) =
                    std::mem::transmute(format);
                format(cinfo, buffer.as_mut_ptr());
            }
            let code = (*cinfo.err).msg_code;
            let text_len = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
            if text_len == 0 {
                format!("libjpeg error {code}")
            } else {
                String::from_utf8_lossy(&buffer[..text_len]).into_owned()
            }
        }
    }

    unsafe extern "C-unwind" fn unwind_on_error(cinfo: &mut ffi::jpeg_common_struct) {
        let message = libjpeg_message(cinfo);
        resume_unwind(Box::new(LibjpegFailure(message)));
    }

    unsafe extern "C-unwind" fn ignore_messages(_cinfo: &mut ffi::jpeg_common_struct, _level: c_int) {}

    /// Warnings about metadata only; the pixels are still right, so decoding goes on.
    const HARMLESS_WARNINGS: [c_int; 3] = [ffi::JWRN_JFIF_MAJOR, ffi::JWRN_ADOBE_XFORM, ffi::JWRN_BOGUS_ICC];

    /// Checking a user's photo: also let through the bytes some cameras and editors leave
    /// between segments ("N extraneous bytes before marker"), which decode correctly.
    unsafe extern "C-unwind" fn unwind_on_damaged_data(cinfo: &mut ffi::jpeg_common_struct, level: c_int) {
        if (*cinfo.err).msg_code != ffi::JWRN_EXTRANEOUS_DATA {
            unwind_on_corrupt_data(cinfo, level);
        }
    }

    /// Level -1 is libjpeg's "corrupt data, may want to abort"; trace levels (≥ 0) are ignored.
    unsafe extern "C-unwind" fn unwind_on_corrupt_data(cinfo: &mut ffi::jpeg_common_struct, level: c_int) {
        let code = (*cinfo.err).msg_code;
        if level < 0 && !HARMLESS_WARNINGS.contains(&code) {
            let message = libjpeg_message(cinfo);
            resume_unwind(Box::new(LibjpegFailure(message)));
        }
    }

    fn error_manager(
        emit_message: unsafe extern "C-unwind" fn(&mut ffi::jpeg_common_struct, c_int),
    ) -> *mut ffi::jpeg_error_mgr {
        // SAFETY: all-zero is a valid jpeg_error_mgr (null pointers, `None` callbacks), and
        // jpeg_std_error fills every field before we override two callbacks.
        unsafe {
            let err: *mut ffi::jpeg_error_mgr = Box::into_raw(Box::new(std::mem::zeroed()));
            ffi::jpeg_std_error(&mut *err);
            (*err).error_exit = Some(unwind_on_error);
            (*err).emit_message = Some(emit_message);
            err
        }
    }

    /// Destination manager writing straight into a `Vec`'s spare capacity: the region handed
    /// to libjpeg is always `[len, capacity)`.
    #[repr(C)]
    struct VecDestination {
        /// libjpeg sees only this field, through `cinfo.dest`; it must stay first.
        iface: ffi::jpeg_destination_mgr,
        bytes: Vec<u8>,
    }

    impl VecDestination {
        fn expose_spare_capacity(&mut self) {
            let len = self.bytes.len();
            if self.bytes.capacity() - len < 4096 {
                self.bytes.reserve(len.max(4096));
            }
            // SAFETY: `len <= capacity`, so the pointer stays inside (or one past) the allocation.
            self.iface.next_output_byte = unsafe { self.bytes.as_mut_ptr().add(len) };
            self.iface.free_in_buffer = self.bytes.capacity() - len;
        }

        /// # Safety
        /// `cinfo.dest` must point at the `iface` of a live `VecDestination`.
        unsafe fn of(cinfo: &mut ffi::jpeg_compress_struct) -> &mut VecDestination {
            &mut *(cinfo.dest as *mut VecDestination)
        }
    }

    unsafe extern "C-unwind" fn init_destination(cinfo: &mut ffi::jpeg_compress_struct) {
        VecDestination::of(cinfo).expose_spare_capacity();
    }

    /// libjpeg calls this once the exposed region is completely full.
    unsafe extern "C-unwind" fn empty_output_buffer(cinfo: &mut ffi::jpeg_compress_struct) -> ffi::boolean {
        let destination = VecDestination::of(cinfo);
        destination.bytes.set_len(destination.bytes.capacity());
        destination.expose_spare_capacity();
        1
    }

    unsafe extern "C-unwind" fn term_destination(cinfo: &mut ffi::jpeg_compress_struct) {
        let destination = VecDestination::of(cinfo);
        let written_end = destination.bytes.capacity() - destination.iface.free_in_buffer;
        destination.bytes.set_len(written_end);
    }

    /// Owns a compressor and what it points to; destroys them even when libjpeg unwinds.
    struct Compressor {
        cinfo: Box<ffi::jpeg_compress_struct>,
        err: *mut ffi::jpeg_error_mgr,
        destination: *mut VecDestination,
    }

    impl Compressor {
        fn new(initial_capacity: usize) -> Self {
            let destination = Box::into_raw(Box::new(VecDestination {
                iface: ffi::jpeg_destination_mgr {
                    next_output_byte: std::ptr::null_mut(),
                    free_in_buffer: 0,
                    init_destination: Some(init_destination),
                    empty_output_buffer: Some(empty_output_buffer),
                    term_destination: Some(term_destination),
                },
                bytes: Vec::with_capacity(initial_capacity),
            }));
            // SAFETY: all-zero is the state libjpeg expects before jpeg_CreateCompress, which
            // keeps only `err` (and client_data).
            let mut compressor = Self {
                cinfo: Box::new(unsafe { std::mem::zeroed() }),
                err: error_manager(ignore_messages),
                destination,
            };
            compressor.cinfo.common.err = compressor.err;
            // SAFETY: cinfo is zeroed with a valid error manager; errors unwind out of here.
            unsafe {
                ffi::jpeg_CreateCompress(
                    &mut *compressor.cinfo,
                    ffi::JPEG_LIB_VERSION,
                    std::mem::size_of::<ffi::jpeg_compress_struct>(),
                );
            }
            compressor.cinfo.dest = destination as *mut ffi::jpeg_destination_mgr;
            compressor
        }

        fn take_bytes(&mut self) -> Vec<u8> {
            // SAFETY: `destination` is live until drop, and libjpeg is done with it once
            // jpeg_finish_compress has returned.
            unsafe { std::mem::take(&mut (*self.destination).bytes) }
        }
    }

    impl Drop for Compressor {
        fn drop(&mut self) {
            // SAFETY: jpeg_destroy_compress accepts a created, failed or never-created (zeroed
            // `mem`) struct; the boxes are freed only after libjpeg has let go of them.
            unsafe {
                ffi::jpeg_destroy_compress(&mut self.cinfo);
                drop(Box::from_raw(self.destination));
                drop(Box::from_raw(self.err));
            }
        }
    }

    pub(super) fn encode(image: &RgbImage, quality: Quality) -> Result<Vec<u8>> {
        let (width, height) = image.dimensions();
        if width == 0 || height == 0 {
            return Err(codec_error(CODEC, format!("cannot encode an empty {width}x{height} image")));
        }
        // A little above what q95 needs for photographs; a q100 file grows the buffer once.
        let initial_capacity = (width as usize * height as usize) / 2 + 1024;
        let row_bytes = width as usize * 3;
        // The container may be longer than the image; only the image's rows are handed over.
        let pixels = &image.as_raw()[..row_bytes * height as usize];
        let rows: Vec<ffi::JSAMPROW> = pixels.chunks_exact(row_bytes).map(|row| row.as_ptr()).collect();

        guarded(|| {
            let mut compressor = Compressor::new(initial_capacity);
            let cinfo = &mut *compressor.cinfo;
            cinfo.image_width = width;
            cinfo.image_height = height;
            cinfo.input_components = 3;
            cinfo.in_color_space = ffi::J_COLOR_SPACE::JCS_RGB;
            // SAFETY: parameters are set between create and start, as libjpeg requires; the
            // profile must be chosen before jpeg_set_defaults, which reads it.
            unsafe {
                ffi::jpeg_c_set_int_param(
                    cinfo,
                    ffi::J_INT_PARAM::JINT_COMPRESS_PROFILE,
                    ffi::JINT_COMPRESS_PROFILE_VALUE::JCP_FASTEST as c_int,
                );
                ffi::jpeg_set_defaults(cinfo);
                // JCP_FASTEST already implies these; they are spelled out because any of them
                // changes the file (and its PSNR) compared with libjpeg-turbo.
                ffi::jpeg_c_set_int_param(cinfo, ffi::J_INT_PARAM::JINT_BASE_QUANT_TBL_IDX, 0);
                ffi::jpeg_c_set_bool_param(cinfo, ffi::J_BOOLEAN_PARAM::JBOOLEAN_TRELLIS_QUANT, 0);
                ffi::jpeg_c_set_bool_param(cinfo, ffi::J_BOOLEAN_PARAM::JBOOLEAN_TRELLIS_QUANT_DC, 0);
                ffi::jpeg_c_set_bool_param(cinfo, ffi::J_BOOLEAN_PARAM::JBOOLEAN_OVERSHOOT_DERINGING, 0);
                ffi::jpeg_c_set_bool_param(cinfo, ffi::J_BOOLEAN_PARAM::JBOOLEAN_OPTIMIZE_SCANS, 0);
                ffi::jpeg_set_quality(cinfo, c_int::from(quality.get()), 1);
                // 4:2:0, as Pillow's default `subsampling` for RGB.
                let components = std::slice::from_raw_parts_mut(cinfo.comp_info, 3);
                for (component, factor) in components.iter_mut().zip([2, 1, 1]) {
                    component.h_samp_factor = factor;
                    component.v_samp_factor = factor;
                }
                cinfo.optimize_coding = 0;
                cinfo.smoothing_factor = 0;
                cinfo.dct_method = ffi::J_DCT_METHOD::JDCT_ISLOW;

                ffi::jpeg_start_compress(cinfo, 1);
                while cinfo.next_scanline < height {
                    let next = cinfo.next_scanline as usize;
                    let written = ffi::jpeg_write_scanlines(cinfo, rows[next..].as_ptr(), height - cinfo.next_scanline);
                    if written == 0 {
                        return Err(codec_error(CODEC, "encoder accepted no scanlines"));
                    }
                }
                ffi::jpeg_finish_compress(cinfo);
            }
            Ok(compressor.take_bytes())
        })
    }

    pub(super) fn check_data(bytes: &[u8]) -> Result<()> {
        let byte_count = c_ulong::try_from(bytes.len()).map_err(|_| codec_error(CODEC, "file too large"))?;
        guarded(|| {
            let mut decompressor = Decompressor::with_messages(unwind_on_damaged_data);
            let cinfo = &mut *decompressor.cinfo;
            // SAFETY: as in `decode`; one row buffer of `output_width × output_components`
            // bytes is handed to libjpeg per call, and it writes one row at most.
            unsafe {
                ffi::jpeg_mem_src(cinfo, bytes.as_ptr(), byte_count);
                ffi::jpeg_read_header(cinfo, 1);
                // Only the entropy-coded data is being checked: no upsampling or colour work.
                cinfo.do_fancy_upsampling = 0;
                cinfo.dct_method = ffi::J_DCT_METHOD::JDCT_IFAST;
                ffi::jpeg_start_decompress(cinfo);
                let row_bytes = cinfo.output_width as usize * cinfo.output_components.max(1) as usize;
                let mut row = vec![0u8; row_bytes];
                let mut rows: [ffi::JSAMPROW_MUT; 1] = [row.as_mut_ptr()];
                while cinfo.output_scanline < cinfo.output_height {
                    if ffi::jpeg_read_scanlines(cinfo, rows.as_mut_ptr(), 1) == 0 {
                        return Err(codec_error(CODEC, "decoder returned no scanlines"));
                    }
                }
                ffi::jpeg_finish_decompress(cinfo);
            }
            Ok(())
        })
    }

    /// Owns a decompressor and its error manager; destroys them even when libjpeg unwinds.
    struct Decompressor {
        cinfo: Box<ffi::jpeg_decompress_struct>,
        err: *mut ffi::jpeg_error_mgr,
    }

    impl Decompressor {
        fn new() -> Self {
            Self::with_messages(unwind_on_corrupt_data)
        }

        fn with_messages(emit_message: unsafe extern "C-unwind" fn(&mut ffi::jpeg_common_struct, c_int)) -> Self {
            // SAFETY: as for the compressor.
            let mut decompressor = Self {
                cinfo: Box::new(unsafe { std::mem::zeroed() }),
                err: error_manager(emit_message),
            };
            decompressor.cinfo.common.err = decompressor.err;
            unsafe {
                ffi::jpeg_CreateDecompress(
                    &mut *decompressor.cinfo,
                    ffi::JPEG_LIB_VERSION,
                    std::mem::size_of::<ffi::jpeg_decompress_struct>(),
                );
            }
            decompressor
        }
    }

    impl Drop for Decompressor {
        fn drop(&mut self) {
            // SAFETY: see Compressor::drop.
            unsafe {
                ffi::jpeg_destroy_decompress(&mut self.cinfo);
                drop(Box::from_raw(self.err));
            }
        }
    }

    pub(super) fn decode(bytes: &[u8]) -> Result<RgbImage> {
        if bytes.is_empty() {
            return Err(codec_error(CODEC, "no data"));
        }
        let byte_count = c_ulong::try_from(bytes.len()).map_err(|_| codec_error(CODEC, "file too large"))?;
        guarded(|| {
            let mut decompressor = Decompressor::new();
            let cinfo = &mut *decompressor.cinfo;
            // SAFETY: `bytes` outlives the decompressor (dropped at the end of this closure);
            // the call order is libjpeg's: source, header, parameters, start, scanlines, finish.
            unsafe {
                ffi::jpeg_mem_src(cinfo, bytes.as_ptr(), byte_count);
                ffi::jpeg_read_header(cinfo, 1);
                cinfo.out_color_space = ffi::J_COLOR_SPACE::JCS_RGB;
                cinfo.dct_method = ffi::J_DCT_METHOD::JDCT_ISLOW;
                cinfo.do_fancy_upsampling = 1;
                ffi::jpeg_start_decompress(cinfo);
            }
            let (width, height) = (cinfo.output_width, cinfo.output_height);
            if cinfo.output_components != 3 {
                return Err(codec_error(CODEC, format!("{} output components, expected 3", cinfo.output_components)));
            }
            let row_bytes = width as usize * 3;
            let mut pixels = rgb_buffer(CODEC, width, height)?;
            let base = pixels.as_mut_ptr();
            // SAFETY: every row pointer lies inside `pixels`' reserved capacity.
            let mut rows: Vec<ffi::JSAMPROW_MUT> =
                (0..height as usize).map(|y| unsafe { base.add(y * row_bytes) }).collect();
            while cinfo.output_scanline < height {
                let next = cinfo.output_scanline as usize;
                // SAFETY: libjpeg writes at most the `height - next` rows it is given.
                let read = unsafe {
                    ffi::jpeg_read_scanlines(cinfo, rows[next..].as_mut_ptr(), height - cinfo.output_scanline)
                };
                if read == 0 {
                    return Err(codec_error(CODEC, "decoder returned no scanlines"));
                }
            }
            // SAFETY: all `height` rows have been written.
            unsafe {
                pixels.set_len(row_bytes * height as usize);
                ffi::jpeg_finish_decompress(cinfo);
            }
            RgbImage::from_raw(width, height, pixels).ok_or_else(|| codec_error(CODEC, "buffer size mismatch"))
        })
    }
}

mod webp {
    use super::*;
    use libwebp_sys as ffi;

    const CODEC: &str = "WebP";

    /// libwebp's writer callback: appends each chunk of the file to the `Vec` in `custom_ptr`.
    unsafe extern "C" fn append_to_vec(data: *const u8, data_size: usize, picture: *const ffi::WebPPicture) -> c_int {
        let bytes = &mut *((*picture).custom_ptr as *mut Vec<u8>);
        if bytes.try_reserve(data_size).is_err() {
            return 0;
        }
        bytes.extend_from_slice(std::slice::from_raw_parts(data, data_size));
        1
    }

    /// Frees the picture's pixel buffers however `encode` leaves.
    struct Picture(ffi::WebPPicture);

    impl Drop for Picture {
        fn drop(&mut self) {
            // SAFETY: the picture was initialised by WebPPictureInitInternal; Free accepts
            // a picture with or without buffers.
            unsafe { ffi::WebPPictureFree(&mut self.0) }
        }
    }

    pub(super) fn encode(image: &RgbImage, quality: Quality) -> Result<Vec<u8>> {
        let (width, height) = image.dimensions();
        let too_large = || codec_error(CODEC, format!("{width}x{height} exceeds WebP's 16383x16383 limit"));
        let pic_width = c_int::try_from(width).map_err(|_| too_large())?;
        let pic_height = c_int::try_from(height).map_err(|_| too_large())?;
        let stride = pic_width.checked_mul(3).ok_or_else(too_large)?;
        if width == 0 || height == 0 {
            return Err(codec_error(CODEC, format!("cannot encode an empty {width}x{height} image")));
        }

        // SAFETY: Init fills every field of the config and the picture.
        let mut config: ffi::WebPConfig = unsafe { std::mem::zeroed() };
        let mut picture = Picture(unsafe { std::mem::zeroed() });
        unsafe {
            if ffi::WebPConfigInitInternal(
                &mut config,
                ffi::WebPPreset::WEBP_PRESET_DEFAULT,
                f32::from(quality.get()),
                ffi::WEBP_ENCODER_ABI_VERSION as c_int,
            ) == 0
                || ffi::WebPPictureInitInternal(&mut picture.0, ffi::WEBP_ENCODER_ABI_VERSION as c_int) == 0
            {
                return Err(codec_error(CODEC, "libwebp version mismatch"));
            }
        }
        config.lossless = 0;
        config.method = 4;
        config.exact = 0;
        config.alpha_quality = 100;
        // Pillow leaves this at 0. libwebp only splits its analysis pass between two threads
        // and merges the statistics, so the bitstream is the same (the parity tests check
        // byte identity) and the GUI gets its result sooner.
        config.thread_level = 1;
        // SAFETY: config was initialised above.
        if unsafe { ffi::WebPValidateConfig(&config) } == 0 {
            return Err(codec_error(CODEC, "invalid encoder configuration"));
        }

        picture.0.width = pic_width;
        picture.0.height = pic_height;
        // Pillow hands libwebp ARGB, so the RGB→YUV conversion is libwebp's own.
        picture.0.use_argb = 1;
        // Lossy q75 files of photographs run at ~1/8 of the raw size; reserve a bit more.
        let mut bytes: Vec<u8> = Vec::with_capacity(image.as_raw().len() / 6 + 1024);
        // SAFETY: the source buffer holds `height` rows of `stride` bytes; `bytes` outlives
        // WebPEncode, the only caller of the writer.
        let encoded = unsafe {
            if ffi::WebPPictureImportRGB(&mut picture.0, image.as_raw().as_ptr(), stride) == 0 {
                return Err(codec_error(CODEC, format!("cannot import a {width}x{height} picture")));
            }
            picture.0.writer = Some(append_to_vec);
            picture.0.custom_ptr = &mut bytes as *mut Vec<u8> as *mut c_void;
            ffi::WebPEncode(&config, &mut picture.0)
        };
        if encoded == 0 {
            return Err(codec_error(CODEC, format!("encoding failed: {:?}", picture.0.error_code)));
        }
        Ok(bytes)
    }

    pub(super) fn decode(bytes: &[u8]) -> Result<RgbImage> {
        // SAFETY: all-zero is a valid output struct; libwebp reads at most `bytes.len()` bytes.
        let mut features: ffi::WebPBitstreamFeatures = unsafe { std::mem::zeroed() };
        let status = unsafe { ffi::WebPGetFeatures(bytes.as_ptr(), bytes.len(), &mut features) };
        if status != ffi::VP8StatusCode::VP8_STATUS_OK {
            return Err(codec_error(CODEC, format!("not a WebP file, or a corrupt header ({status:?})")));
        }
        if features.has_animation != 0 {
            return Err(codec_error(CODEC, "animated WebP is not supported"));
        }
        let (width, height) = (features.width as u32, features.height as u32);
        let mut pixels = rgb_buffer(CODEC, width, height)?;
        let len = width as usize * height as usize * 3;
        let stride = width as c_int * 3;
        // SAFETY: the output buffer has room for `len` bytes, which libwebp checks against
        // `stride * height` before writing.
        let output = unsafe { ffi::WebPDecodeRGBInto(bytes.as_ptr(), bytes.len(), pixels.as_mut_ptr(), len, stride) };
        if output.is_null() {
            return Err(codec_error(CODEC, "corrupt or truncated data"));
        }
        // SAFETY: on success every row has been written.
        unsafe { pixels.set_len(len) };
        RgbImage::from_raw(width, height, pixels).ok_or_else(|| codec_error(CODEC, "buffer size mismatch"))
    }
}
