//! How the process's allocator keeps freed memory.
//!
//! A network pass allocates and frees the same few-MB buffers (tensors between the blocks,
//! coupling values, NCHW copies) hundreds of times. glibc hands allocations above its mmap
//! threshold (128 KiB at first) straight back to the kernel when freed, and trims the heap's
//! free top, so each new buffer faults in fresh zeroed pages, on the thread that runs the
//! serial steps while the other cores wait. Keeping up to 256 MiB of freed memory made the
//! quality slider's round trip 3–12 % faster in interleaved runs (`docs/cpu-performance.md`).
//! The binary's `main` calls this before starting any thread; the library never changes
//! process-wide settings itself.

/// Allocations up to 32 MiB come from the heap, and up to 256 MiB of freed heap stays mapped.
/// Elsewhere than glibc, nothing.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes two thresholds of the allocator; called before any thread
    // exists, as glibc asks.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}

/// Hands the freed memory that `keep_freed_memory` lets the allocator keep back to the system,
/// in every arena: for when the work is over for a while (the app idle), so that the speed-up
/// during work does not hold up to 256 MiB per arena while nothing runs. Elsewhere than glibc,
/// nothing.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages to the kernel; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
