//! Header names: compact forms expanded (RFC 3261 section 7.3.3 and later RFCs), known names
//! written in their usual capitalization, so a lookup never depends on how a peer spelled them.

/// Every name the stack knows, as it writes them. Lookups are case-insensitive.
const KNOWN: &[&str] = &[
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Max-Forwards",
    "Contact",
    "Route",
    "Record-Route",
    "Content-Type",
    "Content-Length",
    "Content-Encoding",
    "Content-Disposition",
    "Content-Language",
    "Expires",
    "Min-Expires",
    "WWW-Authenticate",
    "Authorization",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Authentication-Info",
    "Allow",
    "Allow-Events",
    "Supported",
    "Require",
    "Proxy-Require",
    "Unsupported",
    "Subject",
    "User-Agent",
    "Server",
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Date",
    "Timestamp",
    "Retry-After",
    "Event",
    "Subscription-State",
    "Refer-To",
    "Referred-By",
    "Session-Expires",
    "Min-SE",
    "Warning",
    "Reason",
    "Organization",
    "Priority",
    "Alert-Info",
    "Call-Info",
    "Error-Info",
    "Reply-To",
    "In-Reply-To",
    "MIME-Version",
    "P-Asserted-Identity",
];

/// Compact forms and their full names.
const COMPACT: &[(u8, &str)] = &[
    (b'i', "Call-ID"),
    (b'm', "Contact"),
    (b'v', "Via"),
    (b'f', "From"),
    (b't', "To"),
    (b'l', "Content-Length"),
    (b'c', "Content-Type"),
    (b'k', "Supported"),
    (b's', "Subject"),
    (b'e', "Content-Encoding"),
    (b'o', "Event"),
    (b'r', "Refer-To"),
    (b'b', "Referred-By"),
    (b'u', "Allow-Events"),
    (b'x', "Session-Expires"),
];

/// The canonical spelling of a header name: the full name of a compact form, the usual
/// capitalization of a known name, None for a name the stack does not know.
pub fn canonical_name(name: &str) -> Option<&'static str> {
    if let [b] = name.as_bytes() {
        let b = b.to_ascii_lowercase();
        return COMPACT.iter().find(|(c, _)| *c == b).map(|(_, n)| *n);
    }
    KNOWN.iter().copied().find(|k| k.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_case() {
        assert_eq!(canonical_name("i"), Some("Call-ID"));
        assert_eq!(canonical_name("V"), Some("Via"));
        assert_eq!(canonical_name("call-id"), Some("Call-ID"));
        assert_eq!(canonical_name("cseq"), Some("CSeq"));
        assert_eq!(canonical_name("X-Custom"), None);
        assert_eq!(canonical_name("q"), None);
    }
}
