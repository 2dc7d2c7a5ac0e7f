//! The browser transport: `fetch` through gloo-net.

use super::{Method, NetError, Request, Response, Transport};
use gloo_net::http::RequestBuilder;

/// `fetch` with no credentials mode tricks: the token travels only in the header that
/// [`super::AuthMapper`] decided on, never as a cookie.
#[derive(Default, Clone)]
pub struct FetchTransport;

impl Transport for FetchTransport {
    async fn send(&self, request: Request) -> Result<Response, NetError> {
        let url = request.url.to_string();
        let unreachable = |message: String| NetError::Unreachable { url: url.clone(), message };
        let method = match request.method {
            Method::Get => gloo_net::http::Method::GET,
            Method::Post => gloo_net::http::Method::POST,
            Method::Put => gloo_net::http::Method::PUT,
        };
        let mut builder = RequestBuilder::new(&url).method(method);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let built = match request.body {
            Some(body) => builder.body(js_sys::Uint8Array::from(body.as_slice())),
            None => builder.build(),
        }
        .map_err(|e| unreachable(e.to_string()))?;
        let response = built.send().await.map_err(|e| unreachable(e.to_string()))?;
        let status = response.status();
        let headers = response.headers().entries().collect();
        let body = response.binary().await.map_err(|e| unreachable(e.to_string()))?;
        Ok(Response { status, headers, body })
    }
}
