//! The five classes issue 20 found open, each with the test that failed
//! before its fix: the receive window with window scaling, orphans in
//! zero-window persist, TIME-WAIT floods, duplicate-ACK spoofing, and
//! overlapping retransmissions with different bytes.

use crate::common::Pair;
use crate::support::*;
use std::net::{IpAddr, SocketAddr};
use tcpstate::wire::{Flags, Segment, TcpHeader, TcpOptions, checksum};
use tcpstate::{Buffers, Config, Connection, Duration, EndpointConfig, Instant, SeqNum, State};

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

// ---------------------------------------------------------------------------
// 2. Orphans in zero-window persist (Sockstress, Outpost24 2008)
// ---------------------------------------------------------------------------

/// An application writes, closes and leaves; the peer takes the first
/// flight, shuts its window and acknowledges every zero-window probe. The
/// orphan's probes count toward `orphan_retries` even though answered (as
/// Linux's `tcp_probe_timer` counts them for a dead socket), so it dies
/// within minutes instead of living for ever.
#[test]
fn sockstress_orphan_dies_although_its_probes_are_answered() {
    for (name, cfg) in [("linux", Config::linux()), ("rfc9293", Config::rfc9293())] {
        let mut p = Peer::open(cfg.clone(), 4096, 65536, Some(7), true, true);
        let now = p.now;
        assert_eq!(p.c.send(now, &vec![7u8; 65536]).unwrap().len, 65536);
        let _ = p.c.close(now).unwrap();
        assert!(!p.out().is_empty());
        let end = p.c.snd_nxt();
        let seq = p.seq;
        let out = p.send(Flags::ACK, seq, end, 0, &[]);
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(p.c.state(), State::FinWait1);
        let mut probes = 0;
        let start = p.now;
        p.run_until(start + Duration::from_secs(4 * 3600), |p, o| {
            // Every probe is answered at once: a zero window, all acked.
            assert_eq!(o.t.len, 0, "{name}: data into a zero window");
            probes += 1;
            let seq = p.seq;
            let _ = p.send(Flags::ACK, seq, end, 0, &[]);
        });
        assert_eq!(
            p.c.state(),
            State::Closed,
            "{name}: still {} after 4 h",
            p.c.state()
        );
        let lived = p.now.saturating_duration_since(start);
        assert_eq!(
            p.c.close_reason(),
            Some(tcpstate::CloseReason::TimedOut),
            "{name}"
        );
        // orphan_retries (8) probes, backed off from the RTO up to rto_max.
        assert_eq!(probes, usize::from(cfg.orphan_retries), "{name}");
        assert!(
            lived < Duration::from_secs(300),
            "{name}: the orphan lived {lived:?}"
        );
        assert_eq!(p.c.send_queue(), 0, "{name}: its send buffer is released");
    }
}

/// A peer that keeps an orphan alive by opening its window one byte at a
/// time (each probe answered with progress, which resets the probe count
/// as RFC 9293 §3.8.6.1 says it must): the orphan's total lifetime
/// (`Config::orphan_lifetime`) ends it, with a RST to the peer.
#[test]
fn a_trickling_peer_cannot_outlast_the_orphan_lifetime() {
    let cfg = Config::linux();
    let life = cfg.orphan_lifetime.expect("a lifetime by default");
    let mut p = Peer::open(cfg, 4096, 65536, Some(0), true, true);
    let now = p.now;
    assert_eq!(p.c.send(now, &vec![7u8; 65536]).unwrap().len, 65536);
    let _ = p.c.close(now).unwrap();
    assert!(!p.out().is_empty());
    let mut acked = p.c.snd_nxt();
    let seq = p.seq;
    let _ = p.send(Flags::ACK, seq, acked, 0, &[]);
    let start = p.now;
    let mut rst = 0;
    p.run_until(start + Duration::from_secs(4 * 3600), |p, o| {
        if o.t.flags.rst() {
            rst += 1;
            return;
        }
        // Take whatever came, then offer one more byte.
        let end = o.t.seq.add(o.t.len as u32);
        if o.t.len > 0 && end.after(acked) {
            acked = end;
        }
        let seq = p.seq;
        let _ = p.send(Flags::ACK, seq, acked, 1, &[]);
    });
    assert_eq!(p.c.state(), State::Closed);
    assert_eq!(p.c.close_reason(), Some(tcpstate::CloseReason::Aborted));
    assert_eq!(rst, 1, "the peer is told");
    let lived = p.now.saturating_duration_since(start);
    assert!(lived <= life + Duration::from_millis(1), "lived {lived:?}");
    assert!(lived >= life - Duration::from_secs(1), "lived {lived:?}");
}

