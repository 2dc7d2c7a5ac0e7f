//! The upload panel (`upload` option): files, a folder, a CD or a camera photo go in; each
//! file is listed with its state and the reason when it is not sent, the studies can be
//! unticked, and one bar shows the queue's total. File names and reasons are text nodes only.

use super::store::{Action, Store, UploadNote};
use super::Strings;
use crate::upload::intake::{Entry, FileState};
use crate::upload::stow::InstanceOutcome;
use leptos::prelude::*;
use leptos::tachys::html::attribute::custom::CustomAttribute;
use wasm_bindgen::{JsCast, JsValue};

/// A file's name in the panel: its path in a picked folder, else its name.
fn path_of(file: &web_sys::File) -> String {
    js_sys::Reflect::get(file, &JsValue::from_str("webkitRelativePath"))
        .ok()
        .and_then(|p| p.as_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| file.name())
}

/// The files an `<input type=file>` holds; it is emptied so the same pick works again.
fn picked(ev: &web_sys::Event) -> Vec<(String, web_sys::File)> {
    let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return Vec::new() };
    let mut out = Vec::new();
    if let Some(list) = input.files() {
        for i in 0..list.length() {
            if let Some(f) = list.get(i) {
                out.push((path_of(&f), f));
            }
        }
    }
    input.set_value("");
    out
}

fn state_text(t: &'static Strings, entry: &Entry) -> String {
    let w = &t.upload;
    match &entry.state {
        FileState::Refused(reason) => format!("{} {reason}", w.refused),
        FileState::Ready => w.ready.into(),
        FileState::Queued => w.queued.into(),
        FileState::Sending => w.sending.into(),
        FileState::Done(InstanceOutcome::Stored { warning: None }) => w.stored.into(),
        FileState::Done(InstanceOutcome::Stored { warning: Some(code) }) => format!("{} (0x{code:04X})", w.warning),
        FileState::Done(InstanceOutcome::AlreadyPresent) => w.already_present.into(),
        FileState::Done(InstanceOutcome::Failed { reason: Some(code) }) => format!("{} (0x{code:04X})", w.failed),
        FileState::Done(InstanceOutcome::Failed { reason: None }) => w.failed.into(),
        FileState::Done(InstanceOutcome::Retry) => w.queued.into(),
    }
}

/// `data-state` of a listed file, for styles and tests.
fn state_attr(state: &FileState) -> &'static str {
    match state {
        FileState::Refused(_) => "refused",
        FileState::Ready => "ready",
        FileState::Queued | FileState::Done(InstanceOutcome::Retry) => "queued",
        FileState::Sending => "sending",
        FileState::Done(InstanceOutcome::Stored { warning: None }) => "stored",
        FileState::Done(InstanceOutcome::Stored { .. }) => "warning",
        FileState::Done(InstanceOutcome::AlreadyPresent) => "already-present",
        FileState::Done(InstanceOutcome::Failed { .. }) => "failed",
    }
}

/// The bar of one file: empty until sent, full once answered (a STOW request reports no
/// progress of its own body, so a file in flight shows as indeterminate).
fn file_bar(state: &FileState) -> impl IntoView {
    match state {
        FileState::Sending => view! { <progress class="emr-upload-bar"></progress> }.into_any(),
        FileState::Done(_) => view! { <progress class="emr-upload-bar" max="1" value="1"></progress> }.into_any(),
        FileState::Queued => view! { <progress class="emr-upload-bar" max="1" value="0"></progress> }.into_any(),
        _ => ().into_any(),
    }
}

