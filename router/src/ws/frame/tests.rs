use bytes::BufMut;

use super::*;
// A client frame: `masked(first, payload)`, `first` being the first header byte (FIN,
// RSV bits, opcode) as given, the payload masked with a fixed key.
use crate::test::masked_frame as masked;

/// The FIN bit of a frame's first byte.
const FIN: u8 = 0x80;
/// A limit no test message reaches.
const BIG: usize = 1 << 20;

/// A client text frame with FIN set.
fn text(payload: &str) -> Vec<u8> {
    masked(FIN | 0x1, payload.as_bytes())
}

/// A client close frame with a code and a reason.
fn close(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    masked(FIN | 0x8, &payload)
}

/// The test client's frames, checked byte by byte rather than with the encoder they are
/// built with: the first byte as given, the mask bit and the shortest length, the key,
/// then the payload XORed with it.
#[test]
fn masked_frame_is_the_first_byte_length_key_and_masked_payload() {
    const MASK: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];
    for (len, length_bytes) in [
        (0, vec![0x80]),
        (5, vec![0x85]),
        (125, vec![0xFD]),
        (126, vec![0xFE, 0x00, 0x7E]),
        (65_535, vec![0xFE, 0xFF, 0xFF]),
        (65_536, vec![0xFF, 0, 0, 0, 0, 0, 1, 0, 0]),
    ] {
        let payload: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let frame = masked(0x3F, &payload);
        let header = 1 + length_bytes.len();
        assert_eq!(frame[0], 0x3F, "{len}");
        assert_eq!(frame[1..header], length_bytes, "{len}");
        assert_eq!(frame[header..header + 4], MASK, "{len}");
        let unmasked: Vec<u8> = frame[header + 4..]
            .iter()
            .zip(MASK.iter().cycle())
            .map(|(b, m)| b ^ m)
            .collect();
        assert_eq!(unmasked, payload, "{len}");
    }
}

/// Concatenates frames.
fn concat(frames: &[Vec<u8>]) -> Vec<u8> {
    frames.concat()
}

/// Decodes events from `buf` until the decoder needs more bytes.
fn drain(decoder: &mut Decoder, buf: &mut BytesMut) -> Result<Vec<Event>, CloseReason> {
    let mut events = Vec::new();
    while let Some(event) = decoder.decode(buf)? {
        events.push(event);
    }
    Ok(events)
}

/// Decodes `bytes` given all at once to a decoder with the limit `max`.
fn decode_with(max: usize, bytes: &[u8]) -> Result<Vec<Event>, CloseReason> {
    drain(&mut Decoder::new(max), &mut BytesMut::from(bytes))
}

/// Decodes `bytes` given all at once.
fn decode(bytes: &[u8]) -> Result<Vec<Event>, CloseReason> {
    decode_with(BIG, bytes)
}

/// Decodes `bytes` appended in chunks of `chunk` bytes; on error, also says how many
/// bytes had been given when it came.
fn decode_chunked(bytes: &[u8], chunk: usize) -> Result<Vec<Event>, (CloseReason, usize)> {
    let mut decoder = Decoder::new(BIG);
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    let mut fed = 0;
    for piece in bytes.chunks(chunk) {
        buf.extend_from_slice(piece);
        fed += piece.len();
        events.extend(drain(&mut decoder, &mut buf).map_err(|error| (error, fed))?);
    }
    assert!(buf.is_empty(), "bytes left over");
    Ok(events)
}

/// The close code `bytes` fail with, given all at once.
fn fails_with(bytes: &[u8]) -> u16 {
    match decode(bytes) {
        Err(reason) => reason.code,
        Ok(events) => panic!("expected an error, got {events:?}"),
    }
}

/// A text message event.
fn text_event(text: &str) -> Event {
    Event::Message(Message::Text(Utf8Bytes::from(text)))
}

/// A binary message event.
fn binary_event(bytes: &[u8]) -> Event {
    Event::Message(Message::Binary(Bytes::copy_from_slice(bytes)))
}

