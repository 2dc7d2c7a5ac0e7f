//! One error type for parsing, pixel decoding and rendering, so a viewer shows one kind of
//! message whatever went wrong. Messages are written for the person looking at the screen.

use crate::Tag;

/// Everything that can go wrong. Offsets are byte offsets from the start of the input, so a
/// support engineer can find the damage with a hex viewer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input has no preamble, no File Meta group and does not start like a data set.
    #[error("this is not a DICOM file")]
    NotDicom,
    /// The input ends before an element is complete (an interrupted download, usually).
    #[error("the file is incomplete: {needed} more bytes were expected at byte {offset}")]
    Truncated { offset: usize, needed: usize },
    /// A tag that cannot appear where it was found (e.g. an item outside a sequence).
    #[error("the file is damaged: unexpected tag {tag:?} at byte {offset}")]
    InvalidTag { offset: usize, tag: Tag },
    /// A length that overruns its enclosing item or sequence, or is undefined where it may not be.
    #[error("the file is damaged: invalid length at byte {offset}")]
    InvalidLength { offset: usize },
    /// An explicit VR that is not one of the standard's two-letter codes.
    #[error("the file is damaged: unknown value representation at byte {offset}")]
    InvalidVr { offset: usize },
    /// Sequences nested deeper than the parser's cap; real files stay far below it.
    #[error("the file nests sequences more than {max} levels deep at byte {offset}", max = crate::read::MAX_DEPTH)]
    TooDeep { offset: usize },
    /// A Type 1 attribute needed to decode the image is absent.
    #[error("the image header lacks {0}")]
    MissingAttribute(&'static str),
    /// An attribute is present but its value cannot be used.
    #[error("the image header has an invalid {name}: {value}")]
    InvalidAttribute { name: &'static str, value: String },
    /// The pixels use a compression this crate does not decode (yet), or a deflated file was
    /// given to [`crate::parse`] instead of [`crate::DicomBuffer`].
    #[error("the transfer syntax {0} is not supported")]
    UnsupportedTransferSyntax(String),
    /// The header is valid but describes an image layout this crate does not decode (yet).
    #[error("this kind of image is not supported: {0}")]
    UnsupportedImage(String),
    /// The pixel data is shorter than rows × columns × samples × bits × frames requires.
    #[error("the pixel data is incomplete: {expected} bytes expected, {actual} present")]
    PixelDataTooShort { expected: usize, actual: usize },
    /// A frame index at or past Number of Frames.
    #[error("frame {index} does not exist: the image has {count} frame(s)")]
    FrameOutOfRange { index: usize, count: u32 },
    /// A caller-provided output buffer has the wrong size (a programming error, not bad data).
    #[error("output buffer holds {actual} bytes but {expected} are needed")]
    OutputSize { expected: usize, actual: usize },
    /// Decompressed data would exceed the caller's limit: a defence against "zip bombs".
    #[error("the decompressed data exceeds the limit of {limit} bytes")]
    TooLarge { limit: usize },
    /// A compressed stream (deflate, RLE, encapsulated fragments) that cannot be decoded.
    #[error("the compressed data is damaged: {0}")]
    InvalidCompressedData(String),
}

impl Error {
    /// The variant's name (`"Truncated"`, `"NotDicom"`, ...): a stable, machine-readable kind
    /// for tools and logs, independent of the message wording.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NotDicom => "NotDicom",
            Error::Truncated { .. } => "Truncated",
            Error::InvalidTag { .. } => "InvalidTag",
            Error::InvalidLength { .. } => "InvalidLength",
            Error::InvalidVr { .. } => "InvalidVr",
            Error::TooDeep { .. } => "TooDeep",
            Error::MissingAttribute(_) => "MissingAttribute",
            Error::InvalidAttribute { .. } => "InvalidAttribute",
            Error::UnsupportedTransferSyntax(_) => "UnsupportedTransferSyntax",
            Error::UnsupportedImage(_) => "UnsupportedImage",
            Error::PixelDataTooShort { .. } => "PixelDataTooShort",
            Error::FrameOutOfRange { .. } => "FrameOutOfRange",
            Error::OutputSize { .. } => "OutputSize",
            Error::TooLarge { .. } => "TooLarge",
            Error::InvalidCompressedData(_) => "InvalidCompressedData",
        }
    }
}
