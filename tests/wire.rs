//! Integration tests for the wire format: TCP header parse/emit
//! (RFC 9293 §3.1, RFC 7323, RFC 2018) and the Internet checksum
//! (RFC 1071, RFC 9293 §3.1, RFC 8200 §8.1).

use proptest::prelude::*;
use tcpstate::SeqNum;
use tcpstate::wire::checksum::*;
use tcpstate::wire::*;

/// A fixed 20-byte header with the given data offset (in words) and flags.
fn fixed(offset: u8, flags: u8) -> [u8; 20] {
    [
        0x9c,
        0x40, // src 40000
        0x00,
        0x50, // dst 80
        0x12,
        0x34,
        0x56,
        0x78, // seq
        0x9a,
        0xbc,
        0xde,
        0xf0, // ack
        offset << 4,
        flags,
        0xfa,
        0xf0, // window 64240
        0x00,
        0x00, // checksum
        0x00,
        0x07, // urgent
    ]
}

/// A header with `opts` as its option area (padded by the caller to a
/// multiple of 4), followed by `payload`.
fn segment(opts: &[u8], flags: u8, payload: &[u8]) -> Vec<u8> {
    assert_eq!(opts.len() % 4, 0);
    let mut v = fixed(5 + (opts.len() / 4) as u8, flags).to_vec();
    v.extend_from_slice(opts);
    v.extend_from_slice(payload);
    v
}

fn parse_opts(opts: &[u8]) -> Result<TcpOptions, WireError> {
    TcpHeader::parse(&segment(opts, 0x10, b"")).map(|(h, _)| h.options)
}

/// A Linux SYN as captured: 40000 -> 80, seq 0x12345678, window 64240,
/// options `mss 1460, sackOK, TS val 0x000a1b2c ecr 0, nop, wscale 7`.
const LINUX_SYN: [u8; 40] = [
    0x9c, 0x40, 0x00, 0x50, // ports
    0x12, 0x34, 0x56, 0x78, // seq
    0x00, 0x00, 0x00, 0x00, // ack
    0xa0, 0x02, // data offset 10, SYN
    0xfa, 0xf0, // window
    0x00, 0x00, // checksum (not verified by parse)
    0x00, 0x00, // urgent
    0x02, 0x04, 0x05, 0xb4, // MSS 1460
    0x04, 0x02, // SACK permitted
    0x08, 0x0a, 0x00, 0x0a, 0x1b, 0x2c, 0x00, 0x00, 0x00, 0x00, // TS
    0x01, // NOP
    0x03, 0x03, 0x07, // WS 7
];

// ---------------------------------------------------------------------
// Parse: the fixed header and its errors.

#[test]
fn linux_syn_parses_to_the_right_fields() {
    let (h, payload) = TcpHeader::parse(&LINUX_SYN).unwrap();
    assert!(payload.is_empty());
    assert_eq!(h.src_port, 40000);
    assert_eq!(h.dst_port, 80);
    assert_eq!(h.seq, SeqNum(0x1234_5678));
    assert_eq!(h.ack, SeqNum(0));
    assert_eq!(h.flags, Flags::SYN);
    assert_eq!(h.window, 64240);
    assert_eq!(h.urgent, 0);
    assert_eq!(h.options.mss, Some(1460));
    assert!(h.options.sack_permitted);
    assert_eq!(
        h.options.timestamps,
        Some(Timestamps {
            val: 0x000a_1b2c,
            ecr: 0
        })
    );
    assert_eq!(h.options.window_scale, Some(7));
    assert!(h.options.sack.is_empty());
    assert_eq!(h.header_len(), 40);
}

#[test]
fn linux_syn_emits_byte_for_byte() {
    // Our option layout is Linux's: mss, sackOK, TS, nop, wscale.
    let (h, _) = TcpHeader::parse(&LINUX_SYN).unwrap();
    let mut buf = [0xeeu8; 64];
    assert_eq!(h.emit(&mut buf), Ok(40));
    assert_eq!(&buf[..40], &LINUX_SYN[..]);
    assert_eq!(buf[40], 0xee, "emit writes nothing past header_len");
}

#[test]
fn payload_and_fixed_fields() {
    let seg = segment(&[], 0xff, b"hello");
    let (h, payload) = TcpHeader::parse(&seg).unwrap();
    assert_eq!(payload, b"hello");
    assert_eq!(h.ack, SeqNum(0x9abc_def0));
    assert_eq!(h.urgent, 7);
    // Byte 13 is the full 8 flag bits including ECE and CWR (RFC 3168).
    assert_eq!(h.flags, Flags(0xff));
    assert!(h.flags.contains(Flags::ECE | Flags::CWR));
    assert_eq!(h.options, TcpOptions::NONE);
}

