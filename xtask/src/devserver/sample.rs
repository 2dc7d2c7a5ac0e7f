use super::{accept, query, Reply};
use crate::testdata::{self, Dataset, Instance, Patient, Series, Study};
use serde_json::{json, Value};

const FHIR_JSON: &str = "application/fhir+json";

pub struct Request<'a> {
    pub method: &'a str,
    pub host: &'a str,
    pub segments: &'a [String],
    pub params: &'a [(String, String)],
    pub raw_query: Option<&'a str>,
}

impl Request<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn params<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.params.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn is_read(&self) -> bool {
        matches!(self.method, "GET" | "HEAD")
    }
}

fn outcome(status: u16, code: &str, text: &str) -> Reply {
    let body = json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": "error", "code": code, "diagnostics": text }]
    });
    Reply::json(status, FHIR_JSON, &body)
}

fn capability_statement() -> Value {
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2024-01-01",
        "kind": "instance",
        "software": { "name": "emr-imaging dev server (sample data)" },
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "resource": [
                { "type": "Patient", "interaction": [{ "code": "read" }, { "code": "search-type" }],
                  "searchParam": [{ "name": "_id", "type": "token" }, { "name": "identifier", "type": "token" }] },
                { "type": "ImagingStudy", "interaction": [{ "code": "read" }, { "code": "search-type" }],
                  "searchInclude": ["ImagingStudy:endpoint"],
                  "searchParam": [{ "name": "patient", "type": "reference" }, { "name": "subject", "type": "reference" }] },
                { "type": "Endpoint", "interaction": [{ "code": "read" }, { "code": "search-type" }] }
            ]
        }]
    })
}

/// `id`, `Patient/id` or `http://…/Patient/id` → `id`.
fn reference_id<'a>(value: &'a str, resource_type: &str) -> &'a str {
    let marker = format!("{resource_type}/");
    match value.rfind(&marker) {
        Some(at) => &value[at + marker.len()..],
        None => value,
    }
}

fn matches_params(resource: &Value, rtype: &str, rq: &Request<'_>) -> bool {
    rq.params.iter().all(|(k, v)| match (rtype, k.as_str()) {
        (_, "_id") => v.split(',').any(|id| resource["id"] == id),
        ("ImagingStudy" | "DiagnosticReport", "patient" | "subject") => v
            .split(',')
            .any(|p| resource["subject"]["reference"].as_str() == Some(format!("Patient/{}", reference_id(p, "Patient")).as_str())),
        ("Patient" | "ImagingStudy", "identifier") => v.split(',').any(|token| {
            let (system, value) = token.split_once('|').map_or((None, token), |(s, v)| (Some(s), v));
            resource["identifier"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|i| i["value"] == value && system.is_none_or(|s| s.is_empty() || i["system"] == s))
        }),
        // Unknown parameters are ignored, as lenient FHIR servers do.
        _ => true,
    })
}

fn search(resources: &[Value], rtype: &str, rq: &Request<'_>, base: &str) -> Reply {
    let count = match rq.param("_count").map(str::parse::<usize>).transpose() {
        Ok(c) => c.unwrap_or(100).min(1000),
        Err(_) => return outcome(400, "invalid", "_count must be a number"),
    };
    let offset = match rq.param("_offset").map(str::parse::<usize>).transpose() {
        Ok(o) => o.unwrap_or(0),
        Err(_) => return outcome(400, "invalid", "_offset must be a number"),
    };
    let matches: Vec<&Value> = resources.iter().filter(|r| r["resourceType"] == rtype && matches_params(r, rtype, rq)).collect();
    let page: Vec<&Value> = matches.iter().skip(offset).take(count).copied().collect();
    let full_url = |r: &Value| format!("{base}/{}/{}", r["resourceType"].as_str().unwrap_or(""), r["id"].as_str().unwrap_or(""));
    let mut entries: Vec<Value> =
        page.iter().map(|r| json!({ "fullUrl": full_url(r), "resource": r, "search": { "mode": "match" } })).collect();
    let include_endpoints = rtype == "ImagingStudy" && rq.params("_include").any(|i| i == "ImagingStudy:endpoint" || i == "*");
    if include_endpoints {
        let mut seen: Vec<&str> = Vec::new();
        for study in &page {
            for reference in study["endpoint"].as_array().into_iter().flatten().filter_map(|e| e["reference"].as_str()) {
                let id = reference_id(reference, "Endpoint");
                if seen.contains(&id) {
                    continue;
                }
                seen.push(id);
                if let Some(endpoint) = resources.iter().find(|r| r["resourceType"] == "Endpoint" && r["id"] == id) {
                    entries.push(json!({ "fullUrl": full_url(endpoint), "resource": endpoint, "search": { "mode": "include" } }));
                }
            }
        }
    }
    let self_url = match rq.raw_query {
        Some(q) if !q.is_empty() => format!("{base}/{rtype}?{q}"),
        _ => format!("{base}/{rtype}"),
    };
    let mut links = vec![json!({ "relation": "self", "url": self_url })];
    if count > 0 && offset + count < matches.len() {
        let mut params: Vec<(String, String)> = rq.params.iter().filter(|(k, _)| k != "_offset").cloned().collect();
        params.push(("_offset".into(), (offset + count).to_string()));
        links.push(json!({ "relation": "next", "url": format!("{base}/{rtype}?{}", query::encode(&params)) }));
    }
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": matches.len(),
        "link": links,
        "entry": entries,
    });
    Reply::json(200, FHIR_JSON, &bundle)
}

