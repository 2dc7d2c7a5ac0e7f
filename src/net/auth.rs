//! AuthMapper: the bearer token goes only to origins the host allowed, and its whole life is
//! kept here: renewed before it runs out and after a 401, one renewal at a time, with every
//! request that needs the token waiting for it, and "session expired" when it cannot be renewed.

use super::Request;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use url::{Origin, Url};

/// The host's way to get a fresh token, called when there is none yet and after a 401 (and
/// after the app's own renewal failed).
pub type TokenProvider = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = Option<String>>>>>;

/// A renewed access token and when to renew it again (Unix seconds; `None`: only on a 401).
#[derive(Clone, PartialEq)]
pub struct Fresh {
    pub token: String,
    pub renew_at: Option<f64>,
}

impl std::fmt::Debug for Fresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fresh").field("renew_at", &self.renew_at).finish_non_exhaustive()
    }
}

/// The app's own renewal (a SMART refresh): it keeps the refresh token, and fails with a
/// reason the user may read (no token in it).
pub type Renewer = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Fresh, String>>>>>;

/// The part of a token's life at which it is renewed: early enough that a slow token endpoint
/// still answers before the old token ends.
pub const RENEW_AT: f64 = 0.75;

/// When a token of `lifetime` seconds, received at `now`, is renewed.
pub fn renew_time(now: f64, lifetime: Option<u64>) -> Option<f64> {
    lifetime.map(|seconds| now + seconds as f64 * RENEW_AT)
}

/// One renewal at a time: who waits for it, and how the last one ended.
#[derive(Default)]
struct Renewal {
    active: bool,
    round: u64,
    renewed: bool,
    waiters: Vec<Waker>,
}

/// Decides, per request, whether the bearer token is attached.
///
/// The allowed origins are the FHIR base origin plus an explicit list from the host. An
/// Endpoint address taken from FHIR data is server-controlled: if it points anywhere else it
/// gets no token, so a poisoned Endpoint cannot exfiltrate the user's credentials.
#[derive(Default)]
pub struct AuthMapper {
    allowed: Vec<Origin>,
    /// Interior mutability: the host may swap the token while requests are in flight.
    token: RefCell<Option<String>>,
    provider: RefCell<Option<TokenProvider>>,
    renewer: RefCell<Option<Renewer>>,
    renew_at: Cell<Option<f64>>,
    renewal: RefCell<Renewal>,
    /// The app's renewal failed and nobody gave a new token: the session is over.
    expired: Cell<bool>,
}

impl Clone for AuthMapper {
    /// The allow-list and the credentials; a renewal under way stays the original's.
    fn clone(&self) -> Self {
        AuthMapper {
            allowed: self.allowed.clone(),
            token: self.token.clone(),
            provider: self.provider.clone(),
            renewer: self.renewer.clone(),
            renew_at: self.renew_at.clone(),
            renewal: RefCell::default(),
            expired: self.expired.clone(),
        }
    }
}

impl std::fmt::Debug for AuthMapper {
    /// Never prints the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthMapper")
            .field("allowed", &self.allowed.iter().map(|o| o.ascii_serialization()).collect::<Vec<_>>())
            .field("has_token", &self.has_token())
            .field("has_provider", &self.has_provider())
            .field("renew_at", &self.renew_at.get())
            .field("expired", &self.expired.get())
            .finish()
    }
}

/// Ends a renewal even when its future is dropped half-way, so waiters never hang.
struct RenewalGuard<'a> {
    mapper: &'a AuthMapper,
    renewed: bool,
}

