//! A study just uploaded appears in the list of the patient in context: recorded on the FHIR
//! server and listed from there, or listed from QIDO-RS; never for another patient, and never
//! after the user moved on.

use super::*;
use crate::bridge::Source;
use crate::net::Method;
use serde_json::{json, Value};

const UPLOADED: &str = "9.9";

/// The servers of `HeldServers` plus what an upload adds: study 9.9 in the PACS (QIDO-RS, whose
/// patient header is `pacs_header`, its image's `image_header`), and FHIR writes, accepted as
/// conditional creates or refused with `refuse`.
#[derive(Clone)]
struct Uploads {
    held: HeldServers,
    refuse: Option<u16>,
    /// The ImagingStudies written, by Study Instance UID.
    created: Rc<RefCell<Vec<(String, Value)>>>,
    posts: Rc<Cell<usize>>,
    pacs_header: (&'static str, &'static str),
}

fn json_response(status: u16, body: &Value) -> Response {
    Response { status, headers: vec![("Content-Type".into(), "application/json".into())], body: body.to_string().into_bytes() }
}

impl Uploads {
    fn qido(&self, path: &str, query: &str) -> Option<Value> {
        let (id, name) = self.pacs_header;
        if path == "/dicom-web/studies" && query.contains(&format!("StudyInstanceUID={UPLOADED}")) {
            return Some(json!([{"0020000D": {"vr": "UI", "Value": [UPLOADED]}, "00080020": {"vr": "DA", "Value": ["20270101"]},
                "00080061": {"vr": "CS", "Value": ["XC"]}, "00100020": {"vr": "LO", "Value": [id]},
                "00100010": {"vr": "PN", "Value": [{"Alphabetic": format!("{name}^Ann")}]}}]));
        }
        if path == format!("/dicom-web/studies/{UPLOADED}/series") {
            return Some(json!([{"0020000E": {"vr": "UI", "Value": ["9.9.1"]}, "00200011": {"vr": "IS", "Value": [1]},
                "00080060": {"vr": "CS", "Value": ["XC"]}, "00201209": {"vr": "IS", "Value": [1]}}]));
        }
        if path == format!("/dicom-web/studies/{UPLOADED}/series/9.9.1/instances") {
            return Some(json!([{"00080018": {"vr": "UI", "Value": ["9.9.1.1"]}, "00200013": {"vr": "IS", "Value": [1]}}]));
        }
        None
    }

    /// A conditional create of the Bundle's ImagingStudy: made once per Study Instance UID.
    fn transaction(&self, body: &[u8]) -> Response {
        self.posts.set(self.posts.get() + 1);
        if let Some(status) = self.refuse {
            return json_response(
                status,
                &json!({"resourceType": "OperationOutcome", "issue": [{"diagnostics": "writes are not allowed"}]}),
            );
        }
        let bundle: Value = serde_json::from_slice(body).expect("a JSON Bundle");
        let mut study = bundle["entry"][1]["resource"].clone();
        let uid = study["identifier"][0]["value"].as_str().unwrap_or_default().trim_start_matches("urn:oid:").to_string();
        let exists = self.created.borrow().iter().any(|(u, _)| *u == uid);
        if !exists {
            study["id"] = json!(format!("up-{uid}"));
            study["endpoint"] = json!([{"reference": "Endpoint/pacs"}]);
            self.created.borrow_mut().push((uid.clone(), study));
        }
        json_response(
            200,
            &json!({"resourceType": "Bundle", "type": "transaction-response", "entry": [
                {"response": {"status": if exists { "200 OK" } else { "201 Created" }, "location": "Endpoint/pacs/_history/1"}},
                {"response": {"status": if exists { "200 OK" } else { "201 Created" }, "location": format!("ImagingStudy/up-{uid}/_history/1")}}]}),
        )
    }
}

