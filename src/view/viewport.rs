//! The viewport: canvas at native resolution (zoom and pan are CSS transforms, so the canvas
//! pixels are exactly the rendering), DOM overlays, toolbar, slice scroll bar and cine.
//!
//! Mouse conventions of PACS viewers: left-drag uses the toolbar's tool (W/L by default),
//! right-drag zooms, middle-drag pans, the wheel scrolls the stack. Touch and pens use the
//! toolbar's tool, so one-button devices reach every function.

use super::draw;
use super::logic::{dicom_date, overlay_number, person_name, stack_key_delta};
use super::measure_layer::MeasureLayer;
use super::store::{Action, Store, Tool};
use super::Strings;
use crate::imaging::measure::{MeasureKind, Point};
use crate::imaging::presentation_state::SpatialTransform;
use crate::imaging::{geometry, presets};
use leptos::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// A drag in progress: what it does and where it started.
#[derive(Clone)]
struct Drag {
    pointer: i32,
    tool: Tool,
    /// Moving a measurement (all of it, or one point): its id, the handle, where the pointer
    /// went down (image px) and its points then.
    grab: Option<(u32, Option<usize>, Point, Vec<Point>)>,
    x: f64,
    y: f64,
    center: f64,
    width: f64,
    span: f64,
    zoom: f64,
    pan: (f64, f64),
    /// The slice shown when the drag began.
    slice: usize,
}

/// A live ResizeObserver and the callback it calls. Dropping it disconnects the observer before
/// the callback goes: an observer still connected would call a dropped closure (it notifies
/// once more when its element leaves the page), whichever way the component is torn down.
struct Observed {
    observer: web_sys::ResizeObserver,
    _callback: Closure<dyn FnMut(js_sys::Array)>,
}

impl Drop for Observed {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}

/// Screen px of drag per slice with the scroll tool.
const PX_PER_SLICE: f64 = 8.0;

