use super::*;

fn small() -> Dataset {
    generate(&Options { ct_slices: 3, id_prefix: "unit".into() })
}

/// Every image (the Key Object Selections, reports and presentation states, which have no
/// pixels, left out).
fn instances(ds: &Dataset) -> impl Iterator<Item = (&Patient, &Study, &Series, &Instance)> {
    ds.patients.iter().flat_map(|p| {
        p.studies.iter().flat_map(move |s| {
            s.series
                .iter()
                .filter(|se| !matches!(se.modality.as_str(), "KO" | "SR" | "PR"))
                .flat_map(move |se| se.instances.iter().map(move |i| (p, s, se, i)))
        })
    })
}

/// The value bytes of `tag` in a Part 10 file.
fn value(file: &[u8], tag: u32) -> &[u8] {
    let (_, _, at, len) = part10::walk(file).into_iter().find(|e| e.0 == tag).unwrap_or_else(|| panic!("tag {tag:08X} missing"));
    &file[at..at + len]
}

fn text(file: &[u8], tag: u32) -> String {
    String::from_utf8(value(file, tag).to_vec()).unwrap().trim_end_matches(['\0', ' ']).to_string()
}

fn us(file: &[u8], tag: u32) -> u16 {
    u16::from_le_bytes(value(file, tag).try_into().unwrap())
}

#[test]
fn generation_is_deterministic() {
    let a = small();
    let b = small();
    assert_eq!(a, b);
    assert_eq!(fhir_transaction(&a, "http://x/dicom-web"), fhir_transaction(&b, "http://x/dicom-web"));
    assert_eq!(generate(&Options::default()).id_prefix, "demo");
    assert_eq!(generate(&Options::default()).patients[0].studies[0].series[0].instances.len(), 5);
}

#[test]
fn prefixes_never_share_ids_or_uids() {
    let collect = |ds: &Dataset| {
        let mut ids = Vec::new();
        for p in &ds.patients {
            ids.extend([p.fhir_id.clone(), p.mrn.clone()]);
            for s in &p.studies {
                ids.extend([s.uid.clone(), s.fhir_id.clone(), s.accession.clone()]);
                for se in &s.series {
                    ids.push(se.uid.clone());
                    ids.extend(se.instances.iter().map(|i| i.sop_instance_uid.clone()));
                }
            }
        }
        ids
    };
    let a = collect(&small());
    let b = collect(&generate(&Options { ct_slices: 3, id_prefix: "other".into() }));
    let mut all = a.clone();
    all.extend(b.iter().cloned());
    let unique: std::collections::HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "every id and UID is distinct within and across prefixes");
    // A hostile prefix still yields valid FHIR ids.
    let odd = generate(&Options { ct_slices: 1, id_prefix: "a b/ç?".into() });
    assert_eq!(odd.patients[0].fhir_id, "emr-a-b----1");
}

#[test]
fn uids_are_valid() {
    let ds = small();
    for p in &ds.patients {
        for s in &p.studies {
            assert!(uid::is_valid(&s.uid), "{}", s.uid);
            for se in &s.series {
                assert!(uid::is_valid(&se.uid), "{}", se.uid);
            }
        }
    }
    for (_, _, _, i) in instances(&ds) {
        assert!(uid::is_valid(&i.sop_instance_uid));
        assert!(uid::is_valid(&i.sop_class_uid));
        assert!(i.sop_instance_uid.len() <= 64);
    }
    assert!(uid::is_valid(part10::IMPLEMENTATION_CLASS_UID));
}

