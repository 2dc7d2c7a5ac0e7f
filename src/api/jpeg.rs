//! Our own JPEG when the server renders none: the browser's encoder via `OffscreenCanvas`.
//! It costs no wasm bytes (a Rust encoder would add tens of KB against a tight size budget)
//! and is native code; the image was already decoded and windowed per PS3.3 by `imaging`.

use crate::imaging::DecodedImage;
use wasm_bindgen::{Clamped, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// High enough that the JPEG stays within a few grey levels of the windowed pixels.
const QUALITY: f64 = 0.95;

/// Renders `image` with its default window and encodes it as an `image/jpeg` Blob.
pub async fn encode(image: &DecodedImage) -> Result<web_sys::Blob, JsValue> {
    let mut rgba = Vec::new();
    image
        .render_voi(&image.default_voi(), false, crate::imaging::RgbaLayout::Opaque, &mut rgba)
        .map_err(|e| JsValue::from_str(&e.to_string()))?;
    let (w, h) = (image.columns(), image.rows());
    let canvas = web_sys::OffscreenCanvas::new(w, h)?;
    let ctx = canvas
        .get_context("2d")?
        .ok_or_else(|| JsValue::from_str("no 2d context"))?
        .dyn_into::<web_sys::OffscreenCanvasRenderingContext2d>()?;
    let data = web_sys::ImageData::new_with_u8_clamped_array_and_sh(Clamped(&rgba), w, h)?;
    ctx.put_image_data(&data, 0.0, 0.0)?;
    let options = web_sys::ImageEncodeOptions::new();
    options.set_type("image/jpeg");
    options.set_quality(QUALITY);
    let blob = JsFuture::from(canvas.convert_to_blob_with_options(&options)?).await?;
    blob.dyn_into::<web_sys::Blob>()
}

/// Wraps server-rendered JPEG bytes in a Blob.
pub fn blob_of(bytes: &[u8]) -> Result<web_sys::Blob, JsValue> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("image/jpeg");
    web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
}
