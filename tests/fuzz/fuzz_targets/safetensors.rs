//! Any bytes as a safetensors file: a clear error or a network, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    rescale_lab::fuzzing::load_weights(bytes, "safetensors");
});
