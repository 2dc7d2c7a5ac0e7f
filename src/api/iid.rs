//! `buildIidUrl(base, request)`: the IID invoker for host pages, so an EMR can open a study or a
//! patient in a diagnostic viewer with the same rules the hosted viewer applies.

use super::error::ApiError;
use crate::launch::iid::{IidError, Param, ParamKind, ParamName};
use crate::launch::invoker::{self, ParamValue};
use url::Url;
use wasm_bindgen::prelude::*;

/// The IHE Invoke Image Display URL that opens `request` in the viewer at `base` (its
/// `…/IHEInvokeImageDisplay` address). Throws an `EMRImagingError` with code `invalid-options`
/// when the request breaks an IID rule. The URL never carries a token.
#[wasm_bindgen(js_name = buildIidUrl)]
pub fn build_iid_url(base: &str, #[wasm_bindgen(unchecked_param_type = "IidUrlRequest")] request: &JsValue) -> Result<String, JsValue> {
    let invalid = |message: String| ApiError::invalid_options(message).into_js();
    let values = read(request).map_err(invalid)?;
    let base = Url::parse(base).map_err(|_| invalid("base must be an absolute http(s) URL.".into()))?;
    invoker::iid_url_from_values(&base, values).map(|(url, _)| url.into()).map_err(|e| invalid(e.to_string()))
}

/// The object's fields under their IID names, as text or list entries. They are written as
/// given (not re-serialised from the parsed request), which keeps a second writer out of the wasm.
fn read(object: &JsValue) -> Result<Vec<(Param, ParamValue)>, String> {
    if !object.is_object() {
        return Err("The IID request must be an object.".into());
    }
    for key in js_sys::Object::keys::<JsValue>(object.unchecked_ref()).iter().filter_map(|k| k.as_string()) {
        match ParamName::classify(&key) {
            ParamName::Known(_) => {}
            ParamName::WrongCase(p) => return Err(IidError::WrongCase { given: key, expected: p.name() }.to_string()),
            ParamName::Token | ParamName::Other => return Err(format!("{key} is not a field of an IID request.")),
        }
    }
    // In IID's order, whatever the object's: the same request always gives the same URL.
    let mut values = Vec::new();
    for param in Param::ALL {
        let key = param.name();
        let value = js_sys::Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED);
        if value.is_undefined() || value.is_null() {
            continue;
        }
        let (value, expected) = match param.kind() {
            ParamKind::Text => (value.as_string().map(ParamValue::Text), "a string"),
            ParamKind::Flag => (value.as_bool().map(|b| ParamValue::Text(b.to_string())), "true or false"),
            ParamKind::Count => {
                // Out of range becomes 0, which the parser refuses with its own message.
                let n =
                    value
                        .as_f64()
                        .filter(|n| n.fract() == 0.0)
                        .map(|n| if (1.0..=f64::from(u32::MAX)).contains(&n) { n as u32 } else { 0 });
                (n.map(|n| ParamValue::Text(n.to_string())), "a whole number")
            }
            ParamKind::List => {
                let entries = js_sys::Array::is_array(&value).then(|| js_sys::Array::from(&value).iter().map(|v| v.as_string()).collect());
                (entries.flatten().map(ParamValue::List), "an array of strings")
            }
        };
        values.push((param, value.ok_or_else(|| format!("{key} must be {expected}."))?));
    }
    Ok(values)
}
