//! Which access events the session records: a query per list, a read once per series per
//! session (not per frame), an export, and a block with a reason free of PHI.

use super::*;
use crate::audit::{Access, AccessKind, AuditSink};

#[derive(Default)]
struct Trail(RefCell<Vec<Access>>);

impl AuditSink for Trail {
    fn record(&self, access: Access) {
        self.0.borrow_mut().push(access);
    }
}

impl Trail {
    fn kinds(&self) -> Vec<(AccessKind, Option<String>)> {
        self.0.borrow().iter().map(|a| (a.kind, a.series_uid.clone())).collect()
    }
}

fn audited(world: World) -> (TestSession, Rc<Trail>, Rc<Recorder>) {
    let (session, _, screen) = session_with(world);
    let trail = Rc::new(Trail::default());
    (session.with_audit(trail.clone()), trail, screen)
}

#[test]
fn a_viewing_records_one_query_and_one_read_per_series() {
    let (session, trail, _) = audited(world());
    block_on(session.open_patient("a")).expect("opens");
    use AccessKind::*;
    // Series 1.1.1 (three frames, shown and stacked) once; 1.1.2 (its thumbnail) once.
    assert_eq!(trail.kinds(), [(Query, None), (Read, Some("1.1.1".into())), (Read, Some("1.1.2".into()))]);
    let read = trail.0.borrow()[1].clone();
    assert_eq!(read.patient_id.as_deref(), Some("a"));
    assert_eq!(read.studies[0].uid, "1.1");
    // Opening the study again, or the series from the strip: nothing new was seen.
    block_on(session.open_study("1.1")).expect("again");
    block_on(session.open_series("1.1.2")).expect("series");
    assert_eq!(trail.0.borrow().len(), 3);
    // Another study is another read.
    block_on(session.open_study("1.2")).expect("older study");
    assert_eq!(trail.kinds().last(), Some(&(Read, Some("1.2.1".into()))));
}

#[test]
fn after_a_close_a_new_viewing_is_recorded_again() {
    let (session, trail, _) = audited(world());
    block_on(session.open_patient("a")).expect("opens");
    session.close();
    block_on(session.open_patient("a")).expect("opens again");
    let reads = trail.0.borrow().iter().filter(|a| a.kind == AccessKind::Read).count();
    assert_eq!(reads, 4);
}

#[test]
fn a_fetch_is_a_query_and_an_export_is_recorded_with_its_instance() {
    let (session, trail, _) = audited(world());
    block_on(session.fetch_studies("a")).expect("fetched");
    block_on(session.export_image("1.1", "1.1.1", "1.1.1.2")).expect("exported");
    let trail = trail.0.borrow();
    assert_eq!(trail.iter().map(|a| a.kind).collect::<Vec<_>>(), [AccessKind::Query, AccessKind::Export]);
    assert_eq!(trail[1].instances, ["1.1.1.2"]);
    assert_eq!(trail[1].studies[0].uid, "1.1");
}

#[test]
fn a_block_is_recorded_as_a_failure_without_the_headers_values() {
    let mut w = world();
    w.studies[0].instances[2].header = (B.0.into(), B.1.into());
    let (session, trail, _) = audited(w);
    assert!(block_on(session.open_patient("a")).is_err());
    let trail = trail.0.borrow();
    let blocked = trail.iter().find(|a| a.kind == AccessKind::Blocked).expect("a block");
    assert_eq!(blocked.patient_id.as_deref(), Some("a"));
    assert_eq!(blocked.studies[0].uid, "1.1");
    assert_eq!(blocked.series_uid.as_deref(), Some("1.1.1"));
    let reason = blocked.failure.as_deref().unwrap();
    assert!(!reason.contains("MRN") && !reason.contains("Beta"), "{reason}");
}

#[test]
fn an_export_of_another_patients_image_is_recorded_as_blocked() {
    let mut w = world();
    w.studies[1].instances[0].header = (B.0.into(), B.1.into());
    let (session, trail, _) = audited(w);
    block_on(session.fetch_studies("a")).expect("fetched");
    assert!(block_on(session.export_image("1.2", "1.2.1", "1.2.1.1")).is_err());
    assert_eq!(trail.0.borrow().last().map(|a| a.kind), Some(AccessKind::Blocked));
}
