//! Frames to pixels: decode a DICOM instance, prove it belongs to the patient in context, and
//! render it to RGBA with the standard's Modality and VOI LUTs (via dicom-parser-lite).

mod identity;

pub use identity::{check_patient, IdentityMismatch};

use dicom_parser_lite::{
    pixel::{self, Frame, ImageInfo, Photometric},
    tags,
    transform::{self, ModalityLut, Window},
};
use thiserror::Error;

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

/// Transfer syntaxes whose pixels are lossy by construction.
const LOSSY_TRANSFER_SYNTAXES: &[&str] = &[
    "1.2.840.10008.1.2.4.50",  // JPEG baseline
    "1.2.840.10008.1.2.4.51",  // JPEG extended
    "1.2.840.10008.1.2.4.81",  // JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.91",  // JPEG 2000
    "1.2.840.10008.1.2.4.203", // HTJ2K
    "1.2.840.10008.1.2.4.100", // MPEG2
    "1.2.840.10008.1.2.4.102", // MPEG-4
    "1.2.840.10008.1.2.4.110", // JPEG XL
];

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
}

/// A decoded frame ready to be windowed again and again without re-decoding.
#[derive(Debug, Clone)]
pub struct DecodedImage {
    pub header: ImageHeader,
    pub info: ImageInfo,
    frame: Frame,
    /// The stored-value range, found once: every window change reuses it.
    range: Option<(i32, i32)>,
    modality: ModalityLut,
    /// The header's first window, or one spanning the modality values when there is none.
    pub default_window: Window,
    monochrome1: bool,
}

impl DecodedImage {
    /// Parses a DICOM Part 10 instance (inflating a deflated data set) and decodes its first frame.
    pub fn decode(bytes: &[u8]) -> Result<Self, ImagingError> {
        let buffer = dicom_parser_lite::DicomBuffer::new(bytes);
        let file = buffer.parse()?;
        let ds = file.dataset();
        let transfer_syntax_uid = file.transfer_syntax_uid().to_string();
        let lossy = ds.string(tags::LOSSY_IMAGE_COMPRESSION).as_deref() == Some("01")
            || LOSSY_TRANSFER_SYNTAXES.contains(&transfer_syntax_uid.as_str());
        let header = ImageHeader {
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
        };
        let frame = pixel::decode_frame(&file, 0)?;
        let info = frame.info.clone();
        let monochrome1 = match &info.photometric {
            Photometric::Monochrome1 => true,
            Photometric::Monochrome2 => false,
            other => return Err(ImagingError::Unsupported(format!("photometric interpretation {other:?}"))),
        };
        let modality = ModalityLut::for_frame(ds, 0);
        let range = transform::value_range(&frame);
        let default_window = Window::for_frame(ds, 0).unwrap_or_else(|| {
            let (min, max) = modality_range(&frame, &modality, range);
            Window::from_min_max(min, max)
        });
        Ok(DecodedImage { header, info, frame, range, modality, default_window, monochrome1 })
    }

    pub fn rows(&self) -> u32 {
        self.info.rows
    }

    pub fn columns(&self) -> u32 {
        self.info.columns
    }

    /// Renders into `out` (resized to rows × columns × 4) as RGBA.
    pub fn render_rgba(&self, window: &Window, out: &mut Vec<u8>) -> Result<(), ImagingError> {
        let len = self.info.rows as usize * self.info.columns as usize * 4;
        if out.len() != len {
            // A zeroed allocation (one memory.fill) rather than `resize`, which the size-optimised
            // build turns into a byte loop costing more than the rendering itself.
            *out = vec![0; len];
        }
        transform::render_rgba_in_range(&self.frame, &self.modality, window, self.monochrome1, self.range, out)?;
        Ok(())
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
