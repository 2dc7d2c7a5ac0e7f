//! The LINEAR window on 16-bit data with WebAssembly `simd128`, 16 pixels per step, bit for bit
//! equal to [`Window::apply`] on [`ModalityLut::apply`] (the f64 formula of PS3.3 C.11.2.1.2.1),
//! proven per window before use.
//!
//! The formula is affine in the stored value `v`: `z = y + 0.5 = v·A + B0` with
//! `A = 255·slope/(w−1)` and `B0 = 255·(intercept − c + 0.5)/(w−1) + 128`, the gray level being
//! `floor(z)` clamped to 0..=255. The lanes compute an f32 approximation `F(v)` of the f64
//! reference `G(v)`: `(v − v0)` (saturating i16, centred on the window so precision is not
//! lost), times `a`, plus `b`, plus 2²³ so that the f32's low mantissa byte is the rounded
//! level, clamped as an integer to 0..=255 (MONOCHROME1 folds the inversion into `a` and `b`).
//!
//! Why the result is exact: `F` and `G` are both monotone in `v`, in the same direction (every
//! step is a monotone IEEE operation or clamp). Two monotone functions from an integer range
//! to 0..=255 are equal when, for every level `k` in 1..=255, they cross `k` between the same
//! two neighbouring values. [`Linear::plan`] finds where `F` crosses each `k` (from the affine
//! estimate, a few steps at most) and asks the formula on both sides of that crossing whether
//! it has reached `k`, over the whole 16-bit range of the sample type. Any disagreement
//! (possible only when the f64 value lies within f32 rounding of an integer) rejects the plan,
//! and the caller uses the table path, which evaluates the f64 formula per value. About 510
//! questions per window replace 262 144 table lookups on a 512² image.
//!
//! The question, `G(v) ≥ k`, is answered by `transform::LinearReaches`: the formula's own
//! quotient `q = (m − (c − 0.5))/(w − 1)` (the same IEEE operations as `Window::apply`, which
//! evaluates the same `LinearVoi`) compared with the least `q` whose level is `k`, a table
//! found once, since the rest of the formula is monotone in `q` and the same for every
//! window. That is the formula, bit for bit, without its rounding steps per question.
//!
//! The same proof serves cheaper integer lanes ([`Fixed`]: the level is the top byte of a u32
//! `t·a + b`), tried first; windows they cannot take exactly (narrower than 256 stored values,
//! or a crossing the fixed point resolves differently) use the f32 lanes ([`Linear`]), then
//! the table. [`Plan::cached`] keeps the last plan, so only a new window pays a proof (about
//! 3 µs in Chromium for a 400-wide window).
//!
//! The kernels write either [`RgbaLayout`]: coverage (the viewer's) spreads a level over a
//! pixel with one OR; opaque needs a byte shuffle, which V8 lowers to a shuffle whose mask it
//! builds on every use (a fifth of the whole render).

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use super::RgbaLayout;
use super::{ModalityLut, Reaches, VoiFunction, Window};

/// 2²³: adding it to a value in 0..2²² leaves the nearest integer in the low mantissa bits.
const MAGIC: f32 = 8_388_608.0;
const MAGIC_BITS: i32 = 0x4B00_0000;

/// A LINEAR window prepared for the lanes and proven equal to the f64 formula on every value of
/// the sample type (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Linear {
    /// Unsigned samples are biased by −32768 into i16 before the centring subtraction.
    unsigned: bool,
    /// The (biased) stored value the lanes are centred on.
    v0: i16,
    a: f32,
    b: f32,
    /// Blocks whose (biased) values are all below `lt.0` have level `lt.1`, all above `gt.0`
    /// level `gt.1`: the proven crossings of levels 1 and 255, so such blocks skip the lanes.
    lt: (i16, u8),
    gt: (i16, u8),
}

impl Linear {
    /// The lane parameters for 16-bit samples (`unsigned`: U16, else I16), proven equal to
    /// the f64 formula's gray level (MONOCHROME1 inversion included) on every value of the type,
    /// `reaches(v, k)` telling whether the formula's level at `v` is at least `k`; `None` when the window is not LINEAR, is a threshold (`w ≤ 1`), has slope 0 or
    /// non-finite or extreme parameters, or when the proof fails: then the caller uses the table
    /// path.
    pub(super) fn plan(modality: &ModalityLut, window: &Window, invert: bool, unsigned: bool, reaches: impl Reaches) -> Option<Linear> {
        if window.function != VoiFunction::Linear {
            return None;
        }
        let (s, i, c) = (modality.slope, modality.intercept, window.center);
        let w = if window.width < 1.0 { 1.0 } else { window.width };
        let den = w - 1.0;
        if !(den > 0.0 && s != 0.0 && s.is_finite() && i.is_finite() && c.is_finite()) {
            return None;
        }
        let a = 255.0 * s / den;
        let b0 = 255.0 * (i - c + 0.5) / den + 128.0;
        let (lo, hi) = domain(unsigned);
        let bias = if unsigned { 32768 } else { 0 };
        // The stored value where z = 128, in the sample type's range.
        let v0 = ((128.0 - b0) / a + 0.5).floor().clamp(f64::from(lo), f64::from(hi)) as i32;
        let b = f64::from(v0) * a + b0;
        // floor(z) ≈ round(z − 0.5); inverted: 255 − floor(z) ≈ round(255.5 − z).
        let (a, b) = if invert { (-a, 255.5 - b) } else { (a, b - 0.5) };
        let (af, bf) = (a as f32, b as f32);
        // Keep f32 values normal and the sums below 2²² (where the low-byte trick holds) for
        // every lane that can reach a level other than 0 or 255.
        if !(af.is_finite() && bf.is_finite() && af.abs() > 1e-20 && af.abs() < 1e6 && bf.abs() < 1e6) {
            return None;
        }
        let plan = Linear { unsigned, v0: (v0 - bias) as i16, a: af, b: bf, lt: (i16::MIN, 0), gt: (i16::MAX, 0) };
        let [first_1, first_255] = plan.prove(lo, hi, reaches)?;
        // Biased into i16; `None` (no value reaches the level) and the ends of the range give
        // thresholds no block passes, or that leave a few saturated blocks to the lanes.
        let biased = |v: i32| (v - bias).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
        let (lt, gt) = if plan.a > 0.0 {
            // Level 0 below the first value reaching 1; 255 from the first reaching 255.
            let black = (first_1.map_or(i16::MAX, biased), 0);
            let white = (first_255.map_or(i16::MAX, |u| if u == lo { i16::MIN } else { biased(u - 1) }), 255);
            (black, white)
        } else {
            // Walking down: 255 up to the last value reaching 255, 0 above the last reaching 1.
            let white = (first_255.map_or(i16::MIN, |u| if u == hi { i16::MAX } else { biased(u + 1) }), 255);
            let black = (first_1.map_or(i16::MIN, biased), 0);
            (white, black)
        };
        Some(Linear { lt, gt, ..plan })
    }

