//! `Config::linux_hystart` (issue 15): Linux's CUBIC takes a HyStart
//! delay sample from every ACK of new data and ends slow start once a
//! round's ninth sample finds the round's minimum more than an eighth
//! above the connection's minimum RTT; RFC 9406 (`Config::rfc9293()`)
//! takes one from every ACK too, and judges a round by its eighth
//! against the last round's minimum. Without timestamps the send log
//! dates the ACKs RFC 6298 does not time.

mod script;

use script::*;
use tcpstate::connection::congestion::Algorithm;
use tcpstate::connection::info::TCP_INFINITE_SSTHRESH;
use tcpstate::wire::TcpOptions;
use tcpstate::{Config, Duration, SeqNum};

/// CUBIC with HyStart, an active open with a 200 ms RTT (the minimum
/// RTT), the peer's MSS 1000, a 64 KiB send buffer.
fn opened(linux: bool) -> Sut {
    opened_rtt(linux, 200)
}

/// `opened` with a handshake of `rtt` ms.
fn opened_rtt(linux: bool, rtt: u64) -> Sut {
    let cfg = Config {
        congestion: Algorithm::Cubic,
        hystart: true,
        ..preset(linux)
    };
    let mut s = Sut::with_buffers(cfg, RX, 65536);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    s.expect(SYN, ISS, SeqNum(0));
    s.peer_syn_opts = TcpOptions {
        mss: Some(1000),
        ..TcpOptions::NONE
    };
    s.now += Duration::from_millis(rtt);
    s.peer_ack(SYN | ACK, ISS.add(1), &[]);
    let _ = s.out();
    s
}

/// An active open with a 200 ms RTT, the peer's MSS 1000; 30 000 bytes
/// queued, the first window (10 segments) acknowledged after 200 ms and
/// the next 20 sent.
fn second_round(linux: bool) -> Sut {
    second_round_rtt(linux, 200)
}

/// `second_round` with a round trip of `rtt` ms.
fn second_round_rtt(linux: bool, rtt: u64) -> Sut {
    let mut s = opened_rtt(linux, rtt);
    assert_eq!(s.send(&[1u8; 30_000]), 30_000);
    assert_eq!(s.out().len(), 10);
    s.now += Duration::from_millis(rtt);
    s.peer_ack(ACK, ISS.add(10_001), &[]);
    assert_eq!(s.out().len(), 20);
    s
}

#[test]
fn slow_start_ends_on_the_ninth_delay_sample_of_a_round_only_under_linux() {
    for linux in [false, true] {
        let mut s = second_round(linux);
        // The round's ACKs, each of two segments: 240, 241, ... ms after
        // they were sent, all more than 216 ms (200 + 200 / 8).
        s.now += Duration::from_millis(240);
        for i in 1..=9u32 {
            s.peer_ack(ACK, ISS.add(10_001 + 2000 * i), &[]);
            let info = s.c.info(s.now);
            if linux && i == 9 {
                // Linux's hystart_update: ssthresh = cwnd (36 segments).
                assert_eq!((info.snd_ssthresh, info.snd_cwnd), (36, 36));
            } else {
                assert_eq!(
                    info.snd_ssthresh, TCP_INFINITE_SSTHRESH,
                    "{i} linux {linux}"
                );
                assert_eq!(info.snd_cwnd, 20 + 2 * i, "{i} linux {linux}");
            }
            s.now += Duration::from_millis(1);
        }
    }
}

/// A round whose delays stay within an eighth of the minimum RTT does
/// not end slow start.
#[test]
fn slow_start_goes_on_when_the_delay_stays_low() {
    let mut s = second_round(true);
    s.now += Duration::from_millis(210);
    for i in 1..=10u32 {
        s.peer_ack(ACK, ISS.add(10_001 + 2000 * i), &[]);
        s.now += Duration::from_micros(500);
    }
    let info = s.c.info(s.now);
    assert_eq!(info.snd_ssthresh, TCP_INFINITE_SSTHRESH);
    assert_eq!(info.snd_cwnd, 40);
}

