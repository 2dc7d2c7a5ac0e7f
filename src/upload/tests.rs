//! Upload rules natively: batches, per-instance outcomes, the patient check, DICOMDIR records,
//! and photos that our parser reads back with the patient's attributes.
#![cfg(not(target_arch = "wasm32"))]

use super::dicomdir;
use super::photo::{jpeg_frame, vl_photo, BodySite, PhotoContext, Picture, VL_PHOTOGRAPHIC_IMAGE};
use super::stow::{batches, outcomes, InstanceOutcome};
use super::writer::{part10, DataSetWriter};
use super::*;
use crate::fhir::Patient;
use crate::imaging::{decode_for, IdentityMismatch, PatientContext};
use dicom_parser_lite::{tags, Tag};

fn patient() -> Patient {
    Patient {
        id: "p-1".into(),
        identifiers: vec!["MRN-7".into()],
        family: Some("Muster".into()),
        given: vec!["Anna".into(), "Lena".into()],
        birth_date: Some("1970-01-31".into()),
        gender: Some("female".into()),
    }
}

fn context_of(p: &Patient) -> PatientContext {
    crate::session::patient_context(p)
}

fn photo_context() -> PhotoContext {
    PhotoContext {
        patient: patient(),
        patient_id: "MRN-7".into(),
        study_uid: None,
        accession: None,
        body_site: Some(BodySite { code: "14975008".into(), scheme: "SCT".into(), meaning: "Forearm".into() }),
        date: "20261203".into(),
        time: "084000".into(),
        description: Some("Wound".into()),
    }
}

fn counter() -> impl FnMut() -> [u8; 16] {
    let mut n = 0u8;
    move || {
        n += 1;
        [n; 16]
    }
}

/// SOI, APP0 JFIF, SOF0 (w×h, 3 components, luminance 2×2), EOI: a header-only JPEG.
fn jpeg_header(width: u16, height: u16, sof: u8) -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
    j.extend(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    j.extend([0xFF, sof, 0, 17, 8]);
    j.extend(height.to_be_bytes());
    j.extend(width.to_be_bytes());
    j.extend([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    j.extend([0xFF, 0xD9]);
    j
}

#[test]
fn uids_are_2_25_decimals() {
    let uid = uid_from_random([0xff; 16]);
    assert!(uid.starts_with("2.25.") && uid.len() <= 64, "{uid}");
    assert!(uid[5..].chars().all(|c| c.is_ascii_digit()));
    assert_ne!(uid_from_random([1; 16]), uid_from_random([2; 16]));
}

#[test]
fn batches_are_bounded_by_count_and_bytes_in_order() {
    assert_eq!(batches(&[10; 5], 100, 2), [0..2, 2..4, 4..5]);
    assert_eq!(batches(&[60, 60, 10, 200, 5], 100, 10), [0..1, 1..3, 3..4, 4..5], "a big file goes alone");
    assert!(batches(&[], 100, 2).is_empty());
}

#[test]
fn each_instance_gets_its_outcome() {
    let uids: Vec<String> = ["1", "2", "3", "4", "5"].iter().map(|s| s.to_string()).collect();
    let body = br#"{"00081199":{"vr":"SQ","Value":[
        {"00081155":{"vr":"UI","Value":["1"]}},
        {"00081155":{"vr":"UI","Value":["2"]},"00081196":{"vr":"US","Value":[45056]}}]},
      "00081198":{"vr":"SQ","Value":[
        {"00081155":{"vr":"UI","Value":["3"]},"00081197":{"vr":"US","Value":[273]}},
        {"00081155":{"vr":"UI","Value":["4"]},"00081197":{"vr":"US","Value":[49152]}},
        {"00081155":{"vr":"UI","Value":["5"]},"00081197":{"vr":"US","Value":[42752]}}]}}"#;
    assert_eq!(
        outcomes(202, body, &uids),
        [
            InstanceOutcome::Stored { warning: None },
            InstanceOutcome::Stored { warning: Some(0xB000) },
            InstanceOutcome::AlreadyPresent,
            InstanceOutcome::Failed { reason: Some(0xC000) },
            InstanceOutcome::Retry,
        ]
    );
    assert_eq!(outcomes(409, b"", &uids[..1]), [InstanceOutcome::AlreadyPresent]);
    assert_eq!(outcomes(200, b"", &uids[..1]), [InstanceOutcome::Stored { warning: None }]);
    assert_eq!(outcomes(202, b"{}", &uids[..1]), [InstanceOutcome::Retry], "not named in a 202: not confirmed");
    assert!(!InstanceOutcome::Retry.is_done() && InstanceOutcome::AlreadyPresent.is_done());
}

