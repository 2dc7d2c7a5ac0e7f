//! The study list: filters, date order, keyboard navigation (roving tabindex), ARIA listbox.

use super::logic::{date_of, list_key_target, modalities, StudyFilter};
use super::store::{Action, Activity, Status, Store};
use super::Strings;
use crate::bridge::{Source, Study};
use crate::session::is_comparable;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

fn source_label(t: &'static Strings, source: &Source) -> &'static str {
    match source {
        Source::FhirOnly => t.source_fhir_only,
        Source::Enriched => t.source_enriched,
        Source::NoEndpoint => t.source_no_endpoint,
        Source::PacsOnly => t.source_pacs_only,
        Source::PacsUnreachable { .. } => t.source_unreachable,
        Source::InvalidEndpoint { .. } => t.source_invalid_endpoint,
    }
}

fn source_class(source: &Source) -> &'static str {
    match source {
        Source::Enriched => "emr-study-source emr-ok",
        Source::FhirOnly | Source::PacsOnly => "emr-study-source",
        Source::NoEndpoint | Source::PacsUnreachable { .. } | Source::InvalidEndpoint { .. } => "emr-study-source emr-warn",
    }
}

fn count(n: Option<u32>) -> String {
    n.map(|n| n.to_string()).unwrap_or_else(|| "?".into())
}

/// Moves keyboard focus to row `index` of the list.
fn focus_row(list: &web_sys::HtmlElement, index: usize) {
    if let Ok(rows) = list.query_selector_all("[role=option]") {
        if let Some(row) = rows.item(index as u32).and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = row.focus();
        }
    }
}

