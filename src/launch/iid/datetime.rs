//! XML Schema `date` and `dateTime` values (IID's `lowerDateTime`, `upperDateTime`,
//! `patientBirthDate`), kept as parsed fields so a malformed value never reaches a FHIR search.
//!
//! Years are the four-digit 0001–9999 form; `24:00:00` and leap seconds are not accepted.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IidDateTime {
    year: u16,
    month: u8,
    day: u8,
    time: Option<Time>,
    zone: Option<Zone>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Time {
    hour: u8,
    minute: u8,
    second: u8,
    /// The digits after the decimal point, as written (empty: none).
    fraction: String,
}

/// A time zone: `Z`, or an offset from UTC in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Utc,
    Offset(i16),
}

/// Which end of a `started` range a value bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Lower,
    Upper,
}

impl IidDateTime {
    /// `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ss[.s+]`, either with an optional `Z` or `±hh:mm`.
    pub fn parse(text: &str) -> Option<IidDateTime> {
        let b = text.as_bytes();
        let year = number(b, 0, 4)?;
        let (month, day) = (number(b, 5, 2)?, number(b, 8, 2)?);
        if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || year == 0 || !(1..=12).contains(&month) {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        let mut at = 10;
        let time = if b.get(at) == Some(&b'T') {
            let (hour, minute, second) = (number(b, 11, 2)?, number(b, 14, 2)?, number(b, 17, 2)?);
            if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') || hour > 23 || minute > 59 || second > 59 {
                return None;
            }
            at = 19;
            let mut fraction = String::new();
            if b.get(at) == Some(&b'.') {
                let digits = b[at + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                if digits == 0 {
                    return None;
                }
                fraction = text.get(at + 1..at + 1 + digits)?.to_string();
                at += 1 + digits;
            }
            Some(Time { hour: hour as u8, minute: minute as u8, second: second as u8, fraction })
        } else {
            None
        };
        let zone = match &b[at.min(b.len())..] {
            [] => None,
            [b'Z'] => Some(Zone::Utc),
            [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
                let (hours, minutes) = (number(b, at + 1, 2)?, number(b, at + 4, 2)?);
                if hours > 14 || minutes > 59 || (hours == 14 && minutes > 0) {
                    return None;
                }
                let offset = (hours * 60 + minutes) as i16;
                Some(Zone::Offset(if *sign == b'-' { -offset } else { offset }))
            }
            _ => return None,
        };
        Some(IidDateTime { year: year as u16, month: month as u8, day: day as u8, time, zone })
    }

    /// A date without a time of day (a whole day, in FHIR search terms).
    pub fn is_date(&self) -> bool {
        self.time.is_none()
    }

    pub fn zone(&self) -> Option<Zone> {
        self.zone
    }

    /// The FHIR search value for one end of a `started` range: `ge…` or `le…`. FHIR date search
    /// compares ranges, so a date bound includes that whole day at either end.
    pub fn fhir_search_value(&self, bound: Bound) -> String {
        let prefix = match bound {
            Bound::Lower => "ge",
            Bound::Upper => "le",
        };
        format!("{prefix}{self}")
    }
}

/// The XML Schema text, which FHIR search takes as it is.
impl fmt::Display for IidDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)?;
        if let Some(t) = &self.time {
            write!(f, "T{:02}:{:02}:{:02}", t.hour, t.minute, t.second)?;
            if !t.fraction.is_empty() {
                write!(f, ".{}", t.fraction)?;
            }
        }
        match self.zone {
            None => Ok(()),
            Some(Zone::Utc) => f.write_str("Z"),
            Some(Zone::Offset(m)) => {
                write!(f, "{}{:02}:{:02}", if m < 0 { '-' } else { '+' }, m.unsigned_abs() / 60, m.unsigned_abs() % 60)
            }
        }
    }
}

/// `len` ASCII digits at `at`, as a number.
fn number(b: &[u8], at: usize, len: usize) -> Option<u32> {
    let digits = b.get(at..at + len)?;
    digits.iter().try_fold(0u32, |n, &d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}
