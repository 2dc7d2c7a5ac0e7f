//! DiagnosticReport: the reports that belong to an imaging study, version-tolerant.
//!
//! R4 links a report to its study with `imagingStudy` (Reference(ImagingStudy)), R5 with
//! `study` (Reference(GenomicStudy | ImagingStudy)); both are read. A report's text comes from
//! `conclusion` and from `presentedForm` attachments. Attachment text is only ever shown as
//! text: HTML or PDF stays an opaque link, never markup in the widget.

use super::{client::FhirClient, FhirError};
use crate::net::{HttpClient, Transport};
use serde::Serialize;
use serde_json::Value;

const FHIR_JSON: &str = "application/fhir+json, application/json;q=0.9";
const MAX_PAGES: usize = 20;
/// Attachment text beyond this is cut (a report is not a book; the widget has to stay fast).
const MAX_TEXT: usize = 64 * 1024;

/// One presented form of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub content_type: Option<String>,
    pub title: Option<String>,
    /// The decoded text of an inline `text/plain` attachment.
    pub text: Option<String>,
    /// Where the attachment lives, when it is not inline.
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticReport {
    pub id: String,
    pub status: Option<String>,
    /// `code.text` or the first coding's display.
    pub title: Option<String>,
    /// `effectiveDateTime`, else `issued`.
    pub date: Option<String>,
    pub conclusion: Option<String>,
    /// Study references from R4 `imagingStudy` and R5 `study`.
    pub study_references: Vec<String>,
    pub presented_forms: Vec<Attachment>,
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

fn references(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|r| str_at(r, "reference").map(str::to_string)).collect())
        .unwrap_or_default()
}

fn is_plain_text(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|c| c.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("text/plain"))
}

impl Attachment {
    fn from_json(a: &Value) -> Attachment {
        let content_type = str_at(a, "contentType").map(str::to_string);
        let text = if is_plain_text(content_type.as_deref()) {
            str_at(a, "data").and_then(|d| standard_base64(d.trim())).map(|bytes| {
                let mut text = String::from_utf8_lossy(&bytes).into_owned();
                if text.len() > MAX_TEXT {
                    let mut cut = MAX_TEXT;
                    while !text.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    text.truncate(cut);
                }
                text
            })
        } else {
            None
        };
        Attachment { content_type, title: str_at(a, "title").map(str::to_string), text, url: str_at(a, "url").map(str::to_string) }
    }
}

impl DiagnosticReport {
    pub fn from_json(r: &Value) -> Result<Self, FhirError> {
        let found = r.get("resourceType").and_then(Value::as_str).unwrap_or("");
        if found != "DiagnosticReport" {
            return Err(FhirError::UnexpectedResource { expected: "DiagnosticReport", found: found.to_string() });
        }
        let code = r.get("code");
        let title =
            code.and_then(|c| str_at(c, "text")).or_else(|| code?.get("coding")?.as_array()?.iter().find_map(|c| str_at(c, "display")));
        let mut study_references = references(r, "imagingStudy");
        study_references.extend(references(r, "study"));
        Ok(DiagnosticReport {
            id: str_at(r, "id").unwrap_or_default().to_string(),
            status: str_at(r, "status").map(str::to_string),
            title: title.map(str::to_string),
            date: str_at(r, "effectiveDateTime").or_else(|| str_at(r, "issued")).map(str::to_string),
            conclusion: str_at(r, "conclusion").map(str::to_string),
            study_references,
            presented_forms: r
                .get("presentedForm")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(Attachment::from_json).collect())
                .unwrap_or_default(),
        })
    }

    /// Whether this report names the ImagingStudy with FHIR id `study_id` (relative or absolute
    /// reference, `_history` ignored).
    pub fn references_study(&self, study_id: &str) -> bool {
        !study_id.is_empty()
            && self.study_references.iter().any(|reference| {
                let path = reference.split("/_history/").next().unwrap_or(reference);
                let mut parts = path.rsplit('/');
                matches!((parts.next(), parts.next()), (Some(id), Some("ImagingStudy")) if id == study_id)
            })
    }
}

impl FhirClient {
    /// Every DiagnosticReport of a patient (following `next` links on the server's origin; a
    /// foreign one is [`FhirError::ForeignPage`]: reports from another host are not this
    /// patient's record). Entries that are not DiagnosticReports (OperationOutcome warnings)
    /// are skipped.
    pub async fn search_reports<T: Transport>(&self, http: &HttpClient<T>, patient_id: &str) -> Result<Vec<DiagnosticReport>, FhirError> {
        let mut url = self.url("DiagnosticReport")?;
        url.query_pairs_mut().append_pair("patient", patient_id).append_pair("_count", "100");
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let response = http.get(url.clone(), FHIR_JSON).await?;
            let bundle: Value = serde_json::from_slice(&response.body).map_err(|e| FhirError::InvalidJson(e.to_string()))?;
            out.extend(reports_in(&bundle)?);
            match self.next_page(&bundle)? {
                Some(next) => url = next,
                None => return Ok(out),
            }
            if page == MAX_PAGES {
                return Err(FhirError::TooManyPages { pages: page });
            }
        }
        Ok(out)
    }
}

