//! DICOM Structured Reports (PS3.3 C.17.3; Basic Text, Enhanced and Comprehensive SR, and
//! measurement reports of template TID 1500) as a tree of text a clinician can read beside
//! the images: each content item's concept name and its value, numbers with their units.
//!
//! Only text comes out: the view shows it as DOM text, never as markup. The document is checked
//! against the patient in context like an image, and a hostile nesting is cut off, not followed.

use super::{check_document, DocumentError, ImagingError, PatientContext};
use dicom_parser_lite::{tags, DataSet};
use serde::Serialize;

/// The SR storage classes read as a text tree: Basic Text, Enhanced, Comprehensive,
/// Comprehensive 3D and Extensible SR.
pub const STRUCTURED_REPORT_SOP_CLASSES: [&str; 5] = [
    "1.2.840.10008.5.1.4.1.1.88.11",
    "1.2.840.10008.5.1.4.1.1.88.22",
    "1.2.840.10008.5.1.4.1.1.88.33",
    "1.2.840.10008.5.1.4.1.1.88.34",
    "1.2.840.10008.5.1.4.1.1.88.35",
];

/// Deeper content is left out: TID 1500 nests five levels, nothing real needs 16.
const MAX_DEPTH: usize = 16;
/// More content items than this are left out, and the report says it is incomplete.
const MAX_ITEMS: usize = 5000;

/// A content item's value type (PS3.3 C.17.3.2.1), as far as the tree tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ItemKind {
    Container,
    Text,
    Code,
    Num,
    Date,
    Time,
    DateTime,
    PersonName,
    Uid,
    /// IMAGE, COMPOSITE, WAVEFORM: a reference to another instance.
    Reference,
    /// SCOORD, SCOORD3D, TCOORD: a region or a time range.
    Coordinates,
    Other,
}

/// One content item: what it is about (its concept name) and what it says.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportItem {
    pub kind: ItemKind,
    pub concept: Option<String>,
    pub value: Option<String>,
    pub children: Vec<ReportItem>,
}

/// A structured report as text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub sop_instance_uid: String,
    /// The document title, e.g. "Imaging Measurement Report".
    pub title: Option<String>,
    /// Completion Flag: PARTIAL or COMPLETE.
    pub completion: Option<String>,
    /// Verification Flag: UNVERIFIED or VERIFIED.
    pub verification: Option<String>,
    /// Content Date, as YYYY-MM-DD.
    pub date: Option<String>,
    pub items: Vec<ReportItem>,
    /// Some content was left out (too deep or too many items).
    pub truncated: bool,
}

/// Reads a structured report checked against `patient`.
pub fn read_report(bytes: &[u8], patient: &PatientContext) -> Result<Report, DocumentError> {
    let buffer = dicom_parser_lite::DicomBuffer::new(bytes);
    let file = buffer.parse().map_err(ImagingError::from)?;
    let ds = file.dataset();
    let sop_instance_uid = check_document(ds, &STRUCTURED_REPORT_SOP_CLASSES, "a structured report", patient)?;
    let mut budget = Budget { left: MAX_ITEMS, truncated: false };
    let items = children(ds, 1, &mut budget);
    Ok(Report {
        sop_instance_uid,
        title: code_meaning(ds, tags::CONCEPT_NAME_CODE_SEQUENCE),
        completion: ds.string(tags::COMPLETION_FLAG),
        verification: ds.string(tags::VERIFICATION_FLAG),
        date: ds.string(tags::CONTENT_DATE).map(|d| date(&d)),
        items,
        truncated: budget.truncated,
    })
}

struct Budget {
    left: usize,
    truncated: bool,
}

fn children(ds: &DataSet, depth: usize, budget: &mut Budget) -> Vec<ReportItem> {
    let Some(content) = ds.items(tags::CONTENT_SEQUENCE) else { return Vec::new() };
    if depth > MAX_DEPTH {
        budget.truncated = true;
        return Vec::new();
    }
    let mut out = Vec::new();
    for item in content {
        if budget.left == 0 {
            budget.truncated = true;
            break;
        }
        budget.left -= 1;
        let (kind, value) = value_of(item);
        out.push(ReportItem {
            kind,
            concept: code_meaning(item, tags::CONCEPT_NAME_CODE_SEQUENCE),
            value,
            children: children(item, depth + 1, budget),
        });
    }
    out
}

