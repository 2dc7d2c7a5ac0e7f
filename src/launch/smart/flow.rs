//! The steps of a launch between the pages: the authorize address, what survives the
//! redirect (only `state` and the verifier, in the tab's sessionStorage), the callback's
//! check, and the token endpoint's requests (code exchange and refresh).

use super::{ClientAuth, Grant, SmartConfiguration, SmartError, SmartSettings};
use crate::net::{Request, Transport};
use serde_json::{json, Value};
use url::form_urlencoded::Serializer;
use url::Url;

/// The sessionStorage key of a launch under way (deleted as soon as it is read).
pub const PENDING_KEY: &str = "emr-imaging:smart-launch";

/// The authorize request, from the launch and the site's settings.
#[derive(Debug, Clone)]
pub struct Authorize<'a> {
    pub settings: &'a SmartSettings,
    pub discovery: &'a SmartConfiguration,
    /// The FHIR base, sent as `aud`.
    pub iss: &'a Url,
    /// The EHR's opaque `launch`, echoed; `None` for a standalone launch.
    pub launch: Option<&'a str>,
    pub state: &'a str,
    pub challenge: &'a str,
}

impl Authorize<'_> {
    /// The address the browser is sent to.
    pub fn url(&self) -> Url {
        let mut url = self.discovery.authorization_endpoint.clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.settings.client_id)
                .append_pair("redirect_uri", self.settings.redirect_uri.as_str())
                .append_pair("scope", &self.settings.scope_for(self.launch.is_none()))
                .append_pair("state", self.state)
                // As the EHR wrote it: `Url` would add a `/` to a bare origin, which `aud` checks refuse.
                .append_pair("aud", self.iss.as_str().trim_end_matches('/'))
                .append_pair("code_challenge", self.challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(launch) = self.launch {
                query.append_pair("launch", launch);
            }
        }
        url
    }
}

/// What the tab keeps across the redirect: the state, the verifier, and the issuer it was for
/// (a public address, checked against `allowedIssuers` again on return). No token, ever.
#[derive(Clone, PartialEq, Eq)]
pub struct Pending {
    pub state: String,
    pub verifier: String,
    pub iss: String,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("iss", &self.iss).finish_non_exhaustive()
    }
}

impl Pending {
    pub fn to_json(&self) -> String {
        json!({"state": self.state, "verifier": self.verifier, "iss": self.iss}).to_string()
    }

    pub fn from_json(text: &str) -> Option<Pending> {
        let v: Value = serde_json::from_str(text).ok()?;
        let field = |k: &str| v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        Some(Pending { state: field("state")?, verifier: field("verifier")?, iss: field("iss")? })
    }
}

/// What the authorization server sent the browser back with.
#[derive(Clone, PartialEq, Eq)]
pub enum Callback {
    Code { code: String, state: String },
    Refused { error: String, description: Option<String> },
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Callback::Code { .. } => f.write_str("Callback::Code"),
            Callback::Refused { error, description } => {
                f.debug_struct("Refused").field("error", error).field("description", description).finish()
            }
        }
    }
}

/// The parameters of an authorization response; all are taken out of the address.
const RESPONSE_PARAMS: [&str; 6] = ["code", "state", "error", "error_description", "iss", "session_state"];

impl Callback {
    /// The callback `url` carries (`code` and `state`, or `error`), and `url` without any of
    /// the response's parameters, to put in the address bar at once. `None` when this is no
    /// callback.
    pub fn take(url: &Url) -> (Option<Callback>, Url) {
        let pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
        let callback = match (get("code"), get("state"), get("error")) {
            (_, _, Some(error)) => Some(Callback::Refused {
                error: error.chars().take(100).collect(),
                description: get("error_description").map(|d| d.chars().take(300).collect()),
            }),
            (Some(code), Some(state), None) => Some(Callback::Code { code, state }),
            (Some(_), None, None) => Some(Callback::Code { code: String::new(), state: String::new() }),
            _ => None,
        };
        let mut clean = url.clone();
        if callback.is_some() {
            let kept: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| !RESPONSE_PARAMS.contains(&k.as_str())).collect();
            if kept.is_empty() {
                clean.set_query(None);
            } else {
                clean.query_pairs_mut().clear().extend_pairs(kept);
            }
        }
        (callback, clean)
    }

    /// The code, once the callback's state is the one this tab sent (`pending`, read and
    /// deleted from sessionStorage by the caller).
    pub fn code(self, pending: Option<&Pending>) -> Result<String, SmartError> {
        let (code, state) = match self {
            Callback::Refused { error, description } => return Err(SmartError::AuthorizeRefused { error, description }),
            Callback::Code { code, state } => (code, state),
        };
        let pending = pending.ok_or(SmartError::NoPendingLaunch)?;
        if !super::state_matches(&pending.state, &state) {
            return Err(SmartError::StateMismatch);
        }
        Ok(code)
    }
}

