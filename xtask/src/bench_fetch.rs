//! `cargo xtask bench-fetch`: how long a 64-slice CT takes to load in the browser component,
//! cold over the network (through the dev server's proxy to a real Orthanc), from IndexedDB
//! after a page reload, and with `curl` fetching the same WADO-RS URLs with the same
//! concurrency. Printed as a table with ratios; never pass/fail.
//!
//! The data set is a bench-only one (64 CT slices, id prefix `benchfetch`) so the test run does
//! not grow. The browser side is the bench crate `bench/fetch-wasm`, the component plus one
//! export that loads a series through the bridge exactly as the viewer does; `bench/fetch.mjs` drives
//! Debian's chromium with a persistent profile so IndexedDB is on disk, as for a user.
//!
//! Known flake of the dev server, not of the component: tiny_http hands each connection to a
//! pool thread for its whole keep-alive life and counts idle threads, not queued connections,
//! so when a browser opens two connections at once while one thread is idle, the second can
//! wait unserved until another connection closes (seen: its request unread in the socket, no
//! thread reading it). The bench gives requests 20 s and repeats such a run, and says so.

use crate::{devserver, display_cmd, install, run_cmd, servers, testdata, workspace_root, Flags};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::process::Command;
use std::time::Instant;

/// Requests in flight per origin: the bridge scheduler's default, also given to curl.
const CONCURRENCY: usize = 6;
const SLICES: usize = 64;

