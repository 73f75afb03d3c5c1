//! Header prediction and send prediction change nothing: the same inputs
//! through the fast paths and through the full SEGMENT ARRIVES path
//! (RFC 9293 §3.10.7) and the general output path give the same actions,
//! the same segments and the same connection state.

use super::*;
use crate::time::Duration;
use crate::wire::checksum::{fold, ones_complement_sum};
use crate::wire::{Flags, SackBlocks, TcpOptions, Timestamps};
use proptest::prelude::*;

type C = Connection<alloc::vec::Vec<u8>>;

fn drain(c: &mut C, now: Instant) -> std::vec::Vec<(Transmit, std::vec::Vec<u8>)> {
    let mut out = std::vec::Vec::new();
    let mut buf = [0u8; 2048];
    while let Some(t) = c.poll_transmit(now, &mut buf) {
        out.push((t, buf[..t.len].to_vec()));
        assert!(out.len() < 10_000, "poll_transmit does not end");
    }
    out
}

fn seg_of<'a>(t: &Transmit, payload: &'a [u8]) -> Segment<'a> {
    Segment {
        seq: t.seq,
        ack: t.ack,
        flags: t.flags,
        window: t.window,
        urgent: t.urgent,
        options: t.options,
        payload,
    }
}

/// The passive side of a real handshake, in ESTABLISHED (deterministic).
fn established(cfg: &Config) -> C {
    let mut a = C::new(cfg.clone(), Buffers::with_capacity(8192, 8192)).unwrap();
    let mut b = C::new(cfg.clone(), Buffers::with_capacity(8192, 8192)).unwrap();
    let now = Instant::from_secs(1);
    let _ = b.listen(now, SeqNum(1000)).unwrap();
    let _ = a.connect(now, SeqNum(0xffff_f000)).unwrap();
    for _ in 0..3 {
        for (t, p) in drain(&mut a, now) {
            let _ = b.on_segment(now, &seg_of(&t, &p));
        }
        for (t, p) in drain(&mut b, now) {
            let _ = a.on_segment(now, &seg_of(&t, &p));
        }
    }
    assert_eq!(b.state(), State::Established);
    b
}

#[derive(Clone, Debug)]
enum Op {
    /// A segment from the peer. `at`: where SEG.SEQ lies relative to
    /// RCV.NXT; `ack`: how far SEG.ACK is past SND.UNA (modulo what is in
    /// flight plus 3); `flags`: an index into `FLAGS`.
    Seg {
        at: u8,
        len: u16,
        ack: u16,
        flags: u8,
        window: u16,
        sack: bool,
        ts: Option<i8>,
        /// How the fast side gets it: 0 `on_segment`; 1
        /// `on_segment_unverified` with a good checksum; 2 the same with a
        /// bad one (the full side then gets nothing: it must change
        /// nothing); 3 and 4 `on_segment_recv`; 5 `on_segment_bytes` of
        /// the segment as emitted.
        csum: u8,
        /// The IP header carried Congestion Experienced (RFC 3168 §5).
        ce: bool,
    },
    Send(u16),
    Recv(u16),
    Wait(u16),
    /// `send`, then at most this many segments polled: a burst of
    /// predicted segments left open (`send_fast`'s mark set) for the next
    /// op, which must end it.
    SendPart(u16, u8),
    /// At most this many segments polled, nothing called before: a burst
    /// goes on where the op before left it.
    Poll(u8),
    /// Time passes (ms) with no call but the polls after it: a burst left
    /// open ends at the later time.
    Later(u16),
    /// The next this many ops go without polls after them, as from a host
    /// that feeds a batch of segments before it polls (duplicate ACKs are
    /// then owed, `owe_ack`, which a burst must not skip).
    Batch(u8),
}

const FLAGS: [Flags; 10] = [
    Flags::ACK,
    Flags::ACK,
    Flags::ACK,
    Flags(Flags::ACK.0 | Flags::PSH.0),
    Flags(Flags::ACK.0 | Flags::FIN.0),
    Flags(Flags::ACK.0 | Flags::RST.0),
    Flags(Flags::ACK.0 | Flags::SYN.0),
    Flags(Flags::ACK.0 | Flags::ECE.0),
    Flags(Flags::ACK.0 | Flags::URG.0),
    Flags::NONE,
];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (
            0u8..8,
            prop_oneof![Just(0u16), Just(1460), 1u16..1500],
            any::<u16>(),
            0u8..FLAGS.len() as u8,
            prop_oneof![Just(4096u16), Just(0), any::<u16>()],
            proptest::bool::weighted(0.1),
            proptest::option::weighted(0.5, any::<i8>()),
            prop_oneof![2 => Just(0u8), 2 => Just(1u8), 1 => Just(2u8), 2 => Just(3u8), 1 => Just(4u8), 2 => Just(5u8)],
            proptest::bool::weighted(0.1),
        )
            .prop_map(|(at, len, ack, flags, window, sack, ts, csum, ce)| Op::Seg {
                at,
                len,
                ack,
                flags,
                window,
                sack,
                ts,
                csum,
                ce,
            }),
        2 => (0u16..6000).prop_map(Op::Send),
        2 => (0u16..6000).prop_map(Op::Recv),
        1 => (0u16..1500).prop_map(Op::Wait),
        2 => (0u16..6000, 1u8..5).prop_map(|(n, k)| Op::SendPart(n, k)),
        1 => (1u8..5).prop_map(Op::Poll),
        1 => (0u16..30).prop_map(Op::Later),
        1 => (1u8..4).prop_map(Op::Batch),
    ]
}

