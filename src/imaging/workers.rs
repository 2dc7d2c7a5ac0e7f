//! The decode worker pool of the page: module workers (`decode_worker.js`, shipped next to the
//! glue) that instantiate the very `WebAssembly.Module` this page compiled, posted to them, and
//! turn frames into stored values. Files go to a worker and samples come back as transferred
//! ArrayBuffers. One pool serves every component on the page; it starts on first use.
//!
//! Until a worker is ready, and for good if none starts (no `Worker`, a CSP without
//! `worker-src 'self'`, the script missing), the session decodes on the main thread, as
//! [`decode_mode`] tells the host. Native (uncompressed) frames are decoded there too: their
//! decode is a copy, cheaper than the round trip.

use super::decoder::{pool_size, worth_offloading, Dispatcher, FrameDecoder, Offload, Step};
use super::ImagingError;
use crate::net::CancelToken;
use dicom_parser_lite::pixel::{Frame, ImageInfo, Photometric, Samples};
use futures_channel::oneshot;
use futures_util::future::LocalBoxFuture;
use futures_util::FutureExt;
use js_sys::{Array, Object, Reflect, Uint8Array};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

// The worker script's address in the form bundlers follow (Vite, webpack 5): the glue's
// snippets live two folders below the package root, where `decode_worker.js` ships.
#[wasm_bindgen(inline_js = "export function spawn_decode_worker() { \
    return new Worker(new URL('../../decode_worker.js', import.meta.url), { type: 'module' }); }")]
extern "C" {
    #[wasm_bindgen(catch)]
    fn spawn_decode_worker() -> Result<web_sys::Worker, JsValue>;
}

struct Job {
    file: Uint8Array,
    index: u32,
    reply: oneshot::Sender<Offload>,
}

