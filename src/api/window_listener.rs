//! A listener on the window that lives as long as its owner: removed when dropped, so the
//! browser never calls a closure that was freed with a destroyed component (it would throw).

use wasm_bindgen::prelude::*;

pub(crate) struct WindowListener {
    event: &'static str,
    closure: Closure<dyn FnMut()>,
}

impl WindowListener {
    /// `handler` runs on each `event` of the window; `None` where there is no window.
    pub(crate) fn new(event: &'static str, handler: impl FnMut() + 'static) -> Option<WindowListener> {
        let closure = Closure::<dyn FnMut()>::new(handler);
        web_sys::window()?.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref()).ok()?;
        Some(WindowListener { event, closure })
    }
}

impl Drop for WindowListener {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback(self.event, self.closure.as_ref().unchecked_ref());
        }
    }
}