fn preset_label(t: &'static Strings, key: &str) -> &'static str {
    match key {
        "soft-tissue" => t.preset_soft_tissue,
        "lung" => t.preset_lung,
        "bone" => t.preset_bone,
        "brain" => t.preset_brain,
        _ => t.preset_header,
    }
}

#[component]
pub fn Viewport(store: Store) -> impl IntoView {
    let t = store.strings();
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let area = NodeRef::<leptos::html::Div>::new();

    // Draw whenever the frame, its window, inversion or the patient in context changes.
    {
        let (image, view, patient, displayed) = (store.image.clone(), store.view.clone(), store.context.clone(), store.displayed.clone());
        let store_state = store.clone();
        // The last image announced: a new decoded image (not a new window on the same one)
        // gets an `image-displayed` event.
        // Holding it (not its address) means a new image can never be mistaken for it.
        let last: Rc<RefCell<Option<crate::imaging::VerifiedImage>>> = Rc::new(RefCell::new(None));
        let image_w = store.image.clone();
        Effect::new(move |_| {
            let shown = image.get();
            // Under a presentation state its Presentation LUT decides, not MONOCHROME1 (PS3.4 N.2):
            // the renderer's own MONOCHROME1 inversion is undone, then the state's applied.
            let applied = store_state.applied_state();
            let state_inverts = applied.as_ref().map(|a| a.inverse);
            let shutter = applied.and_then(|a| a.shutter);
            let monochrome1 = image.with(|i| i.as_ref().is_some_and(|i| i.image.is_monochrome1()));
            let invert = view.with(|v| v.invert) != state_inverts.is_some_and(|inverse| inverse != monochrome1);
            let p = patient.get();
            let Some(el) = canvas.get() else { return };
            let Some(shown) = shown else {
                // Patient switch, new study or error: nothing of the previous image may stay.
                draw::clear(&el);
                *last.borrow_mut() = None;
                return;
            };
            match draw::draw(&el, &shown.image, &shown.voi(), invert, true, shutter.as_ref(), p.as_deref()) {
                Ok(()) => {
                    let is_new = !last.borrow().as_ref().is_some_and(|l| l.same_pixels(&shown.image));
                    if is_new {
                        *last.borrow_mut() = Some(shown.image.clone());
                        (displayed)(&shown);
                    }
                }
                Err(draw::DrawError::OtherPatient) => {
                    *last.borrow_mut() = None;
                    image_w.set(None);
                }
                Err(draw::DrawError::NoPatient) => *last.borrow_mut() = None,
                Err(draw::DrawError::Browser(e)) => leptos::logging::warn!("emr-imaging: draw failed: {e}"),
            }
        });
    }

    // Follow the container's size (320 px side panel to full screen).
    {
        let size = store.viewport_size.clone();
        let observer: Rc<RefCell<Option<Observed>>> = Rc::new(RefCell::new(None));
        let holder = observer.clone();
        Effect::new(move |_| {
            let Some(el) = area.get() else { return };
            if holder.borrow().is_some() {
                return;
            }
            let size = size.clone();
            let target = el.clone();
            let callback = Closure::<dyn FnMut(js_sys::Array)>::new(move |_entries: js_sys::Array| {
                let rect = target.get_bounding_client_rect();
                size.set((rect.width(), rect.height()));
            });
            if let Ok(ro) = web_sys::ResizeObserver::new(callback.as_ref().unchecked_ref()) {
                ro.observe(&el);
                *holder.borrow_mut() = Some(Observed { observer: ro, _callback: callback });
            }
        });
        let observer = send_wrapper::SendWrapper::new(observer);
        on_cleanup(move || drop(observer.borrow_mut().take()));
    }

    // Cine: advance (wrapping) at the chosen rate while playing.
    {
        let (view, store_c) = (store.view.clone(), store.clone());
        let handle: Rc<RefCell<Option<IntervalHandle>>> = Rc::new(RefCell::new(None));
        let handle_cleanup = send_wrapper::SendWrapper::new(handle.clone());
        Effect::new(move |_| {
            let (playing, fps) = view.with(|v| (v.playing, v.fps.clamp(1, 60)));
            if let Some(h) = handle.borrow_mut().take() {
                h.clear();
            }
            if playing {
                let store = store_c.clone();
                let tick = move || {
                    let len = store.stack.with_untracked(|s| s.frames.len());
                    if len > 1 {
                        let next = (store.index.get_untracked() + 1) % len;
                        store.show_index(next);
                    }
                };
                *handle.borrow_mut() = set_interval_with_handle(tick, Duration::from_millis(1000 / u64::from(fps))).ok();
            }
        });
        on_cleanup(move || {
            if let Some(h) = handle_cleanup.borrow_mut().take() {
                h.clear();
            }
        });
    }

    let measure_box = NodeRef::<leptos::html::Div>::new();
    // The pointer in image pixels (fractional: pointer events carry sub-pixel positions).
    let image_point = {
        let image = store.image.clone();
        let store_point = store.clone();
        move |ev: &web_sys::PointerEvent| -> Option<Point> {
            let el = measure_box.get_untracked()?;
            let (columns, rows) =
                image.with_untracked(|i| i.as_ref().map(|i| (f64::from(i.image.columns()), f64::from(i.image.rows()))))?;
            let rect = el.get_bounding_client_rect();
            if rect.width() <= 0.0 || rect.height() <= 0.0 {
                return None;
            }
            let (cx, cy) = client_position(ev);
            // The layer's box on screen is the image as transformed: undo the rotation and flip.
            let (u, v) = store_point.transform_untracked().inverse(((cx - rect.left()) / rect.width(), (cy - rect.top()) / rect.height()));
            Some(Point { x: u * columns, y: v * rows })
        }
    };
    let drag: Rc<RefCell<Option<Drag>>> = Rc::new(RefCell::new(None));
    let touch = Rc::new(RefCell::new(Touches::default()));
    let on_pointerdown = {
        let (store, drag, image_point, touch) = (store.clone(), drag.clone(), image_point.clone(), touch.clone());
        move |ev: web_sys::PointerEvent| {
            let Some(shown) = store.image.get_untracked() else { return };
            let view = store.view.get_untracked();
            if ev.pointer_type() == "touch" {
                let at = centred(area, client_position(&ev));
                let mut t = touch.borrow_mut();
                t.down.push(Finger { pointer: ev.pointer_id(), time: ev.time_stamp(), start: at, now: at });
                if t.down.len() >= 2 {
                    // A second finger: the gesture is a pinch (zoom and pan), and what the first
                    // finger began is undone.
                    ev.prevent_default();
                    if let Some(d) = drag.borrow_mut().take() {
                        match d.grab {
                            Some((id, _, _, points)) => store.move_measurement(id, points),
                            None if matches!(d.tool, Tool::Measure(_)) => {
                                store.cancel_draft();
                            }
                            None => match d.tool {
                                Tool::Window => store.set_window(d.center, d.width),
                                Tool::Scroll => store.show_slice(d.slice),
                                _ => store.view.update(|v| v.pan = d.pan),
                            },
                        }
                    }
                    if t.down.len() == 2 {
                        let view = store.view.get_untracked();
                        let size = store.viewport_size.get_untracked();
                        let fingers = [t.down[0].now, t.down[1].now];
                        let zoom = view.zoom.unwrap_or_else(|| shown_fit(&shown.image, size, store.transform_untracked()));
                        t.pinch = Some(geometry::Pinch { zoom, pan: view.pan, fingers });
                    }
                    if let Some(el) = area.get_untracked() {
                        let _ = el.set_pointer_capture(ev.pointer_id());
                    }
                    return;
                }
            }
            let tool = match (ev.pointer_type().as_str(), ev.button()) {
                ("mouse", 1) => Tool::Pan,
                ("mouse", 2) => Tool::Zoom,
                ("mouse", 0) | (_, 0) => view.tool,
                _ => return,
            };
            ev.prevent_default();
            if let Some(el) = area.get_untracked() {
                let _ = el.focus();
                let _ = el.set_pointer_capture(ev.pointer_id());
            }
            // On a drawn measurement (or its handle): select it and move it, whatever the tool.
            let mut grab = None;
            if let (Some(target), Some(at)) = (ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()), image_point(&ev)) {
                let handle = target.get_attribute("data-handle").and_then(|h| h.parse::<usize>().ok());
                let id = target.closest("[data-measurement-id]").ok().flatten().and_then(|g| g.get_attribute("data-measurement-id"));
                if let Some(id) = id.and_then(|id| id.parse::<u32>().ok()) {
                    let points = store
                        .measurements
                        .with_untracked(|m| m.drawn.iter().find(|d| d.measurement.id == id).map(|d| d.measurement.points.clone()));
                    if let Some(points) = points {
                        store.select_measurement(Some(id));
                        grab = Some((id, handle, at, points));
                    }
                }
            }
            if grab.is_none() {
                if let Tool::Measure(kind) = tool {
                    let Some(at) = image_point(&ev) else { return };
                    // An angle's third point: this click places it.
                    if store.measurements.with_untracked(|m| m.draft.as_ref().is_some_and(|d| d.points.len() == 3)) {
                        store.drag_measurement(at);
                        store.release_measurement();
                        return;
                    }
                    store.start_measurement(kind, at);
                } else {
                    store.select_measurement(None);
                }
            }
            let size = store.viewport_size.get_untracked();
            let zoom = view.zoom.unwrap_or_else(|| shown_fit(&shown.image, size, store.transform_untracked()));
            *drag.borrow_mut() = Some(Drag {
                pointer: ev.pointer_id(),
                grab,
                tool,
                x: f64::from(ev.client_x()),
                y: f64::from(ev.client_y()),
                center: shown.window.center,
                width: shown.window.width,
                span: shown.image.default_window.width.max(64.0),
                zoom,
                pan: view.pan,
                slice: store.current_slice(),
            });
        }
    };
    let on_pointermove = {
        let (store, drag, image_point, touch) = (store.clone(), drag.clone(), image_point.clone(), touch.clone());
        move |ev: web_sys::PointerEvent| {
            if ev.pointer_type() == "touch" {
                let mut t = touch.borrow_mut();
                let at = centred(area, client_position(&ev));
                if let Some(finger) = t.down.iter_mut().find(|f| f.pointer == ev.pointer_id()) {
                    finger.now = at;
                }
                if let (Some(pinch), [a, b]) = (t.pinch, t.down.as_slice()) {
                    let (zoom, pan) = pinch.view_at([a.now, b.now]);
                    store.view.update(|v| {
                        v.zoom = Some(zoom);
                        v.pan = pan;
                    });
                    return;
                }
                if t.pinch.is_some() || t.down.len() > 1 {
                    return;
                }
            }
            let Some(d) = drag.borrow().clone() else {
                // An angle waiting for its third point follows the pointer.
                if store.measurements.with_untracked(|m| m.draft.as_ref().is_some_and(|d| d.points.len() == 3)) {
                    if let Some(at) = image_point(&ev) {
                        store.drag_measurement(at);
                    }
                }
                return;
            };
            if d.pointer != ev.pointer_id() {
                return;
            }
            if let Some((id, handle, start, points)) = &d.grab {
                let Some(at) = image_point(&ev) else { return };
                let (dx, dy) = (at.x - start.x, at.y - start.y);
                let moved = points
                    .iter()
                    .enumerate()
                    .map(|(i, p)| if handle.is_none_or(|h| h == i) { Point { x: p.x + dx, y: p.y + dy } } else { *p })
                    .collect();
                store.move_measurement(*id, moved);
                return;
            }
            let (dx, dy) = (f64::from(ev.client_x()) - d.x, f64::from(ev.client_y()) - d.y);
            match d.tool {
                Tool::Measure(_) => {
                    if let Some(at) = image_point(&ev) {
                        store.drag_measurement(at);
                    }
                }
                Tool::Window => {
                    let (center, width) = geometry::window_after_drag(d.center, d.width, dx, dy, d.span);
                    store.set_window(center, width);
                }
                Tool::Zoom => store.view.update(|v| v.zoom = Some(geometry::zoom_after_drag(d.zoom, dy))),
                Tool::Pan => store.view.update(|v| v.pan = (d.pan.0 + dx, d.pan.1 + dy)),
                Tool::Scroll => {
                    let slices = store.stack.with_untracked(|s| s.slices());
                    store.show_slice(geometry::step_index(d.slice, (dy / PX_PER_SLICE) as i64, slices));
                }
            }
        }
    };
    let on_pointerup = {
        let (store, drag, touch) = (store.clone(), drag.clone(), touch.clone());
        move |ev: web_sys::PointerEvent| {
            let mut double_tap = false;
            if ev.pointer_type() == "touch" {
                let mut t = touch.borrow_mut();
                let finger = t.down.iter().position(|f| f.pointer == ev.pointer_id()).map(|i| t.down.remove(i));
                if t.pinch.is_some() {
                    // The pinch ends with its first finger up; the last one lifts without effect.
                    if t.down.len() < 2 {
                        t.pinch = None;
                    }
                    return;
                }
                if let Some(finger) = finger {
                    let up = (ev.time_stamp(), centred(area, client_position(&ev)));
                    double_tap = ev.type_() == "pointerup" && t.taps.touch_ended((finger.time, finger.start), up);
                }
            }
            let ended = drag.borrow().as_ref().filter(|d| d.pointer == ev.pointer_id()).map(|d| (d.tool, d.grab.is_some()));
            if let Some((tool, grabbed)) = ended {
                *drag.borrow_mut() = None;
                if matches!(tool, Tool::Measure(_)) && !grabbed {
                    store.release_measurement();
                }
            }
            if double_tap {
                // Back to fit, as a double click on other viewers; a tap's draft goes.
                store.cancel_draft();
                store.view.update(|v| {
                    v.zoom = None;
                    v.pan = (0.0, 0.0);
                });
            }
        }
    };
    let on_wheel = {
        let store = store.clone();
        move |ev: web_sys::WheelEvent| {
            ev.prevent_default();
            let delta = ev.delta_y();
            if delta != 0.0 {
                store.step(if delta > 0.0 { 1 } else { -1 });
            }
        }
    };
    let on_keydown = {
        let store = store.clone();
        move |ev: web_sys::KeyboardEvent| {
            let key = ev.key();
            let handled = match key.as_str() {
                "Delete" | "Backspace" => store.delete_selected(),
                "Enter" => store.edit_selected_text(),
                "Escape" => {
                    store.cancel_draft()
                        || store.measurements.with_untracked(|m| m.selected.is_some()) && {
                            store.select_measurement(None);
                            true
                        }
                }
                _ => nudge(&store, &key, if ev.shift_key() { 10.0 } else { 1.0 }),
            };
            if handled {
                ev.prevent_default();
                return;
            }
            let len = store.stack.with_untracked(|s| s.slices());
            if let Some(delta) = stack_key_delta(&key, len) {
                ev.prevent_default();
                store.step(delta);
            }
        }
    };

    let on_dblclick = {
        let store = store.clone();
        move |_: web_sys::MouseEvent| {
            store.edit_selected_text();
        }
    };

    view! {
        <div class="emr-viewer">
            <Toolbar store=store.clone() />
            <div class="emr-viewport" data-testid="viewport" node_ref=area tabindex="0" role="application"
                aria-label=t.image_label aria-roledescription="image viewer"
                on:pointerdown=on_pointerdown on:pointermove=on_pointermove on:pointerup=on_pointerup.clone()
                on:pointercancel=on_pointerup on:wheel=on_wheel on:keydown=on_keydown
                on:dblclick=on_dblclick
                on:contextmenu=|ev: web_sys::MouseEvent| ev.prevent_default()>
                <canvas node_ref=canvas class="emr-canvas" data-testid="viewport-canvas" role="img" aria-label=t.image_label
                    style=image_box_style(&store, true)></canvas>
                <MeasureLayer store=store.clone() node_ref=measure_box style=Signal::derive(image_box_style(&store, false)) />
                <Overlays store=store.clone() />
                <ScrollBar store=store.clone() />
                <LoadProgress store=store.clone() />
                <Blocked store=store />
            </div>
        </div>
    }
}