#[test]
fn part10_structure() {
    let ds = small();
    for (p, s, se, i) in instances(&ds) {
        let f = &i.part10;
        assert!(f[..128].iter().all(|&b| b == 0), "preamble");
        assert_eq!(&f[128..132], b"DICM");
        let elements = part10::walk(f);
        // Group length covers exactly the rest of group 0002.
        assert_eq!(elements[0].0, 0x0002_0000);
        let group_len = u32::from_le_bytes(value(f, 0x0002_0000).try_into().unwrap()) as usize;
        let meta_end = elements.iter().filter(|e| e.0 >> 16 == 2).map(|e| e.2 + e.3).max().unwrap();
        assert_eq!(meta_end, elements[0].2 + 4 + group_len);
        assert_eq!(value(f, 0x0002_0001), [0, 1]);
        assert_eq!(text(f, 0x0002_0010), "1.2.840.10008.1.2.1");
        assert_eq!(text(f, 0x0002_0002), i.sop_class_uid);
        assert_eq!(text(f, 0x0002_0003), i.sop_instance_uid);
        for pair in elements.windows(2) {
            assert!(pair[0].0 < pair[1].0, "ascending tags: {:08X} then {:08X}", pair[0].0, pair[1].0);
        }
        for (tag, vr, _, len) in &elements {
            assert_eq!(len % 2, 0, "even length for {tag:08X} {}", String::from_utf8_lossy(vr));
        }
        assert_eq!(text(f, 0x0008_0018), i.sop_instance_uid);
        assert_eq!(text(f, 0x0020_000D), s.uid);
        assert_eq!(text(f, 0x0020_000E), se.uid);
        assert_eq!(text(f, 0x0008_0060), se.modality);
        assert_eq!(text(f, 0x0010_0020), p.mrn);
        assert_eq!(text(f, 0x0010_0010), format!("{}^{}", p.family.to_uppercase(), p.given.to_uppercase()));
        assert_eq!(text(f, 0x0008_0005), "ISO_IR 192");
        assert_eq!(text(f, 0x0020_0013), i.number.to_string());
        assert_eq!(us(f, 0x0028_0010), i.rows);
        assert_eq!(us(f, 0x0028_0011), i.columns);
        let pixel = part10::walk(f).into_iter().find(|e| e.0 == 0x7FE0_0010).unwrap();
        assert_eq!(&pixel.1, b"OW");
        assert_eq!(pixel.3, i.rows as usize * i.columns as usize * 2);
    }
    // UI values are padded with NUL, text with a space.
    let first = &ds.patients[0].studies[0].series[0].instances[0].part10;
    assert_eq!(value(first, 0x0008_0016).last(), Some(&0), "CT Image Storage UID is odd-length");
    assert_eq!(text(first, 0x0028_0030), "0.7\\0.7");
    assert_eq!(text(first, 0x0020_0037), "1\\0\\0\\0\\1\\0");
    assert_eq!((us(first, 0x0028_0101), us(first, 0x0028_0102), us(first, 0x0028_0103)), (16, 15, 1));
    let mr = &ds.patients[0].studies[1].series[0].instances[0].part10;
    assert_eq!((us(mr, 0x0028_0101), us(mr, 0x0028_0102), us(mr, 0x0028_0103)), (12, 11, 0));
    assert_eq!(text(mr, 0x0008_0016), MR_IMAGE_STORAGE);
    // The radiograph: the detector's spacing and the magnification, no PixelSpacing, no plane.
    let cr = &ds.patients[2].studies[0].series[0].instances[0].part10;
    assert_eq!(text(cr, 0x0008_0016), CR_IMAGE_STORAGE);
    assert_eq!(text(cr, 0x0018_1164), "0.3\\0.2");
    assert_eq!(text(cr, 0x0018_1114), "1.25");
    assert_eq!((us(cr, 0x0028_0101), us(cr, 0x0028_0102), us(cr, 0x0028_0103)), (12, 11, 0));
    let tags: Vec<u32> = part10::walk(cr).into_iter().map(|e| e.0).collect();
    for absent in [0x0028_0030, 0x0020_0032, 0x0020_0037, 0x0018_0050] {
        assert!(!tags.contains(&absent), "{absent:08X} on a projection radiograph");
    }
}

/// The stored pixels rendered with the file's own rescale and window equal `expected_gray8`.
#[test]
fn pixels_and_expected_rendering_agree() {
    let ds = small();
    let num = |f: &[u8], tag| text(f, tag).parse::<f64>().unwrap();
    for (_, _, se, i) in instances(&ds) {
        let f = &i.part10;
        let (c, w) = (num(f, 0x0028_1050), num(f, 0x0028_1051));
        let signed = us(f, 0x0028_0103) == 1;
        let (intercept, slope) = if se.modality == "CT" { (num(f, 0x0028_1052), num(f, 0x0028_1053)) } else { (0.0, 1.0) };
        let px = value(f, 0x7FE0_0010);
        assert_eq!(i.expected_gray8.len(), i.rows as usize * i.columns as usize);
        for (n, chunk) in px.chunks_exact(2).enumerate() {
            let raw = [chunk[0], chunk[1]];
            let stored = if signed { f64::from(i16::from_le_bytes(raw)) } else { f64::from(u16::from_le_bytes(raw)) };
            assert_eq!(phantom::linear_window(stored * slope + intercept, c, w), i.expected_gray8[n], "pixel {n}");
        }
    }
    // Spot checks on the chest CT: air, 40 HU soft tissue, bone.
    let ct = &ds.patients[0].studies[0].series[0].instances[0];
    let at = |x: usize, y: usize| (ct.expected_gray8[y * 512 + x], i16::from_le_bytes(pixel_bytes(ct, y * 512 + x)));
    assert_eq!(at(500, 500), (0, 24), "air: -1000 HU");
    assert_eq!(at(256, 300), (128, 1064), "soft tissue: 40 HU");
    assert_eq!(at(256, 367).0, 255, "vertebra ring");
    assert_eq!(at(511, 511).0, 0, "bottom-right corner is black");
    let mr = &ds.patients[0].studies[1].series[0].instances[0];
    assert_eq!(mr.expected_gray8[0], 0);
}

fn pixel_bytes(i: &Instance, n: usize) -> [u8; 2] {
    let px = value(&i.part10, 0x7FE0_0010);
    [px[2 * n], px[2 * n + 1]]
}

