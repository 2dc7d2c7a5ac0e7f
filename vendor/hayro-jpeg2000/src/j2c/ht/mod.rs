//! The High-Throughput (HT) block decoder of ITU-T T.814 | ISO/IEC 15444-15, clause 7.
//!
//! An HT code-block's cleanup segment holds three byte streams: MagSgn (growing forward from
//! the start), MEL (growing forward from `Pcup`) and VLC (growing backward from the end). The
//! cleanup pass walks the code-block in 2 × 2 quads, a pair of quads at a time: the MEL and VLC
//! streams give each quad's significance pattern (`rho`), exponent hints (`e_k`, `e_1`) and the
//! unsigned residual `u` (U-VLC); MagSgn then gives the magnitude and sign bits.
//!
//! Only the cleanup pass is decoded: code-blocks that also carry SigProp/MagRef passes are
//! refused by the packet-header stage (see `segment.rs`) rather than decoded partially.

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
        Self { data, pos: 0, byte: 0, left: 0, after_ff: false, k: 0, run: 0, one: false }
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

/// The VLC stream: backward from the segment's end, least significant bit first; a byte that
/// follows (in reading order) one above 0x8F and whose low seven bits are all 1 carries 7 bits.
struct Vlc<'a> {
    data: &'a [u8],
    /// The next byte to read is `data[pos - 1]`; bytes below `floor` are not VLC.
    pos: usize,
    floor: usize,
    acc: u64,
    bits: u32,
    after_high: bool,
}

impl<'a> Vlc<'a> {
    /// `data` is the whole cleanup segment; `pcup` its MagSgn length.
    fn new(data: &'a [u8], pcup: usize) -> Self {
        let lcup = data.len();
        // The first VLC bits are the high nibble of the byte before the last.
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

    fn refill(&mut self) {
        while self.bits <= 56 {
            let d = if self.pos > self.floor {
                self.pos -= 1;
                self.data[self.pos]
            } else {
                0
            };
            let n = if self.after_high && d & 0x7F == 0x7F { 7 } else { 8 };
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

/// The MagSgn stream: forward, least significant bit first, 7 bits in each byte after 0xFF;
/// past its end it reads as 1s.
struct MagSgn<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    bits: u32,
    after_ff: bool,
}

impl<'a> MagSgn<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0, acc: 0, bits: 0, after_ff: false }
    }

    /// Reads `n` ≤ 32 bits.
    fn read(&mut self, n: u32) -> u64 {
        while self.bits < n {
            let d = self.data.get(self.pos).copied().unwrap_or(0xFF);
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
    /// Per sample: the magnitude `mu` (bits 0-30) and the sign (bit 31), row-major, `width`
    /// wide and the height rounded up to even.
    pub(crate) samples: Vec<u32>,
    rho_prev: Vec<u8>,
    rho_cur: Vec<u8>,
    /// `2 mu - 1` of the bottom sample of each column in the previous / current quad row
    /// (0 where insignificant), with one column of padding on each side.
    e_prev: Vec<u32>,
    e_cur: Vec<u32>,
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
        Self { rho: (e >> 4) & 0xF, u_off: (e >> 3) & 1, e_1: (e >> 8) & 0xF, e_k: (e >> 12) & 0xF }
    }
}

/// Decodes the HT cleanup pass of a `width` × `height` code-block from its cleanup segment.
///
/// `max_u` bounds each quad's exponent bound `U_q` (the missing MSB count + 2, as in T.814's
/// requirement that magnitudes fit the sub-band's bit-planes). On success the magnitudes and
/// signs are in `ctx.samples`.
pub(crate) fn decode_cleanup(
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
    let mut vlc = Vlc::new(segment, pcup);
    let mut magsgn = MagSgn::new(&segment[..pcup]);

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
                    let e = ctx.e_prev[x] | ctx.e_prev[x + 1] | ctx.e_prev[x + 2] | ctx.e_prev[x + 3];
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
                    // u_q ≤ 32, so mu ≤ 2^32: keep it below the sign bit.
                    let mu = u32::try_from(mu).ok().filter(|&mu| mu < 1 << 31).ok_or(HtError::MagnitudeTooLarge)?;
                    ctx.samples[y * width + x] = mu | (sign << 31);
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