/// A finger on the viewport; positions in px from the viewport's centre.
struct Finger {
    pointer: i32,
    /// When it went down (ms, the events' time base).
    time: f64,
    start: (f64, f64),
    now: (f64, f64),
}

/// The fingers on the viewport, the pinch they make, and the taps so far.
#[derive(Default)]
struct Touches {
    down: Vec<Finger>,
    pinch: Option<geometry::Pinch>,
    taps: geometry::TapDetector,
}

/// A client position as px from the viewport's centre (the pan's origin).
fn centred(area: NodeRef<leptos::html::Div>, (x, y): (f64, f64)) -> (f64, f64) {
    match area.get_untracked() {
        Some(el) => {
            let r = el.get_bounding_client_rect();
            (x - r.left() - r.width() / 2.0, y - r.top() - r.height() / 2.0)
        }
        None => (x, y),
    }
}

/// The zoom that fits an image in the viewport, with its pixels' true proportions.
fn shown_fit(image: &crate::imaging::DecodedImage, size: (f64, f64), transform: SpatialTransform) -> f64 {
    let aspect = geometry::pixel_aspect(image.header.display_spacing());
    if transform.swaps_axes() {
        // Turned a quarter: the rows lie across the viewport.
        let (w, h) = (f64::from(image.rows()) * aspect, f64::from(image.columns()));
        let z = (size.0 / w).min(size.1 / h);
        return if z.is_finite() && z > 0.0 { z } else { geometry::fit_zoom_aspect(size, (image.columns(), image.rows()), aspect) };
    }
    geometry::fit_zoom_aspect(size, (image.columns(), image.rows()), aspect)
}

