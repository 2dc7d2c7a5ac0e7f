//! Value representations, and the small dictionary implicit-VR data sets need.

use crate::{tags, Tag};
use std::fmt;

/// A value representation: the two ASCII letters of the standard (`b"US"`, `b"DS"`, ...).
/// A newtype rather than an enum so an unexpected code in a damaged file can still be shown.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vr(pub [u8; 2]);

macro_rules! vrs {
    ($($name:ident),* $(,)?) => {
        impl Vr {
            $(pub const $name: Vr = Vr([stringify!($name).as_bytes()[0], stringify!($name).as_bytes()[1]]);)*
            /// Every VR of PS3.5 Table 6.2-1.
            const ALL: &'static [Vr] = &[$(Vr::$name),*];
        }
    };
}

vrs!(
    AE, AS, AT, CS, DA, DS, DT, FD, FL, IS, LO, LT, OB, OD, OF, OL, OV, OW, PN, SH, SL, SQ, SS, ST, SV, TM, UC, UI, UL, UN, UR, US, UT, UV
);

impl Vr {
    /// The two letters, or `"??"` for bytes that are not ASCII.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// True for the standard's codes; explicit-VR parsing rejects anything else.
    pub fn is_known(self) -> bool {
        Vr::ALL.contains(&self)
    }

    /// VRs whose explicit encoding has 2 reserved bytes and a 32-bit length (PS3.5 7.1.2).
    pub fn has_long_length(self) -> bool {
        matches!(self, Vr::OB | Vr::OD | Vr::OF | Vr::OL | Vr::OV | Vr::OW | Vr::SQ | Vr::SV | Vr::UC | Vr::UN | Vr::UR | Vr::UT | Vr::UV)
    }

    /// Binary numbers, decoded with the data set's byte order.
    pub(crate) fn is_binary_number(self) -> bool {
        matches!(self, Vr::US | Vr::SS | Vr::UL | Vr::SL | Vr::FL | Vr::FD | Vr::SV | Vr::UV)
    }

    /// Bulk binary data that never holds text.
    pub(crate) fn is_bulk(self) -> bool {
        matches!(self, Vr::OB | Vr::OD | Vr::OF | Vr::OL | Vr::OV | Vr::OW | Vr::AT | Vr::SQ)
    }

    /// Text VRs where a backslash is data, not a value separator.
    pub(crate) fn is_single_valued_text(self) -> bool {
        matches!(self, Vr::ST | Vr::LT | Vr::UT | Vr::UR)
    }

    /// Text VRs whose leading spaces are padding rather than content.
    pub(crate) fn trims_leading_spaces(self) -> bool {
        matches!(self, Vr::AE | Vr::CS | Vr::DS | Vr::IS | Vr::DA | Vr::DT | Vr::TM | Vr::SH | Vr::LO | Vr::UI)
    }

    /// The VR of a tag in an implicit-VR data set, where the file does not say. Tags this
    /// dictionary does not know are `UN`; their values are still available as bytes and text.
    pub(crate) fn implicit(tag: Tag) -> Vr {
        let Tag(group, element) = tag;
        if element == 0x0000 {
            return Vr::UL; // group length
        }
        if group & 1 == 1 && (0x0010..=0x00FF).contains(&element) {
            return Vr::LO; // private creator
        }
        match tag {
            tags::SPECIFIC_CHARACTER_SET
            | tags::IMAGE_TYPE
            | tags::MODALITY
            | tags::PATIENT_SEX
            | tags::PHOTOMETRIC_INTERPRETATION
            | tags::RESCALE_TYPE
            | tags::VOI_LUT_FUNCTION
            | tags::LOSSY_IMAGE_COMPRESSION
            | tags::PRESENTATION_LUT_SHAPE
            | tags::GRAPHIC_LAYER
            | tags::BOUNDING_BOX_ANNOTATION_UNITS
            | tags::ANCHOR_POINT_ANNOTATION_UNITS
            | tags::GRAPHIC_ANNOTATION_UNITS
            | tags::ANCHOR_POINT_VISIBILITY
            | tags::GRAPHIC_TYPE
            | tags::GRAPHIC_FILLED
            | tags::IMAGE_HORIZONTAL_FLIP
            | tags::PRESENTATION_SIZE_MODE
            | tags::CONTENT_LABEL
            | tags::PATIENT_ORIENTATION => Vr::CS,
            tags::UNFORMATTED_TEXT_VALUE => Vr::ST,
            tags::CONTENT_DESCRIPTION => Vr::LO,
            tags::BOUNDING_BOX_TOP_LEFT_HAND_CORNER
            | tags::BOUNDING_BOX_BOTTOM_RIGHT_HAND_CORNER
            | tags::ANCHOR_POINT
            | tags::GRAPHIC_DATA
            | tags::PRESENTATION_PIXEL_MAGNIFICATION_RATIO => Vr::FL,
            tags::DISPLAYED_AREA_TOP_LEFT_HAND_CORNER | tags::DISPLAYED_AREA_BOTTOM_RIGHT_HAND_CORNER => Vr::SL,
            tags::GRAPHIC_DIMENSIONS | tags::NUMBER_OF_GRAPHIC_POINTS | tags::IMAGE_ROTATION => Vr::US,
            tags::REFERENCED_FRAME_NUMBER => Vr::IS,
            tags::MEDIA_STORAGE_SOP_CLASS_UID
            | tags::MEDIA_STORAGE_SOP_INSTANCE_UID
            | tags::TRANSFER_SYNTAX_UID
            | tags::IMPLEMENTATION_CLASS_UID
            | tags::SOP_CLASS_UID
            | tags::SOP_INSTANCE_UID
            | tags::STUDY_INSTANCE_UID
            | tags::SERIES_INSTANCE_UID
            | tags::FRAME_OF_REFERENCE_UID
            | Tag(0x0008, 0x1150)
            | Tag(0x0008, 0x1155) => Vr::UI,
            tags::STUDY_DATE | tags::SERIES_DATE | Tag(0x0008, 0x0022) | Tag(0x0008, 0x0023) | tags::PATIENT_BIRTH_DATE => Vr::DA,
            tags::STUDY_TIME | Tag(0x0008, 0x0031) | Tag(0x0008, 0x0032) | Tag(0x0008, 0x0033) => Vr::TM,
            tags::ACCESSION_NUMBER | Tag(0x0020, 0x0010) | Tag(0x0008, 0x0100) | Tag(0x0008, 0x0102) => Vr::SH,
            tags::MANUFACTURER
            | tags::STUDY_DESCRIPTION
            | tags::SERIES_DESCRIPTION
            | tags::PATIENT_ID
            | Tag(0x0008, 0x0104)
            | Tag(0x0008, 0x1090) => Vr::LO,
            tags::PATIENT_NAME | Tag(0x0008, 0x0090) | tags::CONTENT_CREATOR_NAME => Vr::PN,
            tags::SLICE_THICKNESS
            | tags::IMAGE_POSITION_PATIENT
            | tags::IMAGE_ORIENTATION_PATIENT
            | tags::PIXEL_SPACING
            | tags::WINDOW_CENTER
            | tags::WINDOW_WIDTH
            | tags::RESCALE_INTERCEPT
            | tags::RESCALE_SLOPE
            | tags::PRESENTATION_PIXEL_SPACING
            | Tag(0x0018, 0x0088)
            | Tag(0x0020, 0x1041)
            | Tag(0x0018, 0x0060)
            | Tag(0x0018, 0x1164) => Vr::DS,
            tags::SERIES_NUMBER | tags::INSTANCE_NUMBER | tags::NUMBER_OF_FRAMES => Vr::IS,
            tags::SAMPLES_PER_PIXEL
            | tags::PLANAR_CONFIGURATION
            | tags::ROWS
            | tags::COLUMNS
            | tags::BITS_ALLOCATED
            | tags::BITS_STORED
            | tags::HIGH_BIT
            | tags::PIXEL_REPRESENTATION => Vr::US,
            tags::PIXEL_DATA | Tag(0x0028, 0x1201) | Tag(0x0028, 0x1202) | Tag(0x0028, 0x1203) => Vr::OW,
            Tag(0xFFFC, 0xFFFC) => Vr::OB,
            t if is_known_sequence(t) => Vr::SQ,
            _ => Vr::UN,
        }
    }
}

