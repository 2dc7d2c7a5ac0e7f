//! IHE Invoke Image Display (IID, RAD-106) requests, parsed and validated.
//!
//! Parameter names are case-sensitive camelCase. A STUDY request names exactly one of `studyUID`
//! and `accessionNumber` (each a comma-separated list); a PATIENT request needs `patientID`
//! (HL7 v2 CX, `ID^^^Authority`). IID has no series-level request.
//!
//! The parser is strict, because a request it half-understood could show the wrong images: a
//! known parameter given twice, misspelled by case, or used with the other request type is an
//! error, and so is any value that breaks its rule. Names IID does not define are ignored, as
//! the links of some invokers carry their own.

mod cx;
mod datetime;
#[cfg(test)]
mod tests;

pub use cx::{CxError, FhirIdentifier, Hd, IdentifierError, PatientCx, PatientIdSystems};
pub use datetime::{Bound, IidDateTime, Zone};

use std::num::NonZeroU32;
use thiserror::Error;

/// The code JS sees for every [`IidError`] (`emr-imaging:error` from the hosted viewer).
pub const PUBLIC_ERROR_CODE: &str = "iid-invalid-request";

/// The query parameter some invokers put a bearer token in. The viewer's glue removes it from
/// the address and keeps the token before the request is parsed.
pub const TOKEN_PARAMETER: &str = "access_token";

/// One per launch, so its size does not matter and the variants stay unboxed for matching.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IidRequest {
    Study { key: StudyKey, options: IidOptions },
    Patient { patient: PatientQuery, filters: PatientFilters, options: IidOptions },
}

/// What a STUDY request names its studies by. The lists are never empty once parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StudyKey {
    StudyUids(Vec<String>),
    AccessionNumbers(Vec<String>),
}

/// The patient a PATIENT request is for. The name and birth date, when given, are the invoker's
/// view of the patient, to compare with the FHIR patient the ID leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientQuery {
    pub id: PatientCx,
    /// DICOM PN: `Family^Given^Middle^Prefix^Suffix`, up to three `=`-separated groups.
    pub name: Option<String>,
    pub birth_date: Option<IidDateTime>,
}

/// Which of the patient's studies to show.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatientFilters {
    pub lower_date_time: Option<IidDateTime>,
    pub upper_date_time: Option<IidDateTime>,
    pub most_recent_results: Option<NonZeroU32>,
    /// DICOM modality codes; empty: any modality.
    pub modalities_in_study: Vec<String>,
}

/// The optional display parameters common to both request types.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IidOptions {
    pub viewer_type: Option<ViewerType>,
    pub diagnostic_quality: Option<bool>,
    pub key_images_only: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewerType {
    /// `IHE_BIR`: an IHE Basic Image Review display.
    IheBir,
}

impl ViewerType {
    pub const fn as_str(self) -> &'static str {
        match self {
            ViewerType::IheBir => "IHE_BIR",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestType {
    Study,
    Patient,
}

impl RequestType {
    pub const ALL: [RequestType; 2] = [RequestType::Study, RequestType::Patient];

    pub const fn as_str(self) -> &'static str {
        match self {
            RequestType::Study => "STUDY",
            RequestType::Patient => "PATIENT",
        }
    }
}

impl std::fmt::Display for RequestType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parameters IID defines, in the order an invoker writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    RequestType,
    StudyUid,
    AccessionNumber,
    PatientId,
    PatientName,
    PatientBirthDate,
    LowerDateTime,
    UpperDateTime,
    MostRecentResults,
    ModalitiesInStudy,
    ViewerType,
    DiagnosticQuality,
    KeyImagesOnly,
}

/// How a parameter's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Text,
    /// Comma-separated entries.
    List,
    /// `true` or `false`.
    Flag,
    /// A positive whole number.
    Count,
}

