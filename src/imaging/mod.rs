//! Frames to pixels: decode a DICOM instance, prove it belongs to the patient in context, and
//! render it to RGBA with the standard's Modality and VOI LUTs (via dicom-parser-lite).

pub mod decoder;
pub mod geometry;
mod identity;
pub mod key_objects;
pub mod measure;
pub mod presentation_state;
pub mod presets;
pub mod shutter;
pub mod structured_report;
pub mod voi_lut;
#[cfg(target_arch = "wasm32")]
pub mod workers;

pub use identity::{
    check_document, check_header, decode_for, decode_frame_for, verify_frame, DocumentError, IdentityMismatch, PatientContext,
    VerifiedImage, VerifyError,
};

use dicom_parser_lite::{
    color,
    lut::Palette,
    pixel::{self, Frame, ImageInfo, Photometric},
    tags,
    transform::{self, ModalityLut, Window},
    DataSet,
};

pub use dicom_parser_lite::transform::RgbaLayout;
use std::sync::Arc;
use thiserror::Error;
use voi_lut::{Voi, VoiTable};

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ImagingError {
    #[error("the image could not be read: {0}")]
    Parse(String),
    #[error("this image type cannot be displayed yet: {0}")]
    Unsupported(String),
}

impl From<dicom_parser_lite::Error> for ImagingError {
    fn from(e: dicom_parser_lite::Error) -> Self {
        match e {
            dicom_parser_lite::Error::UnsupportedTransferSyntax(ts) => ImagingError::Unsupported(format!("transfer syntax {ts}")),
            other => ImagingError::Parse(other.to_string()),
        }
    }
}

/// Header facts shown next to the image and used for the identity check.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageHeader {
    pub patient_id: Option<String>,
    pub patient_name: Option<String>,
    pub patient_birth_date: Option<String>,
    pub study_uid: Option<String>,
    pub series_uid: Option<String>,
    pub sop_instance_uid: Option<String>,
    pub modality: Option<String>,
    pub instance_number: Option<u32>,
    pub transfer_syntax_uid: String,
    pub lossy: bool,
    pub study_date: Option<String>,
    pub study_description: Option<String>,
    pub series_number: Option<u32>,
    pub series_description: Option<String>,
    /// Image Position (Patient), mm.
    pub image_position: Option<[f64; 3]>,
    /// Image Orientation (Patient): row then column direction cosines.
    pub image_orientation: Option<[f64; 6]>,
    /// Patient Orientation: the directions of the rows and the columns (e.g. `L`, `F`), what a
    /// projection radiograph has instead of an Image Orientation (Patient).
    pub patient_orientation: Option<[String; 2]>,
    /// Pixel Spacing: row spacing (between rows), column spacing (between columns), mm; of
    /// this frame (from its functional groups) in an enhanced multi-frame instance.
    pub pixel_spacing: Option<[f64; 2]>,
    /// Imager Pixel Spacing (at the detector, projection radiography), as Pixel Spacing.
    pub imager_pixel_spacing: Option<[f64; 2]>,
    /// Estimated Radiographic Magnification Factor.
    pub magnification: Option<f64>,
    /// Rescale Type (e.g. HU), the unit of the modality values.
    pub rescale_type: Option<String>,
    pub number_of_frames: u32,
    /// Frame Time (ms) of a multi-frame instance, for cine.
    pub frame_time_ms: Option<f64>,
    /// Every window the header carries (center, width), for the presets.
    pub windows: Vec<(f64, f64)>,
}

impl ImageHeader {
    /// The spacing that gives a pixel its proportions on screen: Pixel Spacing, else a
    /// radiograph's Imager Pixel Spacing (its only spacing; the magnification scales both alike).
    pub fn display_spacing(&self) -> Option<[f64; 2]> {
        self.pixel_spacing.or(self.imager_pixel_spacing)
    }
}

fn fixed<const N: usize>(values: Vec<f64>) -> Option<[f64; N]> {
    values.try_into().ok().filter(|v: &[f64; N]| v.iter().all(|x| x.is_finite()))
}

/// How a frame's pixels become RGBA: grayscale is windowed on every draw from the stored
/// values; colour is converted once at decode (a window does not apply to it).
#[derive(Debug, Clone)]
enum Pixels {
    Gray {
        frame: Frame,
        /// The stored-value range, found once: every window change reuses it.
        range: Option<(i32, i32)>,
        modality: ModalityLut,
        monochrome1: bool,
    },
    Colour {
        rgba: Vec<u8>,
    },
}

