//! WADO-RS rendered and thumbnail resources (PS3.18 10.4.1.1.3, 10.4.1.1.4) and instance
//! metadata: consumer-ready JPEGs the server windows itself, plus the header facts needed to
//! check whose image a headerless JPEG is.
//!
//! Not every server renders. A refusal (or a body that is not a JPEG) is `Ok(None)`, so the
//! caller can fall back to decoding the instance itself; transport failures stay errors.
//! Requests are built like every other of the client's (the Endpoint's headers, and no token
//! where the Endpoint declines it).

use super::{DicomJson, DicomWebClient, DicomWebError};
use crate::net::{HttpClient, NetError, Response, Transport};

/// What we ask the rendered and thumbnail resources for.
pub const ACCEPT_JPEG: &str = "image/jpeg";

/// Statuses meaning "this server does not render that" rather than "the request failed":
/// 404 is among them because servers without the resource answer 404 for its path; a truly
/// missing instance then shows up as a 404 of the fallback retrieve.
const NOT_RENDERED: [u16; 6] = [400, 404, 405, 406, 415, 501];

/// A server-rendered JPEG.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedJpeg {
    pub bytes: Vec<u8>,
    /// `Cache-Control` allows keeping it.
    pub may_store: bool,
}

impl DicomWebClient {
    /// `…/instances/{i}/rendered` as `image/jpeg`, or `None` if the server does not render it.
    /// `window` is the `window=center,width,function` parameter (PS3.18 8.3.5.1.4): servers'
    /// automatic windowing differs from the header's, so callers pass the one to apply.
    pub async fn retrieve_rendered<T: Transport>(
        &self,
        http: &HttpClient<T>,
        study: &str,
        series: &str,
        instance: &str,
        window: Option<&str>,
    ) -> Result<Option<RenderedJpeg>, DicomWebError> {
        let mut url = self.url(&["studies", study, "series", series, "instances", instance, "rendered"])?;
        if let Some(window) = window {
            // Not form-encoded: servers expect the literal commas of `center,width,function`.
            url.set_query(Some(&format!("window={window}")));
        }
        jpeg_outcome(http.send(self.retrieval(url, ACCEPT_JPEG)).await)
    }

    /// `…/instances/{i}/thumbnail` (or the series' or study's thumbnail when `instance` or also
    /// `series` is `None`) as `image/jpeg`, or `None` if the server has none. PS3.18 lets a
    /// server answer with a redirect to a rendered resource: the transport follows it (the
    /// browser's fetch does, and drops the token if the redirect leaves the origin).
    pub async fn retrieve_thumbnail<T: Transport>(
        &self,
        http: &HttpClient<T>,
        study: &str,
        series: Option<&str>,
        instance: Option<&str>,
    ) -> Result<Option<RenderedJpeg>, DicomWebError> {
        let url = match (series, instance) {
            (Some(se), Some(i)) => self.url(&["studies", study, "series", se, "instances", i, "thumbnail"]),
            (Some(se), None) => self.url(&["studies", study, "series", se, "thumbnail"]),
            _ => self.url(&["studies", study, "thumbnail"]),
        }?;
        jpeg_outcome(http.send(self.retrieval(url, ACCEPT_JPEG)).await)
    }

    /// `…/instances/{i}/metadata`: the instance's header as DICOM JSON (no pixels).
    pub async fn instance_metadata<T: Transport>(
        &self,
        http: &HttpClient<T>,
        study: &str,
        series: &str,
        instance: &str,
    ) -> Result<DicomJson, DicomWebError> {
        let url = self.url(&["studies", study, "series", series, "instances", instance, "metadata"])?;
        self.metadata(http, url.clone()).await?.into_iter().next().ok_or_else(|| DicomWebError::EmptyResponse(url.to_string()))
    }
}

/// Whether `error` is a server saying it does not offer a resource (as opposed to failing).
pub fn is_refusal(error: &DicomWebError) -> bool {
    matches!(error, DicomWebError::Net(NetError::Status { status, .. }) if NOT_RENDERED.contains(status))
}

/// Sorts a rendered/thumbnail answer into a JPEG, "not rendered here" or an error.
pub(crate) fn jpeg_outcome(outcome: Result<Response, NetError>) -> Result<Option<RenderedJpeg>, DicomWebError> {
    let response = match outcome {
        Ok(r) => r,
        Err(NetError::Status { status, .. }) if NOT_RENDERED.contains(&status) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let content_type = response.header("content-type").unwrap_or_default().to_ascii_lowercase();
    // A server may ignore Accept and send PNG or a multipart: only a real JPEG is taken.
    if !content_type.starts_with(ACCEPT_JPEG) || !response.body.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(None);
    }
    let may_store = crate::cache::policy::may_store(response.header("cache-control"));
    Ok(Some(RenderedJpeg { bytes: response.body, may_store }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, content_type: &str, body: &[u8]) -> Response {
        Response { status, headers: vec![("Content-Type".into(), content_type.into())], body: body.to_vec() }
    }

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10];

    #[test]
    fn a_jpeg_answer_is_taken() {
        let got = jpeg_outcome(Ok(response(200, "image/jpeg", JPEG))).unwrap().unwrap();
        assert_eq!(got.bytes, JPEG);
        assert!(got.may_store);
    }

    #[test]
    fn no_store_is_kept_in_the_answer() {
        let mut r = response(200, "image/jpeg", JPEG);
        r.headers.push(("Cache-Control".into(), "no-store".into()));
        assert!(!jpeg_outcome(Ok(r)).unwrap().unwrap().may_store);
    }

    #[test]
    fn refusals_mean_not_rendered() {
        for status in NOT_RENDERED {
            let e = NetError::Status { url: "u".into(), status, detail: None };
            assert_eq!(jpeg_outcome(Err(e)), Ok(None), "{status}");
        }
    }

    #[test]
    fn other_media_types_or_bodies_mean_not_rendered() {
        assert_eq!(jpeg_outcome(Ok(response(200, "image/png", b"\x89PNG"))), Ok(None));
        assert_eq!(jpeg_outcome(Ok(response(200, "image/jpeg", b"<html>"))), Ok(None));
    }

    #[test]
    fn refusal_is_told_from_failure() {
        let status = |status| DicomWebError::Net(NetError::Status { url: "u".into(), status, detail: None });
        assert!(is_refusal(&status(404)) && is_refusal(&status(406)));
        assert!(!is_refusal(&status(401)) && !is_refusal(&status(503)));
        assert!(!is_refusal(&DicomWebError::InvalidJson("x".into())));
    }

    #[test]
    fn server_and_network_failures_stay_errors() {
        let e = NetError::Status { url: "u".into(), status: 500, detail: None };
        assert!(jpeg_outcome(Err(e)).is_err());
        let e = NetError::Status { url: "u".into(), status: 401, detail: None };
        assert!(jpeg_outcome(Err(e)).is_err());
        let e = NetError::Unreachable { url: "u".into(), message: "refused".into() };
        assert!(jpeg_outcome(Err(e)).is_err());
    }
}
