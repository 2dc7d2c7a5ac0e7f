//! The unified `Study`: FHIR facts, DICOMweb enrichment, and where the data came from.

use super::BridgeError;
use crate::dicomweb::{DicomJson, DicomWebError};
use crate::fhir::ImagingStudy;
use crate::net::NetError;
use dicom_parser_lite::tags;
use serde::Serialize;

/// Where a study's details come from, shown in the study list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Source {
    /// Only what the FHIR server said (enrichment not attempted yet).
    FhirOnly,
    /// FHIR plus the PACS's own series list.
    Enriched,
    /// The study has no DICOMweb Endpoint.
    NoEndpoint,
    /// Only what the PACS said (QIDO-RS), no FHIR ImagingStudy: a study just uploaded,
    /// before (or without) one recording it. Its `fhirId` is empty and its `resource` is an
    /// ImagingStudy drafted from QIDO-RS, stored nowhere.
    PacsOnly,
    /// The PACS could not be asked; the FHIR facts still stand.
    PacsUnreachable { message: String },
    /// The study's Endpoint names an address that is never fetched (not http(s), userinfo,
    /// not a URL): its images cannot be loaded, the FHIR facts still stand.
    InvalidEndpoint { message: String },
}

impl Source {
    /// Why a study's DICOMweb service could not be used.
    pub(crate) fn unavailable(reason: &BridgeError) -> Source {
        let message = reason.to_string();
        match reason {
            BridgeError::DicomWeb(DicomWebError::Net(NetError::InvalidUrl(_) | NetError::UnusableAddress { .. })) => {
                Source::InvalidEndpoint { message }
            }
            _ => Source::PacsUnreachable { message },
        }
    }
}

/// How to reach the DICOMweb service of a study or series: its base, the Endpoint's extra
/// headers (resolved) and whether the token may go there. Kept from the host: headers may
/// hold credentials.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Service {
    pub base: String,
    pub headers: Vec<(String, String)>,
    pub withhold_token: bool,
}