impl Param {
    pub const ALL: [Param; 13] = [
        Param::RequestType,
        Param::StudyUid,
        Param::AccessionNumber,
        Param::PatientId,
        Param::PatientName,
        Param::PatientBirthDate,
        Param::LowerDateTime,
        Param::UpperDateTime,
        Param::MostRecentResults,
        Param::ModalitiesInStudy,
        Param::ViewerType,
        Param::DiagnosticQuality,
        Param::KeyImagesOnly,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Param::RequestType => "requestType",
            Param::StudyUid => "studyUID",
            Param::AccessionNumber => "accessionNumber",
            Param::PatientId => "patientID",
            Param::PatientName => "patientName",
            Param::PatientBirthDate => "patientBirthDate",
            Param::LowerDateTime => "lowerDateTime",
            Param::UpperDateTime => "upperDateTime",
            Param::MostRecentResults => "mostRecentResults",
            Param::ModalitiesInStudy => "modalitiesInStudy",
            Param::ViewerType => "viewerType",
            Param::DiagnosticQuality => "diagnosticQuality",
            Param::KeyImagesOnly => "keyImagesOnly",
        }
    }

    pub const fn kind(self) -> ParamKind {
        match self {
            Param::StudyUid | Param::AccessionNumber | Param::ModalitiesInStudy => ParamKind::List,
            Param::DiagnosticQuality | Param::KeyImagesOnly => ParamKind::Flag,
            Param::MostRecentResults => ParamKind::Count,
            _ => ParamKind::Text,
        }
    }

    /// The request type it belongs to; `None` for the common ones.
    pub const fn request_type(self) -> Option<RequestType> {
        match self {
            Param::RequestType | Param::ViewerType | Param::DiagnosticQuality | Param::KeyImagesOnly => None,
            Param::StudyUid | Param::AccessionNumber => Some(RequestType::Study),
            _ => Some(RequestType::Patient),
        }
    }
}

/// What a query parameter's name is to IID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamName {
    Known(Param),
    /// A known name in other letter case: a mistake, not another parameter.
    WrongCase(Param),
    Token,
    Other,
}

impl ParamName {
    pub fn classify(name: &str) -> ParamName {
        if name == TOKEN_PARAMETER {
            return ParamName::Token;
        }
        if let Some(p) = Param::ALL.into_iter().find(|p| p.name() == name) {
            return ParamName::Known(p);
        }
        Param::ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(name)).map_or(ParamName::Other, ParamName::WrongCase)
    }
}

/// Why a request was refused. Each message names the parameter and the rule, and never
/// repeats a patient's ID, name or birth date.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IidError {
    #[error("The link has no requestType; IID needs requestType=STUDY or requestType=PATIENT.")]
    MissingRequestType,
    #[error("requestType is {0:?}, but only STUDY and PATIENT are supported.")]
    UnknownRequestType(String),
    #[error("{0} appears more than once in the link; each parameter may be given only once.")]
    Repeated(&'static str),
    #[error("The parameter {given} must be spelled {expected}; IID parameter names are case-sensitive.")]
    WrongCase { given: String, expected: &'static str },
    #[error("The link still carries access_token; the viewer must take the token out of the address before reading the request.")]
    TokenNotStripped,
    #[error("{name} is not a parameter of a {request_type} request.")]
    NotForRequestType { name: &'static str, request_type: RequestType },
    #[error("{0} is given without a value.")]
    EmptyValue(&'static str),
    #[error("A STUDY request needs studyUID or accessionNumber, and this link has neither.")]
    StudyKeyMissing,
    #[error("A STUDY request takes studyUID or accessionNumber, not both.")]
    StudyKeyBoth,
    #[error("{name} has an empty entry at position {position}; entries are separated by single commas.")]
    EmptyListEntry { name: &'static str, position: usize },
    #[error("studyUID entry {0} is not a DICOM UID (digits and single dots, no leading zeros, at most 64 characters).")]
    InvalidUid(usize),
    #[error(
        "accessionNumber entry {0} is not a DICOM accession number (at most 16 characters, no backslash or control characters, no spaces at the ends)."
    )]
    InvalidAccessionNumber(usize),
    #[error("A PATIENT request needs patientID.")]
    MissingPatientId,
    #[error("patientID is not an HL7 v2 CX identifier such as 12345^^^Hospital or 12345^^^&1.2.3&ISO: {0}.")]
    InvalidPatientId(CxError),
    #[error("{0} is not an XML Schema date or dateTime such as 2010-01-01 or 2010-01-01T12:00:00Z.")]
    InvalidDateTime(&'static str),
    #[error("mostRecentResults must be a whole number from 1 to 4294967295.")]
    InvalidMostRecentResults,
    #[error("modalitiesInStudy entry {0} is not a DICOM modality code (capital letters and digits, at most 16, such as CT or MR).")]
    InvalidModality(usize),
    #[error(
        "patientName is not a DICOM person name (Family^Given^Middle^Prefix^Suffix, at most 64 characters per group, no backslash or control characters)."
    )]
    InvalidPatientName,
    #[error("viewerType is {0:?}, but only IHE_BIR is supported (or leave viewerType out).")]
    InvalidViewerType(String),
    #[error("{0} must be exactly true or false.")]
    InvalidFlag(&'static str),
}

impl IidError {
    /// A stable name of the rule that was broken, for logs and tests. JS sees
    /// [`PUBLIC_ERROR_CODE`] for all of them, with this error's message.
    pub const fn code(&self) -> &'static str {
        match self {
            IidError::MissingRequestType => "iid-missing-request-type",
            IidError::UnknownRequestType(_) => "iid-unknown-request-type",
            IidError::Repeated(_) => "iid-repeated-parameter",
            IidError::WrongCase { .. } => "iid-wrong-case",
            IidError::TokenNotStripped => "iid-token-not-stripped",
            IidError::NotForRequestType { .. } => "iid-not-for-request-type",
            IidError::EmptyValue(_) => "iid-empty-value",
            IidError::StudyKeyMissing => "iid-study-key-missing",
            IidError::StudyKeyBoth => "iid-study-key-both",
            IidError::EmptyListEntry { .. } => "iid-empty-list-entry",
            IidError::InvalidUid(_) => "iid-invalid-study-uid",
            IidError::InvalidAccessionNumber(_) => "iid-invalid-accession-number",
            IidError::MissingPatientId => "iid-missing-patient-id",
            IidError::InvalidPatientId(_) => "iid-invalid-patient-id",
            IidError::InvalidDateTime(_) => "iid-invalid-date-time",
            IidError::InvalidMostRecentResults => "iid-invalid-most-recent-results",
            IidError::InvalidModality(_) => "iid-invalid-modality",
            IidError::InvalidPatientName => "iid-invalid-patient-name",
            IidError::InvalidViewerType(_) => "iid-invalid-viewer-type",
            IidError::InvalidFlag(_) => "iid-invalid-flag",
        }
    }

    pub const fn public_code(&self) -> &'static str {
        PUBLIC_ERROR_CODE
    }
}

