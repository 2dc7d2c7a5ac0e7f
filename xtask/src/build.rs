//! `cargo xtask build`: the wasm crate → wasm-bindgen → `pkg/`, a publishable npm package.

use crate::{install, run_cmd, workspace_root};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::Command;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Dev,
    Release,
}

/// Builds the package and returns its directory. Release builds are size-optimised (Cargo
/// profile) and drop the name and producers sections, which gains what wasm-opt would after gzip.
pub fn build(profile: Profile) -> Result<PathBuf> {
    let root = workspace_root();
    let pkg = root.join("pkg");
    let mut cargo = Command::new(env!("CARGO"));
    cargo.current_dir(&root).args(["build", "-p", "emr-imaging", "--lib", "--target", "wasm32-unknown-unknown"]);
    if profile == Profile::Release {
        cargo.arg("--release");
    }
    run_cmd(&mut cargo)?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let wasm = target_dir
        .join("wasm32-unknown-unknown")
        .join(if profile == Profile::Release { "release" } else { "debug" })
        .join("emr_imaging.wasm");
    if pkg.exists() {
        std::fs::remove_dir_all(&pkg).context("clearing pkg/")?;
    }
    let mut bindgen = Command::new(install::wasm_bindgen_bin());
    bindgen.args(["--target", "web", "--out-name", "emr_imaging", "--out-dir"]).arg(&pkg).arg(&wasm);
    if profile == Profile::Release {
        bindgen.args(["--remove-name-section", "--remove-producers-section"]);
    }
    run_cmd(&mut bindgen)?;
    write_manifest(&root, &pkg)?;
    for (from, to) in PACKAGE_FILES {
        std::fs::copy(root.join(from), pkg.join(to)).with_context(|| format!("copying {from}"))?;
    }
    report_sizes(&pkg)?;
    Ok(pkg)
}

/// Hand-written package files next to what wasm-bindgen generates: the lazily initialising
/// browser entry, the Node entry (`initSync`), the custom element, and their types.
const PACKAGE_FILES: [(&str, &str); 6] = [
    ("README.md", "README.md"),
    ("www/emr-imaging-entry.js", "index.js"),
    ("www/emr-imaging-entry.d.ts", "index.d.ts"),
    ("www/emr-imaging-node.js", "node.js"),
    ("www/emr-imaging-element.js", "element.js"),
    ("www/emr-imaging-element.d.ts", "element.d.ts"),
];

/// Builds the release wasm once per feature set (`--no-default-features --features …`) and
/// prints what each would ship, gzip: the size budgets are per variant.
pub fn measure_variants() -> Result<()> {
    let root = workspace_root();
    let out = std::env::temp_dir().join(format!("emr-imaging-sizes-{}", std::process::id()));
    for (name, features) in [("all codecs", "codecs"), ("jpeg only", "jpeg"), ("no codecs", "")] {
        let mut cargo = Command::new(env!("CARGO"));
        cargo.current_dir(&root).args([
            "build",
            "-p",
            "emr-imaging",
            "--lib",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "--no-default-features",
        ]);
        if !features.is_empty() {
            cargo.args(["--features", features]);
        }
        run_cmd(&mut cargo)?;
        let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
        let wasm = target_dir.join("wasm32-unknown-unknown/release/emr_imaging.wasm");
        let dir = out.join(features);
        let mut bindgen = Command::new(install::wasm_bindgen_bin());
        bindgen
            .args(["--target", "web", "--out-name", "emr_imaging", "--remove-name-section", "--remove-producers-section", "--out-dir"])
            .arg(&dir)
            .arg(&wasm);
        run_cmd(&mut bindgen)?;
        for (from, to) in &PACKAGE_FILES[1..] {
            std::fs::copy(root.join(from), dir.join(to))?;
        }
        println!("variant: {name}");
        report_sizes(&dir)?;
    }
    let _ = std::fs::remove_dir_all(&out);
    Ok(())
}

/// `pkg/package.json` from the `pkg.json` template, with the crate's version. The text is kept
/// as written, not re-serialised: key order matters in `exports` (conditions are tried in
/// order, so `node` must come before `default`).
fn write_manifest(root: &std::path::Path, pkg: &std::path::Path) -> Result<()> {
    let template = std::fs::read_to_string(root.join("pkg.json")).context("reading pkg.json")?;
    const PLACEHOLDER: &str = "\"version\": \"0.0.0\"";
    anyhow::ensure!(template.contains(PLACEHOLDER), "pkg.json must carry {PLACEHOLDER}");
    let manifest = template.replacen(PLACEHOLDER, &format!("\"version\": {:?}", crate_version(root)?), 1);
    serde_json::from_str::<serde_json::Value>(&manifest).context("pkg.json is not JSON")?;
    std::fs::write(pkg.join("package.json"), manifest)?;
    // wasm-bindgen writes its own package.json-less .gitignore; the package ships everything it lists.
    let _ = std::fs::remove_file(pkg.join(".gitignore"));
    strip_dispose_types(pkg)?;
    Ok(())
}

/// wasm-bindgen declares `[Symbol.dispose]()` on every class, which only type-checks with
/// TypeScript's `esnext.disposable` lib: a strict app on ES2022 (the Vite default) fails on our
/// `.d.ts`. The method stays in the JS; `free()` is the typed way to release an instance.
fn strip_dispose_types(pkg: &std::path::Path) -> Result<()> {
    let path = pkg.join("emr_imaging.d.ts");
    let types = std::fs::read_to_string(&path).context("reading emr_imaging.d.ts")?;
    let kept: Vec<&str> = types.lines().filter(|l| l.trim() != "[Symbol.dispose](): void;").collect();
    std::fs::write(&path, kept.join("\n") + "\n")?;
    Ok(())
}

fn crate_version(root: &std::path::Path) -> Result<String> {
    let toml = std::fs::read_to_string(root.join("Cargo.toml"))?;
    let in_package = toml.split("[package]").nth(1).context("Cargo.toml has no [package]")?;
    in_package
        .lines()
        .find_map(|l| l.trim().strip_prefix("version = ").map(|v| v.trim_matches('"').to_string()))
        .context("no package version in Cargo.toml")
}

/// Prints raw and gzip sizes of what the package ships (wasm + JS).
fn report_sizes(pkg: &std::path::Path) -> Result<()> {
    let mut total_raw = 0;
    let mut total_gz = 0;
    for name in ["emr_imaging_bg.wasm", "emr_imaging.js", "index.js", "element.js"] {
        let path = pkg.join(name);
        let raw = std::fs::metadata(&path)?.len();
        let out = Command::new("gzip").args(["-9", "-c"]).arg(&path).output().context("running gzip")?;
        let gz = out.stdout.len() as u64;
        total_raw += raw;
        total_gz += gz;
        println!("size: {name}: {raw} bytes, {gz} gzip");
    }
    println!("size: shipped total: {total_raw} bytes, {total_gz} gzip");
    Ok(())
}
