//! What the upload panel lists: every file the user gave, whether it may go and what became
//! of it, grouped by study so the user picks which studies are sent. A refused file stays
//! listed with its reason; nothing refused ever reaches the queue.

use super::dicomdir::DirectoryFile;
use super::stow::InstanceOutcome;
use super::LocalFile;
use std::collections::BTreeSet;

/// Where one listed file stands.
#[derive(Debug, Clone, PartialEq)]
pub enum FileState {
    /// Never sent; the reason is shown beside it.
    Refused(String),
    /// Checked: goes when its study is sent.
    Ready,
    /// In the resumable queue (IndexedDB), waiting for its batch.
    Queued,
    /// In a STOW request now.
    Sending,
    /// The server answered for it for good.
    Done(InstanceOutcome),
}

impl FileState {
    /// Counted in the queue's total: queued, being sent or answered.
    fn in_queue(&self) -> bool {
        matches!(self, FileState::Queued | FileState::Sending | FileState::Done(_))
    }
}

/// One listed file.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The name the user gave (a folder's relative path).
    pub name: String,
    pub size: usize,
    pub state: FileState,
    /// What the file is, when it could be read.
    pub file: Option<LocalFile>,
}

/// A study among the listed files, offered to be sent or not.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyChoice {
    pub study_uid: String,
    pub description: Option<String>,
    pub modalities: Vec<String>,
    pub files: usize,
    pub bytes: usize,
    pub chosen: bool,
}

/// The queue's total, over the files that were sent or are waiting to be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub files: usize,
    pub done_files: usize,
    pub bytes: usize,
    pub done_bytes: usize,
    /// Of those done, refused by the server.
    pub failed: usize,
}

/// The panel's list. Studies are chosen unless the user unticks them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Intake {
    entries: Vec<Entry>,
    unchosen: BTreeSet<String>,
}

impl Intake {
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// A readable file of the patient: ready, unless the same instance is listed already
    /// (a CD copied twice into one folder), which would otherwise be sent twice.
    pub fn add_file(&mut self, file: LocalFile) {
        let state = if self.position(&file.sop_instance_uid).is_some() {
            FileState::Refused("the same instance is listed already".into())
        } else {
            FileState::Ready
        };
        self.entries.push(Entry { name: file.name.clone(), size: file.size, state, file: Some(file) });
    }

    /// A file left in the queue by an earlier page: it goes on by itself.
    pub fn add_queued(&mut self, file: LocalFile) {
        match self.position(&file.sop_instance_uid) {
            Some(i) => self.entries[i].state = FileState::Queued,
            None => self.entries.push(Entry { name: file.name.clone(), size: file.size, state: FileState::Queued, file: Some(file) }),
        }
    }

    pub fn add_refused(&mut self, name: &str, size: usize, reason: String) {
        self.entries.push(Entry { name: name.to_string(), size, state: FileState::Refused(reason), file: None });
    }

    fn position(&self, sop_instance_uid: &str) -> Option<usize> {
        self.entries.iter().position(|e| {
            e.file.as_ref().is_some_and(|f| f.sop_instance_uid == sop_instance_uid) && !matches!(e.state, FileState::Refused(_))
        })
    }

    /// The studies of files not refused, in the order first listed.
    pub fn studies(&self) -> Vec<StudyChoice> {
        let mut out: Vec<StudyChoice> = Vec::new();
        for e in &self.entries {
            let Some(f) = e.file.as_ref().filter(|_| !matches!(e.state, FileState::Refused(_))) else { continue };
            let at = match out.iter().position(|s| s.study_uid == f.study_uid) {
                Some(i) => i,
                None => {
                    out.push(StudyChoice {
                        study_uid: f.study_uid.clone(),
                        description: f.study_description.clone(),
                        modalities: Vec::new(),
                        files: 0,
                        bytes: 0,
                        chosen: !self.unchosen.contains(&f.study_uid),
                    });
                    out.len() - 1
                }
            };
            let study = &mut out[at];
            study.files += 1;
            study.bytes += e.size;
            if let Some(m) = f.modality.as_ref().filter(|m| !study.modalities.contains(m)) {
                study.modalities.push(m.clone());
            }
        }
        out
    }

