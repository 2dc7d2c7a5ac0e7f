//! The DICOM JSON model (PS3.18 Annex F), read-only and tolerant: numbers may be JSON numbers
//! or strings, PN values are objects, and absent `Value` means empty.

use super::DicomWebError;
use dicom_parser_lite::Tag;
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

    fn values(&self, tag: Tag) -> Option<&Vec<Value>> {
        self.0.get(tag.json_key().as_str())?.get("Value")?.as_array()
    }

    /// First value as text: strings as they are, numbers formatted, PN as its Alphabetic group.
    pub fn string(&self, tag: Tag) -> Option<String> {
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
    pub fn strings(&self, tag: Tag) -> Vec<String> {
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
    pub fn number(&self, tag: Tag) -> Option<f64> {
        match self.values(tag)?.first()? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => dicom_parser_lite::decimal::parse(s.trim()),
            _ => None,
        }
    }

    /// Items of a sequence (SQ): each a DICOM JSON object.
    pub fn sequence(&self, tag: Tag) -> Vec<DicomJson> {
        self.values(tag).map(|items| items.iter().filter_map(|i| i.as_object().cloned().map(DicomJson)).collect()).unwrap_or_default()
    }

    /// Bytes sent inline (`InlineBinary`, base64). `None` if absent or not valid base64.
    pub fn inline_binary(&self, tag: Tag) -> Option<Vec<u8>> {
        let text = self.0.get(tag.json_key().as_str())?.get("InlineBinary")?.as_str()?;
        crate::text::base64_decode(text.trim())
    }

    /// Where bulk data is to be fetched (`BulkDataURI`), as sent (may be relative).
    pub fn bulk_data_uri(&self, tag: Tag) -> Option<&str> {
        self.0.get(tag.json_key().as_str())?.get("BulkDataURI")?.as_str()
    }

    /// The value representation, when the server gave it.
    pub fn vr(&self, tag: Tag) -> Option<&str> {
        self.0.get(tag.json_key().as_str())?.get("vr")?.as_str()
    }

    pub fn u32(&self, tag: Tag) -> Option<u32> {
        self.number(tag).filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= u32::MAX as f64).map(|n| n as u32)
    }
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
        assert_eq!(s.u32(Tag(0x0020, 0x0011)), Some(7));
        assert_eq!(s.u32(Tag(0x0020, 0x1209)), Some(12));
        assert_eq!(s.string(Tag(0x0010, 0x0010)).as_deref(), Some("Doe^Jane"));
        assert_eq!(s.string(Tag(0x0008, 0x103E)), None);
        assert_eq!(s.strings(Tag(0x0008, 0x0060)), ["CT"]);
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
        let refs: Vec<String> = o.sequence(Tag(0x0008, 0x1199)).iter().filter_map(|i| i.string(Tag(0x0008, 0x1155))).collect();
        assert_eq!(refs, ["1.2.3", "1.2.4"]);
        assert_eq!(o.inline_binary(Tag(0x0009, 0x1010)), Some(vec![0, 1, 2, 255]));
        assert_eq!(o.bulk_data_uri(Tag(0x7FE0, 0x0010)), Some("http://p/dw/studies/1/series/2/instances/3/bulk/7FE00010"));
        assert_eq!(o.vr(Tag(0x7FE0, 0x0010)), Some("OW"));
        assert_eq!((o.number(Tag(0x0028, 0x1050)), o.number(Tag(0x0028, 0x1051))), (Some(40.5), Some(400.0)));
        assert!(o.sequence(Tag(0x0028, 0x1050)).is_empty());
    }

    #[test]
    fn bad_json_is_typed() {
        assert!(matches!(DicomJson::parse_array(b"{}"), Err(DicomWebError::InvalidJson(_))));
        assert!(matches!(DicomJson::parse_array(b"[1]"), Err(DicomWebError::InvalidJson(_))));
        assert!(matches!(DicomJson::parse_array(b"[{"), Err(DicomWebError::InvalidJson(_))));
    }
}
