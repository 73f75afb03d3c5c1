//! Proptest strategies for hostile inputs (feature `proptest`): sequence
//! numbers, every flag combination, sane and insane options, headers,
//! segments concentrated at window edges, payloads, and whole event
//! sequences ([`Input`]) for a connection.

use proptest::collection::vec;
use proptest::prelude::*;
use std::vec;
use std::vec::Vec;

use crate::seq::SeqNum;
use crate::wire::{FastOpen, Flags, SackBlocks, TcpHeader, TcpOptions, Timestamps};

pub use crate::testing::{Input, OwnedSegment, OwnedSegmentSpec, SegSpec, SeqRef};

/// Any sequence number, with the wrap points over-represented.
pub fn seq_num() -> impl Strategy<Value = SeqNum> {
    prop_oneof![
        4 => any::<u32>(),
        1 => prop::sample::select(std::vec![0, 1, u32::MAX, u32::MAX - 1, 1 << 31, (1 << 31) - 1, (1 << 31) + 1]),
    ]
    .prop_map(SeqNum)
}

/// Every one of the 256 flag combinations, equally likely.
pub fn flags() -> impl Strategy<Value = Flags> {
    any::<u8>().prop_map(Flags)
}

fn window_field() -> impl Strategy<Value = u16> {
    prop_oneof![
        2 => Just(0u16),
        1 => Just(1u16),
        1 => Just(u16::MAX),
        4 => any::<u16>(),
    ]
}

/// Options, sane and odd: MSS 0/1/huge, window scale above 14, timestamps
/// at the extremes, up to four SACK blocks anywhere.
pub fn tcp_options() -> impl Strategy<Value = TcpOptions> {
    let mss = prop_oneof![
        2 => Just(None),
        1 => prop::sample::select(std::vec![0u16, 1, 2, 48, 536, 1460, u16::MAX]).prop_map(Some),
        1 => any::<u16>().prop_map(Some),
    ];
    let ws = prop_oneof![
        2 => Just(None),
        2 => (0u8..=14).prop_map(Some),
        1 => prop::sample::select(std::vec![15u8, 16, 31, 128, 255]).prop_map(Some),
    ];
    let ts_val = prop_oneof![
        Just(0u32),
        Just(1u32),
        Just(u32::MAX),
        Just(1u32 << 31),
        any::<u32>()
    ];
    let ts = prop_oneof![
        2 => Just(None),
        2 => (ts_val.clone(), ts_val).prop_map(|(val, ecr)| Some(Timestamps { val, ecr })),
    ];
    let sack = vec((seq_num(), seq_num()), 0..=4).prop_map(|v| {
        let mut s = SackBlocks::new();
        for (l, r) in v {
            s.push(l, r);
        }
        s
    });
    (mss, ws, any::<bool>(), sack, ts).prop_map(
        |(mss, window_scale, sack_permitted, sack, timestamps)| TcpOptions {
            mss,
            window_scale,
            sack_permitted,
            sack,
            timestamps,
            fast_open: None,
        },
    )
}

/// Any header.
pub fn tcp_header() -> impl Strategy<Value = TcpHeader> {
    (
        any::<u16>(),
        any::<u16>(),
        seq_num(),
        seq_num(),
        flags(),
        window_field(),
        any::<u16>(),
        tcp_options(),
    )
        .prop_map(
            |(src_port, dst_port, seq, ack, flags, window, urgent, options)| TcpHeader {
                src_port,
                dst_port,
                seq,
                ack,
                flags,
                window,
                urgent,
                options,
            },
        )
}

/// A payload of up to `max` bytes, empty or small more often than not.
pub fn payload(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => Just(Vec::new()),
        2 => vec(any::<u8>(), 0..=max.min(16)),
        2 => vec(any::<u8>(), 0..=max),
    ]
}

/// `x` near the window `[x, x+wnd)`: its edges plus or minus one, far
/// outside, or anywhere.
fn near(x: SeqNum, wnd: u32) -> impl Strategy<Value = SeqNum> {
    let picks = std::vec![
        x.sub(1),
        x,
        x.add(1),
        x.add(wnd.wrapping_sub(1)),
        x.add(wnd),
        x.add(wnd.wrapping_add(1)),
        x.add(1 << 31),
        x.add((1 << 31) - 1),
        x.sub(1 << 30),
        x.add(wnd).add(1 << 30),
    ];
    prop_oneof![
        6 => prop::sample::select(picks),
        1 => (0..wnd.max(1)).prop_map(move |o| x.add(o)),
        1 => seq_num(),
    ]
}