#[test]
fn reserved_bits_are_ignored() {
    // RFC 9293 §3.1: the reserved bits (low nibble of byte 12) are ignored.
    let mut seg = segment(&[], 0x10, b"");
    seg[12] |= 0x0f;
    let (h, _) = TcpHeader::parse(&seg).unwrap();
    assert_eq!(h.flags, Flags::ACK);
    let mut out = [0u8; 20];
    h.emit(&mut out).unwrap();
    assert_eq!(out[12], 0x50, "reserved bits are emitted as zero");
}

#[test]
fn too_short() {
    for n in 0..20 {
        assert_eq!(
            TcpHeader::parse(&LINUX_SYN[..n]),
            Err(WireError::TooShort(n))
        );
    }
}

#[test]
fn data_offset_below_five() {
    for off in 0..5 {
        let seg = fixed(off, 0x02);
        assert_eq!(
            TcpHeader::parse(&seg),
            Err(WireError::BadDataOffset {
                offset: off,
                len: 20
            })
        );
    }
}

#[test]
fn data_offset_past_the_end() {
    // Data offset 10 (40 bytes) on a 39-byte segment.
    assert_eq!(
        TcpHeader::parse(&LINUX_SYN[..39]),
        Err(WireError::BadDataOffset {
            offset: 10,
            len: 39
        })
    );
    assert_eq!(
        TcpHeader::parse(&fixed(15, 0)),
        Err(WireError::BadDataOffset {
            offset: 15,
            len: 20
        })
    );
}

// ---------------------------------------------------------------------
// Parse: options.

#[test]
fn option_length_zero() {
    // RFC 9293 §3.1 MUST-7: a length that cannot be right must not be
    // trusted (a 0 would loop forever).
    assert_eq!(
        parse_opts(&[99, 0, 0, 0]),
        Err(WireError::BadOptionLength { kind: 99, len: 0 })
    );
    assert_eq!(
        parse_opts(&[2, 0, 0, 0]),
        Err(WireError::BadOptionLength { kind: 2, len: 0 })
    );
}

#[test]
fn option_length_one() {
    assert_eq!(
        parse_opts(&[1, 1, 8, 1]),
        Err(WireError::BadOptionLength { kind: 8, len: 1 })
    );
}

#[test]
fn option_length_missing() {
    // The kind byte is the last byte of the option area.
    assert_eq!(
        parse_opts(&[1, 1, 1, 2]),
        Err(WireError::BadOptionLength { kind: 2, len: 0 })
    );
}

#[test]
fn option_running_past_the_end() {
    // MUST-7: length 10 with only 8 bytes left in the option area, even
    // though the payload follows (it must not be read as options).
    let seg = segment(&[1, 1, 1, 1, 8, 10, 0, 0], 0x10, &[0; 20]);
    assert_eq!(
        TcpHeader::parse(&seg),
        Err(WireError::BadOptionLength { kind: 8, len: 10 })
    );
    assert_eq!(
        parse_opts(&[1, 1, 99, 3]),
        Err(WireError::BadOptionLength { kind: 99, len: 3 })
    );
}

