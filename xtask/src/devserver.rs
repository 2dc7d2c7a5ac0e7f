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
    /// Real servers' base URLs, e.g. `http://127.0.0.1:8081/fhir` and `http://127.0.0.1:8042/dicom-web`.
    Proxy { fhir: String, dicomweb: String },
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
/// How often idle workers look at the stop flag.
const POLL: Duration = Duration::from_millis(100);

const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' blob: data:; connect-src 'self'";
const CORS_ALLOW_HEADERS: &str = "authorization, accept, content-type";
const CORS_EXPOSE_HEADERS: &str = "content-type, retry-after, content-location";

pub fn start(opts: Options) -> Result<Handle> {
    let server = tiny_http::Server::http(("127.0.0.1", opts.port))
        .map_err(|e| anyhow!("could not listen on 127.0.0.1:{}: {e}", opts.port))?;
    let port = server.server_addr().to_ip().context("the dev server is not on an IP socket")?.port();
    let mode = match opts.upstream {
        Upstream::Sample(ds) => Mode::Sample(ds),
        Upstream::Proxy { fhir, dicomweb } => {
            for base in [&fhir, &dicomweb] {
                if !(base.starts_with("http://") || base.starts_with("https://")) {
                    anyhow::bail!("upstream base {base:?} is not an http(s) URL");
                }
            }
            Mode::Proxy { fhir, dicomweb, agent: proxy::agent() }
        }
    };
    let state = Arc::new(State {
        www: opts.www,
        pkg: opts.pkg,
        mode,
        log_requests: opts.log_requests,
        journal: Mutex::new(VecDeque::new()),
        port,
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
}

enum Mode {
    Sample(Dataset),
    Proxy { fhir: String, dicomweb: String, agent: ureq::Agent },
}

/// One journal entry. The Authorization value is cut to 12 characters: enough to tell which
/// token went where, not enough to reuse it.
#[derive(serde::Serialize, Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: Option<String>,
    has_authorization: bool,
    authorization: Option<String>,
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
    let headers = reply
        .headers
        .iter()
        .filter_map(|(name, value)| tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).ok())
        .collect();
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
    let api = [("/fhir", Api::Fhir), ("/dicom-web", Api::DicomWeb)].into_iter().find_map(|(p, api)| under(path, p).map(|rest| (api, rest)));
    let Some((api, rest)) = api else {
        return match method {
            "GET" | "HEAD" => files::serve(state, path),
            _ => Reply::text(405, "static files are GET only").header("Allow", "GET, HEAD"),
        };
    };
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
            }
        }
        Mode::Proxy { fhir, dicomweb, agent } => {
            let base = match api {
                Api::Fhir => fhir,
                Api::DicomWeb => dicomweb,
            };
            proxy::forward(agent, base, rest, query, &host, method, rq)
        }
    }
}

#[derive(Clone, Copy)]
enum Api {
    Fhir,
    DicomWeb,
}

/// Percent-decoding and path safety.
mod paths {
    use std::path::PathBuf;

    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }

    /// `%XX` escapes → bytes; a malformed escape is an error, not passed through.
    pub fn percent_decode(s: &str, plus_is_space: bool) -> Result<String, &'static str> {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'%' => {
                    let hi = bytes.get(i + 1).copied().and_then(hex);
                    let lo = bytes.get(i + 2).copied().and_then(hex);
                    match (hi, lo) {
                        (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                        _ => return Err("malformed percent-escape"),
                    }
                    i += 3;
                }
                b'+' if plus_is_space => {
                    out.push(b' ');
                    i += 1;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| "percent-escapes are not UTF-8")
    }

    /// Decoded, non-empty path segments; `..`, `.`, NUL and backslashes are refused so no
    /// segment can step outside its root, whatever the server behind it does with them.
    pub fn segments(path: &str) -> Result<Vec<String>, &'static str> {
        let mut out = Vec::new();
        for raw in path.split('/').filter(|s| !s.is_empty()) {
            let segment = percent_decode(raw, false)?;
            if segment == "." || segment == ".." || segment.contains(['/', '\\', '\0']) {
                return Err("path segment not allowed");
            }
            out.push(segment);
        }
        Ok(out)
    }

    /// A request path → a relative file path with no way out of the root: also no hidden
    /// files (`.git`, `.env`).
    pub fn relative_file(path: &str) -> Result<PathBuf, &'static str> {
        let segments = segments(path)?;
        if segments.iter().any(|s| s.starts_with('.') || s.contains(':')) {
            return Err("path segment not allowed");
        }
        Ok(segments.iter().collect())
    }
}

/// Query strings (`application/x-www-form-urlencoded`), both ways.
mod query {
    pub fn parse(query: &str) -> Result<Vec<(String, String)>, &'static str> {
        query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                Ok((super::paths::percent_decode(k, true)?, super::paths::percent_decode(v, true)?))
            })
            .collect()
    }

    pub fn encode(params: &[(String, String)]) -> String {
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' | b'/' | b',' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        params.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
    }
}

/// The `Host` the client used, which is how URLs in answers (and in proxied requests) point
/// back at this server.
mod host {
    /// The request's Host if it is a plain `host[:port]`, else `127.0.0.1:<port>` when absent.
    pub fn own(host: Option<&str>, port: u16) -> Result<String, String> {
        match host.map(str::trim) {
            None | Some("") => Ok(format!("127.0.0.1:{port}")),
            Some(h) if h.len() <= 255 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_:[]".contains(&b)) => Ok(h.to_string()),
            Some(_) => Err("malformed Host header".into()),
        }
    }
}

/// Which cross-origin pages may call this server: loopback only, any port.
mod cors {
    pub fn is_loopback_origin(origin: &str) -> bool {
        let Some(rest) = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) else {
            return false;
        };
        let (host, port) = if let Some(after) = rest.strip_prefix("[::1]") {
            ("[::1]", after)
        } else {
            rest.find(':').map_or((rest, ""), |i| (&rest[..i], &rest[i..]))
        };
        let port_ok = port.is_empty()
            || port.strip_prefix(':').is_some_and(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
        matches!(host, "127.0.0.1" | "localhost" | "[::1]") && port_ok
    }
}

/// Accept negotiation for the few media types the sample server produces.
mod accept {
    /// One media range: essence lower-cased, parameters with lower-cased names and unquoted values.
    #[derive(Debug)]
    pub struct Range {
        pub essence: String,
        pub params: Vec<(String, String)>,
        pub q: f32,
    }

