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
    let mut query = Query(base.query().filter(|q| !q.is_empty()).map(str::to_string).unwrap_or_default());
    query.text(Param::RequestType, request.request_type().as_str());
    match request {
        IidRequest::Study { key: StudyKey::StudyUids(uids), .. } => query.list(Param::StudyUid, uids)?,
        IidRequest::Study { key: StudyKey::AccessionNumbers(numbers), .. } => query.list(Param::AccessionNumber, numbers)?,
        IidRequest::Patient { patient, filters, .. } => {
            query.text(Param::PatientId, &patient.id.encode());
            query.optional(Param::PatientName, patient.name.as_deref());
            query.optional(Param::PatientBirthDate, patient.birth_date.as_ref());
            query.optional(Param::LowerDateTime, filters.lower_date_time.as_ref());
            query.optional(Param::UpperDateTime, filters.upper_date_time.as_ref());
            query.optional(Param::MostRecentResults, filters.most_recent_results);
            if !filters.modalities_in_study.is_empty() {
                query.list(Param::ModalitiesInStudy, &filters.modalities_in_study)?;
            }
        }
    }
    let options = request.options();
    query.optional(Param::ViewerType, options.viewer_type.map(|v| v.as_str()));
    query.optional(Param::DiagnosticQuality, options.diagnostic_quality);
    query.optional(Param::KeyImagesOnly, options.key_images_only);
    let mut url = base.clone();
    url.set_query(Some(&query.0));
    if IidRequest::parse_query(url.query().unwrap_or_default())? != *request {
        return Err(InvokerError::NotRepresentable);
    }
    Ok(url)
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

    fn optional(&mut self, param: Param, value: Option<impl ToString>) {
        if let Some(value) = value {
            self.text(param, &value.to_string());
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
