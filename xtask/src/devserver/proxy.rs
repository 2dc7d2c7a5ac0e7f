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

/// The largest FHIR JSON body rewritten in memory; anything larger passes through unchanged.
const MAX_REWRITE: u64 = 64 << 20;

/// How the upstream's own base URL maps to ours, as a reverse proxy rewrites (ProxyPassReverse):
/// a FHIR server writes absolute `next` links and `fullUrl`s with its configured base, which the
/// browser cannot reach through this origin (and must not get the token).
pub struct Rewrite<'a> {
    /// The upstream base as configured, e.g. `http://127.0.0.1:8081/fhir`.
    pub upstream: &'a str,
    /// Our base for the same API, e.g. `http://127.0.0.1:8080/fhir`.
    pub public: String,
}

impl Rewrite<'_> {
    /// `text` with a leading upstream base replaced by ours; only at a URL boundary, so
    /// `http://h:80` does not match `http://h:8081/…`.
    pub fn url(&self, text: &str) -> Option<String> {
        let upstream = self.upstream.trim_end_matches('/');
        let rest = text.strip_prefix(upstream)?;
        if !(rest.is_empty() || rest.starts_with(['/', '?', '#'])) {
            return None;
        }
        Some(format!("{}{rest}", self.public.trim_end_matches('/')))
    }

    /// Rewrites every string in a JSON document that starts with the upstream base.
    pub fn json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => {
                if let Some(new) = self.url(s) {
                    *s = new;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.json(v)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.json(v)),
            _ => {}
        }
    }
}

fn is_json(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    media == "application/json" || media == "application/fhir+json"
}

#[allow(clippy::too_many_arguments)]
pub fn forward(
    agent: &ureq::Agent,
    base: &str,
    rest: &str,
    query: Option<&str>,
    host: &str,
    method: &str,
    rq: &mut tiny_http::Request,
    rewrite: Option<&Rewrite<'_>>,
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
                let v = match (rewrite, *name) {
                    (Some(r), "Location" | "Content-Location") => r.url(v).unwrap_or_else(|| v.to_string()),
                    _ => v.to_string(),
                };
                headers.push((name.to_string(), v));
            }
        }
    }
    let length: Option<usize> = response.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    if let Some(rewrite) = rewrite.filter(|_| is_json(&content_type) && method != "HEAD") {
        let body = response.into_body().with_config().limit(MAX_REWRITE).read_to_vec();
        return match body {
            Ok(bytes) => {
                // Untouched (byte for byte) unless the upstream base occurs at all.
                let upstream = rewrite.upstream.trim_end_matches('/').as_bytes();
                if upstream.is_empty() || !bytes.windows(upstream.len()).any(|w| w == upstream) {
                    return Reply { status, headers, body: Body::Bytes(bytes) };
                }
                let bytes = match serde_json::from_slice::<serde_json::Value>(&bytes) {
                    Ok(mut json) => {
                        rewrite.json(&mut json);
                        serde_json::to_vec(&json).unwrap_or(bytes)
                    }
                    Err(_) => bytes, // Not JSON after all: as received.
                };
                Reply { status, headers, body: Body::Bytes(bytes) }
            }
            Err(e) => Reply::text(502, &format!("upstream {base} body could not be read: {e}")),
        };
    }
    let reader = response.into_body().into_reader();
    Reply { status, headers, body: Body::Stream(Box::new(reader), length) }
}