/// Everything observable about a connection, and the inner state the
/// output path keeps.
fn observe(c: &C) -> std::string::String {
    #[cfg(feature = "testing")]
    let fingerprint = c.fingerprint();
    #[cfg(not(feature = "testing"))]
    let fingerprint = 0;
    let inner = std::format!(
        "fp {fingerprint} adv {:?} las {:?} sml {:?} ls {:?} us {:?} rtt {:?} log {:?} pp {} q {} tlp {} {} t {:?} fs {} ece {} cwr {}",
        c.rcv_adv,
        c.last_ack_sent,
        c.snd_sml,
        c.last_send,
        c.unacked_since,
        c.rtt_sample,
        c.sent_log,
        c.pingpong(),
        c.quick,
        c.tlp_armed(),
        c.tlp_out(),
        c.timers,
        c.force_send(),
        c.ece_pending(),
        c.cwr_pending(),
    );
    inner
        + &std::format!(
            "{:?} una {:?} nxt {:?} rnxt {:?} wnd {} cwnd {} rq {} sq {} dl {:?} rto {:?} srtt {:?} cr {:?} {:?}",
            c.state(),
            c.snd_una(),
            c.snd_nxt(),
            c.rcv_nxt(),
            c.snd_wnd(),
            c.cwnd(),
            c.recv_queue(),
            c.send_queue(),
            c.deadline(),
            c.rto(),
            c.srtt(),
            c.close_reason(),
            c.stats()
        )
}

/// How many of the segments sent went through each output fast path.
#[derive(Clone, Copy, Debug, Default)]
struct Predicted {
    /// Send prediction: a full segment of new data (`send_fast`).
    data: usize,
    /// The idle receiver's pure ACK (`send_ack_fast`).
    acks: usize,
}

