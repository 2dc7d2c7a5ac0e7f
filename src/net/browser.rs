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

    async fn sleep(&self, duration: std::time::Duration) {
        let ms = duration.as_millis().min(i32::MAX as u128) as i32;
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }

    fn now_unix(&self) -> f64 {
        js_sys::Date::now() / 1000.0
    }

    fn jitter(&self) -> f64 {
        js_sys::Math::random()
    }
}
