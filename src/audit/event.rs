//! AuditEvent resources (FHIR R4) in the shapes of IHE BALP: PatientQuery, PatientRead,
//! PatientCreate, and DICOM's Export, each with the user, the app and the server as agents,
//! the patient and the studies as entities, and the event's own stable id as an entity.

use super::{iso_instant, Access, AccessKind};
use serde_json::{json, Value};

const DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const EVENT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-event-type";
const INTERACTION: &str = "http://hl7.org/fhir/restful-interaction";
const PARTICIPATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
const ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
const SOURCE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/security-source-type";
const BALP: &str = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.";
const BALP_ENTITY_TYPE: &str = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType";
/// The system of the event's stable id (`urn:uuid:…`), searched by the conditional create.
pub const EVENT_ID_SYSTEM: &str = "urn:ietf:rfc:3986";

/// Who acted, for every event of a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: Option<User>,
    /// Our app's name and version, as the event's source.
    pub app: String,
    /// The FHIR server images were found through (the server agent).
    pub server: String,
}

/// The signed-in user, from the most specific fact the host gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum User {
    /// SMART's `fhirUser` (`Practitioner/123` or an absolute URL): a reference.
    FhirUser(String),
    /// The host's `userId`, else the token's `sub`: an identifier only.
    Id(String),
}

impl Actor {
    /// The user from `fhirUser`, else `userId`, else the token's `sub`.
    pub fn new(fhir_user: Option<&str>, user_id: Option<&str>, token_sub: Option<&str>, server: &str) -> Self {
        let pick = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        let user = pick(fhir_user).map(User::FhirUser).or_else(|| pick(user_id).or_else(|| pick(token_sub)).map(User::Id));
        Actor { user, app: format!("emr-imaging {}", env!("CARGO_PKG_VERSION")), server: server.to_string() }
    }
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({ "system": system, "code": code, "display": display })
}

/// The DICOM UID as a FHIR identifier value (`urn:oid:` form, as ImagingStudy.identifier).
fn dicom_uid(uid: &str) -> Value {
    json!({ "system": "urn:dicom:uid", "value": format!("urn:oid:{uid}") })
}

/// The AuditEvent for `access`, recorded at `unix` seconds, with `id` (a UUID) as its stable
/// identity. The outcome description is the access's PHI-free failure text.
pub fn audit_event(access: &Access, actor: &Actor, id: &str, unix: f64) -> Value {
    // (BALP profile, type, subtype, action)
    let (profile, kind, subtype, action) = match access.kind {
        AccessKind::Query => ("PatientQuery", coding(DCM, "110112", "Query"), Some(("search-type", "search type")), "E"),
        AccessKind::Read | AccessKind::Blocked => {
            ("PatientRead", coding(EVENT_TYPE, "rest", "Restful Operation"), Some(("read", "read")), "R")
        }
        AccessKind::Create => ("PatientCreate", coding(EVENT_TYPE, "rest", "Restful Operation"), Some(("create", "create")), "C"),
        AccessKind::Export => ("PatientRead", coding(DCM, "110106", "Export"), None, "R"),
    };
    let failed = access.kind == AccessKind::Blocked || access.failure.is_some();
    let mut event = json!({
        "resourceType": "AuditEvent",
        "meta": { "profile": [format!("{BALP}{profile}")] },
        "type": kind,
        "action": action,
        "recorded": iso_instant(unix),
        // 0 success; 4 minor failure: the display was refused, nothing else went wrong.
        "outcome": if failed { "4" } else { "0" },
        "agent": agents(actor),
        "source": {
            "observer": { "display": actor.app },
            "type": [coding(SOURCE_TYPE, "1", "User Device")],
        },
        "entity": entities(access, id),
    });
    if let Some((code, display)) = subtype {
        event["subtype"] = json!([coding(INTERACTION, code, display)]);
    }
    if failed {
        event["outcomeDesc"] = json!(access.failure.clone().unwrap_or_else(|| "the image was withheld".into()));
    }
    event
}

