//! Key images only (IID `keyImagesOnly=true`, the widget's `keyImagesOnly`): a study is shown
//! as just the images its Key Object Selection documents name, and a study with none says so
//! instead of showing everything (that would answer another question than the one asked).
//!
//! The documents are checked against the patient in context like images are. An image a
//! rejection note withdraws (IHE IOCM) is never a key image, whatever another document says.

use super::{Generation, Screen, Session, SessionError};
use crate::bridge::Study;
use crate::imaging::key_objects::{read_key_objects, KeyObjectError, KEY_OBJECT_SELECTION_SOP_CLASS};
use crate::net::Transport;

impl<T: Transport, S: Screen> Session<T, S> {
    /// `study` narrowed to its key images.
    pub(super) async fn key_images_of(&self, study: &Study, generation: &Generation) -> Result<Study, SessionError> {
        let context = self.identity(generation).await?;
        let mut keys: Vec<(String, String)> = Vec::new();
        let mut rejected: Vec<String> = Vec::new();
        for series in study.key_object_series() {
            let instances = self.bridge.series_instances(study, series).await?;
            for instance in instances.iter().filter(|i| i.sop_class.as_deref().is_none_or(|c| c == KEY_OBJECT_SELECTION_SOP_CLASS)) {
                let bytes = self.bridge.get_instance(study, &series.uid, &instance.uid, generation.token()).await?;
                if !generation.is_current() {
                    return Err(SessionError::Superseded);
                }
                let selection = match read_key_objects(&bytes, &context) {
                    Ok(selection) => selection,
                    // A KO series may hold other objects; only selections choose.
                    Err(KeyObjectError::NotKeyObject(_)) => continue,
                    Err(KeyObjectError::Imaging(e)) => return Err(e.into()),
                    Err(KeyObjectError::WrongPatient(m)) => return Err(self.block(m)),
                };
                for image in selection.images.into_iter().filter(|i| i.study_uid == study.study_uid) {
                    if selection.rejection {
                        rejected.push(image.sop_instance_uid);
                    } else if !keys.iter().any(|(_, sop)| *sop == image.sop_instance_uid) {
                        keys.push((image.series_uid, image.sop_instance_uid));
                    }
                }
            }
        }
        keys.retain(|(_, sop)| !rejected.contains(sop));
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
        Ok(narrowed)
    }
}
