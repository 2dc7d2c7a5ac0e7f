//! Benchmark entry points: the parser and the window/level renderer of dicom-parser-lite,
//! exposed to JavaScript exactly as thin as possible so the timings are the library's.

use dicom_parser_lite::pixel::{Frame, ImageInfo, Photometric, Samples};
use dicom_parser_lite::transform::{render_rgba_in_range, value_range, ModalityLut, VoiFunction, Window};
use dicom_parser_lite::{DataSet, DicomBuffer};
use wasm_bindgen::prelude::*;

/// Parses a Part 10 file (inflating a deflated one) and visits every element, nested items
/// included; returns how many elements it saw, or `u32::MAX` when the file does not parse.
#[wasm_bindgen]
pub fn parse_all(bytes: &[u8]) -> u32 {
    let buffer = DicomBuffer::new(bytes);
    match buffer.parse() {
        Ok(file) => count(file.meta()) + count(file.dataset()),
        Err(_) => u32::MAX,
    }
}

fn count(ds: &DataSet) -> u32 {
    ds.iter().map(|el| 1 + el.items().map_or(0, |items| items.iter().map(count).sum())).sum()
}

/// One grayscale int16 frame and its RGBA output buffer, kept in wasm memory between renders
/// (as the component keeps a decoded frame and reuses its canvas buffer).
#[wasm_bindgen]
pub struct WindowLevel {
    frame: Frame,
    modality: ModalityLut,
    out: Vec<u8>,
    /// Found once per frame, as the viewer does (`imaging::DecodedImage`).
    range: Option<(i32, i32)>,
}

#[wasm_bindgen]
impl WindowLevel {
    #[wasm_bindgen(constructor)]
    pub fn new(rows: u32, columns: u32, samples: &[i16], slope: f64, intercept: f64) -> WindowLevel {
        let info = ImageInfo {
            rows,
            columns,
            samples_per_pixel: 1,
            bits_allocated: 16,
            bits_stored: 16,
            high_bit: 15,
            signed: true,
            photometric: Photometric::Monochrome2,
            planar_configuration: 0,
            number_of_frames: 1,
        };
        let out = vec![0u8; samples.len() * 4];
        let frame = Frame { info, samples: Samples::I16(samples.to_vec()) };
        let range = value_range(&frame);
        WindowLevel { frame, modality: ModalityLut { slope, intercept }, out, range }
    }

    /// Renders with a LINEAR window into the RGBA buffer, the viewer's redraw path (value range
    /// known); returns the first pixel's gray level (so the work cannot be optimised away), or
    /// 256 on error.
    pub fn render(&mut self, center: f64, width: f64) -> u32 {
        let window = Window { center, width, function: VoiFunction::Linear };
        match render_rgba_in_range(&self.frame, &self.modality, &window, false, self.range, &mut self.out) {
            Ok(()) => self.out.first().copied().map_or(256, u32::from),
            Err(_) => 256,
        }
    }

    /// Not the library: the same mapping (LUT over the frame's min..=max built with
    /// `Window::apply(ModalityLut::apply(v))`, RGBA out) as one tight loop, to show how much of
    /// the renderer's time is the loop's shape rather than the work. Same bytes as `render`.
    pub fn render_sketch(&mut self, center: f64, width: f64) -> u32 {
        let window = Window { center, width, function: VoiFunction::Linear };
        let Samples::I16(px) = &self.frame.samples else { return 256 };
        let (mut lo, mut hi) = (i16::MAX, i16::MIN);
        for &v in px {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if lo > hi {
            return 256;
        }
        let lut: Vec<u32> = (lo..=hi)
            .map(|v| {
                let g = u32::from(window.apply(self.modality.apply(f64::from(v))));
                g | g << 8 | g << 16 | 0xFF00_0000
            })
            .collect();
        for (out, &v) in self.out.chunks_exact_mut(4).zip(px) {
            let rgba = lut.get((i32::from(v) - i32::from(lo)) as usize).copied().unwrap_or(0);
            out.copy_from_slice(&rgba.to_le_bytes());
        }
        self.out.first().copied().map_or(256, u32::from)
    }

    /// The RGBA bytes (a copy), to check the output against the JavaScript path.
    pub fn rgba(&self) -> Vec<u8> {
        self.out.clone()
    }
}
