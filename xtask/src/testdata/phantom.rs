//! Synthetic pixel content and its expected 8-bit rendering.
//!
//! Each phantom is defined in modality units (HU for CT, stored values for MR) so the expected
//! rendering follows from the definition alone, never from any parser. Every phantom has an
//! L-shaped marker in the top-left corner (a flip or rotation shows) and a small square whose
//! position depends on the slice (slice order shows); the bottom-right corner is always empty.

/// One slice in modality units, row-major, `rows * columns` values.
pub struct Slice {
    pub rows: u16,
    pub columns: u16,
    pub values: Vec<i32>,
}

fn inside_ellipse(x: f64, y: f64, cx: f64, cy: f64, a: f64, b: f64) -> f64 {
    ((x - cx) / a).powi(2) + ((y - cy) / b).powi(2)
}

fn l_marker(x: usize, y: usize, scale: usize) -> bool {
    let (x, y) = (x / scale, y / scale);
    ((4..8).contains(&x) && (4..28).contains(&y)) || ((4..20).contains(&x) && (24..28).contains(&y))
}

/// Fraction 0..=1 of the way through a series.
fn progress(slice: usize, count: usize) -> f64 {
    if count <= 1 {
        0.5
    } else {
        slice as f64 / (count - 1) as f64
    }
}

/// The chest CT's column and row spacing, mm.
pub const CT_CHEST_SPACING_MM: f64 = 0.7;

/// Centres (image pixel coordinates) of two 1000 HU dots in the air above the chest, exactly
/// 100.0 mm apart at the chest CT's 0.7 mm spacing: a ruler for length measurements.
pub const CT_CHEST_RULER: [(f64, f64); 2] = [(256.0 - 50.0 / CT_CHEST_SPACING_MM, 60.0), (256.0 + 50.0 / CT_CHEST_SPACING_MM, 60.0)];

/// The chest CT's "heart": a disk (centre, radius in pixels) of 60 + ((7x + 13y) mod 17) − 8
/// HU, every value 52..=68 alike: mean 60 HU, SD √((17² − 1) / 12) ≈ 4.90 HU.
pub const CT_CHEST_INSERT: ((f64, f64), f64) = ((256.0, 200.0), 24.0);

/// Chest CT, 512×512, in HU: air, a body with fat rim and 40 HU soft tissue, two lungs at
/// −800 HU whose height changes with the slice, a textured "heart", a horizontal ramp from
/// −200 to +278 HU (spans the whole 40/400 window and saturates at both ends), and a vertebra
/// ring 700–1200 HU around 150 HU marrow (gray under the soft-tissue window, so the ring shows),
/// and the ruler's two dots ([`CT_CHEST_RULER`]).
pub fn ct_chest(slice: usize, count: usize) -> Slice {
    let (rows, columns) = (512usize, 512usize);
    let t = progress(slice, count);
    let marker_x = 176 + (slice % 6) * 32;
    let mut values = Vec::with_capacity(rows * columns);
    for y in 0..rows {
        for x in 0..columns {
            let (fx, fy) = (x as f64 + 0.5, y as f64 + 0.5);
            let mut hu = -1000;
            let body = inside_ellipse(fx, fy, 256.0, 266.0, 220.0, 170.0);
            if body <= 1.0 {
                hu = if body > 0.93f64.powi(2) { -100 } else { 40 };
                let lung_height = 70.0 + 20.0 * t;
                if [166.0, 346.0].iter().any(|&lx| inside_ellipse(fx, fy, lx, 230.0, 58.0, lung_height) <= 1.0) {
                    hu = -800;
                }
                if inside_ellipse(fx, fy, 256.0, 200.0, 24.0, 24.0) <= 1.0 {
                    hu = 60 + ((x * 7 + y * 13) % 17) as i32 - 8;
                }
                if (330..350).contains(&y) && (136..376).contains(&x) {
                    hu = -200 + 2 * (x as i32 - 136);
                }
                let r = ((fx - 256.0).powi(2) + (fy - 390.0).powi(2)).sqrt();
                if r <= 28.0 {
                    hu = if r >= 18.0 { 700 + ((r - 18.0) * 50.0) as i32 } else { 150 };
                }
            }
            if (marker_x..marker_x + 12).contains(&x) && (120..132).contains(&y) {
                hu = 1000;
            }
            if CT_CHEST_RULER.iter().any(|&(mx, my)| (fx - mx).hypot(fy - my) <= 3.0) {
                hu = 1000;
            }
            if l_marker(x, y, 2) {
                hu = 1000;
            }
            values.push(hu);
        }
    }
    Slice { rows: rows as u16, columns: columns as u16, values }
}

