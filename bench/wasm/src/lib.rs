//! Benchmark entry points: the parser and the window/level renderer of dicom-parser-lite,
//! exposed to JavaScript exactly as thin as possible so the timings are the library's.

use dicom_parser_lite::pixel::{Frame, ImageInfo, Photometric, Samples};
use dicom_parser_lite::transform::{render_rgba_in_range, value_range, ModalityLut, RgbaLayout, VoiFunction, Window};
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

/// Parses a Part 10 file and decodes its first frame, as the viewer does for an image (the
/// parse is a few µs of it). Returns the number of samples, or `u32::MAX` when it cannot.
#[wasm_bindgen]
pub fn decode_first_frame(bytes: &[u8]) -> u32 {
    let buffer = DicomBuffer::new(bytes);
    match buffer.parse().and_then(|file| dicom_parser_lite::pixel::decode_frame(&file, 0)) {
        Ok(frame) => frame.samples.len() as u32,
        Err(_) => u32::MAX,
    }
}

fn count(ds: &DataSet) -> u32 {
    ds.iter().map(|el| 1 + el.items().map_or(0, |items| items.iter().map(count).sum())).sum()
}

/// One grayscale int16 frame kept in wasm memory between renders, as the component keeps a
/// decoded frame (`imaging::DecodedImage`).
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
        let frame = Frame { info, samples: Samples::I16(samples.to_vec()) };
        let range = value_range(&frame);
        WindowLevel { frame, modality: ModalityLut { slope, intercept }, out: Vec::new(), range }
    }

    /// A redraw into a new zeroed buffer of rows × columns × 4 bytes (what a viewer that does not
    /// keep its buffer pays; for information). The buffer stays alive until the next call so
    /// JavaScript can wrap it (`ptr`, `len`) in an `ImageData`, as the viewer does before
    /// `putImageData`. Returns the first pixel's gray level (so the work cannot be optimised
    /// away), or 256 on error.
    pub fn render(&mut self, center: f64, width: f64) -> u32 {
        let len = self.frame.samples.len() * 4;
        // As `DecodedImage::render_rgba` does for the viewer's new, empty Vec.
        self.out = Vec::new();
        if self.out.len() != len {
            self.out = vec![0; len];
        }
        self.render_into_kept(center, width)
    }

    /// The viewer's redraw (`DecodedImage::render_rgba` into the viewport's kept buffer): as
    /// `render`, into the buffer of the previous call (no allocation, no zeroing).
    pub fn render_kept(&mut self, center: f64, width: f64) -> u32 {
        let len = self.frame.samples.len() * 4;
        if self.out.len() != len {
            self.out.resize(len, 0);
        }
        self.render_into_kept(center, width)
    }

    fn render_into_kept(&mut self, center: f64, width: f64) -> u32 {
        let window = Window { center, width, function: VoiFunction::Linear };
        // The viewer's layout: white with the level as alpha, on a black canvas.
        match render_rgba_in_range(&self.frame, &self.modality, &window, false, self.range, RgbaLayout::Coverage, &mut self.out) {
            Ok(()) => self.out.get(3).copied().map_or(256, u32::from),
            Err(_) => 256,
        }
    }

    /// The cost of a new window apart from the pixels: the same render on a 16-pixel frame of the
    /// same type and rescale, so nearly all of it is making and proving the SIMD plan (for
    /// information; the caller changes the window every call). Returns the first pixel's alpha.
    pub fn new_window(&mut self, center: f64, width: f64) -> u32 {
        let window = Window { center, width, function: VoiFunction::Linear };
        let mut info = self.frame.info.clone();
        (info.rows, info.columns) = (1, 16);
        let tiny = Frame { info, samples: Samples::I16((0..16).map(|k| k * 100 - 800).collect()) };
        let mut out = [0u8; 64];
        match render_rgba_in_range(&tiny, &self.modality, &window, false, Some((-800, 700)), RgbaLayout::Coverage, &mut out) {
            Ok(()) => u32::from(out[3]),
            Err(_) => 256,
        }
    }

    /// Where the last render's RGBA bytes are in wasm memory, and how many.
    pub fn ptr(&self) -> usize {
        self.out.as_ptr() as usize
    }

    pub fn byte_len(&self) -> usize {
        self.out.len()
    }

    /// Pixels of the last render that differ from the f64 formula (`Window::apply` on
    /// `ModalityLut::apply`, pixel by pixel) for the same window: a correctness check of the
    /// SIMD path in this engine, not a timing.
    pub fn mismatches(&self, center: f64, width: f64) -> u32 {
        let window = Window { center, width, function: VoiFunction::Linear };
        let Samples::I16(px) = &self.frame.samples else { return u32::MAX };
        let wrong = self.out.chunks_exact(4).zip(px).filter(|(rgba, &v)| {
            let g = window.apply(self.modality.apply(f64::from(v)));
            *rgba != RgbaLayout::Coverage.pixel(g)
        });
        wrong.count() as u32
    }
}