// PRR keeps its counts in HyStart's words while a recovery lasts (RFC
// 9937's prr_out, RecoverFS): Linux's round, which begins on an ACK past
// the round's end, must not run then, although in PRR-SSRB cwnd is below
// ssthresh. Here 20 of 40 segments are lost: cwnd 20 segments in
// recovery, ssthresh 28. The fast retransmission is not polled yet when
// an ACK of new data arrives (and gives an RTT sample): 21 segments
// delivered, none sent, so PRR-SSRB allows min(ssthresh - pipe,
// prr_delivered - prr_out + 1) = 22 segments. A HyStart round started on
// that ACK would have taken prr_out to "all sent" (2 segments).
#[test]
fn linux_hystart_leaves_prr_alone_in_recovery() {
    let cfg = Config {
        congestion: Algorithm::Cubic,
        hystart: true,
        sack: true,
        ..preset(true)
    };
    let mut s = Sut::with_buffers(cfg, RX, 1 << 20);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    s.expect(SYN, ISS, SeqNum(0));
    s.peer_syn_opts = TcpOptions {
        mss: Some(1000),
        sack_permitted: true,
        ..TcpOptions::NONE
    };
    s.now += Duration::from_millis(100);
    s.peer_ack(SYN | ACK, ISS.add(1), &[]);
    let _ = s.out();
    let base = ISS.add(1);
    assert_eq!(s.send(&[1u8; 70_000]), 70_000);
    // Slow start, stretch ACKs: 10, then 20, then 40 segments.
    for (sent, acked) in [(10, 10_000), (20, 30_000)] {
        assert_eq!(s.out().len(), sent);
        s.now += Duration::from_millis(100);
        s.peer_ack(ACK, base.add(acked), &[]);
    }
    assert_eq!(s.out().len(), 40);
    assert_eq!(s.c.info(s.now).snd_cwnd, 40);
    // The first 20 of the 40 lost, the last 20 SACKed: recovery.
    s.now += Duration::from_millis(100);
    s.ack_sack(base.add(30_000), &[(base.add(50_000), base.add(70_000))]);
    let i = s.c.info(s.now);
    assert_eq!((i.ca_state, i.snd_ssthresh, i.snd_cwnd), (3, 28, 20));
    // The first of them arrives after all (nothing polled since).
    s.now += Duration::from_millis(1);
    s.ack_sack(base.add(31_000), &[(base.add(50_000), base.add(70_000))]);
    let i = s.c.info(s.now);
    assert_eq!((i.ca_state, i.snd_ssthresh, i.snd_cwnd), (3, 28, 22));
}

/// Linux's `hystart_low_window` (16 segments): below it no delay sample
/// counts, also when cwnd comes back below it after an idle restart
/// (RFC 5681 §4.1, `tcp_cwnd_restart`) in the middle of a round. The
/// first window's last four ACKs (at 16 segments and more) are slow
/// samples, too few for the round; then the connection idles, cwnd falls
/// back to 10, and a new window's ACKs, as slow, take it back past 16
/// without ending slow start: the samples below 16 segments do not
/// complete the old round, and the round that starts at 16 has only
/// four.
#[test]
fn no_delay_sample_below_sixteen_segments_after_an_idle_restart() {
    let mut s = opened(true);
    let mut una = ISS.add(1);
    for window in 0..2 {
        assert_eq!(s.send(&[1u8; 10_000]), 10_000);
        assert_eq!(s.out().len(), 10, "window {window}");
        // 250 ms after the send: more than 225 ms (200 + 200 / 8).
        s.now += Duration::from_millis(250);
        for _ in 0..10 {
            una = una.add(1000);
            s.peer_ack(ACK, una, &[]);
            s.now += Duration::from_millis(1);
        }
        assert!(s.out().is_empty());
        let info = s.c.info(s.now);
        assert_eq!(info.snd_ssthresh, TCP_INFINITE_SSTHRESH, "window {window}");
        assert_eq!(info.snd_cwnd, 20, "window {window}");
        // Idle for longer than the RTO: cwnd restarts at 10.
        s.now += Duration::from_secs(5);
    }
}

