//! Expected values worked by hand from PS3.3 C.11.2.1.1: entry k maps input first + k, inputs
//! below the first mapped value take the first entry and inputs past the last the last, and an
//! entry e of an n-bit table shows as round(e × 255 / (2^n − 1)).

use super::*;
use crate::imaging::key_objects::tests::{part10, patient, text, Encoding, V};
use crate::imaging::presentation_state::{read_state, GRAYSCALE_SOFTCOPY_PRESENTATION_STATE};
use crate::imaging::{DecodedImage, RgbaLayout};

fn words(vr: &'static [u8; 2], values: &[u16]) -> V {
    V::Binary(vr, values.iter().flat_map(|v| v.to_le_bytes()).collect())
}

/// A VOI LUT Sequence of one table: descriptor (entries, first mapped, bits) and data.
fn sequence(descriptor: V, data: V, explanation: Option<&str>) -> (u32, V) {
    let mut item = vec![(0x0028_3002, descriptor), (0x0028_3006, data)];
    if let Some(e) = explanation {
        item.push((0x0028_3003, text(b"LO", e)));
    }
    (0x0028_3010, V::Seq(vec![item]))
}

fn table_of(elements: Vec<(u32, V)>, signed: bool) -> VoiTable {
    let bytes = part10(&elements, Encoding::ExplicitUndefined);
    let buffer = dicom_parser_lite::DicomBuffer::new(&bytes);
    let file = buffer.parse().unwrap();
    VoiTable::from_dataset(file.dataset(), signed).unwrap()
}

#[test]
fn a_16_bit_table_clamps_below_and_above_and_scales_its_range() {
    let table = table_of(vec![sequence(words(b"US", &[4, 100, 16]), words(b"OW", &[0, 1000, 40000, 65535]), Some("SOFT"))], false);
    assert_eq!((table.lut.first_mapped, table.lut.bits, table.lut.entries.len()), (100, 16, 4));
    assert_eq!(table.explanation.as_deref(), Some("SOFT"));
    // Below the first mapped value: the first entry.
    assert_eq!((table.gray(-3000.0), table.gray(50.0), table.gray(100.0)), (0, 0, 0));
    // Inputs round to the nearest integer: 100.4 is 100, 100.5 is 101.
    assert_eq!(table.gray(100.4), 0);
    // 1000 × 255 / 65535 = 3.891: 4.
    assert_eq!((table.gray(100.5), table.gray(101.0)), (4, 4));
    // 40000 × 255 / 65535 = 155.646: 156.
    assert_eq!(table.gray(102.0), 156);
    // The last entry, and everything past it.
    assert_eq!((table.gray(103.0), table.gray(104.0), table.gray(1e9)), (255, 255, 255));
}

#[test]
fn eight_bit_entries_one_per_byte_as_the_standard_stores_them_or_one_per_word() {
    // Four entries in four bytes (two per 16-bit word): 0, 64, 128, 255; 255 / (2^8 − 1) is 1.
    let packed = table_of(vec![sequence(words(b"US", &[4, 0, 8]), V::Binary(b"OW", vec![0, 64, 128, 255]), None)], false);
    assert_eq!(packed.lut.entries, [0, 64, 128, 255]);
    assert_eq!([-5.0, 0.0, 1.0, 2.0, 3.0, 9.0].map(|m| packed.gray(m)), [0, 0, 64, 128, 255, 255]);
    // Three 8-bit entries, one per word (common in files).
    let wide = table_of(vec![sequence(words(b"US", &[3, 0, 8]), words(b"OW", &[10, 20, 255]), None)], false);
    assert_eq!(wide.lut.entries, [10, 20, 255]);
    assert_eq!([0.0, 1.0, 2.0].map(|m| wide.gray(m)), [10, 20, 255]);
    // Too short for either reading: no table.
    let bytes = part10(&[sequence(words(b"US", &[4, 0, 8]), V::Binary(b"OW", vec![1, 2]), None)], Encoding::ExplicitUndefined);
    let buffer = dicom_parser_lite::DicomBuffer::new(&bytes);
    assert_eq!(VoiTable::from_dataset(buffer.parse().unwrap().dataset(), false), None);
}

#[test]
fn a_12_bit_table_spans_its_own_range_and_hu_tables_start_below_zero() {
    // 2048 × 255 / 4095 = 127.53: 128; 4095 is white.
    let twelve = table_of(vec![sequence(words(b"US", &[3, 0, 12]), words(b"OW", &[0, 2048, 4095]), None)], false);
    assert_eq!([0.0, 1.0, 2.0].map(|m| twelve.gray(m)), [0, 128, 255]);
    // First mapped 0xFC00: −1024 when the input is signed (HU), 64512 when it is not.
    let hu = |signed| table_of(vec![sequence(words(b"US", &[2, 0xFC00, 16]), words(b"OW", &[0, 65535]), None)], signed);
    assert_eq!(hu(true).lut.first_mapped, -1024);
    assert_eq!((hu(true).gray(-1024.0), hu(true).gray(-1023.0)), (0, 255));
    assert_eq!(hu(false).lut.first_mapped, 64512);
    // A descriptor written as SS is signed whatever the caller says.
    let ss = table_of(vec![sequence(words(b"SS", &[2, 0xFC00, 16]), words(b"OW", &[0, 65535]), None)], false);
    assert_eq!(ss.lut.first_mapped, -1024);
}

