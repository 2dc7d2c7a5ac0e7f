//! JPEG-LS (ITU-T T.87 / ISO/IEC 14495-1) decoder, our own: lossless (1.2.840.10008.1.2.4.80)
//! and near-lossless (.81), 2–16 bits, 1 or 3 components, every interleave mode (none, line,
//! sample), default or LSE-preset coding parameters.
//!
//! No maintained pure-Rust JPEG-LS decoder fits: the crates found either bind the C++ CharLS
//! library or decode single-component streams only. This one follows T.87 Annex A with the
//! conventions of CharLS (the encoder behind most DICOM JPEG-LS): in line-interleaved mode the
//! components share one set of contexts and keep their own run index; in sample-interleaved
//! mode a run covers whole pixels and its interruption codes every component with run
//! context 0.
//!
//! Hostile input: every loop is bounded by the image size or by LIMIT, reading past the end of
//! the scan yields zero bits that are counted and reported, and the only allocations are the
//! output (checked by the caller) and two line buffers per component.

use super::{invalid, Target};
use crate::Error;

const CODEC: &str = "JPEG-LS";

/// Run-length order table J (T.87 A.7.1.2).
const J: [u32; 32] = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15];

fn bad(what: impl std::fmt::Display) -> Error {
    invalid(CODEC, what)
}

/// Coding parameters (T.87 C.2.4.1.1), after defaults.
struct Params {
    maxval: i32,
    t1: i32,
    t2: i32,
    t3: i32,
    reset: i32,
    near: i32,
    range: i32,
    qbpp: u32,
    limit: u32,
    /// The quantized gradient of every d in −T3 ≤ d ≤ T3, at d + T3 (beyond: as at the ends):
    /// three lookups per sample instead of up to nine comparisons each.
    quant: Vec<i8>,
}

impl Params {
    fn new(bits: u32, preset: [i32; 5], near: i32) -> Result<Params, Error> {
        let [maxval, t1, t2, t3, reset] = preset;
        let maxval = if maxval > 0 { maxval } else { (1i32 << bits) - 1 };
        if !(1..1 << 16).contains(&maxval) || near < 0 || near > (maxval / 2).min(255) {
            return Err(bad(format!("invalid MAXVAL {maxval} or NEAR {near}")));
        }
        let clamp = |i: i32, j: i32| if i > maxval || i < j { j } else { i };
        let (d1, d2, d3) = if maxval >= 128 {
            let factor = (maxval.min(4095) + 128) / 256;
            let d1 = clamp(factor + 2 + 3 * near, near + 1); // FACTOR × (BASIC_T1 − 2) + 2 + 3·NEAR
            let d2 = clamp(factor * (7 - 3) + 3 + 5 * near, d1);
            (d1, d2, clamp(factor * (21 - 4) + 4 + 7 * near, d2))
        } else {
            let factor = 256 / (maxval + 1);
            let d1 = clamp((3 / factor + 3 * near).max(2), near + 1);
            let d2 = clamp((7 / factor + 5 * near).max(3), d1);
            (d1, d2, clamp((21 / factor + 7 * near).max(4), d2))
        };
        let t1 = if t1 > 0 { t1 } else { d1 };
        let t2 = if t2 > 0 { t2 } else { d2 };
        let t3 = if t3 > 0 { t3 } else { d3 };
        let reset = if reset > 0 { reset } else { 64 };
        if !(near < t1 && t1 <= t2 && t2 <= t3 && t3 <= maxval.max(near + 1)) || reset < 3 {
            return Err(bad("invalid preset thresholds"));
        }
        let range = (maxval + 2 * near) / (2 * near + 1) + 1;
        let qbpp = ceil_log2(range as u32);
        let bpp = ceil_log2(maxval as u32 + 1).max(2);
        let mut p = Params { maxval, t1, t2, t3, reset, near, range, qbpp, limit: 2 * (bpp + bpp.max(8)), quant: Vec::new() };
        p.quant = (-t3..=t3).map(|d| p.quantize_by_thresholds(d) as i8).collect();
        Ok(p)
    }

    #[inline(always)]
    fn quantize(&self, d: i32) -> i32 {
        // Clamped into the table's range: its ends are ±4, so two selects replace two branches.
        let i = d.clamp(-self.t3, self.t3) + self.t3;
        self.quant.get(i as usize).map_or(0, |&q| i32::from(q))
    }

