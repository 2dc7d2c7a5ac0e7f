//! `cargo xtask bench-fetch`: how long a 64-slice CT takes to load in the browser component,
//! cold over the network (through the dev server's proxy to a real Orthanc), from IndexedDB
//! after a page reload, and with `curl` fetching the same WADO-RS URLs with the same
//! concurrency; then a 300-slice CT opened in a session as the viewer opens it (to its first
//! image, and to every slice decoded), against curl of that first instance and of the whole
//! series. Printed as a table with ratios; never pass/fail.
//!
//! The data sets are bench-only ones (64 CT slices, id prefix `benchfetch`; the viewer's data
//! set with 300 slices, `benchfetch300`) so the test run does not grow. The browser side is the bench crate `bench/fetch-wasm`, the component plus one
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
/// The long stack of the open rows.
const OPEN_SLICES: usize = 300;

pub fn run(flags: &Flags) -> Result<()> {
    let samples: usize = flags.value("--samples")?.map(|s| s.parse()).transpose().context("--samples")?.unwrap_or(3).max(1);
    let root = workspace_root();
    let out = crate::fuzz::target_root(&root).join("bench-fetch-out");
    // `--profile`: one more open of the 300-slice study under Chromium's profiler.
    let cpu_profile = flags.has("--profile").then(|| out.join("open.cpuprofile"));
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
    // The decode worker loads the glue beside it, as in the package.
    std::fs::copy(root.join("js/decode_worker.js"), pkg.join("decode_worker.js")).context("copying the decode worker")?;
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
    // The 300-slice CT (the viewer's data set), stored in parts so no request is huge.
    let long = testdata::viewer::generate("benchfetch300", OPEN_SLICES);
    let long_patient = long.patients.first().context("no patient in the long data set")?;
    let long_study = long_patient.studies.first().context("no long study")?;
    let long_series = long_study.series.first().context("no long series")?;
    for chunk in long_series.instances.chunks(50) {
        servers::stow(&dicomweb, &chunk.iter().map(|i| i.part10.as_slice()).collect::<Vec<_>>())?;
    }
    servers::fhir_transaction(&fhir_base, &testdata::viewer::fhir_transaction(&long, &format!("{proxy_url}/dicom-web")))?;
    let long_bytes: usize = long_series.instances.iter().map(|i| i.part10.len()).sum();
    let long_size = long_series.instances.first().map(|i| (i.rows, i.columns)).unwrap_or_default();
    let url = |study: &str, series: &str, sop: &str| format!("{proxy_url}/dicom-web/studies/{study}/series/{series}/instances/{sop}");
    let long_urls: Vec<String> =
        long_series.instances.iter().map(|i| url(&long_study.uid, &long_series.uid, &i.sop_instance_uid)).collect();
    let long_series_url = format!("{proxy_url}/dicom-web/studies/{}/series/{}", long_study.uid, long_series.uid);
    // The page's plain fetch() rows read the same URLs: the browser's own floor, without us.
    std::fs::write(www.join("bench-long.json"), serde_json::json!({ "instances": long_urls, "series": long_series_url }).to_string())?;

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
        .arg(&long_patient.fhir_id)
        .arg(&long_study.uid)
        .arg(CONCURRENCY.to_string())
        .args(cpu_profile.iter())
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
    let urls: Vec<String> = series.instances.iter().map(|i| url(&study.uid, &series.uid, &i.sop_instance_uid)).collect();
    let (curl_ms, curl_bytes) = curl(&urls, samples)?;
    let (long_curl_ms, long_curl_bytes) = curl(&long_urls, samples)?;
    let (series_curl_ms, series_curl_bytes) = curl(std::slice::from_ref(&long_series_url), samples)?;
    let first_uid = browser["open"]["instanceUid"].as_str().context("the open run named no first instance")?;
    let first_series = browser["open"]["seriesUid"].as_str().unwrap_or(&long_series.uid);
    let (first_curl_ms, first_curl_bytes) = curl(&[url(&long_study.uid, first_series, first_uid)], samples)?;
    drop(proxy);
    drop(hfs);
    drop(orthanc);

    print_table(&browser, curl_ms, curl_bytes, stored_bytes, samples);
    let open = Open {
        curl_all_ms: long_curl_ms,
        curl_all_bytes: long_curl_bytes,
        curl_first_ms: first_curl_ms,
        curl_first_bytes: first_curl_bytes,
        curl_series_ms: series_curl_ms,
        curl_series_bytes: series_curl_bytes,
    };
    print_open_table(&browser["open"], &open, long_bytes, long_size, samples);
    Ok(())
}

/// curl of `urls` through the proxy, [`CONCURRENCY`] at a time: the median time of `samples`
/// runs, and the bytes received.
fn curl(urls: &[String], samples: usize) -> Result<(f64, u64)> {
    let accept = "Accept: multipart/related; type=\"application/dicom\"; transfer-syntax=*";
    let mut times = Vec::new();
    let mut bytes = 0u64;
    for _ in 0..samples {
        let mut curl = Command::new("curl");
        curl.args(["-s", "--fail", "--parallel", "--parallel-max", &CONCURRENCY.to_string(), "-H", accept, "-w", "%{size_download}\n"]);
        for url in urls {
            curl.arg("-o").arg("/dev/null").arg(url);
        }
        let started = Instant::now();
        let result = curl.output().context("running curl")?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        if !result.status.success() {
            bail!("curl failed with {}", result.status);
        }
        bytes = String::from_utf8_lossy(&result.stdout).lines().filter_map(|l| l.trim().parse::<u64>().ok()).sum();
    }
    Ok((median(&mut times), bytes))
}

