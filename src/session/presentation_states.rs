//! Presentation states (GSPS) of the open study, applied when the user picks their series:
//! the images they name come into the viewport shown as the state says.

use super::{Scope, Screen, Session, SessionError, Update};
use crate::bridge::SeriesKind;
use crate::imaging::presentation_state::{read_state, PresentationState, GRAYSCALE_SOFTCOPY_PRESENTATION_STATE};
use crate::net::Transport;
use std::sync::Arc;

/// The state applied to the open study, and the PR series it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedState {
    pub study_uid: String,
    pub series_uid: String,
    pub state: PresentationState,
}

impl<T: Transport, S: Screen> Session<T, S> {
    /// Reads the first presentation state of PR series `series_uid` of the open study, checked
    /// against the patient in context, and shows the first series it names with it applied.
    pub async fn apply_presentation_state(&self, series_uid: &str) -> Result<(), SessionError> {
        let generation = self.generations.current(Scope::Study);
        let study = self.selected_study()?;
        let series = study
            .series
            .iter()
            .find(|s| s.uid == series_uid && s.kind() == SeriesKind::PresentationState)
            .ok_or_else(|| SessionError::UnknownSeries(series_uid.to_string()))?;
        let read = async {
            let context = self.identity(&generation).await?;
            let instances = self.bridge.series_instances(&study, series).await?;
            let readable = |class: &str| class == GRAYSCALE_SOFTCOPY_PRESENTATION_STATE;
            for instance in instances.iter().filter(|i| i.sop_class.as_deref().is_none_or(readable)) {
                let bytes = self.bridge.get_instance(&study, series_uid, &instance.uid, generation.token()).await?;
                if !generation.is_current() {
                    return Err(SessionError::Superseded);
                }
                // Colour, blending and other states are not grayscale states to apply.
                if let Some(state) = self.document(read_state(&bytes, &context))? {
                    return Ok(state);
                }
            }
            Err(SessionError::NoPresentationState(series_uid.to_string()))
        };
        let state = match read.await {
            Ok(state) => state,
            Err(e @ (SessionError::Superseded | SessionError::WrongPatient(_))) => return Err(e),
            Err(e) => return Err(self.fail(e)),
        };
        if !generation.is_current() {
            return Err(SessionError::Superseded);
        }
        let target = state
            .series_uids()
            .into_iter()
            .find(|uid| study.series.iter().any(|s| s.uid == *uid && s.holds_images()))
            .map(str::to_string)
            .ok_or_else(|| self.fail(SessionError::PresentationStateWithoutImages(series_uid.to_string())))?;
        self.screen.apply(Update::PresentationState(Some(Arc::new(AppliedState {
            study_uid: study.study_uid.clone(),
            series_uid: series_uid.to_string(),
            state,
        }))));
        self.open_series(&target).await
    }

    /// Shows the images as they are again.
    pub fn remove_presentation_state(&self) {
        self.screen.apply(Update::PresentationState(None));
    }
}
