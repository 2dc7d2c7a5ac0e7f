//! JPEG (ITU-T T.81) for DICOM: baseline 8-bit (1.2.840.10008.1.2.4.50), extended 12-bit (.51),
//! lossless process 14 (.57) and its selection value 1 (.70).
//!
//! 8-bit DCT and lossless frames (every selection value 1–7, precisions 2–16) go to the
//! `jpeg-decoder` crate; 12-bit DCT frames, which it does not decode, to our own
//! [`super::jpeg_dct`]. Our own header scan runs first, so the frame's size is checked
//! against the data set before either decoder allocates.
//!
//! Colour: no colour transform is applied. A YCbCr-coded frame comes out as Y Cb Cr (chroma
//! upsampled to full resolution), an RGB-coded one as R G B: the components as coded, which is
//! what pydicom's `raw=True` (and libjpeg with no colour transform) returns, and what the
//! Photometric Interpretation describes (YBR_FULL_422 / YBR_FULL for YCbCr, RGB otherwise).

use super::{invalid, Target};
use crate::Error;

/// What the frame header (SOFn) says.
pub(crate) struct FrameHeader {
    pub marker: u8,
    pub precision: u8,
    pub rows: usize,
    pub columns: usize,
    pub components: usize,
}

/// Finds and reads the SOFn segment.
pub(crate) fn frame_header(data: &[u8]) -> Result<FrameHeader, Error> {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err(invalid("JPEG", "the frame does not start with SOI"));
    }
    let mut pos = 2;
    loop {
        // Skip fill bytes before a marker.
        while data.get(pos) == Some(&0xFF) && data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (data.get(pos), data.get(pos + 1)) else {
            return Err(invalid("JPEG", format!("no frame header before byte {pos}")));
        };
        let len = match data.get(pos + 2..pos + 4) {
            Some(&[a, b]) => usize::from(u16::from_be_bytes([a, b])),
            _ => return Err(invalid("JPEG", "the stream ends in a marker")),
        };
        let segment = data
            .get(pos + 4..pos + 2 + len)
            .filter(|_| len >= 2)
            .ok_or_else(|| invalid("JPEG", format!("marker segment at byte {pos} overruns the frame")))?;
        match marker {
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let [precision, r1, r0, c1, c0, n, ..] = *segment else {
                    return Err(invalid("JPEG", "short frame header"));
                };
                let components = usize::from(n);
                if segment.len() < 6 + 3 * components {
                    return Err(invalid("JPEG", "short frame header"));
                }
                return Ok(FrameHeader {
                    marker,
                    precision,
                    rows: usize::from(u16::from_be_bytes([r1, r0])),
                    columns: usize::from(u16::from_be_bytes([c1, c0])),
                    components,
                });
            }
            0xD8..=0xDA => return Err(invalid("JPEG", format!("marker FF{marker:02X} before the frame header"))),
            _ => pos += 2 + len,
        }
    }
}

pub(crate) fn decode(target: &Target, data: &[u8]) -> Result<Vec<u32>, Error> {
    let header = frame_header(data)?;
    let lossless = matches!(header.marker, 0xC3 | 0xC7 | 0xCB | 0xCF);
    if matches!(header.marker, 0xC5..=0xC7 | 0xCD..=0xCF) {
        return Err(Error::UnsupportedImage("hierarchical JPEG".into()));
    }
    if header.marker >= 0xC9 {
        return Err(Error::UnsupportedImage("arithmetic-coded JPEG".into()));
    }
    target.check("JPEG", header.columns, header.rows, header.components, u32::from(header.precision))?;
    if !lossless && header.precision != 8 && header.precision != 12 {
        return Err(invalid("JPEG", format!("{}-bit DCT frame", header.precision)));
    }
    if !lossless && header.precision == 12 {
        return super::jpeg_dct::decode(target, data);
    }
    if lossless && !(2..=16).contains(&header.precision) {
        return Err(invalid("JPEG", format!("{}-bit lossless frame", header.precision)));
    }
    let mut decoder = jpeg_decoder::Decoder::new(data);
    // "RGB" is the crate's interleave-without-conversion for three components (its `None`
    // mis-orders and overruns multi-component lines in 0.3.2).
    if header.components == 3 {
        decoder.set_color_transform(jpeg_decoder::ColorTransform::RGB);
    }
    // 2 bytes per sample at most: the decoder's output buffer is bounded by the checked size.
    decoder.set_max_decoding_buffer_size(target.samples.saturating_mul(2));
    let pixels = decoder.decode().map_err(|e| invalid("JPEG", e))?;
    // Lossless frames of other than 8 bits come out as native-endian u16, all others as u8.
    let wide = lossless && header.precision != 8;
    let values: Vec<u32> = if wide {
        pixels.chunks_exact(2).map(|c| u32::from(u16::from_ne_bytes([c[0], c[1]]))).collect()
    } else {
        pixels.iter().map(|&b| u32::from(b)).collect()
    };
    if values.len() != target.samples {
        return Err(invalid("JPEG", format!("decoded {} samples, {} expected", values.len(), target.samples)));
    }
    Ok(values)
}
