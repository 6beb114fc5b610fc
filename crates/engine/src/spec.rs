//! The value types a recipe is made of and that edits use too: the resize and its geometry,
//! the resampling filter, a colour, and the error of a value that cannot be read. Below both
//! `recipe` (which re-exports them) and `edit`, so neither has to import the other's parent.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How the output size is derived from the source size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResizeSpec {
    /// Fit inside a `w`×`h` box, aspect kept.
    Fit(u32, u32),
    /// Cover a `w`×`h` box, then crop the centre to exactly `w`×`h`.
    Fill(u32, u32),
    /// Stretch to exactly `w`×`h`.
    Exact(u32, u32),
    /// Scale both sides by a percentage.
    Scale(u32),
    /// Longest edge becomes N pixels.
    Long(u32),
    /// Shortest edge becomes N pixels.
    Short(u32),
    /// Width becomes N pixels, aspect kept.
    Width(u32),
    /// Height becomes N pixels, aspect kept.
    Height(u32),
}

/// The geometry a resize produces: the size the whole image is scaled to, and the centred crop
/// taken from it (equal to the scaled size unless the spec is `fill`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Size the source is scaled to.
    pub scaled: (u32, u32),
    /// Final output size, a centred crop of `scaled`.
    pub output: (u32, u32),
}

/// Rounds a scaled side the way ImageMagick and libvips do: to nearest, never below 1.
fn scaled_side(side: u32, factor: f64) -> u32 {
    ((f64::from(side) * factor).round() as u32).max(1)
}

impl ResizeSpec {
    /// Computes the output geometry for a `w`×`h` source. Without `allow_upscale` no side grows.
    pub fn geometry(self, w: u32, h: u32, allow_upscale: bool) -> Geometry {
        let (wf, hf) = (f64::from(w.max(1)), f64::from(h.max(1)));
        let cap = |f: f64| if allow_upscale { f } else { f.min(1.0) };
        let uniform = |f: f64| {
            let f = cap(f);
            let s = (scaled_side(w, f), scaled_side(h, f));
            Geometry {
                scaled: s,
                output: s,
            }
        };
        match self {
            ResizeSpec::Fit(bw, bh) => uniform((f64::from(bw) / wf).min(f64::from(bh) / hf)),
            ResizeSpec::Fill(bw, bh) => {
                let f = cap((f64::from(bw) / wf).max(f64::from(bh) / hf));
                let scaled = (scaled_side(w, f), scaled_side(h, f));
                let output = (bw.min(scaled.0).max(1), bh.min(scaled.1).max(1));
                Geometry { scaled, output }
            }
            ResizeSpec::Exact(bw, bh) => {
                let s = if allow_upscale {
                    (bw.max(1), bh.max(1))
                } else {
                    (bw.min(w).max(1), bh.min(h).max(1))
                };
                Geometry {
                    scaled: s,
                    output: s,
                }
            }
            ResizeSpec::Scale(pct) => uniform(f64::from(pct) / 100.0),
            ResizeSpec::Long(n) => uniform(f64::from(n) / wf.max(hf)),
            ResizeSpec::Short(n) => uniform(f64::from(n) / wf.min(hf)),
            ResizeSpec::Width(n) => uniform(f64::from(n) / wf),
            ResizeSpec::Height(n) => uniform(f64::from(n) / hf),
        }
    }
}

/// Why a textual recipe option could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn parse_box(s: &str) -> Option<(u32, u32)> {
    let (w, h) = s.split_once(['x', 'X'])?;
    let (w, h) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    (w > 0 && h > 0).then_some((w, h))
}

fn parse_positive(s: &str) -> Option<u32> {
    s.trim()
        .trim_end_matches('%')
        .parse()
        .ok()
        .filter(|&n| n > 0)
}

impl FromStr for ResizeSpec {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            ParseError(format!(
                "'{s}' is not a resize spec; use fit:WxH, fill:WxH, exact:WxH, scale:N%, \
                 long:N, short:N, width:N or height:N"
            ))
        };
        let (mode, arg) = s.split_once(':').ok_or_else(bad)?;
        let spec = match mode.trim().to_ascii_lowercase().as_str() {
            "fit" => parse_box(arg).map(|(w, h)| ResizeSpec::Fit(w, h)),
            "fill" => parse_box(arg).map(|(w, h)| ResizeSpec::Fill(w, h)),
            "exact" => parse_box(arg).map(|(w, h)| ResizeSpec::Exact(w, h)),
            "scale" => parse_positive(arg).map(ResizeSpec::Scale),
            "long" => parse_positive(arg).map(ResizeSpec::Long),
            "short" => parse_positive(arg).map(ResizeSpec::Short),
            "width" => parse_positive(arg).map(ResizeSpec::Width),
            "height" => parse_positive(arg).map(ResizeSpec::Height),
            _ => None,
        };
        spec.ok_or_else(bad)
    }
}

impl fmt::Display for ResizeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ResizeSpec::Fit(w, h) => write!(f, "fit:{w}x{h}"),
            ResizeSpec::Fill(w, h) => write!(f, "fill:{w}x{h}"),
            ResizeSpec::Exact(w, h) => write!(f, "exact:{w}x{h}"),
            ResizeSpec::Scale(p) => write!(f, "scale:{p}%"),
            ResizeSpec::Long(n) => write!(f, "long:{n}"),
            ResizeSpec::Short(n) => write!(f, "short:{n}"),
            ResizeSpec::Width(n) => write!(f, "width:{n}"),
            ResizeSpec::Height(n) => write!(f, "height:{n}"),
        }
    }
}

/// Declares a simple enum parsed from and printed as fixed lower-case names.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in the order shown to users.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name used on the command line and in reports.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Every value's name, in the order shown to users.
            pub fn names() -> Vec<&'static str> {
                vec![$($text),+]
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let lower = s.trim().to_ascii_lowercase();
                $(if lower == $text { return Ok($name::$variant); })+
                let names: Vec<&str> = vec![$($text),+];
                Err(ParseError(format!("'{s}' is not one of {}", names.join(", "))))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

pub(crate) use named_enum;

named_enum!(
    /// The resampling filter used when resizing.
    Filter {
        /// Sharpest; the default.
        Lanczos3 => "lanczos3",
        /// Bicubic Catmull-Rom: a little softer, a little faster.
        CatmullRom => "catmull-rom",
        /// Bilinear: soft and fast.
        Bilinear => "bilinear",
        /// Nearest neighbour: blocky, for pixel art.
        Nearest => "nearest",
    }
);

/// An sRGB colour that transparency is flattened onto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rgb(pub [u8; 3]);

impl FromStr for Rgb {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s.trim().trim_start_matches('#');
        let bad = || ParseError(format!("'{s}' is not a colour; use #RRGGBB"));
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
        Ok(Rgb([byte(0)?, byte(2)?, byte(4)?]))
    }
}

impl Rgb {
    /// `rrggbb`, as options after a comma write a colour (`,color=ff0000`).
    pub fn hex(self) -> String {
        let [r, g, b] = self.0;
        format!("{r:02x}{g:02x}{b:02x}")
    }
}

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.hex())
    }
}
