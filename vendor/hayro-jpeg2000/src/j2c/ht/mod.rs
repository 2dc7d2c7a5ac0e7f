//! The High-Throughput (HT) block decoder of ITU-T T.814 | ISO/IEC 15444-15, clause 7.
//!
//! An HT code-block's cleanup segment holds three byte streams: MagSgn (growing forward from
//! the start), MEL (growing forward from `Pcup`) and VLC (growing backward from the end). The
//! cleanup pass walks the code-block in 2 × 2 quads, a pair of quads at a time: the MEL and VLC
//! streams give each quad's significance pattern (`rho`), exponent hints (`e_k`, `e_1`) and the
//! unsigned residual `u` (U-VLC); MagSgn then gives the magnitude and sign bits.
//!
//! The optional refinement segment holds the SigProp pass (growing forward) and the MagRef pass
//! (growing backward), which refine the code-block by one more bit-plane (clause 7.4, 7.5).

mod tables;

use alloc::vec::Vec;

/// Why an HT code-block could not be decoded. Every case is a malformed or unsupported stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HtError {
    /// The cleanup segment's length or its `Scup` suffix is out of range.
    BadSegmentLength,
    /// A VLC codeword matches no table entry.
    BadCodeword,
    /// A quad's magnitude exponent exceeds the sub-band's bit-planes.
    MagnitudeTooLarge,
}

/// MEL exponents for each state `k` (T.814 Table 2).
const MEL_E: [u8; 13] = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5];

/// A decoding table indexed by `context << 7 | next 7 VLC bits`. An entry packs
/// `len (bits 0-2) | u_off (bit 3) | rho (bits 4-7) | e_1 (bits 8-11) | e_k (bits 12-15)`;
/// 0 means no codeword (`rho` is never 0 in a table row).
const fn decoding_table(rows: &[tables::Row]) -> [u16; 1024] {
    let mut out = [0u16; 1024];
    let mut i = 0;
    while i < rows.len() {
        let (c_q, rho, u_off, e_k, e_1, cwd, len) = rows[i];
        let packed = (len as u16)
            | ((u_off as u16) << 3)
            | ((rho as u16) << 4)
            | ((e_1 as u16) << 8)
            | ((e_k as u16) << 12);
        let mut high = 0usize;
        while high < (1 << (7 - len)) {
            let code = (cwd as usize) | (high << len);
            out[((c_q as usize) << 7) | code] = packed;
            high += 1;
        }
        i += 1;
    }
    out
}

static VLC_INITIAL: [u16; 1024] = decoding_table(&tables::TABLE0);
static VLC_OTHER: [u16; 1024] = decoding_table(&tables::TABLE1);

/// The MEL stream: forward, most significant bit first, a 0 bit stuffed after each 0xFF.
struct Mel<'a> {
    data: &'a [u8],
    pos: usize,
    byte: u8,
    left: u8,
    after_ff: bool,
    k: usize,
    run: u32,
    one: bool,
}

impl<'a> Mel<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            pos: 0,
            byte: 0,
            left: 0,
            after_ff: false,
            k: 0,
            run: 0,
            one: false,
        }
    }

    fn bit(&mut self) -> u32 {
        if self.left == 0 {
            // The last MEL byte shares its low nibble with the segment's Scup field: read as 1s.
            // Past the end the stream reads as 0xFF.
            let b = match self.data.get(self.pos) {
                Some(&b) if self.pos + 1 == self.data.len() => b | 0x0F,
                Some(&b) => b,
                None => 0xFF,
            };
            self.pos = self.pos.saturating_add(1);
            self.left = if self.after_ff { 7 } else { 8 };
            self.after_ff = b == 0xFF;
            self.byte = b;
        }
        self.left -= 1;
        u32::from((self.byte >> self.left) & 1)
    }

    /// One MEL symbol (T.814 7.3.3): 1 when the quad (or U-VLC pair) is "interesting".
    fn symbol(&mut self) -> u32 {
        if self.run == 0 && !self.one {
            let e = MEL_E[self.k];
            if self.bit() == 1 {
                self.run = 1 << e;
                self.k = (self.k + 1).min(12);
            } else {
                let mut run = 0;
                for _ in 0..e {
                    run = (run << 1) | self.bit();
                }
                self.run = run;
                self.k = self.k.saturating_sub(1);
                self.one = true;
            }
        }
        if self.run > 0 {
            self.run -= 1;
            0
        } else {
            self.one = false;
            1
        }
    }
}

