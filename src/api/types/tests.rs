//! The `.d.ts` against what the Rust side sends, key by key: a field added on one side only
//! fails here.

// Test helpers may unwrap (clippy's test allowance does not see this module's combined cfg).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::TS_TYPES;
use crate::api::error::{ErrorCode, ERROR_FIELDS};
use crate::api::events::{Event, ImageDisplayed};
use crate::bridge::{InstanceRef, SeriesRef, Source, Study};
use std::collections::{BTreeMap, BTreeSet};

/// The declarations without their comments.
fn declarations() -> String {
    let mut out = String::new();
    let mut rest = TS_TYPES;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("*/").map(|e| start + e + 2).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The text between the brace at `open` and its partner.
fn braced(text: &str, open: usize) -> &str {
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced braces after {open}")
}

/// `a: T; b?: U` → {a: required, b: optional}, splitting only at the top level.
fn members(body: &str) -> BTreeMap<String, bool> {
    typed_members(body).into_iter().map(|(name, (required, _))| (name, required)).collect()
}

/// `a: T; b?: U` → {a: (required, T), b: (optional, U)}.
fn typed_members(body: &str) -> BTreeMap<String, (bool, String)> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in body.char_indices() {
        match c {
            '(' | '{' | '<' | '[' => depth += 1,
            ')' | '}' | '>' | ']' if !body[..i].ends_with('=') => depth -= 1,
            ';' | ',' if depth == 0 => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, ty) = p.split_once(':').unwrap_or((p, ""));
            let name = name.trim();
            let optional = name.ends_with('?');
            (name.trim_end_matches('?').trim_matches('"').to_string(), (!optional, ty.trim().to_string()))
        })
        .collect()
}

/// The members of `export interface {name}`, each `true` when required.
fn interface(name: &str) -> BTreeMap<String, bool> {
    typed_interface(name).into_iter().map(|(member, (required, _))| (member, required)).collect()
}

/// The members of `export interface {name}` with their types.
fn typed_interface(name: &str) -> BTreeMap<String, (bool, String)> {
    let text = declarations();
    let head = format!("export interface {name} ");
    let at = text.find(&head).unwrap_or_else(|| panic!("no interface {name}"));
    let open = at + text[at..].find('{').unwrap();
    typed_members(braced(&text, open))
}

/// The right-hand side of `export type {name} = …;`.
fn type_alias(name: &str) -> String {
    let text = declarations();
    let head = format!("export type {name} =");
    let at = text.find(&head).unwrap_or_else(|| panic!("no type {name}"));
    let rest = &text[at + head.len()..];
    let mut depth = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '{' | '(' => depth += 1,
            '}' | ')' => depth -= 1,
            ';' if depth == 0 => return rest[..i].to_string(),
            _ => {}
        }
    }
    panic!("type {name} has no end")
}

/// `"a" | "b"` → {a, b}.
fn string_union(name: &str) -> BTreeSet<String> {
    type_alias(name).split('|').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.trim_matches('"').to_string()).collect()
}

fn keys(value: &serde_json::Value) -> BTreeSet<String> {
    value.as_object().expect("an object").keys().cloned().collect()
}

/// `full` (every field set) has exactly the declared keys; `minimal` (every optional field
/// unset) has every required one, and lacks only optional ones.
fn assert_matches(name: &str, full: &serde_json::Value, minimal: &serde_json::Value) {
    let declared = interface(name);
    let all: BTreeSet<String> = declared.keys().cloned().collect();
    assert_eq!(keys(full), all, "{name}: the keys Rust sends (left) against the .d.ts (right)");
    for (key, required) in &declared {
        let present = minimal.get(key).is_some();
        assert!(present || !required, "{name}.{key} is declared required but Rust may leave it out");
        assert!(!present || *required || minimal[key].is_null(), "{name}.{key} is always sent: declare it required");
    }
}

fn instance() -> InstanceRef {
    InstanceRef { uid: "1.2.3.1.1".into(), number: Some(1), sop_class: Some("1.2.840.10008.5.1.4.1.1.2".into()) }
}

fn series(full: bool) -> SeriesRef {
    SeriesRef {
        uid: "1.2.3.1".into(),
        number: full.then_some(1),
        modality: full.then(|| "CT".into()),
        description: full.then(|| "axial".into()),
        number_of_instances: full.then_some(1),
        instances: vec![instance()],
        body_site: full.then(|| "51185008".into()),
        dicomweb_base: full.then(|| "https://pacs.example/dicom-web".into()),
        service: None,
        endpoints: Vec::new(),
    }
}