/// Sequences an implicit-VR file may contain with a defined length (undefined-length ones are
/// recognised from the length alone).
fn is_known_sequence(tag: Tag) -> bool {
    matches!(
        tag,
        tags::REFERENCED_IMAGE_SEQUENCE
            | tags::MODALITY_LUT_SEQUENCE
            | tags::VOI_LUT_SEQUENCE
            | tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE
            | tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE
            | tags::SOFTCOPY_VOI_LUT_SEQUENCE
            | tags::GRAPHIC_ANNOTATION_SEQUENCE
            | tags::TEXT_OBJECT_SEQUENCE
            | tags::GRAPHIC_OBJECT_SEQUENCE
            | tags::DISPLAYED_AREA_SELECTION_SEQUENCE
            | Tag(0x0070, 0x0060) // Graphic Layer
            | Tag(0x0008, 0x1032) // Procedure Code
            | Tag(0x0008, 0x1110) // Referenced Study
            | Tag(0x0008, 0x1111) // Referenced Performed Procedure Step
            | Tag(0x0008, 0x1115) // Referenced Series
            | Tag(0x0008, 0x1199) // Referenced SOP
            | Tag(0x0008, 0x2112) // Source Image
            | Tag(0x0008, 0x2218) // Anatomic Region
            | Tag(0x0008, 0x9124) // Derivation Image
            | Tag(0x0010, 0x1002) // Other Patient IDs
            | Tag(0x0020, 0x9111) // Frame Content
            | Tag(0x0020, 0x9113) // Plane Position (Patient)
            | Tag(0x0020, 0x9116) // Plane Orientation (Patient)
            | Tag(0x0028, 0x9110) // Pixel Measures
            | Tag(0x0028, 0x9132) // Frame VOI LUT
            | Tag(0x0028, 0x9145) // Pixel Value Transformation
            | Tag(0x0032, 0x1064) // Requested Procedure Code
            | Tag(0x0040, 0x0100) // Scheduled Procedure Step
            | Tag(0x0040, 0x0275) // Request Attributes
            | Tag(0x0040, 0x08EA) // Measurement Units Code
            | Tag(0x0040, 0x9096) // Real World Value Mapping
            | Tag(0x0040, 0xA073) // Verifying Observer
            | Tag(0x0040, 0xA168) // Concept Code
            | Tag(0x0040, 0xA300) // Measured Value
            | Tag(0x0040, 0xA372) // Performed Procedure Code
            | Tag(0x0040, 0xA375) // Current Requested Procedure Evidence
            | Tag(0x0040, 0xA385) // Pertinent Other Evidence
            | Tag(0x0040, 0xA504) // Content Template
            | Tag(0x0040, 0xA043) // Concept Name Code
            | Tag(0x0040, 0xA730) // Content
            | Tag(0x0088, 0x0200) // Icon Image
    )
}

impl fmt::Debug for Vr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(&self.0) {
            Ok(s) if self.0.iter().all(u8::is_ascii_graphic) => f.write_str(s),
            _ => write!(f, "{:02X}{:02X}", self.0[0], self.0[1]),
        }
    }
}

impl fmt::Display for Vr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