    /// One lane in scalar f32, the same IEEE operations as a SIMD lane: the gray level written.
    pub(super) fn lane(&self, v: i32) -> u8 {
        let biased = if self.unsigned { v - 32768 } else { v };
        let d = (biased - i32::from(self.v0)).clamp(i32::from(i16::MIN), i32::from(i16::MAX));
        let bits = ((d as f32) * self.a + self.b + MAGIC).to_bits() as i32;
        (bits.clamp(MAGIC_BITS, MAGIC_BITS + 255) - MAGIC_BITS) as u8
    }

    /// [`prove`] for these lanes, from the affine estimate of where they cross each level.
    fn prove(&self, lo: i32, hi: i32, reaches: impl Reaches) -> Option<[Option<i32>; 2]> {
        prove(lo, hi, self.a > 0.0, self, reaches)
    }
}

/// The lanes a proof walks: their level at a stored value, and about where they first reach
/// a level. A trait rather than closures, so the proof's ~500 evaluations are inlined.
trait Lanes {
    fn lane(&self, v: i32) -> u8;
    fn estimate(&self, k: u8) -> f64;
}

impl Lanes for Linear {
    #[inline(always)]
    fn lane(&self, v: i32) -> u8 {
        Linear::lane(self, v)
    }

    /// Where the lane's value reaches k − 0.5 (it rounds to k from there).
    #[inline(always)]
    fn estimate(&self, k: u8) -> f64 {
        let bias = if self.unsigned { 32768.0 } else { 0.0 };
        (f64::from(self.v0) + bias + (f64::from(k) - 0.5 - f64::from(self.b)) / f64::from(self.a) + 0.5).floor()
    }
}

/// [`Fixed`] lanes with what their estimate needs.
struct FixedLanes {
    plan: Fixed,
    origin: f64,
    sigma: f64,
    per_step: f64,
}

impl Lanes for FixedLanes {
    #[inline(always)]
    fn lane(&self, v: i32) -> u8 {
        self.plan.lane(v)
    }

    /// Where the lanes reach k: the first t with t·a + b ≥ k·2²⁴, from a product with the
    /// reciprocal of a (off by one at most, which the proof's steps correct).
    #[inline(always)]
    fn estimate(&self, k: u8) -> f64 {
        let need = (u32::from(k) << 24).saturating_sub(self.plan.b);
        self.origin + self.sigma * (f64::from(need) * self.per_step).ceil()
    }
}

/// Checks that the lanes and the formula (asked through `reaches(v, k)`: is its level at `v` at
/// least `k`?) cross every level 1..=255 between the same two neighbouring
/// values of `lo..=hi` (both monotone, never decreasing from `lo` to `hi` when `up`, from `hi`
/// to `lo` otherwise), which makes them equal on the whole range. `lanes.estimate(k)` is about
/// where the lanes reach `k` (a few values off at most). On success, the first values (in the
/// direction the levels rise) reaching levels 1 and 255, `None` for a level no value reaches.
// Index loops on purpose: iterator adapters stay calls in the size-optimised build.
#[allow(clippy::needless_range_loop)]
fn prove(lo: i32, hi: i32, up: bool, lanes: &impl Lanes, reaches: impl Reaches) -> Option<[Option<i32>; 2]> {
    // Walking from `first` to `last`, both functions never decrease.
    let (first, last, step) = if up { (lo, hi, 1) } else { (hi, lo, -1) };
    // First, where the lanes cross each level (cheap integer or f32 steps): `crossing[k]` is
    // the first value reaching k, `None` when no value does.
    let mut crossing = [None; 256];
    // (Plain index loops over 256-entry arrays: no bounds checks, and no iterator adapters,
    // which the size-optimised build leaves as calls.)
    for i in 1..256usize {
        let k = i as u8;
        // (In f64: a NaN estimate starts at `lo`.)
        let mut u = lanes.estimate(k).max(f64::from(lo)).min(f64::from(hi)) as i32;
        // Forward while below k, back while the previous value reaches k: where the estimate is
        // right, two evaluations of the lane.
        let mut steps = 0;
        crossing[i] = loop {
            if lanes.lane(u) < k {
                if u == last {
                    break None;
                }
                u += step;
            } else if u != first && lanes.lane(u - step) >= k {
                u -= step;
            } else {
                break Some(u);
            }
            steps += 1;
            if steps > 16 {
                return None;
            }
        };
    }
    // Then the formula on both sides of each crossing: it reaches k there and not one value
    // before; where no value reaches k, not even at `last` (it is monotone). A loop of its own:
    // merged into the one above, the proof took a fifth longer.
    for i in 1..256 {
        let k = i as u8;
        let agrees = match crossing[i] {
            None => !reaches.reaches(last, k),
            Some(u) => reaches.reaches(u, k) && (u == first || !reaches.reaches(u - step, k)),
        };
        if !agrees {
            return None;
        }
    }
    Some([crossing[1], crossing[255]])
}

