//! Constructor options: a FHIR base URL string or an options object.

use super::error::ApiError;
use super::keys::{OptionKey as K, ThemeKey};
use crate::bridge::BridgeConfig;
use crate::net::Timeouts;
use crate::session::SessionConfig;
use std::time::Duration;
use url::Url;
use wasm_bindgen::JsValue;

/// The options object's plain fields, read by hand: a serde deserializer for one struct would
/// cost more wasm than these few lines.
#[derive(Default)]
struct RawOptions {
    fhir_base_url: Option<String>,
    /// Overrides every study's DICOMweb base (for EMRs whose Endpoints are wrong or missing).
    dicomweb_base_url: Option<String>,
    allowed_origins: Vec<String>,
    memory_cache_bytes: Option<f64>,
    /// Whether images persist in IndexedDB across reloads (default true).
    persistent_cache: Option<bool>,
    cache_budget_bytes: Option<f64>,
    cache_ttl_seconds: Option<f64>,
    /// The signed-in user, naming the cache partition; else the token's `sub`.
    user_id: Option<String>,
    external_iid_viewer: Option<String>,
    key_images_only: Option<bool>,
    lang: Option<String>,
    timeouts: Timeouts,
}

pub struct Options {
    pub fhir_base: Url,
    pub dicomweb_base: Option<Url>,
    pub allowed_origins: Vec<String>,
    /// `requestTimeoutSeconds`: the limit of FHIR and QIDO requests, and of retrieves.
    pub timeouts: Timeouts,
    pub token: Option<String>,
    /// `token` given as a function: called for a token and again once after a 401.
    pub token_provider: Option<js_sys::Function>,
    /// Light, dark, or following the host's `prefers-color-scheme` (no `theme`, or an object).
    pub theme_mode: crate::view::Theme,
    /// CSS custom properties (`--emr-bg` …) set on the widget's root, over the mode's colours.
    pub theme: Vec<(String, String)>,
    /// `onError`, `onImageDisplayed`, `onStudyOpen`: (event name, callback).
    pub callbacks: Vec<(super::events::Event, js_sys::Function)>,
    pub memory_cache_bytes: usize,
    pub persistent_cache: bool,
    pub cache_policy: crate::cache::CachePolicy,
    pub user_id: Option<String>,
    /// A diagnostic viewer's IID address for the toolbar's "Open in diagnostic viewer".
    pub external_iid_viewer: Option<Url>,
    /// `fhircast`: follow (and publish to) a FHIRcast hub from the start.
    pub fhircast: Option<super::fhircast::FhircastConfig>,
    /// `subscriptions` and `studyPollSeconds`: new studies of the patient on screen.
    pub watch: super::subscriptions::WatchConfig,
    /// Each study shows only the images its Key Object Selections name.
    pub key_images_only: bool,
    /// `audit: { enabled: true, fhirBaseUrl? }`: the FHIR server AuditEvents are delivered to.
    pub audit_to: Option<Url>,
    /// `lang`: the UI's language, else the page's (`lang` attribute), else English.
    pub lang: Option<crate::view::Locale>,
    /// `upload`: the upload panel, when enabled.
    pub upload: Option<super::upload::UploadConfig>,
}

