//! Errors as JS sees them: an `Error` with `code`, `message` and, for HTTP failures, `status`.

use crate::bridge::BridgeError;
use crate::dicomweb::DicomWebError;
use crate::fhir::FhirError;
use crate::imaging::ImagingError;
use crate::net::NetError;
use crate::session::SessionError;
use crate::wire::wire_enum;

wire_enum! {
    /// `EMRImagingError.code`: what went wrong, stable across releases.
    pub enum ErrorCode {
        Network = "network",
        Unauthorized = "unauthorized",
        /// The sign-in ended and could not be renewed: what is shown stays, nothing new loads.
        SessionExpired = "session-expired",
        NotFound = "not-found",
        Server = "server",
        Timeout = "timeout",
        TooLarge = "too-large",
        InvalidUrl = "invalid-url",
        InvalidOptions = "invalid-options",
        Fhir = "fhir",
        DicomWeb = "dicomweb",
        NoEndpoint = "no-endpoint",
        NoImages = "no-images",
        InvalidDicom = "invalid-dicom",
        UnsupportedImage = "unsupported-image",
        PatientMismatch = "patient-mismatch",
        Superseded = "superseded",
        ForeignPage = "foreign-page",
        /// The hosted viewer's IID request is malformed or cannot be served at this site.
        IidInvalidRequest = "iid-invalid-request",
        /// The hosted viewer's `config.json` is missing or wrong.
        InvalidConfig = "invalid-config",
        /// FHIRcast: a context change was not followed somewhere (a SyncError), or the hub refused us.
        ContextSync = "context-sync",
        /// A SMART launch was refused or failed (`smartLaunch`, `fromSmartLaunch`, `openLaunch`).
        SmartLaunch = "smart-launch",
        Internal = "internal",
    }
}

/// The fields of `EMRImagingError` besides `Error`'s own, in the order they are set.
pub const ERROR_FIELDS: [&str; 3] = ["code", "message", "status"];

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub status: Option<u16>,
}

impl ApiError {
    fn new(code: ErrorCode, message: String) -> Self {
        ApiError { code, message, status: None }
    }
    pub fn with_code(code: ErrorCode, message: String) -> Self {
        Self::new(code, message)
    }
    pub fn internal(message: String) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
    pub fn invalid_options(message: String) -> Self {
        Self::new(ErrorCode::InvalidOptions, message)
    }
    /// A newer call (patient switch) replaced this one; its results were discarded.
    pub fn superseded() -> Self {
        Self::new(ErrorCode::Superseded, "a newer request replaced this one".into())
    }
}

#[cfg(target_arch = "wasm32")]
impl ApiError {
    /// `code`, `message`, `status` on a plain object (event detail).
    pub fn to_js_object(&self) -> wasm_bindgen::JsValue {
        let o: wasm_bindgen::JsValue = js_sys::Object::new().into();
        self.set_fields(&o);
        o
    }

    /// A JS `Error` (so stack traces and `instanceof Error` work) carrying `code` and `status`.
    pub fn into_js(self) -> wasm_bindgen::JsValue {
        let e: wasm_bindgen::JsValue = js_sys::Error::new(&self.message).into();
        self.set_fields(&e);
        e
    }

    fn set_fields(&self, target: &wasm_bindgen::JsValue) {
        use wasm_bindgen::JsValue;
        let [code, message, status] = ERROR_FIELDS;
        let _ = js_sys::Reflect::set(target, &code.into(), &self.code.as_str().into());
        let _ = js_sys::Reflect::set(target, &message.into(), &self.message.as_str().into());
        let _ = js_sys::Reflect::set(target, &status.into(), &self.status.map(JsValue::from).unwrap_or(JsValue::NULL));
    }
}

impl From<&crate::launch::smart::SmartError> for ApiError {
    fn from(e: &crate::launch::smart::SmartError) -> Self {
        ApiError::new(ErrorCode::SmartLaunch, e.to_string())
    }
}

fn from_net(e: &NetError) -> ApiError {
    let mut error = ApiError::new(
        match e {
            NetError::Unreachable { .. } => ErrorCode::Network,
            NetError::Status { status: 401 | 403, .. } => ErrorCode::Unauthorized,
            NetError::Status { status: 404, .. } => ErrorCode::NotFound,
            NetError::Status { .. } => ErrorCode::Server,
            NetError::InvalidUrl(_) | NetError::UnusableAddress { .. } => ErrorCode::InvalidUrl,
            NetError::TooLarge { .. } => ErrorCode::TooLarge,
            NetError::Timeout { .. } => ErrorCode::Timeout,
            // Only a newer choice cancels work.
            NetError::Cancelled { .. } => ErrorCode::Superseded,
            NetError::SessionExpired { .. } => ErrorCode::SessionExpired,
        },
        e.to_string(),
    );
    if let NetError::Status { status, .. } = e {
        error.status = Some(*status);
    }
    error
}