    /// Splits on `sep` outside double quotes.
    fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
        let mut parts = Vec::new();
        let (mut start, mut quoted, mut escaped) = (0, false, false);
        for (i, c) in s.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                c if c == sep && !quoted => {
                    parts.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&s[start..]);
        parts
    }

    pub fn parse(header: &str) -> Vec<Range> {
        let mut ranges = Vec::new();
        for item in split_outside_quotes(header, ',') {
            let mut pieces = split_outside_quotes(item, ';').into_iter();
            let essence = pieces.next().unwrap_or_default().trim().to_ascii_lowercase();
            if essence.is_empty() {
                continue;
            }
            let mut range = Range { essence, params: Vec::new(), q: 1.0 };
            for piece in pieces {
                let Some((k, v)) = piece.split_once('=') else { continue };
                let k = k.trim().to_ascii_lowercase();
                let v = v.trim();
                let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v).replace("\\\"", "\"");
                if k == "q" {
                    range.q = v.parse().unwrap_or(0.0);
                } else {
                    range.params.push((k, v));
                }
            }
            ranges.push(range);
        }
        // Preference order; stable so equal q keeps the client's order.
        ranges.sort_by(|a, b| b.q.partial_cmp(&a.q).unwrap_or(std::cmp::Ordering::Equal));
        ranges
    }

    impl Range {
        fn param(&self, name: &str) -> Option<&str> {
            self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
        }
    }

    /// Whether whole instances in Explicit VR Little Endian, as multipart/related, are acceptable.
    pub fn dicom_multipart(header: Option<&str>) -> bool {
        let Some(header) = header.filter(|h| !h.trim().is_empty()) else { return true };
        parse(header).iter().filter(|r| r.q > 0.0).any(|r| match r.essence.as_str() {
            "*/*" => true,
            "multipart/related" | "multipart/*" => {
                let type_ok = r.param("type").is_none_or(|t| t.eq_ignore_ascii_case("application/dicom"));
                let ts_ok = r.param("transfer-syntax").is_none_or(|ts| ts == "*" || ts == "1.2.840.10008.1.2.1");
                type_ok && ts_ok
            }
            _ => false,
        })
    }

    /// The JSON media type to answer a QIDO search with, or None (406).
    pub fn dicom_json(header: Option<&str>) -> Option<&'static str> {
        let Some(header) = header.filter(|h| !h.trim().is_empty()) else { return Some("application/dicom+json") };
        parse(header).iter().filter(|r| r.q > 0.0).find_map(|r| match r.essence.as_str() {
            "application/dicom+json" | "application/*" | "*/*" => Some("application/dicom+json"),
            "application/json" => Some("application/json"),
            _ => None,
        })
    }
}

/// Static files from `www/` and `/pkg/` from the package folder.
mod files {
    use super::{paths, Body, Reply, State, CSP};

    pub fn content_type(name: &str) -> &'static str {
        let name = name.to_ascii_lowercase();
        if name.ends_with(".d.ts") || name.ends_with(".ts") {
            return "application/typescript; charset=utf-8";
        }
        match name.rsplit_once('.').map(|(_, ext)| ext).unwrap_or("") {
            "html" | "htm" => "text/html; charset=utf-8",
            "js" | "mjs" => "text/javascript; charset=utf-8",
            "wasm" => "application/wasm",
            "css" => "text/css; charset=utf-8",
            "json" | "map" => "application/json",
            "png" => "image/png",
            "svg" => "image/svg+xml",
            "ico" => "image/x-icon",
            "txt" | "md" => "text/plain; charset=utf-8",
            "dcm" => "application/dicom",
            _ => "application/octet-stream",
        }
    }

    pub fn serve(state: &State, path: &str) -> Reply {
        let (root, rest) = match super::under(path, "/pkg") {
            Some(rest) => (&state.pkg, rest),
            None => (&state.www, path),
        };
        let relative = match paths::relative_file(rest) {
            Ok(r) => r,
            Err(e) => return Reply::text(400, e),
        };
        let mut file = root.join(relative);
        if file.is_dir() {
            file = file.join("index.html");
        }
        // Symlinks may not lead out of the root either.
        let inside = match (file.canonicalize(), root.canonicalize()) {
            (Ok(f), Ok(r)) => f.starts_with(r),
            _ => false,
        };
        let opened = std::fs::File::open(&file).ok().filter(|_| inside);
        let Some((handle, len)) = opened.and_then(|f| f.metadata().ok().filter(|m| m.is_file()).map(|m| (f, m.len()))) else {
            // Browsers ask for a favicon by themselves; a 404 would be a console error that the
            // end-to-end tests count as a failure.
            if path == "/favicon.ico" {
                return Reply::empty(204).header("Cache-Control", "max-age=3600");
            }
            return Reply::text(404, "not found");
        };
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let ctype = content_type(name);
        let mut reply = Reply {
            status: 200,
            headers: vec![
                ("Content-Type".into(), ctype.into()),
                ("Cache-Control".into(), "no-cache".into()),
                ("X-Content-Type-Options".into(), "nosniff".into()),
            ],
            body: Body::Stream(Box::new(handle), usize::try_from(len).ok()),
        };
        if ctype.starts_with("text/html") {
            reply.headers.push(("Content-Security-Policy".into(), CSP.into()));
        }
        reply
    }
}

/// The built-in sample servers: FHIR R4 search/read and DICOMweb QIDO-RS/WADO-RS over a
/// [`Dataset`], with every URL built from the request's Host so the browser sees one origin.
mod sample {
    use super::{accept, query, Reply};
    use crate::testdata::{self, Dataset, Instance, Patient, Series, Study};
    use serde_json::{json, Value};

    const FHIR_JSON: &str = "application/fhir+json";

