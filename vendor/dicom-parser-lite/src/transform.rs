//! Stored values to display bytes: the Modality LUT (rescale) then the VOI LUT (window), exactly
//! as PS3.3 C.11.2.1.2 defines them, through a lookup table for 8- and 16-bit data.

use crate::pixel::{Frame, Samples};
use crate::{tags, DataSet, Error};

/// The linear Modality LUT: `value = stored × slope + intercept` (e.g. CT stored values to HU).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModalityLut {
    pub slope: f64,
    pub intercept: f64,
}

impl Default for ModalityLut {
    fn default() -> Self {
        ModalityLut { slope: 1.0, intercept: 0.0 }
    }
}

impl ModalityLut {
    /// Rescale Slope / Intercept, defaulting to the identity (1 / 0) when absent or unreadable.
    /// A Modality LUT Sequence is not applied (yet).
    pub fn from_dataset(ds: &DataSet) -> ModalityLut {
        ModalityLut { slope: ds.f64(tags::RESCALE_SLOPE).unwrap_or(1.0), intercept: ds.f64(tags::RESCALE_INTERCEPT).unwrap_or(0.0) }
    }

    pub fn apply(&self, stored: f64) -> f64 {
        stored * self.slope + self.intercept
    }
}

/// VOI LUT Function (0028,1056).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VoiFunction {
    #[default]
    Linear,
    LinearExact,
    Sigmoid,
}

/// A VOI window: which modality values map onto the 256 gray levels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub center: f64,
    pub width: f64,
    pub function: VoiFunction,
}

impl Window {
    /// The header's first Window Center / Width with its VOI LUT Function (LINEAR when absent or
    /// unknown). `None` when either is missing or not a finite number, or the width is ≤ 0
    /// (non-conformant), so the caller falls back to its own default.
    pub fn from_dataset(ds: &DataSet) -> Option<Window> {
        let center = ds.f64(tags::WINDOW_CENTER).filter(|v| v.is_finite())?;
        let width = ds.f64(tags::WINDOW_WIDTH).filter(|v| v.is_finite() && *v > 0.0)?;
        let function = match ds.string(tags::VOI_LUT_FUNCTION).as_deref().map(str::trim) {
            Some("LINEAR_EXACT") => VoiFunction::LinearExact,
            Some("SIGMOID") => VoiFunction::Sigmoid,
            _ => VoiFunction::Linear,
        };
        Some(Window { center, width, function })
    }

    /// A LINEAR window spanning `min..=max`: min maps to 0 and max to 255.
    pub fn from_min_max(min: f64, max: f64) -> Window {
        Window { center: (min + max) / 2.0, width: (max - min).max(1.0), function: VoiFunction::Linear }
    }

    /// Maps one modality value to a gray level, per PS3.3 C.11.2.1.2 (output range 0..=255,
    /// rounding `floor(y + 0.5)`). This is the reference the lookup tables are built from.
    pub fn apply(&self, m: f64) -> u8 {
        let (c, w) = (self.center, self.width);
        let y = match self.function {
            VoiFunction::Linear => {
                let w = if w < 1.0 { 1.0 } else { w };
                if m <= c - 0.5 - (w - 1.0) / 2.0 {
                    return 0;
                }
                if m > c - 0.5 + (w - 1.0) / 2.0 {
                    return 255;
                }
                // Here w > 1: with w == 1 the two thresholds coincide and cover every m.
                ((m - (c - 0.5)) / (w - 1.0) + 0.5) * 255.0
            }
            VoiFunction::LinearExact => {
                // A width ≤ 0 is not allowed; its limit (a threshold at c) is the safe reading.
                if m <= c - w.max(0.0) / 2.0 {
                    return 0;
                }
                if m > c + w.max(0.0) / 2.0 {
                    return 255;
                }
                ((m - c) / w + 0.5) * 255.0
            }
            VoiFunction::Sigmoid => {
                if w <= 0.0 {
                    match m.partial_cmp(&c) {
                        Some(std::cmp::Ordering::Less) => 0.0,
                        Some(std::cmp::Ordering::Greater) => 255.0,
                        _ => 127.5,
                    }
                } else {
                    255.0 / (1.0 + (-4.0 * (m - c) / w).exp())
                }
            }
        };
        round_gray(y)
    }
}

