//! The pure, I/O-free half of Outhook's SSRF guard.
//!
//! Customers choose the URLs we deliver webhooks to, so without a guard anyone could point a
//! webhook at `http://169.254.169.254/` (cloud credentials), `http://127.0.0.1:6379/` or an
//! address inside our VPC and make our workers attack our own network (server-side request
//! forgery). Checking the URL once at registration time is not enough: DNS answers change
//! (DNS rebinding), so the decision has to be made at connect time, on the exact address we
//! are about to connect to. The custom DNS resolver calls [`check`] on every address it
//! resolved, and URL hosts that are IP literals are recognised by [`parse_literal_host`] (in
//! every spelling libc or a browser accepts, e.g. `0x7f.1` or `2130706433`) and checked the
//! same way.
//!
//! Everything here is a pure function of its inputs so it can be tested exhaustively without
//! touching the network. Classification is deliberately conservative: IPv6 addresses that
//! embed an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by that IPv4 address, and
//! IPv6 space outside the global-unicast block `2000::/3` is treated as reserved.

use std::error::Error;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// What kind of destination an IP address is; only [`AddressClass::Public`] may be reached
/// without an explicit allow-list entry, so every other variant names a reason to refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// Globally routable unicast: an ordinary internet host, safe to deliver to.
    Public,
    /// `0.0.0.0/8` and `::`: "this host/network"; connecting to it usually reaches localhost.
    Unspecified,
    /// `127.0.0.0/8` and `::1`: the worker itself.
    Loopback,
    /// RFC 1918, IPv6 unique-local (`fc00::/7`) and deprecated site-local (`fec0::/10`): our own network.
    Private,
    /// `169.254.0.0/16` and `fe80::/10`: the local link, home of many on-host services.
    LinkLocal,
    /// `100.64.0.0/10` (RFC 6598): carrier-grade NAT space, internal to a provider.
    SharedCgnat,
    /// Instance metadata services (AWS, GCP, Azure, Alibaba, Oracle): they hand out credentials.
    CloudMetadata,
    /// `224.0.0.0/4` and `ff00::/8`: not a single host; never a webhook target.
    Multicast,
    /// `255.255.255.255`: limited broadcast; never a webhook target.
    Broadcast,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`, `3fff::/20`: examples only.
    Documentation,
    /// `198.18.0.0/15`: network benchmarking labs, not the internet.
    Benchmarking,
    /// `100::/64`: the IPv6 discard prefix (RFC 6666); traffic is meant to be dropped.
    Discard,
    /// IETF-reserved or special-purpose space that is not ordinary internet (`240.0.0.0/4`,
    /// `192.0.0.0/24`, `192.88.99.0/24`, `2001::/23`, IPv6 outside `2000::/3`, ...).
    Reserved,
}

impl AddressClass {
    /// True only for [`AddressClass::Public`]; callers should not need to know the full list of
    /// non-public classes to decide whether an address is reachable by default.
    #[must_use]
    pub fn is_public(self) -> bool {
        matches!(self, Self::Public)
    }

    /// Short human label, used by `Display` (logs, metrics labels).
    fn label(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Unspecified => "unspecified",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::LinkLocal => "link-local",
            Self::SharedCgnat => "shared (CGNAT)",
            Self::CloudMetadata => "cloud metadata",
            Self::Multicast => "multicast",
            Self::Broadcast => "broadcast",
            Self::Documentation => "documentation",
            Self::Benchmarking => "benchmarking",
            Self::Discard => "discard",
            Self::Reserved => "reserved",
        }
    }

    /// Phrase that reads well after "address X is ..." in [`Blocked`]'s message.
    fn phrase(self) -> &'static str {
        match self {
            Self::SharedCgnat => "shared address space (CGNAT)",
            Self::CloudMetadata => "a cloud metadata endpoint",
            Self::Documentation => "reserved for documentation",
            Self::Benchmarking => "reserved for benchmarking",
            Self::Discard => "a discard-only address",
            other => other.label(),
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

// ---------------------------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------------------------

const fn v4(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from_be_bytes([a, b, c, d])
}

const fn v6(s: [u16; 8]) -> u128 {
    Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]).to_bits()
}

/// Metadata endpoints that must be reported as such even though they sit inside wider ranges.
const V4_METADATA: &[u32] = &[
    v4(169, 254, 169, 254), // AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle (IMDS)
    v4(169, 254, 170, 2),   // AWS ECS task metadata / container credentials
    v4(169, 254, 170, 23),  // AWS EKS Pod Identity agent
    v4(100, 100, 100, 200), // Alibaba Cloud
    v4(192, 0, 0, 192),     // Oracle Cloud (legacy)
    v4(168, 63, 129, 16),   // Azure WireServer (publicly-numbered but platform-internal)
];

const V6_METADATA: &[u128] = &[
    v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254]), // AWS IMDS over IPv6
    v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23]),  // AWS EKS Pod Identity agent over IPv6
];

/// Special-purpose IPv4 ranges (first match wins; none overlap).
const V4_RANGES: &[(u32, u8, AddressClass)] = &[
    (v4(0, 0, 0, 0), 8, AddressClass::Unspecified),
    (v4(10, 0, 0, 0), 8, AddressClass::Private),
    (v4(100, 64, 0, 0), 10, AddressClass::SharedCgnat),
    (v4(127, 0, 0, 0), 8, AddressClass::Loopback),
    (v4(169, 254, 0, 0), 16, AddressClass::LinkLocal),
    (v4(172, 16, 0, 0), 12, AddressClass::Private),
    (v4(192, 0, 0, 0), 24, AddressClass::Reserved), // IETF protocol assignments
    (v4(192, 0, 2, 0), 24, AddressClass::Documentation),
    (v4(192, 88, 99, 0), 24, AddressClass::Reserved), // deprecated 6to4 relay anycast
    (v4(192, 168, 0, 0), 16, AddressClass::Private),
    (v4(198, 18, 0, 0), 15, AddressClass::Benchmarking),
    (v4(198, 51, 100, 0), 24, AddressClass::Documentation),
    (v4(203, 0, 113, 0), 24, AddressClass::Documentation),
    (v4(224, 0, 0, 0), 4, AddressClass::Multicast),
    (v4(240, 0, 0, 0), 4, AddressClass::Reserved),
];

const V6_MAPPED: u128 = v6([0, 0, 0, 0, 0, 0xffff, 0, 0]);
const V6_NAT64_WELL_KNOWN: u128 = v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]);
const V6_NAT64_LOCAL: u128 = v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]);
const V6_6TO4: u128 = v6([0x2002, 0, 0, 0, 0, 0, 0, 0]);
const V6_GLOBAL_UNICAST: u128 = v6([0x2000, 0, 0, 0, 0, 0, 0, 0]);

/// Special-purpose IPv6 ranges, consulted after embedded IPv4 addresses have been handled
/// (first match wins; the more specific `2001:db8::/32` is listed before `2001::/23` for clarity).
const V6_RANGES: &[(u128, u8, AddressClass)] = &[
    // Local-use NAT64 with a prefix longer than /48 and shorter than /96: the IPv4 address is not
    // in the last 32 bits and the operator's prefix length is unknown, so refuse it.
    (V6_NAT64_LOCAL, 48, AddressClass::Reserved),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0]), 64, AddressClass::Discard),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]), 32, AddressClass::Documentation),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]), 20, AddressClass::Documentation),
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 23, AddressClass::Reserved), // IETF protocol assignments (incl. Teredo)
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]), 7, AddressClass::Private),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]), 10, AddressClass::LinkLocal),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]), 10, AddressClass::Private), // deprecated site-local
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0]), 8, AddressClass::Multicast),
];

fn mask_v4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32u32.saturating_sub(u32::from(prefix))).unwrap_or(0)
}

fn mask_v6(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128u32.saturating_sub(u32::from(prefix))).unwrap_or(0)
}

fn in_v4(addr: u32, net: u32, prefix: u8) -> bool {
    (addr ^ net) & mask_v4(prefix) == 0
}

fn in_v6(addr: u128, net: u128, prefix: u8) -> bool {
    (addr ^ net) & mask_v6(prefix) == 0
}

/// Classifies an address by the special-purpose range it falls in, so the guard can refuse
/// anything that is not an ordinary internet host and say why.
///
/// IPv6 addresses that carry an IPv4 address (IPv4-mapped `::ffff:0:0/96`, IPv4-compatible
/// `::/96`, NAT64 `64:ff9b::/96` and `64:ff9b:1::/96`, 6to4 `2002::/16`) are classified by that
/// IPv4 address, because that is where the packets end up.
#[must_use]
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let bits = ip.to_bits();
    if bits == u32::MAX {
        return AddressClass::Broadcast;
    }
    if V4_METADATA.contains(&bits) {
        return AddressClass::CloudMetadata;
    }
    V4_RANGES
        .iter()
        .find(|(net, prefix, _)| in_v4(bits, *net, *prefix))
        .map_or(AddressClass::Public, |(_, _, class)| *class)
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let bits = ip.to_bits();
    match bits {
        0 => return AddressClass::Unspecified,
        1 => return AddressClass::Loopback,
        _ => {}
    }
    if V6_METADATA.contains(&bits) {
        return AddressClass::CloudMetadata;
    }
    if let Some(embedded) = embedded_ipv4(bits) {
        return classify_v4(embedded);
    }
    if let Some((_, _, class)) = V6_RANGES.iter().find(|(net, prefix, _)| in_v6(bits, *net, *prefix)) {
        return *class;
    }
    if in_v6(bits, V6_GLOBAL_UNICAST, 3) { AddressClass::Public } else { AddressClass::Reserved }
}

/// The IPv4 address an IPv6 address delivers to, for the embeddings the guard understands.
/// `::` and `::1` must be handled by the caller (they are inside `::/96` but are not IPv4).
fn embedded_ipv4(bits: u128) -> Option<Ipv4Addr> {
    // Truncation is the point: the embedded address is the low (or a middle) 32 bits.
    let low32 = Ipv4Addr::from_bits(bits as u32);
    if in_v6(bits, V6_MAPPED, 96)
        || in_v6(bits, 0, 96)
        || in_v6(bits, V6_NAT64_WELL_KNOWN, 96)
        || in_v6(bits, V6_NAT64_LOCAL, 96)
    {
        return Some(low32);
    }
    if in_v6(bits, V6_6TO4, 16) {
        return Some(Ipv4Addr::from_bits((bits >> 80) as u32));
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Allow-list
// ---------------------------------------------------------------------------------------------

/// An IP network in CIDR form, used for the allow-list that lets tests and local development
/// reach otherwise-blocked ranges such as `127.0.0.0/8`. Kept in-house so the guard has no
/// dependencies; host bits are cleared on construction so `Display` shows the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// Why an allow-list entry could not be parsed or built; carries the offending text so a bad
/// configuration value can be reported precisely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpNetError {
    /// The part before `/` is not a plain IPv4 or IPv6 address (odd spellings are rejected on purpose).
    InvalidAddress(String),
    /// The part after `/` is not a decimal number.
    InvalidPrefix(String),
    /// The prefix is longer than the address (more than 32 for IPv4, 128 for IPv6).
    PrefixTooLong {
        /// The prefix that was given.
        prefix: u16,
        /// The longest prefix the address family allows.
        max: u8,
    },
}

impl fmt::Display for IpNetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidAddress(text) => write!(f, "invalid network address {text:?}"),
            Self::InvalidPrefix(text) => write!(f, "invalid prefix length {text:?}"),
            Self::PrefixTooLong { prefix, max } => write!(f, "prefix length /{prefix} is longer than /{max}"),
        }
    }
}

impl Error for IpNetError {}

fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// An IPv4-mapped IPv6 address is the same destination as its IPv4 address, so compare on that.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

impl IpNet {
    /// Builds a network from an address and prefix length, clearing host bits, so callers that
    /// already hold an `IpAddr` need not go through a string.
    ///
    /// # Errors
    ///
    /// [`IpNetError::PrefixTooLong`] if `prefix` exceeds 32 (IPv4) or 128 (IPv6).
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, IpNetError> {
        let max = max_prefix(addr);
        if prefix > max {
            return Err(IpNetError::PrefixTooLong { prefix: u16::from(prefix), max });
        }
        let addr = match addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from_bits(a.to_bits() & mask_v4(prefix))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from_bits(a.to_bits() & mask_v6(prefix))),
        };
        Ok(Self { addr, prefix })
    }

    /// The network address (host bits cleared), for logging and configuration round-trips.
    #[must_use]
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits, for logging and configuration round-trips.
    #[must_use]
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies inside this network. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`), on
    /// either side, are compared as the IPv4 address they stand for, so `::ffff:127.0.0.1`
    /// matches `127.0.0.0/8`; otherwise IPv4 and IPv6 never match each other.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (net, prefix) = self.canonical();
        match (net, canonical_ip(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => in_v4(a.to_bits(), n.to_bits(), prefix),
            (IpAddr::V6(n), IpAddr::V6(a)) => in_v6(a.to_bits(), n.to_bits(), prefix),
            _ => false,
        }
    }

    /// `::ffff:a.b.c.d/p` with `p >= 96` is the IPv4 network `a.b.c.d/(p - 96)`.
    fn canonical(&self) -> (IpAddr, u8) {
        if let IpAddr::V6(v6) = self.addr
            && self.prefix >= 96
            && let Some(v4) = v6.to_ipv4_mapped()
        {
            return (IpAddr::V4(v4), self.prefix - 96);
        }
        (self.addr, self.prefix)
    }
}

