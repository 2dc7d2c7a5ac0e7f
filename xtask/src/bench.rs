//! `cargo xtask bench [--opt-level z|3] [--only node|chromium] [--skip parse,wl,decode]`: our
//! wasm parser and window/level renderer against dicom-parser (npm) and a cornerstone-style
//! JavaScript LUT path, and our decoders against cornerstone's codecs, in Node and in headless
//! Chromium, printed side by side as ratios. Never pass/fail: the target
//! column says what we aim for.
//!
//! Pieces: `bench/wasm` (a standalone crate exposing `parse_all` and `WindowLevel` with
//! wasm-bindgen), `bench/common.mjs` (the timed bodies, shared by both environments),
//! `bench/node.mjs` and `bench/browser.mjs` (+ `page.html`, `page.mjs`), with dicom-parser and
//! playwright-core pinned by `bench/package-lock.json`. The corpus is the synthetic data set
//! (`cargo xtask gen-data`) plus pydicom's test files when pydicom is installed.

use crate::{display_cmd, install, run_cmd, testdata, workspace_root, Flags};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn run(flags: &Flags) -> Result<()> {
    let root = workspace_root();
    let bench = root.join("bench");
    let out = crate::fuzz::target_root(&root).join("bench-out");
    let only = flags.value("--only")?;
    let envs: Vec<&str> = match only.as_deref() {
        None => vec!["node", "chromium"],
        Some(e @ ("node" | "chromium")) => vec![e],
        Some(other) => bail!("--only must be node or chromium, not {other:?}"),
    };
    let mut what = vec!["wl", "parse", "decode"];
    // `--skip wl,parse`: one flag, a comma-separated list.
    if let Some(skip) = flags.value("--skip")? {
        let skip: Vec<&str> = skip.split(',').map(str::trim).collect();
        if let Some(unknown) = skip.iter().find(|s| !what.contains(s)) {
            bail!("--skip takes wl, parse or decode (comma-separated), not {unknown:?}");
        }
        what.retain(|w| !skip.contains(w));
    }
    let opt = flags.value("--opt-level")?.unwrap_or_else(|| "z".into());

    // 1. The wasm entry points, built as the component ships (or at --opt-level).
    install::wasm_toolchain()?;
    let mut cargo = Command::new(env!("CARGO"));
    cargo.current_dir(bench.join("wasm")).args(["build", "--release", "--target", "wasm32-unknown-unknown"]);
    cargo.env("CARGO_TARGET_DIR", out.join("target")).env("CARGO_PROFILE_RELEASE_OPT_LEVEL", &opt);
    run_cmd(&mut cargo)?;
    let wasm = out.join("target/wasm32-unknown-unknown/release/emr_imaging_bench_wasm.wasm");
    let pkg = out.join("pkg");
    run_cmd(Command::new(install::wasm_bindgen_bin()).args(["--target", "web", "--out-dir"]).arg(&pkg).arg(&wasm))?;
    // The generated glue is an ES module: tell Node so.
    std::fs::write(pkg.join("package.json"), "{\"type\":\"module\"}\n")?;

    // 2. The JavaScript side's packages, from the lock file.
    let packages = ["dicom-parser", "playwright-core", "@cornerstonejs/codec-openjph", "jpeg-lossless-decoder-js"];
    if packages.iter().any(|p| !bench.join("node_modules").join(p).is_dir()) {
        run_cmd(Command::new("npm").current_dir(&bench).args(["ci", "--no-audit", "--no-fund"]))?;
    }

    // 3. The corpus.
    let files = corpus(&out.join("corpus"))?;
    // Decoding: the corpus's compressed files, plus the HTJ2K test streams (pydicom has none).
    let mut decode_files = files.clone();
    decode_files.extend(htj2k_files(&out.join("htj2k"))?);
    let manifest = json!({
        "wasmJs": pkg.join("emr_imaging_bench_wasm.js"),
        "wasmBinary": pkg.join("emr_imaging_bench_wasm_bg.wasm"),
        "do": what,
        "wl": { "samples": 60 },
        "parse": { "samples": 20 },
        "files": files.iter().map(|(name, path)| json!({ "name": name, "path": path })).collect::<Vec<_>>(),
        "decode": { "samples": 15 },
        "decodeFiles": decode_files.iter().map(|(name, path)| json!({ "name": name, "path": path })).collect::<Vec<_>>(),
    });
    let manifest_path = out.join("manifest.json");
    std::fs::write(&manifest_path, serde_json::to_vec_pretty(&manifest)?)?;

    // 4. Run each environment.
    let mut results = Vec::new();
    for env in &envs {
        let script = if *env == "node" { "node.mjs" } else { "browser.mjs" };
        let mut cmd = Command::new("node");
        cmd.current_dir(&bench).arg(script).arg(&manifest_path);
        eprintln!("+ {}", display_cmd(&cmd));
        let output = cmd.output().with_context(|| format!("running {script}"))?;
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        if !output.status.success() {
            bail!("{script} failed with {}", output.status);
        }
        let line = String::from_utf8_lossy(&output.stdout);
        let result: Value = serde_json::from_str(line.trim()).with_context(|| format!("{script} printed {line:?}"))?;
        results.push((env.to_string(), result));
    }
    std::fs::write(
        out.join("results.json"),
        serde_json::to_vec_pretty(&results.iter().map(|(e, r)| json!({ "env": e, "result": r })).collect::<Vec<_>>())?,
    )?;
    print_table(&results, &opt, files.len());
    let bad = inexact(&results);
    if !bad.is_empty() {
        bail!("window/level output differs from the f64 formula in {}", bad.join(", "));
    }
    Ok(())
}

