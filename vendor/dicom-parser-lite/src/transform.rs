//! Stored values to display bytes: the Modality LUT (rescale or table) then the VOI LUT (window
//! or table), exactly as PS3.3 C.11.2.1.2 defines them, through a lookup table for 8- and
//! 16-bit data; colour frames through [`crate::color`]. Enhanced multi-frame images keep these
//! attributes in functional groups: [`ModalityLut::for_frame`] and [`Window::for_frame`] look at
//! the top level, then the frame's Per-frame Functional Groups item, then the Shared one.

use crate::lut::{Lut, Palette};
use crate::pixel::{Frame, Photometric, Samples};
use crate::{color, tags, DataSet, Error, Tag};

#[cfg(any(test, all(target_arch = "wasm32", target_feature = "simd128")))]
mod window;

/// The data sets that may hold a frame's attribute, in lookup order: the top level, the
/// frame's item of the Per-frame Functional Groups, the Shared Functional Groups item, each
/// through the functional group macro `group` (first item).
/// Where frame `frame`'s attributes of a functional `group` (e.g. Pixel Measures) may be: the
/// top level, then the frame's own functional group, then the shared one.
pub fn frame_sources<'s, 'a>(ds: &'s DataSet<'a>, frame: usize, group: Tag) -> impl Iterator<Item = &'s DataSet<'a>> {
    let per_frame = ds.items(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).and_then(|items| items.get(frame));
    let shared = ds.items(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE).and_then(|items| items.first());
    std::iter::once(ds).chain([per_frame, shared].into_iter().flatten().filter_map(move |g| g.items(group).and_then(|i| i.first())))
}

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
    /// Rescale Slope / Intercept for the first frame (see [`ModalityLut::for_frame`]).
    /// A Modality LUT Sequence is not a rescale: see [`Modality`].
    pub fn from_dataset(ds: &DataSet) -> ModalityLut {
        ModalityLut::for_frame(ds, 0)
    }

    /// Rescale Slope / Intercept from the first place that has either (top level, Pixel Value
    /// Transformation in the frame's functional group, then in the shared one), defaulting to
    /// the identity (1 / 0) when absent or unreadable.
    pub fn for_frame(ds: &DataSet, frame: usize) -> ModalityLut {
        let source = frame_sources(ds, frame, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE)
            .find(|d| d.get(tags::RESCALE_SLOPE).is_some() || d.get(tags::RESCALE_INTERCEPT).is_some());
        match source {
            Some(d) => {
                ModalityLut { slope: d.f64(tags::RESCALE_SLOPE).unwrap_or(1.0), intercept: d.f64(tags::RESCALE_INTERCEPT).unwrap_or(0.0) }
            }
            None => ModalityLut::default(),
        }
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
        Window::for_frame(ds, 0)
    }

    /// As [`Window::from_dataset`], for frame `frame` (0-based), looking at the top level, then
    /// the Frame VOI LUT functional group of the frame, then the shared one.
    pub fn for_frame(ds: &DataSet, frame: usize) -> Option<Window> {
        Window::lenient(ds, frame).filter(|w| w.width > 0.0)
    }

    /// The first Window Center / Width pair found, whatever its width (LINEAR reads a width
    /// below 1 as 1).
    fn lenient(ds: &DataSet, frame: usize) -> Option<Window> {
        let d = frame_sources(ds, frame, tags::FRAME_VOI_LUT_SEQUENCE)
            .find(|d| d.get(tags::WINDOW_CENTER).is_some() && d.get(tags::WINDOW_WIDTH).is_some())?;
        let center = d.f64(tags::WINDOW_CENTER).filter(|v| v.is_finite())?;
        let width = d.f64(tags::WINDOW_WIDTH).filter(|v| v.is_finite())?;
        let function = match d.string(tags::VOI_LUT_FUNCTION).as_deref().map(str::trim) {
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
            VoiFunction::Linear => return LinearVoi::new(c, w).apply(m),
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

/// The LINEAR function of PS3.3 C.11.2.1.2.1 with its constants worked out once: the one
/// definition, which [`Window::apply`] evaluates and the SIMD proof (`window.rs`) asks through
/// `LinearReaches`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinearVoi {
    lower: f64,
    upper: f64,
    c5: f64,
    d: f64,
}

/// Where a modality value falls in a LINEAR window.
enum Side {
    Below,
    Above,
    /// Inside, at `q = (m − (c − 0.5))/(w − 1)`: the level is [`level`]`(q)`.
    Inside(f64),
}

impl LinearVoi {
    pub(crate) fn new(center: f64, width: f64) -> LinearVoi {
        let (c, w) = (center, if width < 1.0 { 1.0 } else { width });
        LinearVoi { lower: c - 0.5 - (w - 1.0) / 2.0, upper: c - 0.5 + (w - 1.0) / 2.0, c5: c - 0.5, d: w - 1.0 }
    }

    #[inline(always)]
    fn side(&self, m: f64) -> Side {
        if m <= self.lower {
            Side::Below
        } else if m > self.upper {
            Side::Above
        } else {
            // Here w > 1: with w == 1 the two thresholds coincide and cover every m.
            Side::Inside((m - self.c5) / self.d)
        }
    }

    pub(crate) fn apply(&self, m: f64) -> u8 {
        match self.side(m) {
            Side::Below => 0,
            Side::Above => 255,
            Side::Inside(q) => level(q),
        }
    }

    /// Whether `apply(m) ≥ k` (`k` in 0..=256), without the rounding: `level` is monotone in `q`
    /// (every step of it a monotone IEEE operation, a floor or a clamp), so it reaches `k`
    /// exactly from `thresholds[k]` ([`level_thresholds`]) on. The same `q` as `apply`, bit for
    /// bit.
    #[cfg(any(test, all(target_arch = "wasm32", target_feature = "simd128")))]
    #[inline(always)]
    fn reaches(&self, m: f64, k: usize, thresholds: &[f64; 257]) -> bool {
        match self.side(m) {
            Side::Below => k == 0,
            Side::Above => k <= 255,
            Side::Inside(q) => thresholds.get(k).is_some_and(|&t| q >= t),
        }
    }
}

/// A question the SIMD proof asks of the formula: is the gray level of stored value `v` at
/// least `k` (`k` in 1..=255)? Closures answer it too (tests ask wrong formulas).
#[cfg(any(test, all(target_arch = "wasm32", target_feature = "simd128")))]
pub(crate) trait Reaches: Copy {
    fn reaches(&self, v: i32, k: u8) -> bool;
}

#[cfg(any(test, all(target_arch = "wasm32", target_feature = "simd128")))]
impl<F: Fn(i32, u8) -> bool + Copy> Reaches for F {
    #[inline(always)]
    fn reaches(&self, v: i32, k: u8) -> bool {
        self(v, k)
    }
}

/// For a LINEAR window: [`Reaches`] for its gray level (`window.apply` on `modality.apply`,
/// inverted for MONOCHROME1), what the renderer gives the proof. A type of its own, not a
/// closure, so the proof's ~510 questions are inlined into it.
#[cfg(any(test, all(target_arch = "wasm32", target_feature = "simd128")))]
#[derive(Clone, Copy)]
pub(crate) struct LinearReaches {
    modality: ModalityLut,
    voi: LinearVoi,
    thresholds: &'static [f64; 257],
    monochrome1: bool,
}

#[cfg(any(test, all(target_arch = "wasm32", target_feature = "simd128")))]
impl LinearReaches {
    pub(crate) fn new(modality: &ModalityLut, window: &Window, monochrome1: bool) -> LinearReaches {
        LinearReaches { modality: *modality, voi: LinearVoi::new(window.center, window.width), thresholds: level_thresholds(), monochrome1 }
    }
}

#[cfg(any(test, all(target_arch = "wasm32", target_feature = "simd128")))]
impl Reaches for LinearReaches {
    /// Inverted, `255 − g ≥ k` is `g < 256 − k`: the level asked and the answer both flip (no
    /// branch on MONOCHROME1 per question).
    #[inline(always)]
    fn reaches(&self, v: i32, k: u8) -> bool {
        let m = self.modality.apply(f64::from(v));
        let k = if self.monochrome1 { 256 - usize::from(k) } else { usize::from(k) };
        self.voi.reaches(m, k, self.thresholds) != self.monochrome1
    }
}

/// The gray level at `q` inside a LINEAR window: `floor((q + 0.5)·255 + 0.5)`, clamped.
#[inline(always)]
fn level(q: f64) -> u8 {
    round_gray((q + 0.5) * 255.0)
}

/// For each level `k` in 1..=255, the least f64 `q` with `level(q) ≥ k` (entry 0: −∞, every q
/// reaches 0; entry 256: +∞, none reaches 256), found once by bisection over the f64 values of
/// −1..=1 in their total order (`level(−1)` is 0 and `level(1)` is 255).
#[cfg(any(test, all(target_arch = "wasm32", target_feature = "simd128")))]
fn level_thresholds() -> &'static [f64; 257] {
    static THRESHOLDS: std::sync::OnceLock<[f64; 257]> = std::sync::OnceLock::new();
    THRESHOLDS.get_or_init(|| {
        // f64 → i64 keeping the order of f64::total_cmp, and back (the map is its own inverse).
        let key = |x: f64| {
            let b = x.to_bits() as i64;
            b ^ (((b >> 63) as u64) >> 1) as i64
        };
        let value = |k: i64| f64::from_bits((k ^ (((k >> 63) as u64) >> 1) as i64) as u64);
        let mut table = [f64::NEG_INFINITY; 257];
        table[256] = f64::INFINITY;
        for (k, entry) in table.iter_mut().enumerate().take(256).skip(1) {
            // level(value(lo)) < k ≤ level(value(hi)).
            let (mut lo, mut hi) = (key(-1.0), key(1.0));
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if usize::from(level(value(mid))) >= k {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            *entry = value(hi);
        }
        table
    })
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

/// How a gray level `g` is laid out as an RGBA pixel (the byte order of a canvas `ImageData`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RgbaLayout {
    /// `[g, g, g, 255]`: the pixel itself, for anything that reads or encodes the pixels.
    Opaque,
    /// `[255, 255, 255, g]`: white, with the level as its coverage (alpha). Composited over black
    /// (`g·white + (1 − g)·black`) it is exactly `g`, also in premultiplied 8-bit arithmetic:
    /// the layout cornerstone renders grayscale with, for a canvas on a black backdrop. Cheaper
    /// to write in SIMD: one OR per four pixels, where `Opaque` needs a byte shuffle.
    Coverage,
}

impl RgbaLayout {
    /// The pixel of gray level `g`.
    pub fn pixel(self, g: u8) -> [u8; 4] {
        match self {
            RgbaLayout::Opaque => [g, g, g, 255],
            RgbaLayout::Coverage => [255, 255, 255, g],
        }
    }
}

/// Renders a grayscale frame as opaque RGBA (r = g = b = gray, a = 255) into `out`, which must
/// hold exactly rows × columns × 4 bytes: the layout of a canvas `ImageData`, reused across
/// frames.
pub fn render_rgba_into(frame: &Frame, modality: &ModalityLut, window: &Window, monochrome1: bool, out: &mut [u8]) -> Result<(), Error> {
    render_rgba_in_range(frame, modality, window, monochrome1, value_range(frame), RgbaLayout::Opaque, out)
}

/// The smallest and largest stored value of a frame of at most 16 bits per sample (`None` for
/// 32-bit or empty data). Interactive window/level computes it once per frame and passes it to
/// [`render_rgba_in_range`] on every redraw, instead of scanning the pixels each time.
pub fn value_range(frame: &Frame) -> Option<(i32, i32)> {
    fn range<T: Copy + Into<i32>>(s: &[T]) -> Option<(i32, i32)> {
        let (lo, hi) = s.iter().fold((i32::MAX, i32::MIN), |(lo, hi), &v| {
            let v: i32 = v.into();
            (lo.min(v), hi.max(v))
        });
        (lo <= hi).then_some((lo, hi))
    }
    match &frame.samples {
        Samples::U8(s) => range(s),
        Samples::I8(s) => range(s),
        Samples::U16(s) => lanes::u16_range(s).map_or_else(|| range(s), |(lo, hi)| merged((lo, hi), range(lanes::tail(s)))),
        Samples::I16(s) => lanes::i16_range(s).map_or_else(|| range(s), |(lo, hi)| merged((lo, hi), range(lanes::tail(s)))),
        Samples::U32(_) | Samples::I32(_) => None,
    }
}

/// Two ranges as one.
fn merged((lo, hi): (i32, i32), other: Option<(i32, i32)>) -> Option<(i32, i32)> {
    Some(other.map_or((lo, hi), |(l, h)| (lo.min(l), hi.max(h))))
}

/// The 16-bit range eight samples a step in WebAssembly SIMD: the size-optimised link-time build
/// vectorises no loop, and the scalar fold was a tenth of a streamed CT open's main thread.
/// Exact (integer min and max). Each returns the range of the whole 8-sample steps (`None` when
/// there is none); [`lanes::tail`] is what they left.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod lanes {
    use core::arch::wasm32::*;

    pub(super) fn tail<T>(s: &[T]) -> &[T] {
        &s[s.len() - s.len() % 8..]
    }

    /// The lanes' smallest of `lo` and largest of `hi`.
    fn reduced(lo: [i32; 8], hi: [i32; 8]) -> (i32, i32) {
        (lo.into_iter().min().unwrap_or(i32::MAX), hi.into_iter().max().unwrap_or(i32::MIN))
    }

    pub(super) fn u16_range(s: &[u16]) -> Option<(i32, i32)> {
        let chunks = s.as_chunks::<8>().0;
        let first = bytemuck::cast::<[u16; 8], v128>(*chunks.first()?);
        let (mut lo, mut hi) = (first, first);
        for c in &chunks[1..] {
            let v = bytemuck::cast::<[u16; 8], v128>(*c);
            (lo, hi) = (u16x8_min(lo, v), u16x8_max(hi, v));
        }
        let lanes = |v: v128| bytemuck::cast::<v128, [u16; 8]>(v).map(i32::from);
        Some(reduced(lanes(lo), lanes(hi)))
    }

    pub(super) fn i16_range(s: &[i16]) -> Option<(i32, i32)> {
        let chunks = s.as_chunks::<8>().0;
        let first = bytemuck::cast::<[i16; 8], v128>(*chunks.first()?);
        let (mut lo, mut hi) = (first, first);
        for c in &chunks[1..] {
            let v = bytemuck::cast::<[i16; 8], v128>(*c);
            (lo, hi) = (i16x8_min(lo, v), i16x8_max(hi, v));
        }
        let lanes = |v: v128| bytemuck::cast::<v128, [i16; 8]>(v).map(i32::from);
        Some(reduced(lanes(lo), lanes(hi)))
    }
}

