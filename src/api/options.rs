//! Constructor options: a FHIR base URL string or an options object.

use super::error::ApiError;
use serde::Deserialize;
use url::Url;
use wasm_bindgen::JsValue;

/// Defaults to a 256 MiB memory cache: a few CT series.
const DEFAULT_MEMORY_CACHE_BYTES: usize = 256 << 20;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawOptions {
    fhir_base_url: Option<String>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    token: Option<String>,
    memory_cache_bytes: Option<f64>,
    /// Whether images persist in IndexedDB across reloads (default true).
    persistent_cache: Option<bool>,
    cache_budget_bytes: Option<f64>,
    cache_ttl_seconds: Option<f64>,
    /// The signed-in user, naming the cache partition; else the token's `sub`.
    user_id: Option<String>,
}

pub struct Options {
    pub fhir_base: Url,
    pub allowed_origins: Vec<String>,
    pub token: Option<String>,
    pub memory_cache_bytes: usize,
    pub persistent_cache: bool,
    pub cache_policy: crate::cache::CachePolicy,
    pub user_id: Option<String>,
}

impl Options {
    pub fn from_js(value: JsValue) -> Result<Options, JsValue> {
        let raw = if let Some(url) = value.as_string() {
            RawOptions { fhir_base_url: Some(url), ..Default::default() }
        } else {
            serde_wasm_bindgen::from_value::<RawOptions>(value)
                .map_err(|e| ApiError::invalid_options(format!("options: {e}")).into_js())?
        };
        let base = raw
            .fhir_base_url
            .filter(|b| !b.trim().is_empty())
            .ok_or_else(|| ApiError::invalid_options("fhirBaseUrl is required".into()).into_js())?;
        let page = web_sys::window().and_then(|w| w.location().href().ok());
        let fhir_base = match page.as_deref().map(Url::parse) {
            Some(Ok(page)) => page.join(&base),
            _ => Url::parse(&base),
        }
        .map_err(|_| ApiError::invalid_options(format!("fhirBaseUrl {base:?} is not a URL")).into_js())?;
        if !matches!(fhir_base.scheme(), "http" | "https") {
            return Err(ApiError::invalid_options("fhirBaseUrl must be http or https".into()).into_js());
        }
        let memory_cache_bytes = raw
            .memory_cache_bytes
            .filter(|b| b.is_finite() && *b >= 0.0)
            .map(|b| b.min(usize::MAX as f64) as usize)
            .unwrap_or(DEFAULT_MEMORY_CACHE_BYTES);
        let defaults = crate::cache::CachePolicy::default();
        let cache_policy = crate::cache::CachePolicy {
            ttl_seconds: raw.cache_ttl_seconds.filter(|t| t.is_finite() && *t >= 0.0).unwrap_or(defaults.ttl_seconds),
            budget_bytes: raw.cache_budget_bytes.filter(|b| b.is_finite() && *b >= 0.0).map(|b| b as u64).unwrap_or(defaults.budget_bytes),
        };
        Ok(Options {
            fhir_base,
            allowed_origins: raw.allowed_origins,
            token: raw.token,
            memory_cache_bytes,
            persistent_cache: raw.persistent_cache.unwrap_or(true),
            cache_policy,
            user_id: raw.user_id.filter(|u| !u.is_empty()),
        })
    }
}
