//! Streaming UTF-8 validation for text messages that arrive in pieces (fragments, or parts of
//! one frame), so that invalid text is rejected as soon as the offending byte is received.

/// Validates text fed in arbitrary pieces, carrying a code point that a piece cut in two
/// (at most 3 bytes) over to the next piece. Validation itself is `std::str::from_utf8`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Utf8Validator {
    /// The incomplete code point at the end of the input so far (first `len` bytes), with
    /// room for the byte that completes it.
    pending: [u8; 4],
    /// How many bytes of `pending` are in use: 0 to 3.
    len: u8,
}

/// The input is not UTF-8: some byte received so far cannot be part of valid text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidUtf8;

impl Utf8Validator {
    /// A validator at the start of a text.
    pub(crate) const fn new() -> Self {
        Utf8Validator {
            pending: [0; 4],
            len: 0,
        }
    }

    /// Forgets any pending incomplete code point, to start a new text.
    pub(crate) fn reset(&mut self) {
        self.len = 0;
    }

    /// True when the input so far ends on a code point boundary, so the text may end here.
    pub(crate) fn is_complete(&self) -> bool {
        self.len == 0
    }

    /// Validates the next piece of the text. An incomplete code point at the end of `bytes`
    /// is not an error: it is remembered and completed by the next piece.
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) -> Result<(), InvalidUtf8> {
        if self.len > 0 {
            let have = usize::from(self.len);
            let take = (sequence_len(self.pending[0]) - have).min(bytes.len());
            self.pending[have..have + take].copy_from_slice(&bytes[..take]);
            match std::str::from_utf8(&self.pending[..have + take]) {
                Ok(_) => {
                    self.len = 0;
                    bytes = &bytes[take..];
                }
                // Still incomplete: `take` was all of `bytes`.
                Err(error) if error.error_len().is_none() => {
                    self.len += take as u8;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
        }
        match std::str::from_utf8(bytes) {
            Ok(_) => Ok(()),
            Err(error) if error.error_len().is_none() => {
                let tail = &bytes[error.valid_up_to()..];
                self.pending[..tail.len()].copy_from_slice(tail);
                // `from_utf8` leaves at most 3 bytes of an incomplete sequence.
                self.len = tail.len() as u8;
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }
}

/// The length of the UTF-8 sequence that `lead` starts, for a lead byte that
/// `std::str::from_utf8` reported as the start of an incomplete sequence (0xC2 to 0xF4).
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `text` in the given pieces and reports whether it was accepted as a whole text.
    fn accepts(pieces: &[&[u8]]) -> bool {
        let mut validator = Utf8Validator::new();
        pieces.iter().all(|piece| validator.feed(piece).is_ok()) && validator.is_complete()
    }

    #[test]
    fn valid_text_split_at_every_boundary_is_accepted() {
        let text = "aé€𝄞κόσμε\u{10FFFF}z".as_bytes();
        for first in 0..=text.len() {
            for second in first..=text.len() {
                let pieces = [&text[..first], &text[first..second], &text[second..]];
                assert!(accepts(&pieces), "split at {first}/{second}");
            }
        }
    }

    #[test]
    fn invalid_byte_is_reported_when_fed() {
        // 0xF4 0x90 starts a code point above U+10FFFF: invalid on the second byte.
        let mut validator = Utf8Validator::new();
        assert_eq!(validator.feed(b"ok\xF4"), Ok(()));
        assert!(!validator.is_complete());
        assert_eq!(validator.feed(b"\x90"), Err(InvalidUtf8));

        // Surrogate (U+D800), split one byte at a time.
        let mut validator = Utf8Validator::new();
        assert_eq!(validator.feed(b"\xED"), Ok(()));
        assert_eq!(validator.feed(b"\xA0"), Err(InvalidUtf8));
    }

    #[test]
    fn invalid_sequences_are_rejected_however_split() {
        let cases: [&[u8]; 7] = [
            b"\xFF",
            b"\xC0\xAF",
            b"\xE0\x80\xAF",
            b"a\x80b",
            b"\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80edited",
            b"\xF4\x90\x80\x80",
            b"\xE2\x82",
        ];
        for case in cases {
            for cut in 0..=case.len() {
                assert!(
                    !accepts(&[&case[..cut], &case[cut..]]),
                    "{case:?} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn incomplete_sequence_at_the_end_is_pending_not_an_error() {
        let mut validator = Utf8Validator::new();
        assert_eq!(validator.feed(&"€".as_bytes()[..2]), Ok(()));
        assert!(!validator.is_complete());
        validator.reset();
        assert!(validator.is_complete());
        assert_eq!(validator.feed(b"plain"), Ok(()));
        assert!(validator.is_complete());
    }

    #[test]
    fn pending_sequence_completed_over_several_pieces() {
        let clef = "𝄞".as_bytes();
        let mut validator = Utf8Validator::new();
        for byte in clef {
            assert_eq!(validator.feed(std::slice::from_ref(byte)), Ok(()));
        }
        assert!(validator.is_complete());
        assert_eq!(validator.feed(b""), Ok(()));
        assert!(validator.is_complete());
    }
}
