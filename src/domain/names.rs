//! Vendor-chosen names: tenant uids, event type names and channels. Each is a newtype built only
//! through `parse`, so handlers cannot store an unchecked string.

use std::fmt;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidName {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("may only contain {allowed}")]
    BadCharacter { allowed: &'static str },
    #[error("{0}")]
    Shape(&'static str),
}

fn check_charset(raw: &str, max: usize, allowed: &'static str, ok: impl Fn(char) -> bool) -> Result<(), InvalidName> {
    if raw.is_empty() {
        return Err(InvalidName::Empty);
    }
    if raw.chars().count() > max {
        return Err(InvalidName::TooLong { max });
    }
    if !raw.chars().all(ok) {
        return Err(InvalidName::BadCharacter { allowed });
    }
    Ok(())
}

fn is_identifier_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')
}

/// The vendor's own id for a tenant (its customer id). Must not look like an Outhook tenant id,
/// so `/v1/tenants/{id-or-uid}` is never ambiguous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantUid(String);

impl TenantUid {
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, InvalidName> {
        check_charset(raw, Self::MAX_LEN, "letters, digits, '_', '-', '.' and ':'", is_identifier_char)?;
        if raw.starts_with("ten_") {
            return Err(InvalidName::Shape("must not start with `ten_`, which is reserved for tenant ids"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A dotted event type name such as `invoice.paid`: lowercase segments of letters, digits, `_`
/// and `-`, separated by single dots.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventTypeName(String);

impl EventTypeName {
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, InvalidName> {
        check_charset(raw, Self::MAX_LEN, "lowercase letters, digits, '_', '-' and '.'", |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.')
        })?;
        if raw.split('.').any(str::is_empty) {
            return Err(InvalidName::Shape("must be dot-separated non-empty segments, like `invoice.paid`"));
        }
        if !raw.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(InvalidName::Shape("must start with a lowercase letter"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventTypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A routing label on events and endpoints (`project-42`, `eu`), matched exactly.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Channel(String);

impl Channel {
    pub const MAX_LEN: usize = 128;
    /// How many channels one endpoint or event may carry.
    pub const MAX_PER_ITEM: usize = 10;

    pub fn parse(raw: &str) -> Result<Self, InvalidName> {
        check_charset(raw, Self::MAX_LEN, "letters, digits, '_', '-', '.' and ':'", is_identifier_char)?;
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A free-text description, bounded so one row cannot grow without limit.
pub fn parse_description(raw: &str) -> Result<String, InvalidName> {
    const MAX: usize = 1024;
    if raw.chars().count() > MAX {
        return Err(InvalidName::TooLong { max: MAX });
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_names_are_dotted_lowercase_segments() {
        for good in ["invoice.paid", "user.created", "a", "billing.invoice.payment_failed", "v2-x.y"] {
            assert!(EventTypeName::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "Invoice.paid", "invoice..paid", ".invoice", "invoice.", "invoice paid", "1abc", "é.x"] {
            assert!(EventTypeName::parse(bad).is_err(), "{bad}");
        }
        assert!(EventTypeName::parse(&"a".repeat(129)).is_err());
    }

    #[test]
    fn tenant_uids_cannot_shadow_tenant_ids() {
        assert!(TenantUid::parse("customer-42").is_ok());
        assert!(TenantUid::parse("acme:eu.1_x").is_ok());
        assert_eq!(
            TenantUid::parse("ten_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
            Err(InvalidName::Shape("must not start with `ten_`, which is reserved for tenant ids"))
        );
        assert_eq!(TenantUid::parse(""), Err(InvalidName::Empty));
        assert!(TenantUid::parse("has space").is_err());
        assert!(TenantUid::parse(&"x".repeat(129)).is_err());
    }

    #[test]
    fn channels_are_bounded_identifiers() {
        assert!(Channel::parse("project-1").is_ok());
        assert!(Channel::parse("").is_err());
        assert!(Channel::parse("a/b").is_err());
    }

    #[test]
    fn descriptions_are_bounded() {
        assert!(parse_description("").is_ok());
        assert!(parse_description(&"x".repeat(1025)).is_err());
    }
}
