//! Sequential DCT JPEG with Huffman coding (T.81 processes 1, 2 and 4), our own, used for the
//! 12-bit frames of JPEG Extended (1.2.840.10008.1.2.4.51): no pure-Rust JPEG crate decodes
//! 12-bit DCT (`jpeg-decoder` and `zune-jpeg` stop at 8). Interleaved and non-interleaved scans,
//! any sampling factors (chroma upsampled by replication), restart intervals, 8- and 16-bit
//! quantisation tables. The inverse DCT is the exact separable float transform, so results
//! stay within rounding of any conforming decoder.
//!
//! Hostile input: sizes are checked against the data set before the planes are allocated,
//! every loop is bounded by the block count, Huffman tables are validated, and reading past the
//! end of the data yields zero bits that are counted and reported.

use super::{invalid, Target};
use crate::Error;

const CODEC: &str = "JPEG";

fn bad(what: impl std::fmt::Display) -> Error {
    invalid(CODEC, what)
}

/// Zig-zag order: coefficient k in the stream is natural index ZIGZAG[k].
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56,
    57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// A Huffman table in the T.81 F.2.2.3 form: per code length, the largest code and where its
/// values start.
#[derive(Clone)]
struct Huffman {
    max_code: [i32; 17],
    offset: [i32; 17],
    values: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8], values: &[u8]) -> Result<Huffman, Error> {
        let mut max_code = [-1i32; 17];
        let mut offset = [0i32; 17];
        let (mut code, mut k) = (0i32, 0i32);
        for len in 1..=16 {
            let n = i32::from(counts[len - 1]);
            offset[len] = k - code;
            code += n;
            k += n;
            if code > 1 << len {
                return Err(bad("invalid Huffman table"));
            }
            max_code[len] = if n > 0 { code - 1 } else { -1 };
            code <<= 1;
        }
        Ok(Huffman { max_code, offset, values: values.to_vec() })
    }
}

struct Component {
    id: u8,
    h: usize,
    v: usize,
    tq: usize,
    /// Blocks across and down, padded to whole MCUs.
    bw: usize,
    bh: usize,
    plane: Vec<i32>,
    dc_pred: i32,
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u32,
    count: u32,
    overrun: u32,
    /// A marker was met: no more data bytes until the caller deals with it.
    marker: Option<u8>,
}

impl Bits<'_> {
    fn bit(&mut self) -> u32 {
        if self.count == 0 {
            let byte = match (self.marker, self.data.get(self.pos), self.data.get(self.pos + 1)) {
                (None, Some(0xFF), Some(0x00)) => {
                    self.pos += 2;
                    0xFF
                }
                (None, Some(0xFF), Some(&m)) => {
                    self.marker = Some(m);
                    self.overrun += 1;
                    0
                }
                (None, Some(&b), _) => {
                    self.pos += 1;
                    b
                }
                _ => {
                    self.overrun += 1;
                    0
                }
            };
            self.acc = u32::from(byte);
            self.count = 8;
        }
        self.count -= 1;
        (self.acc >> self.count) & 1
    }

    fn bits(&mut self, n: u32) -> i32 {
        (0..n).fold(0, |v, _| (v << 1) | self.bit() as i32)
    }

    fn decode(&mut self, table: &Huffman) -> Result<u8, Error> {
        let mut code = 0i32;
        for len in 1..=16 {
            code = (code << 1) | self.bit() as i32;
            if code <= table.max_code[len] {
                let index = (code + table.offset[len]) as usize;
                return table.values.get(index).copied().ok_or_else(|| bad("invalid Huffman code"));
            }
        }
        Err(bad("invalid Huffman code"))
    }

    /// Extends a `size`-bit magnitude category value (T.81 F.2.2.1).
    fn receive_extend(&mut self, size: u32) -> i32 {
        if size == 0 {
            return 0;
        }
        let v = self.bits(size);
        if v < 1 << (size - 1) {
            v - (1 << size) + 1
        } else {
            v
        }
    }
}

