//! A photo of the patient (a wound, a skin lesion) as a DICOM VL Photographic Image (PS3.3
//! A.33.4), ready for STOW-RS.
//!
//! A JPEG is stored as it came, in the JPEG Baseline (or Extended) transfer syntax: its bytes
//! are the pixel data's one fragment, never decoded and re-encoded (no generation loss, and
//! the file is what the camera made). A PNG is stored lossless, as its decoded RGB pixels in
//! explicit VR little endian. Patient and study attributes come from the FHIR patient; UIDs
//! are new (2.25 form) unless the photo joins a study.

use super::writer::{part10, DataSetWriter};
use super::UploadError;
use crate::fhir::Patient;
use dicom_parser_lite::{tags, Tag};

pub const VL_PHOTOGRAPHIC_IMAGE: &str = "1.2.840.10008.5.1.4.1.1.77.1.4";
const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

/// Where on the body the photo was taken, as a code the user chose (SNOMED CT by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodySite {
    pub code: String,
    /// Coding Scheme Designator, e.g. `SCT`.
    pub scheme: String,
    pub meaning: String,
}

/// The body sites a photo can be given in the panel: SNOMED CT codes of DICOM CID 4031
/// (Common Anatomic Regions), with the code meaning written into the file.
pub const BODY_SITES: [(&str, &str); 10] = [
    ("69536005", "Head"),
    ("89545001", "Face"),
    ("45048000", "Neck"),
    ("51185008", "Chest"),
    ("113345001", "Abdomen"),
    ("77568009", "Back"),
    ("53120007", "Upper limb"),
    ("85562004", "Hand"),
    ("61685007", "Lower limb"),
    ("56459004", "Foot"),
];

impl BodySite {
    /// The panel's choice `index` of [`BODY_SITES`].
    pub fn listed(index: usize) -> Option<BodySite> {
        let (code, meaning) = BODY_SITES.get(index)?;
        Some(BodySite { code: code.to_string(), scheme: "SCT".into(), meaning: meaning.to_string() })
    }
}

/// What the photo is of, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoContext {
    pub patient: Patient,
    /// The DICOM Patient ID written: one of the patient's identifiers (the one their images carry).
    pub patient_id: String,
    /// An existing study to join, with its accession; else a new study.
    pub study_uid: Option<String>,
    pub accession: Option<String>,
    pub body_site: Option<BodySite>,
    /// `YYYYMMDD` and `HHMMSS` of the picture.
    pub date: String,
    pub time: String,
    pub description: Option<String>,
}

/// The picture: a camera's JPEG file, or decoded RGB pixels (a PNG).
pub enum Picture<'a> {
    Jpeg(&'a [u8]),
    Rgb { width: u32, height: u32, pixels: &'a [u8] },
}

/// The new instance and its UIDs.
#[derive(Debug, Clone, PartialEq)]
pub struct Photo {
    pub part10: Vec<u8>,
    pub study_uid: String,
    pub series_uid: String,
    pub sop_instance_uid: String,
}

/// What the frame header of a JPEG says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegFrame {
    pub width: u16,
    pub height: u16,
    pub components: u8,
    /// SOF1 (12-bit capable extended) rather than SOF0 (baseline).
    pub extended: bool,
    /// The luminance is subsampled (4:2:2 or 4:2:0): YBR_FULL_422.
    pub subsampled: bool,
    /// An Adobe APP14 marker says the components are RGB, not YCbCr.
    pub rgb: bool,
}

