//! Display shutters (PS3.3 C.7.6.11): a rectangle, a circle and a polygon of the image that
//! stay visible; every pixel outside any of them shows the shutter's presentation value.
//!
//! Geometry is in 1-based pixel rows and columns (1\1 the top left pixel), as the module gives
//! it. A pixel is visible when its centre lies inside or on the edge of each shape present:
//! the edges are pixels the shutter names, and several shapes leave the least image visible.

use dicom_parser_lite::{tags, DataSet};

/// More polygon vertices than this are not a shutter anyone drew: the state's shutter is
/// then left out rather than making each draw walk them.
const MAX_VERTICES: usize = 4096;

/// A shutter read from a data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Shutter {
    /// Left, right, upper, lower edges: the first and last visible column and row.
    pub rectangle: Option<[f64; 4]>,
    /// Centre (column, row) and radius in pixels along the row.
    pub circle: Option<((f64, f64), f64)>,
    /// Vertices (column, row), implicitly closed.
    pub polygon: Option<Vec<(f64, f64)>>,
    /// The gray level (0..=255) of the occluded pixels: Shutter Presentation Value, a P-Value
    /// 0..=FFFFH scaled to 8 bits; black when absent (the standard leaves it undefined then).
    pub level: u8,
}

impl Shutter {
    /// The Display Shutter Module of `ds`; `None` when it has none, or none of its shapes is
    /// complete (a half-given shape cannot say what to hide, so nothing is hidden).
    pub fn from_dataset(ds: &DataSet) -> Option<Shutter> {
        let shapes: Vec<String> = ds.strings(tags::SHUTTER_SHAPE).iter().map(|s| s.trim().to_ascii_uppercase()).collect();
        let has = |name: &str| shapes.iter().any(|s| s == name);
        let finite = |v: &f64| v.is_finite();
        let rectangle = has("RECTANGULAR").then(|| {
            let edge = |tag| ds.f64(tag).filter(finite);
            Some([
                edge(tags::SHUTTER_LEFT_VERTICAL_EDGE)?,
                edge(tags::SHUTTER_RIGHT_VERTICAL_EDGE)?,
                edge(tags::SHUTTER_UPPER_HORIZONTAL_EDGE)?,
                edge(tags::SHUTTER_LOWER_HORIZONTAL_EDGE)?,
            ])
        });
        let circle = has("CIRCULAR").then(|| {
            let centre = ds.f64s(tags::CENTER_OF_CIRCULAR_SHUTTER);
            let radius = ds.f64(tags::RADIUS_OF_CIRCULAR_SHUTTER).filter(|r| r.is_finite() && *r >= 0.0)?;
            match centre.as_slice() {
                // Row first, then column.
                [row, column] if row.is_finite() && column.is_finite() => Some(((*column, *row), radius)),
                _ => None,
            }
        });
        let polygon = has("POLYGONAL").then(|| {
            let values = ds.f64s(tags::VERTICES_OF_THE_POLYGONAL_SHUTTER);
            let vertices: Vec<(f64, f64)> = values.chunks_exact(2).map(|p| (p[1], p[0])).collect();
            let usable = values.len().is_multiple_of(2)
                && (3..=MAX_VERTICES).contains(&vertices.len())
                && vertices.iter().all(|(c, r)| c.is_finite() && r.is_finite());
            usable.then_some(vertices)
        });
        let (rectangle, circle, polygon) = (rectangle.flatten(), circle.flatten(), polygon.flatten());
        if rectangle.is_none() && circle.is_none() && polygon.is_none() {
            return None;
        }
        let level = ds.u32(tags::SHUTTER_PRESENTATION_VALUE).map_or(0, |p| p_value_level(p.min(0xFFFF)));
        Some(Shutter { rectangle, circle, polygon, level })
    }

    /// Whether the pixel at 1-based `column`, `row` stays visible.
    pub fn shows(&self, column: f64, row: f64) -> bool {
        if let Some([left, right, upper, lower]) = self.rectangle {
            if column < left || column > right || row < upper || row > lower {
                return false;
            }
        }
        if let Some(((c, r), radius)) = self.circle {
            let (dx, dy) = (column - c, row - r);
            if dx * dx + dy * dy > radius * radius {
                return false;
            }
        }
        if let Some(vertices) = &self.polygon {
            if !inside_polygon(vertices, (column, row)) {
                return false;
            }
        }
        true
    }

    /// The occluded pixels of an image of `columns` × `rows`, as runs (start index, length)
    /// in row-major order: found once, painted on every draw.
    pub fn mask(&self, columns: u32, rows: u32) -> Vec<(usize, usize)> {
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for row in 0..rows {
            let base = row as usize * columns as usize;
            for column in 0..columns {
                if self.shows(f64::from(column) + 1.0, f64::from(row) + 1.0) {
                    continue;
                }
                let at = base + column as usize;
                match runs.last_mut() {
                    Some((start, len)) if *start + *len == at => *len += 1,
                    _ => runs.push((at, 1)),
                }
            }
        }
        runs
    }
}

/// A P-Value (0..=FFFFH, PS3.14's perceptually linear scale) as one of 256 gray levels.
fn p_value_level(p: u32) -> u8 {
    (f64::from(p) * 255.0 / 65535.0).round().clamp(0.0, 255.0) as u8
}

/// Even-odd crossing test with points on an edge counted inside.
fn inside_polygon(vertices: &[(f64, f64)], (x, y): (f64, f64)) -> bool {
    let mut inside = false;
    let mut previous = match vertices.last() {
        Some(v) => *v,
        None => return false,
    };
    for &(xi, yi) in vertices {
        let (xj, yj) = previous;
        previous = (xi, yi);
        let cross = (xj - xi) * (y - yi) - (yj - yi) * (x - xi);
        if cross == 0.0 && x >= xi.min(xj) && x <= xi.max(xj) && y >= yi.min(yj) && y <= yi.max(yj) {
            return true;
        }
        if (yi > y) != (yj > y) && x < xi + (y - yi) * (xj - xi) / (yj - yi) {
            inside = !inside;
        }
    }
    inside
}

/// Paints the occluded `runs` of an RGBA buffer with `pixel`.
pub fn paint(rgba: &mut [u8], runs: &[(usize, usize)], pixel: [u8; 4]) {
    for &(start, len) in runs {
        if let Some(span) = rgba.get_mut(start * 4..(start + len) * 4) {
            for px in span.chunks_exact_mut(4) {
                px.copy_from_slice(&pixel);
            }
        }
    }
}

#[cfg(test)]
mod tests;