/// Arrow keys move the selected measurement (by `step` image pixels); `false` when none is
/// selected or the key is no arrow.
fn nudge(store: &Store, key: &str, step: f64) -> bool {
    let (dx, dy) = match key {
        "ArrowLeft" => (-step, 0.0),
        "ArrowRight" => (step, 0.0),
        "ArrowUp" => (0.0, -step),
        "ArrowDown" => (0.0, step),
        _ => return false,
    };
    // The arrow's direction on screen, in the image as it is turned.
    let (dx, dy) = store.transform_untracked().unvector((dx, dy));
    let selected = store.measurements.with_untracked(|m| {
        m.selected.and_then(|id| m.drawn.iter().find(|d| d.measurement.id == id)).map(|d| (d.measurement.id, d.measurement.points.clone()))
    });
    let Some((id, points)) = selected else { return false };
    store.move_measurement(id, points.into_iter().map(|p| Point { x: p.x + dx, y: p.y + dy }).collect());
    true
}

/// The pointer's position with its sub-pixel part (web-sys reads `clientX` as an integer).
fn client_position(ev: &web_sys::PointerEvent) -> (f64, f64) {
    let get = |key: &str| js_sys::Reflect::get(ev, &key.into()).ok().and_then(|v| v.as_f64());
    (get("clientX").unwrap_or(f64::from(ev.client_x())), get("clientY").unwrap_or(f64::from(ev.client_y())))
}

