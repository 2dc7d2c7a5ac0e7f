//! HL7 v2 CX (extended composite ID) and HD (hierarchic designator), as IID's `patientID`
//! carries them: `ID^^^AssigningAuthority`, the authority also as `namespace&OID&ISO`.
//!
//! Separators are split before escapes are decoded, so an escaped `\S\` inside the ID is a `^`
//! of the ID and never a component boundary. Components other than CX.1 and CX.4 (check digit,
//! identifier type, facility, dates) are not part of IID's use of CX and are ignored.

use serde::Deserialize;
use std::collections::BTreeMap;
use thiserror::Error;

/// A patient identifier: CX.1 and, if given, its assigning authority CX.4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientCx {
    pub id: String,
    pub assigning_authority: Option<Hd>,
}

/// HL7 v2 HD: who issued an identifier, by local name, by a universal ID, or both.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hd {
    pub namespace_id: Option<String>,
    pub universal_id: Option<String>,
    /// HL7 table 0301 (`ISO`, `DNS`, `UUID`, …); required by HL7 whenever a universal ID is given.
    pub universal_id_type: Option<String>,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CxError {
    #[error("the ID before the first ^ is empty")]
    MissingId,
    #[error("the character {0} must be written as an HL7 escape sequence")]
    Unescaped(&'static str),
    #[error("an HL7 escape sequence is incomplete or not one of \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh\\")]
    BadEscape,
    #[error("the assigning authority has more than the three parts namespace&universalID&type")]
    TooManySubcomponents,
    #[error("the assigning authority's universal ID and its type must be given together")]
    UniversalIdWithoutType,
    #[error("the assigning authority's universal ID is of type ISO but is not an OID")]
    InvalidOid,
}

impl PatientCx {
    /// Reads CX text as it appears once the URL is decoded, e.g. `99998410^^^&1.2.3.4&ISO`.
    pub fn parse(text: &str) -> Result<PatientCx, CxError> {
        let mut components = text.split('^');
        let raw_id = components.next().unwrap_or_default();
        for (c, found) in [("~", text.contains('~')), ("|", text.contains('|')), ("&", raw_id.contains('&'))] {
            if found {
                return Err(CxError::Unescaped(c));
            }
        }
        let id = unescape(raw_id)?;
        if id.trim().is_empty() {
            return Err(CxError::MissingId);
        }
        let assigning_authority = match components.nth(2) {
            Some(authority) => Hd::parse(authority)?,
            None => None,
        };
        Ok(PatientCx { id, assigning_authority })
    }

    /// CX text with HL7 escapes, the inverse of [`PatientCx::parse`]: `id`, or `id^^^authority`.
    pub fn encode(&self) -> String {
        let mut out = escape(&self.id);
        if let Some(authority) = &self.assigning_authority {
            out.push_str("^^^");
            out.push_str(&authority.encode());
        }
        out
    }

    /// The FHIR identifier this CX names, its system taken from the site's `iid.patientIdSystems`.
    ///
    /// The universal ID is looked up first (it is globally unique), then the namespace ID. An ISO
    /// universal ID that the map does not list becomes `urn:oid:<oid>`, the FHIR spelling of an
    /// OID system: a server that keys the patient by another system then finds no match, so the
    /// viewer shows nothing rather than another patient's images. Anything else not in the map
    /// is an error, and so is a CX without an authority: a bare ID may belong to any patient of
    /// any issuer.
    pub fn fhir_identifier(&self, systems: &PatientIdSystems) -> Result<FhirIdentifier, IdentifierError> {
        let authority = self.assigning_authority.as_ref().ok_or(IdentifierError::NoAuthority)?;
        let lookup = |key: &Option<String>| key.as_deref().and_then(|k| systems.0.get(k)).cloned();
        let system = lookup(&authority.universal_id)
            .or_else(|| lookup(&authority.namespace_id))
            .or_else(|| match (&authority.universal_id, authority.universal_id_type.as_deref()) {
                (Some(oid), Some("ISO")) => Some(format!("urn:oid:{oid}")),
                _ => None,
            })
            .ok_or_else(|| IdentifierError::UnknownAuthority(authority.encode()))?;
        Ok(FhirIdentifier { system, value: self.id.clone() })
    }
}

impl Hd {
    /// `None` when every part is empty (`id^^^` names no authority).
    fn parse(text: &str) -> Result<Option<Hd>, CxError> {
        let mut parts = text.split('&');
        let mut next = || parts.next().map(unescape).transpose().map(|p| p.filter(|p| !p.is_empty()));
        let hd = Hd { namespace_id: next()?, universal_id: next()?, universal_id_type: next()? };
        if parts.next().is_some() {
            return Err(CxError::TooManySubcomponents);
        }
        if hd.universal_id.is_some() != hd.universal_id_type.is_some() {
            return Err(CxError::UniversalIdWithoutType);
        }
        if let (Some(oid), Some("ISO")) = (&hd.universal_id, hd.universal_id_type.as_deref()) {
            if !is_oid(oid) {
                return Err(CxError::InvalidOid);
            }
        }
        Ok((hd != Hd::default()).then_some(hd))
    }

    /// `namespace&universalId&type` with trailing empty parts left out.
    pub fn encode(&self) -> String {
        let parts = [&self.namespace_id, &self.universal_id, &self.universal_id_type].map(|p| p.as_deref().map(escape).unwrap_or_default());
        let used = parts.iter().rposition(|p| !p.is_empty()).map_or(0, |i| i + 1);
        parts[..used].join("&")
    }
}

/// An OID: at least two arcs of digits without leading zeros, the first 0, 1 or 2.
fn is_oid(text: &str) -> bool {
    let arcs: Vec<&str> = text.split('.').collect();
    arcs.len() >= 2
        && matches!(arcs[0], "0" | "1" | "2")
        && arcs.iter().all(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()) && (*a == "0" || !a.starts_with('0')))
}

