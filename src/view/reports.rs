//! The reports beside the images: the study's FHIR DiagnosticReports and, when the user picks
//! an SR series, its structured reports as a tree. Report text is only ever inserted as text
//! nodes.

use super::store::{Action, Reports, Store};
use super::{Locale, Strings};
use crate::fhir::report::{Attachment, DiagnosticReport};
use crate::imaging::structured_report::{ItemKind, Report, ReportItem};
use leptos::either::{EitherOf3, EitherOf5};
use leptos::prelude::*;

/// Only absolute http(s) links are offered; anything else (a relative Binary, `javascript:`)
/// is named but not linked.
fn safe_link(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| parsed.to_string())
}

fn attachment_view(t: &'static Strings, a: Attachment) -> impl IntoView {
    let label = a.title.clone().or(a.content_type.clone()).unwrap_or_default();
    match (a.text, a.url.as_deref().and_then(safe_link)) {
        (Some(text), _) => EitherOf3::A(view! { <pre class="emr-report-text">{text}</pre> }),
        (None, Some(href)) => EitherOf3::B(view! {
            <a class="emr-report-link" href=href target="_blank" rel="noopener noreferrer">{format!("{} {label}", t.open_attachment)}</a>
        }),
        (None, None) => EitherOf3::C(view! { <span class="emr-report-link">{format!("{label} ({})", t.attachment_not_inline)}</span> }),
    }
}

fn report_view(t: &'static Strings, locale: Locale, r: DiagnosticReport) -> impl IntoView {
    let heading = [r.title.clone(), r.status.clone(), r.date.as_deref().map(|d| locale.date(d.get(..10).unwrap_or(d)))]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    let conclusion = r.conclusion.clone().map(|c| {
        view! { <p class="emr-report-conclusion"><strong>{format!("{}: ", t.conclusion)}</strong>{c}</p> }
    });
    view! {
        <article class="emr-report" data-testid="report" data-report-id=r.id.clone()>
            <h3>{heading}</h3>
            {conclusion}
            {r.presented_forms.into_iter().map(|a| attachment_view(t, a)).collect_view()}
        </article>
    }
}

/// One content item: its concept, its value, and its children below it.
fn item_view(item: ReportItem) -> AnyView {
    let container = item.kind == ItemKind::Container;
    let concept = item.concept.map(|c| if container || item.value.is_none() { c } else { format!("{c}: ") });
    let children = (!item.children.is_empty())
        .then(|| view! { <ul class="emr-sr-list">{item.children.into_iter().map(item_view).collect_view()}</ul> });
    view! {
        <li class=if container { "emr-sr-item emr-sr-container" } else { "emr-sr-item" } data-testid="sr-item">
            <span class="emr-sr-concept">{concept}</span>
            <span class="emr-sr-value">{item.value}</span>
            {children}
        </li>
    }
    .into_any()
}

fn structured_report_view(t: &'static Strings, locale: Locale, r: Report) -> impl IntoView {
    let heading = [r.title.clone(), r.date.as_deref().map(|d| locale.date(d)), r.completion.clone(), r.verification.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    let truncated = r.truncated.then(|| view! { <p class="emr-muted">{t.report_incomplete}</p> });
    view! {
        <article class="emr-report emr-sr" data-testid="sr-report" data-sop-instance-uid=r.sop_instance_uid.clone()>
            <h3>{heading}</h3>
            <ul class="emr-sr-list emr-sr-root">{r.items.into_iter().map(item_view).collect_view()}</ul>
            {truncated}
        </article>
    }
}

#[component]
pub fn ReportPanel(store: Store) -> impl IntoView {
    let t = store.strings();
    let locale = store.locale();
    let reports = store.reports.clone();
    let structured = store.structured_reports.clone();
    let actions = store.actions.clone();
    let structured = move || {
        let opened = structured.get()?;
        let actions = actions.clone();
        let body = if opened.reports.is_empty() {
            view! { <p class="emr-muted">{t.report_empty}</p> }.into_any()
        } else {
            opened.reports.into_iter().map(|r| structured_report_view(t, locale, r)).collect_view().into_any()
        };
        Some(view! {
            <section class="emr-sr-panel" aria-label=t.structured_report_label data-testid="sr-tree"
                data-series-uid=opened.series_uid.clone()>
                <button type="button" class="emr-sr-close" data-testid="sr-close" aria-label=t.close title=t.close
                    on:click=move |_| (actions)(Action::CloseStructuredReports)>"×"</button>
                {body}
            </section>
        })
    };
    view! {
        <aside class="emr-reports" aria-label=t.reports_label data-testid="reports">
            {structured}
            {move || match reports.get() {
                Reports::Idle => EitherOf5::A(()),
                Reports::Loading => EitherOf5::B(view! { <p class="emr-muted">{t.reports_loading}</p> }),
                Reports::Failed(why) => EitherOf5::C(view! { <p class="emr-muted">{format!("{} {why}", t.reports_failed)}</p> }),
                Reports::Loaded(list) if list.is_empty() => EitherOf5::D(view! { <p class="emr-muted">{t.no_reports}</p> }),
                Reports::Loaded(list) => EitherOf5::E(list.into_iter().map(|r| report_view(t, locale, r)).collect_view()),
            }}
        </aside>
    }
}