    pub struct Request<'a> {
        pub method: &'a str,
        pub host: &'a str,
        pub segments: &'a [String],
        pub params: &'a [(String, String)],
        pub raw_query: Option<&'a str>,
    }

    impl Request<'_> {
        fn param(&self, name: &str) -> Option<&str> {
            self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
        }

        fn params<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
            self.params.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
        }

        fn is_read(&self) -> bool {
            matches!(self.method, "GET" | "HEAD")
        }
    }

    fn outcome(status: u16, code: &str, text: &str) -> Reply {
        let body = json!({
            "resourceType": "OperationOutcome",
            "issue": [{ "severity": "error", "code": code, "diagnostics": text }]
        });
        Reply::json(status, FHIR_JSON, &body)
    }

    fn capability_statement() -> Value {
        json!({
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2024-01-01",
            "kind": "instance",
            "software": { "name": "emr-imaging dev server (sample data)" },
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [{
                "mode": "server",
                "resource": [
                    { "type": "Patient", "interaction": [{ "code": "read" }, { "code": "search-type" }],
                      "searchParam": [{ "name": "_id", "type": "token" }, { "name": "identifier", "type": "token" }] },
                    { "type": "ImagingStudy", "interaction": [{ "code": "read" }, { "code": "search-type" }],
                      "searchInclude": ["ImagingStudy:endpoint"],
                      "searchParam": [{ "name": "patient", "type": "reference" }, { "name": "subject", "type": "reference" }] },
                    { "type": "Endpoint", "interaction": [{ "code": "read" }, { "code": "search-type" }] }
                ]
            }]
        })
    }

    /// `id`, `Patient/id` or `http://…/Patient/id` → `id`.
    fn reference_id<'a>(value: &'a str, resource_type: &str) -> &'a str {
        let marker = format!("{resource_type}/");
        match value.rfind(&marker) {
            Some(at) => &value[at + marker.len()..],
            None => value,
        }
    }

    fn matches_params(resource: &Value, rtype: &str, rq: &Request<'_>) -> bool {
        rq.params.iter().all(|(k, v)| match (rtype, k.as_str()) {
            (_, "_id") => v.split(',').any(|id| resource["id"] == id),
            ("ImagingStudy", "patient" | "subject") => v.split(',').any(|p| {
                resource["subject"]["reference"].as_str() == Some(format!("Patient/{}", reference_id(p, "Patient")).as_str())
            }),
            ("Patient", "identifier") => v.split(',').any(|token| {
                let (system, value) = token.split_once('|').map_or((None, token), |(s, v)| (Some(s), v));
                resource["identifier"].as_array().into_iter().flatten().any(|i| {
                    i["value"] == value && system.is_none_or(|s| s.is_empty() || i["system"] == s)
                })
            }),
            // Unknown parameters are ignored, as lenient FHIR servers do.
            _ => true,
        })
    }

    fn search(resources: &[Value], rtype: &str, rq: &Request<'_>, base: &str) -> Reply {
        let count = match rq.param("_count").map(str::parse::<usize>).transpose() {
            Ok(c) => c.unwrap_or(100).min(1000),
            Err(_) => return outcome(400, "invalid", "_count must be a number"),
        };
        let offset = match rq.param("_offset").map(str::parse::<usize>).transpose() {
            Ok(o) => o.unwrap_or(0),
            Err(_) => return outcome(400, "invalid", "_offset must be a number"),
        };
        let matches: Vec<&Value> =
            resources.iter().filter(|r| r["resourceType"] == rtype && matches_params(r, rtype, rq)).collect();
        let page: Vec<&Value> = matches.iter().skip(offset).take(count).copied().collect();
        let full_url = |r: &Value| format!("{base}/{}/{}", r["resourceType"].as_str().unwrap_or(""), r["id"].as_str().unwrap_or(""));
        let mut entries: Vec<Value> =
            page.iter().map(|r| json!({ "fullUrl": full_url(r), "resource": r, "search": { "mode": "match" } })).collect();
        let include_endpoints = rtype == "ImagingStudy" && rq.params("_include").any(|i| i == "ImagingStudy:endpoint" || i == "*");
        if include_endpoints {
            let mut seen: Vec<&str> = Vec::new();
            for study in &page {
                for reference in study["endpoint"].as_array().into_iter().flatten().filter_map(|e| e["reference"].as_str()) {
                    let id = reference_id(reference, "Endpoint");
                    if seen.contains(&id) {
                        continue;
                    }
                    seen.push(id);
                    if let Some(endpoint) = resources.iter().find(|r| r["resourceType"] == "Endpoint" && r["id"] == id) {
                        entries.push(json!({ "fullUrl": full_url(endpoint), "resource": endpoint, "search": { "mode": "include" } }));
                    }
                }
            }
        }
        let self_url = match rq.raw_query {
            Some(q) if !q.is_empty() => format!("{base}/{rtype}?{q}"),
            _ => format!("{base}/{rtype}"),
        };
        let mut links = vec![json!({ "relation": "self", "url": self_url })];
        if count > 0 && offset + count < matches.len() {
            let mut params: Vec<(String, String)> = rq.params.iter().filter(|(k, _)| k != "_offset").cloned().collect();
            params.push(("_offset".into(), (offset + count).to_string()));
            links.push(json!({ "relation": "next", "url": format!("{base}/{rtype}?{}", query::encode(&params)) }));
        }
        let bundle = json!({
            "resourceType": "Bundle",
            "type": "searchset",
            "total": matches.len(),
            "link": links,
            "entry": entries,
        });
        Reply::json(200, FHIR_JSON, &bundle)
    }

    pub fn fhir(ds: &Dataset, rq: &Request<'_>) -> Reply {
        if !rq.is_read() {
            return outcome(405, "not-supported", "the sample FHIR server is read-only").header("Allow", "GET, HEAD");
        }
        let base = format!("http://{}/fhir", rq.host);
        let resources = testdata::fhir_resources(ds, &format!("http://{}/dicom-web", rq.host));
        let known = |t: &str| matches!(t, "Patient" | "ImagingStudy" | "Endpoint");
        match rq.segments {
            [m] if m == "metadata" => Reply::json(200, FHIR_JSON, &capability_statement()),
            [t] if known(t) => search(&resources, t, rq, &base),
            [t, id] if known(t) => match resources.iter().find(|r| r["resourceType"] == t.as_str() && r["id"] == id.as_str()) {
                Some(resource) => Reply::json(200, FHIR_JSON, resource),
                None => outcome(404, "not-found", &format!("{t}/{id} is not known")),
            },
            [t, ..] if !known(t) => outcome(404, "not-supported", &format!("resource type {t} is not served here")),
            _ => outcome(404, "not-found", "no such FHIR interaction"),
        }
    }

    // --- DICOMweb -------------------------------------------------------------------------

    /// A DICOM JSON attribute (PS3.18 F.2): `{"vr": …, "Value": […]}`, no `Value` when empty.
    fn attr(vr: &str, values: Vec<Value>) -> Value {
        if values.is_empty() {
            json!({ "vr": vr })
        } else {
            json!({ "vr": vr, "Value": values })
        }
    }

    fn string(vr: &str, value: &str) -> Value {
        attr(vr, if value.is_empty() { vec![] } else { vec![json!(value)] })
    }

    fn number(vr: &str, value: usize) -> Value {
        attr(vr, vec![json!(value)])
    }

    pub fn study_json(p: &Patient, s: &Study, base: &str) -> Value {
        let mut modalities: Vec<Value> = Vec::new();
        for se in &s.series {
            if !modalities.contains(&json!(se.modality)) {
                modalities.push(json!(se.modality));
            }
        }
        let instances: usize = s.series.iter().map(|se| se.instances.len()).sum();
        json!({
            "00080005": string("CS", "ISO_IR 192"),
            "00080020": string("DA", &s.date),
            "00080030": string("TM", &s.time),
            "00080050": string("SH", &s.accession),
            "00080061": attr("CS", modalities),
            "00081030": string("LO", &s.description),
            "00081190": string("UR", &format!("{base}/studies/{}", s.uid)),
            "00100010": attr("PN", vec![json!({ "Alphabetic": p.dicom_name() })]),
            "00100020": string("LO", &p.mrn),
            "00100030": string("DA", &p.birth_date.replace('-', "")),
            "00100040": string("CS", &p.sex),
            "0020000D": string("UI", &s.uid),
            "00201206": number("IS", s.series.len()),
            "00201208": number("IS", instances),
        })
    }

    pub fn series_json(s: &Study, se: &Series, base: &str) -> Value {
        json!({
            "00080060": string("CS", &se.modality),
            "0008103E": string("LO", &se.description),
            "00081190": string("UR", &format!("{base}/studies/{}/series/{}", s.uid, se.uid)),
            "0020000D": string("UI", &s.uid),
            "0020000E": string("UI", &se.uid),
            "00200011": number("IS", se.number as usize),
            "00201209": number("IS", se.instances.len()),
        })
    }

    pub fn instance_json(s: &Study, se: &Series, i: &Instance, base: &str) -> Value {
        json!({
            "00080016": string("UI", &i.sop_class_uid),
            "00080018": string("UI", &i.sop_instance_uid),
            "00081190": string("UR", &format!("{base}/studies/{}/series/{}/instances/{}", s.uid, se.uid, i.sop_instance_uid)),
            "0020000D": string("UI", &s.uid),
            "0020000E": string("UI", &se.uid),
            "00200013": number("IS", i.number as usize),
            "00280010": number("US", i.rows as usize),
            "00280011": number("US", i.columns as usize),
        })
    }

    /// `*` and `?` wildcards (PS3.4 C.2.2.2.4), otherwise exact.
    fn wildcard(pattern: &str, value: &str) -> bool {
        fn go(p: &[char], v: &[char]) -> bool {
            match (p.first(), v.first()) {
                (None, None) => true,
                (Some('*'), _) => go(&p[1..], v) || (!v.is_empty() && go(p, &v[1..])),
                (Some('?'), Some(_)) => go(&p[1..], &v[1..]),
                (Some(a), Some(b)) if a == b => go(&p[1..], &v[1..]),
                _ => false,
            }
        }
        let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
        go(&p, &v)
    }

    /// Does a QIDO query key (keyword or tag) with `value` match this object's attribute?
    fn qido_matches(object: &Value, rq: &Request<'_>, keys: &[(&str, &str)]) -> bool {
        rq.params.iter().all(|(k, v)| {
            let Some((_, tag)) = keys.iter().find(|(keyword, tag)| k == keyword || k.eq_ignore_ascii_case(tag)) else {
                return true; // limit, offset, includefield, fuzzymatching and unknown keys
            };
            if v.is_empty() {
                return true; // universal matching
            }
            let values: Vec<String> = object[tag]["Value"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    Value::Object(pn) => pn.get("Alphabetic").and_then(Value::as_str).unwrap_or("").to_string(),
                    other => other.to_string(),
                })
                .collect();
            // UID lists are comma-separated (PS3.18 8.3.4.1).
            v.split(',').any(|wanted| values.iter().any(|have| wildcard(wanted, have)))
        })
    }

    fn page(mut objects: Vec<Value>, rq: &Request<'_>) -> Result<Vec<Value>, Reply> {
        let number = |name: &str| rq.param(name).map(str::parse::<usize>).transpose();
        let (Ok(offset), Ok(limit)) = (number("offset"), number("limit")) else {
            return Err(Reply::text(400, "offset and limit must be numbers"));
        };
        let offset = offset.unwrap_or(0).min(objects.len());
        objects.drain(..offset);
        if let Some(limit) = limit {
            objects.truncate(limit);
        }
        Ok(objects)
    }

    fn qido(objects: Vec<Value>, rq: &Request<'_>, accept_header: Option<&str>) -> Reply {
        let Some(content_type) = accept::dicom_json(accept_header) else {
            return Reply::text(406, "QIDO-RS answers application/dicom+json");
        };
        match page(objects, rq) {
            Ok(objects) => Reply::json(200, content_type, &Value::Array(objects)),
            Err(reply) => reply,
        }
    }

    const STUDY_KEYS: &[(&str, &str)] = &[
        ("PatientID", "00100020"),
        ("StudyInstanceUID", "0020000D"),
        ("AccessionNumber", "00080050"),
        ("StudyDate", "00080020"),
        ("ModalitiesInStudy", "00080061"),
        ("PatientName", "00100010"),
    ];
    const SERIES_KEYS: &[(&str, &str)] = &[("SeriesInstanceUID", "0020000E"), ("Modality", "00080060"), ("SeriesNumber", "00200011")];
    const INSTANCE_KEYS: &[(&str, &str)] = &[("SOPInstanceUID", "00080018"), ("SOPClassUID", "00080016"), ("InstanceNumber", "00200013")];

    fn find_study<'a>(ds: &'a Dataset, uid: &str) -> Option<(&'a Patient, &'a Study)> {
        ds.patients.iter().flat_map(|p| p.studies.iter().map(move |s| (p, s))).find(|(_, s)| s.uid == uid)
    }

    /// multipart/related with one `application/dicom` part per instance (RFC 2387, PS3.18 8.6.1.2).
    pub fn multipart(parts: &[&[u8]]) -> (String, Vec<u8>) {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut salt = 0u64;
        let boundary = loop {
            let mut h = DefaultHasher::new();
            (salt, parts.len(), parts.first().map(|p| p.len())).hash(&mut h);
            let candidate = format!("emr-imaging-{:016x}", h.finish());
            let needle = candidate.as_bytes();
            if !parts.iter().any(|p| p.windows(needle.len()).any(|w| w == needle)) {
                break candidate;
            }
            salt += 1;
        };
        let mut body = Vec::with_capacity(parts.iter().map(|p| p.len() + 128).sum::<usize>() + 64);
        for part in parts {
            body.extend_from_slice(format!("--{boundary}\r\nContent-Type: application/dicom\r\nContent-Length: {}\r\n\r\n", part.len()).as_bytes());
            body.extend_from_slice(part);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        (boundary, body)
    }

    fn wado(instances: Vec<&Instance>, accept_header: Option<&str>) -> Reply {
        if !accept::dicom_multipart(accept_header) {
            return Reply::text(
                406,
                "WADO-RS here serves multipart/related; type=\"application/dicom\" in Explicit VR Little Endian only",
            );
        }
        let parts: Vec<&[u8]> = instances.iter().map(|i| i.part10.as_slice()).collect();
        let (boundary, body) = multipart(&parts);
        Reply::new(200, &format!("multipart/related; type=\"application/dicom\"; boundary={boundary}"), body)
    }

    pub fn dicomweb(ds: &Dataset, rq: &Request<'_>, accept_header: Option<&str>) -> Reply {
        if !rq.is_read() {
            return Reply::text(405, "the sample DICOMweb server is read-only").header("Allow", "GET, HEAD");
        }
        let base = format!("http://{}/dicom-web", rq.host);
        let seg: Vec<&str> = rq.segments.iter().map(String::as_str).collect();
        let not_found = |what: &str| Reply::text(404, &format!("no such {what}"));
        match seg.as_slice() {
            ["studies"] => {
                let base = &base;
                let objects = ds
                    .patients
                    .iter()
                    .flat_map(|p| p.studies.iter().map(move |s| study_json(p, s, base)))
                    .filter(|o| qido_matches(o, rq, STUDY_KEYS))
                    .collect();
                qido(objects, rq, accept_header)
            }
            ["studies", study, rest @ ..] => {
                let Some((_, s)) = find_study(ds, study) else { return not_found("study") };
                match rest {
                    [] => wado(s.series.iter().flat_map(|se| &se.instances).collect(), accept_header),
                    ["series"] => {
                        let objects =
                            s.series.iter().map(|se| series_json(s, se, &base)).filter(|o| qido_matches(o, rq, SERIES_KEYS)).collect();
                        qido(objects, rq, accept_header)
                    }
                    ["series", series, rest @ ..] => {
                        let Some(se) = s.series.iter().find(|se| se.uid == *series) else { return not_found("series") };
                        match rest {
                            [] => wado(se.instances.iter().collect(), accept_header),
                            ["instances"] => {
                                let objects = se
                                    .instances
                                    .iter()
                                    .map(|i| instance_json(s, se, i, &base))
                                    .filter(|o| qido_matches(o, rq, INSTANCE_KEYS))
                                    .collect();
                                qido(objects, rq, accept_header)
                            }
                            ["instances", instance] => match se.instances.iter().find(|i| i.sop_instance_uid == *instance) {
                                Some(i) => wado(vec![i], accept_header),
                                None => not_found("instance"),
                            },
                            _ => Reply::text(404, "not served by the sample DICOMweb server (no metadata, frames or rendered)"),
                        }
                    }
                    _ => Reply::text(404, "not served by the sample DICOMweb server"),
                }
            }
            _ => Reply::text(404, "not served by the sample DICOMweb server"),
        }
    }
}

