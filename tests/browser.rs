//! Browser tests (wasm-bindgen-test in headless Chromium): the component in a real page, over
//! real `fetch`, drawing into a real canvas. The server is the dev server in sample mode that
//! `cargo xtask test` starts; its URL is baked in at compile time (wasm has no environment).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use emr_imaging::api::EmrImagingComponent;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The sample server's address, baked in when `cargo xtask test` compiles these tests (a wasm
/// test has no environment at run time); a build without it fails only when run, loudly.
#[allow(clippy::option_env_unwrap)]
fn server() -> &'static str {
    option_env!("EMR_TEST_SAMPLE_SERVER").expect("EMR_TEST_SAMPLE_SERVER: run these tests with `cargo xtask test`")
}

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

fn host() -> web_sys::HtmlElement {
    let el: web_sys::HtmlElement = document().create_element("div").unwrap().dyn_into().unwrap();
    document().body().unwrap().append_child(&el).unwrap();
    el
}

/// The sample server's patients, in id order.
async fn patient_ids() -> Vec<String> {
    let resp = gloo_net::http::Request::get(&format!("{}/fhir/Patient", server())).send().await.unwrap();
    let bundle: serde_json::Value = resp.json().await.unwrap();
    let mut ids: Vec<String> =
        bundle["entry"].as_array().unwrap().iter().map(|e| e["resource"]["id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    ids
}

/// Resolves on the next `emr-imaging:image-displayed` event on `el`.
fn next_displayed(el: &web_sys::HtmlElement) -> js_sys::Promise {
    let el = el.clone();
    js_sys::Promise::new(&mut |resolve, _reject| {
        let cb = wasm_bindgen::closure::Closure::once_into_js(move |e: web_sys::CustomEvent| {
            resolve.call1(&JsValue::NULL, &e.detail()).unwrap();
        });
        let opts = web_sys::AddEventListenerOptions::new();
        opts.set_once(true);
        el.add_event_listener_with_callback_and_add_event_listener_options("emr-imaging:image-displayed", cb.unchecked_ref(), &opts)
            .unwrap();
    })
}

/// The viewport's canvas (the series strip's thumbnails are canvases too, earlier in the page).
fn canvas_of(el: &web_sys::HtmlElement) -> web_sys::HtmlCanvasElement {
    el.query_selector("[data-testid=viewport-canvas]").unwrap().expect("the viewport canvas").dyn_into().unwrap()
}

/// The pixel the canvas shows at (x, y) over its background, which must be black: gray is drawn
/// as white with the level as alpha, so what shows is each channel × alpha / 255.
fn shown(canvas: &web_sys::HtmlCanvasElement, x: f64, y: f64) -> [u8; 3] {
    let style = web_sys::window().unwrap().get_computed_style(canvas).unwrap().unwrap();
    assert_eq!(style.get_property_value("background-color").unwrap(), "rgb(0, 0, 0)");
    let ctx: web_sys::CanvasRenderingContext2d = canvas.get_context("2d").unwrap().unwrap().dyn_into().unwrap();
    let px = ctx.get_image_data(x, y, 1.0, 1.0).unwrap().data().to_vec();
    let over_black = |c: u8| ((u32::from(c) * u32::from(px[3]) + 127) / 255) as u8;
    [over_black(px[0]), over_black(px[1]), over_black(px[2])]
}

/// The gray level shown at every pixel (red channel over black), row by row.
fn shown_levels(canvas: &web_sys::HtmlCanvasElement) -> Vec<u8> {
    let ctx: web_sys::CanvasRenderingContext2d = canvas.get_context("2d").unwrap().unwrap().dyn_into().unwrap();
    let data = ctx.get_image_data(0.0, 0.0, canvas.width() as f64, canvas.height() as f64).unwrap().data().to_vec();
    data.chunks_exact(4).map(|px| ((u32::from(px[0]) * u32::from(px[3]) + 127) / 255) as u8).collect()
}

#[wasm_bindgen_test]
async fn loads_a_patient_and_draws_a_windowed_image() {
    let el = host();
    let component = EmrImagingComponent::new(JsValue::from_str(&format!("{}/fhir", server()))).unwrap();
    component.mount(el.clone());
    let patients = patient_ids().await;
    let displayed = next_displayed(&el);
    JsFuture::from(component.load_patient_images(patients[0].clone(), Some("test-token".into()))).await.unwrap();
    let detail = JsFuture::from(displayed).await.unwrap();
    let study = js_sys::Reflect::get(&detail, &"studyUid".into()).unwrap().as_string().unwrap();
    assert!(study.starts_with("2.25."));
    let canvas = canvas_of(&el);
    assert!(canvas.width() >= 256 && canvas.height() >= 256, "{}x{}", canvas.width(), canvas.height());
    // Bottom-left corner is air (−1000 HU, or background for MR): black after windowing.
    assert_eq!(shown(&canvas, 0.0, canvas.height() as f64 - 1.0), [0, 0, 0]);
    // And the image is drawn: an undrawn canvas is transparent everywhere, which also reads
    // as black. A windowed slice of a phantom has bright tissue and many gray levels.
    let levels = shown_levels(&canvas);
    let distinct = levels.iter().copied().collect::<std::collections::BTreeSet<u8>>().len();
    assert!(levels.iter().any(|&l| l >= 100), "no bright pixel: the canvas was not drawn");
    assert!(distinct >= 16, "only {distinct} gray levels shown");
    // The study list shows every study of the patient.
    let rows = el.query_selector_all("[data-study-uid]").unwrap().length();
    assert!(rows >= 1);
    let banner = el.query_selector("[data-testid=patient-banner]").unwrap().unwrap().text_content().unwrap();
    assert!(!banner.is_empty());
    component.destroy();
    assert!(el.query_selector("canvas").unwrap().is_none(), "destroy removes the view");
}

#[wasm_bindgen_test]
async fn switching_patient_clears_the_previous_image_at_once() {
    let el = host();
    let component = EmrImagingComponent::new(JsValue::from_str(&format!("{}/fhir", server()))).unwrap();
    component.mount(el.clone());
    let patients = patient_ids().await;
    assert!(patients.len() >= 2, "the sample data has two patients");
    let displayed = next_displayed(&el);
    JsFuture::from(component.load_patient_images(patients[0].clone(), None)).await.unwrap();
    JsFuture::from(displayed).await.unwrap();
    let first_banner = el.query_selector("[data-testid=patient-banner]").unwrap().unwrap().text_content().unwrap();
    // Start the switch and look before any network answer can arrive.
    let pending = component.load_patient_images(patients[1].clone(), None);
    leptos::task::tick().await;
    let canvas = canvas_of(&el);
    assert_eq!((canvas.width(), canvas.height()), (0, 0), "previous image cleared synchronously");
    assert_eq!(el.query_selector_all("[data-study-uid]").unwrap().length(), 0, "previous study list cleared");
    let banner = el.query_selector("[data-testid=patient-banner]").unwrap().unwrap().text_content().unwrap();
    assert_ne!(banner, first_banner);
    JsFuture::from(pending).await.unwrap();
    component.destroy();
}

#[wasm_bindgen_test]
async fn errors_reject_with_a_code_and_status() {
    let component = EmrImagingComponent::new(JsValue::from_str(&format!("{}/fhir", server()))).unwrap();
    component.mount(host());
    let err = JsFuture::from(component.load_patient_images("no-such-patient".into(), None)).await.unwrap_err();
    assert!(err.is_instance_of::<js_sys::Error>());
    assert_eq!(js_sys::Reflect::get(&err, &"code".into()).unwrap().as_string().as_deref(), Some("not-found"));
    assert_eq!(js_sys::Reflect::get(&err, &"status".into()).unwrap().as_f64(), Some(404.0));
    component.destroy();
}

#[wasm_bindgen_test]
fn bad_options_are_typed_errors() {
    for bad in [JsValue::from_str(""), JsValue::from_str("ftp://x/fhir"), JsValue::NULL] {
        let err = EmrImagingComponent::new(bad).err().expect("rejected");
        assert_eq!(js_sys::Reflect::get(&err, &"code".into()).unwrap().as_string().as_deref(), Some("invalid-options"));
    }
}

/// A JS function that counts its calls in `window[name]` and keeps its last argument.
fn counter(name: &str) -> js_sys::Function {
    js_sys::Function::new_with_args("detail", &format!("window.{name} = (window.{name} || 0) + 1; window.{name}_last = detail;"))
}

fn global_f64(name: &str) -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &name.into()).unwrap().as_f64().unwrap_or(0.0)
}