/// Linux's HYSTART_DELAY threshold is an eighth of the minimum RTT,
/// clamped to 4..16 ms (`HYSTART_DELAY_THRESH`): 5 ms over a 40 ms
/// minimum. A second round whose ACKs all come 50 ms after the send ends
/// slow start on its ninth sample (16 ms, the clamp's top, would not);
/// one whose ACKs come at 45 ms, not more than the threshold above the
/// minimum, does not (Linux's test is `curr_rtt > delay_min + thresh`).
#[test]
fn the_delay_threshold_is_an_eighth_of_the_minimum_rtt() {
    for (after, exit) in [(50, true), (45, false)] {
        let mut s = second_round_rtt(true, 40);
        s.now += Duration::from_millis(after);
        for i in 1..=9u32 {
            s.peer_ack(ACK, ISS.add(10_001 + 2000 * i), &[]);
        }
        let info = s.c.info(s.now);
        if exit {
            assert_eq!((info.snd_ssthresh, info.snd_cwnd), (36, 36));
        } else {
            assert_eq!(info.snd_ssthresh, TCP_INFINITE_SSTHRESH, "{after} ms");
        }
    }
}

/// Linux's `hystart_low_window` counts a sample at exactly 16 segments
/// (`tcp_snd_cwnd(tp) >= hystart_low_window`). A peer that acknowledges
/// each segment of the first window in three pieces takes cwnd to 16,000
/// bytes after its 18th ACK; every ACK is slow (240 ms over a 200 ms
/// minimum). The 19th ACK's sample, at exactly 16 segments, is the first
/// of the round's eight; the 27th ACK's is the ninth, and slow start
/// ends there with ssthresh = cwnd.
#[test]
fn a_delay_sample_at_exactly_sixteen_segments_counts() {
    let mut s = opened(true);
    assert_eq!(s.send(&[1u8; 30_000]), 30_000);
    assert_eq!(s.out().len(), 10);
    s.now += Duration::from_millis(240);
    let mut n = 0;
    let mut exit = None;
    'acks: for k in 0..10u32 {
        for end in [333u32, 666, 1000] {
            n += 1;
            s.peer_ack(ACK, ISS.add(1 + 1000 * k + end), &[]);
            if n == 18 {
                assert_eq!(s.c.cwnd(), 16_000);
            }
            if s.c.info(s.now).snd_ssthresh != TCP_INFINITE_SSTHRESH {
                exit = Some((n, s.c.cwnd()));
                break 'acks;
            }
            s.now += Duration::from_micros(100);
        }
    }
    assert_eq!(exit, Some((27, 18_666)));
}

/// A bulk sender (CUBIC, HyStart, F-RTO off) with 200 segments queued after a
/// handshake of 200 ms, the peer's MSS 1000 (988 bytes a segment with
/// timestamps), and a peer that acknowledges every segment on its own.
struct Flow {
    s: Sut,
    mss: u32,
    /// The last send time and TSval of each segment, by its index from 1.
    sent: Vec<(tcpstate::Instant, u32)>,
}