impl Transport for Uploads {
    async fn send(&self, request: Request) -> Result<Response, NetError> {
        let url = request.url.to_string();
        let (path, query) = (request.url.path().to_string(), request.url.query().unwrap_or_default().to_string());
        let own = request.method == Method::Post || self.qido(&path, &query).is_some();
        if !own {
            let mut response = self.held.send(request).await?;
            // The patient's search lists the ImagingStudies written for them.
            if path == "/fhir/ImagingStudy" && query.contains("patient=a") {
                let mut bundle: Value = serde_json::from_slice(&response.body).expect("a Bundle");
                let entries = bundle["entry"].as_array_mut().expect("entries");
                for (_, study) in self.created.borrow().iter().filter(|(_, s)| s["subject"]["reference"] == "Patient/a") {
                    entries.push(json!({"resource": study}));
                }
                response.body = bundle.to_string().into_bytes();
            }
            return Ok(response);
        }
        // A write is seen (and held) as `POST {url}`.
        let url = if request.method == Method::Post { format!("POST {url}") } else { url };
        self.held.0.seen.borrow_mut().push(url.clone());
        until_true(|| request.is_cancelled() || !self.held.is_held(&url)).await;
        if request.is_cancelled() {
            return Err(NetError::Unreachable { url, message: "aborted".into() });
        }
        Ok(match self.qido(&path, &query) {
            Some(answer) => json_response(200, &answer),
            None => self.transaction(request.body.as_deref().unwrap_or_default()),
        })
    }
    async fn sleep(&self, duration: Duration) {
        self.held.sleep(duration).await
    }
    fn now_unix(&self) -> f64 {
        0.0
    }
    fn jitter(&self) -> f64 {
        0.0
    }
}

type UploadSession = Session<Uploads, Rc<Recorder>>;

/// Patient a's world, with the uploaded instance 9.9.1.1 in the PACS only (its header `image`).
fn uploads(pacs_header: (&'static str, &'static str), image: (&str, &str), refuse: Option<u16>) -> (UploadSession, Uploads, Rc<Recorder>) {
    let mut world = world();
    // Listed by no FHIR search: only its instance is served.
    world.studies.push(StudyData {
        patient: "nobody".into(),
        uid: UPLOADED.into(),
        started: String::new(),
        instances: vec![instance("9.9.1", "9.9.1.1", image)],
    });
    let servers = Uploads { held: HeldServers(Rc::new(world)), refuse, created: Rc::default(), posts: Rc::default(), pacs_header };
    let config = BridgeConfig { memory_budget: 1 << 24, ..BridgeConfig::new(url::Url::parse(FHIR).expect("test URL")) };
    let screen = Rc::new(Recorder::default());
    let session = Session::new(ImagingBridge::new(servers.clone(), &config), SessionConfig::default(), screen.clone());
    (session, servers, screen)
}

fn pacs() -> url::Url {
    url::Url::parse(PACS).expect("test URL")
}

/// The list on screen: (UID, source) in order.
fn listed(screen: &Recorder) -> Vec<(String, Source)> {
    let updates = screen.0.borrow();
    let Some(Update::Studies(list)) = updates.iter().rev().find(|u| matches!(u, Update::Studies(_))) else { return Vec::new() };
    list.iter().map(|s| (s.study_uid.clone(), s.source.clone())).collect()
}

fn announced(screen: &Recorder) -> Vec<Vec<String>> {
    screen.0.borrow().iter().filter_map(|u| if let Update::NewStudies(n) = u { Some(n.clone()) } else { None }).collect()
}

fn failures(screen: &Recorder) -> Vec<SessionError> {
    screen.1.borrow().iter().map(|(_, e)| e.clone()).collect()
}