#[wasm_bindgen_test]
async fn on_listeners_callbacks_and_unsubscribe() {
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"fhirBaseUrl".into(), &format!("{}/fhir", server()).into()).unwrap();
    js_sys::Reflect::set(&options, &"onStudyOpen".into(), &counter("studyOpens")).unwrap();
    let component = EmrImagingComponent::new(options.into()).unwrap();
    component.mount(host());
    let off = component.on("emr-imaging:error", counter("errors")).unwrap();

    let _ = JsFuture::from(component.load_patient_images("no-such-patient".into(), None)).await;
    assert_eq!(global_f64("errors"), 1.0);
    off.call0(&JsValue::NULL).unwrap();
    let _ = JsFuture::from(component.load_patient_images("no-such-patient".into(), None)).await;
    assert_eq!(global_f64("errors"), 1.0, "no call after unsubscribing");

    let id = patient_ids().await.remove(0);
    JsFuture::from(component.load_patient_images(id, None)).await.unwrap();
    assert_eq!(global_f64("studyOpens"), 1.0);
    let last = js_sys::Reflect::get(&js_sys::global(), &"studyOpens_last".into()).unwrap();
    assert!(js_sys::Reflect::get(&last, &"studyUid".into()).unwrap().as_string().is_some_and(|u| !u.is_empty()));
    assert!(component.on("no-such-event", counter("never")).is_err());
    component.destroy();
}

