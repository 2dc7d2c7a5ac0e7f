//! Measurements in the patient's coordinates, never in screen pixels: length, angle, and
//! ellipse and rectangle regions with their statistics in modality units (HU for CT).
//!
//! Points are in image pixel coordinates: `x` along a row (columns), `y` down the rows, with
//! pixel (c, r) covering [c, c+1) × [r, r+1), so its centre is (c + 0.5, r + 0.5). Distances
//! scale `x` by the column spacing and `y` by the row spacing, so non-square pixels measure
//! right. The statistics come from the stored pixels after the Modality LUT, never from the
//! rendered 8-bit image.

use super::{DecodedImage, ImageHeader};
use serde::Serialize;

/// A point on the image, in pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// How image pixels become millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Calibration {
    /// Pixel Spacing: in the patient (mm between row centres, between column centres).
    #[serde(rename_all = "camelCase")]
    Patient { row_mm: f64, column_mm: f64 },
    /// Imager Pixel Spacing: at the detector, divided by the Estimated Radiographic
    /// Magnification Factor when the header gives one (then it is corrected to the patient).
    #[serde(rename_all = "camelCase")]
    Detector { row_mm: f64, column_mm: f64, magnification: Option<f64> },
    /// Neither: results are in pixels and say so.
    Uncalibrated,
}

impl Calibration {
    /// PixelSpacing, else ImagerPixelSpacing, else none.
    pub fn of(header: &ImageHeader) -> Calibration {
        let positive = |s: &[f64; 2]| s.iter().all(|v| v.is_finite() && *v > 0.0);
        if let Some([row, column]) = header.pixel_spacing.filter(positive) {
            return Calibration::Patient { row_mm: row, column_mm: column };
        }
        if let Some([row, column]) = header.imager_pixel_spacing.filter(positive) {
            let m = header.magnification;
            let f = m.unwrap_or(1.0);
            return Calibration::Detector { row_mm: row / f, column_mm: column / f, magnification: m };
        }
        Calibration::Uncalibrated
    }

    /// (column, row) size of a pixel in the unit of [`Calibration::length_unit`].
    fn scale(&self) -> (f64, f64) {
        match *self {
            Calibration::Patient { row_mm, column_mm } | Calibration::Detector { row_mm, column_mm, .. } => (column_mm, row_mm),
            Calibration::Uncalibrated => (1.0, 1.0),
        }
    }

    pub fn length_unit(&self) -> &'static str {
        match self {
            Calibration::Uncalibrated => "px",
            _ => "mm",
        }
    }

    pub fn area_unit(&self) -> &'static str {
        match self {
            Calibration::Uncalibrated => "px²",
            _ => "mm²",
        }
    }

    /// What a result must say besides its unit: "uncalibrated", or "detector" for spacing
    /// at the detector that no magnification factor corrected.
    pub fn caveat(&self) -> Option<&'static str> {
        match self {
            Calibration::Uncalibrated => Some("uncalibrated"),
            Calibration::Detector { magnification: None, .. } => Some("detector"),
            _ => None,
        }
    }

    /// The distance from `a` to `b`.
    pub fn distance(&self, a: Point, b: Point) -> f64 {
        let (sx, sy) = self.scale();
        ((b.x - a.x) * sx).hypot((b.y - a.y) * sy)
    }
}

/// The angle at `vertex` between the rays to `a` and `b`, in degrees (0–180), measured in
/// the patient's plane (pixels scaled to millimetres first).
pub fn angle_degrees(a: Point, vertex: Point, b: Point, calibration: &Calibration) -> Option<f64> {
    let (sx, sy) = calibration.scale();
    let (ux, uy) = ((a.x - vertex.x) * sx, (a.y - vertex.y) * sy);
    let (vx, vy) = ((b.x - vertex.x) * sx, (b.y - vertex.y) * sy);
    if ux.hypot(uy) == 0.0 || vx.hypot(vy) == 0.0 {
        return None;
    }
    Some((ux * vy - uy * vx).atan2(ux * vx + uy * vy).abs().to_degrees())
}

/// A region, by two opposite corners of its bounding box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RegionShape {
    Ellipse,
    Rectangle,
}

/// What a region holds: its area, and statistics of the modality values of the pixels whose
/// centres lie inside it (none for colour images or a region that holds no pixel centre).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionStats {
    pub area: f64,
    pub pixels: usize,
    pub mean: Option<f64>,
    /// Population standard deviation (the region is all the pixels there are).
    pub sd: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// Whether the pixel centre (`cx`, `cy`) lies in `shape` spanning `a`–`b`.