#[test]
fn wrong_fixed_sizes() {
    let cases: &[(&[u8], u8, u8)] = &[
        (&[2, 3, 5, 1], 2, 3),                           // MSS must be 4
        (&[2, 5, 5, 180, 0, 1, 1, 1], 2, 5),             // MSS must be 4
        (&[3, 4, 7, 0], 3, 4),                           // WS must be 3
        (&[3, 2, 1, 1], 3, 2),                           // WS must be 3
        (&[4, 3, 0, 0], 4, 3),                           // SACK-perm must be 2
        (&[8, 8, 0, 0, 0, 0, 0, 0], 8, 8),               // TS must be 10
        (&[8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 8, 12), // TS must be 10
        (&[5, 2, 0, 0], 5, 2),                           // SACK needs a block
        (&[5, 6, 0, 0, 0, 0, 0, 0], 5, 6),               // SACK 2+8n
        (&[5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 5, 11), // SACK 2+8n
    ];
    for &(opts, kind, len) in cases {
        let mut padded = opts.to_vec();
        while padded.len() % 4 != 0 {
            padded.push(0);
        }
        assert_eq!(
            parse_opts(&padded),
            Err(WireError::BadOptionSize { kind, len }),
            "{opts:?}"
        );
    }
    // Five SACK blocks (42 bytes) cannot fit in a header: the length runs
    // past the option area first.
    let mut five = vec![5u8, 42];
    five.resize(40, 0);
    assert_eq!(
        parse_opts(&five),
        Err(WireError::BadOptionLength { kind: 5, len: 42 })
    );
}

#[test]
fn unknown_option_is_skipped() {
    // RFC 9293 §3.1 MUST-6: unknown kind 99 with length 6 is skipped and
    // the options after it are still parsed.
    let opts = [99, 6, 0xde, 0xad, 0xbe, 0xef, 2, 4, 0x05, 0xb4, 0, 0];
    let o = parse_opts(&opts).unwrap();
    assert_eq!(o.mss, Some(1460));
    assert_eq!(o.window_scale, None);
}

#[test]
fn mss_at_odd_offset() {
    // MUST-64: options may begin on any octet boundary.
    let o = parse_opts(&[1, 2, 4, 0x21, 0x40, 0, 0, 0]).unwrap();
    assert_eq!(o.mss, Some(0x2140));
    // Timestamps at offset 3, window scale at offset 1.
    let o = parse_opts(&[1, 3, 3, 14, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0]).unwrap();
    assert_eq!(o.window_scale, Some(14));
    assert_eq!(o.timestamps, Some(Timestamps { val: 1, ecr: 2 }));
}

#[test]
fn eol_stops_parsing() {
    // Anything after EOL is padding, even if it would be an error.
    let o = parse_opts(&[2, 4, 1, 0, 0, 0, 1, 0]).unwrap();
    assert_eq!(o.mss, Some(256));
    let o = parse_opts(&[0, 2, 0xff, 0xff]).unwrap();
    assert_eq!(o, TcpOptions::NONE);
}

#[test]
fn options_on_non_syn_segments() {
    // The parser does not police which segments carry which options
    // (MUST-65 etc. are the engine's business): a pure ACK with TS and SACK.
    let opts = [
        1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6, // NOP NOP TS
        1, 1, 5, 18, // NOP NOP SACK, 2 blocks
        0, 0, 0, 10, 0, 0, 0, 20, //
        0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 16,
    ];
    let seg = segment(&opts, 0x10, b"x");
    let (h, payload) = TcpHeader::parse(&seg).unwrap();
    assert_eq!(payload, b"x");
    assert_eq!(h.flags, Flags::ACK);
    assert_eq!(h.options.timestamps, Some(Timestamps { val: 5, ecr: 6 }));
    assert_eq!(
        h.options.sack.as_slice(),
        &[(SeqNum(10), SeqNum(20)), (SeqNum(0xffff_fff0), SeqNum(16))]
    );
    // And it emits back to the same bytes (Linux layout for SACK).
    let mut out = [0u8; 60];
    let n = h.emit(&mut out).unwrap();
    assert_eq!(&out[..n], &seg[..seg.len() - 1]);
}

// ---------------------------------------------------------------------
// Emit.

fn opts_with_sack(n: u32, ts: bool) -> TcpHeader {
    let mut h = TcpHeader::default();
    for i in 0..n {
        h.options.sack.push(SeqNum(i * 100), SeqNum(i * 100 + 50));
    }
    if ts {
        h.options.timestamps = Some(Timestamps { val: 1, ecr: 2 });
    }
    h
}

#[test]
fn emit_refuses_options_over_40_bytes() {
    // RFC 2018 §3: with timestamps at most three SACK blocks fit.
    let h = opts_with_sack(4, true);
    assert_eq!(h.options_len(), 48);
    assert_eq!(h.emit(&mut [0u8; 100]), Err(WireError::OptionsTooLong(48)));
    let h = opts_with_sack(3, true);
    assert_eq!(h.options_len(), 40);
    assert_eq!(h.emit(&mut [0u8; 100]), Ok(60));
    let h = opts_with_sack(4, false);
    assert_eq!(h.options_len(), 36);
    assert_eq!(h.emit(&mut [0u8; 100]), Ok(56));
}

#[test]
fn emit_buffer_too_small() {
    let (h, _) = TcpHeader::parse(&LINUX_SYN).unwrap();
    for n in 0..40 {
        let mut buf = vec![0u8; n];
        assert_eq!(
            h.emit(&mut buf),
            Err(WireError::BufferTooSmall { need: 40, have: n })
        );
    }
    // Without options (emit's short way), the fixed 20 bytes.
    let bare = TcpHeader {
        options: TcpOptions::NONE,
        ..h
    };
    assert!(bare.options.is_empty() && !h.options.is_empty());
    for n in 0..20 {
        let mut buf = vec![0u8; n];
        assert_eq!(
            bare.emit(&mut buf),
            Err(WireError::BufferTooSmall { need: 20, have: n })
        );
    }
    let mut buf = [0xeeu8; 21];
    assert_eq!(bare.emit(&mut buf), Ok(20));
    assert_eq!(buf[12], 0x50, "data offset 5 words");
    assert_eq!(buf[20], 0xee, "emit writes nothing past 20 bytes");
    assert_eq!(TcpHeader::parse(&buf[..20]).unwrap().0, bare);
}

#[test]
fn emit_layouts() {
    let mut h = TcpHeader::default();
    h.options.timestamps = Some(Timestamps {
        val: 0x0102_0304,
        ecr: 0x0506_0708,
    });
    let mut buf = [0u8; 60];
    assert_eq!(h.emit(&mut buf), Ok(32));
    assert_eq!(buf[12], 0x80, "data offset 8 words");
    assert_eq!(&buf[20..32], &[1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8]);

    // SACK-permitted without timestamps: NOP NOP SACK_PERM.
    let mut h = TcpHeader::default();
    h.options.sack_permitted = true;
    h.options.mss = Some(536);
    h.options.window_scale = Some(15); // not clamped on the wire
    assert_eq!(h.emit(&mut buf), Ok(32));
    assert_eq!(&buf[20..32], &[2, 4, 0x02, 0x18, 1, 1, 4, 2, 1, 3, 3, 15]);
    assert_eq!(TcpHeader::parse(&buf[..32]).unwrap().0, h);

    // No options: a bare 20-byte header.
    let h = TcpHeader::default();
    assert_eq!(h.header_len(), 20);
    assert_eq!(h.emit(&mut buf), Ok(20));
    assert_eq!(buf[12], 0x50);
}

// ---------------------------------------------------------------------
// Property tests.

fn seq() -> impl Strategy<Value = SeqNum> {
    any::<u32>().prop_map(SeqNum)
}

fn options() -> impl Strategy<Value = TcpOptions> {
    (
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<u8>()),
        any::<bool>(),
        proptest::collection::vec((seq(), seq()), 0..=4),
        proptest::option::of((any::<u32>(), any::<u32>())),
        fast_open(),
    )
        .prop_map(
            |(mss, window_scale, sack_permitted, blocks, ts, fast_open)| {
                let mut sack = SackBlocks::new();
                for (l, r) in blocks {
                    sack.push(l, r);
                }
                TcpOptions {
                    mss,
                    window_scale,
                    sack_permitted,
                    sack,
                    timestamps: ts.map(|(val, ecr)| Timestamps { val, ecr }),
                    fast_open,
                }
            },
        )
}

/// No Fast Open option, a request, or a cookie of 0 to 18 bytes (the
/// invalid lengths are refused by `FastOpen::cookie`).
fn fast_open() -> impl Strategy<Value = Option<FastOpen>> {
    prop_oneof![
        3 => Just(None),
        1 => any::<bool>().prop_map(|exp| Some(FastOpen::request(exp))),
        2 => (proptest::collection::vec(any::<u8>(), 0..=18), any::<bool>())
            .prop_map(|(c, exp)| FastOpen::cookie(&c, exp)),
    ]
}

fn header() -> impl Strategy<Value = TcpHeader> {
    (
        any::<u16>(),
        any::<u16>(),
        seq(),
        seq(),
        any::<u8>(),
        any::<u16>(),
        any::<u16>(),
        options(),
    )
        .prop_map(
            |(src_port, dst_port, seq, ack, flags, window, urgent, options)| TcpHeader {
                src_port,
                dst_port,
                seq,
                ack,
                flags: Flags(flags),
                window,
                urgent,
                options,
            },
        )
}

proptest! {
    #[test]
    fn emit_then_parse_round_trips(
        h in header().prop_filter("options fit", |h| h.options_len() <= 40),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut buf = vec![0u8; h.header_len() + payload.len()];
        let n = h.emit(&mut buf).unwrap();
        prop_assert_eq!(n, h.header_len());
        prop_assert_eq!(n % 4, 0);
        prop_assert_eq!(h.options.is_empty(), n == 20);
        buf[n..].copy_from_slice(&payload);
        let (parsed, rest) = TcpHeader::parse(&buf).unwrap();
        prop_assert_eq!(parsed, h);
        prop_assert_eq!(rest, &payload[..]);
    }

    #[test]
    fn emit_refuses_or_round_trips(h in header()) {
        let mut buf = [0u8; 80];
        match h.emit(&mut buf) {
            Ok(n) => prop_assert_eq!(TcpHeader::parse(&buf[..n]).unwrap().0, h),
            Err(e) => {
                prop_assert!(h.options_len() > 40);
                prop_assert_eq!(e, WireError::OptionsTooLong(h.options_len()));
            }
        }
    }

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let _ = TcpHeader::parse(&bytes);
    }

    #[test]
    fn parse_random_option_area_never_panics(
        offset in 5u8..=15,
        flags in any::<u8>(),
        area in proptest::collection::vec(any::<u8>(), 40),
        extra in 0usize..8,
    ) {
        let mut seg = fixed(offset, flags).to_vec();
        seg.extend_from_slice(&area);
        seg.truncate(usize::from(offset) * 4 + extra.min(area.len()));
        if let Ok((h, payload)) = TcpHeader::parse(&seg) {
            prop_assert_eq!(payload.len(), seg.len() - usize::from(offset) * 4);
            // Whatever parsed can be emitted again if it fits.
            if h.options_len() <= 40 {
                let mut out = [0u8; 60];
                let n = h.emit(&mut out).unwrap();
                prop_assert_eq!(TcpHeader::parse(&out[..n]).unwrap().0, h);
            }
        }
    }

    #[test]
    fn parse_random_options_mostly_known_kinds(
        area in proptest::collection::vec(
            prop_oneof![0u8..=10, any::<u8>()], 0..=40),
    ) {
        let mut area = area;
        while area.len() % 4 != 0 {
            area.push(1);
        }
        let _ = parse_opts(&area);
    }

    #[test]
    fn checksum_round_trips_v4(
        src in any::<[u8; 4]>(),
        dst in any::<[u8; 4]>(),
        mut seg in proptest::collection::vec(any::<u8>(), 18..200),
    ) {
        fill_checksum_v4(src, dst, &mut seg);
        prop_assert!(verify_v4(src, dst, &seg));
    }

    #[test]
    fn checksum_round_trips_v6(
        src in any::<[u8; 16]>(),
        dst in any::<[u8; 16]>(),
        mut seg in proptest::collection::vec(any::<u8>(), 18..200),
    ) {
        fill_checksum_v6(src, dst, &mut seg);
        prop_assert!(verify_v6(src, dst, &seg));
    }
}