/// A DICOM UID: digits and dots, no empty or leading-zero components, at most 64 characters.
pub fn is_valid_uid(uid: &str) -> bool {
    uid.len() <= 64
        && !uid.is_empty()
        && uid.split('.').all(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()) && (c == "0" || !c.starts_with('0')))
}

/// DICOM SH, as an accession number: at most 16 characters, no backslash or control
/// characters, and no padding spaces (they would not match the stored value).
fn is_valid_accession_number(value: &str) -> bool {
    value.chars().count() <= 16 && value.trim() == value && !value.chars().any(|c| c == '\\' || c.is_control())
}

/// DICOM CS as a modality: `CT`, `MR`, `XA`, … (capital letters and digits).
fn is_valid_modality(value: &str) -> bool {
    !value.is_empty() && value.len() <= 16 && value.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// DICOM PN: up to three component groups of up to five components, 64 characters per group,
/// with at least one component written.
fn is_valid_person_name(value: &str) -> bool {
    let groups: Vec<&str> = value.split('=').collect();
    groups.len() <= 3
        && groups.iter().all(|g| g.chars().count() <= 64 && g.split('^').count() <= 5)
        && !value.chars().any(|c| c == '\\' || c.is_control())
        && value.chars().any(|c| !matches!(c, '^' | '=' | ' '))
}

/// A positive whole number in plain digits (no sign, which `str::parse` would take).
fn count(value: &str) -> Option<NonZeroU32> {
    let n =
        value.bytes().try_fold(0u32, |n, b| b.is_ascii_digit().then(|| n.checked_mul(10)?.checked_add(u32::from(b - b'0'))).flatten())?;
    NonZeroU32::new(n)
}

/// Cuts an echoed value short: the message is for people, and the link may be long.
fn shown(value: &str) -> String {
    value.chars().take(32).collect()
}

/// The query's IID parameters by [`Param`] index.
struct Values([Option<String>; Param::ALL.len()]);

impl Values {
    fn collect(query: &str) -> Result<Values, IidError> {
        let mut values = Values(Default::default());
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let param = match ParamName::classify(&name) {
                ParamName::Known(p) => p,
                ParamName::WrongCase(p) => return Err(IidError::WrongCase { given: name.into_owned(), expected: p.name() }),
                ParamName::Token => return Err(IidError::TokenNotStripped),
                ParamName::Other => continue,
            };
            let slot = &mut values.0[param as usize];
            if slot.is_some() {
                return Err(IidError::Repeated(param.name()));
            }
            if value.is_empty() {
                return Err(IidError::EmptyValue(param.name()));
            }
            *slot = Some(value.into_owned());
        }
        Ok(values)
    }

    fn get(&self, param: Param) -> Option<&str> {
        self.0[param as usize].as_deref()
    }

    fn list(&self, param: Param, valid: fn(&str) -> bool, invalid: fn(usize) -> IidError) -> Result<Vec<String>, IidError> {
        let Some(value) = self.get(param) else { return Ok(Vec::new()) };
        value
            .split(',')
            .enumerate()
            .map(|(i, entry)| match entry {
                "" => Err(IidError::EmptyListEntry { name: param.name(), position: i + 1 }),
                e if !valid(e) => Err(invalid(i + 1)),
                e => Ok(e.to_string()),
            })
            .collect()
    }

    fn flag(&self, param: Param) -> Result<Option<bool>, IidError> {
        self.get(param)
            .map(|v| match v {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(IidError::InvalidFlag(param.name())),
            })
            .transpose()
    }

    fn date_time(&self, param: Param) -> Result<Option<IidDateTime>, IidError> {
        self.get(param).map(|v| IidDateTime::parse(v).ok_or(IidError::InvalidDateTime(param.name()))).transpose()
    }
}

