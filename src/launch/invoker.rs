//! The IID Image Display Invoker: an [`IidRequest`] as the URL that opens it in a viewer.
//!
//! The request type has no field for a token and a base that carries one is refused, so the
//! URL never holds a credential: the viewer gets its token from SMART or from the host.
//! Before the URL is returned it is parsed back with the viewer's own parser, so what this
//! builds is exactly what a strict IID viewer accepts.

use super::iid::{IidError, IidRequest, Param, ParamName, StudyKey, TOKEN_PARAMETER};
use thiserror::Error;
use url::Url;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum InvokerError {
    #[error("The IID viewer address must start with http:// or https://.")]
    NotHttp,
    #[error("The IID viewer address must not contain a user name or password.")]
    Credentials,
    #[error("The IID viewer address must not have a #fragment.")]
    Fragment,
    #[error("The IID viewer address must not carry {TOKEN_PARAMETER}; the viewer gets its token another way.")]
    Token,
    #[error("The IID viewer address already sets {0}, which the request sets.")]
    BaseSetsParameter(String),
    #[error("{name} entry {position} contains a comma, which IID uses to separate entries.")]
    CommaInEntry { name: &'static str, position: usize },
    #[error(transparent)]
    Invalid(#[from] IidError),
    #[error("The request cannot be written as an IID link without changing its meaning.")]
    NotRepresentable,
}

/// The URL that asks the viewer at `base` (its `…/IHEInvokeImageDisplay` address) for `request`.
/// Parameters already in `base` that IID does not define are kept, ahead of the request's.
pub fn build_iid_url(base: &Url, request: &IidRequest) -> Result<Url, InvokerError> {
    let (url, read_back) = iid_url_from_values(base, values(request))?;
    if read_back != *request {
        return Err(InvokerError::NotRepresentable);
    }
    Ok(url)
}

/// "Open in diagnostic viewer" for a study: the study's own `ihe-iid` Endpoint wins over the
/// site's viewer. The link carries the study and nothing else (never a token).
pub fn diagnostic_link(study_uid: &str, study_viewer: Option<&str>, site_viewer: Option<&Url>) -> Option<Url> {
    let own = study_viewer.and_then(|v| Url::parse(v).ok());
    let base = own.as_ref().or(site_viewer)?;
    // By name, like `buildIidUrl`: the widget then carries one writer, not two.
    let values =
        vec![(Param::RequestType, ParamValue::Text("STUDY".into())), (Param::StudyUid, ParamValue::List(vec![study_uid.to_string()]))];
    iid_url_from_values(base, values).ok().map(|(url, _)| url)
}

/// One parameter's value as an invoker has it: text, or the entries of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    Text(String),
    List(Vec<String>),
}

/// The URL for parameters given by name (how the JS face has them), with the request the viewer
/// will read from it; refused as the viewer would refuse it.
pub fn iid_url_from_values(base: &Url, values: Vec<(Param, ParamValue)>) -> Result<(Url, IidRequest), InvokerError> {
    if !matches!(base.scheme(), "http" | "https") {
        return Err(InvokerError::NotHttp);
    }
    if !base.username().is_empty() || base.password().is_some() {
        return Err(InvokerError::Credentials);
    }
    if base.fragment().is_some() {
        return Err(InvokerError::Fragment);
    }
    for (name, _) in base.query_pairs() {
        match ParamName::classify(&name) {
            ParamName::Token => return Err(InvokerError::Token),
            ParamName::Known(_) | ParamName::WrongCase(_) => return Err(InvokerError::BaseSetsParameter(name.into_owned())),
            ParamName::Other => {}
        }
    }
    let mut query = Query(base.query().unwrap_or_default().to_string());
    for (param, value) in values {
        match value {
            ParamValue::Text(text) => query.text(param, &text),
            ParamValue::List(entries) => query.list(param, &entries)?,
        }
    }
    let mut url = base.clone();
    url.set_query(Some(&query.0));
    let request = IidRequest::parse_query(url.query().unwrap_or_default())?;
    Ok((url, request))
}

/// `request`'s parameters in the order an invoker writes them.
fn values(request: &IidRequest) -> Vec<(Param, ParamValue)> {
    let text = |param, value: String| Some((param, ParamValue::Text(value)));
    let mut values = vec![(Param::RequestType, ParamValue::Text(request.request_type().as_str().into()))];
    match request {
        IidRequest::Study { key: StudyKey::StudyUids(uids), .. } => values.push((Param::StudyUid, ParamValue::List(uids.clone()))),
        IidRequest::Study { key: StudyKey::AccessionNumbers(numbers), .. } => {
            values.push((Param::AccessionNumber, ParamValue::List(numbers.clone())))
        }
        IidRequest::Patient { patient, filters, .. } => {
            values.extend(
                [
                    text(Param::PatientId, patient.id.encode()),
                    patient.name.clone().and_then(|n| text(Param::PatientName, n)),
                    patient.birth_date.as_ref().and_then(|d| text(Param::PatientBirthDate, d.to_string())),
                    filters.lower_date_time.as_ref().and_then(|d| text(Param::LowerDateTime, d.to_string())),
                    filters.upper_date_time.as_ref().and_then(|d| text(Param::UpperDateTime, d.to_string())),
                    filters.most_recent_results.and_then(|n| text(Param::MostRecentResults, n.to_string())),
                    (!filters.modalities_in_study.is_empty())
                        .then(|| (Param::ModalitiesInStudy, ParamValue::List(filters.modalities_in_study.clone()))),
                ]
                .into_iter()
                .flatten(),
            );
        }
    }
    let options = request.options();
    values.extend(
        [
            options.viewer_type.and_then(|v| text(Param::ViewerType, v.as_str().into())),
            options.diagnostic_quality.and_then(|b| text(Param::DiagnosticQuality, b.to_string())),
            options.key_images_only.and_then(|b| text(Param::KeyImagesOnly, b.to_string())),
        ]
        .into_iter()
        .flatten(),
    );
    values
}

/// A query string under construction. Values are percent-encoded but for letters, digits and
/// `*-._`, which writes `^` as `%5E`, `&` as `%26` and `,` as `%2C`; only a list's separating
/// commas stay literal.
struct Query(String);

impl Query {
    fn text(&mut self, param: Param, value: &str) {
        self.name(param);
        self.encoded(value);
    }

    /// Form encoding, but a space as `%20`: `decodeURIComponent` and other plain decoders keep
    /// a `+` as it is. A `+` of the value is `%2B` by then, so each `+` left is a space.
    fn encoded(&mut self, value: &str) {
        for piece in url::form_urlencoded::byte_serialize(value.as_bytes()) {
            self.0.push_str(if piece == "+" { "%20" } else { piece });
        }
    }

    fn list(&mut self, param: Param, entries: &[String]) -> Result<(), InvokerError> {
        if let Some(i) = entries.iter().position(|e| e.contains(',')) {
            return Err(InvokerError::CommaInEntry { name: param.name(), position: i + 1 });
        }
        self.name(param);
        for (i, entry) in entries.iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            self.encoded(entry);
        }
        Ok(())
    }

    fn name(&mut self, param: Param) {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        self.0.push_str(param.name());
        self.0.push('=');
    }
}

#[cfg(test)]
mod tests;
