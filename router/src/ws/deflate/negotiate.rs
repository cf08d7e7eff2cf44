//! The permessage-deflate negotiation, server side (RFC 7692 §5 and §7.1).
//!
//! The client lists offers in `Sec-WebSocket-Extensions` (one or more header lines, offers
//! separated by commas, parameters by semicolons). The first `permessage-deflate` offer
//! whose parameters are all valid is accepted; a malformed one (unknown or repeated
//! parameter, missing or out-of-range value) is declined and the next one tried, so a valid
//! offer never fails the handshake. Every valid offer is accepted, including 256-byte
//! windows (`server_max_window_bits=8`), which the compressor honours with run-length
//! matches only.
//!
//! What the response says (§7.1.1, §7.1.2):
//! - `server_no_context_takeover` when the client asked, or when we compress without context
//!   (a shared compressor);
//! - `client_no_context_takeover` when the client said it, or when we inflate without context
//!   (a shared decompressor; a server may ask even if the offer did not say it);
//! - `server_max_window_bits=M` only when the client asked for at most N: M is N or our
//!   smaller window (we may always use a smaller window without saying so);
//! - `client_max_window_bits=C` only when the client offered the parameter (the response must
//!   not contain it otherwise): C is its value (15 if none) or our smaller window.

use http::HeaderValue;

/// What the server wants, from the route's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    /// Keep our compressor's context between messages (a dedicated compressor).
    pub(crate) server_context_takeover: bool,
    /// The largest window our compressor uses, 9..=15.
    pub(crate) server_window_bits: u8,
    /// Keep our decompressor's context between messages (a dedicated decompressor).
    pub(crate) client_context_takeover: bool,
    /// The largest window we want the client's compressor to use, 9..=15.
    pub(crate) client_window_bits: u8,
}

/// The parameters agreed for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Agreed {
    /// We reset our compressor after each message.
    pub(crate) server_no_context_takeover: bool,
    /// The client resets its compressor after each message.
    pub(crate) client_no_context_takeover: bool,
    /// Our compressor's window, 8..=15.
    pub(crate) server_max_window_bits: u8,
    /// The client's compressor's window, 8..=15 (15 when not limited).
    pub(crate) client_max_window_bits: u8,
    /// Whether the response names `server_max_window_bits` (the offer did).
    say_server_window: bool,
    /// Whether the response names `client_max_window_bits` (the offer did).
    say_client_window: bool,
}

impl Agreed {
    /// The `Sec-WebSocket-Extensions` value of the `101` response.
    pub(crate) fn header_value(&self) -> HeaderValue {
        let mut value = String::from("permessage-deflate");
        if self.server_no_context_takeover {
            value.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            value.push_str("; client_no_context_takeover");
        }
        if self.say_server_window {
            value.push_str(&format!(
                "; server_max_window_bits={}",
                self.server_max_window_bits
            ));
        }
        if self.say_client_window {
            value.push_str(&format!(
                "; client_max_window_bits={}",
                self.client_max_window_bits
            ));
        }
        HeaderValue::try_from(value).expect("ASCII without control characters")
    }
}

/// The first acceptable `permessage-deflate` offer among `header_values`, in order, and what
/// is agreed for it; `None` if there is none.
pub(crate) fn negotiate<'a>(
    header_values: impl IntoIterator<Item = &'a HeaderValue>,
    policy: &Policy,
) -> Option<Agreed> {
    header_values.into_iter().find_map(|value| {
        let value = value.to_str().ok()?;
        split_outside_quotes(value, ',').find_map(|offer| accept(offer, policy))
    })
}

/// The parameters of one `permessage-deflate` offer.
#[derive(Default)]
struct Offer {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: the parameter without a value.
    client_max_window_bits: Option<Option<u8>>,
}