struct Pool {
    /// By slot; `None` where the worker could not be made.
    workers: Vec<Option<web_sys::Worker>>,
    dispatcher: Dispatcher<Job>,
    running: Vec<Option<oneshot::Sender<Offload>>>,
    /// The message and error handlers, alive as long as the pool.
    handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

thread_local! {
    static POOL: RefCell<Option<Rc<RefCell<Pool>>>> = const { RefCell::new(None) };
    /// Frames the workers decoded, for [`decode_mode`].
    static DECODED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    /// Test support: native frames go to the workers too ([`offload_native`]).
    static OFFLOAD_NATIVE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The page's pool, started on first call.
fn pool() -> Rc<RefCell<Pool>> {
    POOL.with(|cell| {
        cell.borrow_mut()
            .get_or_insert_with(|| {
                let hardware = Reflect::get(&js_sys::global(), &"navigator".into())
                    .and_then(|navigator| Reflect::get(&navigator, &"hardwareConcurrency".into()))
                    .ok()
                    .and_then(|n| n.as_f64())
                    .map(|n| n.clamp(0.0, 64.0) as u32);
                start(pool_size(hardware))
            })
            .clone()
    })
}

fn start(size: usize) -> Rc<RefCell<Pool>> {
    let pool =
        Rc::new(RefCell::new(Pool { workers: Vec::new(), dispatcher: Dispatcher::new(size), running: Vec::new(), handlers: Vec::new() }));
    let module = wasm_bindgen::module();
    for w in 0..size {
        let Ok(worker) = spawn_decode_worker() else {
            {
                let mut p = pool.borrow_mut();
                p.workers.push(None);
                p.running.push(None);
            }
            run(&pool, |d| d.failed(w));
            continue;
        };
        let on_message = {
            let pool = Rc::downgrade(&pool);
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                if let Some(pool) = pool.upgrade() {
                    answered(&pool, w, event);
                }
            })
        };
        let on_error = {
            let pool = Rc::downgrade(&pool);
            Closure::<dyn FnMut(JsValue)>::new(move |_event: JsValue| {
                if let Some(pool) = pool.upgrade() {
                    died(&pool, w);
                }
            })
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let init = Object::new();
        let _ = Reflect::set(&init, &"module".into(), &module);
        let started = worker.post_message(&init).is_ok();
        {
            let mut p = pool.borrow_mut();
            p.workers.push(Some(worker));
            p.running.push(None);
            p.handlers.extend([on_message, on_error]);
        }
        if !started {
            died(&pool, w);
        }
    }
    pool
}

/// Applies a dispatcher transition and carries out its steps.
fn run(pool: &Rc<RefCell<Pool>>, transition: impl FnOnce(&mut Dispatcher<Job>) -> Vec<Step<Job>>) {
    let steps = transition(&mut pool.borrow_mut().dispatcher);
    for step in steps {
        match step {
            Step::Run(w, job) => {
                let posted = {
                    let p = pool.borrow();
                    p.workers.get(w).and_then(Option::as_ref).map(|worker| post(worker, &job))
                };
                if posted == Some(true) {
                    if let Some(slot) = pool.borrow_mut().running.get_mut(w) {
                        *slot = Some(job.reply);
                    }
                } else {
                    let _ = job.reply.send(Offload::Unavailable);
                    died(pool, w);
                }
            }
            Step::Cancelled(job) => {
                let _ = job.reply.send(Offload::Cancelled);
            }
            Step::Unavailable(job) => {
                let _ = job.reply.send(Offload::Unavailable);
            }
        }
    }
}

/// Posts `{file, index}`, transferring the file's buffer.
fn post(worker: &web_sys::Worker, job: &Job) -> bool {
    let message = Object::new();
    let buffer = job.file.buffer();
    let _ = Reflect::set(&message, &"file".into(), &buffer);
    let _ = Reflect::set(&message, &"index".into(), &job.index.into());
    worker.post_message_with_transfer(&message, &Array::of1(&buffer)).is_ok()
}

fn answered(pool: &Rc<RefCell<Pool>>, w: usize, event: JsValue) {
    let data = Reflect::get(&event, &"data".into()).unwrap_or(JsValue::UNDEFINED);
    let kind = Reflect::get(&data, &"type".into()).ok().and_then(|t| t.as_string()).unwrap_or_default();
    match kind.as_str() {
        "ready" => run(pool, |d| d.ready(w)),
        "failed" => died(pool, w),
        _ => {
            let reply = pool.borrow_mut().running.get_mut(w).and_then(Option::take);
            if let Some(reply) = reply {
                DECODED.with(|n| n.set(n.get().saturating_add(1)));
                let _ = reply.send(Offload::Done(frame_from_js(&data)));
            }
            run(pool, |d| d.finished(w));
        }
    }
}

fn died(pool: &Rc<RefCell<Pool>>, w: usize) {
    let reply = pool.borrow_mut().running.get_mut(w).and_then(Option::take);
    if let Some(reply) = reply {
        let _ = reply.send(Offload::Unavailable);
    }
    if let Some(Some(worker)) = pool.borrow().workers.get(w) {
        worker.terminate();
    }
    run(pool, |d| d.failed(w));
}

/// Starts the page's pool if it is not running, so its workers are ready when the first
/// compressed image arrives (until then, images are decoded here).
pub fn warm_up() {
    let _ = pool();
}

/// The page's decode workers as a [`FrameDecoder`].
#[derive(Clone, Copy, Default)]
pub struct Workers;

/// Queues frame `index` of `bytes` on `pool`.
fn decode_on(pool: &Rc<RefCell<Pool>>, bytes: &[u8], index: u32, cancel: &CancelToken) -> LocalBoxFuture<'static, Offload> {
    let (reply, answer) = oneshot::channel();
    // A copy outside wasm memory, its buffer then moved to the worker.
    let job = Job { file: Uint8Array::from(bytes), index, reply };
    run(pool, |d| d.submit(job, cancel.clone()));
    answer.map(|r| r.unwrap_or(Offload::Cancelled)).boxed_local()
}

impl FrameDecoder for Workers {
    fn decode(&self, bytes: &[u8], index: u32, cancel: &CancelToken) -> LocalBoxFuture<'static, Offload> {
        decode_on(&pool(), bytes, index, cancel)
    }

    fn takes(&self, bytes: &[u8]) -> bool {
        pool().borrow().dispatcher.ready_workers() > 0 && (OFFLOAD_NATIVE.with(std::cell::Cell::get) || worth_offloading(bytes))
    }
}

/// How this page decodes: `{ mode: "workers" | "starting" | "main-thread", workers, decoded }`
/// (`decoded`: frames the workers decoded so far). The
/// host's one place to learn that workers could not start (never logged).
#[wasm_bindgen(typescript_custom_section)]
const DECODE_MODE: &str = r#"
/** Where this page decodes images: in `workers` decode workers, or on the main thread when none could start. */
export interface DecodeMode { mode: "workers" | "starting" | "main-thread"; workers: number; decoded: number }
"#;

#[wasm_bindgen(js_name = decodeMode, unchecked_return_type = "DecodeMode")]
pub fn decode_mode() -> JsValue {
    let (mode, workers) = POOL.with(|cell| match cell.borrow().as_ref() {
        None => ("starting", 0),
        Some(pool) => {
            let d = &pool.borrow().dispatcher;
            let ready = d.ready_workers();
            (
                if d.all_dead() {
                    "main-thread"
                } else if ready == 0 {
                    "starting"
                } else {
                    "workers"
                },
                ready,
            )
        }
    });
    let out = Object::new();
    let _ = Reflect::set(&out, &"mode".into(), &mode.into());
    let _ = Reflect::set(&out, &"workers".into(), &(workers as u32).into());
    let _ = Reflect::set(&out, &"decoded".into(), &DECODED.with(std::cell::Cell::get).into());
    out.into()
}