// ---------------------------------------------------------------------
// Checksum known answers (RFC 9293 §3.1, RFC 8200 §8.1).

/// The Linux SYN with a 3-byte (odd) payload `hi!`.
fn kat_segment() -> Vec<u8> {
    let mut v = LINUX_SYN.to_vec();
    v.extend_from_slice(b"hi!");
    v
}

const SRC4: [u8; 4] = [192, 168, 1, 2];
const DST4: [u8; 4] = [192, 168, 1, 1];
const SRC6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const DST6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

fn every_bit_flip_fails(seg: &[u8], verify: impl Fn(&[u8]) -> bool) {
    let mut s = seg.to_vec();
    for i in 0..s.len() {
        for bit in 0..8 {
            s[i] ^= 1 << bit;
            assert!(!verify(&s), "flip byte {i} bit {bit}");
            s[i] ^= 1 << bit;
        }
    }
    assert!(verify(&s));
}

#[test]
fn checksum_known_answer_v4() {
    // Computed independently (16-bit big-endian word sum over the
    // pseudo-header 192.168.1.2 > 192.168.1.1, proto 6, length 43, and the
    // segment, odd byte padded with zero).
    let mut seg = kat_segment();
    assert_eq!(tcp_checksum_v4(SRC4, DST4, &seg), 0x1fdc);
    fill_checksum_v4(SRC4, DST4, &mut seg);
    assert_eq!(&seg[16..18], &[0x1f, 0xdc]);
    assert!(verify_v4(SRC4, DST4, &seg));
    every_bit_flip_fails(&seg, |s| verify_v4(SRC4, DST4, s));
    // The pseudo-header matters: other addresses do not verify.
    assert!(!verify_v4(DST4, [192, 168, 1, 3], &seg));
    // Filling again is idempotent (the field is zeroed first).
    let before = seg.clone();
    fill_checksum_v4(SRC4, DST4, &mut seg);
    assert_eq!(seg, before);
}

