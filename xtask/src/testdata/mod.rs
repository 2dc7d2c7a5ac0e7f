//! A deterministic synthetic data set: DICOM Part 10 files, their expected 8-bit renderings,
//! and the matching FHIR R4 resources, all with UIDs derived from one prefix.
//!
//! Used to load the real servers in `cargo xtask test` and by the dev server's sample mode.
//! The same options always give the same bytes, and different `id_prefix`es never share an
//! id or a UID, so several data sets can live in one Orthanc / FHIR server.

mod document;
mod fhir;
mod key_objects;
pub(crate) mod part10;
mod phantom;
mod presentation_state;
mod structured_report;
mod uid;
pub mod viewer;

use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::path::Path;

/// Everything generated for one prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The sanitised prefix the ids and UIDs were derived from.
    pub id_prefix: String,
    pub patients: Vec<Patient>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Patient {
    /// FHIR Patient id, e.g. `emr-demo-1`.
    pub fhir_id: String,
    /// DICOM PatientID and the value of the FHIR identifier.
    pub mrn: String,
    pub mrn_system: String,
    pub family: String,
    pub given: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `F` or `M`.
    pub sex: String,
    pub studies: Vec<Study>,
}

impl Patient {
    /// PatientName as the DICOM files carry it: `FAMILY^GIVEN`.
    pub fn dicom_name(&self) -> String {
        format!("{}^{}", self.family.to_uppercase(), self.given.to_uppercase())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Study {
    pub uid: String,
    pub accession: String,
    /// `YYYYMMDD`.
    pub date: String,
    /// `HHMMSS`.
    pub time: String,
    pub description: String,
    pub series: Vec<Series>,
    pub fhir_id: String,
    /// The SOP Instance UIDs a Key Object Selection of the study names (its own KO series, the
    /// last), in document order; empty when the study has none.
    pub key_images: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub uid: String,
    pub number: u32,
    pub modality: String,
    pub description: String,
    pub instances: Vec<Instance>,
    /// Known features of its phantom for measurement tests (the manifest's `landmarks`).
    pub landmarks: Option<Value>,
    /// BodyPartExamined (`CHEST`, `HEAD`), also the FHIR series' bodySite.
    pub body_part: Option<String>,
    /// Each instance's position along the normal of its plane (mm), in instance order; empty
    /// for a projection or a document.
    pub slice_positions: Vec<f64>,
    /// The distance between neighbouring slices (mm), for a series with a plane.
    pub slice_spacing: Option<f64>,
}

#[derive(Clone, PartialEq)]
pub struct Instance {
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub number: u32,
    pub rows: u16,
    pub columns: u16,
    /// The whole DICOM Part 10 file.
    pub part10: Vec<u8>,
    /// `rows * columns` bytes: the image under its own default window (VOI LUT LINEAR).
    pub expected_gray8: Vec<u8>,
}

impl std::fmt::Debug for Instance {
    // The pixel buffers would drown any assertion message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("sop_instance_uid", &self.sop_instance_uid)
            .field("number", &self.number)
            .field("rows", &self.rows)
            .field("columns", &self.columns)
            .field("part10", &format_args!("{} bytes", self.part10.len()))
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Slices in the chest CT series.
    pub ct_slices: usize,
    /// Distinguishes data sets loaded into the same servers ("demo", "e2e", "native"): it goes
    /// into FHIR ids, PatientIDs and every UID.
    pub id_prefix: String,
}

impl Default for Options {
    fn default() -> Self {
        Options { ct_slices: 5, id_prefix: "demo".into() }
    }
}

pub const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
pub const MR_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.4";
pub const CR_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.1";
const MRN_SYSTEM: &str = "urn:oid:2.16.840.1.113883.19.5";

/// A FHIR transaction Bundle: one Endpoint (address = `dicomweb_base` as given), the Patients
/// and the ImagingStudies, each a PUT to its generated id.
pub fn fhir_transaction(ds: &Dataset, dicomweb_base: &str) -> Value {
    fhir::transaction(ds, dicomweb_base)
}

/// The same resources as individual JSON values: Endpoint, Patients, ImagingStudies.
pub fn fhir_resources(ds: &Dataset, dicomweb_base: &str) -> Vec<Value> {
    fhir::resources(ds, dicomweb_base)
}

/// FHIR ids allow `[A-Za-z0-9\-.]{1,64}`: anything else becomes `-`, and the prefix is kept
/// short enough that every id built from it fits.
fn sanitise_prefix(prefix: &str) -> String {
    let clean: String = prefix.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '-' }).take(40).collect();
    if clean.is_empty() {
        "x".into()
    } else {
        clean
    }
}

