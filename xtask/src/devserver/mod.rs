//! The dev server behind `cargo xtask demo` and the end-to-end tests.
//!
//! It serves the demo pages and the built npm package, and puts `/fhir/…` and `/dicom-web/…` on
//! the same origin, so the page needs no CORS and runs under a strict CSP. Those two prefixes
//! are answered either from a built-in [`Dataset`] (no servers needed) or by proxying to real
//! servers (Orthanc sends no CORS headers, and the browser must see one origin).
//!
//! Binds 127.0.0.1 only. A small pool of worker threads answers requests so parallel image
//! fetches are not serialised.
//!
//! **Dev-only endpoint:** `GET /__devserver/requests` returns, as JSON, the last
//! [`JOURNAL_LEN`] requests (method, path, query, whether an `Authorization` header came and its
//! first 12 characters), and `DELETE /__devserver/requests` clears them. Tests use it to assert
//! what reached the server (e.g. where a token went). It exists only in this dev server, never
//! in anything the component ships.
//!
//! **Dev-only fault switch:** `PUT /__devserver/refuse` with body `on` makes every API request
//! (`/fhir`, `/dicom-web`, `/audit`) answer 503 without reaching a server, as a proxy whose
//! upstream is gone does; a body naming prefixes (`/audit`) refuses those only; `off` ends it.
//! Tests cut the network with it.

use crate::testdata::Dataset;
use anyhow::{anyhow, Context, Result};
use serde_json::Value;
use std::collections::VecDeque;
use std::io::{Cursor, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub struct Options {
    /// 0 = any free port (see [`Handle::port`]).
    pub port: u16,
    /// Static pages: `/` is `www/index.html`.
    pub www: PathBuf,
    /// The built npm package, served at `/pkg/`.
    pub pkg: PathBuf,
    pub upstream: Upstream,
    /// One line per request on stdout: method, path without query, status, bytes, ms.
    pub log_requests: bool,
}

pub enum Upstream {
    /// Built-in sample data: FHIR and DICOMweb answered from memory.
    Sample(Dataset),
    /// Real servers' base URLs, e.g. `http://127.0.0.1:8081/fhir` and `http://127.0.0.1:8042/dicom-web`;
    /// `audit`, when given, is the FHIR server AuditEvents go to, at `/audit`.
    Proxy { fhir: String, dicomweb: String, audit: Option<String> },
}

/// A running server. Dropping it (or [`Handle::stop`]) shuts it down.
pub struct Handle {
    pub port: u16,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

// Not every caller uses every method; the tests do.
#[allow(dead_code)]
impl Handle {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

const WORKERS: usize = 8;
/// How many requests `/__devserver/requests` remembers.
pub const JOURNAL_LEN: usize = 200;
const JOURNAL_PATH: &str = "/__devserver/requests";
const REFUSE_PATH: &str = "/__devserver/refuse";
/// How often idle workers look at the stop flag.
const POLL: Duration = Duration::from_millis(100);

/// The demo page may frame the hosted viewer, which `cargo xtask demo` serves on another
/// loopback port (another origin, as in a hospital).
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' blob: data:; connect-src 'self'; frame-src http://127.0.0.1:* http://localhost:*";
const CORS_ALLOW_HEADERS: &str = "authorization, accept, content-type";
const CORS_EXPOSE_HEADERS: &str = "content-type, retry-after, content-location";

pub fn start(opts: Options) -> Result<Handle> {
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", opts.port)).map_err(|e| anyhow!("could not listen on 127.0.0.1:{}: {e}", opts.port))?;
    // Accepted connections inherit it. With Nagle on, the last short piece of a response on a
    // kept-alive connection waited for the browser's delayed ACK: about 40 ms more for one
    // instance in some benchmark runs, which curl's new connections did not see. Servers in
    // front of a PACS (nginx's `tcp_nodelay on`) send at once too.
    socket2::SockRef::from(&listener).set_tcp_nodelay(true).context("TCP_NODELAY on the dev server")?;
    let server = tiny_http::Server::from_listener(listener, None).map_err(|e| anyhow!("the dev server could not start: {e}"))?;
    let port = server.server_addr().to_ip().context("the dev server is not on an IP socket")?.port();
    let mode = match opts.upstream {
        Upstream::Sample(ds) => Mode::Sample(ds),
        Upstream::Proxy { fhir, dicomweb, audit } => {
            for base in [Some(&fhir), Some(&dicomweb), audit.as_ref()].into_iter().flatten() {
                if !(base.starts_with("http://") || base.starts_with("https://")) {
                    anyhow::bail!("upstream base {base:?} is not an http(s) URL");
                }
            }
            Mode::Proxy { fhir, dicomweb, audit, agent: proxy::agent() }
        }
    };
    let state = Arc::new(State {
        www: opts.www,
        pkg: opts.pkg,
        mode,
        log_requests: opts.log_requests,
        journal: Mutex::new(VecDeque::new()),
        port,
        refusing: Mutex::new(Vec::new()),
    });
    let server = Arc::new(server);
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for n in 0..WORKERS {
        let (server, state, stop) = (server.clone(), state.clone(), stop.clone());
        let worker = std::thread::Builder::new().name(format!("devserver-{n}")).spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match server.recv_timeout(POLL) {
                    Ok(Some(request)) => handle(&state, request),
                    Ok(None) => {}
                    Err(_) => std::thread::sleep(POLL),
                }
            }
        });
        workers.push(worker.context("spawning a dev server worker")?);
    }
    Ok(Handle { port, stop, workers })
}

