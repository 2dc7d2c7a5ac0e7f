//! Errors as JS sees them: an `Error` with `code`, `message` and, for HTTP failures, `status`.

use crate::bridge::BridgeError;
use crate::dicomweb::DicomWebError;
use crate::fhir::FhirError;
use crate::imaging::ImagingError;
use crate::net::NetError;
use crate::session::SessionError;
use wasm_bindgen::JsValue;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
    pub status: Option<u16>,
}

impl ApiError {
    fn new(code: &'static str, message: String) -> Self {
        ApiError { code, message, status: None }
    }
    pub fn internal(message: String) -> Self {
        Self::new("internal", message)
    }
    pub fn not_found(message: String) -> Self {
        Self::new("not-found", message)
    }
    pub fn invalid_options(message: String) -> Self {
        Self::new("invalid-options", message)
    }
    pub fn patient_mismatch(message: String) -> Self {
        Self::new("patient-mismatch", message)
    }
    /// A newer call (patient switch) replaced this one; its results were discarded.
    pub fn superseded() -> Self {
        Self::new("superseded", "a newer request replaced this one".into())
    }

    /// `code`, `message`, `status` on a plain object (event detail).
    pub fn to_js_object(&self) -> JsValue {
        let o: JsValue = js_sys::Object::new().into();
        let _ = js_sys::Reflect::set(&o, &"message".into(), &self.message.as_str().into());
        self.set_code_and_status(&o);
        o
    }

    /// A JS `Error` (so stack traces and `instanceof Error` work) carrying `code` and `status`.
    pub fn into_js(self) -> JsValue {
        let e: JsValue = js_sys::Error::new(&self.message).into();
        self.set_code_and_status(&e);
        e
    }

    fn set_code_and_status(&self, target: &JsValue) {
        let _ = js_sys::Reflect::set(target, &"code".into(), &self.code.into());
        let status = self.status.map(JsValue::from).unwrap_or(JsValue::NULL);
        let _ = js_sys::Reflect::set(target, &"status".into(), &status);
    }
}

fn from_net(e: &NetError) -> ApiError {
    let mut error = ApiError::new(
        match e {
            NetError::Unreachable { .. } => "network",
            NetError::Status { status: 401 | 403, .. } => "unauthorized",
            NetError::Status { status: 404, .. } => "not-found",
            NetError::Status { .. } => "server",
            NetError::InvalidUrl(_) | NetError::UnusableAddress { .. } => "invalid-url",
            NetError::TooLarge { .. } => "too-large",
            NetError::Timeout { .. } => "timeout",
            // Only a newer choice cancels work.
            NetError::Cancelled { .. } => "superseded",
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
        BridgeError::Fhir(FhirError::ForeignPage { .. }) => ApiError::new("foreign-page", e.to_string()),
        BridgeError::Fhir(_) => ApiError::new("fhir", e.to_string()),
        BridgeError::DicomWeb(_) => ApiError::new("dicomweb", e.to_string()),
        BridgeError::NoEndpoint(_) => ApiError::new("no-endpoint", e.to_string()),
        BridgeError::NoImages(_) => ApiError::new("no-images", e.to_string()),
    }
}

fn from_imaging(e: &ImagingError) -> ApiError {
    ApiError::new(
        match e {
            ImagingError::Parse(_) => "invalid-dicom",
            ImagingError::Unsupported(_) => "unsupported-image",
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
            SessionError::WrongPatient(_) | SessionError::WrongInstance { .. } => ApiError::patient_mismatch(message),
            SessionError::StudyNotLoaded(_)
            | SessionError::StudyNotKnown(_)
            | SessionError::NothingFetched
            | SessionError::StudyNotFetched(_) => ApiError::not_found(message),
            SessionError::UnknownSeries(_) | SessionError::NoPatient => ApiError::internal(message),
            SessionError::Superseded => ApiError::superseded(),
        }
    }
}