impl Flow {
    fn open(linux: bool, timestamps: bool) -> Flow {
        let cfg = Config {
            congestion: Algorithm::Cubic,
            hystart: true,
            timestamps,
            frto: false,
            ..preset(linux)
        };
        let mut s = Sut::with_buffers(cfg, RX, 200_000);
        s.app(|c, now| c.connect(now, ISS).unwrap());
        let syn = s.expect(SYN, ISS, SeqNum(0));
        s.peer_syn_opts = TcpOptions {
            mss: Some(1000),
            timestamps: timestamps.then(|| tcpstate::wire::Timestamps {
                val: 1,
                ecr: syn.t.options.timestamps.expect("TS on our SYN").val,
            }),
            ..TcpOptions::NONE
        };
        s.now += Duration::from_millis(200);
        s.peer_ack(SYN | ACK, ISS.add(1), &[]);
        let _ = s.out();
        let mss = u32::from(s.c.effective_mss());
        let queued = 200 * mss as usize;
        assert_eq!(s.send(&vec![1u8; queued]), queued);
        let mut f = Flow {
            sent: vec![(s.now, 0)],
            s,
            mss,
        };
        f.take();
        f
    }

    /// Takes what the connection sends, every segment whole: SWS
    /// avoidance (RFC 9293 §3.8.6.2.1) cuts no resend to the few bytes a
    /// cwnd grown in congestion avoidance allows.
    fn take(&mut self) {
        for p in self.s.out().into_iter().filter(|p| !p.payload.is_empty()) {
            let end = p.seq().add(p.payload.len() as u32).dist(ISS.add(1));
            assert_eq!(end % self.mss, 0, "{} bytes at {}", p.payload.len(), end);
            let k = (end / self.mss) as usize;
            let at = (self.s.now, p.t.options.timestamps.map_or(0, |t| t.val));
            if k == self.sent.len() {
                self.sent.push(at);
            } else {
                self.sent[k] = at;
            }
        }
    }

    /// The peer's ACK of segment `k`, `delay` ms after it last left (or
    /// now, if later), echoing its TSval with timestamps; then what the
    /// connection sends. cwnd and ssthresh after it, in segments.
    fn ack(&mut self, k: u32, delay: u64) -> (u32, u32) {
        let (at, tsval) = self.sent[k as usize];
        self.s.now = self.s.now.max(at + Duration::from_millis(delay));
        let o = TcpOptions {
            timestamps: (tsval != 0).then_some(tcpstate::wire::Timestamps { val: 2, ecr: tsval }),
            ..TcpOptions::NONE
        };
        let seq = self.s.peer_nxt;
        self.s.seg_opts(ACK, seq, ISS.add(1 + self.mss * k), o, &[]);
        self.take();
        let info = self.s.c.info(self.s.now);
        (info.snd_cwnd, info.snd_ssthresh)
    }

    /// ACKs of the segments `ks`, each `delay(k)` ms after it left: the
    /// first (segment, cwnd, ssthresh) after which ssthresh is not `from`.
    fn until_ssthresh_leaves(
        &mut self,
        ks: std::ops::RangeInclusive<u32>,
        from: u32,
        delay: impl Fn(u32) -> u64,
    ) -> Option<AckAt> {
        for k in ks {
            let (cwnd, ssthresh) = self.ack(k, delay(k));
            if ssthresh != from {
                return Some((k, cwnd, ssthresh));
            }
        }
        None
    }

    /// No ACK for anything sent: a loss probe (the last segment again)
    /// may come first, then the timeout resends SND.UNA. cwnd and ssthresh
    /// then.
    fn time_out(&mut self) -> (u32, u32) {
        while self.s.c.stats().timeouts == 0 {
            self.s.fire();
            self.take();
        }
        let info = self.s.c.info(self.s.now);
        (info.snd_cwnd, info.snd_ssthresh)
    }
}

