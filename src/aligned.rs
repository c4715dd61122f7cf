//! Float buffers that start on a 64-byte cache line. The AVX-512 kernels load and store whole
//! 16-float registers at multiples of 16 floats into their buffers: from the allocator (16-byte
//! alignment) each of those accesses would straddle two lines.

use std::ops::{Deref, DerefMut};

/// `len` floats starting on a 64-byte boundary.
#[derive(Debug, Default)]
pub struct Aligned {
    buf: Vec<f32>,
    skew: usize,
    len: usize,
}

impl Aligned {
    pub fn zeros(len: usize) -> Self {
        let buf = vec![0f32; len + 15];
        let skew = buf.as_ptr().align_offset(64).min(15);
        Self { buf, skew, len }
    }

    pub fn from_slice(values: &[f32]) -> Self {
        let mut out = Self::zeros(values.len());
        out.copy_from_slice(values);
        out
    }

    /// At least `len` floats (a new, zeroed buffer when it is shorter; the contents are not
    /// kept).
    pub fn ensure_len(&mut self, len: usize) {
        if self.len < len {
            *self = Self::zeros(len);
        }
    }
}

// A derived Clone would copy into a new allocation with its own alignment.
impl Clone for Aligned {
    fn clone(&self) -> Self {
        Self::from_slice(self)
    }
}

impl Deref for Aligned {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.buf[self.skew..self.skew + self.len]
    }
}

impl DerefMut for Aligned {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.buf[self.skew..self.skew + self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_on_a_cache_line_and_clones_keep_it() {
        for len in [1usize, 17, 1000, 4099] {
            let a = Aligned::from_slice(&(0..len).map(|i| i as f32).collect::<Vec<_>>());
            let b = a.clone();
            for x in [&a, &b] {
                assert_eq!(x.as_ptr() as usize % 64, 0, "len {len}");
                assert_eq!(x.len(), len);
                assert_eq!(x[len - 1], (len - 1) as f32);
            }
        }
    }
}