/// Head MR, 256×256, stored values 0..=3000 (12 bits): a bright scalp rim, brain with a
/// left-to-right ramp 200..1195 (the 600/1200 window's whole range), bright ventricles that
/// grow with the slice.
pub fn mr_head(slice: usize, count: usize) -> Slice {
    let (rows, columns) = (256usize, 256usize);
    let t = progress(slice, count);
    let marker_x = 60 + (slice % 6) * 20;
    let mut values = Vec::with_capacity(rows * columns);
    for y in 0..rows {
        for x in 0..columns {
            let (fx, fy) = (x as f64 + 0.5, y as f64 + 0.5);
            let mut v = 0;
            let head = inside_ellipse(fx, fy, 128.0, 128.0, 100.0, 115.0);
            if head <= 1.0 {
                v = if head > 0.9f64.powi(2) { 1100 } else { 200 + 5 * (x as i32 - 28).clamp(0, 199) };
                let vh = 20.0 + 8.0 * t;
                if [113.0, 143.0].iter().any(|&vx| inside_ellipse(fx, fy, vx, 120.0, 8.0, vh) <= 1.0) {
                    v = 1500;
                }
            }
            if (marker_x..marker_x + 8).contains(&x) && (40..48).contains(&y) {
                v = 2000;
            }
            if l_marker(x, y, 1) {
                v = 3000;
            }
            values.push(v);
        }
    }
    Slice { rows: rows as u16, columns: columns as u16, values }
}

/// Head CT, 256×256, in HU: skull 1000 HU, brain 20..50 HU in bands, ventricles 5 HU; meant
/// for a 40/80 brain window.
pub fn ct_head(slice: usize, count: usize) -> Slice {
    let (rows, columns) = (256usize, 256usize);
    let t = progress(slice, count);
    let marker_x = 70 + (slice % 6) * 20;
    let mut values = Vec::with_capacity(rows * columns);
    for y in 0..rows {
        for x in 0..columns {
            let (fx, fy) = (x as f64 + 0.5, y as f64 + 0.5);
            let mut hu = -1000;
            let head = inside_ellipse(fx, fy, 128.0, 132.0, 95.0, 110.0);
            if head <= 1.0 {
                hu = if head > 0.88f64.powi(2) { 1000 } else { 20 + ((y / 16) % 4) as i32 * 10 };
                if inside_ellipse(fx, fy, 128.0, 128.0, 14.0, 18.0 + 10.0 * t) <= 1.0 {
                    hu = 5;
                }
            }
            if (marker_x..marker_x + 8).contains(&x) && (60..68).contains(&y) {
                hu = 80;
            }
            if l_marker(x, y, 1) {
                hu = 1000;
            }
            values.push(hu);
        }
    }
    Slice { rows: rows as u16, columns: columns as u16, values }
}

/// The chest radiograph's Imager Pixel Spacing (row, column), mm at the detector: not square.
pub const CR_IMAGER_SPACING_MM: (f64, f64) = (0.3, 0.2);

/// Its Estimated Radiographic Magnification Factor: the patient's plane is 1/1.25 of the detector's.
pub const CR_MAGNIFICATION: f64 = 1.25;

/// Centres of two dots exactly 100.0 mm apart in the patient's plane (60 mm across, 80 mm down):
/// 375 columns at 0.16 mm and 333⅓ rows at 0.24 mm once the magnification is corrected.
pub const CR_CHEST_RULER: [(f64, f64); 2] = {
    let (row_mm, column_mm) = (CR_IMAGER_SPACING_MM.0 / CR_MAGNIFICATION, CR_IMAGER_SPACING_MM.1 / CR_MAGNIFICATION);
    [(60.0, 80.0), (60.0 + 60.0 / column_mm, 80.0 + 80.0 / row_mm)]
};

/// Chest radiograph, 480 rows × 512 columns, 12-bit stored values (no rescale): a body of
/// 1400, two lungs of 700, a spine of 2200 and the ruler's dots ([`CR_CHEST_RULER`], within
/// 3 columns and 2 rows of each centre, so they look round) at 4000.
pub fn cr_chest() -> Slice {
    let (rows, columns) = (480usize, 512usize);
    let mut values = Vec::with_capacity(rows * columns);
    for y in 0..rows {
        for x in 0..columns {
            let (fx, fy) = (x as f64 + 0.5, y as f64 + 0.5);
            let mut v = 300;
            if inside_ellipse(fx, fy, 256.0, 250.0, 200.0, 210.0) <= 1.0 {
                v = 1400;
                if [176.0, 336.0].iter().any(|&lx| inside_ellipse(fx, fy, lx, 230.0, 60.0, 130.0) <= 1.0) {
                    v = 700;
                }
                if (240..272).contains(&x) {
                    v = 2200;
                }
            }
            if CR_CHEST_RULER.iter().any(|&(mx, my)| inside_ellipse(fx, fy, mx, my, 3.0, 2.0) <= 1.0) {
                v = 4000;
            }
            if l_marker(x, y, 2) {
                v = 4000;
            }
            values.push(v);
        }
    }
    Slice { rows: rows as u16, columns: columns as u16, values }
}

