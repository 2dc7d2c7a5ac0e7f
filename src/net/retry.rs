//! When to try a request again, and how long to wait first.
//!
//! Archives answer 503 + Retry-After while they fetch from slow storage (SMART Imaging Access
//! allows exactly this); networks drop. We honour Retry-After up to a cap, back off
//! exponentially with jitter on network errors, and never retry a 4xx: a request the server
//! understood and refused will be refused again.

use super::{Method, NetError, Response};
use std::time::Duration;

/// Retry limits. The defaults suit an interactive viewer: a few seconds of patience, not minutes.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, including the first.
    pub max_attempts: u32,
    /// The longest Retry-After we wait for; a longer one ends the retries.
    pub max_retry_after: Duration,
    /// The first backoff after a network error; doubled each attempt.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            max_retry_after: Duration::from_secs(30),
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
        }
    }
}

/// What to do with one attempt's outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Hand the outcome to the caller.
    Done,
    /// Wait, then send again.
    RetryAfter(Duration),
}

impl RetryPolicy {
    /// `attempt` counts from 1; `now_unix` (seconds) resolves a Retry-After given as a date;
    /// `jitter` in [0, 1) spreads backoffs so many clients do not retry in lockstep.
    pub fn decide(&self, attempt: u32, method: Method, outcome: &Result<Response, NetError>, now_unix: f64, jitter: f64) -> Decision {
        if attempt >= self.max_attempts {
            return Decision::Done;
        }
        match outcome {
            Ok(response) if matches!(response.status, 503 | 429) => {
                match response.header("retry-after").and_then(|v| parse_retry_after(v, now_unix)) {
                    Some(wait) if wait <= self.max_retry_after => Decision::RetryAfter(wait),
                    Some(_) => Decision::Done,
                    // 503 without Retry-After: a short backoff, like a network error.
                    None => Decision::RetryAfter(self.backoff(attempt, jitter)),
                }
            }
            Ok(_) => Decision::Done,
            // Only idempotent requests are resent after a network error: a POST may have arrived.
            Err(NetError::Unreachable { .. }) if method != Method::Post => Decision::RetryAfter(self.backoff(attempt, jitter)),
            Err(_) => Decision::Done,
        }
    }

    /// base · 2^(attempt−1), capped, then scaled into [50 %, 100 %) by the jitter.
    fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = self.base_backoff.saturating_mul(1u32 << (attempt.saturating_sub(1)).min(16));
        let capped = exp.min(self.max_backoff);
        capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 0.999_999))
    }
}

/// Retry-After as delta-seconds or an HTTP-date (RFC 9110 §10.2.3); a date in the past is zero.
pub fn parse_retry_after(value: &str, now_unix: f64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_http_date(value)?;
    Some(Duration::from_secs_f64((at - now_unix).max(0.0)))
}

/// IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`, to Unix seconds.
fn parse_http_date(value: &str) -> Option<f64> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    let [_weekday, day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    let day: i64 = day.parse().ok()?;
    let month =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].iter().position(|m| m == month)? as i64 + 1;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<i64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else { return None };
    if !(1..=31).contains(&day) || *h > 23 || *m > 59 || *s > 60 {
        return None;
    }
    Some((days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s) as f64)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, retry_after: Option<&str>) -> Result<Response, NetError> {
        let headers = retry_after.map(|v| vec![("Retry-After".to_string(), v.to_string())]).unwrap_or_default();
        Ok(Response { status, headers, body: Vec::new() })
    }

    fn unreachable() -> Result<Response, NetError> {
        Err(NetError::Unreachable { url: "u".into(), message: "refused".into() })
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("3", 0.0), Some(Duration::from_secs(3)));
        let t = 784_111_777.0; // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t - 5.0), Some(Duration::from_secs(5)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t + 100.0), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", 0.0), None);
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 25:49:37 GMT", 0.0), None);
    }

    #[test]
    fn honours_retry_after_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.decide(1, Method::Get, &response(503, Some("2")), 0.0, 0.0), Decision::RetryAfter(Duration::from_secs(2)));
        assert_eq!(p.decide(1, Method::Get, &response(503, Some("31")), 0.0, 0.0), Decision::Done);
        assert_eq!(p.decide(4, Method::Get, &response(503, Some("1")), 0.0, 0.0), Decision::Done, "attempts exhausted");
    }

    #[test]
    fn never_retries_4xx_or_success() {
        let p = RetryPolicy::default();
        for status in [200, 204, 400, 401, 403, 404, 406, 409] {
            assert_eq!(p.decide(1, Method::Get, &response(status, Some("1")), 0.0, 0.5), Decision::Done, "{status}");
        }
    }

    #[test]
    fn network_errors_back_off_exponentially_with_jitter() {
        let p = RetryPolicy::default();
        let wait = |attempt, jitter| match p.decide(attempt, Method::Get, &unreachable(), 0.0, jitter) {
            Decision::RetryAfter(d) => d,
            Decision::Done => panic!("should retry"),
        };
        assert_eq!(wait(1, 0.0), Duration::from_millis(125));
        assert!(wait(1, 0.99) < Duration::from_millis(250));
        assert_eq!(wait(2, 0.0), Duration::from_millis(250));
        assert_eq!(wait(3, 0.0), Duration::from_millis(500));
        let long = RetryPolicy { max_attempts: 40, ..p.clone() };
        assert_eq!(long.backoff(30, 0.0), Duration::from_secs(2), "capped at max_backoff, halved by zero jitter");
        assert_eq!(p.decide(1, Method::Post, &unreachable(), 0.0, 0.0), Decision::Done, "a POST may have arrived");
    }
}
