//! The reports beside the images. Report text is only ever inserted as text nodes.

use super::store::{Reports, Store};
use super::STRINGS;
use crate::fhir::report::{Attachment, DiagnosticReport};
use leptos::either::{EitherOf3, EitherOf5};
use leptos::prelude::*;

/// Only absolute http(s) links are offered; anything else (a relative Binary, `javascript:`)
/// is named but not linked.
fn safe_link(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| parsed.to_string())
}

fn attachment_view(a: Attachment) -> impl IntoView {
    let label = a.title.clone().or(a.content_type.clone()).unwrap_or_default();
    match (a.text, a.url.as_deref().and_then(safe_link)) {
        (Some(text), _) => EitherOf3::A(view! { <pre class="emr-report-text">{text}</pre> }),
        (None, Some(href)) => EitherOf3::B(view! {
            <a class="emr-report-link" href=href target="_blank" rel="noopener noreferrer">{format!("{} {label}", STRINGS.open_attachment)}</a>
        }),
        (None, None) => {
            EitherOf3::C(view! { <span class="emr-report-link">{format!("{label} ({})", STRINGS.attachment_not_inline)}</span> })
        }
    }
}

fn report_view(r: DiagnosticReport) -> impl IntoView {
    let heading = [r.title.clone(), r.status.clone(), r.date.as_deref().map(|d| d.get(..10).unwrap_or(d).to_string())]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    let conclusion = r.conclusion.clone().map(|c| {
        view! { <p class="emr-report-conclusion"><strong>{format!("{}: ", STRINGS.conclusion)}</strong>{c}</p> }
    });
    view! {
        <article class="emr-report" data-testid="report" data-report-id=r.id.clone()>
            <h3>{heading}</h3>
            {conclusion}
            {r.presented_forms.into_iter().map(attachment_view).collect_view()}
        </article>
    }
}

#[component]
pub fn ReportPanel(store: Store) -> impl IntoView {
    let reports = store.reports.clone();
    view! {
        <aside class="emr-reports" aria-label=STRINGS.reports_label data-testid="reports">
            {move || match reports.get() {
                Reports::Idle => EitherOf5::A(()),
                Reports::Loading => EitherOf5::B(view! { <p class="emr-muted">{STRINGS.reports_loading}</p> }),
                Reports::Failed(why) => EitherOf5::C(view! { <p class="emr-muted">{format!("{} {why}", STRINGS.reports_failed)}</p> }),
                Reports::Loaded(list) if list.is_empty() => EitherOf5::D(view! { <p class="emr-muted">{STRINGS.no_reports}</p> }),
                Reports::Loaded(list) => EitherOf5::E(list.into_iter().map(report_view).collect_view()),
            }}
        </aside>
    }
}
