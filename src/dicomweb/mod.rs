//! DICOMweb (PS3.18): QIDO-RS searches, WADO-RS retrieval, the DICOM JSON model and
//! multipart/related framing.

pub mod json;
pub mod multipart;
pub mod rendered;

pub use json::DicomJson;

use crate::net::{HttpClient, NetError, RequestKind, Transport};
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
/// `Accept` for frames: uncompressed or as stored, whatever the server has.
pub const ACCEPT_FRAMES: &str = "multipart/related; type=\"application/octet-stream\"; transfer-syntax=*";
const ACCEPT_JSON: &str = "application/dicom+json, application/json;q=0.9";

/// QIDO-RS matching and paging (PS3.18 8.3.4): attribute matches (`PatientID=…`,
/// `StudyDate=20240101-`, `ModalitiesInStudy=CT`), `includefield`, `limit` and `offset`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QidoQuery {
    pub matches: Vec<(String, String)>,
    pub include_fields: Vec<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

impl QidoQuery {
    pub fn matching(mut self, attribute: &str, value: &str) -> Self {
        self.matches.push((attribute.to_string(), value.to_string()));
        self
    }

    pub fn include(mut self, field: &str) -> Self {
        self.include_fields.push(field.to_string());
        self
    }

    pub fn page(mut self, limit: u32, offset: u32) -> Self {
        self.limit = Some(limit);
        self.offset = Some(offset);
        self
    }

    fn apply(&self, url: &mut Url) {
        if self.matches.is_empty() && self.include_fields.is_empty() && self.limit.is_none() && self.offset.is_none() {
            return;
        }
        let mut pairs = url.query_pairs_mut();
        for (k, v) in &self.matches {
            pairs.append_pair(k, v);
        }
        for field in &self.include_fields {
            pairs.append_pair("includefield", field);
        }
        if let Some(limit) = self.limit {
            pairs.append_pair("limit", &limit.to_string());
        }
        if let Some(offset) = self.offset {
            pairs.append_pair("offset", &offset.to_string());
        }
    }
}

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
    /// Extra headers for every request to this service (from `Endpoint.header`).
    headers: Vec<(String, String)>,
    withhold_token: bool,
}

impl DicomWebClient {
    /// `address` may be a service base or, as IHE examples do, already a study or series URL:
    /// the `/studies/…` tail is cut so paths are never doubled.
    pub fn new(address: &Url) -> Self {
        DicomWebClient { base: service_base(address), headers: Vec::new(), withhold_token: false }
    }

    /// Adds headers sent with every request (an Endpoint's `header` values, already resolved).
    /// `Authorization` is still subject to the origin allow-list.
    pub fn with_headers(mut self, headers: Vec<(String, String)>) -> Self {
        self.headers = headers;
        self
    }

