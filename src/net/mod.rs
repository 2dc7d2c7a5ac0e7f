//! The HTTP transport and who gets the bearer token.
//!
//! [`Transport`] is a trait so the same bridge code runs over `fetch` in the browser
//! ([`browser::FetchTransport`]) and over a native client in tests and tools
//! ([`native::UreqTransport`]). [`HttpClient`] adds what every request needs: the token, but only
//! for origins the host allowed ([`AuthMapper`]), and typed errors for non-success statuses.

mod auth;
pub mod retry;
#[cfg(target_arch = "wasm32")]
pub mod browser;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;

pub use auth::{AuthMapper, TokenProvider};
pub use retry::RetryPolicy;

use retry::Decision;
use std::time::Duration;
use thiserror::Error;
use url::Url;

/// HTTP methods the bridge uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

/// One request, already resolved to an absolute URL.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Request {
    pub fn get(url: Url) -> Self {
        Request { method: Method::Get, url, headers: Vec::new(), body: None }
    }

    pub fn post(url: Url, content_type: &str, body: Vec<u8>) -> Self {
        Request {
            method: Method::Post,
            url,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: Some(body),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The value of a header set on this request (case-insensitive name).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A whole response. Bodies are read fully: images are needed whole before they can be decoded.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The value of a response header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// What can go wrong between us and a server.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum NetError {
    /// The request never got an HTTP answer (DNS, refused connection, CORS, offline).
    #[error("could not reach {url}: {message}")]
    Unreachable { url: String, message: String },
    /// The server answered with a non-success status.
    #[error("{url} answered HTTP {status}{}", detail_suffix(.detail))]
    Status { url: String, status: u16, detail: Option<String> },
    /// The URL could not be built (bad base URL or reference from server data).
    #[error("invalid URL {0:?}")]
    InvalidUrl(String),
    /// The body exceeded what we are willing to hold in memory.
    #[error("response from {url} is larger than the {limit}-byte limit")]
    TooLarge { url: String, limit: u64 },
    /// No complete answer within the time limit (slow server or stalled body).
    #[error("{url} did not answer within {seconds} s")]
    Timeout { url: String, seconds: u64 },
}

fn detail_suffix(detail: &Option<String>) -> String {
    detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
}

/// Sends requests, and gives the platform services retries need (a timer, a clock, jitter).
/// Implementations do no retries and add no credentials: [`HttpClient`] does.
///
/// Futures are not `Send`: in the browser they hold JS values on the one thread there is.
#[allow(async_fn_in_trait)]
pub trait Transport {
    async fn send(&self, request: Request) -> Result<Response, NetError>;
    /// Waits without blocking other work (a `setTimeout` in the browser).
    async fn sleep(&self, duration: Duration);
    /// Seconds since the Unix epoch, for Retry-After dates.
    fn now_unix(&self) -> f64;
    /// A number in [0, 1) to spread retries.
    fn jitter(&self) -> f64;
}

impl<T: Transport + ?Sized> Transport for std::rc::Rc<T> {
    async fn send(&self, request: Request) -> Result<Response, NetError> {
        (**self).send(request).await
    }
    async fn sleep(&self, duration: Duration) {
        (**self).sleep(duration).await
    }
    fn now_unix(&self) -> f64 {
        (**self).now_unix()
    }
    fn jitter(&self) -> f64 {
        (**self).jitter()
    }
}

/// A transport plus the credentials and retry policies: the one way the bridge talks HTTP.
pub struct HttpClient<T> {
    transport: T,
    auth: AuthMapper,
    retry: RetryPolicy,
}

impl<T: Transport> HttpClient<T> {
    pub fn new(transport: T, auth: AuthMapper) -> Self {
        HttpClient { transport, auth, retry: RetryPolicy::default() }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn auth(&self) -> &AuthMapper {
        &self.auth
    }

    /// Sends `request` with the token added when its origin is allowed; retries per the
    /// [`RetryPolicy`]; on a 401 to a request that carried the token, asks the host's token
    /// provider once for a new one and resends. A non-success status becomes
    /// [`NetError::Status`] carrying the server's explanation.
    pub async fn send(&self, request: Request) -> Result<Response, NetError> {
        let url = request.url.to_string();
        let mut attempt = 1;
        let mut refreshed = false;
        loop {
            let mut this_try = request.clone();
            self.auth.authorize(&mut this_try);
            let carried_token = this_try.header_value("authorization").is_some();
            let outcome = self.transport.send(this_try).await;
            if let Ok(response) = &outcome {
                if response.status == 401 && carried_token && !refreshed && self.auth.has_provider() {
                    refreshed = true;
                    if self.auth.refresh().await {
                        continue;
                    }
                }
            }
            match self.retry.decide(attempt, request.method, &outcome, self.transport.now_unix(), self.transport.jitter()) {
                Decision::RetryAfter(wait) => {
                    self.transport.sleep(wait).await;
                    attempt += 1;
                }
                Decision::Done => {
                    let response = outcome?;
                    return if response.is_success() {
                        Ok(response)
                    } else {
                        Err(NetError::Status { url, status: response.status, detail: error_detail(&response) })
                    };
                }
            }
        }
    }

    /// GET with an `Accept` header.
    pub async fn get(&self, url: Url, accept: &str) -> Result<Response, NetError> {
        self.send(Request::get(url).header("Accept", accept)).await
    }
}

/// A short, safe explanation from an error body: FHIR OperationOutcome diagnostics or the
/// first line of a text body. Never more than 300 characters.
fn error_detail(response: &Response) -> Option<String> {
    let text = std::str::from_utf8(&response.body).ok()?.trim();
    if text.is_empty() {
        return None;
    }
    let detail = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|json| crate::fhir::operation_outcome_text(&json))
        .unwrap_or_else(|| text.lines().next().unwrap_or_default().to_string());
    Some(detail.chars().take(300).collect())
}