/// The canvas's CSS box (and the measurement layer's, without the backdrop): native pixels
/// scaled by the zoom (fit by default; rows stretched by the pixel aspect ratio), moved by the pan.
fn image_box_style(store: &Store, backdrop: bool) -> impl Fn() -> String + Send + Sync + 'static {
    let (image, view, size, store) = (store.image.clone(), store.view.clone(), store.viewport_size.clone(), store.clone());
    move || {
        let transform = store.applied_state().map(|a| a.transform).unwrap_or_default();
        let Some((dims, aspect, fit)) = image.with(|i| {
            i.as_ref().map(|i| {
                let img = &i.image;
                ((img.columns(), img.rows()), geometry::pixel_aspect(img.header.display_spacing()), shown_fit(img, size.get(), transform))
            })
        }) else {
            return "display:none".into();
        };
        let (zoom, pan) = view.with(|v| (v.zoom, v.pan));
        let z = zoom.unwrap_or(fit);
        // Labels inside the layer turn back upright (`--emr-upright` undoes the transform).
        format!(
            "{};width:{:.2}px;height:{:.2}px;transform:translate(-50%,-50%) translate({:.1}px,{:.1}px){};--emr-upright:{}",
            if backdrop { draw::BACKDROP } else { "pointer-events:none" },
            f64::from(dims.0) * z,
            f64::from(dims.1) * z * aspect,
            pan.0,
            pan.1,
            transform.css(),
            transform.upright_css()
        )
    }
}

