//! Image geometry for the overlays: orientation labels, slice position, the scale bar, and
//! viewport arithmetic. Pure functions, so they are tested natively.
//!
//! DICOM's patient coordinate system (PS3.3 C.7.6.2.1.1) is LPS: +x towards the patient's
//! Left, +y Posterior, +z Head. Image Orientation (Patient) gives the direction cosines of the
//! first row (left to right on screen) and of the first column (top to bottom).

/// The letters at the four edges of the image.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EdgeLabels {
    pub left: String,
    pub right: String,
    pub top: String,
    pub bottom: String,
}

/// Below this a direction cosine does not earn a letter (an oblique label shows at most the
/// axes that matter, e.g. `LA`, not noise from rounding).
const OBLIQUE_THRESHOLD: f64 = 0.25;

/// The label of a direction in LPS: one letter per axis it points along noticeably, the
/// strongest first (`[1,0,0]` → `L`, `[0,-0.7,0.7]` → `AH` or `HA`).
pub fn direction_label(v: [f64; 3]) -> String {
    let letters = [('L', 'R'), ('P', 'A'), ('H', 'F')];
    let mut axes: Vec<(f64, char)> = v
        .iter()
        .zip(letters)
        .filter(|(c, _)| c.is_finite() && c.abs() > OBLIQUE_THRESHOLD)
        .map(|(&c, (pos, neg))| (c.abs(), if c > 0.0 { pos } else { neg }))
        .collect();
    // Strongest first, ties in axis order: an insertion sort of at most three entries, instead
    // of a generic stable sort's code.
    for i in 1..axes.len() {
        let mut j = i;
        while j > 0 && axes[j - 1].0 < axes[j].0 {
            axes.swap(j - 1, j);
            j -= 1;
        }
    }
    axes.into_iter().map(|(_, l)| l).collect()
}

/// Edge labels from Image Orientation (Patient): the right edge is where the row direction
/// points, the bottom edge where the column direction points, the others their opposites.
/// `None` for a missing or degenerate orientation (then no markers are better than wrong ones).
pub fn edge_labels(iop: &[f64; 6]) -> Option<EdgeLabels> {
    let row = [iop[0], iop[1], iop[2]];
    let col = [iop[3], iop[4], iop[5]];
    let norm = |v: [f64; 3]| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    if !(0.5..1.5).contains(&norm(row)) || !(0.5..1.5).contains(&norm(col)) {
        return None;
    }
    let neg = |v: [f64; 3]| [-v[0], -v[1], -v[2]];
    Some(EdgeLabels {
        left: direction_label(neg(row)),
        right: direction_label(row),
        top: direction_label(neg(col)),
        bottom: direction_label(col),
    })
}

/// Edge labels from Patient Orientation (PS3.3 C.7.6.1.1.1): the row direction is the right
/// edge's, the column direction the bottom edge's, each opposite letter for the other edge.
/// `None` unless both are made only of the six direction letters.
pub fn edge_labels_from_patient_orientation([row, column]: &[String; 2]) -> Option<EdgeLabels> {
    let opposite = |v: &str| -> Option<String> {
        v.chars()
            .map(|c| match c {
                'L' => Some('R'),
                'R' => Some('L'),
                'A' => Some('P'),
                'P' => Some('A'),
                'H' => Some('F'),
                'F' => Some('H'),
                _ => None,
            })
            .collect::<Option<String>>()
            .filter(|s| !s.is_empty())
    };
    Some(EdgeLabels {
        left: opposite(row)?,
        right: opposite(&opposite(row)?)?,
        top: opposite(column)?,
        bottom: opposite(&opposite(column)?)?,
    })
}

/// The slice's position along its normal (row × column) in mm: the value that orders a stack
/// and that the overlay shows. `None` without position or orientation.
pub fn slice_position(ipp: &[f64; 3], iop: &[f64; 6]) -> Option<f64> {
    let (r, c) = ([iop[0], iop[1], iop[2]], [iop[3], iop[4], iop[5]]);
    let n = [r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]];
    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    if !len.is_finite() || len < 1e-6 {
        return None;
    }
    Some((ipp[0] * n[0] + ipp[1] * n[1] + ipp[2] * n[2]) / len)
}