    /// Never attach the access token (the Endpoint said `requires-access-token: false`).
    pub fn without_token(mut self, withhold: bool) -> Self {
        self.withhold_token = withhold;
        self
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// A QIDO-RS search (the query time limit).
    fn request(&self, url: Url, accept: &str) -> crate::net::Request {
        let mut request = crate::net::Request::get(url).header("Accept", accept);
        request.headers.extend(self.headers.iter().cloned());
        request.withhold_token = self.withhold_token;
        request
    }

    /// A WADO-RS retrieve (the retrieve time limit: bodies may be large).
    pub(crate) fn retrieval(&self, url: Url, accept: &str) -> crate::net::Request {
        self.request(url, accept).of_kind(RequestKind::Retrieve)
    }

    fn url(&self, segments: &[&str]) -> Result<Url, NetError> {
        let mut url = self.base.clone();
        url.path_segments_mut().map_err(|_| NetError::InvalidUrl(self.base.to_string()))?.pop_if_empty().extend(segments);
        Ok(url)
    }

    async fn search<T: Transport>(&self, http: &HttpClient<T>, url: Url) -> Result<Vec<DicomJson>, DicomWebError> {
        self.json_array(http, self.request(url, ACCEPT_JSON)).await
    }

    /// WADO-RS metadata: DICOM JSON like a search, timed like a retrieve.
    pub(crate) async fn metadata<T: Transport>(&self, http: &HttpClient<T>, url: Url) -> Result<Vec<DicomJson>, DicomWebError> {
        self.json_array(http, self.retrieval(url, ACCEPT_JSON)).await
    }

    async fn json_array<T: Transport>(&self, http: &HttpClient<T>, request: crate::net::Request) -> Result<Vec<DicomJson>, DicomWebError> {
        let response = http.send(request).await?;
        // 204 No Content is a valid "no matches".
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        DicomJson::parse_array(&response.body)
    }

    /// QIDO-RS at study level (`/studies?…`).
    pub async fn query_studies<T: Transport>(&self, http: &HttpClient<T>, query: &QidoQuery) -> Result<Vec<DicomJson>, DicomWebError> {
        let mut url = self.url(&["studies"])?;
        query.apply(&mut url);
        self.search(http, url).await
    }

    /// QIDO-RS at series level within a study, with matching and paging.
    pub async fn query_series<T: Transport>(
        &self,
        http: &HttpClient<T>,
        study: &str,
        query: &QidoQuery,
    ) -> Result<Vec<DicomJson>, DicomWebError> {
        let mut url = self.url(&["studies", study, "series"])?;
        query.apply(&mut url);
        self.search(http, url).await
    }

    /// QIDO-RS at instance level within a series, with matching and paging.
    pub async fn query_instances<T: Transport>(
        &self,
        http: &HttpClient<T>,
        study: &str,
        series: &str,
        query: &QidoQuery,
    ) -> Result<Vec<DicomJson>, DicomWebError> {
        let mut url = self.url(&["studies", study, "series", series, "instances"])?;
        query.apply(&mut url);
        self.search(http, url).await
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
        self.retrieve_instance_with(http, study, series, instance, ACCEPT_DICOM, None).await
    }

    /// WADO-RS instance retrieve with an explicit `Accept` (e.g. [`ACCEPT_DICOM`]) and an
    /// optional cancel token (the request is aborted when it fires).
    pub async fn retrieve_instance_with<T: Transport>(
        &self,
        http: &HttpClient<T>,
        study: &str,
        series: &str,
        instance: &str,
        accept: &str,
        cancel: Option<&crate::net::CancelToken>,
    ) -> Result<Retrieved, DicomWebError> {
        let url = self.url(&["studies", study, "series", series, "instances", instance])?;
        let mut request = self.retrieval(url.clone(), accept);
        request.cancel = cancel.cloned();
        let response = http.send(request).await?;
        let content_type = response.header("content-type").unwrap_or_default().to_string();
        let may_store = crate::cache::policy::may_store(response.header("cache-control"));
        let mut parts = multipart::decode(&content_type, response.body)?;
        if parts.is_empty() {
            return Err(DicomWebError::EmptyResponse(url.to_string()));
        }
        Ok(Retrieved { bytes: parts.swap_remove(0).body, may_store })
    }
}

impl DicomWebClient {
    /// WADO-RS metadata of a study or, with `series`, of one series: one DICOM JSON object per
    /// instance, bulk data as BulkDataURI.
    pub async fn retrieve_metadata<T: Transport>(
        &self,
        http: &HttpClient<T>,
        study: &str,
        series: Option<&str>,
    ) -> Result<Vec<DicomJson>, DicomWebError> {
        let url = match series {
            Some(series) => self.url(&["studies", study, "series", series, "metadata"])?,
            None => self.url(&["studies", study, "metadata"])?,
        };
        self.metadata(http, url).await
    }

    /// WADO-RS series retrieve, streamed: `on_instance` receives each instance's Part 10 bytes
    /// as soon as its part is complete, while later ones are still downloading. Returns how
    /// many arrived. A response cut short is [`MultipartError::Truncated`] after the complete
    /// instances were delivered (each of them whole: a part ends only at its delimiter).
    ///
    /// [`MultipartError::Truncated`]: multipart::MultipartError::Truncated
    pub async fn retrieve_series<T: Transport>(
        &self,
        http: &HttpClient<T>,
        study: &str,
        series: &str,
        cancel: Option<&crate::net::CancelToken>,
        on_instance: &mut dyn FnMut(Retrieved),
    ) -> Result<usize, DicomWebError> {
        let url = self.url(&["studies", study, "series", series])?;
        let mut request = self.retrieval(url, ACCEPT_DICOM);
        request.cancel = cancel.cloned();
        self.retrieve_streamed(http, request, on_instance).await
    }