/// The synthetic data set's files, then pydicom's test files; (name, path).
fn corpus(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let data = testdata::generate(&testdata::Options { id_prefix: "bench".into(), ..Default::default() });
    testdata::write_to_dir(&data, "http://127.0.0.1:8080/dicom-web", dir)?;
    let mut files = Vec::new();
    let mut synthetic: Vec<PathBuf> = std::fs::read_dir(dir.join("dicom"))?.flatten().map(|e| e.path()).collect();
    synthetic.sort();
    for (i, path) in synthetic.into_iter().enumerate() {
        files.push((format!("synthetic/{i}.dcm"), path));
    }
    if let Some(pydicom) = crate::fuzz::pydicom_test_files() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(pydicom)?.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
        entries.sort();
        for path in entries {
            // Not DICOM: pydicom's notes, JSON, ICC profiles, archives, text dumps.
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
            if matches!(ext.as_str(), "txt" | "json" | "icc" | "gz" | "bz2" | "zip" | "dump" | "py" | "md") {
                continue;
            }
            // Skip the few very large files (multi-frame, tens of MB) to keep the run short.
            let big = std::fs::metadata(&path).map(|m| m.len() > 8 << 20).unwrap_or(true);
            if !big {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                files.push((format!("pydicom/{name}"), path));
            }
        }
    } else {
        eprintln!("xtask bench: pydicom not installed; parse corpus is the synthetic data only");
    }
    Ok(files)
}