#[test]
fn without_a_write_the_study_is_listed_from_qido_newest_first_and_its_images_are_verified() {
    let (session, servers, screen) = uploads(A, A, None);
    block_on(session.open_patient("a")).expect("opens");
    block_on(session.show_uploaded(&pacs(), UPLOADED, false)).expect("listed");
    assert_eq!(
        listed(&screen),
        [(UPLOADED.into(), Source::PacsOnly), ("1.1".into(), Source::Enriched), ("1.2".into(), Source::Enriched)],
        "newest first"
    );
    assert_eq!(announced(&screen), [vec![UPLOADED.to_string()]]);
    assert_eq!(servers.posts.get(), 0, "nothing is written");
    assert_eq!(session.selected_study_uid().as_deref(), Some("1.1"), "the open study stays");
    let study = session.listed(UPLOADED).expect("listed");
    assert_eq!((study.dicomweb_base.as_deref(), study.patient_id.as_deref()), (Some(PACS), Some("a")));
    // Its images are checked like every other when drawn.
    block_on(session.open_study(UPLOADED)).expect("opens");
    assert_eq!(shown_instances(&screen).last().map(String::as_str), Some("9.9.1.1"));
    assert!(images_since_clear(&screen).iter().all(|(_, p)| p == "a"));
    // Shown again (a second upload to it): one entry, not announced twice.
    block_on(session.show_uploaded(&pacs(), UPLOADED, false)).expect("again");
    assert_eq!(listed(&screen).iter().filter(|(u, _)| u == UPLOADED).count(), 1);
    assert_eq!(announced(&screen).len(), 1);
    // A refresh of the FHIR list keeps it until FHIR lists it.
    assert_eq!(block_on(session.refresh_studies()), Ok(vec![]));
    assert_eq!(listed(&screen)[0], (UPLOADED.to_string(), Source::PacsOnly));
}

#[test]
fn a_study_whose_pacs_names_another_patient_is_neither_listed_nor_written() {
    for create in [false, true] {
        let (session, servers, screen) = uploads(B, B, None);
        block_on(session.open_patient("a")).expect("opens");
        let refused = block_on(session.show_uploaded(&pacs(), UPLOADED, create));
        assert_eq!(refused, Err(SessionError::StudyOfAnotherPatient { study: UPLOADED.into(), patient: "a".into() }));
        assert_eq!(failures(&screen), [refused.unwrap_err()], "reported");
        assert!(!session.is_listed(UPLOADED) && announced(&screen).is_empty());
        assert_eq!(servers.posts.get(), 0, "never recorded under this patient");
    }
}

#[test]
fn images_of_another_patient_still_block_when_the_pacs_answer_named_ours() {
    let (session, _, screen) = uploads(A, B, None);
    block_on(session.open_patient("a")).expect("opens");
    block_on(session.show_uploaded(&pacs(), UPLOADED, false)).expect("listed: QIDO names a");
    assert!(matches!(block_on(session.open_study(UPLOADED)), Err(SessionError::WrongPatient(_))));
    assert!(images_since_clear(&screen).iter().all(|(_, p)| p == "a"), "nothing of b was drawn");
    assert!(screen.0.borrow().iter().any(|u| matches!(u, Update::Blocked(_))));
}

#[test]
fn with_a_write_the_study_is_recorded_once_and_listed_from_fhir() {
    let (session, servers, screen) = uploads(A, A, None);
    block_on(session.open_patient("a")).expect("opens");
    block_on(session.show_uploaded(&pacs(), UPLOADED, true)).expect("recorded");
    assert_eq!(servers.posts.get(), 1);
    assert_eq!(listed(&screen)[0], (UPLOADED.to_string(), Source::Enriched), "from FHIR, enriched at its Endpoint");
    assert_eq!(listed(&screen).len(), 3);
    assert_eq!(announced(&screen), [vec![UPLOADED.to_string()]], "announced by the refresh");
    assert_eq!(session.listed(UPLOADED).map(|s| s.fhir_id), Some(format!("up-{UPLOADED}")));
    assert!(failures(&screen).is_empty());
    // A second upload to the same study: the conditional create finds it.
    block_on(session.show_uploaded(&pacs(), UPLOADED, true)).expect("again");
    assert_eq!((servers.posts.get(), servers.created.borrow().len()), (2, 1));
    assert_eq!(listed(&screen).iter().filter(|(u, _)| u == UPLOADED).count(), 1);
    assert_eq!(announced(&screen).len(), 1);
}

