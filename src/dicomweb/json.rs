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

    /// Items of a sequence (SQ): each a DICOM JSON object.
    pub fn sequence(&self, tag: &str) -> Vec<DicomJson> {
        self.values(tag).map(|items| items.iter().filter_map(|i| i.as_object().cloned().map(DicomJson)).collect()).unwrap_or_default()
    }

    /// Bytes sent inline (`InlineBinary`, base64). `None` if absent or not valid base64.
    pub fn inline_binary(&self, tag: &str) -> Option<Vec<u8>> {
        let text = self.0.get(tag)?.get("InlineBinary")?.as_str()?;
        crate::cache::policy::base64_decode(text.trim())
    }

    /// Where bulk data is to be fetched (`BulkDataURI`), as sent (may be relative).
    pub fn bulk_data_uri(&self, tag: &str) -> Option<&str> {
        self.0.get(tag)?.get("BulkDataURI")?.as_str()
    }

    /// The value representation, when the server gave it.
    pub fn vr(&self, tag: &str) -> Option<&str> {
        self.0.get(tag)?.get("vr")?.as_str()
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
    fn sequences_inline_binary_and_bulk_data() {
        let items = DicomJson::parse_array(
            br#"[{"00081199":{"vr":"SQ","Value":[{"00081155":{"vr":"UI","Value":["1.2.3"]}},{"00081155":{"vr":"UI","Value":["1.2.4"]}}]},
                 "00091010":{"vr":"OB","InlineBinary":"AAEC/w=="},
                 "7FE00010":{"vr":"OW","BulkDataURI":"http://p/dw/studies/1/series/2/instances/3/bulk/7FE00010"},
                 "00281050":{"vr":"DS","Value":[40.5]},"00281051":{"vr":"DS","Value":["400"]}}]"#,
        )
        .unwrap();
        let o = &items[0];
        let refs: Vec<String> = o.sequence("00081199").iter().filter_map(|i| i.string("00081155")).collect();
        assert_eq!(refs, ["1.2.3", "1.2.4"]);
        assert_eq!(o.inline_binary("00091010"), Some(vec![0, 1, 2, 255]));
        assert_eq!(o.bulk_data_uri("7FE00010"), Some("http://p/dw/studies/1/series/2/instances/3/bulk/7FE00010"));
        assert_eq!(o.vr("7FE00010"), Some("OW"));
        assert_eq!((o.number("00281050"), o.number("00281051")), (Some(40.5), Some(400.0)));
        assert!(o.sequence("00281050").is_empty());
    }

    #[test]
    fn bad_json_is_typed() {
        assert!(matches!(DicomJson::parse_array(b"{}"), Err(DicomWebError::InvalidJson(_))));
        assert!(matches!(DicomJson::parse_array(b"[1]"), Err(DicomWebError::InvalidJson(_))));
        assert!(matches!(DicomJson::parse_array(b"[{"), Err(DicomWebError::InvalidJson(_))));
    }
}