/// What a series looks like, before its pixels are made.
#[derive(Clone, Copy)]
enum Phantom {
    CtChest,
    MrHead,
    CtHead,
    /// A projection radiograph: Imager Pixel Spacing and a magnification, no PixelSpacing
    /// and no plane.
    CrChest,
}

struct SeriesPlan {
    modality: &'static str,
    description: &'static str,
    phantom: Phantom,
    slices: usize,
    window: (f64, f64),
    spacing: &'static str,
    thickness: f64,
    /// Distance between slice centres along the normal (mm); slices run from
    /// `first_position` towards the feet.
    slice_spacing: f64,
    first_position: f64,
    /// BodyPartExamined; empty for none.
    body_part: &'static str,
}

impl SeriesPlan {
    /// Where slice `k` lies along the normal (the plane is axial, so this is its z), or `None`
    /// for a projection.
    fn position(&self, k: usize) -> Option<f64> {
        (!matches!(self.phantom, Phantom::CrChest)).then_some(self.first_position - k as f64 * self.slice_spacing)
    }
}

/// The empty image series `plan` describes, with the facts its images will have.
fn image_series(uid: String, number: u32, plan: &SeriesPlan) -> Series {
    let slice_positions: Vec<f64> = (0..plan.slices).filter_map(|k| plan.position(k)).collect();
    Series {
        uid,
        number,
        modality: plan.modality.into(),
        description: plan.description.into(),
        instances: Vec::new(),
        landmarks: landmarks(&plan.phantom),
        body_part: Some(plan.body_part.to_string()).filter(|b| !b.is_empty()),
        slice_spacing: (!slice_positions.is_empty()).then_some(plan.slice_spacing),
        slice_positions,
    }
}

struct StudyPlan {
    date: &'static str,
    time: &'static str,
    description: &'static str,
    series: Vec<SeriesPlan>,
    /// Images (series index, instance index) a Key Object Selection names.
    key_images: &'static [(usize, usize)],
    /// A TID 1500 measurement report on the first image, in an SR series of its own.
    measurement_report: bool,
    /// A presentation state of the first image, in a PR series of its own.
    presentation_state: bool,
}

struct PatientPlan {
    family: &'static str,
    given: &'static str,
    birth_date: &'static str,
    sex: &'static str,
    studies: Vec<StudyPlan>,
}

/// The head CT's slices (series index, instance index) its Key Object Selection names.
const KEY_SLICES: &[(usize, usize)] = &[(0, 4), (0, 1), (0, 3)];

