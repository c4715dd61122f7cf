//! The CPU's vector width, detected once. The crate is built for baseline x86-64; its hot
//! loops (the Winograd transforms and GEMMs, SSIM) are compiled again for AVX2 and AVX-512 and
//! chosen here at run time, as the GEMM crate does for its own kernels.

/// The widest instruction set the kernels may use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Simd {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Base,
}

pub(crate) fn simd() -> Simd {
    static S: std::sync::OnceLock<Simd> = std::sync::OnceLock::new();
    *S.get_or_init(|| {
        // RESCALE_LAB_SIMD=avx2 or base runs the slower paths on a CPU that has more, to measure
        // and test them.
        let cap = std::env::var("RESCALE_LAB_SIMD").unwrap_or_default();
        if cap == "base" {
            return Simd::Base;
        }
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") && cap != "avx2" {
                return Simd::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                return Simd::Avx2;
            }
        }
        Simd::Base
    })
}