impl Options {
    pub fn from_js(value: JsValue) -> Result<Options, JsValue> {
        let get = |key: K| js_sys::Reflect::get(&value, &key.as_str().into()).unwrap_or(JsValue::UNDEFINED);
        let is_object = value.is_object();
        let (token, token_provider) = match is_object.then(|| get(K::Token)) {
            Some(t) if t.is_function() => (None, Some(t.into())),
            Some(t) if t.is_string() => (t.as_string(), None),
            Some(t) if t.is_undefined() || t.is_null() => (None, None),
            Some(_) => return Err(ApiError::invalid_options("token must be a string or a function".into()).into_js()),
            None => (None, None),
        };
        let mut callbacks = Vec::new();
        if is_object {
            use super::events::Event;
            for (key, event) in [
                (K::OnError, Event::Error),
                (K::OnImageDisplayed, Event::ImageDisplayed),
                (K::OnStudyOpen, Event::StudyOpen),
                (K::OnAudit, Event::Audit),
            ] {
                let f = get(key);
                if f.is_function() {
                    callbacks.push((event, f.into()));
                } else if !f.is_undefined() && !f.is_null() {
                    return Err(ApiError::invalid_options(format!("{key} must be a function")).into_js());
                }
            }
        }
        let audit_to = if is_object { audit(&get(K::Audit))? } else { None };
        let upload = if is_object { upload(&get(K::Upload))? } else { None };
        let fhircast = match is_object.then(|| get(K::Fhircast)).filter(|v| !v.is_undefined() && !v.is_null()) {
            Some(v) => Some(
                super::fhircast::FhircastConfig::from_js(&v, page_url().as_ref()).map_err(|e| ApiError::invalid_options(e).into_js())?,
            ),
            None => None,
        };
        let watch = if is_object {
            super::subscriptions::WatchConfig::from_js(&get(K::Subscriptions), &get(K::StudyPollSeconds))
                .map_err(|e| ApiError::invalid_options(e).into_js())?
        } else {
            Default::default()
        };
        let (theme_mode, theme) = if is_object { theme(&get(K::Theme))? } else { (crate::view::Theme::Auto, Vec::new()) };
        let raw = if let Some(url) = value.as_string() {
            RawOptions { fhir_base_url: Some(url), ..Default::default() }
        } else if is_object {
            RawOptions::read(&value).map_err(|e| ApiError::invalid_options(format!("options: {e}")).into_js())?
        } else {
            return Err(ApiError::invalid_options("options must be a FHIR base URL or an object".into()).into_js());
        };
        let base = raw
            .fhir_base_url
            .filter(|b| !b.trim().is_empty())
            .ok_or_else(|| ApiError::invalid_options("fhirBaseUrl is required".into()).into_js())?;
        let fhir_base = http_url(K::FhirBaseUrl, &base)?;
        // Delivery without its own server goes to the FHIR server images are found through.
        let audit_to = audit_to.map(|to| to.unwrap_or_else(|| fhir_base.clone()));
        // Its origin receives the token: the bridge adds it to the allowed origins.
        let dicomweb_base = raw.dicomweb_base_url.filter(|b| !b.trim().is_empty()).map(|b| http_url(K::DicomwebBaseUrl, &b)).transpose()?;
        let memory_cache_bytes = raw
            .memory_cache_bytes
            .filter(|b| b.is_finite() && *b >= 0.0)
            .map(|b| b.min(usize::MAX as f64) as usize)
            .unwrap_or(crate::bridge::DEFAULT_MEMORY_BUDGET);
        let defaults = crate::cache::CachePolicy::default();
        let cache_policy = crate::cache::CachePolicy {
            ttl_seconds: raw.cache_ttl_seconds.filter(|t| t.is_finite() && *t >= 0.0).unwrap_or(defaults.ttl_seconds),
            budget_bytes: raw.cache_budget_bytes.filter(|b| b.is_finite() && *b >= 0.0).map(|b| b as u64).unwrap_or(defaults.budget_bytes),
        };
        Ok(Options {
            fhir_base,
            dicomweb_base,
            allowed_origins: raw.allowed_origins,
            timeouts: raw.timeouts,
            token,
            token_provider,
            theme_mode,
            theme,
            callbacks,
            memory_cache_bytes,
            persistent_cache: raw.persistent_cache.unwrap_or(true),
            cache_policy,
            user_id: raw.user_id.filter(|u| !u.is_empty()),
            external_iid_viewer: raw
                .external_iid_viewer
                .filter(|v| !v.trim().is_empty())
                .map(|v| http_url(K::ExternalIidViewer, &v))
                .transpose()?,
            fhircast,
            watch,
            key_images_only: raw.key_images_only.unwrap_or(false),
            audit_to,
            // A language the UI lacks falls back to the page's, then to English, as browsers do.
            lang: raw.lang.as_deref().and_then(crate::view::Locale::from_tag),
            upload,
        })
    }