/// A zero orphan lifetime would turn every close into an abort: refused.
#[test]
fn orphan_lifetime_must_be_above_zero() {
    let mut cfg = Config::linux();
    cfg.orphan_lifetime = Some(Duration::ZERO);
    assert!(Connection::new(cfg.clone(), Buffers::with_capacity(64, 64)).is_err());
    cfg.orphan_lifetime = None;
    assert!(Connection::new(cfg, Buffers::with_capacity(64, 64)).is_ok());
}

/// Sockstress through a whole Endpoint: the applications write, close and
/// leave; an attacker holding each connection's window shut and answering
/// every probe cannot keep the orphans: they are gone within minutes, with
/// their buffers and timers.
#[test]
fn sockstress_orphans_leave_the_endpoint() {
    let (mut n, server, l) = Net::listening(EndpointConfig::linux(), 64);
    let mut peers = Vec::new();
    for i in 0..20u16 {
        let client = SocketAddr::from(([198, 51, 100, 7], 40_000 + i));
        let (c, end, _) = n.orphan(l, client, server, 16384);
        peers.push((client, c, end));
    }
    assert_eq!(n.ep.counters().orphans, 20);
    assert_eq!(n.ep.connection_count(), 20);
    // Every probe is answered at once with a zero window.
    let limit = n.now + Duration::from_secs(4 * 3600);
    let mut probes = 0;
    while n.ep.connection_count() > 0 {
        let Some(d) = n.ep.next_deadline() else { break };
        assert!(d <= limit, "orphans still alive after 4 h");
        n.now = n.now.max(d);
        n.ep.on_timer(n.now);
        for (_, to, h, p) in n.output() {
            assert!(p.is_empty(), "data into a zero window");
            if h.flags.rst() {
                continue;
            }
            probes += 1;
            let &(client, c, end) = peers.iter().find(|(a, ..)| *a == to).unwrap();
            let _ = n.inject(client, server, c, end, Flags::ACK, 0, TcpOptions::NONE, &[]);
        }
    }
    let lived = n.now.saturating_duration_since(Instant::from_secs(1));
    assert!(
        lived < Duration::from_secs(300),
        "the orphans lived {lived:?}"
    );
    let k = n.ep.counters();
    assert_eq!((k.orphans, n.ep.connection_count()), (0, 0), "{k:?}");
    assert!(probes >= 20 * 8, "{probes} probes");
    assert_eq!(n.ep.timer_count(), 0, "timers left behind");
}

/// `max_orphans` reached: the oldest orphan is reset first, so that the
/// orphans an attacker pins with shut windows make room for new ones
/// (Linux instead resets the orphan being closed or timed, whichever it
/// is: `tcp_too_many_orphans`). The newest `max_orphans` stay.
#[test]
fn max_orphans_resets_the_oldest_first() {
    let mut cfg = EndpointConfig::linux();
    cfg.max_orphans = 3;
    let (mut n, server, l) = Net::listening(cfg, 64);
    let mut rsts = Vec::new();
    for i in 0..7u16 {
        let client = SocketAddr::from(([198, 51, 100, 7], 40_000 + i));
        let (_, _, r) = n.orphan(l, client, server, 4096);
        rsts.extend(r);
        n.now += Duration::from_millis(10);
        // One reset per close past the cap, never more.
        assert_eq!(n.ep.counters().orphans, u64::from(i + 1).min(3));
    }
    assert_eq!(n.ep.counters().orphan_resets, 4);
    assert_eq!(rsts, [40_000, 40_001, 40_002, 40_003], "oldest first");
    let now = n.now;
    let mut left: Vec<u16> =
        n.ep.connections(now)
            .filter(|c| c.state != State::Listen)
            .map(|c| c.remote.port())
            .collect();
    left.sort();
    assert_eq!(left, [40_004, 40_005, 40_006]);
}

