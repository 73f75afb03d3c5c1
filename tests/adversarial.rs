//! The standing adversarial suite (issue 20): one test per class of attack
//! taken from real TCP CVEs and papers, each written against the public API
//! only and each asserting a bound that could fail: memory per connection
//! and per Endpoint, timer entries, replies per attack segment (at most
//! one), and cost per segment that stays flat as the attack grows
//! (compared as counts and ratios, never as wall time).
//!
//! The attacker is the test: it crafts every segment itself, as a peer that
//! owns the other end of the 4-tuple (or only knows the 4-tuple) would.

use tcpstate::wire::{Flags, Segment, TcpOptions, Timestamps};
use tcpstate::{Buffers, Config, Connection, Duration, Instant, SeqNum, State, Transmit};

mod common;

use common::Pair;

type Conn = Connection<Vec<u8>>;

/// One segment a connection sent.
#[derive(Clone, Debug)]
struct Out {
    t: Transmit,
}

/// Everything `c` has to send now.
fn drain(c: &mut Conn, now: Instant) -> Vec<Out> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    while let Some(t) = c.poll_transmit(now, &mut buf) {
        out.push(Out { t });
        assert!(out.len() < 100_000, "poll_transmit does not end");
    }
    out
}

/// The attacker: the other end of one connection under test, which it
/// opened (the connection under test listens), with every segment crafted.
struct Peer {
    c: Conn,
    now: Instant,
    /// The peer's next sequence number.
    seq: SeqNum,
    /// The peer's TSval clock, when timestamps are on.
    ts: Option<u32>,
    /// The connection's last TSval (echoed).
    ts_recent: u32,
}

impl Peer {
    /// A connection under test with `cfg` and buffers `rx`/`tx`, opened by
    /// the peer with window scaling `shift` (if any), SACK and timestamps
    /// as asked.
    fn open(cfg: Config, rx: usize, tx: usize, shift: Option<u8>, sack: bool, ts: bool) -> Peer {
        let mut c = Connection::new(cfg, Buffers::with_capacity(rx, tx));
        let now = Instant::from_secs(1);
        let _ = c.listen(now, SeqNum(7_000)).unwrap();
        let mut o = TcpOptions::NONE;
        o.mss = Some(1460);
        o.window_scale = shift;
        o.sack_permitted = sack;
        if ts {
            o.timestamps = Some(Timestamps { val: 1, ecr: 0 });
        }
        let syn = Segment {
            seq: SeqNum(1_000),
            ack: SeqNum(0),
            flags: Flags::SYN,
            window: 65535,
            urgent: 0,
            options: o,
            payload: &[],
        };
        let _ = c.on_segment(now, &syn);
        let synack = drain(&mut c, now);
        assert_eq!(synack.len(), 1);
        assert_eq!(synack[0].t.flags, Flags::SYN | Flags::ACK);
        let mut p = Peer {
            c,
            now,
            seq: SeqNum(1_001),
            ts: ts.then_some(2),
            ts_recent: synack[0].t.options.timestamps.map_or(0, |t| t.val),
        };
        let ack = p.c.snd_nxt();
        let out = p.send(Flags::ACK, p.seq, ack, 65535, &[]);
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(p.c.state(), State::Established);
        p
    }

    /// Options on a non-SYN segment from the peer.
    fn options(&mut self) -> TcpOptions {
        let mut o = TcpOptions::NONE;
        if let Some(v) = self.ts.as_mut() {
            *v += 1;
            o.timestamps = Some(Timestamps {
                val: *v,
                ecr: self.ts_recent,
            });
        }
        o
    }

    /// Feeds a segment and returns what the connection sent after it.
    fn send(
        &mut self,
        flags: Flags,
        seq: SeqNum,
        ack: SeqNum,
        window: u16,
        data: &[u8],
    ) -> Vec<Out> {
        let o = self.options();
        self.send_opts(flags, seq, ack, window, o, data)
    }

    fn send_opts(
        &mut self,
        flags: Flags,
        seq: SeqNum,
        ack: SeqNum,
        window: u16,
        options: TcpOptions,
        data: &[u8],
    ) -> Vec<Out> {
        let seg = Segment {
            seq,
            ack,
            flags,
            window,
            urgent: 0,
            options,
            payload: data,
        };
        let _ = self.c.on_segment(self.now, &seg);
        self.out()
    }

    /// What the connection sends now (and the TSval it carries).
    fn out(&mut self) -> Vec<Out> {
        let out = drain(&mut self.c, self.now);
        if let Some(t) = out.iter().rev().find_map(|o| o.t.options.timestamps) {
            self.ts_recent = t.val;
        }
        out
    }
}

/// The right edge a segment advertises: SEG.ACK + SEG.WND << shift.
fn edge(t: &Transmit, shift: u8) -> SeqNum {
    t.ack.add(u32::from(t.window) << shift)
}

