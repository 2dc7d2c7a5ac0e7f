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