/// A study as the host and the view see it. `resource` is the FHIR ImagingStudy as received.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Study {
    pub study_uid: String,
    pub fhir_id: String,
    pub accession: Option<String>,
    pub started: Option<String>,
    pub description: Option<String>,
    pub modalities: Vec<String>,
    pub status: Option<String>,
    pub number_of_series: Option<u32>,
    pub number_of_instances: Option<u32>,
    pub series: Vec<SeriesRef>,
    pub dicomweb_base: Option<String>,
    /// A diagnostic viewer's IID address (`…/IHEInvokeImageDisplay`), from the study's own
    /// `ihe-iid` Endpoint (contained or included in the search).
    pub iid_viewer: Option<String>,
    pub source: Source,
    pub resource: serde_json::Value,
    /// The study-level DICOMweb service (its base is `dicomweb_base`).
    #[serde(skip)]
    pub service: Option<Service>,
    /// Why the study's Endpoint could not be used: what opening it answers (boxed: a study
    /// is moved around often, an error rarely).
    #[serde(skip)]
    pub(crate) unavailable: Option<Box<BridgeError>>,
    /// The FHIR Patient id the study's `subject` names, when it names one on our server: whose
    /// study it is, for launches that start from a study.
    #[serde(skip)]
    pub patient_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesRef {
    pub uid: String,
    pub number: Option<u32>,
    pub modality: Option<String>,
    pub description: Option<String>,
    pub number_of_instances: Option<u32>,
    pub instances: Vec<InstanceRef>,
    /// The FHIR `bodySite` code, when the ImagingStudy names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_site: Option<String>,
    /// A series-level Endpoint's base, when it overrides the study's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dicomweb_base: Option<String>,
    #[serde(skip)]
    pub service: Option<Service>,
    /// The series' own Endpoint references (resolved into `service`).
    #[serde(skip)]
    pub(crate) endpoints: Vec<crate::fhir::Reference>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceRef {
    pub uid: String,
    pub number: Option<u32>,
    pub sop_class: Option<String>,
}

/// Display order of series and of instances: by number (unnumbered last), then UID, so every
/// server's answer is shown the same way.
pub(crate) fn display_order(a: (Option<u32>, &str), b: (Option<u32>, &str)) -> std::cmp::Ordering {
    a.0.unwrap_or(u32::MAX).cmp(&b.0.unwrap_or(u32::MAX)).then_with(|| a.1.cmp(b.1))
}

/// The study list's order: newest first (by `started`), then by UID.
pub(crate) fn newest_first(a: &Study, b: &Study) -> std::cmp::Ordering {
    b.started.cmp(&a.started).then_with(|| a.study_uid.cmp(&b.study_uid))
}

impl InstanceRef {
    pub(crate) fn from_qido(item: &DicomJson) -> Option<InstanceRef> {
        Some(InstanceRef {
            uid: item.string(tags::SOP_INSTANCE_UID)?,
            number: item.u32(tags::INSTANCE_NUMBER),
            sop_class: item.string(tags::SOP_CLASS_UID),
        })
    }
}

impl Study {
    /// A study from its FHIR facts alone, before any DICOMweb enrichment.
    pub fn from_fhir(s: ImagingStudy) -> Study {
        let series = s
            .series
            .into_iter()
            .map(|se| SeriesRef {
                uid: se.uid,
                number: se.number,
                modality: se.modality,
                description: se.description,
                number_of_instances: se.number_of_instances.or(Some(se.instances.len() as u32).filter(|n| *n > 0)),
                instances: se.instances.into_iter().map(|i| InstanceRef { uid: i.uid, number: i.number, sop_class: i.sop_class }).collect(),
                body_site: se.body_site,
                dicomweb_base: None,
                service: None,
                endpoints: se.endpoints,
            })
            .collect();
        Study {
            study_uid: s.study_uid,
            fhir_id: s.id,
            accession: s.accession,
            started: s.started,
            description: s.description,
            modalities: s.modalities,
            status: s.status,
            number_of_series: s.number_of_series,
            number_of_instances: s.number_of_instances,
            series,
            dicomweb_base: None,
            iid_viewer: None,
            source: Source::FhirOnly,
            resource: s.resource,
            service: None,
            unavailable: None,
            patient_id: s.patient.as_ref().and_then(|r| r.id_of("Patient")),
        }
    }

    /// Adds QIDO's series to FHIR's: the PACS is the authority on what it holds, FHIR may be
    /// stale or summarised. Fields FHIR had are kept; missing ones are filled.
    pub(crate) fn merge_qido_series(&mut self, qido: &[DicomJson]) {
        for item in qido {
            let Some(uid) = item.string(tags::SERIES_INSTANCE_UID) else { continue };
            let count = item.u32(tags::NUMBER_OF_SERIES_RELATED_INSTANCES);
            match self.series.iter_mut().find(|s| s.uid == uid) {
                Some(existing) => {
                    existing.number = existing.number.or(item.u32(tags::SERIES_NUMBER));
                    existing.modality = existing.modality.take().or(item.string(tags::MODALITY));
                    existing.description = existing.description.take().or(item.string(tags::SERIES_DESCRIPTION));
                    existing.number_of_instances = count.or(existing.number_of_instances);
                }
                None => self.series.push(SeriesRef {
                    uid,
                    number: item.u32(tags::SERIES_NUMBER),
                    modality: item.string(tags::MODALITY),
                    description: item.string(tags::SERIES_DESCRIPTION),
                    number_of_instances: count,
                    instances: Vec::new(),
                    body_site: None,
                    dicomweb_base: None,
                    service: None,
                    endpoints: Vec::new(),
                }),
            }
        }
        self.number_of_series = Some(self.series.len() as u32).filter(|n| *n > 0).or(self.number_of_series);
        let total: u32 = self.series.iter().filter_map(|s| s.number_of_instances).sum();
        if total > 0 {
            self.number_of_instances = Some(total);
        }
        for series in &self.series {
            if let Some(m) = &series.modality {
                if !self.modalities.contains(m) {
                    self.modalities.push(m.clone());
                }
            }
        }
    }

    /// Series by SeriesNumber (unnumbered last), then UID.
    pub fn series_in_order(&self) -> Vec<&SeriesRef> {
        let mut all: Vec<&SeriesRef> = self.series.iter().collect();
        crate::sorting::sort_by(&mut all, |a, b| display_order((a.number, &a.uid), (b.number, &b.uid)));
        all
    }

    /// The series with pictures, in display order: what the viewport and the strip show.
    pub fn image_series(&self) -> Vec<&SeriesRef> {
        self.series_in_order().into_iter().filter(|s| s.holds_images()).collect()
    }

    /// The Key Object Selection series (modality KO), whose documents name the key images.
    pub fn key_object_series(&self) -> Vec<&SeriesRef> {
        self.series_in_order().into_iter().filter(|s| s.modality.as_deref() == Some("KO")).collect()
    }

    /// This study with only the images `keys` names (series UID, SOP Instance UID): a series
    /// keeps its own facts and lists just its key instances; a series without any goes. Where
    /// a series lists its instances, a key it does not list is dropped (the server lacks it).
    pub fn narrowed_to(&self, keys: &[(String, String)]) -> Study {
        let mut study = self.clone();
        study.series = self
            .series
            .iter()
            .filter(|s| s.holds_images())
            .filter_map(|s| {
                let named = keys.iter().filter(|(series, _)| *series == s.uid);
                let instances: Vec<InstanceRef> = if s.instances.is_empty() {
                    named.map(|(_, sop)| InstanceRef { uid: sop.clone(), number: None, sop_class: None }).collect()
                } else {
                    named.filter_map(|(_, sop)| s.instances.iter().find(|i| i.uid == *sop).cloned()).collect()
                };
                (!instances.is_empty()).then(|| SeriesRef { number_of_instances: Some(instances.len() as u32), instances, ..s.clone() })
            })
            .collect();
        study.number_of_series = Some(study.series.len() as u32);
        study.number_of_instances = Some(study.series.iter().map(|s| s.instances.len() as u32).sum());
        study
    }
}

/// What a series holds, by its modality (PS3.3 C.7.3.1.1.1): images to show, or documents
/// and objects that must never be drawn as a (broken) image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SeriesKind {
    Images,
    /// KO: Key Object Selections.
    KeyObjects,
    /// SR: structured reports.
    Report,
    /// PR: presentation states.
    PresentationState,
    /// SEG: segmentations (binary or fractional frames, not pictures of the patient).
    Segmentation,
    /// Registrations, fiducials, waveforms, RT plans and other objects without pixels.
    OtherObject,
}