fn study(full: bool) -> Study {
    Study {
        study_uid: "1.2.3".into(),
        fhir_id: "s1".into(),
        accession: full.then(|| "A1".into()),
        started: full.then(|| "2026-01-02T03:04:05Z".into()),
        description: full.then(|| "CT head".into()),
        modalities: vec!["CT".into()],
        status: full.then(|| "available".into()),
        number_of_series: full.then_some(1),
        number_of_instances: full.then_some(1),
        series: vec![series(full)],
        dicomweb_base: full.then(|| "https://pacs.example/dicom-web".into()),
        iid_viewer: full.then(|| "https://diag.example/IHEInvokeImageDisplay".into()),
        source: Source::Enriched,
        resource: serde_json::json!({ "resourceType": "ImagingStudy" }),
        service: None,
        unavailable: None,
        patient_id: None,
    }
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

#[test]
fn study_series_and_instance_match_their_declarations() {
    let (full, minimal) = (json(&study(true)), json(&study(false)));
    assert_matches("Study", &full, &minimal);
    assert_matches("Series", &full["series"][0], &minimal["series"][0]);
    assert_matches("Instance", &full["series"][0]["instances"][0], &json(&instance()));
}

#[test]
fn every_study_source_kind_is_declared_with_its_fields() {
    let declared: BTreeMap<String, BTreeSet<String>> = type_alias("StudySource")
        .split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|variant| {
            let body = braced(variant, variant.find('{').unwrap());
            let fields = members(body);
            let kind = variant.split("kind:").nth(1).unwrap().split(['"', ';', '}']).find(|s| !s.trim().is_empty()).unwrap();
            (kind.trim().to_string(), fields.into_keys().collect())
        })
        .collect();
    let sent: BTreeMap<String, BTreeSet<String>> = [
        Source::FhirOnly,
        Source::Enriched,
        Source::NoEndpoint,
        Source::PacsOnly,
        Source::PacsUnreachable { message: "down".into() },
        Source::InvalidEndpoint { message: "data: is not http(s)".into() },
    ]
    .iter()
    .map(|s| {
        let value = json(s);
        (value["kind"].as_str().unwrap().to_string(), keys(&value))
    })
    .collect();
    assert_eq!(sent, declared, "Source variants (left) against StudySource (right)");
}

#[test]
fn error_codes_and_fields_match_the_declarations() {
    let codes: BTreeSet<String> = ErrorCode::ALL.iter().map(|c| c.as_str().to_string()).collect();
    assert_eq!(codes, string_union("EMRImagingErrorCode"));
    let fields: BTreeSet<String> = ERROR_FIELDS.iter().map(|f| f.to_string()).collect();
    let declared = interface("EMRImagingError");
    assert_eq!(fields, declared.keys().cloned().collect::<BTreeSet<_>>());
    assert_eq!(declared.get("status"), Some(&true), "status is always set (null without an HTTP answer)");
}

#[test]
fn events_and_their_details_match_the_declarations() {
    let names: BTreeSet<String> = Event::ALL.iter().map(|e| e.as_str().to_string()).collect();
    let map = interface("EMRImagingEventMap");
    assert_eq!(names, map.keys().cloned().collect::<BTreeSet<_>>());
    let detail = ImageDisplayed { study_uid: "1", series_uid: "2", instance_uid: "3", lossy: false };
    assert_matches("ImageDisplayedDetail", &json(&detail), &json(&detail));
    // The detail types the map names are the ones checked here and above.
    let text = declarations();
    for (event, detail) in [
        ("image-displayed", "ImageDisplayedDetail"),
        ("error", "EMRImagingError"),
        ("study-open", "Study"),
        ("audit", "AuditEventDetail"),
        ("context", "ContextDetail"),
        ("series-loaded", "SeriesLoadedDetail"),
    ] {
        assert!(text.contains(&format!("\"{event}\": {detail};")), "{event} carries {detail}");
    }
}

#[test]
fn iid_url_request_declares_the_parameters_the_parser_accepts() {
    use crate::launch::iid::{Param, ParamKind, RequestType, ViewerType};
    let declared = typed_interface("IidUrlRequest");
    let names: BTreeSet<&str> = Param::ALL.iter().map(|p| p.name()).collect();
    assert_eq!(declared.keys().map(String::as_str).collect::<BTreeSet<_>>(), names, "IidUrlRequest (left) against launch::iid::Param");
    let quoted = |values: &[&str]| values.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(" | ");
    for param in Param::ALL {
        let (required, ty) = &declared[param.name()];
        assert_eq!(*required, param == Param::RequestType, "{}: only requestType is required", param.name());
        let expected = match (param, param.kind()) {
            (Param::RequestType, _) => quoted(&RequestType::ALL.map(RequestType::as_str)),
            (Param::ViewerType, _) => quoted(&[ViewerType::IheBir.as_str()]),
            (_, ParamKind::Text) => "string".into(),
            (_, ParamKind::List) => "string[]".into(),
            (_, ParamKind::Flag) => "boolean".into(),
            (_, ParamKind::Count) => "number".into(),
        };
        assert_eq!(ty, &expected, "{}'s declared type", param.name());
    }
}

