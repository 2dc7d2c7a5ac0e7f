//! Grayscale Softcopy Presentation States (PS3.3 A.33.1): how someone chose to show a set of
//! images (window, rotation and flip, the area to show, graphic and text annotations), read so
//! the viewer can apply it when the user picks it.
//!
//! Coordinates follow PS3.3 C.10.5.1.2: PIXEL graphic data is column\row with 0\0 the top left
//! corner of the top left pixel, which is the measurement layer's own image coordinate. DISPLAY
//! data is 0..1 across the displayed area as shown, after the spatial transformation.
//! The state is checked against the patient in context like an image.

use super::geometry::EdgeLabels;
use super::measure::Point;
use super::shutter::Shutter;
use super::voi_lut::VoiTable;
use super::{check_document, DocumentError, ImagingError, PatientContext};
use dicom_parser_lite::transform::{ModalityLut, Window};
use dicom_parser_lite::{tags, DataSet};
use std::sync::Arc;

/// Grayscale Softcopy Presentation State Storage.
pub const GRAYSCALE_SOFTCOPY_PRESENTATION_STATE: &str = "1.2.840.10008.5.1.4.1.1.11.1";

/// More graphic points than this in one state are left out: a hostile state must not make
/// the overlay draw millions of vertices.
const MAX_POINTS: usize = 100_000;

/// Image Rotation (clockwise, in quarter turns) then Image Horizontal Flip (PS3.3 C.10.6:
/// the rotation comes "before any Image Horizontal Flip").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpatialTransform {
    /// 0..=3.
    pub quarter_turns: u8,
    pub flip: bool,
}

impl SpatialTransform {
    /// Width and height trade places on screen.
    pub fn swaps_axes(self) -> bool {
        self.quarter_turns % 2 == 1
    }

    /// Where a point of the image, as fractions (0..1) of its width and height, appears as
    /// fractions of the displayed width and height.
    pub fn forward(self, (s, t): (f64, f64)) -> (f64, f64) {
        let (u, v) = match self.quarter_turns % 4 {
            1 => (1.0 - t, s),
            2 => (1.0 - s, 1.0 - t),
            3 => (t, 1.0 - s),
            _ => (s, t),
        };
        if self.flip {
            (1.0 - u, v)
        } else {
            (u, v)
        }
    }

    /// The image point (as fractions) shown at displayed fractions `(u, v)`: what a pointer
    /// position means.
    pub fn inverse(self, (u, v): (f64, f64)) -> (f64, f64) {
        let u = if self.flip { 1.0 - u } else { u };
        match self.quarter_turns % 4 {
            1 => (v, 1.0 - u),
            2 => (1.0 - u, 1.0 - v),
            3 => (1.0 - v, u),
            _ => (u, v),
        }
    }

    /// A vector of the image plane (x right, y down, in screen px) as it points on screen.
    pub fn vector(self, (x, y): (f64, f64)) -> (f64, f64) {
        let (x, y) = match self.quarter_turns % 4 {
            1 => (-y, x),
            2 => (-x, -y),
            3 => (y, -x),
            _ => (x, y),
        };
        if self.flip {
            (-x, y)
        } else {
            (x, y)
        }
    }

    /// A screen vector as a vector of the image plane: [`SpatialTransform::vector`] undone.
    pub fn unvector(self, (x, y): (f64, f64)) -> (f64, f64) {
        let x = if self.flip { -x } else { x };
        match self.quarter_turns % 4 {
            1 => (y, -x),
            2 => (-x, -y),
            3 => (-y, x),
            _ => (x, y),
        }
    }

    /// The orientation letters after the transformation: each screen edge shows the image
    /// edge that now lies there.
    pub fn edge_labels(self, labels: &EdgeLabels) -> EdgeLabels {
        let edge = |(s, t): (f64, f64)| -> String {
            let (s, t) = self.inverse((s, t));
            let label = if s < 0.25 {
                &labels.left
            } else if s > 0.75 {
                &labels.right
            } else if t < 0.25 {
                &labels.top
            } else {
                &labels.bottom
            };
            label.clone()
        };
        EdgeLabels { left: edge((0.0, 0.5)), right: edge((1.0, 0.5)), top: edge((0.5, 0.0)), bottom: edge((0.5, 1.0)) }
    }

