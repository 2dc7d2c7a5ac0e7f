use std::path::PathBuf;

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `%XX` escapes → bytes; a malformed escape is an error, not passed through.
pub fn percent_decode(s: &str, plus_is_space: bool) -> Result<String, &'static str> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex);
                let lo = bytes.get(i + 2).copied().and_then(hex);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => return Err("malformed percent-escape"),
                }
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "percent-escapes are not UTF-8")
}

/// Decoded, non-empty path segments; `..`, `.`, NUL and backslashes are refused so no
/// segment can step outside its root, whatever the server behind it does with them.
pub fn segments(path: &str) -> Result<Vec<String>, &'static str> {
    let mut out = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        let segment = percent_decode(raw, false)?;
        if segment == "." || segment == ".." || segment.contains(['/', '\\', '\0']) {
            return Err("path segment not allowed");
        }
        out.push(segment);
    }
    Ok(out)
}

/// A request path → a relative file path with no way out of the root: also no hidden
/// files (`.git`, `.env`).
pub fn relative_file(path: &str) -> Result<PathBuf, &'static str> {
    let segments = segments(path)?;
    if segments.iter().any(|s| s.starts_with('.') || s.contains(':')) {
        return Err("path segment not allowed");
    }
    Ok(segments.iter().collect())
}
