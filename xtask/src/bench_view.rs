//! `cargo xtask bench --view [--slices N] [--no-idb]`: the viewer in headless Chromium on a long CT stack
//! (300 slices of 512² int16 by default, a bench-only data set served by the dev server's
//! sample mode). Prints, never judges:
//!
//! - the longest main-thread task (PerformanceObserver `longtask`) while the series loads;
//! - per-frame times while scrolling the cached stack slice by slice: the widget's own
//!   `emr-frame` performance measure (window/level + putImageData) and the whole step
//!   (wheel event → redraw and overlay update, until the task queue is reached again), with
//!   their median, p95 and maximum.

use crate::{build, devserver, install, testdata, workspace_root, Flags};
use anyhow::{bail, Context, Result};
use std::process::Command;

/// The measuring page script, run by Node with playwright-core from the e2e folder.
const SCRIPT: &str = r#"
import { chromium } from 'playwright-core';
const [url, patient, slices] = [process.env.BENCH_URL, process.env.BENCH_PATIENT, Number(process.env.BENCH_SLICES)];
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.addInitScript(() => {
    window.__longtasks = [];
    new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longtasks.push({ start: e.startTime, duration: e.duration }); })
      .observe({ type: 'longtask', buffered: true });
  });
  await page.goto(`${url}/?manual${process.env.BENCH_QUERY ?? ''}`);
  await page.waitForFunction(() => window.emrDemo?.ready === true, null, { timeout: 120000 });
  const load = await page.evaluate(async (id) => {
    const t0 = performance.now();
    window.__longtasks.length = 0;
    await window.emrDemo.selectPatient(id);
    const t1 = performance.now();
    const during = window.__longtasks.filter((t) => t.start >= t0 && t.start <= t1);
    return { ms: t1 - t0, longest: Math.max(0, ...during.map((t) => t.duration)), count: during.length };
  }, patient);
  await page.waitForFunction((n) => document.querySelector('[data-testid=scrollbar]')?.getAttribute('aria-valuemax') === String(n)
    && !document.querySelector('[data-testid=series-progress]'), slices, { timeout: 300000 });
  const scroll = await page.evaluate(async (n) => {
    const viewport = document.querySelector('[data-testid=viewport]');
    const box = viewport.getBoundingClientRect();
    performance.clearMeasures('emr-frame');
    const steps = [];
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < n - 1; i++) {
        const t = performance.now();
        viewport.dispatchEvent(new WheelEvent('wheel', { deltaY: pass === 0 ? 100 : -100, bubbles: true, cancelable: true,
          clientX: box.x + box.width / 2, clientY: box.y + box.height / 2 }));
        await new Promise((r) => setTimeout(r, 0));
        steps.push(performance.now() - t);
      }
    }
    const frames = performance.getEntriesByName('emr-frame').map((e) => e.duration);
    return { steps, frames, overlay: document.querySelector('[data-testid=overlay-image]').innerText };
  }, slices);
  console.log(JSON.stringify({ load, scroll }));
} finally {
  await browser.close();
}
"#;

fn stats(v: &[f64]) -> (f64, f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let at = |q: f64| s[((q * (s.len() - 1) as f64).round() as usize).min(s.len() - 1)];
    (at(0.5), at(0.95), s[s.len() - 1])
}

pub fn run(flags: &Flags) -> Result<()> {
    let slices: usize = flags.value("--slices")?.map(|s| s.parse()).transpose().context("--slices takes a number")?.unwrap_or(300);
    let root = workspace_root();
    build::build(build::Profile::Release)?;
    let data = testdata::viewer::generate("bench-view", slices);
    let patient = data.patients.first().context("no patient generated")?.fhir_id.clone();
    let server = devserver::start(devserver::Options {
        port: 0,
        www: root.join("www"),
        pkg: root.join("pkg"),
        upstream: devserver::Upstream::Sample(data),
        log_requests: false,
    })?;
    let e2e = install::e2e_dir();
    if !e2e.join("node_modules/playwright-core").is_dir() {
        crate::run_cmd(Command::new("npm").current_dir(&e2e).args(["ci", "--no-audit", "--no-fund"]))?;
    }
    let output = Command::new("node")
        .current_dir(&e2e)
        .args(["--input-type=module", "-e", SCRIPT])
        .env("BENCH_URL", format!("http://127.0.0.1:{}", server.port))
        .env("BENCH_PATIENT", &patient)
        .env("BENCH_SLICES", slices.to_string())
        .env("BENCH_QUERY", if flags.has("--no-idb") { "&nocache" } else { "" })
        .env("CHROMIUM", install::CHROMIUM)
        .output()
        .context("running node")?;
    drop(server);
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        bail!("the viewer benchmark failed with {}", output.status);
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let result: serde_json::Value = serde_json::from_str(text.trim()).with_context(|| format!("node printed {text:?}"))?;
    let numbers = |v: &serde_json::Value| v.as_array().map(|a| a.iter().filter_map(|x| x.as_f64()).collect::<Vec<_>>()).unwrap_or_default();
    let load = &result["load"];
    println!("viewer bench: {slices}-slice 512x512 int16 CT, headless Chromium, release build");
    println!(
        "  series load: {:.0} ms in all, longest main-thread task {:.0} ms ({} long tasks)",
        load["ms"].as_f64().unwrap_or(f64::NAN),
        load["longest"].as_f64().unwrap_or(f64::NAN),
        load["count"].as_u64().unwrap_or(0)
    );
    let (m, p95, max) = stats(&numbers(&result["scroll"]["frames"]));
    println!("  redraw (emr-frame measure, W/L + putImageData): median {m:.2} ms, p95 {p95:.2} ms, max {max:.2} ms");
    let (m, p95, max) = stats(&numbers(&result["scroll"]["steps"]));
    println!("  scroll step (wheel event to redrawn frame and overlay): median {m:.2} ms, p95 {p95:.2} ms, max {max:.2} ms");
    println!("  frames measured: {}, final overlay {:?}", numbers(&result["scroll"]["frames"]).len(), result["scroll"]["overlay"]);
    Ok(())
}