/// Reads a JPEG's markers up to its frame header. Only sequential 8-bit Huffman JPEGs
/// (baseline or extended) have a DICOM transfer syntax to be kept in unchanged.
pub fn jpeg_frame(bytes: &[u8]) -> Result<JpegFrame, UploadError> {
    let err = |m: &str| UploadError::Jpeg(m.to_string());
    if bytes.get(..2) != Some(&[0xFF, 0xD8]) {
        return Err(err("it does not start with a JPEG marker"));
    }
    let mut at = 2;
    let mut rgb = false;
    while at + 4 <= bytes.len() {
        if bytes[at] != 0xFF {
            return Err(err("a marker is broken"));
        }
        let marker = bytes[at + 1];
        if marker == 0xFF {
            at += 1;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        let segment = bytes.get(at + 4..at + 2 + len).ok_or_else(|| err("a segment runs past the end"))?;
        match marker {
            // Adobe APP14: transform 0 means the components are RGB.
            0xEE if segment.starts_with(b"Adobe") && segment.len() >= 12 => rgb = segment[11] == 0,
            0xC0 | 0xC1 => {
                if segment.len() < 6 || segment[0] != 8 {
                    return Err(err("only 8-bit JPEGs are kept as they are"));
                }
                let height = u16::from_be_bytes([segment[1], segment[2]]);
                let width = u16::from_be_bytes([segment[3], segment[4]]);
                let components = segment[5];
                if width == 0 || height == 0 || !matches!(components, 1 | 3) {
                    return Err(err("its size or colour components are not usable"));
                }
                let sampling = segment.get(7).copied().unwrap_or(0x11);
                let subsampled = components == 3 && sampling != 0x11;
                return Ok(JpegFrame { width, height, components, extended: marker == 0xC1, subsampled, rgb });
            }
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(err("a progressive, lossless or arithmetic-coded JPEG has no transfer syntax to be kept in"));
            }
            0xDA | 0xD9 => break,
            _ => {}
        }
        at += 2 + len;
    }
    Err(err("no frame header"))
}

/// DICOM PN from the FHIR name: `Family^Given^Middle`.
fn person_name(patient: &Patient) -> String {
    let mut name = patient.family.clone().unwrap_or_default();
    if !patient.given.is_empty() {
        name.push('^');
        name.push_str(&patient.given.join(" "));
    }
    name
}

/// FHIR `1970-01-31` as DICOM `19700131`; anything else is left out.
fn dicom_date(fhir: Option<&str>) -> String {
    let digits: String = fhir.unwrap_or_default().chars().filter(char::is_ascii_digit).collect();
    if digits.len() == 8 {
        digits
    } else {
        String::new()
    }
}

fn dicom_sex(gender: Option<&str>) -> &'static str {
    match gender {
        Some("male") => "M",
        Some("female") => "F",
        Some("other") => "O",
        _ => "",
    }
}