#[test]
fn a_jpegs_frame_header_decides_its_transfer_syntax_and_colours() {
    let f = jpeg_frame(&jpeg_header(640, 480, 0xC0)).unwrap();
    assert_eq!((f.width, f.height, f.components, f.extended, f.subsampled, f.rgb), (640, 480, 3, false, true, false));
    assert!(jpeg_frame(&jpeg_header(640, 480, 0xC1)).unwrap().extended);
    assert!(matches!(jpeg_frame(&jpeg_header(640, 480, 0xC2)), Err(UploadError::Jpeg(m)) if m.contains("progressive")));
    assert!(jpeg_frame(b"\x89PNG").is_err());
    assert!(jpeg_frame(&[0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF]).is_err(), "a segment past the end");
}

#[test]
fn a_jpeg_photo_keeps_the_jpeg_bytes_and_the_patients_attributes() {
    let jpeg = jpeg_header(64, 48, 0xC0);
    let photo = vl_photo(Picture::Jpeg(&jpeg), &photo_context(), &mut counter()).unwrap();
    let file = dicom_parser_lite::parse(&photo.part10).unwrap();
    assert_eq!(file.transfer_syntax_uid(), "1.2.840.10008.1.2.4.50");
    let ds = file.dataset();
    assert_eq!(ds.string(tags::SOP_CLASS_UID).as_deref(), Some(VL_PHOTOGRAPHIC_IMAGE));
    assert_eq!(ds.string(tags::SOP_INSTANCE_UID).as_deref(), Some(photo.sop_instance_uid.as_str()));
    assert_eq!(ds.string(tags::PATIENT_ID).as_deref(), Some("MRN-7"));
    assert_eq!(ds.string(tags::PATIENT_NAME).as_deref(), Some("Muster^Anna Lena"));
    assert_eq!(ds.string(tags::PATIENT_BIRTH_DATE).as_deref(), Some("19700131"));
    assert_eq!(ds.string(tags::PATIENT_SEX).as_deref(), Some("F"));
    assert_eq!(ds.string(tags::MODALITY).as_deref(), Some("XC"));
    assert_eq!(ds.string(tags::PHOTOMETRIC_INTERPRETATION).as_deref(), Some("YBR_FULL_422"));
    assert_eq!((ds.u32(tags::ROWS), ds.u32(tags::COLUMNS)), (Some(48), Some(64)));
    assert_eq!(ds.string(tags::LOSSY_IMAGE_COMPRESSION).as_deref(), Some("01"));
    let site = &ds.items(Tag(0x0008, 0x2218)).unwrap()[0];
    assert_eq!(site.string(tags::CODE_VALUE).as_deref(), Some("14975008"));
    assert!(photo.study_uid.starts_with("2.25.") && photo.series_uid.starts_with("2.25."));
    let Some(dicom_parser_lite::Value::Encapsulated { fragments, .. }) = ds.get(tags::PIXEL_DATA).map(|e| &e.value) else {
        panic!("encapsulated pixel data")
    };
    assert_eq!(fragments.len(), 1);
    assert_eq!(&fragments[0][..jpeg.len()], &jpeg[..], "the JPEG is the fragment, byte for byte");
    // And the check that guards display accepts it as this patient's.
    let local = LocalFile::read("photo.dcm", &photo.part10).unwrap();
    assert_eq!(local.check(&context_of(&patient())), Ok(()));
}

