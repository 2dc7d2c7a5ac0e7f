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
    assert_eq!(
        proxy::upstream_url("http://o:8042/dicom-web/", "/studies", Some("PatientID=1")),
        "http://o:8042/dicom-web/studies?PatientID=1"
    );
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
    let objects = [
        sample::study_json(p, s, "http://h/dicom-web"),
        sample::series_json(s, &s.series[0], "http://h/dicom-web"),
        sample::instance_json(s, &s.series[0], &s.series[0].instances[0], "http://h/dicom-web"),
    ];
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
    let headers =
        response.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect::<Vec<_>>();
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
    assert_eq!(patients["total"], ds.patients.len());
    assert_eq!(patients["entry"].as_array().unwrap().len(), 1);
    let next = patients["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").unwrap()["url"].as_str().unwrap().to_string();
    assert_eq!(get(&next, &[]).json()["entry"][0]["resource"]["id"], ds.patients[1].fhir_id);
    let search =
        get(&format!("{base}/fhir/ImagingStudy?patient=Patient/{}&_include=ImagingStudy:endpoint&_count=100", patient.fhir_id), &[]);
    assert_eq!(search.status, 200);
    let bundle = search.json();
    let studies = patient.studies.len();
    assert_eq!((bundle["type"].as_str(), bundle["total"].as_u64()), (Some("searchset"), Some(studies as u64)));
    let entries = bundle["entry"].as_array().unwrap();
    let modes: Vec<&str> = entries.iter().map(|e| e["search"]["mode"].as_str().unwrap()).collect();
    let mut want = vec!["match"; studies];
    want.push("include");
    assert_eq!(modes, want);
    assert_eq!(entries[studies]["resource"]["address"], format!("{base}/dicom-web"), "Endpoint address from the Host header");
    assert_eq!(entries[0]["fullUrl"], format!("{base}/fhir/ImagingStudy/{}", ct.fhir_id));
    assert!(bundle["link"][0]["url"].as_str().unwrap().ends_with("_count=100"));
    let by_id = get(&format!("{base}/fhir/ImagingStudy?patient={}", patient.fhir_id), &[]).json();
    assert_eq!(by_id["total"], studies);
    assert_eq!(by_id["entry"].as_array().unwrap().len(), studies, "no include unless asked");
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
    let listed = get(&format!("{base}/dicom-web/studies?PatientID={}", patient.mrn), &[]);
    assert_eq!((listed.status, listed.content_type.as_str()), (200, "application/dicom+json"));
    assert_eq!(listed.json().as_array().unwrap().len(), studies);
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
    let pre = request(
        "OPTIONS",
        &format!("{base}/fhir/Patient"),
        &[("Origin", "http://localhost:5555"), ("Access-Control-Request-Method", "GET")],
    );
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
        upstream: Upstream::Proxy {
            fhir: format!("{}/fhir", upstream.url()),
            dicomweb: format!("{}/dicom-web/", upstream.url()),
            audit: None,
        },
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
    let accepts =
        ["application/fhir+json", "application/dicom+json", ACCEPT_DICOM, ACCEPT_DICOM, "application/fhir+json", "application/json"];
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
        upstream: Upstream::Proxy { fhir: format!("{dead}/fhir"), dicomweb: format!("{dead}/dicom-web"), audit: None },
        log_requests: false,
    })
    .unwrap();
    let down = get(&format!("{}/fhir/metadata", lonely.url()), &[]);
    assert_eq!(down.status, 502);
    assert!(down.content_type.starts_with("text/plain"));
}

