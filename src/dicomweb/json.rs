//! The DICOM JSON model (PS3.18 Annex F), read-only and tolerant: numbers may be JSON numbers
//! or strings, PN values are objects, and absent `Value` means empty.

use super::DicomWebError;
use serde_json::{Map, Value};

/// One DICOM JSON object (a QIDO result or a metadata entry).
#[derive(Debug, Clone, PartialEq)]
pub struct DicomJson(pub Map<String, Value>);

impl DicomJson {
    /// Parses a JSON array of DICOM JSON objects; non-object members are an error.
    pub fn parse_array(bytes: &[u8]) -> Result<Vec<DicomJson>, DicomWebError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| DicomWebError::InvalidJson(e.to_string()))?;
        let Value::Array(items) = value else {
            return Err(DicomWebError::InvalidJson("expected a JSON array".into()));
        };
        items
            .into_iter()
            .map(|item| match item {
                Value::Object(map) => Ok(DicomJson(map)),
                _ => Err(DicomWebError::InvalidJson("expected an array of objects".into())),
            })
            .collect()
    }

    fn values(&self, tag: &str) -> Option<&Vec<Value>> {
        self.0.get(tag)?.get("Value")?.as_array()
    }

    /// First value as text: strings as they are, numbers formatted, PN as its Alphabetic group.
    pub fn string(&self, tag: &str) -> Option<String> {
        let first = self.values(tag)?.first()?;
        match first {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            Value::Object(pn) => pn.get("Alphabetic").and_then(Value::as_str).map(str::to_string),
            _ => None,
        }
        .filter(|s| !s.is_empty())
    }

    /// All values as text.
    pub fn strings(&self, tag: &str) -> Vec<String> {
        self.values(tag)
            .map(|vs| {
                vs.iter()
                    .filter_map(|v| match v {
                        Value::String(s) => Some(s.trim().to_string()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// First value as a number, whether sent as a JSON number or a numeric string (IS/DS).
    pub fn number(&self, tag: &str) -> Option<f64> {
        match self.values(tag)?.first()? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => dicom_parser_lite::decimal::parse(s.trim()),
            _ => None,
        }
    }

    pub fn u32(&self, tag: &str) -> Option<u32> {
        self.number(tag).filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= u32::MAX as f64).map(|n| n as u32)
    }
}

/// Tags used in QIDO results, as DICOM JSON keys.
pub mod tags {
    pub const STUDY_INSTANCE_UID: &str = "0020000D";
    pub const SERIES_INSTANCE_UID: &str = "0020000E";
    pub const SOP_INSTANCE_UID: &str = "00080018";
    pub const SOP_CLASS_UID: &str = "00080016";
    pub const MODALITY: &str = "00080060";
    pub const SERIES_NUMBER: &str = "00200011";
    pub const SERIES_DESCRIPTION: &str = "0008103E";
    pub const INSTANCE_NUMBER: &str = "00200013";
    pub const NUMBER_OF_SERIES_RELATED_INSTANCES: &str = "00201209";
    pub const ROWS: &str = "00280010";
    pub const COLUMNS: &str = "00280011";
    pub const REFERENCED_SOP_SEQUENCE: &str = "00081199";
    pub const FAILED_SOP_SEQUENCE: &str = "00081198";
    pub const REFERENCED_SOP_INSTANCE_UID: &str = "00081155";
    pub const FAILURE_REASON: &str = "00081197";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_strings_and_names() {
        let items = DicomJson::parse_array(
            br#"[{"00200011":{"vr":"IS","Value":["7"]},"00201209":{"vr":"IS","Value":[12]},
                 "00100010":{"vr":"PN","Value":[{"Alphabetic":"Doe^Jane"}]},
                 "00080060":{"vr":"CS","Value":["CT"]},"0008103E":{"vr":"LO"}}]"#,
        )
        .unwrap();
        let s = &items[0];
        assert_eq!(s.u32("00200011"), Some(7));
        assert_eq!(s.u32("00201209"), Some(12));
        assert_eq!(s.string("00100010").as_deref(), Some("Doe^Jane"));
        assert_eq!(s.string("0008103E"), None);
        assert_eq!(s.strings("00080060"), ["CT"]);
    }

    #[test]
    fn bad_json_is_typed() {
        assert!(matches!(DicomJson::parse_array(b"{}"), Err(DicomWebError::InvalidJson(_))));
        assert!(matches!(DicomJson::parse_array(b"[1]"), Err(DicomWebError::InvalidJson(_))));
        assert!(matches!(DicomJson::parse_array(b"[{"), Err(DicomWebError::InvalidJson(_))));
    }
}
