//! The permessage-deflate negotiation, server side (RFC 7692 §5 and §7.1).
//!
//! The client lists its offers in `Sec-WebSocket-Extensions`: one or more header values, each
//! a comma-separated list of extensions, each a name and `;`-separated parameters, with an
//! optional value as a token or a quoted-string (RFC 6455 §9.1). We take the first
//! `permessage-deflate` offer that is valid (RFC 7692 §5.1); other extensions are ignored.
//!
//! An offer is valid when each of its parameters is one of the four of RFC 7692 §7.1, at most
//! once, with a value where one belongs: none for the two `*_no_context_takeover` ones
//! (§7.1.1), required for `server_max_window_bits` and optional for `client_max_window_bits`
//! (§7.1.2), and then a number 8..=15 without leading zeros (a quoted value is unescaped
//! first, RFC 6455 §9.1). A malformed offer is declined and the next one tried; it never fails
//! the handshake. Every valid offer is accepted, a 256-byte window (`=8`) included.
//!
//! The response (§7.1.1, §7.1.2) names:
//! - `server_no_context_takeover` when the offer did, or when our compressor keeps no context;
//! - `client_no_context_takeover` when the offer did, or when our decompressor keeps no context
//!   (a server may add it to any offer, §7.1.1.2);
//! - `server_max_window_bits=M` only when the offer limited our window to N: M is N, or our own
//!   window when smaller (without the parameter we may still use a smaller window, §7.1.2.1);
//! - `client_max_window_bits=C` only when the offer carried the parameter (it must not be sent
//!   otherwise, §7.1.2.2): C is its value (15 without one), or our wish when smaller.

use http::HeaderValue;

/// The extension's name (RFC 7692 §7).
const EXTENSION: &str = "permessage-deflate";

/// The largest LZ77 window, 2^15 bytes: what a window without a limit is (RFC 7692 §7.1.2).
const MAX_WINDOW_BITS: u8 = 15;

/// What the server wants, from the route's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    /// Keep our compressor's context between messages (a dedicated compressor). When false we
    /// reset it after every message and always answer `server_no_context_takeover`.
    pub(crate) server_context_takeover: bool,
    /// The largest window our compressor uses, 9..=15.
    pub(crate) server_window_bits: u8,
    /// Keep our decompressor's context between messages (a dedicated decompressor). When false
    /// we always answer `client_no_context_takeover` (a server may include it even if the offer
    /// did not, RFC 7692 §7.1.1.2).
    pub(crate) client_context_takeover: bool,
    /// The largest window we want the client's compressor to use, 9..=15; only requestable
    /// when the offer carries `client_max_window_bits`.
    pub(crate) client_window_bits: u8,
}

/// The parameters agreed for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Agreed {
    /// We reset our compressor after each message.
    pub(crate) server_no_context_takeover: bool,
    /// The client resets its compressor after each message (we may reset our decompressor).
    pub(crate) client_no_context_takeover: bool,
    /// Our compressor's window, 8..=15.
    pub(crate) server_max_window_bits: u8,
    /// The client's compressor's window, 8..=15 (15 when not limited).
    pub(crate) client_max_window_bits: u8,
    /// The response names `server_max_window_bits`: the offer did.
    answer_server_window: bool,
    /// The response names `client_max_window_bits`: the offer did.
    answer_client_window: bool,
}

impl Agreed {
    /// What accepting `offer` under `policy` agrees to (RFC 7692 §7.1).
    fn accept(offer: &Offer, policy: &Policy) -> Self {
        debug_assert!((9..=MAX_WINDOW_BITS).contains(&policy.server_window_bits));
        debug_assert!((9..=MAX_WINDOW_BITS).contains(&policy.client_window_bits));
        Agreed {
            server_no_context_takeover: offer.server_no_context_takeover
                || !policy.server_context_takeover,
            client_no_context_takeover: offer.client_no_context_takeover
                || !policy.client_context_takeover,
            server_max_window_bits: offer
                .server_max_window_bits
                .map_or(policy.server_window_bits, |bits| {
                    bits.min(policy.server_window_bits)
                }),
            client_max_window_bits: offer
                .client_max_window_bits
                .map_or(MAX_WINDOW_BITS, |bits| bits.min(policy.client_window_bits)),
            answer_server_window: offer.server_max_window_bits.is_some(),
            answer_client_window: offer.client_max_window_bits.is_some(),
        }
    }