fn contains(shape: RegionShape, a: Point, b: Point, cx: f64, cy: f64) -> bool {
    let (x0, x1, y0, y1) = (a.x.min(b.x), a.x.max(b.x), a.y.min(b.y), a.y.max(b.y));
    match shape {
        RegionShape::Rectangle => (x0..=x1).contains(&cx) && (y0..=y1).contains(&cy),
        RegionShape::Ellipse => {
            let (rx, ry) = ((x1 - x0) / 2.0, (y1 - y0) / 2.0);
            if rx <= 0.0 || ry <= 0.0 {
                return false;
            }
            let (dx, dy) = ((cx - (x0 + rx)) / rx, (cy - (y0 + ry)) / ry);
            dx * dx + dy * dy <= 1.0
        }
    }
}

/// The region `shape` spanning `a`–`b` on `image`.
pub fn region_stats(shape: RegionShape, a: Point, b: Point, image: &DecodedImage, calibration: &Calibration) -> RegionStats {
    let (sx, sy) = calibration.scale();
    let (w, h) = ((a.x - b.x).abs() * sx, (a.y - b.y).abs() * sy);
    let area = match shape {
        RegionShape::Rectangle => w * h,
        RegionShape::Ellipse => std::f64::consts::PI * (w / 2.0) * (h / 2.0),
    };
    let clamp = |v: f64, n: u32| (v.max(0.0) as u32).min(n);
    let (c0, c1) = (clamp(a.x.min(b.x).floor(), image.columns()), clamp(a.x.max(b.x).ceil(), image.columns()));
    let (r0, r1) = (clamp(a.y.min(b.y).floor(), image.rows()), clamp(a.y.max(b.y).ceil(), image.rows()));
    // Welford's running mean and variance: one pass, stable for large regions.
    let (mut n, mut mean, mut m2, mut min, mut max) = (0usize, 0.0f64, 0.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for row in r0..r1 {
        for column in c0..c1 {
            if !contains(shape, a, b, f64::from(column) + 0.5, f64::from(row) + 0.5) {
                continue;
            }
            let Some(v) = image.modality_value(column, row) else { continue };
            n += 1;
            let delta = v - mean;
            mean += delta / n as f64;
            m2 += delta * (v - mean);
            min = min.min(v);
            max = max.max(v);
        }
    }
    let some = |v: f64| (n > 0).then_some(v);
    RegionStats { area, pixels: n, mean: some(mean), sd: some((m2 / n.max(1) as f64).sqrt()), min: some(min), max: some(max) }
}

/// The unit of an image's modality values: Rescale Type, else HU for CT, else none.
pub fn value_unit(header: &ImageHeader) -> Option<String> {
    header.rescale_type.clone().or_else(|| (header.modality.as_deref() == Some("CT")).then(|| "HU".to_string()))
}

/// What the user drew.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MeasureKind {
    /// Two points.
    Length,
    /// Three points: an end, the vertex, the other end.
    Angle,
    /// Two opposite corners of the bounding box.
    Ellipse,
    Rectangle,
    /// An annotation, from its tail to the point it shows; no result.
    Arrow,
    /// A text the user typed, anchored at one point; no result.
    Text,
}

impl MeasureKind {
    /// The name `getMeasurements()` gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            MeasureKind::Length => "length",
            MeasureKind::Angle => "angle",
            MeasureKind::Ellipse => "ellipse",
            MeasureKind::Rectangle => "rectangle",
            MeasureKind::Arrow => "arrow",
            MeasureKind::Text => "text",
        }
    }

    pub fn points(self) -> usize {
        match self {
            MeasureKind::Angle => 3,
            MeasureKind::Text => 1,
            _ => 2,
        }
    }
}

/// A measurement or annotation, attached to one frame of one instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    pub id: u32,
    pub kind: MeasureKind,
    pub study_uid: String,
    pub series_uid: String,
    pub instance_uid: String,
    pub frame: u32,
    pub points: Vec<Point>,
    /// A text label's words, as typed (shown as DOM text, never as markup).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// The longest text label, in characters: a label, not a report.
pub const MAX_TEXT_CHARS: usize = 200;

/// What a typed label keeps: trimmed, its control characters dropped, at most
/// [`MAX_TEXT_CHARS`]; `None` when nothing is left.
pub fn clean_text(typed: &str) -> Option<String> {
    let kept: String = typed.trim().chars().filter(|c| !c.is_control()).take(MAX_TEXT_CHARS).collect();
    let kept = kept.trim_end().to_string();
    (!kept.is_empty()).then_some(kept)
}

