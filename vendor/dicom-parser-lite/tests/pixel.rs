#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure
mod common;

use common::*;
use dicom_parser_lite::pixel::{decode_frame, ImageInfo, Photometric, Samples};
use dicom_parser_lite::{parse, tags, Error};

fn frame_of(enc: Enc, elements: &[E]) -> Result<dicom_parser_lite::pixel::Frame, Error> {
    let bytes = part10(enc, elements, true, true);
    let file = parse(&bytes)?;
    decode_frame(&file, 0)
}

fn with(mut elements: Vec<E>, extra: E) -> Vec<E> {
    elements.push(extra);
    elements.sort_by_key(|e| e.tag);
    elements
}

fn without(elements: Vec<E>, tag: (u16, u16)) -> Vec<E> {
    elements.into_iter().filter(|e| e.tag != tag).collect()
}

#[test]
fn sixteen_bit_unsigned_in_every_encoding() {
    for enc in [Enc::ExplicitLe, Enc::ImplicitLe, Enc::ExplicitBe] {
        let frame =
            frame_of(enc, &image_elements(2, 3, 16, 16, false, "MONOCHROME2", V::U16(vec![0, 1, 2, 0x1234, 0xFFFF, 40000]))).unwrap();
        assert_eq!(frame.samples, Samples::U16(vec![0, 1, 2, 0x1234, 0xFFFF, 40000]), "{enc:?}");
        assert_eq!(frame.info.rows, 2);
        assert_eq!(frame.info.columns, 3);
        assert_eq!(frame.info.photometric, Photometric::Monochrome2);
        assert_eq!(frame.info.frame_len_bytes(), Some(12));
    }
}

#[test]
fn twelve_bit_signed_is_sign_extended_and_high_bits_ignored() {
    let raw = vec![0x0800, 0x07FF, 0xF800, 0x0FFF, 0xA001, 0x0000];
    for enc in [Enc::ExplicitLe, Enc::ExplicitBe, Enc::ImplicitLe] {
        let frame = frame_of(enc, &image_elements(1, 6, 16, 12, true, "MONOCHROME2", V::U16(raw.clone()))).unwrap();
        assert_eq!(frame.samples, Samples::I16(vec![-2048, 2047, -2048, -1, 1, 0]), "{enc:?}");
    }
}

#[test]
fn twelve_bit_unsigned_masks_garbage_high_bits() {
    let frame =
        frame_of(Enc::ExplicitLe, &image_elements(1, 3, 16, 12, false, "MONOCHROME2", V::U16(vec![0xF123, 0x0FFF, 0x1000]))).unwrap();
    assert_eq!(frame.samples, Samples::U16(vec![0x0123, 0x0FFF, 0]));
}

#[test]
fn high_bit_above_bits_stored_shifts() {
    // 12 bits stored in bits 15..4 (High Bit 15).
    let mut elements = image_elements(1, 2, 16, 12, true, "MONOCHROME2", V::U16(vec![0x8000, 0x7FF0]));
    elements = without(elements, (0x0028, 0x0102));
    elements = with(elements, us((0x0028, 0x0102), &[15]));
    let frame = frame_of(Enc::ExplicitLe, &elements).unwrap();
    assert_eq!(frame.samples, Samples::I16(vec![-2048, 2047]));
}

#[test]
fn eight_bit_signed_and_unsigned() {
    let frame = frame_of(Enc::ExplicitLe, &image_elements(1, 4, 8, 8, true, "MONOCHROME2", V::Raw(vec![0x80, 0x7F, 0xFF, 0]))).unwrap();
    assert_eq!(frame.samples, Samples::I8(vec![-128, 127, -1, 0]));
    let frame = frame_of(Enc::ExplicitLe, &image_elements(1, 4, 8, 8, false, "MONOCHROME1", V::Raw(vec![0x80, 0x7F, 0xFF, 0]))).unwrap();
    assert_eq!(frame.samples, Samples::U8(vec![0x80, 0x7F, 0xFF, 0]));
    assert_eq!(frame.info.photometric, Photometric::Monochrome1);
    // 7 bits stored, garbage in bit 7.
    let frame = frame_of(Enc::ExplicitLe, &image_elements(1, 2, 8, 7, false, "MONOCHROME2", V::Raw(vec![0xFF, 0x01]))).unwrap();
    assert_eq!(frame.samples, Samples::U8(vec![0x7F, 1]));
}