// ---------------------------------------------------------------------------
// 1. Receive window with window scaling (RFC 9293 §3.8.6.2.2, RFC 7323 §2.4)
// ---------------------------------------------------------------------------

/// A peer that fills the receive buffer with tiny segments, each inside the
/// window advertised: with window scaling on (`Config::linux`, shift 7) the
/// window must close to 0 when the buffer is full, the advertised right
/// edge must never pass what the buffer can hold, and no segment inside an
/// advertised window may be dropped for lack of room.
#[test]
fn scaled_window_closes_when_the_buffer_fills() {
    for len in [1usize, 7, 100, 1000] {
        let rx = 4096;
        let mut p = Peer::open(Config::linux(), rx, 4096, Some(7), true, true);
        let shift = p.c.window_scale().expect("window scaling on").0;
        assert_eq!(shift, 7);
        let ack = p.c.snd_nxt();
        let mut adv = p.c.rcv_nxt().add(p.c.rcv_wnd());
        let mut sent = 0usize;
        let mut closed = false;
        for i in 0..10_000 {
            // Everything up to the edge advertised is sent, in order.
            let room = adv.dist(p.seq) as usize;
            if room == 0 {
                closed = true;
                break;
            }
            let n = len.min(room);
            let data = vec![i as u8; n];
            let dropped = p.c.stats().dropped;
            let seq = p.seq;
            let out = p.send(Flags::ACK, seq, ack, 65535, &data);
            assert_eq!(
                p.c.stats().dropped,
                dropped,
                "len {len}: {n} bytes at {seq} inside the advertised edge {adv} dropped"
            );
            p.seq = p.seq.add(n as u32);
            sent += n;
            // Delayed ACKs: let them out.
            let out = if out.is_empty() {
                p.now += Duration::from_millis(300);
                let _ = p.c.on_timer(p.now);
                p.out()
            } else {
                out
            };
            for o in &out {
                let e = edge(&o.t, shift);
                // The right edge never passes what the buffer can hold.
                let limit = p.c.rcv_nxt().add(p.c.rcv_wnd());
                assert!(
                    !e.after(limit),
                    "len {len}: edge {e} beyond the buffer's {limit} (window {} << {shift}, {} free)",
                    o.t.window,
                    p.c.rcv_wnd()
                );
                if e.after(adv) {
                    adv = e;
                }
            }
        }
        assert!(closed, "len {len}: the window never closed");
        assert_eq!(sent, rx, "len {len}: the whole buffer is taken");
        assert_eq!(p.c.recv_queue(), rx);
        // A probe now is answered with a zero window.
        let out = p.send(Flags::ACK, p.seq.sub(1), ack, 65535, &[]);
        assert_eq!(out.len(), 1, "len {len}");
        assert_eq!(out[0].t.window, 0, "len {len}");
    }
}

/// A tcpstate sender facing a tcpstate receiver that stops reading
/// (`Config::linux`, window scaling on): the receiver's window closes, the
/// sender probes it for as long as the probes are answered, stays
/// ESTABLISHED (RFC 9293 §3.8.6.1, MUST-35/36; RFC 1122 §4.2.2.17), and
/// sends again within one round trip of the window opening.
#[test]
fn sender_persists_while_a_receiver_that_stopped_reading_answers() {
    let mut p = Pair::open(Config::linux(), 65536, 65536);
    let data = vec![0x5a; 1 << 20];
    let mut queued = 0;
    let mut next_write = p.now;
    let until = p.now + Duration::from_secs(4 * 3600);
    while p.now < until {
        if p.now >= next_write {
            let now = p.now;
            queued +=
                p.a.send(now, &data[queued % data.len()..])
                    .map_or(0, |o| o.len);
            next_write = now + Duration::from_secs(60);
        }
        p.run_for(Duration::from_secs(60));
        assert_eq!(
            p.a.state(),
            State::Established,
            "sender gave up at {:?}",
            p.now
        );
    }
    // The receiver's buffer is full and it said so: the sender sits at a
    // zero window with its data queued, having probed all along.
    // (Within 2^7 bytes: a scaled window offers whole units only.)
    assert!(p.b.recv_queue() > 65536 - 128, "{}", p.b.recv_queue());
    assert_eq!(p.a.snd_wnd(), 0);
    assert!(p.a.send_queue() > 0);
    assert_eq!(
        p.a.stats().retransmits,
        0,
        "nothing was dropped to retransmit"
    );
    // The receiver reads: the window opens and data flows at once.
    let before = p.b.stats().bytes_in;
    let mut got = Vec::new();
    p.app_b(|c, now| {
        let mut buf = vec![0u8; 65536];
        let o = c.recv(now, &mut buf).unwrap();
        got.extend_from_slice(&buf[..o.len]);
        o.actions
    });
    assert_eq!(got.len(), p.b.stats().bytes_in as usize);
    p.run_for(Duration::from_millis(30));
    assert!(
        p.b.stats().bytes_in > before,
        "no new data within 30 ms (3 one-way delays) of the window opening"
    );
}