/// 2²⁴: the integer lanes keep the level in the top byte of a u32.
const FIXED_ONE: f64 = 16_777_216.0;

/// A LINEAR window prepared for integer lanes, proven like [`Linear`] and cheaper per pixel:
/// `t = clamp(x′ − o, 0, span)` in u16 lanes, then the level is the top byte of the u32
/// `t·a + b` (no overflow up to `span`), spread to RGBA with an OR (coverage) or a byte
/// shuffle (opaque). `x′` is the
/// stored value mapped onto i16 in the direction the levels rise (u16 biased by −32768; a
/// falling window (negative slope, or MONOCHROME1) bit-inverted, `!x = −x − 1`), so one xor per
/// 8 pixels serves all four cases. With `a ≈ |A|·2²⁴` the lanes resolve the formula to about
/// 2⁻²⁵·span of a level: nearly every window with `|A| < 1` (wider than 256 stored values) is
/// proven; narrower ones use [`Linear`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Fixed {
    unsigned: bool,
    /// xor taking the stored value's bits to `x′` (sign bias, then inversion).
    mask: u16,
    o: i16,
    span: i16,
    a: u32,
    b: u32,
}

impl Fixed {
    /// As [`Linear::plan`], for the integer lanes; `None` also when the window is narrower than
    /// 256 stored values or wider than 32767·255/256 (then [`Linear`]).
    pub(super) fn plan(modality: &ModalityLut, window: &Window, invert: bool, unsigned: bool, reaches: impl Reaches) -> Option<Fixed> {
        if window.function != VoiFunction::Linear {
            return None;
        }
        let (s, i, c) = (modality.slope, modality.intercept, window.center);
        let w = if window.width < 1.0 { 1.0 } else { window.width };
        let den = w - 1.0;
        if !(den > 0.0 && s != 0.0 && s.is_finite() && i.is_finite() && c.is_finite()) {
            return None;
        }
        // z = v·A + B0, level floor(z); inverted, 255 − floor(z) = floor(256 − z) off the
        // integers (where the proof decides). So the level is floor(σ·v·|A| + C).
        let a_real = 255.0 * s / den;
        let b0 = 255.0 * (i - c + 0.5) / den + 128.0;
        let rising = (a_real > 0.0) != invert;
        let cst = if invert { 256.0 - b0 } else { b0 };
        let mag = a_real.abs();
        if !(mag < 1.0 && mag * 32767.0 > 256.0 && cst.is_finite()) {
            return None;
        }
        // The origin o: the last value of level 0 in the rising direction (or the type's first
        // value, when the window starts before it), so that t = σ·(v − o) ≥ 0 reads level
        // floor(t·|A| + c0) with c0 ≥ 0; values before o have level 0 (t clamps to 0).
        let (lo, hi) = domain(unsigned);
        let o = if rising { (-cst / mag).ceil() } else { (cst / mag).floor() };
        let o = o.clamp(f64::from(lo), f64::from(hi));
        let c0 = if rising { cst + o * mag } else { cst - o * mag };
        let span = ((255.0 - c0) / mag).ceil().max(0.0);
        if !((0.0..256.0).contains(&c0) && span <= 32767.0) {
            return None;
        }
        let a = (mag * FIXED_ONE).round();
        // Where z is an integer (a tie: slopes and widths with small denominators), the formula
        // gives floor(z) = z, so the lanes must reach that level there, not one value later.
        // Plain rounding of b first; failing that, b leaning by more than the rounding error of
        // a over the span (span/2 units): up for floor(z), down when inverted
        // (255 − floor(z) = floor(256 − z) − 1 at a tie). Far below the distance of a non-tie
        // crossing from an integer; the proof checks every crossing either way.
        let lean = (span / 2.0).ceil() + 2.0;
        let mask = if unsigned { 0x8000 } else { 0 } ^ if rising { 0 } else { 0xFFFF };
        let x = |v: i32| ((v as u16) ^ mask) as i16;
        let sigma = if rising { 1 } else { -1 };
        let origin = o as i32;
        [0.0, if invert { -lean } else { lean }].into_iter().find_map(|lean| {
            let b = ((c0 * FIXED_ONE).round() + lean).max(0.0);
            if span * a + b >= 4_294_967_296.0 {
                return None;
            }
            let plan = Fixed { unsigned, mask, o: x(origin), span: span as i16, a: a as u32, b: b as u32 };
            let lanes = FixedLanes { plan, origin: f64::from(origin), sigma: f64::from(sigma), per_step: 1.0 / f64::from(plan.a.max(1)) };
            prove(lo, hi, rising, &lanes, reaches).map(|_| plan)
        })
    }

    /// One lane in scalar integers, the same operations as a SIMD lane: the gray level written.
    /// (Inlined, with no `clamp` call: the proof evaluates it about 500 times per window.)
    #[inline(always)]
    pub(super) fn lane(&self, v: i32) -> u8 {
        let x = i32::from(((v as u16) ^ self.mask) as i16);
        let d = x - i32::from(self.o);
        let t = if d < 0 {
            0
        } else if d > i32::from(self.span) {
            i32::from(self.span)
        } else {
            d
        };
        self.lane_at(t as u32)
    }

    /// The level at `t` (in 0..=span).
    #[inline(always)]
    fn lane_at(&self, t: u32) -> u8 {
        (t.wrapping_mul(self.a).wrapping_add(self.b) >> 24) as u8
    }
}