#[test]
fn checksum_known_answer_v6() {
    let mut seg = kat_segment();
    assert_eq!(tcp_checksum_v6(SRC6, DST6, &seg), 0x47bb);
    fill_checksum_v6(SRC6, DST6, &mut seg);
    assert_eq!(&seg[16..18], &[0x47, 0xbb]);
    assert!(verify_v6(SRC6, DST6, &seg));
    every_bit_flip_fails(&seg, |s| verify_v6(SRC6, DST6, s));
    assert!(!verify_v6(DST6, SRC6, &seg[..seg.len() - 1]));
}

#[test]
fn checksum_short_segment_is_left_alone() {
    let mut seg = [0xaau8; 17];
    fill_checksum_v4(SRC4, DST4, &mut seg);
    fill_checksum_v6(SRC6, DST6, &mut seg);
    assert_eq!(seg, [0xaa; 17]);
}

/// The ECN field (RFC 3168 §5): the two low bits of the TOS / traffic
/// class byte, 00 Not-ECT, 01 ECT(1), 10 ECT(0), 11 CE; the six DSCP bits
/// above are ignored.
#[test]
fn ecn_codepoints() {
    let table = [
        (0b00, Ecn::NotEct, false),
        (0b01, Ecn::Ect1, false),
        (0b10, Ecn::Ect0, false),
        (0b11, Ecn::Ce, true),
    ];
    for (bits, ecn, ce) in table {
        for dscp in [0u8, 0b1011_1000, 0xfc] {
            assert_eq!(Ecn::from_bits(dscp | bits), ecn, "{dscp:#x} | {bits:#b}");
        }
        assert_eq!(ecn.bits(), bits);
        assert_eq!(ecn.is_ce(), ce, "{ecn:?}");
    }
    assert_eq!(Ecn::default(), Ecn::NotEct);
}