/// Exhaustive check of the renderer in this engine (SIMD included): every int16 and uint16
/// value as a frame, rendered through `render_rgba_in_range` with many LINEAR windows and
/// rescales, MONOCHROME1 both ways, in both RGBA layouts, compared with the f64 formula value by value. Returns
/// (pixels compared, pixels that differ) as a two-element array.
#[wasm_bindgen]
pub fn check_exact() -> Vec<u32> {
    let rescales = [(1.0, 0.0), (1.0, -1024.0), (0.5, 0.25), (-1.0, 0.0), (-0.37, 1234.5678), (2.5e-3, -7.0)];
    let windows = [
        (40.0, 400.0),
        (40.5, 400.0),
        (-600.0, 1500.0),
        (128.5, 256.0),
        (127.5, 256.0),
        (0.5, 2.0),
        (10.0, 1.5),
        (3.0, 1.0),
        (3.0, 0.25),
        (0.0, 1e12),
        (12.34567, 98.7654),
        (32767.0, 65536.0),
        (1e9, 1e3),
    ];
    let (mut compared, mut wrong) = (0u32, 0u32);
    let frames = [
        (true, Samples::I16((i16::MIN..=i16::MAX).collect())),
        (false, Samples::U16((0..=u16::MAX).collect())),
    ];
    for (signed, samples) in frames {
        let values: Vec<f64> = (0..samples.len()).map(|i| samples.get_f64(i).unwrap_or(f64::NAN)).collect();
        let info = ImageInfo {
            rows: 256,
            columns: 256,
            samples_per_pixel: 1,
            bits_allocated: 16,
            bits_stored: 16,
            high_bit: 15,
            signed,
            photometric: Photometric::Monochrome2,
            planar_configuration: 0,
            number_of_frames: 1,
        };
        let frame = Frame { info, samples };
        let range = value_range(&frame);
        let mut out = vec![0u8; values.len() * 4];
        for &(slope, intercept) in &rescales {
            let modality = ModalityLut { slope, intercept };
            for &(center, width) in &windows {
                let window = Window { center, width, function: VoiFunction::Linear };
                for (invert, layout) in [(false, RgbaLayout::Opaque), (true, RgbaLayout::Opaque), (false, RgbaLayout::Coverage), (true, RgbaLayout::Coverage)] {
                    if render_rgba_in_range(&frame, &modality, &window, invert, range, layout, &mut out).is_err() {
                        wrong += values.len() as u32;
                        continue;
                    }
                    for (rgba, &v) in out.chunks_exact(4).zip(&values) {
                        let g = window.apply(modality.apply(v));
                        let g = if invert { 255 - g } else { g };
                        compared += 1;
                        wrong += u32::from(rgba != layout.pixel(g));
                    }
                }
            }
        }
    }
    vec![compared, wrong]
}