/// dicom-parser-lite's HTJ2K test streams (OpenJPH and Kakadu encoders), each wrapped in a
/// Part 10 file under HTJ2K (1.2.840.10008.1.2.4.203) with the image attributes read from its
/// SIZ marker; (name, path).
fn htj2k_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    use testdata::part10::{write_encapsulated, Elements};
    std::fs::create_dir_all(dir)?;
    let fixtures = workspace_root().join("vendor/dicom-parser-lite/tests/fixtures");
    let mut streams: Vec<PathBuf> =
        std::fs::read_dir(&fixtures)?.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "j2c")).collect();
    streams.sort();
    let mut files = Vec::new();
    for (i, path) in streams.into_iter().enumerate() {
        let stream = std::fs::read(&path)?;
        let be32 = |at: usize| stream.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        // SOC, then SIZ: Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz (4 tile fields) Csiz Ssiz…
        let siz = stream.windows(2).position(|w| w == [0xFF, 0x51]).with_context(|| format!("{}: no SIZ", path.display()))?;
        let (Some(x), Some(y), Some(x0), Some(y0)) = (be32(siz + 6), be32(siz + 10), be32(siz + 14), be32(siz + 18)) else {
            bail!("{}: short SIZ", path.display())
        };
        let components = stream.get(siz + 38..siz + 40).map(|b| u16::from_be_bytes([b[0], b[1]])).unwrap_or(0);
        let ssiz = stream.get(siz + 40).copied().unwrap_or(0);
        let (bits, signed) = (u16::from(ssiz & 0x7F) + 1, ssiz & 0x80 != 0);
        let mut ds = Elements::default();
        ds.text(0x0008_0016, b"UI", "1.2.840.10008.5.1.4.1.1.7")
            .text(0x0008_0018, b"UI", &format!("2.25.{}", 1000 + i))
            .us(0x0028_0002, components)
            .text(0x0028_0004, b"CS", if components == 3 { "RGB" } else { "MONOCHROME2" })
            .us(0x0028_0010, u16::try_from(y - y0)?)
            .us(0x0028_0011, u16::try_from(x - x0)?)
            .us(0x0028_0100, if bits > 8 { 16 } else { 8 })
            .us(0x0028_0101, bits)
            .us(0x0028_0102, bits - 1)
            .us(0x0028_0103, u16::from(signed));
        if components == 3 {
            ds.us(0x0028_0006, 0);
        }
        let bytes = write_encapsulated("1.2.840.10008.1.2.4.203", "1.2.840.10008.5.1.4.1.1.7", &format!("2.25.{}", 1000 + i), ds, &stream);
        let name = path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let out = dir.join(format!("{name}.dcm"));
        std::fs::write(&out, bytes)?;
        files.push((format!("htj2k/{name}.dcm"), out));
    }
    Ok(files)
}

fn ms(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn fmt_time(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.1} µs", ms * 1000.0)
    } else {
        format!("{ms:.3} ms")
    }
}

