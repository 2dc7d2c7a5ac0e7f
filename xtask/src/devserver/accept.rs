/// One media range: essence lower-cased, parameters with lower-cased names and unquoted values.
#[derive(Debug)]
pub struct Range {
    pub essence: String,
    pub params: Vec<(String, String)>,
    pub q: f32,
}

/// Splits on `sep` outside double quotes.
fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

pub fn parse(header: &str) -> Vec<Range> {
    let mut ranges = Vec::new();
    for item in split_outside_quotes(header, ',') {
        let mut pieces = split_outside_quotes(item, ';').into_iter();
        let essence = pieces.next().unwrap_or_default().trim().to_ascii_lowercase();
        if essence.is_empty() {
            continue;
        }
        let mut range = Range { essence, params: Vec::new(), q: 1.0 };
        for piece in pieces {
            let Some((k, v)) = piece.split_once('=') else { continue };
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim();
            let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v).replace("\\\"", "\"");
            if k == "q" {
                range.q = v.parse().unwrap_or(0.0);
            } else {
                range.params.push((k, v));
            }
        }
        ranges.push(range);
    }
    // Preference order; stable so equal q keeps the client's order.
    ranges.sort_by(|a, b| b.q.partial_cmp(&a.q).unwrap_or(std::cmp::Ordering::Equal));
    ranges
}

impl Range {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Whether whole instances in Explicit VR Little Endian, as multipart/related, are acceptable.
pub fn dicom_multipart(header: Option<&str>) -> bool {
    let Some(header) = header.filter(|h| !h.trim().is_empty()) else { return true };
    parse(header).iter().filter(|r| r.q > 0.0).any(|r| match r.essence.as_str() {
        "*/*" => true,
        "multipart/related" | "multipart/*" => {
            let type_ok = r.param("type").is_none_or(|t| t.eq_ignore_ascii_case("application/dicom"));
            let ts_ok = r.param("transfer-syntax").is_none_or(|ts| ts == "*" || ts == "1.2.840.10008.1.2.1");
            type_ok && ts_ok
        }
        _ => false,
    })
}

/// The JSON media type to answer a QIDO search with, or None (406).
pub fn dicom_json(header: Option<&str>) -> Option<&'static str> {
    let Some(header) = header.filter(|h| !h.trim().is_empty()) else { return Some("application/dicom+json") };
    parse(header).iter().filter(|r| r.q > 0.0).find_map(|r| match r.essence.as_str() {
        "application/dicom+json" | "application/*" | "*/*" => Some("application/dicom+json"),
        "application/json" => Some("application/json"),
        _ => None,
    })
}