    /// The CSS transform that undoes it, so text inside the transformed box stays upright.
    pub fn upright_css(self) -> String {
        let turn = u32::from(self.quarter_turns % 4) * 90;
        format!("rotate(-{turn}deg){}", if self.flip { " scaleX(-1)" } else { "" })
    }

    /// The CSS transform that shows it (rotate first: CSS applies the rightmost function first).
    pub fn css(self) -> String {
        let mut css = String::new();
        if self.flip {
            css.push_str(" scaleX(-1)");
        }
        if !self.quarter_turns.is_multiple_of(4) {
            css.push_str(&format!(" rotate({}deg)", u32::from(self.quarter_turns % 4) * 90));
        }
        css
    }
}

/// A rectangle of the image, in image pixel coordinates (0\0 the top left corner).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

impl Rect {
    pub fn width(&self) -> f64 {
        self.right - self.left
    }

    pub fn height(&self) -> f64 {
        self.bottom - self.top
    }

    pub fn centre(&self) -> Point {
        Point { x: (self.left + self.right) / 2.0, y: (self.top + self.bottom) / 2.0 }
    }

    /// The image point at displayed fractions `(u, v)` of this area shown under `transform`.
    pub fn display_point(&self, transform: SpatialTransform, uv: (f64, f64)) -> Point {
        let (s, t) = transform.inverse(uv);
        Point { x: self.left + s * self.width(), y: self.top + t * self.height() }
    }
}

/// Presentation Size Mode (PS3.3 C.10.4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SizeMode {
    ScaleToFit,
    /// Shown at its physical size: `column_mm` per image column on screen.
    TrueSize {
        column_mm: f64,
    },
    /// Screen pixels per image pixel.
    Magnify(f64),
}

/// Displayed Area Selection: which part of the image fills the viewport, and how large.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DisplayedArea {
    pub rect: Rect,
    pub mode: SizeMode,
}

/// Which images an item of the state applies to: `None`, all of the state's images.
type Selection = Option<Vec<ImageRef>>;

/// An image named by the state; `frames` empty: every frame.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRef {
    pub series_uid: String,
    pub sop_instance_uid: String,
    pub frames: Vec<u32>,
}

/// Graphic Type (PS3.3 C.10.5.1.2), its points in image coordinates.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Point(Point),
    /// POLYLINE, and INTERPOLATED drawn through the same points.
    Polyline(Vec<Point>),
    Circle {
        centre: Point,
        radius: f64,
    },
    /// Major axis end points, then minor axis end points.
    Ellipse {
        centre: Point,
        rx: f64,
        ry: f64,
        degrees: f64,
    },
}

/// A graphic or text resolved for one image: what the overlay draws, in image coordinates.
#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    Graphic { shape: Shape, filled: bool, layer: String },
    Text { text: String, at: Point, anchor: Option<Point>, layer: String },
}

#[derive(Debug, Clone, PartialEq)]
enum Units {
    Pixel,
    Display,
}

#[derive(Debug, Clone, PartialEq)]
struct RawGraphic {
    units: Units,
    kind: String,
    points: Vec<(f64, f64)>,
    filled: bool,
}

/// Two corners of a box, in the units given.
type Corners = (Units, (f64, f64), (f64, f64));

#[derive(Debug, Clone, PartialEq)]
struct RawText {
    text: String,
    bounding_box: Option<Corners>,
    /// The anchor, its units and whether it is drawn.
    anchor: Option<(Units, (f64, f64), bool)>,
}

#[derive(Debug, Clone, PartialEq)]
struct Annotation {
    applies: Selection,
    layer: String,
    graphics: Vec<RawGraphic>,
    texts: Vec<RawText>,
}

