//! Decimal text (DS, IS, DICOM JSON numbers as strings) to `f64` without `str::parse::<f64>`,
//! whose correctly-rounding slow path carries a 10 KB table of powers of five that does not
//! compress (about 12 KB of a gzipped wasm). Every DS value (at most 16 characters, so at most
//! 15 significant digits after a sign or point) takes the exact path: an integer mantissa below
//! 2^53 times or divided by an exact power of ten is one correctly rounded operation, the same
//! result `parse` gives. Longer inputs are rounded within a few ulps.

/// Powers of ten that are exact in an `f64`.
const EXACT_POW10: [f64; 23] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/// `[+-]digits[.digits][(e|E)[+-]digits]` (or `.digits`) to a finite `f64`; anything else is `None`.
pub fn parse(s: &str) -> Option<f64> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let negative = match bytes.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut mantissa: u64 = 0;
    let mut exponent: i64 = 0;
    let mut digits = 0;
    let mut inexact = false;
    let mut seen_point = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'0'..=b'9' => {
                digits += 1;
                if mantissa < 1_000_000_000_000_000_000 {
                    mantissa = mantissa * 10 + u64::from(b - b'0');
                    if seen_point {
                        exponent -= 1;
                    }
                } else {
                    // Beyond 19 significant digits only the magnitude counts.
                    inexact |= b != b'0';
                    if !seen_point {
                        exponent += 1;
                    }
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if let Some(b'e' | b'E') = bytes.get(i) {
        i += 1;
        let exp_negative = match bytes.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        let mut e: i64 = 0;
        while let Some(&b @ b'0'..=b'9') = bytes.get(i) {
            e = (e * 10 + i64::from(b - b'0')).min(100_000);
            i += 1;
        }
        if i == start {
            return None;
        }
        exponent += if exp_negative { -e } else { e };
    }
    if i != bytes.len() {
        return None;
    }
    let value = magnitude(mantissa, exponent, inexact);
    let value = if negative { -value } else { value };
    value.is_finite().then_some(value)
}

fn magnitude(mantissa: u64, exponent: i64, inexact: bool) -> f64 {
    if mantissa == 0 {
        return 0.0;
    }
    let m = mantissa as f64;
    if !inexact && mantissa < (1 << 53) && exponent.unsigned_abs() < EXACT_POW10.len() as u64 {
        let p = EXACT_POW10[exponent.unsigned_abs() as usize];
        return if exponent < 0 { m / p } else { m * p };
    }
    // Rare (more than 15 significant digits or a large exponent): within a few ulps, in steps
    // that neither overflow nor underflow early.
    let mut value = m;
    let mut e = exponent;
    while e > 0 {
        let step = e.min(22);
        value *= EXACT_POW10[step as usize];
        e -= step;
        if value.is_infinite() {
            return value;
        }
    }
    while e < 0 {
        let step = (-e).min(22);
        value /= EXACT_POW10[step as usize];
        e += step;
        if value == 0.0 {
            return value;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn ds_values_parse_exactly_as_std_does() {
        for s in [
            "0",
            "-0",
            "1",
            "-1024",
            "+40",
            "400",
            "0.48828125",
            ".5",
            "5.",
            "-0.0000000000001",
            "1.23456789012345",
            "123456789012345",
            "3.14159265358979",
            "1e22",
            "2.5E-3",
            "-7.5e+2",
            "0000012.5000",
            "9007199254740991",
        ] {
            assert_eq!(parse(s).map(f64::to_bits), s.parse::<f64>().ok().map(f64::to_bits), "{s}");
        }
    }

    /// Every decimal of up to 15 significant digits with a small exponent: bit-exact.
    #[test]
    fn generated_short_decimals_are_exact() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = 1 + (x % 15) as usize;
            let mantissa = (x >> 8) % 10u64.pow(digits as u32);
            let point = (x >> 40) as usize % (digits + 1);
            let mut text = format!("{mantissa:0digits$}");
            text.insert(point, '.');
            let exp = ((x >> 50) % 15) as i32 - 7;
            let s = if x & 1 == 0 { format!("-{text}e{exp}") } else { text };
            assert_eq!(parse(&s).map(f64::to_bits), s.parse::<f64>().ok().map(f64::to_bits), "{s}");
        }
    }

    #[test]
    fn long_or_extreme_values_are_close() {
        for s in [
            "3.141592653589793238462643383279",
            "12345678901234567890123",
            "1e300",
            "1.7976931348623157e308",
            "4.9e-324",
            "2.2250738585072014e-308",
            "0.1000000000000000055511151231257827",
        ] {
            let want = s.parse::<f64>().unwrap();
            let got = parse(s).unwrap();
            assert!(ulps(got, want) <= 4 || (want != 0.0 && ((got - want) / want).abs() < 1e-15), "{s}: {got} vs {want}");
        }
        assert_eq!(parse("1e400"), None);
        assert_eq!(parse("1e-400"), Some(0.0));
    }

    #[test]
    fn not_numbers() {
        for s in ["", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", "inf", "NaN", "1 2", "0x10", "--1", "1e5.5", " 1"] {
            assert_eq!(parse(s), None, "{s:?}");
        }
    }
}