    /// T.87 A.3.3, comparison by comparison: what `quant` holds.
    fn quantize_by_thresholds(&self, d: i32) -> i32 {
        if d <= -self.t3 {
            -4
        } else if d <= -self.t2 {
            -3
        } else if d <= -self.t1 {
            -2
        } else if d < -self.near {
            -1
        } else if d <= self.near {
            0
        } else if d < self.t1 {
            1
        } else if d < self.t2 {
            2
        } else if d < self.t3 {
            3
        } else {
            4
        }
    }

    #[inline(always)]
    fn context(&self, d: i32, b: i32, c: i32, a: i32) -> i32 {
        (self.quantize(d - b) * 9 + self.quantize(b - c)) * 9 + self.quantize(c - a)
    }

    fn clamp(&self, v: i32) -> i32 {
        v.clamp(0, self.maxval)
    }

    fn reconstruct(&self, predicted: i32, error: i32) -> i32 {
        let step = 2 * self.near + 1;
        let mut v = predicted + error * step;
        if v < -self.near {
            v += self.range * step;
        } else if v > self.maxval + self.near {
            v -= self.range * step;
        }
        self.clamp(v)
    }
}

fn ceil_log2(n: u32) -> u32 {
    32 - n.saturating_sub(1).leading_zeros()
}

/// Regular-mode context (T.87 A.2).
#[derive(Clone, Copy)]
struct Context {
    a: i32,
    b: i32,
    c: i32,
    n: i32,
}

/// Run-interruption context (T.87 A.7.2).
#[derive(Clone, Copy)]
struct RunContext {
    a: i32,
    n: i32,
    nn: i32,
    ri_type: i32,
}

/// The bit stream of one scan: a 0xFF byte is followed by a byte whose top bit is a stuffed 0.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    count: u32,
    /// Zero bits supplied past the end of the scan data.
    overrun: u64,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Bits<'a> {
        Bits { data, pos: 0, acc: 0, count: 0, overrun: 0 }
    }

    fn fill(&mut self) {
        // Eight whole bytes at once when none of them, nor the byte before, is 0xFF (no marker,
        // no stuffed bit): nearly always, and a byte at a time took a fifth of the decode.
        let next = self.data.get(self.pos..self.pos + 8).and_then(|b| <[u8; 8]>::try_from(b).ok());
        let after_ff = self.pos > 0 && self.data.get(self.pos - 1) == Some(&0xFF);
        if let (Some(bytes), false, true) = (next, after_ff, self.count <= 56) {
            let word = u64::from_be_bytes(bytes);
            // A byte of `!word` is zero where `word` has 0xFF.
            let inverted = !word;
            let has_ff = inverted.wrapping_sub(0x0101_0101_0101_0101) & !inverted & 0x8080_8080_8080_8080 != 0;
            if !has_ff {
                let take = (64 - self.count) / 8;
                // take ≥ 1 bytes, the top ones of `word`, placed right after the buffered bits.
                self.acc |= (word >> (64 - 8 * take)) << (64 - self.count - 8 * take);
                self.pos += take as usize;
                self.count += 8 * take;
                return;
            }
        }
        while self.count <= 56 {
            let byte = match self.data.get(self.pos) {
                // A marker (0xFF then a byte with its top bit set) ends the scan.
                Some(&b) if !(b & 0x80 != 0 && self.pos > 0 && self.data.get(self.pos - 1) == Some(&0xFF)) => b,
                _ => {
                    self.acc |= 0;
                    self.count += 8;
                    self.overrun += 8;
                    continue;
                }
            };
            let stuffed = self.pos > 0 && self.data.get(self.pos - 1) == Some(&0xFF);
            self.pos += 1;
            if stuffed {
                self.acc |= u64::from(byte & 0x7F) << (57 - self.count);
                self.count += 7;
            } else {
                self.acc |= u64::from(byte) << (56 - self.count);
                self.count += 8;
            }
        }
    }

    #[inline(always)]
    fn bits(&mut self, n: u32) -> i32 {
        if n == 0 {
            return 0;
        }
        if self.count < n {
            self.fill();
        }
        let v = (self.acc >> (64 - n)) as i32;
        self.acc <<= n;
        self.count -= n;
        v
    }

    fn bit(&mut self) -> bool {
        self.bits(1) == 1
    }

    /// Zero bits before the next one bit, at most `max` (more is an error).
    #[inline(always)]
    fn unary(&mut self, max: u32) -> Result<u32, Error> {
        let mut n = 0;
        loop {
            if self.count == 0 {
                self.fill();
            }
            let zeros = (self.acc.leading_zeros()).min(self.count);
            if zeros < self.count {
                n += zeros;
                // zeros + 1 reaches 64 when the one bit is the accumulator's last: shifting a
                // u64 by 64 overflows, and the result must be an empty accumulator.
                self.acc = self.acc.checked_shl(zeros + 1).unwrap_or(0);
                self.count -= zeros + 1;
                break;
            }
            n += zeros;
            self.acc = 0;
            self.count = 0;
            if n > max {
                break;
            }
        }
        if n > max || self.overrun > 64 {
            return Err(bad("the scan data is damaged or cut short"));
        }
        Ok(n)
    }

    /// Bytes consumed, counting the buffered bits as unread.
    fn position(&self) -> usize {
        self.pos.saturating_sub(self.count as usize / 8)
    }
}