#[test]
fn the_parser_reads_what_it_is_given() {
    // The helpers above must not pass by reading nothing.
    assert!(interface("Study").len() >= 13);
    assert_eq!(
        members("a: string; b?: (x: number) => void; c: { d: 1 }"),
        BTreeMap::from([("a".to_string(), true), ("b".to_string(), false), ("c".to_string(), true)])
    );
    assert_eq!(string_union("EMRImagingErrorCode").len(), ErrorCode::ALL.len());
}

#[test]
fn the_custom_element_declares_every_dom_event() {
    let element = include_str!("../../../js/element.d.ts");
    for event in Event::ALL {
        assert!(element.contains(&format!("'emr-imaging:{event}': CustomEvent<")), "element.d.ts lacks emr-imaging:{event}");
    }
    let declared = element.matches("'emr-imaging:").count();
    // Every event we emit, plus the one the host sends in (`emr-imaging:token`).
    assert_eq!(declared, Event::ALL.len() + 1, "element.d.ts declares an event we do not emit");
}

#[test]
fn option_and_theme_keys_match_the_declarations() {
    use crate::api::keys::{OptionKey, ThemeKey};
    let read: BTreeSet<String> = OptionKey::ALL.iter().map(|k| k.as_str().to_string()).collect();
    let declared = interface("EMRImagingOptions");
    assert_eq!(read, declared.keys().cloned().collect::<BTreeSet<_>>(), "keys options.rs reads (left) against EMRImagingOptions (right)");
    assert_eq!(declared.iter().filter(|(_, required)| **required).map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["fhirBaseUrl"]);
    let colours: BTreeSet<String> = ThemeKey::ALL.iter().map(|k| k.as_str().to_string()).collect();
    assert_eq!(colours, interface("EMRImagingTheme").keys().cloned().collect::<BTreeSet<_>>());
}

#[test]
fn the_viewer_messages_declare_every_message_type() {
    use crate::launch::MessageType;
    let messages = include_str!("../../../js/viewer/messages.d.ts");
    let declared: BTreeSet<String> =
        messages.split("type: '").skip(1).filter_map(|rest| rest.split('\'').next()).map(str::to_string).collect();
    let ours: BTreeSet<String> = MessageType::ALL.iter().map(|t| t.as_str().to_string()).collect();
    assert_eq!(ours, declared, "MessageType (left) against messages.d.ts (right)");
}

#[test]
fn an_upload_detail_has_the_declared_fields_and_outcomes() {
    use crate::api::events::{UploadDetail, UploadOutcome};
    let detail =
        UploadDetail { name: "a.dcm", sop_instance_uid: Some("1.2"), study_uid: None, outcome: "stored", code: None, reason: None };
    let sent: BTreeSet<String> = json(&detail).as_object().unwrap().keys().cloned().collect();
    let declared = typed_interface("UploadDetail");
    assert_eq!(sent, declared.keys().cloned().collect::<BTreeSet<_>>(), "UploadDetail (left) against the declaration (right)");
    let outcomes: BTreeSet<String> = declared["outcome"].1.split('|').map(|s| s.trim().trim_matches('"').to_string()).collect();
    assert_eq!(outcomes, UploadOutcome::ALL.iter().map(|o| o.as_str().to_string()).collect::<BTreeSet<_>>());
    let options: BTreeSet<String> = interface("EMRImagingUploadOptions").into_keys().collect();
    assert_eq!(options, ["createImagingStudy", "stowBaseUrl"].map(String::from).into());
}

#[test]
fn an_audit_event_has_the_declared_fields() {
    use crate::audit::{audit_event, Access, AccessKind, Actor};
    let declared = interface("AuditEventDetail");
    let event = audit_event(&Access::new(AccessKind::Query, Some("p".into())), &Actor::new(None, None, None, "http://f/"), "id", 0.0);
    for (field, required) in declared.iter().filter(|(k, _)| !k.starts_with('[')) {
        assert!(!required || event.get(field).is_some(), "AuditEventDetail.{field} is not in the AuditEvent");
    }
    assert!(declared.contains_key("outcome") && declared.contains_key("recorded"));
}