/// Everything a plan depends on, by bit pattern (so a NaN matches itself; a −0 vs +0 mismatch
/// only costs a new plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PlanKey {
    slope: u64,
    intercept: u64,
    center: u64,
    width: u64,
    invert: bool,
    unsigned: bool,
}

/// The lanes a window renders with: integer when proven, else f32 when proven, else none (the
/// table path).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Plan {
    Fixed(Fixed),
    Float(Linear),
}

std::thread_local! {
    /// The last plan made or refused. Scrolling through a series with an unchanged window pays
    /// no proof; a window/level drag pays one per new window.
    static LAST_PLAN: core::cell::Cell<Option<(PlanKey, Option<Plan>)>> = const { core::cell::Cell::new(None) };
}

impl Plan {
    /// [`Fixed::plan`], else [`Linear::plan`].
    pub(super) fn new(modality: &ModalityLut, window: &Window, invert: bool, unsigned: bool, reaches: impl Reaches) -> Option<Plan> {
        if let Some(fixed) = Fixed::plan(modality, window, invert, unsigned, reaches) {
            return Some(Plan::Fixed(fixed));
        }
        Linear::plan(modality, window, invert, unsigned, reaches).map(Plan::Float)
    }

    /// [`Plan::new`] through a one-entry cache keyed by the rescale, the window, MONOCHROME1
    /// and the sample type. `reaches` must ask the formula of those same parameters
    /// (`transform::LinearReaches`), as it does for every call of the renderer.
    pub(super) fn cached(modality: &ModalityLut, window: &Window, invert: bool, unsigned: bool, reaches: impl Reaches) -> Option<Plan> {
        if window.function != VoiFunction::Linear {
            return None;
        }
        let key = PlanKey {
            slope: modality.slope.to_bits(),
            intercept: modality.intercept.to_bits(),
            center: window.center.to_bits(),
            width: window.width.to_bits(),
            invert,
            unsigned,
        };
        if let Some((last, plan)) = LAST_PLAN.with(core::cell::Cell::get) {
            if last == key {
                return plan;
            }
        }
        let plan = Plan::new(modality, window, invert, unsigned, reaches);
        LAST_PLAN.with(|c| c.set(Some((key, plan))));
        plan
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl Plan {
    /// Renders with the plan's lanes in `layout`; `false`, with nothing written, when the plan
    /// was made for the other 16-bit type.
    pub(super) fn render_simd<T: Sample16>(&self, samples: &[T], layout: RgbaLayout, out: &mut [u8]) -> bool {
        match (self, layout) {
            (Plan::Fixed(p), RgbaLayout::Coverage) => p.render_simd::<T, true>(samples, out),
            (Plan::Fixed(p), RgbaLayout::Opaque) => p.render_simd::<T, false>(samples, out),
            (Plan::Float(p), RgbaLayout::Coverage) => p.render_simd::<T, true>(samples, out),
            (Plan::Float(p), RgbaLayout::Opaque) => p.render_simd::<T, false>(samples, out),
        }
    }
}

/// The values of 16-bit samples, signed or not.
fn domain(unsigned: bool) -> (i32, i32) {
    if unsigned {
        (0, 65535)
    } else {
        (-32768, 32767)
    }
}

/// 16-bit stored samples the SIMD kernel reads.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(super) trait Sample16: Copy + Into<i32> + bytemuck::Pod {
    /// Maps the type onto i16 by an xor of the sign bit (u16 − 32768), keeping order.
    const UNSIGNED: bool;
}
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl Sample16 for i16 {
    const UNSIGNED: bool = false;
}
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl Sample16 for u16 {
    const UNSIGNED: bool = true;
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::*;

/// The kernel's splatted constants.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[derive(Clone, Copy)]
struct Consts {
    a: v128,
    b: v128,
    magic: v128,
    lo: v128,
    hi: v128,
}

/// Four lanes of [`Linear::lane`] from i32 differences: the level in the low byte of each
/// lane. Always inlined: the shipped build optimises for size, and a call here would cost more
/// than the work.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn group(d: v128, k: Consts) -> v128 {
    let z = f32x4_add(f32x4_add(f32x4_mul(f32x4_convert_i32x4(d), k.a), k.b), k.magic);
    i32x4_min(i32x4_max(z, k.lo), k.hi)
}

/// Four levels, each in the low byte of an i32 lane (the top byte anything), as RGBA pixels.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn spread_low<const COVERAGE: bool>(g: v128) -> v128 {
    if COVERAGE {
        v128_or(i32x4_shl(g, 24), u32x4_splat(0x00FF_FFFF))
    } else {
        v128_or(i8x16_shuffle::<0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12>(g, g), u32x4_splat(0xFF00_0000))
    }
}

/// Four levels, each in the top byte of an i32 lane (the rest anything), as RGBA pixels.
/// Coverage is one OR; opaque needs a byte shuffle, whose mask engines build per use.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn spread_top<const COVERAGE: bool>(g: v128) -> v128 {
    if COVERAGE {
        v128_or(g, u32x4_splat(0x00FF_FFFF))
    } else {
        v128_or(i8x16_shuffle::<3, 3, 3, 3, 7, 7, 7, 7, 11, 11, 11, 11, 15, 15, 15, 15>(g, g), u32x4_splat(0xFF00_0000))
    }
}

/// Pixels one at a time through a scalar lane: the few before and after a kernel's aligned
/// part, or all of them when `out` is not even 4-byte aligned.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn scalar_pixels<T: Sample16, const COVERAGE: bool>(samples: &[T], out: &mut [u8], lane: impl Fn(i32) -> u8) {
    for (&v, dst) in samples.iter().zip(out.chunks_exact_mut(4)) {
        dst.copy_from_slice(&layout::<COVERAGE>().pixel(lane(v.into())));
    }
}

