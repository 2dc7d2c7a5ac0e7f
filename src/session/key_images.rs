//! Key images: the images a study's Key Object Selection documents name. They are marked in
//! the strip and the viewport, and with key images only (IID `keyImagesOnly=true`, the
//! widget's `keyImagesOnly`, the toolbar's toggle) a study is shown as just those images; a
//! study with none says so instead of showing everything (that would answer another question
//! than the one asked).
//!
//! The documents are checked against the patient in context like images are. An image a
//! rejection note withdraws (IHE IOCM) is never a key image, whatever another document says.
//! Where the FHIR server offers R5 ImagingSelection, a study's selections there count as
//! documents too; they are looked for when the study's key images are (it has a KO series,
//! or key images only is on).

use super::{Generation, Screen, Session, SessionError, Update};
use crate::bridge::Study;
use crate::fhir::imaging_selection::read_imaging_selection;
use crate::imaging::key_objects::{read_key_objects, KeySelection, KEY_OBJECT_SELECTION_SOP_CLASS};
use crate::net::Transport;

/// (Series Instance UID, SOP Instance UID) of each key image, in the order first named.
pub type KeyImages = Vec<(String, String)>;

impl<T: Transport, S: Screen> Session<T, S> {
    /// Shows studies as their key images only (or not), and opens the selected study again so.
    pub async fn set_key_images_only(&self, on: bool) -> Result<(), SessionError> {
        if self.key_images_only.replace(on) == on {
            return Ok(());
        }
        self.screen.apply(Update::KeyImagesOnly(on));
        let selected = self.state.borrow().selected_study.clone();
        match selected {
            Some(uid) => self.open_study(&uid).await,
            None => Ok(()),
        }
    }

    /// The key images of `study` from all its selections, less what rejection notes withdraw.
    async fn key_selection(&self, study: &Study, generation: &Generation) -> Result<KeyImages, SessionError> {
        let context = self.identity(generation).await?;
        let mut keys = KeyImages::new();
        let mut rejected: Vec<String> = Vec::new();
        let add = |keys: &mut KeyImages, rejected: &mut Vec<String>, selection: KeySelection| {
            for image in selection.images.into_iter().filter(|i| i.study_uid == study.study_uid) {
                if selection.rejection {
                    rejected.push(image.sop_instance_uid);
                } else if !keys.iter().any(|(_, sop)| *sop == image.sop_instance_uid) {
                    keys.push((image.series_uid, image.sop_instance_uid));
                }
            }
        };
        for series in study.key_object_series() {
            let instances = self.bridge.series_instances(study, series).await?;
            for instance in instances.iter().filter(|i| i.sop_class.as_deref().is_none_or(|c| c == KEY_OBJECT_SELECTION_SOP_CLASS)) {
                let bytes = self.bridge.get_instance(study, &series.uid, &instance.uid, generation.token()).await?;
                if !generation.is_current() {
                    return Err(SessionError::Superseded);
                }
                // A KO series may hold other objects; only selections choose.
                let Some(selection) = self.document(read_key_objects(&bytes, &context))? else { continue };
                add(&mut keys, &mut rejected, selection);
            }
        }
        // R5 ImagingSelections, where the FHIR server offers them: only those whose subject
        // names the patient in context (the search asked for them; a mismatch is not used).
        let identifiers: Vec<(Option<String>, String)> = context.identifiers.iter().map(|v| (None, v.clone())).collect();
        for resource in self.bridge.imaging_selections(&context.id, &study.study_uid).await {
            if !generation.is_current() {
                return Err(SessionError::Superseded);
            }
            match read_imaging_selection(&resource) {
                Ok(read) if read.subject.names(&context.id, &identifiers) => add(&mut keys, &mut rejected, read.selection),
                _ => {}
            }
        }
        keys.retain(|(_, sop)| !rejected.contains(sop));
        Ok(keys)
    }

    /// `study` narrowed to its key images, and those images.
    pub(super) async fn key_images_of(&self, study: &Study, generation: &Generation) -> Result<(Study, KeyImages), SessionError> {
        let keys = self.key_selection(study, generation).await?;
        // The server's own listing gives each key image its number and drops what it lacks.
        let mut listed = study.clone();
        for series in listed.series.iter_mut().filter(|s| s.instances.is_empty() && keys.iter().any(|(uid, _)| *uid == s.uid)) {
            series.instances = self.bridge.series_instances(study, series).await?;
        }
        if !generation.is_current() {
            return Err(SessionError::Superseded);
        }
        let narrowed = listed.narrowed_to(&keys);
        if narrowed.series.is_empty() {
            return Err(SessionError::NoKeyImages(study.study_uid.clone()));
        }
        Ok((narrowed, keys))
    }

    /// Marks the key images of the open study, when it has selections (a study opened as its
    /// key images has none left: its marks came with it). Another patient's selection blocks;
    /// a selection that cannot be read is reported and marks nothing.
    pub(super) async fn mark_key_images(&self, study: &Study, generation: &Generation) -> Result<(), SessionError> {
        if study.key_object_series().is_empty() {
            return Ok(());
        }
        match self.key_selection(study, generation).await {
            Ok(keys) if generation.is_current() => {
                self.screen.apply(Update::KeyImages(keys));
                Ok(())
            }
            Ok(_) | Err(SessionError::Superseded) => Err(SessionError::Superseded),
            Err(e @ SessionError::WrongPatient(_)) => Err(e),
            Err(e) => {
                self.fail(e);
                Ok(())
            }
        }
    }
}