/// Forwarding to real servers: statuses, the headers that matter and bodies pass through
/// unchanged; bodies are streamed both ways, so large studies never sit in memory.
mod proxy {
    use super::{paths, Body, Reply};
    use std::time::Duration;

    /// Request headers passed upstream. Nothing else (no cookies, no Origin).
    const REQUEST_HEADERS: &[&str] = &["Authorization", "Accept", "Content-Type", "Content-Length", "If-None-Match", "Prefer"];
    /// Response headers passed back.
    const RESPONSE_HEADERS: &[&str] =
        &["Content-Type", "Location", "ETag", "Retry-After", "Cache-Control", "Content-Location", "WWW-Authenticate"];

    pub fn agent() -> ureq::Agent {
        let config = ureq::Agent::config_builder()
            // Statuses pass through; a 404 upstream is a 404 here, not an error.
            .http_status_as_error(false)
            // Redirects go back to the browser, which decides.
            .max_redirects(0)
            // Never an environment proxy: upstreams are on this machine.
            .proxy(None)
            .timeout_connect(Some(Duration::from_secs(10)))
            .build();
        ureq::Agent::new_with_config(config)
    }

    /// `base` + `rest` (+ `?query`): `rest` is the raw path after the local prefix, kept
    /// encoded as the client sent it.
    pub fn upstream_url(base: &str, rest: &str, query: Option<&str>) -> String {
        let mut url = format!("{}{}", base.trim_end_matches('/'), rest);
        if let Some(q) = query {
            url.push('?');
            url.push_str(q);
        }
        url
    }

