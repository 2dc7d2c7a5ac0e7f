//! A prior side by side with the open study: a second stack, loaded and verified like the
//! first, and the rule that keeps the two viewports on the same place in the patient.
//!
//! The prior's images are checked against the patient in context like every image; one of
//! another patient blocks both viewports. The comparison ends with the open study (another
//! study, a patient switch, a close) or when the user closes it; a new series in the open
//! study leaves it.
//!
//! Linked scrolling matches slices by their position along the leading viewport's normal
//! (Image Position (Patient) · normal, [`geometry::linked_slice`]), never by index: a prior
//! usually has another spacing, start and slice count. Positions are compared as they are;
//! two studies have their own frames of reference, so a patient lying otherwise shifts the
//! match by that much, as in every viewer that links without registration.

use super::load::STACK_BUDGET_BYTES;
use super::{is_comparable, Generation, Scope, Screen, Session, SessionError, Update};
use crate::bridge::{SeriesRef, Study};
use crate::imaging::{decode_for, decode_frame_for, geometry};
use crate::net::Transport;
use futures_util::StreamExt;

/// One of the comparison's two viewports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The open study's.
    Current,
    /// The prior's.
    Prior,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Current => Side::Prior,
            Side::Prior => Side::Current,
        }
    }
}

/// What the comparison's viewport is told; the open study's viewport hears [`Update`]s.
#[derive(Debug, Clone)]
pub enum Comparison {
    /// The prior chosen: the second viewport empties and shows this study.
    Opened(Box<Study>),
    /// Its series, as a stack of `total` instances; frames follow in display order.
    Stack { study_uid: String, series_uid: String, total: usize },
    Frame {
        instance_uid: String,
        image: crate::imaging::VerifiedImage,
        /// Its instance's place in the series' display order.
        position: usize,
    },
    /// Every frame of one more instance is in the stack.
    InstanceDone,
    /// Back to one viewport.
    Closed,
}

/// Keeps the viewports on the nearest slices. Each viewport reports the slice it shows, the
/// user's move or the one this link made; the link answers with the other's slice, and
/// knows its own move when it comes back, so the two never chase each other (a 5 mm and an
/// 8 mm stack do not map back onto the same slice).
#[derive(Debug, Default)]
pub struct ScrollLink {
    /// The move made last, not yet reported back.
    echo: Option<(Side, usize)>,
}

/// A slice for the link: its Image Position (Patient) and Image Orientation (Patient).
pub type SliceGeometry = (Option<[f64; 3]>, Option<[f64; 6]>);

impl ScrollLink {
    /// `side` now shows slice `index` of `leader`; `follower` is the other stack and shows
    /// slice `follower_index`. Returns the slice the other viewport must show, or `None` when
    /// this is the link's own move coming back, the other already shows the nearest, or the
    /// slices have no geometry to match by.
    pub fn moved(
        &mut self,
        side: Side,
        index: usize,
        leader: &[SliceGeometry],
        follower: &[SliceGeometry],
        follower_index: usize,
    ) -> Option<usize> {
        // Only this side's report answers the move the link made on it.
        if let Some((_, echo_index)) = self.echo.filter(|(s, _)| *s == side) {
            self.echo = None;
            if echo_index == index {
                return None;
            }
        }
        let (Some(ipp), Some(iop)) = leader.get(index).copied()? else { return None };
        let positions: Vec<Option<[f64; 3]>> = follower.iter().map(|(ipp, _)| *ipp).collect();
        let target = geometry::linked_slice(&ipp, &iop, &positions)?;
        if target == follower_index {
            return None;
        }
        self.echo = Some((side.other(), target));
        Some(target)
    }
}

impl ScrollLink {
    /// The slice a follower shows when its first frames arrive: the nearest to the leader's,
    /// as [`ScrollLink::moved`] finds it, and waited for as the link's own move even when the
    /// follower shows it already.
    pub fn place(&mut self, side: Side, index: usize, leader: &[SliceGeometry], follower: &[SliceGeometry]) -> Option<usize> {
        let (Some(ipp), Some(iop)) = leader.get(index).copied()? else { return None };
        let positions: Vec<Option<[f64; 3]>> = follower.iter().map(|(ipp, _)| *ipp).collect();
        let target = geometry::linked_slice(&ipp, &iop, &positions)?;
        self.echo = Some((side.other(), target));
        Some(target)
    }
}

/// The prior's series to stack: its first image series of the modality the open viewport
/// shows, else its first image series.
pub fn prior_series<'a>(prior: &'a Study, shown_modality: Option<&str>) -> Option<&'a SeriesRef> {
    let images = prior.image_series();
    let same = |s: &&&SeriesRef| matches!((s.modality.as_deref(), shown_modality), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b));
    images.iter().find(same).or(images.first()).copied()
}