#[test]
fn a_png_photo_is_stored_lossless_and_decodes_to_the_same_pixels() {
    let (width, height) = (3u32, 2u32);
    let pixels: Vec<u8> = (0..width * height * 3).map(|i| (i * 13) as u8).collect();
    let mut context = photo_context();
    context.study_uid = Some("1.2.3.4".into());
    let photo = vl_photo(Picture::Rgb { width, height, pixels: &pixels }, &context, &mut counter()).unwrap();
    assert_eq!(photo.study_uid, "1.2.3.4", "joins the study it was asked to");
    let image = decode_for(&photo.part10, &std::sync::Arc::new(context_of(&patient()))).expect("decodes as this patient's");
    assert_eq!((image.columns(), image.rows()), (3, 2));
    assert!(!image.header.lossy);
    let file = dicom_parser_lite::parse(&photo.part10).unwrap();
    assert_eq!(file.transfer_syntax_uid(), "1.2.840.10008.1.2.1");
    assert_eq!(file.dataset().get(tags::PIXEL_DATA).and_then(|e| e.bytes()), Some(&pixels[..]));
    assert!(matches!(
        vl_photo(Picture::Rgb { width: 4, height: 2, pixels: &pixels }, &context, &mut counter()),
        Err(UploadError::Pixels { .. })
    ));
}

#[test]
fn a_file_of_another_patient_is_refused_with_the_reason() {
    let jpeg = jpeg_header(8, 8, 0xC0);
    let mut other = photo_context();
    other.patient.family = Some("Other".into());
    other.patient_id = "MRN-9".into();
    let photo = vl_photo(Picture::Jpeg(&jpeg), &other, &mut counter()).unwrap();
    let refused = LocalFile::accept("x.dcm", &photo.part10, &context_of(&patient())).unwrap_err();
    assert!(matches!(refused, Refusal::OtherPatient(IdentityMismatch::PatientId { .. })), "{refused}");
    assert!(matches!(LocalFile::accept("notes.txt", b"hello", &context_of(&patient())), Err(Refusal::Unreadable(_))));
}

/// A DICOMDIR of one patient, one study and two image records, written with our writer.
fn dicomdir_bytes() -> Vec<u8> {
    let record = |kind: &str, extra: &dyn Fn(&mut DataSetWriter)| {
        let mut item = DataSetWriter::default();
        item.put(Tag(0x0004, 0x1400), "UL", &0u32.to_le_bytes());
        item.text(Tag(0x0004, 0x1430), "CS", kind);
        extra(&mut item);
        item
    };
    let records = vec![
        record("PATIENT", &|w| {
            w.text(tags::PATIENT_NAME, "PN", "Muster^Anna").text(tags::PATIENT_ID, "LO", "MRN-7");
        }),
        record("STUDY", &|w| {
            w.text(tags::STUDY_INSTANCE_UID, "UI", "1.2.840.1");
        }),
        record("SERIES", &|_| {}),
        record("IMAGE", &|w| {
            w.text(Tag(0x0004, 0x1500), "CS", "DICOM\\ST000\\IM0001").text(Tag(0x0004, 0x1511), "UI", "1.2.840.1.1.1");
        }),
        record("IMAGE", &|w| {
            w.text(Tag(0x0004, 0x1500), "CS", "DICOM\\..\\ETC");
        }),
    ];
    let mut ds = DataSetWriter::default();
    ds.sequence(Tag(0x0004, 0x1220), records);
    part10("1.2.840.10008.1.3.10", "1.2.840.1.9", "1.2.840.10008.1.2.1", ds.bytes())
}

#[test]
fn a_dicomdir_names_its_files_with_their_patient_and_study() {
    let files = dicomdir::files(&dicomdir_bytes()).unwrap();
    assert_eq!(files.len(), 1, "a path that climbs out is not followed");
    assert_eq!(files[0].path, "DICOM/ST000/IM0001");
    assert_eq!(files[0].sop_instance_uid.as_deref(), Some("1.2.840.1.1.1"));
    assert_eq!(files[0].patient_id.as_deref(), Some("MRN-7"));
    assert_eq!(files[0].study_uid.as_deref(), Some("1.2.840.1"));
    assert!(matches!(dicomdir::files(b"nope"), Err(UploadError::Dicomdir(_))));
}