/// The Golomb parameter of a context (T.87 A.5.1): the least k with N·2^k ≥ A, at most 24. From
/// the leading zeros rather than a loop of up to 24 steps per sample (16-bit data needs ~12).
fn golomb_k(n: i32, a: i32) -> u32 {
    if n >= a || n <= 0 {
        return 0;
    }
    // N < A, both positive: N·2^k0 has A's top bit, so k is k0 or k0 + 1.
    let k0 = n.leading_zeros() - a.leading_zeros();
    let k = if (n << k0) < a { k0 + 1 } else { k0 };
    k.min(24)
}

/// Golomb-coded value with the LIMIT escape (T.87 A.5.3).
// Inlined, as `regular`, `unary` and `bits`: a call per sample returning a `Result` (an error
// type of several words) cost 13 % of a 16-bit decode's instructions.
#[inline(always)]
fn golomb(bits: &mut Bits, k: u32, limit: u32, qbpp: u32) -> Result<i32, Error> {
    let escape = limit.saturating_sub(qbpp + 1);
    // The common case, from the accumulator at once: a refill leaves at least 57 bits, so a
    // code of up to 32 bits is there whole when its one bit is.
    if bits.count < 32 {
        bits.fill();
    }
    let zeros = bits.acc.leading_zeros();
    if zeros < escape && zeros < 16 && k <= 15 && bits.count >= 32 {
        let used = zeros + 1 + k;
        let low = ((bits.acc << (zeros + 1)) >> (63 - k) >> 1) as i32;
        bits.acc <<= used;
        bits.count -= used;
        return Ok(((zeros as i32) << k) + low);
    }
    golomb_by_unary(bits, k, escape, qbpp)
}

/// [`golomb`] by the definition: the unary prefix, then the escape or the k low bits.
#[inline(always)]
fn golomb_by_unary(bits: &mut Bits, k: u32, escape: u32, qbpp: u32) -> Result<i32, Error> {
    let high = bits.unary(escape)?;
    if high >= escape {
        return Ok(bits.bits(qbpp) + 1);
    }
    if k == 0 {
        return Ok(high as i32);
    }
    if k > 24 || high >= 1 << (31 - k) {
        return Err(bad("Golomb code out of range"));
    }
    Ok(((high as i32) << k) + bits.bits(k))
}

/// The decoding state of one scan.
struct Scan<'p> {
    p: &'p Params,
    contexts: Vec<Context>,
    runs: [RunContext; 2],
    run_index: Vec<usize>,
}