/// The DiagnosticReports of a search Bundle.
pub fn reports_in(bundle: &Value) -> Result<Vec<DiagnosticReport>, FhirError> {
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(FhirError::UnexpectedResource {
            expected: "Bundle",
            found: bundle.get("resourceType").and_then(Value::as_str).unwrap_or("").to_string(),
        });
    }
    Ok(bundle
        .get("entry")
        .and_then(Value::as_array)
        .map(|entries| entries.iter().filter_map(|e| DiagnosticReport::from_json(e.get("resource")?).ok()).collect())
        .unwrap_or_default())
}

/// FHIR `base64Binary`: the standard alphabet with canonical padding and no stray bits.
/// Anything else is refused (the attachment is then named, not shown), like a strict decoder
/// would; the lenient decoder of the cache does the arithmetic.
fn standard_base64(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(4) || text.bytes().any(|c| c == b'-' || c == b'_') {
        return None;
    }
    let body = text.strip_suffix("==").or_else(|| text.strip_suffix('=')).unwrap_or(text);
    if body.contains('=') {
        return None;
    }
    // The bits after the last whole byte must be zero in a canonical encoding.
    let last = body.bytes().last().and_then(|c| STANDARD_ALPHABET.iter().position(|&a| a == c));
    let stray = match (body.len() % 4, last) {
        (2, Some(v)) => v & 0x0f != 0,
        (3, Some(v)) => v & 0x03 != 0,
        _ => false,
    };
    if stray {
        return None;
    }
    crate::text::base64_decode(body)
}

const STANDARD_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r4() -> Value {
        // Shaped like the R4 spec's example "DiagnosticReport/102" (CT chest), trimmed.
        json!({
            "resourceType": "DiagnosticReport",
            "id": "102",
            "status": "final",
            "code": { "coding": [{ "system": "http://loinc.org", "code": "24627-2", "display": "Chest CT" }], "text": "CT of chest" },
            "subject": { "reference": "Patient/example" },
            "effectiveDateTime": "2012-12-01T12:00:00+01:00",
            "issued": "2012-12-01T12:00:00+01:00",
            "imagingStudy": [{ "reference": "ImagingStudy/example" }],
            "conclusion": "Small nodule in the right upper lobe.",
            "presentedForm": [
                { "contentType": "text/plain; charset=utf-8", "title": "Report", "data": "PGI+RklORElOR1M8L2I+OiBub25lLg==" },
                { "contentType": "application/pdf", "url": "Binary/report-102", "title": "PDF" }
            ]
        })
    }

    #[test]
    fn r4_report_reads_conclusion_forms_and_study() {
        let r = DiagnosticReport::from_json(&r4()).unwrap();
        assert_eq!(r.title.as_deref(), Some("CT of chest"));
        assert_eq!(r.conclusion.as_deref(), Some("Small nodule in the right upper lobe."));
        assert_eq!(r.date.as_deref(), Some("2012-12-01T12:00:00+01:00"));
        // Markup in text/plain stays text: it is decoded, never interpreted.
        assert_eq!(r.presented_forms[0].text.as_deref(), Some("<b>FINDINGS</b>: none."));
        assert_eq!(r.presented_forms[1].text, None);
        assert_eq!(r.presented_forms[1].url.as_deref(), Some("Binary/report-102"));
        assert!(r.references_study("example"));
        assert!(!r.references_study("exam"));
        assert!(!r.references_study(""));
    }

    #[test]
    fn attachment_data_is_strict_standard_base64() {
        assert_eq!(standard_base64("PGI+").as_deref(), Some(&b"<b>"[..]));
        assert_eq!(standard_base64("YWI=").as_deref(), Some(&b"ab"[..]));
        assert_eq!(standard_base64("YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(standard_base64("").as_deref(), Some(&b""[..]));
        // Missing padding, the URL-safe alphabet, padding inside, stray bits, junk: refused.
        assert_eq!(standard_base64("YQ"), None);
        assert_eq!(standard_base64("PGI-"), None);
        assert_eq!(standard_base64("YQ==YQ=="), None);
        assert_eq!(standard_base64("YR=="), None);
        assert_eq!(standard_base64("YWJ="), None);
        assert_eq!(standard_base64("Y==="), None);
        assert_eq!(standard_base64("YW I"), None);
    }

    #[test]
    fn r5_study_reference_absolute_and_versioned() {
        let r = DiagnosticReport::from_json(&json!({
            "resourceType": "DiagnosticReport", "id": "r5", "status": "final",
            "code": { "coding": [{ "display": "MR head" }] },
            "study": [{ "reference": "https://ehr.example.org/fhir/ImagingStudy/s1/_history/3" },
                      { "reference": "GenomicStudy/s1" }]
        }))
        .unwrap();
        assert_eq!(r.title.as_deref(), Some("MR head"));
        assert!(r.references_study("s1"));
        let genomic_only = DiagnosticReport::from_json(&json!({
            "resourceType": "DiagnosticReport", "id": "g", "study": [{ "reference": "GenomicStudy/s1" }]
        }))
        .unwrap();
        assert!(!genomic_only.references_study("s1"));
    }

    #[test]
    fn bundle_skips_other_resources_and_rejects_non_bundles() {
        let bundle = json!({ "resourceType": "Bundle", "entry": [
            { "resource": r4() },
            { "resource": { "resourceType": "OperationOutcome", "issue": [] } },
            { "search": { "mode": "match" } }
        ]});
        assert_eq!(reports_in(&bundle).unwrap().len(), 1);
        assert!(reports_in(&json!({ "resourceType": "Patient" })).is_err());
        assert!(DiagnosticReport::from_json(&json!({ "resourceType": "Observation" })).is_err());
    }
}