#[test]
fn single_frames_decode_to_events() {
    let bytes = concat(&[
        text("hello"),
        masked(FIN | 0x2, &[0, 1, 2, 255]),
        masked(FIN | 0x9, b"ping"),
        masked(FIN | 0xA, b"pong"),
        close(1000, b"bye"),
    ]);
    assert_eq!(
        decode(&bytes),
        Ok(vec![
            text_event("hello"),
            binary_event(&[0, 1, 2, 255]),
            Event::Ping(Bytes::from_static(b"ping")),
            Event::Pong(Bytes::from_static(b"pong")),
            Event::Close(Some((1000, Utf8Bytes::from("bye")))),
        ])
    );
}

#[test]
fn incomplete_input_needs_more_bytes() {
    let frame = text("hello");
    let mut decoder = Decoder::new(BIG);
    let mut buf = BytesMut::new();
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    buf.extend_from_slice(&frame[..frame.len() - 1]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    buf.extend_from_slice(&frame[frame.len() - 1..]);
    assert_eq!(decoder.decode(&mut buf), Ok(Some(text_event("hello"))));
    assert!(buf.is_empty());
    assert_eq!(decoder.decode(&mut buf), Ok(None));
}

#[test]
fn single_frame_payload_is_not_copied() {
    let mut buf = BytesMut::from(&concat(&[text("zero copy"), text("again")])[..]);
    let start = buf.as_ptr() as usize;
    let range = start..start + buf.len();
    let mut decoder = Decoder::new(BIG);
    for expected in ["zero copy", "again"] {
        let Ok(Some(Event::Message(message))) = decoder.decode(&mut buf) else {
            panic!("expected a message");
        };
        assert_eq!(message.as_text(), Some(expected));
        assert!(range.contains(&(message.as_bytes().as_ptr() as usize)));
    }
}

#[test]
fn split_arrival_at_every_byte_gives_the_same_events() {
    let bytes = concat(&[
        text("Hello"),
        masked(FIN | 0x2, &[7; 300]),
        masked(0x1, &"κ\u{3cc}".as_bytes()[..3]),
        masked(FIN | 0x9, b"in between"),
        masked(FIN, &"κ\u{3cc}".as_bytes()[3..]),
        masked(FIN | 0x2, b""),
        masked(FIN | 0xA, b""),
        close(1001, "gone é".as_bytes()),
    ]);
    let whole = decode(&bytes);
    assert_eq!(
        whole,
        Ok(vec![
            text_event("Hello"),
            binary_event(&[7; 300]),
            Event::Ping(Bytes::from_static(b"in between")),
            text_event("κ\u{3cc}"),
            binary_event(b""),
            Event::Pong(Bytes::new()),
            Event::Close(Some((1001, Utf8Bytes::from("gone é")))),
        ])
    );
    for chunk in 1..=bytes.len() {
        assert_eq!(
            decode_chunked(&bytes, chunk).ok(),
            whole.clone().ok(),
            "{chunk}"
        );
    }
}

#[test]
fn sixteen_and_sixty_four_bit_lengths() {
    for len in [126, 200, 0xFFFF, 0x1_0000, 70_000] {
        let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let frame = masked(FIN | 0x2, &payload);
        assert_eq!(
            frame.len() - payload.len(),
            if len <= 0xFFFF { 8 } else { 14 }
        );
        assert_eq!(decode(&frame), Ok(vec![binary_event(&payload)]));
        for chunk in [1, 3, 1000] {
            let events = decode_chunked(&frame, chunk);
            assert_eq!(events, Ok(vec![binary_event(&payload)]), "{len} by {chunk}");
        }
    }
    let long_text = "é".repeat(40_000);
    assert_eq!(decode(&text(&long_text)), Ok(vec![text_event(&long_text)]));
    assert_eq!(
        decode_chunked(&text(&long_text), 7),
        Ok(vec![text_event(&long_text)])
    );
}

#[test]
fn sixteen_masked_text_frames_in_one_buffer() {
    let payload = "0123456789abcdef0123456789ABCDEF";
    let bytes = concat(&vec![text(payload); 16]);
    let mut decoder = Decoder::new(BIG);
    let mut buf = BytesMut::from(&bytes[..]);
    let events = drain(&mut decoder, &mut buf);
    assert_eq!(events, Ok(vec![text_event(payload); 16]));
    assert!(buf.is_empty());
    assert!(!decoder.in_message());
}

#[test]
fn zero_length_frames_and_messages_are_valid() {
    let bytes = concat(&[
        text(""),
        masked(FIN | 0x2, b""),
        masked(0x1, b""),
        masked(0x0, b""),
        masked(FIN, b""),
        masked(0x2, b""),
        masked(FIN, b""),
        masked(FIN | 0x9, b""),
        masked(FIN | 0x8, b""),
    ]);
    assert_eq!(
        decode_with(0, &bytes),
        Ok(vec![
            text_event(""),
            binary_event(b""),
            text_event(""),
            binary_event(b""),
            Event::Ping(Bytes::new()),
            Event::Close(None),
        ])
    );
}

#[test]
fn fragments_with_interleaved_control_frames() {
    let mut decoder = Decoder::new(BIG);
    let mut buf = BytesMut::new();
    let mut step = |frame: Vec<u8>| {
        buf.extend_from_slice(&frame);
        let event = decoder.decode(&mut buf);
        (event, decoder.in_message())
    };
    assert_eq!(step(masked(0x1, b"Hello, ")), (Ok(None), true));
    assert_eq!(
        step(masked(FIN | 0x9, b"p")),
        (Ok(Some(Event::Ping(Bytes::from_static(b"p")))), true)
    );
    assert_eq!(step(masked(0x0, b"wor")), (Ok(None), true));
    assert_eq!(
        step(masked(FIN | 0xA, b"")),
        (Ok(Some(Event::Pong(Bytes::new()))), true)
    );
    assert_eq!(
        step(close(1000, b"")),
        (
            Ok(Some(Event::Close(Some((1000, Utf8Bytes::default()))))),
            true
        )
    );
    assert_eq!(
        step(masked(FIN, b"ld")),
        (Ok(Some(text_event("Hello, world"))), false)
    );
    let binary = concat(&[
        masked(0x2, &[1, 2]),
        masked(FIN | 0x9, b""),
        masked(0x0, &[3]),
        masked(FIN, &[4, 5]),
    ]);
    assert_eq!(step(binary), (Ok(Some(Event::Ping(Bytes::new()))), true));
    assert_eq!(
        step(Vec::new()),
        (Ok(Some(binary_event(&[1, 2, 3, 4, 5]))), false)
    );
}

#[test]
fn decoder_is_small_and_holds_no_buffer_between_messages() {
    assert!(std::mem::size_of::<Decoder>() <= 64);
    let mut decoder = Decoder::new(BIG);
    let mut buf = BytesMut::from(&concat(&[masked(0x2, b"a"), masked(FIN, b"b")])[..]);
    assert_eq!(drain(&mut decoder, &mut buf), Ok(vec![binary_event(b"ab")]));
    assert!(decoder.message.is_none() && decoder.frame.is_none());
}

#[test]
fn unmasked_client_frame_is_a_protocol_error() {
    assert_eq!(fails_with(&[FIN | 0x1, 0x00]), PROTOCOL_ERROR);
    assert_eq!(fails_with(&[FIN | 0x9, 0x02, b'h', b'i']), PROTOCOL_ERROR);
}

#[test]
fn a_client_reads_unmasked_frames_and_fails_on_masked_ones() {
    let mut client = Decoder::of(Role::Server, BIG);
    let mut unmasked = BytesMut::new();
    encode_frame(&mut unmasked, OpCode::Text, "héllo".as_bytes());
    encode_frame(&mut unmasked, OpCode::Ping, b"p");
    // Fragments too: each frame's payload arrives in pieces.
    encode_header(&mut unmasked, OpCode::Binary, false, false, 3);
    unmasked.put_slice(b"abc");
    encode_header(&mut unmasked, OpCode::Continuation, true, false, 300);
    unmasked.put_slice(&[7; 300]);
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for piece in unmasked.chunks(7) {
        buf.extend_from_slice(piece);
        events.extend(drain(&mut client, &mut buf).expect("valid"));
    }
    let mut binary = b"abc".to_vec();
    binary.extend_from_slice(&[7; 300]);
    assert_eq!(
        events,
        [
            Event::Message(Message::text("héllo")),
            Event::Ping(Bytes::from_static(b"p")),
            Event::Message(Message::binary(binary)),
        ]
    );
    let masked_frame = text("x");
    let mut client = Decoder::of(Role::Server, BIG);
    let error = client.decode(&mut BytesMut::from(&masked_frame[..]));
    assert_eq!(error.map_err(|e| e.code), Err(PROTOCOL_ERROR));
}

#[test]
fn masked_frames_encoded_for_a_client_decode_on_the_server() {
    let payload: Vec<u8> = (0..=255).cycle().take(70_000).collect();
    let mut out = BytesMut::new();
    encode_masked_frame(
        &mut out,
        OpCode::Binary,
        true,
        false,
        &payload,
        [9, 8, 7, 6],
    );
    encode_masked_frame(&mut out, OpCode::Text, false, false, b"ab", [1, 2, 3, 4]);
    encode_masked_frame(
        &mut out,
        OpCode::Continuation,
        true,
        false,
        b"c",
        [5, 5, 5, 5],
    );
    assert_eq!(
        decode(&out).expect("valid"),
        [
            Event::Message(Message::binary(payload)),
            Event::Message(Message::text("abc")),
        ]
    );
}

#[test]
fn reserved_bits_are_a_protocol_error() {
    for rsv in [0x40, 0x20, 0x10, 0x70] {
        assert_eq!(
            fails_with(&text("x")[..2].iter().map(|b| b | rsv).collect::<Vec<_>>()),
            1002
        );
    }
    let mut decoder = Decoder::new(BIG);
    decoder.set_rsv1_allowed(true);
    for rsv in [0x20, 0x10] {
        let frame = masked(FIN | rsv | 0x1, b"x");
        assert_eq!(
            decoder
                .decode(&mut BytesMut::from(&frame[..]))
                .map_err(|e| e.code),
            Err(1002)
        );
    }
}

#[test]
fn rsv1_when_allowed_marks_compressed_messages() {
    let compressed = |bytes: &[u8]| {
        let mut decoder = Decoder::new(BIG);
        decoder.set_rsv1_allowed(true);
        drain(&mut decoder, &mut BytesMut::from(bytes))
    };
    // Not UTF-8, yet accepted: text is validated after inflating.
    assert_eq!(
        compressed(&masked(FIN | 0x40 | 0x1, b"\xF2\x48\xCD")),
        Ok(vec![Event::Compressed {
            text: true,
            payload: Bytes::from_static(b"\xF2\x48\xCD"),
        }])
    );
    assert_eq!(
        compressed(&concat(&[
            masked(0x40 | 0x2, b"ab"),
            masked(FIN | 0x9, b""),
            masked(FIN, b"\xFF")
        ])),
        Ok(vec![
            Event::Ping(Bytes::new()),
            Event::Compressed {
                text: false,
                payload: Bytes::from_static(b"ab\xFF"),
            },
        ])
    );
    assert_eq!(compressed(&text("plain")), Ok(vec![text_event("plain")]));
    let on_continuation = concat(&[masked(0x1, b"a"), masked(FIN | 0x40, b"b")]);
    assert_eq!(compressed(&on_continuation).map_err(|e| e.code), Err(1002));
    let on_ping = masked(FIN | 0x40 | 0x9, b"");
    assert_eq!(compressed(&on_ping).map_err(|e| e.code), Err(1002));
}

#[test]
fn reserved_opcodes_are_a_protocol_error_from_the_first_two_bytes() {
    for opcode in (0x3..=0x7).chain(0xB..=0xF) {
        assert_eq!(
            fails_with(&[FIN | opcode, 0x80]),
            PROTOCOL_ERROR,
            "{opcode}"
        );
    }
}

#[test]
fn control_frames_must_be_short_and_final() {
    for opcode in [0x8, 0x9, 0xA] {
        let mut payload = vec![0x03, 0xE8];
        payload.resize(126, b'*');
        assert_eq!(fails_with(&masked(FIN | opcode, &payload)), PROTOCOL_ERROR);
        // The 7-bit length alone is enough to fail.
        assert_eq!(fails_with(&[FIN | opcode, 0x80 | 126]), PROTOCOL_ERROR);
        assert_eq!(fails_with(&masked(opcode, b"")), PROTOCOL_ERROR);
    }
    let longest = [b'p'; 125];
    assert_eq!(
        decode_with(10, &masked(FIN | 0x9, &longest)),
        Ok(vec![Event::Ping(Bytes::copy_from_slice(&longest))])
    );
}

#[test]
fn continuation_without_a_message_is_a_protocol_error() {
    assert_eq!(fails_with(&masked(FIN, b"x")), PROTOCOL_ERROR);
    assert_eq!(fails_with(&masked(0x0, b"x")), PROTOCOL_ERROR);
    assert_eq!(
        fails_with(&concat(&[text("done"), masked(FIN, b"x")])),
        PROTOCOL_ERROR
    );
}

#[test]
fn new_message_inside_a_fragmented_one_is_a_protocol_error() {
    for next in [0x1, 0x2, FIN | 0x1, FIN | 0x2] {
        let bytes = concat(&[masked(0x1, b"a"), masked(next, b"b")]);
        assert_eq!(fails_with(&bytes), PROTOCOL_ERROR);
    }
}

#[test]
fn sixty_four_bit_length_with_top_bit_set_is_a_protocol_error() {
    let header = [FIN | 0x2, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1];
    assert_eq!(fails_with(&header), PROTOCOL_ERROR);
    let mut below = header;
    below[2] = 0x7F;
    // Valid length, but far above the limit.
    assert_eq!(fails_with(&below), MESSAGE_TOO_BIG);
}

#[test]
fn long_single_frame_fails_on_its_header() {
    let frame = masked(FIN | 0x2, &[0; 101]);
    // The length is known from the first two bytes: no need to wait for the mask.
    assert_eq!(decode_with(100, &frame[..2]).map_err(|e| e.code), Err(1009));
    assert_eq!(decode_with(100, &frame[..1]), Ok(vec![]));
    assert_eq!(decode_with(101, &frame), Ok(vec![binary_event(&[0; 101])]));
    let big = masked(FIN | 0x1, &[b'a'; 70_000]);
    assert_eq!(
        decode_with(65_536, &big[..10]).map_err(|e| e.code),
        Err(1009)
    );
}

#[test]
fn fragmented_message_fails_once_the_total_is_over_the_limit() {
    let first = masked(0x1, b"123456");
    let over = concat(&[first.clone(), masked(0x0, b"")[..6].to_vec()]);
    assert_eq!(decode_with(10, &over), Ok(vec![]));
    let over = concat(&[first.clone(), masked(0x0, b"78901")[..6].to_vec()]);
    assert_eq!(decode_with(10, &over).map_err(|e| e.code), Err(1009));
    let exact = concat(&[first, masked(0x0, b"78"), masked(FIN, b"90")]);
    assert_eq!(decode_with(10, &exact), Ok(vec![text_event("1234567890")]));
}

#[test]
fn close_payload_of_one_byte_is_a_protocol_error() {
    assert_eq!(fails_with(&masked(FIN | 0x8, b"\x03")), PROTOCOL_ERROR);
    assert_eq!(fails_with(&[FIN | 0x8, 0x81]), PROTOCOL_ERROR);
}

#[test]
fn close_codes_follow_autobahn() {
    // Autobahn 7.7.x sends these and expects a clean close; 1012–1014 are IANA-registered.
    let valid = [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000,
        4999,
    ];
    for code in valid {
        let event = Event::Close(Some((code, Utf8Bytes::from("why"))));
        assert_eq!(decode(&close(code, b"why")), Ok(vec![event]), "{code}");
    }
    // Autobahn 7.9.x expects 1002 for these; 1015 must never be sent either.
    let invalid = [
        0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ];
    for code in invalid {
        assert_eq!(fails_with(&close(code, b"")), PROTOCOL_ERROR, "{code}");
    }
}

#[test]
fn close_reason_must_be_utf8() {
    assert_eq!(
        fails_with(&close(1000, b"\xCE\xBA\xED\xA0\x80")),
        INVALID_PAYLOAD
    );
    assert_eq!(fails_with(&close(1000, b"ends in \xCE")), INVALID_PAYLOAD);
    assert_eq!(
        decode(&close(1000, "κόσμε".as_bytes())),
        Ok(vec![Event::Close(Some((1000, Utf8Bytes::from("κόσμε"))))])
    );
    assert_eq!(
        decode(&masked(FIN | 0x8, b"")),
        Ok(vec![Event::Close(None)])
    );
}

#[test]
fn invalid_text_is_rejected() {
    assert_eq!(fails_with(&masked(FIN | 0x1, b"\xFF")), INVALID_PAYLOAD);
    assert_eq!(
        fails_with(&masked(FIN | 0x1, b"ok\xED\xA0\x80")),
        INVALID_PAYLOAD
    );
    // Binary is not validated.
    assert_eq!(
        decode(&masked(FIN | 0x2, b"\xFF")),
        Ok(vec![binary_event(b"\xFF")])
    );
}

#[test]
fn text_ending_inside_a_code_point_is_rejected() {
    assert_eq!(fails_with(&masked(FIN | 0x1, b"\xCE")), INVALID_PAYLOAD);
    let fragmented = concat(&[masked(0x1, b"\xE2"), masked(FIN, b"\x82")]);
    assert_eq!(fails_with(&fragmented), INVALID_PAYLOAD);
}

#[test]
fn code_points_may_straddle_fragments() {
    let text = "κόσμε€𝄞".as_bytes();
    for cut in 0..=text.len() {
        for second in cut..=text.len() {
            let bytes = concat(&[
                masked(0x1, &text[..cut]),
                masked(FIN | 0x9, b""),
                masked(0x0, &text[cut..second]),
                masked(FIN, &text[second..]),
            ]);
            let events = decode(&bytes);
            assert_eq!(
                events,
                Ok(vec![Event::Ping(Bytes::new()), text_event("κόσμε€𝄞")]),
                "{cut}/{second}"
            );
        }
    }
}

/// Autobahn's fail-fast payloads: valid, then a code point above U+10FFFF whose second
/// byte (payload byte 12) is the first invalid one, then valid again.
const PART1: &[u8] = b"\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5";
/// See [`PART1`].
const PART2: &[u8] = b"\xF4\x90\x80\x80";
/// See [`PART1`].
const PART3: &[u8] = b"\x65\x64\x69\x74\x65\x64";

#[test]
fn invalid_text_fails_before_the_rest_of_a_frame_arrives() {
    // Autobahn 6.4.3/6.4.4: one frame, sent in chops.
    let frame = masked(FIN | 0x1, &[PART1, PART2, PART3].concat());
    let mut decoder = Decoder::new(BIG);
    let mut buf = BytesMut::from(&frame[..6 + PART1.len()]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    buf.extend_from_slice(&frame[6 + PART1.len()..6 + PART1.len() + PART2.len()]);
    assert_eq!(decoder.decode(&mut buf).map_err(|e| e.code), Err(1007));
    // Byte by byte: the error comes with the first invalid byte.
    assert_eq!(
        decode_chunked(&frame, 1).map_err(|(e, fed)| (e.code, fed)),
        Err((1007, 6 + PART1.len() + 2))
    );
}

#[test]
fn invalid_text_fails_before_the_next_fragment_arrives() {
    // Autobahn 6.4.1/6.4.2: three fragments; the second makes the text invalid.
    let first = masked(0x1, PART1);
    let second = masked(0x0, PART2);
    let bytes = concat(&[first.clone(), second]);
    assert_eq!(fails_with(&bytes), INVALID_PAYLOAD);
    let bytes = concat(&[first, masked(0x0, &PART2[..1]), masked(0x0, &PART2[1..])]);
    assert_eq!(
        decode_chunked(&bytes, 1).map_err(|(e, fed)| (e.code, fed)),
        Err((1007, bytes.len() - 2))
    );
    // A pending sequence from the previous fragment fails with the next byte received.
    let bytes = concat(&[masked(0x1, b"\xE2\x82"), masked(FIN, b"AAAA")]);
    assert_eq!(
        decode_chunked(&bytes, 1).map_err(|(e, fed)| (e.code, fed)),
        Err((1007, 8 + 6 + 1))
    );
}

#[test]
fn valid_partial_frames_are_held_until_complete() {
    let frame = text("héllo wörld");
    let mut decoder = Decoder::new(BIG);
    let mut buf = BytesMut::from(&frame[..9]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    buf.extend_from_slice(&frame[9..]);
    assert_eq!(
        decoder.decode(&mut buf),
        Ok(Some(text_event("héllo wörld")))
    );
}

#[test]
fn mask_matches_bytewise_xor_at_any_offset_and_length() {
    let mask = [1, 2, 4, 128];
    for offset in 0..8 {
        for len in 0..40 {
            let mut data: Vec<u8> = (0..len).map(|i: u8| i.wrapping_mul(7)).collect();
            let expected: Vec<u8> = data
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ mask[(offset + i) % 4])
                .collect();
            apply_mask(&mut data, mask, offset);
            assert_eq!(data, expected, "offset {offset}, len {len}");
        }
    }
}

#[test]
fn header_lengths_use_the_shortest_form() {
    let cases: [(usize, &[u8]); 5] = [
        (0, &[0x82, 0]),
        (125, &[0x82, 125]),
        (126, &[0x82, 126, 0, 126]),
        (65_535, &[0x82, 126, 0xFF, 0xFF]),
        (65_536, &[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
    ];
    for (len, expected) in cases {
        let mut out = BytesMut::new();
        encode_header(&mut out, OpCode::Binary, true, false, len);
        assert_eq!(&out[..], expected, "{len}");
        assert_eq!(header_len(len), expected.len());
    }
    let mut out = BytesMut::new();
    encode_header(&mut out, OpCode::Text, false, true, 3);
    encode_header(&mut out, OpCode::Continuation, true, false, 0);
    assert_eq!(&out[..], &[0x41, 3, 0x80, 0]);
}

#[test]
fn encode_frame_writes_header_and_payload() {
    let mut out = BytesMut::new();
    encode_frame(&mut out, OpCode::Text, b"hi");
    encode_frame(&mut out, OpCode::Pong, b"");
    assert_eq!(&out[..], b"\x81\x02hi\x8A\x00");
    let payload = vec![9; 300];
    let mut out = BytesMut::new();
    encode_frame(&mut out, OpCode::Binary, &payload);
    assert_eq!(&out[..4], &[0x82, 126, 1, 44]);
    assert_eq!(&out[4..], &payload[..]);
}

#[test]
fn encode_close_truncates_the_reason_at_a_char_boundary() {
    let mut out = BytesMut::new();
    encode_close(&mut out, 1000, "bye");
    assert_eq!(&out[..], b"\x88\x05\x03\xE8bye");
    for (reason, kept) in [
        ("a".repeat(200), 123),
        ("é".repeat(100), 122),
        ("€".repeat(50), 123),
        ("𝄞".repeat(40), 120),
        ("é".repeat(61), 122),
    ] {
        let mut out = BytesMut::new();
        encode_close(&mut out, 1001, &reason);
        assert_eq!(usize::from(out[1]), 2 + kept, "{reason}");
        assert_eq!(&out[2..4], &1001u16.to_be_bytes());
        assert_eq!(std::str::from_utf8(&out[4..]), Ok(&reason[..kept]));
    }
}

#[test]
fn sendable_close_codes() {
    let sendable: Vec<u16> = (0..=u16::MAX)
        .filter(|&c| is_sendable_close_code(c))
        .collect();
    let expected: Vec<u16> = (1000..=1003)
        .chain(1007..=1014)
        .chain(3000..=4999)
        .collect();
    assert_eq!(sendable, expected);
}
