//! What JS sees of a SMART launch, platform-free so the drift test checks it natively: the
//! settings `smartLaunch` takes beyond `config.json`'s, and the `launchContext` shape.

use crate::launch::smart::{LaunchContext, SmartError, SmartSettings, StudyRef};
use serde_json::{json, Value};
use url::Url;

/// `smartLaunch(config)`'s own members, next to [`crate::launch::smart::SETTINGS`].
pub const LAUNCH_MEMBERS: [&str; 2] = ["iss", "launch"];

/// A page's `smartLaunch(config)`: the settings, the issuer and the EHR's `launch`. Both
/// default to the page's `iss` and `launch` parameters; an explicit `iss` with no
/// `allowedIssuers` allows just itself (the app named it), one from the address never does.
pub fn launch_request(config: &Value, page: &Url) -> Result<(SmartSettings, Url, Option<String>), SmartError> {
    let Value::Object(object) = config else { return Err(SmartError::Settings("smartLaunch takes an object".into())) };
    let mut settings = object.clone();
    let mut member = |name: &str| -> Result<Option<String>, SmartError> {
        match settings.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
            Some(_) => Err(SmartError::Settings(format!("smartLaunch {name} must be a non-empty string"))),
        }
    };
    let (iss, launch) = (member("iss")?, member("launch")?);
    let param = |name: &str| page.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).filter(|v| !v.is_empty());
    if let (Some(iss), false) = (&iss, settings.contains_key("allowedIssuers")) {
        settings.insert("allowedIssuers".into(), json!([iss]));
    }
    let iss = iss.or_else(|| param("iss")).ok_or(SmartError::NoIssuer)?;
    let launch = launch.or_else(|| param("launch"));
    let settings = SmartSettings::for_page(&Value::Object(settings), page)?;
    let iss = settings.check_issuer(&iss)?;
    Ok((settings, iss, launch))
}

/// `component.launchContext`: whom and what the launch named, and who signed in.
pub fn launch_context_json(context: &LaunchContext, user: Option<&str>) -> Value {
    let study = match &context.study {
        Some(StudyRef::Uid(uid)) => json!({"studyUid": uid}),
        Some(StudyRef::Id(id)) => json!({"fhirId": id}),
        None => Value::Null,
    };
    let fhircast = match (&context.hub_url, &context.hub_topic) {
        (Some(hub), Some(topic)) => json!({"hubUrl": hub, "topic": topic}),
        _ => Value::Null,
    };
    json!({
        "patient": context.patient,
        "encounter": context.encounter,
        "study": study,
        "needPatientBanner": context.need_patient_banner,
        "fhircast": fhircast,
        "user": user,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(query: &str) -> Url {
        Url::parse(&format!("https://emr.example/chart.html{query}")).unwrap()
    }

    #[test]
    fn the_issuer_from_the_app_or_the_address() {
        let (settings, iss, launch) =
            launch_request(&json!({"clientId": "c", "iss": "https://ehr.example/fhir", "launch": "L"}), &page("")).unwrap();
        assert_eq!((iss.as_str(), launch.as_deref()), ("https://ehr.example/fhir", Some("L")));
        assert_eq!(settings.redirect_uri.as_str(), "https://emr.example/chart.html");
        let from_address = page("?iss=https%3A%2F%2Fehr.example%2Ffhir&launch=L2");
        let err = launch_request(&json!({"clientId": "c"}), &from_address).unwrap_err();
        assert_eq!(err, SmartError::IssuerNotAllowed("https://ehr.example/fhir".into()), "an address never allows itself");
        let (_, iss, launch) =
            launch_request(&json!({"clientId": "c", "allowedIssuers": ["https://ehr.example/fhir"]}), &from_address).unwrap();
        assert_eq!((iss.as_str(), launch.as_deref()), ("https://ehr.example/fhir", Some("L2")));
        let other = json!({"clientId": "c", "iss": "https://evil.example/fhir", "allowedIssuers": ["https://ehr.example/fhir"]});
        assert!(matches!(launch_request(&other, &page("")), Err(SmartError::IssuerNotAllowed(_))));
        assert_eq!(launch_request(&json!({"clientId": "c"}), &page("")), Err(SmartError::NoIssuer));
        assert!(matches!(launch_request(&json!({"clientId": "c", "iss": 3}), &page("")), Err(SmartError::Settings(_))));
        assert!(matches!(launch_request(&json!("c"), &page("")), Err(SmartError::Settings(_))));
    }

    #[test]
    fn the_launch_context_as_js_sees_it() {
        let context = LaunchContext {
            patient: Some("p-1".into()),
            study: Some(StudyRef::Uid("1.2.3".into())),
            need_patient_banner: false,
            hub_url: Some("https://hub.example".into()),
            hub_topic: Some("t".into()),
            ..LaunchContext::default()
        };
        let v = launch_context_json(&context, Some("Practitioner/7"));
        assert_eq!(v["study"], json!({"studyUid": "1.2.3"}));
        assert_eq!(v["fhircast"], json!({"hubUrl": "https://hub.example", "topic": "t"}));
        assert_eq!((v["needPatientBanner"].as_bool(), v["user"].as_str()), (Some(false), Some("Practitioner/7")));
        assert_eq!(v["encounter"], Value::Null);
    }
}
