//! The structured reports (SR) of the open study, read when the user picks their series and
//! shown as text beside the images. They never take the viewport: the images stay.

use super::{Scope, Screen, Session, SessionError, Update};
use crate::bridge::SeriesKind;
use crate::imaging::structured_report::{read_report, Report, STRUCTURED_REPORT_SOP_CLASSES};
use crate::net::Transport;

/// The reports of one SR series of the open study.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedReports {
    pub study_uid: String,
    pub series_uid: String,
    /// In the server's order; empty when the series holds no report this viewer reads.
    pub reports: Vec<Report>,
}

impl<T: Transport, S: Screen> Session<T, S> {
    /// Reads the reports of SR series `series_uid` of the open study and shows them. Each is
    /// checked against the patient in context: another patient's blocks like an image.
    pub async fn open_structured_reports(&self, series_uid: &str) -> Result<(), SessionError> {
        let generation = self.generations.current(Scope::Study);
        let study = self.selected_study()?;
        let series = study
            .series
            .iter()
            .find(|s| s.uid == series_uid && s.kind() == SeriesKind::Report)
            .ok_or_else(|| SessionError::UnknownSeries(series_uid.to_string()))?;
        let read = async {
            let context = self.identity(&generation).await?;
            let instances = self.bridge.series_instances(&study, series).await?;
            let mut reports = Vec::new();
            let readable = |class: &str| STRUCTURED_REPORT_SOP_CLASSES.contains(&class);
            for instance in instances.iter().filter(|i| i.sop_class.as_deref().is_none_or(readable)) {
                let bytes = self.bridge.get_instance(&study, series_uid, &instance.uid, generation.token()).await?;
                if !generation.is_current() {
                    return Err(SessionError::Superseded);
                }
                // An SR series may hold objects of other classes; they are not reports to read.
                reports.extend(self.document(read_report(&bytes, &context))?);
            }
            Ok(reports)
        };
        match read.await {
            Ok(reports) => {
                if !generation.is_current() {
                    return Err(SessionError::Superseded);
                }
                let opened = OpenedReports { study_uid: study.study_uid.clone(), series_uid: series_uid.to_string(), reports };
                self.screen.apply(Update::StructuredReports(Some(opened)));
                Ok(())
            }
            Err(e @ (SessionError::Superseded | SessionError::WrongPatient(_))) => Err(e),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Closes the reports shown beside the images.
    pub fn close_structured_reports(&self) {
        self.screen.apply(Update::StructuredReports(None));
    }
}