/// A segment whose SEG.SEQ sits at the edges of the receive window
/// `[rcv_nxt, rcv_nxt+wnd)` and whose SEG.ACK sits at the edges of
/// `[snd_una, snd_nxt]` (or far outside), with any flags, window, options
/// and a payload of up to 3000 bytes.
pub fn segment_near(
    rcv_nxt: SeqNum,
    snd_una: SeqNum,
    snd_nxt: SeqNum,
    wnd: u32,
) -> impl Strategy<Value = OwnedSegment> {
    let ack = prop_oneof![near(snd_una, snd_nxt.dist(snd_una)), near(snd_nxt, 1),];
    (
        near(rcv_nxt, wnd),
        ack,
        flags(),
        window_field(),
        any::<u16>(),
        tcp_options(),
        payload(3000),
    )
        .prop_map(
            |(seq, ack, flags, window, urgent, options, payload)| OwnedSegment {
                seq,
                ack,
                flags,
                window,
                urgent,
                options,
                payload,
            },
        )
}

/// A sequence number relative to the connection's variables, at an edge.
pub fn seq_ref() -> impl Strategy<Value = SeqRef> {
    let off = prop_oneof![
        6 => prop::sample::select(std::vec![-1i32, 0, 1]),
        1 => prop::sample::select(std::vec![i32::MIN, i32::MAX, 1 << 30, -(1 << 30), 2, -2, 3000, -3000]),
        1 => any::<i32>(),
        1 => -3000i32..3000,
    ];
    prop_oneof![
        3 => off.clone().prop_map(SeqRef::RcvNxt),
        2 => off.clone().prop_map(SeqRef::RcvEdge),
        3 => off.clone().prop_map(SeqRef::SndUna),
        3 => off.clone().prop_map(SeqRef::SndNxt),
        1 => off.clone().prop_map(SeqRef::SndEdge),
        1 => off.clone().prop_map(SeqRef::Iss),
        1 => off.prop_map(SeqRef::Irs),
        1 => any::<u32>().prop_map(SeqRef::Abs),
    ]
}

/// A hostile segment relative to the connection it meets.
pub fn seg_spec() -> impl Strategy<Value = SegSpec> {
    let len = prop_oneof![
        3 => Just(0u16),
        2 => 1u16..=16,
        1 => 1u16..=3000,
        1 => prop::sample::select(std::vec![536u16, 1448, 1460, 2048, 3000]),
    ];
    (
        seq_ref(),
        seq_ref(),
        flags(),
        window_field(),
        any::<u16>(),
        tcp_options(),
        len,
        any::<u8>(),
    )
        .prop_map(
            |(seq, ack, flags, window, urgent, options, payload_len, fill)| SegSpec {
                seq,
                ack,
                flags,
                window,
                urgent,
                options,
                payload_len,
                fill,
            },
        )
}

/// A segment with absolute (so mostly far-off) numbers.
pub fn raw_segment() -> impl Strategy<Value = OwnedSegmentSpec> {
    (
        seq_num(),
        seq_num(),
        flags(),
        window_field(),
        tcp_options(),
        0u16..=3000,
    )
        .prop_map(
            |(seq, ack, flags, window, options, payload_len)| OwnedSegmentSpec {
                seq,
                ack,
                flags,
                window,
                options,
                payload_len,
            },
        )
}

/// Time jumps: nothing, a tick, delayed-ACK and RTO scales, 2MSL, days.
pub fn time_jump() -> impl Strategy<Value = u32> {
    prop_oneof![
        1 => Just(0u32),
        2 => prop::sample::select(std::vec![1u32, 40, 200, 201, 1000, 3000, 60_000, 120_000, 240_001]),
        2 => 0u32..5000,
        1 => 0u32..3_600_000,
        1 => Just(30 * 24 * 3600 * 1000),
    ]
}