/// A backward-growing stream (VLC, MagRef): least significant bit first, bytes read from the
/// end down; a byte that follows (in reading order) one above 0x8F and whose low seven bits are
/// all 1 carries 7 bits. Past its start it reads as 0s.
struct Rev<'a> {
    data: &'a [u8],
    /// The next byte to read is `data[pos - 1]`; bytes below `floor` are not part of the stream.
    pos: usize,
    floor: usize,
    acc: u64,
    bits: u32,
    after_high: bool,
}

impl<'a> Rev<'a> {
    /// The VLC stream of a cleanup segment (`data`, whose MagSgn part is `pcup` bytes long).
    fn vlc(data: &'a [u8], pcup: usize) -> Self {
        let lcup = data.len();
        // The first VLC bits are the high nibble of the byte before the last (the rest of
        // those two bytes is the Scup field), read as if the last byte were 0xFF.
        let d = data[lcup - 2];
        let nibble = u64::from(d >> 4);
        let bits = if nibble & 7 == 7 { 3 } else { 4 };
        let mut vlc = Self {
            data,
            pos: lcup - 2,
            floor: pcup,
            acc: nibble & ((1 << bits) - 1),
            bits,
            after_high: (d | 0x0F) > 0x8F,
        };
        vlc.refill();
        vlc
    }

    /// The MagRef stream: the whole refinement segment, read from its last byte.
    fn magref(data: &'a [u8]) -> Self {
        let mut magref = Self {
            data,
            pos: data.len(),
            floor: 0,
            acc: 0,
            bits: 0,
            after_high: true,
        };
        magref.refill();
        magref
    }

    fn refill(&mut self) {
        while self.bits <= 56 {
            let d = if self.pos > self.floor {
                self.pos -= 1;
                self.data[self.pos]
            } else {
                0
            };
            let n = if self.after_high && d & 0x7F == 0x7F {
                7
            } else {
                8
            };
            self.acc |= (u64::from(d) & ((1 << n) - 1)) << self.bits;
            self.bits += n;
            self.after_high = d > 0x8F;
        }
    }

    fn peek(&mut self, n: u32) -> u32 {
        if self.bits < n {
            self.refill();
        }
        (self.acc & ((1u64 << n) - 1)) as u32
    }

    fn skip(&mut self, n: u32) {
        if self.bits < n {
            self.refill();
        }
        self.acc >>= n;
        self.bits -= n;
    }

    fn read(&mut self, n: u32) -> u32 {
        let v = self.peek(n);
        self.skip(n);
        v
    }

    /// A U-VLC prefix (T.814 7.3.6): 1, 2, 3 or 5.
    fn u_prefix(&mut self) -> u32 {
        if self.read(1) == 1 {
            1
        } else if self.read(1) == 1 {
            2
        } else if self.read(1) == 1 {
            3
        } else {
            5
        }
    }

    /// The U-VLC suffix for `prefix`. Suffixes of 28 and above announce a 4-bit extension,
    /// i.e. exponents beyond 32 bits, which no sub-band here can hold.
    fn u_suffix(&mut self, prefix: u32) -> Result<u32, HtError> {
        let s = match prefix {
            3 => self.read(1),
            5 => self.read(5),
            _ => 0,
        };
        if s >= 28 {
            return Err(HtError::MagnitudeTooLarge);
        }
        Ok(s)
    }
}

/// A forward-growing stream (MagSgn, SigProp): least significant bit first, 7 bits in each
/// byte after 0xFF; past its end it reads as `feed` bytes (1s for MagSgn, 0s for SigProp).
struct Fwd<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    bits: u32,
    after_ff: bool,
    feed: u8,
}

impl<'a> Fwd<'a> {
    fn new(data: &'a [u8], feed: u8) -> Self {
        Self {
            data,
            pos: 0,
            acc: 0,
            bits: 0,
            after_ff: false,
            feed,
        }
    }