impl<T: Transport, S: Screen> Session<T, S> {
    /// Shows listed study `study_uid` beside the open one, if the two compare
    /// ([`is_comparable`]): its series of the shown modality, verified, in a second viewport.
    /// A comparison open before is replaced. Resolves when its stack is loaded.
    pub async fn compare(&self, study_uid: &str) -> Result<(), SessionError> {
        let current = self.selected_study()?;
        let prior = self.listed_study(study_uid).ok_or_else(|| SessionError::StudyNotLoaded(study_uid.to_string()))?;
        if !is_comparable(&current, &prior) {
            return Err(self.fail(SessionError::NotComparable(study_uid.to_string())));
        }
        self.close_comparison();
        let generation = self.generations.beside(Scope::Study);
        self.state.borrow_mut().comparison = Some((study_uid.to_string(), generation.clone()));
        self.screen.apply(Update::Comparison(Comparison::Opened(Box::new(prior.clone()))));
        let shown_modality = {
            let state = self.state.borrow();
            let series = state.stack.as_ref().map(|(_, series)| series.clone());
            series.and_then(|uid| current.series.iter().find(|s| s.uid == uid).and_then(|s| s.modality.clone()))
        };
        match self.load_prior(&prior, shown_modality.as_deref(), &generation).await {
            Ok(()) | Err(SessionError::Superseded) => Ok(()),
            Err(e @ SessionError::WrongPatient(_)) => Err(e),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Back to one viewport: the prior's loads stop and its images go.
    pub fn close_comparison(&self) {
        let open = self.state.borrow_mut().comparison.take();
        if let Some((_, generation)) = open {
            generation.token().cancel();
            self.screen.apply(Update::Comparison(Comparison::Closed));
        }
    }

    /// The study shown beside the open one, if any.
    pub fn compared_study_uid(&self) -> Option<String> {
        self.state.borrow().comparison.as_ref().map(|(uid, _)| uid.clone())
    }

    /// The prior's stack in display order, every frame verified against the patient.
    async fn load_prior(&self, prior: &Study, shown_modality: Option<&str>, generation: &Generation) -> Result<(), SessionError> {
        let series = prior_series(prior, shown_modality).ok_or_else(|| SessionError::NothingToCompare(prior.study_uid.clone()))?;
        let context = self.identity(generation).await?;
        let instances = self.bridge.series_instances(prior, series).await;
        if !generation.is_current() {
            return Err(SessionError::Superseded);
        }
        let instances = instances?;
        self.screen.apply(Update::Comparison(Comparison::Stack {
            study_uid: prior.study_uid.clone(),
            series_uid: series.uid.clone(),
            total: instances.len(),
        }));
        let token = generation.token().clone();
        // The series read from the persistent tier in one go (its images are asked for one by
        // one at `Visible`, which reads them alone).
        self.bridge.uncached(prior, &series.uid, &instances, &token).await;
        let mut fetched = futures_util::stream::iter(instances.iter().enumerate())
            .map(|(position, instance)| {
                let token = token.clone();
                async move { (position, instance, self.bridge.get_instance(prior, &series.uid, &instance.uid, &token).await) }
            })
            .buffered(crate::bridge::FETCH_AHEAD);
        let mut bytes_held = 0usize;
        while let Some((position, instance, bytes)) = fetched.next().await {
            if !generation.is_current() {
                return Err(SessionError::Superseded);
            }
            let bytes = bytes?;
            let first = self.verified(decode_for(&bytes, &context))?;
            let frames = first.header.number_of_frames;
            let frame_bytes = first.rows() as usize * first.columns() as usize * usize::from(first.info.bits_allocated.div_ceil(8)).max(1);
            bytes_held += frame_bytes.saturating_mul(frames as usize);
            self.screen.apply(Update::Comparison(Comparison::Frame { instance_uid: instance.uid.clone(), image: first, position }));
            for index in 1..frames {
                self.yield_now().await;
                if !generation.is_current() {
                    return Err(SessionError::Superseded);
                }
                let image = self.verified(decode_frame_for(&bytes, index, &context))?;
                self.screen.apply(Update::Comparison(Comparison::Frame { instance_uid: instance.uid.clone(), image, position }));
            }
            self.screen.apply(Update::Comparison(Comparison::InstanceDone));
            if bytes_held > STACK_BUDGET_BYTES {
                break;
            }
            self.yield_now().await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AXIAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];

    /// A stack of `n` axial slices `spacing` mm apart from `z0` down.
    fn stack(n: usize, z0: f64, spacing: f64) -> Vec<SliceGeometry> {
        (0..n).map(|i| (Some([0.0, 0.0, z0 - spacing * i as f64]), Some(AXIAL))).collect()
    }

    #[test]
    fn the_other_viewport_follows_to_the_nearest_slice_and_its_echo_is_ignored() {
        let (current, prior) = (stack(5, 0.0, 5.0), stack(6, 4.0, 8.0));
        let mut link = ScrollLink::default();
        // The current at z -10: the prior's nearest is -12 (index 2).
        assert_eq!(link.moved(Side::Current, 2, &current, &prior, 0), Some(2));
        // The prior reports that move back: nothing more happens.
        assert_eq!(link.moved(Side::Prior, 2, &prior, &current, 2), None);
        // The user scrolls the prior to z -20: the current follows to -20 (index 4), and
        // that move coming back does not send the prior anywhere.
        assert_eq!(link.moved(Side::Prior, 3, &prior, &current, 2), Some(4));
        assert_eq!(link.moved(Side::Current, 4, &current, &prior, 3), None);
        // Already on the nearest: no move, and no echo is waited for.
        assert_eq!(link.moved(Side::Current, 4, &current, &prior, 3), None);
        assert_eq!(link.moved(Side::Prior, 3, &prior, &current, 4), None);
        assert_eq!(link.moved(Side::Current, 0, &current, &prior, 3), Some(0));
    }

    #[test]
    fn a_move_other_than_the_echo_is_the_users_and_is_followed() {
        let (current, prior) = (stack(5, 0.0, 5.0), stack(6, 4.0, 8.0));
        let mut link = ScrollLink::default();
        assert_eq!(link.moved(Side::Current, 1, &current, &prior, 0), Some(1));
        // The user moved the prior before the link's move was reported.
        assert_eq!(link.moved(Side::Prior, 5, &prior, &current, 1), Some(4));
        // A stack still loading: the link moves the prior as far as it has slices.
        assert_eq!(ScrollLink::default().moved(Side::Current, 4, &current, &prior[..2], 0), Some(1));
    }

    #[test]
    fn another_sides_report_keeps_the_echo_waited_for() {
        let (current, prior) = (stack(5, 0.0, 5.0), stack(6, 4.0, 8.0));
        let mut link = ScrollLink::default();
        // The prior's first frames: placed at the current's nearest (z -15 → -12, index 2),
        // its echo waited for although the prior showed that index already.
        assert_eq!(link.place(Side::Current, 3, &current, &prior[..3]), Some(2));
        // More frames came: the current reports again before the prior's echo arrived.
        assert_eq!(link.moved(Side::Current, 3, &current, &prior, 2), None);
        // The echo: the current is not sent to the prior's nearest (z -10, index 2).
        assert_eq!(link.moved(Side::Prior, 2, &prior, &current, 3), None);
        assert_eq!(link.place(Side::Current, 0, &current, &[]), None);
    }

    #[test]
    fn slices_without_geometry_are_not_linked() {
        let current = stack(3, 0.0, 5.0);
        let mut link = ScrollLink::default();
        let unplaced: Vec<SliceGeometry> = vec![(None, None); 3];
        assert_eq!(link.moved(Side::Current, 1, &current, &unplaced, 0), None);
        assert_eq!(link.moved(Side::Prior, 1, &unplaced, &current, 0), None);
        assert_eq!(link.moved(Side::Current, 7, &current, &current, 0), None, "an index beyond the stack");
        assert_eq!(link.moved(Side::Current, 0, &current, &[], 0), None);
    }

    /// Every slice of the current, the prior shows a slice within half its spacing and the
    /// nearest of all, against a brute force over the prior's positions.
    #[test]
    fn every_current_slice_links_to_the_nearest_prior_slice_within_half_its_spacing() {
        let (current, prior) = (stack(40, 0.0, 5.0), stack(26, 4.0, 8.0));
        let mut link = ScrollLink::default();
        let mut shown = 0;
        for i in 0..current.len() {
            if let Some(j) = link.moved(Side::Current, i, &current, &prior, shown) {
                shown = j;
                assert_eq!(link.moved(Side::Prior, j, &prior, &current, i), None);
            }
            let z = current[i].0.map(|p| p[2]).unwrap_or(f64::NAN);
            let got = prior[shown].0.map(|p| p[2]).unwrap_or(f64::NAN);
            let best = prior.iter().filter_map(|(p, _)| p.map(|p| (p[2] - z).abs())).fold(f64::INFINITY, f64::min);
            assert!((got - z).abs() <= 4.0 && (got - z).abs() == best, "slice {i}: z {z}, prior {got}");
        }
    }

    #[test]
    fn the_priors_series_is_one_of_the_shown_modality() {
        use crate::fhir::ImagingStudy;
        let resource = serde_json::json!({"resourceType": "ImagingStudy", "id": "p",
        "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2"}],
        "series": [
            {"uid": "1.2.1", "number": 1, "modality": {"code": "SR"}},
            {"uid": "1.2.2", "number": 2, "modality": {"code": "PT"}},
            {"uid": "1.2.3", "number": 3, "modality": {"code": "CT"}}
        ]});
        let prior = Study::from_fhir(ImagingStudy::from_json(resource).unwrap());
        assert_eq!(prior_series(&prior, Some("ct")).map(|s| s.uid.as_str()), Some("1.2.3"));
        assert_eq!(prior_series(&prior, Some("MR")).map(|s| s.uid.as_str()), Some("1.2.2"), "else its first image series");
        assert_eq!(prior_series(&prior, None).map(|s| s.uid.as_str()), Some("1.2.2"));
    }
}
