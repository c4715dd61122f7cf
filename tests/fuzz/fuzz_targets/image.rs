//! Any bytes through the image loader: a clear error or an image, never a panic or a hang.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    rescale_lab::fuzzing::load_image(bytes);
});
