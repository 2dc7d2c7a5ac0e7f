//! A small, zero-copy DICOM Part 10 parser and pixel decoder (native, deflated, RLE Lossless,
//! and, behind the cargo features `jpeg`, `jpegls` and `j2k`, JPEG, JPEG-LS and JPEG 2000: see
//! [`codec`]), with the standard's Modality, VOI and colour transforms for display.
//!
//! Deflated files: elements borrow from the bytes they are parsed from, and a deflated data set
//! must first be inflated into a new buffer, so [`parse`] reports that syntax as unsupported and
//! [`DicomBuffer`] (inflate once, then parse borrowing from the buffer) reads every syntax.
//!
//! Pure Rust, no `unsafe`, no panics on any input, and no allocation sized by a length read
//! from the file before that length has been checked against the bytes actually present.
//!
//! Errors: [`parse`] is strict and returns [`Error`] for any damage; [`parse_partial`] returns
//! everything read before the damage together with the error ([`Parsed`]), for callers that can
//! show a header from a cut-off download. [`Error`] holds no borrowed data, so it converts and
//! displays freely.
//!
//! ```no_run
//! # fn f(bytes: &[u8]) -> Result<(), dicom_parser_lite::Error> {
//! use dicom_parser_lite::{parse, pixel, tags, transform};
//! let file = parse(bytes)?;
//! let patient = file.dataset().string(tags::PATIENT_ID);
//! let frame = pixel::decode_frame(&file, 0)?;
//! let modality = transform::ModalityLut::from_dataset(file.dataset());
//! let window = transform::Window::from_dataset(file.dataset()).unwrap_or(transform::Window::from_min_max(0.0, 4095.0));
//! let gray = transform::render_gray8(&frame, &modality, &window, false)?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod buffer;
pub mod codec;
pub mod color;
mod dataset;
pub mod decimal;
mod deflate;
mod encapsulated;
mod error;
pub mod lut;
pub mod pixel;
mod read;
mod rle;
pub mod summary;
mod tag;
pub mod tags;
pub mod transform;
mod vr;

pub use buffer::DicomBuffer;
pub use dataset::{DataSet, Element, Value};
pub use deflate::DEFAULT_INFLATE_LIMIT;
pub use error::Error;
pub use read::{parse, parse_partial, DicomFile, Parsed, MAX_DEPTH};
pub use tag::{JsonKey, Tag};
pub use vr::Vr;

/// Transfer syntax UIDs the parser distinguishes.
pub mod transfer_syntax {
    pub const IMPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2";
    pub const EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1";
    pub const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1.99";
    pub const EXPLICIT_VR_BIG_ENDIAN: &str = "1.2.840.10008.1.2.2";
    pub const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";
    pub const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
    pub const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";
    pub const JPEG_LOSSLESS: &str = "1.2.840.10008.1.2.4.57";
    pub const JPEG_LOSSLESS_SV1: &str = "1.2.840.10008.1.2.4.70";
    pub const JPEG_LS_LOSSLESS: &str = "1.2.840.10008.1.2.4.80";
    pub const JPEG_LS_NEAR_LOSSLESS: &str = "1.2.840.10008.1.2.4.81";
    pub const JPEG_2000_LOSSLESS: &str = "1.2.840.10008.1.2.4.90";
    pub const JPEG_2000: &str = "1.2.840.10008.1.2.4.91";
    pub const HTJ2K_LOSSLESS: &str = "1.2.840.10008.1.2.4.201";
    pub const HTJ2K_LOSSLESS_RPCL: &str = "1.2.840.10008.1.2.4.202";
    pub const HTJ2K: &str = "1.2.840.10008.1.2.4.203";
    /// The video syntaxes (MPEG2, MPEG-4 AVC/H.264, HEVC/H.265): `.100` to `.108`. Not decoded.
    pub const VIDEO_PREFIX: &str = "1.2.840.10008.1.2.4.10";
    pub const JPEG_XL_LOSSLESS: &str = "1.2.840.10008.1.2.4.110";
    pub const JPEG_XL_JPEG_RECOMPRESSION: &str = "1.2.840.10008.1.2.4.111";
    pub const JPEG_XL: &str = "1.2.840.10008.1.2.4.112";

    /// Syntaxes [`crate::pixel::decode_frame`] decodes in this build: native, RLE, and those of
    /// the compiled-in codec features (see [`crate::codec::supports`]).
    pub fn is_decodable(uid: &str) -> bool {
        is_native(uid) || uid == RLE_LOSSLESS || crate::codec::supports(uid)
    }

    /// Syntaxes whose decoded values may differ from the original by design: JPEG DCT,
    /// JPEG-LS near-lossless, JPEG 2000 and HTJ2K irreversible, every video syntax, JPEG XL and
    /// a JPEG recompressed as JPEG XL. (Near-lossless and JPEG 2000 "lossy" streams may in fact
    /// be lossless; a decoder must still only promise closeness.) The one list of them.
    pub fn is_lossy(uid: &str) -> bool {
        // Every one is `1.2.840.10008.1.2.4.<n>`: matching the last arc alone keeps this small.
        let Some(last) = uid.strip_prefix("1.2.840.10008.1.2.4.") else { return false };
        // JPEG_BASELINE, JPEG_EXTENDED, JPEG_LS_NEAR_LOSSLESS, JPEG_2000, HTJ2K,
        // JPEG_XL_JPEG_RECOMPRESSION, JPEG_XL, then the video syntaxes .100 to .108.
        matches!(last, "50" | "51" | "81" | "91" | "203" | "111" | "112") || matches!(last.as_bytes(), [b'1', b'0', b'0'..=b'8'])
    }

    /// Syntaxes whose pixel data is stored uncompressed (native), which
    /// [`crate::pixel::decode_frame`] decodes.
    pub fn is_native(uid: &str) -> bool {
        matches!(uid, IMPLICIT_VR_LITTLE_ENDIAN | EXPLICIT_VR_LITTLE_ENDIAN | EXPLICIT_VR_BIG_ENDIAN | DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
    }
}
