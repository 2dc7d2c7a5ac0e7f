//! Named tags for the attributes a viewer reads. Not a full dictionary: add names as needed.

use crate::Tag;

// File Meta Information (group 0002).
pub const FILE_META_INFORMATION_GROUP_LENGTH: Tag = Tag(0x0002, 0x0000);
pub const MEDIA_STORAGE_SOP_CLASS_UID: Tag = Tag(0x0002, 0x0002);
pub const MEDIA_STORAGE_SOP_INSTANCE_UID: Tag = Tag(0x0002, 0x0003);
pub const TRANSFER_SYNTAX_UID: Tag = Tag(0x0002, 0x0010);
pub const IMPLEMENTATION_CLASS_UID: Tag = Tag(0x0002, 0x0012);

// Identification.
pub const SPECIFIC_CHARACTER_SET: Tag = Tag(0x0008, 0x0005);
pub const IMAGE_TYPE: Tag = Tag(0x0008, 0x0008);
pub const SOP_CLASS_UID: Tag = Tag(0x0008, 0x0016);
pub const SOP_INSTANCE_UID: Tag = Tag(0x0008, 0x0018);
pub const STUDY_DATE: Tag = Tag(0x0008, 0x0020);
pub const SERIES_DATE: Tag = Tag(0x0008, 0x0021);
pub const STUDY_TIME: Tag = Tag(0x0008, 0x0030);
pub const ACCESSION_NUMBER: Tag = Tag(0x0008, 0x0050);
pub const MODALITY: Tag = Tag(0x0008, 0x0060);
pub const MANUFACTURER: Tag = Tag(0x0008, 0x0070);
pub const STUDY_DESCRIPTION: Tag = Tag(0x0008, 0x1030);
pub const SERIES_DESCRIPTION: Tag = Tag(0x0008, 0x103E);
pub const REFERENCED_IMAGE_SEQUENCE: Tag = Tag(0x0008, 0x1140);

// Patient.
pub const PATIENT_NAME: Tag = Tag(0x0010, 0x0010);
pub const PATIENT_ID: Tag = Tag(0x0010, 0x0020);
pub const PATIENT_BIRTH_DATE: Tag = Tag(0x0010, 0x0030);
pub const PATIENT_SEX: Tag = Tag(0x0010, 0x0040);

// Acquisition and geometry.
pub const SLICE_THICKNESS: Tag = Tag(0x0018, 0x0050);
pub const STUDY_INSTANCE_UID: Tag = Tag(0x0020, 0x000D);
pub const SERIES_INSTANCE_UID: Tag = Tag(0x0020, 0x000E);
pub const SERIES_NUMBER: Tag = Tag(0x0020, 0x0011);
pub const INSTANCE_NUMBER: Tag = Tag(0x0020, 0x0013);
pub const IMAGE_POSITION_PATIENT: Tag = Tag(0x0020, 0x0032);
pub const IMAGE_ORIENTATION_PATIENT: Tag = Tag(0x0020, 0x0037);
pub const FRAME_OF_REFERENCE_UID: Tag = Tag(0x0020, 0x0052);