/// The form body (and headers) of a token request: `grant` pairs plus the client's proof.
fn token_request(endpoint: &Url, settings: &SmartSettings, grant: &[(&str, &str)]) -> Request {
    let mut form = Serializer::new(String::new());
    form.extend_pairs(grant.iter().copied());
    let mut request;
    match &settings.client_auth {
        None => {
            form.append_pair("client_id", &settings.client_id);
            request = Request::post(endpoint.clone(), "application/x-www-form-urlencoded", Vec::new());
        }
        Some(ClientAuth::Post(secret)) => {
            form.append_pair("client_id", &settings.client_id).append_pair("client_secret", secret);
            request = Request::post(endpoint.clone(), "application/x-www-form-urlencoded", Vec::new());
        }
        Some(ClientAuth::Basic(secret)) => {
            // RFC 6749 §2.3.1: each part form-encoded, then Basic.
            let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let basic = crate::text::base64_encode(format!("{}:{}", enc(&settings.client_id), enc(secret)).as_bytes());
            request = Request::post(endpoint.clone(), "application/x-www-form-urlencoded", Vec::new())
                .header("Authorization", &format!("Basic {basic}"));
        }
    }
    request.body = Some(form.finish().into_bytes());
    // The token endpoint is never given the bearer token (the AuthMapper is not involved).
    request.withhold_token = true;
    request.header("Accept", "application/json")
}

/// Sends a token request and reads the grant, or the server's OAuth error.
async fn token_call<T: Transport>(transport: &T, request: Request, asked_scope: &str) -> Result<Grant, SmartError> {
    crate::net::check_address(&request.url).map_err(|e| SmartError::TokenEndpoint(e.to_string()))?;
    let response = transport.send(request).await.map_err(|e| SmartError::TokenEndpoint(e.to_string()))?;
    let text = String::from_utf8_lossy(&response.body);
    if !response.is_success() {
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let field = |k: &str| json.get(k).and_then(Value::as_str).map(|s| s.chars().take(300).collect::<String>());
        return Err(SmartError::TokenRefused {
            status: response.status,
            error: field("error").unwrap_or_else(|| "no OAuth error given".into()),
            description: field("error_description"),
        });
    }
    Grant::parse(&text, asked_scope)
}

/// Exchanges the code (RFC 6749 §4.1.3 with the PKCE verifier).
pub async fn exchange_code<T: Transport>(
    transport: &T,
    discovery: &SmartConfiguration,
    settings: &SmartSettings,
    code: &str,
    verifier: &str,
    asked_scope: &str,
) -> Result<Grant, SmartError> {
    let grant = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", settings.redirect_uri.as_str()),
        ("code_verifier", verifier),
    ];
    token_call(transport, token_request(&discovery.token_endpoint, settings, &grant), asked_scope).await
}