impl Drop for RenewalGuard<'_> {
    fn drop(&mut self) {
        let waiters = {
            let mut renewal = self.mapper.renewal.borrow_mut();
            renewal.active = false;
            renewal.round += 1;
            renewal.renewed = self.renewed;
            std::mem::take(&mut renewal.waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }
}

impl AuthMapper {
    /// Allows `fhir_base`'s origin and each of `extra_origins` (absolute URLs; anything that does
    /// not parse to a tuple origin is ignored rather than widening access).
    pub fn new(fhir_base: &Url, extra_origins: &[String]) -> Self {
        let mut allowed = vec![fhir_base.origin()];
        for extra in extra_origins {
            if let Ok(url) = Url::parse(extra) {
                let origin = url.origin();
                if origin.is_tuple() && !allowed.contains(&origin) {
                    allowed.push(origin);
                }
            }
        }
        AuthMapper { allowed, ..AuthMapper::default() }
    }

    /// Replaces the token; `None` or an empty string means no token. A token set from outside
    /// has no known end: it is renewed only after a 401.
    pub fn set_token(&self, token: Option<String>) {
        *self.token.borrow_mut() = token.filter(|t| !t.is_empty());
        self.renew_at.set(None);
        if self.has_token() {
            self.expired.set(false);
        }
    }

    /// A token with its renewal time (the app's own grant).
    pub fn set_fresh(&self, fresh: Fresh) {
        *self.token.borrow_mut() = Some(fresh.token).filter(|t| !t.is_empty());
        self.renew_at.set(fresh.renew_at);
        self.expired.set(false);
    }

    pub fn has_token(&self) -> bool {
        self.token.borrow().is_some()
    }

    /// Sets (or clears) the provider asked for a new token after a 401.
    pub fn set_provider(&self, provider: Option<TokenProvider>) {
        *self.provider.borrow_mut() = provider;
    }

    pub fn has_provider(&self) -> bool {
        self.provider.borrow().is_some()
    }

    /// Sets (or clears) the app's own renewal; clearing it also ends [`AuthMapper::keep_fresh`].
    pub fn set_renewer(&self, renewer: Option<Renewer>) {
        if renewer.is_none() {
            self.renew_at.set(None);
        }
        *self.renewer.borrow_mut() = renewer;
    }

    /// Whether anyone can give a new token.
    pub fn can_renew(&self) -> bool {
        self.has_provider() || self.renewer.borrow().is_some()
    }

    /// When the token is due for renewal, if it has a known end.
    pub fn renew_at(&self) -> Option<f64> {
        self.renew_at.get().filter(|_| self.renewer.borrow().is_some())
    }

    /// Whether the token must be renewed before a request at `now` may carry it.
    pub fn is_due(&self, now: f64) -> bool {
        self.renew_at().is_some_and(|at| now >= at)
    }

    /// The app's renewal failed and nobody gave a token: the user must sign in again.
    pub fn is_expired(&self) -> bool {
        self.expired.get()
    }

    /// Resolves once no renewal is under way (at once when none is).
    pub async fn settled(&self) {
        let round = {
            let renewal = self.renewal.borrow();
            if !renewal.active {
                return;
            }
            renewal.round
        };
        std::future::poll_fn(|cx| {
            let mut renewal = self.renewal.borrow_mut();
            if renewal.round != round {
                Poll::Ready(())
            } else {
                renewal.waiters.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
    }

    /// Renews the token: the app's renewer first, then the host's provider. Only one renewal
    /// runs; a caller that comes while one is under way waits for it and shares its outcome.
    /// True if a token different from the one before is now held.
    pub async fn refresh(&self) -> bool {
        if self.renewal.borrow().active {
            self.settled().await;
            return self.renewal.borrow().renewed;
        }
        self.renewal.borrow_mut().active = true;
        let mut guard = RenewalGuard { mapper: self, renewed: false };
        let before = self.token.borrow().clone();
        let renewer = self.renewer.borrow().clone();
        if let Some(renewer) = &renewer {
            if let Ok(fresh) = renewer().await {
                guard.renewed = Some(&fresh.token) != before.as_ref() && !fresh.token.is_empty();
                self.set_fresh(fresh);
            }
        }
        if !guard.renewed {
            let provider = self.provider.borrow().clone();
            if let Some(provider) = provider {
                let fresh = provider().await.filter(|t| !t.is_empty());
                if fresh.is_some() && fresh != before {
                    *self.token.borrow_mut() = fresh;
                    self.renew_at.set(None);
                    self.expired.set(false);
                    guard.renewed = true;
                }
            }
        }
        if !guard.renewed && renewer.is_some() {
            self.expired.set(true);
            self.renew_at.set(None);
        }
        guard.renewed
    }

    /// Renews the token shortly before each end, for as long as the app's renewer is set and
    /// renewing works: a viewer left open keeps a live token even when it sends nothing.
    pub async fn keep_fresh<T: super::Transport>(&self, transport: &T) {
        while let Some(at) = self.renew_at() {
            let wait = at - transport.now_unix();
            if wait > 0.0 {
                transport.sleep(std::time::Duration::from_secs_f64(wait)).await;
                continue;
            }
            if !self.refresh().await {
                return;
            }
        }
    }

    /// The token, but only for a URL whose origin is allowed (to fill an Endpoint's header
    /// template); never for any other.
    pub fn token_for(&self, url: &Url) -> Option<String> {
        if self.is_allowed(url) {
            self.token.borrow().clone()
        } else {
            None
        }
    }

    /// Whether a request to `url` may carry the token.
    pub fn is_allowed(&self, url: &Url) -> bool {
        let origin = url.origin();
        origin.is_tuple() && self.allowed.contains(&origin)
    }

    /// Adds `Authorization: Bearer …` when the request's origin is allowed and no
    /// Authorization header is set yet; removes a stray one when the origin is not allowed.
    pub fn authorize(&self, request: &mut Request) {
        if !self.is_allowed(&request.url) {
            request.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
            return;
        }
        if request.withhold_token {
            return;
        }
        if let Some(token) = self.token.borrow().as_ref() {
            if request.header_value("authorization").is_none() {
                request.headers.push(("Authorization".into(), format!("Bearer {token}")));
            }
        }
    }

    /// The token a request would carry now (to tell, after a 401, whether it was the current one).
    pub fn current(&self) -> Option<String> {
        self.token.borrow().clone()
    }
}

/// The `sub` claim of a JWT access token (without verifying it: it only names a partition);
/// `None` for opaque tokens.
pub fn token_subject(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = crate::text::base64_decode(payload)?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    json.get("sub")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_subject() {
        // {"alg":"none"} . {"sub":"dr-who","patient":"p1"} . (no signature)
        let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJkci13aG8iLCJwYXRpZW50IjoicDEifQ.";
        assert_eq!(token_subject(token).as_deref(), Some("dr-who"));
        assert_eq!(token_subject("opaque-token"), None);
        assert_eq!(token_subject("a.!!!.c"), None);
    }

    fn mapper() -> AuthMapper {
        let base = Url::parse("https://ehr.example.org/fhir/").unwrap();
        let m = AuthMapper::new(&base, &["https://pacs.example.org:8443".into(), "not a url".into()]);
        m.set_token(Some("secret".into()));
        m
    }

    fn auth_of(m: &AuthMapper, url: &str) -> Option<String> {
        let mut r = Request::get(Url::parse(url).unwrap());
        m.authorize(&mut r);
        r.header_value("Authorization").map(str::to_string)
    }

    #[test]
    fn token_goes_to_fhir_origin_and_allow_list() {
        let m = mapper();
        assert_eq!(auth_of(&m, "https://ehr.example.org/fhir/ImagingStudy").as_deref(), Some("Bearer secret"));
        assert_eq!(auth_of(&m, "https://pacs.example.org:8443/dicom-web/studies").as_deref(), Some("Bearer secret"));
    }

    #[test]
    fn token_never_goes_to_other_origins() {
        let m = mapper();
        // Same host, other port; other scheme; look-alike host; userinfo trick.
        for url in [
            "https://pacs.example.org/dicom-web",
            "http://ehr.example.org/fhir",
            "https://ehr.example.org.evil.test/fhir",
            "https://ehr.example.org@evil.test/fhir",
            "data:text/plain,x",
        ] {
            assert_eq!(auth_of(&m, url), None, "{url}");
        }
    }

    #[test]
    fn stray_authorization_is_removed_for_foreign_origins() {
        let m = mapper();
        let mut r = Request::get(Url::parse("https://evil.test/").unwrap()).header("authorization", "Bearer x");
        m.authorize(&mut r);
        assert_eq!(r.header_value("Authorization"), None);
    }

    #[test]
    fn withheld_and_template_tokens_follow_the_allow_list() {
        let m = mapper();
        let mut r = Request::get(Url::parse("https://ehr.example.org/fhir/x").unwrap());
        r.withhold_token = true;
        m.authorize(&mut r);
        assert_eq!(r.header_value("Authorization"), None, "the endpoint asked for no token");
        assert_eq!(m.token_for(&Url::parse("https://pacs.example.org:8443/x").unwrap()).as_deref(), Some("secret"));
        assert_eq!(m.token_for(&Url::parse("https://evil.test/x").unwrap()), None);
    }

    #[test]
    fn no_token_no_header() {
        let m = mapper();
        m.set_token(Some(String::new()));
        assert_eq!(auth_of(&m, "https://ehr.example.org/fhir/x"), None);
    }
}

/// The token's life against a fake clock: a transport whose sleeps move time on at once.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod life {
    use super::super::{HttpClient, NetError, Request, Response, Transport};
    use super::*;
    use crate::net::native::block_on;
    use std::time::Duration;

    /// Answers 200 to the tokens in `good`, 401 to any other; records what each request carried.
    #[derive(Default)]
    struct Clock {
        now: Cell<f64>,
        good: RefCell<Vec<String>>,
        seen: RefCell<Vec<Option<String>>>,
        /// A send waits for one poll, so requests overlap as in a browser.
        yield_once: Cell<bool>,
    }

    impl Transport for Rc<Clock> {
        async fn send(&self, request: Request) -> Result<Response, NetError> {
            let auth = request.header_value("authorization").map(|a| a.trim_start_matches("Bearer ").to_string());
            self.seen.borrow_mut().push(auth.clone());
            if self.yield_once.get() {
                yield_once().await;
            }
            let ok = auth.is_some_and(|a| self.good.borrow().contains(&a));
            Ok(Response { status: if ok { 200 } else { 401 }, headers: vec![], body: b"{}".to_vec() })
        }
        async fn sleep(&self, duration: Duration) {
            self.now.set(self.now.get() + duration.as_secs_f64());
        }
        fn now_unix(&self) -> f64 {
            self.now.get()
        }
        fn jitter(&self) -> f64 {
            0.0
        }
    }

    /// Pending for one poll: lets other futures run in between, as a real request would.
    async fn yield_once() {
        let mut once = false;
        std::future::poll_fn(|cx| {
            if std::mem::replace(&mut once, true) {
                Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await
    }

    fn client(clock: &Rc<Clock>) -> HttpClient<Rc<Clock>> {
        HttpClient::new(clock.clone(), AuthMapper::new(&Url::parse("https://ehr.example/fhir").unwrap(), &[]))
    }

    fn get(http: &HttpClient<Rc<Clock>>, path: &str) -> Result<Response, NetError> {
        block_on(http.get(Url::parse(&format!("https://ehr.example/fhir/{path}")).unwrap(), "application/json"))
    }

    /// A renewer that takes one poll and hands out the next `t<n>` valid 60 s.
    fn counting(clock: &Rc<Clock>, calls: &Rc<Cell<u32>>, fail_from: u32) -> Renewer {
        let (clock, calls) = (clock.clone(), calls.clone());
        Rc::new(move || {
            let (clock, calls) = (clock.clone(), calls.clone());
            Box::pin(async move {
                calls.set(calls.get() + 1);
                yield_once().await;
                if calls.get() >= fail_from {
                    return Err("invalid_grant".to_string());
                }
                let token = format!("t{}", calls.get() + 1);
                clock.good.borrow_mut().retain(|t| t != &format!("t{}", calls.get()));
                clock.good.borrow_mut().push(token.clone());
                Ok(Fresh { token, renew_at: renew_time(clock.now.get(), Some(60)) })
            })
        })
    }

    fn start(fail_from: u32) -> (Rc<Clock>, HttpClient<Rc<Clock>>, Rc<Cell<u32>>) {
        let clock = Rc::new(Clock { now: Cell::new(1000.0), good: RefCell::new(vec!["t1".into()]), ..Clock::default() });
        let http = client(&clock);
        let calls = Rc::new(Cell::new(0));
        http.auth().set_fresh(Fresh { token: "t1".into(), renew_at: renew_time(1000.0, Some(60)) });
        http.auth().set_renewer(Some(counting(&clock, &calls, fail_from)));
        (clock, http, calls)
    }

    #[test]
    fn a_token_is_renewed_before_its_end_and_never_sent_after() {
        let (clock, http, calls) = start(u32::MAX);
        get(&http, "a").unwrap();
        assert_eq!(calls.get(), 0, "fresh enough");
        clock.now.set(1045.0);
        get(&http, "b").unwrap();
        assert_eq!(calls.get(), 1, "renewed at three quarters of its life, before the request");
        assert_eq!(*clock.seen.borrow(), [Some("t1".into()), Some("t2".into())]);
        assert_eq!(http.auth().renew_at(), Some(1090.0));
    }

    #[test]
    fn requests_during_a_renewal_wait_for_it_and_share_it() {
        let (clock, http, calls) = start(u32::MAX);
        clock.now.set(1050.0);
        clock.yield_once.set(true);
        let urls: Vec<Url> = (0..4).map(|i| Url::parse(&format!("https://ehr.example/fhir/{i}")).unwrap()).collect();
        let all = futures_util::future::join_all(urls.iter().map(|u| http.get(u.clone(), "application/json")));
        assert!(block_on(all).iter().all(Result::is_ok));
        assert_eq!(calls.get(), 1, "one renewal for all four");
        assert_eq!(*clock.seen.borrow(), vec![Some("t2".to_string()); 4], "none went out with the old token");
    }

    #[test]
    fn a_401_renews_once_and_resends() {
        let (clock, http, calls) = start(u32::MAX);
        clock.good.borrow_mut().clear();
        clock.good.borrow_mut().push("t2".into());
        get(&http, "a").unwrap();
        assert_eq!(calls.get(), 1);
        assert_eq!(*clock.seen.borrow(), [Some("t1".into()), Some("t2".into())]);
    }

    #[test]
    fn a_failed_renewal_is_a_session_expired_and_asks_the_host() {
        let (clock, http, calls) = start(1);
        clock.now.set(1050.0);
        let early = get(&http, "a");
        assert!(early.is_ok(), "the old token still works until its end, though its renewal failed");
        clock.good.borrow_mut().clear();
        let asked = Rc::new(Cell::new(0));
        let counter = asked.clone();
        http.auth().set_provider(Some(Rc::new(move || {
            counter.set(counter.get() + 1);
            Box::pin(async { None })
        })));
        let err = get(&http, "a").unwrap_err();
        assert!(matches!(err, NetError::SessionExpired { .. }), "{err}");
        assert!(err.to_string().starts_with("session expired"), "{err}");
        assert!(http.auth().is_expired());
        assert!(calls.get() >= 1 && asked.get() >= 1, "the renewer failed, then the host was asked");
        http.auth().set_token(Some("from-host".into()));
        assert!(!http.auth().is_expired(), "a host's token starts a new session");
    }

    #[test]
    fn keep_fresh_renews_an_idle_token_until_renewal_fails() {
        let (clock, http, calls) = start(4);
        block_on(http.auth().keep_fresh(http.transport()));
        assert_eq!(calls.get(), 4, "three renewals, then the fourth failed and the loop ended");
        assert!(http.auth().is_expired());
        assert_eq!(clock.now.get(), 1000.0 + 45.0 * 4.0, "each at three quarters of the 60 s");
        let (_, http, calls) = start(u32::MAX);
        http.auth().set_renewer(None);
        block_on(http.auth().keep_fresh(http.transport()));
        assert_eq!(calls.get(), 0, "no renewer, no loop");
    }
}
