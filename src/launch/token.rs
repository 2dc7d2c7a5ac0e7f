//! A token in the launch address (`access_token=` in the query or the fragment, as EMRs
//! configured for IID send it): taken out, and the address rewritten without it, before any
//! request is made, so it stays in neither the history, the Referer nor a log.

use url::Url;

const NAME: &str = "access_token";

/// The token `url` carries, and `url` without it (other parameters byte for byte as they
/// were). A token in the fragment wins over one in the query; both are removed.
pub fn take_access_token(url: &Url) -> (Option<String>, Url) {
    let mut clean = url.clone();
    let (query_token, query) = without_token(url.query());
    let (fragment_token, fragment) = without_token(url.fragment());
    clean.set_query(query.as_deref());
    clean.set_fragment(fragment.as_deref());
    (fragment_token.or(query_token), clean)
}

/// `a=1&access_token=T&b=2` → (`T`, `a=1&b=2`); an empty remainder is no query at all.
fn without_token(part: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(part) = part else { return (None, None) };
    let mut token = None;
    let kept: Vec<&str> = part
        .split('&')
        .filter(|pair| {
            // One pair, decoded as a query decodes it; the kept pairs stay as written.
            let (name, value) = url::form_urlencoded::parse(pair.as_bytes()).next().unwrap_or_default();
            if name != NAME {
                return true;
            }
            if !value.is_empty() {
                token = Some(value.into_owned());
            }
            false
        })
        .collect();
    let rest = kept.join("&");
    (token, (!rest.is_empty()).then_some(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(address: &str) -> (Option<String>, String) {
        let (token, clean) = take_access_token(&Url::parse(address).unwrap());
        (token, clean.to_string())
    }

    #[test]
    fn the_token_leaves_the_query_and_the_rest_stays_as_written() {
        let (token, clean) = take(
            "https://v.example/viewer/IHEInvokeImageDisplay/?requestType=PATIENT&access_token=eyJ%2Ba.b&patientID=9%5E%5E%5E%261.2%26ISO",
        );
        assert_eq!(token.as_deref(), Some("eyJ+a.b"));
        assert_eq!(clean, "https://v.example/viewer/IHEInvokeImageDisplay/?requestType=PATIENT&patientID=9%5E%5E%5E%261.2%26ISO");
    }

    #[test]
    fn a_fragment_token_wins_and_both_are_removed() {
        let (token, clean) = take("https://v.example/viewer/?access_token=q#access_token=f&state=1");
        assert_eq!(token.as_deref(), Some("f"));
        assert_eq!(clean, "https://v.example/viewer/#state=1");
        let (token, clean) = take("https://v.example/viewer/#access_token=f");
        assert_eq!((token.as_deref(), clean.as_str()), (Some("f"), "https://v.example/viewer/"));
    }

    #[test]
    fn no_token_leaves_the_address_alone() {
        let address = "https://v.example/viewer/?requestType=STUDY&studyUID=1.2.3#x";
        assert_eq!(take(address), (None, address.to_string()));
        let (token, clean) = take("https://v.example/viewer/?access_token=&a=1");
        assert_eq!((token, clean.as_str()), (None, "https://v.example/viewer/?a=1"), "an empty one is removed, not used");
        assert_eq!(take("https://v.example/viewer/?Access_Token=x").0, None, "names are case-sensitive");
    }
}