/// A presentation state, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct PresentationState {
    pub sop_instance_uid: String,
    /// Content Label, e.g. "CHEST_WINDOW".
    pub label: String,
    pub description: Option<String>,
    /// The images it is for, in the order it names them.
    pub images: Vec<ImageRef>,
    pub transform: SpatialTransform,
    /// Presentation LUT Shape INVERSE: low values are shown bright.
    pub inverse: bool,
    /// The state's own Modality LUT (slope, intercept): its windows are in its units.
    rescale: Option<(f64, f64)>,
    voi: Vec<(Selection, StateVoi)>,
    areas: Vec<(Selection, DisplayedArea)>,
    annotations: Vec<Annotation>,
    /// The Display Shutter Module: for every image the state names.
    shutter: Option<Shutter>,
}

/// A Softcopy VOI LUT Sequence item's transform: a window, or a VOI LUT table.
#[derive(Debug, Clone, PartialEq)]
enum StateVoi {
    Window(Window),
    Table(Arc<VoiTable>),
}

/// What the state says for one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub transform: SpatialTransform,
    pub inverse: bool,
    /// In the image's modality units.
    pub window: Option<Window>,
    /// A VOI LUT table instead of a window; its input is the state's Modality LUT output when
    /// the state has one, else the image's.
    pub table: Option<Arc<VoiTable>>,
    pub area: Option<DisplayedArea>,
    pub marks: Vec<Mark>,
    /// What stays visible; the rest shows the shutter's level, whatever the window or the
    /// Presentation LUT (its value is a P-Value, after both).
    pub shutter: Option<Shutter>,
}

/// Reads a presentation state checked against `patient`.
pub fn read_state(bytes: &[u8], patient: &PatientContext) -> Result<PresentationState, DocumentError> {
    let buffer = dicom_parser_lite::DicomBuffer::new(bytes);
    let file = buffer.parse().map_err(ImagingError::from)?;
    let ds = file.dataset();
    let sop_instance_uid =
        check_document(ds, &[GRAYSCALE_SOFTCOPY_PRESENTATION_STATE], "a grayscale softcopy presentation state", patient)?;
    let mut budget = MAX_POINTS;
    let quarter_turns = match ds.u32(tags::IMAGE_ROTATION) {
        Some(90) => 1,
        Some(180) => 2,
        Some(270) => 3,
        _ => 0,
    };
    let rescale = match (ds.f64(tags::RESCALE_SLOPE), ds.f64(tags::RESCALE_INTERCEPT)) {
        (Some(slope), Some(intercept)) if slope != 0.0 => Some((slope, intercept)),
        _ => None,
    };
    Ok(PresentationState {
        sop_instance_uid,
        label: ds.string(tags::CONTENT_LABEL).unwrap_or_default(),
        description: ds.string(tags::CONTENT_DESCRIPTION).filter(|d| !d.is_empty()),
        images: ds.items(tags::REFERENCED_SERIES_SEQUENCE).unwrap_or_default().iter().flat_map(series_images).collect(),
        transform: SpatialTransform { quarter_turns, flip: ds.string(tags::IMAGE_HORIZONTAL_FLIP).as_deref() == Some("Y") },
        inverse: ds.string(tags::PRESENTATION_LUT_SHAPE).as_deref() == Some("INVERSE"),
        rescale,
        voi: ds
            .items(tags::SOFTCOPY_VOI_LUT_SEQUENCE)
            .unwrap_or_default()
            .iter()
            .filter_map(|item| Some((selection(item), state_voi(item, rescale)?)))
            .collect(),
        areas: ds.items(tags::DISPLAYED_AREA_SELECTION_SEQUENCE).unwrap_or_default().iter().filter_map(area).collect(),
        annotations: ds
            .items(tags::GRAPHIC_ANNOTATION_SEQUENCE)
            .unwrap_or_default()
            .iter()
            .map(|item| annotation(item, &mut budget))
            .collect(),
        shutter: Shutter::from_dataset(ds),
    })
}

