//! Writes the committed seed corpora under `seeds/<target>/`: small synthetic files made with
//! this crate's Part 10 writer, plus the parser's codec fixtures (`tests/fixtures`) as raw
//! codestreams and wrapped in files. Re-run after changing the writer:
//! `cargo run --no-default-features --features plain --bin gen-seeds`.

use dicom_parser_lite::transfer_syntax as ts;
use dicom_parser_lite_fuzz::{encapsulated_file, native_file, push_element, rle_frame, Image};
use std::path::{Path, PathBuf};

fn mono(rows: u16, columns: u16, bits: u16, stored: u16, signed: bool) -> Image<'static> {
    Image { rows, columns, samples_per_pixel: 1, bits_allocated: bits, bits_stored: stored, signed, photometric: "MONOCHROME2", planar: 0 }
}

fn ramp16(n: usize, signed: bool) -> Vec<u8> {
    (0..n).flat_map(|i| {
        let v = if signed { (i as i32 * 37 % 4096 - 1024) as i16 as u16 } else { (i * 37 % 4096) as u16 };
        v.to_le_bytes()
    }).collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let seeds = here.join("seeds");
    let _ = std::fs::remove_dir_all(&seeds);
    let fixtures = here.join("../tests/fixtures");
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();

    // Native images.
    let gray8: Vec<u8> = (0..16 * 16).map(|i| (i * 7) as u8).collect();
    files.push(("native_u8.dcm".into(), native_file(&mono(16, 16, 8, 8, false), 1, &gray8, |_| {})));
    files.push((
        "native_s16_ct.dcm".into(),
        native_file(&mono(24, 20, 16, 12, true), 1, &ramp16(24 * 20, true), |out| {
            push_element(out, 0x0028, 0x1050, b"DS", b"40\\400");
            push_element(out, 0x0028, 0x1051, b"DS", b"400\\2000");
            push_element(out, 0x0028, 0x1052, b"DS", b"-1024");
            push_element(out, 0x0028, 0x1053, b"DS", b"1");
        }),
    ));
    let mut m1 = mono(8, 8, 16, 16, false);
    m1.photometric = "MONOCHROME1";
    files.push(("native_u16_mono1_3frames.dcm".into(), native_file(&m1, 3, &ramp16(8 * 8 * 3, false), |_| {})));
    for planar in [0u16, 1] {
        let rgb = Image { rows: 6, columns: 5, samples_per_pixel: 3, bits_allocated: 8, bits_stored: 8, signed: false, photometric: "RGB", planar };
        let data: Vec<u8> = (0..6 * 5 * 3).map(|i| (i * 11) as u8).collect();
        files.push((format!("native_rgb_planar{planar}.dcm"), native_file(&rgb, 1, &data, |_| {})));
    }
    // A sequence (undefined length, nested item) and text with a character set.
    let seq_file = native_file(&mono(4, 4, 8, 8, false), 1, &[9u8; 16], |out| {
        let mut inner = Vec::new();
        push_element(&mut inner, 0x0008, 0x0100, b"SH", b"CODE");
        push_element(&mut inner, 0x0008, 0x0104, b"LO", b"Meaning");
        let mut seq = Vec::new();
        seq.extend(0x0008u16.to_le_bytes());
        seq.extend(0x1032u16.to_le_bytes());
        seq.extend(b"SQ\0\0");
        seq.extend(0xFFFF_FFFFu32.to_le_bytes());
        seq.extend(b"\xFE\xFF\x00\xE0");
        seq.extend(0xFFFF_FFFFu32.to_le_bytes());
        seq.extend(&inner);
        seq.extend(b"\xFE\xFF\x0D\xE0\0\0\0\0\xFE\xFF\xDD\xE0\0\0\0\0");
        // Splice before the image attributes: tags must ascend, so insert after (0008,0060).
        let at = out.windows(4).position(|w| w == [0x10, 0x00, 0x10, 0x00]).unwrap_or(out.len());
        out.splice(at..at, seq);
    });
    files.push(("sequence.dcm".into(), seq_file));

    // RLE: (3-byte image selector, frame) for the rle target, and whole files for the others.
    let mut rle_seeds: Vec<(String, Vec<u8>)> = Vec::new();
    let cases: [(u8, u8, u8, usize, usize, &str); 4] = [
        (15, 15, 0, 1, 1, "u8"),
        (7, 11, 1 | 16, 1, 2, "s16"),
        (5, 5, 2, 1, 4, "u32"),
        (9, 6, 4, 3, 1, "rgb8"),
    ];
    for (r, c, f, spp, bps, tag) in cases {
        let n = (usize::from(r) + 1) * (usize::from(c) + 1) * spp * bps;
        let samples: Vec<u8> = (0..n).map(|i| (i * 13 % 251) as u8).collect();
        let frame = rle_frame(&samples, spp, bps);
        let mut input = vec![r, c, f];
        input.extend(&frame);
        rle_seeds.push((format!("rle_{tag}"), input));
        if tag == "s16" || tag == "rgb8" {
            let image = if spp == 3 {
                Image { rows: u16::from(r) + 1, columns: u16::from(c) + 1, samples_per_pixel: 3, bits_allocated: 8, bits_stored: 8, signed: false, photometric: "RGB", planar: 0 }
            } else {
                mono(u16::from(r) + 1, u16::from(c) + 1, 16, 16, true)
            };
            files.push((format!("rle_{tag}.dcm"), encapsulated_file(ts::RLE_LOSSLESS, &image, &frame)));
        }
    }

    // Codec fixtures: raw for the codec targets, wrapped (by the target's own rules) for pixels.
    let mut entries: Vec<_> = std::fs::read_dir(&fixtures).map(|r| r.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let target = match path.extension().and_then(|e| e.to_str()) {
            Some("jpg") => "jpeg",
            Some("jls") => "jpegls",
            Some("j2k") => "j2k",
            Some("j2c") => "htj2k",
            _ => continue,
        };
        let bytes = std::fs::read(&path).unwrap();
        write(&seeds.join(target), &name, &bytes);
        if let Some(file) = dicom_parser_lite_fuzz::wrap(target, &bytes) {
            files.push((format!("{name}.dcm"), file));
        }
    }

    for (name, bytes) in &files {
        write(&seeds.join("parse"), name, bytes);
        write(&seeds.join("pixels"), name, bytes);
    }
    for (name, bytes) in &files {
        let buffer = dicom_parser_lite::DicomBuffer::new(bytes);
        let status = match buffer.parse() {
            Ok(file) => match dicom_parser_lite::pixel::decode_frame(&file, 0) {
                Ok(frame) => format!("decodes ({}x{})", frame.info.columns, frame.info.rows),
                Err(e) => format!("does not decode: {e}"),
            },
            Err(e) => format!("does not parse: {e}"),
        };
        println!("  {name}: {status}");
    }
    for (name, bytes) in &rle_seeds {
        write(&seeds.join("rle"), name, bytes);
    }
    // Every seed must run cleanly through its target.
    for (target, run) in dicom_parser_lite_fuzz::TARGETS {
        let dir = seeds.join(target);
        let count = std::fs::read_dir(&dir).map(|r| r.count()).unwrap_or(0);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            run(&std::fs::read(entry.path()).unwrap());
        }
        println!("{target}: {count} seeds");
    }
}
