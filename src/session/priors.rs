//! Which of a patient's studies can be read side by side with the open one (its priors and
//! follow-ups).
//!
//! Two studies compare when all of these hold:
//! - they are different studies (Study Instance UIDs differ): a study is never its own prior;
//! - both are known to be the same patient's (the FHIR Patient ids their `subject`s name are
//!   equal): a study whose patient is unknown is never offered, since another patient's images
//!   side by side are the worst mistake this can make;
//! - they share an image modality (KO, SR, PR and other documents do not count: every study
//!   may carry a report);
//! - they show the same body part: some `series.bodySite` code of one equals one of the other's,
//!   ignoring ASCII case. When either study names no body part, the modality alone decides:
//!   many servers leave `bodySite` out, and hiding every prior there would hide the feature,
//!   while a wrong pairing is plain to see and costs one click. Codes are compared without
//!   their systems (a server codes its studies one way).

use crate::bridge::{SeriesKind, Study};

/// Whether `other` can be shown next to `current` (the rules above).
pub fn is_comparable(current: &Study, other: &Study) -> bool {
    let same_study = current.study_uid.trim() == other.study_uid.trim();
    let same_patient = matches!((&current.patient_id, &other.patient_id), (Some(a), Some(b)) if a == b);
    if same_study || !same_patient {
        return false;
    }
    let (ours, theirs) = (image_modalities(current), image_modalities(other));
    if !ours.iter().any(|m| theirs.iter().any(|t| t.eq_ignore_ascii_case(m))) {
        return false;
    }
    let (ours, theirs) = (body_sites(current), body_sites(other));
    ours.is_empty() || theirs.is_empty() || ours.iter().any(|b| theirs.iter().any(|t| t.eq_ignore_ascii_case(b)))
}

/// The studies of `studies` that can be shown next to `current`, in their given order (the
/// study list's, newest first).
pub fn comparable_studies<'a>(current: &Study, studies: &'a [Study]) -> Vec<&'a Study> {
    studies.iter().filter(|other| is_comparable(current, other)).collect()
}

/// The modalities of the study's pictures: the study-level list and its image series', without
/// documents.
fn image_modalities(study: &Study) -> Vec<&str> {
    let listed = study.modalities.iter().map(String::as_str);
    let of_series = study.series.iter().filter(|s| s.holds_images()).filter_map(|s| s.modality.as_deref());
    listed.chain(of_series).map(str::trim).filter(|m| !m.is_empty() && SeriesKind::of_modality(Some(m)) == SeriesKind::Images).collect()
}