impl FromStr for IpNet {
    type Err = IpNetError;

    /// Parses `"127.0.0.0/8"`, `"::1/128"`, or a bare address meaning a single host. Only the
    /// strict standard address syntax is accepted: configuration should be unambiguous.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr_text, prefix_text) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr_text.parse().map_err(|_| IpNetError::InvalidAddress(addr_text.to_owned()))?;
        let max = max_prefix(addr);
        let prefix = match prefix_text {
            None => max,
            Some(text) => {
                let invalid = || IpNetError::InvalidPrefix(text.to_owned());
                if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid());
                }
                let prefix: u16 = text.parse().map_err(|_| invalid())?;
                u8::try_from(prefix).ok().filter(|p| *p <= max).ok_or(IpNetError::PrefixTooLong { prefix, max })?
            }
        };
        Self::new(addr, prefix)
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Whether the guard lets a connection to `ip` proceed: public addresses always, anything else
/// only if an allow-list entry covers it (this is how tests and local development reach
/// `127.0.0.0/8`). The allow-list wins over every class, including cloud metadata.
#[must_use]
pub fn is_allowed(ip: IpAddr, allow: &[IpNet]) -> bool {
    classify(ip).is_public() || allow.iter().any(|net| net.contains(ip))
}

/// The guard's verdict as a `Result`, so the resolver can refuse with `?` and report which
/// address was refused and why.
///
/// # Errors
///
/// [`Blocked`] when [`is_allowed`] would return false.
pub fn check(ip: IpAddr, allow: &[IpNet]) -> Result<(), Blocked> {
    let class = classify(ip);
    if class.is_public() || allow.iter().any(|net| net.contains(ip)) { Ok(()) } else { Err(Blocked { ip, class }) }
}

