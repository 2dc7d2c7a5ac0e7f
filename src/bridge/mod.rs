//! ImagingBridge: from a patient to displayable studies and image bytes.
//!
//! FHIR says which studies exist and where they live (Endpoint); DICOMweb says what is in them
//! (QIDO) and delivers the pixels (WADO). A PACS that is down must not hide the FHIR list, so
//! enrichment failures are recorded per study, never raised for the whole list. A configured
//! DICOMweb base replaces every Endpoint: one server is named, asked and reported.

pub mod rendered;
mod report;
mod streamed;
mod study;
mod uploaded;

pub use streamed::FETCH_AHEAD;
pub(crate) use streamed::{worth_streaming, Streamed};
pub(crate) use study::newest_first;
pub use study::{InstanceRef, SeriesKind, SeriesRef, Service, Source, Study};
pub use uploaded::{draft_imaging_study, imaging_study_transaction, recorded_study, RecordedStudy};

use crate::cache::{image_key, series_prefix, MemoryCache, PersistentTier, SeriesReads, WriteWhen};
use crate::dicomweb::{DicomWebClient, DicomWebError};
use crate::fhir::{Endpoint, FhirClient, FhirError, ImagingStudy, Patient, StudyFilter, StudySearch};
use crate::net::{AuthMapper, CancelToken, HttpClient, NetError, Priority, Scheduler, Timeouts, Transport};
use std::cell::{Cell, RefCell};
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
    #[error("{0:?} is not a DICOM UID")]
    InvalidStudyUid(String),
    #[error("{0:?} is not a FHIR Patient id")]
    InvalidPatientId(String),
    /// QIDO-RS does not list the study (yet) at the base it was sent to.
    #[error("the DICOMweb server {base} holds no study {study_uid}")]
    NotInPacs { base: String, study_uid: String },
    #[error("the DICOMweb server's answer for the study has no valid Study Instance UID")]
    InvalidQidoStudy,
    /// The FHIR server accepted the transaction but its answer does not say what became of
    /// the ImagingStudy.
    #[error("the FHIR server's transaction response is not understood: {0}")]
    UnexpectedTransactionResponse(String),
}

/// Settings fixed for the bridge's lifetime.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    pub fhir_base: Url,
    /// Origins (besides the FHIR base's) that may receive the token, and that a search's
    /// `next` links may lead to.
    pub allowed_origins: Vec<String>,
    /// Every study's DICOMweb service, instead of its Endpoints (`dicomwebBaseUrl`): the host
    /// named it, so it receives the token, and enrichment, series and retrieves all go there.
    pub dicomweb_base: Option<Url>,
    /// Time limits per request kind (`requestTimeoutSeconds`).
    pub timeouts: Timeouts,
    /// Memory cache budget in bytes.
    pub memory_budget: usize,
}

/// The memory cache budget when none is given: a few CT series.
pub const DEFAULT_MEMORY_BUDGET: usize = 256 << 20;

impl BridgeConfig {
    /// A bridge to `fhir_base` with the default limits, no extra origins and the Endpoints' bases.
    pub fn new(fhir_base: Url) -> Self {
        BridgeConfig {
            fhir_base,
            allowed_origins: Vec::new(),
            dicomweb_base: None,
            timeouts: Timeouts::default(),
            memory_budget: DEFAULT_MEMORY_BUDGET,
        }
    }
}

/// A patient's studies, and why the list may be only part of them.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyList {
    /// Newest first.
    pub studies: Vec<Study>,
    /// Paging stopped early ([`FhirError::ForeignPage`], [`FhirError::TooManyPages`]):
    /// `studies` are those of the pages read.
    pub incomplete: Option<BridgeError>,
}

impl StudyList {
    /// Every study, or why the list is partial.
    pub fn complete(self) -> Result<Vec<Study>, BridgeError> {
        match self.incomplete {
            Some(e) => Err(e),
            None => Ok(self.studies),
        }
    }
}

