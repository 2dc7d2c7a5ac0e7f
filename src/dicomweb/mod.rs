//! DICOMweb (PS3.18): QIDO-RS searches, WADO-RS retrieval, the DICOM JSON model and
//! multipart/related framing.

pub mod json;
pub mod multipart;
pub mod rendered;

pub use json::DicomJson;

use crate::net::{HttpClient, NetError, Transport};
use thiserror::Error;
use url::Url;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum DicomWebError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("the DICOMweb server sent invalid DICOM JSON ({0})")]
    InvalidJson(String),
    #[error(transparent)]
    Multipart(#[from] multipart::MultipartError),
    #[error("the DICOMweb server returned no instance for {0}")]
    EmptyResponse(String),
}

/// `Accept` for whole instances: any transfer syntax, so the server never has to transcode.
pub const ACCEPT_DICOM: &str = "multipart/related; type=\"application/dicom\"; transfer-syntax=*";
const ACCEPT_JSON: &str = "application/dicom+json, application/json;q=0.9";

/// Retrieved bytes and whether the server allows keeping them (`Cache-Control: no-store`).
#[derive(Debug, Clone, PartialEq)]
pub struct Retrieved {
    pub bytes: Vec<u8>,
    pub may_store: bool,
}

/// A DICOMweb service rooted at `base` (QIDO and WADO share it in every server we target).
#[derive(Debug, Clone, PartialEq)]
pub struct DicomWebClient {
    base: Url,
}

impl DicomWebClient {
    /// `address` may be a service base or, as IHE examples do, already a study or series URL:
    /// the `/studies/…` tail is cut so paths are never doubled.
    pub fn new(address: &Url) -> Self {
        DicomWebClient { base: service_base(address) }
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    fn url(&self, segments: &[&str]) -> Result<Url, NetError> {
        let mut url = self.base.clone();
        url.path_segments_mut().map_err(|_| NetError::InvalidUrl(self.base.to_string()))?.pop_if_empty().extend(segments);
        Ok(url)
    }

    async fn search<T: Transport>(&self, http: &HttpClient<T>, url: Url) -> Result<Vec<DicomJson>, DicomWebError> {
        let response = http.get(url, ACCEPT_JSON).await?;
        // 204 No Content is a valid "no matches".
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        DicomJson::parse_array(&response.body)
    }

    /// QIDO-RS: the series of a study.
    pub async fn search_series<T: Transport>(&self, http: &HttpClient<T>, study: &str) -> Result<Vec<DicomJson>, DicomWebError> {
        self.search(http, self.url(&["studies", study, "series"])?).await
    }

    /// QIDO-RS: the instances of a series.
    pub async fn search_instances<T: Transport>(
        &self,
        http: &HttpClient<T>,
        study: &str,
        series: &str,
    ) -> Result<Vec<DicomJson>, DicomWebError> {
        self.search(http, self.url(&["studies", study, "series", series, "instances"])?).await
    }

    /// WADO-RS: one whole instance as DICOM Part 10 bytes.
    pub async fn retrieve_instance<T: Transport>(
        &self,
        http: &HttpClient<T>,
        study: &str,
        series: &str,
        instance: &str,
    ) -> Result<Retrieved, DicomWebError> {
        let url = self.url(&["studies", study, "series", series, "instances", instance])?;
        let response = http.get(url.clone(), ACCEPT_DICOM).await?;
        let content_type = response.header("content-type").unwrap_or_default().to_string();
        let may_store = crate::cache::policy::may_store(response.header("cache-control"));
        let mut parts = multipart::decode(&content_type, response.body)?;
        if parts.is_empty() {
            return Err(DicomWebError::EmptyResponse(url.to_string()));
        }
        Ok(Retrieved { bytes: parts.swap_remove(0).body, may_store })
    }
}

/// The outcome of a STOW-RS request (PS3.18 10.5): what the server stored and what it refused.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StowResult {
    /// 200 all stored, 202 some stored with warnings or failures.
    pub status: u16,
    /// ReferencedSOPSequence: SOP Instance UIDs stored.
    pub stored: Vec<String>,
    /// FailedSOPSequence: (SOP Instance UID, FailureReason code).
    pub failed: Vec<(String, Option<u32>)>,
}