fn plan(opts: &Options) -> Vec<PatientPlan> {
    vec![
        PatientPlan {
            family: "Testperson",
            given: "Anna",
            birth_date: "1968-04-17",
            sex: "F",
            studies: vec![
                StudyPlan {
                    date: "20240312",
                    time: "093015",
                    description: "CT Chest (synthetic phantom)",
                    series: vec![SeriesPlan {
                        modality: "CT",
                        description: "Axial 5 mm soft tissue",
                        phantom: Phantom::CtChest,
                        slices: opts.ct_slices,
                        window: (40.0, 400.0),
                        spacing: "0.7\\0.7",
                        thickness: 5.0,
                        slice_spacing: 5.0,
                        first_position: 0.0,
                        body_part: "CHEST",
                    }],
                    key_images: &[],
                    measurement_report: false,
                    presentation_state: false,
                },
                StudyPlan {
                    date: "20230708",
                    time: "141200",
                    description: "MR Head (synthetic phantom)",
                    series: vec![SeriesPlan {
                        modality: "MR",
                        description: "Axial T2",
                        phantom: Phantom::MrHead,
                        slices: 3,
                        window: (600.0, 1200.0),
                        spacing: "0.9\\0.9",
                        thickness: 4.0,
                        slice_spacing: 4.0,
                        first_position: 0.0,
                        body_part: "HEAD",
                    }],
                    key_images: &[],
                    measurement_report: false,
                    presentation_state: false,
                },
                // The chest CT's prior, a year before to the day: other slices (1.6 times the
                // spacing, one more of them) over a z range that brackets the current one's top.
                StudyPlan {
                    date: "20230312",
                    time: "101000",
                    description: "CT Chest (synthetic phantom, prior)",
                    series: vec![SeriesPlan {
                        modality: "CT",
                        description: "Axial 8 mm soft tissue",
                        phantom: Phantom::CtChest,
                        slices: opts.ct_slices + 1,
                        window: (40.0, 400.0),
                        spacing: "0.7\\0.7",
                        thickness: 8.0,
                        slice_spacing: 8.0,
                        first_position: 4.0,
                        body_part: "CHEST",
                    }],
                    key_images: &[],
                    measurement_report: false,
                    presentation_state: false,
                },
            ],
        },
        PatientPlan {
            // A non-ASCII family name: PatientName travels as UTF-8 (ISO_IR 192).
            family: "Müller",
            given: "Jonas",
            birth_date: "1985-11-02",
            sex: "M",
            studies: vec![StudyPlan {
                date: "20240105",
                time: "110500",
                description: "CT Head (synthetic phantom)",
                series: vec![SeriesPlan {
                    modality: "CT",
                    description: "Axial 5 mm brain",
                    phantom: Phantom::CtHead,
                    slices: 5,
                    window: (40.0, 80.0),
                    spacing: "0.9\\0.9",
                    thickness: 5.0,
                    slice_spacing: 5.0,
                    first_position: 0.0,
                    body_part: "HEAD",
                }],
                // Three of five slices, named out of display order; the first and the third
                // are not key.
                key_images: KEY_SLICES,
                measurement_report: false,
                presentation_state: false,
            }],
        },
        PatientPlan {
            family: "Beispiel",
            given: "Clara",
            birth_date: "1952-06-30",
            sex: "F",
            studies: vec![StudyPlan {
                date: "20240520",
                time: "081000",
                description: "CR Chest PA (synthetic phantom)",
                series: vec![SeriesPlan {
                    modality: "CR",
                    description: "PA",
                    phantom: Phantom::CrChest,
                    slices: 1,
                    window: (2048.0, 4096.0),
                    spacing: "",
                    thickness: 0.0,
                    slice_spacing: 0.0,
                    first_position: 0.0,
                    body_part: "CHEST",
                }],
                key_images: &[],
                measurement_report: true,
                presentation_state: true,
            }],
        },
    ]
}

/// Generates the whole data set. Pure: the same options give the same bytes.
pub fn generate(opts: &Options) -> Dataset {
    let prefix = sanitise_prefix(&opts.id_prefix);
    let mut patients = Vec::new();
    for (pi, pp) in plan(opts).into_iter().enumerate() {
        let pn = pi + 1;
        let mut patient = Patient {
            fhir_id: format!("emr-{prefix}-{pn}"),
            mrn: format!("{}-{}", prefix.to_ascii_uppercase(), 100_000 + pn),
            mrn_system: MRN_SYSTEM.into(),
            family: pp.family.into(),
            given: pp.given.into(),
            birth_date: pp.birth_date.into(),
            sex: pp.sex.into(),
            studies: Vec::new(),
        };
        for (si, sp) in pp.studies.iter().enumerate() {
            let key = format!("p{pn}/s{}", si + 1);
            let accession_hash = uid::hash128(&[prefix.as_bytes(), b"accession", key.as_bytes()]);
            let mut study = Study {
                uid: uid::uid(&prefix, &format!("study/{key}"), 0),
                accession: format!("A{:010}", accession_hash % 10_000_000_000),
                date: sp.date.into(),
                time: sp.time.into(),
                description: sp.description.into(),
                series: Vec::new(),
                fhir_id: format!("emr-{prefix}-study-{pn}-{}", si + 1),
                key_images: Vec::new(),
            };
            let frame_of_reference = uid::uid(&prefix, &format!("frame-of-reference/{key}"), 0);
            for (ri, rp) in sp.series.iter().enumerate() {
                let series_key = format!("{key}/r{}", ri + 1);
                let mut series = image_series(uid::uid(&prefix, &format!("series/{series_key}"), 0), ri as u32 + 1, rp);
                for k in 0..rp.slices {
                    let sop = uid::uid(&prefix, &format!("instance/{series_key}"), k as u64);
                    let ctx = ImageContext {
                        patient: &patient,
                        study: &study,
                        series: &series,
                        study_id: si + 1,
                        frame_of_reference: &frame_of_reference,
                        plan: rp,
                    };
                    let instance = make_instance(&ctx, k, sop);
                    series.instances.push(instance);
                }
                study.series.push(series);
            }
            if !sp.key_images.is_empty() {
                let (mut series, sop) = document_series(&prefix, &key, "ko", study.series.len(), "KO", "Key images", None);
                series.instances.push(key_objects::document(&patient, &study, &series, sop, sp.key_images));
                study.key_images = sp
                    .key_images
                    .iter()
                    .filter_map(|&(s, i)| study.series.get(s)?.instances.get(i).map(|x| x.sop_instance_uid.clone()))
                    .collect();
                study.series.push(series);
            }
            // Documents on the study's first image, each in a series of its own.
            let on_first_image = [
                (sp.measurement_report, "sr", "SR", "Measurement report", None, structured_report::document as OnImage),
                (sp.presentation_state, "pr", "PR", "Presentation state", Some(presentation_state::facts()), presentation_state::document),
                (
                    sp.presentation_state,
                    "pr-table",
                    "PR",
                    "Presentation state (VOI LUT)",
                    Some(presentation_state::table_facts()),
                    presentation_state::table_document,
                ),
            ];
            for (wanted, suffix, modality, description, landmarks, make) in on_first_image {
                if !wanted {
                    continue;
                }
                let (mut series, sop) = document_series(&prefix, &key, suffix, study.series.len(), modality, description, landmarks);
                if let Some(images) = study.series.first() {
                    if let Some(image) = images.instances.first() {
                        series.instances.push(make(&patient, &study, &series, sop, images, image));
                        study.series.push(series);
                    }
                }
            }
            patient.studies.push(study);
        }
        patients.push(patient);
    }
    Dataset { id_prefix: prefix, patients }
}