pub struct ImagingBridge<T> {
    http: HttpClient<T>,
    fhir: FhirClient,
    /// The configured DICOMweb service, which replaces every Endpoint.
    configured: Option<Service>,
    memory: RefCell<MemoryCache>,
    persistent: RefCell<Option<Rc<dyn PersistentTier>>>,
    /// Series read from the persistent tier in bulk (one transaction per series, not per image).
    series_reads: SeriesReads,
    scheduler: Scheduler,
    /// Whether the FHIR server serves ImagingSelection, once its CapabilityStatement was read.
    selections_offered: Cell<Option<bool>>,
    /// Bumped whenever memory is cleared: a stream begun before puts nothing in the cache.
    cache_epoch: Cell<u64>,
    /// Origins that answered a series retrieve with an error status: their series are read
    /// instance by instance without asking again.
    no_series_retrieve: RefCell<std::collections::HashSet<String>>,
}

/// What a series prefetch achieved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prefetched {
    /// Instances of the series, in display order.
    pub instances: usize,
    /// Of those, now in the cache (fetched or already there).
    pub cached: usize,
    /// The bytes of those cached.
    pub bytes: u64,
    /// Instances that failed, with the reason.
    pub failed: Vec<(String, BridgeError)>,
    /// True if the work was cancelled before it finished (the user moved on).
    pub cancelled: bool,
}

impl<T: Transport> ImagingBridge<T> {
    pub fn new(transport: T, config: &BridgeConfig) -> Self {
        let mut token_origins = config.allowed_origins.clone();
        token_origins.extend(config.dicomweb_base.iter().map(Url::to_string));
        let auth = AuthMapper::new(&config.fhir_base, &token_origins);
        let configured = config.dicomweb_base.as_ref().map(|base| Service {
            base: DicomWebClient::new(base).base().to_string(),
            headers: Vec::new(),
            withhold_token: false,
        });
        ImagingBridge {
            http: HttpClient::new(transport, auth).with_timeouts(config.timeouts),
            fhir: FhirClient::new(&config.fhir_base).with_page_origins(&config.allowed_origins),
            configured,
            memory: RefCell::new(MemoryCache::new(config.memory_budget)),
            persistent: RefCell::new(None),
            series_reads: SeriesReads::default(),
            scheduler: Scheduler::default(),
            selections_offered: Cell::new(None),
            cache_epoch: Cell::new(0),
            no_series_retrieve: RefCell::default(),
        }
    }

    /// The request scheduler (priorities and per-origin limits of image requests).
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// Adds (or removes) the persistent tier below the memory cache.
    pub fn set_persistent(&self, tier: Option<Rc<dyn PersistentTier>>) {
        *self.persistent.borrow_mut() = tier;
        self.series_reads.clear();
    }