#[component]
fn Toolbar(store: Store) -> impl IntoView {
    let t = store.strings();
    let locale = store.locale();
    let view = store.view.clone();
    let tool_button = {
        let view = view.clone();
        move |tool: Tool, label: &'static str, testid: &'static str| {
            let (v1, v2) = (view.clone(), view.clone());
            view! {
                <button type="button" data-testid=testid aria-pressed=move || (v1.with(|v| v.tool) == tool).to_string()
                    on:click=move |_| v2.update(|v| v.tool = tool)>{label}</button>
            }
        }
    };
    let presets_for_image = {
        let image = store.image.clone();
        move || {
            image.with(|i| {
                i.as_ref()
                    .filter(|i| !i.image.is_colour())
                    .map(|i| presets::presets_for(i.image.header.modality.as_deref(), &i.image.header.windows))
                    .unwrap_or_default()
            })
        }
    };
    let presets_list = presets_for_image.clone();
    // The select shows the preset the current window equals, if any (not the last one picked).
    let current_preset = {
        let (presets, image) = (presets_for_image.clone(), store.image.clone());
        move || {
            let window = image.with(|i| i.as_ref().map(|i| (i.window.center, i.window.width)));
            window
                .and_then(|(c, w)| presets().iter().position(|p| p.center == c && p.width == w))
                .map(|i| i.to_string())
                .unwrap_or_default()
        }
    };
    let on_preset = {
        let store = store.clone();
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            if let Some(p) = value.parse::<usize>().ok().and_then(|i| presets_for_image().into_iter().nth(i)) {
                store.set_window(p.center, p.width);
            }
        }
    };
    // The study's own `ihe-iid` Endpoint wins over the site's viewer; the link has no token.
    let diagnostic = {
        let (studies, selected, site) = (store.studies.clone(), store.selected_study.clone(), store.iid_viewer.clone());
        move || {
            let uid = selected.get()?;
            let own = studies.with(|list| list.iter().find(|s| s.study_uid == uid).and_then(|s| s.iid_viewer.clone()));
            site.with(|site| crate::launch::diagnostic_link(&uid, own.as_deref(), site.as_ref())).map(|u| u.to_string())
        }
    };
    let (s_fit, s_one, s_inv, s_reset, s_play, s_fps) =
        (store.clone(), store.clone(), store.clone(), store.clone(), store.clone(), store.clone());
    let (v_play, v_fps) = (view.clone(), view.clone());
    view! {
        <div class="emr-toolbar" role="toolbar" aria-label=t.toolbar_label data-testid="toolbar">
            {tool_button(Tool::Window, t.tool_window, "tool-window")}
            {tool_button(Tool::Zoom, t.tool_zoom, "tool-zoom")}
            {tool_button(Tool::Pan, t.tool_pan, "tool-pan")}
            {tool_button(Tool::Scroll, t.tool_scroll, "tool-scroll")}
            {tool_button(Tool::Measure(MeasureKind::Length), t.tool_length, "tool-length")}
            {tool_button(Tool::Measure(MeasureKind::Angle), t.tool_angle, "tool-angle")}
            {tool_button(Tool::Measure(MeasureKind::Ellipse), t.tool_ellipse, "tool-ellipse")}
            {tool_button(Tool::Measure(MeasureKind::Rectangle), t.tool_rectangle, "tool-rectangle")}
            {tool_button(Tool::Measure(MeasureKind::Arrow), t.tool_arrow, "tool-arrow")}
            {tool_button(Tool::Measure(MeasureKind::Text), t.tool_text, "tool-text")}
            <select data-testid="preset" aria-label=t.presets_label on:change=on_preset prop:value=current_preset>
                <option value="">{t.presets_label}</option>
                {move || presets_list().into_iter().enumerate().map(|(i, p)| view! {
                    <option value=i.to_string()>{format!("{} {}/{}", preset_label(t, p.key), locale.decimal(overlay_number(p.center)), locale.decimal(overlay_number(p.width)))}</option>
                }).collect_view()}
            </select>
            <button type="button" data-testid="fit" on:click=move |_| s_fit.view.update(|v| { v.zoom = None; v.pan = (0.0, 0.0); })>{t.fit}</button>
            <button type="button" data-testid="one-to-one" on:click=move |_| s_one.view.update(|v| v.zoom = Some(1.0))>{t.one_to_one}</button>
            <button type="button" data-testid="invert" aria-pressed=move || s_inv.view.with(|v| v.invert).to_string()
                on:click={ let s = store.clone(); move |_| s.view.update(|v| v.invert = !v.invert) }>{t.invert}</button>
            <button type="button" data-testid="reset" on:click=move |_| s_reset.reset_view()>{t.reset}</button>
            <button type="button" data-testid="cine" aria-pressed=move || v_play.with(|v| v.playing).to_string()
                on:click=move |_| s_play.view.update(|v| v.playing = !v.playing)>
                {move || if view.with(|v| v.playing) { t.pause } else { t.play }}
            </button>
            <label class="emr-fps">{t.frame_rate}
                <input type="range" min="1" max="60" data-testid="fps" prop:value=move || v_fps.with(|v| v.fps.to_string())
                    on:input=move |ev| { if let Ok(f) = event_target_value(&ev).parse::<u32>() { s_fps.view.update(|v| v.fps = f.clamp(1, 60)); } } />
                <span>{let v = store.view.clone(); move || format!("{} {}", v.with(|v| v.fps), t.fps)}</span>
            </label>
            {key_toggle(&store)}
            {move || diagnostic().map(|href| view! {
                <a class="emr-diagnostic" data-testid="open-diagnostic" href=href target="_blank" rel="noopener noreferrer">{t.open_diagnostic}</a>
            })}
        </div>
    }
}

/// "Key images only": offered while the open study has key images, or while it is on.
fn key_toggle(store: &Store) -> impl IntoView {
    let t = store.strings();
    let (keys, only, actions) = (store.key_images.clone(), store.key_images_only.clone(), store.actions.clone());
    move || {
        let on = only.get();
        (on || keys.with(|k| !k.is_empty())).then(|| {
            let actions = actions.clone();
            view! {
                <button type="button" data-testid="key-images-only" aria-pressed=on.to_string()
                    on:click=move |_| (actions)(Action::KeyImagesOnly(!on))>{t.key_images_only}</button>
            }
        })
    }
}