/// A CD image written by pydicom's FileSet (an independent DICOMDIR writer, PS3.10 File-set):
/// our reader finds every file with its patient and study, at a path that holds that file.
#[test]
fn a_dicomdir_written_by_pydicom_names_every_file_on_the_cd() {
    let dir = std::env::temp_dir().join(format!("emr-imaging-cd-{}", std::process::id()));
    let (input, cd) = (dir.join("in"), dir.join("cd"));
    std::fs::create_dir_all(&input).unwrap();
    let mut n = 0u8;
    let mut random = || {
        n += 1;
        [n; 16]
    };
    let mut context = photo_context();
    let photos: Vec<_> = (0..3)
        .map(|i| {
            // Two studies: the first two photos share one.
            context.study_uid = if i < 2 { Some("2.25.1001".into()) } else { Some("2.25.1002".into()) };
            vl_photo(Picture::Rgb { width: 2, height: 2, pixels: &[i; 12] }, &context, &mut random).unwrap()
        })
        .collect();
    for (i, p) in photos.iter().enumerate() {
        std::fs::write(input.join(format!("{i}.dcm")), &p.part10).unwrap();
    }
    let script = r#"
import sys, glob, pydicom
from pydicom.fileset import FileSet
fs = FileSet()
for path in sorted(glob.glob(sys.argv[1] + '/*.dcm')):
    ds = pydicom.dcmread(path)
    # Type 2 in the image, empty in ours; Type 1 in a STUDY directory record (PS3.3 F.5.2).
    ds.StudyID = ds.StudyID or '1'
    fs.add(ds)
fs.write(sys.argv[2])
"#;
    let out = std::process::Command::new("python3").arg("-c").arg(script).arg(&input).arg(&cd).output().expect("python3 runs");
    assert!(out.status.success(), "pydicom: {}", String::from_utf8_lossy(&out.stderr));
    let listed = dicomdir::files(&std::fs::read(cd.join("DICOMDIR")).unwrap()).unwrap();
    let result = std::panic::catch_unwind(|| {
        assert_eq!(listed.len(), 3, "{listed:?}");
        for record in &listed {
            let bytes = std::fs::read(cd.join(&record.path)).unwrap_or_else(|e| panic!("{}: {e}", record.path));
            let file = LocalFile::read(&record.path, &bytes).unwrap();
            assert_eq!(record.sop_instance_uid.as_deref(), Some(file.sop_instance_uid.as_str()));
            assert_eq!(record.study_uid.as_deref(), Some(file.study_uid.as_str()), "the record's study is the file's");
            assert_eq!(record.patient_id.as_deref(), Some("MRN-7"));
            assert!(photos.iter().any(|p| p.sop_instance_uid == file.sop_instance_uid), "the file on the CD is one added");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// A photo of the test patient in `study`, read back as the panel lists it.
fn listed_photo(study: &str, seed: u8) -> LocalFile {
    let mut context = photo_context();
    context.study_uid = Some(study.into());
    let mut random = move || [seed; 16];
    let photo = vl_photo(Picture::Jpeg(&jpeg_header(8, 8, 0xC0)), &context, &mut random).unwrap();
    LocalFile::accept(&format!("photo-{seed}.jpg"), &photo.part10, &context_of(&patient())).unwrap()
}

#[test]
fn the_intake_lists_files_by_study_and_sends_only_chosen_ready_ones() {
    use super::intake::{FileState, Intake};
    let mut intake = Intake::default();
    let (a1, a2, b1) = (listed_photo("1.2.3", 1), listed_photo("1.2.3", 2), listed_photo("1.2.4", 3));
    intake.add_file(a1.clone());
    intake.add_file(a2.clone());
    intake.add_file(b1.clone());
    intake.add_file(a1.clone());
    intake.add_refused("notes.txt", 5, "not a DICOM file".into());
    assert!(matches!(&intake.entries()[3].state, FileState::Refused(r) if r.contains("listed already")), "the same instance twice");
    let studies = intake.studies();
    assert_eq!(
        studies.iter().map(|s| (s.study_uid.as_str(), s.files, s.chosen)).collect::<Vec<_>>(),
        [("1.2.3", 2, true), ("1.2.4", 1, true)]
    );
    assert_eq!(studies[0].modalities, ["XC"]);
    intake.choose("1.2.4", false);
    let sent: Vec<&str> = intake.to_send().iter().map(|f| f.sop_instance_uid.as_str()).collect();
    assert_eq!(sent, [a1.sop_instance_uid.as_str(), a2.sop_instance_uid.as_str()]);
    assert_eq!(intake.totals().files, 0, "nothing queued yet");

    intake.set_state(&a1.sop_instance_uid, FileState::Queued);
    intake.set_state(&a2.sop_instance_uid, FileState::Sending);
    let t = intake.totals();
    assert_eq!((t.files, t.done_files, t.bytes), (2, 0, a1.size + a2.size));
    intake.set_state(&a1.sop_instance_uid, FileState::Done(InstanceOutcome::Stored { warning: None }));
    assert!(!intake.study_finished("1.2.3"), "a2 is still in flight");
    intake.set_state(&a2.sop_instance_uid, FileState::Done(InstanceOutcome::Failed { reason: Some(0xC000) }));
    // A later "retry" for a file the server answered does not take its answer back.
    intake.set_state(&a2.sop_instance_uid, FileState::Queued);
    let t = intake.totals();
    assert_eq!((t.done_files, t.failed, t.done_bytes), (2, 1, a1.size + a2.size));
    assert!(intake.study_finished("1.2.3"));
    assert!(!intake.study_finished("1.2.4"), "never queued");
    assert_eq!(intake.stored_of("1.2.3"), std::slice::from_ref(&a1.sop_instance_uid));

    intake.clear_finished();
    assert_eq!(intake.entries().len(), 1, "only b1, still ready, stays");
    assert_eq!(intake.entries()[0].file.as_ref().map(|f| f.sop_instance_uid.clone()), Some(b1.sop_instance_uid));
}

#[test]
fn a_study_of_only_refused_answers_is_not_listed_as_uploaded() {
    use super::intake::{FileState, Intake};
    let mut intake = Intake::default();
    let a = listed_photo("1.2.5", 4);
    intake.add_file(a.clone());
    intake.set_state(&a.sop_instance_uid, FileState::Done(InstanceOutcome::Failed { reason: None }));
    assert!(!intake.study_finished("1.2.5"));
    intake.add_queued(listed_photo("1.2.6", 5));
    assert_eq!(intake.totals().files, 2, "a file resumed from the queue counts");
}

#[test]
fn a_dicomdir_picks_the_cd_files_from_a_folder_without_case() {
    use super::intake::{cd_files, content_of, is_dicomdir, Content};
    let records = dicomdir::files(&dicomdir_bytes()).unwrap();
    let given = ["CD/DICOMDIR", "CD/autorun.inf", "cd/dicom/st000/im0001", "CD/viewer.exe"];
    let cd = cd_files("CD/DICOMDIR", &records, &given);
    assert_eq!(cd.named, [2], "only the file the DICOMDIR names, matched without case");
    assert!(cd.missing.is_empty());
    let partial = cd_files("CD/DICOMDIR", &records, &["CD/DICOMDIR"]);
    assert_eq!(partial.missing, ["CD/DICOM/ST000/IM0001"]);
    assert_eq!(cd_files("DICOMDIR", &records, &["DICOM/ST000/IM0001"]).named, [0], "a DICOMDIR at the top");
    assert!(is_dicomdir("CD/dicomdir") && is_dicomdir("DICOMDIR") && !is_dicomdir("CD/DICOMDIR.bak"));
    assert_eq!(content_of(&jpeg_header(1, 1, 0xC0)), Content::Jpeg);
    assert_eq!(content_of(b"\x89PNG\r\n\x1a\n...."), Content::Png);
    assert_eq!(content_of(&dicomdir_bytes()), Content::Other);
}

#[test]
fn every_listed_body_site_is_a_snomed_code() {
    for i in 0..photo::BODY_SITES.len() {
        let site = BodySite::listed(i).unwrap();
        assert_eq!(site.scheme, "SCT");
        assert!(site.code.bytes().all(|b| b.is_ascii_digit()) && site.code.len() >= 6, "{}", site.code);
    }
    assert_eq!(BodySite::listed(photo::BODY_SITES.len()), None);
}
