//! The viewports: the open study's, and while comparing the prior's beside it with its own
//! header. Which slice the other viewport shows is the session's rule ([`crate::session::
//! ScrollLink`], through [`Store::follow`]); here only signals are wired to it.
//!
//! Each pane says which slice it shows in `data-slice-index` and `data-slice-position` (mm
//! along the normal), for hosts and tests.

use super::logic::date_of;
use super::store::{Action, ComparePane, Store};
use super::viewport::Viewport;
use crate::session::Side;
use leptos::prelude::*;
use std::sync::Arc;

/// The slice a store's viewport shows, as the pane's data attributes.
fn slice_attrs(store: &Store) -> (impl Fn() -> String + Send + Sync + 'static, impl Fn() -> Option<String> + Send + Sync + 'static) {
    let (index, image) = (store.index.clone(), store.image.clone());
    let shown = image.clone();
    (
        move || if shown.with(Option::is_some) { index.get().to_string() } else { String::new() },
        move || image.with(|i| i.as_ref().and_then(|i| i.image.slice_position()).map(|p| p.to_string())),
    )
}

#[component]
pub fn Panes(store: Store) -> impl IntoView {
    let (index, position) = slice_attrs(&store);
    let compare = store.compare.clone();
    let comparing = compare.as_ref().map(|c| c.study.clone());
    let is_comparing = {
        let comparing = comparing.clone();
        move || comparing.as_ref().is_some_and(|s| s.with(Option::is_some))
    };
    let prior = {
        let store = store.clone();
        move || {
            let compare = compare.clone()?;
            compare.study.with(Option::is_some).then(|| view! { <PriorPane store=store.clone() compare=compare /> })
        }
    };
    view! {
        <div class="emr-panes" data-testid="panes" data-comparing=move || is_comparing().to_string()>
            <div class="emr-pane" data-testid="current-pane" data-slice-index=index data-slice-position=position>
                <Viewport store=store.clone() />
            </div>
            {prior}
        </div>
    }
}

#[component]
fn PriorPane(store: Store, compare: Arc<ComparePane>) -> impl IntoView {
    let t = store.strings();
    let locale = store.locale();
    let pane = compare.store.clone();
    // The open study leads when it moves or the prior's stack grows; the prior when it moves.
    {
        let (index, frames, store) = (store.index.clone(), pane.stack.clone(), store.clone());
        Effect::new(move |_| {
            index.track();
            frames.with(|s| s.frames.len());
            store.follow(Side::Current);
        });
    }
    {
        let (index, store) = (pane.index.clone(), store.clone());
        Effect::new(move |_| {
            index.track();
            store.follow(Side::Prior);
        });
    }
    {
        let (linked, image, prior, store) = (compare.link_window.clone(), store.image.clone(), pane.image.clone(), store.clone());
        Effect::new(move |_| {
            linked.track();
            image.with(|i| i.as_ref().map(|i| i.window));
            prior.with(Option::is_some);
            store.follow_window();
        });
    }
    let study = compare.study.get_untracked();
    let label = study
        .as_ref()
        .map(|s| format!("{} {} {}", t.prior, locale.date(&date_of(&s.started)), s.description.clone().unwrap_or_default()))
        .unwrap_or_default();
    let study_uid = study.map(|s| s.study_uid).unwrap_or_default();
    let (index, position) = slice_attrs(&pane);
    let linked = compare.link_window.clone();
    let toggled = linked.clone();
    let actions = store.actions.clone();
    view! {
        <div class="emr-pane emr-prior" data-testid="prior-pane" data-study-uid=study_uid data-slice-index=index data-slice-position=position>
            <div class="emr-pane-head">
                <span class="emr-pane-label" data-testid="prior-label">{label.trim_end().to_string()}</span>
                <button type="button" data-testid="link-window" aria-pressed=move || linked.get().to_string()
                    on:click=move |_| toggled.update(|on| *on = !*on)>{t.link_window}</button>
                <button type="button" data-testid="close-comparison" on:click=move |_| (actions)(Action::CloseComparison)>{t.close_comparison}</button>
            </div>
            <Viewport store=pane />
        </div>
    }
}