/// Runs `ops` on two connections, one with the fast paths and one without,
/// and compares them after every step. Returns how many of the segments sent
/// went through the output fast paths.
fn run(cfg: &Config, ops: &[Op]) -> Result<Predicted, TestCaseError> {
    let mut fast = established(cfg);
    let mut full = established(cfg);
    full.set_no_fast_path(true);
    // The comparison means something only if the switch takes: no header
    // or send prediction on `full` (a bit of its own packed config).
    debug_assert!(full.no_fast_path() && !fast.no_fast_path());
    let mut predicted = Predicted::default();
    // Ops left whose polls a batch (`Op::Batch`) holds back.
    let mut batch = 0u8;
    let mut now = Instant::from_secs(1);
    let data = [0x5au8; 6000];
    let mut buf = [0u8; 6000];
    for (i, op) in ops.iter().enumerate() {
        // Whether the op went through an entry point to its `finish` (a
        // refused call or a bad checksum changes nothing).
        let mut ran = true;
        let (a1, a2) = match *op {
            Op::Seg {
                at,
                len,
                ack,
                flags,
                window,
                sack,
                ts,
                csum,
                ce,
            } => {
                let c = &fast;
                let len = u32::from(len);
                let seq = match at {
                    0..=3 => c.rcv_nxt,
                    4 => c.rcv_nxt.sub(len / 2 + 1),
                    5 => c.rcv_nxt.add(len.max(1)),
                    6 => c.rcv_nxt.sub(1),
                    _ => c.rcv_nxt.add(70_000),
                };
                let span = c.snd_max.dist(c.snd_una) + 3;
                let ack = c.snd_una.add(u32::from(ack) % span).sub(1);
                let mut options = TcpOptions::NONE;
                if sack {
                    let mut s = SackBlocks::new();
                    s.push(c.snd_una.add(100), c.snd_una.add(1560));
                    options.sack = s;
                }
                if let Some(d) = ts {
                    options.timestamps = Some(Timestamps {
                        val: c.ts_recent.wrapping_add(d as u32),
                        ecr: c.ts_val(now).wrapping_sub(5),
                    });
                }
                let payload: std::vec::Vec<u8> =
                    (0..len).map(|k| seq.0.wrapping_add(k) as u8).collect();
                let seg = Segment {
                    seq,
                    ack,
                    flags: FLAGS[usize::from(flags)],
                    window,
                    urgent: 0,
                    options,
                    payload: &payload,
                };
                // A partial sum for "pseudo-header and TCP header" that
                // makes the checksum verify, or (csum 2) one that cannot.
                let good = u32::from(!fold(ones_complement_sum(&payload, 0)));
                match csum {
                    0 => (
                        fast.on_segment_ecn(now, &seg, ce),
                        full.on_segment_ecn(now, &seg, ce),
                    ),
                    1 => (
                        fast.on_segment_unverified(now, &seg, ce, good)
                            .expect("good checksum"),
                        full.on_segment_ecn(now, &seg, ce),
                    ),
                    3 | 4 => {
                        // Read at once, into a buffer that holds the
                        // segment (3) or half of it (4): the same as the
                        // segment followed by `recv`.
                        let cap = if csum == 3 {
                            buf.len()
                        } else {
                            len as usize / 2
                        };
                        let o1 = fast.on_segment_recv(now, &seg, ce, &mut buf[..cap]);
                        let got = buf[..o1.len].to_vec();
                        let fin_before = full.fin_received();
                        let mut a2 = full.on_segment_ecn(now, &seg, ce);
                        let n2 = match full.recv(now, &mut buf[..cap]) {
                            Ok(o) => {
                                a2.merge(o.actions);
                                o.len
                            }
                            Err(_) => 0,
                        };
                        prop_assert_eq!(&got[..], &buf[..n2], "read at op {}", i);
                        // Readable only if there is still something to read.
                        if full.recv_queue() == 0
                            && full.fin_received() == fin_before
                            && a2.closed().is_none()
                        {
                            a2.clear_readable();
                        }
                        (o1.actions, a2)
                    }
                    5 => {
                        // The segment as it would arrive: the connection
                        // parses it (a 20-byte header on its own fast path).
                        let h = crate::wire::TcpHeader {
                            src_port: 1,
                            dst_port: 2,
                            seq,
                            ack: seg.ack,
                            flags: seg.flags,
                            window,
                            urgent: 0,
                            options,
                        };
                        let mut bytes = std::vec![0u8; 60];
                        let n = h.emit(&mut bytes).expect("header fits");
                        bytes.truncate(n);
                        bytes.extend_from_slice(&payload);
                        (
                            fast.on_segment_bytes(now, &bytes, ce).expect("parses"),
                            full.on_segment_ecn(now, &seg, ce),
                        )
                    }
                    _ => {
                        let bad = fast.on_segment_unverified(now, &seg, ce, good + 1);
                        prop_assert_eq!(bad, Err(WireError::BadChecksum), "op {}", i);
                        ran = false;
                        (Actions::NONE, Actions::NONE)
                    }
                }
            }
            Op::Send(n) | Op::SendPart(n, _) => {
                let n = usize::from(n);
                let r1 = fast.send(now, &data[..n]).map(|o| (o.actions, o.len));
                ran = r1.is_ok();
                (r1, full.send(now, &data[..n]).map(|o| (o.actions, o.len))).pipe_eq(i)?
            }
            Op::Recv(n) => {
                let n = usize::from(n);
                let r1 = fast.recv(now, &mut buf[..n]).map(|o| (o.actions, o.len));
                let got = buf[..r1.map_or(0, |r| r.1)].to_vec();
                let r2 = full.recv(now, &mut buf[..n]).map(|o| (o.actions, o.len));
                ran = r1.is_ok();
                prop_assert_eq!(&got[..], &buf[..r2.map_or(0, |r| r.1)], "op {}", i);
                (r1, r2).pipe_eq(i)?
            }
            Op::Wait(ms) => {
                now += Duration::from_millis(u64::from(ms));
                (fast.on_timer(now), full.on_timer(now))
            }
            // No call into the connection: `finish` did not run, and the
            // copy it keeps may be behind a timer `poll_transmit` armed
            // (the Endpoint reads `deadline_now` after a poll).
            Op::Poll(_) => {
                ran = false;
                (Actions::NONE, Actions::NONE)
            }
            Op::Batch(n) => {
                batch = n;
                ran = false;
                (Actions::NONE, Actions::NONE)
            }
            Op::Later(ms) => {
                now += Duration::from_millis(u64::from(ms));
                ran = false;
                (Actions::NONE, Actions::NONE)
            }
        };
        // Polled until `None`, or (a burst left open) a few segments, or
        // (in a batch) not at all.
        let limit = match *op {
            Op::Batch(_) => 0,
            _ if batch > 0 => {
                batch -= 1;
                0
            }
            Op::SendPart(_, k) | Op::Poll(k) => usize::from(k),
            _ => usize::MAX,
        };
        prop_assert_eq!(a1, a2, "actions differ at op {}: {:?}", i, op);
        // The Endpoint reads the earliest timer from the copy `finish`
        // keeps (`deadline_settled`), not the timers: a timer that moved
        // behind `finish`'s back would leave that copy stale, and the
        // connection stuck in the Endpoint's wheel.
        if ran {
            for c in [&fast, &full] {
                let kept = c.reported_deadline;
                prop_assert_eq!(kept, c.earliest_timer(), "stale deadline at op {}", i);
                prop_assert_eq!(c.deadline_settled(), kept);
            }
        }
        // Drained one segment at a time, so that the state is compared
        // after each, and send prediction is counted.
        let mut sent = 0;
        while sent < limit {
            let mut b1 = [0u8; 2048];
            let mut b2 = [0u8; 2048];
            if fast.send_predict(b1.len()).is_some() {
                predicted.data += 1;
            }
            let idle = fast.idle_predict() && fast.ack_now();
            let t1 = fast.poll_transmit(now, &mut b1);
            if idle && t1.is_some_and(|t| t.flags == Flags::ACK && t.len == 0) {
                predicted.acks += 1;
            }
            let t2 = full.poll_transmit(now, &mut b2);
            prop_assert_eq!(t1, t2, "segment {} at op {}", sent, i);
            let Some(t) = t1 else { break };
            prop_assert_eq!(&b1[..t.len], &b2[..t.len], "payload {} at op {}", sent, i);
            prop_assert_eq!(
                observe(&fast),
                observe(&full),
                "state after segment {} at op {}",
                sent,
                i
            );
            prop_assert_eq!(
                fast.deadline(),
                full.deadline(),
                "deadline after segment {} at op {}",
                sent,
                i
            );
            sent += 1;
            prop_assert!(sent < 10_000, "poll_transmit does not end");
        }
        prop_assert_eq!(observe(&fast), observe(&full), "state at op {}", i);
    }
    Ok(predicted)
}

/// Compares the results of an app call on both connections and passes on
/// their actions.
trait PipeEq {
    fn pipe_eq(self, i: usize) -> Result<(Actions, Actions), TestCaseError>;
}

