//! ImagingBridge: from a patient to displayable studies and image bytes.
//!
//! FHIR says which studies exist and where they live (Endpoint); DICOMweb says what is in them
//! (QIDO) and delivers the pixels (WADO). A PACS that is down must not hide the FHIR list, so
//! enrichment failures are recorded per study, never raised for the whole list.

mod report;
mod study;

pub use study::{InstanceRef, SeriesRef, Source, Study};

use crate::cache::{image_key, MemoryCache, PersistentTier};
use crate::dicomweb::{DicomWebClient, DicomWebError};
use crate::fhir::{Endpoint, FhirClient, FhirError, ImagingStudy, Patient, StudySearch};
use crate::net::{AuthMapper, HttpClient, Transport};
use std::cell::RefCell;
use std::rc::Rc;
use thiserror::Error;
use url::Url;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum BridgeError {
    #[error(transparent)]
    Fhir(#[from] FhirError),
    #[error(transparent)]
    DicomWeb(#[from] DicomWebError),
    #[error("study {0} has no DICOMweb endpoint, so its images cannot be retrieved")]
    NoEndpoint(String),
    #[error("study {0} has no images")]
    NoImages(String),
}

/// Settings fixed for the bridge's lifetime.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    pub fhir_base: Url,
    /// Origins (besides the FHIR base's) that may receive the token.
    pub allowed_origins: Vec<String>,
    /// Memory cache budget in bytes.
    pub memory_budget: usize,
}

pub struct ImagingBridge<T> {
    http: HttpClient<T>,
    fhir: FhirClient,
    memory: RefCell<MemoryCache>,
    persistent: RefCell<Option<Rc<dyn PersistentTier>>>,
}

impl<T: Transport> ImagingBridge<T> {
    pub fn new(transport: T, config: &BridgeConfig) -> Self {
        let auth = AuthMapper::new(&config.fhir_base, &config.allowed_origins);
        ImagingBridge {
            http: HttpClient::new(transport, auth),
            fhir: FhirClient::new(&config.fhir_base),
            memory: RefCell::new(MemoryCache::new(config.memory_budget)),
            persistent: RefCell::new(None),
        }
    }

    /// Adds (or removes) the persistent tier below the memory cache.
    pub fn set_persistent(&self, tier: Option<Rc<dyn PersistentTier>>) {
        *self.persistent.borrow_mut() = tier;
    }

    pub fn http(&self) -> &HttpClient<T> {
        &self.http
    }

    pub fn set_token(&self, token: Option<String>) {
        self.http.auth().set_token(token);
    }

    pub fn fhir_base(&self) -> &Url {
        self.fhir.base()
    }

    /// Drops every image held in memory (patient switch): synchronous, so nothing of the
    /// previous patient can be served after it returns.
    pub fn clear_memory(&self) {
        self.memory.borrow_mut().clear();
    }

    /// Drops every cached image in both tiers (`clearCache()`, logout).
    pub async fn clear_cache(&self) {
        self.clear_memory();
        let tier = self.persistent.borrow().clone();
        if let Some(tier) = tier {
            tier.clear().await;
        }
    }

    pub async fn get_patient(&self, patient_id: &str) -> Result<Patient, BridgeError> {
        Ok(self.fhir.read_patient(&self.http, patient_id).await?)
    }

    /// The patient's studies: FHIR discovery, Endpoint resolution, then QIDO enrichment of all
    /// studies in parallel. Newest first.
    pub async fn get_patient_studies(&self, patient_id: &str) -> Result<Vec<Study>, BridgeError> {
        let search = self.fhir.search_studies(&self.http, patient_id).await?;
        let resolved = futures_util::future::join_all(search.studies.iter().map(|s| self.resolve_endpoint(s, &search))).await;
        let enriched = futures_util::future::join_all(
            search.studies.into_iter().zip(resolved).map(|(fhir, endpoint)| self.enrich(fhir, endpoint)),
        )
        .await;
        let mut studies = enriched;
        studies.sort_by(|a, b| b.started.cmp(&a.started).then_with(|| a.study_uid.cmp(&b.study_uid)));
        Ok(studies)
    }

    /// The study's WADO-RS endpoint: first a study-level `dicom-wado-rs` reference that is
    /// contained, included or readable. Failures to read an Endpoint are the study's problem.
    async fn resolve_endpoint(&self, study: &ImagingStudy, search: &StudySearch) -> Result<Option<Endpoint>, BridgeError> {
        let mut last_error = None;
        for reference in &study.endpoints {
            let candidate = if let Some(local) = reference.0.strip_prefix('#') {
                contained_endpoint(&study.resource, local)
            } else if let Some(found) = search.endpoints.get(&reference.0) {
                Some(found.clone())
            } else {
                match self.fhir.read_endpoint(&self.http, &reference.0).await {
                    Ok(e) => Some(e),
                    Err(e) => {
                        last_error = Some(e);
                        None
                    }
                }
            };
            if let Some(endpoint) = candidate.filter(|e| e.is_wado_rs() && !e.address.is_empty()) {
                return Ok(Some(endpoint));
            }
        }
        match last_error {
            Some(e) => Err(e.into()),
            None => Ok(None),
        }
    }

    async fn enrich(&self, fhir: ImagingStudy, endpoint: Result<Option<Endpoint>, BridgeError>) -> Study {
        let mut study = Study::from_fhir(fhir);
        let endpoint = match endpoint {
            Ok(Some(e)) => e,
            Ok(None) => {
                study.source = Source::NoEndpoint;
                return study;
            }
            Err(e) => {
                study.source = Source::PacsUnreachable { message: e.to_string() };
                return study;
            }
        };
        let client = match self.fhir.url(&endpoint.address) {
            Ok(address) => DicomWebClient::new(&address),
            Err(e) => {
                study.source = Source::PacsUnreachable { message: e.to_string() };
                return study;
            }
        };
        study.dicomweb_base = Some(client.base().to_string());
        match client.search_series(&self.http, &study.study_uid).await {
            Ok(series) => {
                study.merge_qido_series(&series);
                study.source = Source::Enriched;
            }
            Err(e) => study.source = Source::PacsUnreachable { message: e.to_string() },
        }
        study
    }

    fn client_for(&self, study: &Study) -> Result<DicomWebClient, BridgeError> {
        let base = study.dicomweb_base.as_deref().ok_or_else(|| BridgeError::NoEndpoint(study.study_uid.clone()))?;
        let url = Url::parse(base).map_err(|_| BridgeError::NoEndpoint(study.study_uid.clone()))?;
        Ok(DicomWebClient::new(&url))
    }

    /// The instances of a series in display order (InstanceNumber, then UID), from FHIR when it
    /// lists them, else from QIDO.
    pub async fn series_instances(&self, study: &Study, series: &SeriesRef) -> Result<Vec<InstanceRef>, BridgeError> {
        let mut instances = if series.instances.is_empty() {
            let client = self.client_for(study)?;
            let found = client.search_instances(&self.http, &study.study_uid, &series.uid).await?;
            found.iter().filter_map(InstanceRef::from_qido).collect()
        } else {
            series.instances.clone()
        };
        instances.sort_by(|a, b| study::display_order((a.number, &a.uid), (b.number, &b.uid)));
        Ok(instances)
    }

    /// The first image to show for a study: first series (by number) with instances, first instance.
    pub async fn first_image(&self, study: &Study) -> Result<(SeriesRef, InstanceRef), BridgeError> {
        for series in study.series_in_order() {
            let instances = self.series_instances(study, series).await?;
            if let Some(first) = instances.into_iter().next() {
                return Ok((series.clone(), first));
            }
        }
        Err(BridgeError::NoImages(study.study_uid.clone()))
    }

    /// A whole instance (Part 10 bytes): memory, else the persistent tier, else WADO-RS. What
    /// the server marked `no-store` is kept in memory only for this session's display.
    pub async fn get_instance(&self, study: &Study, series_uid: &str, instance_uid: &str) -> Result<Rc<Vec<u8>>, BridgeError> {
        let key = image_key(&study.study_uid, series_uid, instance_uid, 0, "application/dicom");
        if let Some(hit) = self.memory.borrow_mut().get(&key) {
            return Ok(hit);
        }
        let tier = self.persistent.borrow().clone();
        if let Some(tier) = &tier {
            if let Some(bytes) = tier.get(&key).await {
                let bytes = Rc::new(bytes);
                self.memory.borrow_mut().put(key, bytes.clone());
                return Ok(bytes);
            }
        }
        let client = self.client_for(study)?;
        let retrieved = client.retrieve_instance(&self.http, &study.study_uid, series_uid, instance_uid).await?;
        if let (Some(tier), true) = (&tier, retrieved.may_store) {
            tier.put(&key, &retrieved.bytes).await;
        }
        let bytes = Rc::new(retrieved.bytes);
        self.memory.borrow_mut().put(key, bytes.clone());
        Ok(bytes)
    }
}

fn contained_endpoint(resource: &serde_json::Value, local_id: &str) -> Option<Endpoint> {
    resource
        .get("contained")?
        .as_array()?
        .iter()
        .find(|r| r.get("id").and_then(|v| v.as_str()) == Some(local_id))
        .and_then(|r| Endpoint::from_json(r).ok())
}