#[test]
fn fhir_bundle_shape() {
    let ds = small();
    let base = "http://127.0.0.1:9/dicom-web";
    let bundle = fhir_transaction(&ds, base);
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "transaction");
    let entries = bundle["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 1 + 3 + 5);
    for e in entries {
        let r = &e["resource"];
        assert_eq!(e["request"]["method"], "PUT");
        assert_eq!(e["request"]["url"], format!("{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap()));
    }
    let of_type = |t: &str| entries.iter().map(|e| &e["resource"]).filter(|r| r["resourceType"] == t).collect::<Vec<_>>();
    let endpoints = of_type("Endpoint");
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0]["address"], base);
    assert_eq!(endpoints[0]["connectionType"]["code"], "dicom-wado-rs");
    assert_eq!(endpoints[0]["status"], "active");
    assert!(!endpoints[0]["payloadType"].as_array().unwrap().is_empty());
    let patients = of_type("Patient");
    assert_eq!(patients[0]["identifier"][0]["system"], "urn:oid:2.16.840.1.113883.19.5");
    assert_eq!(patients[0]["identifier"][0]["value"], ds.patients[0].mrn);
    assert_eq!(patients[0]["name"][0]["given"][0], "Anna");
    assert_eq!(patients[0]["gender"], "female");
    let studies = of_type("ImagingStudy");
    assert_eq!(studies.len(), 5);
    let ct = studies[0];
    let study = &ds.patients[0].studies[0];
    assert_eq!(ct["identifier"][0]["system"], "urn:dicom:uid");
    assert_eq!(ct["identifier"][0]["value"], format!("urn:oid:{}", study.uid));
    assert_eq!(ct["identifier"][1]["type"]["coding"][0]["code"], "ACSN");
    assert_eq!(ct["identifier"][1]["value"], study.accession);
    assert_eq!(ct["subject"]["reference"], format!("Patient/{}", ds.patients[0].fhir_id));
    assert_eq!(ct["endpoint"][0]["reference"], format!("Endpoint/{}", endpoints[0]["id"].as_str().unwrap()));
    assert_eq!(ct["status"], "available");
    assert_eq!(ct["started"], "2024-03-12T09:30:15Z");
    assert_eq!(ct["modality"][0]["code"], "CT");
    assert_eq!(ct["modality"][0]["system"], "http://dicom.nema.org/resources/ontology/DCM");
    assert_eq!(ct["numberOfSeries"], 1);
    assert_eq!(ct["numberOfInstances"], 3);
    assert_eq!(ct["series"][0]["uid"], study.series[0].uid);
    assert_eq!(ct["series"][0]["numberOfInstances"], 3);
    assert_eq!(ct["series"][0]["instance"][2]["number"], 3);
    assert_eq!(ct["series"][0]["instance"][0]["sopClass"]["code"], "urn:oid:1.2.840.10008.5.1.4.1.1.2");
    assert_eq!(ct["series"][0]["instance"][0]["uid"], study.series[0].instances[0].sop_instance_uid);
    assert_eq!(ct["series"][0]["bodySite"]["system"], "http://snomed.info/sct");
    assert_eq!(ct["series"][0]["bodySite"]["code"], "51185008");
    // Every image series names its body part; documents name none.
    for study in &studies {
        for series in study["series"].as_array().unwrap() {
            let document = ["KO", "SR", "PR"].contains(&series["modality"]["code"].as_str().unwrap());
            assert_eq!(series["bodySite"]["code"].is_string(), !document, "{series}");
        }
    }
    assert_eq!(fhir_resources(&ds, base).len(), entries.len());
}

