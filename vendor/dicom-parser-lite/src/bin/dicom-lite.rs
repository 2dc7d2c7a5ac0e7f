//! `dicom-lite dump --json FILE [--raw-out PATH]`: one JSON object describing a DICOM file
//! (transfer syntax, key attributes, SHA-256 of the first frame's stored values and of its
//! default rendering), for comparing this crate with other toolkits. Exit code 0 when the file
//! parsed, 1 when it did not, 2 for usage and I/O errors.
//!
//! Built only with the `cli` feature (`cargo run -p dicom-parser-lite --features cli --bin
//! dicom-lite -- dump --json FILE`): `sha2` and `serde_json` are optional dependencies behind
//! it, so the library compiled for the browser never pulls them in.

use dicom_parser_lite::summary::{summarize, AttributeValue};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: dicom-lite dump --json FILE [--raw-out PATH]");
    ExitCode::from(2)
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut json_flag, mut file, mut raw_out) = (false, None, None);
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("dump") => {}
        _ => return usage(),
    }
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--json" => json_flag = true,
            "--raw-out" => match it.next() {
                Some(p) => raw_out = Some(p.clone()),
                None => return usage(),
            },
            other if file.is_none() && !other.starts_with("--") => file = Some(other.to_string()),
            _ => return usage(),
        }
    }
    let (true, Some(file)) = (json_flag, file) else { return usage() };
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("dicom-lite: cannot read {file}: {e}");
            return ExitCode::from(2);
        }
    };

    let summary = summarize(&bytes);
    let attributes: Map<String, Value> = summary
        .attributes
        .iter()
        .map(|(name, v)| {
            let value = match v {
                AttributeValue::Text(s) => json!(s),
                AttributeValue::Number(n) => json!(n),
                AttributeValue::Missing => Value::Null,
            };
            (name.to_string(), value)
        })
        .collect();
    let mut out = Map::new();
    out.insert("transfer_syntax_uid".into(), json!(summary.transfer_syntax_uid));
    out.insert("attributes".into(), Value::Object(attributes));
    out.insert("stored_sha256".into(), summary.stored.as_deref().map_or(Value::Null, |b| json!(hex_sha256(b))));
    out.insert("rendered_sha256".into(), summary.rendered.as_deref().map_or(Value::Null, |b| json!(hex_sha256(b))));
    if let Some(e) = &summary.error {
        out.insert("error".into(), json!({ "kind": e.kind(), "message": e.to_string() }));
    }
    println!("{}", Value::Object(out));

    if let (Some(path), Some(rendered)) = (raw_out, summary.rendered.as_deref()) {
        if let Err(e) = std::fs::write(&path, rendered) {
            eprintln!("dicom-lite: cannot write {path}: {e}");
            return ExitCode::from(2);
        }
    }
    if summary.parsed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