/// A stand-in for a FHIR server that, like HFS, writes absolute URLs with its own configured
/// base: `next` links, `fullUrl`s and `Location`. Behind the proxy they must point at the proxy.
#[test]
fn proxy_rewrites_the_upstream_fhir_base_in_json_and_location() {
    let upstream = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = upstream.server_addr().to_ip().unwrap().port();
    let own = format!("http://127.0.0.1:{port}");
    let upstream = std::sync::Arc::new(upstream);
    let serving = upstream.clone();
    let base = own.clone();
    let worker = std::thread::spawn(move || {
        while let Ok(rq) = serving.recv() {
            let body = serde_json::json!({
                "resourceType": "Bundle", "type": "searchset",
                "link": [{"relation": "self", "url": format!("{base}/ImagingStudy?patient=p")},
                         {"relation": "next", "url": format!("{base}/ImagingStudy?patient=p&_page=2")}],
                "entry": [{"fullUrl": format!("{base}/ImagingStudy/1"), "resource": {"resourceType": "ImagingStudy", "id": "1",
                    "description": format!("{base}0 is another port"), "note": [{"text": "http://elsewhere.test/x"}]}}]
            });
            let response = tiny_http::Response::from_data(serde_json::to_vec(&body).unwrap())
                .with_header(tiny_http::Header::from_bytes("Content-Type", "application/fhir+json").unwrap())
                .with_header(tiny_http::Header::from_bytes("Location", format!("{base}/ImagingStudy/1/_history/1")).unwrap());
            let _ = rq.respond(response);
        }
    });
    let dirs = static_dirs("rewrite");
    let proxy = start(Options {
        port: 0,
        www: dirs.www.clone(),
        pkg: dirs.pkg.clone(),
        upstream: Upstream::Proxy { fhir: own.clone(), dicomweb: format!("{own}/dicom-web"), audit: None },
        log_requests: false,
    })
    .expect("proxy starts");
    let got = get(&format!("{}/fhir/ImagingStudy?patient=p", proxy.url()), &[("Accept", "application/fhir+json")]);
    assert_eq!(got.status, 200);
    let json = got.json();
    let ours = format!("{}/fhir", proxy.url());
    assert_eq!(json["link"][1]["url"], format!("{ours}/ImagingStudy?patient=p&_page=2"), "next link points at the proxy");
    assert_eq!(json["entry"][0]["fullUrl"], format!("{ours}/ImagingStudy/1"));
    assert_eq!(json["entry"][0]["resource"]["description"], format!("{own}0 is another port"), "only at a URL boundary");
    assert_eq!(json["entry"][0]["resource"]["note"][0]["text"], "http://elsewhere.test/x", "other origins untouched");
    assert_eq!(got.header("Location"), Some(format!("{ours}/ImagingStudy/1/_history/1").as_str()));
    upstream.unblock();
    let _ = worker.join();
}

/// A browser opens several keep-alive connections at once and keeps them open. Each must be
/// served while the others stay open and idle: the HTTP library once queued a burst of new
/// connections behind idle ones (its patched thread pool is in `vendor/tiny_http`).
#[test]
fn a_burst_of_keep_alive_connections_is_served_while_all_stay_open() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let dirs = static_dirs("burst");
    let server = sample_server(dataset(), &dirs);
    for round in 0..5 {
        // Twelve connections opened together, none closed until every one has its answer.
        let mut streams: Vec<TcpStream> = (0..12).map(|_| TcpStream::connect(("127.0.0.1", server.port)).expect("connect")).collect();
        for s in &mut streams {
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            s.write_all(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n").unwrap();
        }
        for (n, s) in streams.iter_mut().enumerate() {
            let mut head = [0u8; 12];
            s.read_exact(&mut head).unwrap_or_else(|e| panic!("round {round}, connection {n} got no answer: {e}"));
            assert_eq!(&head, b"HTTP/1.1 200", "round {round}, connection {n}");
        }
    }
}

/// The fault switch: `on` refuses every API prefix, a named prefix only that one, `off` none;
/// static files are always served, and anything else is a 400.
#[test]
fn the_fault_switch_refuses_api_requests_until_it_is_off() {
    let dirs = static_dirs("refuse");
    let server = sample_server(dataset(), &dirs);
    let switch = |body: &str| {
        let response = proxy::agent().put(format!("{}{REFUSE_PATH}", server.url())).send(body.as_bytes()).expect("switch");
        response.status().as_u16()
    };
    let status = |path: &str| get(&format!("{}{path}", server.url()), &[]).status;
    assert_eq!(status("/fhir/metadata"), 200);
    assert_eq!(switch("on"), 204);
    assert_eq!((status("/fhir/metadata"), status("/dicom-web/studies"), status("/audit/metadata")), (503, 503, 503));
    assert_eq!(status("/index.html"), 200, "static files still served");
    assert_eq!(switch("/audit"), 204);
    assert_eq!((status("/fhir/metadata"), status("/audit/metadata")), (200, 503));
    assert_eq!(switch("/nowhere"), 400);
    assert_eq!(switch(""), 400);
    assert_eq!(switch("off"), 204);
    assert_eq!(status("/audit/metadata"), 404, "the sample server keeps no audit trail");
}