#[component]
fn Overlays(store: Store) -> impl IntoView {
    let t = store.strings();
    let locale = store.locale();
    let (image, view, size, stack, index) =
        (store.image.clone(), store.view.clone(), store.viewport_size.clone(), store.stack.clone(), store.index.clone());
    let keys = store.key_images.clone();
    let store = store.clone();
    move || {
        let shown = image.get()?;
        let applied = store.applied_state();
        let transform = applied.as_ref().map(|a| a.transform).unwrap_or_default();
        let h = &shown.image.header;
        let (zoom, _) = view.with(|v| (v.zoom, v.pan));
        let vsize = size.get();
        let z = zoom.unwrap_or_else(|| shown_fit(&shown.image, vsize, transform));
        let (slice, total) = stack.with(|s| (s.slice_of(index.get()), s.slices().max(1)));
        let position = shown.image.slice_position().map(|p| format!("{} {} {}", t.position, locale.decimal(overlay_number(p)), t.mm));
        let image_line =
            format!("{} {} ({}/{})", t.image_number, h.instance_number.map(|n| n.to_string()).unwrap_or_default(), slice + 1, total);
        let series_line = format!(
            "{} {} {}",
            t.series_number,
            h.series_number.map(|n| n.to_string()).unwrap_or_default(),
            h.series_description.clone().unwrap_or_default()
        );
        let wl = if shown.image.is_colour() {
            String::new()
        } else if let Some(table) = &shown.table {
            // A table has no width or level: its own name, as the header gives it.
            match &table.explanation {
                Some(explanation) => format!("VOI LUT {explanation}"),
                None => "VOI LUT".to_string(),
            }
        } else {
            format!("W {} L {}", locale.decimal(overlay_number(shown.window.width)), locale.decimal(overlay_number(shown.window.center)))
        };
        let labels = h
            .image_orientation
            .as_ref()
            .and_then(geometry::edge_labels)
            .or_else(|| h.patient_orientation.as_ref().and_then(geometry::edge_labels_from_patient_orientation))
            .map(|l| transform.edge_labels(&l));
        let state = applied.and_then(|_| store.presentation.with(|p| p.as_ref().map(|p| p.state.label.clone()))).map(|label| {
            let actions = store.actions.clone();
            view! {
                <span class="emr-state" role="status" data-testid="state-applied">
                    {format!("{}: {label}", t.state_applied)}
                    // Its own pointer: the viewport's pointer capture would take the click.
                    <button type="button" class="emr-state-remove" data-testid="state-remove" title=t.remove_state aria-label=t.remove_state
                        on:pointerdown=|ev: web_sys::PointerEvent| ev.stop_propagation()
                        on:click=move |_| (actions)(Action::RemovePresentationState)>"×"</button>
                </span>
            }
        });
        let bar = h.pixel_spacing.and_then(|s| geometry::scale_bar(s[1], z, (vsize.0 * 0.25).max(60.0)));
        let lossy = h.lossy.then(|| view! { <span class="emr-lossy" role="note" title=t.lossy_title data-testid="lossy">{t.lossy}</span> });
        let key = keys
            .with(|k| k.iter().any(|(_, sop)| *sop == shown.instance_uid))
            .then(|| view! { <span class="emr-key" role="note" title=t.key_image_title data-testid="key-image">{t.key_image}</span> });
        Some(view! {
            <div class="emr-overlay" data-testid="overlay" aria-hidden="false">
                <div class="emr-ov emr-ov-tl">
                    <span data-testid="overlay-patient">{person_name(h.patient_name.as_deref().unwrap_or_default())}</span>
                    <span data-testid="overlay-patient-id">{format!("{} {}", t.patient_id, h.patient_id.clone().unwrap_or_default())}</span>
                    <span class="emr-ov-optional">{format!("{} {}", t.born, locale.date(&dicom_date(h.patient_birth_date.as_deref().unwrap_or_default())))}</span>
                </div>
                <div class="emr-ov emr-ov-tr">
                    <span data-testid="overlay-study-date">{locale.date(&dicom_date(h.study_date.as_deref().unwrap_or_default()))}</span>
                    <span class="emr-ov-optional">{h.study_description.clone().unwrap_or_default()}</span>
                    {lossy}
                    {key}
                    {state}
                </div>
                <div class="emr-ov emr-ov-bl">
                    <span data-testid="overlay-series">{series_line}</span>
                    <span data-testid="overlay-image">{image_line}</span>
                    <span data-testid="overlay-position">{position.unwrap_or_default()}</span>
                </div>
                <div class="emr-ov emr-ov-br">
                    <span data-testid="overlay-wl">{wl}</span>
                    <span data-testid="overlay-zoom">{format!("{} {}", t.zoom, locale.percent(z * 100.0))}</span>
                </div>
                {labels.map(|l| view! {
                    <span class="emr-orient emr-orient-l" data-testid="orient-left">{l.left}</span>
                    <span class="emr-orient emr-orient-r" data-testid="orient-right">{l.right}</span>
                    <span class="emr-orient emr-orient-t" data-testid="orient-top">{l.top}</span>
                    <span class="emr-orient emr-orient-b" data-testid="orient-bottom">{l.bottom}</span>
                })}
                {bar.map(|b| view! {
                    <div class="emr-scale" data-testid="scale-bar" style=format!("width:{:.1}px", b.screen_px)>
                        <span>{format!("{} {}", locale.decimal(overlay_number(b.mm)), t.mm)}</span>
                    </div>
                })}
            </div>
        })
    }
}