impl<E: PartialEq + core::fmt::Debug> PipeEq
    for (Result<(Actions, usize), E>, Result<(Actions, usize), E>)
{
    fn pipe_eq(self, i: usize) -> Result<(Actions, Actions), TestCaseError> {
        prop_assert_eq!(&self.0, &self.1, "app call at op {}", i);
        Ok(match self.0 {
            Ok((a, _)) => (a, self.1.map_or(Actions::NONE, |r| r.0)),
            Err(_) => (Actions::NONE, Actions::NONE),
        })
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn fast_path_matches_full_path_rfc9293(ops in proptest::collection::vec(op(), 1..60)) {
        run(&Config::rfc9293(), &ops)?;
    }

    #[test]
    fn fast_path_matches_full_path_linux_no_timestamps(ops in proptest::collection::vec(op(), 1..60)) {
        let cfg = Config { timestamps: false, keepalive: Some(Config::default_keepalive()), ..Config::linux() };
        run(&cfg, &ops)?;
    }
}

/// `ops` of 400 rounds: a full in-order segment at RCV.NXT with
/// timestamps, whose ACK is SND.UNA (nothing of ours acknowledged), taken
/// in by way `csum(k)` (see `Op::Seg`) with CE set when `ce(k)`; then a
/// read of 6000 bytes every third round and our own `send(k)` bytes.
fn in_order_rounds(
    csum: impl Fn(usize) -> u8,
    ce: impl Fn(usize) -> bool,
    send: impl Fn(usize) -> u16,
) -> std::vec::Vec<Op> {
    (0..400)
        .flat_map(|k| {
            [
                Op::Seg {
                    at: 0,
                    len: 1460,
                    ack: 1,
                    flags: 0,
                    window: 8192,
                    sack: false,
                    ts: Some(1),
                    csum: csum(k),
                    ce: ce(k),
                },
                Op::Recv(if k % 3 == 0 { 6000 } else { 0 }),
                Op::Send(send(k)),
            ]
        })
        .collect()
}

#[test]
fn bulk_in_order_data_takes_the_fast_path_and_matches() {
    // A long in-order run: most segments go through header prediction.
    // Every way in: a bad checksum on one in eight, read at once on two,
    // parsed by the connection (`on_segment_bytes`) on two.
    let ops = in_order_rounds(
        |k| [0, 1, 2, 1, 3, 3, 5, 5][k % 8],
        |_| false,
        |k| if k % 5 == 0 { 700 } else { 0 },
    );
    run(&Config::rfc9293(), &ops).unwrap();
}

/// `on_segment_bytes` over a whole connection's life (handshake, data
/// both ways, data into a half-closed connection, close from both sides,
/// TIME-WAIT), with and without
/// timestamps: every segment parsed by the connection gives the actions,
/// the segments and the state that `on_segment_ecn` of the parsed segment
/// gives, in every state the connection passes through.
#[test]
fn segment_bytes_match_parsed_segments_over_a_whole_connection() {
    for cfg in [Config::rfc9293(), Config::linux()] {
        let new = || C::new(cfg.clone(), Buffers::with_capacity(8192, 8192)).unwrap();
        // [bytes side, parsed side] of each end.
        let (mut a, mut b) = ([new(), new()], [new(), new()]);
        let mut now = Instant::from_secs(1);
        for c in &mut b {
            let _ = c.listen(now, SeqNum(1000)).unwrap();
        }
        for c in &mut a {
            let _ = c.connect(now, SeqNum(0xffff_f000)).unwrap();
        }
        let data = [0x5au8; 5000];
        let mut states = std::collections::BTreeSet::new();
        for step in 0..40 {
            match step {
                5 | 9 => {
                    for c in a.iter_mut().chain(b.iter_mut()) {
                        let _ = c.send(now, &data[..1460 * 3 + step]).unwrap();
                    }
                }
                // Data into a half-closed connection (FIN-WAIT-2).
                20 => {
                    for c in &mut b {
                        let _ = c.send(now, &data[..1460 * 2]).unwrap();
                    }
                }
                // (b's close fails when its data after a's close met a
                // RST, RFC 9293 §3.6.1, as the connection configured.)
                14 | 26 => {
                    for c in if step == 14 { &mut a } else { &mut b } {
                        let _ = c.close(now);
                    }
                }
                _ => {}
            }
            for dir in 0..2 {
                let (from, to) = if dir == 0 {
                    (&mut a, &mut b)
                } else {
                    (&mut b, &mut a)
                };
                let out: [_; 2] = [drain(&mut from[0], now), drain(&mut from[1], now)];
                assert_eq!(out[0], out[1], "step {step}");
                for (t, p) in &out[0] {
                    let mut bytes = std::vec![0u8; 60];
                    let n = t.header(7, 8).emit(&mut bytes).expect("header fits");
                    bytes.truncate(n);
                    bytes.extend_from_slice(p);
                    states.insert(to[0].state());
                    let a1 = to[0].on_segment_bytes(now, &bytes, false).expect("parses");
                    let a2 = to[1].on_segment_ecn(now, &seg_of(t, p), false);
                    assert_eq!(a1, a2, "step {step}: {t:?}");
                    assert_eq!(observe(&to[0]), observe(&to[1]), "step {step}");
                }
            }
            let mut buf = [0u8; 8192];
            for c in a.iter_mut().chain(b.iter_mut()) {
                let _ = c.recv(now, &mut buf);
            }
            now += Duration::from_millis(50);
            for c in a.iter_mut().chain(b.iter_mut()) {
                let _ = c.on_timer(now);
            }
        }
        assert!(
            [
                State::SynSent,
                State::Listen,
                State::Established,
                State::FinWait1,
                State::FinWait2,
                State::CloseWait,
            ]
            .iter()
            .all(|s| states.contains(s)),
            "states reached: {states:?}"
        );
    }
}

/// A receiver's ACKs (RFC 9293 §3.8.6.3, RFC 5681 §4.2: at least one for
/// every two full segments) take the idle ACK path (`send_ack_fast`) and
/// match the general path's, with and without timestamps and SACK, with
/// ECN marks to echo, and with a little data of its own unacknowledged
/// (nothing unsent).
#[test]
fn a_receivers_acks_take_the_idle_path_and_match() {
    // Congestion Experienced now and then: with ECN on, the ACKs that
    // follow echo ECE (RFC 3168 §6.1.3). One short segment of ours, left
    // in flight.
    let ops = in_order_rounds(
        |k| [0, 1, 3, 0][k % 4],
        |k| k % 9 == 4,
        |k| if k == 200 { 100 } else { 0 },
    );
    // With ECN the ACKs echo ECE from the first mark on (the peer never
    // answers CWR here): the general path's, compared all the same.
    for (cfg, idle_acks) in [
        (Config::rfc9293(), 150),
        (
            Config {
                timestamps: false,
                sack: false,
                ..Config::linux()
            },
            150,
        ),
        (
            Config {
                ecn: true,
                ..Config::linux()
            },
            0,
        ),
    ] {
        let p = run(&cfg, &ops).unwrap();
        assert!(p.acks >= idle_acks, "{p:?}");
    }
}

#[test]
fn unverified_segment_with_bad_checksum_commits_nothing() {
    let cfg = Config {
        timestamps: false,
        ..Config::rfc9293()
    };
    let mut c = established(&cfg);
    let now = Instant::from_secs(2);
    let mut out = [0u8; 8192];
    // Enough segments that the receive ring wraps at an odd offset.
    for k in 0..40u32 {
        let len = 1459 + (k as usize % 2);
        let payload: std::vec::Vec<u8> = (0..len).map(|i| (i as u32 * 7 + k) as u8).collect();
        let seg = in_order(&c, &payload);
        let good = u32::from(!fold(ones_complement_sum(&payload, 0)));
        let before = (observe(&c), c.ack_now(), c.last_now);
        for bad in [good + 1, good ^ 0x0100, 0] {
            // One flipped bit anywhere changes the sum.
            assert_eq!(
                c.on_segment_unverified(now, &seg, true, bad),
                Err(WireError::BadChecksum)
            );
            assert_eq!(
                (observe(&c), c.ack_now(), c.last_now),
                before,
                "segment {k}"
            );
        }
        let mut corrupt = payload.clone();
        corrupt[len / 2] ^= 0x10;
        let bad_seg = Segment {
            payload: &corrupt,
            ..seg
        };
        assert_eq!(
            c.on_segment_unverified(now, &bad_seg, false, good),
            Err(WireError::BadChecksum)
        );
        assert_eq!((observe(&c), c.ack_now(), c.last_now), before);
        let rnxt = c.rcv_nxt;
        assert!(c.on_segment_unverified(now, &seg, false, good).is_ok());
        assert_eq!(c.rcv_nxt, rnxt.add(len as u32), "segment {k}");
        assert_eq!(c.recv_queue(), len);
        let got = c.recv(now, &mut out).unwrap().len;
        assert_eq!(&out[..got], &payload[..]);
        let _ = drain(&mut c, now);
    }
}

/// An in-order data segment (ACK of SND.UNA, no options) for `c`.
fn in_order<'a>(c: &C, payload: &'a [u8]) -> Segment<'a> {
    Segment {
        seq: c.rcv_nxt,
        ack: c.snd_una,
        flags: Flags::ACK,
        window: 8192,
        urgent: 0,
        options: TcpOptions::NONE,
        payload,
    }
}