    /// The `Sec-WebSocket-Extensions` response value, e.g.
    /// `permessage-deflate; server_no_context_takeover; client_max_window_bits=12`.
    pub(crate) fn header_value(&self) -> HeaderValue {
        let mut value = String::from(EXTENSION);
        if self.server_no_context_takeover {
            value.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            value.push_str("; client_no_context_takeover");
        }
        if self.answer_server_window {
            value.push_str("; server_max_window_bits=");
            value.push_str(&self.server_max_window_bits.to_string());
        }
        if self.answer_client_window {
            value.push_str("; client_max_window_bits=");
            value.push_str(&self.client_max_window_bits.to_string());
        }
        HeaderValue::try_from(value).expect("bug: parameter names and numbers are visible ASCII")
    }
}

/// Picks the first acceptable `permessage-deflate` offer among all `Sec-WebSocket-Extensions`
/// header values (in order: values in order, offers in each value in order); None if there is
/// none. An offer that is malformed in any way is declined (skipped), never an error.
pub(crate) fn negotiate<'a>(
    header_values: impl IntoIterator<Item = &'a HeaderValue>,
    policy: &Policy,
) -> Option<Agreed> {
    header_values
        .into_iter()
        // A value with anything but visible ASCII, space and tab is no list: nothing in it.
        .filter_map(|value| value.to_str().ok())
        .flat_map(elements)
        .find_map(Offer::parse)
        .map(|offer| Agreed::accept(&offer, policy))
}

/// The parameters a server's `Sec-WebSocket-Extensions` answer agrees to, as a client reads
/// them; `None` unless the answer is exactly one valid `permessage-deflate` element.
pub(crate) fn parse_answer(value: &HeaderValue) -> Option<Answer> {
    let mut elements = elements(value.to_str().ok()?);
    let offer = Offer::parse(elements.next()?)?;
    if elements.next().is_some() {
        return None;
    }
    Some(Answer {
        server_no_context_takeover: offer.server_no_context_takeover,
        client_no_context_takeover: offer.client_no_context_takeover,
        server_max_window_bits: offer.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
        client_max_window_bits: offer.client_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
    })
}

/// What a server agreed to, from the client's side (RFC 7692 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Answer {
    /// The server resets its compressor after each message: the client may reset its
    /// decompressor.
    pub(crate) server_no_context_takeover: bool,
    /// The client must reset its compressor after each message.
    pub(crate) client_no_context_takeover: bool,
    /// The server's compressor's window (15 when not named).
    pub(crate) server_max_window_bits: u8,
    /// The client's compressor's window (15 when not named).
    pub(crate) client_max_window_bits: u8,
}