/// A document generator for one image: (patient, study, its series, SOP Instance UID, the image's
/// series, the image) to the document.
type OnImage = fn(&Patient, &Study, &Series, String, &Series, &Instance) -> Instance;

/// The empty series after the study's `existing` series that holds one document, and that
/// document's SOP Instance UID, both derived from the study's `key` and `suffix`.
fn document_series(
    prefix: &str,
    key: &str,
    suffix: &str,
    existing: usize,
    modality: &str,
    description: &str,
    landmarks: Option<Value>,
) -> (Series, String) {
    let series_key = format!("{key}/{suffix}");
    let series = Series {
        uid: uid::uid(prefix, &format!("series/{series_key}"), 0),
        number: existing as u32 + 1,
        modality: modality.into(),
        description: description.into(),
        instances: Vec::new(),
        landmarks,
        body_part: None,
        slice_positions: Vec::new(),
        slice_spacing: None,
    };
    (series, uid::uid(prefix, &format!("instance/{series_key}"), 0))
}

/// What a measurement test can rely on in a phantom.
fn landmarks(phantom: &Phantom) -> Option<Value> {
    match phantom {
        Phantom::CrChest => Some(json!({
            "ruler": { "points": phantom::CR_CHEST_RULER.iter().map(|(x, y)| json!({"x": x, "y": y})).collect::<Vec<_>>(), "mm": 100.0 },
        })),
        Phantom::CtChest => {
            let ((cx, cy), radius) = phantom::CT_CHEST_INSERT;
            Some(json!({
                "ruler": { "points": phantom::CT_CHEST_RULER.iter().map(|(x, y)| json!({"x": x, "y": y})).collect::<Vec<_>>(), "mm": 100.0 },
                "insert": { "center": {"x": cx, "y": cy}, "radius": radius, "mean": 60.0, "sd": ((17.0f64 * 17.0 - 1.0) / 12.0).sqrt() },
            }))
        }
        _ => None,
    }
}

/// What an image needs from the levels above it.
struct ImageContext<'a> {
    patient: &'a Patient,
    study: &'a Study,
    series: &'a Series,
    study_id: usize,
    frame_of_reference: &'a str,
    plan: &'a SeriesPlan,
}

