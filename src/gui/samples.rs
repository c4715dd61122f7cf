//! The CC0 sample photos shipped inside the binary (see `assets/LICENSES.md`), so a first run
//! shows a comparison without the user having to find an image, from any working directory.

pub struct Sample {
    pub name: &'static str,
    pub file_name: &'static str,
    pub bytes: &'static [u8],
}

pub const SAMPLES: &[Sample] = &[
    Sample {
        name: "Sunset by the pier",
        file_name: "sunset_pier.png",
        bytes: include_bytes!("../../assets/sunset_pier.png"),
    },
    Sample {
        name: "Spacecraft over Earth",
        file_name: "spacecraft_over_earth.png",
        bytes: include_bytes!("../../assets/spacecraft_over_earth.png"),
    },
    Sample {
        name: "Canyon",
        file_name: "canyon.png",
        bytes: include_bytes!("../../assets/canyon.png"),
    },
];

pub const LICENSES: &str = include_str!("../../assets/LICENSES.md");