pub fn fhir(ds: &Dataset, rq: &Request<'_>) -> Reply {
    if !rq.is_read() {
        return outcome(405, "not-supported", "the sample FHIR server is read-only").header("Allow", "GET, HEAD");
    }
    let base = format!("http://{}/fhir", rq.host);
    let mut resources = testdata::fhir_resources(ds, &format!("http://{}/dicom-web", rq.host));
    // The viewer's report panel has something to show on the first CT.
    resources.extend(testdata::viewer::report(ds));
    let known = |t: &str| matches!(t, "Patient" | "ImagingStudy" | "Endpoint" | "DiagnosticReport");
    match rq.segments {
        [m] if m == "metadata" => Reply::json(200, FHIR_JSON, &capability_statement()),
        [t] if known(t) => search(&resources, t, rq, &base),
        [t, id] if known(t) => match resources.iter().find(|r| r["resourceType"] == t.as_str() && r["id"] == id.as_str()) {
            Some(resource) => Reply::json(200, FHIR_JSON, resource),
            None => outcome(404, "not-found", &format!("{t}/{id} is not known")),
        },
        [t, ..] if !known(t) => outcome(404, "not-supported", &format!("resource type {t} is not served here")),
        _ => outcome(404, "not-found", "no such FHIR interaction"),
    }
}

// --- DICOMweb -------------------------------------------------------------------------

/// A DICOM JSON attribute (PS3.18 F.2): `{"vr": …, "Value": […]}`, no `Value` when empty.
fn attr(vr: &str, values: Vec<Value>) -> Value {
    if values.is_empty() {
        json!({ "vr": vr })
    } else {
        json!({ "vr": vr, "Value": values })
    }
}

fn string(vr: &str, value: &str) -> Value {
    attr(vr, if value.is_empty() { vec![] } else { vec![json!(value)] })
}

fn number(vr: &str, value: usize) -> Value {
    attr(vr, vec![json!(value)])
}

pub fn study_json(p: &Patient, s: &Study, base: &str) -> Value {
    let mut modalities: Vec<Value> = Vec::new();
    for se in &s.series {
        if !modalities.contains(&json!(se.modality)) {
            modalities.push(json!(se.modality));
        }
    }
    let instances: usize = s.series.iter().map(|se| se.instances.len()).sum();
    json!({
        "00080005": string("CS", "ISO_IR 192"),
        "00080020": string("DA", &s.date),
        "00080030": string("TM", &s.time),
        "00080050": string("SH", &s.accession),
        "00080061": attr("CS", modalities),
        "00081030": string("LO", &s.description),
        "00081190": string("UR", &format!("{base}/studies/{}", s.uid)),
        "00100010": attr("PN", vec![json!({ "Alphabetic": p.dicom_name() })]),
        "00100020": string("LO", &p.mrn),
        "00100030": string("DA", &p.birth_date.replace('-', "")),
        "00100040": string("CS", &p.sex),
        "0020000D": string("UI", &s.uid),
        "00201206": number("IS", s.series.len()),
        "00201208": number("IS", instances),
    })
}

