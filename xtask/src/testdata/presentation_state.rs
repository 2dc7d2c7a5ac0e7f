//! A Grayscale Softcopy Presentation State (PS3.3 A.33.1) on the chest radiograph: its own
//! window, a quarter turn then a flip, a displayed area, graphics and text in both PIXEL and
//! DISPLAY units, and a display shutter of all three shapes, what the viewer must apply when
//! the user picks it. The state's instance carries the radiograph as the state shows it
//! (window and shutter, before the turn) as its expected rendering. A second state of the same
//! radiograph has a VOI LUT table instead of a window.

use super::{document, part10, phantom, Instance, Patient, Series, Study};
use serde_json::{json, Value};

/// Grayscale Softcopy Presentation State Storage.
pub const GRAYSCALE_SOFTCOPY_PRESENTATION_STATE: &str = "1.2.840.10008.5.1.4.1.1.11.1";

pub const LABEL: &str = "RULER_VIEW";
/// Window center and width, in the radiograph's stored values (it has no rescale).
pub const WINDOW: (f64, f64) = (1800.0, 2400.0);
pub const ROTATION: u16 = 90;
/// The displayed area's first and last pixels (column\row, 1-based).
pub const AREA: [(i32, i32); 2] = [(101, 81), (400, 400)];
/// A POINT graphic at the area's centre, in image pixel coordinates: it must land in the
/// viewport's centre.
const CENTRE: (f32, f32) = (250.0, 240.0);
pub const RULER_TEXT: &str = "Ruler 100 mm";
/// Shutter edges: first and last visible column, then row (1-based).
pub const SHUTTER_RECTANGLE: [u32; 4] = [41, 472, 21, 460];
/// Shutter circle: centre column, row (1-based), radius in pixels.
pub const SHUTTER_CIRCLE: ((u32, u32), u32) = ((257, 241), 250);
/// Shutter polygon (column, row): the image less its top left corner, where column + row is
/// below 201; that corner cuts into the circle and the displayed area.
pub const SHUTTER_POLYGON: [(u32, u32); 5] = [(200, 1), (512, 1), (512, 480), (1, 480), (1, 200)];
/// Shutter Presentation Value, a P-Value: 21845 / 65535 is gray level 85 exactly.
pub const SHUTTER_VALUE: u16 = 0x5555;
pub const SHUTTER_LEVEL: u8 = 85;
pub const CORNER_TEXT: &str = "Presentation state test";

