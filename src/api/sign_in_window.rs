//! A SMART launch inside a cross-site frame that the browser denies all storage: the frame
//! keeps `state` and the PKCE verifier in its own memory and signs in through a top-level
//! window of its own. That window comes back to the redirect page, which hands the callback's
//! address to its opener by postMessage and closes. The frame takes the message only from its
//! own origin and from that window, checks the state and exchanges the code: the verifier
//! never leaves the frame, so the code alone is worth nothing to whoever sees it.

use super::smart_launch::{self, Granted};
use crate::launch::smart::{Callback, SmartError, SmartSettings};
use futures_channel::oneshot;
use std::cell::RefCell;
use std::rc::Rc;
use url::Url;
use wasm_bindgen::prelude::*;

/// The message type the sign-in window posts to the frame.
const CALLBACK_MESSAGE: &str = "emr-imaging:smart-callback";

/// How often the frame looks whether the window was closed before the sign-in ended (a close
/// is taken at the tick after the one that saw it).
const CLOSED_POLL_MS: i32 = 500;

fn window() -> Result<web_sys::Window, SmartError> {
    web_sys::window().ok_or(SmartError::NotConfigured)
}

fn own_origin() -> Result<String, SmartError> {
    window()?.location().origin().map_err(|_| SmartError::Settings("the page has no origin".into()))
}

/// Runs the launch at `iss` in a sign-in window opened from a button in `root` (a window
/// opened without the user's click would be blocked), and returns the grant.
pub(crate) async fn sign_in(
    root: &web_sys::HtmlElement,
    settings: &SmartSettings,
    iss: &Url,
    launch: Option<&str>,
) -> Result<Granted, SmartError> {
    let (pending, address) = smart_launch::authorize(settings, iss, launch).await?;
    let window = window()?;
    let document = window.document().ok_or(SmartError::NotConfigured)?;
    let page = document.create_element("div").map_err(|_| SmartError::NotConfigured)?;
    page.set_class_name("emr-viewer-sign-in");
    let note = document.create_element("p").map_err(|_| SmartError::NotConfigured)?;
    note.set_text_content(Some("This frame may not keep a sign-in: sign in in a window of its own."));
    let button = document.create_element("button").map_err(|_| SmartError::NotConfigured)?;
    button.set_text_content(Some("Sign in to see the images"));
    let _ = button.set_attribute("type", "button");
    let _ = button.set_attribute("data-testid", "smart-sign-in");
    let _ = page.append_child(&note);
    let _ = page.append_child(&button);
    root.set_text_content(None);
    let _ = root.append_child(&page);

    // The click opens the window; the answer comes by message, or the window closes first.
    let (answer_tx, answer_rx) = oneshot::channel::<Result<String, SmartError>>();
    let answer_tx = Rc::new(RefCell::new(Some(answer_tx)));
    let popup: Rc<RefCell<Option<web_sys::Window>>> = Rc::default();
    let finish = {
        let answer_tx = answer_tx.clone();
        move |result: Result<String, SmartError>| {
            if let Some(tx) = answer_tx.borrow_mut().take() {
                let _ = tx.send(result);
            }
        }
    };
    let on_click = {
        let (popup, finish, address, window) = (popup.clone(), finish.clone(), address.clone(), window.clone());
        Closure::<dyn Fn()>::new(move || {
            match window.open_with_url_and_target_and_features(address.as_str(), "emr-imaging-sign-in", "popup,width=520,height=680") {
                Ok(Some(opened)) => *popup.borrow_mut() = Some(opened),
                _ => finish(Err(SmartError::Settings("the browser blocked the sign-in window; allow pop-ups for this viewer".into()))),
            }
        })
    };
    button.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref()).map_err(|_| SmartError::NotConfigured)?;
    let origin = own_origin()?;
    let on_message = {
        let (popup, finish) = (popup.clone(), finish.clone());
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let from_popup = match (event.source(), popup.borrow().as_ref()) {
                (Some(source), Some(popup)) => js_sys::Object::is(&source, popup),
                _ => false,
            };
            if event.origin() != origin || !from_popup {
                return;
            }
            let data = event.data();
            let kind = js_sys::Reflect::get(&data, &"type".into()).ok().and_then(|t| t.as_string());
            let address = js_sys::Reflect::get(&data, &"address".into()).ok().and_then(|a| a.as_string());
            if let (Some(CALLBACK_MESSAGE), Some(address)) = (kind.as_deref(), address) {
                finish(Ok(address));
            }
        })
    };
    window.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref()).map_err(|_| SmartError::NotConfigured)?;
    let on_tick = {
        let (popup, finish) = (popup.clone(), finish.clone());
        // The window posts its answer, then closes: the frame may see it closed before the
        // message is delivered (another process's task), so a close counts at the next tick.
        let seen_closed = std::cell::Cell::new(false);
        Closure::<dyn Fn()>::new(move || {
            if !popup.borrow().as_ref().is_some_and(|p| p.closed().unwrap_or(true)) {
                // Open (or opened again by a second click): a later close counts afresh.
                seen_closed.set(false);
                return;
            }
            if seen_closed.replace(true) {
                finish(Err(SmartError::Settings("the sign-in window was closed before the sign-in ended; reload to try again".into())));
            }
        })
    };
    let ticker = window
        .set_interval_with_callback_and_timeout_and_arguments_0(on_tick.as_ref().unchecked_ref(), CLOSED_POLL_MS)
        .map_err(|_| SmartError::NotConfigured)?;
    let answer = answer_rx.await.unwrap_or(Err(SmartError::NoPendingLaunch));
    window.clear_interval_with_handle(ticker);
    let _ = window.remove_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
    let _ = button.remove_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
    if let Some(popup) = popup.borrow().as_ref() {
        let _ = popup.close();
    }
    root.set_text_content(None);
    let address = Url::parse(&answer?).map_err(|_| SmartError::NoPendingLaunch)?;
    // Only the redirect page's own answer: the page the authorization server was told of.
    let redirect = &settings.redirect_uri;
    if address.origin() != redirect.origin() || address.path() != redirect.path() {
        return Err(SmartError::NoPendingLaunch);
    }
    let (callback, _) = Callback::take(&address);
    smart_launch::exchange(settings, callback.ok_or(SmartError::NoPendingLaunch)?, Some(pending)).await
}

/// On the redirect page: when this is a sign-in window that a frame of this viewer opened
/// (no launch of its own under way, an opener), the callback's address goes to the opener,
/// on this origin only, and the window closes. Returns whether it did.
pub(crate) fn hand_to_opener(address: &Url) -> bool {
    let Ok(window) = window() else { return false };
    if smart_launch::has_pending() {
        return false;
    }
    let Some(opener) = window.opener().ok().filter(|o| !o.is_null() && !o.is_undefined()) else { return false };
    let Ok(origin) = own_origin() else { return false };
    let message = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&message, &"type".into(), &CALLBACK_MESSAGE.into());
    let _ = js_sys::Reflect::set(&message, &"address".into(), &address.as_str().into());
    let opener: web_sys::Window = opener.unchecked_into();
    if opener.post_message(&message, &origin).is_err() {
        return false;
    }
    let _ = window.close();
    true
}

/// Whether the viewer runs in a frame (the only place a sign-in window is needed).
pub(crate) fn in_frame() -> bool {
    web_sys::window().and_then(|w| w.top().ok().flatten().map(|top| !js_sys::Object::is(&top, &w))).unwrap_or(false)
}