/// curl's side of the open rows.
struct Open {
    curl_all_ms: f64,
    curl_all_bytes: u64,
    curl_first_ms: f64,
    curl_first_bytes: u64,
    curl_series_ms: f64,
    curl_series_bytes: u64,
}

fn print_open_table(open: &Value, curl: &Open, stored_bytes: usize, (rows, columns): (u16, u16), samples: usize) {
    let num = |key: &str| open[key].as_f64().unwrap_or(f64::NAN);
    println!();
    println!(
        "{OPEN_SLICES}-slice {rows}x{columns} CT ({:.1} MB as stored), opened in a session, cold (IndexedDB empty), {CONCURRENCY} requests in flight per origin",
        stored_bytes as f64 / 1e6
    );
    println!("{:<44} {:>10} {:>12} {:>10}  samples", "how", "ms", "MB received", "vs curl");
    let rows = [
        ("browser: open to all slices decoded", num("allMs"), num("bytes"), curl.curl_all_ms),
        ("curl, the series' URLs via the proxy", curl.curl_all_ms, curl.curl_all_bytes as f64, curl.curl_all_ms),
        ("browser, plain fetch() of those URLs (JS)", num("plainMs"), num("plainBytes"), curl.curl_all_ms),
        ("curl, the series in one WADO-RS request", curl.curl_series_ms, curl.curl_series_bytes as f64, curl.curl_all_ms),
        ("browser, plain fetch() of that one request", num("plainSeriesMs"), num("plainSeriesBytes"), curl.curl_all_ms),
        ("browser: open to the first image", num("firstMs"), f64::NAN, curl.curl_first_ms),
        ("  its request sent, after the open", num("firstRequestMs"), f64::NAN, curl.curl_first_ms),
        ("  its response complete, after the open", num("firstResponseMs"), f64::NAN, curl.curl_first_ms),
        ("curl, that one instance", curl.curl_first_ms, curl.curl_first_bytes as f64, curl.curl_first_ms),
        ("browser: reopen from IndexedDB, all slices", num("reopenMs"), num("bytes"), num("allMs")),
        ("browser: reopen from IndexedDB, first image", num("reopenFirstMs"), f64::NAN, num("firstMs")),
    ];
    for (how, t, b, peer) in rows {
        let mb = if b.is_nan() { "-".to_string() } else { format!("{:.2}", b / 1e6) };
        println!("{how:<44} {t:>10.1} {mb:>12} {:>9.2}x  median of {samples}", t / peer);
    }
    println!("(the open rows: {} instances stacked; the reopen rows' ratio is to the cold open's)", num("instances"));
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
        ("browser, IndexedDB alone: getAll (JS)", ms("idb"), bytes("idb"), format!("median of {samples}")),
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
    println!("reopen from IndexedDB: {:.1}x faster than cold; IndexedDB alone {:.1}x", ms("cold") / ms("warm"), ms("cold") / ms("idb"));
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
import init, { benchFetchSeries, benchOpenStudy } from '/pkg/emr_imaging.js';
await init();
window.runFetch = (fhir, patient, study, partition) => benchFetchSeries(fhir, patient, study, partition);
// With when the first image's request went out and when its response was complete, from the
// browser's resource timings (the same origin: the proxy), since the open began.
window.runOpen = async (fhir, patient, study, partition) => {
  performance.setResourceTimingBufferSize(10000);
  performance.clearResourceTimings();
  const open = await benchOpenStudy(fhir, patient, study, partition);
  const first = performance.getEntriesByType('resource').find((e) => e.name.endsWith(`/instances/${open.instanceUid}`));
  return {
    ...open,
    firstRequestMs: first ? first.startTime - open.startedAt : NaN,
    firstResponseMs: first ? first.responseEnd - open.startedAt : NaN,
  };
};
// The browser's own floor for the reopen row: IndexedDB alone, every entry of the partition
// (that one series) read in one read-only transaction, as the component reads a series.
window.runIdbRead = (partition) => new Promise((resolve, reject) => {
  const started = performance.now();
  const opening = indexedDB.open('emr-imaging-cache');
  opening.onerror = () => reject(opening.error);
  opening.onsuccess = () => {
    const db = opening.result;
    const tx = db.transaction(['blobs', 'meta'], 'readonly');
    const range = IDBKeyRange.bound(`${partition}|`, `${partition}|\uffff`);
    const blobs = tx.objectStore('blobs').getAll(range);
    tx.objectStore('meta').getAll(range);
    tx.oncomplete = () => {
      const idbBytes = blobs.result.reduce((n, r) => n + r.bytes.byteLength, 0);
      db.close();
      resolve({ idbMs: performance.now() - started, idbBytes, idbEntries: blobs.result.length });
    };
    tx.onerror = () => reject(tx.error);
  };
});
// The browser's own floor for the open rows: fetch() and arrayBuffer() of the same URLs, as
// many at a time as the component and curl, nothing else.
window.runPlainFetch = async (concurrency) => {
  const { instances, series } = await (await fetch('/bench-long.json')).json();
  const accept = { Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' };
  const get = async (url) => {
    const response = await fetch(url, { headers: accept, cache: 'no-store' });
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    return (await response.arrayBuffer()).byteLength;
  };
  let started = performance.now();
  let next = 0, bytes = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < instances.length) {
      const n = await get(instances[next++]);
      bytes += n;
    }
  }));
  const plainMs = performance.now() - started;
  started = performance.now();
  const plainSeriesBytes = await get(series);
  return { plainMs, plainBytes: bytes, plainSeriesMs: performance.now() - started, plainSeriesBytes };
};
window.benchReady = true;
"#;