    /// Reads `n` ≤ 32 bits.
    fn read(&mut self, n: u32) -> u64 {
        while self.bits < n {
            let d = self.data.get(self.pos).copied().unwrap_or(self.feed);
            self.pos = self.pos.saturating_add(1);
            let k = if self.after_ff { 7 } else { 8 };
            self.acc |= (u64::from(d) & ((1 << k) - 1)) << self.bits;
            self.bits += k;
            self.after_ff = d == 0xFF;
        }
        let v = self.acc & ((1u64 << n) - 1);
        self.acc >>= n;
        self.bits -= n;
        v
    }
}

/// Reusable buffers for decoding HT code-blocks.
#[derive(Default)]
pub(crate) struct HtContext {
    /// Per sample, row-major, `width` wide and the height rounded up to even: the magnitude in
    /// units of half the cleanup pass's bit-plane (bits 0-29), whether its last decoded
    /// bit-plane is the refinement one ([`REFINED`]) and the sign ([`NEGATIVE`]).
    pub(crate) samples: Vec<u32>,
    /// Each quad's significance pattern in the previous / current quad row, quad `q` at index
    /// `q + 1` (0 around the edges).
    rho_prev: Vec<u8>,
    rho_cur: Vec<u8>,
    /// `2 mu - 1` of the bottom sample of each column in the previous / current quad row
    /// (0 where insignificant), with one column of padding on each side.
    e_prev: Vec<u32>,
    e_cur: Vec<u32>,
    /// Per sample, for the refinement passes: significant after the cleanup pass (bit 0),
    /// newly significant in the SigProp pass (bit 1).
    state: Vec<u8>,
}

/// One quad's VLC decoding.
#[derive(Default, Clone, Copy)]
struct Quad {
    rho: u32,
    u_off: u32,
    e_k: u32,
    e_1: u32,
}

impl Quad {
    fn from_entry(entry: u16) -> Self {
        let e = u32::from(entry);
        Self {
            rho: (e >> 4) & 0xF,
            u_off: (e >> 3) & 1,
            e_1: (e >> 8) & 0xF,
            e_k: (e >> 12) & 0xF,
        }
    }
}

/// `HtContext::samples`: the sample's last decoded bit-plane is the refinement one.
pub(crate) const REFINED: u32 = 1 << 30;
/// `HtContext::samples`: the sample is negative.
pub(crate) const NEGATIVE: u32 = 1 << 31;
/// `HtContext::samples`: the magnitude bits.
pub(crate) const MAGNITUDE: u32 = REFINED - 1;

/// Decodes an HT code-block of `width` × `height` samples: the cleanup pass from `cleanup`,
/// then, with `passes` of 2 or 3, the SigProp and MagRef passes from `refinement`.
///
/// `max_u` bounds each quad's exponent bound `U_q` (the missing MSB count + 2, as in T.814's
/// requirement that magnitudes fit the sub-band's bit-planes); `causal` is the vertically
/// causal context mode. On success the samples are in `ctx.samples`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode(
    cleanup: &[u8],
    refinement: &[u8],
    passes: u8,
    width: usize,
    height: usize,
    max_u: u32,
    causal: bool,
    ctx: &mut HtContext,
) -> Result<(), HtError> {
    decode_cleanup(cleanup, width, height, max_u, ctx)?;
    // As in OpenJPH (the reference decoder): refinement passes without any refinement bytes
    // are taken as absent.
    if passes > 1 && !refinement.is_empty() {
        sig_prop(refinement, width, height, causal, ctx);
        if passes > 2 {
            mag_ref(refinement, width, height, ctx);
        }
    }
    Ok(())
}