struct State {
    www: PathBuf,
    pkg: PathBuf,
    mode: Mode,
    log_requests: bool,
    journal: Mutex<VecDeque<Seen>>,
    port: u16,
    /// The fault switch: API prefixes that answer 503 while listed.
    refusing: Mutex<Vec<&'static str>>,
}

enum Mode {
    Sample(Dataset),
    Proxy { fhir: String, dicomweb: String, audit: Option<String>, agent: ureq::Agent },
}

/// One journal entry. The Authorization value is cut to 12 characters: enough to tell which
/// token went where, not enough to reuse it. JWTs of one server all begin alike, so their last
/// 12 characters (of the signature) tell them apart too.
#[derive(serde::Serialize, Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: Option<String>,
    has_authorization: bool,
    authorization: Option<String>,
    token_tail: Option<String>,
}

/// What a handler answers; written out by [`respond`].
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

enum Body {
    Bytes(Vec<u8>),
    /// A reader and its length when known (chunked otherwise).
    Stream(Box<dyn Read>, Option<usize>),
}

impl Reply {
    fn new(status: u16, content_type: &str, body: Vec<u8>) -> Reply {
        Reply { status, headers: vec![("Content-Type".into(), content_type.into())], body: Body::Bytes(body) }
    }

    fn text(status: u16, text: &str) -> Reply {
        Reply::new(status, "text/plain; charset=utf-8", format!("{text}\n").into_bytes())
    }

    fn json(status: u16, content_type: &str, value: &Value) -> Reply {
        Reply::new(status, content_type, serde_json::to_vec_pretty(value).unwrap_or_default())
    }

    fn empty(status: u16) -> Reply {
        Reply { status, headers: Vec::new(), body: Body::Bytes(Vec::new()) }
    }

    fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

fn header(rq: &tiny_http::Request, name: &str) -> Option<String> {
    rq.headers().iter().find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name)).map(|h| h.value.as_str().to_string())
}

