//! The pydicom corpus: every file bundled with pydicom (data/test_files) against what pydicom
//! itself reads (tests/corpus/expected.json, written by tests/corpus/make_fixtures.py). The DICOM
//! files are not checked in; they come with `pip install pydicom`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use dicom_parser_lite::summary::{summarize, AttributeValue};
use dicom_parser_lite::{transfer_syntax, Error};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn test_files_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PYDICOM_TEST_FILES") {
        return PathBuf::from(dir);
    }
    let script = "import pydicom, os; print(os.path.join(os.path.dirname(pydicom.__file__), 'data', 'test_files'))";
    let out = Command::new("python3").args(["-c", script]).output();
    match out {
        Ok(o) if o.status.success() => PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()),
        _ => panic!("the pydicom corpus is needed: run `pip install pydicom` (or set PYDICOM_TEST_FILES to its data/test_files directory)"),
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn decodable(uid: &str) -> bool {
    transfer_syntax::is_decodable(uid)
}

/// Largest difference per sample accepted from a lossy decoder (IDCT, upsampling and wavelet
/// rounding differ between implementations).
const LOSSY_TOLERANCE: i64 = 2;

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=').map(value).collect();
    digits
        .chunks(4)
        .flat_map(|c| {
            let n = c.iter().enumerate().fold(0u32, |acc, (i, &d)| acc | u32::from(d) << (18 - 6 * i));
            n.to_be_bytes()[1..c.len()].to_vec()
        })
        .collect()
}

/// Stored bytes (as `Samples::to_le_bytes` writes them) back to numbers.
fn sample_values(bytes: &[u8], bits_allocated: u64, signed: bool) -> Vec<i64> {
    match (bits_allocated, signed) {
        (8, false) | (1, _) => bytes.iter().map(|&b| i64::from(b)).collect(),
        (8, true) => bytes.iter().map(|&b| i64::from(b as i8)).collect(),
        (16, false) => bytes.chunks_exact(2).map(|c| i64::from(u16::from_le_bytes([c[0], c[1]]))).collect(),
        (16, true) => bytes.chunks_exact(2).map(|c| i64::from(i16::from_le_bytes([c[0], c[1]]))).collect(),
        (_, false) => bytes.chunks_exact(4).map(|c| i64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect(),
        (_, true) => bytes.chunks_exact(4).map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect(),
    }
}

/// The ±LOSSY_TOLERANCE check against make_fixtures.py's `lossy` record.
fn lossy_close(stored: &[u8], want: &Value) -> Result<(), String> {
    let attrs = &want["attributes"];
    let bits = attrs["BitsAllocated"].as_u64().unwrap_or(8);
    let signed = attrs["PixelRepresentation"].as_u64() == Some(1);
    let ours = sample_values(stored, bits, signed);
    let record = &want["lossy"];
    let stride = record["stride"].as_u64().ok_or("no stride")? as usize;
    let packed = base64_decode(record["values"].as_str().ok_or("no values")?);
    let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&packed).map_err(|e| format!("zlib: {e:?}"))?;
    let theirs = sample_values(&raw, bits, signed);
    if theirs.len() as u64 != record["count"].as_u64().unwrap_or(0) || ours.len().div_ceil(stride.max(1)) != theirs.len() {
        return Err(format!("{} samples, pydicom's record has {} at stride {stride}", ours.len(), theirs.len()));
    }
    let worst = ours.iter().step_by(stride.max(1)).zip(&theirs).map(|(a, b)| (a - b).abs()).max().unwrap_or(0);
    if worst > LOSSY_TOLERANCE {
        return Err(format!("a sample differs by {worst}"));
    }
    let (min, max) = (ours.iter().min().copied().unwrap_or(0) as f64, ours.iter().max().copied().unwrap_or(0) as f64);
    let mean = ours.iter().map(|&v| v as f64).sum::<f64>() / ours.len().max(1) as f64;
    for (what, got, want) in [("min", min, &record["min"]), ("max", max, &record["max"]), ("mean", mean, &record["mean"])] {
        let want = want.as_f64().ok_or("no stats")?;
        if (got - want).abs() > LOSSY_TOLERANCE as f64 {
            return Err(format!("{what} {got} vs pydicom {want}"));
        }
    }
    Ok(())
}

