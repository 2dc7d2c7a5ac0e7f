//! FHIR REST reads and searches over [`HttpClient`].

use super::{model::*, FhirError};
use crate::net::{HttpClient, NetError, Request, Transport};
use serde_json::Value;
use std::collections::HashMap;
use url::Url;

const FHIR_JSON: &str = "application/fhir+json, application/json;q=0.9";
/// Paging guard: a server that keeps sending `next` links must not hold us forever.
const MAX_PAGES: usize = 50;

/// A FHIR server at `base` (always stored with a trailing slash so relative joins work).
#[derive(Debug, Clone)]
pub struct FhirClient {
    base: Url,
    /// Origins a search may page to: the base's, plus those the host allowed.
    page_origins: Vec<url::Origin>,
}

/// Filters of an ImagingStudy search beyond the patient (FHIR search parameters `status`,
/// `started` with prefixes, `modality` as `system|code` or `code`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StudyFilter {
    /// e.g. `available`; several are OR-ed.
    pub status: Vec<String>,
    /// `started` lower bound, inclusive (a FHIR date or dateTime).
    pub started_from: Option<String>,
    /// `started` upper bound, inclusive.
    pub started_to: Option<String>,
    /// Modality codes (DICOM CID 29, e.g. `CT`); several are OR-ed.
    pub modality: Vec<String>,
    /// `_lastUpdated=gt…` for incremental refreshes (SMART imaging).
    pub updated_after: Option<String>,
}

impl StudyFilter {
    fn apply(&self, pairs: &mut url::form_urlencoded::Serializer<'_, url::UrlQuery<'_>>) {
        if !self.status.is_empty() {
            pairs.append_pair("status", &self.status.join(","));
        }
        if let Some(from) = &self.started_from {
            pairs.append_pair("started", &format!("ge{from}"));
        }
        if let Some(to) = &self.started_to {
            pairs.append_pair("started", &format!("le{to}"));
        }
        if !self.modality.is_empty() {
            let codes: Vec<String> =
                self.modality.iter().map(|m| if m.contains('|') { m.clone() } else { format!("{DICOM_CODES}|{m}") }).collect();
            pairs.append_pair("modality", &codes.join(","));
        }
        if let Some(after) = &self.updated_after {
            pairs.append_pair("_lastUpdated", &format!("gt{after}"));
        }
    }

    /// Whether a study passes the filter on our side too: servers that ignore a parameter
    /// (FHIR allows it, and says so only in `Bundle.link[self]`) must not widen the list.
    pub fn admits(&self, study: &ImagingStudy) -> bool {
        let status_ok =
            self.status.is_empty() || study.status.as_ref().is_some_and(|s| self.status.iter().any(|w| w.eq_ignore_ascii_case(s)));
        let modality_ok = self.modality.is_empty()
            || self.modality.iter().any(|m| {
                let code = m.rsplit('|').next().unwrap_or(m);
                study.modalities.iter().any(|x| x == code) || study.series.iter().any(|s| s.modality.as_deref() == Some(code))
            });
        // Dates compare as text on their common prefix (FHIR dates are ISO 8601, most significant first).
        let day = |d: &str| d.get(..10).unwrap_or(d).to_string();
        let started = study.started.as_deref().map(day);
        let from_ok = match (&self.started_from, &started) {
            (Some(from), Some(s)) => *s >= day(from),
            (Some(_), None) => false,
            _ => true,
        };
        let to_ok = match (&self.started_to, &started) {
            (Some(to), Some(s)) => *s <= day(to),
            (Some(_), None) => false,
            _ => true,
        };
        status_ok && modality_ok && from_ok && to_ok
    }
}

/// The DICOM code system FHIR uses for modalities.
const DICOM_CODES: &str = "http://dicom.nema.org/resources/ontology/DCM";

/// The studies of one patient and the Endpoints the search brought along (`_include`).
#[derive(Debug, Default, Clone)]
pub struct StudySearch {
    pub studies: Vec<ImagingStudy>,
    /// Included Endpoints keyed by `Endpoint/{id}` (and by fullUrl when the server gives one).
    pub endpoints: HashMap<String, Endpoint>,
    /// Entries that could not be used, with the reason (shown to the user, not dropped silently).
    pub rejected: Vec<FhirError>,
    /// Bundle pages read.
    pub pages: usize,
    /// Why paging stopped before the last page ([`FhirError::ForeignPage`],
    /// [`FhirError::TooManyPages`]): the pages read are kept, and the caller says the list is partial.
    pub incomplete: Option<FhirError>,
}

impl FhirClient {
    pub fn new(base: &Url) -> Self {
        let mut base = base.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        FhirClient { page_origins: vec![base.origin()], base }
    }