#[test]
fn eight_bit_ow_in_big_endian_is_byte_swapped() {
    let mut elements = image_elements(1, 4, 8, 8, false, "MONOCHROME2", V::Raw(vec![]));
    elements.pop();
    // As OW in big endian, the 16-bit words (0x0102, 0x0304) are written 01 02 03 04 and hold
    // the samples 2, 1, 4, 3 (little-endian byte order within the word).
    elements.push(e((0x7FE0, 0x0010), "OW", V::U16(vec![0x0102, 0x0304])));
    let frame = frame_of(Enc::ExplicitBe, &elements).unwrap();
    assert_eq!(frame.samples, Samples::U8(vec![2, 1, 4, 3]));
}

#[test]
fn thirty_two_bit() {
    let frame = frame_of(Enc::ExplicitLe, &image_elements(1, 2, 32, 32, true, "MONOCHROME2", V::U32(vec![0xFFFF_FFFF, 70000]))).unwrap();
    assert_eq!(frame.samples, Samples::I32(vec![-1, 70000]));
    let frame = frame_of(Enc::ExplicitBe, &image_elements(1, 2, 32, 32, false, "MONOCHROME2", V::U32(vec![0xFFFF_FFFF, 70000]))).unwrap();
    assert_eq!(frame.samples, Samples::U32(vec![0xFFFF_FFFF, 70000]));
}

#[test]
fn multi_frame_offsets() {
    let pixels: Vec<u16> = (0..12).map(|i| i * 100).collect();
    let elements = with(image_elements(2, 2, 16, 16, false, "MONOCHROME2", V::U16(pixels)), s((0x0028, 0x0008), "IS", "3"));
    for enc in [Enc::ExplicitLe, Enc::ImplicitLe, Enc::ExplicitBe] {
        let bytes = part10(enc, &elements, true, true);
        let file = parse(&bytes).unwrap();
        for (i, expected) in [[0, 100, 200, 300], [400, 500, 600, 700], [800, 900, 1000, 1100]].iter().enumerate() {
            let frame = decode_frame(&file, i).unwrap();
            assert_eq!(frame.samples, Samples::U16(expected.to_vec()), "{enc:?} frame {i}");
            assert_eq!(frame.info.number_of_frames, 3);
        }
        assert_eq!(decode_frame(&file, 3).unwrap_err(), Error::FrameOutOfRange { index: 3, count: 3 });
    }
}

#[test]
fn one_bit_frames_are_bit_packed_across_frame_boundaries() {
    // Two 3×3 frames = 18 bits, least significant bit first, frame 1 starting at bit 9.
    let frame0 = [1u8, 0, 1, 1, 0, 0, 0, 1, 1];
    let frame1 = [0u8, 1, 1, 0, 1, 0, 1, 0, 1];
    let bits: Vec<u8> = frame0.iter().chain(&frame1).copied().collect();
    let mut packed = vec![0u8; 3];
    for (i, b) in bits.iter().enumerate() {
        packed[i / 8] |= b << (i % 8);
    }
    let elements = with(image_elements(3, 3, 1, 1, false, "MONOCHROME2", V::Raw(packed)), s((0x0028, 0x0008), "IS", "2"));
    let bytes = part10(Enc::ExplicitLe, &elements, true, true);
    let file = parse(&bytes).unwrap();
    assert_eq!(decode_frame(&file, 0).unwrap().samples, Samples::U8(frame0.to_vec()));
    assert_eq!(decode_frame(&file, 1).unwrap().samples, Samples::U8(frame1.to_vec()));
}

fn rgb(planar: u16, data: Vec<u8>) -> Vec<E> {
    vec![
        us((0x0028, 0x0002), &[3]),
        s((0x0028, 0x0004), "CS", "RGB"),
        us((0x0028, 0x0006), &[planar]),
        us((0x0028, 0x0010), &[1]),
        us((0x0028, 0x0011), &[2]),
        us((0x0028, 0x0100), &[8]),
        us((0x0028, 0x0101), &[8]),
        us((0x0028, 0x0102), &[7]),
        us((0x0028, 0x0103), &[0]),
        e((0x7FE0, 0x0010), "OB", V::Raw(data)),
    ]
}

#[test]
fn rgb_planar_configuration_one_becomes_interleaved() {
    let interleaved = vec![10, 20, 30, 11, 21, 31];
    let planar = vec![10, 11, 20, 21, 30, 31];
    let a = frame_of(Enc::ExplicitLe, &rgb(0, interleaved.clone())).unwrap();
    let b = frame_of(Enc::ExplicitLe, &rgb(1, planar)).unwrap();
    assert_eq!(a.samples, Samples::U8(interleaved.clone()));
    assert_eq!(b.samples, Samples::U8(interleaved));
    assert_eq!(b.info.photometric, Photometric::Rgb);
    assert_eq!(b.info.planar_configuration, 1);
}

