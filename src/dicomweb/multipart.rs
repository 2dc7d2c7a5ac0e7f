//! multipart/related (RFC 2046, RFC 2387) as DICOMweb uses it for instances and frames:
//! a streaming decoder and an encoder (STOW-RS).
//!
//! Tolerates what real servers send: quoted boundaries, a preamble and epilogue, parts without
//! `Content-Length`, bare LF line ends. A body that ends before the closing delimiter is an error,
//! never a silently shorter image.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum MultipartError {
    #[error("expected a multipart/related response but got Content-Type {0:?}")]
    NotMultipart(String),
    #[error("the multipart Content-Type has no boundary parameter")]
    NoBoundary,
    #[error("the multipart body ends before its closing boundary (truncated response)")]
    Truncated,
    #[error("a multipart part has malformed headers")]
    BadPartHeaders,
}

/// One part: its headers (names lower-cased) and its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Part {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The value of a parameter in a header like `multipart/related; type="application/dicom"; boundary=x`.
pub fn header_parameter(header: &str, name: &str) -> Option<String> {
    let mut rest = header.split_once(';')?.1;
    loop {
        let (key, after_eq) = rest.split_once('=')?;
        let key = key.trim();
        let after_eq = after_eq.trim_start();
        let (value, next) = if let Some(quoted) = after_eq.strip_prefix('"') {
            // Quoted string with backslash escapes.
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            let end = end?;
            let tail = &quoted[end..];
            (value, tail.split_once(';').map(|(_, t)| t))
        } else {
            match after_eq.split_once(';') {
                Some((v, t)) => (v.trim().to_string(), Some(t)),
                None => (after_eq.trim().to_string(), None),
            }
        };
        if key.eq_ignore_ascii_case(name) {
            return Some(value);
        }
        rest = next?;
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    Some(from + memchr::memmem::find(haystack.get(from..)?, needle)?)
}

/// Splits a whole multipart/related body into its parts (the [`MultipartStream`] fed at once).
pub fn decode(content_type: &str, body: Vec<u8>) -> Result<Vec<Part>, MultipartError> {
    let mut stream = MultipartStream::new(content_type)?;
    let parts = stream.push(&body)?;
    stream.finish()?;
    Ok(parts)
}

enum Stage {
    /// Before the first delimiter.
    Preamble,
    /// Just after a `--boundary`: a closing `--` or the end of the delimiter line follows.
    Delimiter,
    Headers,
    Body(Vec<(String, String)>),
    /// After the closing delimiter: the rest is epilogue and ignored.
    Closed,
}

/// A streaming multipart/related decoder: bytes go in as the network delivers them, each part
/// comes out as soon as its closing delimiter has arrived, so the first instance of a series
/// can be decoded while the rest is still downloading. A part is only ever yielded whole.
pub struct MultipartStream {
    delimiter: Vec<u8>,
    line_delimiter: Vec<u8>,
    buffer: Vec<u8>,
    /// Where the bytes not yet consumed begin in `buffer`.
    start: usize,
    /// Where the next delimiter search starts (what was searched before cannot match again).
    scan: usize,
    stage: Stage,
}

impl MultipartStream {
    pub fn new(content_type: &str) -> Result<Self, MultipartError> {
        let media = content_type.split(';').next().unwrap_or_default().trim();
        if !media.to_ascii_lowercase().starts_with("multipart/") {
            return Err(MultipartError::NotMultipart(content_type.to_string()));
        }
        let boundary = header_parameter(content_type, "boundary").filter(|b| !b.is_empty()).ok_or(MultipartError::NoBoundary)?;
        let delimiter = format!("--{boundary}").into_bytes();
        let mut line_delimiter = b"\n".to_vec();
        line_delimiter.extend_from_slice(&delimiter);
        Ok(MultipartStream { delimiter, line_delimiter, buffer: Vec::new(), start: 0, scan: 0, stage: Stage::Preamble })
    }

    /// True once the closing delimiter has been seen.
    pub fn is_complete(&self) -> bool {
        matches!(self.stage, Stage::Closed)
    }

    /// Bytes received but not yet part of a yielded part.
    pub fn buffered(&self) -> usize {
        self.buffer.len() - self.start
    }

    /// Adds `bytes`; returns the parts completed by them (possibly none).
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Part>, MultipartError> {
        let mut parts = Vec::new();
        if self.is_complete() {
            return Ok(parts);
        }
        // What was consumed goes once it is at least half the buffer: each byte moves at most
        // about once, where moving the rest after every part moved it once per part.
        if self.start > 0 && self.start >= self.buffer.len() / 2 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        self.buffer.extend_from_slice(bytes);
        loop {
            let buffer = &self.buffer[self.start..];
            match &mut self.stage {
                Stage::Closed => {
                    self.buffer = Vec::new();
                    self.start = 0;
                    return Ok(parts);
                }
                Stage::Preamble => {
                    let start = if buffer.starts_with(&self.delimiter) {
                        Some(0)
                    } else if self.delimiter.starts_with(buffer) {
                        return Ok(parts); // Could still become the first delimiter.
                    } else {
                        find(buffer, &self.line_delimiter, self.scan).map(|i| i + 1)
                    };
                    let Some(start) = start else {
                        self.scan = buffer.len().saturating_sub(self.line_delimiter.len() - 1);
                        return Ok(parts);
                    };
                    self.consume(start + self.delimiter.len());
                    self.stage = Stage::Delimiter;
                }
                Stage::Delimiter => {
                    let Some(&first) = buffer.first() else { return Ok(parts) };
                    if first == b'-' {
                        match buffer.get(1) {
                            None => return Ok(parts),
                            Some(b'-') => {
                                self.stage = Stage::Closed;
                                continue;
                            }
                            Some(_) => return Err(MultipartError::BadPartHeaders),
                        }
                    }
                    // Transport padding, then the line break ending the delimiter line.
                    let mut pos = 0;
                    while matches!(buffer.get(pos), Some(b' ' | b'\t')) {
                        pos += 1;
                    }
                    match buffer.get(pos..) {
                        Some([b'\r', b'\n', ..]) => pos += 2,
                        Some([b'\n', ..]) => pos += 1,
                        Some([] | [b'\r']) | None => return Ok(parts),
                        Some(_) => return Err(MultipartError::BadPartHeaders),
                    }
                    self.consume(pos);
                    self.stage = Stage::Headers;
                }
                Stage::Headers => match read_headers(buffer, 0) {
                    Ok((headers, body_start)) => {
                        self.consume(body_start);
                        self.stage = Stage::Body(headers);
                    }
                    Err(MultipartError::Truncated) => return Ok(parts), // The blank line has not arrived.
                    Err(e) => return Err(e),
                },
                Stage::Body(headers) => {
                    let Some(next) = find(buffer, &self.line_delimiter, self.scan) else {
                        self.scan = buffer.len().saturating_sub(self.line_delimiter.len() - 1);
                        return Ok(parts);
                    };
                    let end = if next > 0 && buffer[next - 1] == b'\r' { next - 1 } else { next };
                    let headers = std::mem::take(headers);
                    parts.push(Part { headers, body: buffer[..end].to_vec() });
                    self.consume(next + self.line_delimiter.len());
                    self.stage = Stage::Delimiter;
                }
            }
        }
    }

    /// Ends the stream: an error unless the closing delimiter arrived (a truncated response
    /// must never pass for a shorter series).
    pub fn finish(self) -> Result<(), MultipartError> {
        if self.is_complete() {
            Ok(())
        } else {
            Err(MultipartError::Truncated)
        }
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.buffer.len());
        self.scan = 0;
    }
}

