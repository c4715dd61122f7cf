//! Compute device for the networks, through the engine's `select_device`. A device that is not
//! available (no CUDA build, no GPU) is an error shown in the window; work goes on on the CPU.

use candle_core::Device;

use super::settings::DeviceChoice;

/// Whether this build can even try the device (the CUDA/Metal backends are cargo features).
pub fn compiled_in(choice: DeviceChoice) -> bool {
    match choice {
        DeviceChoice::Cpu => true,
        DeviceChoice::Cuda => candle_core::utils::cuda_is_available(),
        DeviceChoice::Metal => candle_core::utils::metal_is_available(),
    }
}

/// The device, and the message to show when the choice fell back to the CPU.
pub fn open(choice: DeviceChoice) -> (Device, Option<String>) {
    let spec = match choice {
        DeviceChoice::Cpu => "cpu",
        DeviceChoice::Cuda => "cuda",
        DeviceChoice::Metal => "metal",
    };
    let (device, message) = crate::device::select_device(spec);
    (device, message.map(|m| format!("{}: {m}", choice.label())))
}

pub fn describe(device: &Device) -> String {
    crate::device::device_name(device)
}
