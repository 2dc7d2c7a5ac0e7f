//! A server-rendered JPEG of one instance, released only after the instance's own header
//! (WADO-RS metadata) names the patient in context. A JPEG carries no DICOM header, and a
//! wrong image is worse than no image.

use super::{BridgeError, ImagingBridge, Study};
use crate::dicomweb::{rendered::is_refusal, DicomJson};
use crate::imaging::{check_header, IdentityMismatch, ImageHeader, PatientContext};
use crate::net::Transport;
use dicom_parser_lite::tags::{
    self, MODALITY_LUT_SEQUENCE, PATIENT_ID, PATIENT_NAME, PHOTOMETRIC_INTERPRETATION as PHOTOMETRIC, VOI_LUT_FUNCTION, VOI_LUT_SEQUENCE,
    WINDOW_CENTER, WINDOW_WIDTH,
};
use thiserror::Error;

/// How to ask the server to render an instance, decided from its metadata.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendering {
    /// Ask the server, passing this `window` parameter (or none, for colour images).
    Server { window: Option<String> },
    /// Render it ourselves: only our pipeline follows PS3.3 exactly for this image (no header
    /// window, a LUT, LINEAR_EXACT/SIGMOID, MONOCHROME1), and servers differ there.
    Ourselves,
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum RenderedError {
    #[error(transparent)]
    Bridge(#[from] BridgeError),
    #[error("{0}")]
    Identity(#[from] IdentityMismatch),
    /// The metadata describes another instance than the one asked for.
    #[error("the server's metadata for {asked} describes instance {got:?}")]
    WrongInstance { asked: String, got: Option<String> },
}

impl<T: Transport> ImagingBridge<T> {
    /// The server's JPEG rendering of an instance of `study` (default window), or `None` when the
    /// server offers no metadata or no rendering (the caller then decodes the instance, whose
    /// own header is checked). The metadata is checked against `patient` first, and no
    /// rendering is fetched when it does not match.
    pub async fn server_rendered_jpeg(
        &self,
        study: &Study,
        series_uid: &str,
        instance_uid: &str,
        patient: &PatientContext,
    ) -> Result<Option<Vec<u8>>, RenderedError> {
        let client = self.client_for_series(study, Some(series_uid))?;
        let metadata = match client.instance_metadata(&self.http, &study.study_uid, series_uid, instance_uid).await {
            Ok(m) => m,
            Err(e) if is_refusal(&e) => return Ok(None),
            Err(e) => return Err(BridgeError::from(e).into()),
        };
        check_metadata(&metadata, instance_uid, patient)?;
        let Rendering::Server { window } = rendering(&metadata) else { return Ok(None) };
        let rendered = client
            .retrieve_rendered(&self.http, &study.study_uid, series_uid, instance_uid, window.as_deref())
            .await
            .map_err(BridgeError::from)?;
        Ok(rendered.map(|r| r.bytes))
    }
}

/// Whether the server may render this instance, and with which window: the header's first
/// LINEAR window for MONOCHROME2 (what our own pipeline applies by default); colour images as
/// they are.
pub fn rendering(metadata: &DicomJson) -> Rendering {
    let photometric = metadata.string(PHOTOMETRIC).unwrap_or_default();
    if matches!(photometric.as_str(), "RGB" | "YBR_FULL" | "YBR_FULL_422" | "YBR_ICT" | "YBR_RCT" | "PALETTE COLOR") {
        return Rendering::Server { window: None };
    }
    let has = |tag: dicom_parser_lite::Tag| metadata.0.contains_key(tag.json_key().as_str());
    if photometric != "MONOCHROME2" || has(MODALITY_LUT_SEQUENCE) || has(VOI_LUT_SEQUENCE) {
        return Rendering::Ourselves;
    }
    let linear = metadata.string(VOI_LUT_FUNCTION).is_none_or(|f| f.eq_ignore_ascii_case("LINEAR"));
    match (metadata.number(WINDOW_CENTER), metadata.number(WINDOW_WIDTH)) {
        (Some(center), Some(width)) if linear && center.is_finite() && width.is_finite() && width >= 1.0 => {
            Rendering::Server { window: Some(format!("{center},{width},linear")) }
        }
        _ => Rendering::Ourselves,
    }
}

/// The metadata is the asked-for instance's and names `patient`.
pub fn check_metadata(metadata: &DicomJson, instance_uid: &str, patient: &PatientContext) -> Result<(), RenderedError> {
    let sop = metadata.string(tags::SOP_INSTANCE_UID);
    if sop.as_deref() != Some(instance_uid) {
        return Err(RenderedError::WrongInstance { asked: instance_uid.to_string(), got: sop });
    }
    let header = ImageHeader { patient_id: metadata.string(PATIENT_ID), patient_name: metadata.string(PATIENT_NAME), ..Default::default() };
    Ok(check_header(&header, patient)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patient() -> PatientContext {
        PatientContext { id: "p1".into(), identifiers: vec!["MRN-1".into()], family: Some("Doe".into()), display_name: "DOE, Jane".into() }
    }

    fn metadata(sop: &str, id: &str, name: &str) -> DicomJson {
        let value = json!({
            "00080018": {"vr": "UI", "Value": [sop]},
            "00100020": {"vr": "LO", "Value": [id]},
            "00100010": {"vr": "PN", "Value": [{"Alphabetic": name}]},
        });
        DicomJson(value.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn the_patients_own_instance_passes() {
        assert_eq!(check_metadata(&metadata("1.2.3", "MRN-1", "DOE^JANE"), "1.2.3", &patient()), Ok(()));
    }

    #[test]
    fn another_patients_instance_is_refused() {
        let err = check_metadata(&metadata("1.2.3", "MRN-2", "DOE^JANE"), "1.2.3", &patient()).unwrap_err();
        assert!(matches!(err, RenderedError::Identity(IdentityMismatch::PatientId { .. })));
        let err = check_metadata(&metadata("1.2.3", "MRN-1", "ROE^JANE"), "1.2.3", &patient()).unwrap_err();
        assert!(matches!(err, RenderedError::Identity(IdentityMismatch::PatientName { .. })));
    }

    #[test]
    fn metadata_without_patient_id_is_refused() {
        let bare = DicomJson(json!({"00080018": {"vr": "UI", "Value": ["1.2.3"]}}).as_object().cloned().unwrap_or_default());
        assert_eq!(check_metadata(&bare, "1.2.3", &patient()), Err(RenderedError::Identity(IdentityMismatch::MissingPatientId)));
    }

    fn with(mut m: DicomJson, tag: dicom_parser_lite::Tag, vr: &str, value: serde_json::Value) -> DicomJson {
        m.0.insert(tag.json_key().to_string(), json!({"vr": vr, "Value": [value]}));
        m
    }

    #[test]
    fn the_header_window_is_passed_to_the_server() {
        let m = with(metadata("1", "MRN-1", "DOE"), PHOTOMETRIC, "CS", json!("MONOCHROME2"));
        let m = with(with(m, WINDOW_CENTER, "DS", json!(40)), WINDOW_WIDTH, "DS", json!("400.5"));
        assert_eq!(rendering(&m), Rendering::Server { window: Some("40,400.5,linear".into()) });
        let exact = with(m.clone(), VOI_LUT_FUNCTION, "CS", json!("LINEAR_EXACT"));
        assert_eq!(rendering(&exact), Rendering::Ourselves);
        let lut = with(m, VOI_LUT_SEQUENCE, "SQ", json!({}));
        assert_eq!(rendering(&lut), Rendering::Ourselves);
    }

    #[test]
    fn without_a_header_window_or_as_monochrome1_we_render() {
        let m = with(metadata("1", "MRN-1", "DOE"), PHOTOMETRIC, "CS", json!("MONOCHROME2"));
        assert_eq!(rendering(&m), Rendering::Ourselves);
        let m1 = with(with(metadata("1", "MRN-1", "DOE"), PHOTOMETRIC, "CS", json!("MONOCHROME1")), WINDOW_CENTER, "DS", json!(1));
        assert_eq!(rendering(&with(m1, WINDOW_WIDTH, "DS", json!(2))), Rendering::Ourselves);
        assert_eq!(rendering(&metadata("1", "MRN-1", "DOE")), Rendering::Ourselves);
    }

    #[test]
    fn colour_images_are_rendered_by_the_server_as_they_are() {
        let m = with(metadata("1", "MRN-1", "DOE"), PHOTOMETRIC, "CS", json!("YBR_FULL_422"));
        assert_eq!(rendering(&m), Rendering::Server { window: None });
    }

    #[test]
    fn metadata_of_another_instance_is_refused() {
        let err = check_metadata(&metadata("9.9.9", "MRN-1", "DOE^JANE"), "1.2.3", &patient()).unwrap_err();
        assert_eq!(err, RenderedError::WrongInstance { asked: "1.2.3".into(), got: Some("9.9.9".into()) });
    }
}