/// Each control bit has its own predicate (RFC 9293 §3.1: FIN 0x01, SYN
/// 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20; RFC 3168 §23.2: ECE 0x40,
/// CWR 0x80), `contains` wants every bit and `intersects` any, `|` and
/// `|=` combine, and `Debug` prints tcpdump's notation.
#[test]
fn flags_bits_predicates_and_tcpdump_notation() {
    let all = [
        Flags::FIN,
        Flags::SYN,
        Flags::RST,
        Flags::PSH,
        Flags::ACK,
        Flags::URG,
        Flags::ECE,
        Flags::CWR,
    ];
    assert_eq!(all.map(|f| f.0), [1, 2, 4, 8, 16, 32, 64, 128]);
    for (i, f) in all.into_iter().enumerate() {
        let preds = [f.fin(), f.syn(), f.rst(), f.psh(), f.ack(), f.urg()];
        for (j, p) in preds.into_iter().enumerate() {
            assert_eq!(p, i == j, "{f:?} predicate {j}");
        }
    }
    let none = Flags::NONE;
    assert!(
        ![
            none.fin(),
            none.syn(),
            none.rst(),
            none.psh(),
            none.ack(),
            none.urg()
        ]
        .contains(&true)
    );
    let sa = Flags::SYN | Flags::ACK;
    assert_eq!(sa, Flags(0x12));
    let mut f = Flags::SYN;
    f |= Flags::ACK;
    assert_eq!(f, sa);
    assert!(sa.contains(Flags::ACK) && sa.contains(sa) && sa.contains(Flags::NONE));
    assert!(!sa.contains(Flags::FIN | Flags::ACK));
    assert!(sa.intersects(Flags::FIN | Flags::ACK));
    assert!(!sa.intersects(Flags::FIN | Flags::RST) && !sa.intersects(Flags::NONE));
    for (f, s) in [
        (sa, "[S.]"),
        (Flags::FIN | Flags::ACK, "[F.]"),
        (Flags::RST, "[R]"),
        (Flags::FIN | Flags::PSH | Flags::ACK, "[FP.]"),
        (Flags::URG | Flags::ECE | Flags::CWR | Flags::ACK, "[UEW.]"),
        (Flags::NONE, "[]"),
    ] {
        assert_eq!(format!("{f:?}"), s);
    }
}

