//! Rules for subscriber endpoints: the URL we may POST to and the custom headers a vendor may add.
//! Address-level checks (private ranges, DNS) happen at connect time in the delivery engine; these
//! are the static, syntactic rules applied when an endpoint is saved.

use std::collections::BTreeMap;

use url::Url;

/// Why an endpoint URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidUrl {
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("is not a valid absolute URL: {0}")]
    Malformed(String),
    #[error("must use http or https, not `{0}`")]
    Scheme(String),
    #[error("must not contain a username or password")]
    UserInfo,
    #[error("must have a host")]
    NoHost,
    #[error("must not contain a fragment")]
    Fragment,
}

/// An absolute http(s) URL without credentials, at most 2048 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(Url);

impl EndpointUrl {
    pub const MAX_LEN: usize = 2048;

    pub fn parse(raw: &str) -> Result<Self, InvalidUrl> {
        if raw.len() > Self::MAX_LEN {
            return Err(InvalidUrl::TooLong { max: Self::MAX_LEN });
        }
        let url = Url::parse(raw).map_err(|error| InvalidUrl::Malformed(error.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(InvalidUrl::Scheme(url.scheme().to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidUrl::UserInfo);
        }
        if url.host().is_none() {
            return Err(InvalidUrl::NoHost);
        }
        if url.fragment().is_some() {
            return Err(InvalidUrl::Fragment);
        }
        // Normalisation (e.g. `HTTP://X` → `http://x/`) can lengthen the URL slightly.
        if url.as_str().len() > Self::MAX_LEN {
            return Err(InvalidUrl::TooLong { max: Self::MAX_LEN });
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn as_url(&self) -> &Url {
        &self.0
    }
}

/// Why a custom header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidHeader {
    #[error("is not a valid header name")]
    Name,
    #[error("is reserved and set by Outhook itself")]
    Reserved,
    #[error("value must be visible ASCII without line breaks, at most {max} characters")]
    Value { max: usize },
    #[error("at most {max} custom headers are allowed")]
    TooMany { max: usize },
}

/// Headers the vendor adds to every request to an endpoint. Names are stored lowercase; names
/// Outhook sets itself (signature, framing, tracing) cannot be overridden.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomHeaders(BTreeMap<String, String>);

const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "content-encoding",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "expect",
    "proxy-authorization",
    "proxy-connection",
    "user-agent",
    "traceparent",
    "tracestate",
];
const RESERVED_PREFIXES: &[&str] = &["webhook-", "outhook-", "svix-"];

impl CustomHeaders {
    pub const MAX_COUNT: usize = 20;
    pub const MAX_VALUE_LEN: usize = 4096;

    /// Validates every header; errors carry the offending header name for the field path.
    pub fn parse(raw: &BTreeMap<String, String>) -> Result<Self, Vec<(String, InvalidHeader)>> {
        if raw.len() > Self::MAX_COUNT {
            return Err(vec![(String::new(), InvalidHeader::TooMany { max: Self::MAX_COUNT })]);
        }
        let mut errors = Vec::new();
        let mut headers = BTreeMap::new();
        for (name, value) in raw {
            match Self::check(name, value) {
                Ok(()) => {
                    headers.insert(name.to_ascii_lowercase(), value.clone());
                }
                Err(error) => errors.push((name.clone(), error)),
            }
        }
        if errors.is_empty() { Ok(Self(headers)) } else { Err(errors) }
    }

    fn check(name: &str, value: &str) -> Result<(), InvalidHeader> {
        let is_token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.is_empty() || name.len() > 256 || !name.chars().all(is_token_char) {
            return Err(InvalidHeader::Name);
        }
        let lower = name.to_ascii_lowercase();
        if RESERVED_HEADERS.contains(&lower.as_str())
            || RESERVED_PREFIXES.iter().any(|prefix| lower.starts_with(prefix))
        {
            return Err(InvalidHeader::Reserved);
        }
        if value.len() > Self::MAX_VALUE_LEN || !value.chars().all(|c| c == ' ' || c == '\t' || c.is_ascii_graphic()) {
            return Err(InvalidHeader::Value { max: Self::MAX_VALUE_LEN });
        }
        Ok(())
    }

    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// Rebuilds headers that were validated before they were stored.
    pub fn from_trusted(map: BTreeMap<String, String>) -> Self {
        Self(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_and_https_urls_are_accepted() {
        assert!(EndpointUrl::parse("https://example.com/hooks").is_ok());
        assert!(EndpointUrl::parse("http://127.0.0.1:8080/x?y=1").is_ok());
        assert_eq!(EndpointUrl::parse("ftp://example.com/"), Err(InvalidUrl::Scheme("ftp".into())));
        assert_eq!(EndpointUrl::parse("https://user:pw@example.com/"), Err(InvalidUrl::UserInfo));
        assert_eq!(EndpointUrl::parse("https://user@example.com/"), Err(InvalidUrl::UserInfo));
        assert_eq!(EndpointUrl::parse("https://example.com/#x"), Err(InvalidUrl::Fragment));
        assert!(matches!(EndpointUrl::parse("not a url"), Err(InvalidUrl::Malformed(_))));
        assert!(matches!(EndpointUrl::parse("/relative"), Err(InvalidUrl::Malformed(_))));
        assert!(EndpointUrl::parse("file:///etc/passwd").is_err());
        assert!(EndpointUrl::parse("javascript:alert(1)").is_err());
    }

    #[test]
    fn urls_longer_than_2048_characters_are_refused() {
        let base = "https://example.com/";
        let ok = format!("{base}{}", "a".repeat(EndpointUrl::MAX_LEN - base.len()));
        assert!(EndpointUrl::parse(&ok).is_ok());
        let long = format!("{ok}a");
        assert_eq!(EndpointUrl::parse(&long), Err(InvalidUrl::TooLong { max: 2048 }));
    }

    fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn reserved_headers_are_refused_in_any_case() {
        for name in ["Host", "content-length", "Webhook-Signature", "webhook-id", "Transfer-Encoding", "traceparent"] {
            let result = CustomHeaders::parse(&headers(&[(name, "x")]));
            assert_eq!(result, Err(vec![(name.to_string(), InvalidHeader::Reserved)]), "{name}");
        }
    }

    #[test]
    fn custom_headers_are_normalised_to_lowercase() {
        let parsed = CustomHeaders::parse(&headers(&[("X-Api-Key", "abc 123")])).unwrap();
        assert_eq!(parsed.as_map().get("x-api-key").map(String::as_str), Some("abc 123"));
    }

    #[test]
    fn header_injection_and_bad_names_are_refused() {
        let result = CustomHeaders::parse(&headers(&[("x-a", "line\r\nInjected: 1"), ("bad name", "x")]));
        let errors = result.unwrap_err();
        assert_eq!(errors.len(), 2);
        let too_many: BTreeMap<_, _> = (0..21).map(|i| (format!("x-h{i}"), "v".to_string())).collect();
        assert!(CustomHeaders::parse(&too_many).is_err());
    }
}
