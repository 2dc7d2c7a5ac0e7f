//! A native transport over `ureq`, for tests, benchmarks and tools (never shipped to the browser).

use super::{NetError, Request, Response, Transport};
use std::time::Duration;

/// Blocking `ureq` behind the async [`Transport`] interface: native callers drive the futures
/// with a trivial executor, one request at a time, which is what tests and tools need.
pub struct UreqTransport {
    agent: ureq::Agent,
    max_body: u64,
}

impl UreqTransport {
    pub fn new() -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        UreqTransport { agent, max_body: 2 << 30 }
    }
}

impl Default for UreqTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl Transport for UreqTransport {
    async fn send(&self, request: Request) -> Result<Response, NetError> {
        let url = request.url.to_string();
        let unreachable = |e: &dyn std::fmt::Display| NetError::Unreachable { url: url.clone(), message: e.to_string() };
        let mut builder = ureq::http::Request::builder().method(request.method.as_str()).uri(url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let result = match request.body {
            Some(body) => builder.body(body).map_err(|e| unreachable(&e)).and_then(|r| self.agent.run(r).map_err(|e| unreachable(&e))),
            None => builder.body(()).map_err(|e| unreachable(&e)).and_then(|r| self.agent.run(r).map_err(|e| unreachable(&e))),
        };
        let response = result?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let body = response.into_body().with_config().limit(self.max_body).read_to_vec().map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(limit) => NetError::TooLarge { url: url.clone(), limit },
            other => unreachable(&other),
        })?;
        Ok(Response { status, headers, body })
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
