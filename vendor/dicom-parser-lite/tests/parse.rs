#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure
mod common;

use common::*;
use dicom_parser_lite::{parse, parse_partial, tags, transfer_syntax, Error, Tag, Value, Vr};

fn header() -> Vec<E> {
    vec![
        s((0x0008, 0x0005), "CS", "ISO_IR 100"),
        s((0x0008, 0x0016), "UI", "1.2.840.10008.5.1.4.1.1.2"),
        s((0x0008, 0x0018), "UI", "1.2.3.4.5"),
        s((0x0008, 0x0020), "DA", "20240131"),
        s((0x0008, 0x0060), "CS", "CT"),
        s((0x0010, 0x0010), "PN", "Doe^Jane"),
        s((0x0010, 0x0020), "LO", " MRN-1 "),
        s((0x0020, 0x000D), "UI", "1.2.3"),
        s((0x0020, 0x0013), "IS", "7"),
        s((0x0020, 0x0032), "DS", "-125.0\\-125.5\\10"),
        us((0x0028, 0x0010), &[512]),
        e((0x0028, 0x0030), "DS", V::Str("0.5\\0.25".into())),
        s((0x0028, 0x1050), "DS", "40\\400"),
        s((0x0028, 0x1051), "DS", "400\\2000"),
        s((0x0028, 0x1052), "DS", "-1024"),
    ]
}

fn check_header(file: &dicom_parser_lite::DicomFile) {
    let ds = file.dataset();
    assert_eq!(ds.string(tags::PATIENT_NAME).as_deref(), Some("Doe^Jane"));
    assert_eq!(ds.string(tags::PATIENT_ID).as_deref(), Some("MRN-1"));
    assert_eq!(ds.string(tags::SOP_INSTANCE_UID).as_deref(), Some("1.2.3.4.5"));
    assert_eq!(ds.string(tags::STUDY_INSTANCE_UID).as_deref(), Some("1.2.3"), "UI NUL padding trimmed");
    assert_eq!(ds.string(tags::MODALITY).as_deref(), Some("CT"));
    assert_eq!(ds.u32(tags::INSTANCE_NUMBER), Some(7));
    assert_eq!(ds.u32(tags::ROWS), Some(512));
    assert_eq!(ds.f64(tags::ROWS), Some(512.0));
    assert_eq!(ds.f64s(tags::IMAGE_POSITION_PATIENT), vec![-125.0, -125.5, 10.0]);
    assert_eq!(ds.f64s(tags::PIXEL_SPACING), vec![0.5, 0.25]);
    assert_eq!(ds.f64(tags::WINDOW_CENTER), Some(40.0));
    assert_eq!(ds.strings(tags::WINDOW_WIDTH), vec!["400", "2000"]);
    assert_eq!(ds.f64(tags::RESCALE_INTERCEPT), Some(-1024.0));
    assert_eq!(ds.get(tags::ACCESSION_NUMBER), None);
    assert_eq!(ds.string(tags::ACCESSION_NUMBER), None);
}

#[test]
fn every_encoding_with_and_without_preamble_and_group_length() {
    for enc in [Enc::ExplicitLe, Enc::ImplicitLe, Enc::ExplicitBe] {
        for preamble in [true, false] {
            for group_length in [true, false] {
                let bytes = part10(enc, &header(), preamble, group_length);
                let file = parse(&bytes).unwrap_or_else(|e| panic!("{enc:?} {preamble} {group_length}: {e}"));
                assert_eq!(file.transfer_syntax_uid(), enc.uid());
                assert!(!file.encoding_guessed());
                assert_eq!(file.meta().string(tags::TRANSFER_SYNTAX_UID).as_deref(), Some(enc.uid()));
                assert_eq!(file.meta().get(tags::FILE_META_INFORMATION_GROUP_LENGTH).is_some(), group_length);
                assert_eq!(file.dataset().get(tags::TRANSFER_SYNTAX_UID), None, "meta is kept apart");
                check_header(&file);
                assert_eq!(file.dataset().len(), header().len());
            }
        }
    }
}