/// Decodes HL7 v2 escapes in one component or subcomponent. Formatting escapes (`\.br\`,
/// `\H\` …) belong to text types, not identifiers, and are refused.
fn unescape(text: &str) -> Result<String, CxError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('\\') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('\\').ok_or(CxError::BadEscape)?;
        match &after[..end] {
            "F" => out.push('|'),
            "S" => out.push('^'),
            "T" => out.push('&'),
            "R" => out.push('~'),
            "E" => out.push('\\'),
            hex if hex.len() > 1 && hex.starts_with('X') => out.push_str(&decode_hex(&hex[1..]).ok_or(CxError::BadEscape)?),
            _ => return Err(CxError::BadEscape),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `\Xhh…\`: bytes in hex, which must form UTF-8 text.
fn decode_hex(hex: &str) -> Option<String> {
    let digit = |b: u8| (b as char).to_digit(16);
    let pairs = hex.as_bytes().chunks(2);
    let bytes = pairs.map(|p| Some((digit(p[0])? * 16 + digit(*p.get(1)?)?) as u8)).collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

/// Escapes HL7 v2's delimiters so a value survives [`unescape`] unchanged.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\E\\"),
            '|' => out.push_str("\\F\\"),
            '^' => out.push_str("\\S\\"),
            '&' => out.push_str("\\T\\"),
            '~' => out.push_str("\\R\\"),
            c => out.push(c),
        }
    }
    out
}

/// The site's `iid.patientIdSystems`: an authority (HD namespace ID or universal ID) → the FHIR
/// identifier system URI under which the FHIR server keeps that authority's patient IDs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "BTreeMap<String, String>")]
pub struct PatientIdSystems(BTreeMap<String, String>);

impl TryFrom<BTreeMap<String, String>> for PatientIdSystems {
    type Error = IdentifierError;

    /// Refuses an entry whose system is not an absolute URI: it would search under a system no
    /// server uses, or (with a `|`) under a different one.
    fn try_from(map: BTreeMap<String, String>) -> Result<Self, Self::Error> {
        match map.iter().find(|(authority, system)| authority.is_empty() || !is_absolute_uri(system)) {
            Some((authority, _)) => Err(IdentifierError::InvalidSystem(authority.clone())),
            None => Ok(PatientIdSystems(map)),
        }
    }
}

/// `scheme:rest`, without spaces or `|` (the FHIR token separator).
fn is_absolute_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else { return false };
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !text.chars().any(|c| c.is_whitespace() || c.is_control() || c == '|')
}

/// A FHIR `Identifier` (system and value), as a patient search takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FhirIdentifier {
    pub system: String,
    pub value: String,
}

impl FhirIdentifier {
    /// `system|value` for `Patient?identifier=` (before URL encoding), with the value's `\`, `|`,
    /// `,` and `$` escaped as FHIR search requires.
    pub fn search_token(&self) -> String {
        let mut out = format!("{}|", self.system);
        for c in self.value.chars() {
            if matches!(c, '\\' | '|' | ',' | '$') {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IdentifierError {
    #[error("patientID names no assigning authority, so the patient cannot be identified safely")]
    NoAuthority,
    #[error("patientID's assigning authority {0:?} is not listed in iid.patientIdSystems")]
    UnknownAuthority(String),
    #[error("iid.patientIdSystems maps {0:?} to something that is not an absolute URI")]
    InvalidSystem(String),
}