/// Decimal strings for DS: at most 16 characters, no exponent.
fn decimal(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

fn make_instance(ctx: &ImageContext<'_>, k: usize, sop: String) -> Instance {
    let plan = ctx.plan;
    let slice = match plan.phantom {
        Phantom::CtChest => phantom::ct_chest(k, plan.slices),
        Phantom::MrHead => phantom::mr_head(k, plan.slices),
        Phantom::CtHead => phantom::ct_head(k, plan.slices),
        Phantom::CrChest => phantom::cr_chest(),
    };
    let projection = matches!(plan.phantom, Phantom::CrChest);
    let is_ct = plan.modality == "CT";
    let (center, width) = plan.window;
    // CT: int16 stored = HU + 1024, rendered after the rescale; MR: uint16 12-bit, no rescale.
    let mut pixels = Vec::with_capacity(slice.values.len() * 2);
    for &v in &slice.values {
        #[allow(clippy::expect_used, reason = "the phantoms stay in range by construction; a wrong one must stop the run")]
        if is_ct {
            let stored = i16::try_from(v + 1024).expect("HU + 1024 fits int16");
            pixels.extend_from_slice(&stored.to_le_bytes());
        } else {
            let stored = u16::try_from(v).ok().filter(|s| *s < 4096).expect("MR value fits 12 bits");
            pixels.extend_from_slice(&stored.to_le_bytes());
        }
    }
    let expected = phantom::expected_gray8(&slice.values, center, width);

    let spacing: f64 = plan.spacing.split('\\').next().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let origin = -(f64::from(slice.columns) * spacing) / 2.0 + spacing / 2.0;
    let z = plan.position(k).unwrap_or_default();
    let sop_class = match plan.modality {
        "CT" => CT_IMAGE_STORAGE,
        "CR" => CR_IMAGE_STORAGE,
        _ => MR_IMAGE_STORAGE,
    };
    let number = k as u32 + 1;
    let p = ctx.patient;

    let mut e = part10::Elements::default();
    e.text(0x0008_0005, b"CS", "ISO_IR 192")
        .text(0x0008_0008, b"CS", if projection { "ORIGINAL\\PRIMARY" } else { "ORIGINAL\\PRIMARY\\AXIAL" })
        .text(0x0008_0016, b"UI", sop_class)
        .text(0x0008_0018, b"UI", &sop)
        .text(0x0008_0020, b"DA", &ctx.study.date)
        .text(0x0008_0021, b"DA", &ctx.study.date)
        .text(0x0008_0023, b"DA", &ctx.study.date)
        .text(0x0008_0030, b"TM", &ctx.study.time)
        .text(0x0008_0031, b"TM", &ctx.study.time)
        .text(0x0008_0033, b"TM", &ctx.study.time)
        .text(0x0008_0050, b"SH", &ctx.study.accession)
        .text(0x0008_0060, b"CS", plan.modality)
        .text(0x0008_0070, b"LO", "emr-imaging synthetic")
        .text(0x0008_0090, b"PN", "")
        .text(0x0008_1030, b"LO", &ctx.study.description)
        .text(0x0008_103E, b"LO", &ctx.series.description)
        .text(0x0010_0010, b"PN", &p.dicom_name())
        .text(0x0010_0020, b"LO", &p.mrn)
        .text(0x0010_0030, b"DA", &p.birth_date.replace('-', ""))
        .text(0x0010_0040, b"CS", &p.sex)
        .text(0x0020_000D, b"UI", &ctx.study.uid)
        .text(0x0020_000E, b"UI", &ctx.series.uid)
        .text(0x0020_0010, b"SH", &ctx.study_id.to_string())
        .text(0x0020_0011, b"IS", &ctx.series.number.to_string())
        .text(0x0020_0013, b"IS", &number.to_string())
        .us(0x0028_0002, 1)
        .text(0x0028_0004, b"CS", "MONOCHROME2")
        .us(0x0028_0010, slice.rows)
        .us(0x0028_0011, slice.columns)
        .us(0x0028_0100, 16)
        .text(0x0028_1050, b"DS", &decimal(center))
        .text(0x0028_1051, b"DS", &decimal(width))
        .binary(0x7FE0_0010, b"OW", pixels);
    if projection {
        // DX/CR: the spacing is the detector's; the magnification brings it to the patient.
        e.text(0x0018_1114, b"DS", &decimal(phantom::CR_MAGNIFICATION))
            .text(
                0x0018_1164,
                b"DS",
                &format!("{}\\{}", decimal(phantom::CR_IMAGER_SPACING_MM.0), decimal(phantom::CR_IMAGER_SPACING_MM.1)),
            )
            .text(0x0018_5101, b"CS", "PA")
            .text(0x0020_0020, b"CS", "L\\F")
            .us(0x0028_0101, 12)
            .us(0x0028_0102, 11)
            .us(0x0028_0103, 0);
    } else {
        e.text(0x0018_0050, b"DS", &decimal(plan.thickness))
            .text(0x0020_0032, b"DS", &format!("{}\\{}\\{}", decimal(origin), decimal(origin), decimal(z)))
            .text(0x0020_0037, b"DS", "1\\0\\0\\0\\1\\0")
            .text(0x0020_0052, b"UI", ctx.frame_of_reference)
            .text(0x0020_1040, b"LO", "")
            .text(0x0020_1041, b"DS", &decimal(z))
            .text(0x0028_0030, b"DS", plan.spacing);
    }
    if !plan.body_part.is_empty() {
        e.text(0x0018_0015, b"CS", plan.body_part);
    }
    if is_ct {
        e.text(0x0018_0060, b"DS", "120")
            .us(0x0028_0101, 16)
            .us(0x0028_0102, 15)
            .us(0x0028_0103, 1)
            .text(0x0028_1052, b"DS", "-1024")
            .text(0x0028_1053, b"DS", "1")
            .text(0x0028_1054, b"LO", "HU");
    } else if !projection {
        e.text(0x0018_0020, b"CS", "SE")
            .text(0x0018_0021, b"CS", "NONE")
            .text(0x0018_0022, b"CS", "")
            .text(0x0018_0023, b"CS", "2D")
            .text(0x0018_0080, b"DS", "3000")
            .text(0x0018_0081, b"DS", "90")
            .text(0x0018_0087, b"DS", "1.5")
            .text(0x0018_0091, b"IS", "1")
            .us(0x0028_0101, 12)
            .us(0x0028_0102, 11)
            .us(0x0028_0103, 0);
    }
    Instance {
        part10: part10::write(sop_class, &sop, e),
        sop_instance_uid: sop,
        sop_class_uid: sop_class.into(),
        number,
        rows: slice.rows,
        columns: slice.columns,
        expected_gray8: expected,
    }
}

/// Patients → studies → series → instances, with the file names written next to it.
fn manifest(ds: &Dataset, dicomweb_base: &str) -> Value {
    json!({
        "id_prefix": ds.id_prefix,
        "dicomweb_base": dicomweb_base,
        "endpoint_id": fhir::endpoint_id(ds),
        "patients": ds.patients.iter().map(|p| json!({
            "fhir_id": p.fhir_id,
            "mrn": p.mrn,
            "mrn_system": p.mrn_system,
            "family": p.family,
            "given": p.given,
            "birth_date": p.birth_date,
            "sex": p.sex,
            "studies": p.studies.iter().map(|s| json!({
                "uid": s.uid,
                "fhir_id": s.fhir_id,
                "accession": s.accession,
                "date": s.date,
                "time": s.time,
                "description": s.description,
                "key_images": s.key_images,
                "series": s.series.iter().map(|se| json!({
                    "uid": se.uid,
                    "number": se.number,
                    "modality": se.modality,
                    "description": se.description,
                    "landmarks": se.landmarks,
                    "body_part": se.body_part,
                    "body_site": se.body_part.as_deref().and_then(fhir::body_site_code),
                    "slice_positions": se.slice_positions,
                    "slice_spacing": se.slice_spacing,
                    "instances": se.instances.iter().map(|i| json!({
                        "sop_instance_uid": i.sop_instance_uid,
                        "sop_class_uid": i.sop_class_uid,
                        "number": i.number,
                        "rows": i.rows,
                        "columns": i.columns,
                        "file": format!("dicom/{}.dcm", i.sop_instance_uid),
                        "expected": format!("expected/{}.gray8", i.sop_instance_uid),
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// Writes `dicom/<sop>.dcm`, `expected/<sop>.gray8`, `fhir-bundle.json` and `manifest.json`
/// (whose `file` and `expected` paths are relative to `dir`).
pub fn write_to_dir(ds: &Dataset, dicomweb_base: &str, dir: &Path) -> Result<()> {
    let write = |path: &Path, bytes: &[u8]| std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()));
    for sub in ["dicom", "expected"] {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
    }
    for p in &ds.patients {
        for s in &p.studies {
            for se in &s.series {
                for i in &se.instances {
                    write(&dir.join("dicom").join(format!("{}.dcm", i.sop_instance_uid)), &i.part10)?;
                    write(&dir.join("expected").join(format!("{}.gray8", i.sop_instance_uid)), &i.expected_gray8)?;
                }
            }
        }
    }
    write(&dir.join("fhir-bundle.json"), &serde_json::to_vec_pretty(&fhir_transaction(ds, dicomweb_base))?)?;
    write(&dir.join("manifest.json"), &serde_json::to_vec_pretty(&manifest(ds, dicomweb_base))?)?;
    Ok(())
}

#[cfg(test)]
mod tests;