#[test]
fn a_refused_write_is_reported_and_the_study_listed_from_qido() {
    for status in [403, 405] {
        let (session, servers, screen) = uploads(A, A, Some(status));
        block_on(session.open_patient("a")).expect("opens");
        block_on(session.show_uploaded(&pacs(), UPLOADED, true)).expect("the upload is still shown");
        assert_eq!(servers.posts.get(), 1);
        let reported = failures(&screen);
        let [SessionError::Bridge(BridgeError::Fhir(crate::fhir::FhirError::Net(NetError::Status { status: got, .. })))] =
            reported.as_slice()
        else {
            panic!("one write error reported: {:?}", failures(&screen))
        };
        assert_eq!(*got, status);
        assert_eq!(listed(&screen)[0], (UPLOADED.to_string(), Source::PacsOnly));
        assert_eq!(announced(&screen), [vec![UPLOADED.to_string()]]);
    }
}

#[test]
fn an_upload_into_a_study_fhir_lists_reads_the_list_again() {
    let (session, servers, screen) = uploads(A, A, None);
    block_on(session.open_patient("a")).expect("opens");
    let before = servers.held.seen("ImagingStudy?patient=a");
    block_on(session.show_uploaded(&pacs(), "1.2", false)).expect("read again");
    assert_eq!(servers.held.seen("ImagingStudy?patient=a"), before + 1);
    assert_eq!(servers.held.seen("StudyInstanceUID=1.2"), 0, "FHIR's entry is kept, not the PACS's");
    assert_eq!(listed(&screen)[1], ("1.2".to_string(), Source::Enriched));
}

#[test]
fn a_switch_while_the_pacs_or_fhir_answers_drops_the_upload() {
    for held in ["StudyInstanceUID=9.9", "POST "] {
        let (session, servers, screen) = uploads(A, A, None);
        block_on(session.open_patient("a")).expect("opens");
        servers.held.hold(held);
        let base = pacs();
        let shown = session.show_uploaded(&base, UPLOADED, true);
        let (uploaded, b) = interleave(
            shown,
            || servers.held.seen(held) > 0,
            || async {
                let b = session.open_patient("b").await;
                servers.held.release(held);
                b
            },
        );
        assert_eq!(uploaded, Err(SessionError::Superseded), "{held}");
        b.expect("b opens");
        assert_eq!(session.patient().map(|p| p.id).as_deref(), Some("b"));
        assert!(!session.is_listed(UPLOADED), "{held}: nothing of a's upload on b's list");
        assert!(announced(&screen).is_empty());
        let recorded: Vec<Value> = servers.created.borrow().iter().map(|(_, s)| s["subject"].clone()).collect();
        assert!(recorded.iter().all(|s| s["reference"] == "Patient/a"), "{held}: recorded, if at all, for a: {recorded:?}");
    }
}

#[test]
fn without_a_patient_nothing_is_asked() {
    let (session, servers, _) = uploads(A, A, None);
    assert_eq!(block_on(session.show_uploaded(&pacs(), UPLOADED, true)), Err(SessionError::NoPatient));
    assert_eq!(servers.held.seen("/"), 0);
}

#[test]
fn a_study_listed_from_qido_gives_way_to_fhirs_once_recorded() {
    let (session, servers, screen) = uploads(A, A, None);
    block_on(session.open_patient("a")).expect("opens");
    block_on(session.show_uploaded(&pacs(), UPLOADED, false)).expect("from QIDO");
    block_on(session.show_uploaded(&pacs(), UPLOADED, true)).expect("recorded");
    assert_eq!(servers.posts.get(), 1);
    let entries: Vec<(String, Source)> = listed(&screen).into_iter().filter(|(u, _)| u == UPLOADED).collect();
    assert_eq!(entries, [(UPLOADED.to_string(), Source::Enriched)], "one entry, FHIR's");
    assert_eq!(announced(&screen), [vec![UPLOADED.to_string()]], "new once");
}
