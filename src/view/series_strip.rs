//! The series strip: one button per image series with our own thumbnail (its middle image,
//! checked against the patient like every image drawn), its loading progress (the open series
//! and every series fetched ahead behind it) and how many key images it has; then the study's
//! document series (key objects, reports, …), each listed for what it holds and never drawn as
//! an image.

use super::draw;
use super::store::{Action, SeriesItem, Store};
use super::Strings;
use crate::bridge::SeriesKind;
use crate::imaging::VerifiedImage;
use leptos::prelude::*;

fn kind_label(t: &'static Strings, kind: SeriesKind) -> &'static str {
    match kind {
        SeriesKind::Images => t.images,
        SeriesKind::KeyObjects => t.kind_key_objects,
        SeriesKind::Report => t.kind_report,
        SeriesKind::PresentationState => t.kind_presentation_state,
        SeriesKind::Segmentation => t.kind_segmentation,
        SeriesKind::OtherObject => t.kind_other_object,
    }
}

#[component]
fn Thumb(image: VerifiedImage, store: Store) -> impl IntoView {
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let patient = store.context.clone();
    Effect::new(move |_| {
        let Some(el) = canvas.get() else { return };
        let p = patient.get();
        // A thumbnail verified for another patient (or none in context) is not drawn.
        let _ = draw::draw(&el, &image, &image.default_voi(), false, false, None, p.as_deref());
    });
    view! { <canvas node_ref=canvas class="emr-thumb" aria-hidden="true"></canvas> }
}

#[component]
pub fn SeriesStrip(store: Store) -> impl IntoView {
    let t = store.strings();
    let series = store.series.clone();
    let current = store.stack.clone();
    let actions = store.actions.clone();
    let keys = store.key_images.clone();
    let store_for_items = store.clone();
    view! {
        <div class="emr-series-strip" role="toolbar" aria-label=t.series_strip_label data-testid="series-strip">
            <For
                each=move || series.get()
                key=|item: &SeriesItem| (item.uid.clone(), item.loaded, item.total, item.thumb.is_some())
                children=move |item: SeriesItem| {
                    let uid = item.uid.clone();
                    let uid_click = item.uid.clone();
                    let current = current.clone();
                    let is_current = move || current.with(|s| s.series_uid == uid);
                    let actions = actions.clone();
                    let label = format!(
                        "{} {} · {} {}",
                        t.series_number,
                        item.number.map(|n| n.to_string()).unwrap_or_default(),
                        item.modality.clone().unwrap_or_default(),
                        item.description.clone().unwrap_or_default()
                    );
                    // Reports open beside the images, as text; a state is applied to the images it names.
                    let opens = match item.kind {
                        SeriesKind::Report => Some((Action::OpenStructuredReports(item.uid.clone()), t.read_report)),
                        SeriesKind::PresentationState => Some((Action::ApplyPresentationState(item.uid.clone()), t.apply_state)),
                        _ => None,
                    };
                    if let Some((action, verb)) = opens {
                        let actions = actions.clone();
                        let what = format!("{} · {}", kind_label(t, item.kind), verb);
                        let report = (item.kind == SeriesKind::Report).then(|| item.uid.clone());
                        let state = (item.kind == SeriesKind::PresentationState).then(|| item.uid.clone());
                        return view! {
                            <button type="button" class="emr-series emr-series-doc" data-report-series-uid=report data-state-series-uid=state
                                data-document-series-uid=item.uid.clone() title=label.clone()
                                on:click=move |_| (actions)(action.clone())>
                                <span class="emr-thumb-box"></span>
                                <span class="emr-series-label">{label.clone()}</span>
                                <span class="emr-series-count">{what}</span>
                            </button>
                        }
                        .into_any();
                    }
                    if item.kind != SeriesKind::Images {
                        let what = format!("{} · {}", kind_label(t, item.kind), t.not_an_image);
                        return view! {
                            <div class="emr-series emr-series-doc" role="note" data-document-series-uid=item.uid.clone()
                                title=label.clone()>
                                <span class="emr-thumb-box"></span>
                                <span class="emr-series-label">{label.clone()}</span>
                                <span class="emr-series-count">{what}</span>
                            </div>
                        }
                        .into_any();
                    }
                    let badge = {
                        let (keys, uid) = (keys.clone(), item.uid.clone());
                        move || {
                            let n = keys.with(|k| k.iter().filter(|(series, _)| *series == uid).count());
                            (n > 0).then(|| view! {
                                <span class="emr-key-badge" data-testid="key-badge" title=t.key_image_title>{format!("{} {n}", t.key_image)}</span>
                            })
                        }
                    };
                    // An idle series keeps the bar's space, so the strip and the viewport under it do
                    // not change height (and the fit zoom does not jump) when a prefetch ends.
                    let progress = if item.total > 0 && item.loaded > 0 && item.loaded < item.total {
                        let pct = item.loaded * 100 / item.total.max(1);
                        view! {
                            <span class="emr-mini-progress" role="progressbar" aria-label=t.series_loading data-testid="series-progress"
                                aria-valuemin="0" aria-valuemax="100" aria-valuenow=pct.to_string()>
                                <span style=format!("width:{pct}%")></span>
                            </span>
                        }
                        .into_any()
                    } else {
                        view! { <span class="emr-mini-progress emr-idle" aria-hidden="true"></span> }.into_any()
                    };
                    let thumb = item.thumb.clone().map(|image| view! { <Thumb image=image store=store_for_items.clone() /> });
                    view! {
                        <button type="button" class="emr-series" data-series-uid=item.uid.clone() aria-pressed=move || is_current().to_string()
                            title=label.clone()
                            on:click=move |_| (actions)(Action::OpenSeries(uid_click.clone()))>
                            <span class="emr-thumb-box">{thumb}</span>
                            <span class="emr-series-label">{label.clone()}</span>
                            <span class="emr-series-count">{format!("{} {}", item.count.map(|c| c as usize).unwrap_or(item.total), t.images)}</span>
                            {progress}
                            {badge}
                        </button>
                    }
                    .into_any()
                }
            />
        </div>
    }
}
