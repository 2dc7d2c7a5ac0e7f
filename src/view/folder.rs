//! A dropped folder's files, read through the File and Directory Entries API: a directory
//! reader hands out its entries in chunks until an empty one, each file through a callback.

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Calls `object.method(resolve, reject)` and waits for the callback.
async fn callback(object: &JsValue, method: &str) -> Option<JsValue> {
    let f: Function = Reflect::get(object, &JsValue::from_str(method)).ok()?.dyn_into().ok()?;
    let promise = Promise::new(&mut |resolve, reject| {
        let _ = f.call2(object, &resolve, &reject);
    });
    JsFuture::from(promise).await.ok()
}

/// Adds the files under `entry` to `out`, each named by its path from the dropped folder
/// (`CD/DICOM/IM0001`), as a picked folder names them.
pub fn walk<'a>(
    entry: web_sys::FileSystemEntry,
    prefix: String,
    out: &'a mut Vec<(String, web_sys::File)>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>> {
    Box::pin(async move {
        let path = format!("{prefix}{}", entry.name());
        if entry.is_file() {
            if let Some(file) = callback(&entry, "file").await.and_then(|f| f.dyn_into::<web_sys::File>().ok()) {
                out.push((path, file));
            }
            return;
        }
        let Ok(reader) = Reflect::get(&entry, &JsValue::from_str("createReader")).and_then(|f| f.dyn_into::<Function>()?.call0(&entry))
        else {
            return;
        };
        loop {
            let Some(chunk) = callback(&reader, "readEntries").await else { return };
            let chunk = Array::from(&chunk);
            if chunk.length() == 0 {
                return;
            }
            for child in chunk.iter() {
                if let Ok(child) = child.dyn_into::<web_sys::FileSystemEntry>() {
                    walk(child, format!("{path}/"), out).await;
                }
            }
        }
    })
}
