//! `cargo xtask fuzz [--seconds N] [--engine libfuzzer|plain] [--only TARGET]`: runs every fuzz
//! target of `vendor/dicom-parser-lite/fuzz` for a bounded time and prints, per target,
//! executions, executions per second and crashes; fails when any target crashed.
//!
//! Engines: libFuzzer through `cargo fuzz` (coverage-guided; the stable toolchain builds it with
//! RUSTC_BOOTSTRAP=1 and no sanitizer, which a pure safe-Rust crate does not need), installed
//! with `cargo install cargo-fuzz` when missing; else the crate's own `fuzz-plain`, a seeded,
//! coverage-less mutation loop that needs nothing but cargo.
//!
//! Corpora: the committed seeds (`fuzz/seeds/<target>`), plus pydicom's small test files for
//! `parse` and `pixels` when pydicom is installed. libFuzzer keeps what it finds in
//! `<target dir>/fuzz/corpus/<target>` (not committed); crashing inputs go to
//! `fuzz/artifacts/<target>/`.

use crate::{display_cmd, run_cmd, workspace_root, Flags};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const TARGETS: &[&str] = &["parse", "pixels", "rle", "jpeg", "jpegls", "j2k", "htj2k"];

#[derive(Clone, Copy, PartialEq, Debug)]
enum Engine {
    LibFuzzer,
    Plain,
}

pub struct Outcome {
    pub target: String,
    pub execs: u64,
    secs: f64,
    pub crashes: u64,
    note: String,
}

pub fn run(flags: &Flags) -> Result<()> {
    let seconds: u64 = flags.value("--seconds")?.map(|s| s.parse()).transpose().context("--seconds")?.unwrap_or(30);
    let runs: Option<u64> = flags.value("--runs")?.map(|s| s.parse()).transpose().context("--runs")?;
    let outcomes = run_with(seconds, runs, flags.value("--only")?, flags.value("--engine")?.as_deref())?;
    let crashed: Vec<&str> = outcomes.iter().filter(|o| o.crashes > 0).map(|o| o.target.as_str()).collect();
    if !crashed.is_empty() {
        bail!("crashes in {} (inputs under vendor/dicom-parser-lite/fuzz/artifacts)", crashed.join(", "));
    }
    Ok(())
}

/// The bounded run of `cargo xtask test`: every target, `runs` executions each from the
/// committed seeds with a fixed seed, so CI gets the same result as the machine that submitted
/// (time-bounded runs explore more, and belong to `cargo xtask fuzz --seconds N`).
pub fn deterministic(runs: u64) -> Result<Vec<Outcome>> {
    run_with(0, Some(runs), None, Some("libfuzzer"))
}