    /// Also follows `next` links to these origins (absolute URLs; the host's `allowedOrigins`),
    /// for deployments whose searches really page across hosts.
    pub fn with_page_origins(mut self, origins: &[String]) -> Self {
        for origin in origins.iter().filter_map(|o| Url::parse(o).ok()).map(|u| u.origin()).filter(url::Origin::is_tuple) {
            if !self.page_origins.contains(&origin) {
                self.page_origins.push(origin);
            }
        }
        self
    }

    /// The next page's URL, if the Bundle has a `next` link: refused when it leaves the
    /// origins searches may page to.
    pub(super) fn next_page(&self, bundle: &Value) -> Result<Option<Url>, FhirError> {
        let Some(next) = next_link(bundle) else { return Ok(None) };
        let url = self.url(&next)?;
        if !self.page_origins.contains(&url.origin()) {
            return Err(FhirError::ForeignPage { url: crate::net::shown_address(&url) });
        }
        Ok(Some(url))
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// Resolves a reference or relative URL against the base.
    pub fn url(&self, relative: &str) -> Result<Url, FhirError> {
        self.base.join(relative).map_err(|_| NetError::InvalidUrl(relative.to_string()).into())
    }

    async fn get_json<T: Transport>(&self, http: &HttpClient<T>, url: Url) -> Result<Value, FhirError> {
        let response = http.get(url, FHIR_JSON).await?;
        serde_json::from_slice(&response.body).map_err(|e| FhirError::InvalidJson(e.to_string()))
    }

    pub async fn read_patient<T: Transport>(&self, http: &HttpClient<T>, id: &str) -> Result<Patient, FhirError> {
        let json = self.get_json(http, self.url(&format!("Patient/{}", encode_id(id)))?).await?;
        Patient::from_json(&json)
    }

    /// Reads an Endpoint by reference (`Endpoint/1` or an absolute URL).
    pub async fn read_endpoint<T: Transport>(&self, http: &HttpClient<T>, reference: &str) -> Result<Endpoint, FhirError> {
        let json = self.get_json(http, self.url(reference)?).await?;
        Endpoint::from_json(&json)
    }

    /// Sends a transaction (or batch) Bundle to the base and returns the server's response
    /// Bundle. A refused Bundle is a [`FhirError::Net`] status with the OperationOutcome's text.
    pub async fn transaction<T: Transport>(&self, http: &HttpClient<T>, bundle: &Value) -> Result<Value, FhirError> {
        let body = serde_json::to_vec(bundle).map_err(|e| FhirError::InvalidJson(e.to_string()))?;
        let response = http.send(Request::post(self.base.clone(), "application/fhir+json", body).header("Accept", FHIR_JSON)).await?;
        let json: Value = serde_json::from_slice(&response.body).map_err(|e| FhirError::InvalidJson(e.to_string()))?;
        expect_bundle(&json)?;
        Ok(json)
    }

    /// All ImagingStudy resources of a patient, following `next` links, with their Endpoints
    /// included in the same round trips where the server supports `_include`.
    pub async fn search_studies<T: Transport>(&self, http: &HttpClient<T>, patient_id: &str) -> Result<StudySearch, FhirError> {
        self.search_studies_filtered(http, patient_id, &StudyFilter::default(), 100).await
    }

    /// As [`FhirClient::search_studies`], with filters and a page size (`_count`). Studies a
    /// server returned despite the filter are dropped here.
    pub async fn search_studies_filtered<T: Transport>(
        &self,
        http: &HttpClient<T>,
        patient_id: &str,
        filter: &StudyFilter,
        page_size: u32,
    ) -> Result<StudySearch, FhirError> {
        let mut url = self.url("ImagingStudy")?;
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("patient", patient_id).append_pair("_include", "ImagingStudy:endpoint");
            filter.apply(&mut pairs);
            pairs.append_pair("_count", &page_size.max(1).to_string());
        }
        let mut search = self.search_pages(http, url).await?;
        search.studies.retain(|s| filter.admits(s));
        Ok(search)
    }

    /// ImagingStudy resources whose `identifier` matches `token` (`system|value`, or a bare
    /// value for any system), with their Endpoints: how a launch by Study Instance UID
    /// (`urn:dicom:uid|urn:oid:…`) or accession number finds its studies.
    pub async fn search_studies_by_identifier<T: Transport>(&self, http: &HttpClient<T>, token: &str) -> Result<StudySearch, FhirError> {
        let mut url = self.url("ImagingStudy")?;
        url.query_pairs_mut()
            .append_pair("identifier", token)
            .append_pair("_include", "ImagingStudy:endpoint")
            .append_pair("_count", "100");
        self.search_pages(http, url).await
    }

    /// The ImagingStudy with this FHIR id, with its Endpoints (a search, so `_include` works).
    pub async fn search_studies_by_id<T: Transport>(&self, http: &HttpClient<T>, id: &str) -> Result<StudySearch, FhirError> {
        let mut url = self.url("ImagingStudy")?;
        url.query_pairs_mut().append_pair("_id", id).append_pair("_include", "ImagingStudy:endpoint");
        self.search_pages(http, url).await
    }