#[test]
fn bare_data_sets_are_guessed() {
    for (enc, uid) in [
        (Enc::ExplicitLe, transfer_syntax::EXPLICIT_VR_LITTLE_ENDIAN),
        (Enc::ImplicitLe, transfer_syntax::IMPLICIT_VR_LITTLE_ENDIAN),
        (Enc::ExplicitBe, transfer_syntax::EXPLICIT_VR_BIG_ENDIAN),
    ] {
        let bytes = encode(&header(), enc);
        let file = parse(&bytes).unwrap();
        assert!(file.encoding_guessed());
        assert_eq!(file.transfer_syntax_uid(), uid);
        assert!(file.meta().is_empty());
        check_header(&file);
    }
}

#[test]
fn declared_explicit_but_written_implicit_is_corrected() {
    let bytes = part10_ts(transfer_syntax::EXPLICIT_VR_LITTLE_ENDIAN, Enc::ImplicitLe, &header(), true, true);
    let file = parse(&bytes).unwrap();
    assert!(file.encoding_guessed());
    check_header(&file);
}

#[test]
fn tag_and_vr_display() {
    assert_eq!(format!("{:?}", tags::PATIENT_ID), "(0010,0020)");
    assert_eq!(format!("{}", Tag(0x7FE0, 0x0010)), "(7FE0,0010)");
    assert_eq!(format!("{:?}", Vr::SQ), "SQ");
    assert!(Tag(0x0008, 0x0018) < Tag(0x0010, 0x0010));
}

fn nested(undefined: bool) -> Vec<E> {
    vec![
        s((0x0008, 0x0060), "CS", "MR"),
        seq(
            (0x0008, 0x1140),
            vec![
                vec![s((0x0008, 0x1150), "UI", "1.2.1"), s((0x0008, 0x1155), "UI", "1.2.1.1")],
                vec![
                    s((0x0008, 0x1150), "UI", "1.2.2"),
                    seq(
                        (0x0040, 0xA730),
                        vec![vec![
                            s((0x0040, 0xA040), "CS", "TEXT"),
                            seq((0x0040, 0xA043), vec![vec![s((0x0008, 0x0104), "LO", "deep")]], undefined),
                        ]],
                        undefined,
                    ),
                ],
                vec![],
            ],
            undefined,
        ),
        s((0x0010, 0x0020), "LO", "after-seq"),
    ]
}

#[test]
fn nested_sequences_defined_and_undefined_in_every_encoding() {
    for enc in [Enc::ExplicitLe, Enc::ImplicitLe, Enc::ExplicitBe] {
        for undefined in [true, false] {
            let bytes = part10(enc, &nested(undefined), true, true);
            let file = parse(&bytes).unwrap_or_else(|e| panic!("{enc:?} {undefined}: {e}"));
            let ds = file.dataset();
            assert_eq!(ds.string(tags::PATIENT_ID).as_deref(), Some("after-seq"));
            let items = ds.items(tags::REFERENCED_IMAGE_SEQUENCE).expect("sequence");
            assert_eq!(items.len(), 3);
            assert_eq!(items[0].string(Tag(0x0008, 0x1155)).as_deref(), Some("1.2.1.1"));
            assert!(items[2].is_empty());
            let content = items[1].items(Tag(0x0040, 0xA730)).expect("content sequence");
            let concept = content[0].items(Tag(0x0040, 0xA043)).expect("concept name");
            assert_eq!(concept[0].string(Tag(0x0008, 0x0104)).as_deref(), Some("deep"));
            assert_eq!(ds.get(tags::REFERENCED_IMAGE_SEQUENCE).unwrap().vr, Vr::SQ);
        }
    }
}