fn fl(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn graphic(kind: &str, points: &[f32], filled: bool) -> part10::Elements {
    let mut g = part10::Elements::default();
    g.text(0x0070_0005, b"CS", "PIXEL")
        .us(0x0070_0020, 2)
        .us(0x0070_0021, (points.len() / 2) as u16)
        .binary(0x0070_0022, b"FL", fl(points))
        .text(0x0070_0023, b"CS", kind)
        .text(0x0070_0024, b"CS", if filled { "Y" } else { "N" });
    g
}

fn text_object(units: &str, text: &str, corners: [f32; 4]) -> part10::Elements {
    let mut t = part10::Elements::default();
    t.text(0x0070_0003, b"CS", units)
        .text(0x0070_0006, b"ST", text)
        .binary(0x0070_0010, b"FL", fl(&corners[..2]))
        .binary(0x0070_0011, b"FL", fl(&corners[2..]))
        .text(0x0070_0012, b"CS", "LEFT");
    t
}

/// The state, in its own series (`series`, already numbered), for `image` of `image_series`.
pub fn document(patient: &Patient, study: &Study, series: &Series, sop: String, image_series: &Series, image: &Instance) -> Instance {
    let mut reference = part10::Elements::default();
    reference.text(0x0008_1150, b"UI", &image.sop_class_uid).text(0x0008_1155, b"UI", &image.sop_instance_uid);
    let mut referenced_series = part10::Elements::default();
    referenced_series.text(0x0020_000E, b"UI", &image_series.uid).sequence(0x0008_1140, vec![reference]);

    let mut voi = part10::Elements::default();
    voi.text(0x0028_1050, b"DS", &WINDOW.0.to_string()).text(0x0028_1051, b"DS", &WINDOW.1.to_string());
    let mut area = part10::Elements::default();
    let corner = |(x, y): (i32, i32)| [x, y].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
    area.binary(0x0070_0052, b"SL", corner(AREA[0]))
        .binary(0x0070_0053, b"SL", corner(AREA[1]))
        .text(0x0070_0100, b"CS", "SCALE TO FIT")
        .text(0x0070_0102, b"IS", "1\\1");

    let [(x0, y0), (x1, y1)] = phantom::CR_CHEST_RULER.map(|(x, y)| (x as f32, y as f32));
    let middle = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let mut annotation = part10::Elements::default();
    annotation
        .text(0x0070_0002, b"CS", "FINDINGS")
        .sequence(
            0x0070_0009,
            vec![
                graphic("POLYLINE", &[x0, y0, x1, y1], false),
                graphic("CIRCLE", &[middle.0, middle.1, middle.0 + 20.0, middle.1], false),
                graphic("POINT", &[CENTRE.0, CENTRE.1], false),
            ],
        )
        .sequence(
            0x0070_0008,
            vec![
                text_object("PIXEL", RULER_TEXT, [middle.0 + 30.0, middle.1 - 8.0, middle.0 + 130.0, middle.1 + 8.0]),
                text_object("DISPLAY", CORNER_TEXT, [0.02, 0.02, 0.4, 0.08]),
            ],
        );
    let mut layer = part10::Elements::default();
    layer.text(0x0070_0002, b"CS", "FINDINGS").text(0x0070_0062, b"IS", "1").text(0x0070_0068, b"LO", "Findings");

    let mut e = document::header(patient, study, series, &sop, GRAYSCALE_SOFTCOPY_PRESENTATION_STATE, "PR");
    e.sequence(0x0008_1115, vec![referenced_series])
        .sequence(0x0028_3110, vec![voi])
        .sequence(0x0070_0001, vec![annotation])
        .text(0x0070_0041, b"CS", "Y")
        .us(0x0070_0042, ROTATION)
        .sequence(0x0070_005A, vec![area])
        .sequence(0x0070_0060, vec![layer])
        .text(0x0070_0080, b"CS", LABEL)
        .text(0x0070_0081, b"LO", "Ruler, turned and flipped")
        .text(0x0070_0082, b"DA", &study.date)
        .text(0x0070_0083, b"TM", &study.time)
        .text(0x0070_0084, b"PN", "Example^Ruth^^Dr")
        .text(0x2050_0020, b"CS", "IDENTITY");
    let [left, right, upper, lower] = SHUTTER_RECTANGLE;
    let ((cx, cy), radius) = SHUTTER_CIRCLE;
    let vertices: Vec<String> = SHUTTER_POLYGON.iter().flat_map(|(c, r)| [r.to_string(), c.to_string()]).collect();
    e.text(0x0018_1600, b"CS", "RECTANGULAR\\CIRCULAR\\POLYGONAL")
        .text(0x0018_1602, b"IS", &left.to_string())
        .text(0x0018_1604, b"IS", &right.to_string())
        .text(0x0018_1606, b"IS", &upper.to_string())
        .text(0x0018_1608, b"IS", &lower.to_string())
        .text(0x0018_1610, b"IS", &format!("{cy}\\{cx}"))
        .text(0x0018_1612, b"IS", &radius.to_string())
        .text(0x0018_1620, b"IS", &vertices.join("\\"))
        .us(0x0018_1622, SHUTTER_VALUE);
    let mut state = document::instance(GRAYSCALE_SOFTCOPY_PRESENTATION_STATE, sop, e);
    state.expected_gray8 = expected(image);
    state
}

/// Whether the shutter leaves pixel (`column`, `row`), 1-based, visible: inside or on the edge
/// of each shape, written out for these shapes (the polygon is a half-plane cut).
pub fn shutter_shows(column: u32, row: u32) -> bool {
    let [left, right, upper, lower] = SHUTTER_RECTANGLE;
    let ((cx, cy), radius) = SHUTTER_CIRCLE;
    let (dx, dy) = (i64::from(column) - i64::from(cx), i64::from(row) - i64::from(cy));
    (left..=right).contains(&column)
        && (upper..=lower).contains(&row)
        && dx * dx + dy * dy <= i64::from(radius * radius)
        && column + row >= 201
}

/// The radiograph under the state's window with the shutter's level where it hides.
fn expected(image: &Instance) -> Vec<u8> {
    let slice = phantom::cr_chest();
    let mut gray = phantom::expected_gray8(&slice.values, WINDOW.0, WINDOW.1);
    let columns = u32::from(image.columns);
    for (i, g) in gray.iter_mut().enumerate() {
        let (column, row) = (i as u32 % columns + 1, i as u32 / columns + 1);
        if !shutter_shows(column, row) {
            *g = SHUTTER_LEVEL;
        }
    }
    gray
}

/// What the browser test checks, in the manifest beside the state's series.
pub fn facts() -> Value {
    json!({
        "label": LABEL,
        "window": { "center": WINDOW.0, "width": WINDOW.1 },
        "rotation": ROTATION,
        "flip": true,
        "area": { "first": { "column": AREA[0].0, "row": AREA[0].1 }, "last": { "column": AREA[1].0, "row": AREA[1].1 } },
        "centre": { "x": CENTRE.0, "y": CENTRE.1 },
        "rulerText": RULER_TEXT,
        "cornerText": CORNER_TEXT,
        "shutter": {
            "rectangle": SHUTTER_RECTANGLE,
            "circle": { "column": SHUTTER_CIRCLE.0 .0, "row": SHUTTER_CIRCLE.0 .1, "radius": SHUTTER_CIRCLE.1 },
            "polygon": SHUTTER_POLYGON.iter().map(|(c, r)| json!({ "column": c, "row": r })).collect::<Vec<_>>(),
            "level": SHUTTER_LEVEL,
        },
    })
}

pub const TABLE_LABEL: &str = "RULER_TABLE";
pub const TABLE_EXPLANATION: &str = "SQRT 500-2547";
/// The table's first mapped value and number of entries: stored values 500..=2547 are mapped,
/// the background (300) lies below and the ruler's dots (4000) above.
pub const TABLE_FIRST: u16 = 500;
pub const TABLE_ENTRIES: u16 = 2048;

/// Entry `k` of the 16-bit table: 65535 × √(k / 2047), rounded.
fn table_entry(k: u16) -> u16 {
    (65535.0 * (f64::from(k) / f64::from(TABLE_ENTRIES - 1)).sqrt()).round() as u16
}

/// The gray level of stored value `v` through the table, by PS3.3 C.11.2.1.1: below the first
/// mapped value the first entry, past the last the last; 0..65535 scaled to 0..255.
pub fn table_level(v: i32) -> u8 {
    let k = (v - i32::from(TABLE_FIRST)).clamp(0, i32::from(TABLE_ENTRIES) - 1) as u16;
    (f64::from(table_entry(k)) * 255.0 / 65535.0 + 0.5).floor() as u8
}

/// A state of `image` whose Softcopy VOI LUT is the table above, shown whole and upright.
pub fn table_document(patient: &Patient, study: &Study, series: &Series, sop: String, image_series: &Series, image: &Instance) -> Instance {
    let mut reference = part10::Elements::default();
    reference.text(0x0008_1150, b"UI", &image.sop_class_uid).text(0x0008_1155, b"UI", &image.sop_instance_uid);
    let mut referenced_series = part10::Elements::default();
    referenced_series.text(0x0020_000E, b"UI", &image_series.uid).sequence(0x0008_1140, vec![reference]);
    let descriptor: Vec<u8> = [TABLE_ENTRIES, TABLE_FIRST, 16].iter().flat_map(|v| v.to_le_bytes()).collect();
    let data: Vec<u8> = (0..TABLE_ENTRIES).flat_map(|k| table_entry(k).to_le_bytes()).collect();
    let mut lut = part10::Elements::default();
    lut.binary(0x0028_3002, b"US", descriptor).text(0x0028_3003, b"LO", TABLE_EXPLANATION).binary(0x0028_3006, b"OW", data);
    let mut voi = part10::Elements::default();
    voi.sequence(0x0028_3010, vec![lut]);
    let mut area = part10::Elements::default();
    let corner = |(x, y): (i32, i32)| [x, y].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
    area.binary(0x0070_0052, b"SL", corner((1, 1)))
        .binary(0x0070_0053, b"SL", corner((i32::from(image.columns), i32::from(image.rows))))
        .text(0x0070_0100, b"CS", "SCALE TO FIT")
        .text(0x0070_0102, b"IS", "1\\1");
    let mut e = document::header(patient, study, series, &sop, GRAYSCALE_SOFTCOPY_PRESENTATION_STATE, "PR");
    e.sequence(0x0008_1115, vec![referenced_series])
        .sequence(0x0028_3110, vec![voi])
        .sequence(0x0070_005A, vec![area])
        .text(0x0070_0080, b"CS", TABLE_LABEL)
        .text(0x0070_0081, b"LO", "Ruler, through a VOI LUT table")
        .text(0x0070_0082, b"DA", &study.date)
        .text(0x0070_0083, b"TM", &study.time)
        .text(0x0070_0084, b"PN", "Example^Ruth^^Dr")
        .text(0x2050_0020, b"CS", "IDENTITY");
    let mut state = document::instance(GRAYSCALE_SOFTCOPY_PRESENTATION_STATE, sop, e);
    state.expected_gray8 = phantom::cr_chest().values.iter().map(|&v| table_level(v)).collect();
    state
}

/// What the browser test checks of the table state.
pub fn table_facts() -> Value {
    let levels: Vec<Value> = [300, 700, 1400, 2200, 4000].iter().map(|&v| json!({ "stored": v, "level": table_level(v) })).collect();
    json!({
        "label": TABLE_LABEL,
        "explanation": TABLE_EXPLANATION,
        "first": TABLE_FIRST,
        "entries": TABLE_ENTRIES,
        // Background, lung, body, spine, ruler dot: stored value and gray level.
        "levels": levels,
    })
}