    /// What the bridge needs of these options.
    pub fn bridge_config(&self) -> BridgeConfig {
        let mut allowed_origins = self.allowed_origins.clone();
        // Uploads carry the token to the STOW-RS service the host named.
        if let Some(stow) = self.upload.as_ref().and_then(|u| u.stow_base.as_ref()) {
            allowed_origins.push(stow.origin().ascii_serialization());
        }
        BridgeConfig {
            allowed_origins,
            dicomweb_base: self.dicomweb_base.clone(),
            timeouts: self.timeouts,
            memory_budget: self.memory_cache_bytes,
            ..BridgeConfig::new(self.fhir_base.clone())
        }
    }

    /// What the session needs of these options.
    pub fn session_config(&self) -> SessionConfig {
        SessionConfig { key_images_only: self.key_images_only, ..SessionConfig::default() }
    }
}

impl RawOptions {
    fn read(object: &JsValue) -> Result<RawOptions, String> {
        let get = |key: K| {
            Some(js_sys::Reflect::get(object, &key.as_str().into()).unwrap_or(JsValue::UNDEFINED))
                .filter(|v| !v.is_undefined() && !v.is_null())
        };
        let string = |key: K| get(key).map(|v| v.as_string().ok_or(format!("{key} must be a string"))).transpose();
        let number = |key: K| get(key).map(|v| v.as_f64().ok_or(format!("{key} must be a number"))).transpose();
        let boolean = |key: K| get(key).map(|v| v.as_bool().ok_or(format!("{key} must be a boolean"))).transpose();
        let allowed_origins = match get(K::AllowedOrigins) {
            None => Vec::new(),
            Some(list) if js_sys::Array::is_array(&list) => js_sys::Array::from(&list)
                .iter()
                .map(|v| v.as_string().ok_or_else(|| "allowedOrigins must hold strings".to_string()))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("allowedOrigins must be an array".into()),
        };
        Ok(RawOptions {
            fhir_base_url: string(K::FhirBaseUrl)?,
            dicomweb_base_url: string(K::DicomwebBaseUrl)?,
            allowed_origins,
            memory_cache_bytes: number(K::MemoryCacheBytes)?,
            persistent_cache: boolean(K::PersistentCache)?,
            cache_budget_bytes: number(K::CacheBudgetBytes)?,
            cache_ttl_seconds: number(K::CacheTtlSeconds)?,
            user_id: string(K::UserId)?,
            external_iid_viewer: string(K::ExternalIidViewer)?,
            key_images_only: boolean(K::KeyImagesOnly)?,
            lang: string(K::Lang)?,
            timeouts: timeouts(get(K::RequestTimeoutSeconds))?,
        })
    }
}

/// `requestTimeoutSeconds`: a number for every request, or `{ query, retrieve }` (FHIR and
/// QIDO requests; WADO-RS retrieves), each a positive number of seconds; what is left out
/// keeps its default.
fn timeouts(value: Option<JsValue>) -> Result<Timeouts, String> {
    const NAME: K = K::RequestTimeoutSeconds;
    let seconds = |v: &JsValue, what: &str| match v.as_f64() {
        Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("{what} must be a positive number of seconds (at most a day)")),
    };
    let Some(value) = value else { return Ok(Timeouts::default()) };
    if value.as_f64().is_some() {
        return Ok(Timeouts::all(seconds(&value, NAME.as_str())?));
    }
    if !value.is_object() {
        return Err(format!("{NAME} must be a number or {{ query, retrieve }}"));
    }
    let mut limits = Timeouts::default();
    for (key, slot) in [("query", &mut limits.query), ("retrieve", &mut limits.retrieve)] {
        let v = js_sys::Reflect::get(&value, &key.into()).unwrap_or(JsValue::UNDEFINED);
        if !v.is_undefined() && !v.is_null() {
            *slot = seconds(&v, &format!("{NAME}.{key}"))?;
        }
    }
    Ok(limits)
}

