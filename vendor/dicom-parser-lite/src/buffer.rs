//! An owned-or-borrowed file buffer, so one call site reads every transfer syntax: elements are
//! zero-copy views, and a deflated data set has no bytes to view until it is inflated. The
//! buffer inflates once, on construction; parsing then borrows from the buffer.

use crate::deflate::{inflate, DEFAULT_INFLATE_LIMIT};
use crate::read::parse_with;
use crate::{transfer_syntax as ts, DicomFile, Error, Parsed};
use std::borrow::Cow;

/// The bytes of one DICOM file, inflated if the file is deflated.
///
/// ```no_run
/// # fn f(bytes: &[u8]) -> Result<(), dicom_parser_lite::Error> {
/// let buffer = dicom_parser_lite::DicomBuffer::new(bytes);
/// let file = buffer.parse()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DicomBuffer<'a> {
    bytes: Cow<'a, [u8]>,
    /// The data set was inflated: `bytes` is the original preamble and File Meta followed by the
    /// inflated data set (error offsets past the File Meta refer to the inflated bytes).
    inflated: bool,
    /// What went wrong inflating (a truncated or damaged stream, the size limit); the data set
    /// inflated before it is still parsed.
    inflate_error: Option<Error>,
}

impl<'a> DicomBuffer<'a> {
    /// Wraps a file, inflating its data set if it is deflated (up to [`DEFAULT_INFLATE_LIMIT`]).
    pub fn new(bytes: &'a [u8]) -> DicomBuffer<'a> {
        DicomBuffer::with_limit(bytes, DEFAULT_INFLATE_LIMIT)
    }

    /// As [`DicomBuffer::new`], with a cap on the inflated data set's size: beyond it the
    /// data set is cut there and parsing reports [`Error::TooLarge`].
    pub fn with_limit(bytes: &'a [u8], limit: usize) -> DicomBuffer<'a> {
        DicomBuffer::build(Cow::Borrowed(bytes), limit)
    }

    /// Takes ownership of the bytes (no copy unless the file is deflated).
    pub fn from_vec(bytes: Vec<u8>) -> DicomBuffer<'static> {
        DicomBuffer::build(Cow::Owned(bytes), DEFAULT_INFLATE_LIMIT)
    }

    fn build(bytes: Cow<'_, [u8]>, limit: usize) -> DicomBuffer<'_> {
        let probe = parse_with(&bytes, false);
        let deflated = probe.file.transfer_syntax_uid() == ts::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN
            && matches!(probe.error, Some(Error::UnsupportedTransferSyntax(_)));
        if !deflated {
            return DicomBuffer { bytes, inflated: false, inflate_error: None };
        }
        let start = probe.file.dataset_offset().min(bytes.len());
        let (head, stream) = bytes.split_at(start);
        let (data, inflate_error) = inflate(stream, start, limit);
        let mut owned = Vec::with_capacity(head.len().saturating_add(data.len()));
        owned.extend_from_slice(head);
        owned.extend_from_slice(&data);
        DicomBuffer { bytes: Cow::Owned(owned), inflated: true, inflate_error }
    }

    /// The bytes parsed: the input, or for a deflated file its inflated form.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// True when the data set was deflated and has been inflated.
    pub fn was_inflated(&self) -> bool {
        self.inflated
    }

    /// Strict parse, as [`crate::parse`], of every transfer syntax.
    pub fn parse(&self) -> Result<DicomFile<'_>, Error> {
        let Parsed { file, error } = self.parse_partial();
        match error {
            Some(e) => Err(e),
            None => Ok(file),
        }
    }

    /// Lenient parse, as [`crate::parse_partial`]. An inflate problem is reported in preference
    /// to the parse error it causes (a cut stream shows as a truncated data set).
    pub fn parse_partial(&self) -> Parsed<'_> {
        let Parsed { file, error } = parse_with(&self.bytes, self.inflated);
        Parsed { file, error: self.inflate_error.clone().or(error) }
    }
}