/// A decoded frame ready to be windowed again and again without re-decoding.
#[derive(Debug, Clone)]
pub struct DecodedImage {
    pub header: ImageHeader,
    pub info: ImageInfo,
    /// Which frame of its instance this is (0 for single-frame images).
    pub frame_index: u32,
    pixels: Pixels,
    /// The header's first window, or one spanning the modality values when there is none.
    pub default_window: Window,
    /// The image's VOI LUT Sequence table, shown by default when the header has no window
    /// (with both, the standard leaves the choice to the viewer: the window is kept).
    pub default_table: Option<Arc<VoiTable>>,
}

/// What a Part 10 instance says it is, from its data set: what places it in a series.
#[derive(Debug, Clone, PartialEq)]
pub struct PartIdentity {
    pub study_uid: String,
    pub series_uid: String,
    pub sop_instance_uid: String,
}

impl PartIdentity {
    /// `None` when the bytes do not parse or lack one of the three UIDs.
    pub fn read(bytes: &[u8]) -> Option<PartIdentity> {
        let buffer = dicom_parser_lite::DicomBuffer::new(bytes);
        let file = buffer.parse().ok()?;
        let ds = file.dataset();
        let uid = |tag| ds.string(tag).filter(|uid: &String| !uid.is_empty());
        Some(PartIdentity {
            study_uid: uid(tags::STUDY_INSTANCE_UID)?,
            series_uid: uid(tags::SERIES_INSTANCE_UID)?,
            sop_instance_uid: uid(tags::SOP_INSTANCE_UID)?,
        })
    }
}

fn read_header(file: &dicom_parser_lite::DicomFile) -> ImageHeader {
    let ds = file.dataset();
    let transfer_syntax_uid = file.transfer_syntax_uid().to_string();
    let lossy = ds.string(tags::LOSSY_IMAGE_COMPRESSION).as_deref() == Some("01")
        || dicom_parser_lite::transfer_syntax::is_lossy(&transfer_syntax_uid);
    let centers = ds.f64s(tags::WINDOW_CENTER);
    let widths = ds.f64s(tags::WINDOW_WIDTH);
    ImageHeader {
        patient_id: ds.string(tags::PATIENT_ID),
        patient_name: ds.string(tags::PATIENT_NAME),
        patient_birth_date: ds.string(tags::PATIENT_BIRTH_DATE),
        study_uid: ds.string(tags::STUDY_INSTANCE_UID),
        series_uid: ds.string(tags::SERIES_INSTANCE_UID),
        sop_instance_uid: ds.string(tags::SOP_INSTANCE_UID),
        modality: ds.string(tags::MODALITY),
        instance_number: ds.u32(tags::INSTANCE_NUMBER),
        transfer_syntax_uid,
        lossy,
        study_date: ds.string(tags::STUDY_DATE),
        study_description: ds.string(tags::STUDY_DESCRIPTION),
        series_number: ds.u32(tags::SERIES_NUMBER),
        series_description: ds.string(tags::SERIES_DESCRIPTION),
        image_position: fixed(ds.f64s(tags::IMAGE_POSITION_PATIENT)),
        image_orientation: fixed(ds.f64s(tags::IMAGE_ORIENTATION_PATIENT)),
        patient_orientation: ds.strings(tags::PATIENT_ORIENTATION).try_into().ok(),
        pixel_spacing: fixed(ds.f64s(tags::PIXEL_SPACING)),
        imager_pixel_spacing: fixed(ds.f64s(tags::IMAGER_PIXEL_SPACING)),
        magnification: ds.f64(tags::ESTIMATED_RADIOGRAPHIC_MAGNIFICATION_FACTOR).filter(|m| m.is_finite() && *m > 0.0),
        rescale_type: ds.string(tags::RESCALE_TYPE).filter(|t| !t.is_empty()),
        number_of_frames: ds.u32(tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1),
        frame_time_ms: ds.f64(tags::FRAME_TIME).filter(|t| t.is_finite() && *t > 0.0),
        windows: centers.iter().zip(&widths).map(|(&c, &w)| (c, w)).collect(),
    }
}

