//! `cargo xtask test`: every tier against real servers, in one command.
//!
//! 1. Install what is missing, lint (rustfmt, clippy native and wasm32, warnings denied), and
//!    build the package.
//! 2. Start Orthanc + HFS and a dev server proxying them.
//! 3. Load the synthetic data sets (one addressed directly, the others through the proxy) by
//!    STOW-RS and a FHIR transaction.
//! 4. Run native `cargo test` (server tests included), dicom-parser-lite's SIMD test in
//!    WebAssembly (Node), wasm-bindgen browser tests and node/playwright end-to-end tests.
//! 5. Stop the servers, fuzz for a bounded number of runs, and print the runners' totals.
//!
//! A failing tier does not stop the others.

use crate::{audit_repository, build, devserver, fuzz, install, servers, testdata, workspace_root};
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const TIERS: [&str; 6] = ["lint", "native", "wasm", "browser", "end-to-end", "fuzz"];

/// Our crates: the forks under vendor/ keep upstream's formatting and lints.
const OURS: [&str; 8] = ["-p", "emr-imaging", "-p", "dicom-parser-lite", "-p", "emr-imaging-bench-fetch", "-p", "xtask"];
/// Those of them that run in the browser (all but xtask, the last).
const OURS_IN_WASM: &[&str] = OURS.split_at(6).0;
/// Executions per fuzz target in the test run: deterministic (fixed seed, committed seeds), about
/// a minute in all on this machine kind.
const FUZZ_RUNS: u64 = 10_000;

/// Totals read from the runners' own summary lines.
#[derive(Default, Debug, Clone, Copy)]
struct Counts {
    passed: u64,
    failed: u64,
    skipped: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.passed += o.passed;
        self.failed += o.failed;
        self.skipped += o.skipped;
    }
}

