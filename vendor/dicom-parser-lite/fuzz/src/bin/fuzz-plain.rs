//! The coverage-less fallback fuzzer: a seeded mutation loop over a seed corpus, in process,
//! for machines where libFuzzer cannot be built. Deterministic for a given `--seed`: a crash
//! found once is found again by the same command line.
//!
//! usage: fuzz-plain TARGET [--seconds N] [--seed S] [--corpus DIR]... [--artifacts DIR]
//!
//! Prints one line `target=T execs=N exec_per_s=R crashes=C` and exits 1 when a target
//! panicked (each crashing input is written to the artifacts directory).

use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING: &[u32] = &[0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE, 0xFFFF_FFFF];
/// DICOM structure bytes worth splicing in: item, item end, sequence end, VRs, markers.
const TOKENS: &[&[u8]] = &[
    b"\xFE\xFF\x00\xE0", b"\xFE\xFF\x0D\xE0", b"\xFE\xFF\xDD\xE0", b"\xFF\xFF\xFF\xFF", b"SQ\0\0", b"OB\0\0", b"OW\0\0", b"UN\0\0",
    b"UT\0\0", b"US", b"UL", b"DS", b"IS", b"\xE0\x7F\x10\x00", b"\x28\x00\x10\x00", b"\xFF\xD8", b"\xFF\xD9", b"\xFF\xDA", b"\xFF\x51",
    b"\xFF\xC0", b"\xFF\xC3", b"\xFF\xF7", b"\xFF\x90", b"\xFF\x93",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        let len = input.len();
        match rng.below(11) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = rng.next() as u8;
            }
            2 if len > 0 => {
                // An interesting 1/2/4-byte little- or big-endian value.
                let v = INTERESTING[rng.below(INTERESTING.len())];
                let width = [1, 2, 4][rng.below(3)];
                let bytes = if rng.below(2) == 0 { v.to_le_bytes() } else { v.to_be_bytes() };
                let bytes = if rng.below(2) == 0 { &bytes[..width] } else { &bytes[4 - width..] };
                let i = rng.below(len);
                for (k, b) in bytes.iter().enumerate() {
                    if let Some(slot) = input.get_mut(i + k) {
                        *slot = *b;
                    }
                }
            }
            3 if len > 0 => {
                // Add or subtract a small amount from a byte (lengths, counts).
                let i = rng.below(len);
                let d = 1 + rng.below(16) as u8;
                input[i] = if rng.below(2) == 0 { input[i].wrapping_add(d) } else { input[i].wrapping_sub(d) };
            }
            4 if len > 1 => {
                let a = rng.below(len);
                let n = 1 + rng.below((len - a).min(256));
                input.drain(a..a + n);
            }
            5 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(64);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                input.splice(at..at, bytes);
            }
            6 if len > 0 => {
                // Duplicate a chunk somewhere else.
                let a = rng.below(len);
                let n = 1 + rng.below((len - a).min(512));
                let chunk = input[a..a + n].to_vec();
                let at = rng.below(len + 1);
                input.splice(at..at, chunk);
            }
            7 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let at = rng.below(len + 1);
                if rng.below(2) == 0 {
                    input.splice(at..at, t.iter().copied());
                } else {
                    for (k, b) in t.iter().enumerate() {
                        if let Some(slot) = input.get_mut(at + k) {
                            *slot = *b;
                        }
                    }
                }
            }
            8 if len > 0 => input.truncate(rng.below(len)),
            9 if !other.is_empty() => {
                // Splice: our head, the other input's tail.
                let a = rng.below(len + 1);
                let b = rng.below(other.len());
                input.truncate(a);
                input.extend_from_slice(&other[b..]);
            }
            _ if len > 0 => {
                // Copy a chunk over another place (shifts fields without changing length).
                let a = rng.below(len);
                let b = rng.below(len);
                let n = 1 + rng.below((len - a.max(b)).min(64));
                let chunk = input[a..a + n].to_vec();
                input[b..b + n].copy_from_slice(&chunk);
            }
            _ => input.push(rng.next() as u8),
        }
    }
    input.truncate(1 << 20);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: fuzz-plain TARGET [--seconds N] [--seed S] [--corpus DIR]... [--artifacts DIR]";
    let Some(name) = args.first() else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let Some(target) = dicom_parser_lite_fuzz::target(name) else {
        eprintln!("unknown target {name:?}; targets: {:?}", dicom_parser_lite_fuzz::TARGETS.iter().map(|t| t.0).collect::<Vec<_>>());
        std::process::exit(2);
    };
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let seconds: f64 = value("--seconds").map(|s| s.parse().expect("--seconds")).unwrap_or(30.0);
    let seed: u64 = value("--seed").map(|s| s.parse().expect("--seed")).unwrap_or(0x5EED);
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let artifacts = value("--artifacts").map(PathBuf::from).unwrap_or_else(|| here.join("artifacts").join(name));
    let mut dirs: Vec<PathBuf> = args.windows(2).filter(|w| w[0] == "--corpus").map(|w| PathBuf::from(&w[1])).collect();
    if dirs.is_empty() {
        dirs.push(here.join("seeds").join(name));
    }
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    for dir in &dirs {
        let mut entries: Vec<_> = std::fs::read_dir(dir).map(|r| r.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        entries.sort();
        for path in entries {
            if let Ok(bytes) = std::fs::read(&path) {
                corpus.push(bytes);
            }
        }
    }
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }

    // Panics are caught and counted; keep the default hook's message for the first one only.
    let default_hook = panic::take_hook();
    let reported = std::sync::atomic::AtomicBool::new(false);
    panic::set_hook(Box::new(move |info| {
        if !reported.swap(true, std::sync::atomic::Ordering::Relaxed) {
            default_hook(info);
        }
    }));

    let mut rng = Rng(seed | 1);
    let start = Instant::now();
    let limit = Duration::from_secs_f64(seconds);
    let (mut execs, mut crashes) = (0u64, 0u64);
    // The seeds themselves first, then mutants.
    let mut inputs = corpus.iter();
    let mut buf = Vec::new();
    while start.elapsed() < limit {
        for _ in 0..64 {
            buf.clear();
            match inputs.next() {
                Some(seed_input) => buf.extend_from_slice(seed_input),
                None => {
                    buf.extend_from_slice(&corpus[rng.below(corpus.len())]);
                    let other = &corpus[rng.below(corpus.len())];
                    mutate(&mut rng, &mut buf, other);
                }
            }
            execs += 1;
            if panic::catch_unwind(AssertUnwindSafe(|| target(&buf))).is_err() {
                crashes += 1;
                let _ = std::fs::create_dir_all(&artifacts);
                let path = artifacts.join(format!("crash-{execs:010}"));
                let _ = std::fs::write(&path, &buf);
                eprintln!("fuzz-plain: {name}: crash #{crashes} at execution {execs}, input saved as {}", path.display());
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("target={name} execs={execs} exec_per_s={:.0} crashes={crashes} seed={seed} corpus={}", execs as f64 / secs, corpus.len());
    std::process::exit(if crashes > 0 { 1 } else { 0 });
}