    pub fn forward(
        agent: &ureq::Agent,
        base: &str,
        rest: &str,
        query: Option<&str>,
        host: &str,
        method: &str,
        rq: &mut tiny_http::Request,
    ) -> Reply {
        if !matches!(method, "GET" | "HEAD" | "POST" | "PUT" | "DELETE") {
            return Reply::text(405, "the proxy forwards GET, HEAD, POST, PUT and DELETE").header("Allow", "GET, HEAD, POST, PUT, DELETE");
        }
        // `..` must not climb out of the upstream's prefix.
        if let Err(e) = paths::segments(rest) {
            return Reply::text(400, e);
        }
        let url = upstream_url(base, rest, query);
        // Orthanc builds its RetrieveURLs from Host: they must point back through this proxy.
        let mut builder = ureq::http::Request::builder().method(method).uri(&url).header("Host", host);
        for name in REQUEST_HEADERS {
            if let Some(value) = super::header(rq, name) {
                builder = builder.header(*name, value);
            }
        }
        let has_body = matches!(method, "POST" | "PUT");
        let result = if has_body {
            builder.body(ureq::SendBody::from_reader(rq.as_reader())).map(|r| agent.run(r))
        } else {
            builder.body(ureq::SendBody::none()).map(|r| agent.run(r))
        };
        let response = match result {
            Err(_) => return Reply::text(400, "the request cannot be forwarded (malformed URL or header)"),
            Ok(Err(e)) => return Reply::text(502, &format!("upstream {base} did not answer: {e}")),
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        let mut headers = Vec::new();
        for name in RESPONSE_HEADERS {
            for value in response.headers().get_all(*name) {
                if let Ok(v) = value.to_str() {
                    headers.push((name.to_string(), v.to_string()));
                }
            }
        }
        let length = response.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
        let reader = response.into_body().into_reader();
        Reply { status, headers, body: Body::Stream(Box::new(reader), length) }
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{self, Instance};
    use serde_json::json;

    fn dataset() -> Dataset {
        testdata::generate(&testdata::Options { ct_slices: 3, id_prefix: "devserver".into() })
    }

    #[test]
    fn paths_cannot_escape() {
        assert_eq!(paths::segments("/a/b%20c/").unwrap(), ["a", "b c"]);
        for bad in ["/../x", "/a/%2e%2e/b", "/a/%2E%2E", "/a/./b", "/a%2fb", "/a%5cb", "/a\\b", "/a%00", "/%zz", "/%c3"] {
            assert!(paths::segments(bad).is_err(), "{bad}");
        }
        assert_eq!(paths::relative_file("/").unwrap(), PathBuf::new());
        assert_eq!(paths::relative_file("/examples/a.html").unwrap(), PathBuf::from("examples").join("a.html"));
        assert!(paths::relative_file("/.git/config").is_err());
        assert!(paths::relative_file("/c:/x").is_err());
        assert_eq!(under("/pkg", "/pkg"), Some(""));
        assert_eq!(under("/pkg/a.js", "/pkg"), Some("/a.js"));
        assert_eq!(under("/pkgx", "/pkg"), None);
    }

    #[test]
    fn content_types() {
        for (name, ct) in [
            ("index.html", "text/html; charset=utf-8"),
            ("emr_imaging.js", "text/javascript; charset=utf-8"),
            ("x.mjs", "text/javascript; charset=utf-8"),
            ("emr_imaging_bg.wasm", "application/wasm"),
            ("emr.css", "text/css; charset=utf-8"),
            ("package.json", "application/json"),
            ("a.PNG", "image/png"),
            ("i.svg", "image/svg+xml"),
            ("emr_imaging.d.ts", "application/typescript; charset=utf-8"),
            ("blob", "application/octet-stream"),
        ] {
            assert_eq!(files::content_type(name), ct, "{name}");
        }
    }

    #[test]
    fn accept_negotiation() {
        for ok in [
            None,
            Some(""),
            Some("*/*"),
            Some("multipart/related; type=\"application/dicom\""),
            Some("multipart/related; type=\"application/dicom\"; transfer-syntax=*"),
            Some("multipart/related; type=application/dicom; transfer-syntax=1.2.840.10008.1.2.1"),
            Some("application/octet-stream, multipart/related; type=\"application/dicom\";q=0.5"),
        ] {
            assert!(accept::dicom_multipart(ok), "{ok:?}");
        }
        for bad in [
            "application/json",
            "multipart/related; type=\"application/octet-stream\"",
            "multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2.4.50",
            "multipart/related; type=\"application/dicom\"; q=0",
        ] {
            assert!(!accept::dicom_multipart(Some(bad)), "{bad}");
        }
        assert_eq!(accept::dicom_json(None), Some("application/dicom+json"));
        assert_eq!(accept::dicom_json(Some("application/dicom+json, application/json;q=0.9")), Some("application/dicom+json"));
        assert_eq!(accept::dicom_json(Some("application/json")), Some("application/json"));
        assert_eq!(accept::dicom_json(Some("text/html")), None);
    }

    #[test]
    fn cors_only_for_loopback_origins() {
        for ok in ["http://127.0.0.1:5173", "http://localhost", "http://localhost:1", "https://[::1]:8443"] {
            assert!(cors::is_loopback_origin(ok), "{ok}");
        }
        for bad in ["http://127.0.0.1.evil.example", "http://localhost:80/x", "http://evil.example", "null", "http://localhost:", "file://"] {
            assert!(!cors::is_loopback_origin(bad), "{bad}");
        }
    }

    #[test]
    fn host_and_upstream_urls() {
        assert_eq!(host::own(None, 8080).unwrap(), "127.0.0.1:8080");
        assert_eq!(host::own(Some("localhost:9000"), 1).unwrap(), "localhost:9000");
        assert_eq!(host::own(Some("[::1]:9000"), 1).unwrap(), "[::1]:9000");
        assert!(host::own(Some("a b"), 1).is_err());
        assert!(host::own(Some("evil/\"x"), 1).is_err());
        assert_eq!(proxy::upstream_url("http://o:8042/dicom-web/", "/studies", Some("PatientID=1")), "http://o:8042/dicom-web/studies?PatientID=1");
        assert_eq!(proxy::upstream_url("http://f/fhir", "", None), "http://f/fhir");
    }

    #[test]
    fn query_parsing() {
        let q = query::parse("patient=Patient%2Femr-1&_include=ImagingStudy:endpoint&a+b=c+d&flag").unwrap();
        assert_eq!(q[0], ("patient".into(), "Patient/emr-1".into()));
        assert_eq!(q[2], ("a b".into(), "c d".into()));
        assert_eq!(q[3], ("flag".into(), String::new()));
        assert_eq!(query::parse(&query::encode(&q)).unwrap(), q);
        assert!(query::parse("a=%G0").is_err());
    }

    #[test]
    fn qido_json_shape() {
        let ds = dataset();
        let (p, s) = (&ds.patients[0], &ds.patients[0].studies[0]);
        let objects =
            [sample::study_json(p, s, "http://h/dicom-web"), sample::series_json(s, &s.series[0], "http://h/dicom-web"), sample::instance_json(s, &s.series[0], &s.series[0].instances[0], "http://h/dicom-web")];
        for object in &objects {
            for (tag, attribute) in object.as_object().unwrap() {
                assert!(tag.len() == 8 && tag.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)), "{tag}");
                assert!(attribute["vr"].as_str().is_some_and(|vr| vr.len() == 2), "{tag}");
                assert!(attribute.get("Value").is_none_or(|v| v.as_array().is_some_and(|a| !a.is_empty())), "{tag}");
            }
        }
        let study = &objects[0];
        assert_eq!(study["0020000D"]["Value"][0], s.uid);
        assert_eq!(study["00100010"]["Value"][0]["Alphabetic"], "TESTPERSON^ANNA");
        assert_eq!(study["00100020"]["Value"][0], p.mrn);
        assert_eq!(study["00080061"]["Value"], json!(["CT"]));
        assert_eq!(study["00201206"]["Value"][0], 1);
        assert_eq!(study["00201208"]["Value"][0], 3);
        assert_eq!(objects[1]["00080060"]["Value"][0], "CT");
        assert_eq!(objects[1]["00201209"]["Value"][0], 3);
        assert_eq!(objects[2]["00280010"]["Value"][0], 512);
        assert_eq!(objects[2]["00080016"]["Value"][0], testdata::CT_IMAGE_STORAGE);
    }