/// One event: mostly segments, then time, then application calls.
pub fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        24 => seg_spec().prop_map(Input::Segment),
        6 => prop_oneof![
            (seg_spec(), any::<bool>()).prop_map(|(s, good)| Input::Unverified(s, good)),
            (seg_spec(), prop_oneof![0u16..100, 0u16..=5000, Just(u16::MAX)])
                .prop_map(|(s, n)| Input::SegmentRecv(s, n)),
        ],
        2 => raw_segment().prop_map(Input::Raw),
        8 => time_jump().prop_map(Input::Advance),
        6 => prop_oneof![0u16..100, 0u16..=5000, Just(u16::MAX)].prop_map(Input::Send),
        6 => prop_oneof![0u16..100, 0u16..=5000, Just(u16::MAX)].prop_map(Input::Recv),
        2 => Just(Input::Shutdown),
        2 => Just(Input::Close),
        1 => Just(Input::Abort),
        2 => prop_oneof![
            any::<bool>().prop_map(Input::SetNoDelay),
            prop_oneof![0u16..100, 0u16..=5000].prop_map(Input::SendUrgent),
        ],
        2 => prop_oneof![
            any::<u8>().prop_map(Input::DeviceFull),
            (0u8..16).prop_map(Input::TransmitFailed),
            raw_segment().prop_map(Input::TransmitFailedRaw),
        ],
    ]
}

/// A sequence of up to `max` events.
pub fn inputs(max: usize) -> impl Strategy<Value = Vec<Input>> {
    vec(input(), 0..=max)
}

pub use crate::testing::endpoint::{EpInput, HostileMove};

/// Control bits of an answer: mostly ACK, then FIN, RST, SYN mixes, then
/// anything.
fn answer_flags() -> impl Strategy<Value = Flags> {
    prop_oneof![
        6 => Just(Flags::ACK),
        2 => Just(Flags::ACK | Flags::PSH),
        2 => Just(Flags::ACK | Flags::FIN),
        1 => Just(Flags::RST),
        1 => Just(Flags::ACK | Flags::RST),
        1 => Just(Flags::SYN),
        1 => Just(Flags::ACK | Flags::SYN),
        1 => flags(),
    ]
}

/// A shift of an answer's SEQ or ACK: mostly none, then a little, then any.
fn shift() -> impl Strategy<Value = i16> {
    prop_oneof![6 => Just(0i16), 2 => -3i16..=3, 1 => -3000i16..=3000, 1 => any::<i16>()]
}

/// One event for a whole host ([`EpInput`]): mostly answers to what it
/// sent (they reach every state), SYNs and other segments to its ports,
/// time, and the application's calls.
pub fn ep_input() -> impl Strategy<Value = EpInput> {
    let syn = (seq_num(), tcp_options()).prop_map(|(seq, options)| OwnedSegmentSpec {
        seq,
        ack: SeqNum(0),
        flags: Flags::SYN,
        window: 65535,
        options,
        payload_len: 0,
    });
    let spec = prop_oneof![2 => syn, 1 => raw_segment()];
    let app = prop_oneof![
        (any::<u8>(), any::<u8>()).prop_map(|(port, backlog)| EpInput::Listen { port, backlog }),
        any::<u8>().prop_map(EpInput::CloseListener),
        (any::<u8>(), any::<u8>()).prop_map(|(to, port)| EpInput::Connect { to, port }),
        any::<u8>().prop_map(EpInput::Accept),
        (any::<u8>(), 0u16..6000).prop_map(|(i, n)| EpInput::Send(i, n)),
        (any::<u8>(), 0u16..6000).prop_map(|(i, n)| EpInput::Recv(i, n)),
        any::<u8>().prop_map(EpInput::Shutdown),
        any::<u8>().prop_map(EpInput::Close),
        any::<u8>().prop_map(EpInput::Abort),
    ];
    prop_oneof![
        12 => (
            0u8..16,
            answer_flags(),
            shift(),
            shift(),
            prop_oneof![Just(65535u16), Just(0), any::<u16>()],
            prop_oneof![3 => Just(TcpOptions::NONE), 1 => tcp_options()],
            prop_oneof![2 => Just(0u16), 1 => 1u16..=1460],
            any::<bool>(),
        )
            .prop_map(|(k, flags, seq_shift, ack_shift, window, options, len, read)| {
                EpInput::Answer { k, flags, seq_shift, ack_shift, window, options, len, read }
            }),
        4 => (any::<u8>(), any::<u8>(), any::<u8>(), spec, any::<bool>()).prop_map(
            |(from, sport, dport, spec, read)| EpInput::Crafted { from, sport, dport, spec, read }
        ),
        1 => (any::<u8>(), vec(any::<u8>(), 0..80), any::<bool>())
            .prop_map(|(from, bytes, fix)| EpInput::Raw { from, bytes, fix }),
        1 => (any::<u8>(), raw_segment()).prop_map(|(kind, spec)| EpInput::BadAddress { kind, spec }),
        4 => time_jump().prop_map(EpInput::Advance),
        8 => app,
        2 => (
            0u8..16,
            prop_oneof![Just(3u8), Just(11), Just(12), Just(4), any::<u8>()],
            prop_oneof![Just(3u8), Just(4), Just(2), Just(1), any::<u8>()],
            prop_oneof![Just(576u16), Just(1280), any::<u16>()],
            prop_oneof![3 => Just(0i16), 1 => shift()],
            prop_oneof![3 => Just(28u8), 1 => any::<u8>()],
        )
            .prop_map(|(k, icmp_type, code, mtu, seq_shift, cut)| {
                EpInput::Icmp { k, icmp_type, code, mtu, seq_shift, cut }
            }),
        1 => any::<u8>().prop_map(EpInput::SetEcn),
        1 => any::<u8>().prop_map(EpInput::Hold),
        1 => raw_segment().prop_map(|spec| EpInput::NotLocal { spec }),
        2 => prop_oneof![
            any::<u8>().prop_map(EpInput::DeviceFull),
            (0u8..16, 0u8..16, prop::option::weighted(0.2, vec(any::<u8>(), 0..64)))
                .prop_map(|(k, other, bytes)| EpInput::TxFailed { k, other, bytes }),
        ],
    ]
}