/// A measurement's result as the user reads it and `getMeasurements()` returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeasuredValues {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub angle_degrees: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<RegionStats>,
    /// "mm" or "px" for a length; "mm²" or "px²" for an area.
    pub unit: Option<&'static str>,
    /// The modality values' unit (e.g. HU) for region statistics.
    pub value_unit: Option<String>,
    pub calibration: Calibration,
    /// "uncalibrated" or "detector", when the result must say so.
    pub caveat: Option<&'static str>,
}

/// One entry of `getMeasurements()`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeasurementReport<'a> {
    #[serde(flatten)]
    pub measurement: &'a Measurement,
    pub values: &'a MeasuredValues,
    pub label: String,
}

impl Measurement {
    /// The result on `image` (the frame it is attached to).
    pub fn values(&self, image: &DecodedImage) -> MeasuredValues {
        let calibration = Calibration::of(&image.header);
        let mut out = MeasuredValues {
            length: None,
            angle_degrees: None,
            area: None,
            stats: None,
            unit: None,
            value_unit: None,
            calibration,
            caveat: calibration.caveat(),
        };
        match (self.kind, self.points.as_slice()) {
            (MeasureKind::Length, [a, b]) => {
                out.length = Some(calibration.distance(*a, *b));
                out.unit = Some(calibration.length_unit());
            }
            (MeasureKind::Angle, [a, vertex, b]) => {
                out.angle_degrees = angle_degrees(*a, *vertex, *b, &calibration);
            }
            (MeasureKind::Ellipse | MeasureKind::Rectangle, [a, b]) => {
                let shape = if self.kind == MeasureKind::Ellipse { RegionShape::Ellipse } else { RegionShape::Rectangle };
                let stats = region_stats(shape, *a, *b, image, &calibration);
                out.area = Some(stats.area);
                out.unit = Some(calibration.area_unit());
                out.value_unit = value_unit(&image.header);
                out.stats = Some(stats);
            }
            _ => {}
        }
        out
    }

    /// The label drawn next to it: a text label's words, else its result, e.g. `100.0 mm`,
    /// `37.5°`, `Area 120.3 mm² · mean 60.1 HU · SD 4.9 · min 52 · max 68`, in `words`.
    pub fn label_in(&self, values: &MeasuredValues, words: &LabelWords) -> String {
        if let Some(text) = &self.text {
            return text.clone();
        }
        let n = |v: f64, places: usize| words.number(v, places);
        let caveat = values.caveat.map(|c| format!(" ({})", words.caveat(c))).unwrap_or_default();
        let unit = values.unit.unwrap_or_default();
        if let Some(length) = values.length {
            return format!("{} {unit}{caveat}", n(length, 1));
        }
        if let Some(angle) = values.angle_degrees {
            return format!("{}°", n(angle, 1));
        }
        let (Some(area), Some(stats)) = (values.area, values.stats) else { return String::new() };
        let v = values.value_unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default();
        match (stats.mean, stats.sd, stats.min, stats.max) {
            (Some(mean), Some(sd), Some(min), Some(max)) => format!(
                "{} {unit}{caveat} · {} {}{v} · {} {} · {} {} · {} {}",
                n(area, 1),
                words.mean,
                n(mean, 1),
                words.sd,
                n(sd, 1),
                words.min,
                n(min, 0),
                words.max,
                n(max, 0)
            ),
            _ => format!("{} {unit}{caveat}", n(area, 1)),
        }
    }

    /// [`Measurement::label_in`] in English.
    pub fn label(&self, values: &MeasuredValues) -> String {
        self.label_in(values, &LabelWords::ENGLISH)
    }
}

/// The words and number style of a measurement's label, per language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelWords {
    /// `12,5` rather than `12.5`.
    pub decimal_comma: bool,
    pub mean: &'static str,
    pub sd: &'static str,
    pub min: &'static str,
    pub max: &'static str,
    pub uncalibrated: &'static str,
    pub detector: &'static str,
}

impl LabelWords {
    pub const ENGLISH: LabelWords = LabelWords {
        decimal_comma: false,
        mean: "mean",
        sd: "SD",
        min: "min",
        max: "max",
        uncalibrated: "uncalibrated",
        detector: "detector",
    };

    /// `v` with `places` decimals in this style (never `-0`).
    pub fn number(&self, v: f64, places: usize) -> String {
        let s = format!("{v:.places$}");
        let s = if s.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') { s.trim_start_matches('-').to_string() } else { s };
        if self.decimal_comma {
            s.replace('.', ",")
        } else {
            s
        }
    }

    /// A [`Calibration::caveat`] in these words.
    fn caveat(&self, caveat: &str) -> &'static str {
        match caveat {
            "detector" => self.detector,
            _ => self.uncalibrated,
        }
    }
}

#[cfg(test)]
mod tests;