/// The index of the slice whose position along the normal is nearest `target`: how a second
/// viewport follows the first through a stack of other spacing. `positions` may come in any
/// order; a position that is not finite is skipped, and a tie goes to the lower index so the
/// answer does not flicker between two equidistant slices. `None` when no position is finite
/// or `target` is not.
pub fn nearest_slice(positions: &[f64], target: f64) -> Option<usize> {
    if !target.is_finite() {
        return None;
    }
    let mut best: Option<(usize, f64)> = None;
    for (i, &p) in positions.iter().enumerate() {
        if !p.is_finite() {
            continue;
        }
        let d = (p - target).abs();
        if best.is_none_or(|(_, b)| d < b) {
            best = Some((i, d));
        }
    }
    best.map(|(i, _)| i)
}

/// The slice of `follower` (each slice's Image Position (Patient), if it has one) nearest the
/// leader's slice at `leader_ipp` with orientation `leader_iop`, both measured along the
/// leader's normal: two stacks of other spacing, start or order are matched by where their
/// slices lie, never by index. `None` without a usable orientation or any positioned slice.
pub fn linked_slice(leader_ipp: &[f64; 3], leader_iop: &[f64; 6], follower: &[Option<[f64; 3]>]) -> Option<usize> {
    let target = slice_position(leader_ipp, leader_iop)?;
    let positions: Vec<f64> =
        follower.iter().map(|ipp| ipp.as_ref().and_then(|ipp| slice_position(ipp, leader_iop)).unwrap_or(f64::NAN)).collect();
    nearest_slice(&positions, target)
}

/// A scale bar: its length in mm and in screen pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleBar {
    pub mm: f64,
    pub screen_px: f64,
}

/// The longest "nice" length (1, 2 or 5 × 10ⁿ mm) whose bar fits in `max_screen_px`, for a
/// column spacing of `spacing_mm` per image pixel shown at `screen_px_per_image_px`.
pub fn scale_bar(spacing_mm: f64, screen_px_per_image_px: f64, max_screen_px: f64) -> Option<ScaleBar> {
    if !(spacing_mm > 0.0 && screen_px_per_image_px > 0.0 && max_screen_px > 0.0 && spacing_mm.is_finite()) {
        return None;
    }
    let px_per_mm = screen_px_per_image_px / spacing_mm;
    let max_mm = max_screen_px / px_per_mm;
    let mut best = None;
    let mut decade = 1e-3;
    while decade <= 1e4 {
        for step in [1.0, 2.0, 5.0] {
            let mm = step * decade;
            if mm <= max_mm {
                best = Some(mm);
            }
        }
        decade *= 10.0;
    }
    best.map(|mm| ScaleBar { mm, screen_px: mm * px_per_mm })
}

/// The zoom (screen px per image px) that fits an image in a container, keeping its aspect.
pub fn fit_zoom(container: (f64, f64), image: (u32, u32)) -> f64 {
    let (cw, ch) = container;
    let (iw, ih) = (f64::from(image.0.max(1)), f64::from(image.1.max(1)));
    let z = (cw / iw).min(ch / ih);
    if z.is_finite() && z > 0.0 {
        z
    } else {
        1.0
    }
}

/// Height of an image pixel relative to its width, from Pixel Spacing (row spacing, column
/// spacing): non-square pixels are shown with their true proportions. 1 when unknown.
pub fn pixel_aspect(spacing: Option<[f64; 2]>) -> f64 {
    match spacing {
        Some([row, col]) if row > 0.0 && col > 0.0 && row.is_finite() && col.is_finite() => (row / col).clamp(0.1, 10.0),
        _ => 1.0,
    }
}

/// [`fit_zoom`] for an image whose pixels are `aspect` times as tall as wide.
pub fn fit_zoom_aspect(container: (f64, f64), image: (u32, u32), aspect: f64) -> f64 {
    let (cw, ch) = container;
    let (iw, ih) = (f64::from(image.0.max(1)), f64::from(image.1.max(1)) * aspect);
    let z = (cw / iw).min(ch / ih);
    if z.is_finite() && z > 0.0 {
        z
    } else {
        1.0
    }
}

