//! The HTTP transport and who gets the bearer token.
//!
//! [`Transport`] is a trait so the same bridge code runs over `fetch` in the browser
//! ([`browser::FetchTransport`]) and over a native client in tests and tools
//! ([`native::UreqTransport`]). [`HttpClient`] adds what every request needs: the token, but only
//! for origins the host allowed ([`AuthMapper`]), and typed errors for non-success statuses.

mod auth;
#[cfg(target_arch = "wasm32")]
pub mod browser;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
pub mod retry;
pub mod scheduler;

pub use auth::{renew_time, token_subject, AuthMapper, Fresh, Renewer, TokenProvider, RENEW_AT};
pub use retry::RetryPolicy;
pub use scheduler::{CancelToken, Permit, Priority, Scheduler, DEFAULT_PER_ORIGIN};

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
    /// Removing what we created (a Subscription).
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// What a request asks for, which decides how long it may take ([`Timeouts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequestKind {
    /// A FHIR read or search, a QIDO-RS search: small answers, expected quickly.
    #[default]
    Query,
    /// A WADO-RS retrieve (instances, frames, renderings, metadata): possibly large bodies.
    Retrieve,
}

/// The time limit of one request attempt, body included, by [`RequestKind`]. The host sets
/// them (`requestTimeoutSeconds`): a server that accepts and then says nothing must end in
/// [`NetError::Timeout`], at a limit the deployment chose. In the browser a streamed body (a
/// series retrieve) is limited by its silence instead: the limit runs again from each piece.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeouts {
    pub query: Duration,
    pub retrieve: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { query: Duration::from_secs(30), retrieve: Duration::from_secs(120) }
    }
}

impl Timeouts {
    /// One limit for every kind of request.
    pub fn all(limit: Duration) -> Self {
        Timeouts { query: limit, retrieve: limit }
    }