/// The first item's Code Meaning in the code sequence `tag`.
fn code_meaning(ds: &DataSet, tag: dicom_parser_lite::Tag) -> Option<String> {
    ds.items(tag)?.first()?.string(tags::CODE_MEANING).filter(|m| !m.is_empty())
}

fn value_of(item: &DataSet) -> (ItemKind, Option<String>) {
    let value_type = item.string(tags::VALUE_TYPE).unwrap_or_default();
    match value_type.as_str() {
        "CONTAINER" => (ItemKind::Container, None),
        "TEXT" => (ItemKind::Text, item.string(tags::TEXT_VALUE)),
        "CODE" => (ItemKind::Code, code_meaning(item, tags::CONCEPT_CODE_SEQUENCE)),
        "NUM" => (ItemKind::Num, item.items(tags::MEASURED_VALUE_SEQUENCE).and_then(|v| v.first()).map(measured)),
        "DATE" => (ItemKind::Date, item.string(tags::DATE).map(|d| date(&d))),
        "TIME" => (ItemKind::Time, item.string(tags::TIME).map(|t| time(&t))),
        "DATETIME" => (ItemKind::DateTime, item.string(tags::DATETIME).map(|dt| date_time(&dt))),
        "PNAME" => (ItemKind::PersonName, item.string(tags::PERSON_NAME).map(|n| person_name(&n))),
        "UIDREF" => (ItemKind::Uid, item.string(tags::UID)),
        "IMAGE" | "COMPOSITE" | "WAVEFORM" => (
            ItemKind::Reference,
            item.items(tags::REFERENCED_SOP_SEQUENCE).and_then(|r| r.first()).and_then(|r| r.string(tags::REFERENCED_SOP_INSTANCE_UID)),
        ),
        "SCOORD" | "SCOORD3D" | "TCOORD" => (ItemKind::Coordinates, item.string(tags::GRAPHIC_TYPE)),
        _ => (ItemKind::Other, (!value_type.is_empty()).then_some(value_type)),
    }
}

/// A measured value with its unit: the UCUM code is the symbol (`mm`, `mm2`, `[hnsf'U]`);
/// a dimensionless `1` is left out, and bracketed or braced codes read better by meaning.
fn measured(value: &DataSet) -> String {
    let number = value.string(tags::NUMERIC_VALUE).unwrap_or_default();
    let unit = value.items(tags::MEASUREMENT_UNITS_CODE_SEQUENCE).and_then(|u| u.first());
    let code = unit.and_then(|u| u.string(tags::CODE_VALUE)).unwrap_or_default();
    let meaning = unit.and_then(|u| u.string(tags::CODE_MEANING));
    let symbol = match code.as_str() {
        "" | "1" => None,
        "mm2" => Some("mm²".to_string()),
        "cm2" => Some("cm²".to_string()),
        "mm3" => Some("mm³".to_string()),
        "cm3" => Some("cm³".to_string()),
        "[hnsf'U]" => Some("HU".to_string()),
        "deg" => Some("°".to_string()),
        c if c.starts_with('{') || c.starts_with('[') => meaning,
        c => Some(c.to_string()),
    };
    match symbol {
        Some(s) if s == "°" => format!("{number}°"),
        Some(s) => format!("{number} {s}"),
        None => number,
    }
}

fn date(d: &str) -> String {
    match (d.get(0..4), d.get(4..6), d.get(6..8)) {
        (Some(y), Some(m), Some(day)) if d.len() == 8 => format!("{y}-{m}-{day}"),
        _ => d.to_string(),
    }
}

fn time(t: &str) -> String {
    match (t.get(0..2), t.get(2..4)) {
        (Some(h), Some(m)) => format!("{h}:{m}"),
        _ => t.to_string(),
    }
}

fn date_time(dt: &str) -> String {
    match (dt.get(0..8), dt.get(8..)) {
        (Some(d), Some(t)) if !t.is_empty() => format!("{} {}", date(d), time(t)),
        _ => date(dt),
    }
}

/// `Family^Given^Middle^Prefix^Suffix` as "Prefix Given Middle Family Suffix".
fn person_name(n: &str) -> String {
    let alphabetic = n.split('=').next().unwrap_or_default();
    let parts: Vec<&str> = alphabetic.split('^').collect();
    let at = |i: usize| parts.get(i).copied().unwrap_or_default();
    [at(3), at(1), at(2), at(0), at(4)].iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