/// Linux's round (`hystart_update`'s `bictcp_hystart_reset`) starts only
/// once cwnd reaches `hystart_low_window`: `bictcp_acked` calls
/// `hystart_update` from 16 segments on. A peer acknowledges every
/// segment 240 ms after it left (200 ms minimum) and each ACK is
/// answered at once: the first flight's ACKs take cwnd to 16 segments at
/// the 7th, which starts the round (its end: the 22 segments sent by
/// then); its 8 samples are the ACKs 7 to 14 and the 15th ends slow
/// start. A round started earlier (at the first ACK, ending with the
/// first flight) would have reset the count at the 11th ACK, and slow
/// start would have ended at the 19th.
#[test]
fn the_linux_round_starts_at_sixteen_segments() {
    let mut f = Flow::open(true, false);
    let exit = f.until_ssthresh_leaves(1..=30, TCP_INFINITE_SSTHRESH, |_| 240);
    assert_eq!(exit, Some((15, 24, 24)));
}

/// The ACK (by its segment) at which slow start ends under
/// `Config::rfc9293()` (HyStart++), each `delay(k)` ms after segment `k`
/// left, with cwnd and ssthresh in segments, within 60 ACKs.
fn rfc_exit(ts: bool, delay: impl Fn(u32) -> u64) -> Option<AckAt> {
    Flow::open(false, ts).until_ssthresh_leaves(1..=60, TCP_INFINITE_SSTHRESH, delay)
}

/// RFC 9406 §4.2 judges a round by eight RTT samples, one "for each
/// arriving ACK". With timestamps every ACK gives one (RFC 7323 §4.1);
/// without them RFC 6298 times one segment a round trip, and the send log
/// dates the others (as `linux_hystart`'s do): the same rounds, the third
/// 40 ms slower than the first two, end slow start on the third round's
/// eighth sample either way.
#[test]
fn rfc9406_a_delay_sample_from_every_ack_with_or_without_timestamps() {
    // A round ends with the ACK of SND.MAX at its start: the first with
    // the 10th segment's, the second with the 28th's (10 + 2 x 9, sent
    // when the 10th ACK came).
    let delay = |k: u32| if k > 28 { 240 } else { 200 };
    assert_eq!(rfc_exit(true, delay), Some((36, 45, 45)));
    assert_eq!(rfc_exit(false, delay), Some((36, 45, 45)));
}

/// RFC 9406 §4.3: after HyStart++ ended the initial slow start, a later
/// slow start (here after an idle restart, RFC 5681 §4.1) runs to the
/// ssthresh it found, whatever the delay: HyStart++ is for the initial
/// slow start only (the round that ended it, all slow, would otherwise
/// end this one as soon as cwnd is 16 segments again).
#[test]
fn rfc9406_no_hystart_after_the_initial_slow_start() {
    let mut f = Flow::open(false, true);
    let delay = |k: u32| if k > 28 { 240 } else { 200 };
    let exit = f.until_ssthresh_leaves(1..=60, TCP_INFINITE_SSTHRESH, delay);
    assert_eq!(exit, Some((36, 45, 45)));
    // Everything acknowledged, then ten seconds of silence.
    let mut k = 37;
    while (k as usize) < f.sent.len() {
        f.ack(k, 240);
        k += 1;
    }
    assert_eq!(k, 201, "the 200 segments acknowledged");
    f.s.now += Duration::from_secs(10);
    let more = 100 * f.mss as usize;
    assert_eq!(f.s.send(&vec![2u8; more]), more);
    f.take();
    let first = k;
    assert_eq!(f.s.c.info(f.s.now).snd_cwnd, 10, "the restart window");
    let exit = f.until_ssthresh_leaves(first..=first + 40, 45, |_| 240);
    assert_eq!(exit, None);
    assert!(f.s.c.info(f.s.now).snd_cwnd >= 45, "slow start to ssthresh");
}