/// The SigProp pass (T.814 7.4): in stripes of four rows, groups of four columns, each
/// insignificant sample with a significant neighbour gets a significance bit (newly significant
/// samples count for the samples after them); the group's sign bits follow its significance
/// bits. A new sample has magnitude 1 at the refinement bit-plane.
fn sig_prop(data: &[u8], width: usize, height: usize, causal: bool, ctx: &mut HtContext) {
    let mut stream = Fwd::new(data, 0);
    let samples = &mut ctx.samples;
    // Significance after the cleanup pass (bit 0) and new in this pass (bit 1).
    let state = &mut ctx.state;
    state.clear();
    state.extend(samples.iter().map(|&s| u8::from(s & MAGNITUDE != 0)));
    let mut new = Vec::new();
    for y0 in (0..height).step_by(4) {
        let y1 = (y0 + 4).min(height);
        for g0 in (0..width).step_by(4) {
            new.clear();
            for x in g0..(g0 + 4).min(width) {
                for y in y0..y1 {
                    if state[y * width + x] != 0 {
                        continue;
                    }
                    let mut candidate = false;
                    for ny in y.saturating_sub(1)..=y + 1 {
                        for nx in x.saturating_sub(1)..=x + 1 {
                            if nx >= width || ny >= height || (nx == x && ny == y) {
                                continue;
                            }
                            let s = state[ny * width + nx];
                            // The row below the stripe: only its cleanup significance, and not
                            // at all in the vertically causal mode.
                            if ny >= y1 && causal {
                                continue;
                            }
                            // Samples decided before this one in the scan: the stripe above,
                            // the columns to the left, the rows above in this column.
                            let before = ny < y0 || nx < x || (nx == x && ny < y);
                            if s & 1 != 0 || (s & 2 != 0 && before) {
                                candidate = true;
                            }
                        }
                    }
                    if candidate && stream.read(1) == 1 {
                        state[y * width + x] = 2;
                        new.push(y * width + x);
                    }
                }
            }
            for &i in &new {
                let sign = stream.read(1) as u32;
                samples[i] = 1 | REFINED | (sign << 31);
            }
        }
    }
}

/// The MagRef pass (T.814 7.5): one more magnitude bit for each sample significant after the
/// cleanup pass, in stripe order.
fn mag_ref(data: &[u8], width: usize, height: usize, ctx: &mut HtContext) {
    let mut stream = Rev::magref(data);
    for y0 in (0..height).step_by(4) {
        for x in 0..width {
            for y in y0..(y0 + 4).min(height) {
                let i = y * width + x;
                if ctx.state[i] & 1 != 0 {
                    let bit = stream.read(1);
                    ctx.samples[i] |= bit | REFINED;
                }
            }
        }
    }
}