// Image pixel module.
pub const SAMPLES_PER_PIXEL: Tag = Tag(0x0028, 0x0002);
pub const PHOTOMETRIC_INTERPRETATION: Tag = Tag(0x0028, 0x0004);
pub const PLANAR_CONFIGURATION: Tag = Tag(0x0028, 0x0006);
pub const NUMBER_OF_FRAMES: Tag = Tag(0x0028, 0x0008);
pub const ROWS: Tag = Tag(0x0028, 0x0010);
pub const COLUMNS: Tag = Tag(0x0028, 0x0011);
pub const PIXEL_SPACING: Tag = Tag(0x0028, 0x0030);
pub const BITS_ALLOCATED: Tag = Tag(0x0028, 0x0100);
pub const BITS_STORED: Tag = Tag(0x0028, 0x0101);
pub const HIGH_BIT: Tag = Tag(0x0028, 0x0102);
pub const PIXEL_REPRESENTATION: Tag = Tag(0x0028, 0x0103);
pub const WINDOW_CENTER: Tag = Tag(0x0028, 0x1050);
pub const WINDOW_WIDTH: Tag = Tag(0x0028, 0x1051);
pub const RESCALE_INTERCEPT: Tag = Tag(0x0028, 0x1052);
pub const RESCALE_SLOPE: Tag = Tag(0x0028, 0x1053);
pub const RESCALE_TYPE: Tag = Tag(0x0028, 0x1054);
pub const VOI_LUT_FUNCTION: Tag = Tag(0x0028, 0x1056);
pub const LOSSY_IMAGE_COMPRESSION: Tag = Tag(0x0028, 0x2110);
pub const RED_PALETTE_COLOR_LUT_DESCRIPTOR: Tag = Tag(0x0028, 0x1101);
pub const GREEN_PALETTE_COLOR_LUT_DESCRIPTOR: Tag = Tag(0x0028, 0x1102);
pub const BLUE_PALETTE_COLOR_LUT_DESCRIPTOR: Tag = Tag(0x0028, 0x1103);
pub const RED_PALETTE_COLOR_LUT_DATA: Tag = Tag(0x0028, 0x1201);
pub const GREEN_PALETTE_COLOR_LUT_DATA: Tag = Tag(0x0028, 0x1202);
pub const BLUE_PALETTE_COLOR_LUT_DATA: Tag = Tag(0x0028, 0x1203);
pub const SEGMENTED_RED_PALETTE_COLOR_LUT_DATA: Tag = Tag(0x0028, 0x1221);
pub const SEGMENTED_GREEN_PALETTE_COLOR_LUT_DATA: Tag = Tag(0x0028, 0x1222);
pub const SEGMENTED_BLUE_PALETTE_COLOR_LUT_DATA: Tag = Tag(0x0028, 0x1223);
pub const MODALITY_LUT_SEQUENCE: Tag = Tag(0x0028, 0x3000);
pub const LUT_DESCRIPTOR: Tag = Tag(0x0028, 0x3002);
pub const MODALITY_LUT_TYPE: Tag = Tag(0x0028, 0x3004);
pub const LUT_EXPLANATION: Tag = Tag(0x0028, 0x3003);
pub const LUT_DATA: Tag = Tag(0x0028, 0x3006);
pub const VOI_LUT_SEQUENCE: Tag = Tag(0x0028, 0x3010);

// Enhanced multi-frame functional groups.
pub const SHARED_FUNCTIONAL_GROUPS_SEQUENCE: Tag = Tag(0x5200, 0x9229);
pub const PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE: Tag = Tag(0x5200, 0x9230);
pub const PIXEL_VALUE_TRANSFORMATION_SEQUENCE: Tag = Tag(0x0028, 0x9145);
pub const PIXEL_MEASURES_SEQUENCE: Tag = Tag(0x0028, 0x9110);
// Projection radiography calibration.
pub const IMAGER_PIXEL_SPACING: Tag = Tag(0x0018, 0x1164);
pub const ESTIMATED_RADIOGRAPHIC_MAGNIFICATION_FACTOR: Tag = Tag(0x0018, 0x1114);
pub const FRAME_VOI_LUT_SEQUENCE: Tag = Tag(0x0028, 0x9132);

