//! Decoding off the main thread: frames decoded by workers are still verified here, a study
//! switch drops the workers' queued decodes of the study left (none is decoded or drawn), and a
//! pool that cannot take work leaves decoding to the main thread.

use super::*;
use crate::imaging::decoder::{Dispatcher, FrameDecoder, Offload, Step};
use crate::net::CancelToken;
use futures_util::future::LocalBoxFuture;

type Answer = Rc<RefCell<Option<Offload>>>;

struct Job {
    bytes: Vec<u8>,
    index: u32,
    answer: Answer,
}

/// One pretend worker behind the real [`Dispatcher`]: it finishes its job when polled, unless held.
#[derive(Default)]
struct FakeWorkers {
    dispatcher: RefCell<Option<Dispatcher<Job>>>,
    running: RefCell<Option<Job>>,
    /// How many more jobs it may finish.
    budget: Cell<usize>,
    dead: bool,
    /// SOP Instance UIDs the worker decoded.
    decoded: RefCell<Vec<String>>,
    cancelled: Cell<usize>,
}

impl FakeWorkers {
    fn new() -> Rc<Self> {
        let fake = FakeWorkers { dispatcher: RefCell::new(Some(Dispatcher::new(1))), budget: Cell::new(usize::MAX), ..Default::default() };
        let fake = Rc::new(fake);
        fake.carry_out(|d| d.ready(0));
        fake
    }

    fn queued(&self) -> usize {
        self.dispatcher.borrow().as_ref().map_or(0, Dispatcher::queued)
    }

    fn carry_out(&self, transition: impl FnOnce(&mut Dispatcher<Job>) -> Vec<Step<Job>>) {
        let steps = self.dispatcher.borrow_mut().as_mut().map(transition).unwrap_or_default();
        for step in steps {
            match step {
                Step::Run(_, job) => *self.running.borrow_mut() = Some(job),
                Step::Cancelled(job) => {
                    self.cancelled.set(self.cancelled.get() + 1);
                    *job.answer.borrow_mut() = Some(Offload::Cancelled);
                }
                Step::Unavailable(job) => *job.answer.borrow_mut() = Some(Offload::Unavailable),
            }
        }
    }

    /// Finishes the running job (decoding it as a worker would), then dispatches the next.
    fn pump(&self) {
        if self.budget.get() == 0 {
            return;
        }
        let Some(job) = self.running.borrow_mut().take() else { return };
        self.budget.set(self.budget.get() - 1);
        let file = dicom_parser_lite::DicomBuffer::new(&job.bytes);
        let frame = file.parse().and_then(|f| {
            self.decoded.borrow_mut().push(f.dataset().string(dicom_parser_lite::tags::SOP_INSTANCE_UID).unwrap_or_default());
            dicom_parser_lite::pixel::decode_frame(&f, job.index as usize)
        });
        *job.answer.borrow_mut() = Some(Offload::Done(frame.map_err(Into::into)));
        self.carry_out(|d| d.finished(0));
    }
}

struct Decoder(Rc<FakeWorkers>);

impl FrameDecoder for Decoder {
    fn decode(&self, bytes: &[u8], index: u32, cancel: &CancelToken) -> LocalBoxFuture<'static, Offload> {
        let answer: Answer = Rc::default();
        let job = Job { bytes: bytes.to_vec(), index, answer: answer.clone() };
        self.0.carry_out(|d| d.submit(job, cancel.clone()));
        let fake = self.0.clone();
        Box::pin(std::future::poll_fn(move |cx| {
            fake.pump();
            match answer.borrow_mut().take() {
                Some(offload) => std::task::Poll::Ready(offload),
                None => {
                    cx.waker().wake_by_ref();
                    std::task::Poll::Pending
                }
            }
        }))
    }

    fn takes(&self, _bytes: &[u8]) -> bool {
        !self.0.dead
    }
}

fn session_with_workers(fake: &Rc<FakeWorkers>) -> (TestSession, HeldServers, Rc<Recorder>) {
    let (session, servers, screen) = session();
    (session.with_decoder(Rc::new(Decoder(fake.clone()))), servers, screen)
}

