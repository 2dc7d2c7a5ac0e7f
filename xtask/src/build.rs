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
    if pkg.exists() {
        std::fs::remove_dir_all(&pkg).context("clearing pkg/")?;
    }
    bindgen(&root, profile, &[], &pkg)?;
    write_manifest(&root, &pkg)?;
    copy_package_files(&root, &pkg)?;
    std::fs::copy(root.join("README.md"), pkg.join("README.md")).context("copying README.md")?;
    report_sizes(&pkg)?;
    build_viewer(&root, profile, &pkg.join("viewer"))?;
    Ok(pkg)
}

/// The wasm crate, built with `feature_args` (`--features …`, `--no-default-features`),
/// through wasm-bindgen into `out`.
fn bindgen(root: &std::path::Path, profile: Profile, feature_args: &[&str], out: &std::path::Path) -> Result<()> {
    let mut cargo = Command::new(env!("CARGO"));
    cargo.current_dir(root).args(["build", "-p", "emr-imaging", "--lib", "--target", "wasm32-unknown-unknown"]).args(feature_args);
    if profile == Profile::Release {
        cargo.arg("--release");
    }
    run_cmd(&mut cargo)?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let wasm = target_dir
        .join("wasm32-unknown-unknown")
        .join(if profile == Profile::Release { "release" } else { "debug" })
        .join("emr_imaging.wasm");
    let mut bindgen = Command::new(install::wasm_bindgen_bin());
    bindgen.args(["--target", "web", "--out-name", "emr_imaging", "--out-dir"]).arg(out).arg(&wasm);
    if profile == Profile::Release {
        bindgen.args(["--remove-name-section", "--remove-producers-section"]);
    }
    run_cmd(&mut bindgen)
}

/// `pkg/viewer/`: the hosted viewer, whole in one folder so it can be copied to any static
/// host: its own wasm (the widget's plus the `viewer` feature), the pages of `js/viewer/`.
fn build_viewer(root: &std::path::Path, profile: Profile, out: &std::path::Path) -> Result<()> {
    bindgen(root, profile, &["--features", "viewer"], out)?;
    // Types of the bare module are the package's business, not the folder's.
    for name in ["emr_imaging.d.ts", "emr_imaging_bg.wasm.d.ts", ".gitignore"] {
        let _ = std::fs::remove_file(out.join(name));
    }
    copy_tree(&root.join(PACKAGE_DIR).join("viewer"), out)?;
    // The decode workers load the glue beside them: the viewer's own, with its own module.
    std::fs::copy(root.join(PACKAGE_DIR).join(DECODE_WORKER), out.join(DECODE_WORKER)).context("copying the decode worker")?;
    let (raw, gz) = sizes(&out.join("emr_imaging_bg.wasm"))?;
    println!("size: viewer/emr_imaging_bg.wasm: {raw} bytes, {gz} gzip");
    Ok(())
}