impl<'p> Scan<'p> {
    fn new(p: &'p Params, components: usize) -> Scan<'p> {
        let a = ((p.range + 32) / 64).max(2);
        Scan {
            p,
            contexts: vec![Context { a, b: 0, c: 0, n: 1 }; 365],
            runs: [RunContext { a, n: 1, nn: 0, ri_type: 0 }, RunContext { a, n: 1, nn: 0, ri_type: 1 }],
            run_index: vec![0; components],
        }
    }

    #[inline(always)]
    fn regular(&mut self, bits: &mut Bits, q: i32, a: i32, b: i32, c: i32) -> Result<i32, Error> {
        let p = self.p;
        let sign = if q < 0 { -1 } else { 1 };
        let ctx = self.contexts.get_mut(q.unsigned_abs() as usize).ok_or_else(|| bad("context"))?;
        let med = if c >= a.max(b) {
            a.min(b)
        } else if c <= a.min(b) {
            a.max(b)
        } else {
            a + b - c
        };
        let predicted = p.clamp(med + sign * ctx.c);
        let k = golomb_k(ctx.n, ctx.a);
        let mapped = golomb(bits, k, p.limit, p.qbpp)?;
        let mut error = if mapped & 1 == 0 { mapped >> 1 } else { -(mapped >> 1) - 1 };
        if error.abs() > 65535 {
            return Err(bad("error value out of range"));
        }
        if k == 0 && p.near == 0 && 2 * ctx.b + ctx.n - 1 < 0 {
            error = -error - 1;
        }
        // Context update (T.87 A.6).
        ctx.a += error.abs();
        ctx.b += error * (2 * p.near + 1);
        if ctx.n == p.reset {
            ctx.a >>= 1;
            ctx.b >>= 1;
            ctx.n >>= 1;
        }
        ctx.n += 1;
        if ctx.b + ctx.n <= 0 {
            ctx.b += ctx.n;
            if ctx.b <= -ctx.n {
                ctx.b = -ctx.n + 1;
            }
            if ctx.c > -128 {
                ctx.c -= 1;
            }
        } else if ctx.b > 0 {
            ctx.b -= ctx.n;
            if ctx.b > 0 {
                ctx.b = 0;
            }
            if ctx.c < 127 {
                ctx.c += 1;
            }
        }
        Ok(p.reconstruct(predicted, sign * error))
    }

    /// Length of a run of `remaining` samples at most (T.87 A.7.1).
    fn run_length(&mut self, bits: &mut Bits, component: usize, remaining: usize) -> Result<usize, Error> {
        let index = self.run_index.get_mut(component).ok_or_else(|| bad("component"))?;
        let mut length = 0usize;
        while bits.bit() {
            let step = 1usize << J[*index];
            let count = step.min(remaining - length);
            length += count;
            if count == step {
                *index = (*index + 1).min(31);
            }
            if length == remaining {
                return Ok(length);
            }
            if bits.overrun > 64 {
                return Err(bad("the scan data is cut short"));
            }
        }
        length += bits.bits(J[*index]) as usize;
        if length > remaining {
            return Err(bad("a run overruns its line"));
        }
        Ok(length)
    }

    /// One run-interruption sample error (T.87 A.7.2).
    fn interruption(&mut self, bits: &mut Bits, component: usize, which: usize) -> Result<i32, Error> {
        let p = self.p;
        let j = J[self.run_index.get(component).copied().unwrap_or(0)];
        let ctx = &mut self.runs[which];
        let temp = ctx.a + (ctx.n >> 1) * ctx.ri_type;
        let mut k = 0;
        while (ctx.n << k) < temp && k < 24 {
            k += 1;
        }
        let mapped = golomb(bits, k, p.limit.saturating_sub(j + 1), p.qbpp)?;
        let t = mapped + ctx.ri_type;
        let odd = t & 1 == 1;
        let magnitude = (t + i32::from(odd)) / 2;
        let error = if (k != 0 || 2 * ctx.nn >= ctx.n) == odd { -magnitude } else { magnitude };
        if error < 0 {
            ctx.nn += 1;
        }
        ctx.a += (mapped + 1 - ctx.ri_type) >> 1;
        if ctx.n == p.reset {
            ctx.a >>= 1;
            ctx.n >>= 1;
            ctx.nn >>= 1;
        }
        ctx.n += 1;
        Ok(error)
    }

    fn end_run(&mut self, component: usize) {
        if let Some(i) = self.run_index.get_mut(component) {
            *i = i.saturating_sub(1);
        }
    }

    /// Decodes one line of one component. `prev` and `cur` hold the line with one padding
    /// sample on each side (index 0 and width + 1).
    fn line(&mut self, bits: &mut Bits, component: usize, prev: &[i32], cur: &mut [i32]) -> Result<(), Error> {
        let width = cur.len() - 2;
        let prev = prev.get(..width + 2).ok_or_else(|| bad("line"))?;
        let p = self.p;
        let mut x = 1;
        while x <= width {
            // Regular mode until a run starts: the neighbours move along in locals (c ← b ← d,
            // a ← the sample just decoded) instead of four loads per sample.
            let (mut a, mut b, mut c) = (cur[x - 1], prev[x], prev[x - 1]);
            loop {
                let d = prev[x + 1];
                let q = p.context(d, b, c, a);
                if q == 0 {
                    break;
                }
                a = self.regular(bits, q, a, b, c)?;
                cur[x] = a;
                x += 1;
                if x > width {
                    return Ok(());
                }
                (c, b) = (b, d);
            }
            let remaining = width + 1 - x;
            let run = self.run_length(bits, component, remaining)?;
            cur[x..x + run].fill(a);
            x += run;
            if x > width {
                break;
            }
            let rb = prev[x];
            cur[x] = if (a - rb).abs() <= p.near {
                let e = self.interruption(bits, component, 1)?;
                p.reconstruct(a, e)
            } else {
                let e = self.interruption(bits, component, 0)?;
                p.reconstruct(rb, if rb < a { -e } else { e })
            };
            self.end_run(component);
            x += 1;
        }
        Ok(())
    }

    /// Decodes one line of all `N` components sample-interleaved. `prev` and `cur` hold pixels
    /// with one padding pixel on each side. `N` is a constant so a pixel is an array: its copies
    /// in run mode and its neighbours need no index arithmetic.
    fn pixel_line<const N: usize>(&mut self, bits: &mut Bits, prev: &[i32], cur: &mut [i32]) -> Result<(), Error> {
        let (cur, _) = cur.as_chunks_mut::<N>();
        let width = cur.len().checked_sub(2).ok_or_else(|| bad("line"))?;
        let prev = prev.as_chunks::<N>().0.get(..width + 2).ok_or_else(|| bad("line"))?;
        let p = self.p;
        let mut x = 1;
        while x <= width {
            let (a, b, c, d) = (cur[x - 1], prev[x], prev[x - 1], prev[x + 1]);
            let mut qs = [0i32; N];
            for s in 0..N {
                qs[s] = p.context(d[s], b[s], c[s], a[s]);
            }
            if qs.iter().any(|&q| q != 0) {
                let mut pixel = [0i32; N];
                for s in 0..N {
                    pixel[s] = self.regular(bits, qs[s], a[s], b[s], c[s])?;
                }
                cur[x] = pixel;
                x += 1;
                continue;
            }
            let remaining = width + 1 - x;
            let run = self.run_length(bits, 0, remaining)?;
            cur[x..x + run].fill(a);
            x += run;
            if x > width {
                break;
            }
            let b = prev[x];
            let mut pixel = [0i32; N];
            for s in 0..N {
                let e = self.interruption(bits, 0, 0)?;
                pixel[s] = p.reconstruct(b[s], if b[s] < a[s] { -e } else { e });
            }
            cur[x] = pixel;
            self.end_run(0);
            x += 1;
        }
        Ok(())
    }
}

/// Three component lines into RGB-interleaved output, four pixels at a time with WebAssembly SIMD
/// (three shuffles into three stores); returns how many pixels it wrote. The shipped build's
/// link-time optimisation runs at opt-level "z", which vectorises no loop: a store every third
/// slot was most of a line-interleaved RGB decode.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod interleave {
    use core::arch::wasm32::*;

