//! SMART scopes: what we ask for, and whether what was granted lets us read what we need.
//! v2 syntax `(patient|user|system)/<Resource|*>.<cruds>`; v1 `.read` / `.*` are read as v2
//! `.rs` / `.cruds` (SMART v2 §scopes), so a server that answers in v1 is judged alike.

use thiserror::Error;

/// The scopes of an EHR launch when `smart.scope` is not set.
pub const DEFAULT_EHR_SCOPE: &str =
    "launch openid fhirUser online_access patient/ImagingStudy.rs patient/Endpoint.rs patient/Patient.rs patient/DiagnosticReport.rs";

/// What the viewer must be able to read and search, in the order they are checked.
pub const NEEDED: [&str; 3] = ["ImagingStudy", "Endpoint", "Patient"];

/// The default scopes for a launch: `launch` for an EHR launch, `launch/patient` standalone.
pub fn default_scope(standalone: bool) -> String {
    if standalone {
        DEFAULT_EHR_SCOPE.replacen("launch ", "launch/patient ", 1)
    } else {
        DEFAULT_EHR_SCOPE.to_string()
    }
}

/// The scope to ask for from a configured one: an EHR launch needs `launch` and a standalone
/// one `launch/patient`; the other form is swapped, so one setting serves both.
pub fn launch_scope(configured: &str, standalone: bool) -> String {
    let (want, other) = if standalone { ("launch/patient", "launch") } else { ("launch", "launch/patient") };
    let mut words: Vec<&str> = configured.split_whitespace().filter(|w| *w != other).collect();
    if !words.contains(&want) {
        words.insert(0, want);
    }
    words.join(" ")
}

/// One resource scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceScope {
    /// `patient`, `user` or `system`.
    pub context: String,
    /// A resource type or `*`.
    pub resource: String,
    /// The v2 permissions, a subset of `cruds` in that order.
    pub permissions: String,
}

impl ResourceScope {
    /// `patient/Endpoint.rs`, `user/*.read`, `patient/ImagingStudy.rs?category=x` (a query
    /// narrows the scope: it does not count as a whole read); anything else is no resource scope.
    pub fn parse(word: &str) -> Option<ResourceScope> {
        let (context, rest) = word.split_once('/')?;
        if !matches!(context, "patient" | "user" | "system") {
            return None;
        }
        let (resource, permissions) = rest.rsplit_once('.')?;
        if resource.is_empty() || !(resource == "*" || resource.bytes().all(|b| b.is_ascii_alphabetic())) {
            return None;
        }
        let permissions = match permissions {
            "read" => "rs".to_string(),
            "write" => "cud".to_string(),
            "*" => "cruds".to_string(),
            v2 if !v2.is_empty() && is_ordered_subset(v2) => v2.to_string(),
            _ => return None,
        };
        Some(ResourceScope { context: context.into(), resource: resource.into(), permissions })
    }

    fn reads(&self, resource: &str) -> bool {
        (self.resource == resource || self.resource == "*") && self.permissions.contains('r') && self.permissions.contains('s')
    }
}

/// `rs`, `cruds`, `r`: letters of `cruds`, each at most once, in that order.
fn is_ordered_subset(text: &str) -> bool {
    let mut rest = "cruds";
    for c in text.chars() {
        match rest.find(c) {
            Some(at) => rest = &rest[at + 1..],
            None => return false,
        }
    }
    true
}

/// A read the granted scopes do not cover, with the scope that would.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{resource} read missing: needs patient/{resource}.rs (granted: {granted})")]
pub struct MissingScope {
    pub resource: String,
    pub granted: String,
}

/// Checks the token response's `scope` lets us read and search each of [`NEEDED`] (as the
/// patient or the user); the first that is not is named.
pub fn check_granted(granted: &str) -> Result<(), MissingScope> {
    let scopes: Vec<ResourceScope> =
        granted.split_whitespace().filter_map(ResourceScope::parse).filter(|s| s.context != "system").collect();
    match NEEDED.iter().find(|need| !scopes.iter().any(|s| s.reads(need))) {
        None => Ok(()),
        Some(resource) => Err(MissingScope {
            resource: resource.to_string(),
            granted: if granted.trim().is_empty() { "nothing".into() } else { granted.trim().to_string() },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_and_v1_scopes_parse_alike() {
        let p = |w| ResourceScope::parse(w).map(|s| format!("{}/{}.{}", s.context, s.resource, s.permissions));
        assert_eq!(p("patient/Endpoint.rs").as_deref(), Some("patient/Endpoint.rs"));
        assert_eq!(p("user/*.read").as_deref(), Some("user/*.rs"));
        assert_eq!(p("patient/Patient.*").as_deref(), Some("patient/Patient.cruds"));
        assert_eq!(p("patient/Observation.cruds").as_deref(), Some("patient/Observation.cruds"));
        for not in
            ["launch", "openid", "fhirUser", "launch/patient", "patient/Endpoint.sr", "patient/Endpoint.", "clinic/X.rs", "patient/.rs"]
        {
            assert_eq!(p(not), None, "{not}");
        }
    }

    #[test]
    fn the_granted_scope_must_cover_each_read() {
        assert_eq!(check_granted("launch openid patient/ImagingStudy.rs patient/Endpoint.rs patient/Patient.rs"), Ok(()));
        assert_eq!(check_granted("user/*.read"), Ok(()));
        assert_eq!(check_granted("patient/*.rs"), Ok(()));
        let err = check_granted("launch patient/ImagingStudy.rs patient/Patient.rs").unwrap_err();
        assert_eq!(err.resource, "Endpoint");
        assert!(err.to_string().starts_with("Endpoint read missing: needs patient/Endpoint.rs"), "{err}");
        assert_eq!(check_granted("patient/ImagingStudy.r patient/Endpoint.rs patient/Patient.rs").unwrap_err().resource, "ImagingStudy");
        assert_eq!(check_granted("system/*.rs").unwrap_err().resource, "ImagingStudy", "a system scope is no user's grant");
        assert_eq!(
            check_granted("patient/ImagingStudy.rs?status=available patient/Endpoint.rs patient/Patient.rs").unwrap_err().resource,
            "ImagingStudy"
        );
        assert!(check_granted("").unwrap_err().to_string().contains("granted: nothing"));
    }

    #[test]
    fn launch_scopes_follow_the_kind_of_launch() {
        assert!(default_scope(false).starts_with("launch openid fhirUser online_access patient/ImagingStudy.rs"));
        assert!(default_scope(true).starts_with("launch/patient openid "));
        assert_eq!(launch_scope("openid patient/*.rs", false), "launch openid patient/*.rs");
        assert_eq!(launch_scope("launch openid patient/*.rs", true), "launch/patient openid patient/*.rs");
        assert_eq!(launch_scope("launch/patient openid", true), "launch/patient openid");
    }
}
