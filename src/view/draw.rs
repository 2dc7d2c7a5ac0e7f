//! Pixels onto a canvas: the single place where image data reaches the screen. It takes only a
//! [`VerifiedImage`], and only one verified for the patient in context now.

use crate::imaging::shutter::{self, Shutter};
use crate::imaging::voi_lut::Voi;
use crate::imaging::{PatientContext, RgbaLayout, VerifiedImage};
use std::cell::RefCell;
use wasm_bindgen::{Clamped, JsCast, JsValue};

thread_local! {
    /// One RGBA buffer reused for every redraw: scrolling does not allocate per frame.
    static RGBA: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The `ImageData` over `RGBA`'s bytes in wasm memory, kept across redraws and made again
    /// only when those bytes move (a new size) or wasm memory grows (which detaches every view
    /// of it). Making one per redraw costs about 2.5 µs, a sixteenth of rendering 512².
    static VIEW: RefCell<Option<View>> = const { RefCell::new(None) };
    /// The last shutter's occluded runs and the image size they were found for: a window drag
    /// repaints them without walking the shapes again.
    static MASK: RefCell<Option<Mask>> = const { RefCell::new(None) };
}

/// A shutter, the image size (columns, rows) and the occluded runs found for them.
type Mask = (Shutter, u32, u32, Vec<(usize, usize)>);

/// Paints what `shutter` hides of a `width` × `height` RGBA buffer with its level.
fn apply_shutter(rgba: &mut [u8], shutter: &Shutter, width: u32, height: u32, layout: RgbaLayout) {
    MASK.with(|mask| {
        let mut mask = mask.borrow_mut();
        let fresh = mask.as_ref().is_some_and(|(s, w, h, _)| s == shutter && *w == width && *h == height);
        if !fresh {
            *mask = Some((shutter.clone(), width, height, shutter.mask(width, height)));
        }
        if let Some((_, _, _, runs)) = mask.as_ref() {
            shutter::paint(rgba, runs, layout.pixel(shutter.level));
        }
    });
}

struct View {
    data: web_sys::ImageData,
    ptr: usize,
    len: usize,
    width: u32,
    /// The memory buffer the view was made over.
    buffer: JsValue,
}

/// The kept `ImageData` over `rgba` (`width` pixels wide), made again when stale.
fn image_data(rgba: &[u8], width: u32, height: u32) -> Result<web_sys::ImageData, DrawError> {
    let buffer = wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>().buffer();
    VIEW.with(|view| {
        let mut view = view.borrow_mut();
        let fresh =
            |v: &View| v.ptr == rgba.as_ptr() as usize && v.len == rgba.len() && v.width == width && js_sys::Object::is(&v.buffer, &buffer);
        if let Some(v) = view.as_ref().filter(|v| fresh(v)) {
            return Ok(v.data.clone());
        }
        let data = web_sys::ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), width, height)?;
        *view = Some(View { data: data.clone(), ptr: rgba.as_ptr() as usize, len: rgba.len(), width, buffer });
        Ok(data)
    })
}

#[derive(Debug)]
pub enum DrawError {
    /// Verified for another patient than the one in context: the canvas was cleared.
    OtherPatient,
    /// No patient in context (between a switch and its load): nothing may be drawn.
    NoPatient,
    Browser(String),
}

impl From<JsValue> for DrawError {
    fn from(v: JsValue) -> Self {
        DrawError::Browser(v.as_string().unwrap_or_else(|| format!("{v:?}")))
    }
}

/// The inline style of the viewport canvas, under which [`draw`] may paint gray as white with
/// the level as alpha ([`RgbaLayout::Coverage`], the cheapest layout), which shows the level
/// only over black. Forced colours (high contrast) and printing would otherwise drop or swap
/// the background. A host `!important` rule or a dark-mode extension can still change it:
/// [`draw`] checks the computed style on every draw and falls back to opaque pixels.
pub const BACKDROP: &str = "background:#000;forced-color-adjust:none;print-color-adjust:exact;-webkit-print-color-adjust:exact";

/// Whether what `el` paints over is exactly black: its own background colour opaque black, no
/// background image, forced colours not applied. Anything else and coverage pixels would show
/// other levels than the image's, so [`draw`] then writes opaque ones.
fn backdrop_is_black(el: &web_sys::HtmlCanvasElement) -> bool {
    let Some(style) = web_sys::window().and_then(|w| w.get_computed_style(el).ok().flatten()) else {
        return false;
    };
    let is = |property: &str, value: &str| style.get_property_value(property).is_ok_and(|v| v == value);
    is("background-color", "rgb(0, 0, 0)") && is("background-image", "none") && is("forced-color-adjust", "none")
}

pub fn clear(el: &web_sys::HtmlCanvasElement) {
    el.set_width(0);
    el.set_height(0);
}

/// Renders `image` under `voi` (a window or a VOI LUT table) at its native resolution into `el`, if it was verified for
/// `patient` (no patient in context: nothing is drawn). `coverage`: gray may be drawn
/// in the coverage layout when the canvas's backdrop is verified black (the viewport, redrawn
/// on every window/level step); otherwise pixels are opaque (thumbnails: drawn once, and a
/// copied or saved image is then the image). A failed draw clears the canvas: the previous
/// image must not stay under the new one's overlay. A presentation state's `shutter` paints
/// what it hides after the window and any inversion.
pub fn draw(
    el: &web_sys::HtmlCanvasElement,
    image: &VerifiedImage,
    voi: &Voi,
    invert: bool,
    coverage: bool,
    shutter: Option<&Shutter>,
    patient: Option<&PatientContext>,
) -> Result<(), DrawError> {
    let Some(patient) = patient else {
        clear(el);
        return Err(DrawError::NoPatient);
    };
    if !image.is_for(patient) {
        clear(el);
        return Err(DrawError::OtherPatient);
    }
    let performance = web_sys::window().and_then(|w| w.performance());
    if let Some(p) = &performance {
        let _ = p.mark("emr-frame-start");
    }
    let layout = if coverage && backdrop_is_black(el) { RgbaLayout::Coverage } else { RgbaLayout::Opaque };
    let drawn = RGBA.with(|buffer| -> Result<(), DrawError> {
        let mut rgba = buffer.borrow_mut();
        image.render_voi(voi, invert, layout, &mut rgba).map_err(|e| DrawError::Browser(e.to_string()))?;
        let (w, h) = (image.columns(), image.rows());
        if let Some(shutter) = shutter {
            apply_shutter(&mut rgba, shutter, w, h, layout);
        }
        if el.width() != w || el.height() != h {
            el.set_width(w);
            el.set_height(h);
        }
        let ctx = el
            .get_context("2d")?
            .ok_or_else(|| DrawError::Browser("no 2d context".into()))?
            .dyn_into::<web_sys::CanvasRenderingContext2d>()
            .map_err(|_| DrawError::Browser("not a 2d context".into()))?;
        ctx.put_image_data(&image_data(&rgba, w, h)?, 0.0, 0.0)?;
        Ok(())
    });
    if let Err(e) = drawn {
        clear(el);
        return Err(e);
    }
    if let Some(p) = &performance {
        let _ = p.mark("emr-frame-end");
        let _ = p.measure_with_start_mark_and_end_mark("emr-frame", "emr-frame-start", "emr-frame-end");
        p.clear_marks();
        // The measures are for profiling (the host or a benchmark reads them); keep them bounded.
        if p.get_entries_by_name("emr-frame").length() > 5000 {
            p.clear_measures_with_measure_name("emr-frame");
        }
    }
    Ok(())
}