/// SackBlocks: at most four blocks (RFC 2018 §3), `truncate` keeps the
/// first ones, and equality and hashing see only the blocks held.
#[test]
fn sack_blocks_hold_four_and_compare_by_what_they_hold() {
    use std::hash::{DefaultHasher, Hash, Hasher};
    fn hash(s: &SackBlocks) -> u64 {
        let mut h = DefaultHasher::new();
        s.hash(&mut h);
        h.finish()
    }
    let b = |k: u32| (SeqNum(k * 100), SeqNum(k * 100 + 50));
    let mut s = SackBlocks::new();
    assert!(s.is_empty() && s.as_slice().is_empty());
    assert_eq!(s.len(), 0);
    for k in 1..=4 {
        assert!(s.push(b(k).0, b(k).1));
        assert_eq!(s.len(), k as usize);
        assert!(!s.is_empty());
    }
    assert!(!s.push(b(5).0, b(5).1), "a fifth block is refused");
    assert_eq!(s.as_slice(), [b(1), b(2), b(3), b(4)]);
    let full = s;
    s.truncate(4);
    assert_eq!(s, full);
    s.truncate(9);
    assert_eq!(s.len(), 4);
    s.truncate(2);
    assert_eq!(s.as_slice(), [b(1), b(2)]);
    // Equal to a fresh pair of the same blocks, stale entries aside.
    let mut two = SackBlocks::new();
    two.push(b(1).0, b(1).1);
    two.push(b(2).0, b(2).1);
    assert_eq!(s, two);
    assert_eq!(hash(&s), hash(&two));
    assert_ne!(s, full);
    assert_ne!(hash(&s), hash(&full));
    s.truncate(0);
    assert!(s.is_empty());
    assert_eq!(s, SackBlocks::new());
}

/// A header with any one option is not "empty" (it needs an option area).
#[test]
fn tcp_options_is_empty_only_without_any_option() {
    assert!(TcpOptions::NONE.is_empty());
    let mut sack = SackBlocks::new();
    sack.push(SeqNum(1), SeqNum(2));
    let one_each = [
        TcpOptions {
            mss: Some(1460),
            ..TcpOptions::NONE
        },
        TcpOptions {
            window_scale: Some(7),
            ..TcpOptions::NONE
        },
        TcpOptions {
            sack_permitted: true,
            ..TcpOptions::NONE
        },
        TcpOptions {
            sack,
            ..TcpOptions::NONE
        },
        TcpOptions {
            timestamps: Some(Timestamps { val: 1, ecr: 0 }),
            ..TcpOptions::NONE
        },
    ];
    for o in one_each {
        assert!(!o.is_empty(), "{o:?}");
    }
}

/// SEG.LEN counts the payload, plus one for SYN and one for FIN (RFC 9293
/// §3.4).
#[test]
fn seg_len_counts_syn_and_fin() {
    let h = |flags| TcpHeader {
        flags,
        ..TcpHeader::default()
    };
    let payload = [0u8; 10];
    for (flags, data, len) in [
        (Flags::ACK, &payload[..0], 0),
        (Flags::ACK, &payload[..], 10),
        (Flags::SYN, &payload[..0], 1),
        (Flags::FIN | Flags::ACK, &payload[..], 11),
        (Flags::SYN | Flags::FIN, &payload[..], 12),
    ] {
        assert_eq!(Segment::new(&h(flags), data).seg_len(), len, "{flags:?}");
    }
}

// ---------------------------------------------------------------------
// TCP Fast Open (RFC 7413 §4.1.1; the experimental form, RFC 6994).

#[test]
fn fast_open_request_and_cookie_parse() {
    // FO, a cookie request: kind 34, length 2.
    let o = parse_opts(&[34, 2, 1, 1]).unwrap();
    assert_eq!(o.fast_open, Some(FastOpen::request(false)));
    assert!(o.fast_open.unwrap().is_request());
    // FO with a 4-byte cookie, NOP NOP after it (Linux's layout).
    let o = parse_opts(&[34, 6, 0xab, 0xcd, 0x12, 0x34, 1, 1]).unwrap();
    let fo = o.fast_open.unwrap();
    assert_eq!(fo.bytes(), &[0xab, 0xcd, 0x12, 0x34]);
    assert!(!fo.is_exp());
    assert!(!fo.is_request(), "a cookie is not a request");
    // The experimental form: kind 254, magic 0xF989.
    let o = parse_opts(&[254, 4, 0xf9, 0x89]).unwrap();
    assert_eq!(o.fast_open, Some(FastOpen::request(true)));
    let o = parse_opts(&[254, 8, 0xf9, 0x89, 1, 2, 3, 4]).unwrap();
    assert_eq!(o.fast_open, FastOpen::cookie(&[1, 2, 3, 4], true));
    // A 16-byte cookie, the longest.
    let mut area = vec![34, 18];
    area.extend(1..=16u8);
    area.extend([1, 1]);
    assert_eq!(
        parse_opts(&area).unwrap().fast_open.unwrap().bytes().len(),
        16
    );
}