impl DecodedImage {
    /// Parses a DICOM Part 10 instance (inflating a deflated data set) and decodes its first frame.
    pub fn decode(bytes: &[u8]) -> Result<Self, ImagingError> {
        let buffer = dicom_parser_lite::DicomBuffer::new(bytes);
        let file = buffer.parse()?;
        let header = read_header(&file);
        Self::decode_one(&file, header, 0)
    }

    /// Frame `index` of an instance (the caller decodes frames one by one, yielding between
    /// them, so a long compressed multi-frame instance does not block input).
    pub fn decode_frame(bytes: &[u8], index: u32) -> Result<Self, ImagingError> {
        let buffer = dicom_parser_lite::DicomBuffer::new(bytes);
        let file = buffer.parse()?;
        let header = read_header(&file);
        Self::decode_one(&file, header, index)
    }

    /// Every frame of an instance, in order (a multi-frame instance is shown as a stack).
    pub fn decode_frames(bytes: &[u8]) -> Result<Vec<Self>, ImagingError> {
        let buffer = dicom_parser_lite::DicomBuffer::new(bytes);
        let file = buffer.parse()?;
        let header = read_header(&file);
        (0..header.number_of_frames).map(|i| Self::decode_one(&file, header.clone(), i)).collect()
    }

    fn decode_one(file: &dicom_parser_lite::DicomFile, header: ImageHeader, index: u32) -> Result<Self, ImagingError> {
        let frame = pixel::decode_frame(file, index as usize)?;
        Self::with_frame(file, header, index, frame)
    }

    /// Frame `index` of an instance whose stored values were decoded elsewhere (a decode
    /// worker): the header, LUTs and colour are read here from the instance itself, exactly as
    /// [`DecodedImage::decode_frame`] does, so both paths give the same image.
    pub fn from_frame(bytes: &[u8], index: u32, frame: Frame) -> Result<Self, ImagingError> {
        let buffer = dicom_parser_lite::DicomBuffer::new(bytes);
        let file = buffer.parse()?;
        let header = read_header(&file);
        let expected = frame.info.rows as usize * frame.info.columns as usize * usize::from(frame.info.samples_per_pixel);
        if frame.samples.len() != expected {
            return Err(ImagingError::Parse(format!("decoded frame has {} samples, expected {expected}", frame.samples.len())));
        }
        Self::with_frame(&file, header, index, frame)
    }

    fn with_frame(file: &dicom_parser_lite::DicomFile, mut header: ImageHeader, index: u32, frame: Frame) -> Result<Self, ImagingError> {
        let ds = file.dataset();
        if header.pixel_spacing.is_none() {
            header.pixel_spacing = transform::frame_sources(ds, index as usize, tags::PIXEL_MEASURES_SEQUENCE)
                .find_map(|d| fixed(d.f64s(tags::PIXEL_SPACING)).filter(|s: &[f64; 2]| s.iter().all(|v| *v > 0.0)));
        }
        let info = frame.info.clone();
        let at = index as usize;
        let (pixels, default_window, default_table) = match &info.photometric {
            Photometric::Monochrome1 | Photometric::Monochrome2 => {
                let monochrome1 = info.photometric == Photometric::Monochrome1;
                let modality = ModalityLut::for_frame(ds, at);
                let range = transform::value_range(&frame);
                let own = Window::for_frame(ds, at);
                let table =
                    if own.is_none() { VoiTable::from_dataset(ds, voi_lut::signed_input(ds, &modality)).map(Arc::new) } else { None };
                let window = own.unwrap_or_else(|| {
                    let (min, max) = modality_range(&frame, &modality, range);
                    Window::from_min_max(min, max)
                });
                (Pixels::Gray { frame, range, modality, monochrome1 }, window, table)
            }
            Photometric::PaletteColor => {
                (Pixels::Colour { rgba: rgb_to_rgba(&render_palette(ds, &frame)?) }, Window::from_min_max(0.0, 255.0), None)
            }
            Photometric::Rgb | Photometric::YbrFull | Photometric::YbrFull422 | Photometric::YbrRct | Photometric::YbrIct => {
                (Pixels::Colour { rgba: rgb_to_rgba(&color::render_rgb8(&frame)?) }, Window::from_min_max(0.0, 255.0), None)
            }
            other => return Err(ImagingError::Unsupported(format!("photometric interpretation {other:?}"))),
        };
        Ok(DecodedImage { header, info, frame_index: index, pixels, default_window, default_table })
    }

    pub fn rows(&self) -> u32 {
        self.info.rows
    }