    pub(super) fn three(row: &mut [u32], r: &[i32], g: &[i32], b: &[i32]) -> usize {
        let quad = |v: &[i32; 4]| i32x4(v[0], v[1], v[2], v[3]);
        let mut done = 0;
        for (((out, r), g), b) in
            row.as_chunks_mut::<12>().0.iter_mut().zip(r.as_chunks::<4>().0).zip(g.as_chunks::<4>().0).zip(b.as_chunks::<4>().0)
        {
            let (r, g, b) = (quad(r), quad(g), quad(b));
            // [r0 g0 b0 r1] [g1 b1 r2 g2] [b2 r3 g3 b3]
            let first = i32x4_shuffle::<0, 1, 4, 2>(i32x4_shuffle::<0, 4, 1, 5>(r, g), b);
            let second = i32x4_shuffle::<0, 1, 6, 2>(i32x4_shuffle::<1, 5, 2, 6>(g, b), r);
            let third = i32x4_shuffle::<6, 0, 1, 7>(i32x4_shuffle::<3, 7, 3, 7>(r, g), b);
            *out = bytemuck::cast::<[v128; 3], [u32; 12]>([first, second, third]);
            done += 4;
        }
        done
    }
}

/// Elsewhere the loop in `decode_scan` interleaves every pixel.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod interleave {
    pub(super) fn three(_: &mut [u32], _: &[i32], _: &[i32], _: &[i32]) -> usize {
        0
    }
}

fn u16_at(data: &[u8], pos: usize) -> Result<usize, Error> {
    data.get(pos..pos + 2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]]))).ok_or_else(|| bad("the stream ends in a marker segment"))
}