/// Modalities of the [`SeriesKind::OtherObject`] kind.
const OTHER_OBJECT_MODALITIES: [&str; 9] = ["DOC", "REG", "FID", "RWV", "AU", "PLAN", "RTPLAN", "RTRECORD", "RTSTRUCT"];

impl SeriesRef {
    /// What the series holds (a series of unknown modality may hold images).
    pub fn kind(&self) -> SeriesKind {
        SeriesKind::of_modality(self.modality.as_deref())
    }

    /// Whether the series may hold images to show.
    pub fn holds_images(&self) -> bool {
        self.kind() == SeriesKind::Images
    }
}

impl SeriesKind {
    /// What a series of `modality` holds (an unknown modality may hold images).
    pub fn of_modality(modality: Option<&str>) -> SeriesKind {
        match modality {
            Some("KO") => SeriesKind::KeyObjects,
            Some("SR") => SeriesKind::Report,
            Some("PR") => SeriesKind::PresentationState,
            Some("SEG") => SeriesKind::Segmentation,
            Some(m) if OTHER_OBJECT_MODALITIES.contains(&m) => SeriesKind::OtherObject,
            _ => SeriesKind::Images,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn qido_fills_and_adds_series() {
        let fhir = ImagingStudy::from_json(json!({"resourceType": "ImagingStudy", "id": "s",
            "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2"}],
            "series": [{"uid": "1.2.1", "number": 2, "modality": {"code": "CT"}}]}))
        .unwrap();
        let mut study = Study::from_fhir(fhir);
        let qido = DicomJson::parse_array(
            br#"[{"0020000E":{"vr":"UI","Value":["1.2.1"]},"0008103E":{"vr":"LO","Value":["Axial"]},"00201209":{"vr":"IS","Value":[5]}},
                 {"0020000E":{"vr":"UI","Value":["1.2.0"]},"00200011":{"vr":"IS","Value":[1]},"00080060":{"vr":"CS","Value":["SR"]},"00201209":{"vr":"IS","Value":[1]}}]"#,
        )
        .unwrap();
        study.merge_qido_series(&qido);
        assert_eq!(study.series.len(), 2);
        assert_eq!(study.series[0].description.as_deref(), Some("Axial"));
        assert_eq!(study.number_of_instances, Some(6));
        assert_eq!(study.modalities, ["CT", "SR"]);
        let order: Vec<&str> = study.series_in_order().iter().map(|s| s.uid.as_str()).collect();
        assert_eq!(order, ["1.2.0", "1.2.1"]);
        let images: Vec<&str> = study.image_series().iter().map(|s| s.uid.as_str()).collect();
        assert_eq!(images, ["1.2.1"], "an SR series holds no pixels");
        let kind = |modality: Option<&str>| SeriesRef { modality: modality.map(Into::into), ..study.series[0].clone() }.kind();
        assert_eq!(kind(Some("SR")), SeriesKind::Report);
        assert_eq!(kind(Some("SEG")), SeriesKind::Segmentation);
        assert_eq!(kind(Some("RTSTRUCT")), SeriesKind::OtherObject);
        assert_eq!(kind(Some("MR")), SeriesKind::Images);
        assert_eq!(kind(None), SeriesKind::Images, "unknown: may hold images");
    }

    #[test]
    fn a_study_narrowed_to_its_key_images_keeps_only_them() {
        let fhir = ImagingStudy::from_json(json!({"resourceType": "ImagingStudy", "id": "s",
            "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2"}],
            "series": [
                {"uid": "1.2.1", "number": 1, "modality": {"code": "MR"}, "instance": [
                    {"uid": "1.2.1.1", "number": 1}, {"uid": "1.2.1.2", "number": 2}, {"uid": "1.2.1.3", "number": 3}]},
                {"uid": "1.2.2", "number": 2, "modality": {"code": "MR"}},
                {"uid": "1.2.9", "number": 9, "modality": {"code": "KO"}, "instance": [{"uid": "1.2.9.1"}]}]}))
        .unwrap();
        let study = Study::from_fhir(fhir);
        assert_eq!(study.key_object_series().len(), 1);
        let keys = [
            ("1.2.1".to_string(), "1.2.1.3".to_string()),
            ("1.2.1".into(), "1.2.1.1".into()),
            ("1.2.2".into(), "1.2.2.7".into()),
            ("1.2.1".into(), "1.2.1.9".into()),
        ];
        let narrowed = study.narrowed_to(&keys);
        let listed: Vec<(&str, Vec<&str>)> =
            narrowed.series.iter().map(|s| (s.uid.as_str(), s.instances.iter().map(|i| i.uid.as_str()).collect())).collect();
        assert_eq!(listed, [("1.2.1", vec!["1.2.1.3", "1.2.1.1"]), ("1.2.2", vec!["1.2.2.7"])]);
        assert_eq!(narrowed.series[0].instances[0].number, Some(3), "a listed instance keeps its facts");
        assert_eq!((narrowed.number_of_series, narrowed.number_of_instances), (Some(2), Some(3)));
        assert!(study.narrowed_to(&[]).series.is_empty());
    }
}
