//! `cargo xtask …`: build the npm package, run the demo, and run every test tier against real
//! servers that this tool installs, starts and stops.

mod audit_repository;
mod bench;
mod bench_fetch;
mod bench_view;
mod build;
mod devserver;
mod fhircast_hub;
mod fuzz;
mod install;
mod servers;
mod test;
mod testdata;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

const USAGE: &str = "\
usage: cargo xtask <command>
  build [--dev] [--sizes]            build the npm package into pkg/ (--sizes: also measure each codec variant)
  demo [--port N] [--fhir URL --dicomweb URL] [--no-build]
                                     serve the demo EMR page (built-in sample data unless
                                     --fhir/--dicomweb name real servers to proxy)
  test [--skip-install] [--only lint|native|wasm|browser|end-to-end|fuzz]
                                     install what is missing, then run native, wasm (Node),
                                     browser and end-to-end tests against real Orthanc and FHIR
                                     servers, then bounded fuzzing
  install                            install what the tests need (apt as root, rustup, cargo, npm)
  gen-data --out DIR [--dicomweb URL] write the synthetic test data set to DIR
  bench [--opt-level z|3] [--only node|chromium] [--skip parse,wl,decode]
                                     wasm parse, window/level and decode vs dicom-parser, a JS LUT
                                     and cornerstone's codecs,
                                     in Node and headless Chromium (ratios, no pass/fail)
  bench-fetch [--samples N] [--profile]
                                     a 64-slice CT loaded by the component: cold, from
                                     IndexedDB after a reload, and curl (ratios, no pass/fail)
  bench --view [--slices N]          the viewer on an N-slice CT (default 300) in Chromium:
                                     longest task while loading, per-frame scroll times
  fhircast-hub [--port N] [--ws-port N]
                                     run the TestFhircastHub (FHIRcast STU3, for tests) until killed
  fuzz [--seconds N | --runs N] [--engine libfuzzer|plain] [--only TARGET]
                                     run each fuzz target of dicom-parser-lite N s (default 30),
                                     or N executions from the committed seeds with a fixed seed";

