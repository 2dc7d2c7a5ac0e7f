//! JPEG 2000 (ISO/IEC 15444-1) through the `hayro-jpeg2000` crate: lossless (5/3 wavelet,
//! 1.2.840.10008.1.2.4.90) and lossy (9/7, .91). The crate reconstructs in `f32` (exact for
//! the reversible path: every value stays far below 2^24) and adds the unsigned DC level shift
//! to every component; signed components get that shift taken back here, from the SIZ marker.
//!
//! Multi-component transforms (YBR_RCT / YBR_ICT) are part of the codestream and undone by the
//! decoder, so colour frames come out as R G B, as pydicom returns them.
//!
//! High-Throughput JPEG 2000 (HTJ2K, .201–.203; ITU-T T.814) goes through the same path: our
//! fork of the crate (`vendor/hayro-jpeg2000`) decodes HT code-blocks (cleanup, SigProp and
//! MagRef passes). HT features it does not decode (mixed HT/Part 1 code-blocks, HT code-blocks
//! spread over several quality layers, regions of interest) are refused with a typed error,
//! never approximated.

use super::{invalid, Target};
use crate::Error;
use hayro_jpeg2000::{DecodeSettings, DecoderContext, Image};

/// Start of a raw codestream: SOC then SIZ.
const SOC_SIZ: [u8; 4] = [0xFF, 0x4F, 0xFF, 0x51];

/// The SIZ marker's per-component (precision, signed).
struct Siz {
    columns: usize,
    rows: usize,
    components: Vec<(u32, bool)>,
}

fn siz(data: &[u8]) -> Result<Siz, Error> {
    // Raw codestreams start with SOC SIZ; a JP2 file (which some writers put in DICOM) holds
    // one in its jp2c box: the first SOC SIZ pair is that codestream.
    let start = if data.starts_with(&SOC_SIZ) {
        0
    } else {
        data.windows(4).take(4096).position(|w| w == SOC_SIZ).ok_or_else(|| invalid("JPEG 2000", "no codestream (SOC SIZ) found"))?
    };
    let s = data.get(start + 4..).unwrap_or_default();
    let u16_at = |i: usize| s.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let u32_at = |i: usize| s.get(i..i + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let short = || invalid("JPEG 2000", "short SIZ marker");
    let (xsiz, ysiz, x0, y0) =
        (u32_at(4).ok_or_else(short)?, u32_at(8).ok_or_else(short)?, u32_at(12).ok_or_else(short)?, u32_at(16).ok_or_else(short)?);
    let csiz = usize::from(u16_at(36).ok_or_else(short)?);
    let mut components = Vec::with_capacity(csiz.min(16));
    for c in 0..csiz {
        let ssiz = *s.get(38 + 3 * c).ok_or_else(short)?;
        components.push((u32::from(ssiz & 0x7F) + 1, ssiz & 0x80 != 0));
    }
    Ok(Siz { columns: xsiz.saturating_sub(x0) as usize, rows: ysiz.saturating_sub(y0) as usize, components })
}

pub(crate) fn decode(target: &Target, data: &[u8]) -> Result<Vec<u32>, Error> {
    let siz = siz(data)?;
    let precision = siz.components.iter().map(|c| c.0).max().unwrap_or(0);
    target.check("JPEG 2000", siz.columns, siz.rows, siz.components.len(), precision)?;
    if siz.components.iter().any(|c| c.0 > 16) {
        return Err(Error::UnsupportedImage(format!("{precision}-bit JPEG 2000 components")));
    }
    // Not strict (real streams are often a little off the standard), but complete: a stream
    // cut short is an error, not an image with parts missing.
    let settings = DecodeSettings { resolve_palette_indices: false, strict: false, require_complete: true, target_resolution: None };
    let image = Image::new(data, &settings).map_err(|e| invalid("JPEG 2000", e))?;
    if image.width() as usize != target.columns || image.height() as usize != target.rows {
        return Err(invalid("JPEG 2000", "codestream and image sizes differ"));
    }
    let mut context = DecoderContext::default();
    let decoded = image.decode(&mut context).map_err(|e| match e {
        hayro_jpeg2000::DecodeError::Decoding(hayro_jpeg2000::DecodingError::UnsupportedHtFeature) => Error::UnsupportedImage(
            "a High-Throughput JPEG 2000 feature (mixed or multi-layer HT code-blocks, or region of interest)".into(),
        ),
        e => invalid("JPEG 2000", e),
    })?;
    let planes = decoded.components();
    let pixels = target.rows * target.columns;
    if planes.len() != target.components || planes.iter().any(|p| p.samples().len() != pixels) {
        return Err(invalid("JPEG 2000", "decoded components do not match the image"));
    }
    // Interleaved, one component at a time (a plain loop: per-sample iterator chains and f32
    // `round`, a libm call in WebAssembly, were a large part of a small frame's decode).
    let mut out = vec![0u32; pixels * planes.len()];
    for (c, (plane, &(bits, signed))) in planes.iter().zip(&siz.components).enumerate() {
        // The decoder adds 2^(bits-1) to every component; signed ones are centred on 0.
        let (lo, hi, shift) = if signed {
            (-(1i32 << (bits - 1)), (1i32 << (bits - 1)) - 1, 1i32 << (bits - 1))
        } else {
            (0, ((1i64 << bits) - 1) as i32, 0)
        };
        let n = planes.len();
        let slots = out.get_mut(c..).unwrap_or_default();
        let done = convert::plane(slots, n, plane.samples(), lo, hi, shift);
        let (slots, samples) = (slots.get_mut(done * n..).unwrap_or_default(), plane.samples().get(done..).unwrap_or_default());
        for (o, &v) in slots.iter_mut().step_by(n).zip(samples) {
            *o = sample(v, lo, hi, shift);
        }
    }
    Ok(out)
}

/// `sample` four values at a time with WebAssembly SIMD into every `stride`-th slot; returns how
/// many samples it converted (the caller converts the rest). The shipped build's link-time
/// optimisation runs at opt-level "z", which vectorises no loop: this conversion was about a
/// quarter of a small JPEG 2000 decode. Exact: `i32x4.trunc_sat_f32x4_s` saturates and takes NaN
/// to 0 as `as i32` does, and clamping to [lo + shift, hi + shift] before subtracting the shift
/// equals the saturating subtraction then the clamp (a saturated result clamps to `lo` either way).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod convert {
    use core::arch::wasm32::*;

    pub(super) fn plane(slots: &mut [u32], stride: usize, samples: &[f32], lo: i32, hi: i32, shift: i32) -> usize {
        let (Some(low), Some(high)) = (lo.checked_add(shift), hi.checked_add(shift)) else { return 0 };
        let (half, low, high, shift) = (f32x4_splat(0.5), i32x4_splat(low), i32x4_splat(high), i32x4_splat(shift));
        let mut done = 0;
        for (quad, window) in samples.as_chunks::<4>().0.iter().zip(slots.chunks_mut(4 * stride.max(1))) {
            let v = f32x4(quad[0], quad[1], quad[2], quad[3]);
            let t = i32x4_trunc_sat_f32x4(f32x4_floor(f32x4_add(v, half)));
            let lanes = bytemuck::cast::<v128, [u32; 4]>(i32x4_sub(i32x4_min(i32x4_max(t, low), high), shift));
            if stride == 1 && window.len() == 4 {
                window.copy_from_slice(&lanes);
            } else {
                for (slot, lane) in window.iter_mut().step_by(stride.max(1)).zip(lanes) {
                    *slot = lane;
                }
            }
            done += 4;
        }
        done
    }
}