    pub fn for_kind(&self, kind: RequestKind) -> Duration {
        match kind {
            RequestKind::Query => self.query,
            RequestKind::Retrieve => self.retrieve,
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
    /// Aborts the request when cancelled (the user moved on); no retry follows.
    pub cancel: Option<CancelToken>,
    /// The Endpoint asked not to receive the access token (`requires-access-token: false`).
    pub withhold_token: bool,
    pub kind: RequestKind,
    /// The limit the transport applies; [`HttpClient`] sets it from its [`Timeouts`].
    pub timeout: Option<Duration>,
}

impl Request {
    pub fn get(url: Url) -> Self {
        Request {
            method: Method::Get,
            url,
            headers: Vec::new(),
            body: None,
            cancel: None,
            withhold_token: false,
            kind: RequestKind::Query,
            timeout: None,
        }
    }

    pub fn post(url: Url, content_type: &str, body: Vec<u8>) -> Self {
        Request { method: Method::Post, headers: vec![("Content-Type".into(), content_type.into())], body: Some(body), ..Request::get(url) }
    }

    pub fn of_kind(mut self, kind: RequestKind) -> Self {
        self.kind = kind;
        self
    }

    /// Ties the request to `token`: cancelling it aborts the request.
    pub fn cancellable(mut self, token: &CancelToken) -> Self {
        self.cancel = Some(token.clone());
        self
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(CancelToken::is_cancelled)
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
    /// The server answered with a non-success status. `detail` is what its body said, as text
    /// (bounded); the layer that knows the format makes it readable (fhir: OperationOutcome).
    #[error("{url} answered HTTP {status}{}", detail_suffix(.detail))]
    Status { url: String, status: u16, detail: Option<String> },
    /// The URL could not be built (bad base URL or reference from server data).
    #[error("invalid URL {0:?}")]
    InvalidUrl(String),
    /// An address a browser's fetch refuses (or must never be given): refused before sending,
    /// so it costs no retries. `address` is shown without its credentials.
    #[error("the address {address} cannot be fetched: {reason}")]
    UnusableAddress { address: String, reason: &'static str },
    /// The body exceeded what we are willing to hold in memory.
    #[error("response from {url} is larger than the {limit}-byte limit")]
    TooLarge { url: String, limit: u64 },
    /// No complete answer within the time limit (slow server or stalled body).
    #[error("{url} did not answer within {seconds} s")]
    Timeout { url: String, seconds: u64 },
    /// The request's work was cancelled (the user moved on); whoever cancelled drops it.
    #[error("the request to {url} was cancelled")]
    Cancelled { url: String },
    /// The server refused the token and it could not be renewed: the user must sign in again.
    #[error("session expired: {url} refused the sign-in and it could not be renewed; sign in again")]
    SessionExpired { url: String },
}

/// The first line of a detail, at most [`DETAIL_SHOWN`] characters: an error message stays short.
fn detail_suffix(detail: &Option<String>) -> String {
    detail.as_deref().map(|d| format!(": {}", short_detail(d))).unwrap_or_default()
}

/// Characters of a server's explanation an error message shows.
pub const DETAIL_SHOWN: usize = 300;

/// The first line of `text`, at most [`DETAIL_SHOWN`] characters.
pub fn short_detail(text: &str) -> String {
    text.trim().lines().next().unwrap_or_default().chars().take(DETAIL_SHOWN).collect()
}

/// Characters of a refused address an error shows: a `data:` address may be megabytes.
const ADDRESS_SHOWN: usize = 120;

/// Whether `url` may be fetched at all: http(s) only (a `data:`, `javascript:` or `file:`
/// address is never fetched with the user's context), with a host, and without userinfo
/// (browsers refuse `user:pass@` in fetch, and it would put credentials where logs see them).
pub fn check_address(url: &Url) -> Result<(), NetError> {
    let reason = if !matches!(url.scheme(), "http" | "https") {
        Some("only http and https addresses are fetched")
    } else if !url.username().is_empty() || url.password().is_some() {
        Some("an address with a user name or password is refused by browsers")
    } else if url.host_str().is_none_or(str::is_empty) {
        Some("the address has no host")
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(NetError::UnusableAddress { address: shown_address(url), reason }),
    }
}

/// `url` for an error message: userinfo replaced, long addresses cut.
pub fn shown_address(url: &Url) -> String {
    let text = url.as_str();
    // Serialised userinfo ends at the first `@` after the scheme (an `@` in it is escaped).
    let masked = match (url.username().is_empty() && url.password().is_none(), text.find("://")) {
        (false, Some(start)) => match text[start + 3..].find('@') {
            Some(at) => format!("{}***{}", &text[..start + 3], &text[start + 3 + at..]),
            None => text.to_string(),
        },
        _ => text.to_string(),
    };
    if masked.chars().count() > ADDRESS_SHOWN {
        format!("{}…", masked.chars().take(ADDRESS_SHOWN).collect::<String>())
    } else {
        masked
    }
}

/// Receives a success body piece by piece, with the response headers (the Content-Type
/// boundary is needed before the first piece can be understood).
pub type BodySink<'a> = dyn FnMut(&[(String, String)], &[u8]) + 'a;

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

    /// Like [`Transport::send`], but a success body goes to `sink` piece by piece as it
    /// arrives (the returned body is then empty); a non-success body is returned whole. The
    /// default delivers the whole body in one piece; transports that can stream override it.
    async fn send_streaming(&self, request: Request, sink: &mut BodySink<'_>) -> Result<Response, NetError> {
        let mut response = self.send(request).await?;
        if response.is_success() {
            sink(&response.headers, &response.body);
            response.body = Vec::new();
        }
        Ok(response)
    }
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
    async fn send_streaming(&self, request: Request, sink: &mut BodySink<'_>) -> Result<Response, NetError> {
        (**self).send_streaming(request, sink).await
    }
}

/// A transport plus the credentials, retry and time-limit policies: the one way the bridge
/// talks HTTP.
pub struct HttpClient<T> {
    transport: T,
    auth: AuthMapper,
    retry: RetryPolicy,
    timeouts: Timeouts,
}

impl<T: Transport> HttpClient<T> {
    pub fn new(transport: T, auth: AuthMapper) -> Self {
        HttpClient { transport, auth, retry: RetryPolicy::default(), timeouts: Timeouts::default() }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    pub fn auth(&self) -> &AuthMapper {
        &self.auth
    }

    /// The transport itself, for its platform services (timer, clock).
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Sends `request` with the token added when its origin is allowed; retries per the
    /// [`RetryPolicy`]; on a 401 to a request that carried the token, asks the host's token
    /// provider once for a new one and resends. A non-success status becomes
    /// [`NetError::Status`] carrying the server's explanation. A cancelled request is not
    /// retried; an address [`check_address`] refuses is not sent at all.
    pub async fn send(&self, request: Request) -> Result<Response, NetError> {
        self.send_inner(request, None).await
    }

    /// As [`HttpClient::send`], but a success body is handed to `sink` as it arrives, so a
    /// multipart response can be used part by part. Retries happen only before any body byte
    /// reached `sink` (statuses are known before the body); a body cut short after that is an
    /// error for the caller, who knows what it has.
    pub async fn send_streaming(&self, request: Request, sink: &mut BodySink<'_>) -> Result<Response, NetError> {
        self.send_inner(request, Some(sink)).await
    }

    async fn send_inner(&self, mut request: Request, mut sink: Option<&mut BodySink<'_>>) -> Result<Response, NetError> {
        check_address(&request.url)?;
        let url = request.url.to_string();
        request.timeout = Some(request.timeout.unwrap_or(self.timeouts.for_kind(request.kind)));
        // A provider but no token yet (just set, or cleared): a request that would carry the
        // token waits for the provider's answer rather than going out without it.
        let wants_token = !request.withhold_token && self.auth.is_allowed(&request.url);
        if wants_token && self.auth.can_renew() && !self.auth.has_token() {
            self.auth.refresh().await;
        }
        let mut attempt = 1;
        let mut refreshed = false;
        loop {
            if request.is_cancelled() {
                return Err(cancelled(&url));
            }
            if wants_token {
                // A token at its renewal time is renewed first; while a renewal is under way
                // the request waits, so none leaves with a token about to be replaced.
                if self.auth.is_due(self.transport.now_unix()) {
                    self.auth.refresh().await;
                }
                self.auth.settled().await;
            }
            let mut this_try = request.clone();
            self.auth.authorize(&mut this_try);
            let carried = this_try.header_value("authorization").is_some().then(|| self.auth.current()).flatten();
            let mut delivered = false;
            let outcome = match sink.as_mut() {
                Some(sink) => {
                    let mut counting = |headers: &[(String, String)], piece: &[u8]| {
                        delivered |= !piece.is_empty();
                        sink(headers, piece)
                    };
                    self.transport.send_streaming(this_try, &mut counting).await
                }
                None => self.transport.send(this_try).await,
            };
            if request.is_cancelled() {
                return Err(cancelled(&url));
            }
            if let Ok(response) = &outcome {
                if response.status == 401 && carried.is_some() {
                    if !refreshed && self.auth.can_renew() {
                        refreshed = true;
                        // Renewed meanwhile by another request: resend with the new token.
                        if self.auth.current() != carried || self.auth.refresh().await {
                            continue;
                        }
                    }
                    if self.auth.is_expired() {
                        return Err(NetError::SessionExpired { url });
                    }
                }
            }
            // A body that began to reach the sink is never retried, whether it ended or broke
            // off: a second response fed to the same sink would be glued to the first.
            let streamed = delivered || (sink.is_some() && outcome.as_ref().is_ok_and(Response::is_success));
            let decision = if streamed {
                Decision::Done
            } else {
                self.retry.decide(attempt, request.method, &outcome, self.transport.now_unix(), self.transport.jitter())
            };
            match decision {
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

/// What a cancelled request ends with.
pub fn cancelled(url: &str) -> NetError {
    NetError::Cancelled { url: url.to_string() }
}

/// What a request that hit its time limit ends with (a part of a second counts as one).
pub fn timed_out(url: &str, limit: Duration) -> NetError {
    NetError::Timeout { url: url.to_string(), seconds: limit.as_secs() + u64::from(limit.subsec_nanos() > 0) }
}

/// Bytes of an error body kept as its detail: enough for an OperationOutcome's diagnostics.
const DETAIL_BYTES: usize = 4096;

/// The error body as text, bounded, or `None` when it is empty or not text.
fn error_detail(response: &Response) -> Option<String> {
    let body = &response.body[..response.body.len().min(DETAIL_BYTES)];
    // A cut may split a UTF-8 sequence: keep the valid prefix.
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&body[..e.valid_up_to()]).unwrap_or_default(),
    };
    let text = text.trim();
    (!text.is_empty() && !text.contains('\0')).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_addresses_are_fetched() {
        for ok in ["http://pacs.test/dicom-web", "https://pacs.test:8443/wado?x=1"] {
            assert_eq!(check_address(&Url::parse(ok).unwrap()), Ok(()), "{ok}");
        }
        for bad in
            ["http://user:pass@pacs.test/dw", "http://user@pacs.test/dw", "data:text/plain,x", "javascript:alert(1)", "file:///etc/passwd"]
        {
            let err = check_address(&Url::parse(bad).unwrap()).unwrap_err();
            assert!(matches!(err, NetError::UnusableAddress { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn a_refused_address_is_shown_without_its_credentials_and_cut() {
        let err = check_address(&Url::parse("http://user:secret@pacs.test/dw").unwrap()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("http://***@pacs.test/dw") && !text.contains("secret") && !text.contains("user:"), "{text}");
        let long = format!("data:application/dicom;base64,{}", "A".repeat(10_000));
        let NetError::UnusableAddress { address, .. } = check_address(&Url::parse(&long).unwrap()).unwrap_err() else { panic!() };
        assert_eq!(address.chars().count(), ADDRESS_SHOWN + 1);
    }

    #[test]
    fn a_limit_of_part_of_a_second_reads_as_one() {
        assert_eq!(timed_out("u", Duration::from_millis(500)), NetError::Timeout { url: "u".into(), seconds: 1 });
        assert_eq!(timed_out("u", Duration::from_secs(2)), NetError::Timeout { url: "u".into(), seconds: 2 });
        assert_eq!(Timeouts::default().for_kind(RequestKind::Retrieve), Duration::from_secs(120));
    }
}