/// An item's table (a VOI LUT Sequence inside it) or else its window. The table's first mapped
/// value is signed when the state's own rescale can go below 0 (or its descriptor says SS).
fn state_voi(item: &DataSet, rescale: Option<(f64, f64)>) -> Option<StateVoi> {
    let own = rescale.map(|(slope, intercept)| ModalityLut { slope, intercept });
    let signed = own.is_some_and(|m| m.apply(0.0) < 0.0);
    if let Some(mut table) = VoiTable::from_dataset(item, signed) {
        table.rescale = own;
        return Some(StateVoi::Table(Arc::new(table)));
    }
    Window::from_dataset(item).map(StateVoi::Window)
}

fn series_images(series: &DataSet) -> Vec<ImageRef> {
    let series_uid = series.string(tags::SERIES_INSTANCE_UID).unwrap_or_default();
    series.items(tags::REFERENCED_IMAGE_SEQUENCE).unwrap_or_default().iter().map(|image| image_ref(image, &series_uid)).collect()
}

fn image_ref(image: &DataSet, series_uid: &str) -> ImageRef {
    ImageRef {
        series_uid: series_uid.to_string(),
        sop_instance_uid: image.string(tags::REFERENCED_SOP_INSTANCE_UID).unwrap_or_default(),
        frames: image.f64s(tags::REFERENCED_FRAME_NUMBER).into_iter().filter(|f| *f >= 1.0 && f.fract() == 0.0).map(|f| f as u32).collect(),
    }
}

/// An item's own Referenced Image Sequence (the series is the state's, looked up on use).
fn selection(item: &DataSet) -> Selection {
    item.items(tags::REFERENCED_IMAGE_SEQUENCE).map(|images| images.iter().map(|i| image_ref(i, "")).collect())
}

fn pair(values: &[f64]) -> Option<(f64, f64)> {
    match values {
        [a, b, ..] if a.is_finite() && b.is_finite() => Some((*a, *b)),
        _ => None,
    }
}

fn units(text: Option<String>) -> Units {
    if text.as_deref() == Some("DISPLAY") {
        Units::Display
    } else {
        Units::Pixel
    }
}

fn area(item: &DataSet) -> Option<(Selection, DisplayedArea)> {
    let (x0, y0) = pair(&item.f64s(tags::DISPLAYED_AREA_TOP_LEFT_HAND_CORNER))?;
    let (x1, y1) = pair(&item.f64s(tags::DISPLAYED_AREA_BOTTOM_RIGHT_HAND_CORNER))?;
    // Both corners name pixels (1\1 the first): the area runs from the first one's top left
    // corner to the last one's bottom right, whichever way round they are given.
    let rect = Rect { left: x0.min(x1) - 1.0, top: y0.min(y1) - 1.0, right: x0.max(x1), bottom: y0.max(y1) };
    if rect.width() <= 0.0 || rect.height() <= 0.0 {
        return None;
    }
    let mode = match item.string(tags::PRESENTATION_SIZE_MODE).as_deref() {
        Some("TRUE SIZE") => match pair(&item.f64s(tags::PRESENTATION_PIXEL_SPACING)) {
            Some((_, column)) if column > 0.0 => SizeMode::TrueSize { column_mm: column },
            _ => SizeMode::ScaleToFit,
        },
        Some("MAGNIFY") => match item.f64(tags::PRESENTATION_PIXEL_MAGNIFICATION_RATIO) {
            Some(ratio) if ratio > 0.0 && ratio.is_finite() => SizeMode::Magnify(ratio),
            _ => SizeMode::ScaleToFit,
        },
        _ => SizeMode::ScaleToFit,
    };
    Some((selection(item), DisplayedArea { rect, mode }))
}