/// Test support: send native (uncompressed) frames to the workers as well, so a test data set
/// without compressed files still goes through them.
#[wasm_bindgen(js_name = __offloadNative)]
pub fn offload_native(on: bool) {
    OFFLOAD_NATIVE.with(|flag| flag.set(on));
}

/// The worker's side (called by `decode_worker.js`): frame `index` of a Part 10 file to its
/// stored values, `{ info…, kind, samples }` with `samples` a typed array to transfer back.
#[wasm_bindgen(js_name = __decodeWorkerFrame)]
pub fn decode_worker_frame(file: &[u8], index: u32) -> JsValue {
    let out = Object::new();
    let decoded = dicom_parser_lite::DicomBuffer::new(file)
        .parse()
        .and_then(|parsed| dicom_parser_lite::pixel::decode_frame(&parsed, index as usize))
        .map_err(ImagingError::from);
    match decoded {
        Ok(frame) => write_frame(&out, &frame),
        Err(e) => {
            let (kind, message) = match e {
                ImagingError::Unsupported(m) => ("unsupported", m),
                ImagingError::Parse(m) => ("parse", m),
            };
            let _ = Reflect::set(&out, &"error".into(), &kind.into());
            let _ = Reflect::set(&out, &"message".into(), &message.into());
        }
    }
    out.into()
}

fn set(out: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(out, &key.into(), &value.into());
}

fn write_frame(out: &Object, frame: &Frame) {
    let info = &frame.info;
    set(out, "rows", info.rows);
    set(out, "columns", info.columns);
    set(out, "samplesPerPixel", info.samples_per_pixel);
    set(out, "bitsAllocated", info.bits_allocated);
    set(out, "bitsStored", info.bits_stored);
    set(out, "highBit", info.high_bit);
    set(out, "signed", info.signed);
    set(out, "photometric", photometric_term(&info.photometric));
    set(out, "planarConfiguration", info.planar_configuration);
    set(out, "numberOfFrames", info.number_of_frames);
    let (kind, samples): (&str, JsValue) = match &frame.samples {
        Samples::U8(v) => ("u8", js_sys::Uint8Array::from(&v[..]).into()),
        Samples::I8(v) => ("i8", js_sys::Int8Array::from(&v[..]).into()),
        Samples::U16(v) => ("u16", js_sys::Uint16Array::from(&v[..]).into()),
        Samples::I16(v) => ("i16", js_sys::Int16Array::from(&v[..]).into()),
        Samples::U32(v) => ("u32", js_sys::Uint32Array::from(&v[..]).into()),
        Samples::I32(v) => ("i32", js_sys::Int32Array::from(&v[..]).into()),
    };
    set(out, "kind", kind);
    set(out, "samples", samples);
}

fn photometric_term(p: &Photometric) -> String {
    match p {
        Photometric::Monochrome1 => "MONOCHROME1".into(),
        Photometric::Monochrome2 => "MONOCHROME2".into(),
        Photometric::PaletteColor => "PALETTE COLOR".into(),
        Photometric::Rgb => "RGB".into(),
        Photometric::YbrFull => "YBR_FULL".into(),
        Photometric::YbrFull422 => "YBR_FULL_422".into(),
        Photometric::YbrPartial420 => "YBR_PARTIAL_420".into(),
        Photometric::YbrRct => "YBR_RCT".into(),
        Photometric::YbrIct => "YBR_ICT".into(),
        Photometric::Other(term) => term.clone(),
    }
}