pub fn series_json(s: &Study, se: &Series, base: &str) -> Value {
    json!({
        "00080060": string("CS", &se.modality),
        "0008103E": string("LO", &se.description),
        "00081190": string("UR", &format!("{base}/studies/{}/series/{}", s.uid, se.uid)),
        "0020000D": string("UI", &s.uid),
        "0020000E": string("UI", &se.uid),
        "00200011": number("IS", se.number as usize),
        "00201209": number("IS", se.instances.len()),
    })
}

pub fn instance_json(s: &Study, se: &Series, i: &Instance, base: &str) -> Value {
    let mut found = json!({
        "00080016": string("UI", &i.sop_class_uid),
        "00080018": string("UI", &i.sop_instance_uid),
        "00081190": string("UR", &format!("{base}/studies/{}/series/{}/instances/{}", s.uid, se.uid, i.sop_instance_uid)),
        "0020000D": string("UI", &s.uid),
        "0020000E": string("UI", &se.uid),
        "00200013": number("IS", i.number as usize),
    });
    // A document (a Key Object Selection) has no Rows or Columns.
    if i.rows > 0 {
        found["00280010"] = number("US", i.rows as usize);
        found["00280011"] = number("US", i.columns as usize);
    }
    found
}

/// `*` and `?` wildcards (PS3.4 C.2.2.2.4), otherwise exact.
fn wildcard(pattern: &str, value: &str) -> bool {
    fn go(p: &[char], v: &[char]) -> bool {
        match (p.first(), v.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], v) || (!v.is_empty() && go(p, &v[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &v[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &v[1..]),
            _ => false,
        }
    }
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    go(&p, &v)
}

/// Does a QIDO query key (keyword or tag) with `value` match this object's attribute?
fn qido_matches(object: &Value, rq: &Request<'_>, keys: &[(&str, &str)]) -> bool {
    rq.params.iter().all(|(k, v)| {
        let Some((_, tag)) = keys.iter().find(|(keyword, tag)| k == keyword || k.eq_ignore_ascii_case(tag)) else {
            return true; // limit, offset, includefield, fuzzymatching and unknown keys
        };
        if v.is_empty() {
            return true; // universal matching
        }
        let values: Vec<String> = object[tag]["Value"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| match x {
                Value::String(s) => s.clone(),
                Value::Object(pn) => pn.get("Alphabetic").and_then(Value::as_str).unwrap_or("").to_string(),
                other => other.to_string(),
            })
            .collect();
        // UID lists are comma-separated (PS3.18 8.3.4.1).
        v.split(',').any(|wanted| values.iter().any(|have| wildcard(wanted, have)))
    })
}

fn page(mut objects: Vec<Value>, rq: &Request<'_>) -> Result<Vec<Value>, Reply> {
    let number = |name: &str| rq.param(name).map(str::parse::<usize>).transpose();
    let (Ok(offset), Ok(limit)) = (number("offset"), number("limit")) else {
        return Err(Reply::text(400, "offset and limit must be numbers"));
    };
    let offset = offset.unwrap_or(0).min(objects.len());
    objects.drain(..offset);
    if let Some(limit) = limit {
        objects.truncate(limit);
    }
    Ok(objects)
}

fn qido(objects: Vec<Value>, rq: &Request<'_>, accept_header: Option<&str>) -> Reply {
    let Some(content_type) = accept::dicom_json(accept_header) else {
        return Reply::text(406, "QIDO-RS answers application/dicom+json");
    };
    match page(objects, rq) {
        Ok(objects) => Reply::json(200, content_type, &Value::Array(objects)),
        Err(reply) => reply,
    }
}

const STUDY_KEYS: &[(&str, &str)] = &[
    ("PatientID", "00100020"),
    ("StudyInstanceUID", "0020000D"),
    ("AccessionNumber", "00080050"),
    ("StudyDate", "00080020"),
    ("ModalitiesInStudy", "00080061"),
    ("PatientName", "00100010"),
];
const SERIES_KEYS: &[(&str, &str)] = &[("SeriesInstanceUID", "0020000E"), ("Modality", "00080060"), ("SeriesNumber", "00200011")];
const INSTANCE_KEYS: &[(&str, &str)] = &[("SOPInstanceUID", "00080018"), ("SOPClassUID", "00080016"), ("InstanceNumber", "00200013")];

fn find_study<'a>(ds: &'a Dataset, uid: &str) -> Option<(&'a Patient, &'a Study)> {
    ds.patients.iter().flat_map(|p| p.studies.iter().map(move |s| (p, s))).find(|(_, s)| s.uid == uid)
}

