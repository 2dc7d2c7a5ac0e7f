//! Events out: `on(name, fn)` listeners, the option callbacks, and bubbling DOM events on the
//! mount element, all fed from one `emit`.

use std::cell::{Cell, RefCell};
use wasm_bindgen::JsValue;

/// The events the component emits (names without the `emr-imaging:` DOM prefix).
pub const EVENTS: [&str; 3] = ["image-displayed", "error", "study-open"];
pub const DOM_PREFIX: &str = "emr-imaging:";

/// `"error"` or `"emr-imaging:error"` → `"error"`, if it is one of [`EVENTS`].
pub fn event_name(name: &str) -> Option<&'static str> {
    let short = name.strip_prefix(DOM_PREFIX).unwrap_or(name);
    EVENTS.iter().copied().find(|e| *e == short)
}

#[derive(Default)]
pub struct Listeners {
    next_id: Cell<u64>,
    entries: RefCell<Vec<(u64, &'static str, js_sys::Function)>>,
}

impl Listeners {
    pub fn add(&self, event: &'static str, f: js_sys::Function) -> u64 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        self.entries.borrow_mut().push((id, event, f));
        id
    }

    pub fn remove(&self, id: u64) {
        self.entries.borrow_mut().retain(|(i, _, _)| *i != id);
    }

    pub fn clear(&self) {
        self.entries.borrow_mut().clear();
    }

    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    /// Calls each listener of `event` with `detail`. A listener that throws does not stop the
    /// others, and its exception is not ours to report.
    pub fn call(&self, event: &str, detail: &JsValue) {
        // Cloned first: a listener may unsubscribe (or subscribe) while being called.
        let targets: Vec<js_sys::Function> =
            self.entries.borrow().iter().filter(|(_, e, _)| *e == event).map(|(_, _, f)| f.clone()).collect();
        for f in targets {
            let _ = f.call1(&JsValue::UNDEFINED, detail);
        }
    }
}