/// `floor(y + 0.5)` clamped to 0..=255 (NaN maps to 0).
fn round_gray(y: f64) -> u8 {
    let r = (y + 0.5).floor();
    if r >= 255.0 {
        255
    } else if r > 0.0 {
        r as u8
    } else {
        0
    }
}

/// Renders a grayscale frame to one byte per pixel.
pub fn render_gray8(frame: &Frame, modality: &ModalityLut, window: &Window, monochrome1: bool) -> Result<Vec<u8>, Error> {
    let mut out = vec![0u8; gray_pixels(frame)?];
    for_each_gray(frame, modality, window, monochrome1, |i, v| {
        if let Some(o) = out.get_mut(i) {
            *o = v;
        }
    })?;
    Ok(out)
}

/// Renders a grayscale frame as RGBA (r = g = b = gray, a = 255) into `out`, which must hold
/// exactly rows × columns × 4 bytes: the layout of a canvas `ImageData`, reused across frames.
pub fn render_rgba_into(frame: &Frame, modality: &ModalityLut, window: &Window, monochrome1: bool, out: &mut [u8]) -> Result<(), Error> {
    let pixels = gray_pixels(frame)?;
    let expected = pixels.checked_mul(4).ok_or(Error::OutputSize { expected: usize::MAX, actual: out.len() })?;
    if out.len() != expected {
        return Err(Error::OutputSize { expected, actual: out.len() });
    }
    let mut chunks = out.chunks_exact_mut(4);
    for_each_gray(frame, modality, window, monochrome1, |_, v| {
        if let Some(px) = chunks.next() {
            px.copy_from_slice(&[v, v, v, 255]);
        }
    })
}

fn gray_pixels(frame: &Frame) -> Result<usize, Error> {
    let info = &frame.info;
    if info.samples_per_pixel != 1 {
        return Err(Error::UnsupportedImage(format!("{:?} pixels cannot be rendered as grayscale", info.photometric)));
    }
    let pixels = (info.rows as usize).saturating_mul(info.columns as usize);
    if frame.samples.len() != pixels {
        return Err(Error::PixelDataTooShort { expected: pixels, actual: frame.samples.len() });
    }
    Ok(pixels)
}

/// Calls `put(pixel index, gray)` for every pixel in order. 8/16-bit data goes through a table
/// built once over the frame's actual value range; 32-bit data is computed per pixel. Both use
/// [`Window::apply`] on [`ModalityLut::apply`], so they agree byte for byte.
fn for_each_gray(
    frame: &Frame,
    modality: &ModalityLut,
    window: &Window,
    monochrome1: bool,
    mut put: impl FnMut(usize, u8),
) -> Result<(), Error> {
    if !(window.center.is_finite() && window.width.is_finite()) {
        return Err(Error::InvalidAttribute { name: "window", value: format!("center {} width {}", window.center, window.width) });
    }
    let gray = |stored: f64| {
        let v = window.apply(modality.apply(stored));
        if monochrome1 {
            255 - v
        } else {
            v
        }
    };
    match &frame.samples {
        Samples::U8(s) => through_lut(s.iter().map(|&v| i32::from(v)), gray, &mut put),
        Samples::I8(s) => through_lut(s.iter().map(|&v| i32::from(v)), gray, &mut put),
        Samples::U16(s) => through_lut(s.iter().map(|&v| i32::from(v)), gray, &mut put),
        Samples::I16(s) => through_lut(s.iter().map(|&v| i32::from(v)), gray, &mut put),
        Samples::U32(s) => s.iter().enumerate().for_each(|(i, &v)| put(i, gray(f64::from(v)))),
        Samples::I32(s) => s.iter().enumerate().for_each(|(i, &v)| put(i, gray(f64::from(v)))),
    }
    Ok(())
}

/// Maps values of at most 16 bits through a table over `min..=max` of the values present.
fn through_lut<I>(values: I, gray: impl Fn(f64) -> u8, put: &mut impl FnMut(usize, u8))
where
    I: Iterator<Item = i32> + Clone,
{
    let (min, max) = values.clone().fold((i32::MAX, i32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if min > max {
        return; // no pixels
    }
    let lut: Vec<u8> = (min..=max).map(|v| gray(f64::from(v))).collect();
    for (i, v) in values.enumerate() {
        // In range by construction of min/max; the fallback only guards against a logic slip.
        let g = usize::try_from(v - min).ok().and_then(|k| lut.get(k).copied()).unwrap_or_else(|| gray(f64::from(v)));
        put(i, g);
    }
}
