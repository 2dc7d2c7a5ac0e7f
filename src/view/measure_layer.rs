//! Measurements and annotations over the image: an SVG in the image's own pixel coordinates,
//! laid exactly over the canvas (same CSS box), so every shape stays on its pixels through
//! zoom, pan, scroll and resize. Labels are DOM text placed in that box, never pixels, so the
//! canvas stays exactly the rendering.

use super::store::{Drawn, Store};
use crate::imaging::measure::{MeasureKind, Measurement, Point, MAX_TEXT_CHARS};
use crate::imaging::presentation_state::{Mark, Shape};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// The SVG for one measurement: its shape, a wide invisible stroke to grab it by, and a handle
/// per point when it is selected.
fn shape(m: &Measurement, selected: bool, draft: bool) -> impl IntoView {
    let p = &m.points;
    let line = |a: &Point, b: &Point| format!("M{} {}L{} {}", a.x, a.y, b.x, b.y);
    let d = match (m.kind, p.as_slice()) {
        (MeasureKind::Length, [a, b]) => line(a, b),
        (MeasureKind::Arrow, [tail, head]) => {
            // The head: two 12 px-long strokes at ±25° back from the tip, in image pixels.
            let (dx, dy) = (tail.x - head.x, tail.y - head.y);
            let len = dx.hypot(dy).max(1e-9);
            let (ux, uy) = (dx / len, dy / len);
            let size = (len * 0.25).clamp(3.0, 12.0);
            let (c, s) = (25f64.to_radians().cos(), 25f64.to_radians().sin());
            let wing = |sign: f64| Point { x: head.x + size * (ux * c - sign * uy * s), y: head.y + size * (uy * c + sign * ux * s) };
            format!("{}M{} {}L{} {}L{} {}", line(tail, head), wing(1.0).x, wing(1.0).y, head.x, head.y, wing(-1.0).x, wing(-1.0).y)
        }
        (MeasureKind::Angle, [a, v, b]) => format!("M{} {}L{} {}L{} {}", a.x, a.y, v.x, v.y, b.x, b.y),
        (MeasureKind::Angle, [a, v]) => line(a, v),
        (MeasureKind::Rectangle, [a, b]) => format!("M{} {}H{}V{}H{}Z", a.x, a.y, b.x, b.y, a.x),
        (MeasureKind::Ellipse, [a, b]) => {
            let (cx, cy, rx, ry) = ((a.x + b.x) / 2.0, (a.y + b.y) / 2.0, (a.x - b.x).abs() / 2.0, (a.y - b.y).abs() / 2.0);
            format!("M{} {}A{rx} {ry} 0 1 0 {} {}A{rx} {ry} 0 1 0 {} {}Z", cx - rx, cy, cx + rx, cy, cx - rx, cy)
        }
        _ => String::new(),
    };
    let handles = selected.then(|| {
        p.iter()
            .enumerate()
            .map(|(i, q)| view! { <circle class="emr-handle" cx=q.x cy=q.y r="4" data-handle=i.to_string()></circle> })
            .collect_view()
    });
    let class = if draft {
        "emr-measure emr-measure-draft"
    } else if selected {
        "emr-measure emr-measure-selected"
    } else {
        "emr-measure"
    };
    view! {
        <g class=class data-measurement-id=m.id.to_string() data-kind=m.kind.as_str()>
            <path class="emr-measure-grab" d=d.clone()></path>
            <path class="emr-measure-line" d=d></path>
            {handles}
        </g>
    }
}

