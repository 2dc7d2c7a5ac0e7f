/// The request's Host if it is a plain `host[:port]`, else `127.0.0.1:<port>` when absent.
pub fn own(host: Option<&str>, port: u16) -> Result<String, String> {
    match host.map(str::trim) {
        None | Some("") => Ok(format!("127.0.0.1:{port}")),
        Some(h) if h.len() <= 255 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_:[]".contains(&b)) => Ok(h.to_string()),
        Some(_) => Err("malformed Host header".into()),
    }
}