    /// Whether the server's CapabilityStatement (`metadata`) lists `resource` among the
    /// resources its REST interface serves.
    pub async fn offers<T: Transport>(&self, http: &HttpClient<T>, resource: &str) -> Result<bool, FhirError> {
        let statement = self.get_json(http, self.url("metadata")?).await?;
        let rest = statement.get("rest").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        Ok(rest.iter().any(|r| {
            r.get("resource")
                .and_then(Value::as_array)
                .is_some_and(|list| list.iter().any(|x| x.get("type").and_then(Value::as_str) == Some(resource)))
        }))
    }

    /// The ImagingSelection resources (R5) of a patient's study, by the R5 search parameters
    /// `patient` and `study-uid`: one page, since a study's key image selections are few.
    pub async fn search_imaging_selections<T: Transport>(
        &self,
        http: &HttpClient<T>,
        patient_id: &str,
        study_uid: &str,
    ) -> Result<Vec<Value>, FhirError> {
        let mut url = self.url("ImagingSelection")?;
        url.query_pairs_mut().append_pair("patient", patient_id).append_pair("study-uid", study_uid).append_pair("_count", "50");
        let bundle = self.get_json(http, url).await?;
        if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
            return Err(FhirError::UnexpectedResource {
                expected: "Bundle",
                found: bundle.get("resourceType").and_then(Value::as_str).unwrap_or("").to_string(),
            });
        }
        let entries = bundle.get("entry").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        Ok(entries
            .iter()
            .filter_map(|e| e.get("resource"))
            .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("ImagingSelection"))
            .cloned()
            .collect())
    }

    /// The Patients whose `identifier` matches `token` (`system|value`): one page, since an
    /// identifier that names more than a few patients is an answer to refuse, not to page.
    pub async fn search_patients<T: Transport>(&self, http: &HttpClient<T>, token: &str) -> Result<Vec<Patient>, FhirError> {
        let mut url = self.url("Patient")?;
        url.query_pairs_mut().append_pair("identifier", token).append_pair("_count", "10");
        let bundle = self.get_json(http, url).await?;
        expect_bundle(&bundle)?;
        let entries = bundle.get("entry").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        entries
            .iter()
            .filter_map(|e| e.get("resource"))
            .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("Patient"))
            .map(Patient::from_json)
            .collect()
    }

    /// Pages through a searchset Bundle from `url`, following `next` links on the server's
    /// own origin. Paging that must stop early (a foreign `next` link, too many pages) keeps
    /// the pages read and says why in [`StudySearch::incomplete`]; a failed page read is an error.
    async fn search_pages<T: Transport>(&self, http: &HttpClient<T>, mut url: Url) -> Result<StudySearch, FhirError> {
        let mut search = StudySearch::default();
        for page in 1..=MAX_PAGES {
            let bundle = self.get_json(http, url.clone()).await?;
            expect_bundle(&bundle)?;
            collect_entries(&bundle, &mut search);
            search.pages += 1;
            match self.next_page(&bundle) {
                Ok(Some(next)) => url = next,
                Ok(None) => return Ok(search),
                Err(stop) => {
                    search.incomplete = Some(stop);
                    return Ok(search);
                }
            }
            if page == MAX_PAGES {
                search.incomplete = Some(FhirError::TooManyPages { pages: page });
                return Ok(search);
            }
        }
        Ok(search)
    }
}

fn expect_bundle(json: &Value) -> Result<(), FhirError> {
    match json.get("resourceType").and_then(Value::as_str) {
        Some("Bundle") => Ok(()),
        found => Err(FhirError::UnexpectedResource { expected: "Bundle", found: found.unwrap_or_default().to_string() }),
    }
}