/// Karn (RFC 6298 §3, MUST-18) for Linux's delay samples: after a
/// timeout the go-back-N resend covers the segments sent before it, and
/// the ACK of a resent segment dates nothing (Linux's
/// `tcp_clean_rtx_queue` takes `ca_rtt_us` only from segments never
/// retransmitted). Here slow start runs without delay to 50 segments,
/// everything after the 40th segment is lost and the timeout resends
/// from there; the peer acknowledges each resent segment 200 ms after it
/// left, so the slow start after the timeout (to ssthresh, 35 segments)
/// meets no delay: it must not end early. Dated from their first
/// transmission, these ACKs would look a second slower than the path.
#[test]
fn no_delay_sample_from_data_resent_after_a_timeout() {
    let mut f = Flow::open(true, false);
    let none = f.until_ssthresh_leaves(1..=40, TCP_INFINITE_SSTHRESH, |_| 200);
    assert_eq!(none, None);
    assert_eq!(f.s.c.info(f.s.now).snd_cwnd, 50);
    assert_eq!(f.sent.len(), 91, "90 segments sent");
    // Segments 41 to 90 are lost.
    assert_eq!(f.time_out(), (1, 35));
    assert_eq!(f.until_ssthresh_leaves(41..=75, 35, |_| 200), None);
    assert_eq!(f.s.c.stats().hystart_exits, 0);
}

/// An ACK's segment, with cwnd and ssthresh after it (in segments).
type AckAt = (u32, u32, u32);

/// Slow start to 50 segments (each ACK `delay(k)` ms after segment `k`
/// left), the segments from `lost` on lost, the timeout: the first ACK
/// after it at which ssthresh changes, up to segment `last`.
fn exit_after_timeout(
    linux: bool,
    lost: u32,
    last: u32,
    delay: impl Fn(u32) -> u64,
) -> ((u32, u32), Option<AckAt>) {
    let mut f = Flow::open(linux, true);
    assert_eq!(
        f.until_ssthresh_leaves(1..=lost - 1, TCP_INFINITE_SSTHRESH, &delay),
        None
    );
    let (cwnd, ssthresh) = f.time_out();
    assert_eq!(cwnd, 1, "the loss window");
    let (cwnd, ssthresh) = {
        let (c, s) = f.ack(lost, delay(lost));
        assert_eq!(s, ssthresh);
        (c, s)
    };
    (
        (cwnd, ssthresh),
        f.until_ssthresh_leaves(lost + 1..=last, ssthresh, &delay),
    )
}

/// RFC 9406 §4.3: HyStart++ SHOULD run only in the initial slow start
/// (ssthresh still arbitrarily high); a later one stops at the ssthresh
/// the loss set. Linux's CUBIC runs HyStart in every slow start, with a
/// fresh round from the timeout on (`bictcp_hystart_reset` on
/// TCP_CA_Loss). Slow start to 50 segments without delay, the segments
/// from the 40th lost, and the slow start after the timeout (ssthresh 35
/// segments) meets 40 ms more delay: Linux ends it at the ninth sample
/// from 16 segments, RFC 9406 does not.
#[test]
fn after_a_timeout_hystart_runs_under_linux_only() {
    let delay = |k: u32| if k >= 40 { 240 } else { 200 };
    assert_eq!(exit_after_timeout(false, 40, 80, delay), ((2, 35), None));
    assert_eq!(
        exit_after_timeout(true, 40, 80, delay),
        ((2, 35), Some((63, 24, 24)))
    );
}

/// Linux's CUBIC starts a fresh HyStart round when a timeout strikes
/// (`cubictcp_state` on TCP_CA_Loss): samples of the round before do not
/// count in the slow start after. Here the round that begins with the
/// 23rd ACK takes seven slow samples (not yet the nine that end slow
/// start), and the segments from the 30th are lost. After the timeout,
/// slow start reaches 16 segments at the 44th segment's ACK, still below
/// that round's end; its samples are slow too. From the fresh round, the
/// ninth sample ends slow start; continued, the old round's seven and
/// two new ones would have.
#[test]
fn a_timeout_starts_a_fresh_linux_round() {
    let delay = |k: u32| if k >= 23 { 240 } else { 200 };
    assert_eq!(
        exit_after_timeout(true, 30, 60, delay),
        ((2, 28), Some((53, 24, 24)))
    );
}