pub fn run(install_first: bool, only: Option<&str>) -> Result<()> {
    if let Some(tier) = only {
        if !TIERS.contains(&tier) {
            bail!("--only takes one of {TIERS:?}");
        }
    }
    let started = Instant::now();
    if install_first {
        install::all()?;
    }
    let mut total = Counts::default();
    let mut failures = Vec::new();
    if only.is_none_or(|o| o == "lint") {
        let (counts, failed) = lint();
        total += counts;
        failures.extend(failed);
        if only == Some("lint") {
            return finish(started, total, &failures);
        }
    }
    build::build(build::Profile::Release)?;
    let dir = servers::run_dir()?;
    let orthanc = servers::orthanc(&dir.join("orthanc"))?;
    let hfs = servers::hfs(&dir.join("hfs"))?;
    let fhir_base = hfs.url();
    let orthanc_dicomweb = format!("{}/dicom-web", orthanc.url());

    // Helios refuses client AuditEvents: the audit trail goes to the test's own repository.
    let audit_repository = audit_repository::start(0)?;
    // The e2e pages reach the servers through this proxy: one origin for the browser.
    let proxy = devserver::start(devserver::Options {
        port: 0,
        www: workspace_root().join("www"),
        pkg: workspace_root().join("pkg"),
        upstream: devserver::Upstream::Proxy {
            fhir: fhir_base.clone(),
            dicomweb: orthanc_dicomweb.clone(),
            audit: Some(audit_repository.url()),
        },
        log_requests: false,
    })?;
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let hfs_subs = servers::hfs_subscriptions(&dir.join("hfs-subscriptions"), &proxy_url)?;

    let native = testdata::generate(&testdata::Options { id_prefix: "native".into(), ..Default::default() });
    let e2e = testdata::generate(&testdata::Options { id_prefix: "e2e".into(), ..Default::default() });
    load(&native, &orthanc_dicomweb, &orthanc_dicomweb, &fhir_base)?;
    load(&e2e, &orthanc_dicomweb, &format!("{proxy_url}/dicom-web"), &fhir_base)?;
    // The same studies on the Subscriptions server (their instances are in Orthanc already).
    servers::fhir_transaction(&hfs_subs.url(), &testdata::fhir_transaction(&e2e, &format!("{proxy_url}/dicom-web")))?;
    let native_dir = dir.join("data-native");
    let e2e_dir = dir.join("data-e2e");
    testdata::write_to_dir(&native, &orthanc_dicomweb, &native_dir)?;
    testdata::write_to_dir(&e2e, &format!("{proxy_url}/dicom-web"), &e2e_dir)?;

    // The viewer's cases (a report, a misfiled study), reached through the proxy too.
    // Twelve slices: more than the requests in flight, so the viewer streams the series.
    let viewer = testdata::viewer::generate("e2e-viewer", 12);
    let viewer_dir = dir.join("data-viewer");
    load_viewer(&viewer, &orthanc_dicomweb, &format!("{proxy_url}/dicom-web"), &fhir_base)?;
    testdata::write_to_dir(&viewer, &format!("{proxy_url}/dicom-web"), &viewer_dir)?;

    // The demo's built-in sample mode, used by browser tests and the demo e2e test.
    let demo = testdata::generate(&testdata::Options { id_prefix: "demo".into(), ..Default::default() });
    let demo_dir = dir.join("data-demo");
    let sample = devserver::start(devserver::Options {
        port: 0,
        www: workspace_root().join("www"),
        pkg: workspace_root().join("pkg"),
        upstream: devserver::Upstream::Sample(demo.clone()),
        log_requests: false,
    })?;
    let sample_url = format!("http://127.0.0.1:{}", sample.port);
    testdata::write_to_dir(&demo, &format!("{sample_url}/dicom-web"), &demo_dir)?;

    let mut tier = |name: &str, cmd: &mut Command| {
        if only.is_some_and(|o| o != name) {
            return;
        }
        eprintln!("\n=== {name}: {}", crate::display_cmd(cmd));
        match run_counted(cmd) {
            Ok((counts, ok)) => {
                total += counts;
                if !ok || counts.failed > 0 {
                    failures.push(name.to_string());
                }
                if counts.passed + counts.failed == 0 {
                    failures.push(format!("{name} (ran no test)"));
                }
            }
            Err(e) => failures.push(format!("{name}: {e:#}")),
        }
    };

    let root = workspace_root();
    tier(
        "native",
        Command::new(env!("CARGO"))
            .current_dir(&root)
            .args(["test", "--workspace", "--", "--include-ignored"])
            .env("EMR_TEST_FHIR_BASE", &fhir_base)
            .env("EMR_TEST_DICOMWEB", &orthanc_dicomweb)
            .env("EMR_TEST_DATA", &native_dir)
            .env("EMR_TEST_PROXY_URL", &proxy_url),
    );
    // dicom-parser-lite's SIMD window/level lanes exist only in WebAssembly: checked value by
    // value against the formula in Node, in the shipped (size-optimised) profile.
    tier(
        "wasm",
        Command::new(env!("CARGO"))
            .current_dir(&root)
            .args([
                "test",
                "-p",
                "dicom-parser-lite",
                "--release",
                "--no-default-features",
                "--target",
                "wasm32-unknown-unknown",
                "--test",
                "simd",
            ])
            .env("PATH", path_with_cargo_bin()),
    );
    tier(
        "browser",
        Command::new(env!("CARGO"))
            .current_dir(&root)
            .args(["test", "-p", "emr-imaging", "--target", "wasm32-unknown-unknown", "--test", "browser", "--test", "browser_cache"])
            .env("CHROMEDRIVER", install::CHROMEDRIVER)
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
            .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", root.join("tests/webdriver.json"))
            .env("EMR_TEST_SAMPLE_SERVER", &sample_url)
            .env("PATH", path_with_cargo_bin()),
    );
    tier(
        "end-to-end",
        Command::new("node")
            .current_dir(install::e2e_dir())
            .args(["--test", "--test-reporter=spec", "--test-concurrency=1"])
            // `E2E_ONLY=measure,hosted`: just those files, while working on them.
            .args(std::env::var("E2E_ONLY").iter().flat_map(|o| o.split(',').map(|f| format!("{f}.test.mjs")).collect::<Vec<_>>()))
            .env("E2E_SUBSCRIPTIONS_FHIR", hfs_subs.url())
            .env("E2E_STUDY_TOPIC", servers::STUDY_TOPIC)
            .env("E2E_PROXY_URL", &proxy_url)
            .env("E2E_AUDIT_URL", audit_repository.url())
            .env("E2E_SAMPLE_URL", &sample_url)
            .env("E2E_SAMPLE_DATA", &demo_dir)
            .env("E2E_DATA", &e2e_dir)
            // The decode workers' equality test reads pydicom's test files too, when there.
            .env("E2E_CORPUS", crate::fuzz::pydicom_test_files().unwrap_or_default())
            .env("E2E_VIEWER_DATA", &viewer_dir)
            // The SMART tests run a second HFS with authorization on, over a copy of this one's data.
            .env("E2E_HFS_BIN", install::hfs()?)
            .env("E2E_HFS_DB", dir.join("hfs").join("hfs.db"))
            .env("E2E_SEARCH_PARAMETERS", dir.join("hfs").join("search-parameters-r4.json"))
            // The demo itself (`xtask demo --no-build`), which the demo test starts, and the
            // TestFhircastHub (`xtask fhircast-hub`), a process the tests kill and restart.
            .env("E2E_XTASK", std::env::current_exe()?)
            .env("E2E_ARTIFACTS", install::e2e_dir().join("artifacts"))
            .env("CHROMIUM", install::CHROMIUM),
    );

    drop((sample, proxy, hfs_subs, hfs, orthanc));

    // Bounded, deterministic fuzzing of the parser and every decoder: a target passes when it
    // does not crash on its runs.
    if only.is_none_or(|o| o == "fuzz") {
        eprintln!("\n=== fuzz: {FUZZ_RUNS} runs per target, seed 1");
        match fuzz::deterministic(FUZZ_RUNS) {
            Ok(outcomes) => {
                let failed = outcomes.iter().filter(|o| o.crashes > 0).count() as u64;
                let passed = outcomes.len() as u64 - failed;
                println!("fuzz: {passed} passed, {failed} failed");
                total += Counts { passed, failed, skipped: 0 };
                if failed > 0 {
                    failures.push("fuzz".into());
                }
            }
            Err(e) => failures.push(format!("fuzz: {e:#}")),
        }
    }
    finish(started, total, &failures)
}