/// A 4 × 1 CT-like image (stored + rescale −1024) with a VOI LUT and optionally a window.
fn image(window: bool) -> Vec<u8> {
    let mut e = vec![
        (0x0008_0060, text(b"CS", "CT")),
        (0x0010_0020, text(b"LO", "MRN-1")),
        (0x0028_0002, words(b"US", &[1])),
        (0x0028_0004, text(b"CS", "MONOCHROME2")),
        (0x0028_0010, words(b"US", &[1])),
        (0x0028_0011, words(b"US", &[4])),
        (0x0028_0100, words(b"US", &[16])),
        (0x0028_0101, words(b"US", &[12])),
        (0x0028_0102, words(b"US", &[11])),
        (0x0028_0103, words(b"US", &[0])),
        (0x0028_1052, text(b"DS", "-1024")),
        (0x0028_1053, text(b"DS", "1")),
        // First mapped −24 HU (0xFFE8 read as SS: the rescale makes the input signed).
        sequence(words(b"US", &[3, 0xFFE8, 16]), words(b"OW", &[0, 32768, 65535]), Some("TABLE")),
        // Stored 1000, 1001, 1002, 900: −24, −23, −22 and −124 HU.
        (0x7FE0_0010, words(b"OW", &[1000, 1001, 1002, 900])),
    ];
    if window {
        e.push((0x0028_1050, text(b"DS", "-23")));
        e.push((0x0028_1051, text(b"DS", "3")));
    }
    part10(&e, Encoding::ExplicitUndefined)
}

fn grays(image: &DecodedImage, voi: &Voi, invert: bool) -> Vec<u8> {
    let mut rgba = Vec::new();
    image.render_voi(voi, invert, RgbaLayout::Opaque, &mut rgba).unwrap();
    rgba.chunks_exact(4).map(|p| p[0]).collect()
}

#[test]
fn an_image_without_a_window_is_shown_through_its_table() {
    let decoded = DecodedImage::decode(&image(false)).unwrap();
    let table = decoded.default_table.clone().expect("the image's own table");
    assert_eq!(table.lut.first_mapped, -24);
    // −24 → entry 0; −23 → 32768 × 255 / 65535 = 127.502: 128; −22 → 255; −124 below: 0.
    assert_eq!(grays(&decoded, &decoded.default_voi(), false), [0, 128, 255, 0]);
    // Inverted (MONOCHROME1 or the invert tool): 255 − level.
    assert_eq!(grays(&decoded, &decoded.default_voi(), true), [255, 127, 0, 255]);
    // With a window in the header the window is the default, and the table is not offered.
    let windowed = DecodedImage::decode(&image(true)).unwrap();
    assert_eq!(windowed.default_table, None);
    assert!(matches!(windowed.default_voi(), Voi::Window(w) if (w.center, w.width) == (-23.0, 3.0)));
}

#[test]
fn a_presentation_state_table_replaces_the_window_and_takes_the_states_rescale() {
    let image_ref = || vec![(0x0008_1150, text(b"UI", "1.2.840.10008.5.1.4.1.1.2")), (0x0008_1155, text(b"UI", "2.1"))];
    let state = |rescale: bool| {
        let mut e = vec![
            (0x0008_0016, text(b"UI", GRAYSCALE_SOFTCOPY_PRESENTATION_STATE)),
            (0x0008_0018, text(b"UI", "9.9")),
            (0x0008_0060, text(b"CS", "PR")),
            (0x0008_1115, V::Seq(vec![vec![(0x0020_000E, text(b"UI", "2")), (0x0008_1140, V::Seq(vec![image_ref()]))]])),
            (0x0010_0010, text(b"PN", "TESTPERSON^ANNA")),
            (0x0010_0020, text(b"LO", "MRN-1")),
            (0x0020_000E, text(b"UI", "9")),
            (
                0x0028_3110,
                V::Seq(vec![vec![(
                    0x0028_3010,
                    V::Seq(vec![vec![(0x0028_3002, words(b"US", &[3, 0xFFFF, 16])), (0x0028_3006, words(b"OW", &[0, 32768, 65535]))]]),
                )]]),
            ),
        ];
        if rescale {
            e.push((0x0028_1052, text(b"DS", "-1000")));
            e.push((0x0028_1053, text(b"DS", "1")));
        }
        read_state(&part10(&e, Encoding::ExplicitUndefined), &patient()).unwrap()
    };
    // Without a rescale of its own the state's table takes the image's values, unsigned here.
    let applied = state(false).for_image("2", "2.1", 1, (1.0, -1024.0)).unwrap();
    assert_eq!(applied.window, None);
    let table = applied.table.unwrap();
    assert_eq!((table.lut.first_mapped, table.rescale), (65535, None));
    // With its own rescale (stored − 1000) the first mapped value is −1 and the table reads
    // the state's values, not the image's (stored − 1024).
    let applied = state(true).for_image("2", "2.1", 1, (1.0, -1024.0)).unwrap();
    let table = applied.table.unwrap();
    assert_eq!(table.lut.first_mapped, -1);
    assert_eq!(table.rescale, Some(ModalityLut { slope: 1.0, intercept: -1000.0 }));
    // Stored 1000, 1001, 1002, 900 are 0, 1, 2, −100 under the state's rescale: entries
    // 32768 (128), 65535, the last again, and the first.
    let decoded = DecodedImage::decode(&image(false)).unwrap();
    assert_eq!(grays(&decoded, &Voi::Table(table), false), [128, 255, 255, 0]);
}