impl IidRequest {
    /// Parses the query string of an `IHEInvokeImageDisplay` URL (`location.search`, with or
    /// without its `?`).
    ///
    /// Lists are split after percent-decoding (as Weasis does), so an invoker that encoded the
    /// separating commas as `%2C` is understood too; an entry cannot itself hold a comma.
    /// The caller strips [`TOKEN_PARAMETER`] first: one still present is refused, so a token
    /// is never passed over as an ignored parameter.
    pub fn parse_query(query: &str) -> Result<IidRequest, IidError> {
        let values = Values::collect(query.strip_prefix('?').unwrap_or(query))?;
        let request_type = match values.get(Param::RequestType) {
            None => return Err(IidError::MissingRequestType),
            Some("STUDY") => RequestType::Study,
            Some("PATIENT") => RequestType::Patient,
            Some(other) => return Err(IidError::UnknownRequestType(shown(other))),
        };
        if let Some(p) = Param::ALL.into_iter().find(|p| values.get(*p).is_some() && p.request_type().is_some_and(|t| t != request_type)) {
            return Err(IidError::NotForRequestType { name: p.name(), request_type });
        }
        let viewer_type = match values.get(Param::ViewerType) {
            None => None,
            Some("IHE_BIR") => Some(ViewerType::IheBir),
            Some(other) => return Err(IidError::InvalidViewerType(shown(other))),
        };
        let options = IidOptions {
            viewer_type,
            diagnostic_quality: values.flag(Param::DiagnosticQuality)?,
            key_images_only: values.flag(Param::KeyImagesOnly)?,
        };
        match request_type {
            RequestType::Study => {
                let uids = values.list(Param::StudyUid, is_valid_uid, IidError::InvalidUid)?;
                let accessions = values.list(Param::AccessionNumber, is_valid_accession_number, IidError::InvalidAccessionNumber)?;
                let key = match (uids.is_empty(), accessions.is_empty()) {
                    (false, true) => StudyKey::StudyUids(uids),
                    (true, false) => StudyKey::AccessionNumbers(accessions),
                    (true, true) => return Err(IidError::StudyKeyMissing),
                    (false, false) => return Err(IidError::StudyKeyBoth),
                };
                Ok(IidRequest::Study { key, options })
            }
            RequestType::Patient => {
                let id = PatientCx::parse(values.get(Param::PatientId).ok_or(IidError::MissingPatientId)?)
                    .map_err(IidError::InvalidPatientId)?;
                let name = values
                    .get(Param::PatientName)
                    .map(|n| is_valid_person_name(n).then(|| n.to_string()).ok_or(IidError::InvalidPatientName));
                let patient = PatientQuery { id, name: name.transpose()?, birth_date: values.date_time(Param::PatientBirthDate)? };
                let most_recent_results =
                    values.get(Param::MostRecentResults).map(|v| count(v).ok_or(IidError::InvalidMostRecentResults)).transpose()?;
                let filters = PatientFilters {
                    lower_date_time: values.date_time(Param::LowerDateTime)?,
                    upper_date_time: values.date_time(Param::UpperDateTime)?,
                    most_recent_results,
                    modalities_in_study: values.list(Param::ModalitiesInStudy, is_valid_modality, IidError::InvalidModality)?,
                };
                Ok(IidRequest::Patient { patient, filters, options })
            }
        }
    }

    pub fn request_type(&self) -> RequestType {
        match self {
            IidRequest::Study { .. } => RequestType::Study,
            IidRequest::Patient { .. } => RequestType::Patient,
        }
    }

    pub fn options(&self) -> &IidOptions {
        match self {
            IidRequest::Study { options, .. } | IidRequest::Patient { options, .. } => options,
        }
    }
}

impl PatientFilters {
    /// The FHIR `ImagingStudy?started=` values for the date range: none, one or two.
    pub fn started_search_values(&self) -> Vec<String> {
        [(&self.lower_date_time, Bound::Lower), (&self.upper_date_time, Bound::Upper)]
            .into_iter()
            .filter_map(|(value, bound)| value.as_ref().map(|v| v.fhir_search_value(bound)))
            .collect()
    }
}