/// Accepts one offer (an element of the list), or `None` if it is not a valid
/// `permessage-deflate` offer.
fn accept(offer: &str, policy: &Policy) -> Option<Agreed> {
    let mut parts = split_outside_quotes(offer, ';');
    let name = parts.next()?.trim_matches(is_ows);
    if !name.eq_ignore_ascii_case("permessage-deflate") {
        return None;
    }
    let mut parsed = Offer::default();
    for param in parts {
        let (key, value) = match param.split_once('=') {
            Some((key, value)) => (
                key.trim_matches(is_ows),
                Some(unquote(value.trim_matches(is_ows))?),
            ),
            None => (param.trim_matches(is_ows), None),
        };
        let key = key.to_ascii_lowercase();
        match (key.as_str(), value) {
            ("server_no_context_takeover", None) if !parsed.server_no_context_takeover => {
                parsed.server_no_context_takeover = true;
            }
            ("client_no_context_takeover", None) if !parsed.client_no_context_takeover => {
                parsed.client_no_context_takeover = true;
            }
            ("server_max_window_bits", Some(bits)) if parsed.server_max_window_bits.is_none() => {
                parsed.server_max_window_bits = Some(window_bits(bits)?);
            }
            ("client_max_window_bits", bits) if parsed.client_max_window_bits.is_none() => {
                parsed.client_max_window_bits = Some(match bits {
                    Some(bits) => Some(window_bits(bits)?),
                    None => None,
                });
            }
            // Unknown, repeated, or with a value where none belongs (or none where one must be).
            _ => return None,
        }
    }
    let server_max_window_bits = parsed
        .server_max_window_bits
        .map_or(policy.server_window_bits, |n| {
            n.min(policy.server_window_bits)
        });
    let client_max_window_bits = match parsed.client_max_window_bits {
        Some(offered) => offered.unwrap_or(15).min(policy.client_window_bits),
        None => 15,
    };
    Some(Agreed {
        server_no_context_takeover: parsed.server_no_context_takeover
            || !policy.server_context_takeover,
        client_no_context_takeover: parsed.client_no_context_takeover
            || !policy.client_context_takeover,
        server_max_window_bits,
        client_max_window_bits,
        say_server_window: parsed.server_max_window_bits.is_some(),
        say_client_window: parsed.client_max_window_bits.is_some(),
    })
}

/// A window-bits value: 8..=15, digits only, no leading zero.
fn window_bits(value: &str) -> Option<u8> {
    if value.is_empty() || value.starts_with('0') || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok().filter(|bits| (8..=15).contains(bits))
}

/// A token, or the content of a quoted-string (with `\` escapes); `None` if malformed.
fn unquote(value: &str) -> Option<&str> {
    match value.strip_prefix('"') {
        // Window sizes are digits: a quoted value with escapes is not one we accept anyway.
        Some(rest) => rest
            .strip_suffix('"')
            .filter(|inner| !inner.contains(['"', '\\'])),
        None => (!value.is_empty() && !value.contains(['"', '\\'])).then_some(value),
    }
}

/// Splits `text` at `separator` where it is not inside a quoted-string. An unterminated quote
/// makes the last piece run to the end (and then fail to parse).
fn split_outside_quotes(text: &str, separator: char) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        let mut quoted = false;
        let mut escaped = false;
        for (i, c) in current.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                c if c == separator && !quoted => {
                    rest = Some(&current[i + 1..]);
                    return Some(&current[..i]);
                }
                _ => {}
            }
        }
        rest = None;
        Some(current)
    })
}