#[test]
fn rgb_multi_frame_planar() {
    let frames = vec![1, 2, 3, 4, 5, 6, /* frame 1 */ 7, 8, 9, 10, 11, 12];
    let elements = with(rgb(1, frames), s((0x0028, 0x0008), "IS", "2"));
    let owned = part10(Enc::ExplicitLe, &elements, true, true);
    let file = parse(&owned).unwrap();
    assert_eq!(decode_frame(&file, 1).unwrap().samples, Samples::U8(vec![7, 9, 11, 8, 10, 12]));
}

#[test]
fn header_problems_are_typed_errors() {
    let base = || image_elements(2, 2, 16, 16, false, "MONOCHROME2", V::U16(vec![1, 2, 3, 4]));
    assert_eq!(frame_of(Enc::ExplicitLe, &without(base(), (0x0028, 0x0010))).unwrap_err(), Error::MissingAttribute("Rows"));
    assert_eq!(
        frame_of(Enc::ExplicitLe, &without(base(), (0x0028, 0x0004))).unwrap_err(),
        Error::MissingAttribute("Photometric Interpretation")
    );
    assert_eq!(frame_of(Enc::ExplicitLe, &without(base(), (0x7FE0, 0x0010))).unwrap_err(), Error::MissingAttribute("Pixel Data"));
    let short = image_elements(2, 2, 16, 16, false, "MONOCHROME2", V::U16(vec![1, 2, 3]));
    assert_eq!(frame_of(Enc::ExplicitLe, &short).unwrap_err(), Error::PixelDataTooShort { expected: 8, actual: 6 });
    let twelve_alloc = image_elements(2, 2, 12, 12, false, "MONOCHROME2", V::U16(vec![1, 2, 3, 4]));
    assert!(matches!(frame_of(Enc::ExplicitLe, &twelve_alloc).unwrap_err(), Error::UnsupportedImage(_)));
    let stored_too_big = image_elements(2, 2, 8, 9, false, "MONOCHROME2", V::Raw(vec![1, 2, 3, 4]));
    assert!(matches!(frame_of(Enc::ExplicitLe, &stored_too_big).unwrap_err(), Error::InvalidAttribute { name: "Bits Stored", .. }));
    let zero_frames = with(base(), s((0x0028, 0x0008), "IS", "0"));
    assert!(matches!(frame_of(Enc::ExplicitLe, &zero_frames).unwrap_err(), Error::InvalidAttribute { name: "Number of Frames", .. }));
    let rows_zero = without(base(), (0x0028, 0x0010));
    let rows_zero = with(rows_zero, us((0x0028, 0x0010), &[0]));
    assert!(matches!(frame_of(Enc::ExplicitLe, &rows_zero).unwrap_err(), Error::InvalidAttribute { name: "Rows", .. }));
}

#[test]
fn encapsulated_without_a_codec_is_unsupported() {
    // MPEG-2 video has no codec in any build; a codec's syntax with a broken stream is damaged data.
    #[cfg(feature = "j2k")]
    {
        let mut elements = image_elements(2, 2, 16, 16, false, "MONOCHROME2", V::Raw(vec![]));
        elements.pop();
        elements.push(e((0x7FE0, 0x0010), "OB", V::Encap { offset_table: vec![], fragments: vec![vec![1, 2, 3, 4]] }));
        let owned = part10_ts("1.2.840.10008.1.2.4.90", Enc::ExplicitLe, &elements, true, true);
        assert!(matches!(decode_frame(&parse(&owned).unwrap(), 0).unwrap_err(), Error::InvalidCompressedData(_)));
    }
    let uid = "1.2.840.10008.1.2.4.100";
    let mut elements = image_elements(2, 2, 16, 16, false, "MONOCHROME2", V::Raw(vec![]));
    elements.pop();
    elements.push(e((0x7FE0, 0x0010), "OB", V::Encap { offset_table: vec![], fragments: vec![vec![1, 2, 3, 4]] }));
    let owned = part10_ts(uid, Enc::ExplicitLe, &elements, true, true);
    let file = parse(&owned).unwrap();
    assert_eq!(decode_frame(&file, 0).unwrap_err(), Error::UnsupportedTransferSyntax(uid.into()));
    let info = ImageInfo::from_dataset(file.dataset()).unwrap();
    assert_eq!(info.bits_allocated, 16);
    assert_eq!(file.dataset().string(tags::MODALITY).as_deref(), Some("CT"));
}
