use super::*;
use crate::imaging::tests::{part10, text, us};

/// The shutter of a data set made of `elements` (tag, VR, value).
fn read(elements: &[(u32, &[u8; 2], Vec<u8>)]) -> Option<Shutter> {
    let bytes = part10(elements);
    let buffer = dicom_parser_lite::DicomBuffer::new(&bytes);
    let file = buffer.parse().unwrap();
    Shutter::from_dataset(file.dataset())
}

fn visible(shutter: &Shutter, columns: u32, rows: u32) -> usize {
    (columns * rows) as usize - shutter.mask(columns, rows).iter().map(|(_, n)| n).sum::<usize>()
}

fn rectangle() -> Vec<(u32, &'static [u8; 2], Vec<u8>)> {
    vec![
        (0x0018_1600, b"CS", text("RECTANGULAR")),
        (0x0018_1602, b"IS", text("3")),
        (0x0018_1604, b"IS", text("6")),
        (0x0018_1606, b"IS", text("2")),
        (0x0018_1608, b"IS", text("4")),
    ]
}

#[test]
fn a_rectangle_keeps_its_edge_columns_and_rows_visible() {
    let shutter = read(&rectangle()).unwrap();
    assert_eq!(shutter.rectangle, Some([3.0, 6.0, 2.0, 4.0]));
    assert_eq!(shutter.level, 0, "no presentation value: black");
    // 8 × 5: columns 3–6 of rows 2–4 stay, 4 × 3 = 12; the other 28 are occluded, in runs:
    // row 1 and the first two of row 2, the last two of a row with the first two of the next.
    assert_eq!(shutter.mask(8, 5), [(0, 10), (14, 4), (22, 4), (30, 10)]);
    assert!(shutter.shows(3.0, 2.0) && shutter.shows(6.0, 4.0));
    assert!(!shutter.shows(2.0, 2.0) && !shutter.shows(7.0, 4.0) && !shutter.shows(3.0, 5.0));
}

#[test]
fn a_circle_keeps_the_pixels_whose_centres_are_within_its_radius() {
    // Centre row 5, column 4 (row first), radius 2 on a 9 × 9 image.
    let shutter = read(&[
        (0x0018_1600, b"CS", text("CIRCULAR")),
        (0x0018_1610, b"IS", text("5\\4")),
        (0x0018_1612, b"IS", text("2")),
        (0x0018_1622, b"US", us(0xFFFF)),
    ])
    .unwrap();
    assert_eq!(shutter.circle, Some(((4.0, 5.0), 2.0)));
    assert_eq!(shutter.level, 255);
    // Lattice points with dx² + dy² ≤ 4: 1 + 4 (distance 1) + 4 (√2) + 4 (distance 2) = 13.
    assert_eq!(visible(&shutter, 9, 9), 13);
    assert!(shutter.shows(4.0, 3.0) && shutter.shows(6.0, 5.0) && shutter.shows(5.0, 6.0));
    assert!(!shutter.shows(6.0, 6.0), "distance √8 > 2");
}

#[test]
fn a_polygon_is_closed_and_keeps_the_pixels_on_its_edges() {
    // Row\column pairs: (1,1), (1,5), (5,1): the triangle column + row ≤ 6.
    let shutter =
        read(&[(0x0018_1600, b"CS", text("POLYGONAL")), (0x0018_1620, b"IS", text("1\\1\\1\\5\\5\\1")), (0x0018_1622, b"US", us(0x8000))])
            .unwrap();
    assert_eq!(shutter.polygon, Some(vec![(1.0, 1.0), (5.0, 1.0), (1.0, 5.0)]));
    // 32768 × 255 / 65535 = 127.502: level 128.
    assert_eq!(shutter.level, 128);
    // 5 + 4 + 3 + 2 + 1 = 15 of 25, the hypotenuse's 5 included.
    assert_eq!(visible(&shutter, 5, 5), 15);
    for column in 1..=5 {
        for row in 1..=5 {
            assert_eq!(shutter.shows(f64::from(column), f64::from(row)), column + row <= 6, "{column},{row}");
        }
    }
    // A concave polygon (an L): the notch is occluded.
    let l = read(&[(0x0018_1600, b"CS", text("POLYGONAL")), (0x0018_1620, b"IS", text("1\\1\\1\\2\\3\\2\\3\\4\\4\\4\\4\\1"))]).unwrap();
    assert_eq!(visible(&l, 4, 4), 4 * 2 + 2 * 2, "columns 1–2 of rows 1–4 and columns 3–4 of rows 3–4");
    assert!(!l.shows(3.0, 1.0) && !l.shows(4.0, 2.0) && l.shows(4.0, 4.0));
}

#[test]
fn several_shapes_leave_the_least_image_visible() {
    let mut elements = rectangle();
    elements[0] = (0x0018_1600, b"CS", text("RECTANGULAR\\CIRCULAR"));
    // Circle at row 3, column 3, radius 1: (3,2), (2,3), (3,3), (4,3), (3,4); the rectangle
    // (columns 3–6, rows 2–4) keeps (3,2), (3,3), (4,3), (3,4).
    elements.push((0x0018_1610, b"IS", text("3\\3")));
    elements.push((0x0018_1612, b"IS", text("1")));
    let shutter = read(&elements).unwrap();
    assert_eq!(visible(&shutter, 8, 5), 4);
    assert!(!shutter.shows(2.0, 3.0), "inside the circle, left of the rectangle");
    assert!(!shutter.shows(6.0, 4.0), "inside the rectangle, outside the circle");
}

#[test]
fn an_incomplete_shape_hides_nothing() {
    assert_eq!(read(&rectangle()[..4]), None, "no lower edge");
    assert_eq!(read(&[(0x0018_1600, b"CS", text("CIRCULAR")), (0x0018_1610, b"IS", text("5"))]), None);
    assert_eq!(read(&[(0x0018_1600, b"CS", text("POLYGONAL")), (0x0018_1620, b"IS", text("1\\1\\1\\5"))]), None, "two vertices");
    assert_eq!(read(&[(0x0018_1600, b"CS", text("POLYGONAL")), (0x0018_1620, b"IS", text("1\\1\\1\\5\\5"))]), None, "odd count");
    assert_eq!(read(&[(0x0018_1600, b"CS", text("BITMAP"))]), None, "bitmap shutters are another module");
    assert_eq!(read(&[(0x0028_0010, b"US", us(4))]), None);
    // A complete shape beside an incomplete one: the complete one applies.
    let mut elements = rectangle();
    elements[0] = (0x0018_1600, b"CS", text("RECTANGULAR\\CIRCULAR"));
    assert_eq!(read(&elements).unwrap().circle, None);
}

#[test]
fn paint_fills_only_the_runs() {
    let shutter = read(&rectangle()).unwrap();
    let mut rgba = vec![9u8; 8 * 5 * 4];
    paint(&mut rgba, &shutter.mask(8, 5), [1, 2, 3, 4]);
    assert_eq!(&rgba[..4], &[1, 2, 3, 4]);
    assert_eq!(&rgba[10 * 4..10 * 4 + 4], &[9, 9, 9, 9], "column 3 of row 2 stays");
    assert_eq!(rgba.chunks_exact(4).filter(|p| *p == [1, 2, 3, 4]).count(), 28);
    // Runs past the buffer are ignored, never a panic.
    paint(&mut rgba[..8], &[(0, 40)], [0; 4]);
}