fn frame_from_js(data: &JsValue) -> Result<Frame, ImagingError> {
    let get = |key: &str| Reflect::get(data, &key.into()).unwrap_or(JsValue::UNDEFINED);
    let text = |key: &str| get(key).as_string();
    let number = |key: &str| get(key).as_f64().filter(|n| n.is_finite() && *n >= 0.0 && *n <= f64::from(u32::MAX)).map(|n| n as u32);
    let small = |key: &str| number(key).and_then(|n| u16::try_from(n).ok());
    let bad = || ImagingError::Parse("the decode worker gave a malformed answer".into());
    if let Some(kind) = text("error") {
        let message = text("message").unwrap_or_default();
        return Err(if kind == "unsupported" { ImagingError::Unsupported(message) } else { ImagingError::Parse(message) });
    }
    let info = ImageInfo {
        rows: number("rows").ok_or_else(bad)?,
        columns: number("columns").ok_or_else(bad)?,
        samples_per_pixel: small("samplesPerPixel").ok_or_else(bad)?,
        bits_allocated: small("bitsAllocated").ok_or_else(bad)?,
        bits_stored: small("bitsStored").ok_or_else(bad)?,
        high_bit: small("highBit").ok_or_else(bad)?,
        signed: get("signed").as_bool().ok_or_else(bad)?,
        photometric: Photometric::from_term(&text("photometric").ok_or_else(bad)?),
        planar_configuration: small("planarConfiguration").ok_or_else(bad)?,
        number_of_frames: number("numberOfFrames").ok_or_else(bad)?,
    };
    let samples = get("samples");
    let samples = match text("kind").as_deref() {
        Some("u8") => Samples::U8(samples.dyn_into::<js_sys::Uint8Array>().map_err(|_| bad())?.to_vec()),
        Some("i8") => Samples::I8(samples.dyn_into::<js_sys::Int8Array>().map_err(|_| bad())?.to_vec()),
        Some("u16") => Samples::U16(samples.dyn_into::<js_sys::Uint16Array>().map_err(|_| bad())?.to_vec()),
        Some("i16") => Samples::I16(samples.dyn_into::<js_sys::Int16Array>().map_err(|_| bad())?.to_vec()),
        Some("u32") => Samples::U32(samples.dyn_into::<js_sys::Uint32Array>().map_err(|_| bad())?.to_vec()),
        Some("i32") => Samples::I32(samples.dyn_into::<js_sys::Int32Array>().map_err(|_| bad())?.to_vec()),
        _ => return Err(bad()),
    };
    Ok(Frame { info, samples })
}

/// Test support: every frame of `file` decoded by a worker and here, compared. Resolves to
/// `""` when stored values and image description are equal for each (or both sides refuse the
/// file alike), else what differs; rejects when no worker could take it.
#[wasm_bindgen(js_name = __compareWorkerDecode)]
pub async fn compare_worker_decode(file: Vec<u8>) -> Result<String, JsError> {
    let decode_here = |index: u32| {
        dicom_parser_lite::DicomBuffer::new(&file)
            .parse()
            .and_then(|parsed| dicom_parser_lite::pixel::decode_frame(&parsed, index as usize))
            .map_err(ImagingError::from)
    };
    let frames = dicom_parser_lite::DicomBuffer::new(&file)
        .parse()
        .ok()
        .and_then(|parsed| ImageInfo::from_dataset(parsed.dataset()).ok())
        .map_or(1, |info| info.number_of_frames.max(1));
    for index in 0..frames {
        let there = match Workers.decode(&file, index, &CancelToken::new()).await {
            Offload::Done(frame) => frame,
            Offload::Cancelled | Offload::Unavailable => return Err(JsError::new("no decode worker")),
        };
        let differs = match (decode_here(index), there) {
            (Ok(a), Ok(b)) if a == b => None,
            (Err(a), Err(b)) if a == b => None,
            (Ok(a), Ok(b)) if a.info != b.info => Some(format!("image description differs: {:?} vs {:?}", a.info, b.info)),
            (Ok(_), Ok(_)) => Some("stored values differ".to_string()),
            (a, b) => Some(format!("main thread {:?}, worker {:?}", a.err(), b.err())),
        };
        if let Some(differs) = differs {
            return Ok(format!("frame {index}: {differs}"));
        }
    }
    Ok(String::new())
}

/// Bench support: the first frame of each of `files`, all queued at once on a pool of its own
/// with `workers` workers (started and ready first), decoded `rounds` times; the milliseconds
/// from the first job queued to the last answer. The pool is ended after.
#[wasm_bindgen(js_name = __benchWorkerDecode)]
pub async fn bench_worker_decode(files: Vec<Uint8Array>, workers: u32, rounds: u32) -> Result<f64, JsError> {
    let pool = start(workers.clamp(1, 8) as usize);
    let files: Vec<Vec<u8>> = files.iter().map(Uint8Array::to_vec).collect();
    let token = CancelToken::new();
    // Warm-up, which also waits until every worker has started.
    for file in &files {
        let _ = decode_on(&pool, file, 0, &token).await;
    }
    while pool.borrow().dispatcher.ready_workers() < workers as usize && !pool.borrow().dispatcher.all_dead() {
        crate::net::browser::sleep(std::time::Duration::from_millis(10)).await;
    }
    let started = js_sys::Date::now();
    let jobs: Vec<_> = (0..rounds).flat_map(|_| files.iter().map(|file| decode_on(&pool, file, 0, &token))).collect();
    let answers = futures_util::future::join_all(jobs).await;
    let ms = js_sys::Date::now() - started;
    for worker in pool.borrow().workers.iter().flatten() {
        worker.terminate();
    }
    if answers.iter().any(|a| !matches!(a, Offload::Done(_))) {
        return Err(JsError::new("a decode worker did not answer"));
    }
    Ok(ms)
}