/// Elsewhere the loop in `decode` converts every sample.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod convert {
    pub(super) fn plane(_: &mut [u32], _: usize, _: &[f32], _: i32, _: i32, _: i32) -> usize {
        0
    }
}

/// A decoded value rounded to the nearest integer, the DC shift removed, clamped to the
/// component's range. floor(v + 0.5) is `round` (half away from zero) for v ≥ 0, exactly in f32
/// below 2^23 (above, both exceed any 16-bit range and clamp alike); below 0 both give at most
/// 0, which the clamp takes to `lo` or 0 alike.
#[inline(always)]
fn sample(v: f32, lo: i32, hi: i32, shift: i32) -> u32 {
    ((v + 0.5).floor() as i32).saturating_sub(shift).clamp(lo, hi) as u32
}

#[cfg(test)]
mod sample_tests {
    /// The conversion equals `round` then the shift and clamp, for every bit depth, signed or
    /// not, on ties, negatives, huge values and non-numbers.
    #[test]
    fn rounding_matches_round_half_away_from_zero() {
        let mut values = vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 0.0, 8_388_607.5, 8_388_609.0, 1e30, -1e30];
        for i in -140_000..140_000 {
            values.push(i as f32 * 0.5);
            values.push(i as f32 * 0.5 + 0.1);
        }
        for bits in [1, 2, 7, 8, 12, 15, 16] {
            for signed in [false, true] {
                let (lo, hi, shift) =
                    if signed { (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1, 1i64 << (bits - 1)) } else { (0, (1i64 << bits) - 1, 0) };
                for &v in &values {
                    // (Saturating: the former `- shift` wrapped −∞ round to the top of the range.)
                    let old = (v.round() as i64).saturating_sub(shift).clamp(lo, hi) as u32;
                    assert_eq!(super::sample(v, lo as i32, hi as i32, shift as i32), old, "v {v} bits {bits} signed {signed}");
                }
            }
        }
    }
}