fn run_with(seconds: u64, runs: Option<u64>, only: Option<String>, engine: Option<&str>) -> Result<Vec<Outcome>> {
    let targets: Vec<&str> = match &only {
        Some(t) if TARGETS.contains(&t.as_str()) => vec![t.as_str()],
        Some(t) => bail!("unknown fuzz target {t:?}; targets: {}", TARGETS.join(", ")),
        None => TARGETS.to_vec(),
    };
    let root = workspace_root();
    let fuzz_dir = root.join("vendor/dicom-parser-lite/fuzz");
    let target_dir = target_root(&root).join("fuzz");
    // The deterministic mode reads only committed seeds.
    let extra = if runs.is_some() { None } else { pydicom_seeds(&target_dir.join("pydicom-seeds")) };

    let engine = match engine {
        Some("plain") => Engine::Plain,
        Some("libfuzzer") => {
            build_libfuzzer(&fuzz_dir, &target_dir)?;
            Engine::LibFuzzer
        }
        None => match build_libfuzzer(&fuzz_dir, &target_dir) {
            Ok(()) => Engine::LibFuzzer,
            Err(e) => {
                eprintln!("xtask fuzz: libFuzzer unavailable ({e:#}); using the plain mutation fuzzer");
                Engine::Plain
            }
        },
        Some(other) => bail!("--engine must be libfuzzer or plain, not {other:?}"),
    };
    if engine == Engine::Plain {
        let mut cmd = Command::new("cargo");
        cmd.current_dir(&fuzz_dir).args(["build", "--release", "--no-default-features", "--features", "plain", "--bin", "fuzz-plain"]);
        cmd.env("CARGO_TARGET_DIR", &target_dir);
        run_cmd(&mut cmd)?;
    }

    let mut outcomes = Vec::new();
    for target in &targets {
        let seeds = fuzz_dir.join("seeds").join(target);
        let artifacts = fuzz_dir.join("artifacts").join(target);
        let extra_dirs: Vec<&Path> = match (&extra, *target) {
            (Some(dir), "parse" | "pixels") => vec![dir.as_path()],
            _ => vec![],
        };
        let outcome = match engine {
            Engine::LibFuzzer => run_libfuzzer(&target_dir, target, seconds, runs, &seeds, &extra_dirs, &artifacts)?,
            Engine::Plain => run_plain(&target_dir, target, seconds, &seeds, &extra_dirs, &artifacts)?,
        };
        eprintln!(
            "xtask fuzz: {:<7} {:>12} execs {:>10.0}/s  crashes {}{}",
            outcome.target,
            outcome.execs,
            outcome.execs as f64 / outcome.secs.max(1e-9),
            outcome.crashes,
            outcome.note
        );
        outcomes.push(outcome);
    }

    let bound = match runs {
        Some(n) => format!("{n} runs per target, seed 1"),
        None => format!("{seconds} s per target"),
    };
    println!(
        "\nfuzzing with {} ({bound})",
        if engine == Engine::LibFuzzer { "libFuzzer (cargo fuzz)" } else { "fuzz-plain (coverage-less)" }
    );
    println!("{:<8} {:>14} {:>12} {:>8}", "target", "executions", "exec/s", "crashes");
    for o in &outcomes {
        println!("{:<8} {:>14} {:>12.0} {:>8}{}", o.target, o.execs, o.execs as f64 / o.secs.max(1e-9), o.crashes, o.note);
    }
    Ok(outcomes)
}