fn agents(actor: &Actor) -> Value {
    let mut agents = Vec::new();
    if let Some(user) = &actor.user {
        let who = match user {
            User::FhirUser(reference) => json!({ "reference": reference }),
            User::Id(id) => json!({ "identifier": { "value": id } }),
        };
        agents.push(json!({
            "type": { "coding": [coding(PARTICIPATION, "IRCP", "information recipient")] },
            "who": who,
            "requestor": true,
        }));
    }
    agents.push(json!({
        "type": { "coding": [coding(DCM, "110153", "Source Role ID")] },
        "who": { "display": actor.app },
        "requestor": actor.user.is_none(),
    }));
    let host = url::Url::parse(&actor.server).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    agents.push(json!({
        "type": { "coding": [coding(DCM, "110152", "Destination Role ID")] },
        "who": { "display": actor.server },
        "requestor": false,
        "network": { "address": host, "type": "1" },
    }));
    Value::Array(agents)
}

fn entities(access: &Access, id: &str) -> Value {
    let mut entities = Vec::new();
    if let Some(patient) = &access.patient_id {
        entities.push(json!({
            "what": { "reference": format!("Patient/{patient}") },
            "type": coding(ENTITY_TYPE, "1", "Person"),
            "role": coding(OBJECT_ROLE, "1", "Patient"),
        }));
    }
    if access.kind == AccessKind::Query {
        let query = match &access.patient_id {
            Some(patient) => format!("ImagingStudy?patient=Patient/{patient}"),
            None => "ImagingStudy".to_string(),
        };
        entities.push(json!({
            "type": coding(ENTITY_TYPE, "2", "System Object"),
            "role": coding(OBJECT_ROLE, "24", "Query"),
            "query": crate::text::base64_encode(query.as_bytes()),
        }));
    }
    for study in &access.studies {
        let mut what = json!({ "identifier": dicom_uid(&study.uid) });
        if let Some(fhir_id) = &study.fhir_id {
            what["reference"] = json!(format!("ImagingStudy/{fhir_id}"));
        }
        let mut detail = Vec::new();
        if let Some(accession) = &study.accession {
            detail.push(json!({ "type": "accession", "valueString": accession }));
        }
        if let Some(series) = &access.series_uid {
            detail.push(json!({ "type": "series", "valueString": series }));
        }
        for instance in &access.instances {
            detail.push(json!({ "type": "instance", "valueString": instance }));
        }
        let mut entity = json!({
            "what": what,
            "type": coding(ENTITY_TYPE, "2", "System Object"),
            "role": coding(OBJECT_ROLE, "3", "Report"),
        });
        if !detail.is_empty() {
            entity["detail"] = Value::Array(detail);
        }
        entities.push(entity);
    }
    // The event's own id: what the conditional create looks for, so a resend stores nothing new.
    entities.push(json!({
        "what": { "identifier": { "system": EVENT_ID_SYSTEM, "value": format!("urn:uuid:{id}") } },
        "type": coding(BALP_ENTITY_TYPE, "XrequestId", "X-Request-Id"),
    }));
    Value::Array(entities)
}

/// The search that finds an event by its stable id (the batch entry's `ifNoneExist`).
pub fn event_id_query(id: &str) -> String {
    format!("entity:identifier={EVENT_ID_SYSTEM}|urn:uuid:{id}")
}

/// A batch Bundle creating each event unless the server holds one with its id already.
pub fn batch_bundle<'a>(events: impl IntoIterator<Item = (&'a str, &'a Value)>) -> Value {
    let entry: Vec<Value> = events
        .into_iter()
        .map(|(id, event)| {
            json!({
                "fullUrl": format!("urn:uuid:{id}"),
                "resource": event,
                "request": { "method": "POST", "url": "AuditEvent", "ifNoneExist": event_id_query(id) },
            })
        })
        .collect();
    json!({ "resourceType": "Bundle", "type": "batch", "entry": entry })
}