    pub fn columns(&self) -> u32 {
        self.info.columns
    }

    /// The Modality LUT (slope, intercept) of a grayscale frame; identity for colour.
    pub fn rescale(&self) -> (f64, f64) {
        match &self.pixels {
            Pixels::Gray { modality, .. } => (modality.slope, modality.intercept),
            Pixels::Colour { .. } => (1.0, 0.0),
        }
    }

    /// MONOCHROME1: the renderer shows low values bright unless told otherwise.
    pub fn is_monochrome1(&self) -> bool {
        matches!(&self.pixels, Pixels::Gray { monochrome1: true, .. })
    }

    /// The modality value (stored value through the Modality LUT, e.g. HU) of the pixel at
    /// `column`, `row`; `None` for colour images and outside the image.
    pub fn modality_value(&self, column: u32, row: u32) -> Option<f64> {
        let Pixels::Gray { frame, modality, .. } = &self.pixels else { return None };
        if column >= self.info.columns || row >= self.info.rows {
            return None;
        }
        let i = row as usize * self.info.columns as usize + column as usize;
        frame.samples.get_f64(i).map(|v| modality.apply(v))
    }

    /// Colour images ignore the window.
    pub fn is_colour(&self) -> bool {
        matches!(self.pixels, Pixels::Colour { .. })
    }

    /// Renders into `out` (resized to rows × columns × 4) as opaque RGBA: for encoding or
    /// reading the pixels.
    pub fn render_rgba(&self, window: &Window, out: &mut Vec<u8>) -> Result<(), ImagingError> {
        self.render(window, false, RgbaLayout::Opaque, out)
    }

    /// Renders into `out` (resized to rows × columns × 4) for display. `invert` shows the
    /// negative: for grayscale it is folded into the MONOCHROME1 inversion, so it costs nothing
    /// and stays exact; colour is inverted after. Gray levels are laid out as `layout` says;
    /// colour pixels are opaque in either layout (over black, an opaque pixel is itself).
    pub fn render(&self, window: &Window, invert: bool, layout: RgbaLayout, out: &mut Vec<u8>) -> Result<(), ImagingError> {
        let len = self.info.rows as usize * self.info.columns as usize * 4;
        match &self.pixels {
            Pixels::Gray { frame, range, modality, monochrome1 } => {
                if out.len() != len {
                    // A zeroed allocation (one memory.fill) rather than `resize`, which the
                    // size-optimised build turns into a byte loop costing more than the rendering.
                    *out = vec![0; len];
                }
                transform::render_rgba_in_range(frame, modality, window, *monochrome1 != invert, *range, layout, out)?;
            }
            Pixels::Colour { rgba } => {
                if rgba.len() != len {
                    return Err(ImagingError::Parse(format!("colour frame has {} bytes, expected {len}", rgba.len())));
                }
                out.clear();
                out.extend_from_slice(rgba);
                if invert {
                    invert_rgba(out);
                }
            }
        }
        Ok(())
    }

    /// The VOI transform the image shows by default: its table when it has one and no window.
    pub fn default_voi(&self) -> Voi {
        match &self.default_table {
            Some(table) => Voi::Table(table.clone()),
            None => Voi::Window(self.default_window),
        }
    }

    /// [`DecodedImage::render`] under either VOI transform. A table takes the output of its own
    /// Modality LUT when it names one, else of the image's; colour ignores both.
    pub fn render_voi(&self, voi: &Voi, invert: bool, layout: RgbaLayout, out: &mut Vec<u8>) -> Result<(), ImagingError> {
        let table = match voi {
            Voi::Window(window) => return self.render(window, invert, layout, out),
            Voi::Table(table) => table,
        };
        let Pixels::Gray { frame, modality, monochrome1, .. } = &self.pixels else {
            return self.render(&self.default_window, invert, layout, out);
        };
        let len = self.info.rows as usize * self.info.columns as usize * 4;
        if out.len() != len {
            *out = vec![0; len];
        }
        let modality = table.rescale.as_ref().unwrap_or(modality);
        transform::render_rgba_table(frame, modality, &table.lut, *monochrome1 != invert, layout, out)?;
        Ok(())
    }

    /// Slice position along the normal (mm), when the header has the geometry.
    pub fn slice_position(&self) -> Option<f64> {
        geometry::slice_position(self.header.image_position.as_ref()?, self.header.image_orientation.as_ref()?)
    }
}

