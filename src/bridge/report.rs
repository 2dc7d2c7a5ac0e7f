//! The reports beside the images: DiagnosticReports that reference a study.

use super::{BridgeError, ImagingBridge, Study};
use crate::fhir::report::DiagnosticReport;
use crate::net::Transport;

impl<T: Transport> ImagingBridge<T> {
    /// The patient's DiagnosticReports that reference `study` (R4 `imagingStudy`, R5 `study`).
    pub async fn study_reports(&self, patient_id: &str, study: &Study) -> Result<Vec<DiagnosticReport>, BridgeError> {
        let all = self.fhir.search_reports(&self.http, patient_id).await?;
        Ok(all.into_iter().filter(|r| r.references_study(&study.fhir_id)).collect())
    }
}