/// The elements of a comma-separated list: the text between commas that are not inside a
/// quoted-string. An unterminated quoted-string runs to the end of the value, so it swallows
/// whatever follows it (and its element then fails to parse).
fn elements(list: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(list);
    std::iter::from_fn(move || {
        let text = rest?;
        match next_separator(text) {
            Some(comma) => {
                rest = Some(&text[comma + 1..]);
                Some(&text[..comma])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

/// Where the first `,` outside a quoted-string is in `text`, if anywhere.
fn next_separator(text: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, byte) in text.bytes().enumerate() {
        match byte {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b',' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// The parameters of one valid `permessage-deflate` offer.
#[derive(Debug, Default)]
struct Offer {
    /// `server_no_context_takeover` was given.
    server_no_context_takeover: bool,
    /// `client_no_context_takeover` was given.
    client_no_context_takeover: bool,
    /// `server_max_window_bits`'s value, if given.
    server_max_window_bits: Option<u8>,
    /// `client_max_window_bits`'s value (15 when given without one), if given.
    client_max_window_bits: Option<u8>,
}

impl Offer {
    /// One list element as a `permessage-deflate` offer; `None` if it names another extension,
    /// is empty, or is malformed in any way (then it is declined).
    fn parse(element: &str) -> Option<Offer> {
        let mut cursor = Cursor(element);
        cursor.skip_whitespace();
        if !cursor.token()?.eq_ignore_ascii_case(EXTENSION) {
            return None;
        }
        let mut offer = Offer::default();
        loop {
            cursor.skip_whitespace();
            if cursor.0.is_empty() {
                return Some(offer);
            }
            if !cursor.eat(b';') {
                return None;
            }
            cursor.skip_whitespace();
            let name = cursor.token()?;
            cursor.skip_whitespace();
            let value = if cursor.eat(b'=') {
                cursor.skip_whitespace();
                Some(cursor.value()?)
            } else {
                None
            };
            offer.add(Param::named(name)?, value)?;
        }
    }

    /// Records one parameter; `None` if it is repeated, has a value where none is allowed,
    /// lacks one where it is required, or has a value that is not a window size.
    fn add(&mut self, param: Param, value: Option<Value<'_>>) -> Option<()> {
        let repeated = match (param, value) {
            (Param::ServerNoContextTakeover, None) => {
                std::mem::replace(&mut self.server_no_context_takeover, true)
            }
            (Param::ClientNoContextTakeover, None) => {
                std::mem::replace(&mut self.client_no_context_takeover, true)
            }
            (Param::ServerMaxWindowBits, Some(value)) => self
                .server_max_window_bits
                .replace(value.window_bits()?)
                .is_some(),
            (Param::ClientMaxWindowBits, value) => {
                let bits = match value {
                    Some(value) => value.window_bits()?,
                    None => MAX_WINDOW_BITS,
                };
                self.client_max_window_bits.replace(bits).is_some()
            }
            (Param::ServerNoContextTakeover | Param::ClientNoContextTakeover, Some(_))
            | (Param::ServerMaxWindowBits, None) => return None,
        };
        (!repeated).then_some(())
    }
}

/// A parameter of `permessage-deflate` (RFC 7692 §7.1).
#[derive(Debug, Clone, Copy)]
enum Param {
    /// `server_no_context_takeover` (§7.1.1.1).
    ServerNoContextTakeover,
    /// `client_no_context_takeover` (§7.1.1.2).
    ClientNoContextTakeover,
    /// `server_max_window_bits` (§7.1.2.1).
    ServerMaxWindowBits,
    /// `client_max_window_bits` (§7.1.2.2).
    ClientMaxWindowBits,
}

impl Param {
    /// The parameter called `name` (in any case); `None` for an unknown one.
    fn named(name: &str) -> Option<Param> {
        [
            ("server_no_context_takeover", Param::ServerNoContextTakeover),
            ("client_no_context_takeover", Param::ClientNoContextTakeover),
            ("server_max_window_bits", Param::ServerMaxWindowBits),
            ("client_max_window_bits", Param::ClientMaxWindowBits),
        ]
        .into_iter()
        .find_map(|(known, param)| name.eq_ignore_ascii_case(known).then_some(param))
    }
}

/// A parameter's value as written.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    /// A token.
    Token(&'a str),
    /// The inside of a quoted-string, still escaped.
    Quoted(&'a str),
}

impl Value<'_> {
    /// The value as a window size: 8..=15 in decimal without leading zeros (RFC 7692 §7.1.2),
    /// after unescaping a quoted-string (RFC 6455 §9.1).
    fn window_bits(self) -> Option<u8> {
        match self {
            Value::Token(token) => window_bits(token.bytes()),
            Value::Quoted(inner) => {
                let mut bytes = inner.bytes();
                window_bits(std::iter::from_fn(move || match bytes.next()? {
                    b'\\' => bytes.next(),
                    byte => Some(byte),
                }))
            }
        }
    }
}

/// Reads `1*DIGIT` without a leading zero as a number 8..=15; `None` for anything else.
fn window_bits(digits: impl Iterator<Item = u8>) -> Option<u8> {
    let mut bits: u8 = 0;
    for (i, digit) in digits.enumerate() {
        // Two digits at most, so the number fits.
        if !digit.is_ascii_digit() || (i == 0 && digit == b'0') || i == 2 {
            return None;
        }
        bits = bits * 10 + (digit - b'0');
    }
    (8..=MAX_WINDOW_BITS).contains(&bits).then_some(bits)
}

/// A position in one list element, with what is left to read.
#[derive(Debug)]
struct Cursor<'a>(&'a str);

impl<'a> Cursor<'a> {
    /// Skips optional whitespace: spaces and tabs.
    fn skip_whitespace(&mut self) {
        self.0 = self.0.trim_start_matches([' ', '\t']);
    }

    /// Reads `byte` if it comes next.
    fn eat(&mut self, byte: u8) -> bool {
        match self.0.as_bytes().first() {
            Some(&next) if next == byte => {
                self.0 = &self.0[1..];
                true
            }
            _ => false,
        }
    }

    /// Reads a token (RFC 7230 §3.2.6); `None` if none comes next.
    fn token(&mut self) -> Option<&'a str> {
        let len = self.0.bytes().take_while(|&byte| is_tchar(byte)).count();
        if len == 0 {
            return None;
        }
        let (token, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(token)
    }

    /// Reads a value: a token or a quoted-string; `None` if neither comes next, or the
    /// quoted-string is not terminated.
    fn value(&mut self) -> Option<Value<'a>> {
        if !self.eat(b'"') {
            return self.token().map(Value::Token);
        }
        // Inside: any byte but `"` and `\`, or `\` and any byte (RFC 7230 §3.2.6); the header
        // value was checked to hold only visible ASCII, space and tab.
        let mut escaped = false;
        for (i, byte) in self.0.bytes().enumerate() {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => {
                    let inner = &self.0[..i];
                    self.0 = &self.0[i + 1..];
                    return Some(Value::Quoted(inner));
                }
                _ => {}
            }
        }
        None
    }
}

/// Whether `byte` may be part of a token (RFC 7230 §3.2.6 `tchar`).
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shared compressor and decompressor: no context kept either way, full windows.
    const SHARED: Policy = Policy {
        server_context_takeover: false,
        server_window_bits: 15,
        client_context_takeover: false,
        client_window_bits: 15,
    };

    /// A dedicated compressor and decompressor with full windows.
    const DEDICATED: Policy = Policy {
        server_context_takeover: true,
        server_window_bits: 15,
        client_context_takeover: true,
        client_window_bits: 15,
    };

    /// Autobahn's offer (case 13): it accepts `client_no_context_takeover` and
    /// `client_max_window_bits`, and adds what it requests of the server.
    const AUTOBAHN: &str = "permessage-deflate; client_no_context_takeover; client_max_window_bits";

    /// Negotiates over these header values.
    fn agree(policy: &Policy, values: &[&str]) -> Option<Agreed> {
        let values: Vec<HeaderValue> = values
            .iter()
            .map(|value| HeaderValue::from_str(value).expect("a valid header value"))
            .collect();
        negotiate(&values, policy)
    }

    /// The response to these header values, if any.
    fn answer(policy: &Policy, values: &[&str]) -> Option<String> {
        agree(policy, values).map(|agreed| {
            let value = agreed.header_value();
            value.to_str().expect("visible ASCII").to_owned()
        })
    }

    /// The agreed windows (server, client) for these header values.
    fn windows(policy: &Policy, values: &[&str]) -> Option<(u8, u8)> {
        agree(policy, values)
            .map(|agreed| (agreed.server_max_window_bits, agreed.client_max_window_bits))
    }

    #[test]
    fn the_plain_offer() {
        assert_eq!(
            agree(&SHARED, &["permessage-deflate"]),
            Some(Agreed {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: 15,
                client_max_window_bits: 15,
                answer_server_window: false,
                answer_client_window: false,
            })
        );
        assert_eq!(
            answer(&SHARED, &["permessage-deflate"]).as_deref(),
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        );
        assert_eq!(
            agree(&DEDICATED, &["permessage-deflate"]),
            Some(Agreed {
                server_no_context_takeover: false,
                client_no_context_takeover: false,
                server_max_window_bits: 15,
                client_max_window_bits: 15,
                answer_server_window: false,
                answer_client_window: false,
            })
        );
        assert_eq!(
            answer(&DEDICATED, &["permessage-deflate"]).as_deref(),
            Some("permessage-deflate")
        );
    }

    #[test]
    fn browsers_and_python_websockets_default() {
        // Chrome, Firefox, and Python websockets' default client.
        let offer = "permessage-deflate; client_max_window_bits";
        assert_eq!(
            answer(&DEDICATED, &[offer]).as_deref(),
            Some("permessage-deflate; client_max_window_bits=15")
        );
        assert_eq!(
            answer(&SHARED, &[offer]).as_deref(),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 client_max_window_bits=15"
            )
        );
        assert_eq!(windows(&SHARED, &[offer]), Some((15, 15)));
    }

    #[test]
    fn both_windows_offered() {
        // Python websockets' factory configured with 12-bit windows both ways.
        let offer = "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12";
        assert_eq!(windows(&SHARED, &[offer]), Some((12, 12)));
        assert_eq!(
            answer(&SHARED, &[offer]).as_deref(),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=12; client_max_window_bits=12"
            )
        );
        assert_eq!(
            answer(&DEDICATED, &[offer]).as_deref(),
            Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12")
        );
    }

    #[test]
    fn every_autobahn_case_13_offer_is_accepted() {
        // (what Autobahn adds, the response to a dedicated policy, our window)
        let cases = [
            // 13.1
            (
                "",
                "permessage-deflate; client_no_context_takeover; client_max_window_bits=15",
                15,
            ),
            // 13.2
            (
                "; server_no_context_takeover",
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 client_max_window_bits=15",
                15,
            ),
            // 13.3
            (
                "; server_max_window_bits=8",
                "permessage-deflate; client_no_context_takeover; server_max_window_bits=8; \
                 client_max_window_bits=15",
                8,
            ),
            // 13.4
            (
                "; server_max_window_bits=15",
                "permessage-deflate; client_no_context_takeover; server_max_window_bits=15; \
                 client_max_window_bits=15",
                15,
            ),
            // 13.5
            (
                "; server_no_context_takeover; server_max_window_bits=8",
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=8; client_max_window_bits=15",
                8,
            ),
            // 13.6
            (
                "; server_no_context_takeover; server_max_window_bits=15",
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=15; client_max_window_bits=15",
                15,
            ),
        ];
        for (extra, response, server_bits) in cases {
            let offer = format!("{AUTOBAHN}{extra}");
            assert_eq!(
                answer(&DEDICATED, &[&offer]).as_deref(),
                Some(response),
                "{offer}"
            );
            let agreed = agree(&SHARED, &[&offer]).expect("accepted");
            assert!(agreed.server_no_context_takeover, "{offer}");
            assert!(agreed.client_no_context_takeover, "{offer}");
            assert_eq!(agreed.server_max_window_bits, server_bits, "{offer}");
            assert_eq!(agreed.client_max_window_bits, 15, "{offer}");
        }

        // 13.7: three offers in one value; the first is taken.
        let list = format!(
            "{AUTOBAHN}; server_no_context_takeover; server_max_window_bits=8, \
             {AUTOBAHN}; server_no_context_takeover, {AUTOBAHN}"
        );
        assert_eq!(
            answer(&DEDICATED, &[&list]).as_deref(),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=8; client_max_window_bits=15"
            )
        );
        assert_eq!(windows(&SHARED, &[&list]), Some((8, 15)));
    }

    #[test]
    fn our_windows_limit_both_directions() {
        let small = Policy {
            server_context_takeover: true,
            server_window_bits: 10,
            client_context_takeover: true,
            client_window_bits: 9,
        };
        let offer = "permessage-deflate; server_max_window_bits=12; client_max_window_bits";
        assert_eq!(windows(&small, &[offer]), Some((10, 9)));
        assert_eq!(
            answer(&small, &[offer]).as_deref(),
            Some("permessage-deflate; server_max_window_bits=10; client_max_window_bits=9")
        );
        // Smaller offered windows than ours stay as offered.
        let offer = "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8";
        assert_eq!(
            answer(&small, &[offer]).as_deref(),
            Some("permessage-deflate; server_max_window_bits=8; client_max_window_bits=8")
        );
        // Neither window offered: neither named, though our compressor uses its own window
        // and the client's is unlimited.
        assert_eq!(windows(&small, &["permessage-deflate"]), Some((10, 15)));
        assert_eq!(
            answer(&small, &["permessage-deflate"]).as_deref(),
            Some("permessage-deflate")
        );
    }

    #[test]
    fn quoted_values() {
        assert_eq!(
            answer(
                &DEDICATED,
                &["permessage-deflate; server_max_window_bits=\"10\""]
            )
            .as_deref(),
            Some("permessage-deflate; server_max_window_bits=10")
        );
        assert_eq!(
            answer(
                &DEDICATED,
                &["permessage-deflate; client_max_window_bits=\"9\""]
            )
            .as_deref(),
            Some("permessage-deflate; client_max_window_bits=9")
        );
        // A quoted-pair is unescaped before the value is read (RFC 6455 §9.1).
        assert_eq!(
            windows(
                &DEDICATED,
                &["permessage-deflate; server_max_window_bits=\"1\\1\""]
            ),
            Some((11, 15))
        );
        // Commas and semicolons inside another extension's quoted value split nothing.
        assert_eq!(
            answer(
                &DEDICATED,
                &["foo; bar=\"a, permessage-deflate; x\", permessage-deflate"]
            )
            .as_deref(),
            Some("permessage-deflate")
        );
        // Nor do they after an escaped quote.
        assert_eq!(
            answer(
                &DEDICATED,
                &["foo; bar=\"\\\", permessage-deflate, x=\\\"\", \
                   permessage-deflate; client_no_context_takeover"]
            )
            .as_deref(),
            Some("permessage-deflate; client_no_context_takeover")
        );
    }

    #[test]
    fn whitespace_and_case() {
        for offer in [
            "PerMessage-Deflate ;\tServer_Max_Window_Bits = \"10\" ; CLIENT_MAX_WINDOW_BITS",
            "\t permessage-deflate;server_max_window_bits=10;client_max_window_bits\t",
            "permessage-deflate\t;\tserver_max_window_bits\t=\t10 ;  client_max_window_bits  ",
        ] {
            assert_eq!(
                answer(&DEDICATED, &[offer]).as_deref(),
                Some("permessage-deflate; server_max_window_bits=10; client_max_window_bits=15"),
                "{offer}"
            );
        }
        // Empty elements and other extensions are skipped.
        assert_eq!(
            answer(
                &DEDICATED,
                &[" , ,x-webkit-deflate-frame, foo;bar , permessage-deflate ,"]
            )
            .as_deref(),
            Some("permessage-deflate")
        );
    }

    #[test]
    fn several_header_values() {
        assert_eq!(
            answer(
                &DEDICATED,
                &[
                    "x-webkit-deflate-frame",
                    "permessage-deflate; unknown",
                    "foo, permessage-deflate; client_no_context_takeover",
                    "permessage-deflate; server_no_context_takeover",
                ]
            )
            .as_deref(),
            Some("permessage-deflate; client_no_context_takeover")
        );
        // An unterminated quote spoils only the rest of its own header value.
        assert_eq!(
            answer(
                &DEDICATED,
                &[
                    "permessage-deflate; server_max_window_bits=\"10, permessage-deflate",
                    "permessage-deflate; server_no_context_takeover",
                ]
            )
            .as_deref(),
            Some("permessage-deflate; server_no_context_takeover")
        );
    }

    #[test]
    fn malformed_offers_are_declined_and_the_next_one_taken() {
        for bad in [
            "permessage-deflate; unknown",
            "permessage-deflate; unknown=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; client_no_context_takeover; CLIENT_NO_CONTEXT_TAKEOVER",
            "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
            "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=08",
            "permessage-deflate; server_max_window_bits=0",
            "permessage-deflate; server_max_window_bits=100",
            "permessage-deflate; server_max_window_bits=abc",
            "permessage-deflate; server_max_window_bits=1a",
            "permessage-deflate; server_max_window_bits=+9",
            "permessage-deflate; server_max_window_bits=",
            "permessage-deflate; server_max_window_bits=\"\"",
            "permessage-deflate; server_max_window_bits=\" 10\"",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover=\"\"",
            "permessage-deflate; server_max_window_bits=\"1,0\"",
            "permessage-deflate; server_max_window_bits=\"10;\"",
            "permessage-deflate; server_max_window_bits=10\"\"",
            "permessage-deflate; server_max_window_bits=10 11",
            "permessage-deflate;",
            "permessage-deflate; ; client_no_context_takeover",
            "permessage-deflate client_no_context_takeover",
            "permessage-deflate=1",
            "permessage-deflate-x",
            "\"permessage-deflate\"",
        ] {
            assert_eq!(answer(&DEDICATED, &[bad]), None, "{bad}");
            let list = format!("{bad}, permessage-deflate; client_no_context_takeover");
            assert_eq!(
                answer(&DEDICATED, &[&list]).as_deref(),
                Some("permessage-deflate; client_no_context_takeover"),
                "{bad}"
            );
            assert_eq!(
                answer(
                    &DEDICATED,
                    &[bad, "permessage-deflate; client_max_window_bits"]
                )
                .as_deref(),
                Some("permessage-deflate; client_max_window_bits=15"),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_unterminated_quote_swallows_the_rest_of_its_value() {
        // Whatever follows the quote could be part of it: nothing after it is accepted.
        assert_eq!(
            answer(
                &DEDICATED,
                &["permessage-deflate; server_max_window_bits=\"10, permessage-deflate"]
            ),
            None
        );
        assert_eq!(
            answer(
                &DEDICATED,
                &["permessage-deflate; server_max_window_bits=\"10\\\""]
            ),
            None
        );
        // Offers before it still count.
        assert_eq!(
            answer(
                &DEDICATED,
                &["permessage-deflate; client_max_window_bits=10, foo; bar=\"x"]
            )
            .as_deref(),
            Some("permessage-deflate; client_max_window_bits=10")
        );
    }

    #[test]
    fn a_client_reads_the_answer() {
        let answer = |text: &str| parse_answer(&HeaderValue::from_str(text).unwrap());
        assert_eq!(
            answer("permessage-deflate; server_no_context_takeover; client_max_window_bits=10"),
            Some(Answer {
                server_no_context_takeover: true,
                client_no_context_takeover: false,
                server_max_window_bits: 15,
                client_max_window_bits: 10,
            })
        );
        assert_eq!(
            answer("permessage-deflate;client_no_context_takeover;server_max_window_bits=\"9\""),
            Some(Answer {
                server_no_context_takeover: false,
                client_no_context_takeover: true,
                server_max_window_bits: 9,
                client_max_window_bits: 15,
            })
        );
        // Not one valid permessage-deflate element: the client fails the connection.
        for bad in [
            "x-webkit-deflate-frame",
            "permessage-deflate, permessage-deflate",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; foo",
            "",
        ] {
            assert_eq!(answer(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn no_offer() {
        assert_eq!(agree(&DEDICATED, &[]), None);
        assert_eq!(agree(&DEDICATED, &[""]), None);
        assert_eq!(agree(&DEDICATED, &[" , "]), None);
        assert_eq!(
            agree(&DEDICATED, &["x-webkit-deflate-frame", "foo; bar=1"]),
            None
        );
    }

    #[test]
    fn bytes_beyond_visible_ascii_yield_nothing() {
        for bytes in [
            &b"permessage-deflate; \xff"[..],
            b"permessage-deflate\x80",
            b"\xc3\xa9, permessage-deflate",
            b"permessage-deflate; server_max_window_bits=\"1\xff\"",
        ] {
            let values = [HeaderValue::from_bytes(bytes).expect("a valid header value")];
            assert_eq!(negotiate(&values, &DEDICATED), None, "{bytes:?}");
        }
        // The next header value is still read.
        let values = [
            HeaderValue::from_bytes(b"permessage-deflate\xff").expect("a valid header value"),
            HeaderValue::from_static("permessage-deflate"),
        ];
        assert_eq!(
            negotiate(&values, &DEDICATED).map(|agreed| agreed.header_value()),
            Some(HeaderValue::from_static("permessage-deflate"))
        );
    }
}