#[test]
fn pydicom_corpus() {
    let dir = test_files_dir();
    let expected: Value = serde_json::from_str(include_str!("corpus/expected.json")).expect("expected.json is valid JSON");
    let files = expected["files"].as_object().expect("files object");
    let (mut parsed, mut stored_equal, mut rendered_equal, mut undecodable, mut lossy_within) = (0, 0, 0, 0, 0);
    let mut undecodable_syntaxes = BTreeSet::new();
    let mut failures = Vec::new();
    let mut pydicom_readable = 0;
    let mut truncated = Vec::new();
    for (name, want) in files {
        let path = dir.join(name);
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (is this the pydicom version expected.json was made with?)", path.display()));
        // Must never panic, whatever the file.
        let got = summarize(&bytes);
        if want.get("pydicom_error").is_some() {
            continue;
        }
        pydicom_readable += 1;
        if !got.parsed {
            // pydicom reads lazily and accepts values cut by the end of the file; we report the
            // cut (a typed error with everything before it), which is a read, not a failure.
            if matches!(got.error, Some(Error::Truncated { .. })) {
                truncated.push(name.as_str());
            } else {
                failures.push(format!("{name}: pydicom reads it, we do not: {:?}", got.error));
                continue;
            }
        }
        parsed += 1;
        if want["transfer_syntax_uid"].as_str() != Some(got.transfer_syntax_uid.as_str()) {
            failures.push(format!("{name}: transfer syntax {} vs pydicom {}", got.transfer_syntax_uid, want["transfer_syntax_uid"]));
        }
        for (attr, value) in &got.attributes {
            let ours = match value {
                AttributeValue::Text(s) => Value::from(s.as_str()),
                AttributeValue::Number(n) => Value::from(*n),
                AttributeValue::Missing => Value::Null,
            };
            if want["attributes"][*attr] != ours {
                failures.push(format!("{name}: {attr} = {ours} vs pydicom {}", want["attributes"][*attr]));
            }
        }
        let (Some(want_stored), want_rendered) = (want["stored_sha256"].as_str(), want["rendered_sha256"].as_str()) else {
            continue; // pydicom has no frame for it either
        };
        if !decodable(&got.transfer_syntax_uid) {
            undecodable += 1;
            undecodable_syntaxes.insert(got.transfer_syntax_uid.clone());
            continue;
        }
        match &got.stored {
            Some(s) if hex_sha256(s) == want_stored => stored_equal += 1,
            Some(s) if transfer_syntax::is_lossy(&got.transfer_syntax_uid) && want.get("lossy").is_some() => {
                // Lossy: rounding may differ from pydicom's decoder; the rendering follows.
                match lossy_close(s, want) {
                    Ok(()) => lossy_within += 1,
                    Err(e) => failures.push(format!("{name}: lossy frame not within ±{LOSSY_TOLERANCE} of pydicom's: {e}")),
                }
                continue;
            }
            Some(_) => failures.push(format!("{name}: stored values differ from pydicom's")),
            None => failures.push(format!("{name}: pydicom decodes it, we do not: {:?}", got.error)),
        }
        match (&got.rendered, want_rendered) {
            (Some(r), Some(w)) if hex_sha256(r) == w => rendered_equal += 1,
            (Some(_), Some(_)) => failures.push(format!("{name}: rendering differs")),
            (None, Some(_)) if got.stored.is_some() => failures.push(format!("{name}: not rendered: {:?}", got.error)),
            _ => {}
        }
    }
    println!(
        "corpus: {} files, {parsed} parsed, {stored_equal} stored-hash equal, {rendered_equal} rendered-hash equal, {lossy_within} lossy within ±{LOSSY_TOLERANCE}, {undecodable} undecodable-yet ({})",
        files.len(),
        undecodable_syntaxes.into_iter().collect::<Vec<_>>().join(", ")
    );
    println!(
        "corpus: pydicom reads {pydicom_readable} of {} files; {} of those are cut short and read up to the cut: {}",
        files.len(),
        truncated.len(),
        truncated.join(", ")
    );
    assert!(failures.is_empty(), "{} differences from pydicom:\n{}", failures.len(), failures.join("\n"));
}
