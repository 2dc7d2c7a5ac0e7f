//! The browser transport: `fetch` through gloo-net, with a time limit and cancellation, both
//! through one AbortController per request.

use super::{cancelled, BodySink, Method, NetError, Request, Response, Transport};
use gloo_net::http::RequestBuilder;
use js_sys::{Function, Promise, Reflect, Uint8Array};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The limit for a whole request, body included, when the request carries none: long enough
/// for a large multi-frame instance on a slow link, short enough that a stalled server ends
/// in an error. [`super::HttpClient`] gives every request its own limit.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// `fetch` with no credentials mode tricks: the token travels only in the header that
/// [`super::AuthMapper`] decided on, never as a cookie. Requests end after their own limit,
/// else [`DEFAULT_TIMEOUT`] (`default()`) or the limit given to [`FetchTransport::with_timeout`].
#[derive(Clone, Debug)]
pub struct FetchTransport {
    timeout: Duration,
}

impl Default for FetchTransport {
    fn default() -> Self {
        Self::with_timeout(DEFAULT_TIMEOUT)
    }
}

impl FetchTransport {
    pub fn with_timeout(timeout: Duration) -> Self {
        FetchTransport { timeout }
    }
}

impl Transport for FetchTransport {
    async fn send(&self, request: Request) -> Result<Response, NetError> {
        fetch(request, self.timeout, None).await
    }
    async fn sleep(&self, duration: Duration) {
        sleep(duration).await
    }
    fn now_unix(&self) -> f64 {
        js_sys::Date::now() / 1000.0
    }
    fn jitter(&self) -> f64 {
        js_sys::Math::random()
    }
    async fn send_streaming(&self, request: Request, sink: &mut BodySink<'_>) -> Result<Response, NetError> {
        fetch(request, self.timeout, Some(sink)).await
    }
}

