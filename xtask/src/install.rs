//! Installs what a fresh Debian machine lacks for building and testing: apt packages (as root),
//! the wasm32 target, wasm-bindgen-cli at the exact version Cargo.lock pins, the FHIR test server
//! (built once into a stable tools folder and reused), and the npm dev packages of the e2e tests.

use crate::{run_cmd, workspace_root};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const ORTHANC: &str = "/usr/sbin/Orthanc";
pub const ORTHANC_DICOMWEB: &str = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const APT_PACKAGES: &[&str] = &["orthanc", "orthanc-dicomweb", "chromium", "chromium-driver"];
const HFS_VERSION: &str = "0.2.7";

/// pydicom's bundled test files are the parser's real-world corpus (its expected hashes are
/// checked in; pydicom itself is only needed for the files).
const PYDICOM: &str = "pydicom==3.0.2";

pub fn all() -> Result<()> {
    apt()?;
    wasm_toolchain()?;
    hfs()?;
    npm()?;
    pydicom()?;
    Ok(())
}

fn pydicom() -> Result<()> {
    let have = Command::new("python3").args(["-c", "import pydicom; print(pydicom.__version__)"]).output();
    if matches!(&have, Ok(o) if o.status.success() && o.stdout.starts_with(b"3.0.2")) {
        return Ok(());
    }
    run_cmd(Command::new("python3").args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", PYDICOM]))
}

fn apt() -> Result<()> {
    let missing = [ORTHANC, ORTHANC_DICOMWEB, CHROMIUM, CHROMEDRIVER].iter().any(|p| !Path::new(p).exists());
    if !missing {
        return Ok(());
    }
    let is_root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false);
    if !is_root {
        bail!("missing system packages; run as root: apt-get update && apt-get install -y {}", APT_PACKAGES.join(" "));
    }
    run_cmd(Command::new("apt-get").args(["update", "-qq"]))?;
    run_cmd(Command::new("apt-get").args(["install", "-y", "-qq"]).args(APT_PACKAGES).env("DEBIAN_FRONTEND", "noninteractive"))
}

/// The wasm32 target and a wasm-bindgen CLI whose version equals the crate's in Cargo.lock
/// (they must match exactly, or the generated JS and the wasm disagree).
pub fn wasm_toolchain() -> Result<()> {
    // The lint tier's tools.
    let components = Command::new("rustup").args(["component", "list", "--installed"]).output().context("running rustup")?;
    let have: Vec<String> =
        String::from_utf8_lossy(&components.stdout).lines().filter_map(|l| l.split('-').next().map(str::to_string)).collect();
    for component in ["rustfmt", "clippy"] {
        if !have.iter().any(|c| c == component) {
            run_cmd(Command::new("rustup").args(["component", "add", component]))?;
        }
    }
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output().context("running rustup")?;
    if !String::from_utf8_lossy(&installed.stdout).lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        run_cmd(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    let wanted = locked_version("wasm-bindgen")?;
    let have = Command::new(wasm_bindgen_bin())
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).split_whitespace().nth(1).unwrap_or_default().to_string());
    if have.as_deref() != Some(wanted.as_str()) {
        // No --locked: the CLI's own lock names crate versions the registry may lack.
        run_cmd(Command::new(env!("CARGO")).args(["install", "wasm-bindgen-cli", "--version", &wanted]))?;
    }
    Ok(())
}

/// `wasm-bindgen` from cargo's bin folder (PATH may not have it in CI shells).
pub fn wasm_bindgen_bin() -> PathBuf {
    cargo_bin("wasm-bindgen")
}

pub fn cargo_bin(name: &str) -> PathBuf {
    let home =
        std::env::var_os("CARGO_HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    match home.map(|h| h.join("bin").join(name)) {
        Some(p) if p.exists() => p,
        _ => PathBuf::from(name),
    }
}

/// The version of `package` recorded in Cargo.lock.
fn locked_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock.find(&needle).with_context(|| format!("{package} is not in Cargo.lock"))? + needle.len();
    Ok(lock[start..].split('"').next().unwrap_or_default().to_string())
}

/// Where long-lived test tools are installed: `$EMR_IMAGING_TOOLS`, else a per-user cache folder.
pub fn tools_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("EMR_IMAGING_TOOLS") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| workspace_root().join("target"));
    cache.join("emr-imaging").join("tools")
}

/// The Helios FHIR Server's cargo features: `subscriptions` serves the topic-based
/// Subscriptions tests, and stays off at run time unless `HFS_SUBSCRIPTIONS_ENABLED=true`,
/// so one binary serves every test.
const HFS_FEATURES: &str = "R4,sqlite,subscriptions";

/// The Helios FHIR Server binary, built once (debug: it builds several times faster and is
/// fast enough for tests) and reused by every later run. A stamp beside it names its features:
/// a binary built with others is replaced.
pub fn hfs() -> Result<PathBuf> {
    let root = tools_root();
    let bin = root.join("bin").join("hfs");
    let stamp = root.join("hfs.features");
    if bin.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == HFS_FEATURES) {
        return Ok(bin);
    }
    let target = root.parent().unwrap_or(&root).join("hfs-target");
    run_cmd(
        Command::new(env!("CARGO"))
            .args(["install", "helios-hfs", "--version", HFS_VERSION, "--locked", "--debug", "--no-default-features", "--force"])
            .args(["--features", HFS_FEATURES, "--root"])
            .arg(&root)
            .env("CARGO_TARGET_DIR", target),
    )?;
    std::fs::write(&stamp, HFS_FEATURES)?;
    Ok(bin)
}

/// The e2e folder's npm packages (playwright-core, the FHIR search parameter definitions).
pub fn npm() -> Result<()> {
    let dir = e2e_dir();
    let lock = dir.join("package-lock.json");
    let installed = dir.join("node_modules").join(".package-lock.json");
    let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&installed)) {
        (Ok(l), Ok(i)) => i.modified()? >= l.modified()?,
        _ => false,
    };
    if !fresh {
        run_cmd(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir))?;
    }
    Ok(())
}

pub fn e2e_dir() -> PathBuf {
    workspace_root().join("tests").join("e2e")
}