fn print_table(results: &[(String, Value)], opt: &str, corpus: usize) {
    let mut rows: Vec<[String; 5]> = Vec::new();
    for (env, r) in results {
        let env_name = if env == "node" { "Node" } else { "Chromium" };
        if let Some(p) = r.get("parse") {
            let timed = p["timed"].as_u64().unwrap_or(0);
            rows.push([
                format!("{env_name}: parse, median of {timed} files (dicom-parser)"),
                fmt_time(ms(&p["oursMedianMs"])),
                fmt_time(ms(&p["peerMedianMs"])),
                format!("{:.2}× faster", ms(&p["speedupMedian"])),
                "≥ 2× faster".into(),
            ]);
        }
        if let Some(w) = r.get("wl") {
            let ours = ms(&w["ours"]["ms"]);
            let fresh = ms(&w["fresh"]["ms"]);
            let same = ms(&w["same"]["ms"]);
            let js_same = ms(&w["jsSame"]["ms"]);
            let js = ms(&w["js"]["ms"]);
            let js_rgba = ms(&w["jsRgba"]["ms"]);
            let memcpy = ms(&w["memcpy"]["ms"]);
            rows.push([
                format!("{env_name}: W/L 512² int16→RGBA (cornerstone)"),
                fmt_time(ours),
                fmt_time(js),
                format!("{:.2}× faster", js / ours),
                "≥ 6× faster".into(),
            ]);
            rows.push([
                format!("{env_name}: W/L 512² (JS LUT writing RGBA, info)"),
                fmt_time(ours),
                fmt_time(js_rgba),
                format!("{:.2}× faster", js_rgba / ours),
                "(info)".into(),
            ]);
            rows.push([
                format!("{env_name}: W/L 512², new buffer per redraw (info)"),
                fmt_time(fresh),
                fmt_time(js),
                format!("{:.2}× faster", js / fresh),
                "(info)".into(),
            ]);
            rows.push([
                format!("{env_name}: W/L 512², same window: scroll (info)"),
                fmt_time(same),
                fmt_time(js_same),
                format!("{:.2}× faster", js_same / same),
                "(info)".into(),
            ]);
            rows.push([
                format!("{env_name}: W/L 512² (memcpy 1 MiB)"),
                fmt_time(ours),
                fmt_time(memcpy),
                format!("{:.0}% of memcpy", 100.0 * memcpy / ours),
                "≥ 30% of memcpy".into(),
            ]);
            let (proof, lut) = (ms(&w["proof"]["ms"]), ms(&w["lut"]["ms"]));
            rows.push([
                format!("{env_name}: a new window's setup: plan + proof vs LUT (info)"),
                fmt_time(proof),
                fmt_time(lut),
                format!("{:.2}× faster", lut / proof),
                "(info)".into(),
            ]);
        }
        for f in r.get("decode").and_then(Value::as_array).into_iter().flatten() {
            let (family, peer) = (f["family"].as_str().unwrap_or("?"), f["peer"].as_str());
            let (n, compared) = (f["files"].as_array().map_or(0, Vec::len), f["compared"].as_u64().unwrap_or(0));
            if n == 0 {
                continue;
            }
            let what = match peer {
                Some(p) => format!("{env_name}: decode {family}, median of {compared} files ({p})"),
                None => format!("{env_name}: decode {family}, median of {n} files (no cornerstone codec)"),
            };
            let (ratio, target) = match peer {
                Some(_) => (format!("{:.2}× faster", ms(&f["ratioMedian"])), "≥ 0.83× (≤ 1.2× its time)".to_string()),
                None => ("-".into(), "(info)".into()),
            };
            rows.push([what, fmt_time(ms(&f["oursMedianMs"])), fmt_time(ms(&f["peerMedianMs"])), ratio, target]);
        }
    }
    let header = ["what", "ours", "peer", "ratio", "target"].map(String::from);
    let widths: Vec<usize> = (0..5).map(|c| rows.iter().chain([&header]).map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let line = |r: &[String; 5]| {
        let cells: Vec<String> = r.iter().zip(&widths).map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count()))).collect();
        format!("| {} |", cells.join(" | "))
    };
    println!("\nbench (wasm opt-level {opt}, the decoders at 3 as shipped; medians; ratio = peer time / our time)");
    println!("{}", line(&header));
    println!("|{}|", widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("|"));
    for r in &rows {
        println!("{}", line(r));
    }
    for (env, r) in results {
        println!("{env}: {}", r["env"].as_str().unwrap_or("?"));
        if let Some(p) = r.get("parse") {
            let list = |k: &str| p[k].as_array().map(|a| a.len()).unwrap_or(0);
            println!(
                "  parse: {corpus} files, {} timed, {} ours could not parse, {} dicom-parser could not parse; ≥ {} calls per file and side",
                p["timed"],
                list("oursFailed"),
                list("peerFailed"),
                p["minCalls"]
            );
            for k in ["oursFailed", "peerFailed"] {
                if let Some(a) = p[k].as_array().filter(|a| !a.is_empty()) {
                    let names: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
                    println!("    {}: {}", if k == "oursFailed" { "ours failed" } else { "dicom-parser failed" }, names.join(", "));
                }
            }
        }
        if let Some(w) = r.get("wl") {
            println!(
                "  W/L: {} / {} / {} calls (ours / cornerstone / memcpy); max |ours − JS| per channel = {}",
                w["ours"]["calls"], w["js"]["calls"], w["memcpy"]["calls"], w["maxDiff"]
            );
            println!(
                "  W/L exactness (not a timing): {} pixels of the bench image differ from the f64 formula; exhaustive 16-bit check: {} of {} differ",
                w["mismatches"], w["exhaustiveWrong"], w["exhaustiveCompared"]
            );
        }
        for f in r.get("decode").and_then(Value::as_array).into_iter().flatten() {
            if let Some(failed) = f["failed"].as_array().filter(|a| !a.is_empty()) {
                let names: Vec<&str> = failed.iter().filter_map(Value::as_str).collect();
                println!("  decode {}: not timed: {}", f["family"].as_str().unwrap_or("?"), names.join(", "));
            }
        }
    }
}

/// Environments whose renderer output differed from the f64 formula (the bench fails on them).
fn inexact(results: &[(String, Value)]) -> Vec<String> {
    let bad = |w: &Value| {
        w["mismatches"].as_u64() != Some(0)
            || w["exhaustiveWrong"].as_u64() != Some(0)
            || w["exhaustiveCompared"].as_u64().unwrap_or(0) == 0
    };
    results.iter().filter(|(_, r)| r.get("wl").is_some_and(bad)).map(|(env, _)| env.clone()).collect()
}