/// Two fingers on the viewport: where they were when the pinch began, and the view then.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pinch {
    pub zoom: f64,
    /// The image centre's offset from the viewport centre, screen px.
    pub pan: (f64, f64),
    pub fingers: [(f64, f64); 2],
}

impl Pinch {
    /// Zoom and pan with the fingers at `now` (screen px, relative to the viewport centre):
    /// the zoom follows their spread, and the image point under their midpoint at the start
    /// stays under their midpoint, so the image moves with the hand.
    pub fn view_at(&self, now: [(f64, f64); 2]) -> (f64, (f64, f64)) {
        let spread = |f: [(f64, f64); 2]| (f[0].0 - f[1].0).hypot(f[0].1 - f[1].1);
        let mid = |f: [(f64, f64); 2]| ((f[0].0 + f[1].0) / 2.0, (f[0].1 + f[1].1) / 2.0);
        let (s0, s1) = (spread(self.fingers), spread(now));
        let ratio = if s0 >= 1.0 && s1.is_finite() { s1 / s0 } else { 1.0 };
        let zoom = (self.zoom * ratio).clamp(0.05, 40.0);
        let ratio = zoom / self.zoom;
        let ((m0x, m0y), (mx, my)) = (mid(self.fingers), mid(now));
        (zoom, (mx - (m0x - self.pan.0) * ratio, my - (m0y - self.pan.1) * ratio))
    }
}

/// A second tap within this long (ms) and this near (px) of the first is a double tap.
const DOUBLE_TAP_MS: f64 = 300.0;
const DOUBLE_TAP_PX: f64 = 30.0;
/// A touch that moved less than this (px) and lasted less than this (ms) is a tap.
const TAP_SLOP_PX: f64 = 10.0;
const TAP_MS: f64 = 250.0;

/// Tells a double tap from taps and drags, from when and where each touch began and ended.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TapDetector {
    last_tap: Option<(f64, (f64, f64))>,
}

impl TapDetector {
    /// A touch went down at `down` (time ms, position px) and up at `up`: `true` when it
    /// completes a double tap (which then starts over).
    pub fn touch_ended(&mut self, down: (f64, (f64, f64)), up: (f64, (f64, f64))) -> bool {
        let moved = (up.1 .0 - down.1 .0).hypot(up.1 .1 - down.1 .1);
        if moved > TAP_SLOP_PX || up.0 - down.0 > TAP_MS {
            self.last_tap = None;
            return false;
        }
        let double = self.last_tap.is_some_and(|(t, p)| up.0 - t <= DOUBLE_TAP_MS && (up.1 .0 - p.0).hypot(up.1 .1 - p.1) <= DOUBLE_TAP_PX);
        self.last_tap = if double { None } else { Some(up) };
        double
    }
}

/// Zoom after a vertical drag of `dy` screen px (up zooms in), kept within sane limits.
pub fn zoom_after_drag(zoom: f64, dy: f64) -> f64 {
    (zoom * (-dy / 200.0).exp()).clamp(0.05, 40.0)
}

/// Window after a drag (PACS convention: right widens, down raises the level), scaled so a
/// full-width drag covers about the given data span. Width never falls below 1.
pub fn window_after_drag(center: f64, width: f64, dx: f64, dy: f64, span: f64) -> (f64, f64) {
    let k = (span / 512.0).max(0.25);
    (center + dy * k, (width + dx * k).max(1.0))
}

/// The next slice index after moving `delta`, clamped to the stack.
pub fn step_index(index: usize, delta: i64, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let last = len as i64 - 1;
    (index as i64 + delta).clamp(0, last) as usize
}

/// The slice index for a position `fraction` (0..1) along a scroll bar.
pub fn index_at_fraction(fraction: f64, len: usize) -> usize {
    if len == 0 || !fraction.is_finite() {
        return 0;
    }
    ((fraction.clamp(0.0, 1.0) * len as f64) as usize).min(len - 1)
}