/// `audit`: `None` without delivery; `Some(None)` to the FHIR base; `Some(Some(url))` elsewhere.
fn audit(value: &JsValue) -> Result<Option<Option<Url>>, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    if !value.is_object() {
        return Err(ApiError::invalid_options("audit must be { enabled, fhirBaseUrl? }".into()).into_js());
    }
    let field = |k: &str| js_sys::Reflect::get(value, &k.into()).unwrap_or(JsValue::UNDEFINED);
    let enabled = field("enabled");
    if enabled.as_bool().is_none() {
        return Err(ApiError::invalid_options("audit.enabled must be a boolean".into()).into_js());
    }
    if enabled.as_bool() != Some(true) {
        return Ok(None);
    }
    let base = field("fhirBaseUrl");
    if base.is_undefined() || base.is_null() {
        return Ok(Some(None));
    }
    let text = base.as_string().ok_or_else(|| ApiError::invalid_options("audit.fhirBaseUrl must be a string".into()).into_js())?;
    Ok(Some(Some(http_url(K::Audit, &text)?)))
}

/// `upload`: `true`, or `{ stowBaseUrl?, createImagingStudy? }`; `false` or absent: no panel.
fn upload(value: &JsValue) -> Result<Option<super::upload::UploadConfig>, JsValue> {
    use super::upload::UploadConfig;
    if value.is_undefined() || value.is_null() || value.as_bool() == Some(false) {
        return Ok(None);
    }
    if value.as_bool() == Some(true) {
        return Ok(Some(UploadConfig::default()));
    }
    if !value.is_object() {
        return Err(ApiError::invalid_options("upload must be true or { stowBaseUrl?, createImagingStudy? }".into()).into_js());
    }
    let field =
        |k: &str| Some(js_sys::Reflect::get(value, &k.into()).unwrap_or(JsValue::UNDEFINED)).filter(|v| !v.is_undefined() && !v.is_null());
    let stow_base = match field("stowBaseUrl") {
        Some(v) => {
            let text = v.as_string().ok_or_else(|| ApiError::invalid_options("upload.stowBaseUrl must be a string".into()).into_js())?;
            Some(http_url(K::Upload, &text)?)
        }
        None => None,
    };
    let create_imaging_study = match field("createImagingStudy") {
        Some(v) => v.as_bool().ok_or_else(|| ApiError::invalid_options("upload.createImagingStudy must be a boolean".into()).into_js())?,
        None => false,
    };
    Ok(Some(UploadConfig { stow_base, create_imaging_study }))
}

/// The page's address, for relative URLs.
pub fn page_url() -> Option<Url> {
    web_sys::window().and_then(|w| w.location().href().ok()).and_then(|h| Url::parse(&h).ok())
}

/// An http(s) URL, resolved against the page when relative.
fn http_url(name: K, value: &str) -> Result<Url, JsValue> {
    let page = web_sys::window().and_then(|w| w.location().href().ok());
    let url = match page.as_deref().map(Url::parse) {
        Some(Ok(page)) => page.join(value),
        _ => Url::parse(value),
    }
    .map_err(|_| ApiError::invalid_options(format!("{name} {value:?} is not a URL")).into_js())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ApiError::invalid_options(format!("{name} must be http or https")).into_js());
    }
    Ok(url)
}

/// `theme`: `"dark"`, `"light"`, or `{ bg, fg, accent, muted, alert }` CSS colours over the
/// colours that follow the host's `prefers-color-scheme` (also the default, with no `theme`).
fn theme(value: &JsValue) -> Result<(crate::view::Theme, Vec<(String, String)>), JsValue> {
    use crate::view::Theme;
    match value.as_string().as_deref() {
        Some("dark") => return Ok((Theme::Dark, Vec::new())),
        Some("light") => return Ok((Theme::Light, Vec::new())),
        Some(other) => return Err(ApiError::invalid_options(format!("theme {other:?} is not \"dark\", \"light\" or an object")).into_js()),
        None => {}
    }
    if value.is_undefined() || value.is_null() {
        return Ok((Theme::Auto, Vec::new()));
    }
    let mut out = Vec::new();
    for key in ThemeKey::ALL.iter().copied() {
        let v = js_sys::Reflect::get(value, &key.as_str().into()).unwrap_or(JsValue::UNDEFINED);
        if let Some(colour) = v.as_string() {
            // A value is a colour, never a way to inject further declarations.
            if colour.contains([';', '{', '}']) {
                return Err(ApiError::invalid_options(format!("theme.{key} is not a CSS colour")).into_js());
            }
            out.push((format!("--emr-{key}"), colour));
        }
    }
    Ok((Theme::Auto, out))
}