/// DICOM PS3.3 C.11.2.1.2.1 (VOI LUT Function LINEAR), output range 0..=255, in f64.
pub fn linear_window(m: f64, center: f64, width: f64) -> u8 {
    let w = if width < 1.0 { 1.0 } else { width };
    let c = center;
    if m <= c - 0.5 - (w - 1.0) / 2.0 {
        0
    } else if m > c - 0.5 + (w - 1.0) / 2.0 {
        255
    } else {
        let y = ((m - (c - 0.5)) / (w - 1.0) + 0.5) * 255.0;
        (y + 0.5).floor().clamp(0.0, 255.0) as u8
    }
}

/// The expected rendering of a slice whose modality values are `values`.
pub fn expected_gray8(values: &[i32], center: f64, width: f64) -> Vec<u8> {
    values.iter().map(|&m| linear_window(f64::from(m), center, width)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_window_matches_the_standard() {
        assert_eq!(linear_window(-1000.0, 40.0, 400.0), 0);
        assert_eq!(linear_window(40.0, 40.0, 400.0), 128);
        assert_eq!(linear_window(1000.0, 40.0, 400.0), 255);
        assert_eq!(linear_window(-160.0, 40.0, 400.0), 0, "the lower bound is inclusive");
        assert_eq!(linear_window(-159.0, 40.0, 400.0), 1);
        assert_eq!(linear_window(239.0, 40.0, 400.0), 255);
        assert_eq!(linear_window(600.0, 600.0, 1200.0), 128);
        // Width below 1 is treated as 1: a hard threshold at c - 0.5.
        assert_eq!(linear_window(10.0, 10.0, 0.0), 255);
        assert_eq!(linear_window(9.0, 10.0, 0.0), 0);
    }

    #[test]
    fn the_ct_ramp_covers_the_whole_output_range() {
        let s = ct_chest(0, 5);
        let out = expected_gray8(&s.values, 40.0, 400.0);
        let mut seen = [false; 256];
        for y in 330..350 {
            for x in 136..376 {
                seen[out[y * 512 + x] as usize] = true;
            }
        }
        // Steps of 2 HU over a 400 HU window: nearly every output level appears.
        assert!(seen.iter().filter(|&&s| s).count() > 190);
        assert!(seen[0] && seen[255]);
    }

    #[test]
    fn slices_differ_and_markers_are_where_defined() {
        let a = ct_chest(0, 5);
        let b = ct_chest(1, 5);
        assert_ne!(a.values, b.values);
        assert_eq!(a.values[10 * 512 + 10], 1000, "L marker, vertical bar");
        assert_eq!(a.values[52 * 512 + 36], 1000, "L marker, foot");
        assert_eq!(a.values[10 * 512 + 36], -1000, "no mirror image of the foot");
        assert_eq!(a.values[125 * 512 + 180], 1000, "slice 0 marker");
        assert_eq!(b.values[125 * 512 + 212], 1000, "slice 1 marker moved right");
        assert_eq!(a.values[512 * 512 - 1], -1000, "bottom-right corner is air");
        let mr = mr_head(2, 3);
        assert!(mr.values.iter().all(|&v| (0..4096).contains(&v)), "fits 12 bits");
        let cr = cr_chest();
        assert!(cr.values.iter().all(|&v| (0..4096).contains(&v)), "fits 12 bits");
    }

    #[test]
    fn the_radiograph_ruler_is_100_mm_in_the_patient_plane() {
        let [(x1, y1), (x2, y2)] = CR_CHEST_RULER;
        let (row_mm, column_mm) = (CR_IMAGER_SPACING_MM.0 / CR_MAGNIFICATION, CR_IMAGER_SPACING_MM.1 / CR_MAGNIFICATION);
        let mm = ((x2 - x1) * column_mm).hypot((y2 - y1) * row_mm);
        assert!((mm - 100.0).abs() < 1e-9, "{mm}");
        // At the detector, and counted in pixels, it is not 100.
        assert!(((x2 - x1) * CR_IMAGER_SPACING_MM.1).hypot((y2 - y1) * CR_IMAGER_SPACING_MM.0) > 124.9);
        let cr = cr_chest();
        for (x, y) in CR_CHEST_RULER {
            assert_eq!(cr.values[y as usize * 512 + x as usize], 4000, "a dot at ({x}, {y})");
        }
    }
}