fn render_palette(ds: &DataSet, frame: &Frame) -> Result<Vec<u8>, ImagingError> {
    Ok(color::render_palette8(frame, &Palette::from_dataset(ds)?)?)
}

fn rgb_to_rgba(rgb: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rgb.len() / 3 * 4);
    for px in rgb.chunks_exact(3) {
        out.extend_from_slice(px);
        out.push(255);
    }
    out
}

/// Inverts RGB in place (alpha kept): the "invert" tool on colour images.
fn invert_rgba(rgba: &mut [u8]) {
    for px in rgba.chunks_exact_mut(4) {
        px[0] = 255 - px[0];
        px[1] = 255 - px[1];
        px[2] = 255 - px[2];
    }
}

/// Minimum and maximum modality values of a frame (for images without a window). The rescale is
/// monotonic, so a known stored-value range gives them from its two ends; only data without
/// one (32-bit) is scanned.
fn modality_range(frame: &Frame, modality: &ModalityLut, range: Option<(i32, i32)>) -> (f64, f64) {
    use pixel::Samples::*;
    if let Some((lo, hi)) = range {
        let (a, b) = (modality.apply(f64::from(lo)), modality.apply(f64::from(hi)));
        return (a.min(b), a.max(b));
    }
    let mut min = f64::INFINITY;
    let mut max = f64::NEG_INFINITY;
    let mut see = |v: f64| {
        let m = modality.apply(v);
        min = min.min(m);
        max = max.max(m);
    };
    match &frame.samples {
        U8(s) => s.iter().for_each(|&v| see(v as f64)),
        I8(s) => s.iter().for_each(|&v| see(v as f64)),
        U16(s) => s.iter().for_each(|&v| see(v as f64)),
        I16(s) => s.iter().for_each(|&v| see(v as f64)),
        U32(s) => s.iter().for_each(|&v| see(v as f64)),
        I32(s) => s.iter().for_each(|&v| see(v as f64)),
    }
    if min > max {
        (0.0, 0.0)
    } else {
        (min, max)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn encode(out: &mut Vec<u8>, tag: u32, vr: &[u8; 2], value: &[u8]) {
        let mut value = value.to_vec();
        if value.len() % 2 == 1 {
            value.push(if vr == b"UI" || vr == b"OB" || vr == b"OW" { 0 } else { b' ' });
        }
        out.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
        out.extend_from_slice(&(tag as u16).to_le_bytes());
        out.extend_from_slice(vr);
        if matches!(vr, b"OB" | b"OW" | b"SQ") {
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        } else {
            out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        }
        out.extend_from_slice(&value);
    }

    /// One data element for the test files: (tag, VR, value).
    pub(crate) type TestElement = (u32, &'static [u8; 2], Vec<u8>);

    /// A sequence value (`SQ`) of items of defined length, each from (tag, VR, value) triples.
    pub(crate) fn items(items: &[&[TestElement]]) -> Vec<u8> {
        let mut out = Vec::new();
        for elements in items {
            let mut body = Vec::new();
            for (tag, vr, value) in *elements {
                encode(&mut body, *tag, vr, value);
            }
            out.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            out.extend_from_slice(&body);
        }
        out
    }

    /// A minimal Explicit VR Little Endian Part 10 file from (tag, VR, value) triples.
    pub(crate) fn part10(elements: &[(u32, &[u8; 2], Vec<u8>)]) -> Vec<u8> {
        let mut meta = Vec::new();
        encode(&mut meta, 0x0002_0010, b"UI", b"1.2.840.10008.1.2.1");
        let mut out = vec![0u8; 128];
        out.extend_from_slice(b"DICM");
        encode(&mut out, 0x0002_0000, b"UL", &(meta.len() as u32).to_le_bytes());
        out.extend_from_slice(&meta);
        let mut sorted = elements.to_vec();
        crate::sorting::sort_by_key(&mut sorted, |e| e.0);
        for (tag, vr, value) in &sorted {
            encode(&mut out, *tag, vr, value);
        }
        out
    }

    pub(crate) fn us(v: u16) -> Vec<u8> {
        v.to_le_bytes().to_vec()
    }

    pub(crate) fn text(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn multi_frame_instance_becomes_a_stack_with_geometry() {
        let file = part10(&[
            (0x0010_0020, b"LO", text("MRN-1")),
            (0x0008_0060, b"CS", text("XA")),
            (0x0018_1063, b"DS", text("40")),
            (0x0020_0032, b"DS", text("-10\\-10\\-12.5")),
            (0x0020_0037, b"DS", text("1\\0\\0\\0\\1\\0")),
            (0x0028_0002, b"US", us(1)),
            (0x0028_0004, b"CS", text("MONOCHROME2")),
            (0x0028_0008, b"IS", text("3")),
            (0x0028_0010, b"US", us(1)),
            (0x0028_0011, b"US", us(2)),
            (0x0028_0030, b"DS", text("0.5\\0.25")),
            (0x0028_0100, b"US", us(8)),
            (0x0028_0101, b"US", us(8)),
            (0x0028_0102, b"US", us(7)),
            (0x0028_0103, b"US", us(0)),
            (0x0028_1050, b"DS", text("128\\100")),
            (0x0028_1051, b"DS", text("256\\50")),
            (0x7FE0_0010, b"OB", vec![0, 255, 10, 20, 200, 100]),
        ]);
        let frames = DecodedImage::decode_frames(&file).unwrap();
        assert_eq!(frames.len(), 3);
        let h = &frames[2].header;
        assert_eq!((h.number_of_frames, h.frame_time_ms, frames[2].frame_index), (3, Some(40.0), 2));
        assert_eq!(h.pixel_spacing, Some([0.5, 0.25]));
        assert_eq!(h.windows, vec![(128.0, 256.0), (100.0, 50.0)]);
        assert_eq!(frames[0].slice_position(), Some(-12.5));
        let mut rgba = Vec::new();
        // Window 128/256 over 8-bit data is the identity (PS3.3 C.11.2.1.2.1).
        frames[2].render_rgba(&frames[2].default_window, &mut rgba).unwrap();
        assert_eq!(rgba, [200, 200, 200, 255, 100, 100, 100, 255]);
        frames[1].render_rgba(&frames[1].default_window, &mut rgba).unwrap();
        assert_eq!(rgba, [10, 10, 10, 255, 20, 20, 20, 255]);
        // For display: white with the level as alpha; inverted, 255 − level.
        frames[1].render(&frames[1].default_window, false, RgbaLayout::Coverage, &mut rgba).unwrap();
        assert_eq!(rgba, [255, 255, 255, 10, 255, 255, 255, 20]);
        frames[1].render(&frames[1].default_window, true, RgbaLayout::Coverage, &mut rgba).unwrap();
        assert_eq!(rgba, [255, 255, 255, 245, 255, 255, 255, 235]);
        assert!(!frames[0].is_colour());
        // The first-frame entry point still gives frame 0; frames one by one equal the batch.
        assert_eq!(DecodedImage::decode(&file).unwrap().frame_index, 0);
        let one = DecodedImage::decode_frame(&file, 1).unwrap();
        one.render_rgba(&one.default_window, &mut rgba).unwrap();
        assert_eq!(rgba, [10, 10, 10, 255, 20, 20, 20, 255]);
        assert!(DecodedImage::decode_frame(&file, 3).is_err());
    }

    #[test]
    fn rgb_is_shown_as_is_and_invert_keeps_alpha() {
        let file = part10(&[
            (0x0010_0020, b"LO", text("MRN-1")),
            (0x0028_0002, b"US", us(3)),
            (0x0028_0004, b"CS", text("RGB")),
            (0x0028_0006, b"US", us(0)),
            (0x0028_0010, b"US", us(1)),
            (0x0028_0011, b"US", us(2)),
            (0x0028_0100, b"US", us(8)),
            (0x0028_0101, b"US", us(8)),
            (0x0028_0102, b"US", us(7)),
            (0x0028_0103, b"US", us(0)),
            (0x7FE0_0010, b"OB", vec![255, 0, 0, 1, 2, 3]),
        ]);
        let image = DecodedImage::decode(&file).unwrap();
        assert!(image.is_colour());
        let mut rgba = Vec::new();
        // Any window: colour is not windowed.
        image.render_rgba(&Window::from_min_max(100.0, 110.0), &mut rgba).unwrap();
        assert_eq!(rgba, [255, 0, 0, 255, 1, 2, 3, 255]);
        // Inverted, and opaque in the coverage layout too.
        image.render(&Window::from_min_max(100.0, 110.0), true, RgbaLayout::Coverage, &mut rgba).unwrap();
        assert_eq!(rgba, [0, 255, 255, 255, 254, 253, 252, 255]);
    }
}