/// Header prediction's answers on the ACK clock of a bulk send (RFC 9293
/// §3.10.7 notes it): a pure ACK that acknowledges part of the flight is
/// predicted (new), a pure ACK at SND.UNA with data in flight is not (it
/// may be a duplicate, RFC 5681 §2), and with nothing in flight and no
/// loss probe out it is predicted again (a window update).
#[test]
fn header_prediction_takes_the_ack_clock() {
    let cfg = Config {
        timestamps: false,
        ..Config::rfc9293()
    };
    let mut c = established(&cfg);
    let now = Instant::from_secs(2);
    let _ = c.send(now, &[0x55u8; 3000]).unwrap();
    let sent = drain(&mut c, now);
    assert!(sent.len() >= 2, "two segments in flight");
    let mut seg = in_order(&c, &[]);
    seg.ack = sent[0].0.seq.add(sent[0].0.len as u32);
    assert_eq!(c.predict(&seg), Some(true), "a partial new ACK");
    seg.ack = c.snd_una;
    assert_eq!(c.predict(&seg), None, "a possible duplicate");
    seg.ack = c.snd_max;
    let _ = c.on_segment(now, &seg);
    assert_eq!(c.flight(), 0);
    assert!(!c.tlp_out());
    seg.ack = c.snd_una;
    assert_eq!(
        c.predict(&seg),
        Some(false),
        "a window update, nothing in flight"
    );
}