/// A sequence of up to `max` host events, starting with a listener on
/// each port so that SYNs find one.
pub fn ep_inputs(max: usize) -> impl Strategy<Value = Vec<EpInput>> {
    vec(ep_input(), 0..=max).prop_map(|v| {
        let mut all = EpInput::listen_everywhere();
        all.extend(v);
        all
    })
}

/// One move of a peer hostile by design ([`HostileMove`]): connections
/// opened and written to (never read), windows shut for good, duplicate
/// ACKs, overlapping data with new bytes, floods of a 4-tuple (TIME-WAIT
/// among them), FINs, closes and time.
pub fn hostile_move() -> impl Strategy<Value = HostileMove> {
    prop_oneof![
        3 => (any::<u8>(), prop_oneof![Just(4096u16), 1u16..20_000])
            .prop_map(|(port, len)| HostileMove::Open { port, len }),
        2 => (any::<u8>(), 1u16..8192).prop_map(|(c, len)| HostileMove::Write { c, len }),
        2 => any::<u8>().prop_map(HostileMove::Close),
        1 => Just(HostileMove::ShutWindow),
        2 => (0u8..16, 1u16..300).prop_map(|(k, n)| HostileMove::DupAcks { k, n }),
        3 => (0u8..16, -3000i16..3000, 1u16..=1460)
            .prop_map(|(k, at, len)| HostileMove::Overlap { k, at, len }),
        2 => (0u8..16, 1u16..500).prop_map(|(k, n)| HostileMove::Flood { k, n }),
        2 => (0u8..16).prop_map(|k| HostileMove::Fin { k }),
        4 => prop_oneof![1u16..200, 200u16..60_000].prop_map(HostileMove::Wait),
        1 => any::<u8>().prop_map(HostileMove::DeviceFull),
    ]
}

/// Up to `max` hostile moves.
pub fn hostile_moves(max: usize) -> impl Strategy<Value = Vec<HostileMove>> {
    vec(hostile_move(), 0..=max)
}

/// [`tcp_options`] with a TCP Fast Open option now and then: a request, or
/// a cookie of 4 to 16 bytes, in either form (RFC 7413 §4.1.1). Kept apart
/// so that the seeded suites built on `tcp_options` draw what they drew.
pub fn tcp_options_with_fast_open() -> impl Strategy<Value = TcpOptions> {
    let fo = prop_oneof![
        2 => Just(None),
        1 => any::<bool>().prop_map(|exp| Some(FastOpen::request(exp))),
        1 => (vec(any::<u8>(), 2..=8), any::<bool>()).prop_map(|(half, exp)| {
            let bytes: Vec<u8> = half.iter().flat_map(|&b| [b, !b]).collect();
            FastOpen::cookie(&bytes, exp)
        }),
    ];
    (tcp_options(), fo).prop_map(|(o, fast_open)| TcpOptions { fast_open, ..o })
}