/// Elsewhere the scalar fold takes every sample.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod lanes {
    pub(super) fn tail<T>(s: &[T]) -> &[T] {
        s
    }

    pub(super) fn u16_range(_: &[u16]) -> Option<(i32, i32)> {
        None
    }

    pub(super) fn i16_range(_: &[i16]) -> Option<(i32, i32)> {
        None
    }
}

/// [`render_rgba_into`] with the frame's [`value_range`] known, in either [`RgbaLayout`]. In
/// WebAssembly with `simd128`, a
/// LINEAR window on 16-bit data runs as integer (else f32) SIMD lanes once proven, for that window, to give the
/// formula's level on every 16-bit value (`window`; the last plan is kept, so redraws with an
/// unchanged window and rescale skip the proof). Otherwise values of at most 16 bits go
/// through a table of packed RGBA pixels over the range (one table entry per possible value, each
/// computed by the standard's formula), then one 4-byte store per pixel. A value outside `range`
/// (a stale range) is computed by the formula, so the output is exact whatever the range.
pub fn render_rgba_in_range(
    frame: &Frame,
    modality: &ModalityLut,
    window: &Window,
    monochrome1: bool,
    range: Option<(i32, i32)>,
    layout: RgbaLayout,
    out: &mut [u8],
) -> Result<(), Error> {
    let pixels = gray_pixels(frame)?;
    let expected = pixels.checked_mul(4).ok_or(Error::OutputSize { expected: usize::MAX, actual: out.len() })?;
    if out.len() != expected {
        return Err(Error::OutputSize { expected, actual: out.len() });
    }
    check_window(window)?;
    let gray = |stored: i32| {
        let v = window.apply(modality.apply(f64::from(stored)));
        if monochrome1 {
            255 - v
        } else {
            v
        }
    };

    let pack = |g: u8| u32::from_le_bytes(layout.pixel(g));
    // Per-value formula: 32-bit data, or no usable range.
    let per_value = |out: &mut [u8]| {
        let mut chunks = out.chunks_exact_mut(4);
        for_each_gray(frame, modality, window, monochrome1, |_, v| {
            if let Some(px) = chunks.next() {
                px.copy_from_slice(&layout.pixel(v));
            }
        })
    };
    // LINEAR windows on 16-bit data: integer or f32 SIMD lanes, proven equal to the formula for
    // this window on every 16-bit value before use (see `window`).
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        let plan =
            |unsigned| window::Plan::cached(modality, window, monochrome1, unsigned, LinearReaches::new(modality, window, monochrome1));
        let done = match &frame.samples {
            Samples::I16(s) => plan(false).is_some_and(|plan| plan.render_simd(s, layout, out)),
            Samples::U16(s) => plan(true).is_some_and(|plan| plan.render_simd(s, layout, out)),
            _ => false,
        };
        if done {
            return Ok(());
        }
    }
    let Some((min, max)) = range.filter(|(lo, hi)| lo <= hi && i64::from(*hi) - i64::from(*lo) < 1 << 17) else {
        return per_value(out);
    };
    let table: Vec<u32> = (min..=max).map(|v| pack(gray(v))).collect();
    fn fill<T: Copy + Into<i32>>(samples: &[T], min: i32, table: &[u32], out: &mut [u8], slow: impl Fn(i32) -> u32) {
        for (px, &v) in out.chunks_exact_mut(4).zip(samples) {
            let v: i32 = v.into();
            let rgba = match usize::try_from(v.wrapping_sub(min)).ok().and_then(|k| table.get(k)) {
                Some(&packed) => packed,
                None => slow(v),
            };
            px.copy_from_slice(&rgba.to_le_bytes());
        }
    }
    let slow = |v: i32| pack(gray(v));
    match &frame.samples {
        Samples::U8(s) => fill(s, min, &table, out, slow),
        Samples::I8(s) => fill(s, min, &table, out, slow),
        Samples::U16(s) => fill(s, min, &table, out, slow),
        Samples::I16(s) => fill(s, min, &table, out, slow),
        Samples::U32(_) | Samples::I32(_) => return per_value(out),
    }
    Ok(())
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
    put: impl FnMut(usize, u8),
) -> Result<(), Error> {
    check_window(window)?;
    for_each_mapped(frame, |stored| window.apply(modality.apply(stored)), monochrome1, put);
    Ok(())
}