#[component]
fn ScrollBar(store: Store) -> impl IntoView {
    let t = store.strings();
    let track = NodeRef::<leptos::html::Div>::new();
    let dragging = Rc::new(RefCell::new(None::<i32>));
    let seek = {
        let store = store.clone();
        move |y: f64| {
            let Some(el) = track.get_untracked() else { return };
            let rect = el.get_bounding_client_rect();
            let slices = store.stack.with_untracked(|s| s.slices());
            if rect.height() > 0.0 {
                store.show_slice(geometry::index_at_fraction((y - rect.top()) / rect.height(), slices));
            }
        }
    };
    let (seek_down, seek_move) = (seek.clone(), seek);
    let (d_down, d_move, d_up) = (dragging.clone(), dragging.clone(), dragging);
    let (stack, index, stack2, index2) = (store.stack.clone(), store.index.clone(), store.stack.clone(), store.index.clone());
    let (stack3, stack4) = (store.stack.clone(), store.stack.clone());
    let visible = move || stack.with(|s| s.frames.len().max(s.total_instances)) > 1;
    view! {
        <div class="emr-scrollbar" node_ref=track role="scrollbar" aria-orientation="vertical" aria-label=t.slice_scrollbar
            data-testid="scrollbar" aria-valuemin="1"
            aria-valuemax=move || stack2.with(|s| s.slices()).to_string()
            data-loaded=move || stack4.with(|s| s.frames.len()).to_string()
            aria-valuenow=move || (stack3.with(|s| s.slice_of(index.get())) + 1).to_string()
            style:display=move || if visible() { "block" } else { "none" }
            on:pointerdown=move |ev: web_sys::PointerEvent| {
                ev.stop_propagation();
                ev.prevent_default();
                if let Some(el) = track.get_untracked() { let _ = el.set_pointer_capture(ev.pointer_id()); }
                *d_down.borrow_mut() = Some(ev.pointer_id());
                seek_down(f64::from(ev.client_y()));
            }
            on:pointermove=move |ev: web_sys::PointerEvent| {
                if *d_move.borrow() == Some(ev.pointer_id()) { ev.stop_propagation(); seek_move(f64::from(ev.client_y())); }
            }
            on:pointerup=move |ev: web_sys::PointerEvent| { ev.stop_propagation(); *d_up.borrow_mut() = None; }>
            <div class="emr-scroll-thumb" style:top={ let stack = store.stack.clone(); move || {
                let (slice, len) = stack.with(|s| (s.slice_of(index2.get()), s.slices().max(1)));
                format!("{:.2}%", slice as f64 * 100.0 / len as f64)
            } } style:height=move || {
                let len = store.stack.with(|s| s.frames.len().max(s.total_instances)).max(1);
                format!("{:.2}%", (100.0 / len as f64).max(3.0))
            }></div>
        </div>
    }
}

#[component]
fn LoadProgress(store: Store) -> impl IntoView {
    let t = store.strings();
    let stack = store.stack.clone();
    move || {
        let (loaded, total) = stack.with(|s| (s.loaded_instances, s.total_instances));
        (total > 0 && loaded < total).then(|| {
            let pct = loaded * 100 / total;
            view! {
                <div class="emr-progress" role="progressbar" aria-label=t.series_loading aria-valuemin="0" aria-valuemax=total.to_string()
                    aria-valuenow=loaded.to_string() data-testid="series-progress">
                    <span style=format!("width:{pct}%")></span>
                </div>
            }
        })
    }
}

#[component]
fn Blocked(store: Store) -> impl IntoView {
    let t = store.strings();
    let blocked = store.blocked.clone();
    move || {
        blocked.get().map(|why| {
            view! {
                <div class="emr-blocked" role="alert" data-testid="blocked">
                    <strong>{t.blocked_title}</strong>
                    <span>{why}</span>
                </div>
            }
        })
    }
}