/// A presentation state's graphics (SVG, in image pixels) and texts (DOM text, upright).
fn state_marks(marks: &[Mark], columns: f64, rows: f64) -> (Vec<AnyView>, Vec<AnyView>) {
    let mut shapes = Vec::new();
    let mut texts = Vec::new();
    for mark in marks {
        match mark {
            Mark::Graphic { shape, filled, layer } => {
                let class = if *filled { "emr-state-mark emr-state-filled" } else { "emr-state-mark" };
                let layer = layer.clone();
                shapes.push(match shape {
                    Shape::Point(p) => view! {
                        <circle class=class data-testid="state-graphic" data-shape="point" data-layer=layer cx=p.x cy=p.y r="2"></circle>
                    }
                    .into_any(),
                    Shape::Polyline(points) => {
                        let points = points.iter().map(|p| format!("{},{}", p.x, p.y)).collect::<Vec<_>>().join(" ");
                        view! { <polyline class=class data-testid="state-graphic" data-shape="polyline" data-layer=layer points=points></polyline> }
                            .into_any()
                    }
                    Shape::Circle { centre, radius } => view! {
                        <circle class=class data-testid="state-graphic" data-shape="circle" data-layer=layer cx=centre.x cy=centre.y r=*radius></circle>
                    }
                    .into_any(),
                    Shape::Ellipse { centre, rx, ry, degrees } => view! {
                        <ellipse class=class data-testid="state-graphic" data-shape="ellipse" data-layer=layer cx=centre.x cy=centre.y rx=*rx ry=*ry
                            transform=format!("rotate({degrees} {} {})", centre.x, centre.y)></ellipse>
                    }
                    .into_any(),
                });
            }
            Mark::Text { text, at, anchor, layer } => {
                if let Some(a) = anchor {
                    shapes.push(
                        view! { <line class="emr-state-mark" data-testid="state-anchor" x1=a.x y1=a.y x2=at.x y2=at.y></line> }.into_any(),
                    );
                }
                let style = format!("left:{:.3}%;top:{:.3}%", at.x / columns * 100.0, at.y / rows * 100.0);
                texts.push(
                    view! { <span class="emr-state-text" data-testid="state-text" data-layer=layer.clone() style=style>{text.clone()}</span> }
                        .into_any(),
                );
            }
        }
    }
    (shapes, texts)
}

/// Where a measurement's label goes: beside its last point, in % of the image box.
fn label_at(m: &Measurement, columns: f64, rows: f64) -> (f64, f64) {
    let q = match m.kind {
        MeasureKind::Angle => m.points.get(1),
        _ => m.points.last(),
    };
    q.map(|q| (q.x / columns * 100.0, q.y / rows * 100.0)).unwrap_or_default()
}

/// The text label being typed: where it sits (in % of the image box) and its words so far.
#[derive(Debug, Clone, PartialEq)]
struct Typing {
    id: u32,
    left: f64,
    top: f64,
    text: String,
}

/// The input for a text label being placed or edited again. Enter or leaving it keeps the
/// words, Escape drops them; its keys never reach the viewport's shortcuts.
fn text_editor(store: &Store, typing: Typing) -> impl IntoView {
    let t = store.strings();
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
        }
    });
    // Back to the viewport, so the keyboard scrolls the stack again (found before the store
    // change removes the input).
    let viewport_of =
        |el: &web_sys::HtmlInputElement| el.closest(".emr-viewport").ok().flatten().and_then(|a| a.dyn_into::<web_sys::HtmlElement>().ok());
    let on_keydown = {
        let store = store.clone();
        move |ev: web_sys::KeyboardEvent| {
            ev.stop_propagation();
            let Some(el) = input.get_untracked() else { return };
            match ev.key().as_str() {
                "Enter" | "Escape" => {
                    ev.prevent_default();
                    let area = viewport_of(&el);
                    if ev.key() == "Enter" {
                        store.commit_text(&el.value());
                    } else {
                        store.cancel_draft();
                    }
                    if let Some(area) = area {
                        let _ = area.focus();
                    }
                }
                _ => {}
            }
        }
    };
    let on_blur = {
        let store = store.clone();
        move |ev: web_sys::FocusEvent| store.commit_text(&event_target_value(&ev))
    };
    view! {
        <input class="emr-text-input" data-testid="text-input" type="text" node_ref=input
            data-measurement-draft=typing.id.to_string() maxlength=MAX_TEXT_CHARS.to_string()
            aria-label=t.text_input_label prop:value=typing.text
            style=format!("left:{:.3}%;top:{:.3}%", typing.left, typing.top)
            on:pointerdown=|ev: web_sys::PointerEvent| ev.stop_propagation()
            on:dblclick=|ev: web_sys::MouseEvent| ev.stop_propagation()
            on:keydown=on_keydown on:blur=on_blur />
    }
}