fn from_bridge(e: &BridgeError) -> ApiError {
    match e {
        BridgeError::Fhir(FhirError::Net(n)) | BridgeError::DicomWeb(DicomWebError::Net(n)) => from_net(n),
        BridgeError::Fhir(FhirError::ForeignPage { .. }) => ApiError::new(ErrorCode::ForeignPage, e.to_string()),
        BridgeError::Fhir(_) => ApiError::new(ErrorCode::Fhir, e.to_string()),
        BridgeError::DicomWeb(_) => ApiError::new(ErrorCode::DicomWeb, e.to_string()),
        BridgeError::NoEndpoint(_) => ApiError::new(ErrorCode::NoEndpoint, e.to_string()),
        BridgeError::NoImages(_) => ApiError::new(ErrorCode::NoImages, e.to_string()),
        BridgeError::NotInPacs { .. } => ApiError::new(ErrorCode::NotFound, e.to_string()),
        BridgeError::InvalidStudyUid(_) | BridgeError::InvalidPatientId(_) => ApiError::new(ErrorCode::InvalidOptions, e.to_string()),
        BridgeError::InvalidQidoStudy => ApiError::new(ErrorCode::DicomWeb, e.to_string()),
        BridgeError::UnexpectedTransactionResponse(_) => ApiError::new(ErrorCode::Fhir, e.to_string()),
    }
}

fn from_imaging(e: &ImagingError) -> ApiError {
    ApiError::new(
        match e {
            ImagingError::Parse(_) => ErrorCode::InvalidDicom,
            ImagingError::Unsupported(_) => ErrorCode::UnsupportedImage,
        },
        e.to_string(),
    )
}

impl From<&SessionError> for ApiError {
    fn from(e: &SessionError) -> Self {
        let message = crate::view::error_message(e);
        match e {
            SessionError::Bridge(b) => from_bridge(b),
            SessionError::Imaging(i) => from_imaging(i),
            SessionError::WrongPatient(_) | SessionError::WrongInstance { .. } => ApiError::new(ErrorCode::PatientMismatch, message),
            SessionError::StudiesOfSeveralPatients
            | SessionError::StudyOfAnotherPatient { .. }
            | SessionError::StudyWithoutPatient(_)
            | SessionError::SeveralPatientsWithIdentifier(_) => ApiError::new(ErrorCode::PatientMismatch, message),
            SessionError::StudyNotFound(_)
            | SessionError::AccessionNotFound(_)
            | SessionError::NoPatientWithIdentifier(_)
            | SessionError::StudyNotLoaded(_)
            | SessionError::StudyNotKnown(_)
            | SessionError::NothingFetched
            | SessionError::StudyNotFetched(_) => ApiError::new(ErrorCode::NotFound, message),
            SessionError::NoKeyImages(_)
            | SessionError::NoPresentationState(_)
            | SessionError::PresentationStateWithoutImages(_)
            | SessionError::NotComparable(_)
            | SessionError::NothingToCompare(_) => ApiError::new(ErrorCode::NoImages, message),
            SessionError::UnknownSeries(_) | SessionError::NoPatient => ApiError::internal(message),
            SessionError::Superseded => ApiError::superseded(),
            SessionError::SessionExpired => ApiError::new(ErrorCode::SessionExpired, message),
            SessionError::ContextOutOfSync { .. } => ApiError::new(ErrorCode::ContextSync, message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(e: NetError) -> ApiError {
        ApiError::from(&SessionError::Bridge(BridgeError::Fhir(FhirError::Net(e))))
    }

    #[test]
    fn http_failures_keep_their_status_and_others_have_none() {
        let forbidden = net(NetError::Status { url: "https://x/fhir".into(), status: 403, detail: None });
        assert_eq!((forbidden.code, forbidden.status), (ErrorCode::Unauthorized, Some(403)));
        let missing = net(NetError::Status { url: "https://x/fhir".into(), status: 404, detail: None });
        assert_eq!((missing.code, missing.status), (ErrorCode::NotFound, Some(404)));
        let down = net(NetError::Status { url: "https://x/fhir".into(), status: 503, detail: None });
        assert_eq!((down.code, down.status), (ErrorCode::Server, Some(503)));
        let slow = net(NetError::Timeout { url: "https://x/fhir".into(), seconds: 30 });
        assert_eq!((slow.code, slow.status), (ErrorCode::Timeout, None));
    }

    #[test]
    fn a_cancelled_fetch_is_superseded_not_a_network_failure() {
        assert_eq!(net(NetError::Cancelled { url: "https://x/fhir".into() }).code, ErrorCode::Superseded);
        assert_eq!(ApiError::from(&SessionError::Superseded).code, ErrorCode::Superseded);
    }

    #[test]
    fn session_failures_have_their_own_codes() {
        assert_eq!(ApiError::from(&SessionError::StudyNotKnown("1.2".into())).code, ErrorCode::NotFound);
        assert_eq!(ApiError::from(&SessionError::WrongInstance { asked: "1".into(), got: None }).code, ErrorCode::PatientMismatch);
        assert_eq!(ApiError::from(&SessionError::NoPatient).code, ErrorCode::Internal);
    }

    #[test]
    fn codes_round_trip_through_their_strings() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
        }
        assert_eq!(ErrorCode::parse("Network"), None);
    }
}