// ---------------------------------------------------------------------------
// 3. TIME-WAIT flood (RFC 9293 §3.10.7.4 TIME-WAIT, RFC 5961 §7)
// ---------------------------------------------------------------------------

/// The server closes first and holds the 4-tuple in TIME-WAIT; an attacker
/// that knows only the 4-tuple sends a million segments to it: in-window
/// ACKs, old duplicates and retransmitted FINs, each of which restarts the
/// 2MSL timer. The entry keeps one timer entry whatever arrives (re-arming
/// replaces it), replies stay within the RFC 5961 §7 rate, and the entry
/// and its timer are gone 2MSL after the last segment.
#[test]
fn time_wait_flood_keeps_one_timer_entry() {
    let (mut n, server, l) = Net::listening(EndpointConfig::linux(), 8);
    let client = SocketAddr::from(([198, 51, 100, 7], 40_000));
    let (c, s) = n.handshake(client, server, 65535);
    let h = n.ep.accept(l).unwrap();
    let now = n.now;
    n.ep.close(now, h).unwrap();
    let fin = n.output();
    assert_eq!(fin.len(), 1);
    assert!(fin[0].2.flags.fin());
    let out = n.inject(
        client,
        server,
        c,
        s.add(1),
        Flags::ACK | Flags::FIN,
        65535,
        TcpOptions::NONE,
        &[],
    );
    assert_eq!(out.len(), 1, "the FIN is acknowledged");
    assert_eq!(n.ep.time_wait_count(), 1);
    assert_eq!(n.ep.connection_count(), 0);
    let timers = n.ep.timer_count();
    assert_eq!(timers, 1, "one timer entry for the TIME-WAIT entry");
    let craft = |seq: SeqNum, flags: Flags| {
        let hd = TcpHeader {
            src_port: client.port(),
            dst_port: server.port(),
            seq,
            ack: s.add(1),
            flags,
            window: 65535,
            urgent: 0,
            options: TcpOptions::NONE,
        };
        let mut b = vec![0u8; hd.header_len()];
        hd.emit(&mut b).unwrap();
        let (IpAddr::V4(a), IpAddr::V4(d)) = (client.ip(), server.ip()) else {
            unreachable!()
        };
        checksum::fill_checksum_v4(a.octets(), d.octets(), &mut b);
        b
    };
    let attack = [
        craft(c.add(1), Flags::ACK),       // in window
        craft(c.sub(5000), Flags::ACK),    // an old duplicate
        craft(c, Flags::ACK | Flags::FIN), // the FIN again
    ];
    const N: usize = 1_000_000;
    let mut replies = 0;
    let mut buf = vec![0u8; 1500];
    for i in 0..N {
        n.now += Duration::from_micros(50);
        ep::datagram(&mut n.ep, n.now, client, server, &attack[i % 3]);
        while n.ep.poll_transmit(n.now, &mut buf).is_some() {
            replies += 1;
        }
        if i % 1024 == 0 {
            n.ep.on_timer(n.now);
            assert!(
                n.ep.timer_count() <= 2,
                "{} timer entries after {i} segments",
                n.ep.timer_count()
            );
        }
    }
    assert!(
        n.ep.timer_count() <= 2,
        "{} timer entries",
        n.ep.timer_count()
    );
    assert_eq!(n.ep.time_wait_count(), 1);
    // RFC 5961 §7: out-of-window ACKs at most one per 500 ms (50 s of flood).
    let secs = (N as u64 * 50) / 1_000_000;
    assert!(replies <= secs * 2 + 1, "{replies} replies in {secs} s");
    // The restarted 2MSL runs from the last segment: still there just
    // before, gone at one call of on_timer just after (the entry's node
    // fired long before its expiry and was put back once), with nothing
    // left due.
    let last = n.now;
    n.now = last + Duration::from_millis(59_990);
    n.ep.on_timer(n.now);
    assert_eq!(n.ep.time_wait_count(), 1);
    assert_eq!(n.ep.timer_count(), 1);
    assert!(n.ep.next_deadline().is_some_and(|d| d > n.now));
    // One more ACK restarts 2MSL; the host next calls on_timer only after
    // that restart has run out too: the entry goes in that one call.
    ep::datagram(&mut n.ep, n.now, client, server, &attack[0]);
    let last = n.now;
    n.now = last + Duration::from_millis(60_002);
    n.ep.on_timer(n.now);
    assert_eq!(n.ep.time_wait_count(), 0);
    assert_eq!(n.ep.timer_count(), 0);
    assert_eq!(n.ep.next_deadline(), None);
}

