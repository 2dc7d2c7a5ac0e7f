//! The pydicom corpus: every file bundled with pydicom (data/test_files) against what pydicom
//! itself reads (tests/corpus/expected.json, written by tests/corpus/make_fixtures.py). The DICOM
//! files are not checked in; they come with `pip install pydicom`.

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
    transfer_syntax::is_native(uid) || uid == transfer_syntax::RLE_LOSSLESS
}

#[test]
fn pydicom_corpus() {
    let dir = test_files_dir();
    let expected: Value = serde_json::from_str(include_str!("corpus/expected.json")).expect("expected.json is valid JSON");
    let files = expected["files"].as_object().expect("files object");
    let (mut parsed, mut stored_equal, mut rendered_equal, mut undecodable) = (0, 0, 0, 0);
    let mut undecodable_syntaxes = BTreeSet::new();
    let mut failures = Vec::new();
    let mut pydicom_readable = 0;
    let mut truncated = Vec::new();
    for (name, want) in files {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (is this the pydicom version expected.json was made with?)", path.display()));
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
        "corpus: {} files, {parsed} parsed, {stored_equal} stored-hash equal, {rendered_equal} rendered-hash equal, {undecodable} undecodable-yet ({})",
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