/// The layout a kernel instance writes.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const fn layout<const COVERAGE: bool>() -> RgbaLayout {
    if COVERAGE {
        RgbaLayout::Coverage
    } else {
        RgbaLayout::Opaque
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl Linear {
    /// Renders 16-bit samples to RGBA (coverage or opaque, [`RgbaLayout`]), 16 pixels per step:
    /// four groups of lanes as in [`Linear::lane`], spread to RGBA and stored as four aligned
    /// v128. The few pixels before and after the aligned part of `out` use [`Linear::lane`].
    /// `out` holds four bytes per sample (checked by the caller). `false`, with nothing written,
    /// when the plan was made for the other 16-bit type.
    pub(super) fn render_simd<T: Sample16, const COVERAGE: bool>(&self, samples: &[T], out: &mut [u8]) -> bool {
        let k = Consts {
            a: f32x4_splat(self.a),
            b: f32x4_splat(self.b),
            magic: f32x4_splat(MAGIC),
            lo: i32x4_splat(MAGIC_BITS),
            hi: i32x4_splat(MAGIC_BITS + 255),
        };
        let v0 = i16x8_splat(self.v0);
        let bias = i16x8_splat(i16::MIN);
        // The plan's proof holds for the sample type it was made for only.
        if self.unsigned != T::UNSIGNED {
            return false;
        }
        let (lt, gt) = (i16x8_splat(self.lt.0), i16x8_splat(self.gt.0));
        let uniform = |g: u8| u32x4_splat(u32::from_le_bytes(layout::<COVERAGE>().pixel(g)));
        let (lt_rgba, gt_rgba) = (uniform(self.lt.1), uniform(self.gt.1));
        let scalar = |samples: &[T], out: &mut [u8]| scalar_pixels::<T, COVERAGE>(samples, out, |v| self.lane(v));
        if !out.as_ptr().align_offset(16).is_multiple_of(4) {
            // Not even 4-byte aligned (no allocator does this): one pixel at a time.
            scalar(samples, out);
            return true;
        }
        let (head, body, _) = bytemuck::pod_align_to_mut::<u8, v128>(out);
        let first = head.len() / 4;
        let (head_samples, rest) = samples.split_at(first.min(samples.len()));
        scalar(head_samples, head);
        // Eight samples per 16-byte word of input, read unaligned.
        let (_, words, _) = bytemuck::pod_align_to::<u8, [u8; 16]>(bytemuck::cast_slice::<T, u8>(rest));
        let mut done = 0;
        for (pair, quad) in words.chunks_exact(2).zip(body.chunks_exact_mut(4)) {
            let ([w01, w23], [o0, o1, o2, o3]) = (pair, quad) else { continue };
            done += 16;
            // The xor maps u16 onto i16 (−32768), order kept; v0 carries the same bias.
            let (mut x01, mut x23) = (bytemuck::cast::<[u8; 16], v128>(*w01), bytemuck::cast::<[u8; 16], v128>(*w23));
            if T::UNSIGNED {
                (x01, x23) = (v128_xor(x01, bias), v128_xor(x23, bias));
            }
            // Saturated blocks (air, bone, background): one colour. (A byte mask is one
            // instruction on x86; `all_true` is several.)
            if i8x16_bitmask(v128_and(i16x8_lt(x01, lt), i16x8_lt(x23, lt))) == 0xFFFF {
                (*o0, *o1, *o2, *o3) = (lt_rgba, lt_rgba, lt_rgba, lt_rgba);
                continue;
            }
            if i8x16_bitmask(v128_and(i16x8_gt(x01, gt), i16x8_gt(x23, gt))) == 0xFFFF {
                (*o0, *o1, *o2, *o3) = (gt_rgba, gt_rgba, gt_rgba, gt_rgba);
                continue;
            }
            let d01 = i16x8_sub_sat(x01, v0);
            let d23 = i16x8_sub_sat(x23, v0);
            // The clamped lane is MAGIC_BITS + level: the level in the low byte, zeros below the
            // top byte, which both spreads shift out or ignore.
            let level = |d: v128| group(d, k);
            *o0 = spread_low::<COVERAGE>(level(i32x4_extend_low_i16x8(d01)));
            *o1 = spread_low::<COVERAGE>(level(i32x4_extend_high_i16x8(d01)));
            *o2 = spread_low::<COVERAGE>(level(i32x4_extend_low_i16x8(d23)));
            *o3 = spread_low::<COVERAGE>(level(i32x4_extend_high_i16x8(d23)));
        }
        // The rest (fewer than 16 pixels, or the end of `out` past its last full group).
        let tail_out = out.get_mut((first + done) * 4..).unwrap_or_default();
        scalar(rest.get(done..).unwrap_or_default(), tail_out);
        true
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl Fixed {
    /// Renders 16-bit samples as [`Linear::render_simd`] does, with the integer lanes of
    /// [`Fixed::lane`]. `false`, with nothing written, when the plan was made for the other
    /// 16-bit type.
    pub(super) fn render_simd<T: Sample16, const COVERAGE: bool>(&self, samples: &[T], out: &mut [u8]) -> bool {
        if self.unsigned != T::UNSIGNED {
            return false;
        }
        // In u16 lanes (x′ and o with the sign bit flipped: the same order), the saturating
        // subtraction clamps t at 0, so t = min(x′ − o, span) is two operations.
        let (mask, o, span) = (u16x8_splat(self.mask ^ 0x8000), u16x8_splat(self.o as u16 ^ 0x8000), u16x8_splat(self.span as u16));
        let (a, b) = (u32x4_splat(self.a), u32x4_splat(self.b));
        // Uniform blocks before the window (every t = 0: the level at t = 0), common in CT (air),
        // take one colour. (A test for blocks past it, every t = span, cost more than it saved
        // on a CT slice.) Opaque to the optimiser: four stores of a constant all-ones word
        // become a `memory.fill`, which engines run as a call.
        let before = u32x4_splat(core::hint::black_box(u32::from_le_bytes(layout::<COVERAGE>().pixel(self.lane_at(0)))));
        let scalar = |samples: &[T], out: &mut [u8]| scalar_pixels::<T, COVERAGE>(samples, out, |v| self.lane(v));
        if !out.as_ptr().align_offset(16).is_multiple_of(4) {
            scalar(samples, out);
            return true;
        }
        // 16 pixels per step: two 16-byte words in (read unaligned), four aligned v128 out.
        let (head, body, _) = bytemuck::pod_align_to_mut::<u8, [v128; 4]>(out);
        let first = head.len() / 4;
        let (head_samples, rest) = samples.split_at(first.min(samples.len()));
        scalar(head_samples, head);
        let (_, words, _) = bytemuck::pod_align_to::<u8, [[u8; 16]; 2]>(bytemuck::cast_slice::<T, u8>(rest));
        // The level sits in the top byte of each u32 lane.
        let level = |t: v128| i32x4_add(i32x4_mul(t, a), b);
        // Kept in a local (opaque to the optimiser): a constant in the loop is rebuilt by the
        // engine on every iteration.
        let white = core::hint::black_box(u32x4_splat(0x00FF_FFFF));
        let spread = |g: v128| if COVERAGE { v128_or(g, white) } else { spread_top::<COVERAGE>(g) };
        let mut done = 0;
        for ([w01, w23], [o0, o1, o2, o3]) in words.iter().zip(body.iter_mut()) {
            done += 16;
            let x01 = v128_xor(bytemuck::cast::<[u8; 16], v128>(*w01), mask);
            let x23 = v128_xor(bytemuck::cast::<[u8; 16], v128>(*w23), mask);
            let t01 = u16x8_min(u16x8_sub_sat(x01, o), span);
            let t23 = u16x8_min(u16x8_sub_sat(x23, o), span);
            if !v128_any_true(v128_or(t01, t23)) {
                (*o0, *o1, *o2, *o3) = (before, before, before, before);
                continue;
            }
            *o0 = spread(level(u32x4_extend_low_u16x8(t01)));
            *o1 = spread(level(u32x4_extend_high_u16x8(t01)));
            *o2 = spread(level(u32x4_extend_low_u16x8(t23)));
            *o3 = spread(level(u32x4_extend_high_u16x8(t23)));
        }
        let tail_out = out.get_mut((first + done) * 4..).unwrap_or_default();
        scalar(rest.get(done..).unwrap_or_default(), tail_out);
        true
    }
}

#[cfg(test)]
mod tests {
    //! Exhaustive checks on this machine that a proven plan's lanes equal the f64 formula on
    //! every 16-bit value. The SIMD kernel computes the same operations per lane; tests/simd.rs
    //! checks it against the formula again where it runs (WebAssembly, in Node), and so does
    //! `cargo xtask bench` in Chromium.
    use super::*;

    /// The predicate the renderer gives the proof.
    fn reaching(m: &ModalityLut, w: &Window, invert: bool) -> super::super::LinearReaches {
        super::super::LinearReaches::new(m, w, invert)
    }

    /// A predicate from a whole gray-level function (the formula itself, or a wrong one).
    fn by_value(gray: impl Fn(i32) -> u8 + Copy) -> impl Fn(i32, u8) -> bool + Copy {
        move |v, k| gray(v) >= k
    }

    fn exact_gray(m: &ModalityLut, w: &Window, invert: bool, v: i32) -> u8 {
        let g = w.apply(m.apply(f64::from(v)));
        if invert {
            255 - g
        } else {
            g
        }
    }

    fn windows() -> Vec<(f64, f64)> {
        let mut ws = vec![
            (40.0, 400.0),
            (40.5, 400.0),
            (-600.0, 1500.0),
            (300.0, 1500.5),
            (127.5, 256.0),
            (128.0, 256.0),
            (128.5, 256.0),
            (0.0, 2.0),
            (0.5, 2.0),
            (10.0, 1.5),
            (10.25, 1.0001),
            (3.0, 1.0),
            (3.0, 0.5),
            (3.0, 0.0),
            (1e9, 1e3),
            (0.0, 1e12),
            (32767.0, 65536.0),
            (-32768.0, 3.0),
            (2048.0, 4096.0),
            (1000.0, 1.0 / 3.0 + 2.0),
            (12.34567, 98.7654),
            (-1024.0, 255.0),
            (-1024.0, 511.0),
            (1e-300, 7.0),
            (65535.0, 131071.0),
        ];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..40 {
            let c = (next() % 200_000) as f64 / 3.0 - 30_000.0;
            let w = (next() % 100_000) as f64 / 7.0 + 0.5;
            ws.push((c, w));
        }
        ws
    }

    fn modalities() -> Vec<ModalityLut> {
        vec![
            ModalityLut { slope: 1.0, intercept: 0.0 },
            ModalityLut { slope: 1.0, intercept: -1024.0 },
            ModalityLut { slope: 0.5, intercept: 0.25 },
            ModalityLut { slope: -1.0, intercept: 0.0 },
            ModalityLut { slope: -0.37, intercept: 1234.5678 },
            ModalityLut { slope: 2.5e-3, intercept: -7.0 },
            ModalityLut { slope: 3.0, intercept: 1e6 },
        ]
    }

    /// (windows tried, windows proven), asserting each proven plan on every value of the type.
    /// Asserts a Fixed plan on value `v` (lane and saturated-block shortcuts) against `want`.
    fn check_fixed(plan: &Fixed, v: i32, want: u8, what: &str) {
        assert_eq!(plan.lane(v), want, "fixed: v {v} {what}");
        // The kernel's uniform blocks: every t = 0 is the level of t = 0.
        let x = i32::from(((v as u16) ^ plan.mask) as i16);
        let t = (x - i32::from(plan.o)).clamp(0, i32::from(plan.span));
        if t == 0 {
            assert_eq!(plan.lane_at(0), want, "fixed at t = 0: v {v} {what}");
        }
    }

    /// Asserts a Linear plan on value `v` (lane and saturated-block shortcuts) against `want`.
    fn check_linear(plan: &Linear, v: i32, want: u8, what: &str) {
        assert_eq!(plan.lane(v), want, "float: v {v} {what}");
        let x = if plan.unsigned { v - 32768 } else { v };
        if x < i32::from(plan.lt.0) {
            assert_eq!(plan.lt.1, want, "float below {:?}: v {v} {what}", plan.lt);
        }
        if x > i32::from(plan.gt.0) {
            assert_eq!(plan.gt.1, want, "float above {:?}: v {v} {what}", plan.gt);
        }
    }

    /// (windows tried, windows proven by the integer lanes, by the f32 lanes), asserting each
    /// proven plan on every value of the type.
    fn sweep(unsigned: bool) -> (u32, u32, u32) {
        let (lo, hi) = domain(unsigned);
        let (mut tried, mut fixed, mut float) = (0, 0, 0);
        for m in modalities() {
            for (c, w) in windows() {
                let window = Window { center: c, width: w, function: VoiFunction::Linear };
                for invert in [false, true] {
                    tried += 1;
                    let exact = |v: i32| exact_gray(&m, &window, invert, v);
                    let what = format!("window {c}/{w} modality {m:?} invert {invert}");
                    let f = Fixed::plan(&m, &window, invert, unsigned, reaching(&m, &window, invert));
                    let l = Linear::plan(&m, &window, invert, unsigned, reaching(&m, &window, invert));
                    fixed += u32::from(f.is_some());
                    float += u32::from(l.is_some());
                    if f.is_none() && l.is_none() {
                        continue;
                    }
                    for v in lo..=hi {
                        let want = exact(v);
                        if let Some(p) = &f {
                            check_fixed(p, v, want, &what);
                        }
                        if let Some(p) = &l {
                            check_linear(p, v, want, &what);
                        }
                    }
                }
            }
        }
        (tried, fixed, float)
    }

    #[test]
    fn every_int16_value_matches_the_formula() {
        let (tried, fixed, proven) = sweep(false);
        // Left to the table: thresholds (w ≤ 1), extreme windows, and windows where z is an
        // exact integer at some value (e.g. 40.5 / 400 at v = 173), where the f64 formula's
        // own rounding decides the level. The integer lanes take windows wider than 256 stored
        // values only (many here are narrower, or extreme).
        assert!(proven * 10 > tried * 7, "{proven} of {tried} windows proven");
        assert!(fixed * 6 > tried, "{fixed} of {tried} windows proven for the integer lanes");
    }

    #[test]
    fn every_uint16_value_matches_the_formula() {
        let (tried, fixed, proven) = sweep(true);
        assert!(proven * 10 > tried * 7, "{proven} of {tried} windows proven");
        assert!(fixed * 6 > tried, "{fixed} of {tried} windows proven for the integer lanes");
    }

    #[test]
    fn randomized_windows_and_rescales_match_the_formula() {
        let mut seed = 42u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut tried, mut proven, mut fixed) = (0, 0, 0);
        for _ in 0..2000 {
            let slope = if next() < 0.2 { 1.0 } else { (next() - 0.3) * 8.0 };
            let intercept = if next() < 0.3 { -1024.0 } else { (next() - 0.5) * 1e5 };
            let m = ModalityLut { slope, intercept };
            let window = Window { center: (next() - 0.5) * 7e4, width: 1.0 + next() * next() * 2e4, function: VoiFunction::Linear };
            let invert = next() < 0.5;
            let unsigned = next() < 0.5;
            tried += 1;
            let exact = |v: i32| exact_gray(&m, &window, invert, v);
            let fixed_plan = Fixed::plan(&m, &window, invert, unsigned, reaching(&m, &window, invert));
            fixed += u32::from(fixed_plan.is_some());
            let Some(plan) = Linear::plan(&m, &window, invert, unsigned, reaching(&m, &window, invert)) else { continue };
            proven += 1;
            let (lo, hi) = domain(unsigned);
            let what = format!("{window:?} {m:?} invert {invert} unsigned {unsigned}");
            for _ in 0..2000 {
                let v = lo + (next() * f64::from(hi - lo + 1)) as i32;
                let want = exact(v);
                check_linear(&plan, v, want, &what);
                if let Some(p) = &fixed_plan {
                    check_fixed(p, v, want, &what);
                }
            }
        }
        assert!(proven * 100 > tried * 85, "{proven} of {tried}");
        assert!(fixed * 10 > tried, "{fixed} of {tried} for the integer lanes");
    }

    #[test]
    fn clinical_windows_take_the_integer_lanes_and_match_the_formula() {
        // CT presets (soft tissue, lung, bone, brain, mediastinum, liver) on the usual rescales;
        // every value of both 16-bit types, both photometric interpretations.
        let presets = [(40.0, 400.0), (-600.0, 1500.0), (400.0, 2000.0), (40.0, 80.0 * 4.0), (50.0, 350.0), (60.0, 300.0), (300.0, 1500.0)];
        let rescales = [
            ModalityLut { slope: 1.0, intercept: -1024.0 },
            ModalityLut { slope: 1.0, intercept: 0.0 },
            ModalityLut { slope: 0.5, intercept: -1024.0 },
        ];
        let (mut tried, mut fixed) = (0, 0);
        for m in rescales {
            for (c, w) in presets {
                let window = Window { center: c, width: w, function: VoiFunction::Linear };
                for (invert, unsigned) in [(false, false), (true, false), (false, true), (true, true)] {
                    tried += 1;
                    let exact = |v: i32| exact_gray(&m, &window, invert, v);
                    let Some(plan) = Fixed::plan(&m, &window, invert, unsigned, reaching(&m, &window, invert)) else { continue };
                    fixed += 1;
                    let (lo, hi) = domain(unsigned);
                    let what = format!("{c}/{w} {m:?} invert {invert} unsigned {unsigned}");
                    for v in lo..=hi {
                        check_fixed(&plan, v, exact(v), &what);
                    }
                }
            }
        }
        assert!(fixed * 10 >= tried * 9, "{fixed} of {tried} clinical windows on the integer lanes");
    }

    #[test]
    fn the_proof_rejects_lanes_that_differ_from_the_formula() {
        let m = ModalityLut { slope: 1.0, intercept: 0.0 };
        let window = Window { center: 40.0, width: 400.0, function: VoiFunction::Linear };
        let exact = |v: i32| exact_gray(&m, &window, false, v);
        let plan = Linear::plan(&m, &window, false, false, reaching(&m, &window, false)).expect("proven");
        // Off by a hair in b: some level is crossed one value early, which the proof sees.
        let nudged = Linear { b: plan.b + 0.01, ..plan };
        assert!(nudged.prove(-32768, 32767, by_value(exact)).is_none());
        // A formula that differs at one value only.
        assert!(plan.prove(-32768, 32767, by_value(|v| if v == 100 { exact(v) + 1 } else { exact(v) })).is_none());
        assert!(plan.prove(-32768, 32767, by_value(exact)).is_some());
    }

    #[test]
    fn the_cached_plan_is_the_plan_of_the_same_parameters() {
        let m = ModalityLut { slope: 1.0, intercept: -1024.0 };
        let lin = |c: f64, w: f64| Window { center: c, width: w, function: VoiFunction::Linear };
        // A drag back and forth, then the other sample type and MONOCHROME1 on the same window.
        let cases = [
            (40.0, 400.0, false, false),
            (41.0, 400.0, false, false),
            (40.0, 400.0, false, false),
            (40.0, 400.0, false, true),
            (40.0, 400.0, true, true),
            (40.0, 1.0, true, true),
            (40.0, 400.0, true, true),
        ];
        for (c, w, invert, unsigned) in cases {
            let window = lin(c, w);
            let fresh = Plan::new(&m, &window, invert, unsigned, reaching(&m, &window, invert));
            for _ in 0..2 {
                assert_eq!(
                    Plan::cached(&m, &window, invert, unsigned, reaching(&m, &window, invert)),
                    fresh,
                    "{c}/{w} invert {invert} unsigned {unsigned}"
                );
            }
        }
        let exact_window = Window { function: VoiFunction::LinearExact, ..lin(40.0, 400.0) };
        assert_eq!(Plan::cached(&m, &exact_window, false, false, by_value(|v| exact_gray(&m, &exact_window, false, v))), None);
    }

    #[test]
    fn the_integer_lanes_are_refused_where_the_formula_differs() {
        let m = ModalityLut { slope: 1.0, intercept: 0.0 };
        let window = Window { center: 40.0, width: 400.0, function: VoiFunction::Linear };
        for invert in [false, true] {
            let exact = |v: i32| exact_gray(&m, &window, invert, v);
            assert!(Fixed::plan(&m, &window, invert, false, reaching(&m, &window, invert)).is_some());
            // A formula crossing one level a value early (still monotone), on the ramp and at
            // its ends: the value just before a step takes the level after it.
            for near in [-200, -100, 0, 100, 200, 238] {
                let step = (near..near + 100).find(|&v| exact(v) != exact(v + 1)).expect("a step");
                let off = |v: i32| if v == step { exact(v + 1) } else { exact(v) };
                assert!(Fixed::plan(&m, &window, invert, false, by_value(off)).is_none(), "step at {step} invert {invert}");
            }
        }
    }

    #[test]
    fn thresholds_and_odd_parameters_take_the_table_path() {
        let m = ModalityLut::default();
        let lin = |c: f64, w: f64| Window { center: c, width: w, function: VoiFunction::Linear };
        let plan = |m: &ModalityLut, w: &Window| Linear::plan(m, w, false, false, by_value(|v| exact_gray(m, w, false, v)));
        assert!(plan(&m, &lin(40.0, 1.0)).is_none(), "w = 1 is a threshold");
        assert!(plan(&m, &lin(40.0, 0.2)).is_none(), "w < 1 reads as 1");
        assert!(plan(&ModalityLut { slope: 0.0, intercept: 5.0 }, &lin(40.0, 400.0)).is_none());
        assert!(plan(&ModalityLut { slope: f64::NAN, intercept: 0.0 }, &lin(40.0, 400.0)).is_none());
        let exact = Window { function: VoiFunction::LinearExact, ..lin(40.0, 400.0) };
        assert!(plan(&m, &exact).is_none());
        assert!(plan(&m, &lin(40.0, 400.0)).is_some());
    }

    /// The predicate the proof asks equals the formula: on every int16 value, for every level,
    /// over the test windows and rescales, both ways.
    #[test]
    fn the_predicate_is_the_formula_at_every_level() {
        for m in modalities() {
            for (c, w) in windows().into_iter().take(40) {
                let window = Window { center: c, width: w, function: VoiFunction::Linear };
                for invert in [false, true] {
                    let reaches = reaching(&m, &window, invert);
                    for v in (-32768..=32767).step_by(7).chain(-300..300) {
                        let g = exact_gray(&m, &window, invert, v);
                        for k in 1..=255u8 {
                            assert_eq!(reaches.reaches(v, k), g >= k, "v {v} k {k} {c}/{w} {m:?} invert {invert}");
                        }
                    }
                }
            }
        }
    }
}