#[wasm_bindgen_test]
async fn a_token_provider_is_asked_once_for_a_token() {
    let component = EmrImagingComponent::new(JsValue::from_str(&format!("{}/fhir", server()))).unwrap();
    let provider =
        js_sys::Function::new_no_args("window.provided = (window.provided || 0) + 1; return Promise.resolve('t-' + window.provided);");
    component.set_token(&provider).unwrap();
    let id = patient_ids().await.remove(0);
    JsFuture::from(component.fetch_studies(id.clone(), None)).await.unwrap();
    JsFuture::from(component.fetch_studies(id, None)).await.unwrap();
    assert_eq!(global_f64("provided"), 1.0, "the token it gave is kept until a 401");
    assert!(component.set_token(&JsValue::from_f64(5.0)).is_err());
    component.destroy();
}

#[wasm_bindgen_test]
fn options_that_could_inject_or_mislead_are_refused() {
    let base = format!("{}/fhir", server());
    let with = |key: &str, value: JsValue| {
        let o = js_sys::Object::new();
        js_sys::Reflect::set(&o, &"fhirBaseUrl".into(), &base.as_str().into()).unwrap();
        js_sys::Reflect::set(&o, &key.into(), &value).unwrap();
        o.into()
    };
    let theme = js_sys::Object::new();
    js_sys::Reflect::set(&theme, &"bg".into(), &"red;}body{display:none".into()).unwrap();
    for bad in [
        with("theme", theme.into()),
        with("theme", "neon".into()),
        with("token", JsValue::from_f64(1.0)),
        with("onError", "x".into()),
        with("dicomwebBaseUrl", "ftp://pacs".into()),
        with("allowedOrigins", "https://a".into()),
        with("persistentCache", "yes".into()),
    ] {
        let err = EmrImagingComponent::new(bad).err().expect("rejected");
        assert_eq!(js_sys::Reflect::get(&err, &"code".into()).unwrap().as_string().as_deref(), Some("invalid-options"));
    }
    assert!(EmrImagingComponent::new(with("theme", "light".into())).is_ok());
}