fn finish(started: Instant, total: Counts, failures: &[String]) -> Result<()> {
    eprintln!("\nxtask test finished in {:.0}s", started.elapsed().as_secs_f64());
    println!("total: {} passed, {} failed, {} skipped", total.passed, total.failed, total.skipped);
    if !failures.is_empty() {
        bail!("failed: {}", failures.join("; "));
    }
    Ok(())
}

/// The lint tier: one check per command, each passing when it exits 0. Clippy's `--no-deps`
/// keeps it to our crates; the workspace lints deny `unwrap`/`expect` outside tests and forbid
/// `unsafe`.
fn lint() -> (Counts, Vec<String>) {
    let root = workspace_root();
    let cargo = || {
        let mut c = Command::new(env!("CARGO"));
        c.current_dir(&root);
        c
    };
    let checks: [(&str, Command); 3] = [
        ("rustfmt", {
            let mut c = cargo();
            c.arg("fmt").args(OURS).arg("--check");
            c
        }),
        ("clippy native", {
            let mut c = cargo();
            c.args(["clippy", "--no-deps", "--all-targets"]).args(OURS).args(["--", "-D", "warnings"]);
            c
        }),
        ("clippy wasm32", {
            let mut c = cargo();
            // With the hosted viewer's feature, so its glue is linted too.
            c.args(["clippy", "--no-deps", "--all-targets", "--target", "wasm32-unknown-unknown", "--features", "emr-imaging/viewer"])
                .args(OURS_IN_WASM)
                .args(["--", "-D", "warnings"]);
            c
        }),
    ];
    let mut counts = Counts::default();
    let mut failed = Vec::new();
    for (name, mut cmd) in checks {
        eprintln!("\n=== lint, {name}: {}", crate::display_cmd(&cmd));
        let started = Instant::now();
        let ok = cmd.status().is_ok_and(|s| s.success());
        eprintln!("lint, {name}: {} in {:.0}s", if ok { "clean" } else { "FAILED" }, started.elapsed().as_secs_f64());
        if ok {
            counts.passed += 1;
        } else {
            counts.failed += 1;
            failed.push(format!("lint ({name})"));
        }
    }
    println!("lint: {} passed, {} failed", counts.passed, counts.failed);
    (counts, failed)
}