/// Waits `duration` on the browser's timer (zero: one turn of the event loop, so input and
/// paint are served). Where no timer can be set it returns at once rather than never.
pub(crate) async fn sleep(duration: Duration) {
    if duration.is_zero() {
        return next_turn().await;
    }
    let ms = duration.as_millis().min(i32::MAX as u128) as i32;
    let promise = Promise::new(&mut |resolve, _| {
        let scheduled = web_sys::window().is_some_and(|w| w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms).is_ok());
        if !scheduled {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// One turn of the event loop: a message posted to a channel of our own is a new task, so input
/// and paint come first, without the ≥ 4 ms that browsers add to a zero timeout nested five
/// deep (a series load yields once per instance). Falls back to a zero timeout.
async fn next_turn() {
    let channel = web_sys::MessageChannel::new().ok();
    let promise = Promise::new(&mut |resolve, _| {
        let posted = channel.as_ref().is_some_and(|c| {
            c.port1().set_onmessage(Some(&resolve));
            c.port2().post_message(&JsValue::UNDEFINED).is_ok()
        });
        let scheduled =
            posted || web_sys::window().is_some_and(|w| w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0).is_ok());
        if !scheduled {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = JsFuture::from(promise).await;
    // Held (and closed) here, so the channel outlives its message.
    if let Some(c) = channel {
        c.port1().close();
        c.port2().close();
    }
}

/// Why a fetch was aborted, if it was.
#[derive(Clone, Copy, PartialEq)]
enum Abort {
    None,
    Timeout,
    Cancel,
}

/// One fetch under an AbortController that fires on the time limit or on the request's cancel
/// token; the abort also ends a body that is still streaming.
async fn fetch(request: Request, timeout: Duration, sink: Option<&mut BodySink<'_>>) -> Result<Response, NetError> {
    let url = request.url.to_string();
    let timeout = request.timeout.unwrap_or(timeout);
    if request.is_cancelled() {
        return Err(cancelled(&url));
    }
    let unreachable = |message: String| NetError::Unreachable { url: url.clone(), message };
    let controller = web_sys::AbortController::new().map_err(|_| unreachable("AbortController is unavailable".into()))?;
    let why = Rc::new(Cell::new(Abort::None));
    let on_timeout: Closure<dyn FnMut()> = {
        let (controller, why) = (controller.clone(), why.clone());
        Closure::new(move || {
            why.set(Abort::Timeout);
            controller.abort();
        })
    };
    // Cleared when this future ends or is dropped unfinished, before its closure goes.
    let timer = RefCell::new(Timer::start(on_timeout, timeout));
    let _cancel_hook = request.cancel.as_ref().map(|token| {
        let (controller, why) = (controller.clone(), why.clone());
        token.on_cancel(move || {
            if why.get() == Abort::None {
                why.set(Abort::Cancel);
            }
            controller.abort();
        })
    });
    // A streamed body (a whole series) may rightly take longer than the limit: the limit runs
    // again from each piece, so it ends a server that stops sending, not one still sending.
    let mut restarting = sink.map(|sink| {
        let timer = &timer;
        move |headers: &[(String, String)], bytes: &[u8]| {
            timer.borrow_mut().restart(timeout);
            sink(headers, bytes)
        }
    });
    let sink = restarting.as_mut().map(|sink| sink as &mut BodySink<'_>);
    let outcome = run(request, &controller.signal(), sink).await;
    drop(timer);
    match (outcome, why.get()) {
        (Ok(response), _) => Ok(response),
        (Err(_), Abort::Timeout) => Err(super::timed_out(&url, timeout)),
        (Err(_), Abort::Cancel) => Err(cancelled(&url)),
        (Err(message), Abort::None) => Err(unreachable(message)),
    }
}

/// A pending `setTimeout` and its callback: dropping it clears the timeout first, so the
/// browser never calls a dropped closure (also when the fetch future is dropped unfinished).
struct Timer {
    handle: Option<(web_sys::Window, i32)>,
    callback: Closure<dyn FnMut()>,
}

impl Timer {
    fn start(callback: Closure<dyn FnMut()>, after: Duration) -> Self {
        let mut timer = Timer { handle: None, callback };
        timer.restart(after);
        timer
    }

    /// Clears the pending timeout and sets it again, `after` from now.
    fn restart(&mut self, after: Duration) {
        self.clear();
        let ms = after.as_millis().min(i32::MAX as u128) as i32;
        self.handle = web_sys::window().and_then(|w| {
            let id = w.set_timeout_with_callback_and_timeout_and_arguments_0(self.callback.as_ref().unchecked_ref(), ms).ok()?;
            Some((w, id))
        });
    }

    fn clear(&mut self) {
        if let Some((window, id)) = self.handle.take() {
            window.clear_timeout_with_handle(id);
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.clear();
    }
}

async fn run(request: Request, signal: &web_sys::AbortSignal, sink: Option<&mut BodySink<'_>>) -> Result<Response, String> {
    let method = match request.method {
        Method::Get => gloo_net::http::Method::GET,
        Method::Post => gloo_net::http::Method::POST,
        Method::Put => gloo_net::http::Method::PUT,
        Method::Delete => gloo_net::http::Method::DELETE,
    };
    let mut builder = RequestBuilder::new(request.url.as_str()).method(method).abort_signal(Some(signal));
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let built = match request.body {
        Some(body) => builder.body(Uint8Array::from(body.as_slice())),
        None => builder.build(),
    }
    .map_err(|e| e.to_string())?;
    let response = built.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let headers: Vec<(String, String)> = response.headers().entries().collect();
    let success = (200..300).contains(&status);
    match (sink, response.body()) {
        (Some(sink), Some(stream)) if success => {
            read_stream(&stream.into(), &headers, sink).await?;
            Ok(Response { status, headers, body: Vec::new() })
        }
        _ => {
            let body = response.binary().await.map_err(|e| e.to_string())?;
            Ok(Response { status, headers, body })
        }
    }
}

/// Reads a ReadableStream chunk by chunk (`getReader().read()` until `done`).
async fn read_stream(stream: &JsValue, headers: &[(String, String)], sink: &mut BodySink<'_>) -> Result<(), String> {
    let js_err = |e: JsValue| e.as_string().unwrap_or_else(|| "the response body could not be read".into());
    let method = |target: &JsValue, name: &str| -> Result<Function, String> {
        Reflect::get(target, &JsValue::from_str(name)).map_err(js_err)?.dyn_into::<Function>().map_err(|_| format!("no {name}()"))
    };
    let reader = method(stream, "getReader")?.call0(stream).map_err(js_err)?;
    let read = method(&reader, "read")?;
    // One buffer for every piece: the pieces are copied into wasm memory, not allocated there.
    let mut piece = Vec::new();
    loop {
        let promise: Promise = read.call0(&reader).map_err(js_err)?.dyn_into().map_err(|_| "read() is not a promise".to_string())?;
        let chunk = JsFuture::from(promise).await.map_err(js_err)?;
        if Reflect::get(&chunk, &JsValue::from_str("done")).ok().and_then(|d| d.as_bool()).unwrap_or(true) {
            return Ok(());
        }
        let value = Reflect::get(&chunk, &JsValue::from_str("value")).map_err(js_err)?;
        let bytes = value.dyn_into::<Uint8Array>().map_err(|_| "a body chunk is not bytes".to_string())?;
        let len = bytes.length() as usize;
        if piece.len() < len {
            piece.resize(len, 0);
        }
        let piece = &mut piece[..len];
        bytes.copy_to(piece);
        sink(headers, piece);
    }
}