#[test]
fn measurements_match_their_declarations() {
    use crate::imaging::measure::{Calibration, MeasureKind, MeasuredValues, Measurement, MeasurementReport, Point, RegionStats};
    let kinds =
        [MeasureKind::Length, MeasureKind::Angle, MeasureKind::Ellipse, MeasureKind::Rectangle, MeasureKind::Arrow, MeasureKind::Text];
    let sent: BTreeSet<String> = kinds.iter().map(|k| json(k).as_str().unwrap().to_string()).collect();
    let declared: BTreeSet<String> =
        typed_interface("Measurement")["kind"].1.split('|').map(|s| s.trim().trim_matches('"').to_string()).collect();
    assert_eq!(sent, declared, "MeasureKind (left) against Measurement.kind (right)");

    let measurement = Measurement {
        id: 1,
        kind: MeasureKind::Ellipse,
        study_uid: "1".into(),
        series_uid: "1.1".into(),
        instance_uid: "1.1.1".into(),
        frame: 0,
        points: vec![Point { x: 1.0, y: 2.0 }, Point { x: 3.0, y: 4.0 }],
        text: None,
    };
    let labelled = Measurement { text: Some("a".into()), ..measurement.clone() };
    let stats = RegionStats { area: 1.0, pixels: 1, mean: Some(1.0), sd: Some(0.0), min: Some(1.0), max: Some(1.0) };
    let full = MeasuredValues {
        length: Some(1.0),
        angle_degrees: Some(1.0),
        area: Some(1.0),
        stats: Some(stats),
        unit: Some("mm²"),
        value_unit: Some("HU".into()),
        calibration: Calibration::Patient { row_mm: 0.5, column_mm: 0.5 },
        caveat: None,
    };
    let minimal =
        MeasuredValues { length: None, angle_degrees: None, area: None, stats: None, unit: None, value_unit: None, ..full.clone() };
    let report = |measurement, values| json(&MeasurementReport { measurement, values, label: "x".into() });
    assert_matches("Measurement", &report(&labelled, &full), &report(&measurement, &minimal));
    assert_matches("MeasuredValues", &json(&full), &json(&minimal));
    assert_matches("RegionStats", &json(&stats), &json(&stats));
    assert_eq!(keys(&report(&measurement, &full)["points"][0]), ["x".to_string(), "y".to_string()].into());
    // Every calibration kind is declared with its fields.
    let declared = typed_interface("MeasuredValues")["calibration"].1.clone();
    for cal in [
        Calibration::Patient { row_mm: 1.0, column_mm: 1.0 },
        Calibration::Detector { row_mm: 1.0, column_mm: 1.0, magnification: None },
        Calibration::Uncalibrated,
    ] {
        let value = json(&cal);
        let kind = value["kind"].as_str().unwrap();
        // The variant is the braced object that names this kind (its own `|`s are inside).
        let at = declared.find(&format!("\"{kind}\"")).unwrap_or_else(|| panic!("{kind} not declared"));
        let variant = &declared[declared[..at].rfind('{').unwrap()..];
        let fields: BTreeSet<String> = members(braced(variant, 0)).into_keys().collect();
        assert_eq!(keys(&value), fields, "calibration {kind}");
    }
}

#[test]
fn the_smart_launch_declarations_match_the_settings_and_the_context() {
    use crate::api::smart_face::{launch_context_json, LAUNCH_MEMBERS};
    use crate::launch::smart::{LaunchContext, StudyRef, SETTINGS};
    let declared = interface("SmartLaunchConfig");
    let accepted: BTreeSet<String> = SETTINGS.iter().chain(LAUNCH_MEMBERS.iter()).map(|k| k.to_string()).collect();
    assert_eq!(declared.keys().cloned().collect::<BTreeSet<_>>(), accepted, "SmartLaunchConfig (left) against the settings read");
    assert_eq!(declared.iter().filter(|(_, required)| **required).map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["clientId"]);
    let full = LaunchContext {
        patient: Some("p".into()),
        encounter: Some("e".into()),
        study: Some(StudyRef::Id("s".into())),
        need_patient_banner: true,
        hub_url: Some("https://hub.example".into()),
        hub_topic: Some("t".into()),
    };
    assert_matches("LaunchContext", &launch_context_json(&full, Some("u")), &launch_context_json(&LaunchContext::default(), None));
}

#[test]
fn series_loaded_detail_matches_its_declaration() {
    use crate::api::events::SeriesLoadedDetail;
    let detail = SeriesLoadedDetail { study_uid: "1", series_uid: "2", instances: 3, bytes: 4, ms: 5.0 };
    let sent: BTreeSet<String> = json(&detail).as_object().unwrap().keys().cloned().collect();
    let declared = typed_interface("SeriesLoadedDetail");
    assert_eq!(sent, declared.keys().cloned().collect::<BTreeSet<_>>(), "SeriesLoadedDetail (left) against the declaration (right)");
    for (key, ty) in [("studyUid", "string"), ("seriesUid", "string"), ("instances", "number"), ("bytes", "number"), ("ms", "number")] {
        assert_eq!(declared[key], (true, ty.to_string()), "{key}: required {ty}");
    }
}