fn annotation(item: &DataSet, budget: &mut usize) -> Annotation {
    let graphics = item
        .items(tags::GRAPHIC_OBJECT_SEQUENCE)
        .unwrap_or_default()
        .iter()
        .filter_map(|g| {
            let data = g.f64s(tags::GRAPHIC_DATA);
            let points: Vec<(f64, f64)> = data.chunks_exact(2).filter_map(pair).collect();
            if points.is_empty() || points.len() > *budget {
                return None;
            }
            *budget -= points.len();
            Some(RawGraphic {
                units: units(g.string(tags::GRAPHIC_ANNOTATION_UNITS)),
                kind: g.string(tags::GRAPHIC_TYPE).unwrap_or_default(),
                points,
                filled: g.string(tags::GRAPHIC_FILLED).as_deref() == Some("Y"),
            })
        })
        .collect();
    let texts = item
        .items(tags::TEXT_OBJECT_SEQUENCE)
        .unwrap_or_default()
        .iter()
        .filter_map(|t| {
            let text = t.string(tags::UNFORMATTED_TEXT_VALUE).filter(|s| !s.trim().is_empty())?;
            let bounding_box = pair(&t.f64s(tags::BOUNDING_BOX_TOP_LEFT_HAND_CORNER))
                .zip(pair(&t.f64s(tags::BOUNDING_BOX_BOTTOM_RIGHT_HAND_CORNER)))
                .map(|(a, b)| (units(t.string(tags::BOUNDING_BOX_ANNOTATION_UNITS)), a, b));
            let anchor = pair(&t.f64s(tags::ANCHOR_POINT)).map(|p| {
                (units(t.string(tags::ANCHOR_POINT_ANNOTATION_UNITS)), p, t.string(tags::ANCHOR_POINT_VISIBILITY).as_deref() == Some("Y"))
            });
            (bounding_box.is_some() || anchor.is_some()).then(|| RawText { text: clean(&text), bounding_box, anchor })
        })
        .collect();
    Annotation { applies: selection(item), layer: item.string(tags::GRAPHIC_LAYER).unwrap_or_default(), graphics, texts }
}

/// Text is shown as text: control characters (other than line breaks) go, and so does length
/// beyond what fits on an image.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control() || *c == '\n').take(1000).collect::<String>().trim().to_string()
}

impl PresentationState {
    /// The series it is for, first named first.
    pub fn series_uids(&self) -> Vec<&str> {
        let mut uids: Vec<&str> = Vec::new();
        for image in &self.images {
            if !uids.contains(&image.series_uid.as_str()) {
                uids.push(&image.series_uid);
            }
        }
        uids
    }

    /// Whether the state is for frame `frame` (1-based) of this image.
    pub fn names(&self, series_uid: &str, sop_instance_uid: &str, frame: u32) -> bool {
        self.images.iter().any(|i| i.series_uid == series_uid && matches(i, sop_instance_uid, frame))
    }

    /// What the state says for frame `frame` (1-based) of an image it names, whose own
    /// Modality LUT is `image_rescale`; `None` for an image it does not name.
    pub fn for_image(&self, series_uid: &str, sop_instance_uid: &str, frame: u32, image_rescale: (f64, f64)) -> Option<Applied> {
        if !self.names(series_uid, sop_instance_uid, frame) {
            return None;
        }
        let applies =
            |selection: &Selection| selection.as_ref().is_none_or(|images| images.iter().any(|i| matches(i, sop_instance_uid, frame)));
        let voi = self.voi.iter().find(|(s, _)| applies(s)).map(|(_, v)| v);
        let window = match voi {
            Some(StateVoi::Window(w)) => Some(self.in_image_units(*w, image_rescale)),
            _ => None,
        };
        let table = match voi {
            Some(StateVoi::Table(t)) => Some(t.clone()),
            _ => None,
        };
        let area = self.areas.iter().find(|(s, _)| applies(s)).map(|(_, a)| *a);
        let marks = self.annotations.iter().filter(|a| applies(&a.applies)).flat_map(|a| self.marks(a, area.map(|a| a.rect))).collect();
        Some(Applied { transform: self.transform, inverse: self.inverse, window, table, area, marks, shutter: self.shutter.clone() })
    }