/// The middle item of a stack, the one a thumbnail shows.
pub fn middle(len: usize) -> usize {
    len / 2
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_pinch_zooms_with_the_spread_and_keeps_the_point_under_the_fingers() {
        let pinch = super::Pinch { zoom: 1.0, pan: (10.0, 0.0), fingers: [(-50.0, 0.0), (50.0, 0.0)] };
        // Unchanged fingers: unchanged view.
        assert_eq!(pinch.view_at(pinch.fingers), (1.0, (10.0, 0.0)));
        // Spread to twice the distance about the same midpoint: twice the zoom; the image point
        // under the midpoint (10 px left of the image centre) stays there.
        let (zoom, pan) = pinch.view_at([(-100.0, 0.0), (100.0, 0.0)]);
        assert_eq!(zoom, 2.0);
        assert_eq!(pan, (20.0, 0.0));
        // Both fingers moved 30 px down: a two-finger pan.
        assert_eq!(pinch.view_at([(-50.0, 30.0), (50.0, 30.0)]), (1.0, (10.0, 30.0)));
        // Fingers together: the zoom stays within its limits.
        assert_eq!(pinch.view_at([(0.0, 0.0), (0.01, 0.0)]).0, 0.05);
        let degenerate = super::Pinch { fingers: [(0.0, 0.0), (0.0, 0.0)], ..pinch };
        assert_eq!(degenerate.view_at([(-50.0, 0.0), (50.0, 0.0)]).0, 1.0);
    }

    #[test]
    fn two_quick_near_taps_are_a_double_tap_and_drags_are_not_taps() {
        let mut taps = super::TapDetector::default();
        let tap = |t: f64, x: f64| ((t, (x, 0.0)), (t + 80.0, (x + 2.0, 0.0)));
        let (d, u) = tap(0.0, 100.0);
        assert!(!taps.touch_ended(d, u));
        let (d, u) = tap(200.0, 110.0);
        assert!(taps.touch_ended(d, u), "a second tap 120 ms later, 10 px away");
        let (d, u) = tap(400.0, 110.0);
        assert!(!taps.touch_ended(d, u), "a third tap starts over");
        let (d, u) = tap(1000.0, 110.0);
        assert!(!taps.touch_ended(d, u), "too late: a new first tap");
        assert!(!taps.touch_ended((1100.0, (110.0, 0.0)), (1150.0, (180.0, 0.0))), "a drag is no tap");
        let (d, u) = tap(1200.0, 110.0);
        assert!(!taps.touch_ended(d, u), "after a drag, a tap is a first tap");
        let (d, u) = tap(1300.0, 200.0);
        assert!(!taps.touch_ended(d, u), "too far from the first");
        assert!(!taps.touch_ended((1400.0, (200.0, 0.0)), (1700.0, (200.0, 0.0))), "a long press is no tap");
    }

    use super::*;

    fn labels(l: &str, r: &str, t: &str, b: &str) -> EdgeLabels {
        EdgeLabels { left: l.into(), right: r.into(), top: t.into(), bottom: b.into() }
    }

    #[test]
    fn standard_planes() {
        // Axial: rows run to the patient's left, columns to posterior.
        assert_eq!(edge_labels(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]), Some(labels("R", "L", "A", "P")));
        // Coronal: rows to the left, columns to the feet.
        assert_eq!(edge_labels(&[1.0, 0.0, 0.0, 0.0, 0.0, -1.0]), Some(labels("R", "L", "H", "F")));
        // Sagittal: rows to posterior, columns to the feet.
        assert_eq!(edge_labels(&[0.0, 1.0, 0.0, 0.0, 0.0, -1.0]), Some(labels("A", "P", "H", "F")));
    }

    #[test]
    fn oblique_strongest_axis_first_and_degenerate_refused() {
        let s = std::f64::consts::FRAC_1_SQRT_2;
        assert_eq!(direction_label([0.0, -0.6, 0.8]), "HA");
        assert_eq!(direction_label([s, s, 0.1]), "LP");
        assert_eq!(edge_labels(&[0.0; 6]), None);
        assert_eq!(edge_labels(&[f64::NAN, 0.0, 0.0, 0.0, 1.0, 0.0]), None);
        // A chest PA: rows toward the patient's left, columns toward the feet.
        let pa = ["L".to_string(), "F".to_string()];
        assert_eq!(super::edge_labels_from_patient_orientation(&pa), Some(labels("R", "L", "H", "F")));
        let oblique = ["AL".to_string(), "F".to_string()];
        assert_eq!(super::edge_labels_from_patient_orientation(&oblique), Some(labels("PR", "AL", "H", "F")));
        assert_eq!(super::edge_labels_from_patient_orientation(&["L".to_string(), String::new()]), None);
        assert_eq!(super::edge_labels_from_patient_orientation(&["X".to_string(), "F".to_string()]), None);
    }

    #[test]
    fn slice_position_follows_the_normal() {
        let axial = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
        assert_eq!(slice_position(&[-100.0, -100.0, -12.5], &axial), Some(-12.5));
        // Coronal normal is row × col = (1,0,0) × (0,0,-1) = (0,1,0).
        assert_eq!(slice_position(&[0.0, 30.0, 5.0], &[1.0, 0.0, 0.0, 0.0, 0.0, -1.0]), Some(30.0));
        assert_eq!(slice_position(&[0.0, 0.0, 0.0], &[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]), None);
    }

    #[test]
    fn scale_bar_picks_nice_lengths() {
        // 0.7 mm/px at zoom 1: 100 px max → 70 mm → 50 mm bar of 71.4 px.
        let bar = scale_bar(0.7, 1.0, 100.0).unwrap();
        assert_eq!(bar.mm, 50.0);
        assert!((bar.screen_px - 50.0 / 0.7).abs() < 1e-9);
        // Zoomed in 4×: 100 px show 17.5 mm → 10 mm.
        assert_eq!(scale_bar(0.7, 4.0, 100.0).unwrap().mm, 10.0);
        assert_eq!(scale_bar(0.0, 1.0, 100.0), None);
        assert_eq!(scale_bar(f64::NAN, 1.0, 100.0), None);
    }

    #[test]
    fn viewport_arithmetic() {
        assert_eq!(fit_zoom((256.0, 512.0), (512, 512)), 0.5);
        assert_eq!(fit_zoom((0.0, 0.0), (512, 512)), 1.0);
        assert_eq!(pixel_aspect(Some([0.5, 0.25])), 2.0);
        assert_eq!(pixel_aspect(Some([0.0, 0.25])), 1.0);
        assert_eq!(pixel_aspect(None), 1.0);
        // 100×100 pixels twice as tall as wide fit a 400×400 box at zoom 2 (200 px wide, 400 tall).
        assert_eq!(fit_zoom_aspect((400.0, 400.0), (100, 100), 2.0), 2.0);
        assert!(zoom_after_drag(1.0, -100.0) > 1.0);
        assert_eq!(zoom_after_drag(1.0, 1e9), 0.05);
        assert_eq!(window_after_drag(40.0, 400.0, 10.0, -5.0, 512.0), (35.0, 410.0));
        assert_eq!(window_after_drag(40.0, 2.0, -100.0, 0.0, 512.0).1, 1.0);
        assert_eq!(step_index(0, -1, 5), 0);
        assert_eq!(step_index(3, 10, 5), 4);
        assert_eq!(step_index(3, 1, 0), 0);
        assert_eq!(index_at_fraction(0.999, 5), 4);
        assert_eq!(index_at_fraction(1.0, 5), 4);
        assert_eq!(index_at_fraction(-1.0, 5), 0);
        assert_eq!(middle(5), 2);
    }

    #[test]
    fn the_nearest_slice_is_found_in_any_order_and_ties_go_to_the_lower_index() {
        use super::nearest_slice;
        // Descending, as a stack from head to feet comes.
        let stack = [4.0, -4.0, -12.0, -20.0];
        assert_eq!(nearest_slice(&stack, 0.5), Some(0));
        assert_eq!(nearest_slice(&stack, -0.5), Some(1));
        assert_eq!(nearest_slice(&stack, 0.0), Some(0), "a tie: the lower index");
        assert_eq!(nearest_slice(&stack, 100.0), Some(0), "beyond the stack: its nearest end");
        assert_eq!(nearest_slice(&stack, -100.0), Some(3));
        assert_eq!(nearest_slice(&[-20.0, 4.0, -12.0, -4.0], -9.0), Some(2), "unsorted");
        assert_eq!(nearest_slice(&[1.0, 1.0, 1.0], 1.0), Some(0), "duplicates: the first");
        // Positions that are not finite are skipped; a target that is not finite finds none.
        assert_eq!(nearest_slice(&[f64::NAN, 3.0, f64::INFINITY], 100.0), Some(1));
        assert_eq!(nearest_slice(&[f64::NAN, f64::NEG_INFINITY], 0.0), None);
        assert_eq!(nearest_slice(&stack, f64::NAN), None);
        assert_eq!(nearest_slice(&stack, f64::INFINITY), None);
        assert_eq!(nearest_slice(&[], 0.0), None);
    }

    #[test]
    fn a_linked_slice_is_matched_by_position_along_the_leaders_normal() {
        use super::linked_slice;
        const AXIAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
        // The prior: 8 mm slices from z = +4 down; the current: 5 mm from z = 0 down.
        let prior: Vec<Option<[f64; 3]>> = (0..6).map(|i| Some([-100.0, -80.0, 4.0 - 8.0 * f64::from(i)])).collect();
        for (i, want) in [(0, 0), (1, 1), (2, 2), (3, 2), (4, 3), (5, 4), (6, 4), (7, 5)] {
            let z = -5.0 * f64::from(i);
            assert_eq!(linked_slice(&[0.0, 0.0, z], &AXIAL, &prior), Some(want), "current slice {i} at z {z}");
            let got = prior[want].map(|p| p[2]).unwrap_or(f64::NAN);
            assert!((got - z).abs() <= 4.0, "within half the prior's spacing: {got} for {z}");
        }
        assert_eq!(linked_slice(&[0.0, 0.0, -60.0], &AXIAL, &prior), Some(5), "beyond the prior: its nearest end");
        // The row offset (x, y) does not move a slice along the normal; the order does not matter.
        let mut reversed = prior.clone();
        reversed.reverse();
        assert_eq!(linked_slice(&[55.0, -20.0, -10.0], &AXIAL, &reversed), Some(3), "z -12 is the nearest of -10");
        // A slice without a position is skipped; without an orientation nothing is matched.
        let gaps = [None, Some([0.0, 0.0, -20.0]), None];
        assert_eq!(linked_slice(&[0.0, 0.0, 0.0], &AXIAL, &gaps), Some(1));
        assert_eq!(linked_slice(&[0.0, 0.0, 0.0], &[0.0; 6], &prior), None);
        assert_eq!(linked_slice(&[0.0, 0.0, 0.0], &AXIAL, &[None, None]), None);
        // A leader tilted about x: positions are read along its own normal (0, -sin, cos).
        let (s, c) = (0.3_f64.sin(), 0.3_f64.cos());
        let tilted = [1.0, 0.0, 0.0, 0.0, c, s];
        let follower: Vec<Option<[f64; 3]>> = (0..5).map(|i| Some([0.0, -s * 10.0 * f64::from(i), c * 10.0 * f64::from(i)])).collect();
        assert_eq!(linked_slice(&[0.0, -s * 21.0, c * 21.0], &tilted, &follower), Some(2));
    }

    /// Against a reference that sorts every finite candidate by (distance, index), on stacks
    /// with duplicates, ties on grid points and NaNs.
    #[test]
    fn the_nearest_slice_equals_a_brute_force_reference() {
        use super::nearest_slice;
        fn reference(positions: &[f64], target: f64) -> Option<usize> {
            if !target.is_finite() {
                return None;
            }
            let mut all: Vec<(f64, usize)> =
                positions.iter().enumerate().filter(|(_, p)| p.is_finite()).map(|(i, p)| ((p - target).abs(), i)).collect();
            crate::sorting::sort_by(&mut all, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            all.first().map(|&(_, i)| i)
        }
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..5000 {
            let len = (next() % 12) as usize;
            // Half-millimetre grid points: ties and duplicates are common.
            let positions: Vec<f64> =
                (0..len).map(|_| if next() % 10 == 0 { f64::NAN } else { (next() % 81) as f64 * 0.5 - 20.0 }).collect();
            let target = if next() % 50 == 0 { f64::NAN } else { (next() % 101) as f64 * 0.25 - 12.5 };
            assert_eq!(nearest_slice(&positions, target), reference(&positions, target), "{positions:?} to {target}");
        }
    }
}