/// Over the canvas in `style` (the canvas's own CSS box).
#[component]
pub fn MeasureLayer(store: Store, node_ref: NodeRef<leptos::html::Div>, style: Signal<String>) -> impl IntoView {
    let t = store.strings();
    let (image, measurements) = (store.image.clone(), store.measurements.clone());
    // Its own memo: the input must not be rebuilt (losing what was typed) when anything else
    // on the layer changes.
    let typing = Memo::new({
        let (image, measurements) = (image.clone(), measurements.clone());
        move |_| {
            let (instance_uid, frame, columns, rows) = image.with(|i| {
                i.as_ref().map(|s| (s.instance_uid.clone(), s.image.frame_index, f64::from(s.image.columns()), f64::from(s.image.rows())))
            })?;
            measurements.with(|m| {
                let d = m.draft.as_ref().filter(|d| d.kind == MeasureKind::Text && d.instance_uid == instance_uid && d.frame == frame)?;
                let (left, top) = label_at(d, columns, rows);
                Some(Typing { id: d.id, left, top, text: d.text.clone().unwrap_or_default() })
            })
        }
    });
    let editor = {
        let store = store.clone();
        move || typing.get().map(|t| text_editor(&store, t))
    };
    let store_marks = store.clone();
    let content = move || {
        let shown = image.get()?;
        let marks = store_marks.applied_state().map(|a| a.marks).unwrap_or_default();
        let (columns, rows) = (f64::from(shown.image.columns()), f64::from(shown.image.rows()));
        let frame = shown.image.frame_index;
        let (shapes, labels) = measurements.with(|all| {
            let here: Vec<&Drawn> = all.on(&shown.instance_uid, frame).collect();
            let mut shapes: Vec<_> =
                here.iter().map(|d| shape(&d.measurement, all.selected == Some(d.measurement.id), false).into_any()).collect();
            if let Some(draft) = all.draft.as_ref().filter(|d| d.instance_uid == shown.instance_uid && d.frame == frame) {
                shapes.push(shape(draft, false, true).into_any());
            }
            let labels: Vec<_> = here
                .iter()
                .filter(|d| d.measurement.kind != MeasureKind::Arrow)
                .map(|d| {
                    let (left, top) = label_at(&d.measurement, columns, rows);
                    let text = d.measurement.label_in(&d.values, &t.label_words);
                    // A text label is its own handle: grabbed, it moves; double-clicked, it is edited.
                    let class =
                        if d.measurement.kind == MeasureKind::Text { "emr-measure-label emr-text-label" } else { "emr-measure-label" };
                    view! {
                        <span class=class data-testid="measure-label" data-measurement-id=d.measurement.id.to_string()
                            style=format!("left:{left:.3}%;top:{top:.3}%")>{text}</span>
                    }
                })
                .collect();
            (shapes, labels)
        });
        let (state_shapes, state_texts) = state_marks(&marks, columns, rows);
        Some(view! {
            <svg class="emr-measure-svg" viewBox=format!("0 0 {columns} {rows}") preserveAspectRatio="none" role="img"
                aria-label=t.measurements_label>{state_shapes}{shapes}</svg>
            {state_texts}
            {labels}
        })
    };
    view! { <div class="emr-measure-box" node_ref=node_ref data-testid="measure-layer" style=style>{content}{editor}</div> }
}