/// Where the scan data starting at `from` ends: the next marker (0xFF then a byte ≥ 0x80).
fn scan_end(data: &[u8], from: usize) -> usize {
    let mut i = from;
    while i + 1 < data.len() {
        if data[i] == 0xFF && data[i + 1] >= 0x80 {
            return i;
        }
        i += 1;
    }
    data.len()
}

pub(crate) fn decode(target: &Target, data: &[u8]) -> Result<Vec<u32>, Error> {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err(bad("the frame does not start with SOI"));
    }
    let mut pos = 2;
    let mut frame: Option<(u32, usize, usize, Vec<u8>)> = None;
    let mut preset = [0i32; 5];
    let mut out: Vec<u32> = Vec::new();
    let mut done = vec![false; target.components];
    loop {
        while data.get(pos) == Some(&0xFF) && data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let marker = match (data.get(pos), data.get(pos + 1)) {
            (Some(0xFF), Some(&m)) => m,
            _ => break, // end of data: fine once every component is decoded
        };
        if marker == 0xD9 {
            break;
        }
        let len = u16_at(data, pos + 2)?;
        let segment = data.get(pos + 4..pos + 2 + len).filter(|_| len >= 2).ok_or_else(|| bad("a marker segment overruns the frame"))?;
        pos += 2 + len;
        match marker {
            0xF7 => {
                // SOF55: P, Y, X, Nf, then Ci Hi/Vi Tqi per component.
                let [precision, y1, y0, x1, x0, nf, ..] = *segment else { return Err(bad("short frame header")) };
                let ids: Vec<u8> = segment.get(6..).unwrap_or_default().chunks_exact(3).take(usize::from(nf)).map(|c| c[0]).collect();
                let (rows, columns) = (usize::from(u16::from_be_bytes([y1, y0])), usize::from(u16::from_be_bytes([x1, x0])));
                if ids.len() != usize::from(nf) || frame.is_some() {
                    return Err(bad("invalid frame header"));
                }
                if !(2..=16).contains(&precision) {
                    return Err(bad(format!("{precision}-bit samples")));
                }
                target.check(CODEC, columns, rows, ids.len(), u32::from(precision))?;
                out = vec![0; target.samples];
                frame = Some((u32::from(precision), rows, columns, ids));
            }
            0xF8 => match segment.first() {
                Some(1) if segment.len() >= 11 => {
                    for (i, v) in preset.iter_mut().enumerate() {
                        *v = u16_at(segment, 1 + 2 * i)? as i32;
                    }
                }
                _ => return Err(Error::UnsupportedImage("JPEG-LS mapping tables or extended parameters".into())),
            },
            0xDD if u16_at(segment, 0)? != 0 => return Err(Error::UnsupportedImage("JPEG-LS restart intervals".into())),
            0xDA => {
                let Some((precision, rows, columns, ids)) = &frame else { return Err(bad("scan before the frame header")) };
                let ns = usize::from(*segment.first().ok_or_else(|| bad("short scan header"))?);
                let tail = segment.get(1 + 2 * ns..1 + 2 * ns + 3).ok_or_else(|| bad("short scan header"))?;
                let (near, ilv, pt) = (i32::from(tail[0]), tail[1], tail[2]);
                let mut members = Vec::with_capacity(ns);
                for i in 0..ns {
                    let (id, table) = (segment[1 + 2 * i], segment[2 + 2 * i]);
                    if table != 0 {
                        return Err(Error::UnsupportedImage("JPEG-LS mapping tables".into()));
                    }
                    let c = ids.iter().position(|&x| x == id).ok_or_else(|| bad("scan names an unknown component"))?;
                    if done[c] || members.contains(&c) {
                        return Err(bad("a component is coded twice"));
                    }
                    members.push(c);
                }
                if pt != 0 {
                    return Err(Error::UnsupportedImage("JPEG-LS point transform".into()));
                }
                if ns == 0 || ilv > 2 || (ns == 1) != (ilv == 0) || (ilv == 2 && ns > 4) {
                    return Err(bad(format!("interleave mode {ilv} with {ns} component(s)")));
                }
                let params = Params::new(*precision, preset, near)?;
                let end = scan_end(data, pos);
                let mut bits = Bits::new(data.get(pos..end).unwrap_or_default());
                decode_scan(&params, &mut bits, ilv, *rows, *columns, &members, target.components, &mut out)?;
                for &c in &members {
                    done[c] = true;
                }
                pos = scan_end(data, pos + bits.position());
            }
            0xC0..=0xCF | 0xD8 | 0xDA..=0xDC | 0xDE | 0xDF | 0xF0..=0xF6 => {
                return Err(bad(format!("unexpected marker FF{marker:02X}")));
            }
            _ => {} // APPn, COM and the like
        }
    }
    if frame.is_none() || done.iter().any(|d| !d) {
        return Err(bad("the stream ends before every component is decoded"));
    }
    Ok(out)
}