fn u16_at(data: &[u8], pos: usize) -> Result<usize, Error> {
    data.get(pos..pos + 2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]]))).ok_or_else(|| bad("the stream ends in a marker segment"))
}

/// Separable float inverse DCT of one block (natural order), level-shifted and clamped.
fn idct(coefficients: &[i32; 64], cos: &[[f64; 8]; 8], shift: i32, max: i32, out: &mut [i32; 64]) {
    let mut tmp = [0f64; 64];
    for y in 0..8 {
        for x in 0..8 {
            let mut s = 0.0;
            for u in 0..8 {
                s += cos[x][u] * f64::from(coefficients[y * 8 + u]);
            }
            tmp[y * 8 + x] = s;
        }
    }
    for x in 0..8 {
        for y in 0..8 {
            let mut s = 0.0;
            for v in 0..8 {
                s += cos[y][v] * tmp[v * 8 + x];
            }
            out[y * 8 + x] = ((s / 4.0).round() as i32 + shift).clamp(0, max);
        }
    }
}

pub(crate) fn decode(target: &Target, data: &[u8]) -> Result<Vec<u32>, Error> {
    let mut cos = [[0f64; 8]; 8];
    for (x, row) in cos.iter_mut().enumerate() {
        for (u, c) in row.iter_mut().enumerate() {
            let cu = if u == 0 { std::f64::consts::FRAC_1_SQRT_2 } else { 1.0 };
            *c = cu * ((2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / 16.0).cos();
        }
    }
    let mut quant = [[0i32; 64]; 4];
    let mut dc_tables: [Option<Huffman>; 4] = Default::default();
    let mut ac_tables: [Option<Huffman>; 4] = Default::default();
    let mut components: Vec<Component> = Vec::new();
    let (mut precision, mut restart, mut hmax, mut vmax, mut mcus_x, mut mcus_y) = (0u8, 0usize, 1usize, 1usize, 0usize, 0usize);
    let mut pos = 2;
    let mut scans = 0;
    loop {
        while data.get(pos) == Some(&0xFF) && data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let marker = match (data.get(pos), data.get(pos + 1)) {
            (Some(0xFF), Some(&m)) => m,
            _ => break,
        };
        if marker == 0xD9 {
            break;
        }
        if (0xD0..=0xD7).contains(&marker) {
            pos += 2;
            continue;
        }
        let len = u16_at(data, pos + 2)?;
        let seg = data.get(pos + 4..pos + 2 + len).filter(|_| len >= 2).ok_or_else(|| bad("a marker segment overruns the frame"))?;
        pos += 2 + len;
        match marker {
            0xDB => {
                let mut i = 0;
                while i < seg.len() {
                    let (pq, tq) = (seg[i] >> 4, usize::from(seg[i] & 3));
                    let width = if pq == 0 { 1 } else { 2 };
                    let table = seg.get(i + 1..i + 1 + 64 * width).ok_or_else(|| bad("short quantisation table"))?;
                    for k in 0..64 {
                        quant[tq][ZIGZAG[k]] =
                            if width == 1 { i32::from(table[k]) } else { i32::from(u16::from_be_bytes([table[2 * k], table[2 * k + 1]])) };
                    }
                    i += 1 + 64 * width;
                }
            }
            0xC4 => {
                let mut i = 0;
                while i < seg.len() {
                    let (tc, th) = (seg[i] >> 4, usize::from(seg[i] & 3));
                    let counts = seg.get(i + 1..i + 17).ok_or_else(|| bad("short Huffman table"))?;
                    let n: usize = counts.iter().map(|&c| usize::from(c)).sum();
                    let values = seg.get(i + 17..i + 17 + n).ok_or_else(|| bad("short Huffman table"))?;
                    let table = Some(Huffman::new(counts, values)?);
                    if tc == 0 {
                        dc_tables[th] = table;
                    } else {
                        ac_tables[th] = table;
                    }
                    i += 17 + n;
                }
            }
            0xDD => restart = u16_at(seg, 0)?,
            0xC0 | 0xC1 => {
                let [p, r1, r0, c1, c0, n, ..] = *seg else { return Err(bad("short frame header")) };
                let (rows, columns) = (usize::from(u16::from_be_bytes([r1, r0])), usize::from(u16::from_be_bytes([c1, c0])));
                target.check(CODEC, columns, rows, usize::from(n), u32::from(p))?;
                if p != 8 && p != 12 || !components.is_empty() {
                    return Err(bad("invalid frame header"));
                }
                precision = p;
                for c in seg.get(6..).unwrap_or_default().chunks_exact(3).take(usize::from(n)) {
                    let (h, v) = (usize::from(c[1] >> 4), usize::from(c[1] & 15));
                    if !(1..=4).contains(&h) || !(1..=4).contains(&v) || c[2] > 3 {
                        return Err(bad("invalid sampling factors"));
                    }
                    components.push(Component { id: c[0], h, v, tq: usize::from(c[2]), bw: 0, bh: 0, plane: Vec::new(), dc_pred: 0 });
                }
                if components.len() != usize::from(n) {
                    return Err(bad("short frame header"));
                }
                hmax = components.iter().map(|c| c.h).max().unwrap_or(1);
                vmax = components.iter().map(|c| c.v).max().unwrap_or(1);
                mcus_x = columns.div_ceil(8 * hmax);
                mcus_y = rows.div_ceil(8 * vmax);
                for c in &mut components {
                    c.bw = mcus_x * c.h;
                    c.bh = mcus_y * c.v;
                    // At most 16× the frame (4:1 padding each way), and the frame was checked.
                    c.plane = vec![0; c.bw * c.bh * 64];
                }
            }
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return Err(Error::UnsupportedImage("this JPEG process".into())),
            0xDA => {
                if components.is_empty() {
                    return Err(bad("scan before the frame header"));
                }
                scans += 1;
                if scans > 4 {
                    return Err(bad("too many scans"));
                }
                let ns = usize::from(*seg.first().ok_or_else(|| bad("short scan header"))?);
                let mut members = Vec::new();
                for i in 0..ns {
                    let (id, tables) =
                        (*seg.get(1 + 2 * i).ok_or_else(|| bad("short scan header"))?, seg.get(2 + 2 * i).copied().unwrap_or(0));
                    let c = components.iter().position(|c| c.id == id).ok_or_else(|| bad("scan names an unknown component"))?;
                    members.push((c, usize::from(tables >> 4) & 3, usize::from(tables & 3)));
                }
                if members.is_empty() || members.len() > 4 {
                    return Err(bad("invalid scan header"));
                }
                let mut bits = Bits { data, pos, acc: 0, count: 0, overrun: 0, marker: None };
                scan(
                    &mut bits,
                    &mut components,
                    &members,
                    &quant,
                    &dc_tables,
                    &ac_tables,
                    restart,
                    (mcus_x, mcus_y),
                    (target.columns, target.rows, hmax, vmax),
                    &cos,
                    precision,
                )?;
                // Continue at the marker that ended the scan data.
                pos = bits.pos;
                while pos < data.len() && !(data[pos] == 0xFF && data.get(pos + 1).is_some_and(|&m| m != 0 && !(0xD0..=0xD7).contains(&m)))
                {
                    pos += 1;
                }
            }
            _ => {}
        }
    }
    if components.is_empty() || scans == 0 {
        return Err(bad("no frame or scan"));
    }
    let mut out = Vec::with_capacity(target.samples);
    for y in 0..target.rows {
        for x in 0..target.columns {
            for c in &components {
                let (cx, cy) = (x * c.h / hmax, y * c.v / vmax);
                out.push(c.plane.get(cy * c.bw * 8 + cx).copied().unwrap_or(0) as u32);
            }
        }
    }
    Ok(out)
}

/// Decodes one scan's blocks into the components' planes.
#[allow(clippy::too_many_arguments)]
fn scan(
    bits: &mut Bits,
    components: &mut [Component],
    members: &[(usize, usize, usize)],
    quant: &[[i32; 64]; 4],
    dc: &[Option<Huffman>; 4],
    ac: &[Option<Huffman>; 4],
    restart: usize,
    (mcus_x, mcus_y): (usize, usize),
    frame: (usize, usize, usize, usize),
    cos: &[[f64; 8]; 8],
    precision: u8,
) -> Result<(), Error> {
    let shift = 1 << (precision - 1);
    let max = (1 << precision) - 1;
    for &(c, _, _) in members {
        components[c].dc_pred = 0;
    }
    // A single-component scan is not interleaved: its MCU is one block, over the blocks that
    // cover the component's own samples (T.81 A.2.2).
    let single = members.len() == 1;
    let single_dims = if single {
        let comp = &components[members[0].0];
        let (columns, rows, hmax, vmax) = frame;
        let (w, h) = ((columns * comp.h).div_ceil(hmax), (rows * comp.v).div_ceil(vmax));
        (w.div_ceil(8).min(comp.bw), h.div_ceil(8).min(comp.bh))
    } else {
        (mcus_x, mcus_y)
    };
    let total = single_dims.0 * single_dims.1;
    let mut coefficients = [0i32; 64];
    let mut block = [0i32; 64];
    for unit in 0..total {
        if restart > 0 && unit > 0 && unit % restart == 0 {
            // Byte-align, then expect RSTn.
            bits.count = 0;
            match bits.marker.take() {
                Some(0xD0..=0xD7) => bits.pos += 2,
                _ => match (bits.data.get(bits.pos), bits.data.get(bits.pos + 1)) {
                    (Some(0xFF), Some(0xD0..=0xD7)) => bits.pos += 2,
                    _ => return Err(bad("missing restart marker")),
                },
            }
            for &(c, _, _) in members {
                components[c].dc_pred = 0;
            }
        }
        let (ux, uy) = (unit % single_dims.0, unit / single_dims.0);
        for &(c, td, ta) in members {
            let (dc_table, ac_table) =
                (dc[td].as_ref().ok_or_else(|| bad("missing DC table"))?, ac[ta].as_ref().ok_or_else(|| bad("missing AC table"))?);
            let (h, v) = if single { (1, 1) } else { (components[c].h, components[c].v) };
            for by in 0..v {
                for bx in 0..h {
                    coefficients.fill(0);
                    let comp = &mut components[c];
                    let size = u32::from(bits.decode(dc_table)?);
                    if size > 16 {
                        return Err(bad("invalid DC difference"));
                    }
                    comp.dc_pred = comp.dc_pred.wrapping_add(bits.receive_extend(size));
                    let q = &quant[comp.tq];
                    coefficients[0] = comp.dc_pred.wrapping_mul(q[0]);
                    let mut k = 1;
                    while k < 64 {
                        let rs = bits.decode(ac_table)?;
                        let (r, s) = (usize::from(rs >> 4), u32::from(rs & 15));
                        if s == 0 {
                            if r != 15 {
                                break;
                            }
                            k += 16;
                            continue;
                        }
                        k += r;
                        if k > 63 {
                            return Err(bad("coefficient index out of range"));
                        }
                        let z = ZIGZAG[k];
                        coefficients[z] = bits.receive_extend(s).wrapping_mul(q[z]);
                        k += 1;
                    }
                    if bits.overrun > 64 {
                        return Err(bad("the scan data is damaged or cut short"));
                    }
                    idct(&coefficients, cos, shift, max, &mut block);
                    let (col, row) = if single { (ux, uy) } else { (ux * h + bx, uy * v + by) };
                    let stride = comp.bw * 8;
                    for y in 0..8 {
                        let start = (row * 8 + y) * stride + col * 8;
                        if let Some(dst) = comp.plane.get_mut(start..start + 8) {
                            dst.copy_from_slice(&block[y * 8..y * 8 + 8]);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