/// A refused connection: the address and the class that got it refused, so delivery logs can
/// tell the customer why their endpoint is unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocked {
    ip: IpAddr,
    class: AddressClass,
}

impl Blocked {
    /// The address that was refused, exactly as it was checked.
    #[must_use]
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// Why it was refused; never [`AddressClass::Public`].
    #[must_use]
    pub fn class(&self) -> AddressClass {
        self.class
    }
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "address {} is {} and not allowed", self.ip, self.class.phrase())
    }
}

impl Error for Blocked {}

// ---------------------------------------------------------------------------------------------
// Literal hosts
// ---------------------------------------------------------------------------------------------

/// Recognises a URL host that is really an IP address, however it is spelled, so odd spellings
/// cannot slip past the guard as "hostnames". Returns `None` for names (including `localhost`,
/// which the resolver handles).
///
/// Accepted, as the union of what the WHATWG URL standard and libc `inet_aton` accept:
/// - IPv6, bracketed or not, with an optional `%zone` suffix (dropped);
/// - IPv4 as 1 to 4 dot-separated parts, each decimal, octal (leading `0`) or hex (`0x`), where
///   the last part fills the remaining bytes: `2130706433`, `0x7f.1`, `0177.0.0.1`, `127.0.1`;
/// - one trailing dot, tabs/newlines anywhere, percent-encoding, full-width and other
///   compatibility digits and dots (`１２７。０。０。１`), and anything after whitespace (`inet_aton`).
///
/// A leading `0` means octal, as in libc and browsers: `010.0.0.1` is `8.0.0.1`. Connect to the
/// returned address rather than re-parsing the string with another parser.
#[must_use]
pub fn parse_literal_host(host: &str) -> Option<IpAddr> {
    let host: String = host.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']')?;
        return parse_ipv6_with_zone(inner).map(IpAddr::V6).or_else(|| parse_ipv4_any(inner).map(IpAddr::V4));
    }
    if host.contains(':') {
        return parse_ipv6_with_zone(&host).map(IpAddr::V6);
    }
    parse_ipv4_any(&host).map(IpAddr::V4)
}

fn parse_ipv6_with_zone(text: &str) -> Option<Ipv6Addr> {
    let addr = text.split_once('%').map_or(text, |(addr, _zone)| addr);
    addr.parse().ok()
}

fn parse_ipv4_any(text: &str) -> Option<Ipv4Addr> {
    let decoded = percent_decode(text)?;
    let folded = fold_to_ascii(&decoded)?;
    parse_ipv4_inet_aton(&folded)
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Decodes `%XX` escapes (browsers do this before parsing a host); malformed escapes stay as-is.
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'%'
            && let (Some(high), Some(low)) =
                (bytes.get(i + 1).copied().and_then(hex_value), bytes.get(i + 2).copied().and_then(hex_value))
        {
            out.push((high << 4) | low);
            i += 3;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Approximates the UTS #46 (IDNA) mapping for the characters that can spell an IPv4 literal:
/// browsers apply it before the IPv4 parser. Any other non-ASCII character means "not a literal".
fn fold_to_ascii(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else if !is_idna_ignored(c) {
            out.push(fold_char(c)?);
        }
    }
    Some(out)
}

fn is_idna_ignored(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{034F}' | '\u{180B}'..='\u{180D}' | '\u{200B}' | '\u{2060}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
    )
}