/// Decodes one scan into the interleaved output.
#[allow(clippy::too_many_arguments)]
fn decode_scan(
    p: &Params,
    bits: &mut Bits,
    ilv: u8,
    rows: usize,
    columns: usize,
    members: &[usize],
    components: usize,
    out: &mut [u32],
) -> Result<(), Error> {
    let n = members.len();
    let mut scan = Scan::new(p, n);
    let stride = columns + 2;
    // Components in their own order, all in this scan: a decoded line is an output row.
    let in_order = n == components && members.iter().enumerate().all(|(s, &c)| s == c);
    if ilv == 2 {
        let mut prev = vec![0i32; stride * n];
        let mut cur = vec![0i32; stride * n];
        for y in 0..rows {
            // Edges: the sample left of the line is the one above it; right of the line above,
            // that line's last sample.
            for s in 0..n {
                prev[(columns + 1) * n + s] = prev[columns * n + s];
                cur[s] = prev[n + s];
            }
            match n {
                2 => scan.pixel_line::<2>(bits, &prev, &mut cur)?,
                3 => scan.pixel_line::<3>(bits, &prev, &mut cur)?,
                4 => scan.pixel_line::<4>(bits, &prev, &mut cur)?,
                _ => return Err(bad("sample interleave of one component")),
            }
            let line = &cur[n..(columns + 1) * n];
            if in_order {
                if let Some(row) = out.get_mut(y * columns * n..(y + 1) * columns * n) {
                    for (o, &v) in row.iter_mut().zip(line) {
                        *o = v as u32;
                    }
                }
            } else {
                for (x, pixel) in line.chunks_exact(n).enumerate() {
                    for (&v, &c) in pixel.iter().zip(members) {
                        if let Some(slot) = out.get_mut((y * columns + x) * components + c) {
                            *slot = v as u32;
                        }
                    }
                }
            }
            std::mem::swap(&mut prev, &mut cur);
        }
    } else {
        let mut prev = vec![vec![0i32; stride]; n];
        let mut cur = vec![vec![0i32; stride]; n];
        for y in 0..rows {
            for s in 0..n {
                let (pl, cl) = (&mut prev[s], &mut cur[s]);
                pl[columns + 1] = pl[columns];
                cl[0] = pl[1];
                scan.line(bits, s, pl, cl)?;
                if !(n == 3 && in_order) {
                    let start = y * columns * components + members[s];
                    if let Some(row) = out.get_mut(start..) {
                        for (o, &v) in row.iter_mut().step_by(components).zip(&cl[1..=columns]) {
                            *o = v as u32;
                        }
                    }
                }
                std::mem::swap(pl, cl);
            }
            // Three components in order (RGB, YBR): the row's lines, now in `prev`, interleaved.
            if let (true, Some(row), [r, g, b]) = (n == 3 && in_order, out.get_mut(y * columns * 3..(y + 1) * columns * 3), &prev[..]) {
                let (r, g, b) = (&r[1..=columns], &g[1..=columns], &b[1..=columns]);
                let done = interleave::three(row, r, g, b);
                for (x, pixel) in row.chunks_exact_mut(3).enumerate().skip(done) {
                    pixel.copy_from_slice(&[r[x] as u32, g[x] as u32, b[x] as u32]);
                }
            }
        }
    }
    if bits.overrun > 64 {
        return Err(bad("the scan data is cut short"));
    }
    Ok(())
}

#[cfg(test)]
mod unary_tests {
    use super::{golomb_k, Bits};

    #[test]
    fn the_golomb_parameter_is_the_least_k_with_n_shifted_reaching_a() {
        for n in 1..=64 {
            for a in (1..5000).chain([65535, 1 << 20, 1 << 30, i32::MAX]) {
                let mut k = 0;
                while (i64::from(n) << k) < i64::from(a) && k < 24 {
                    k += 1;
                }
                assert_eq!(golomb_k(n, a), k, "n {n} a {a}");
            }
        }
    }