// ---------------------------------------------------------------------------
// 4. Duplicate-ACK spoofing (Savage, Cardwell, Wetherall, Anderson,
//    "TCP congestion control with a misbehaving receiver", 1999)
// ---------------------------------------------------------------------------

/// A sender without SACK with ten segments in flight, a window of 8 MB, and a
/// receiver that sends a hundred duplicate ACKs of the first byte at once.
/// A duplicate ACK says one segment left the network; there cannot be more
/// of those than segments in flight (Linux caps its Reno estimate
/// `sacked_out` at `packets_out`), so the hundred release no more than the
/// flight, and PRR (RFC 6937) keeps cwnd below where it was.
#[test]
fn spoofed_duplicate_acks_release_at_most_the_flight() {
    for (name, cfg) in [("linux", Config::linux()), ("rfc9293", Config::rfc9293())] {
        let mut p = Peer::open(cfg, 65536, 1 << 20, Some(7), false, false);
        let now = p.now;
        let _ = p.c.send(now, &vec![1u8; 1 << 20]).unwrap();
        let flight = p.out();
        let segs = flight.iter().filter(|o| o.t.len > 0).count();
        assert_eq!(segs, 10, "{name}: IW10");
        let cwnd0 = p.c.cwnd();
        let una = p.c.snd_una();
        let top = p.c.snd_nxt();
        let seq = p.seq;
        for _ in 0..100 {
            let dup = Segment {
                seq,
                ack: una,
                flags: Flags::ACK,
                window: 65535,
                urgent: 0,
                options: TcpOptions::NONE,
                payload: &[],
            };
            let _ = p.c.on_segment(p.now, &dup);
        }
        let out = p.out();
        let new = out
            .iter()
            .filter(|o| o.t.len > 0 && !o.t.seq.before(top))
            .count();
        let rtx = out
            .iter()
            .filter(|o| o.t.len > 0 && o.t.seq.before(top))
            .count();
        assert!(p.c.cwnd() <= cwnd0, "{name}: cwnd {} > {cwnd0}", p.c.cwnd());
        assert!(rtx <= 1, "{name}: {rtx} retransmissions");
        assert!(
            new + rtx <= segs,
            "{name}: {new} new segments and {rtx} retransmitted for {segs} in flight"
        );
    }
}

/// The same receiver, acknowledging each segment it draws out with another
/// duplicate ACK (the sender's output is drained after each one): cwnd
/// never grows, and each duplicate ACK releases at most one segment.
#[test]
fn paced_duplicate_acks_never_inflate_cwnd() {
    for (name, cfg) in [("linux", Config::linux()), ("rfc9293", Config::rfc9293())] {
        let mut p = Peer::open(cfg, 65536, 1 << 20, Some(7), false, false);
        let now = p.now;
        let _ = p.c.send(now, &vec![1u8; 1 << 20]).unwrap();
        let _ = p.out();
        let cwnd0 = p.c.cwnd();
        let una = p.c.snd_una();
        let seq = p.seq;
        let mut sent = 0;
        for i in 0..100 {
            let out = p.send(Flags::ACK, seq, una, 65535, &[]);
            let n = out.iter().filter(|o| o.t.len > 0).count();
            assert!(n <= 1, "{name}: duplicate ACK {i} released {n} segments");
            sent += n;
            assert!(
                p.c.cwnd() <= cwnd0,
                "{name}: cwnd {} > {cwnd0} after {i}",
                p.c.cwnd()
            );
        }
        assert!(sent <= 100, "{name}: {sent}");
    }
}

// ---------------------------------------------------------------------------
// 5. Overlapping retransmissions with different bytes (Ptacek and Newsham,
//    "Insertion, Evasion, and Denial of Service", 1998)
// ---------------------------------------------------------------------------