/// multipart/related with one `application/dicom` part per instance (RFC 2387, PS3.18 8.6.1.2).
pub fn multipart(parts: &[&[u8]]) -> (String, Vec<u8>) {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut salt = 0u64;
    let boundary = loop {
        let mut h = DefaultHasher::new();
        (salt, parts.len(), parts.first().map(|p| p.len())).hash(&mut h);
        let candidate = format!("emr-imaging-{:016x}", h.finish());
        let needle = candidate.as_bytes();
        if !parts.iter().any(|p| p.windows(needle.len()).any(|w| w == needle)) {
            break candidate;
        }
        salt += 1;
    };
    let mut body = Vec::with_capacity(parts.iter().map(|p| p.len() + 128).sum::<usize>() + 64);
    for part in parts {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Type: application/dicom\r\nContent-Length: {}\r\n\r\n", part.len()).as_bytes(),
        );
        body.extend_from_slice(part);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (boundary, body)
}

fn wado(instances: Vec<&Instance>, accept_header: Option<&str>) -> Reply {
    if !accept::dicom_multipart(accept_header) {
        return Reply::text(406, "WADO-RS here serves multipart/related; type=\"application/dicom\" in Explicit VR Little Endian only");
    }
    let parts: Vec<&[u8]> = instances.iter().map(|i| i.part10.as_slice()).collect();
    let (boundary, body) = multipart(&parts);
    Reply::new(200, &format!("multipart/related; type=\"application/dicom\"; boundary={boundary}"), body)
}

pub fn dicomweb(ds: &Dataset, rq: &Request<'_>, accept_header: Option<&str>) -> Reply {
    if !rq.is_read() {
        return Reply::text(405, "the sample DICOMweb server is read-only").header("Allow", "GET, HEAD");
    }
    let base = format!("http://{}/dicom-web", rq.host);
    let seg: Vec<&str> = rq.segments.iter().map(String::as_str).collect();
    let not_found = |what: &str| Reply::text(404, &format!("no such {what}"));
    match seg.as_slice() {
        ["studies"] => {
            let base = &base;
            let objects = ds
                .patients
                .iter()
                .flat_map(|p| p.studies.iter().map(move |s| study_json(p, s, base)))
                .filter(|o| qido_matches(o, rq, STUDY_KEYS))
                .collect();
            qido(objects, rq, accept_header)
        }
        ["studies", study, rest @ ..] => {
            let Some((_, s)) = find_study(ds, study) else { return not_found("study") };
            match rest {
                [] => wado(s.series.iter().flat_map(|se| &se.instances).collect(), accept_header),
                ["series"] => {
                    let objects =
                        s.series.iter().map(|se| series_json(s, se, &base)).filter(|o| qido_matches(o, rq, SERIES_KEYS)).collect();
                    qido(objects, rq, accept_header)
                }
                ["series", series, rest @ ..] => {
                    let Some(se) = s.series.iter().find(|se| se.uid == *series) else { return not_found("series") };
                    match rest {
                        [] => wado(se.instances.iter().collect(), accept_header),
                        ["instances"] => {
                            let objects = se
                                .instances
                                .iter()
                                .map(|i| instance_json(s, se, i, &base))
                                .filter(|o| qido_matches(o, rq, INSTANCE_KEYS))
                                .collect();
                            qido(objects, rq, accept_header)
                        }
                        ["instances", instance] => match se.instances.iter().find(|i| i.sop_instance_uid == *instance) {
                            Some(i) => wado(vec![i], accept_header),
                            None => not_found("instance"),
                        },
                        _ => Reply::text(404, "not served by the sample DICOMweb server (no metadata, frames or rendered)"),
                    }
                }
                _ => Reply::text(404, "not served by the sample DICOMweb server"),
            }
        }
        _ => Reply::text(404, "not served by the sample DICOMweb server"),
    }
}