#[test]
fn frames_decoded_by_workers_are_verified_and_stacked_in_order() {
    let fake = FakeWorkers::new();
    let (session, _, screen) = session_with_workers(&fake);
    block_on(session.open_patient("a")).expect("opens");
    let stacked: Vec<String> = screen
        .0
        .borrow()
        .iter()
        .filter_map(|u| match u {
            Update::StackFrame { instance_uid, image, .. } => {
                assert_eq!(image.patient().id, "a");
                Some(instance_uid.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(stacked, ["1.1.1.1", "1.1.1.2", "1.1.1.3"]);
    assert!(fake.decoded.borrow().contains(&"1.1.1.3".to_string()), "the worker decoded them: {:?}", fake.decoded.borrow());
}

#[test]
fn another_patients_frame_from_a_worker_blocks() {
    let fake = FakeWorkers::new();
    let mut world = world();
    world.studies[0].instances[2] = instance("1.1.1", "1.1.1.3", B);
    let (session, _, screen) = session_with(world);
    let session = session.with_decoder(Rc::new(Decoder(fake.clone())));
    assert!(matches!(block_on(session.open_patient("a")), Err(SessionError::WrongPatient(_))));
    assert!(images_since_clear(&screen).iter().all(|(_, p)| p == "a"));
    assert!(fake.decoded.borrow().contains(&"1.1.1.3".to_string()));
}

#[test]
fn a_study_switch_drops_the_workers_queued_decodes_and_draws_nothing_stale() {
    let fake = FakeWorkers::new();
    let (session, _, screen) = session_with_workers(&fake);
    // The first image only: the stack's decodes then queue up behind a busy worker.
    fake.budget.set(1);
    let switch = || async {
        let mut opening = Box::pin(session.open_study("1.2"));
        // Its first poll starts the new study (and ends the old one's claim) before any decode runs again.
        let _ = futures_util::future::poll_fn(|cx| std::task::Poll::Ready(opening.as_mut().poll(cx))).await;
        fake.budget.set(usize::MAX);
        opening.await
    };
    let (first, second) = interleave(session.open_patient("a"), || fake.queued() >= 2, switch);
    second.expect("the second study opens");
    assert!(matches!(first, Ok(()) | Err(SessionError::Superseded)), "{first:?}");
    assert!(fake.cancelled.get() >= 2, "the queued decodes were dropped: {}", fake.cancelled.get());
    assert!(!fake.decoded.borrow().contains(&"1.1.1.3".to_string()), "never decoded: {:?}", fake.decoded.borrow());
    let updates = screen.0.borrow();
    let opened = updates.iter().rposition(|u| matches!(u, Update::StudyOpened(s) if s.study_uid == "1.2")).expect("opened");
    assert!(
        !updates[opened..].iter().any(|u| matches!(u, Update::StackFrame { instance_uid, .. } if instance_uid.starts_with("1.1."))),
        "nothing of study 1.1 after 1.2 opened"
    );
    assert!(updates[opened..].iter().any(|u| matches!(u, Update::StackFrame { instance_uid, .. } if instance_uid == "1.2.1.1")));
}

#[test]
fn without_workers_frames_are_decoded_here() {
    let fake = Rc::new(FakeWorkers { dead: true, ..Default::default() });
    let (session, _, screen) = session_with_workers(&fake);
    block_on(session.open_patient("a")).expect("opens");
    assert_eq!(count(&screen, |u| matches!(u, Update::StackFrame { .. })), 3);
    assert!(fake.decoded.borrow().is_empty());
}

#[test]
fn a_worker_that_dies_hands_its_jobs_back_to_the_main_thread() {
    let fake = FakeWorkers::new();
    fake.budget.set(0);
    let (session, _, screen) = session_with_workers(&fake);
    let (opened, ()) = interleave(
        session.open_patient("a"),
        || fake.queued() + usize::from(fake.running.borrow().is_some()) > 0,
        || async {
            // The worker dies: its running job and the queue come back as unavailable.
            if let Some(job) = fake.running.borrow_mut().take() {
                *job.answer.borrow_mut() = Some(Offload::Unavailable);
            }
            fake.carry_out(|d| d.failed(0));
        },
    );
    opened.expect("opens, decoded here");
    assert_eq!(count(&screen, |u| matches!(u, Update::StackFrame { .. })), 3);
}