fn main() {
    if let Err(e) = run() {
        eprintln!("xtask: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        println!("{USAGE}");
        return Ok(());
    };
    let flags = Flags(&args[1..]);
    match command.as_str() {
        "build" => build::build(if flags.has("--dev") { build::Profile::Dev } else { build::Profile::Release }).and_then(|_| {
            if flags.has("--sizes") {
                build::measure_variants()
            } else {
                Ok(())
            }
        }),
        "demo" => demo(&flags),
        "test" => test::run(!flags.has("--skip-install"), flags.value("--only")?.as_deref()),
        "install" => install::all(),
        "bench" if flags.has("--view") => bench_view::run(&flags),
        "bench" => bench::run(&flags),
        "bench-fetch" => bench_fetch::run(&flags),
        "fuzz" => fuzz::run(&flags),
        "fhircast-hub" => fhircast_hub::run_forever(fhircast_hub::HubOptions {
            port: flags.value("--port")?.map(|p| p.parse()).transpose()?.unwrap_or(0),
            ws_port: flags.value("--ws-port")?.map(|p| p.parse()).transpose()?.unwrap_or(0),
            ..fhircast_hub::HubOptions::default()
        }),
        "gen-data" => {
            let out = PathBuf::from(flags.value("--out")?.context("--out DIR is required")?);
            let dicomweb = flags.value("--dicomweb")?.unwrap_or_else(|| "http://127.0.0.1:8080/dicom-web".into());
            let data = testdata::generate(&testdata::Options { id_prefix: "demo".into(), ..Default::default() });
            testdata::write_to_dir(&data, &dicomweb, &out)
        }
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command {other:?}\n{USAGE}"),
    }
}

fn demo(flags: &Flags) -> Result<()> {
    let port: u16 = flags.value("--port")?.map(|p| p.parse()).transpose().context("--port")?.unwrap_or(8080);
    let mut sample = None;
    let upstream = match (flags.value("--fhir")?, flags.value("--dicomweb")?) {
        (Some(fhir), Some(dicomweb)) => devserver::Upstream::Proxy { fhir, dicomweb, audit: None },
        (None, None) => {
            let ds = testdata::generate(&testdata::Options { id_prefix: "demo".into(), ..Default::default() });
            sample = Some(ds.clone());
            devserver::Upstream::Sample(ds)
        }
        _ => bail!("--fhir and --dicomweb go together"),
    };
    if !flags.has("--no-build") {
        install::wasm_toolchain()?;
        build::build(build::Profile::Release)?;
    }
    let root = workspace_root();
    let server = devserver::start(devserver::Options { port, www: root.join("www"), pkg: root.join("pkg"), upstream, log_requests: true })?;
    println!("emr-imaging demo: http://127.0.0.1:{}/  (Ctrl-C to stop)", server.port);
    let _viewer = demo_viewer(&root, server.port, sample.as_ref())?;
    loop {
        std::thread::park();
    }
}

/// The hosted viewer as a site deploys it: `pkg/viewer/` copied to its own folder with a
/// `config.json` for the demo's servers, served by `python3 -m http.server` 100 ports above
/// the demo's (another origin, as an EMR would embed it). Prints an IID URL per sample patient
/// and study. The mock EMR page's second tab embeds it.
fn demo_viewer(root: &Path, port: u16, sample: Option<&testdata::Dataset>) -> Result<std::process::Child> {
    let site = root.join("target").join("demo-site");
    let _ = std::fs::remove_dir_all(&site);
    let viewer = site.join("viewer");
    build::copy_tree(&root.join("pkg").join("viewer"), &viewer)?;
    let emr = [format!("http://127.0.0.1:{port}"), format!("http://localhost:{port}")];
    let mut config = serde_json::json!({ "fhirBaseUrl": format!("http://127.0.0.1:{port}/fhir"), "parentOrigins": emr });
    if let Some(system) = sample.and_then(|ds| ds.patients.first()).map(|p| p.mrn_system.clone()) {
        config["iid"] = serde_json::json!({ "patientIdSystems": { "DEMO": system } });
    }
    std::fs::write(viewer.join("config.json"), serde_json::to_vec_pretty(&config)?)?;
    let viewer_port = port.checked_add(100).context("--port too high for the viewer's port")?;
    let child = std::process::Command::new("python3")
        .args(["-m", "http.server", &viewer_port.to_string(), "--bind", "127.0.0.1", "--directory"])
        .arg(&site)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("starting python3 -m http.server for the hosted viewer")?;
    let iid = format!("http://127.0.0.1:{viewer_port}/viewer/IHEInvokeImageDisplay");
    println!("hosted viewer: http://127.0.0.1:{viewer_port}/viewer/  (the mock EMR's second tab embeds it)");
    for p in sample.map(|ds| ds.patients.as_slice()).unwrap_or_default() {
        println!("  IID PATIENT {}: {iid}?requestType=PATIENT&patientID={}%5E%5E%5EDEMO", p.fhir_id, p.mrn);
        for s in &p.studies {
            println!("  IID STUDY   {}: {iid}?requestType=STUDY&studyUID={}", s.description, s.uid);
        }
    }
    Ok(child)
}

/// The workspace root (this crate's parent), whatever the current directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// Minimal flag parsing: `--name value` and boolean `--name`.
struct Flags<'a>(&'a [String]);

impl Flags<'_> {
    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|a| a == name)
    }

    fn value(&self, name: &str) -> Result<Option<String>> {
        match self.0.iter().position(|a| a == name) {
            None => Ok(None),
            Some(i) => match self.0.get(i + 1) {
                Some(v) if !v.starts_with("--") => Ok(Some(v.clone())),
                _ => bail!("{name} needs a value"),
            },
        }
    }
}

/// Runs a command, echoing it, and fails with its exit status.
pub fn run_cmd(cmd: &mut std::process::Command) -> Result<()> {
    eprintln!("+ {}", display_cmd(cmd));
    let status = cmd.status().with_context(|| format!("could not start {}", display_cmd(cmd)))?;
    if !status.success() {
        bail!("{} failed with {status}", display_cmd(cmd));
    }
    Ok(())
}

pub fn display_cmd(cmd: &std::process::Command) -> String {
    std::iter::once(cmd.get_program().to_string_lossy().into_owned())
        .chain(cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}