#[test]
fn fast_open_bad_cookies_are_ignored_not_errors() {
    // Linux's tcp_parse_fastopen_option: odd lengths, and lengths outside
    // 4..=16 other than 0, are ignored (the option counts as absent).
    for area in [
        vec![34, 4, 0x11, 0x22],              // 2 bytes: too short
        vec![34, 5, 1, 2, 3, 1, 1, 1],        // 3 bytes: odd
        vec![34, 7, 1, 2, 3, 4, 5, 1],        // 5 bytes: odd
        vec![254, 6, 0xf9, 0x89, 1, 2, 1, 1], // exp, 2 bytes
    ] {
        assert_eq!(parse_opts(&area).unwrap().fast_open, None, "{area:?}");
    }
    let mut area = vec![34, 20];
    area.extend(0..18u8); // 18 bytes: too long
    assert_eq!(parse_opts(&area).unwrap().fast_open, None);
    // Another experiment's ExID is another option: skipped.
    let o = parse_opts(&[254, 4, 0x12, 0x34]).unwrap();
    assert!(o.is_empty());
}

#[test]
fn fast_open_emits_as_linux_does() {
    // A Linux TFO SYN as packetdrill shows it:
    // <mss 1460,nop,nop,sackOK,nop,wscale 8,FO abcd1234,nop,nop>
    let mut h = TcpHeader {
        flags: Flags::SYN,
        ..TcpHeader::default()
    };
    h.options.mss = Some(1460);
    h.options.sack_permitted = true;
    h.options.window_scale = Some(8);
    h.options.fast_open = FastOpen::cookie(&[0xab, 0xcd, 0x12, 0x34], false);
    let mut buf = [0u8; 60];
    let n = h.emit(&mut buf).unwrap();
    assert_eq!(
        &buf[20..n],
        &[
            2, 4, 5, 180, 1, 1, 4, 2, 1, 3, 3, 8, 34, 6, 0xab, 0xcd, 0x12, 0x34, 1, 1
        ]
    );
    // A request: FO,nop,nop; the experimental request: FOEXP, no padding.
    h.options.fast_open = Some(FastOpen::request(false));
    let n = h.emit(&mut buf).unwrap();
    assert_eq!(&buf[32..n], &[34, 2, 1, 1]);
    h.options.fast_open = Some(FastOpen::request(true));
    let n = h.emit(&mut buf).unwrap();
    assert_eq!(&buf[32..n], &[254, 4, 0xf9, 0x89]);
    // The longest cookie with timestamps still fits the 40 bytes.
    h.options.timestamps = Some(Timestamps { val: 1, ecr: 0 });
    h.options.fast_open = FastOpen::cookie(&[7; 16], true);
    assert_eq!(h.options_len(), 40);
    let n = h.emit(&mut buf).unwrap();
    assert_eq!(TcpHeader::parse(&buf[..n]).unwrap().0, h);
}

/// `FastOpen` compares and hashes by what goes on the wire: the form
/// (kind 34, or the experimental kind 254) and the cookie's bytes.
#[test]
fn fast_open_equality_and_hash_are_the_form_and_the_cookie() {
    use std::hash::{DefaultHasher, Hash, Hasher};
    fn hash(f: &FastOpen) -> u64 {
        let mut h = DefaultHasher::new();
        f.hash(&mut h);
        h.finish()
    }
    let a = FastOpen::cookie(&[1, 2, 3, 4], false).unwrap();
    let values = [
        FastOpen::request(false),
        FastOpen::request(true),
        a,
        a.with_exp(true),
        FastOpen::cookie(&[1, 2, 3, 5], false).unwrap(),
        FastOpen::cookie(&[1, 2, 3, 4, 0, 0], false).unwrap(),
    ];
    for (i, x) in values.iter().enumerate() {
        assert_eq!(x.is_request(), i < 2, "{x:?}");
        for (j, y) in values.iter().enumerate() {
            assert_eq!(x == y, i == j, "{x:?} == {y:?}");
            assert_eq!(hash(x) == hash(y), i == j, "hash {x:?}, {y:?}");
        }
    }
    let again = FastOpen::cookie(&[1, 2, 3, 4], false).unwrap();
    assert_eq!((a, hash(&a)), (again, hash(&again)));
}
