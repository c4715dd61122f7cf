//! Runs the desktop app with options the CLI does not expose, for screenshots:
//! `cargo run --release --example gui -- [--screenshot out.png] [--view grid|split|diff]
//!  [--chart] [--size 1600x1000] [--scale 2|4] [--codec none|jpeg|webp] [--quality N] [images…]`

use std::path::PathBuf;

use rescale_lab::gui::settings::{CodecFamily, Settings};
use rescale_lab::gui::{run_app, GuiOptions, ViewMode};

fn main() -> anyhow::Result<()> {
    let mut options = GuiOptions::default();
    let mut settings = Settings::default();
    let mut custom = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| anyhow::anyhow!("{arg} needs a value"));
        match arg.as_str() {
            "--screenshot" => options.screenshot = Some(PathBuf::from(value()?)),
            "--view" => options.view = ViewMode::parse(&value()?),
            "--chart" => options.show_chart = true,
            "--fresh" => options.fresh_settings = true,
            "--size" => {
                let v = value()?;
                let (w, h) = v.split_once('x').ok_or_else(|| anyhow::anyhow!("--size WxH"))?;
                options.window_size = Some((w.parse()?, h.parse()?));
            }
            "--scale" => {
                settings.scale = value()?.parse()?;
                custom = true;
            }
            "--quality" => {
                settings.quality = value()?.parse()?;
                custom = true;
            }
            "--codec" => {
                settings.codec = match value()?.as_str() {
                    "none" => CodecFamily::None,
                    "webp" => CodecFamily::Webp,
                    _ => CodecFamily::Jpeg,
                };
                custom = true;
            }
            other => options.images.push(PathBuf::from(other)),
        }
    }
    if custom {
        options.settings_override = Some(settings);
    }
    run_app(options)
}