/// `cargo fuzz build` of every target, installing cargo-fuzz first if needed.
fn build_libfuzzer(fuzz_dir: &Path, target_dir: &Path) -> Result<()> {
    let have = Command::new("cargo").args(["fuzz", "--version"]).output().map(|o| o.status.success()).unwrap_or(false);
    if !have {
        run_cmd(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    let mut cmd = Command::new("cargo");
    // `cargo fuzz` runs from the crate's parent; the fuzz crate has its own workspace table.
    cmd.current_dir(fuzz_dir.parent().context("fuzz dir has a parent")?);
    cmd.args(["fuzz", "build", "-s", "none", "--target-dir"]).arg(target_dir);
    cmd.env("RUSTC_BOOTSTRAP", "1");
    run_cmd(&mut cmd)
}

fn libfuzzer_binary(target_dir: &Path, target: &str) -> Result<PathBuf> {
    let release = std::fs::read_dir(target_dir)
        .with_context(|| format!("reading {}", target_dir.display()))?
        .flatten()
        .map(|e| e.path().join("release").join(target))
        .find(|p| p.is_file());
    release.with_context(|| format!("no libFuzzer binary for {target} under {}", target_dir.display()))
}

#[allow(clippy::too_many_arguments)]
fn run_libfuzzer(
    target_dir: &Path,
    target: &str,
    seconds: u64,
    runs: Option<u64>,
    seeds: &Path,
    extra: &[&Path],
    artifacts: &Path,
) -> Result<Outcome> {
    let bin = libfuzzer_binary(target_dir, target)?;
    // A deterministic run starts from an empty corpus folder each time; a timed run keeps
    // growing its corpus across runs.
    let corpus = target_dir.join(if runs.is_some() { "ci-corpus" } else { "corpus" }).join(target);
    if runs.is_some() && corpus.exists() {
        std::fs::remove_dir_all(&corpus)?;
    }
    std::fs::create_dir_all(&corpus)?;
    std::fs::create_dir_all(artifacts)?;
    let mut cmd = Command::new(bin);
    cmd.arg(&corpus).arg(seeds).args(extra);
    match runs {
        Some(n) => cmd.args([format!("-runs={n}"), "-seed=1".into()]),
        None => cmd.arg(format!("-max_total_time={seconds}")),
    };
    cmd.arg(format!("-artifact_prefix={}/", artifacts.display()));
    cmd.args(["-print_final_stats=1", "-max_len=262144", "-timeout=20", "-rss_limit_mb=2048"]);
    eprintln!("+ {}", display_cmd(&cmd));
    let start = Instant::now();
    let output = cmd.output().context("running the libFuzzer binary")?;
    let secs = start.elapsed().as_secs_f64();
    let log = String::from_utf8_lossy(&output.stderr);
    let stat = |name: &str| -> Option<u64> {
        log.lines().find_map(|l| l.strip_prefix(&format!("stat::{name}:")).and_then(|v| v.trim().parse().ok()))
    };
    let execs = stat("number_of_executed_units").unwrap_or(0);
    let crashed = !output.status.success();
    let mut note = String::new();
    if crashed {
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        eprintln!("{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        note = format!("  ({})", output.status);
    }
    let run_secs = log
        .lines()
        .find_map(|l| l.strip_prefix("Done ").and_then(|r| r.split(" in ").nth(1)).and_then(|s| s.split(' ').next()?.parse::<f64>().ok()))
        .unwrap_or(secs);
    Ok(Outcome { target: target.into(), execs, secs: run_secs.max(1.0), crashes: u64::from(crashed), note })
}

fn run_plain(target_dir: &Path, target: &str, seconds: u64, seeds: &Path, extra: &[&Path], artifacts: &Path) -> Result<Outcome> {
    let mut cmd = Command::new(target_dir.join("release").join("fuzz-plain"));
    cmd.arg(target).arg("--seconds").arg(seconds.to_string()).arg("--corpus").arg(seeds);
    for dir in extra {
        cmd.arg("--corpus").arg(dir);
    }
    cmd.arg("--artifacts").arg(artifacts);
    eprintln!("+ {}", display_cmd(&cmd));
    let start = Instant::now();
    let output = cmd.output().context("running fuzz-plain")?;
    let secs = start.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| -> Option<u64> {
        stdout.split_whitespace().find_map(|w| w.strip_prefix(&format!("{name}=")).and_then(|v| v.parse().ok()))
    };
    let (execs, crashes) = (field("execs").unwrap_or(0), field("crashes"));
    let mut note = String::new();
    let crashes = match crashes {
        Some(c) => c,
        None => {
            // Died without its summary: an abort, a stack overflow, an out-of-memory kill.
            eprintln!("{}", String::from_utf8_lossy(&output.stderr));
            note = format!("  (died: {}; rerun the same command to reproduce)", output.status);
            1
        }
    };
    Ok(Outcome { target: target.into(), execs, secs: secs.min(seconds as f64 + 1.0), crashes, note })
}

/// Cargo's target directory: CARGO_TARGET_DIR (relative to the current directory) or
/// `<root>/target`.
pub fn target_root(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(p) if p.is_absolute() => p,
        Some(p) => std::env::current_dir().unwrap_or_default().join(p),
        None => root.join("target"),
    }
}

/// pydicom's test files of at most 32 KB, copied once into `dir`; `None` without pydicom.
fn pydicom_seeds(dir: &Path) -> Option<PathBuf> {
    if dir.is_dir() && std::fs::read_dir(dir).ok()?.next().is_some() {
        return Some(dir.to_path_buf());
    }
    let src = pydicom_test_files()?;
    std::fs::create_dir_all(dir).ok()?;
    let mut n = 0;
    for entry in std::fs::read_dir(src).ok()?.flatten() {
        let path = entry.path();
        let small = entry.metadata().map(|m| m.is_file() && m.len() <= 32 * 1024).unwrap_or(false);
        if small && path.extension().is_none_or(|e| e == "dcm") && std::fs::copy(&path, dir.join(entry.file_name())).is_ok() {
            n += 1;
        }
    }
    (n > 0).then(|| dir.to_path_buf())
}

/// pydicom's `data/test_files`, when pydicom is installed.
pub fn pydicom_test_files() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import pydicom,os;print(os.path.join(os.path.dirname(pydicom.__file__),'data','test_files'))"])
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    (out.status.success() && path.is_dir()).then_some(path)
}