impl DicomWebClient {
    /// STOW-RS: stores Part 10 instances (`POST {base}/studies`). A 409 (nothing stored)
    /// still yields its FailedSOPSequence in the error's detail.
    pub async fn store_instances<T: Transport>(&self, http: &HttpClient<T>, instances: Vec<Vec<u8>>) -> Result<StowResult, DicomWebError> {
        let parts: Vec<multipart::Part> = instances
            .into_iter()
            .map(|body| multipart::Part { headers: vec![("Content-Type".into(), "application/dicom".into())], body })
            .collect();
        let (body, content_type) = multipart::encode("application/dicom", &parts);
        let request = crate::net::Request::post(self.url(&["studies"])?, &content_type, body).header("Accept", ACCEPT_JSON);
        let response = http.send(request).await?;
        let mut result = StowResult { status: response.status, ..Default::default() };
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(result);
        }
        let value: serde_json::Value = serde_json::from_slice(&response.body).map_err(|e| DicomWebError::InvalidJson(e.to_string()))?;
        // Servers answer one object, or (some) an array holding one.
        let object = match &value {
            serde_json::Value::Array(items) => items.first().cloned().unwrap_or_default(),
            other => other.clone(),
        };
        let items = |tag: &str| -> Vec<DicomJson> {
            object
                .get(tag)
                .and_then(|e| e.get("Value"))
                .and_then(|v| v.as_array())
                .map(|all| all.iter().filter_map(|i| i.as_object().cloned().map(DicomJson)).collect())
                .unwrap_or_default()
        };
        result.stored = items(json::tags::REFERENCED_SOP_SEQUENCE)
            .iter()
            .filter_map(|i| i.string(json::tags::REFERENCED_SOP_INSTANCE_UID))
            .collect();
        result.failed = items(json::tags::FAILED_SOP_SEQUENCE)
            .iter()
            .map(|i| (i.string(json::tags::REFERENCED_SOP_INSTANCE_UID).unwrap_or_default(), i.u32(json::tags::FAILURE_REASON)))
            .collect();
        Ok(result)
    }
}

/// Cuts a trailing `/studies/{uid}[/series/{uid}…]` (or IHE's `/study/…`) from an Endpoint address.
pub fn service_base(address: &Url) -> Url {
    let mut url = address.clone();
    url.set_query(None);
    url.set_fragment(None);
    let segments: Vec<String> = url.path_segments().map(|s| s.map(str::to_string).collect()).unwrap_or_default();
    if let Some(cut) = segments.iter().position(|s| s == "studies" || s == "study") {
        if cut + 1 < segments.len() && !segments[cut + 1].is_empty() {
            if let Ok(mut path) = url.path_segments_mut() {
                path.clear().extend(&segments[..cut]);
            }
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(s: &str) -> String {
        service_base(&Url::parse(s).unwrap()).to_string()
    }

    #[test]
    fn study_and_series_addresses_are_not_doubled() {
        assert_eq!(base("http://p/dicom-web"), "http://p/dicom-web");
        assert_eq!(base("http://p/dicom-web/"), "http://p/dicom-web/");
        assert_eq!(base("http://p/wadors/studies/1.2.3"), "http://p/wadors");
        assert_eq!(base("http://p/wadors/study/1.2.3/series/4.5"), "http://p/wadors");
        // A service literally named "studies" with nothing after it stays.
        assert_eq!(base("http://p/studies/"), "http://p/studies/");
    }

    #[test]
    fn urls_are_built_by_segments() {
        let c = DicomWebClient::new(&Url::parse("http://p/dicom-web/").unwrap());
        assert_eq!(c.url(&["studies", "1.2", "series"]).unwrap().as_str(), "http://p/dicom-web/studies/1.2/series");
        // A hostile UID cannot escape the path.
        assert_eq!(c.url(&["studies", "../x?y"]).unwrap().as_str(), "http://p/dicom-web/studies/..%2Fx%3Fy");
    }
}