/// Header prediction's answers at the edge of the receive ring (RFC 9293
/// §3.10.7 notes it): text that fills the ring exactly is predicted, one
/// byte more is not (the full path takes what fits); a pure ACK is
/// predicted whatever our window (a segment without text at RCV.NXT is
/// acceptable with RCV.WND = 0, Table 6 of §3.10.7.4); text into a window
/// last advertised as zero is not, even when the application has since
/// made room (§3.10.7.4: with RCV.WND = 0 no segment with text is
/// acceptable; the full path drops it and answers).
#[test]
fn header_prediction_at_the_edge_of_the_receive_ring() {
    let cfg = Config {
        timestamps: false,
        ..Config::rfc9293()
    };
    let mut c = established(&cfg);
    let now = Instant::from_secs(2);
    let free = c.rx.free();
    let text = std::vec![0x33u8; free + 1];
    assert!(
        c.rcv_adv.dist(c.rcv_nxt) as usize >= free,
        "the window covers the ring"
    );
    assert_eq!(
        c.predict(&in_order(&c, &text[..free + 1])),
        None,
        "one byte too many"
    );
    assert_eq!(
        c.predict(&in_order(&c, &text[..free])),
        Some(false),
        "fills the ring"
    );
    let _ = c.on_segment(now, &in_order(&c, &text[..free]));
    assert_eq!(c.rx.free(), 0);
    let _ = drain(&mut c, now);
    assert!(!c.rcv_adv.after(c.rcv_nxt), "a zero window advertised");
    assert_eq!(
        c.predict(&in_order(&c, &[])),
        Some(false),
        "a pure ACK, zero window"
    );
    // The application reads a little: too little for a window update
    // (RFC 9293 §3.8.6.2.2), so the window stays shut.
    let mut buf = [0u8; 10];
    assert_eq!(c.recv(now, &mut buf).unwrap().len, 10);
    let _ = drain(&mut c, now);
    assert!(!c.rcv_adv.after(c.rcv_nxt), "still a zero window");
    assert_eq!(c.rx.free(), 10);
    assert_eq!(
        c.predict(&in_order(&c, &[0x44; 5])),
        None,
        "text into a zero window"
    );
}

/// Header prediction and PAWS (RFC 7323 §5.3): a TSval equal to
/// TS.Recent passes (R1 rejects only one *less than* TS.Recent), so the
/// segment is predicted; one less takes the full path, which drops it.
#[test]
fn header_prediction_takes_a_tsval_equal_to_ts_recent() {
    let mut c = established(&Config::rfc9293());
    assert!(c.ts_on());
    let now = Instant::from_secs(2);
    let ts = |val| TcpOptions {
        timestamps: Some(Timestamps { val, ecr: 0 }),
        ..TcpOptions::NONE
    };
    let mut seg = in_order(&c, b"data");
    seg.options = ts(c.ts_recent);
    assert_eq!(c.predict(&seg), Some(false), "TSval = TS.Recent");
    seg.options = ts(c.ts_recent.wrapping_add(1));
    assert_eq!(c.predict(&seg), Some(false), "a newer TSval");
    seg.options = ts(c.ts_recent.wrapping_sub(1));
    assert_eq!(c.predict(&seg), None, "an older TSval");
    let rnxt = c.rcv_nxt;
    let _ = c.on_segment(now, &seg);
    assert_eq!(c.rcv_nxt, rnxt, "PAWS drops it");
}

/// `on_segment_recv` hands in-order text to the reader without writing it
/// into the receive ring; `on_segment` then `recv` goes through the ring.
#[cfg(feature = "testing")]
#[test]
fn read_at_once_skips_the_receive_ring() {
    let cfg = Config {
        timestamps: false,
        ..Config::rfc9293()
    };
    let now = Instant::from_secs(2);
    for direct in [true, false] {
        let mut c = established(&cfg);
        let payload = [0x77u8; 1000];
        let seg = in_order(&c, &payload);
        let mut out = [0u8; 2000];
        let rnxt = c.rcv_nxt;
        let n = if direct {
            c.on_segment_recv(now, &seg, false, &mut out).len
        } else {
            let _ = c.on_segment(now, &seg);
            c.recv(now, &mut out).unwrap().len
        };
        assert_eq!(n, 1000);
        assert_eq!(&out[..n], &payload[..]);
        assert_eq!(c.rcv_nxt, rnxt.add(1000));
        assert_eq!(c.recv_queue(), 0);
        // The ring's storage where the text would have gone.
        let mut ring = [0u8; 1000];
        assert_eq!(c.rx.read_unallocated(0, &mut ring), 1000);
        assert_eq!(ring.iter().all(|&b| b == 0x77), !direct, "direct {direct}");
        // A buffer too small for the segment: the text goes into the ring
        // and `recv`'s share comes out of it.
        let seg2 = Segment {
            seq: c.rcv_nxt,
            ..seg
        };
        let o = c.on_segment_recv(now, &seg2, false, &mut out[..400]);
        assert_eq!((o.len, c.recv_queue()), (400, 600));
        assert!(o.actions.readable());
        // The rest, read at once with the next segment's text: nothing is
        // left, so no Readable.
        let seg3 = Segment {
            seq: c.rcv_nxt,
            ..seg
        };
        let o = c.on_segment_recv(now, &seg3, false, &mut out);
        assert_eq!((o.len, c.recv_queue()), (1600, 0));
        assert!(!o.actions.readable());
    }
}

/// ACKs for bulk sending: `ack` acknowledges `ack - 1` more bytes (modulo
/// what is in flight), as `Op::Seg` computes it.
fn ack_op(ack: u16, window: u16, sack: bool, ts: bool, ce: bool) -> Op {
    Op::Seg {
        at: 0,
        len: 0,
        ack,
        flags: 0,
        window,
        sack,
        ts: ts.then_some(1),
        csum: 0,
        ce,
    }
}