    /// A strict reader for the framing we write: `--b`, headers, blank line, body, CRLF … `--b--`.
    fn parse_multipart(content_type: &str, body: &[u8]) -> Vec<Vec<u8>> {
        let boundary = content_type.split("boundary=").nth(1).expect("boundary").trim_matches('"');
        assert!(content_type.starts_with("multipart/related; type=\"application/dicom\""));
        let delimiter = format!("--{boundary}");
        let mut parts = Vec::new();
        let mut rest = body;
        loop {
            assert!(rest.starts_with(delimiter.as_bytes()), "delimiter expected");
            rest = &rest[delimiter.len()..];
            if rest == b"--\r\n" {
                return parts;
            }
            let head_end = rest.windows(4).position(|w| w == b"\r\n\r\n").expect("part headers end");
            let head = std::str::from_utf8(&rest[2..head_end]).unwrap();
            assert!(head.lines().any(|l| l == "Content-Type: application/dicom"), "{head}");
            let len: usize = head.lines().find_map(|l| l.strip_prefix("Content-Length: ")).unwrap().parse().unwrap();
            let start = head_end + 4;
            parts.push(rest[start..start + len].to_vec());
            assert_eq!(&rest[start + len..start + len + 2], b"\r\n");
            rest = &rest[start + len + 2..];
        }
    }

    #[test]
    fn multipart_framing_round_trips() {
        let a = b"first".to_vec();
        let b = vec![0u8, 1, 2, 13, 10, 45, 45];
        let (boundary, body) = sample::multipart(&[&a, &b]);
        let ct = format!("multipart/related; type=\"application/dicom\"; boundary={boundary}");
        assert_eq!(parse_multipart(&ct, &body), vec![a, b]);
        // A part that contains the first candidate boundary gets another one.
        let (first, _) = sample::multipart(&[b"x"]);
        let sneaky = format!("..--{first}..").into_bytes();
        let (second, body) = sample::multipart(&[&sneaky]);
        assert_ne!(first, second);
        let ct = format!("multipart/related; type=\"application/dicom\"; boundary={second}");
        assert_eq!(parse_multipart(&ct, &body), vec![sneaky]);
    }

    // --- Against running servers ------------------------------------------------------------

    struct Got {
        status: u16,
        content_type: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Got {
        fn json(&self) -> Value {
            serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
        }

        fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
        }
    }

    fn request(method: &str, url: &str, headers: &[(&str, &str)]) -> Got {
        let agent = proxy::agent();
        let mut builder = ureq::http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let mut response = agent.run(builder.body(ureq::SendBody::none()).unwrap()).expect("request");
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect::<Vec<_>>();
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let body = response.body_mut().with_config().limit(256 << 20).read_to_vec().expect("body");
        Got { status: response.status().as_u16(), content_type, headers, body }
    }

