//! The view's pure decisions (study list filtering and order, keyboard moves, overlay text),
//! kept free of the browser so they are tested natively.

use crate::bridge::Study;

/// `2011-01-01T11:01:20+03:00` → `2011-01-01`; anything else as given.
pub fn date_of(started: &Option<String>) -> String {
    started.as_deref().map(|s| s.get(..10).unwrap_or(s).to_string()).unwrap_or_default()
}

/// What the study list shows: filters and sort order chosen by the user.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StudyFilter {
    /// Empty for every modality.
    pub modality: String,
    /// `YYYY-MM-DD` bounds, inclusive; empty for none.
    pub from: String,
    pub to: String,
    pub oldest_first: bool,
}

impl StudyFilter {
    fn keeps(&self, study: &Study) -> bool {
        let date = date_of(&study.started);
        (self.modality.is_empty() || study.modalities.contains(&self.modality))
            && (self.from.is_empty() || (!date.is_empty() && date.as_str() >= self.from.as_str()))
            && (self.to.is_empty() || (!date.is_empty() && date.as_str() <= self.to.as_str()))
    }

    /// The studies to list, in order (undated studies last either way, then by UID).
    pub fn apply(&self, studies: &[Study]) -> Vec<Study> {
        let mut out: Vec<&Study> = studies.iter().filter(|s| self.keeps(s)).collect();
        crate::sorting::sort_by(&mut out, |a, b| {
            let (da, db) = (date_of(&a.started), date_of(&b.started));
            let by_date = match (da.is_empty(), db.is_empty()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                _ if self.oldest_first => a.started.cmp(&b.started),
                _ => b.started.cmp(&a.started),
            };
            by_date.then_with(|| a.study_uid.cmp(&b.study_uid))
        });
        out.into_iter().cloned().collect()
    }
}

/// Every modality of the studies, sorted, once each (the filter's choices).
pub fn modalities(studies: &[Study]) -> Vec<String> {
    let mut all: Vec<String> = studies.iter().flat_map(|s| s.modalities.iter().cloned()).collect();
    crate::sorting::sort_by(&mut all, |a, b| a.cmp(b));
    all.dedup();
    all
}

/// Where a key moves the focus in a list of `len` rows (roving tabindex).
pub fn list_key_target(key: &str, current: usize, len: usize) -> Option<usize> {
    if len == 0 {
        return None;
    }
    let last = len - 1;
    match key {
        "ArrowDown" => Some((current + 1).min(last)),
        "ArrowUp" => Some(current.saturating_sub(1)),
        "Home" => Some(0),
        "End" => Some(last),
        _ => None,
    }
}

/// How many slices a key moves through a stack (PACS convention: arrows one, pages ten).
pub fn stack_key_delta(key: &str, len: usize) -> Option<i64> {
    let len = len as i64;
    match key {
        "ArrowDown" | "ArrowRight" => Some(1),
        "ArrowUp" | "ArrowLeft" => Some(-1),
        "PageDown" => Some(10),
        "PageUp" => Some(-10),
        "Home" => Some(-len),
        "End" => Some(len),
        _ => None,
    }
}

/// `20240312` → `2024-03-12`; anything else as given.
pub fn dicom_date(da: &str) -> String {
    let d = da.trim();
    if d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &d[0..4], &d[4..6], &d[6..8])
    } else {
        d.to_string()
    }
}

/// `DOE^JANE^^^` → `DOE, JANE`.
pub fn person_name(pn: &str) -> String {
    let parts: Vec<&str> = pn.split('=').next().unwrap_or("").split('^').map(str::trim).filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        [] => String::new(),
        [family] => family.to_string(),
        [family, rest @ ..] => format!("{family}, {}", rest.join(" ")),
    }
}

/// A number as the overlay shows it: no `-0`, at most one decimal.
pub fn overlay_number(v: f64) -> String {
    let s = format!("{:.1}", v);
    let s = s.strip_suffix(".0").unwrap_or(&s).to_string();
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::Source;

    fn study(uid: &str, started: Option<&str>, modality: &str) -> Study {
        Study {
            study_uid: uid.into(),
            fhir_id: uid.into(),
            accession: None,
            started: started.map(Into::into),
            description: None,
            modalities: vec![modality.into()],
            status: None,
            number_of_series: None,
            number_of_instances: None,
            series: vec![],
            dicomweb_base: None,
            service: None,
            unavailable: None,
            iid_viewer: None,
            patient_id: None,
            source: Source::FhirOnly,
            resource: serde_json::Value::Null,
        }
    }

    fn uids(s: &[Study]) -> Vec<&str> {
        s.iter().map(|s| s.study_uid.as_str()).collect()
    }

    #[test]
    fn sorts_by_date_either_way_undated_last() {
        let all = [study("a", Some("2023-07-08T14:12:00Z"), "MR"), study("b", None, "CT"), study("c", Some("2024-03-12T09:30:15Z"), "CT")];
        assert_eq!(uids(&StudyFilter::default().apply(&all)), ["c", "a", "b"]);
        let oldest = StudyFilter { oldest_first: true, ..Default::default() };
        assert_eq!(uids(&oldest.apply(&all)), ["a", "c", "b"]);
    }

    #[test]
    fn filters_by_modality_and_inclusive_date_range() {
        let all = [study("a", Some("2023-07-08T14:12:00Z"), "MR"), study("b", None, "CT"), study("c", Some("2024-03-12"), "CT")];
        let ct = StudyFilter { modality: "CT".into(), ..Default::default() };
        assert_eq!(uids(&ct.apply(&all)), ["c", "b"]);
        let range = StudyFilter { from: "2023-07-08".into(), to: "2024-03-11".into(), ..Default::default() };
        assert_eq!(uids(&range.apply(&all)), ["a"]);
        assert_eq!(modalities(&all), ["CT", "MR"]);
    }

    #[test]
    fn keys() {
        assert_eq!(list_key_target("ArrowDown", 2, 3), Some(2));
        assert_eq!(list_key_target("ArrowUp", 0, 3), Some(0));
        assert_eq!(list_key_target("End", 0, 3), Some(2));
        assert_eq!(list_key_target("x", 0, 3), None);
        assert_eq!(list_key_target("Home", 0, 0), None);
        assert_eq!(stack_key_delta("PageUp", 5), Some(-10));
        assert_eq!(stack_key_delta("End", 5), Some(5));
    }

    #[test]
    fn overlay_text() {
        assert_eq!(dicom_date("20240312"), "2024-03-12");
        assert_eq!(dicom_date("2024"), "2024");
        assert_eq!(person_name("TESTPERSON^ANNA"), "TESTPERSON, ANNA");
        assert_eq!(person_name("DOE^^^"), "DOE");
        assert_eq!(person_name("Yamada^Tarou=山田^太郎"), "Yamada, Tarou");
        assert_eq!(overlay_number(-0.01), "0");
        assert_eq!(overlay_number(-12.5), "-12.5");
        assert_eq!(overlay_number(40.0), "40");
    }
}