    pub fn choose(&mut self, study_uid: &str, chosen: bool) {
        if chosen {
            self.unchosen.remove(study_uid);
        } else {
            self.unchosen.insert(study_uid.to_string());
        }
    }

    /// The ready files of chosen studies, in list order: what "Send" queues.
    pub fn to_send(&self) -> Vec<&LocalFile> {
        self.entries
            .iter()
            .filter(|e| e.state == FileState::Ready)
            .filter_map(|e| e.file.as_ref())
            .filter(|f| !self.unchosen.contains(&f.study_uid))
            .collect()
    }

    /// The listed file of this instance changes state; a file the server answered for stays so.
    pub fn set_state(&mut self, sop_instance_uid: &str, state: FileState) {
        if let Some(i) = self.position(sop_instance_uid) {
            if !matches!(self.entries[i].state, FileState::Done(_)) {
                self.entries[i].state = state;
            }
        }
    }

    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for e in self.entries.iter().filter(|e| e.state.in_queue()) {
            t.files += 1;
            t.bytes += e.size;
            if let FileState::Done(outcome) = &e.state {
                t.done_files += 1;
                t.done_bytes += e.size;
                if matches!(outcome, InstanceOutcome::Failed { .. }) {
                    t.failed += 1;
                }
            }
        }
        t
    }

    /// Every queued file of `study_uid` is answered for, and at least one was stored (or was
    /// there already): the study can be listed.
    pub fn study_finished(&self, study_uid: &str) -> bool {
        let of_study: Vec<&Entry> =
            self.entries.iter().filter(|e| e.state.in_queue() && e.file.as_ref().is_some_and(|f| f.study_uid == study_uid)).collect();
        !of_study.is_empty()
            && of_study.iter().all(|e| matches!(e.state, FileState::Done(_)))
            && of_study.iter().any(|e| matches!(e.state, FileState::Done(InstanceOutcome::Stored { .. } | InstanceOutcome::AlreadyPresent)))
    }

    /// The stored instances of `study_uid` (for the audit's Create).
    pub fn stored_of(&self, study_uid: &str) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| matches!(e.state, FileState::Done(InstanceOutcome::Stored { .. })))
            .filter_map(|e| e.file.as_ref())
            .filter(|f| f.study_uid == study_uid)
            .map(|f| f.sop_instance_uid.clone())
            .collect()
    }

    /// Drops the files that are finished with (answered or refused), keeping what still goes.
    pub fn clear_finished(&mut self) {
        self.entries.retain(|e| matches!(e.state, FileState::Ready | FileState::Queued | FileState::Sending));
    }
}

/// What a CD's DICOMDIR says of a dropped folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdFiles {
    /// Indexes into the given paths of the files the DICOMDIR names, in record order.
    pub named: Vec<usize>,
    /// Paths it names that were not given (a CD copied in part).
    pub missing: Vec<String>,
}

/// The given paths (`CD/DICOM/ST000/IM0001`) the DICOMDIR at `dicomdir_path` names. Its file
/// IDs are relative to its own folder; CDs write them in upper case (ISO 9660), copies are
/// often lower-cased, so they are compared without case.
pub fn cd_files(dicomdir_path: &str, records: &[DirectoryFile], given: &[&str]) -> CdFiles {
    let folder = match dicomdir_path.rfind('/') {
        Some(i) => &dicomdir_path[..=i],
        None => "",
    };
    let mut named = Vec::new();
    let mut missing = Vec::new();
    for record in records {
        let wanted = format!("{folder}{}", record.path);
        match given.iter().position(|g| g.eq_ignore_ascii_case(&wanted)) {
            Some(i) if !named.contains(&i) => named.push(i),
            Some(_) => {}
            None => missing.push(wanted),
        }
    }
    CdFiles { named, missing }
}

/// A DICOMDIR by its name: PS3.10 names the file so on every medium.
pub fn is_dicomdir(path: &str) -> bool {
    path.rsplit('/').next().is_some_and(|n| n.eq_ignore_ascii_case("DICOMDIR"))
}

/// What a dropped file holds, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Jpeg,
    Png,
    /// Anything else is tried as DICOM.
    Other,
}

pub fn content_of(bytes: &[u8]) -> Content {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Content::Jpeg
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Content::Png
    } else {
        Content::Other
    }
}
