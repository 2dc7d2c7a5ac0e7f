//! Colour frames to 8-bit RGB: the YCbCr conversions of PS3.3 C.7.6.3.1.2 and the Palette
//! Color LUTs. Everything is computed in f64 and rounded once, `floor(v·255/max + 0.5)`, so an
//! independent implementation of the same formulas agrees byte for byte.

use crate::lut::Palette;
use crate::pixel::{Frame, Photometric};
use crate::Error;

/// YBR_FULL (and YBR_FULL_422 once expanded) to RGB, unclamped. `half` is 2^(Bits Stored − 1),
/// the chroma zero.
pub fn ybr_full_to_rgb(y: f64, cb: f64, cr: f64, half: f64) -> [f64; 3] {
    let (cb, cr) = (cb - half, cr - half);
    [y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb]
}

/// The inverse JPEG 2000 reversible component transform (ITU-T T.800 G.2), for a codec that
/// returns YBR_RCT components untransformed: Cb and Cr are signed differences.
pub fn ybr_rct_to_rgb(y: i32, cb: i32, cr: i32) -> [i32; 3] {
    let g = y - (cb + cr).div_euclid(4);
    [cr + g, g, cb + g]
}

/// The inverse JPEG 2000 irreversible component transform (T.800 G.3): YBR_FULL with signed
/// (zero-centred) chroma.
pub fn ybr_ict_to_rgb(y: f64, cb: f64, cr: f64) -> [f64; 3] {
    ybr_full_to_rgb(y, cb, cr, 0.0)
}

/// 8-bit scaling of a value in `0..=max`.
fn scale(v: f64, max: f64) -> u8 {
    let r = (v.clamp(0.0, max) * 255.0 / max + 0.5).floor();
    if r >= 255.0 {
        255
    } else if r > 0.0 {
        r as u8
    } else {
        0
    }
}

/// A 3-sample frame (RGB, YBR_FULL, YBR_FULL_422; YBR_RCT / YBR_ICT as codecs return them,
/// already RGB) to R G B bytes, one triple per pixel.
pub fn render_rgb8(frame: &Frame) -> Result<Vec<u8>, Error> {
    let info = &frame.info;
    let pixels = (info.rows as usize).saturating_mul(info.columns as usize);
    if info.samples_per_pixel != 3 {
        return Err(Error::UnsupportedImage(format!("{:?} with {} samples per pixel", info.photometric, info.samples_per_pixel)));
    }
    let ybr = match info.photometric {
        Photometric::Rgb | Photometric::YbrRct | Photometric::YbrIct => false,
        Photometric::YbrFull | Photometric::YbrFull422 => true,
        ref other => return Err(Error::UnsupportedImage(format!("{other:?} colour"))),
    };
    if frame.samples.len() != pixels.saturating_mul(3) {
        return Err(Error::PixelDataTooShort { expected: pixels.saturating_mul(3), actual: frame.samples.len() });
    }
    let max = 2f64.powi(i32::from(info.bits_stored.clamp(1, 32))) - 1.0;
    let half = 2f64.powi(i32::from(info.bits_stored.clamp(1, 32)) - 1);
    let mut out = Vec::with_capacity(pixels * 3);
    for p in 0..pixels {
        let s = |k: usize| frame.samples.get_f64(p * 3 + k).unwrap_or(0.0);
        let rgb = if ybr { ybr_full_to_rgb(s(0), s(1), s(2), half) } else { [s(0), s(1), s(2)] };
        out.extend(rgb.map(|v| scale(v, max)));
    }
    Ok(out)
}

/// A PALETTE COLOR frame to R G B bytes: each stored value through the three LUTs, scaled
/// from the LUT's bits per entry.
pub fn render_palette8(frame: &Frame, palette: &Palette) -> Result<Vec<u8>, Error> {
    let info = &frame.info;
    let pixels = (info.rows as usize).saturating_mul(info.columns as usize);
    if info.samples_per_pixel != 1 || frame.samples.len() != pixels {
        return Err(Error::PixelDataTooShort { expected: pixels, actual: frame.samples.len() });
    }
    let mut out = Vec::with_capacity(pixels * 3);
    for p in 0..pixels {
        let v = frame.samples.get_f64(p).unwrap_or(0.0) as i64;
        for lut in [&palette.red, &palette.green, &palette.blue] {
            out.push(scale(f64::from(lut.lookup(v)), lut.max_output()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rct_round_trips() {
        for (r, g, b) in [(0i32, 0i32, 0i32), (255, 0, 17), (3, 200, 99), (4095, 1, 2048)] {
            // Forward RCT (T.800 G.2).
            let y = (r + 2 * g + b).div_euclid(4);
            let (cb, cr) = (b - g, r - g);
            assert_eq!(ybr_rct_to_rgb(y, cb, cr), [r, g, b]);
        }
    }

    #[test]
    fn ict_and_full_agree_on_gray() {
        assert_eq!(ybr_ict_to_rgb(100.0, 0.0, 0.0), [100.0, 100.0, 100.0]);
        assert_eq!(ybr_full_to_rgb(100.0, 128.0, 128.0, 128.0), [100.0, 100.0, 100.0]);
        let [r, g, b] = ybr_full_to_rgb(76.245, 84.972, 255.5, 128.0); // pure red
        assert!((r - 255.0).abs() < 0.1 && g.abs() < 0.1 && b.abs() < 0.2, "{r} {g} {b}");
        assert_eq!(scale(254.6, 255.0), 255);
        assert_eq!(scale(-3.0, 255.0), 0);
        assert_eq!(scale(2048.0, 4095.0), 128);
    }
}