/// The body site codes of the study's image series.
fn body_sites(study: &Study) -> Vec<&str> {
    study
        .series
        .iter()
        .filter(|s| s.holds_images())
        .filter_map(|s| s.body_site.as_deref())
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::ImagingStudy;
    use serde_json::{json, Value};

    const CHEST: &str = "51185008";
    const HEAD: &str = "69536005";

    /// A study of `patient` whose series are (modality, body site code).
    fn study(uid: &str, patient: Option<&str>, series: &[(&str, Option<&str>)]) -> Study {
        let series: Vec<Value> = series
            .iter()
            .enumerate()
            .map(|(n, (modality, site))| {
                let mut s = json!({"uid": format!("{uid}.{n}"), "modality": {"code": modality}});
                if let Some(site) = site {
                    s["bodySite"] = json!({"system": "http://snomed.info/sct", "code": site});
                }
                s
            })
            .collect();
        let mut resource = json!({"resourceType": "ImagingStudy", "id": uid.replace('.', "-"),
            "identifier": [{"system": "urn:dicom:uid", "value": format!("urn:oid:{uid}")}], "series": series});
        if let Some(p) = patient {
            resource["subject"] = json!({"reference": format!("Patient/{p}")});
        }
        Study::from_fhir(ImagingStudy::from_json(resource).unwrap())
    }

    #[test]
    fn a_prior_of_the_same_patient_modality_and_body_part_compares() {
        let current = study("1.1", Some("a"), &[("CT", Some(CHEST))]);
        assert!(is_comparable(&current, &study("1.2", Some("a"), &[("CT", Some(CHEST))])));
        assert!(!is_comparable(&current, &study("1.3", Some("a"), &[("CT", Some(HEAD))])), "another body part");
        assert!(!is_comparable(&current, &study("1.4", Some("a"), &[("MR", Some(CHEST))])), "another modality");
        // One shared modality and one shared body part are enough.
        let mixed = study("1.5", Some("a"), &[("PT", Some(HEAD)), ("CT", Some(CHEST))]);
        assert!(is_comparable(&current, &mixed) && is_comparable(&mixed, &current));
    }

    #[test]
    fn never_the_study_itself_nor_another_or_unknown_patients() {
        let current = study("1.1", Some("a"), &[("CT", Some(CHEST))]);
        assert!(!is_comparable(&current, &current.clone()));
        assert!(!is_comparable(&current, &study("1.1", Some("a"), &[("CT", Some(CHEST)), ("CT", None)])), "same UID, another resource");
        assert!(!is_comparable(&current, &study("1.2", Some("b"), &[("CT", Some(CHEST))])), "another patient");
        assert!(!is_comparable(&current, &study("1.2", None, &[("CT", Some(CHEST))])), "a patient not named");
        let unnamed = study("1.3", None, &[("CT", Some(CHEST))]);
        assert!(!is_comparable(&unnamed, &study("1.4", None, &[("CT", Some(CHEST))])), "two unknown patients are not one");
    }

    #[test]
    fn body_sites_compare_ignoring_case_and_a_missing_one_leaves_the_modality_to_decide() {
        let current = study("1.1", Some("a"), &[("CT", Some("chest"))]);
        assert!(is_comparable(&current, &study("1.2", Some("a"), &[("CT", Some("CHEST"))])));
        assert!(is_comparable(&current, &study("1.3", Some("a"), &[("CT", None)])), "the other names none");
        let without = study("1.4", Some("a"), &[("CT", None)]);
        assert!(is_comparable(&without, &study("1.5", Some("a"), &[("CT", Some(HEAD))])), "this one names none");
        assert!(is_comparable(&without, &study("1.6", Some("a"), &[("CT", Some("  "))])), "a blank code is none");
        assert!(!is_comparable(&without, &study("1.7", Some("a"), &[("MR", None)])), "the modality still decides");
    }

    #[test]
    fn documents_neither_make_a_shared_modality_nor_carry_the_body_part() {
        let current = study("1.1", Some("a"), &[("CR", Some(CHEST)), ("SR", None), ("KO", None)]);
        let other = study("1.2", Some("a"), &[("CT", Some(CHEST)), ("SR", None), ("PR", None)]);
        assert!(!is_comparable(&current, &other), "a shared SR is no shared modality");
        // The body site of a document series does not count against the images'.
        let with_report = study("1.3", Some("a"), &[("CR", None), ("SR", Some(HEAD))]);
        assert!(is_comparable(&current, &with_report));
        // A study known only from its study-level modality list still compares.
        let mut listed = study("1.4", Some("a"), &[]);
        listed.modalities = vec!["SR".into(), "CR".into()];
        assert!(is_comparable(&current, &listed));
        listed.modalities = vec!["SR".into()];
        assert!(!is_comparable(&current, &listed));
    }

    #[test]
    fn the_comparable_studies_keep_the_list_order() {
        let current = study("1.1", Some("a"), &[("CT", Some(CHEST))]);
        let list = [
            study("1.1", Some("a"), &[("CT", Some(CHEST))]),
            study("1.2", Some("a"), &[("MR", Some(HEAD))]),
            study("1.3", Some("a"), &[("CT", Some(CHEST))]),
            study("1.4", Some("a"), &[("CT", None)]),
            study("1.5", Some("b"), &[("CT", Some(CHEST))]),
        ];
        let uids: Vec<&str> = comparable_studies(&current, &list).iter().map(|s| s.study_uid.as_str()).collect();
        assert_eq!(uids, ["1.3", "1.4"]);
        assert!(comparable_studies(&current, &[]).is_empty());
    }
}