/// Builds the VL Photographic Image. `random` gives 16 fresh random bytes per UID.
pub fn vl_photo(picture: Picture<'_>, context: &PhotoContext, random: &mut dyn FnMut() -> [u8; 16]) -> Result<Photo, UploadError> {
    let study_uid = context.study_uid.clone().unwrap_or_else(|| super::uid_from_random(random()));
    let series_uid = super::uid_from_random(random());
    let sop_uid = super::uid_from_random(random());
    // (rows, columns, samples, photometric, transfer syntax, lossy)
    let (rows, columns, samples, photometric, syntax, lossy) = match &picture {
        Picture::Jpeg(bytes) => {
            let frame = jpeg_frame(bytes)?;
            let photometric = match (frame.components, frame.rgb, frame.subsampled) {
                (1, _, _) => "MONOCHROME2",
                (_, true, _) => "RGB",
                (_, false, true) => "YBR_FULL_422",
                (_, false, false) => "YBR_FULL",
            };
            let syntax = if frame.extended { JPEG_EXTENDED } else { JPEG_BASELINE };
            (frame.height, frame.width, u16::from(frame.components), photometric, syntax, true)
        }
        Picture::Rgb { width, height, pixels } => {
            let fits = u16::try_from(*width).is_ok() && u16::try_from(*height).is_ok();
            if !fits || pixels.len() as u64 != u64::from(*width) * u64::from(*height) * 3 || pixels.is_empty() {
                return Err(UploadError::Pixels { got: pixels.len(), width: *width, height: *height });
            }
            (*height as u16, *width as u16, 3, "RGB", EXPLICIT_LE, false)
        }
    };
    let mut ds = DataSetWriter::default();
    ds.text(tags::SPECIFIC_CHARACTER_SET, "CS", "ISO_IR 192")
        .text(tags::IMAGE_TYPE, "CS", "ORIGINAL\\PRIMARY")
        .text(tags::SOP_CLASS_UID, "UI", VL_PHOTOGRAPHIC_IMAGE)
        .text(tags::SOP_INSTANCE_UID, "UI", &sop_uid)
        .text(tags::STUDY_DATE, "DA", &context.date)
        .text(tags::SERIES_DATE, "DA", &context.date)
        .text(CONTENT_DATE, "DA", &context.date)
        .text(tags::STUDY_TIME, "TM", &context.time)
        .text(CONTENT_TIME, "TM", &context.time)
        .text(tags::ACCESSION_NUMBER, "SH", context.accession.as_deref().unwrap_or_default())
        .text(tags::MODALITY, "CS", "XC")
        .text(tags::MANUFACTURER, "LO", "")
        .text(REFERRING_PHYSICIAN_NAME, "PN", "")
        .text(tags::STUDY_DESCRIPTION, "LO", context.description.as_deref().unwrap_or_default())
        .text(tags::SERIES_DESCRIPTION, "LO", "Photo");
    let sites: Vec<DataSetWriter> = context
        .body_site
        .iter()
        .map(|site| {
            let mut item = DataSetWriter::default();
            item.text(tags::CODE_VALUE, "SH", &site.code).text(tags::CODING_SCHEME_DESIGNATOR, "SH", &site.scheme).text(
                tags::CODE_MEANING,
                "LO",
                &site.meaning,
            );
            item
        })
        .collect();
    ds.sequence(ANATOMIC_REGION_SEQUENCE, sites)
        .text(tags::PATIENT_NAME, "PN", &person_name(&context.patient))
        .text(tags::PATIENT_ID, "LO", &context.patient_id)
        .text(tags::PATIENT_BIRTH_DATE, "DA", &dicom_date(context.patient.birth_date.as_deref()))
        .text(tags::PATIENT_SEX, "CS", dicom_sex(context.patient.gender.as_deref()))
        .text(tags::STUDY_INSTANCE_UID, "UI", &study_uid)
        .text(tags::SERIES_INSTANCE_UID, "UI", &series_uid)
        .text(STUDY_ID, "SH", "")
        .text(tags::SERIES_NUMBER, "IS", "1")
        .text(tags::INSTANCE_NUMBER, "IS", "1")
        .text(PATIENT_ORIENTATION, "CS", "")
        .us(tags::SAMPLES_PER_PIXEL, samples)
        .text(tags::PHOTOMETRIC_INTERPRETATION, "CS", photometric);
    if samples > 1 {
        ds.us(tags::PLANAR_CONFIGURATION, 0);
    }
    ds.us(tags::ROWS, rows)
        .us(tags::COLUMNS, columns)
        .us(tags::BITS_ALLOCATED, 8)
        .us(tags::BITS_STORED, 8)
        .us(tags::HIGH_BIT, 7)
        .us(tags::PIXEL_REPRESENTATION, 0);
    ds.text(tags::LOSSY_IMAGE_COMPRESSION, "CS", if lossy { "01" } else { "00" });
    if lossy {
        ds.text(LOSSY_IMAGE_COMPRESSION_METHOD, "CS", "ISO_10918_1");
    }
    ds.sequence(ACQUISITION_CONTEXT_SEQUENCE, Vec::new());
    match picture {
        Picture::Jpeg(bytes) => ds.encapsulated(&[bytes]),
        Picture::Rgb { pixels, .. } => ds.put(tags::PIXEL_DATA, "OB", pixels),
    };
    Ok(Photo { part10: part10(VL_PHOTOGRAPHIC_IMAGE, &sop_uid, syntax, ds.bytes()), study_uid, series_uid, sop_instance_uid: sop_uid })
}

const CONTENT_DATE: Tag = Tag(0x0008, 0x0023);
const CONTENT_TIME: Tag = Tag(0x0008, 0x0033);
const REFERRING_PHYSICIAN_NAME: Tag = Tag(0x0008, 0x0090);
const ANATOMIC_REGION_SEQUENCE: Tag = Tag(0x0008, 0x2218);
const STUDY_ID: Tag = Tag(0x0020, 0x0010);
const PATIENT_ORIENTATION: Tag = Tag(0x0020, 0x0020);
const LOSSY_IMAGE_COMPRESSION_METHOD: Tag = Tag(0x0028, 0x2114);
const ACQUISITION_CONTEXT_SEQUENCE: Tag = Tag(0x0040, 0x0555);