    /// Whether images are kept across reloads.
    pub fn has_persistent(&self) -> bool {
        self.persistent.borrow().is_some()
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
    /// previous patient can be served after it returns. Their requests are cancelled by
    /// whoever holds their [`CancelToken`] (the session).
    pub fn clear_memory(&self) {
        self.memory.borrow_mut().clear();
        self.series_reads.clear();
        self.cache_epoch.set(self.cache_epoch.get() + 1);
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

    /// Every study of the patient: FHIR discovery, Endpoint resolution, then QIDO enrichment
    /// of all studies in parallel. Newest first. A list that paging could not complete is an
    /// error here; [`ImagingBridge::patient_studies`] keeps its pages.
    pub async fn get_patient_studies(&self, patient_id: &str) -> Result<Vec<Study>, BridgeError> {
        self.patient_studies(patient_id, &StudyFilter::default()).await?.complete()
    }

    /// As [`ImagingBridge::get_patient_studies`], with status, date and modality filters.
    pub async fn get_patient_studies_filtered(&self, patient_id: &str, filter: &StudyFilter) -> Result<Vec<Study>, BridgeError> {
        self.patient_studies(patient_id, filter).await?.complete()
    }

    /// The patient's studies as far as the server's own pages go: a search whose paging had to
    /// stop keeps the studies read, with the reason in [`StudyList::incomplete`].
    pub async fn patient_studies(&self, patient_id: &str, filter: &StudyFilter) -> Result<StudyList, BridgeError> {
        let search = self.fhir.search_studies_filtered(&self.http, patient_id, filter, 100).await?;
        Ok(self.studies_from_search(search).await)
    }

    /// The studies whose FHIR `identifier` matches `token` (`urn:dicom:uid|urn:oid:…` for a
    /// Study Instance UID, a bare accession number), enriched like a patient's; newest first.
    pub async fn studies_by_identifier(&self, token: &str) -> Result<StudyList, BridgeError> {
        let search = self.fhir.search_studies_by_identifier(&self.http, token).await?;
        Ok(self.studies_from_search(search).await)
    }

    /// The study with FHIR id `id` (a context event may name a study by reference only).
    pub async fn studies_by_id(&self, id: &str) -> Result<StudyList, BridgeError> {
        let search = self.fhir.search_studies_by_id(&self.http, id).await?;
        Ok(self.studies_from_search(search).await)
    }

    /// The R5 ImagingSelection resources of `study_uid` for FHIR patient `patient_id`, when
    /// the server's CapabilityStatement offers the resource (read once per bridge); none
    /// otherwise. Failures give none too, quietly: an R4 server (Helios) has no such resource,
    /// and a study's key images from DICOM must not depend on it.
    pub async fn imaging_selections(&self, patient_id: &str, study_uid: &str) -> Vec<serde_json::Value> {
        let offered = match self.selections_offered.get() {
            Some(known) => known,
            None => {
                let known = self.fhir.offers(&self.http, "ImagingSelection").await.unwrap_or(false);
                self.selections_offered.set(Some(known));
                known
            }
        };
        if !offered {
            return Vec::new();
        }
        self.fhir.search_imaging_selections(&self.http, patient_id, study_uid).await.unwrap_or_default()
    }

    /// The Patients whose `identifier` matches `token` (`system|value`).
    pub async fn find_patients(&self, token: &str) -> Result<Vec<Patient>, BridgeError> {
        Ok(self.fhir.search_patients(&self.http, token).await?)
    }

    async fn studies_from_search(&self, mut search: StudySearch) -> StudyList {
        let incomplete = search.incomplete.take().map(BridgeError::from);
        let found = std::mem::take(&mut search.studies);
        let mut studies = futures_util::future::join_all(found.into_iter().map(|fhir| self.enrich(fhir, &search))).await;
        crate::sorting::sort_by(&mut studies, study::newest_first);
        StudyList { studies, incomplete }
    }

    /// The first usable WADO-RS Endpoint among `references`: contained (`#id`), included by the
    /// search (by `Endpoint/id` or full URL, relative references resolved against the FHIR
    /// base), else read from the server. One whose address cannot be fetched is passed over,
    /// and is the answer when no other is usable.
    async fn resolve_references(
        &self,
        resource: &serde_json::Value,
        references: &[crate::fhir::Reference],
        search: &StudySearch,
    ) -> Result<Option<Endpoint>, BridgeError> {
        let mut last_error = None;
        for reference in references {
            let absolute = self.fhir.url(&reference.0).ok().map(|u| u.to_string());
            let candidate = if let Some(local) = reference.0.strip_prefix('#') {
                contained_endpoint(resource, local)
            } else if let Some(found) = search.endpoints.get(&reference.0).or_else(|| absolute.and_then(|a| search.endpoints.get(&a))) {
                Some(found.clone())
            } else {
                match self.fhir.read_endpoint(&self.http, &reference.0).await {
                    Ok(e) => Some(e),
                    Err(e) => {
                        last_error = Some(e.into());
                        None
                    }
                }
            };
            if let Some(endpoint) = candidate.filter(|e| e.is_wado_rs() && e.is_usable()) {
                match self.endpoint_address(&endpoint) {
                    Ok(_) => return Ok(Some(endpoint)),
                    Err(e) => last_error = Some(e),
                }
            }
        }
        match last_error {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }

    /// An Endpoint's address, absolute (resolved against the FHIR base) and checked up front:
    /// http(s) only, no userinfo. A browser's fetch refuses those anyway, after the retries
    /// a network error gets; here they fail at once and never reach the network.
    fn endpoint_address(&self, endpoint: &Endpoint) -> Result<Url, BridgeError> {
        let invalid = |e: NetError| BridgeError::DicomWeb(DicomWebError::Net(e));
        let address = self.fhir.base().join(&endpoint.address).map_err(|_| invalid(NetError::InvalidUrl(endpoint.address.clone())))?;
        crate::net::check_address(&address).map_err(invalid)?;
        Ok(address)
    }

    /// How to call an Endpoint: its service base, its headers with `{token}` filled only for an
    /// allowed origin, and whether the token goes at all. `Authorization: Bearer {token}` is
    /// left to the AuthMapper, which also refreshes it after a 401.
    fn service_for(&self, endpoint: &Endpoint) -> Result<Service, BridgeError> {
        let address = self.endpoint_address(endpoint)?;
        let withhold_token = endpoint.requires_access_token == Some(false);
        let token = if withhold_token { None } else { self.http.auth().token_for(&address) };
        let mut plain = endpoint.clone();
        plain.headers.retain(|h| {
            let compact: String = h.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
            compact != "authorization:bearer{token}"
        });
        let client = DicomWebClient::new(&address);
        Ok(Service { base: client.base().to_string(), headers: plain.resolved_headers(token.as_deref()), withhold_token })
    }

    /// One study of the search: its DICOMweb service (the configured base, else its
    /// Endpoint's, else a series-level one's), then QIDO enrichment there.
    /// The study's own `ihe-iid` Endpoint address, when it is contained or came with the
    /// search (no extra read for a button), and is an address a browser may open.
    fn iid_viewer(&self, fhir: &ImagingStudy, search: &StudySearch) -> Option<String> {
        fhir.endpoints.iter().find_map(|reference| {
            let endpoint = match reference.0.strip_prefix('#') {
                Some(local) => contained_endpoint(&fhir.resource, local),
                None => search.endpoints.get(&reference.0).cloned(),
            }?;
            if !endpoint.has_connection_type("ihe-iid") || !endpoint.is_usable() {
                return None;
            }
            self.endpoint_address(&endpoint).ok().map(|u| u.to_string())
        })
    }

    async fn enrich(&self, fhir: ImagingStudy, search: &StudySearch) -> Study {
        let iid_viewer = self.iid_viewer(&fhir, search);
        let mut study = self.enrich_endpoints(fhir, search).await;
        study.iid_viewer = iid_viewer;
        study
    }

    async fn enrich_endpoints(&self, fhir: ImagingStudy, search: &StudySearch) -> Study {
        if let Some(service) = &self.configured {
            // The host's base replaces every Endpoint: none is resolved or read.
            return self.enrich_at(Study::from_fhir(fhir), service.clone()).await;
        }
        // A study-level `dicom-wado-rs` reference that is contained, included or readable;
        // failures to read an Endpoint are the study's problem.
        let endpoint = self.resolve_references(&fhir.resource, &fhir.endpoints, search).await;
        let resource = fhir.resource.clone();
        let mut study = Study::from_fhir(fhir);
        // Series-level Endpoints override the study's for their series (STU3+ rule).
        for series in &mut study.series {
            if series.endpoints.is_empty() {
                continue;
            }
            if let Ok(Some(endpoint)) = self.resolve_references(&resource, &series.endpoints, search).await {
                if let Ok(service) = self.service_for(&endpoint) {
                    series.dicomweb_base = Some(service.base.clone());
                    series.service = Some(service);
                }
            }
        }
        let service = match endpoint {
            Ok(Some(endpoint)) => self.service_for(&endpoint),
            // No study-level Endpoint: a series-level one still lets QIDO enrich the study.
            Ok(None) => match study.series.iter().find_map(|s| s.service.clone()) {
                Some(service) => Ok(service),
                None => {
                    study.source = Source::NoEndpoint;
                    return study;
                }
            },
            Err(e) => Err(e),
        };
        match service {
            Ok(service) => self.enrich_at(study, service).await,
            Err(e) => {
                study.source = Source::unavailable(&e);
                study.unavailable = Some(Box::new(e));
                study
            }
        }
    }

    /// The study served by `service`, with the PACS's own series list (QIDO) merged in.
    async fn enrich_at(&self, mut study: Study, service: Service) -> Study {
        let Some(client) = client_of(&service) else {
            study.source = Source::NoEndpoint;
            return study;
        };
        study.dicomweb_base = Some(service.base.clone());
        study.service = Some(service);
        match client.search_series(&self.http, &study.study_uid).await {
            Ok(series) => {
                study.merge_qido_series(&series);
                study.source = Source::Enriched;
            }
            Err(e) => study.source = Source::PacsUnreachable { message: e.to_string() },
        }
        study
    }

    /// The DICOMweb client for a series (or, with `None`, the study): the configured base if
    /// there is one; else the series' own Endpoint if it has one, else the study's, with the
    /// Endpoint's headers and token rule. A study whose Endpoint could not be used answers
    /// with that reason.
    pub fn client_for_series(&self, study: &Study, series_uid: Option<&str>) -> Result<DicomWebClient, BridgeError> {
        let no_endpoint = || BridgeError::NoEndpoint(study.study_uid.clone());
        if let Some(configured) = &self.configured {
            return client_of(configured).ok_or_else(no_endpoint);
        }
        let series_service = series_uid.and_then(|uid| study.series.iter().find(|s| s.uid == uid)).and_then(|s| s.service.as_ref());
        if let Some(service) = series_service.or(study.service.as_ref()) {
            return client_of(service).ok_or_else(no_endpoint);
        }
        if let Some(reason) = &study.unavailable {
            return Err((**reason).clone());
        }
        // A Study built elsewhere (deserialised by a host) carries only the base.
        let base = study.dicomweb_base.as_deref().ok_or_else(no_endpoint)?;
        let url = Url::parse(base).map_err(|_| no_endpoint())?;
        Ok(DicomWebClient::new(&url))
    }

    /// The instances of a series in display order (InstanceNumber, then UID), from FHIR when it
    /// lists them, else from QIDO.
    pub async fn series_instances(&self, study: &Study, series: &SeriesRef) -> Result<Vec<InstanceRef>, BridgeError> {
        let mut instances = if series.instances.is_empty() {
            let client = self.client_for_series(study, Some(&series.uid))?;
            let found = client.search_instances(&self.http, &study.study_uid, &series.uid).await?;
            found.iter().filter_map(InstanceRef::from_qido).collect()
        } else {
            series.instances.clone()
        };
        crate::sorting::sort_by(&mut instances, |a, b| study::display_order((a.number, &a.uid), (b.number, &b.uid)));
        Ok(instances)
    }

    /// The first image to show for a study: first image series (by number) with instances,
    /// first instance.
    pub async fn first_image(&self, study: &Study) -> Result<(SeriesRef, InstanceRef), BridgeError> {
        for series in study.image_series() {
            let instances = self.series_instances(study, series).await?;
            if let Some(first) = instances.into_iter().next() {
                return Ok((series.clone(), first));
            }
        }
        Err(BridgeError::NoImages(study.study_uid.clone()))
    }

    /// A whole instance (Part 10 bytes) for display: [`ImagingBridge::get_image`] at the
    /// highest priority. Work cancelled through `work` ends in [`crate::net::NetError::Cancelled`].
    pub async fn get_instance(
        &self,
        study: &Study,
        series_uid: &str,
        instance_uid: &str,
        work: &CancelToken,
    ) -> Result<Rc<Vec<u8>>, BridgeError> {
        self.visible(study, series_uid, instance_uid, WriteWhen::Shown, work).await
    }

    /// An instance of a series' stack: as [`ImagingBridge::get_instance`], but its cache write
    /// goes in a batch with the series' others rather than at once.
    pub async fn get_slice(
        &self,
        study: &Study,
        series_uid: &str,
        instance_uid: &str,
        work: &CancelToken,
    ) -> Result<Rc<Vec<u8>>, BridgeError> {
        self.visible(study, series_uid, instance_uid, WriteWhen::Batched, work).await
    }

    async fn visible(
        &self,
        study: &Study,
        series_uid: &str,
        instance_uid: &str,
        when: WriteWhen,
        work: &CancelToken,
    ) -> Result<Rc<Vec<u8>>, BridgeError> {
        match self.get_image(study, series_uid, instance_uid, Priority::Visible, when, work).await? {
            Some(bytes) => Ok(bytes),
            None => Err(DicomWebError::Net(crate::net::cancelled(instance_uid)).into()),
        }
    }

    /// A whole instance (Part 10 bytes): memory, else the persistent tier (at `Visible` the
    /// image alone, else its whole series in one go), else (through the scheduler, at
    /// `priority`) WADO-RS. `None` when `work` was cancelled before it finished: then nothing
    /// is cached, so a patient switch leaves nothing behind. What the server marked `no-store`
    /// is kept in memory only; what may be kept is written to the tier `when` asked.
    pub async fn get_image(
        &self,
        study: &Study,
        series_uid: &str,
        instance_uid: &str,
        priority: Priority,
        when: WriteWhen,
        work: &CancelToken,
    ) -> Result<Option<Rc<Vec<u8>>>, BridgeError> {
        let key = instance_key(&study.study_uid, series_uid, instance_uid);
        if let Some(hit) = self.memory.borrow_mut().get(&key) {
            return Ok(Some(hit));
        }
        if work.is_cancelled() {
            return Ok(None);
        }
        // A clear (patient switch, `clearCache()`) while this read runs: what it brings is
        // neither kept nor written.
        let epoch = self.cache_epoch.get();
        let kept = || !work.is_cancelled() && self.cache_epoch.get() == epoch;
        let tier = self.persistent.borrow().clone();
        let prefix = series_prefix(&study.study_uid, series_uid);
        let alone = priority == Priority::Visible;
        if let Some(tier) = &tier {
            if alone {
                // An image for the screen now: read alone, not after its whole series (the
                // series' stack reads it in bulk; a reopened 300-slice series is 150 MB).
                if let Some(bytes) = self.read_kept(tier, &prefix, &key, work).await {
                    return Ok(bytes);
                }
            } else {
                // The whole series from the persistent tier at once, before any request is queued.
                self.series_reads.ensure(tier, &prefix, &self.memory, &|| !work.is_cancelled()).await;
                if let Some(hit) = self.memory.borrow_mut().get(&key) {
                    return Ok(Some(hit));
                }
            }
        }
        let client = self.client_for_series(study, Some(series_uid))?;
        let origin = client.base().origin().ascii_serialization();
        let Some(_permit) = self.scheduler.acquire(&origin, priority, work).await else { return Ok(None) };
        // Another request may have brought it while this one waited.
        if let Some(hit) = self.memory.borrow_mut().get(&key) {
            return Ok(Some(hit));
        }
        if let Some(tier) = tier.as_ref().filter(|_| !alone) {
            if let Some(bytes) = self.read_kept(tier, &prefix, &key, work).await {
                return Ok(bytes);
            }
        }
        let fetched = client
            .retrieve_instance_with(&self.http, &study.study_uid, series_uid, instance_uid, crate::dicomweb::ACCEPT_DICOM, Some(work))
            .await;
        if work.is_cancelled() {
            return Ok(None);
        }
        let retrieved = fetched?;
        let bytes = Rc::new(retrieved.bytes);
        if !kept() {
            return Ok(Some(bytes));
        }
        if let (Some(tier), true) = (&tier, retrieved.may_store) {
            // Queued, written after the display (a tier that cannot queue is awaited).
            if !tier.queue(&key, bytes.clone(), when) {
                tier.put(&key, &bytes).await;
            }
        }
        if kept() {
            self.memory.borrow_mut().put(key, bytes.clone());
        }
        Ok(Some(bytes))
    }
}

impl<T> ImagingBridge<T> {
    /// `key` read alone from the persistent tier into memory, unless the series' bulk read
    /// found it absent: `Some(None)` when `work` was cancelled meanwhile, `None` when absent.
    async fn read_kept(&self, tier: &Rc<dyn PersistentTier>, prefix: &str, key: &str, work: &CancelToken) -> Option<Option<Rc<Vec<u8>>>> {
        if !self.series_reads.may_hold(prefix, key) {
            return None;
        }
        let epoch = self.cache_epoch.get();
        let bytes = Rc::new(tier.get(key).await?);
        if work.is_cancelled() {
            return Some(None);
        }
        // Read before a clear that came meanwhile: shown this once, not kept.
        if self.cache_epoch.get() == epoch {
            self.memory.borrow_mut().put(key.to_string(), bytes.clone());
        }
        Some(Some(bytes))
    }
}

/// The cache key of a whole instance's Part 10 bytes, however it was fetched.
fn instance_key(study_uid: &str, series_uid: &str, instance_uid: &str) -> String {
    image_key(study_uid, series_uid, instance_uid, 0, "application/dicom")
}

fn client_of(service: &Service) -> Option<DicomWebClient> {
    let url = Url::parse(&service.base).ok()?;
    Some(DicomWebClient::new(&url).with_headers(service.headers.clone()).without_token(service.withhold_token))
}

fn contained_endpoint(resource: &serde_json::Value, local_id: &str) -> Option<Endpoint> {
    resource
        .get("contained")?
        .as_array()?
        .iter()
        .find(|r| r.get("id").and_then(|v| v.as_str()) == Some(local_id))
        .and_then(|r| Endpoint::from_json(r).ok())
}