fn fold_char(c: char) -> Option<char> {
    let code = u32::from(c);
    let digit = |offset: u32| char::from_digit(offset % 10, 10);
    match c {
        '\u{3002}' | '\u{FF61}' => Some('.'), // ideographic / halfwidth ideographic full stop
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(code - 0xFEE0), // full-width ASCII
        '\u{1D7CE}'..='\u{1D7FF}' => digit(code - 0x1D7CE), // mathematical digits
        '\u{1FBF0}'..='\u{1FBF9}' => digit(code - 0x1FBF0), // segmented digits
        '\u{2070}' | '\u{24EA}' => Some('0'),
        '\u{00B9}' => Some('1'),
        '\u{00B2}' => Some('2'),
        '\u{00B3}' => Some('3'),
        '\u{2074}'..='\u{2079}' => digit(code - 0x2070), // superscripts 4-9
        '\u{2080}'..='\u{2089}' => digit(code - 0x2080), // subscripts 0-9
        '\u{2460}'..='\u{2468}' => digit(code - 0x245F), // circled 1-9
        _ => None,
    }
}

/// `inet_aton`/WHATWG IPv4 parsing: 1-4 parts, last part fills the remaining bytes.
fn parse_ipv4_inet_aton(text: &str) -> Option<Ipv4Addr> {
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r');
    let text = text.trim_start_matches(is_space);
    // inet_aton stops at the first whitespace character and ignores the rest.
    let text = text.split(is_space).next().unwrap_or(text);
    // The URL standard drops a single empty trailing label ("127.0.0.1.").
    let text = text.strip_suffix('.').unwrap_or(text);
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let numbers = parts.iter().map(|part| parse_ipv4_number(part)).collect::<Option<Vec<u64>>>()?;
    let (last, leading) = numbers.split_last()?;
    let mut value: u64 = 0;
    for (index, number) in leading.iter().enumerate() {
        if *number > 0xff {
            return None;
        }
        value |= number << (8 * (3 - index));
    }
    let last_bits = 8 * (5 - numbers.len());
    if *last >= 1u64 << last_bits {
        return None;
    }
    u32::try_from(value | last).ok().map(Ipv4Addr::from_bits)
}

/// One IPv4 part: `0x`/`0X` hex (possibly with no digits, meaning 0), leading-`0` octal, or decimal.
fn parse_ipv4_number(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) = if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
        (hex, 16)
    } else if let Some(octal) = part.strip_prefix('0') {
        (octal, 8)
    } else {
        (part, 10)
    };
    digits
        .chars()
        .try_fold(0u64, |acc, c| acc.checked_mul(u64::from(radix))?.checked_add(u64::from(c.to_digit(radix)?)))
}