fn check_window(window: &Window) -> Result<(), Error> {
    if !(window.center.is_finite() && window.width.is_finite()) {
        return Err(Error::InvalidAttribute { name: "window", value: format!("center {} width {}", window.center, window.width) });
    }
    Ok(())
}

/// [`for_each_gray`] for any stored-value-to-gray mapping.
fn for_each_mapped(frame: &Frame, map: impl Fn(f64) -> u8, monochrome1: bool, mut put: impl FnMut(usize, u8)) {
    let gray = |stored: f64| {
        let v = map(stored);
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

/// The Modality LUT in either form (PS3.3 C.11.1): a rescale, or a table from the Modality LUT
/// Sequence (0028,3000), which takes precedence.
#[derive(Debug, Clone, PartialEq)]
pub enum Modality {
    Rescale(ModalityLut),
    Table(Lut),
}

impl Modality {
    /// The Modality LUT Sequence's first item if it holds a usable table, else the rescale of
    /// [`ModalityLut::for_frame`] (a damaged table is ignored rather than blanking the image).
    pub fn for_frame(ds: &DataSet, frame: usize) -> Modality {
        let signed = ds.u32(tags::PIXEL_REPRESENTATION) == Some(1);
        match ds.items(tags::MODALITY_LUT_SEQUENCE).and_then(|i| i.first()).map(|item| Lut::from_item(item, signed)) {
            Some(Ok(lut)) => Modality::Table(lut),
            _ => Modality::Rescale(ModalityLut::for_frame(ds, frame)),
        }
    }

    pub fn apply(&self, stored: f64) -> f64 {
        match self {
            Modality::Rescale(r) => r.apply(stored),
            Modality::Table(lut) => f64::from(lut.lookup(stored.round() as i64)),
        }
    }
}

/// The VOI transform in either form (PS3.3 C.11.2): a window, or a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Voi {
    Window(Window),
    /// A VOI LUT Sequence (0028,3010) table, its output scaled to 0..=255.
    Table(Lut),
}

impl Voi {
    /// The first VOI LUT Sequence item's table, if any and usable. Which of a window and a
    /// table to show is the viewer's choice; the standard offers both.
    pub fn table(ds: &DataSet) -> Option<Voi> {
        let signed = ds.u32(tags::PIXEL_REPRESENTATION) == Some(1);
        let item = ds.items(tags::VOI_LUT_SEQUENCE)?.first()?;
        Lut::from_item(item, signed).ok().map(Voi::Table)
    }

    pub fn apply(&self, m: f64) -> u8 {
        match self {
            Voi::Window(w) => w.apply(m),
            Voi::Table(lut) => table_gray(lut, m),
        }
    }
}

/// The gray level of modality value `m` through a VOI LUT table (PS3.3 C.11.2.1.1): `m`
/// rounded to the nearest integer, looked up with inputs below the first mapped value taking
/// the first entry and inputs past the last the last, the entry's range 0..2^n − 1 scaled to
/// 0..=255.
pub fn table_gray(lut: &Lut, m: f64) -> u8 {
    round_gray(f64::from(lut.lookup((m + 0.5).floor() as i64)) * 255.0 / lut.max_output())
}

/// Renders a grayscale frame as RGBA in `layout` through a VOI LUT table (PS3.3 C.11.2.1.1):
/// each stored value through `modality`, rounded to the nearest integer, looked up (below the
/// first mapped value the first entry, past the last the last), and the entry's range
/// 0..2^n − 1 scaled to 0..=255. `out` must hold rows × columns × 4 bytes.
pub fn render_rgba_table(
    frame: &Frame,
    modality: &ModalityLut,
    table: &Lut,
    monochrome1: bool,
    layout: RgbaLayout,
    out: &mut [u8],
) -> Result<(), Error> {
    let pixels = gray_pixels(frame)?;
    let expected = pixels.checked_mul(4).ok_or(Error::OutputSize { expected: usize::MAX, actual: out.len() })?;
    if out.len() != expected {
        return Err(Error::OutputSize { expected, actual: out.len() });
    }
    let mut chunks = out.chunks_exact_mut(4);
    for_each_mapped(
        frame,
        |stored| table_gray(table, modality.apply(stored)),
        monochrome1,
        |_, g| {
            if let Some(px) = chunks.next() {
                px.copy_from_slice(&layout.pixel(g));
            }
        },
    );
    Ok(())
}

/// Renders a grayscale frame to one byte per pixel with any Modality and VOI transform.
pub fn render_gray8_with(frame: &Frame, modality: &Modality, voi: &Voi, monochrome1: bool) -> Result<Vec<u8>, Error> {
    if let Voi::Window(w) = voi {
        check_window(w)?;
    }
    let mut out = vec![0u8; gray_pixels(frame)?];
    for_each_mapped(
        frame,
        |stored| voi.apply(modality.apply(stored)),
        monochrome1,
        |i, v| {
            if let Some(o) = out.get_mut(i) {
                *o = v;
            }
        },
    );
    Ok(out)
}

/// A frame rendered for display: `channels` bytes per pixel (1 gray, 3 RGB), row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub channels: u8,
    pub pixels: Vec<u8>,
}