/// STOW-RS every instance into Orthanc and the FHIR resources (with Endpoint = `endpoint_address`) into HFS.
fn load(data: &testdata::Dataset, stow_base: &str, endpoint_address: &str, fhir_base: &str) -> Result<()> {
    for patient in &data.patients {
        for study in &patient.studies {
            let instances: Vec<&[u8]> = study.series.iter().flat_map(|s| s.instances.iter().map(|i| i.part10.as_slice())).collect();
            servers::stow(stow_base, &instances)?;
        }
    }
    servers::fhir_transaction(fhir_base, &testdata::fhir_transaction(data, endpoint_address))
}

/// [`load`] for the viewer's data set, whose transaction also carries its DiagnosticReport.
fn load_viewer(data: &testdata::Dataset, stow_base: &str, endpoint_address: &str, fhir_base: &str) -> Result<()> {
    for patient in &data.patients {
        for study in &patient.studies {
            let instances: Vec<&[u8]> = study.series.iter().flat_map(|s| s.instances.iter().map(|i| i.part10.as_slice())).collect();
            servers::stow(stow_base, &instances)?;
        }
    }
    servers::fhir_transaction(fhir_base, &testdata::viewer::fhir_transaction(data, endpoint_address))
}

fn path_with_cargo_bin() -> std::ffi::OsString {
    let bin = install::cargo_bin("wasm-bindgen-test-runner");
    let mut paths: Vec<std::path::PathBuf> = bin.parent().map(Path::to_path_buf).into_iter().collect();
    paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(paths).unwrap_or_default()
}

/// Runs a test runner, echoing its output, and adds up its summary lines: cargo's
/// `test result: ok. N passed; M failed; K ignored` and node's `ℹ pass N` / `# pass N`.
fn run_counted(cmd: &mut Command) -> Result<(Counts, bool)> {
    let mut child = cmd.stdout(Stdio::piped()).spawn().context("starting the runner")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut counts = Counts::default();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        parse_summary(&line, &mut counts);
    }
    let status = child.wait()?;
    Ok((counts, status.success()))
}

fn parse_summary(line: &str, counts: &mut Counts) {
    let number_before = |text: &str, word: &str| -> Option<u64> {
        let at = text.find(word)?;
        text[..at].split_whitespace().last()?.parse().ok()
    };
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("test result: ") {
        counts.passed += number_before(rest, " passed").unwrap_or(0);
        counts.failed += number_before(rest, " failed").unwrap_or(0);
        counts.skipped += number_before(rest, " ignored").unwrap_or(0);
        return;
    }
    for prefix in ["ℹ ", "# "] {
        if let Some(rest) = line.strip_prefix(prefix) {
            let mut words = rest.split_whitespace();
            if let (Some(key), Some(Ok(n)), None) = (words.next(), words.next().map(str::parse::<u64>), words.next()) {
                match key {
                    "pass" => counts.passed += n,
                    "fail" => counts.failed += n,
                    "skipped" | "todo" => counts.skipped += n,
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cargo_and_node_summaries() {
        let mut c = Counts::default();
        for line in [
            "test result: ok. 12 passed; 0 failed; 3 ignored; 0 measured; 0 filtered out; finished in 0.01s",
            "test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out",
            "ℹ pass 4",
            "ℹ fail 1",
            "# pass 2",
            "ℹ duration_ms 123",
            "# passing tests are good",
        ] {
            parse_summary(line, &mut c);
        }
        assert_eq!((c.passed, c.failed, c.skipped), (19, 3, 3));
    }
}