    /// A window of the state's modality units in the image's: the two linear maps share the
    /// stored values, so the conversion is exact.
    fn in_image_units(&self, window: Window, (slope, intercept): (f64, f64)) -> Window {
        let Some((own_slope, own_intercept)) = self.rescale else { return window };
        let factor = slope / own_slope;
        Window { center: (window.center - own_intercept) * factor + intercept, width: window.width * factor.abs(), ..window }
    }

    fn marks(&self, annotation: &Annotation, area: Option<Rect>) -> Vec<Mark> {
        // DISPLAY units need the displayed area; without one they cannot be placed.
        let place = |units: &Units, (x, y): (f64, f64)| -> Option<Point> {
            match units {
                Units::Pixel => Some(Point { x, y }),
                Units::Display => area.map(|a| a.display_point(self.transform, (x, y))),
            }
        };
        let layer = &annotation.layer;
        let mut marks = Vec::new();
        for g in &annotation.graphics {
            let points: Vec<Point> = g.points.iter().filter_map(|p| place(&g.units, *p)).collect();
            let shape = match (g.kind.as_str(), points.as_slice()) {
                ("POINT", [p, ..]) => Shape::Point(*p),
                ("POLYLINE" | "INTERPOLATED", [_, _, ..]) => Shape::Polyline(points.clone()),
                ("CIRCLE", [c, edge, ..]) => Shape::Circle { centre: *c, radius: distance(c, edge) },
                ("ELLIPSE", [a, b, c, d, ..]) => Shape::Ellipse {
                    centre: Point { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 },
                    rx: distance(a, b) / 2.0,
                    ry: distance(c, d) / 2.0,
                    degrees: (b.y - a.y).atan2(b.x - a.x).to_degrees(),
                },
                _ => continue,
            };
            marks.push(Mark::Graphic { shape, filled: g.filled, layer: layer.clone() });
        }
        for t in &annotation.texts {
            let anchor = t.anchor.as_ref().and_then(|(u, p, visible)| place(u, *p).filter(|_| *visible));
            let at = match &t.bounding_box {
                Some((u, a, b)) => match (place(u, *a), place(u, *b)) {
                    (Some(a), Some(b)) => Some(Point { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 }),
                    _ => None,
                },
                None => t.anchor.as_ref().and_then(|(u, p, _)| place(u, *p)),
            };
            if let Some(at) = at {
                marks.push(Mark::Text { text: t.text.clone(), at, anchor, layer: layer.clone() });
            }
        }
        marks
    }
}

fn matches(image: &ImageRef, sop_instance_uid: &str, frame: u32) -> bool {
    image.sop_instance_uid == sop_instance_uid && (image.frames.is_empty() || image.frames.contains(&frame))
}

fn distance(a: &Point, b: &Point) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}

/// The zoom (screen px per image column) and pan (screen px) that show `area` of an image of
/// `columns` × `rows` in a viewport of `viewport` px, with pixels `aspect` times as tall as wide.
pub fn area_view(
    area: &DisplayedArea,
    transform: SpatialTransform,
    image: (u32, u32),
    aspect: f64,
    viewport: (f64, f64),
) -> (f64, (f64, f64)) {
    let (width, height) = (area.rect.width(), area.rect.height() * aspect);
    let (shown_w, shown_h) = if transform.swaps_axes() { (height, width) } else { (width, height) };
    let zoom = match area.mode {
        SizeMode::ScaleToFit => (viewport.0 / shown_w).min(viewport.1 / shown_h),
        // CSS px are 1/96 inch: the only physical size a page knows.
        SizeMode::TrueSize { column_mm } => column_mm / (25.4 / 96.0),
        SizeMode::Magnify(ratio) => ratio,
    };
    let zoom = if zoom.is_finite() && zoom > 0.0 { zoom } else { 1.0 };
    let centre = area.rect.centre();
    let offset = ((centre.x - f64::from(image.0) / 2.0) * zoom, (centre.y - f64::from(image.1) / 2.0) * zoom * aspect);
    let (x, y) = transform.vector(offset);
    (zoom, (-x, -y))
}

#[cfg(test)]
pub(crate) mod tests;