/// Renders frame `index` of a data set with the header's own choices, the reference rendering
/// of the `dicom-lite` tool. Grayscale: the Modality LUT ([`Modality::for_frame`]), then the
/// first window ([`Window::for_frame`], a width below 1 read as 1) or, without one, a LINEAR
/// window spanning the frame's modality values; MONOCHROME1 inverted. Colour: RGB with each
/// sample scaled from Bits Stored to 8 bits ([`color::render_rgb8`], [`color::render_palette8`]).
pub fn render_default(ds: &DataSet, frame: &Frame, index: usize) -> Result<Rendered, Error> {
    let photometric = &frame.info.photometric;
    if photometric.is_monochrome() {
        let modality = Modality::for_frame(ds, index);
        let window = match Window::lenient(ds, index) {
            Some(w) => w,
            None => {
                let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
                for i in 0..frame.samples.len() {
                    let m = modality.apply(frame.samples.get_f64(i).unwrap_or(0.0));
                    min = min.min(m);
                    max = max.max(m);
                }
                if min > max {
                    (min, max) = (0.0, 0.0);
                }
                Window::from_min_max(min, max)
            }
        };
        let pixels = render_gray8_with(frame, &modality, &Voi::Window(window), *photometric == Photometric::Monochrome1)?;
        return Ok(Rendered { channels: 1, pixels });
    }
    let pixels = match photometric {
        Photometric::PaletteColor => color::render_palette8(frame, &Palette::from_dataset(ds)?)?,
        _ => color::render_rgb8(frame)?,
    };
    Ok(Rendered { channels: 3, pixels })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each threshold is where `level` first reaches its level: there it does, and at the f64
    /// just below it does not; the thresholds rise with the level.
    #[test]
    fn level_thresholds_are_the_first_q_of_each_level() {
        let t = level_thresholds();
        for k in 1..=255usize {
            let below = f64::from_bits(if t[k] > 0.0 {
                t[k].to_bits() - 1
            } else if t[k] == 0.0 {
                (-0.0f64).to_bits() + 1
            } else {
                t[k].to_bits() + 1
            });
            assert!(usize::from(level(t[k])) >= k, "k {k} at {}", t[k]);
            assert!(usize::from(level(below)) < k, "k {k} below {below}");
            assert!(k == 1 || t[k] > t[k - 1]);
        }
        assert_eq!((level(-0.5), level(0.5)), (0, 255));
    }
}