fn megabytes(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[component]
pub fn UploadPanel(store: Store) -> impl IntoView {
    let t = store.strings();
    let w = &t.upload;
    let locale = store.locale();
    let upload = store.upload.clone();
    let actions = store.actions.clone();
    let act = move |a: Action| (actions)(a);
    let (a1, a2, a3, a4, a5, a6, a7) = (act.clone(), act.clone(), act.clone(), act.clone(), act.clone(), act.clone(), act.clone());
    let on_drop = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        if let Some(files) = dropped(&ev, a4.clone()) {
            a4(Action::UploadFiles(files));
        }
    };
    let (u1, u2, u3, u4, u5) = (upload.clone(), upload.clone(), upload.clone(), upload.clone(), upload.clone());
    // Only the panel's appearing rebuilds it: its parts follow the state on their own, so a
    // progress update never replaces the inputs the user is working with.
    let shown = Memo::new(move |_| u1.with(|u| u.is_some()));
    move || {
        shown.get().then(|| {
            let (u2, u3, u4, u5) = (u2.clone(), u3.clone(), u4.clone(), u5.clone());
            let (a1, a2, a3, a5, a6, a7) = (a1.clone(), a2.clone(), a3.clone(), a5.clone(), a6.clone(), a7.clone());
            let on_drop = on_drop.clone();
            view! {
                <section class="emr-upload" aria-label=w.label data-testid="upload-panel">
                    <div class="emr-upload-drop" data-testid="upload-drop"
                        on:dragover=|ev: web_sys::DragEvent| ev.prevent_default()
                        on:drop=on_drop>
                        <span>{w.drop_here}</span>
                        <label class="emr-upload-pick">{w.pick_files}
                            <input type="file" multiple data-testid="upload-files"
                                on:change=move |ev| a1(Action::UploadFiles(picked(&ev))) />
                        </label>
                        <label class="emr-upload-pick">{w.pick_folder}
                            {view! {
                                <input type="file" data-testid="upload-folder"
                                    on:change=move |ev| a2(Action::UploadFiles(picked(&ev))) />
                            }.attr("webkitdirectory", "")}
                        </label>
                        <label class="emr-upload-pick">{w.take_photo}
                            <input type="file" accept="image/jpeg,image/png" capture="environment" data-testid="upload-camera"
                                on:change=move |ev| a3(Action::UploadFiles(picked(&ev))) />
                        </label>
                        <label>{w.body_site}" "
                            <select data-testid="upload-body-site" on:change=move |ev| {
                                let value = event_target_value(&ev);
                                a5(Action::UploadBodySite(value.parse().ok()));
                            }>
                                <option value="">{w.no_body_site}</option>
                                {w.body_sites.iter().enumerate().map(|(i, label)| view! { <option value=i.to_string()>{*label}</option> }).collect_view()}
                            </select>
                        </label>
                    </div>
                    {move || {
                        let studies = u2.with(|u| u.as_ref().map(|u| u.intake.studies()).unwrap_or_default());
                        let a6 = a6.clone();
                        (!studies.is_empty()).then(|| view! {
                            <fieldset class="emr-upload-studies" data-testid="upload-studies">
                                <legend>{w.studies}</legend>
                                {studies.into_iter().map(|s| {
                                    let a6 = a6.clone();
                                    let uid = s.study_uid.clone();
                                    let label = [s.description.clone().unwrap_or_else(|| s.study_uid.clone()), s.modalities.join("/"),
                                        format!("{} {}", s.files, w.files), megabytes(s.bytes)]
                                        .into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" · ");
                                    view! {
                                        <label data-testid="upload-study" data-study-uid=s.study_uid.clone()>
                                            <input type="checkbox" prop:checked=s.chosen
                                                on:change=move |ev| a6(Action::UploadChoose(uid.clone(), event_target_checked(&ev))) />
                                            {label}
                                        </label>
                                    }
                                }).collect_view()}
                            </fieldset>
                        })
                    }}
                    <div class="emr-upload-actions">
                        <button type="button" data-testid="upload-send"
                            prop:disabled=move || u3.with(|u| u.as_ref().is_none_or(|u| u.intake.to_send().is_empty()))
                            on:click=move |_| a7(Action::UploadSend)>{w.send}</button>
                        <button type="button" data-testid="upload-clear" on:click={
                            let act = act.clone();
                            move |_| act(Action::UploadClear)
                        }>{w.clear}</button>
                        {move || u4.with(|u| u.as_ref().map(|u| u.intake.totals())).filter(|t| t.files > 0).map(|total| {
                            let text = format!("{} {} {} {}", total.done_files, w.of, total.files, w.sent);
                            view! {
                                <progress class="emr-upload-total" data-testid="upload-total"
                                    max=total.bytes.max(1).to_string() value=total.done_bytes.to_string()></progress>
                                <span data-testid="upload-count">{text}</span>
                            }
                        })}
                    </div>
                    {move || u5.with(|u| u.as_ref().and_then(|u| u.note.clone())).map(|note| {
                        let text = match note {
                            UploadNote::NoDestination => w.no_destination.to_string(),
                            UploadNote::NoPatient => w.no_patient.to_string(),
                            UploadNote::Offline(detail) => format!("{} ({detail})", w.offline),
                            UploadNote::Store(detail) => format!("{} ({detail})", w.store_failed),
                        };
                        view! { <p class="emr-upload-note" role="status" data-testid="upload-note">{text}</p> }
                    })}
                    <ul class="emr-upload-files" data-testid="upload-list">
                        {let u = upload.clone();
                        move || u.with(|u| u.as_ref().map(|u| u.intake.entries().to_vec()).unwrap_or_default()).into_iter().map(|e| {
                            let text = state_text(t, &e);
                            let size = locale.decimal(format!("{:.1}", e.size as f64 / 1e6));
                            view! {
                                <li class="emr-upload-file" data-testid="upload-file" data-state=state_attr(&e.state)
                                    data-sop-instance-uid=e.file.as_ref().map(|f| f.sop_instance_uid.clone())>
                                    <span class="emr-upload-name">{e.name.clone()}</span>
                                    <span class="emr-upload-size">{format!("{size} MB")}</span>
                                    {file_bar(&e.state)}
                                    <span class="emr-upload-state">{text}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </section>
            }
        })
    }
}

/// A drop's files. A folder (or a CD drive) is read through its entries, which must be taken
/// during the event; its files then arrive later, as their own `UploadFiles`.
fn dropped(ev: &web_sys::DragEvent, act: impl Fn(Action) + Clone + 'static) -> Option<Vec<(String, web_sys::File)>> {
    let transfer = ev.data_transfer()?;
    let items = transfer.items();
    let mut entries = Vec::new();
    for i in 0..items.length() {
        let Some(item) = items.get(i) else { continue };
        if let Ok(Some(entry)) = item.webkit_get_as_entry() {
            entries.push(entry);
        }
    }
    if entries.iter().all(|e| e.is_file()) {
        let files = transfer.files()?;
        return Some((0..files.length()).filter_map(|i| files.get(i)).map(|f| (f.name(), f)).collect());
    }
    wasm_bindgen_futures::spawn_local(async move {
        let mut files = Vec::new();
        for entry in entries {
            super::folder::walk(entry, String::new(), &mut files).await;
        }
        act(Action::UploadFiles(files));
    });
    None
}