/// `/a/b?x=1` → (`/a/b`, Some(`x=1`)).
fn split_target(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

fn handle(state: &State, mut rq: tiny_http::Request) {
    let started = Instant::now();
    let method = rq.method().as_str().to_ascii_uppercase();
    let target = rq.url().to_string();
    let (path, query) = split_target(&target);
    if path != JOURNAL_PATH {
        state.record(&method, path, query, header(&rq, "Authorization").as_deref());
    }
    let origin = header(&rq, "Origin").filter(|o| cors::is_loopback_origin(o));
    let mut reply = catch_unwind(AssertUnwindSafe(|| route(state, &mut rq, &method, path, query)))
        .unwrap_or_else(|_| Reply::text(500, "internal error in the dev server"));
    if let Some(origin) = origin {
        reply.headers.push(("Access-Control-Allow-Origin".into(), origin));
        reply.headers.push(("Vary".into(), "Origin".into()));
        reply.headers.push(("Access-Control-Allow-Headers".into(), CORS_ALLOW_HEADERS.into()));
        reply.headers.push(("Access-Control-Expose-Headers".into(), CORS_EXPOSE_HEADERS.into()));
        if method == "OPTIONS" {
            reply.headers.push(("Access-Control-Allow-Methods".into(), "GET, HEAD, POST, PUT, DELETE, OPTIONS".into()));
            reply.headers.push(("Access-Control-Max-Age".into(), "600".into()));
        }
    }
    let status = reply.status;
    let bytes = respond(rq, reply);
    if state.log_requests {
        // Never the query (it may carry PHI) nor any header value.
        println!("{method} {path} {status} {bytes}B {}ms", started.elapsed().as_millis());
    }
}

/// Writes the reply; returns the body bytes sent.
fn respond(rq: tiny_http::Request, reply: Reply) -> u64 {
    let (reader, length): (Box<dyn Read>, Option<usize>) = match reply.body {
        Body::Bytes(bytes) => {
            let len = bytes.len();
            (Box::new(Cursor::new(bytes)), Some(len))
        }
        Body::Stream(reader, len) => (reader, len),
    };
    let count = Arc::new(AtomicU64::new(0));
    let reader = Counting { inner: reader, count: count.clone() };
    let headers =
        reply.headers.iter().filter_map(|(name, value)| tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()).collect();
    let response = tiny_http::Response::new(tiny_http::StatusCode(reply.status), headers, reader, length, None);
    // A client that went away is not our error.
    let _ = rq.respond(response);
    count.load(Ordering::Relaxed)
}

struct Counting {
    inner: Box<dyn Read>,
    count: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl State {
    fn record(&self, method: &str, path: &str, query: Option<&str>, authorization: Option<&str>) {
        let seen = Seen {
            method: method.into(),
            path: path.into(),
            query: query.map(Into::into),
            has_authorization: authorization.is_some(),
            authorization: authorization.map(|a| a.chars().take(12).collect()),
            token_tail: authorization.map(|a| {
                let chars: Vec<char> = a.chars().collect();
                chars[chars.len().saturating_sub(12)..].iter().collect()
            }),
        };
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        if journal.len() == JOURNAL_LEN {
            journal.pop_front();
        }
        journal.push_back(seen);
    }

    fn journal(&self, method: &str) -> Reply {
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        match method {
            "GET" | "HEAD" => {
                let list: Vec<Seen> = journal.iter().cloned().collect();
                Reply::json(200, "application/json", &serde_json::to_value(list).unwrap_or_default()).header("Cache-Control", "no-store")
            }
            "DELETE" => {
                journal.clear();
                Reply::empty(204)
            }
            _ => Reply::text(405, "GET or DELETE").header("Allow", "GET, HEAD, DELETE"),
        }
    }
}

/// `prefix` itself or `prefix/…` → the rest (`""` or `/…`).
fn under<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

fn route(state: &State, rq: &mut tiny_http::Request, method: &str, path: &str, query: Option<&str>) -> Reply {
    if method == "OPTIONS" {
        // The CORS headers are added by the caller, and only for loopback origins.
        return Reply::empty(204).header("Allow", "GET, HEAD, POST, PUT, DELETE, OPTIONS");
    }
    if !path.starts_with('/') {
        return Reply::text(400, "bad request target");
    }
    if path == JOURNAL_PATH {
        return state.journal(method);
    }
    if path == REFUSE_PATH {
        let mut body = String::new();
        let _ = rq.as_reader().take(256).read_to_string(&mut body);
        let words: Vec<&str> = body.split_whitespace().collect();
        let refused: Option<Vec<&'static str>> = match words.as_slice() {
            ["on"] => Some(API_PREFIXES.iter().map(|(p, _)| *p).collect()),
            ["off"] => Some(Vec::new()),
            named => named.iter().map(|w| API_PREFIXES.iter().map(|(p, _)| *p).find(|p| p == w)).collect(),
        };
        return match (method, refused) {
            ("PUT", Some(refused)) if !words.is_empty() => {
                *state.refusing.lock().unwrap_or_else(|e| e.into_inner()) = refused;
                Reply::empty(204)
            }
            _ => Reply::text(400, "PUT on, off, or API prefixes such as /audit"),
        };
    }
    let api = API_PREFIXES.into_iter().find_map(|(p, api)| under(path, p).map(|rest| (p, api, rest)));
    let Some((prefix, api, rest)) = api else {
        return match method {
            "GET" | "HEAD" => files::serve(state, path),
            _ => Reply::text(405, "static files are GET only").header("Allow", "GET, HEAD"),
        };
    };
    if state.refusing.lock().unwrap_or_else(|e| e.into_inner()).contains(&prefix) {
        return Reply::text(503, "the dev server refuses API requests now (fault switch on)");
    }
    let host = match host::own(header(rq, "Host").as_deref(), state.port) {
        Ok(host) => host,
        Err(e) => return Reply::text(400, &e),
    };
    match &state.mode {
        Mode::Sample(ds) => {
            let segments = match paths::segments(rest) {
                Ok(s) => s,
                Err(e) => return Reply::text(400, e),
            };
            let params = match query::parse(query.unwrap_or("")) {
                Ok(p) => p,
                Err(e) => return Reply::text(400, e),
            };
            let request = sample::Request { method, host: &host, segments: &segments, params: &params, raw_query: query };
            match api {
                Api::Fhir => sample::fhir(ds, &request),
                Api::DicomWeb => sample::dicomweb(ds, &request, header(rq, "Accept").as_deref()),
                Api::Audit => Reply::text(404, "the sample server keeps no audit trail"),
            }
        }
        Mode::Proxy { fhir, dicomweb, audit, agent } => {
            let base = match api {
                Api::Fhir => fhir,
                Api::DicomWeb => dicomweb,
                Api::Audit => match audit {
                    Some(audit) => audit,
                    None => return Reply::text(404, "no audit server behind this dev server"),
                },
            };
            // FHIR answers name the server by its own base: point those URLs back here.
            let rewrite = matches!(api, Api::Fhir).then(|| proxy::Rewrite { upstream: fhir, public: format!("http://{host}/fhir") });
            proxy::forward(agent, base, rest, query, &host, method, rq, rewrite.as_ref())
        }
    }
}

/// The API prefixes, and which upstream answers each.
const API_PREFIXES: [(&str, Api); 3] = [("/fhir", Api::Fhir), ("/dicom-web", Api::DicomWeb), ("/audit", Api::Audit)];

#[derive(Clone, Copy)]
enum Api {
    Fhir,
    DicomWeb,
    /// The FHIR server AuditEvents are delivered to.
    Audit,
}

/// Percent-decoding and path safety.
mod paths;

/// Query strings (`application/x-www-form-urlencoded`), both ways.
mod query;

/// The `Host` the client used, which is how URLs in answers (and in proxied requests) point
/// back at this server.
mod host;

/// Which cross-origin pages may call this server: loopback only, any port.
mod cors;

/// Accept negotiation for the few media types the sample server produces.
mod accept;

/// Static files from `www/` and `/pkg/` from the package folder.
mod files;

/// The built-in sample servers: FHIR R4 search/read and DICOMweb QIDO-RS/WADO-RS over a
/// [`Dataset`], with every URL built from the request's Host so the browser sees one origin.
mod sample;

/// Forwarding to real servers: statuses, the headers that matter and bodies pass through
/// unchanged; bodies are streamed both ways, so large studies never sit in memory.
mod proxy;

#[cfg(test)]
mod tests;