/// Optional whitespace (RFC 7230 OWS).
fn is_ows(c: char) -> bool {
    c == ' ' || c == '\t'
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHARED: Policy = Policy {
        server_context_takeover: false,
        server_window_bits: 15,
        client_context_takeover: false,
        client_window_bits: 15,
    };

    const DEDICATED: Policy = Policy {
        server_context_takeover: true,
        server_window_bits: 15,
        client_context_takeover: true,
        client_window_bits: 15,
    };

    fn answer(policy: &Policy, offers: &[&str]) -> Option<String> {
        let values: Vec<HeaderValue> = offers
            .iter()
            .map(|o| HeaderValue::from_bytes(o.as_bytes()).unwrap())
            .collect();
        negotiate(&values, policy).map(|a| a.header_value().to_str().unwrap().to_owned())
    }

    #[test]
    fn the_plain_offer() {
        assert_eq!(
            answer(&SHARED, &["permessage-deflate"]).as_deref(),
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        );
        assert_eq!(
            answer(&DEDICATED, &["permessage-deflate"]).as_deref(),
            Some("permessage-deflate")
        );
    }

    #[test]
    fn browsers_and_python_websockets() {
        // Chrome and Firefox.
        assert_eq!(
            answer(&DEDICATED, &["permessage-deflate; client_max_window_bits"]).as_deref(),
            Some("permessage-deflate; client_max_window_bits=15")
        );
        // Python websockets' default client offer.
        let values = [HeaderValue::from_static(
            "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
        )];
        let agreed = negotiate(&values, &SHARED).unwrap();
        assert_eq!(
            (agreed.server_max_window_bits, agreed.client_max_window_bits),
            (12, 12)
        );
        assert_eq!(
            agreed.header_value(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=12; client_max_window_bits=12"
        );
    }

    #[test]
    fn every_offer_autobahn_makes_is_accepted() {
        let base = "permessage-deflate; client_no_context_takeover; client_max_window_bits";
        for (offer, server_bits) in [
            (base.to_owned(), 15),
            (format!("{base}; server_no_context_takeover"), 15),
            (format!("{base}; server_max_window_bits=8"), 8),
            (format!("{base}; server_max_window_bits=15"), 15),
            (
                format!("{base}; server_no_context_takeover; server_max_window_bits=8"),
                8,
            ),
            (
                format!("{base}; server_no_context_takeover; server_max_window_bits=15"),
                15,
            ),
        ] {
            let values = [HeaderValue::try_from(offer.as_str()).unwrap()];
            let agreed = negotiate(&values, &DEDICATED).unwrap_or_else(|| panic!("{offer}"));
            assert_eq!(agreed.server_max_window_bits, server_bits, "{offer}");
            assert!(agreed.client_no_context_takeover);
        }
        // Three offers in one header: the first wins.
        let list = format!(
            "{base}; server_no_context_takeover; server_max_window_bits=8, \
             {base}; server_no_context_takeover, {base}"
        );
        let values = [HeaderValue::try_from(list.as_str()).unwrap()];
        assert_eq!(
            negotiate(&values, &DEDICATED)
                .unwrap()
                .server_max_window_bits,
            8
        );
    }

    #[test]
    fn our_windows_limit_both_directions() {
        let small = Policy {
            server_context_takeover: true,
            server_window_bits: 10,
            client_context_takeover: true,
            client_window_bits: 9,
        };
        assert_eq!(
            answer(
                &small,
                &["permessage-deflate; server_max_window_bits=12; client_max_window_bits"]
            )
            .as_deref(),
            Some("permessage-deflate; server_max_window_bits=10; client_max_window_bits=9")
        );
        // Not offered: not said, though our compressor still uses its smaller window.
        let values = [HeaderValue::from_static("permessage-deflate")];
        let agreed = negotiate(&values, &small).unwrap();
        assert_eq!(
            (agreed.server_max_window_bits, agreed.client_max_window_bits),
            (10, 15)
        );
        assert_eq!(agreed.header_value(), "permessage-deflate");
    }

    #[test]
    fn spelling_variants() {
        assert_eq!(
            answer(
                &DEDICATED,
                &["PerMessage-Deflate ;\tServer_Max_Window_Bits = \"10\" "]
            )
            .as_deref(),
            Some("permessage-deflate; server_max_window_bits=10")
        );
        // Several header lines; other extensions ignored.
        assert_eq!(
            answer(
                &DEDICATED,
                &["x-webkit-deflate-frame", "foo, permessage-deflate"]
            )
            .as_deref(),
            Some("permessage-deflate")
        );
    }

    #[test]
    fn malformed_offers_are_declined_and_the_next_one_taken() {
        for bad in [
            "permessage-deflate; unknown",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=08",
            "permessage-deflate; server_max_window_bits=abc",
            "permessage-deflate; server_max_window_bits=",
            "permessage-deflate; client_max_window_bits=1a",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
            "permessage-deflate; server_max_window_bits=\"10",
            "permessage-deflate; server_max_window_bits=\"1,0\"",
        ] {
            assert_eq!(answer(&DEDICATED, &[bad]), None, "{bad}");
            if bad.matches('"').count() % 2 == 1 {
                // An unterminated quote runs to the end of the header: nothing after it counts.
                continue;
            }
            let list = format!("{bad}, permessage-deflate; client_no_context_takeover");
            assert_eq!(
                answer(&DEDICATED, &[&list]).as_deref(),
                Some("permessage-deflate; client_no_context_takeover"),
                "{bad}"
            );
        }
        assert_eq!(answer(&DEDICATED, &["foo; bar=1"]), None);
        assert_eq!(answer(&DEDICATED, &[]), None);
        let non_ascii = [HeaderValue::from_bytes(b"permessage-deflate; \xff").unwrap()];
        assert_eq!(negotiate(&non_ascii, &DEDICATED), None);
    }
}