/// Copies the folder `from` to `to`, recursively.
pub fn copy_tree(from: &std::path::Path, to: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// The hand-written package files, `js/`, next to what wasm-bindgen generates: the lazily
/// initialising browser entry, the Node entry (`initSync`), the custom element, and their
/// types, under the names they ship with. `package.json` is the manifest template.
const PACKAGE_DIR: &str = "js";
const MANIFEST: &str = "package.json";
/// The decode worker's script; the glue's snippet starts it as `../../decode_worker.js`.
const DECODE_WORKER: &str = "decode_worker.js";

fn copy_package_files(root: &std::path::Path, pkg: &std::path::Path) -> Result<()> {
    for entry in std::fs::read_dir(root.join(PACKAGE_DIR)).context("reading js/")? {
        let entry = entry?;
        if entry.file_type()?.is_file() && entry.file_name() != MANIFEST {
            std::fs::copy(entry.path(), pkg.join(entry.file_name())).with_context(|| format!("copying {:?}", entry.file_name()))?;
        }
    }
    Ok(())
}

/// Builds the release wasm once per feature set (`--no-default-features --features …`) and
/// prints what each would ship, gzip: the size budgets are per variant.
pub fn measure_variants() -> Result<()> {
    let root = workspace_root();
    let out = std::env::temp_dir().join(format!("emr-imaging-sizes-{}", std::process::id()));
    for (name, features) in [("all codecs", "codecs"), ("jpeg only", "jpeg"), ("no codecs", "")] {
        let dir = out.join(features);
        let mut args = vec!["--no-default-features"];
        if !features.is_empty() {
            args.extend(["--features", features]);
        }
        bindgen(&root, Profile::Release, &args, &dir)?;
        copy_package_files(&root, &dir)?;
        println!("variant: {name}");
        report_sizes(&dir)?;
    }
    let _ = std::fs::remove_dir_all(&out);
    Ok(())
}

/// `pkg/package.json` from the `js/package.json` template, with the crate's version. The text is kept
/// as written, not re-serialised: key order matters in `exports` (conditions are tried in
/// order, so `node` must come before `default`).
fn write_manifest(root: &std::path::Path, pkg: &std::path::Path) -> Result<()> {
    let template = std::fs::read_to_string(root.join(PACKAGE_DIR).join(MANIFEST)).context("reading js/package.json")?;
    const PLACEHOLDER: &str = "\"version\": \"0.0.0\"";
    anyhow::ensure!(template.contains(PLACEHOLDER), "js/package.json must carry {PLACEHOLDER}");
    let manifest = template.replacen(PLACEHOLDER, &format!("\"version\": {:?}", crate_version(root)?), 1);
    serde_json::from_str::<serde_json::Value>(&manifest).context("js/package.json is not JSON")?;
    std::fs::write(pkg.join("package.json"), manifest)?;
    // wasm-bindgen writes its own package.json-less .gitignore; the package ships everything it lists.
    let _ = std::fs::remove_file(pkg.join(".gitignore"));
    tidy_types(pkg)?;
    Ok(())
}

/// What of wasm-bindgen's `.d.ts` is not ours to declare:
/// - `[Symbol.dispose]()` on every class only type-checks with TypeScript's `esnext.disposable`
///   lib, so a strict app on ES2022 (the Vite default) fails on it. The method stays in the JS;
///   `destroy()` is the typed way to release an instance.
/// - The stream adapters of a dependency of leptos (`IntoUnderlying*`) and web-sys's
///   `ReadableStreamType` are exported for the glue's own use, not our API; so are our `__`
///   functions (the decode worker's entry and its test hook).
fn tidy_types(pkg: &std::path::Path) -> Result<()> {
    let path = pkg.join("emr_imaging.d.ts");
    let types = std::fs::read_to_string(&path).context("reading emr_imaging.d.ts")?;
    let tidy = foreign_declarations_removed(&types);
    anyhow::ensure!(tidy.contains("export class EMRImagingComponent"), "emr_imaging.d.ts lost the component's class");
    std::fs::write(&path, tidy)?;
    Ok(())
}

const FOREIGN: [&str; 3] = ["export class IntoUnderlying", "export type ReadableStreamType ", "export function __"];

/// Drops each foreign declaration with the doc comment above it (a class up to its closing
/// `}` at the start of a line) and every `[Symbol.dispose]` line.
fn foreign_declarations_removed(types: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut comment: Vec<&str> = Vec::new();
    let mut in_class = false;
    for line in types.lines() {
        if in_class {
            in_class = line != "}";
            continue;
        }
        let trimmed = line.trim_start();
        // A blank line between a comment and its declaration stays with the comment.
        if trimmed.starts_with("/**") || (!comment.is_empty() && (trimmed.starts_with('*') || trimmed.is_empty())) {
            comment.push(line);
            continue;
        }
        if FOREIGN.iter().any(|f| line.starts_with(f)) {
            comment.clear();
            in_class = line.starts_with("export class") && !line.trim_end().ends_with('}');
            continue;
        }
        out.append(&mut comment);
        if trimmed != "[Symbol.dispose](): void;" {
            out.push(line);
        }
    }
    out.append(&mut comment);
    out.join("\n") + "\n"
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
    let mut shipped: Vec<PathBuf> = ["emr_imaging_bg.wasm", "emr_imaging.js", "index.js", "release.js", "element.js", DECODE_WORKER]
        .iter()
        .map(|n| pkg.join(n))
        .collect();
    shipped.extend(snippets(&pkg.join("snippets"))?);
    for path in shipped {
        let (raw, gz) = sizes(&path)?;
        total_raw += raw;
        total_gz += gz;
        println!("size: {}: {raw} bytes, {gz} gzip", path.strip_prefix(pkg).unwrap_or(&path).display());
    }
    println!("size: shipped total: {total_raw} bytes, {total_gz} gzip");
    Ok(())
}

/// The JS files wasm-bindgen wrote under `snippets/` (the glue imports them), sorted.
fn snippets(dir: &std::path::Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    if !dir.exists() {
        return Ok(found);
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            found.extend(snippets(&path)?);
        } else if path.extension().is_some_and(|e| e == "js") {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// A file's size, raw and after `gzip -9`.
fn sizes(path: &std::path::Path) -> Result<(u64, u64)> {
    let raw = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    let out = Command::new("gzip").args(["-9", "-c"]).arg(path).output().context("running gzip")?;
    Ok((raw, out.stdout.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::foreign_declarations_removed;

    #[test]
    fn foreign_declarations_go_with_their_comments_and_ours_stay() {
        let types = "/* tslint:disable */\n/**\n * The `ReadableStreamType` enum.\n */\n\nexport type ReadableStreamType = \"bytes\";\n\
/** Ours. */\nexport type TokenProvider = () => Promise<string>;\n\
export class EMRImagingComponent {\n  free(): void;\n  [Symbol.dispose](): void;\n}\n\
export class IntoUnderlyingSink {\n  private constructor();\n  abort(reason: any): Promise<any>;\n}\n\
export type InitInput = RequestInfo;\n";
        assert_eq!(
            foreign_declarations_removed(types),
            "/* tslint:disable */\n/** Ours. */\nexport type TokenProvider = () => Promise<string>;\nexport class EMRImagingComponent {\n  free(): void;\n}\n\
export type InitInput = RequestInfo;\n"
        );
    }
}
