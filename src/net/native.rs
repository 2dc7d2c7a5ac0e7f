//! A native transport over `ureq`, for tests, benchmarks and tools (never shipped to the browser).

use super::{NetError, Request, Response, Transport};
use std::time::Duration;

/// Blocking `ureq` behind the async [`Transport`] interface: native callers drive the futures
/// with a trivial executor, one request at a time, which is what tests and tools need.
pub struct UreqTransport {
    agent: ureq::Agent,
    max_body: u64,
    timeout: Duration,
    seed: std::cell::Cell<u64>,
}

impl UreqTransport {
    pub fn new() -> Self {
        Self::with_timeout(Duration::from_secs(120))
    }

    /// `timeout` bounds a whole request, body included, when the request carries no limit of
    /// its own: a stalled body is a timeout, not a hang.
    pub fn with_timeout(timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(timeout)).build().into();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
        UreqTransport { agent, max_body: 2 << 30, timeout, seed: std::cell::Cell::new(nanos | 1) }
    }
}

impl Default for UreqTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl UreqTransport {
    fn map_error(url: &str, limit: Duration, e: ureq::Error) -> NetError {
        match e {
            ureq::Error::Timeout(_) => super::timed_out(url, limit),
            ureq::Error::BodyExceedsLimit(limit) => NetError::TooLarge { url: url.to_string(), limit },
            other => NetError::Unreachable { url: url.to_string(), message: other.to_string() },
        }
    }

    /// A read error of a body: ureq wraps its own errors (timeouts, limits) in io::Error.
    fn io_error(url: &str, limit: Duration, e: std::io::Error) -> NetError {
        match e.into_inner().and_then(|inner| inner.downcast::<ureq::Error>().ok()) {
            Some(ureq_error) => Self::map_error(url, limit, *ureq_error),
            None => NetError::Unreachable { url: url.to_string(), message: "the connection broke while reading the body".into() },
        }
    }

    /// Sends the request under its own time limit (else the transport's); returns status,
    /// headers, the unread body and the limit that applies to it.
    fn start(&self, request: Request) -> Result<Started, NetError> {
        let url = request.url.to_string();
        if request.is_cancelled() {
            return Err(super::cancelled(&url));
        }
        let limit = request.timeout.unwrap_or(self.timeout);
        let invalid = |e: &dyn std::fmt::Display| NetError::InvalidUrl(format!("{url}: {e}"));
        let mut builder = ureq::http::Request::builder().method(request.method.as_str()).uri(url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let result = match request.body {
            Some(body) => {
                let built = builder.body(body).map_err(|e| invalid(&e))?;
                self.agent.run(self.agent.configure_request(built).timeout_global(Some(limit)).build())
            }
            None => {
                let built = builder.body(()).map_err(|e| invalid(&e))?;
                self.agent.run(self.agent.configure_request(built).timeout_global(Some(limit)).build())
            }
        };
        let response = result.map_err(|e| Self::map_error(&url, limit, e))?;
        let status = response.status().as_u16();
        let headers = response.headers().iter().filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string()))).collect();
        Ok(Started { status, headers, body: response.into_body(), limit })
    }
}

/// A response whose body is still to be read, and the time limit that still runs.
struct Started {
    status: u16,
    headers: Vec<(String, String)>,
    body: ureq::Body,
    limit: Duration,
}

impl Transport for UreqTransport {
    async fn send(&self, request: Request) -> Result<Response, NetError> {
        let url = request.url.to_string();
        let Started { status, headers, body, limit } = self.start(request)?;
        let body = body.into_with_config().limit(self.max_body).read_to_vec().map_err(|e| Self::map_error(&url, limit, e))?;
        Ok(Response { status, headers, body })
    }

    /// Reads the body in pieces as the socket delivers them; a cancelled request stops reading.
    async fn send_streaming(&self, request: Request, sink: &mut super::BodySink<'_>) -> Result<Response, NetError> {
        use std::io::Read;
        let url = request.url.to_string();
        let cancel = request.cancel.clone();
        let Started { status, headers, body, limit } = self.start(request)?;
        let mut reader = body.into_with_config().limit(self.max_body).reader();
        if !(200..300).contains(&status) {
            let mut whole = Vec::new();
            reader.read_to_end(&mut whole).map_err(|e| Self::io_error(&url, limit, e))?;
            return Ok(Response { status, headers, body: whole });
        }
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            if cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
                return Err(super::cancelled(&url));
            }
            let n = reader.read(&mut buffer).map_err(|e| Self::io_error(&url, limit, e))?;
            if n == 0 {
                return Ok(Response { status, headers, body: Vec::new() });
            }
            sink(&headers, &buffer[..n]);
        }
    }

    async fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }

    fn now_unix(&self) -> f64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
    }

    /// xorshift64: enough to spread retries; nothing here needs unpredictability.
    fn jitter(&self) -> f64 {
        let mut x = self.seed.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Runs a future to completion on the current thread. The native transport never returns
/// `Pending`, so a no-op waker is enough; anything else is a bug worth a clear panic in tests.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}