fn skip_line_break(body: &[u8], pos: usize) -> Option<usize> {
    match body.get(pos..)? {
        [b'\r', b'\n', ..] => Some(pos + 2),
        [b'\n', ..] => Some(pos + 1),
        _ => None,
    }
}

/// Reads header lines up to the blank line; returns them and where the part body starts.
fn read_headers(body: &[u8], mut pos: usize) -> Result<(Vec<(String, String)>, usize), MultipartError> {
    let mut headers = Vec::new();
    loop {
        if let Some(after) = skip_line_break(body, pos) {
            return Ok((headers, after));
        }
        let line_end = find(body, b"\n", pos).ok_or(MultipartError::Truncated)?;
        let line = &body[pos..line_end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = std::str::from_utf8(line).map_err(|_| MultipartError::BadPartHeaders)?;
        let (name, value) = text.split_once(':').ok_or(MultipartError::BadPartHeaders)?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        if headers.len() > 64 {
            return Err(MultipartError::BadPartHeaders);
        }
        pos = line_end + 1;
    }
}

/// Encodes parts as multipart/related; returns the body and its Content-Type (for STOW-RS).
pub fn encode(part_type: &str, parts: &[Part]) -> (Vec<u8>, String) {
    let boundary = boundary_for(parts);
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        for (name, value) in &part.headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&part.body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (out, format!("multipart/related; type=\"{part_type}\"; boundary={boundary}"))
}

/// A boundary that occurs in no part (checked, not assumed).
fn boundary_for(parts: &[Part]) -> String {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15 ^ parts.len() as u64;
    loop {
        let candidate = format!("emr-imaging-{seed:016x}");
        let needle = format!("--{candidate}");
        if parts.iter().all(|p| find(&p.body, needle.as_bytes(), 0).is_none()) {
            return candidate;
        }
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/related; type=\"application/dicom\"; boundary=\"b;1\"";

    #[test]
    fn parameters_quoted_and_plain() {
        assert_eq!(header_parameter(CT, "boundary").as_deref(), Some("b;1"));
        assert_eq!(header_parameter(CT, "type").as_deref(), Some("application/dicom"));
        assert_eq!(header_parameter("multipart/related;boundary=abc", "BOUNDARY").as_deref(), Some("abc"));
        assert_eq!(header_parameter("multipart/related", "boundary"), None);
    }

    #[test]
    fn preamble_epilogue_no_content_length() {
        let body = b"preamble\r\n--b;1\r\nContent-Type: application/dicom\r\n\r\nAB\r\n--b;1\r\n\r\n\r\n--b;1--\r\nepilogue".to_vec();
        let parts = decode(CT, body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].body, b"AB");
        assert_eq!(parts[0].header("Content-Type"), Some("application/dicom"));
        assert_eq!(parts[1].body, b"");
    }

    #[test]
    fn bare_lf_and_binary_with_crlf_inside() {
        let body = b"--x\nContent-Type: a\n\n\r\n--y\r\n\n--x--".to_vec();
        let parts = decode("multipart/related; boundary=x", body).unwrap();
        assert_eq!(parts[0].body, b"\r\n--y\r\n");
    }

    #[test]
    fn truncated_is_an_error() {
        let full = b"--x\r\nContent-Type: a\r\n\r\nDATA\r\n--x--".to_vec();
        for cut in 0..full.len() - 4 {
            let r = decode("multipart/related; boundary=x", full[..cut].to_vec());
            assert!(r.is_err(), "cut at {cut} gave {r:?}");
        }
    }

    #[test]
    fn streaming_yields_each_part_when_its_delimiter_arrives() {
        let body = b"pre\r\n--b;1\r\nContent-Type: application/dicom\r\n\r\nFIRST\r\n--b;1  \r\nContent-Type: application/dicom\r\n\r\nSECOND\r\n--b;1--\r\nepi";
        let whole = decode(CT, body.to_vec()).unwrap();
        // Every split into two pushes, and byte by byte, gives the same parts.
        for cut in 0..body.len() {
            let mut s = MultipartStream::new(CT).unwrap();
            let mut parts = s.push(&body[..cut]).unwrap();
            parts.extend(s.push(&body[cut..]).unwrap());
            s.finish().unwrap();
            assert_eq!(parts, whole, "cut at {cut}");
        }
        let mut s = MultipartStream::new(CT).unwrap();
        let mut seen = Vec::new();
        for (i, byte) in body.iter().enumerate() {
            for part in s.push(&[*byte]).unwrap() {
                seen.push((i, part.body));
            }
        }
        assert!(s.is_complete());
        let first_delimiter_end = find(body, b"FIRST\r\n--b;1", 0).unwrap() + b"FIRST\r\n--b;1".len() - 1;
        assert_eq!(seen[0], (first_delimiter_end, b"FIRST".to_vec()), "the first part is out before the second arrives");
        assert_eq!(seen[1].1, b"SECOND");
    }

    #[test]
    fn binary_parts_full_of_near_delimiters_come_out_whole_in_pieces_of_any_size() {
        // Bodies of line feeds, carriage returns and delimiter prefixes ("\n--", "\r\n--b;"),
        // of sizes that differ part to part (the buffer is sized from the part before).
        let near: &[&[u8]] = &[b"\n", b"\r\n-", b"\n--", b"\r\n--b;", b"\n--b;2", b"--b;1x", b"\x00\xff"];
        let bodies: Vec<Vec<u8>> =
            [300usize, 40, 1000].iter().map(|&n| (0..n).flat_map(|i| near[(i * 3 + n) % near.len()].iter().copied()).collect()).collect();
        assert!(bodies.iter().all(|b| find(b, b"\n--b;1", 0).is_none() && b.len() > 100), "near misses only");
        let parts: Vec<Part> =
            bodies.iter().map(|b| Part { headers: vec![("content-type".into(), "application/dicom".into())], body: b.clone() }).collect();
        let mut body = Vec::new();
        for part in &parts {
            body.extend_from_slice(b"--b;1\r\nContent-Type: application/dicom\r\n\r\n");
            body.extend_from_slice(&part.body);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--b;1--");
        for piece in 1..=70 {
            let mut s = MultipartStream::new(CT).unwrap();
            let mut got = Vec::new();
            for chunk in body.chunks(piece) {
                got.extend(s.push(chunk).unwrap());
            }
            s.finish().unwrap();
            assert_eq!(got, parts, "pieces of {piece}");
        }
    }

    #[test]
    fn a_stream_cut_short_is_truncated_but_its_complete_parts_are_whole() {
        let body = b"--x\r\n\r\nONE\r\n--x\r\n\r\nTWO-AND-MORE";
        let mut s = MultipartStream::new("multipart/related; boundary=x").unwrap();
        let parts = s.push(body).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].body, b"ONE");
        assert_eq!(s.finish(), Err(MultipartError::Truncated));
    }

    #[test]
    fn not_multipart() {
        assert!(matches!(decode("application/dicom", vec![]), Err(MultipartError::NotMultipart(_))));
        assert_eq!(decode("multipart/related", vec![]), Err(MultipartError::NoBoundary));
    }

    #[test]
    fn encode_round_trips_and_avoids_collisions() {
        let tricky =
            Part { headers: vec![("Content-Type".into(), "application/dicom".into())], body: b"--emr-imaging-9e3779b97f4a7c17 x".to_vec() };
        let parts = vec![tricky.clone(), Part { headers: vec![], body: vec![0, 1, 2, 13, 10] }];
        let (body, content_type) = encode("application/dicom", &parts);
        let back = decode(&content_type, body).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].body, tricky.body);
        assert_eq!(back[1].body, vec![0, 1, 2, 13, 10]);
    }
}
