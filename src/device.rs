//! Choosing where the networks run. CPU always works; CUDA and Metal only in builds with the
//! `cuda` / `metal` features and on machines that have them, otherwise we fall back to the CPU and
//! say why, so a GUI or CLI can show the message instead of failing.

use candle_core::Device;

/// Parses `cpu`, `cuda`, `cuda:N`, `metal`, `metal:N` or `auto` (case-insensitive). Returns the
/// device and, when the request could not be honoured, a message explaining the fallback.
pub fn select_device(spec: &str) -> (Device, Option<String>) {
    let spec = spec.trim().to_ascii_lowercase();
    let (kind, ordinal) = match spec.split_once(':') {
        Some((kind, n)) => match n.parse::<usize>() {
            Ok(n) => (kind, n),
            Err(_) => {
                return (Device::Cpu, Some(format!("invalid device index in '{spec}'; using the CPU")));
            }
        },
        None => (spec.as_str(), 0),
    };
    match kind {
        "" | "cpu" => (Device::Cpu, None),
        "cuda" | "gpu" => cuda(ordinal),
        "metal" => metal(ordinal),
        "auto" => {
            if candle_core::utils::cuda_is_available() {
                if let (device, None) = cuda(ordinal) {
                    return (device, None);
                }
            }
            if candle_core::utils::metal_is_available() {
                if let (device, None) = metal(ordinal) {
                    return (device, None);
                }
            }
            (Device::Cpu, None)
        }
        other => (
            Device::Cpu,
            Some(format!("unknown device '{other}' (expected cpu, cuda, cuda:N or metal); using the CPU")),
        ),
    }
}

/// Checks the syntax of a device name without opening anything, for argument parsers: a
/// misspelt name is the user's mistake, an absent GPU is the machine's (and falls back).
pub fn check_spec(spec: &str) -> Result<(), String> {
    let spec = spec.trim().to_ascii_lowercase();
    let (kind, ordinal) = spec.split_once(':').map_or((spec.as_str(), None), |(k, n)| (k, Some(n)));
    let known = matches!(kind, "cpu" | "cuda" | "gpu" | "metal" | "auto");
    match ordinal {
        _ if !known => Err(format!("unknown device '{kind}' (expected cpu, cuda, cuda:N, metal or auto)")),
        Some(n) if n.parse::<usize>().is_err() || kind == "cpu" => {
            Err(format!("invalid device '{spec}' (expected cpu, cuda, cuda:N, metal or auto)"))
        }
        _ => Ok(()),
    }
}

/// A short human name: "CPU", "CUDA:0", "Metal".
pub fn device_name(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "CPU".to_string(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("CUDA:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("Metal:{gpu_id}"),
    }
}

fn cuda(ordinal: usize) -> (Device, Option<String>) {
    if !candle_core::utils::cuda_is_available() {
        return (
            Device::Cpu,
            Some("this build has no CUDA support (rebuild with --features cuda); using the CPU".to_string()),
        );
    }
    match Device::new_cuda(ordinal) {
        Ok(device) => (device, None),
        Err(e) => (Device::Cpu, Some(format!("CUDA device {ordinal} is not available ({e}); using the CPU"))),
    }
}

fn metal(ordinal: usize) -> (Device, Option<String>) {
    if !candle_core::utils::metal_is_available() {
        return (
            Device::Cpu,
            Some("this build has no Metal support (rebuild with --features metal); using the CPU".to_string()),
        );
    }
    match Device::new_metal(ordinal) {
        Ok(device) => (device, None),
        Err(e) => (Device::Cpu, Some(format!("Metal device {ordinal} is not available ({e}); using the CPU"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_needs_no_message() {
        for spec in ["cpu", " CPU ", ""] {
            let (device, message) = select_device(spec);
            assert!(device.is_cpu() && message.is_none(), "{spec}");
        }
    }

    #[test]
    fn bad_specs_fall_back_with_a_reason() {
        for (spec, needle) in [("tpu", "unknown device"), ("cuda:x", "invalid device index")] {
            let (device, message) = select_device(spec);
            assert!(device.is_cpu());
            assert!(message.unwrap().contains(needle), "{spec}");
        }
    }

    #[test]
    fn gpu_request_falls_back_when_unavailable() {
        let (device, message) = select_device("cuda:0");
        if !candle_core::utils::cuda_is_available() {
            assert!(device.is_cpu());
            assert!(message.unwrap().contains("no CUDA support"));
        }
        let (device, message) = select_device("metal");
        if !candle_core::utils::metal_is_available() {
            assert!(device.is_cpu());
            assert!(message.unwrap().contains("no Metal support"));
        }
    }
}