/// Bulk sending: the application keeps the send buffer full and the peer
/// acknowledges every second segment, sometimes late, sometimes with a
/// duplicate, a SACK block, a smaller window, a CE mark or a timeout in
/// between. Most segments go through send prediction, and every segment,
/// deadline and state is the same as through the general output path.
#[test]
fn bulk_send_takes_the_send_fast_path_and_matches() {
    let ops: std::vec::Vec<Op> = (0..600usize)
        .flat_map(|k| {
            let ack = match k % 13 {
                // A duplicate ACK (nothing new acknowledged).
                5 => 1,
                // Everything in flight.
                9 => u16::MAX,
                _ => 2921,
            };
            let window = if k % 17 == 3 { 1000 } else { 8192 };
            [
                Op::Send(if k % 3 == 0 { 5000 } else { 1460 }),
                ack_op(ack, window, k % 29 == 7, k % 2 == 0, k % 31 == 11),
                Op::Wait(match k % 23 {
                    0 => 1400,
                    1..=4 => 0,
                    _ => 3,
                }),
            ]
        })
        .collect();
    for cfg in [
        Config::rfc9293(),
        Config {
            timestamps: false,
            ..Config::rfc9293()
        },
        Config {
            ecn: true,
            ..Config::linux()
        },
        Config {
            sack: false,
            nagle: false,
            ..Config::rfc9293()
        },
    ] {
        let predicted = run(&cfg, &ops).unwrap().data;
        assert!(
            predicted > 300,
            "send prediction held for {predicted} segments"
        );
    }
}

/// The burst mark (`send_fast`): set by a predicted segment sent with data
/// in flight before it, kept by the next poll at the same time, cleared by
/// every other entry point, by a poll at a later time and by the window's
/// update rules; its segments are those of the general path (the
/// differential proptests above compare them with every kind of call in
/// between).
#[test]
fn burst_mark_set_by_send_fast_and_ended_by_every_other_call() {
    use super::urgent::x::BURST;
    let now = Instant::from_secs(2);
    // Each way a burst can end: the call, and whether it ends it.
    type End = fn(&mut C, Instant);
    let ends: [(&str, End); 6] = [
        ("on_timer", |c, now| {
            let _ = c.on_timer(now);
        }),
        ("send", |c, now| {
            let _ = c.send(now, &[1u8; 10]);
        }),
        ("recv", |c, now| {
            let _ = c.recv(now, &mut [0u8; 10]);
        }),
        ("pure ACK", |c, now| {
            let ack = Segment {
                seq: c.rcv_nxt,
                ack: c.snd_una,
                flags: Flags::ACK,
                window: 4096,
                urgent: 0,
                options: TcpOptions::NONE,
                payload: &[],
            };
            let _ = c.on_segment(now, &ack);
        }),
        ("poll later", |c, now| {
            let mut buf = [0u8; 2048];
            let _ = c.poll_transmit(now + Duration::from_millis(1), &mut buf);
        }),
        ("window update rules", |c, _| {
            let free = c.rx.free_u32();
            let cur = c.rcv_adv.dist(c.rcv_nxt);
            let _ = c.advertise_update(free, cur);
        }),
    ];
    for (name, end) in ends {
        let mut c = established(&Config::linux());
        let _ = c.send(now, &[7u8; 5000]).unwrap();
        let mut buf = [0u8; 2048];
        assert!(c.send_predict(buf.len()).is_some(), "{name}");
        // The first segment (nothing in flight before it): no mark.
        c.poll_transmit(now, &mut buf).unwrap();
        assert!(!c.xflag(BURST), "{name}: after the first segment");
        c.poll_transmit(now, &mut buf).unwrap();
        assert!(c.xflag(BURST), "{name}: after the second segment");
        end(&mut c, now);
        if name == "poll later" {
            // A segment at the later time, with all its bookkeeping: a
            // burst of its own begins.
            assert_eq!(c.last_send, c.stamp(now + Duration::from_millis(1)));
            continue;
        }
        assert!(!c.xflag(BURST), "{name} leaves the burst open");
    }
}

/// A burst polled with a buffer shorter than a segment: what the general
/// path sends, as without prediction (the poll that ends a burst answers
/// `None` at once only when a full segment would have fitted the buffer).
#[test]
fn a_burst_polled_with_a_short_buffer_sends_what_fits() {
    let now = Instant::from_secs(2);
    let mut got = std::vec::Vec::new();
    for fast in [true, false] {
        let mut c = established(&Config::linux());
        c.set_no_fast_path(!fast);
        let _ = c.send(now, &[7u8; 20_000]).unwrap();
        let mut buf = [0u8; 2048];
        let mut out = std::vec::Vec::new();
        for _ in 0..2 {
            out.push(c.poll_transmit(now, &mut buf));
        }
        assert_eq!(c.xflag(super::urgent::x::BURST), fast);
        for room in [600, 100, 2048, 1000] {
            out.push(c.poll_transmit(now, &mut buf[..room]));
        }
        assert!(out.iter().all(Option::is_some), "{out:?}");
        got.push(out);
    }
    assert_eq!(got[0], got[1]);
    assert_eq!(got[0][2].map(|t| t.len), Some(600));
}