/// The cleanup pass (T.814 7.3): magnitudes `2 mu` and signs into `ctx.samples`.
fn decode_cleanup(
    segment: &[u8],
    width: usize,
    height: usize,
    max_u: u32,
    ctx: &mut HtContext,
) -> Result<(), HtError> {
    let lcup = segment.len();
    if lcup < 2 {
        return Err(HtError::BadSegmentLength);
    }
    let scup = (usize::from(segment[lcup - 1]) << 4) | usize::from(segment[lcup - 2] & 0x0F);
    if scup < 2 || scup > lcup || scup > 4079 {
        return Err(HtError::BadSegmentLength);
    }
    let pcup = lcup - scup;
    let max_u = max_u.min(32);

    let padded_height = height + (height & 1);
    ctx.samples.clear();
    ctx.samples.resize(width * padded_height, 0);
    let quads_x = width.div_ceil(2);
    for v in [&mut ctx.rho_prev, &mut ctx.rho_cur] {
        v.clear();
        v.resize(quads_x + 2, 0);
    }
    for v in [&mut ctx.e_prev, &mut ctx.e_cur] {
        v.clear();
        v.resize(width + 3, 0);
    }

    let mut mel = Mel::new(&segment[pcup..lcup - 1]);
    let mut vlc = Rev::vlc(segment, pcup);
    let mut magsgn = Fwd::new(&segment[..pcup], 0xFF);

    for qy in 0..padded_height / 2 {
        let initial = qy == 0;
        let table = if initial { &VLC_INITIAL } else { &VLC_OTHER };
        ctx.rho_cur.fill(0);
        ctx.e_cur.fill(0);
        let mut q = 0;
        while q < quads_x {
            let second = q + 1 < quads_x;
            let mut quads = [Quad::default(); 2];
            for (i, quad) in quads.iter_mut().enumerate() {
                if i == 1 && !second {
                    break;
                }
                let qx = q + i;
                let context = if initial {
                    // The previous quad's left column, top-right and bottom-right samples.
                    // (rho arrays are offset by one: index qx + 1 is quad qx.)
                    let left = u32::from(ctx.rho_cur[qx]);
                    (left & 1 | (left >> 1) & 1) | ((left >> 2) & 1) << 1 | ((left >> 3) & 1) << 2
                } else {
                    let nw = u32::from(ctx.rho_prev[qx]);
                    let n = u32::from(ctx.rho_prev[qx + 1]);
                    let ne = u32::from(ctx.rho_prev[qx + 2]);
                    let w = u32::from(ctx.rho_cur[qx]);
                    ((nw >> 3) & 1 | (n >> 1) & 1)
                        | ((w >> 2) & 1 | (w >> 3) & 1) << 1
                        | ((n >> 3) & 1 | (ne >> 1) & 1) << 2
                };
                if context == 0 && mel.symbol() == 0 {
                    continue;
                }
                let entry = table[((context as usize) << 7) | vlc.peek(7) as usize];
                if entry == 0 {
                    return Err(HtError::BadCodeword);
                }
                vlc.skip(u32::from(entry & 7));
                *quad = Quad::from_entry(entry);
                ctx.rho_cur[qx + 1] = quad.rho as u8;
            }

            // U-VLC (T.814 7.3.6): the unsigned residuals of the pair.
            let mut u = [0u32; 2];
            match (quads[0].u_off, quads[1].u_off) {
                (1, 1) => {
                    if initial && mel.symbol() == 1 {
                        let (p0, p1) = (vlc.u_prefix(), vlc.u_prefix());
                        let (s0, s1) = (vlc.u_suffix(p0)?, vlc.u_suffix(p1)?);
                        u = [2 + p0 + s0, 2 + p1 + s1];
                    } else {
                        let p0 = vlc.u_prefix();
                        if initial && p0 > 2 {
                            let u1 = 1 + vlc.read(1);
                            let s0 = vlc.u_suffix(p0)?;
                            u = [p0 + s0, u1];
                        } else {
                            let p1 = vlc.u_prefix();
                            let (s0, s1) = (vlc.u_suffix(p0)?, vlc.u_suffix(p1)?);
                            u = [p0 + s0, p1 + s1];
                        }
                    }
                }
                (1, 0) => {
                    let p = vlc.u_prefix();
                    u[0] = p + vlc.u_suffix(p)?;
                }
                (0, 1) => {
                    let p = vlc.u_prefix();
                    u[1] = p + vlc.u_suffix(p)?;
                }
                _ => {}
            }

            // MagSgn, quad by quad.
            for (i, quad) in quads.iter().enumerate() {
                let qx = q + i;
                if qx >= quads_x || quad.rho == 0 {
                    continue;
                }
                let kappa = if initial || quad.rho.count_ones() < 2 {
                    1
                } else {
                    // Columns 2qx - 1 ..= 2qx + 2 of the row above (e arrays are offset by 1).
                    let x = 2 * qx;
                    let e =
                        ctx.e_prev[x] | ctx.e_prev[x + 1] | ctx.e_prev[x + 2] | ctx.e_prev[x + 3];
                    (e | 2).ilog2()
                };
                let u_q = u[i] + kappa;
                if u_q > max_u {
                    return Err(HtError::MagnitudeTooLarge);
                }
                for n in 0..4u32 {
                    let x = 2 * qx + (n >> 1) as usize;
                    let y = 2 * qy + (n & 1) as usize;
                    if x >= width {
                        break;
                    }
                    if (quad.rho >> n) & 1 == 0 {
                        continue;
                    }
                    let m = u_q - ((quad.e_k >> n) & 1);
                    let bits = magsgn.read(m);
                    let v = bits | (u64::from((quad.e_1 >> n) & 1) << m);
                    let mu = (v >> 1) + 1;
                    let sign = (bits & 1) as u32;
                    // u_q ≤ 32, so mu ≤ 2^32; 2 mu must stay below the flag bits.
                    let mu = u32::try_from(mu)
                        .ok()
                        .filter(|&mu| mu < 1 << 29)
                        .ok_or(HtError::MagnitudeTooLarge)?;
                    ctx.samples[y * width + x] = (2 * mu) | (sign << 31);
                    if n & 1 == 1 {
                        ctx.e_cur[x + 1] = 2 * mu - 1;
                    }
                }
            }
            q += 2;
        }
        core::mem::swap(&mut ctx.rho_prev, &mut ctx.rho_cur);
        core::mem::swap(&mut ctx.e_prev, &mut ctx.e_cur);
    }

    Ok(())
}