#[test]
fn write_to_dir_writes_files_the_manifest_names() {
    let ds = generate(&Options { ct_slices: 1, id_prefix: "write".into() });
    let dir = std::env::temp_dir().join(format!("xtask-testdata-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    write_to_dir(&ds, "http://h/dicom-web", &dir).unwrap();
    let manifest: Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let first = &manifest["patients"][0]["studies"][0]["series"][0]["instances"][0];
    let i = &ds.patients[0].studies[0].series[0].instances[0];
    assert_eq!(first["sop_instance_uid"], i.sop_instance_uid);
    assert_eq!(std::fs::read(dir.join(first["file"].as_str().unwrap())).unwrap(), i.part10);
    assert_eq!(std::fs::read(dir.join(first["expected"].as_str().unwrap())).unwrap(), i.expected_gray8);
    assert_eq!((first["rows"].as_u64(), first["columns"].as_u64()), (Some(512), Some(512)));
    let bundle: Value = serde_json::from_slice(&std::fs::read(dir.join("fhir-bundle.json")).unwrap()).unwrap();
    assert_eq!(bundle, fhir_transaction(&ds, "http://h/dicom-web"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_head_ct_has_a_key_object_selection_of_3_of_its_5_slices() {
    let ds = small();
    let head = &ds.patients[1].studies[0];
    let slices = &head.series[0].instances;
    assert_eq!((head.series[0].modality.as_str(), slices.len()), ("CT", 5));
    let named: Vec<String> = [4, 1, 3].iter().map(|&k| slices[k].sop_instance_uid.clone()).collect();
    assert_eq!(head.key_images, named);
    let ko = head.series.last().unwrap();
    assert_eq!((ko.modality.as_str(), ko.number, ko.instances.len()), ("KO", 2, 1));
    let file = &ko.instances[0].part10;
    assert_eq!(text(file, 0x0008_0016), key_objects::KEY_OBJECT_SELECTION_STORAGE);
    assert_eq!(text(file, 0x0010_0020), ds.patients[1].mrn);
    assert_eq!(text(file, 0x0020_000D), head.uid);
    let elements = part10::walk(file);
    for tag in [0x0040_A043, 0x0040_A375, 0x0040_A730] {
        assert!(elements.iter().any(|e| e.0 == tag && &e.1 == b"SQ"), "{tag:08X} is a sequence");
    }
    // The content names the key slices in document order, each once, and not the others.
    let content = String::from_utf8_lossy(value(file, 0x0040_A730)).into_owned();
    let at = |sop: &str| content.find(sop).unwrap_or_else(|| panic!("{sop} not in the content"));
    assert!(at(&named[0]) < at(&named[1]) && at(&named[1]) < at(&named[2]));
    for k in [0, 2] {
        assert!(!content.contains(&slices[k].sop_instance_uid), "slice {} is not key", k + 1);
    }
    // Items of defined length that add up to the sequence's length.
    let evidence = value(file, 0x0040_A375);
    assert_eq!(&evidence[..4], &[0xFE, 0xFF, 0x00, 0xE0]);
    assert_eq!(u32::from_le_bytes(evidence[4..8].try_into().unwrap()) as usize, evidence.len() - 8);
    // Studies without a selection have no KO series, and this is the only selection.
    assert_eq!(ds.patients.iter().flat_map(|p| &p.studies).filter(|s| !s.key_images.is_empty()).count(), 1);
    assert!(ds
        .patients
        .iter()
        .flat_map(|p| &p.studies)
        .filter(|s| s.key_images.is_empty())
        .all(|s| s.series.iter().all(|se| se.modality != "KO")));
}

#[test]
fn the_chest_phantom_carries_a_100_mm_ruler_and_an_insert_of_known_statistics() {
    let slice = phantom::ct_chest(0, 5);
    let at = |x: f64, y: f64| slice.values[y as usize * slice.columns as usize + x as usize];
    let [(x1, y1), (x2, y2)] = phantom::CT_CHEST_RULER;
    assert!(((x2 - x1).hypot(y2 - y1) * phantom::CT_CHEST_SPACING_MM - 100.0).abs() < 1e-9);
    assert_eq!((at(x1, y1), at(x2, y2)), (1000, 1000), "the dots are drawn");
    assert_eq!(at((x1 + x2) / 2.0, y1), -1000, "in air between them");
    let ((cx, cy), r) = phantom::CT_CHEST_INSERT;
    let inside: Vec<f64> = (0..slice.rows as usize)
        .flat_map(|y| (0..slice.columns as usize).map(move |x| (x, y)))
        .filter(|&(x, y)| (x as f64 + 0.5 - cx).hypot(y as f64 + 0.5 - cy) <= r - 1.0)
        .map(|(x, y)| f64::from(slice.values[y * slice.columns as usize + x]))
        .collect();
    let mean = inside.iter().sum::<f64>() / inside.len() as f64;
    let sd = (inside.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / inside.len() as f64).sqrt();
    assert!((mean - 60.0).abs() < 0.2 && (sd - 4.899).abs() < 0.2, "mean {mean}, sd {sd}");
}

/// Numbers of a DS value (`a\\b\\c`).
fn decimals(file: &[u8], tag: u32) -> Vec<f64> {
    text(file, tag).split('\\').map(|v| v.trim().parse().unwrap()).collect()
}

/// The first patient's chest CT and its prior.
fn ct_and_prior(ds: &Dataset) -> (&Study, &Study) {
    let studies = &ds.patients[0].studies;
    (&studies[0], &studies[2])
}

/// What the files say of each slice: its position along the normal of its plane.
fn positions_from_files(series: &Series) -> Vec<f64> {
    series
        .instances
        .iter()
        .map(|i| {
            let (ipp, iop) = (decimals(&i.part10, 0x0020_0032), decimals(&i.part10, 0x0020_0037));
            let ipp: [f64; 3] = ipp.try_into().unwrap();
            let iop: [f64; 6] = iop.try_into().unwrap();
            emr_imaging::imaging::geometry::slice_position(&ipp, &iop).unwrap()
        })
        .collect()
}

#[test]
fn the_chest_ct_has_a_prior_a_year_before_with_other_slices_over_an_overlapping_range() {
    let ds = small();
    let (ct, prior) = ct_and_prior(&ds);
    let (now, then) = (&ct.series[0], &prior.series[0]);
    let (a, b) = (&now.instances[0].part10, &then.instances[0].part10);
    // The same patient, modality and body part; a date one year earlier to the day.
    for tag in [0x0010_0010, 0x0010_0020, 0x0010_0030, 0x0008_0060, 0x0018_0015] {
        assert_eq!(text(a, tag), text(b, tag), "{tag:08X}");
    }
    assert_eq!(text(b, 0x0018_0015), "CHEST");
    let (date_now, date_then) = (text(a, 0x0008_0020), text(b, 0x0008_0020));
    let year = |d: &str| d[..4].parse::<u32>().unwrap();
    assert_eq!((year(&date_then) + 1, &date_then[4..]), (year(&date_now), &date_now[4..]), "{date_then} then {date_now}");
    assert_eq!(prior.date, date_then);
    // Its own study, series, instances, accession and frame of reference.
    assert_ne!((text(a, 0x0020_000D), text(a, 0x0020_000E)), (text(b, 0x0020_000D), text(b, 0x0020_000E)));
    assert_eq!(text(b, 0x0020_000D), prior.uid);
    assert_ne!(prior.accession, ct.accession);
    assert_eq!(text(b, 0x0008_0050), prior.accession);
    assert_ne!(text(a, 0x0020_0052), text(b, 0x0020_0052));
    let sops: std::collections::HashSet<&str> =
        [now, then].iter().flat_map(|s| s.instances.iter().map(|i| i.sop_instance_uid.as_str())).collect();
    assert_eq!(sops.len(), now.instances.len() + then.instances.len());
    // Other slice count and spacing, read back from the positions the files carry.
    assert_ne!(then.instances.len(), now.instances.len());
    let (p_now, p_then) = (positions_from_files(now), positions_from_files(then));
    let spacing = |p: &[f64]| {
        let steps: Vec<f64> = p.windows(2).map(|w| (w[0] - w[1]).abs()).collect();
        assert!(steps.windows(2).all(|s| (s[0] - s[1]).abs() < 1e-9), "evenly spaced: {p:?}");
        steps[0]
    };
    let (s_now, s_then) = (spacing(&p_now), spacing(&p_then));
    assert!((s_then / s_now - 1.6).abs() < 1e-9, "{s_then} mm against {s_now} mm");
    // The z ranges overlap, and every current slice has a prior slice within half a spacing.
    let range = |p: &[f64]| (p.iter().copied().fold(f64::INFINITY, f64::min), p.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    let ((lo_now, hi_now), (lo_then, hi_then)) = (range(&p_now), range(&p_then));
    assert!(lo_now.max(lo_then) < hi_now.min(hi_then), "{:?} and {:?}", (lo_now, hi_now), (lo_then, hi_then));
    for &z in &p_now {
        let nearest = emr_imaging::imaging::geometry::nearest_slice(&p_then, z).unwrap();
        assert!((p_then[nearest] - z).abs() <= s_then / 2.0, "{z} mm");
    }
    // Position and orientation agree: an axial plane, the same in-plane origin on every slice,
    // Slice Location and Slice Thickness equal to the position and the spacing.
    for i in &then.instances {
        let f = &i.part10;
        assert_eq!(decimals(f, 0x0020_0037), [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        let ipp = decimals(f, 0x0020_0032);
        assert_eq!(ipp[..2], decimals(&then.instances[0].part10, 0x0020_0032)[..2]);
        assert_eq!(decimals(f, 0x0020_1041), [ipp[2]]);
        assert_eq!(decimals(f, 0x0018_0050), [s_then]);
    }
    // The model says what the files say: the manifest's numbers.
    assert_eq!(then.slice_positions, p_then);
    assert_eq!(now.slice_positions, p_now);
    assert_eq!((now.slice_spacing, then.slice_spacing), (Some(s_now), Some(s_then)));
    assert_eq!(then.body_part.as_deref(), Some("CHEST"));
}

#[test]
fn the_manifest_gives_each_series_its_slice_positions_spacing_and_body_part() {
    let ds = small();
    let manifest = manifest(&ds, "http://h/dicom-web");
    let prior = &manifest["patients"][0]["studies"][2];
    assert_eq!(prior["date"], "20230312");
    let series = &prior["series"][0];
    assert_eq!(series["slice_positions"], json!([4.0, -4.0, -12.0, -20.0]));
    assert_eq!(series["slice_spacing"], 8.0);
    assert_eq!((series["body_part"].as_str(), series["body_site"].as_str()), (Some("CHEST"), Some("51185008")));
    let current = &manifest["patients"][0]["studies"][0]["series"][0];
    assert_eq!(current["slice_positions"], json!([0.0, -5.0, -10.0]));
    assert_eq!(current["slice_spacing"], 5.0);
    // A radiograph has no plane; a document neither a plane nor a body part.
    let cr = &manifest["patients"][2]["studies"][0]["series"];
    assert_eq!(
        (cr[0]["slice_positions"].clone(), cr[0]["slice_spacing"].clone(), cr[0]["body_part"].clone()),
        (json!([]), Value::Null, json!("CHEST"))
    );
    assert_eq!((cr[1]["modality"].as_str(), cr[1]["body_part"].clone()), (Some("SR"), Value::Null));
}

/// The viewer's own rule, run on the FHIR the servers get: the chest CT and its prior compare,
/// the MR of the same patient does not.
#[test]
fn the_prior_is_what_the_viewer_offers_next_to_the_chest_ct() {
    use emr_imaging::bridge::Study as Shown;
    let ds = small();
    let studies: Vec<Shown> = fhir_resources(&ds, "http://h/dicom-web")
        .into_iter()
        .filter(|r| r["resourceType"] == "ImagingStudy")
        .map(|r| Shown::from_fhir(emr_imaging::fhir::ImagingStudy::from_json(r).unwrap()))
        .collect();
    let (ct, prior) = ct_and_prior(&ds);
    let current = studies.iter().find(|s| s.study_uid == ct.uid).unwrap();
    let offered: Vec<&str> = emr_imaging::session::comparable_studies(current, &studies).iter().map(|s| s.study_uid.as_str()).collect();
    assert_eq!(offered, [prior.uid.as_str()]);
    let shown_prior = studies.iter().find(|s| s.study_uid == prior.uid).unwrap();
    assert_eq!(shown_prior.series[0].body_site.as_deref(), Some("51185008"));
    assert_eq!(shown_prior.modalities, ["CT"]);
}

/// The first study with a series of `modality`, that series, and the study's patient as the
/// viewer's context.
fn document_series<'a>(ds: &'a Dataset, modality: &str) -> (&'a Study, &'a Series, emr_imaging::imaging::PatientContext) {
    let (patient, study) = ds
        .patients
        .iter()
        .flat_map(|p| p.studies.iter().map(move |s| (p, s)))
        .find(|(_, s)| s.series.iter().any(|se| se.modality == modality))
        .unwrap();
    let series = study.series.iter().find(|se| se.modality == modality).unwrap();
    let context = emr_imaging::imaging::PatientContext {
        id: patient.fhir_id.clone(),
        identifiers: vec![patient.mrn.clone()],
        family: Some(patient.family.clone()),
        display_name: patient.family.clone(),
    };
    (study, series, context)
}

#[test]
fn the_measurement_report_reads_back_with_both_groups() {
    use emr_imaging::imaging::structured_report::{read_report, ItemKind, ReportItem};
    let ds = small();
    let (study, sr, context) = document_series(&ds, "SR");
    let report = read_report(&sr.instances[0].part10, &context).unwrap();
    assert_eq!(report.title.as_deref(), Some("Imaging Measurement Report"));
    fn all<'a>(items: &'a [ReportItem], out: &mut Vec<&'a ReportItem>) {
        for i in items {
            out.push(i);
            all(&i.children, out);
        }
    }
    let mut items = Vec::new();
    all(&report.items, &mut items);
    let numbers: Vec<(String, String)> = items
        .iter()
        .filter(|i| i.kind == ItemKind::Num)
        .map(|i| (i.concept.clone().unwrap_or_default(), i.value.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        numbers,
        [("Length", "100.0 mm"), ("Angle", "53.13°"), ("Long Axis", "12.5 mm"), ("Area", "96.1 mm²")]
            .map(|(c, v)| (c.to_string(), v.to_string()))
    );
    let findings: Vec<_> = items.iter().filter(|i| i.concept.as_deref() == Some("Finding")).filter_map(|i| i.value.as_deref()).collect();
    assert_eq!(findings, ["Calibration marker", "Nodule"]);
    // The image it measures is the study's radiograph.
    let image = &study.series[0].instances[0].sop_instance_uid;
    assert!(items.iter().any(|i| i.kind == ItemKind::Reference && i.value.as_ref() == Some(image)));
}

#[test]
fn the_presentation_state_reads_back_for_the_radiograph() {
    use emr_imaging::imaging::presentation_state::{read_state, Mark, Shape, SpatialTransform};
    let ds = small();
    let (study, pr, context) = document_series(&ds, "PR");
    let state = read_state(&pr.instances[0].part10, &context).unwrap();
    let image = &study.series[0];
    assert_eq!(state.label, presentation_state::LABEL);
    assert_eq!(state.transform, SpatialTransform { quarter_turns: 1, flip: true });
    let applied = state.for_image(&image.uid, &image.instances[0].sop_instance_uid, 1, (1.0, 0.0)).unwrap();
    let window = applied.window.unwrap();
    assert_eq!((window.center, window.width), presentation_state::WINDOW);
    let area = applied.area.unwrap().rect;
    assert_eq!((area.left, area.top, area.right, area.bottom), (100.0, 80.0, 400.0, 400.0));
    let ruler = phantom::CR_CHEST_RULER;
    assert!(applied.marks.iter().any(|m| matches!(m, Mark::Graphic { shape: Shape::Polyline(p), .. }
        if (p[0].x - ruler[0].0).abs() < 1e-3 && (p[1].y - ruler[1].1).abs() < 1e-3)));
    let texts: Vec<&str> =
        applied.marks.iter().filter_map(|m| if let Mark::Text { text, .. } = m { Some(text.as_str()) } else { None }).collect();
    assert_eq!(texts, [presentation_state::RULER_TEXT, presentation_state::CORNER_TEXT]);
    // The shutter as the viewer reads it hides exactly the pixels the generator's own rule does,
    // and the state's expected rendering has its level there and the window elsewhere.
    let shutter = applied.shutter.unwrap();
    assert_eq!(shutter.level, presentation_state::SHUTTER_LEVEL);
    let (columns, rows) = (u32::from(image.instances[0].columns), u32::from(image.instances[0].rows));
    let expected = &pr.instances[0].expected_gray8;
    assert_eq!(expected.len(), (columns * rows) as usize);
    let plain = phantom::expected_gray8(&phantom::cr_chest().values, presentation_state::WINDOW.0, presentation_state::WINDOW.1);
    let mut hidden = 0;
    for row in 1..=rows {
        for column in 1..=columns {
            let shows = presentation_state::shutter_shows(column, row);
            assert_eq!(shutter.shows(f64::from(column), f64::from(row)), shows, "pixel {column},{row}");
            let i = ((row - 1) * columns + column - 1) as usize;
            assert_eq!(expected[i], if shows { plain[i] } else { presentation_state::SHUTTER_LEVEL });
            hidden += usize::from(!shows);
        }
    }
    assert_eq!(shutter.mask(columns, rows).iter().map(|(_, n)| n).sum::<usize>(), hidden);
    assert!(hidden > 40_000 && hidden < 120_000, "{hidden} hidden");
    // Each shape hides something the others leave: the rectangle's side, the circle's corner,
    // the polygon's cut inside both.
    for (column, row) in [(30, 240), (60, 30), (90, 100)] {
        assert!(!presentation_state::shutter_shows(column, row), "{column},{row}");
    }
    assert!(presentation_state::shutter_shows(257, 241) && presentation_state::shutter_shows(110, 100));
}

#[test]
fn the_table_state_shows_the_radiograph_through_its_voi_lut_as_the_generator_computes() {
    use emr_imaging::imaging::presentation_state::read_state;
    use emr_imaging::imaging::voi_lut::Voi;
    use emr_imaging::imaging::{DecodedImage, RgbaLayout};
    let ds = small();
    let (study, _, context) = document_series(&ds, "PR");
    let pr = study.series.iter().find(|se| se.description == "Presentation state (VOI LUT)").unwrap();
    let image = &study.series[0].instances[0];
    let state = read_state(&pr.instances[0].part10, &context).unwrap();
    assert_eq!(state.label, presentation_state::TABLE_LABEL);
    let applied = state.for_image(&study.series[0].uid, &image.sop_instance_uid, 1, (1.0, 0.0)).unwrap();
    assert_eq!(applied.window, None, "a table, not a window");
    let table = applied.table.unwrap();
    assert_eq!((table.lut.first_mapped, table.lut.entries.len(), table.lut.bits), (500, 2048, 16));
    assert_eq!(table.explanation.as_deref(), Some(presentation_state::TABLE_EXPLANATION));
    // The viewer's rendering equals the generator's own, pixel for pixel.
    let decoded = DecodedImage::decode(&image.part10).unwrap();
    let mut rgba = Vec::new();
    decoded.render_voi(&Voi::Table(table), false, RgbaLayout::Opaque, &mut rgba).unwrap();
    let gray: Vec<u8> = rgba.chunks_exact(4).map(|p| p[0]).collect();
    assert_eq!(gray, pr.instances[0].expected_gray8);
    // Background (below the first mapped value), lung, body, spine, dot (past the last).
    let levels: Vec<u8> = [300, 700, 1400, 2200, 4000].map(presentation_state::table_level).to_vec();
    assert_eq!(levels, [0, 80, 169, 232, 255]);
}

/// pydicom, an independent reader, parses the generated documents, the radiograph, the head CT
/// the selection names and the prior chest CT, and finds what the generator meant to write (the
/// install step provides pydicom).
#[test]
fn pydicom_reads_the_generated_documents_radiograph_and_cts() {
    let ds = small();
    let dir = std::env::temp_dir().join(format!("emr-testdata-pydicom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let find = |modality: &str| {
        ds.patients.iter().flat_map(|p| &p.studies).flat_map(|s| &s.series).find(|se| se.modality == modality).unwrap().instances[0].clone()
    };
    for (name, modality) in [("ko.dcm", "KO"), ("sr.dcm", "SR"), ("cr.dcm", "CR"), ("pr.dcm", "PR")] {
        std::fs::write(dir.join(name), &find(modality).part10).unwrap();
    }
    let table =
        ds.patients.iter().flat_map(|p| &p.studies).flat_map(|s| &s.series).find(|se| se.description == "Presentation state (VOI LUT)");
    std::fs::write(dir.join("pr-table.dcm"), &table.unwrap().instances[0].part10).unwrap();
    for (k, i) in ds.patients[1].studies[0].series[0].instances.iter().enumerate() {
        std::fs::write(dir.join(format!("head{k}.dcm")), &i.part10).unwrap();
    }
    let (ct, prior) = ct_and_prior(&ds);
    std::fs::write(dir.join("ct.dcm"), &ct.series[0].instances[0].part10).unwrap();
    for (k, i) in prior.series[0].instances.iter().enumerate() {
        std::fs::write(dir.join(format!("prior{k}.dcm")), &i.part10).unwrap();
    }
    let script = r#"
import sys, pydicom
d = sys.argv[1]
ko = pydicom.dcmread(d + '/ko.dcm')
assert ko.SOPClassUID == '1.2.840.10008.5.1.4.1.1.88.59', ko.SOPClassUID
assert ko.ConceptNameCodeSequence[0].CodeValue == '113000'
images = [i for i in ko.ContentSequence if i.ValueType == 'IMAGE']
assert len(images) == 3, len(images)
import glob
head = [pydicom.dcmread(f) for f in sorted(glob.glob(d + '/head*.dcm'))]
assert [(h.Modality, h.InstanceNumber) for h in head] == [('CT', n) for n in range(1, 6)], head
named = [i.ReferencedSOPSequence[0].ReferencedSOPInstanceUID for i in images]
assert named == [head[k].SOPInstanceUID for k in (4, 1, 3)], named
evidence = ko.CurrentRequestedProcedureEvidenceSequence[0]
assert evidence.StudyInstanceUID == head[0].StudyInstanceUID == ko.StudyInstanceUID
assert evidence.ReferencedSeriesSequence[0].SeriesInstanceUID == head[0].SeriesInstanceUID
assert sorted(s.ReferencedSOPInstanceUID for s in evidence.ReferencedSeriesSequence[0].ReferencedSOPSequence) == sorted(named)
assert all(s.ReferencedSOPClassUID == '1.2.840.10008.5.1.4.1.1.2' for s in evidence.ReferencedSeriesSequence[0].ReferencedSOPSequence)
assert ko.PatientID == head[0].PatientID
sr = pydicom.dcmread(d + '/sr.dcm')
assert sr.SOPClassUID == '1.2.840.10008.5.1.4.1.1.88.33'
assert sr.ContentTemplateSequence[0].TemplateIdentifier == '1500'
def walk(items):
    for i in items:
        yield i
        yield from walk(getattr(i, 'ContentSequence', []))
nums = [(i.ConceptNameCodeSequence[0].CodeMeaning, str(i.MeasuredValueSequence[0].NumericValue),
         i.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue)
        for i in walk(sr.ContentSequence) if i.ValueType == 'NUM']
assert nums == [('Length', '100.0', 'mm'), ('Angle', '53.13', 'deg'), ('Long Axis', '12.5', 'mm'), ('Area', '96.1', 'mm2')], nums
cr = pydicom.dcmread(d + '/cr.dcm')
assert cr.SOPClassUID == '1.2.840.10008.5.1.4.1.1.1'
assert [float(v) for v in cr.ImagerPixelSpacing] == [0.3, 0.2]
assert float(cr.EstimatedRadiographicMagnificationFactor) == 1.25
assert 'PixelSpacing' not in cr
assert (cr.Rows, cr.Columns, cr.BitsStored, len(cr.PixelData)) == (480, 512, 12, 480 * 512 * 2)
pr = pydicom.dcmread(d + '/pr.dcm')
assert pr.SOPClassUID == '1.2.840.10008.5.1.4.1.1.11.1'
assert pr.ReferencedSeriesSequence[0].ReferencedImageSequence[0].ReferencedSOPInstanceUID == cr.SOPInstanceUID
assert (pr.ImageRotation, pr.ImageHorizontalFlip, pr.PresentationLUTShape) == (90, 'Y', 'IDENTITY')
area = pr.DisplayedAreaSelectionSequence[0]
assert (list(area.DisplayedAreaTopLeftHandCorner), list(area.DisplayedAreaBottomRightHandCorner)) == ([101, 81], [400, 400])
kinds = [g.GraphicType for g in pr.GraphicAnnotationSequence[0].GraphicObjectSequence]
assert kinds == ['POLYLINE', 'CIRCLE', 'POINT'], kinds
texts = [t.UnformattedTextValue for t in pr.GraphicAnnotationSequence[0].TextObjectSequence]
assert texts == ['Ruler 100 mm', 'Presentation state test'], texts
assert list(pr.ShutterShape) == ['RECTANGULAR', 'CIRCULAR', 'POLYGONAL'], pr.ShutterShape
edges = (pr.ShutterLeftVerticalEdge, pr.ShutterRightVerticalEdge, pr.ShutterUpperHorizontalEdge, pr.ShutterLowerHorizontalEdge)
assert edges == (41, 472, 21, 460), edges
assert (list(pr.CenterOfCircularShutter), pr.RadiusOfCircularShutter) == ([241, 257], 250)
assert list(pr.VerticesOfThePolygonalShutter) == [1, 200, 1, 512, 480, 512, 480, 1, 200, 1], pr.VerticesOfThePolygonalShutter
assert pr.ShutterPresentationValue == 0x5555
table = pydicom.dcmread(d + '/pr-table.dcm')
lut = table.SoftcopyVOILUTSequence[0].VOILUTSequence[0]
assert list(lut.LUTDescriptor) == [2048, 500, 16], lut.LUTDescriptor
assert (lut.LUTExplanation, len(lut.LUTData)) == ('SQRT 500-2547', 2048 * 2), lut.LUTExplanation
assert 'WindowCenter' not in table.SoftcopyVOILUTSequence[0]
import glob
ct = pydicom.dcmread(d + '/ct.dcm')
prior = [pydicom.dcmread(f) for f in sorted(glob.glob(d + '/prior*.dcm'))]
assert len(prior) == 4, len(prior)
for p in prior:
    assert (p.PatientID, p.Modality, p.BodyPartExamined) == (ct.PatientID, 'CT', 'CHEST')
    assert (p.StudyDate, ct.StudyDate) == ('20230312', '20240312')
    assert p.StudyInstanceUID != ct.StudyInstanceUID and p.AccessionNumber != ct.AccessionNumber
    assert [float(v) for v in p.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
    assert float(p.SliceLocation) == float(p.ImagePositionPatient[2])
zs = [float(p.ImagePositionPatient[2]) for p in prior]
assert zs == [4.0, -4.0, -12.0, -20.0], zs
assert float(prior[0].SliceThickness) == 8.0 and float(ct.SliceThickness) == 5.0
print('pydicom ok')
"#;
    let out = std::process::Command::new("python3").arg("-c").arg(script).arg(&dir).output().expect("python3 runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "pydicom: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