#[test]
fn implicit_unknown_tags_with_items_become_sequences_and_text_stays_bytes() {
    let private_seq =
        e((0x0009, 0x1010), "UN", V::Raw(seq_value(&[vec![s((0x0010, 0x0020), "LO", "in-private")]], false, Enc::ImplicitLe)));
    let text = s((0x0009, 0x1011), "UN", "VENDOR");
    let bytes = encode(&[s((0x0008, 0x0060), "CS", "CT"), private_seq, text], Enc::ImplicitLe);
    let file = parse(&bytes).unwrap();
    let ds = file.dataset();
    let items = ds.items(Tag(0x0009, 0x1010)).expect("guessed sequence");
    assert_eq!(items[0].string(tags::PATIENT_ID).as_deref(), Some("in-private"));
    assert_eq!(ds.string(Tag(0x0009, 0x1011)).as_deref(), Some("VENDOR"));
}

#[test]
fn un_with_undefined_length_is_an_implicit_le_sequence() {
    // Explicit LE outer data set; the UN value is encoded implicit LE as PS3.5 6.2.2 requires.
    let inner = seq_value(&[vec![s((0x0010, 0x0020), "LO", "un-item")]], true, Enc::ImplicitLe);
    let mut bytes = encode(&[s((0x0008, 0x0060), "CS", "CT")], Enc::ExplicitLe);
    bytes.extend([0x09, 0x00, 0x20, 0x10, b'U', b'N', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
    bytes.extend(inner);
    bytes.extend(encode(&[s((0x0010, 0x0010), "PN", "X^Y")], Enc::ExplicitLe));
    let file = parse(&bytes).unwrap();
    let ds = file.dataset();
    let items = ds.items(Tag(0x0009, 0x1020)).expect("UN sequence");
    assert_eq!(items[0].string(tags::PATIENT_ID).as_deref(), Some("un-item"));
    assert_eq!(ds.string(tags::PATIENT_NAME).as_deref(), Some("X^Y"));
}

#[test]
fn depth_cap_is_an_error_not_a_stack_overflow() {
    fn deep(levels: usize) -> Vec<E> {
        let mut item = vec![s((0x0010, 0x0020), "LO", "bottom")];
        for _ in 0..levels {
            item = vec![seq((0x0040, 0xA730), vec![item], true)];
        }
        item
    }
    let owned = encode(&deep(60), Enc::ExplicitLe);
    let ok = parse(&owned).unwrap();
    let mut ds = ok.dataset().clone();
    for _ in 0..60 {
        ds = ds.items(Tag(0x0040, 0xA730)).unwrap()[0].clone();
    }
    assert_eq!(ds.string(tags::PATIENT_ID).as_deref(), Some("bottom"));

    for enc in [Enc::ExplicitLe, Enc::ImplicitLe] {
        let err = parse(&encode(&deep(500), enc)).unwrap_err();
        assert!(matches!(err, Error::TooDeep { .. }), "{err:?}");
    }
}

#[test]
fn truncated_file_keeps_what_was_read() {
    let mut elements = header();
    elements.push(e((0x7FE0, 0x0010), "OW", V::U16((0..1000).collect())));
    let bytes = part10(Enc::ExplicitLe, &elements, true, true);
    let cut = &bytes[..bytes.len() - 100];
    match parse(cut) {
        Err(Error::Truncated { needed, .. }) => assert_eq!(needed, 100),
        other => panic!("{other:?}"),
    }
    let partial = parse_partial(cut);
    assert!(matches!(partial.error, Some(Error::Truncated { .. })));
    check_header(&partial.file);
    assert_eq!(partial.file.dataset().get(tags::PIXEL_DATA), None, "an incomplete value is not returned");
    assert!(parse_partial(&bytes).error.is_none());
}

#[test]
fn truncated_inside_a_sequence_keeps_complete_items() {
    let bytes = part10(Enc::ExplicitLe, &nested(true), true, false);
    let needle = b"1.2.2";
    let at = bytes.windows(needle.len()).position(|w| w == needle).unwrap();
    let partial = parse_partial(&bytes[..at + 3]);
    assert!(matches!(partial.error, Some(Error::Truncated { .. })), "{:?}", partial.error);
    let ds = partial.file.dataset();
    assert_eq!(ds.string(tags::MODALITY).as_deref(), Some("MR"));
    let items = ds.items(tags::REFERENCED_IMAGE_SEQUENCE).expect("partial sequence kept");
    assert_eq!(items[0].string(Tag(0x0008, 0x1155)).as_deref(), Some("1.2.1.1"));
}

#[test]
fn encapsulated_pixel_data_is_split_into_fragments() {
    let jpeg = "1.2.840.10008.1.2.4.50";
    let mut elements = header();
    elements.push(e(
        (0x7FE0, 0x0010),
        "OB",
        V::Encap { offset_table: vec![0, 0, 0, 0], fragments: vec![vec![0xFF, 0xD8, 1, 2], vec![3, 4, 0xFF, 0xD9]] },
    ));
    let bytes = part10_ts(jpeg, Enc::ExplicitLe, &elements, true, true);
    let file = parse(&bytes).unwrap();
    assert_eq!(file.transfer_syntax_uid(), jpeg);
    match &file.dataset().get(tags::PIXEL_DATA).unwrap().value {
        Value::Encapsulated { offset_table, fragments } => {
            assert_eq!(*offset_table, &[0, 0, 0, 0][..]);
            assert_eq!(fragments, &vec![&[0xFF, 0xD8, 1, 2][..], &[3, 4, 0xFF, 0xD9][..]]);
        }
        other => panic!("{other:?}"),
    }
    // Zero copy: fragment slices point into the input.
    if let Value::Encapsulated { fragments, .. } = &file.dataset().get(tags::PIXEL_DATA).unwrap().value {
        let p = fragments[0].as_ptr() as usize;
        assert!(p >= bytes.as_ptr() as usize && p < bytes.as_ptr() as usize + bytes.len());
    }
    check_header(&file);
}

#[test]
fn deflate_is_reported_not_misparsed() {
    let bytes = part10_ts(transfer_syntax::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, Enc::ExplicitLe, &header(), true, true);
    let partial = parse_partial(&bytes);
    assert_eq!(partial.error, Some(Error::UnsupportedTransferSyntax(transfer_syntax::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN.into())));
    assert_eq!(partial.file.transfer_syntax_uid(), transfer_syntax::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN);
}

#[test]
fn out_of_order_elements_are_still_found() {
    let mut elements = header();
    elements.reverse();
    let owned = encode(&elements, Enc::ExplicitLe);
    let file = parse(&owned).unwrap();
    check_header(&file);
    let order: Vec<Tag> = file.dataset().iter().map(|e| e.tag).collect();
    assert_eq!(order.first(), Some(&tags::RESCALE_INTERCEPT), "iteration keeps file order");
}

#[test]
fn character_sets() {
    let latin = |cs: Option<&str>, name: &[u8]| {
        let mut elements = Vec::new();
        if let Some(cs) = cs {
            elements.push(s((0x0008, 0x0005), "CS", cs));
        }
        elements.push(e((0x0010, 0x0010), "PN", V::Raw(name.to_vec())));
        elements.push(seq((0x0040, 0xA730), vec![vec![e((0x0010, 0x0010), "PN", V::Raw(name.to_vec()))]], true));
        let owned = encode(&elements, Enc::ExplicitLe);
        let file = parse(&owned).unwrap();
        let ds = file.dataset().clone();
        (ds.string(tags::PATIENT_NAME), ds.items(Tag(0x0040, 0xA730)).unwrap()[0].string(tags::PATIENT_NAME))
    };
    let (top, nested) = latin(Some("ISO_IR 100"), b"M\xFCller^J");
    assert_eq!(top.as_deref(), Some("Müller^J"));
    assert_eq!(nested.as_deref(), Some("Müller^J"), "items inherit the character set");
    let (top, _) = latin(Some("ISO_IR 192"), "Müller^Jörg".as_bytes());
    assert_eq!(top.as_deref(), Some("Müller^Jörg"));
    let (top, _) = latin(None, b"M\xFCller");
    assert_eq!(top.as_deref(), Some("Müller"), "undeclared non-UTF-8 falls back to Latin-1");
}

#[test]
fn value_edge_cases() {
    let elements = vec![
        s((0x0008, 0x0050), "SH", ""),
        s((0x0008, 0x1030), "LO", "Head\\Neck"),
        e((0x0018, 0x0050), "DS", V::Raw(b" 2.5 ".to_vec())),
        s((0x0020, 0x0011), "IS", "3.5"),
        s((0x0020, 0x0032), "DS", "1\\abc\\3"),
        s((0x0020, 0x0037), "DS", "1\\0\\0\\0\\1\\0"),
        s((0x0020, 0x4000), "LT", "a\\b "),
        e((0x0028, 0x0008), "IS", V::Exact(b"12".to_vec())),
        e((0x0028, 0x0100), "SS", V::U16(vec![(-5i16) as u16])),
        e((0x0028, 0x0120), "UL", V::U32(vec![70000, 2])),
        e((0x0028, 0x1050), "FD", V::F64(vec![1.5, -2.25])),
        e((0x0028, 0x1053), "DS", V::Str("inf".into())),
    ];
    for enc in [Enc::ExplicitLe, Enc::ExplicitBe] {
        let owned = part10(enc, &elements, true, true);
        let file = parse(&owned).unwrap();
        let ds = file.dataset();
        assert_eq!(ds.string(tags::ACCESSION_NUMBER).as_deref(), Some(""));
        assert_eq!(ds.string(tags::STUDY_DESCRIPTION).as_deref(), Some("Head"));
        assert_eq!(ds.strings(tags::STUDY_DESCRIPTION), vec!["Head", "Neck"]);
        assert_eq!(ds.f64(tags::SLICE_THICKNESS), Some(2.5));
        assert_eq!(ds.u32(tags::SERIES_NUMBER), None, "fractional is not a u32");
        assert_eq!(ds.f64(tags::IMAGE_POSITION_PATIENT), Some(1.0));
        assert!(ds.f64s(tags::IMAGE_POSITION_PATIENT).is_empty(), "all or nothing");
        assert_eq!(ds.f64s(tags::IMAGE_ORIENTATION_PATIENT).len(), 6);
        assert_eq!(ds.string(Tag(0x0020, 0x4000)).as_deref(), Some("a\\b"), "LT keeps backslashes");
        assert_eq!(ds.u32(tags::NUMBER_OF_FRAMES), Some(12));
        assert_eq!(ds.f64(tags::BITS_ALLOCATED), Some(-5.0));
        assert_eq!(ds.u32(tags::BITS_ALLOCATED), None);
        assert_eq!(ds.f64s(Tag(0x0028, 0x0120)), vec![70000.0, 2.0]);
        assert_eq!(ds.f64s(tags::WINDOW_CENTER), vec![1.5, -2.25]);
        assert_eq!(ds.string(tags::WINDOW_CENTER), None, "binary VRs have no string form");
        assert_eq!(ds.f64(tags::RESCALE_SLOPE), None, "inf is not a DS");
    }
}

#[test]
fn not_dicom_and_odd_inputs() {
    assert_eq!(parse(b"").unwrap_err(), Error::NotDicom);
    assert_eq!(parse(b"%PDF-1.7 hello world").unwrap_err(), Error::NotDicom);
    assert_eq!(parse(b"<html><body>404</body></html>").unwrap_err(), Error::NotDicom);
    let mut only_preamble = vec![0u8; 128];
    only_preamble.extend(b"DICM");
    assert!(matches!(parse(&only_preamble).unwrap_err(), Error::Truncated { .. }));
    // A declared length far beyond the input must not allocate or panic.
    let mut huge = encode(&[s((0x0008, 0x0060), "CS", "CT")], Enc::ExplicitLe);
    huge.extend([0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0, 0xF0, 0xFF, 0xFF, 0xFF, 1, 2]);
    assert!(matches!(parse(&huge).unwrap_err(), Error::Truncated { .. }));
    // Trailing zero padding is tolerated.
    let mut padded = part10(Enc::ExplicitLe, &header(), true, true);
    padded.extend([0u8; 7]);
    check_header(&parse(&padded).unwrap());
    // An item tag at the top level is damage.
    let mut stray = encode(&[s((0x0008, 0x0060), "CS", "CT")], Enc::ExplicitLe);
    stray.extend([0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]);
    assert!(matches!(parse(&stray).unwrap_err(), Error::InvalidTag { tag: Tag(0xFFFE, 0xE000), .. }));
    // An unknown explicit VR is damage.
    let mut bad_vr = encode(&[s((0x0008, 0x0060), "CS", "CT")], Enc::ExplicitLe);
    bad_vr.extend([0x10, 0x00, 0x10, 0x00, b'Z', b'Z', 2, 0, b'A', b'B']);
    assert!(matches!(parse(&bad_vr).unwrap_err(), Error::InvalidVr { .. }));
}

#[test]
fn error_messages_are_readable() {
    assert_eq!(Error::Truncated { offset: 10, needed: 4 }.to_string(), "the file is incomplete: 4 more bytes were expected at byte 10");
    assert_eq!(Error::MissingAttribute("Rows").to_string(), "the image header lacks Rows");
    assert_eq!(Error::TooDeep { offset: 3 }.to_string(), "the file nests sequences more than 64 levels deep at byte 3");
    assert_eq!(Error::UnsupportedTransferSyntax("1.2.3".into()).to_string(), "the transfer syntax 1.2.3 is not supported");
}

#[test]
fn the_lossy_transfer_syntaxes_are_exactly_those_of_ps3_5() {
    use dicom_parser_lite::transfer_syntax::*;
    for lossless in [
        IMPLICIT_VR_LITTLE_ENDIAN,
        EXPLICIT_VR_LITTLE_ENDIAN,
        RLE_LOSSLESS,
        JPEG_LOSSLESS,
        JPEG_LOSSLESS_SV1,
        JPEG_LS_LOSSLESS,
        JPEG_2000_LOSSLESS,
        HTJ2K_LOSSLESS,
        HTJ2K_LOSSLESS_RPCL,
        JPEG_XL_LOSSLESS,
    ] {
        assert!(!is_lossy(lossless), "{lossless}");
    }
    for lossy in [JPEG_BASELINE, JPEG_EXTENDED, JPEG_LS_NEAR_LOSSLESS, JPEG_2000, HTJ2K, JPEG_XL, JPEG_XL_JPEG_RECOMPRESSION] {
        assert!(is_lossy(lossy), "{lossy}");
    }
    for video in 100..=108 {
        assert!(is_lossy(&format!("1.2.840.10008.1.2.4.{video}")), "video .{video}");
    }
    for other in ["1.2.840.10008.1.2.4.109", "1.2.840.10008.1.2.4.1000", "1.2.840.10008.1.2.4.10", ""] {
        assert!(!is_lossy(other), "{other:?}");
    }
}

#[test]
fn a_tags_json_key_is_its_eight_upper_case_hex_digits() {
    use dicom_parser_lite::{tags, Tag};
    assert_eq!(&*tags::STUDY_INSTANCE_UID.json_key(), "0020000D");
    assert_eq!(&*tags::PIXEL_DATA.json_key(), "7FE00010");
    assert_eq!(&*Tag(0xFFFE, 0xE000).json_key(), "FFFEE000");
    assert_eq!(&*Tag(0, 0).json_key(), "00000000");
    assert_eq!(format!("{:?}", Tag(0x0009, 0x1010).json_key()), "00091010");
}