pub const EXTENDED_OFFSET_TABLE: Tag = Tag(0x7FE0, 0x0001);
pub const EXTENDED_OFFSET_TABLE_LENGTHS: Tag = Tag(0x7FE0, 0x0002);
// Retrieve and store answers (PS3.18) and cine.
pub const NUMBER_OF_SERIES_RELATED_INSTANCES: Tag = Tag(0x0020, 0x1209);
pub const REFERENCED_SOP_SEQUENCE: Tag = Tag(0x0008, 0x1199);
pub const FAILED_SOP_SEQUENCE: Tag = Tag(0x0008, 0x1198);
pub const REFERENCED_SOP_INSTANCE_UID: Tag = Tag(0x0008, 0x1155);
pub const FAILURE_REASON: Tag = Tag(0x0008, 0x1197);
pub const FRAME_TIME: Tag = Tag(0x0018, 0x1063);

pub const PATIENT_ORIENTATION: Tag = Tag(0x0020, 0x0020);

pub const PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);

// Structured documents: what a Key Object Selection (PS3.3 A.35.4) names.
pub const REFERENCED_SERIES_SEQUENCE: Tag = Tag(0x0008, 0x1115);
pub const REFERENCED_SOP_CLASS_UID: Tag = Tag(0x0008, 0x1150);
pub const CODE_VALUE: Tag = Tag(0x0008, 0x0100);
pub const CODING_SCHEME_DESIGNATOR: Tag = Tag(0x0008, 0x0102);
pub const CODE_MEANING: Tag = Tag(0x0008, 0x0104);
pub const RELATIONSHIP_TYPE: Tag = Tag(0x0040, 0xA010);
pub const VALUE_TYPE: Tag = Tag(0x0040, 0xA040);
pub const CONCEPT_NAME_CODE_SEQUENCE: Tag = Tag(0x0040, 0xA043);
pub const CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE: Tag = Tag(0x0040, 0xA375);
pub const CONTENT_SEQUENCE: Tag = Tag(0x0040, 0xA730);

// Structured reports (PS3.3 C.17.3): the content items' values.
pub const CONTENT_DATE: Tag = Tag(0x0008, 0x0023);
pub const MEASUREMENT_UNITS_CODE_SEQUENCE: Tag = Tag(0x0040, 0x08EA);
pub const DATETIME: Tag = Tag(0x0040, 0xA120);
pub const DATE: Tag = Tag(0x0040, 0xA121);
pub const TIME: Tag = Tag(0x0040, 0xA122);
pub const PERSON_NAME: Tag = Tag(0x0040, 0xA123);
pub const UID: Tag = Tag(0x0040, 0xA124);
pub const TEXT_VALUE: Tag = Tag(0x0040, 0xA160);
pub const CONCEPT_CODE_SEQUENCE: Tag = Tag(0x0040, 0xA168);
pub const MEASURED_VALUE_SEQUENCE: Tag = Tag(0x0040, 0xA300);
pub const NUMERIC_VALUE: Tag = Tag(0x0040, 0xA30A);
pub const COMPLETION_FLAG: Tag = Tag(0x0040, 0xA491);
pub const VERIFICATION_FLAG: Tag = Tag(0x0040, 0xA493);

// Display Shutter (PS3.3 C.7.6.11).
pub const SHUTTER_SHAPE: Tag = Tag(0x0018, 0x1600);
pub const SHUTTER_LEFT_VERTICAL_EDGE: Tag = Tag(0x0018, 0x1602);
pub const SHUTTER_RIGHT_VERTICAL_EDGE: Tag = Tag(0x0018, 0x1604);
pub const SHUTTER_UPPER_HORIZONTAL_EDGE: Tag = Tag(0x0018, 0x1606);
pub const SHUTTER_LOWER_HORIZONTAL_EDGE: Tag = Tag(0x0018, 0x1608);
pub const CENTER_OF_CIRCULAR_SHUTTER: Tag = Tag(0x0018, 0x1610);
pub const RADIUS_OF_CIRCULAR_SHUTTER: Tag = Tag(0x0018, 0x1612);
pub const VERTICES_OF_THE_POLYGONAL_SHUTTER: Tag = Tag(0x0018, 0x1620);
pub const SHUTTER_PRESENTATION_VALUE: Tag = Tag(0x0018, 0x1622);