    /// The bits of a scan one at a time, as T.87 defines them: after a 0xFF byte, the next byte's
    /// top bit is a stuffed 0 and only its 7 low bits are data; a marker (0xFF then a byte with
    /// its top bit set) ends the data, and zeros follow.
    fn reference_bits(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, &b) in data.iter().enumerate() {
            let after_ff = i > 0 && data[i - 1] == 0xFF;
            if after_ff && b & 0x80 != 0 {
                break;
            }
            let width = if after_ff { 7 } else { 8 };
            out.extend((0..width).rev().map(|k| (b >> k) & 1));
        }
        out
    }

    /// Reads of every width, on random bytes with and without 0xFF (stuffed bytes, markers),
    /// give the same bits as the one-at-a-time reference: the reader's eight-byte fast path
    /// and its byte loop agree.
    #[test]
    fn the_reader_gives_the_bits_of_the_definition() {
        let mut seed = 0x9E37_79B9_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for round in 0..400 {
            let len = (next() % 64) as usize;
            let data: Vec<u8> = (0..len)
                .map(|_| match next() % 16 {
                    // Often 0xFF, then a stuffed byte or (rarely) a marker.
                    0 | 1 => 0xFF,
                    2 if round % 4 == 0 => 0x90,
                    _ => (next() & 0x7F) as u8 | if next() % 2 == 0 { 0x80 } else { 0 },
                })
                .collect();
            let want = reference_bits(&data);
            let mut bits = Bits::new(&data);
            let mut got = Vec::new();
            while got.len() < want.len() + 16 {
                let n = 1 + next() % 16;
                let v = bits.bits(n);
                got.extend((0..n).rev().map(|k| ((v >> k) & 1) as u8));
            }
            let padded: Vec<u8> = want.iter().copied().chain(std::iter::repeat(0)).take(got.len()).collect();
            assert_eq!(got, padded, "{data:02x?}");
        }
    }

    /// Golomb codes read from the accumulator at once equal the unary-then-bits definition, for
    /// every k and escape length used by 2- to 16-bit images, on random streams with 0xFF bytes.
    #[test]
    fn the_golomb_fast_path_is_the_definition() {
        let mut seed = 0x2545_F491_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for round in 0..300 {
            let len = (next() % 96) as usize;
            // Sparse ones in later rounds, for long unary prefixes.
            let data: Vec<u8> = (0..len)
                .map(|_| match next() % 16 {
                    0 => 0xFF,
                    1..=8 if round % 2 == 1 => 0,
                    _ => next() as u8 & 0x7F | if next() % 2 == 0 { 0x80 } else { 0 },
                })
                .collect();
            let (limit, qbpp) = [(32, 8), (64, 16), (48, 12), (16, 2)][round % 4];
            let (mut fast, mut reference) = (Bits::new(&data), Bits::new(&data));
            for _ in 0..64 {
                let k = next() % 17;
                let escape = limit - qbpp - 1;
                let got = super::golomb(&mut fast, k, limit, qbpp).ok();
                let want = super::golomb_by_unary(&mut reference, k, escape, qbpp).ok();
                assert_eq!(got, want, "{data:02x?} k {k}");
                if want.is_none() {
                    break;
                }
            }
        }
    }

    /// The quantization table equals T.87's comparisons for every gradient, with default and
    /// custom thresholds, lossless and near-lossless.
    #[test]
    fn the_gradient_table_is_the_thresholds() {
        for (bits, preset, near) in [
            (8, [0; 5], 0),
            (12, [0; 5], 0),
            (16, [0; 5], 0),
            (16, [0; 5], 3),
            (8, [255, 2, 5, 9, 64], 1),
            (16, [65535, 18, 67, 276, 64], 0),
            (2, [0; 5], 0),
        ] {
            let p = super::Params::new(bits, preset, near).unwrap();
            for d in -p.maxval - 2..=p.maxval + 2 {
                assert_eq!(p.quantize(d), p.quantize_by_thresholds(d), "bits {bits} near {near} d {d}");
            }
        }
    }

    /// Found by libFuzzer: a one bit in the accumulator's last place (63 zeros before it).
    #[test]
    fn a_one_bit_at_the_very_end_of_the_accumulator() {
        let mut bits = Bits::new(&[]);
        bits.acc = 1;
        bits.count = 64;
        assert_eq!(bits.unary(100).ok(), Some(63));
        assert_eq!((bits.acc, bits.count), (0, 0));
    }
}