/// A new access token for `refresh_token` (SMART §refresh); the answer may carry a new refresh
/// token, which then replaces the old one.
pub async fn refresh<T: Transport>(
    transport: &T,
    token_endpoint: &Url,
    settings: &SmartSettings,
    refresh_token: &str,
    asked_scope: &str,
) -> Result<Grant, SmartError> {
    let grant = [("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
    token_call(transport, token_request(token_endpoint, settings, &grant), asked_scope).await
}

/// The token's renewal for [`crate::net::AuthMapper`]: a refresh with the grant's refresh
/// token, which each answer's new refresh token replaces. `None` when no refresh token was
/// granted (the token then lives as long as the server gave it).
pub fn renewer<T: Transport + 'static>(
    transport: std::rc::Rc<T>,
    token_endpoint: Url,
    settings: SmartSettings,
    grant: &Grant,
) -> Option<crate::net::Renewer> {
    let refresh_token = std::rc::Rc::new(std::cell::RefCell::new(grant.refresh_token.clone()?));
    let scope = grant.scope.clone();
    Some(std::rc::Rc::new(move || {
        let (transport, endpoint, settings, refresh_token, scope) =
            (transport.clone(), token_endpoint.clone(), settings.clone(), refresh_token.clone(), scope.clone());
        Box::pin(async move {
            let current = refresh_token.borrow().clone();
            let grant = refresh(&*transport, &endpoint, &settings, &current, &scope).await.map_err(|e| e.to_string())?;
            if let Some(next) = grant.refresh_token {
                *refresh_token.borrow_mut() = next;
            }
            Ok(crate::net::Fresh { token: grant.access_token, renew_at: crate::net::renew_time(transport.now_unix(), grant.expires_in) })
        })
    }))
}

/// Who signed in, from the grant's `id_token`: its key is found in the issuer's JWKS, the
/// signature checked by `verify` (WebCrypto in the browser) and then its claims. `Ok(None)`
/// when the token uses an algorithm we do not check: it is then not used.
///
/// The keys are the SMART configuration's `jwks_uri`; else the issuer's OpenID configuration
/// is read, and believed only when it names the token endpoint the code went to (so a token
/// cannot pick its own issuer).
pub async fn signed_in_user<T, V, F>(
    transport: &T,
    discovery: &SmartConfiguration,
    client_id: &str,
    id_token: &str,
    verify: V,
) -> Result<Option<super::SignedInUser>, SmartError>
where
    T: Transport,
    V: FnOnce(super::Alg, Value, Vec<u8>, Vec<u8>) -> F,
    F: std::future::Future<Output = Result<bool, String>>,
{
    use super::{IdToken, IdTokenError};
    let token = match IdToken::parse(id_token) {
        Err(e) if e.is_unchecked() => return Ok(None),
        other => other?,
    };
    let keys_error = |e: String| SmartError::IdToken(IdTokenError::Keys(e));
    let (issuer, jwks_uri) = match (&discovery.issuer, &discovery.jwks_uri) {
        (Some(issuer), Some(jwks)) => (issuer.clone(), jwks.clone()),
        (issuer, _) => {
            let issuer =
                issuer.clone().or_else(|| token.claimed_issuer().map(str::to_string)).ok_or(IdTokenError::Issuer(String::new()))?;
            let base = Url::parse(&format!("{}/", issuer.trim_end_matches('/'))).map_err(|_| IdTokenError::Issuer(issuer.clone()))?;
            let url = base.join(".well-known/openid-configuration").map_err(|e| keys_error(e.to_string()))?;
            let config = json_document(transport, url).await.map_err(keys_error)?;
            let named = |k: &str| config.get(k).and_then(Value::as_str).map(str::to_string);
            if named("issuer").as_deref() != Some(issuer.as_str())
                || named("token_endpoint").as_deref() != Some(discovery.token_endpoint.as_str())
            {
                return Err(IdTokenError::Issuer(issuer).into());
            }
            let jwks = named("jwks_uri").and_then(|u| Url::parse(&u).ok()).ok_or_else(|| keys_error("no jwks_uri".into()))?;
            (issuer, jwks)
        }
    };
    let jwks = json_document(transport, jwks_uri).await.map_err(keys_error)?;
    let key = token.key(&jwks)?.clone();
    match verify(token.alg, key, token.signing_input.clone().into_bytes(), token.signature.clone()).await {
        Ok(true) => {}
        Ok(false) => return Err(IdTokenError::Signature.into()),
        Err(why) => return Err(keys_error(why)),
    }
    Ok(Some(token.check(&issuer, client_id, transport.now_unix())?))
}

/// A public JSON document (no token is sent).
async fn json_document<T: Transport>(transport: &T, url: Url) -> Result<Value, String> {
    crate::net::check_address(&url).map_err(|e| e.to_string())?;
    let mut request = Request::get(url.clone()).header("Accept", "application/json");
    request.withhold_token = true;
    let response = transport.send(request).await.map_err(|e| e.to_string())?;
    if !response.is_success() {
        return Err(format!("{url} answered HTTP {}", response.status));
    }
    serde_json::from_slice(&response.body).map_err(|_| format!("{url} is not JSON"))
}

/// The discovery document of `iss`.
pub async fn discover<T: Transport>(transport: &T, iss: &Url) -> Result<SmartConfiguration, SmartError> {
    let url = super::discovery_url(iss)?;
    let mut request = Request::get(url).header("Accept", "application/json");
    request.withhold_token = true;
    let response = transport.send(request).await.map_err(|e| SmartError::Discovery(e.to_string()))?;
    if !response.is_success() {
        return Err(SmartError::Discovery(format!("{iss}/.well-known/smart-configuration answered HTTP {}", response.status)));
    }
    SmartConfiguration::parse(&String::from_utf8_lossy(&response.body))
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;

    fn settings() -> SmartSettings {
        SmartSettings::parse(
            &json!({"clientId": "emr imaging", "allowedIssuers": ["https://ehr.example/fhir"]}),
            &Url::parse("https://viewer.example/viewer/config.json").unwrap(),
        )
        .unwrap()
    }

    fn discovery() -> SmartConfiguration {
        SmartConfiguration::parse(
            r#"{"authorization_endpoint":"https://as.example/auth?tenant=1","token_endpoint":"https://as.example/token","code_challenge_methods_supported":["S256"]}"#,
        )
        .unwrap()
    }

    #[test]
    fn the_authorize_address_of_an_ehr_and_a_standalone_launch() {
        let (s, d) = (settings(), discovery());
        let iss = Url::parse("https://ehr.example/fhir").unwrap();
        let ehr = Authorize { settings: &s, discovery: &d, iss: &iss, launch: Some("L-1"), state: "S", challenge: "C" }.url();
        let q: Vec<(String, String)> = ehr.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("tenant"), Some("1"), "the endpoint's own query stays");
        assert_eq!(
            (get("response_type"), get("client_id"), get("state"), get("aud")),
            (Some("code"), Some("emr imaging"), Some("S"), Some("https://ehr.example/fhir"))
        );
        assert_eq!((get("code_challenge"), get("code_challenge_method"), get("launch")), (Some("C"), Some("S256"), Some("L-1")));
        assert_eq!(get("redirect_uri"), Some("https://viewer.example/viewer/index.html"));
        assert!(get("scope").unwrap().starts_with("launch openid fhirUser online_access patient/ImagingStudy.rs"));
        let alone =
            Authorize { launch: None, ..Authorize { settings: &s, discovery: &d, iss: &iss, launch: None, state: "S", challenge: "C" } }
                .url();
        assert!(alone.query_pairs().any(|(k, v)| k == "scope" && v.starts_with("launch/patient ")));
        assert!(!alone.query_pairs().any(|(k, _)| k == "launch"));
    }

    #[test]
    fn the_callback_leaves_the_address_and_its_state_is_checked() {
        let url = Url::parse("https://viewer.example/viewer/index.html?code=abc&state=S1&iss=https%3A%2F%2Fas&keep=1#f").unwrap();
        let (callback, clean) = Callback::take(&url);
        assert_eq!(clean.as_str(), "https://viewer.example/viewer/index.html?keep=1#f");
        let pending = Pending { state: "S1".into(), verifier: "V".into(), iss: "https://ehr.example/fhir".into() };
        assert_eq!(callback.clone().unwrap().code(Some(&pending)), Ok("abc".into()));
        let wrong = Pending { state: "S2".into(), ..pending.clone() };
        assert_eq!(callback.clone().unwrap().code(Some(&wrong)), Err(SmartError::StateMismatch));
        assert_eq!(callback.unwrap().code(None), Err(SmartError::NoPendingLaunch));
        let (refused, clean) = Callback::take(&Url::parse("https://v.example/?error=access_denied&error_description=no&state=S1").unwrap());
        assert_eq!(clean.as_str(), "https://v.example/");
        assert!(matches!(refused.unwrap().code(Some(&pending)), Err(SmartError::AuthorizeRefused { .. })));
        let (none, same) = Callback::take(&Url::parse("https://v.example/?requestType=STUDY").unwrap());
        assert_eq!((none, same.as_str()), (None, "https://v.example/?requestType=STUDY"));
        let (no_state, _) = Callback::take(&Url::parse("https://v.example/?code=abc").unwrap());
        assert_eq!(no_state.unwrap().code(Some(&pending)), Err(SmartError::StateMismatch), "a code without a state is refused");
        assert_eq!(Pending::from_json(&pending.to_json()), Some(pending.clone()));
        assert_eq!(Pending::from_json(r#"{"state":"s"}"#), None);
        assert!(!format!("{pending:?}").contains('V'));
    }

    /// A token endpoint that rotates refresh tokens: `r<n>` gives `a<n+1>` and `r<n+1>`, once.
    #[derive(Default)]
    struct Rotating {
        bodies: std::cell::RefCell<Vec<String>>,
    }

    impl Transport for Rotating {
        async fn send(&self, request: Request) -> Result<crate::net::Response, crate::net::NetError> {
            let body = String::from_utf8(request.body.unwrap_or_default()).unwrap();
            self.bodies.borrow_mut().push(body.clone());
            let used = self.bodies.borrow().iter().filter(|b| **b == body).count();
            let n: u32 = body.split("refresh_token=r").nth(1).and_then(|r| r.split('&').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
            let (status, text) = if used > 1 {
                (400, r#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#.to_string())
            } else {
                (
                    200,
                    format!(
                        r#"{{"access_token":"a{}","token_type":"Bearer","expires_in":60,"refresh_token":"r{}","scope":"patient/*.rs"}}"#,
                        n + 1,
                        n + 1
                    ),
                )
            };
            Ok(crate::net::Response { status, headers: vec![], body: text.into_bytes() })
        }
        async fn sleep(&self, _: std::time::Duration) {}
        fn now_unix(&self) -> f64 {
            100.0
        }
        fn jitter(&self) -> f64 {
            0.0
        }
    }

    #[test]
    fn each_refresh_uses_the_newest_refresh_token() {
        let transport = std::rc::Rc::new(Rotating::default());
        let first = Grant::parse(r#"{"access_token":"a1","token_type":"Bearer","refresh_token":"r1","scope":"patient/*.rs"}"#, "").unwrap();
        let renew = renewer(transport.clone(), Url::parse("https://as.example/token").unwrap(), settings(), &first).unwrap();
        let fresh = crate::net::native::block_on(renew()).unwrap();
        assert_eq!((fresh.token.as_str(), fresh.renew_at), ("a2", Some(145.0)));
        assert_eq!(crate::net::native::block_on(renew()).unwrap().token, "a3");
        assert!(transport.bodies.borrow()[1].contains("refresh_token=r2"), "the rotated token replaced the old one");
        let no_refresh = Grant::parse(r#"{"access_token":"a1","token_type":"Bearer"}"#, "").unwrap();
        assert!(renewer(transport.clone(), Url::parse("https://as.example/token").unwrap(), settings(), &no_refresh).is_none());
        // A reused (revoked) refresh token: the server's OAuth error, no token quoted.
        let again = renewer(transport, Url::parse("https://as.example/token").unwrap(), settings(), &first).unwrap();
        let err = crate::net::native::block_on(again()).unwrap_err();
        assert!(err.contains("invalid_grant") && !err.contains("r1"), "{err}");
    }

    #[test]
    fn token_requests_of_public_and_confidential_clients() {
        let s = settings();
        let endpoint = Url::parse("https://as.example/token").unwrap();
        let public = token_request(&endpoint, &s, &[("grant_type", "refresh_token"), ("refresh_token", "r+1")]);
        assert_eq!(
            String::from_utf8(public.body.clone().unwrap()).unwrap(),
            "grant_type=refresh_token&refresh_token=r%2B1&client_id=emr+imaging"
        );
        assert_eq!(public.header_value("Authorization"), None);
        assert!(public.withhold_token);
        let basic = SmartSettings { client_auth: Some(ClientAuth::Basic("s3cr:t".into())), ..s.clone() };
        let request = token_request(&endpoint, &basic, &[("grant_type", "authorization_code")]);
        assert_eq!(request.header_value("Authorization"), Some("Basic ZW1yK2ltYWdpbmc6czNjciUzQXQ="));
        assert_eq!(String::from_utf8(request.body.unwrap()).unwrap(), "grant_type=authorization_code");
        let post = SmartSettings { client_auth: Some(ClientAuth::Post("x".into())), ..s };
        let request = token_request(&endpoint, &post, &[("grant_type", "authorization_code")]);
        assert!(String::from_utf8(request.body.unwrap()).unwrap().ends_with("&client_id=emr+imaging&client_secret=x"));
    }

    /// Public documents by address, for the id_token's key lookup.
    struct Documents(Vec<(&'static str, Value)>, std::cell::RefCell<Vec<String>>);

    impl Transport for Documents {
        async fn send(&self, request: Request) -> Result<crate::net::Response, crate::net::NetError> {
            assert!(request.withhold_token);
            self.1.borrow_mut().push(request.url.to_string());
            let found = self.0.iter().find(|(u, _)| *u == request.url.as_str());
            let (status, body) = found.map(|(_, v)| (200, v.to_string())).unwrap_or((404, String::new()));
            Ok(crate::net::Response { status, headers: vec![], body: body.into_bytes() })
        }
        async fn sleep(&self, _: std::time::Duration) {}
        fn now_unix(&self) -> f64 {
            950.0
        }
        fn jitter(&self) -> f64 {
            0.0
        }
    }

    fn id_token(alg: &str, claims: Value) -> String {
        let b64 = crate::text::base64url_encode;
        format!("{}.{}.{}", b64(json!({"alg": alg, "kid": "k1"}).to_string().as_bytes()), b64(claims.to_string().as_bytes()), b64(b"sig"))
    }

    #[test]
    fn the_id_token_is_checked_against_the_issuers_keys() {
        use crate::launch::smart::{Alg, IdTokenError};
        use crate::net::native::block_on;
        let claims = json!({"iss": "https://as.example", "aud": "viewer", "sub": "u-1", "fhirUser": "Practitioner/7", "exp": 1000});
        let jwks = json!({"keys": [{"kty": "RSA", "kid": "k1", "n": "n", "e": "AQAB"}]});
        let openid =
            json!({"issuer": "https://as.example", "token_endpoint": "https://as.example/token", "jwks_uri": "https://as.example/jwks"});
        let docs = || {
            Documents(
                vec![("https://as.example/.well-known/openid-configuration", openid.clone()), ("https://as.example/jwks", jwks.clone())],
                Default::default(),
            )
        };
        // The SMART configuration names no keys (as Helios's does not): the issuer's OpenID
        // configuration, which names our token endpoint, gives them.
        let d = SmartConfiguration { issuer: None, jwks_uri: None, ..discovery() };
        let transport = docs();
        let seen = std::cell::RefCell::new(None);
        let good = |alg, key: Value, input: Vec<u8>, sig: Vec<u8>| {
            *seen.borrow_mut() = Some((alg, key["n"].clone(), input.len(), sig));
            async { Ok(true) }
        };
        let user = block_on(signed_in_user(&transport, &d, "viewer", &id_token("RS256", claims.clone()), good)).unwrap().unwrap();
        assert_eq!(user.partition_user(), "Practitioner/7");
        let (alg, n, _, sig) = seen.borrow().clone().unwrap();
        assert_eq!((alg, n, sig), (Alg::Rs256, json!("n"), b"sig".to_vec()));
        let bad = |_, _, _, _| async { Ok(false) };
        let err = block_on(signed_in_user(&docs(), &d, "viewer", &id_token("RS256", claims.clone()), bad)).unwrap_err();
        assert_eq!(err, SmartError::IdToken(IdTokenError::Signature));
        // A token naming another issuer, whose configuration names another token endpoint.
        let evil = json!({"iss": "https://evil.example", "aud": "viewer", "sub": "x", "exp": 1000});
        let other = Documents(
            vec![(
                "https://evil.example/.well-known/openid-configuration",
                json!({"issuer": "https://evil.example", "token_endpoint": "https://evil.example/token", "jwks_uri": "https://evil.example/jwks"}),
            )],
            Default::default(),
        );
        let any = |_, _, _, _| async { Ok(true) };
        let err = block_on(signed_in_user(&other, &d, "viewer", &id_token("RS256", evil), any)).unwrap_err();
        assert_eq!(err, SmartError::IdToken(IdTokenError::Issuer("https://evil.example".into())));
        // Named in the SMART configuration: no OpenID configuration is read; the claims are checked.
        let named = SmartConfiguration {
            issuer: Some("https://as.example".into()),
            jwks_uri: Some(Url::parse("https://as.example/jwks").unwrap()),
            ..discovery()
        };
        let transport = docs();
        let wrong_client = block_on(signed_in_user(&transport, &named, "another", &id_token("RS256", claims.clone()), any)).unwrap_err();
        assert_eq!(wrong_client, SmartError::IdToken(IdTokenError::Audience));
        assert_eq!(*transport.1.borrow(), vec!["https://as.example/jwks".to_string()]);
        // An algorithm we do not check: not used, and nothing fetched.
        let transport = docs();
        assert_eq!(block_on(signed_in_user(&transport, &named, "viewer", &id_token("PS256", claims), any)), Ok(None));
        assert!(transport.1.borrow().is_empty());
    }
}
