//! The sample images shipped inside the binary, unpacked on demand so "Try the sample images"
//! works wherever the program runs.

use std::fs;
use std::path::PathBuf;

macro_rules! samples {
    ($($name:literal),+ $(,)?) => {
        /// Every bundled sample: file name and bytes.
        pub const SAMPLES: &[(&str, &[u8])] = &[
            $(($name, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/samples/", $name)))),+
        ];
    };
}

samples!(
    "dusk-hills.jpg",
    "rotated-portrait.jpg",
    "logo-transparent.png",
    "gradient-16bit.png",
    "mono-square.jpg",
    "tiles.bmp",
    "tall-scan.tiff",
    "badge.gif",
    "lake.webp",
    "pixel-art.qoi",
    "panorama.jpg",
    "tiny-icon.png",
    "LICENSE.txt",
);

/// Unpacks the samples into `conveyor-samples` in the temporary folder (rewriting any that
/// differ) and returns that folder. Conversions then land beside it, in
/// `conveyor-samples-converted`.
pub fn extract() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join("conveyor-samples");
    fs::create_dir_all(&dir)?;
    for (name, bytes) in SAMPLES {
        let path = dir.join(name);
        if fs::read(&path).ok().as_deref() != Some(*bytes) {
            fs::write(&path, bytes)?;
        }
    }
    Ok(dir)
}
