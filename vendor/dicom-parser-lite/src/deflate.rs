//! Inflating the data set of a Deflated Explicit VR Little Endian file (PS3.5 A.5): a raw
//! deflate stream (RFC 1951) after the File Meta group. The output grows by doubling up to a
//! caller limit, so a small hostile stream cannot claim gigabytes.

use crate::Error;
use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

/// Default cap on an inflated data set: above any real image file, below what a browser tab
/// can survive.
pub const DEFAULT_INFLATE_LIMIT: usize = 1 << 30;

/// Inflates `input`, returning what was inflated (possibly partial) and the problem, if any.
/// `offset` is where `input` starts in the file, for error positions. The standard says raw
/// deflate; a zlib-wrapped stream (some old writers) is accepted too.
pub(crate) fn inflate(input: &[u8], offset: usize, limit: usize) -> (Vec<u8>, Option<Error>) {
    let (out, error) = run(input, offset, limit, 0);
    if error.is_some() && out.is_empty() && looks_like_zlib(input) {
        let (zout, zerror) = run(input, offset, limit, inflate_flags::TINFL_FLAG_PARSE_ZLIB_HEADER);
        if zerror.is_none() || !zout.is_empty() {
            return (zout, zerror);
        }
    }
    (out, error)
}

fn looks_like_zlib(input: &[u8]) -> bool {
    match input {
        [cmf, flg, ..] => cmf & 0x0F == 8 && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

fn run(input: &[u8], offset: usize, limit: usize, flags: u32) -> (Vec<u8>, Option<Error>) {
    let flags = flags | inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let mut out = vec![0u8; input.len().saturating_mul(4).clamp(1 << 16, 1 << 26).min(limit)];
    let mut decomp = Box::<DecompressorOxide>::default();
    let (mut in_pos, mut out_pos) = (0usize, 0usize);
    let error = loop {
        let rest = input.get(in_pos..).unwrap_or_default();
        let (status, consumed, produced) = decompress(&mut decomp, rest, &mut out, out_pos, flags);
        in_pos = in_pos.saturating_add(consumed);
        out_pos = out_pos.saturating_add(produced).min(out.len());
        match status {
            TINFLStatus::Done => break None,
            TINFLStatus::HasMoreOutput => {
                if out.len() >= limit {
                    break Some(Error::TooLarge { limit });
                }
                let grown = out.len().saturating_mul(2).min(limit);
                out.resize(grown, 0);
            }
            TINFLStatus::FailedCannotMakeProgress | TINFLStatus::NeedsMoreInput => {
                break Some(Error::Truncated { offset: offset.saturating_add(input.len()), needed: 1 });
            }
            other => {
                break Some(Error::InvalidCompressedData(format!("deflate stream ({other:?}) near byte {}", offset.saturating_add(in_pos))))
            }
        }
    };
    out.truncate(out_pos);
    (out, error)
}
