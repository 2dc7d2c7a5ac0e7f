//! STOW-RS for an upload queue: files go in bounded multipart batches, and the server's answer
//! is read per SOP Instance, so each file shows its own outcome and a resumed queue resends
//! only what was not confirmed.
//!
//! Per PS3.18 10.5.3: 200 all stored, 202 some stored or with warnings (FailedSOPSequence,
//! WarningReason), 409 none stored. An instance the server holds already counts as done: a
//! 409 (Orthanc and others answer it for a resend), or a failure with reason 0x0111
//! (duplicate SOP Instance).

use crate::dicomweb::{DicomWebClient, DicomWebError};
use crate::net::{HttpClient, NetError, Transport};
use serde_json::Value;
use std::ops::Range;

/// Batches of at most `max_files` files and `max_bytes` bytes (a larger file goes alone), in
/// the order given.
pub fn batches(sizes: &[usize], max_bytes: usize, max_files: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0usize;
    for (i, size) in sizes.iter().enumerate() {
        let full = i > start && (i - start >= max_files.max(1) || bytes.saturating_add(*size) > max_bytes);
        if full {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes = bytes.saturating_add(*size);
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

/// What became of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceOutcome {
    /// Confirmed stored; `warning` is its WarningReason (e.g. 0xB000 coercion of attributes).
    Stored { warning: Option<u32> },
    /// The server had it already.
    AlreadyPresent,
    /// Refused for good (FailureReason): shown on the file, not resent.
    Failed { reason: Option<u32> },
    /// Not confirmed (out of resources, or not named in a 202): sent again later.
    Retry,
}

impl InstanceOutcome {
    /// The file is finished with: it leaves the resumable queue.
    pub fn is_done(&self) -> bool {
        !matches!(self, InstanceOutcome::Retry)
    }
}

/// FailureReason 0x0111: duplicate SOP Instance.
const DUPLICATE: u32 = 0x0111;
/// FailureReason 0xA7xx: out of resources, worth another try.
fn transient(reason: u32) -> bool {
    reason & 0xFF00 == 0xA700
}

/// The outcome of each of `sop_uids` from a STOW answer's `status` and DICOM JSON `body`.
pub fn outcomes(status: u16, body: &[u8], sop_uids: &[String]) -> Vec<InstanceOutcome> {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let object = match &json {
        Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    let items = |tag: &str| object.pointer(&format!("/{tag}/Value")).and_then(Value::as_array).cloned().unwrap_or_default();
    let text = |item: &Value, tag: &str| item.pointer(&format!("/{tag}/Value/0")).and_then(Value::as_str).map(str::to_string);
    let number = |item: &Value, tag: &str| item.pointer(&format!("/{tag}/Value/0")).and_then(Value::as_u64).map(|n| n as u32);
    let stored: Vec<(String, Option<u32>)> =
        items("00081199").iter().filter_map(|i| Some((text(i, "00081155")?, number(i, "00081196")))).collect();
    let failed: Vec<(String, Option<u32>)> =
        items("00081198").iter().filter_map(|i| Some((text(i, "00081155")?, number(i, "00081197")))).collect();
    sop_uids
        .iter()
        .map(|uid| {
            if let Some((_, warning)) = stored.iter().find(|(u, _)| u == uid) {
                return InstanceOutcome::Stored { warning: *warning };
            }
            if let Some((_, reason)) = failed.iter().find(|(u, _)| u == uid) {
                return match reason {
                    Some(DUPLICATE) => InstanceOutcome::AlreadyPresent,
                    Some(r) if transient(*r) => InstanceOutcome::Retry,
                    _ if status == 409 => InstanceOutcome::AlreadyPresent,
                    reason => InstanceOutcome::Failed { reason: *reason },
                };
            }
            match status {
                200 => InstanceOutcome::Stored { warning: None },
                409 => InstanceOutcome::AlreadyPresent,
                _ => InstanceOutcome::Retry,
            }
        })
        .collect()
}

/// Sends one batch (`(SOP Instance UID, Part 10 bytes)`) and reads each instance's outcome.
/// A transport failure or a 5xx is an error: the whole batch is sent again later.
pub async fn send_batch<T: Transport>(
    http: &HttpClient<T>,
    client: &DicomWebClient,
    batch: &[(String, Vec<u8>)],
) -> Result<Vec<InstanceOutcome>, DicomWebError> {
    let uids: Vec<String> = batch.iter().map(|(uid, _)| uid.clone()).collect();
    match client.store_instances(http, batch.iter().map(|(_, bytes)| bytes.clone()).collect()).await {
        Ok(result) => Ok(result_outcomes(&result, &uids)),
        // A 409's FailedSOPSequence is in the error's (bounded) detail.
        Err(DicomWebError::Net(NetError::Status { status: 409, detail, .. })) => {
            Ok(outcomes(409, detail.as_deref().unwrap_or_default().as_bytes(), &uids))
        }
        Err(e) => Err(e),
    }
}

fn result_outcomes(result: &crate::dicomweb::StowResult, uids: &[String]) -> Vec<InstanceOutcome> {
    uids.iter()
        .map(|uid| {
            if let Some((_, warning)) = result.stored_warnings.iter().find(|(u, _)| u == uid) {
                return InstanceOutcome::Stored { warning: *warning };
            }
            if result.stored.contains(uid) {
                return InstanceOutcome::Stored { warning: None };
            }
            if let Some((_, reason)) = result.failed.iter().find(|(u, _)| u == uid) {
                return match reason {
                    Some(DUPLICATE) => InstanceOutcome::AlreadyPresent,
                    Some(r) if transient(*r) => InstanceOutcome::Retry,
                    reason => InstanceOutcome::Failed { reason: *reason },
                };
            }
            if result.status == 200 {
                InstanceOutcome::Stored { warning: None }
            } else {
                InstanceOutcome::Retry
            }
        })
        .collect()
}