pub fn run(flags: &Flags) -> Result<()> {
    let samples: usize = flags.value("--samples")?.map(|s| s.parse()).transpose().context("--samples")?.unwrap_or(3).max(1);
    let root = workspace_root();
    let out = crate::fuzz::target_root(&root).join("bench-fetch-out");
    let pkg = out.join("pkg");
    let www = out.join("www");
    std::fs::create_dir_all(&www)?;

    // 1. The bench crate (bench/fetch-wasm: the component plus the bench export), release
    // profile (as shipped).
    install::wasm_toolchain()?;
    let mut cargo = Command::new(env!("CARGO"));
    cargo.current_dir(&root).args(["build", "-p", "emr-imaging-bench-fetch", "--release", "--target", "wasm32-unknown-unknown"]);
    run_cmd(&mut cargo)?;
    let wasm = crate::fuzz::target_root(&root).join("wasm32-unknown-unknown/release/emr_imaging_bench_fetch.wasm");
    if pkg.exists() {
        std::fs::remove_dir_all(&pkg)?;
    }
    run_cmd(
        Command::new(install::wasm_bindgen_bin()).args(["--target", "web", "--out-name", "emr_imaging", "--out-dir"]).arg(&pkg).arg(&wasm),
    )?;
    std::fs::write(www.join("bench-fetch.html"), PAGE)?;
    std::fs::write(www.join("bench-fetch.mjs"), PAGE_JS)?;
    if !root.join("bench/node_modules/playwright-core").is_dir() {
        run_cmd(Command::new("npm").current_dir(root.join("bench")).args(["ci", "--no-audit", "--no-fund"]))?;
    }

    // 2. Real servers, and the dev server proxying them (one origin for the page).
    let dir = servers::run_dir()?;
    let orthanc = servers::orthanc(&dir.join("orthanc"))?;
    let hfs = servers::hfs(&dir.join("hfs"))?;
    let fhir_base = hfs.url();
    let dicomweb = format!("{}/dicom-web", orthanc.url());
    let proxy = devserver::start(devserver::Options {
        port: 0,
        www: www.clone(),
        pkg: pkg.clone(),
        upstream: devserver::Upstream::Proxy { fhir: fhir_base.clone(), dicomweb: dicomweb.clone(), audit: None },
        log_requests: false,
    })?;
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);

    // 3. The 64-slice CT, addressed through the proxy.
    let data = testdata::generate(&testdata::Options { ct_slices: SLICES, id_prefix: "benchfetch".into() });
    let patient = data.patients.first().context("no patient in the data set")?;
    let study = patient.studies.iter().find(|s| s.series.iter().any(|se| se.instances.len() == SLICES)).context("no 64-slice study")?;
    let series = &study.series[0];
    for s in &patient.studies {
        let instances: Vec<&[u8]> = s.series.iter().flat_map(|se| se.instances.iter().map(|i| i.part10.as_slice())).collect();
        servers::stow(&dicomweb, &instances)?;
    }
    servers::fhir_transaction(&fhir_base, &testdata::fhir_transaction(&data, &format!("{proxy_url}/dicom-web")))?;
    let stored_bytes: usize = series.instances.iter().map(|i| i.part10.len()).sum();

    // 4. The browser: cold (network + IndexedDB writes), then after a reload (IndexedDB), and
    //    memory-only over the network for reference.
    let mut node = Command::new("node");
    node.current_dir(root.join("bench"))
        .arg("fetch.mjs")
        .arg(format!("{proxy_url}/bench-fetch.html"))
        .arg(format!("{proxy_url}/fhir"))
        .arg(&patient.fhir_id)
        .arg(&study.uid)
        .arg(samples.to_string())
        .arg(out.join("chromium-profile"))
        .env("CHROMIUM", install::CHROMIUM);
    eprintln!("+ {}", display_cmd(&node));
    let output = node.output().context("running bench/fetch.mjs")?;
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        bail!("bench/fetch.mjs failed with {}", output.status);
    }
    let browser: Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("fetch.mjs printed {:?}", String::from_utf8_lossy(&output.stdout)))?;

    // 5. curl: the same WADO-RS instance URLs through the same proxy, same concurrency.
    let accept = "Accept: multipart/related; type=\"application/dicom\"; transfer-syntax=*";
    let mut curl_ms = Vec::new();
    let mut curl_bytes = 0u64;
    for _ in 0..samples {
        let mut curl = Command::new("curl");
        curl.args(["-s", "--fail", "--parallel", "--parallel-max", &CONCURRENCY.to_string(), "-H", accept, "-w", "%{size_download}\n"]);
        for instance in &series.instances {
            curl.arg("-o")
                .arg("/dev/null")
                .arg(format!("{proxy_url}/dicom-web/studies/{}/series/{}/instances/{}", study.uid, series.uid, instance.sop_instance_uid));
        }
        let started = Instant::now();
        let result = curl.output().context("running curl")?;
        curl_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        if !result.status.success() {
            bail!("curl failed with {}", result.status);
        }
        curl_bytes = String::from_utf8_lossy(&result.stdout).lines().filter_map(|l| l.trim().parse::<u64>().ok()).sum();
    }
    drop(proxy);
    drop(hfs);
    drop(orthanc);

    print_table(&browser, median(&mut curl_ms), curl_bytes, stored_bytes, samples);
    Ok(())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn print_table(browser: &Value, curl_ms: f64, curl_bytes: u64, stored_bytes: usize, samples: usize) {
    let ms = |key: &str| browser[key]["ms"].as_f64().unwrap_or(f64::NAN);
    let bytes = |key: &str| browser[key]["bytes"].as_f64().unwrap_or(f64::NAN);
    let rows = [
        ("browser, cold: network + IndexedDB writes", ms("cold"), bytes("cold"), "1 (the first load)".to_string()),
        ("browser, memory only: network", ms("network"), bytes("network"), format!("median of {samples}")),
        ("browser, after reload: IndexedDB", ms("warm"), bytes("warm"), format!("median of {samples}")),
        ("curl, same URLs via the proxy", curl_ms, curl_bytes as f64, format!("median of {samples}")),
    ];
    println!();
    println!(
        "64-slice CT ({SLICES} instances, {:.1} MB as stored), {CONCURRENCY} requests in flight per origin",
        stored_bytes as f64 / 1e6
    );
    println!("{:<44} {:>10} {:>12} {:>10}  samples", "how", "ms", "MB received", "vs curl");
    for (how, t, b, n) in rows {
        println!("{how:<44} {t:>10.1} {:>12.2} {:>9.2}x  {n}", b / 1e6, t / curl_ms);
    }
    let retries = browser["retries"].as_u64().unwrap_or(0);
    if retries > 0 {
        println!("({retries} browser run(s) repeated after a request stalled in the dev server; see bench_fetch.rs)");
    }
    println!("(timings only; nothing here passes or fails)");
}

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>emr-imaging fetch bench</title>
<script type="module" src="/bench-fetch.mjs"></script>
"#;

const PAGE_JS: &str = r#"// The fetch bench page: the component built with the `bench` feature.
import init, { benchFetchSeries } from '/pkg/emr_imaging.js';
await init();
window.runFetch = (fhir, patient, study, partition) => benchFetchSeries(fhir, patient, study, partition);
window.benchReady = true;
"#;