/// A congestion window past 2^31 (slow start goes on growing it while the
/// peer's window limits the flight; RFC 5681 §3.1 sets no bound) lets data
/// go as any window larger than the peer's does: the room is counted in
/// bytes, not by comparing sequence numbers, which wraps at 2^31.
#[test]
fn huge_cwnd_does_not_stall_sending() {
    for fast in [true, false] {
        let mut sent = std::vec::Vec::new();
        for cwnd in [
            1u32 << 20,
            (1 << 31) - 1,
            1 << 31,
            (1 << 31) + 5000,
            u32::MAX,
        ] {
            let mut c = established(&Config::rfc9293());
            c.set_no_fast_path(!fast);
            c.cwnd = cwnd;
            let now = Instant::from_secs(2);
            let _ = c.send(now, &[7u8; 5000]).unwrap();
            let n: usize = drain(&mut c, now).iter().map(|(t, _)| t.len).sum();
            sent.push(n);
        }
        // Three full segments; Nagle holds the rest back.
        assert!(sent[0] > 4000, "{sent:?}");
        assert!(sent.iter().all(|&n| n == sent[0]), "fast {fast}: {sent:?}");
    }
}

/// The Endpoint's opens of a connection fresh from `new` (`open_active`,
/// `open_passive`) give the same actions, segments and state as the public
/// `connect` and `accept`, which reset the whole TCB first, whatever the
/// configuration and ISN: the reset writes nothing a fresh TCB lacks.
#[test]
fn in_place_opens_match_connect_and_accept() {
    let cfgs = [Config::rfc9293(), Config::linux(), {
        let mut c = Config::linux();
        c.timestamps = false;
        c.sack = false;
        c.window_scaling = false;
        c.ecn = true;
        c
    }];
    // 3 s: no stamp renewed on the first time; 5000 s: the first time
    // crosses from the epoch, as a host's clock does (`clock_fresh`).
    for (cfg, now) in cfgs
        .iter()
        .flat_map(|c| [(c, Instant::from_secs(3)), (c, Instant::from_secs(5000))])
    {
        for iss in [0u32, 0x7fff_ffff, 0xffff_fff0] {
            let packed = PackedConfig::new(cfg);
            let mut a = C::new_packed(&packed, Buffers::with_capacity(4096, 4096));
            let mut b = C::new(cfg.clone(), Buffers::with_capacity(4096, 4096)).unwrap();
            let aa = a.open_active(now, SeqNum(iss));
            let ab = b.connect(now, SeqNum(iss)).unwrap();
            assert_eq!(aa, ab, "connect actions, iss {iss}");
            assert_eq!(observe(&a), observe(&b), "after connect, iss {iss}");
            let (sa, sb) = (drain(&mut a, now), drain(&mut b, now));
            assert_eq!(sa, sb, "SYN, iss {iss}");
            assert_eq!(observe(&a), observe(&b), "after the SYN, iss {iss}");
            // The SYN into a listener, both ways.
            let (syn, p) = &sa[0];
            let mut c = C::new_packed(&packed, Buffers::with_capacity(4096, 4096));
            let ac = c.open_passive(now, &seg_of(syn, p), SeqNum(iss ^ 0x5555));
            let (d, ad) = C::accept(
                cfg.clone(),
                Buffers::with_capacity(4096, 4096),
                now,
                &seg_of(syn, p),
                SeqNum(iss ^ 0x5555),
            )
            .unwrap();
            let mut d = d;
            assert_eq!(ac, ad, "accept actions, iss {iss}");
            assert_eq!(observe(&c), observe(&d), "after accept, iss {iss}");
            assert_eq!(drain(&mut c, now), drain(&mut d, now), "SYN,ACK, iss {iss}");
            assert_eq!(observe(&c), observe(&d), "after the SYN,ACK, iss {iss}");
        }
    }
}

/// `clock_fresh`, the opens' first time, leaves a TCB fresh from `new`
/// as `clock` does, at every distance from the epoch (`Stamp::epoch`'s
/// three cases and their edges).
#[test]
fn fresh_clock_matches_clock() {
    let packed = PackedConfig::new(&Config::linux());
    let fine = 1u64 << 30;
    for us in [
        0,
        1,
        fine - 1,
        fine,
        5_000_000_000,
        fine * 1000 - 1,
        fine * 1000,
        u64::MAX / 4,
    ] {
        let now = Instant::from_micros(us);
        let mut a = C::new_packed(&packed, Buffers::with_capacity(64, 64));
        let mut b = C::new_packed(&packed, Buffers::with_capacity(64, 64));
        assert_eq!(a.clock_fresh(now), b.clock(now), "{us}");
        let stamps = |c: &C| {
            (
                c.last_now,
                c.unacked_since,
                c.last_send,
                c.last_rcv,
                c.last_data_in,
                c.rtt_sample,
            )
        };
        assert_eq!(stamps(&a), stamps(&b), "{us}");
    }
}

/// The byte counters keep their low 32 bits in the TCB and count the
/// wraps in the uncommon state's box (issue 17, W3): `Stats` reads 64 bits.
#[test]
fn byte_counters_carry_into_their_high_words() {
    let mut c = established(&Config::linux());
    c.bytes_in = u32::MAX - 9;
    c.bytes_out = u32::MAX;
    c.count_bytes_in(20);
    c.count_bytes_out(1);
    c.count_bytes_out(u32::MAX);
    let s = c.stats();
    assert_eq!(s.bytes_in, (1 << 32) + 10);
    assert_eq!(s.bytes_out, (1 << 33) - 1);
    c.count_bytes_out(1);
    assert_eq!(c.stats().bytes_out, 1 << 33);
}
