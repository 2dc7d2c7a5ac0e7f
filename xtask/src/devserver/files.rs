use super::{paths, Body, Reply, State, CSP};

pub fn content_type(name: &str) -> &'static str {
    let name = name.to_ascii_lowercase();
    if name.ends_with(".d.ts") || name.ends_with(".ts") {
        return "application/typescript; charset=utf-8";
    }
    match name.rsplit_once('.').map(|(_, ext)| ext).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        "dcm" => "application/dicom",
        _ => "application/octet-stream",
    }
}

pub fn serve(state: &State, path: &str) -> Reply {
    let (root, rest) = match super::under(path, "/pkg") {
        Some(rest) => (&state.pkg, rest),
        None => (&state.www, path),
    };
    let relative = match paths::relative_file(rest) {
        Ok(r) => r,
        Err(e) => return Reply::text(400, e),
    };
    let mut file = root.join(relative);
    if file.is_dir() {
        file = file.join("index.html");
    }
    // Symlinks may not lead out of the root either.
    let inside = match (file.canonicalize(), root.canonicalize()) {
        (Ok(f), Ok(r)) => f.starts_with(r),
        _ => false,
    };
    let opened = std::fs::File::open(&file).ok().filter(|_| inside);
    let Some((handle, len)) = opened.and_then(|f| f.metadata().ok().filter(|m| m.is_file()).map(|m| (f, m.len()))) else {
        // Browsers ask for a favicon by themselves; a 404 would be a console error that the
        // end-to-end tests count as a failure.
        if path == "/favicon.ico" {
            return Reply::empty(204).header("Cache-Control", "max-age=3600");
        }
        return Reply::text(404, "not found");
    };
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let ctype = content_type(name);
    let mut reply = Reply {
        status: 200,
        headers: vec![
            ("Content-Type".into(), ctype.into()),
            ("Cache-Control".into(), "no-cache".into()),
            ("X-Content-Type-Options".into(), "nosniff".into()),
        ],
        body: Body::Stream(Box::new(handle), usize::try_from(len).ok()),
    };
    if ctype.starts_with("text/html") {
        reply.headers.push(("Content-Security-Policy".into(), CSP.into()));
    }
    reply
}