/// A FHIR id is `[A-Za-z0-9\-\.]{1,64}`; anything else is percent-encoded rather than trusted.
fn encode_id(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

pub(super) fn next_link(bundle: &Value) -> Option<String> {
    bundle
        .get("link")?
        .as_array()?
        .iter()
        .find_map(|l| (l.get("relation")?.as_str()? == "next").then(|| l.get("url")?.as_str().map(str::to_string)).flatten())
}

fn collect_entries(bundle: &Value, search: &mut StudySearch) {
    let Some(entries) = bundle.get("entry").and_then(Value::as_array) else { return };
    for entry in entries {
        let Some(resource) = entry.get("resource") else { continue };
        match resource.get("resourceType").and_then(Value::as_str) {
            Some("ImagingStudy") => match ImagingStudy::from_json(resource.clone()) {
                Ok(study) => search.studies.push(study),
                Err(e) => search.rejected.push(e),
            },
            Some("Endpoint") => {
                if let Ok(endpoint) = Endpoint::from_json(resource) {
                    if let Some(id) = &endpoint.id {
                        search.endpoints.insert(format!("Endpoint/{id}"), endpoint.clone());
                    }
                    if let Some(full) = entry.get("fullUrl").and_then(Value::as_str) {
                        search.endpoints.insert(full.to_string(), endpoint);
                    }
                }
            }
            _ => {} // OperationOutcome warnings and other includes are not needed here.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base_gets_trailing_slash_and_joins() {
        let c = FhirClient::new(&Url::parse("http://h/fhir").unwrap());
        assert_eq!(c.url("Endpoint/1").unwrap().as_str(), "http://h/fhir/Endpoint/1");
        assert_eq!(c.url("http://other/x").unwrap().as_str(), "http://other/x");
    }

    #[test]
    fn filters_become_search_parameters_and_are_enforced_locally() {
        let filter = StudyFilter {
            status: vec!["available".into()],
            started_from: Some("2020-01-01".into()),
            started_to: Some("2020-12-31".into()),
            modality: vec!["CT".into(), "http://x|MR".into()],
            updated_after: None,
        };
        let mut url = Url::parse("http://h/fhir/ImagingStudy").unwrap();
        filter.apply(&mut url.query_pairs_mut());
        assert_eq!(
            url.query(),
            Some("status=available&started=ge2020-01-01&started=le2020-12-31&modality=http%3A%2F%2Fdicom.nema.org%2Fresources%2Fontology%2FDCM%7CCT%2Chttp%3A%2F%2Fx%7CMR")
        );
        let study = |status: &str, started: &str, modality: &str| {
            ImagingStudy::from_json(json!({"resourceType": "ImagingStudy", "id": "s", "status": status, "started": started,
                "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2"}], "modality": [{"code": modality}]}))
            .unwrap()
        };
        assert!(filter.admits(&study("available", "2020-06-01T10:00:00Z", "CT")));
        assert!(filter.admits(&study("available", "2020-12-31T23:00:00Z", "MR")), "the end day is inclusive");
        assert!(!filter.admits(&study("cancelled", "2020-06-01", "CT")));
        assert!(!filter.admits(&study("available", "2019-12-31", "CT")));
        assert!(!filter.admits(&study("available", "2020-06-01", "US")));
        assert!(StudyFilter::default().admits(&study("unknown", "", "XA")));
    }

    #[test]
    fn ids_are_encoded() {
        assert_eq!(encode_id("a/../b?c"), "a%2F..%2Fb%3Fc");
    }

    #[test]
    fn entries_and_next_link() {
        let bundle = json!({"resourceType": "Bundle", "type": "searchset",
        "link": [{"relation": "self", "url": "s"}, {"relation": "next", "url": "http://h/fhir?page=2"}],
        "entry": [
          {"fullUrl": "http://h/fhir/ImagingStudy/1", "resource": {"resourceType": "ImagingStudy", "id": "1",
             "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2"}]}},
          {"resource": {"resourceType": "ImagingStudy", "id": "bad"}},
          {"fullUrl": "http://h/fhir/Endpoint/e", "resource": {"resourceType": "Endpoint", "id": "e", "address": "http://p/dw"}}
        ]});
        let mut s = StudySearch::default();
        collect_entries(&bundle, &mut s);
        assert_eq!(s.studies.len(), 1);
        assert_eq!(s.rejected.len(), 1);
        assert!(s.endpoints.contains_key("Endpoint/e"));
        assert!(s.endpoints.contains_key("http://h/fhir/Endpoint/e"));
        assert_eq!(next_link(&bundle).as_deref(), Some("http://h/fhir?page=2"));
    }

    #[test]
    fn next_pages_stay_on_the_servers_origin_unless_allowed() {
        let page = |url: &str| json!({"resourceType": "Bundle", "link": [{"relation": "next", "url": url}]});
        let c = FhirClient::new(&Url::parse("http://h/fhir").unwrap());
        assert_eq!(c.next_page(&page("ImagingStudy?page=2")).unwrap().map(String::from), Some("http://h/fhir/ImagingStudy?page=2".into()));
        for foreign in ["http://other/fhir?page=2", "https://h/fhir?page=2", "http://h:8080/fhir?page=2"] {
            assert!(matches!(c.next_page(&page(foreign)), Err(FhirError::ForeignPage { .. })), "{foreign}");
        }
        let widened = c.with_page_origins(&["http://other".into(), "not a url".into()]);
        assert!(widened.next_page(&page("http://other/fhir?page=2")).unwrap().is_some());
        assert!(widened.next_page(&page("http://third/fhir?page=2")).is_err());
        assert_eq!(widened.next_page(&json!({"resourceType": "Bundle"})), Ok(None));
    }
}
