//! Compressed pixel codecs behind cargo features: `jpeg` (JPEG baseline, extended 12-bit and
//! lossless), `jpegls` (JPEG-LS lossless and near-lossless) and `j2k` (JPEG 2000). All are pure
//! Rust and build for wasm32-unknown-unknown without host imports.
//!
//! Every codec returns the frame's samples interleaved (R G B R G B ...), as the values the
//! codestream holds (two's complement in a `u32` for signed data); [`crate::pixel`] then masks
//! them to Bits Stored and sign-extends them per Pixel Representation, as for native data.
//!
//! Defences against hostile input, the same for every codec: the codestream's own dimensions
//! and component count must equal the data set's Rows, Columns and Samples per Pixel (checked
//! from the headers, before any pixel buffer exists), and the frame size must stay under
//! [`MAX_FRAME_BYTES`]. So no codec allocates beyond the size the header declares.

use crate::pixel::ImageInfo;
use crate::{transfer_syntax as ts, Error};

#[cfg(feature = "j2k")]
mod j2k;
#[cfg(feature = "jpeg")]
mod jpeg;
#[cfg(feature = "jpeg")]
mod jpeg_dct;
#[cfg(feature = "jpegls")]
mod jpegls;

/// The largest decoded frame accepted, in bytes of intermediate samples (4 per sample): 256 MiB,
/// far above any real radiograph (a 4k × 5k × 3 × 16-bit frame is 240 MB only as u32).
pub const MAX_FRAME_BYTES: usize = 1 << 28;

/// Whether this build decodes `uid` with a compiled-in codec.
pub fn supports(uid: &str) -> bool {
    let jpeg = matches!(uid, ts::JPEG_BASELINE | ts::JPEG_EXTENDED | ts::JPEG_LOSSLESS | ts::JPEG_LOSSLESS_SV1);
    let jpegls = matches!(uid, ts::JPEG_LS_LOSSLESS | ts::JPEG_LS_NEAR_LOSSLESS);
    let j2k = matches!(uid, ts::JPEG_2000_LOSSLESS | ts::JPEG_2000 | ts::HTJ2K_LOSSLESS | ts::HTJ2K_LOSSLESS_RPCL | ts::HTJ2K);
    (jpeg && cfg!(feature = "jpeg")) || (jpegls && cfg!(feature = "jpegls")) || (j2k && cfg!(feature = "j2k"))
}

/// Decodes one compressed frame; `None` when no compiled-in codec handles `uid`.
#[allow(unused_variables)]
pub(crate) fn decode(uid: &str, info: &ImageInfo, data: &[u8]) -> Option<Result<Vec<u32>, Error>> {
    if !supports(uid) {
        return None;
    }
    let target = match Target::new(info) {
        Ok(t) => t,
        Err(e) => return Some(Err(e)),
    };
    match uid {
        #[cfg(feature = "jpeg")]
        ts::JPEG_BASELINE | ts::JPEG_EXTENDED | ts::JPEG_LOSSLESS | ts::JPEG_LOSSLESS_SV1 => Some(jpeg::decode(&target, data)),
        #[cfg(feature = "jpegls")]
        ts::JPEG_LS_LOSSLESS | ts::JPEG_LS_NEAR_LOSSLESS => Some(jpegls::decode(&target, data)),
        #[cfg(feature = "j2k")]
        ts::JPEG_2000_LOSSLESS | ts::JPEG_2000 | ts::HTJ2K_LOSSLESS | ts::HTJ2K_LOSSLESS_RPCL | ts::HTJ2K => {
            Some(j2k::decode(&target, data))
        }
        _ => None,
    }
}

/// What the data set says the frame is: every codestream must match it.
#[derive(Debug, Clone, Copy)]
#[allow(dead_code)]
pub(crate) struct Target {
    pub rows: usize,
    pub columns: usize,
    pub components: usize,
    /// Bits Allocated: no codestream precision may exceed it.
    pub bits_allocated: u16,
    /// Rows × Columns × Samples per Pixel.
    pub samples: usize,
}

impl Target {
    fn new(info: &ImageInfo) -> Result<Target, Error> {
        if info.bits_allocated == 1 {
            return Err(Error::UnsupportedImage("1-bit compressed pixels".into()));
        }
        let samples = info.samples_per_frame().ok_or(Error::TooLarge { limit: MAX_FRAME_BYTES })?;
        if samples.checked_mul(4).is_none_or(|b| b > MAX_FRAME_BYTES) {
            return Err(Error::TooLarge { limit: MAX_FRAME_BYTES });
        }
        Ok(Target {
            rows: info.rows as usize,
            columns: info.columns as usize,
            components: usize::from(info.samples_per_pixel),
            bits_allocated: info.bits_allocated,
            samples,
        })
    }

    /// Checks a codestream's header against the data set.
    #[allow(dead_code)]
    pub fn check(&self, codec: &str, columns: usize, rows: usize, components: usize, precision: u32) -> Result<(), Error> {
        if columns != self.columns || rows != self.rows || components != self.components {
            return Err(Error::InvalidCompressedData(format!(
                "{codec} codestream is {columns} × {rows} with {components} component(s), the header says {} × {} with {}",
                self.columns, self.rows, self.components
            )));
        }
        if precision == 0 || precision > u32::from(self.bits_allocated).max(8) {
            return Err(Error::InvalidCompressedData(format!(
                "{codec} precision {precision} exceeds Bits Allocated {}",
                self.bits_allocated
            )));
        }
        Ok(())
    }
}

#[allow(dead_code)]
pub(crate) fn invalid(codec: &str, what: impl std::fmt::Display) -> Error {
    Error::InvalidCompressedData(format!("{codec}: {what}"))
}
