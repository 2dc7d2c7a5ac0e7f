//! A file's identity and decoded first frame in comparable form: what the `dicom-lite` tool
//! prints and the pydicom corpus test checks. Kept in the library (free of JSON and hashing
//! crates) so the tool and the test cannot drift apart.

use crate::transform::render_default;
use crate::{pixel, tags, DataSet, DicomBuffer, Error, Tag};

/// An attribute's value as reported: text, a number, or absent/unreadable.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    Text(String),
    Number(u32),
    Missing,
}

/// The attributes reported, by keyword, with whether each is numeric.
pub const ATTRIBUTES: &[(&str, Tag, bool)] = &[
    ("StudyInstanceUID", tags::STUDY_INSTANCE_UID, false),
    ("SeriesInstanceUID", tags::SERIES_INSTANCE_UID, false),
    ("SOPInstanceUID", tags::SOP_INSTANCE_UID, false),
    ("PatientID", tags::PATIENT_ID, false),
    ("Modality", tags::MODALITY, false),
    ("Rows", tags::ROWS, true),
    ("Columns", tags::COLUMNS, true),
    ("NumberOfFrames", tags::NUMBER_OF_FRAMES, true),
    ("SamplesPerPixel", tags::SAMPLES_PER_PIXEL, true),
    ("BitsAllocated", tags::BITS_ALLOCATED, true),
    ("BitsStored", tags::BITS_STORED, true),
    ("PixelRepresentation", tags::PIXEL_REPRESENTATION, true),
    ("PhotometricInterpretation", tags::PHOTOMETRIC_INTERPRETATION, false),
];

/// Everything the tool reports about one file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    pub transfer_syntax_uid: String,
    pub attributes: Vec<(&'static str, AttributeValue)>,
    /// The first frame's stored values, little endian ([`pixel::Samples::to_le_bytes`]).
    pub stored: Option<Vec<u8>>,
    /// The first frame rendered by [`render_default`].
    pub rendered: Option<Vec<u8>>,
    /// True when the whole file parsed without error.
    pub parsed: bool,
    /// The first problem: parsing, decoding or rendering.
    pub error: Option<Error>,
}

/// The reported attributes of a data set.
pub fn attributes(ds: &DataSet) -> Vec<(&'static str, AttributeValue)> {
    ATTRIBUTES
        .iter()
        .map(|&(name, tag, numeric)| {
            let value = if numeric {
                ds.u32(tag).map_or(AttributeValue::Missing, AttributeValue::Number)
            } else {
                ds.string(tag).map_or(AttributeValue::Missing, AttributeValue::Text)
            };
            (name, value)
        })
        .collect()
}

/// Parses (inflating if needed), decodes and renders the first frame.
pub fn summarize(bytes: &[u8]) -> Summary {
    let buffer = DicomBuffer::new(bytes);
    let parsed = buffer.parse_partial();
    let file = &parsed.file;
    let mut summary = Summary {
        transfer_syntax_uid: file.transfer_syntax_uid().to_string(),
        attributes: attributes(file.dataset()),
        parsed: parsed.error.is_none(),
        error: parsed.error.clone(),
        ..Summary::default()
    };
    if summary.error.is_some() {
        return summary;
    }
    match pixel::decode_frame(file, 0) {
        Ok(frame) => {
            summary.stored = Some(frame.samples.to_le_bytes());
            match render_default(file.dataset(), &frame, 0) {
                Ok(r) => summary.rendered = Some(r.pixels),
                Err(e) => summary.error = Some(e),
            }
        }
        Err(e) => summary.error = Some(e),
    }
    summary
}