    /// The streaming core of series retrieve: the decoder is created from the response's
    /// Content-Type when the first body bytes arrive.
    async fn retrieve_streamed<T: Transport>(
        &self,
        http: &HttpClient<T>,
        request: crate::net::Request,
        on_instance: &mut dyn FnMut(Retrieved),
    ) -> Result<usize, DicomWebError> {
        let mut decoder: Option<multipart::MultipartStream> = None;
        let mut may_store = true;
        let mut delivered = 0usize;
        let mut failure: Option<multipart::MultipartError> = None;
        let mut sink = |headers: &[(String, String)], bytes: &[u8]| {
            if failure.is_some() {
                return;
            }
            if decoder.is_none() {
                let header = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
                may_store = crate::cache::policy::may_store(header("cache-control"));
                match multipart::MultipartStream::new(header("content-type").unwrap_or_default()) {
                    Ok(stream) => decoder = Some(stream),
                    Err(e) => {
                        failure = Some(e);
                        return;
                    }
                }
            }
            let Some(stream) = decoder.as_mut() else { return };
            match stream.push(bytes) {
                Ok(parts) => {
                    for part in parts {
                        delivered += 1;
                        on_instance(Retrieved { bytes: part.body, may_store });
                    }
                }
                Err(e) => failure = Some(e),
            }
        };
        http.send_streaming(request, &mut sink).await?;
        if let Some(e) = failure {
            return Err(e.into());
        }
        match decoder {
            Some(stream) => stream.finish()?,
            None => return Err(multipart::MultipartError::Truncated.into()),
        }
        Ok(delivered)
    }

    /// WADO-RS frames: the listed frames (1-based) of one instance, as parts in request order.
    pub async fn retrieve_frames<T: Transport>(
        &self,
        http: &HttpClient<T>,
        study: &str,
        series: &str,
        instance: &str,
        frames: &[u32],
    ) -> Result<Vec<multipart::Part>, DicomWebError> {
        let list = frames.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        if list.is_empty() || frames.contains(&0) {
            return Err(NetError::InvalidUrl(format!("frame list {list:?}: frames are numbered from 1")).into());
        }
        let url = self.url(&["studies", study, "series", series, "instances", instance, "frames", &list])?;
        let response = http.send(self.retrieval(url.clone(), ACCEPT_FRAMES)).await?;
        let content_type = response.header("content-type").unwrap_or_default().to_string();
        let parts = multipart::decode(&content_type, response.body)?;
        if parts.len() != frames.len() {
            return Err(DicomWebError::EmptyResponse(format!("{url} ({} of {} frames)", parts.len(), frames.len())));
        }
        Ok(parts)
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
    /// Stored instances that carry a WarningReason (e.g. 0xB000, attributes coerced).
    pub stored_warnings: Vec<(String, Option<u32>)>,
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
        let request = crate::net::Request::post(self.url(&["studies"])?, &content_type, body)
            .header("Accept", ACCEPT_JSON)
            .of_kind(RequestKind::Retrieve);
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
        let object = DicomJson(object.as_object().cloned().unwrap_or_default());
        use dicom_parser_lite::tags::{FAILED_SOP_SEQUENCE, FAILURE_REASON, REFERENCED_SOP_INSTANCE_UID, REFERENCED_SOP_SEQUENCE};
        /// WarningReason (0008,1196) of a stored instance.
        const WARNING_REASON: dicom_parser_lite::Tag = dicom_parser_lite::Tag(0x0008, 0x1196);
        result.stored = object.sequence(REFERENCED_SOP_SEQUENCE).iter().filter_map(|i| i.string(REFERENCED_SOP_INSTANCE_UID)).collect();
        result.stored_warnings = object
            .sequence(REFERENCED_SOP_SEQUENCE)
            .iter()
            .filter_map(|i| Some((i.string(REFERENCED_SOP_INSTANCE_UID)?, Some(i.u32(WARNING_REASON)?))))
            .collect();
        result.failed = object
            .sequence(FAILED_SOP_SEQUENCE)
            .iter()
            .map(|i| (i.string(REFERENCED_SOP_INSTANCE_UID).unwrap_or_default(), i.u32(FAILURE_REASON)))
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