#[cfg(test)]
mod tests {
    use super::AddressClass::*;
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("bad test address {text:?}: {e}"))
    }

    fn net(text: &str) -> IpNet {
        text.parse().unwrap_or_else(|e| panic!("bad test network {text:?}: {e}"))
    }

    fn assert_classes(cases: &[(&str, AddressClass)]) {
        for (text, expected) in cases {
            assert_eq!(classify(ip(text)), *expected, "classify({text})");
        }
    }

    fn assert_literals(cases: &[(&str, &str)]) {
        for (host, expected) in cases {
            assert_eq!(parse_literal_host(host), Some(ip(expected)), "parse_literal_host({host:?})");
        }
    }

    fn assert_not_literals(cases: &[&str]) {
        for host in cases {
            assert_eq!(parse_literal_host(host), None, "parse_literal_host({host:?})");
        }
    }

    // --- IPv4 ranges -------------------------------------------------------------------------

    #[test]
    fn this_network_block_is_unspecified() {
        assert_classes(&[("0.0.0.0", Unspecified), ("0.255.255.255", Unspecified), ("1.0.0.0", Public)]);
    }

    #[test]
    fn ten_slash_eight_is_private() {
        assert_classes(&[
            ("9.255.255.255", Public),
            ("10.0.0.0", Private),
            ("10.255.255.255", Private),
            ("11.0.0.0", Public),
        ]);
    }

    #[test]
    fn shared_cgnat_block_is_shared_cgnat() {
        assert_classes(&[
            ("100.63.255.255", Public),
            ("100.64.0.0", SharedCgnat),
            ("100.127.255.255", SharedCgnat),
            ("100.128.0.0", Public),
        ]);
    }

    #[test]
    fn loopback_block_is_loopback() {
        assert_classes(&[
            ("126.255.255.255", Public),
            ("127.0.0.0", Loopback),
            ("127.0.0.1", Loopback),
            ("127.255.255.255", Loopback),
            ("128.0.0.0", Public),
        ]);
    }

    #[test]
    fn ipv4_link_local_block_is_link_local() {
        assert_classes(&[
            ("169.253.255.255", Public),
            ("169.254.0.0", LinkLocal),
            ("169.254.169.253", LinkLocal),
            ("169.254.169.255", LinkLocal),
            ("169.254.255.255", LinkLocal),
            ("169.255.0.0", Public),
        ]);
    }

    #[test]
    fn one_seventy_two_sixteen_slash_twelve_is_private() {
        assert_classes(&[
            ("172.15.255.255", Public),
            ("172.16.0.0", Private),
            ("172.31.255.255", Private),
            ("172.32.0.0", Public),
        ]);
    }

    #[test]
    fn ietf_protocol_assignment_block_is_reserved() {
        assert_classes(&[
            ("191.255.255.255", Public),
            ("192.0.0.0", Reserved),
            ("192.0.0.255", Reserved),
            ("192.0.1.0", Public),
        ]);
    }

    #[test]
    fn ipv4_documentation_blocks_are_documentation() {
        assert_classes(&[
            ("192.0.1.255", Public),
            ("192.0.2.0", Documentation),
            ("192.0.2.255", Documentation),
            ("192.0.3.0", Public),
            ("198.51.99.255", Public),
            ("198.51.100.0", Documentation),
            ("198.51.100.255", Documentation),
            ("198.51.101.0", Public),
            ("203.0.112.255", Public),
            ("203.0.113.0", Documentation),
            ("203.0.113.255", Documentation),
            ("203.0.114.0", Public),
        ]);
    }

    #[test]
    fn six_to_four_relay_anycast_block_is_reserved() {
        assert_classes(&[
            ("192.88.98.255", Public),
            ("192.88.99.0", Reserved),
            ("192.88.99.255", Reserved),
            ("192.88.100.0", Public),
        ]);
    }

    #[test]
    fn one_ninety_two_one_sixty_eight_slash_sixteen_is_private() {
        assert_classes(&[
            ("192.167.255.255", Public),
            ("192.168.0.0", Private),
            ("192.168.255.255", Private),
            ("192.169.0.0", Public),
        ]);
    }

    #[test]
    fn benchmarking_block_is_benchmarking() {
        assert_classes(&[
            ("198.17.255.255", Public),
            ("198.18.0.0", Benchmarking),
            ("198.19.255.255", Benchmarking),
            ("198.20.0.0", Public),
        ]);
    }

    #[test]
    fn ipv4_multicast_block_is_multicast() {
        assert_classes(&[("223.255.255.255", Public), ("224.0.0.0", Multicast), ("239.255.255.255", Multicast)]);
    }

    #[test]
    fn future_use_block_is_reserved_up_to_broadcast() {
        assert_classes(&[("240.0.0.0", Reserved), ("255.255.255.254", Reserved)]);
    }

    #[test]
    fn limited_broadcast_is_broadcast() {
        assert_classes(&[("255.255.255.255", Broadcast)]);
    }

    #[test]
    fn ordinary_ipv4_addresses_are_public() {
        assert_classes(&[
            ("1.1.1.1", Public),
            ("8.8.8.8", Public),
            ("93.184.216.34", Public),
            ("223.255.255.255", Public),
        ]);
    }

    #[test]
    fn cloud_metadata_addresses_are_cloud_metadata() {
        assert_classes(&[
            ("169.254.169.254", CloudMetadata),
            ("169.254.170.2", CloudMetadata),
            ("169.254.170.23", CloudMetadata),
            ("100.100.100.200", CloudMetadata),
            ("192.0.0.192", CloudMetadata),
            ("168.63.129.16", CloudMetadata),
            ("fd00:ec2::254", CloudMetadata),
            ("fd00:ec2::23", CloudMetadata),
        ]);
    }

    #[test]
    fn neighbours_of_cloud_metadata_addresses_keep_their_range_class() {
        assert_classes(&[
            ("169.254.169.253", LinkLocal),
            ("169.254.169.255", LinkLocal),
            ("100.100.100.199", SharedCgnat),
            ("100.100.100.201", SharedCgnat),
            ("168.63.129.15", Public),
            ("168.63.129.17", Public),
            ("fd00:ec2::253", Private),
            ("fd00:ec2::255", Private),
        ]);
    }

    // --- IPv6 ranges -------------------------------------------------------------------------

    #[test]
    fn ipv6_unspecified_and_loopback_are_classified() {
        assert_classes(&[("::", Unspecified), ("::1", Loopback)]);
    }

    #[test]
    fn ipv6_link_local_block_is_link_local() {
        assert_classes(&[
            ("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Reserved),
            ("fe80::", LinkLocal),
            ("fe80::1", LinkLocal),
            ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", LinkLocal),
            ("fec0::", Private),
        ]);
    }

    #[test]
    fn unique_local_block_is_private() {
        assert_classes(&[
            ("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Reserved),
            ("fc00::", Private),
            ("fd12:3456:789a::1", Private),
            ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Private),
            ("fe00::", Reserved),
        ]);
    }

    #[test]
    fn deprecated_site_local_block_is_private() {
        assert_classes(&[
            ("fec0::", Private),
            ("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Private),
            ("ff00::", Multicast),
        ]);
    }

    #[test]
    fn ipv6_multicast_block_is_multicast() {
        assert_classes(&[
            ("ff00::", Multicast),
            ("ff02::1", Multicast),
            ("ff0e::101", Multicast),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Multicast),
        ]);
    }

    #[test]
    fn ipv6_documentation_blocks_are_documentation() {
        assert_classes(&[
            ("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", Public),
            ("2001:db8::", Documentation),
            ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", Documentation),
            ("2001:db9::", Public),
            ("3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Public),
            ("3fff::", Documentation),
            ("3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", Documentation),
            ("3fff:1000::", Public),
        ]);
    }

    #[test]
    fn discard_prefix_is_discard() {
        assert_classes(&[
            ("ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Reserved),
            ("100::", Discard),
            ("100::ffff:ffff:ffff:ffff", Discard),
            ("100:0:0:1::", Reserved),
        ]);
    }

    #[test]
    fn ietf_protocol_block_2001_slash_23_is_reserved() {
        assert_classes(&[
            ("2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Public),
            ("2001::", Reserved),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Reserved), // Teredo
            ("2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", Reserved),
            ("2001:200::", Public),
        ]);
    }

    #[test]
    fn ipv6_outside_global_unicast_is_reserved() {
        assert_classes(&[
            ("1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Reserved),
            ("2000::", Public),
            ("3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Public),
            ("4000::", Reserved),
            ("8000::1", Reserved),
            ("e000::1", Reserved),
            ("::1:0:0:0", Reserved),
            ("64:ff9b:0:0:1::", Reserved),
        ]);
    }

    #[test]
    fn ordinary_ipv6_addresses_are_public() {
        assert_classes(&[("2606:4700:4700::1111", Public), ("2a00:1450:4001:81b::200e", Public)]);
    }

    // --- IPv6 embedding IPv4 -----------------------------------------------------------------

    #[test]
    fn ipv4_mapped_loopback_is_loopback() {
        assert_classes(&[("::ffff:127.0.0.1", Loopback), ("::ffff:7f00:1", Loopback)]);
    }

    #[test]
    fn ipv4_mapped_addresses_are_classified_by_the_embedded_ipv4() {
        assert_classes(&[
            ("::ffff:0.0.0.0", Unspecified),
            ("::ffff:10.0.0.1", Private),
            ("::ffff:169.254.169.254", CloudMetadata),
            ("::ffff:100.64.0.1", SharedCgnat),
            ("::ffff:255.255.255.255", Broadcast),
            ("::ffff:8.8.8.8", Public),
            ("::fffe:ffff:ffff", Reserved),
            ("::1:0:0:0", Reserved),
        ]);
    }

    #[test]
    fn ipv4_compatible_addresses_are_classified_by_the_embedded_ipv4() {
        assert_classes(&[
            ("::0.0.0.2", Unspecified),
            ("::127.0.0.1", Loopback),
            ("::10.0.0.1", Private),
            ("::192.168.1.1", Private),
            ("::8.8.8.8", Public),
            ("::255.255.255.255", Broadcast),
        ]);
    }

    #[test]
    fn nat64_well_known_prefix_is_classified_by_the_embedded_ipv4() {
        assert_classes(&[
            ("64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", Reserved),
            ("64:ff9b::10.0.0.1", Private),
            ("64:ff9b::127.0.0.1", Loopback),
            ("64:ff9b::169.254.169.254", CloudMetadata),
            ("64:ff9b::8.8.8.8", Public),
            ("64:ff9b::1:0:0", Reserved),
        ]);
    }

    #[test]
    fn nat64_local_use_prefix_is_classified_by_the_embedded_ipv4() {
        assert_classes(&[
            ("64:ff9b:1::192.168.0.1", Private),
            ("64:ff9b:1::8.8.8.8", Public),
            ("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", Reserved),
            ("64:ff9b:1:a00:1::", Reserved),
            ("64:ff9b:2::", Reserved),
        ]);
    }

    #[test]
    fn six_to_four_addresses_are_classified_by_the_embedded_ipv4() {
        assert_classes(&[
            ("2002:a00:1::", Private),
            ("2002:7f00:1::1", Loopback),
            ("2002:a9fe:a9fe::", CloudMetadata),
            ("2002:c0a8:101:1::1", Private),
            ("2002:808:808::1", Public),
            ("2002::", Unspecified),
            ("2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Broadcast),
            ("2003::", Public),
        ]);
    }

    // --- allow-list and check ----------------------------------------------------------------

    #[test]
    fn public_addresses_are_allowed_without_an_allow_list() {
        for text in ["8.8.8.8", "2606:4700:4700::1111", "::ffff:1.1.1.1", "2002:808:808::1"] {
            assert!(is_allowed(ip(text), &[]), "{text}");
            assert_eq!(check(ip(text), &[]), Ok(()), "{text}");
        }
    }

    #[test]
    fn non_public_addresses_are_blocked_without_an_allow_list() {
        for text in ["127.0.0.1", "::1", "10.0.0.1", "169.254.169.254", "fd00:ec2::254", "::ffff:127.0.0.1", "0.0.0.0"]
        {
            assert!(!is_allowed(ip(text), &[]), "{text}");
        }
    }

    #[test]
    fn allow_listed_loopback_network_permits_loopback_only() {
        let allow = [net("127.0.0.0/8")];
        for (text, allowed) in [
            ("127.0.0.1", true),
            ("127.255.255.255", true),
            ("10.0.0.1", false),
            ("::1", false),
            ("128.0.0.1", true), // public anyway
        ] {
            assert_eq!(is_allowed(ip(text), &allow), allowed, "{text}");
        }
    }

    #[test]
    fn ipv4_mapped_loopback_matches_an_ipv4_allow_list_entry() {
        let allow = [net("127.0.0.0/8")];
        assert!(is_allowed(ip("::ffff:127.0.0.1"), &allow));
        assert!(net("127.0.0.0/8").contains(ip("::ffff:127.1.2.3")));
    }

    #[test]
    fn mapped_ipv6_allow_list_entry_matches_plain_ipv4() {
        let entry = net("::ffff:127.0.0.0/104");
        assert!(entry.contains(ip("127.0.0.1")));
        assert!(entry.contains(ip("::ffff:127.0.0.1")));
        assert!(!entry.contains(ip("10.0.0.1")));
    }

    #[test]
    fn other_ipv4_embeddings_do_not_match_an_ipv4_allow_list_entry() {
        let allow = [net("127.0.0.0/8")];
        for text in ["::127.0.0.1", "64:ff9b::127.0.0.1", "2002:7f00:1::"] {
            assert!(!is_allowed(ip(text), &allow), "{text}");
        }
    }

    #[test]
    fn ipv6_entries_and_ipv4_addresses_never_match_each_other() {
        assert!(!net("::1/128").contains(ip("127.0.0.1")));
        assert!(!net("::/0").contains(ip("127.0.0.1")));
        assert!(!net("0.0.0.0/0").contains(ip("::1")));
    }

    #[test]
    fn zero_length_prefix_matches_every_address_of_its_family() {
        assert!(net("0.0.0.0/0").contains(ip("255.255.255.255")));
        assert!(net("::/0").contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
    }

    #[test]
    fn allow_list_entries_match_first_and_last_address_only() {
        let entry = net("192.168.10.0/23");
        for (text, inside) in
            [("192.168.9.255", false), ("192.168.10.0", true), ("192.168.11.255", true), ("192.168.12.0", false)]
        {
            assert_eq!(entry.contains(ip(text)), inside, "{text}");
        }
        let entry = net("fd00:1::/32");
        assert!(entry.contains(ip("fd00:1:ffff::1")));
        assert!(!entry.contains(ip("fd00:2::")));
    }

    #[test]
    fn check_reports_the_refused_address_and_its_class() {
        let err = check(ip("10.0.0.1"), &[]).expect_err("private must be refused");
        assert_eq!(err.ip(), ip("10.0.0.1"));
        assert_eq!(err.class(), Private);
        assert_eq!(err.to_string(), "address 10.0.0.1 is private and not allowed");
    }

    #[test]
    fn check_messages_read_as_sentences_for_every_class() {
        for (text, message) in [
            ("0.0.0.0", "address 0.0.0.0 is unspecified and not allowed"),
            ("::1", "address ::1 is loopback and not allowed"),
            ("fe80::1", "address fe80::1 is link-local and not allowed"),
            ("100.64.0.1", "address 100.64.0.1 is shared address space (CGNAT) and not allowed"),
            ("169.254.169.254", "address 169.254.169.254 is a cloud metadata endpoint and not allowed"),
            ("224.0.0.1", "address 224.0.0.1 is multicast and not allowed"),
            ("255.255.255.255", "address 255.255.255.255 is broadcast and not allowed"),
            ("192.0.2.1", "address 192.0.2.1 is reserved for documentation and not allowed"),
            ("198.18.0.1", "address 198.18.0.1 is reserved for benchmarking and not allowed"),
            ("100::1", "address 100::1 is a discard-only address and not allowed"),
            ("240.0.0.1", "address 240.0.0.1 is reserved and not allowed"),
            ("::ffff:127.0.0.1", "address ::ffff:127.0.0.1 is loopback and not allowed"),
        ] {
            let err = check(ip(text), &[]).expect_err(text);
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn check_passes_allow_listed_addresses() {
        let allow = [net("127.0.0.0/8"), net("::1")];
        assert_eq!(check(ip("127.0.0.1"), &allow), Ok(()));
        assert_eq!(check(ip("::1"), &allow), Ok(()));
        assert_eq!(check(ip("::ffff:127.0.0.1"), &allow), Ok(()));
        assert!(check(ip("::2"), &allow).is_err());
    }

    #[test]
    fn address_class_display_is_a_short_label() {
        assert_eq!(Public.to_string(), "public");
        assert_eq!(CloudMetadata.to_string(), "cloud metadata");
        assert_eq!(SharedCgnat.to_string(), "shared (CGNAT)");
        assert!(Public.is_public());
        assert!(!Loopback.is_public());
    }

    // --- IpNet parsing -----------------------------------------------------------------------

    #[test]
    fn ip_net_parses_cidr_and_bare_addresses() {
        for (text, addr, prefix) in [
            ("127.0.0.0/8", "127.0.0.0", 8),
            ("::1/128", "::1", 128),
            ("10.1.2.3", "10.1.2.3", 32),
            ("::1", "::1", 128),
            ("0.0.0.0/0", "0.0.0.0", 0),
            ("::/0", "::", 0),
            ("10.0.0.0/32", "10.0.0.0", 32),
            ("fd00::/008", "fd00::", 8),
        ] {
            let parsed = net(text);
            assert_eq!((parsed.addr(), parsed.prefix()), (ip(addr), prefix), "{text}");
        }
    }

    #[test]
    fn ip_net_clears_host_bits_and_displays_the_network() {
        for (text, shown) in [
            ("10.1.2.3/8", "10.0.0.0/8"),
            ("127.0.0.1/8", "127.0.0.0/8"),
            ("2001:db8::1/32", "2001:db8::/32"),
            ("192.168.1.1", "192.168.1.1/32"),
            ("::1", "::1/128"),
            ("255.255.255.255/0", "0.0.0.0/0"),
        ] {
            assert_eq!(net(text).to_string(), shown, "{text}");
            assert_eq!(net(shown).to_string(), shown, "round trip of {shown}");
        }
    }

    #[test]
    fn ip_net_rejects_prefixes_longer_than_the_address() {
        for (text, prefix, max) in
            [("10.0.0.0/33", 33, 32), ("10.0.0.0/255", 255, 32), ("10.0.0.0/999", 999, 32), ("::/129", 129, 128)]
        {
            assert_eq!(text.parse::<IpNet>(), Err(IpNetError::PrefixTooLong { prefix, max }), "{text}");
        }
        assert_eq!(IpNet::new(ip("10.0.0.0"), 33), Err(IpNetError::PrefixTooLong { prefix: 33, max: 32 }));
        assert_eq!(IpNet::new(ip("::"), 129), Err(IpNetError::PrefixTooLong { prefix: 129, max: 128 }));
    }

    #[test]
    fn ip_net_rejects_garbage() {
        let invalid_address =
            ["", "/8", "garbage", "garbage/8", "300.0.0.0/8", "0177.0.0.1/8", "127.1/8", "[::1]/128", " 10.0.0.0/8"];
        for text in invalid_address {
            assert!(matches!(text.parse::<IpNet>(), Err(IpNetError::InvalidAddress(_))), "{text:?}");
        }
        let invalid_prefix =
            ["10.0.0.0/", "10.0.0.0/+8", "10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0.0/ 8", "10.0.0.0/abc", "10.0.0.0/1000"];
        for text in invalid_prefix {
            assert!(matches!(text.parse::<IpNet>(), Err(IpNetError::InvalidPrefix(_))), "{text:?}");
        }
    }

    #[test]
    fn ip_net_errors_explain_themselves() {
        assert_eq!(IpNetError::InvalidAddress("x".into()).to_string(), "invalid network address \"x\"");
        assert_eq!(IpNetError::InvalidPrefix("+8".into()).to_string(), "invalid prefix length \"+8\"");
        assert_eq!(
            IpNetError::PrefixTooLong { prefix: 33, max: 32 }.to_string(),
            "prefix length /33 is longer than /32"
        );
    }

    // --- literal hosts -----------------------------------------------------------------------

    #[test]
    fn dotted_decimal_literals_parse() {
        assert_literals(&[
            ("127.0.0.1", "127.0.0.1"),
            ("8.8.8.8", "8.8.8.8"),
            ("0.0.0.0", "0.0.0.0"),
            ("255.255.255.255", "255.255.255.255"),
        ]);
    }

    #[test]
    fn bracketed_and_bare_ipv6_literals_parse() {
        assert_literals(&[
            ("[::1]", "::1"),
            ("::1", "::1"),
            ("[::]", "::"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
            ("::ffff:7f00:1", "::ffff:127.0.0.1"),
            ("[0:0:0:0:0:0:0:1]", "::1"),
            ("[FE80::1]", "fe80::1"),
        ]);
    }

    #[test]
    fn ipv6_zone_identifiers_are_dropped() {
        assert_literals(&[("[fe80::1%25eth0]", "fe80::1"), ("fe80::1%eth0", "fe80::1"), ("[fe80::1%eth0]", "fe80::1")]);
    }

    #[test]
    fn bracketed_ipv4_literals_parse() {
        assert_literals(&[("[127.0.0.1]", "127.0.0.1"), ("[0x7f.1]", "127.0.0.1")]);
    }

    #[test]
    fn single_integer_literals_parse() {
        assert_literals(&[
            ("2130706433", "127.0.0.1"),
            ("3232235521", "192.168.0.1"),
            ("2852039166", "169.254.169.254"),
            ("0", "0.0.0.0"),
            ("1", "0.0.0.1"),
            ("4294967295", "255.255.255.255"),
        ]);
    }

    #[test]
    fn hexadecimal_literals_parse() {
        assert_literals(&[
            ("0x7f000001", "127.0.0.1"),
            ("0X7F000001", "127.0.0.1"),
            ("0x7f.1", "127.0.0.1"),
            ("0x7f.0x0.0x0.0x1", "127.0.0.1"),
            ("0xA9FEA9FE", "169.254.169.254"),
            ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
            ("0x0000000000000000007f000001", "127.0.0.1"),
            ("0x", "0.0.0.0"),
            ("0x.0x.0x.0x", "0.0.0.0"),
            ("0xffffffff", "255.255.255.255"),
        ]);
    }

    #[test]
    fn octal_literals_parse() {
        assert_literals(&[
            ("0177.0.0.1", "127.0.0.1"),
            ("017700000001", "127.0.0.1"),
            ("0177.1", "127.0.0.1"),
            ("00000177.0.0.01", "127.0.0.1"),
            ("0377.0377.0377.0377", "255.255.255.255"),
            ("00", "0.0.0.0"),
            ("010.0.0.1", "8.0.0.1"),
        ]);
    }

    #[test]
    fn short_form_literals_parse() {
        assert_literals(&[
            ("127.1", "127.0.0.1"),
            ("127.0.1", "127.0.0.1"),
            ("10.1", "10.0.0.1"),
            ("192.168.1", "192.168.0.1"),
            ("192.168.257", "192.168.1.1"),
            ("127.65535", "127.0.255.255"),
            ("127.16777215", "127.255.255.255"),
            ("169.254.43518", "169.254.169.254"),
        ]);
    }

    #[test]
    fn mixed_radix_literals_parse() {
        assert_literals(&[
            ("0x7f.0.00.1", "127.0.0.1"),
            ("0177.0x0.1", "127.0.0.1"),
            ("127.0.0x1", "127.0.0.1"),
            ("0xa9.0376.0xa9fe", "169.254.169.254"),
            ("10.0x0.0377", "10.0.0.255"),
            ("0xc0.0250.257", "192.168.1.1"),
        ]);
    }

    #[test]
    fn a_single_trailing_dot_is_ignored() {
        assert_literals(&[("127.0.0.1.", "127.0.0.1"), ("2130706433.", "127.0.0.1"), ("0x7f.1.", "127.0.0.1")]);
        assert_not_literals(&["127.0.0.1..", "."]);
    }

    #[test]
    fn full_width_and_compatibility_digits_are_folded_like_idna() {
        assert_literals(&[
            ("１２７．０．０．１", "127.0.0.1"),
            ("127。0。0。1", "127.0.0.1"),
            ("127｡0｡0｡1", "127.0.0.1"),
            ("０ｘ７ｆ．１", "127.0.0.1"),
            ("０Ｘ７Ｆ０００００１", "127.0.0.1"),
            ("𝟏𝟐𝟕.0.0.1", "127.0.0.1"),
            ("𝟷𝟸𝟽.𝟶.𝟶.𝟷", "127.0.0.1"),
            ("¹²⁷.⁰.⁰.¹", "127.0.0.1"),
            ("₁₂₇.₀.₀.₁", "127.0.0.1"),
            ("①⑥⑨.②⑤④.①⑥⑨.②⑤④", "169.254.169.254"),
            ("127.0.0.1\u{00AD}", "127.0.0.1"),
            ("127.0\u{200B}.0.1", "127.0.0.1"),
        ]);
    }

    #[test]
    fn percent_encoded_literals_are_decoded() {
        assert_literals(&[
            ("%31%32%37.0.0.1", "127.0.0.1"),
            ("127%2E0%2e0%2E1", "127.0.0.1"),
            ("%EF%BC%91%EF%BC%92%EF%BC%97.0.0.1", "127.0.0.1"),
            ("0x7f%2e1", "127.0.0.1"),
        ]);
        assert_not_literals(&["%zz127.0.0.1", "127.0.0.%", "%ff.0.0.1"]);
    }

    #[test]
    fn tabs_and_newlines_are_removed_like_the_url_standard() {
        assert_literals(&[("127.0.\n0.1", "127.0.0.1"), ("1\t27.0.0.1", "127.0.0.1"), ("[::\r1]", "::1")]);
    }

    #[test]
    fn inet_aton_ignores_text_after_whitespace() {
        assert_literals(&[
            ("127.0.0.1 evil.example", "127.0.0.1"),
            ("127.1 ", "127.0.0.1"),
            ("0x7f.1\x0bjunk", "127.0.0.1"),
            ("  10.1", "10.0.0.1"),
        ]);
    }

    #[test]
    fn out_of_range_or_malformed_numbers_are_not_literals() {
        assert_not_literals(&[
            "256.0.0.1",
            "127.256.0.1",
            "127.0.0.256",
            "1.16777216",
            "1.2.65536",
            "4294967296",
            "0x100000000",
            "99999999999999999999999999",
            "08.0.0.1",
            "0189",
            "0x7g.1",
            "1.2.3.4.5",
            "1..2.3",
            ".1.2.3",
            "1.2.3.-4",
            "+1.2.3.4",
            "1.2.3.4x",
            "",
            " ",
        ]);
    }

    #[test]
    fn ordinary_hostnames_are_not_literals() {
        assert_not_literals(&[
            "example.com",
            "localhost",
            "localhost.",
            "1.example.com",
            "example.123",
            "0x7f.example",
            "deadbeef",
            "cafe.babe",
            "1e3",
            "xn--80ak6aa92e.com",
            "bücher.example",
            "١٢٧.0.0.1",
            "metadata.google.internal",
        ]);
    }

    #[test]
    fn malformed_ipv6_is_not_a_literal() {
        assert_not_literals(&[
            "[::1",
            "[::1]x",
            "[]",
            ":::",
            "::g",
            "1:2:3:4:5:6:7:8:9",
            "127.0.0.1:80",
            "[1.2.3.4.5]",
        ]);
    }

    #[test]
    fn every_spelling_of_loopback_is_blocked() {
        for host in [
            "127.0.0.1",
            "2130706433",
            "0x7f000001",
            "0x7f.1",
            "0177.0.0.1",
            "017700000001",
            "127.1",
            "127.0.1",
            "0x7f.0.00.1",
            "[::1]",
            "[::ffff:127.0.0.1]",
            "[::ffff:7f00:1]",
            "[64:ff9b::7f00:1]",
            "[2002:7f00:1::]",
            "１２７．０．０．１",
            "%31%32%37.0.0.1",
        ] {
            let addr = parse_literal_host(host).unwrap_or_else(|| panic!("{host:?} should be a literal"));
            assert_eq!(classify(addr), Loopback, "{host:?}");
            assert!(check(addr, &[]).is_err(), "{host:?}");
        }
    }

    #[test]
    fn every_spelling_of_the_metadata_address_is_cloud_metadata() {
        for host in [
            "169.254.169.254",
            "2852039166",
            "0xa9fea9fe",
            "0251.0376.0251.0376",
            "169.254.43518",
            "[::ffff:a9fe:a9fe]",
            "[64:ff9b::a9fe:a9fe]",
        ] {
            let addr = parse_literal_host(host).unwrap_or_else(|| panic!("{host:?} should be a literal"));
            assert_eq!(classify(addr), CloudMetadata, "{host:?}");
        }
    }
}