    fn get(url: &str, headers: &[(&str, &str)]) -> Got {
        request("GET", url, headers)
    }

    /// A www and a pkg folder with a file each, under the system temp folder; removed on drop.
    struct StaticDirs {
        root: PathBuf,
        www: PathBuf,
        pkg: PathBuf,
    }

    impl Drop for StaticDirs {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    fn static_dirs(tag: &str) -> StaticDirs {
        let root = std::env::temp_dir().join(format!("xtask-devserver-{tag}-{}", std::process::id()));
        let (www, pkg) = (root.join("www"), root.join("pkg"));
        std::fs::create_dir_all(www.join("examples")).unwrap();
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(www.join("index.html"), "<!doctype html><title>t</title>").unwrap();
        std::fs::write(www.join("examples").join("a.js"), "export {}").unwrap();
        std::fs::write(pkg.join("emr_imaging_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
        std::fs::write(root.join("secret.txt"), "no").unwrap();
        StaticDirs { root, www, pkg }
    }

    fn sample_server(ds: Dataset, dirs: &StaticDirs) -> Handle {
        let (www, pkg) = (dirs.www.clone(), dirs.pkg.clone());
        start(Options { port: 0, www, pkg, upstream: Upstream::Sample(ds), log_requests: false }).expect("sample server starts")
    }

    const ACCEPT_DICOM: &str = "multipart/related; type=\"application/dicom\"; transfer-syntax=*";

    #[test]
    fn sample_mode_serves_files_fhir_and_dicomweb() {
        let ds = dataset();
        let dirs = static_dirs("sample");
        let server = sample_server(ds.clone(), &dirs);
        let base = server.url();
        let patient = &ds.patients[0];
        let ct = &patient.studies[0];
        let instance: &Instance = &ct.series[0].instances[1];

        // Static files, with the CSP on HTML only.
        let index = get(&format!("{base}/"), &[]);
        assert_eq!(index.status, 200);
        assert_eq!(index.content_type, "text/html; charset=utf-8");
        assert!(index.header("content-security-policy").unwrap().contains("'wasm-unsafe-eval'"));
        assert_eq!(index.header("cache-control"), Some("no-cache"));
        let wasm = get(&format!("{base}/pkg/emr_imaging_bg.wasm"), &[]);
        assert_eq!((wasm.status, wasm.content_type.as_str()), (200, "application/wasm"));
        assert!(wasm.header("content-security-policy").is_none());
        assert_eq!(get(&format!("{base}/examples/a.js"), &[]).content_type, "text/javascript; charset=utf-8");
        assert_eq!(get(&format!("{base}/%2e%2e/secret.txt"), &[]).status, 400);
        assert_eq!(get(&format!("{base}/pkg/%2E%2E/%2E%2E/secret.txt"), &[]).status, 400);
        assert_eq!(get(&format!("{base}/missing.html"), &[]).status, 404);
        assert_eq!(get(&format!("{base}/favicon.ico"), &[]).status, 204, "no console error for the automatic favicon request");
        assert_eq!(request("POST", &format!("{base}/index.html"), &[]).status, 405);

        // FHIR.
        let meta = get(&format!("{base}/fhir/metadata"), &[]);
        assert_eq!((meta.status, meta.content_type.as_str()), (200, "application/fhir+json"));
        assert_eq!(meta.json()["resourceType"], "CapabilityStatement");
        let patients = get(&format!("{base}/fhir/Patient?_count=1"), &[]).json();
        assert_eq!(patients["total"], 2);
        assert_eq!(patients["entry"].as_array().unwrap().len(), 1);
        let next = patients["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").unwrap()["url"].as_str().unwrap().to_string();
        assert_eq!(get(&next, &[]).json()["entry"][0]["resource"]["id"], ds.patients[1].fhir_id);
        let search = get(&format!("{base}/fhir/ImagingStudy?patient=Patient/{}&_include=ImagingStudy:endpoint&_count=100", patient.fhir_id), &[]);
        assert_eq!(search.status, 200);
        let bundle = search.json();
        assert_eq!((bundle["type"].as_str(), bundle["total"].as_u64()), (Some("searchset"), Some(2)));
        let entries = bundle["entry"].as_array().unwrap();
        let modes: Vec<&str> = entries.iter().map(|e| e["search"]["mode"].as_str().unwrap()).collect();
        assert_eq!(modes, ["match", "match", "include"]);
        assert_eq!(entries[2]["resource"]["address"], format!("{base}/dicom-web"), "Endpoint address from the Host header");
        assert_eq!(entries[0]["fullUrl"], format!("{base}/fhir/ImagingStudy/{}", ct.fhir_id));
        assert!(bundle["link"][0]["url"].as_str().unwrap().ends_with("_count=100"));
        let by_id = get(&format!("{base}/fhir/ImagingStudy?patient={}", patient.fhir_id), &[]).json();
        assert_eq!(by_id["total"], 2);
        assert_eq!(by_id["entry"].as_array().unwrap().len(), 2, "no include unless asked");
        assert_eq!(get(&format!("{base}/fhir/ImagingStudy?patient=nobody"), &[]).json()["total"], 0);
        let read = get(&format!("{base}/fhir/Patient/{}", patient.fhir_id), &[]).json();
        assert_eq!(read["identifier"][0]["value"], patient.mrn);
        let endpoint_ref = entries[0]["resource"]["endpoint"][0]["reference"].as_str().unwrap();
        assert_eq!(get(&format!("{base}/fhir/{endpoint_ref}"), &[]).json()["resourceType"], "Endpoint");
        let missing = get(&format!("{base}/fhir/Patient/nope"), &[]);
        assert_eq!((missing.status, missing.json()["resourceType"].as_str()), (404, Some("OperationOutcome")));
        assert_eq!(get(&format!("{base}/fhir/Observation?patient=x"), &[]).status, 404);
        assert_eq!(get(&format!("{base}/fhir/Patient?_count=x"), &[]).status, 400);
        assert_eq!(request("POST", &format!("{base}/fhir/Patient"), &[]).status, 405);

        // QIDO-RS.
        let studies = get(&format!("{base}/dicom-web/studies?PatientID={}", patient.mrn), &[]);
        assert_eq!((studies.status, studies.content_type.as_str()), (200, "application/dicom+json"));
        assert_eq!(studies.json().as_array().unwrap().len(), 2);
        let one = get(&format!("{base}/dicom-web/studies?StudyInstanceUID={}", ct.uid), &[]).json();
        assert_eq!(one.as_array().unwrap().len(), 1);
        assert_eq!(one[0]["00081190"]["Value"][0], format!("{base}/dicom-web/studies/{}", ct.uid));
        let series = get(&format!("{base}/dicom-web/studies/{}/series", ct.uid), &[("Accept", "application/dicom+json")]).json();
        assert_eq!(series[0]["0020000E"]["Value"][0], ct.series[0].uid);
        assert_eq!(series[0]["00080060"]["Value"][0], "CT");
        let instances = get(&format!("{base}/dicom-web/studies/{}/series/{}/instances?limit=2&offset=1", ct.uid, ct.series[0].uid), &[]).json();
        assert_eq!(instances.as_array().unwrap().len(), 2);
        assert_eq!(instances[0]["00080018"]["Value"][0], instance.sop_instance_uid);
        assert_eq!(get(&format!("{base}/dicom-web/studies/1.2.3/series"), &[]).status, 404);
        assert_eq!(get(&format!("{base}/dicom-web/studies"), &[("Accept", "text/html")]).status, 406);

        // WADO-RS.
        let url = format!("{base}/dicom-web/studies/{}/series/{}/instances/{}", ct.uid, ct.series[0].uid, instance.sop_instance_uid);
        let wado = get(&url, &[("Accept", ACCEPT_DICOM)]);
        assert_eq!(wado.status, 200);
        assert_eq!(parse_multipart(&wado.content_type, &wado.body), vec![instance.part10.clone()]);
        let whole = get(&format!("{base}/dicom-web/studies/{}", ct.uid), &[]);
        assert_eq!(parse_multipart(&whole.content_type, &whole.body).len(), 3);
        assert_eq!(get(&url, &[("Accept", "application/json")]).status, 406);
        assert_eq!(get(&format!("{base}/dicom-web/studies/{}/series/{}/instances/9.9", ct.uid, ct.series[0].uid), &[]).status, 404);

        // CORS: only for loopback origins.
        let pre = request("OPTIONS", &format!("{base}/fhir/Patient"), &[("Origin", "http://localhost:5555"), ("Access-Control-Request-Method", "GET")]);
        assert_eq!(pre.status, 204);
        assert_eq!(pre.header("access-control-allow-origin"), Some("http://localhost:5555"));
        assert_eq!(pre.header("access-control-allow-headers"), Some(CORS_ALLOW_HEADERS));
        let foreign = request("OPTIONS", &format!("{base}/fhir/Patient"), &[("Origin", "http://evil.example")]);
        assert!(foreign.header("access-control-allow-origin").is_none());
        let normal = get(&format!("{base}/fhir/metadata"), &[("Origin", "http://127.0.0.1:4000")]);
        assert_eq!(normal.header("access-control-expose-headers"), Some(CORS_EXPOSE_HEADERS));

        // The journal: what arrived, the token cut short, cleared on DELETE.
        assert_eq!(request("DELETE", &format!("{base}{JOURNAL_PATH}"), &[]).status, 204);
        get(&format!("{base}/fhir/Patient?name=secret"), &[("Authorization", "Bearer abcdefghijklmnop")]);
        get(&format!("{base}/index.html"), &[]);
        let journal = get(&format!("{base}{JOURNAL_PATH}"), &[]).json();
        assert_eq!(journal.as_array().unwrap().len(), 2, "{journal}");
        assert_eq!(journal[0]["method"], "GET");
        assert_eq!(journal[0]["path"], "/fhir/Patient");
        assert_eq!(journal[0]["query"], "name=secret");
        assert_eq!(journal[0]["authorization"], "Bearer abcde");
        assert_eq!(journal[1]["has_authorization"], false);
        server.stop();
    }

    #[test]
    fn proxy_mode_passes_requests_through() {
        let ds = dataset();
        let upstream_dirs = static_dirs("upstream");
        let upstream = sample_server(ds.clone(), &upstream_dirs);
        let dirs = static_dirs("proxy");
        let proxy = start(Options {
            port: 0,
            www: dirs.www.clone(),
            pkg: dirs.pkg.clone(),
            upstream: Upstream::Proxy { fhir: format!("{}/fhir", upstream.url()), dicomweb: format!("{}/dicom-web/", upstream.url()) },
            log_requests: false,
        })
        .expect("proxy starts");
        let proxy_host = format!("127.0.0.1:{}", proxy.port);
        let ct = &ds.patients[0].studies[0];
        let instance = &ct.series[0].instances[0];
        let paths = [
            format!("/fhir/ImagingStudy?patient={}&_include=ImagingStudy:endpoint", ds.patients[0].fhir_id),
            format!("/dicom-web/studies/{}/series", ct.uid),
            format!("/dicom-web/studies/{}/series/{}/instances/{}", ct.uid, ct.series[0].uid, instance.sop_instance_uid),
            format!("/dicom-web/studies/{}", ct.uid),
            "/fhir/Patient/nope".to_string(),
            format!("/dicom-web/studies/{}/series/{}/instances/{}", ct.uid, ct.series[0].uid, instance.sop_instance_uid),
        ];
        let accepts = ["application/fhir+json", "application/dicom+json", ACCEPT_DICOM, ACCEPT_DICOM, "application/fhir+json", "application/json"];
        for (path, accept) in paths.iter().zip(accepts) {
            let via_proxy = get(&format!("{}{path}", proxy.url()), &[("Accept", accept), ("Authorization", "Bearer proxied-token")]);
            // The upstream sees the proxy's Host, so its answer must equal a direct one made with that Host.
            let direct = get(&format!("{}{path}", upstream.url()), &[("Accept", accept), ("Host", &proxy_host)]);
            assert_eq!(via_proxy.status, direct.status, "{path}");
            assert_eq!(via_proxy.content_type, direct.content_type, "{path}");
            assert_eq!(via_proxy.body, direct.body, "{path}");
        }
        let search = get(&format!("{}{}", proxy.url(), paths[0]), &[]).json();
        let endpoint = search["entry"].as_array().unwrap().iter().find(|e| e["search"]["mode"] == "include").unwrap();
        assert_eq!(endpoint["resource"]["address"], format!("{}/dicom-web", proxy.url()), "Host rewritten to the proxy");
        let wado = get(&format!("{}{}", proxy.url(), paths[2]), &[("Accept", ACCEPT_DICOM)]);
        assert_eq!(parse_multipart(&wado.content_type, &wado.body), vec![instance.part10.clone()]);
        assert_eq!(get(&format!("{}{}", proxy.url(), paths[5]), &[("Accept", "image/png")]).status, 406);
        // The token reached the upstream.
        let seen = get(&format!("{}{JOURNAL_PATH}", upstream.url()), &[]).json();
        assert!(seen.as_array().unwrap().iter().any(|r| r["authorization"] == "Bearer proxi"), "{seen}");
        // `..` is refused before anything is forwarded.
        assert_eq!(get(&format!("{}/fhir/%2e%2e/secret", proxy.url()), &[]).status, 400);
        drop(upstream);

        // A proxy whose upstream is down answers 502.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let lonely = start(Options {
            port: 0,
            www: dirs.www.clone(),
            pkg: dirs.pkg.clone(),
            upstream: Upstream::Proxy { fhir: format!("{dead}/fhir"), dicomweb: format!("{dead}/dicom-web") },
            log_requests: false,
        })
        .unwrap();
        let down = get(&format!("{}/fhir/metadata", lonely.url()), &[]);
        assert_eq!(down.status, 502);
        assert!(down.content_type.starts_with("text/plain"));
    }
}
