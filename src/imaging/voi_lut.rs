//! VOI LUT tables (PS3.3 C.11.2.1.1): the VOI transform as a lookup table rather than a
//! window, from an image's VOI LUT Sequence or a presentation state's Softcopy VOI LUT
//! Sequence. The table's input is the Modality LUT's output; its entries' range 0..2^n − 1
//! (n the descriptor's third value) spans the display's gray levels.

use dicom_parser_lite::lut::Lut;
use dicom_parser_lite::transform::{ModalityLut, Window};
use dicom_parser_lite::{tags, DataSet};
use std::sync::Arc;

/// A VOI LUT table, and the Modality LUT whose output it takes when that is not the image's
/// own (a presentation state with its own rescale).
#[derive(Debug, Clone, PartialEq)]
pub struct VoiTable {
    pub lut: Lut,
    /// `None`: the image's own rescale.
    pub rescale: Option<ModalityLut>,
    /// LUT Explanation (0028,3003), what the overlay names it by.
    pub explanation: Option<String>,
}

impl VoiTable {
    /// The first usable table of `ds`'s VOI LUT Sequence (0028,3010). `signed_input`: the
    /// Modality LUT's output may be negative, so the first mapped value is signed (SS).
    pub fn from_dataset(ds: &DataSet, signed_input: bool) -> Option<VoiTable> {
        ds.items(tags::VOI_LUT_SEQUENCE)?.iter().find_map(|item| {
            let lut = Lut::from_item(item, signed_input).ok().filter(|l| !l.entries.is_empty())?;
            Some(VoiTable {
                lut,
                rescale: None,
                explanation: item
                    .string(tags::LUT_EXPLANATION)
                    .map(|e| e.chars().filter(|c| !c.is_control()).take(64).collect())
                    .filter(|e: &String| !e.trim().is_empty()),
            })
        })
    }

    /// The gray level (0..=255) of modality value `m`.
    pub fn gray(&self, m: f64) -> u8 {
        dicom_parser_lite::transform::table_gray(&self.lut, m)
    }
}

/// Whether a data set's Modality LUT can give negative values (the VOI LUT's first mapped
/// value is then SS, PS3.3 C.11.2.1.1): signed stored values, or a rescale that goes below 0.
pub fn signed_input(ds: &DataSet, rescale: &ModalityLut) -> bool {
    let bits = ds.u32(tags::BITS_STORED).unwrap_or(16).clamp(1, 32);
    let stored_max = 2f64.powi(bits as i32) - 1.0;
    ds.u32(tags::PIXEL_REPRESENTATION) == Some(1) || rescale.apply(0.0) < 0.0 || rescale.apply(stored_max) < 0.0
}

/// The VOI transform an image is shown with.
#[derive(Debug, Clone, PartialEq)]
pub enum Voi {
    Window(Window),
    Table(Arc<VoiTable>),
}

#[cfg(test)]
mod tests;