// Grayscale Softcopy Presentation State (PS3.3 A.33.1): VOI, spatial transformation, displayed
// area, graphic annotations.
pub const SOFTCOPY_VOI_LUT_SEQUENCE: Tag = Tag(0x0028, 0x3110);
pub const REFERENCED_FRAME_NUMBER: Tag = Tag(0x0008, 0x1160);
pub const PRESENTATION_LUT_SHAPE: Tag = Tag(0x2050, 0x0020);
pub const GRAPHIC_ANNOTATION_SEQUENCE: Tag = Tag(0x0070, 0x0001);
pub const GRAPHIC_LAYER: Tag = Tag(0x0070, 0x0002);
pub const BOUNDING_BOX_ANNOTATION_UNITS: Tag = Tag(0x0070, 0x0003);
pub const ANCHOR_POINT_ANNOTATION_UNITS: Tag = Tag(0x0070, 0x0004);
pub const GRAPHIC_ANNOTATION_UNITS: Tag = Tag(0x0070, 0x0005);
pub const UNFORMATTED_TEXT_VALUE: Tag = Tag(0x0070, 0x0006);
pub const TEXT_OBJECT_SEQUENCE: Tag = Tag(0x0070, 0x0008);
pub const GRAPHIC_OBJECT_SEQUENCE: Tag = Tag(0x0070, 0x0009);
pub const BOUNDING_BOX_TOP_LEFT_HAND_CORNER: Tag = Tag(0x0070, 0x0010);
pub const BOUNDING_BOX_BOTTOM_RIGHT_HAND_CORNER: Tag = Tag(0x0070, 0x0011);
pub const ANCHOR_POINT: Tag = Tag(0x0070, 0x0014);
pub const ANCHOR_POINT_VISIBILITY: Tag = Tag(0x0070, 0x0015);
pub const GRAPHIC_DIMENSIONS: Tag = Tag(0x0070, 0x0020);
pub const NUMBER_OF_GRAPHIC_POINTS: Tag = Tag(0x0070, 0x0021);
pub const GRAPHIC_DATA: Tag = Tag(0x0070, 0x0022);
pub const GRAPHIC_TYPE: Tag = Tag(0x0070, 0x0023);
pub const GRAPHIC_FILLED: Tag = Tag(0x0070, 0x0024);
pub const IMAGE_HORIZONTAL_FLIP: Tag = Tag(0x0070, 0x0041);
pub const IMAGE_ROTATION: Tag = Tag(0x0070, 0x0042);
pub const DISPLAYED_AREA_TOP_LEFT_HAND_CORNER: Tag = Tag(0x0070, 0x0052);
pub const DISPLAYED_AREA_BOTTOM_RIGHT_HAND_CORNER: Tag = Tag(0x0070, 0x0053);
pub const DISPLAYED_AREA_SELECTION_SEQUENCE: Tag = Tag(0x0070, 0x005A);
pub const PRESENTATION_SIZE_MODE: Tag = Tag(0x0070, 0x0100);
pub const PRESENTATION_PIXEL_SPACING: Tag = Tag(0x0070, 0x0101);
pub const PRESENTATION_PIXEL_MAGNIFICATION_RATIO: Tag = Tag(0x0070, 0x0103);
pub const CONTENT_LABEL: Tag = Tag(0x0070, 0x0080);
pub const CONTENT_DESCRIPTION: Tag = Tag(0x0070, 0x0081);
pub const CONTENT_CREATOR_NAME: Tag = Tag(0x0070, 0x0084);

// Encapsulation and sequence structure (no VR, always a 4-byte length).
pub const ITEM: Tag = Tag(0xFFFE, 0xE000);
pub const ITEM_DELIMITATION_ITEM: Tag = Tag(0xFFFE, 0xE00D);
pub const SEQUENCE_DELIMITATION_ITEM: Tag = Tag(0xFFFE, 0xE0DD);