#[component]
pub fn StudyList(store: Store) -> impl IntoView {
    let t = store.strings();
    let locale = store.locale();
    let filter = RwSignal::new(StudyFilter::default());
    let focused = RwSignal::new(0usize);
    let list_ref = NodeRef::<leptos::html::Ul>::new();
    let studies = store.studies.clone();
    let new_studies = store.new_studies.clone();
    let shown = {
        let studies = studies.clone();
        Memo::new(move |_| filter.with(|f| studies.with(|all| f.apply(all))))
    };
    let modality_choices = {
        let studies = studies.clone();
        move || studies.with(|all| modalities(all))
    };
    let state_message = {
        let (studies, status, patient) = (studies.clone(), store.status.clone(), store.patient.clone());
        move || {
            if !studies.with(Vec::is_empty) {
                return (shown.with(Vec::is_empty)).then_some(t.no_matching_studies);
            }
            match status.get() {
                Status::Loading(Activity::Studies) => Some(t.loading_studies),
                Status::Waiting(Activity::Studies) => Some(t.waiting_fhir),
                Status::Error(_) if patient.with(Option::is_none) => Some(t.studies_failed),
                _ if patient.with(Option::is_some) => Some(t.no_studies),
                _ => None,
            }
        }
    };
    let selected = store.selected_study.clone();
    let actions = store.actions.clone();
    let compare_actions = store.actions.clone();
    let open = move |uid: String| (actions)(Action::OpenStudy(uid));
    // Whether a listed study can be shown beside the open one (the session's rule).
    let comparable = {
        let (studies, selected) = (studies.clone(), selected.clone());
        move |other: &Study| {
            let open = selected.get()?;
            studies.with(|all| all.iter().find(|s| s.study_uid == open).map(|current| is_comparable(current, other)))
        }
    };
    let on_keydown = {
        let open = open.clone();
        move |ev: web_sys::KeyboardEvent| {
            let rows = shown.get_untracked();
            let current = focused.get_untracked().min(rows.len().saturating_sub(1));
            if ev.key() == "Enter" || ev.key() == " " {
                if let Some(study) = rows.get(current) {
                    ev.prevent_default();
                    open(study.study_uid.clone());
                }
                return;
            }
            if let Some(next) = list_key_target(&ev.key(), current, rows.len()) {
                ev.prevent_default();
                focused.set(next);
                if let Some(list) = list_ref.get_untracked() {
                    focus_row(&list, next);
                }
            }
        }
    };
    view! {
        <div class="emr-studies">
            <div class="emr-filters" role="group" aria-label=t.studies_label>
                <label>{t.modality_filter}
                    <select data-testid="modality-filter" on:change=move |ev| { let v = event_target_value(&ev); filter.update(|f| f.modality = v); }>
                        <option value="">{t.all_modalities}</option>
                        {move || modality_choices().into_iter().map(|m| view! { <option value=m.clone()>{m.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label>{t.date_from}
                    <input type="date" data-testid="date-from" on:change=move |ev| { let v = event_target_value(&ev); filter.update(|f| f.from = v); } />
                </label>
                <label>{t.date_to}
                    <input type="date" data-testid="date-to" on:change=move |ev| { let v = event_target_value(&ev); filter.update(|f| f.to = v); } />
                </label>
                <button type="button" data-testid="sort-toggle" aria-pressed=move || filter.with(|f| f.oldest_first).to_string()
                    on:click=move |_| filter.update(|f| f.oldest_first = !f.oldest_first)>
                    {move || if filter.with(|f| f.oldest_first) { t.sort_oldest } else { t.sort_newest }}
                </button>
            </div>
            {move || state_message().map(|m| view! { <p class="emr-list-state" data-testid="study-list-state">{m}</p> })}
            {move || (!new_studies.with(Vec::is_empty)).then(|| view! {
                <p class="emr-new-study" role="status" data-testid="new-study-notice">{t.new_study}</p>
            })}
            <ul class="emr-study-list" role="listbox" aria-label=t.studies_label data-testid="study-list" node_ref=list_ref on:keydown=on_keydown>
                <For
                    each=move || shown.get().into_iter().enumerate()
                    key=|(i, study)| (*i, study.study_uid.clone())
                    children=move |(i, study): (usize, Study)| {
                        let uid = study.study_uid.clone();
                        let selected = selected.clone();
                        let is_selected = move || selected.get().as_deref() == Some(uid.as_str());
                        let can_compare = {
                            let (comparable, study) = (comparable.clone(), study.clone());
                            Memo::new(move |_| comparable(&study).unwrap_or(false))
                        };
                        let compare_uid = study.study_uid.clone();
                        let compare_actions = compare_actions.clone();
                        let mark = move || can_compare.get().then(|| {
                            let (uid, actions) = (compare_uid.clone(), compare_actions.clone());
                            view! {
                                <span class="emr-comparable" data-testid="comparable-mark" title=t.comparable_title>{t.comparable}</span>
                                <button type="button" class="emr-compare" data-testid="compare" title=t.comparable_title
                                    on:click=move |ev: web_sys::MouseEvent| { ev.stop_propagation(); (actions)(Action::Compare(uid.clone())); }
                                    on:keydown=|ev: web_sys::KeyboardEvent| ev.stop_propagation()>{t.compare}</button>
                            }
                        });
                        let open = open.clone();
                        let uid_click = study.study_uid.clone();
                        let counts = format!(
                            "{} {} · {} {}",
                            count(study.number_of_series), t.series, count(study.number_of_instances), t.images,
                        );
                        view! {
                            <li
                                class="emr-study"
                                role="option"
                                tabindex=move || if focused.get() == i { "0" } else { "-1" }
                                aria-selected=move || is_selected().to_string()
                                data-study-uid=study.study_uid.clone()
                                data-comparable=move || can_compare.get().to_string()
                                on:click=move |_| { focused.set(i); open(uid_click.clone()); }
                                on:focus=move |_| focused.set(i)
                            >
                                <span class="emr-study-date">{locale.date(&date_of(&study.started))}</span>
                                <span class="emr-study-modality">{study.modalities.join("/")}</span>
                                <span class="emr-study-desc">{study.description.clone().unwrap_or_default()}</span>
                                <span class="emr-study-acc">{study.accession.clone().unwrap_or_default()}</span>
                                <span class="emr-study-counts">{counts}</span>
                                <span class=source_class(&study.source) title=match &study.source { Source::PacsUnreachable { message } | Source::InvalidEndpoint { message } => message.clone(), _ => String::new() }>
                                    {source_label(t, &study.source)}
                                </span>
                                {mark}
                            </li>
                        }
                    }
                />
            </ul>
        </div>
    }
}