/// One policy for every byte: the first copy that arrives is the one the
/// application reads, whether the byte was already in order or still held
/// out of order. With a hole at [0, 10), bytes [10, 20) held out of order
/// (copy X), a second segment with other bytes (copy Y) at every [s, e)
/// over [0, 31), then everything in order (copy Z): each byte reads as the
/// first copy that covered it. And bytes already in order never change.
#[test]
fn overlapping_retransmissions_first_copy_wins_at_every_boundary() {
    const X: u8 = b'X';
    const Y: u8 = b'Y';
    const Z: u8 = b'Z';
    let mut cases = 0;
    for sack in [false, true] {
        for s in 0..31u32 {
            for e in s + 1..=31 {
                let mut p = Peer::open(Config::linux(), 4096, 4096, Some(7), sack, true);
                let ack = p.c.snd_nxt();
                let base = p.seq;
                let _ = p.send(Flags::ACK, base.add(10), ack, 65535, &[X; 10]);
                let _ = p.send(
                    Flags::ACK,
                    base.add(s),
                    ack,
                    65535,
                    &vec![Y; (e - s) as usize],
                );
                let _ = p.send(Flags::ACK, base, ack, 65535, &[Z; 31]);
                let mut got = [0u8; 64];
                let n = p.c.recv(p.now, &mut got).unwrap().len;
                assert_eq!(n, 31, "[{s}, {e}), sack {sack}");
                for (i, &b) in got[..31].iter().enumerate() {
                    let i = i as u32;
                    let want = if (10..20).contains(&i) {
                        X
                    } else if (s..e).contains(&i) {
                        Y
                    } else {
                        Z
                    };
                    assert_eq!(
                        b as char, want as char,
                        "byte {i} with Y at [{s}, {e}), sack {sack}"
                    );
                }
                // Already in order: a different copy changes nothing.
                let _ = p.send(Flags::ACK, base.add(20), ack, 65535, &[b'W'; 20]);
                let n = p.c.recv(p.now, &mut got).unwrap().len;
                assert_eq!(n, 9, "the 9 new bytes past 31");
                assert!(got[..9].iter().all(|&b| b == b'W'));
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 2 * 31 * 32 / 2);
}

/// A receive buffer smaller than one unit of the window scale Linux's
/// preset offers (shift 7 for `tcp_rmem[2]`, 128-byte units) could only
/// ever advertise a zero window once the window is rounded down: the
/// shift offered is kept small enough that the buffer holds two units,
/// and a transfer into a 100-byte buffer completes.
#[test]
fn a_tiny_receive_buffer_still_opens_its_window() {
    let cfg = Config::linux();
    let mut p = Pair::new(
        crate::common::conn(cfg.clone(), 65536, 65536),
        crate::common::conn(cfg, 100, 4096),
    );
    p.app_b(|c, now| c.listen(now, SeqNum(77)).unwrap());
    p.app_a(|c, now| c.connect(now, SeqNum(1)).unwrap());
    p.run_for(Duration::from_millis(100));
    assert_eq!(p.b.state(), State::Established);
    let data: Vec<u8> = (0..20_000u32).map(|i| i as u8).collect();
    let (mut sent, mut got) = (0, Vec::new());
    while got.len() < data.len() {
        let now = p.now;
        sent += p.a.send(now, &data[sent..]).map_or(0, |o| o.len);
        crate::common::read_all(&mut p.b, now, &mut got);
        p.run_for(Duration::from_millis(1));
        assert!(
            p.now < Instant::from_secs(600),
            "stalled at {} bytes",
            got.len()
        );
    }
    assert!(got == data);
}

/// SACK blocks outside what was sent (found by an attack program written
/// from the docs): one duplicate ACK with a block that straddles
/// SND.UNA + 2^31 passed each serial-number test of its edges (they are
/// not transitive) and released the whole send buffer at once. A block is
/// taken only when its offsets from SND.UNA lie within the flight
/// (RFC 2018 §5), so each of these releases at most one segment.
#[test]
fn sack_blocks_beyond_the_flight_release_nothing() {
    for (left, right) in [
        (0x6000_0000u32, 0xC000_0000u32),
        (0x7fff_0000, 0x8001_0000),
        (0x7000_0000, 0xF000_0000),
        (0x8000_0000, 0x0000_1000),
    ] {
        let mut p = Peer::open(Config::linux(), 65536, 256 * 1024, Some(7), true, false);
        let now = p.now;
        let _ = p.c.send(now, &vec![1u8; 256 * 1024]).unwrap();
        assert_eq!(p.out().iter().filter(|o| o.t.len > 0).count(), 10);
        let una = p.c.snd_una();
        let mut o = TcpOptions::NONE;
        let mut blocks = tcpstate::wire::SackBlocks::new();
        blocks.push(una.add(left), una.add(right));
        o.sack = blocks;
        let seq = p.seq;
        let out = p.send_opts(Flags::ACK, seq, una, 65535, o, &[]);
        let data = out.iter().filter(|o| o.t.len > 0).count();
        assert!(
            data <= 1,
            "block [{left:#x}, {right:#x}): {data} segments for one ACK"
        );
        assert_eq!(p.c.info(p.now).sacked, 0);
    }
}

/// Reneging (RFC 2018 §8): a receiver that SACKed data and then dropped it
/// (Linux prunes its out-of-order queue under memory pressure; one forged
/// ACK does the same). After the timeout the sender must not skip what the
/// peer no longer has; the transfer completes.
#[test]
fn reneging_receiver_gets_its_data_after_a_timeout() {
    let mut p = Peer::open(Config::linux(), 65536, 65536, Some(7), true, false);
    let now = p.now;
    let data: Vec<u8> = (0..30_000u32).map(|i| i as u8).collect();
    let _ = p.c.send(now, &data).unwrap();
    let first = p.out();
    assert_eq!(first.iter().filter(|o| o.t.len > 0).count(), 10);
    let mss = first[0].t.len as u32;
    let una = p.c.snd_una();
    // ACK of segment 1, SACK of segments 3 to 10: segment 2 is a hole.
    let mut o = TcpOptions::NONE;
    let mut blocks = tcpstate::wire::SackBlocks::new();
    blocks.push(una.add(2 * mss), una.add(10 * mss));
    o.sack = blocks;
    let seq = p.seq;
    let _ = p.send_opts(Flags::ACK, seq, una.add(mss), 65535, o, &[]);
    // The peer then keeps only what it acknowledges cumulatively: it
    // reneged on 3 to 10, and answers every segment honestly.
    let mut got = mss as usize;
    let mut pending = Vec::new();
    let limit = p.now + tcpstate::Duration::from_secs(120);
    while got < data.len() && p.now < limit && p.c.state() != State::Closed {
        if pending.is_empty() {
            let Some(d) = p.c.deadline() else { break };
            p.now = d;
            let _ = p.c.on_timer(d);
            pending = p.out();
            continue;
        }
        for o in std::mem::take(&mut pending) {
            if o.t.len > 0 && o.t.seq == una.add(got as u32) {
                got += o.t.len;
            }
            let (seq, ack) = (p.seq, una.add(got as u32));
            pending.extend(p.send(Flags::ACK, seq, ack, 65535, &[]));
        }
    }
    assert_eq!(
        got,
        data.len(),
        "the peer got {got} of {} bytes",
        data.len()
    );
    assert_ne!(p.c.state(), State::Closed);
}

/// A forged ICMP "fragmentation needed" with a sequence number in flight
/// (found by the attack program: a blind hit within about 5,000 messages
/// with a megabyte in flight) cannot pin the connection to tiny segments:
/// no path MTU below 552 bytes is taken for IPv4, 1280 for IPv6 (Linux's
/// `ip_rt_min_pmtu`; RFC 8201).
#[test]
fn forged_frag_needed_keeps_a_floor() {
    for (mtu, overhead, floor) in [(0u16, 20u16, 552u16), (300, 20, 552), (1000, 40, 1280)] {
        let mut p = Peer::open(Config::rfc9293(), 65536, 65536, None, false, false);
        let e = tcpstate::IcmpError::FragmentationNeeded { mtu };
        let _ = p.c.on_icmp(p.now, e, overhead);
        assert_eq!(p.c.effective_mss(), floor - overhead - 20, "mtu {mtu}");
    }
}
