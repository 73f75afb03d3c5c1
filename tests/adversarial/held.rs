//! The ten classes that held before issue 20, as regression tests.

use crate::common::Pair;
use crate::support::*;
use std::net::{IpAddr, SocketAddr};
use tcpstate::wire::{Flags, SackBlocks, Segment, TcpHeader, TcpOptions, Timestamps, checksum};
use tcpstate::{Buffers, Config, Connection, Duration, EndpointConfig, Instant, SeqNum, State};

// ---------------------------------------------------------------------------
// The classes that held before issue 20: regression tests.
// ---------------------------------------------------------------------------

/// SegmentSmack (CVE-2018-5390, Linux `tcp_collapse_ofo_queue`): a flood
/// of tiny out-of-order segments. The reassembly state is a fixed set of
/// ranges inside the receive buffer: memory stays at its first level, no
/// allocation per segment, at most one ACK per segment, and what 50,000
/// segments cost is what 1,000 cost, segment for segment.
#[test]
fn cve_2018_5390_segmentsmack_costs_flat() {
    // No timestamps: PAWS would want every TSval newer.
    let mut p = Peer::open(Config::linux(), 65536, 4096, Some(7), true, false);
    let ack = p.c.snd_nxt();
    let base = p.seq;
    let mut buf = vec![0u8; 2048];
    let mut run = |p: &mut Peer, from: u32, n: u32| {
        let a0 = counting::allocs();
        let mut replies = 0;
        for i in from..from + n {
            // One byte every other byte, in a scattered order, well past
            // RCV.NXT (the hole at RCV.NXT is never filled).
            let off = 2 + 2 * ((i * 7919) % 30_000);
            let seg = Segment {
                seq: base.add(off),
                ack,
                flags: Flags::ACK,
                window: 65535,
                urgent: 0,
                options: TcpOptions::NONE,
                payload: &[i as u8],
            };
            let _ = p.c.on_segment(p.now, &seg);
            while p.c.poll_transmit(p.now, &mut buf).is_some() {
                replies += 1;
            }
        }
        (counting::allocs() - a0, replies, p.c.heap_bytes())
    };
    // Warm-up: the one box of ranges is allocated once.
    let _ = run(&mut p, 0, 100);
    let (a1, r1, h1) = run(&mut p, 100, 1_000);
    let (a2, r2, h2) = run(&mut p, 1_100, 50_000);
    assert_eq!((a1, a2), (0, 0), "allocations per segment");
    // Besides the ranges: the packed config (a standalone connection owns
    // its copy), the rare-event counters and the RACK send log's
    // checkpoints, fixed boxes of `heap_layout`.
    assert!(
        h1 > 0 && h1 <= 128 + fixed_boxes(),
        "reassembly heap {h1} B"
    );
    assert_eq!(h2, h1, "memory grows with the attack");
    assert!(
        r1 <= 1_000 && r2 <= 50_000,
        "more than one reply per segment"
    );
    assert_eq!(p.c.recv_queue(), 0, "nothing in order");
    assert_eq!(p.c.rcv_nxt(), base);
}

/// SACK panic, SACK slowness and excess resources from a low MSS
/// (CVE-2019-11477, -11478, -11479): a peer that advertises MSS 1 gets the
/// floor (`min_peer_mss` 48, Linux `tcp_min_snd_mss`), and our own MSS
/// cannot be configured below 88 (Linux `TCP_MIN_MSS`); SACK blocks that
/// chop the send queue into tiny pieces leave a scoreboard of at most
/// `max_sack_ranges` ranges, no allocation per ACK, at most one reply
/// each.
#[test]
fn cve_2019_11477_sack_and_low_mss() {
    let mut bad = Config::linux();
    bad.mss = 10;
    assert!(
        Connection::new(bad, Buffers::with_capacity(1024, 1024)).is_err(),
        "an MSS below 88 is refused"
    );
    // The peer's SYN says MSS 1.
    let mut o = TcpOptions::NONE;
    o.mss = Some(1);
    o.sack_permitted = true;
    let p = Peer::open_with(Config::linux(), 4096, 65536, o);
    assert!(
        p.c.effective_mss() >= 48,
        "send MSS {} below the floor",
        p.c.effective_mss()
    );
    // The SACK attack on a sender with a long queue.
    let mut p = Peer::open(Config::linux(), 4096, 1 << 20, Some(7), true, true);
    let now = p.now;
    let _ = p.c.send(now, &vec![9u8; 1 << 20]).unwrap();
    let flight = p.out();
    assert!(flight.len() >= 10);
    let una = p.c.snd_una();
    let top = p.c.snd_nxt();
    let span = top.dist(una);
    let seq = p.seq;
    let mut buf = vec![0u8; 65536];
    let a0 = counting::allocs();
    let mut replies = 0;
    let mut worst_heap = 0;
    for i in 0..20_000u32 {
        let mut o = TcpOptions::NONE;
        let mut blocks = SackBlocks::new();
        for k in 0..3u32 {
            // Three one-byte blocks anywhere in the flight.
            let at = 1 + (i.wrapping_mul(2_654_435_761).wrapping_add(k * 977)) % (span - 2);
            blocks.push(una.add(at), una.add(at + 1));
        }
        o.sack = blocks;
        let seg = Segment {
            seq,
            ack: una,
            flags: Flags::ACK,
            window: 65535,
            urgent: 0,
            options: o,
            payload: &[],
        };
        let _ = p.c.on_segment(p.now, &seg);
        while p.c.poll_transmit(p.now, &mut buf).is_some() {
            replies += 1;
        }
        worst_heap = worst_heap.max(p.c.heap_bytes());
    }
    // One box for the scoreboard in recovery, nothing per ACK.
    assert!(
        counting::allocs() - a0 <= 4,
        "{} allocations",
        counting::allocs() - a0
    );
    assert!(
        worst_heap <= 128 + fixed_boxes(),
        "scoreboard {worst_heap} B"
    );
    assert!(replies <= 20_000 + 64, "{replies} segments for 20,000 ACKs");
}

/// RFC 5961 (blind in-window attacks): a RST inside the window but not at
/// RCV.NXT, a SYN, and data whose ACK lies before SND.UNA - MAX.SND.WND are
/// each answered by at most one challenge ACK, rate limited, and the
/// connection stays up and unchanged.
#[test]
fn rfc5961_blind_rst_syn_and_data() {
    let mut p = Peer::open(Config::linux(), 65536, 4096, Some(7), true, true);
    let ack = p.c.snd_nxt();
    let rcv = p.c.rcv_nxt();
    let mut replies = 0;
    for i in 0..10_000u32 {
        p.now += Duration::from_millis(1);
        let (flags, seq, a, data): (Flags, SeqNum, SeqNum, &[u8]) = match i % 3 {
            0 => (Flags::RST, rcv.add(1 + i % 60_000), SeqNum(0), &[]),
            1 => (Flags::SYN, rcv.add(i % 60_000), SeqNum(0), &[]),
            _ => (Flags::ACK, rcv, ack.sub(1 << 30), b"injected"),
        };
        let out = p.send(flags, seq, a, 65535, data);
        assert!(out.len() <= 1, "{} replies to one segment", out.len());
        replies += out.len();
    }
    assert_eq!(p.c.state(), State::Established);
    assert_eq!(p.c.rcv_nxt(), rcv, "no injected byte accepted");
    assert_eq!(p.c.recv_queue(), 0);
    // 10 s of attack, one challenge ACK per 500 ms at most (RFC 5961 §7).
    assert!(replies <= 21, "{replies} challenge ACKs in 10 s");
    assert!(p.c.stats().challenge_acks_suppressed > 9_000);
}

/// The challenge-ACK side channel (CVE-2016-5696, "Off-Path TCP Exploits",
/// Cao et al. 2016): Linux's limit was one global counter, so an attacker
/// could read another connection's challenge ACKs off its own. Here the
/// limit is per connection: exhausting one connection's budget leaves
/// another's untouched.
#[test]
fn cve_2016_5696_challenge_ack_limit_is_per_connection() {
    let (mut n, server, l) = Net::listening(EndpointConfig::linux(), 8);
    let a = SocketAddr::from(([198, 51, 100, 7], 40_000));
    let b = SocketAddr::from(([203, 0, 113, 9], 50_000));
    let (ca, _) = n.handshake(a, server, 65535);
    let (cb, _) = n.handshake(b, server, 65535);
    let _ = (n.ep.accept(l).unwrap(), n.ep.accept(l).unwrap());
    // The attacker's own connection: a hundred in-window RSTs, one
    // challenge ACK comes back.
    let mut to_a = 0;
    for i in 0..100 {
        to_a += n
            .inject(
                a,
                server,
                ca.add(10 + i),
                SeqNum(0),
                Flags::RST,
                0,
                TcpOptions::NONE,
                &[],
            )
            .len();
    }
    assert_eq!(to_a, 1);
    // The victim's connection, in the same instant: its own challenge ACK.
    let out = n.inject(
        b,
        server,
        cb.add(10),
        SeqNum(0),
        Flags::RST,
        0,
        TcpOptions::NONE,
        &[],
    );
    assert_eq!(
        out.len(),
        1,
        "the victim's challenge ACK is not taken by the attacker's budget"
    );
    assert_eq!(out[0].1, b);
    assert_eq!(n.ep.connection_count(), 2);
}

/// Optimistic ACKs and ACK division (Savage, Cardwell, Wetherall,
/// Anderson 1999): ACKs for data not yet sent are dropped (RFC 9293
/// §3.10.7.4, challenge ACK) and change nothing; a segment acknowledged
/// one byte at a time grows cwnd by the bytes acknowledged, not by one
/// segment per ACK (RFC 3465 appropriate byte counting).
#[test]
fn savage_optimistic_acks_and_ack_division() {
    let mut p = Peer::open(Config::linux(), 65536, 1 << 20, Some(7), true, true);
    let now = p.now;
    let _ = p.c.send(now, &vec![1u8; 1 << 20]).unwrap();
    let _ = p.out();
    let (una, nxt, cwnd) = (p.c.snd_una(), p.c.snd_nxt(), p.c.cwnd());
    let seq = p.seq;
    for k in 1..1000u32 {
        let out = p.send(Flags::ACK, seq, nxt.add(k * 1448), 65535, &[]);
        assert!(out.len() <= 1);
    }
    assert_eq!(
        (p.c.snd_una(), p.c.cwnd()),
        (una, cwnd),
        "an ACK of unsent data counted"
    );
    // Division: the first segment acknowledged in 1448 one-byte steps.
    let mss = p.c.effective_mss() as u32;
    for k in 1..=mss {
        let _ = p.send(Flags::ACK, seq, una.add(k), 65535, &[]);
    }
    assert_eq!(p.c.snd_una(), una.add(mss));
    assert!(
        p.c.cwnd() <= cwnd + mss,
        "cwnd {} grew by more than the bytes acknowledged ({mss}) from {cwnd}",
        p.c.cwnd()
    );
}

/// Sequence numbers wrapping through 2^32 (RFC 9293 §3.4: arithmetic
/// modulo 2^32): both directions start just below the wrap and a
/// transfer crosses it; every byte arrives, once, in order.
#[test]
fn sequence_numbers_wrap_through_2_32() {
    let cfg = Config::linux();
    let mut p = Pair::new(
        crate::common::conn(cfg.clone(), 65536, 65536),
        crate::common::conn(cfg, 65536, 65536),
    );
    p.app_b(|c, now| c.listen(now, SeqNum(u32::MAX - 3000)).unwrap());
    p.app_a(|c, now| c.connect(now, SeqNum(u32::MAX - 5000)).unwrap());
    p.run_for(Duration::from_millis(100));
    assert_eq!(p.a.state(), State::Established);
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let (mut sent, mut got_b, mut got_a) = (0, Vec::new(), Vec::new());
    while got_b.len() < data.len() || got_a.len() < data.len() {
        let now = p.now;
        if sent < data.len() {
            let n = p.a.send(now, &data[sent..]).map_or(0, |o| o.len);
            let _ = p.b.send(now, &data[sent..sent + n]);
            sent += n;
        }
        crate::common::read_all(&mut p.b, now, &mut got_b);
        crate::common::read_all(&mut p.a, now, &mut got_a);
        p.run_for(Duration::from_millis(1));
        assert!(p.now < Instant::from_secs(100), "stalled");
    }
    assert!(got_b == data && got_a == data);
    // Both sides' send sequence numbers wrapped.
    assert!(p.a.snd_nxt().0 < 1_000_000 && p.b.snd_nxt().0 < 1_000_000);
}

/// PAWS near 2^32 (RFC 7323 §5): TSval is compared modulo 2^32, so the
/// peer's clock wrapping past 2^32 is newer, not older, and a segment
/// with an older TSval is dropped (with an ACK) whatever its sequence
/// number.
#[test]
fn paws_across_the_tsval_wrap() {
    let mut p = Peer::open(Config::linux(), 65536, 4096, Some(7), true, true);
    let ack = p.c.snd_nxt();
    let mut got = 0;
    let mut wrapped = false;
    for i in 0..80u32 {
        let before = p.ts.unwrap();
        // TSval leaps 2^26 a segment: newer (RFC 7323 §5.2) even against
        // a TS.Recent a dozen segments behind (it is taken only from a
        // segment at Last.ACK.sent, §4.3, and ACKs are delayed); past 2^32.
        p.ts = p.ts.map(|v| v.wrapping_add((1 << 26) - 1));
        wrapped |= p.ts.unwrap() < before;
        let seq = p.seq;
        let _ = p.send(Flags::ACK, seq, ack, 65535, &[i as u8; 100]);
        p.seq = p.seq.add(100);
        got += 100;
        assert_eq!(
            p.c.rcv_nxt(),
            p.seq,
            "segment {i} with TSval {:?} dropped",
            p.ts
        );
    }
    assert!(wrapped, "TSval never passed 2^32");
    assert_eq!(p.c.recv_queue(), got);
    // An old TSval: dropped by PAWS, answered by an ACK at most.
    let mut o = TcpOptions::NONE;
    // (Older than TS.Recent, which is a dozen leaps behind at most.)
    let old = p.ts.unwrap().wrapping_sub(1 << 30);
    o.timestamps = Some(Timestamps {
        val: old,
        ecr: p.ts_recent,
    });
    let seq = p.seq;
    let out = p.send_opts(Flags::ACK, seq, ack, 65535, o, &[1; 100]);
    assert_eq!(p.c.rcv_nxt(), seq, "PAWS let an old segment in");
    assert!(out.len() <= 1);
}

/// Malformed options and headers: 300,000 datagrams mutated from valid
/// segments (bit flips, truncation, option bytes, with the checksum fixed
/// so they get past it) at a listener and an established connection. No
/// panic, at most one reply per datagram, no connection beyond the
/// backlog, every reply well formed.
#[test]
fn malformed_headers_and_options() {
    let (mut n, server, l) = Net::listening(EndpointConfig::linux(), 8);
    let client = SocketAddr::from(([198, 51, 100, 7], 40_000));
    let (c, s) = n.handshake(client, server, 65535);
    let _ = n.ep.accept(l);
    let mut o = TcpOptions::NONE;
    o.mss = Some(1460);
    o.window_scale = Some(7);
    o.sack_permitted = true;
    o.timestamps = Some(Timestamps { val: 5, ecr: 6 });
    let mut templates = Vec::new();
    for (flags, seq, ack) in [
        (Flags::SYN, SeqNum(77), SeqNum(0)),
        (Flags::ACK, c, s),
        (Flags::ACK | Flags::PSH, c, s),
        (Flags::FIN | Flags::ACK, c, s),
    ] {
        let h = TcpHeader {
            src_port: client.port(),
            dst_port: server.port(),
            seq,
            ack,
            flags,
            window: 1000,
            urgent: 0,
            options: o,
        };
        let mut b = vec![0u8; h.header_len()];
        h.emit(&mut b).unwrap();
        b.extend_from_slice(b"payload");
        templates.push(b);
    }
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (IpAddr::V4(sa), IpAddr::V4(da)) = (client.ip(), server.ip()) else {
        unreachable!()
    };
    let mut replies = 0usize;
    let mut buf = vec![0u8; 2048];
    for _ in 0..300_000 {
        let r = rnd();
        let mut b = templates[(r % 4) as usize].clone();
        for k in 0..1 + (r >> 8) % 4 {
            let at = (rnd() % b.len() as u64) as usize;
            b[at] ^= 1 << ((r >> (16 + k)) % 8);
        }
        if r >> 40 & 7 == 0 {
            b.truncate((rnd() % (b.len() as u64 + 1)) as usize);
        }
        if b.len() >= 18 && r >> 44 & 1 == 0 {
            b[16] = 0;
            b[17] = 0;
            checksum::fill_checksum_v4(sa.octets(), da.octets(), &mut b);
        }
        n.now += Duration::from_micros(10);
        ep::datagram(&mut n.ep, n.now, client, server, &b);
        let mut k = 0;
        while let Some(d) = n.ep.poll_transmit(n.now, &mut buf) {
            let (IpAddr::V4(s4), IpAddr::V4(d4)) = (d.src, d.dst) else {
                unreachable!()
            };
            assert!(checksum::verify_v4(
                s4.octets(),
                d4.octets(),
                d.segment(&buf)
            ));
            assert!(TcpHeader::parse(d.segment(&buf)).is_ok());
            k += 1;
        }
        assert!(k <= 1, "{k} replies to one datagram");
        replies += k;
        assert!(n.ep.connection_count() <= 1 + 8, "past the backlog");
    }
    assert!(replies > 0);
}

/// Floods to closed ports and to a listener (RFC 9293 §3.10.7.1,
/// RFC 4987): every segment to nowhere gets at most one RST and a RST
/// gets none; a SYN flood at a listener gets at most one SYN,ACK per SYN
/// (SYN cookies past the backlog) and holds no more than the SYN queue;
/// a thousand ACKs with wrong cookies open nothing.
#[test]
fn floods_to_closed_ports_and_listeners() {
    let (mut n, server, _l) = Net::listening(EndpointConfig::linux(), 16);
    let mut x = 12345u64;
    let mut rnd = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as u32
    };
    for i in 0..20_000u32 {
        n.now += Duration::from_micros(100);
        let src = SocketAddr::from((
            [198, 51, (i >> 8) as u8, i as u8],
            1024 + (rnd() % 60_000) as u16,
        ));
        let closed = SocketAddr::from((ep::SERVER_IP, 81 + (i % 100) as u16));
        let flags = [
            Flags::SYN,
            Flags::ACK,
            Flags::RST,
            Flags::FIN | Flags::ACK,
            Flags::RST | Flags::ACK,
        ][(i % 5) as usize];
        let out = n.inject(
            src,
            closed,
            SeqNum(rnd()),
            SeqNum(rnd()),
            flags,
            1000,
            TcpOptions::NONE,
            &[],
        );
        assert!(out.len() <= 1);
        if flags.rst() {
            assert!(out.is_empty(), "a RST answered a RST");
        } else {
            assert!(out[0].2.flags.rst());
        }
        // The listener: SYNs from everywhere, and ACKs with made-up cookies.
        let flags = if i % 2 == 0 { Flags::SYN } else { Flags::ACK };
        let out = n.inject(
            src,
            server,
            SeqNum(rnd()),
            SeqNum(rnd()),
            flags,
            1000,
            TcpOptions::NONE,
            &[],
        );
        assert!(out.len() <= 1, "{} replies", out.len());
        assert!(
            n.ep.connection_count() <= 16 * 2,
            "{} held",
            n.ep.connection_count()
        );
    }
    let k = n.ep.counters();
    assert!(k.syncookies_sent > 0);
    assert_eq!(k.syncookies_recv, 0, "a made-up cookie opened a connection");
}

/// The boxes a connection holds whatever the attack: its own packed
/// config, the counters of rare events, the RACK send log's checkpoints.
fn fixed_boxes() -> usize {
    let l = tcpstate::connection::heap_layout();
    l[2].1 + l[3].1 + l[4].1
}

/// `heap_bytes` (what W3's figures and the hostile harness's memory bound
/// rely on) is what a connection really holds on the heap besides its
/// buffers (issue 17): its own packed config (a standalone connection),
/// the RACK send log's checkpoints while data is in flight, the uncommon
/// state from the first rare event on; measured by the allocator.
#[test]
fn heap_bytes_is_what_the_connection_holds() {
    let buffers = Buffers::with_capacity(4096, 4096);
    let h0 = counting::held();
    let c = Connection::new(Config::linux(), buffers).unwrap();
    let own_cfg = c.heap_bytes();
    assert!(own_cfg > 0, "a standalone connection owns its config");
    assert_eq!(counting::held() - h0, own_cfg as i64);
    drop(c);
    assert_eq!(counting::held(), h0 - 2 * 4096, "buffers and config freed");

    let mut p = Peer::open(Config::linux(), 65536, 65536, Some(7), true, false);
    let (held0, heap0) = (counting::held(), p.c.heap_bytes());
    assert_eq!(heap0, own_cfg);
    let grew = |p: &Peer| {
        (
            counting::held() - held0,
            p.c.heap_bytes() as i64 - heap0 as i64,
        )
    };
    // Data in flight, sent at one instant: the send log needs no box.
    let mut buf = [0u8; 2048];
    assert_eq!(p.c.send(p.now, &[5; 1000]).unwrap().len, 1000);
    while p.c.poll_transmit(p.now, &mut buf).is_some() {}
    assert_eq!(grew(&p), (0, 0));
    // More a millisecond later (full-sized segments, which Nagle's
    // algorithm lets go): a second send time, the send log's box.
    p.now += Duration::from_millis(1);
    assert_eq!(p.c.send(p.now, &[6; 3000]).unwrap().len, 3000);
    while p.c.poll_transmit(p.now, &mut buf).is_some() {}
    let (held, heap) = grew(&p);
    assert!(heap > 0, "the send log's box");
    assert_eq!(held, heap);
    // All of it acknowledged: the box goes.
    let ack = p.c.snd_nxt();
    let seq = p.seq;
    drop(p.send(Flags::ACK, seq, ack, 65535, &[]));
    assert_eq!(grew(&p), (0, 0));
    // A segment wholly left of the window is dropped (after its ACK): the
    // first rare event boxes the uncommon state.
    drop(p.send(Flags::ACK, seq.sub(5000), ack, 65535, &[9; 10]));
    assert_eq!(p.c.stats().dropped, 1);
    let (held, heap) = grew(&p);
    assert!(heap > 0, "the uncommon state's box");
    assert_eq!(held, heap);
    // Record ends (`SendEor`) are kept in a list in the uncommon state:
    // its capacity counts too, exactly.
    for _ in 0..3 {
        let call = tcpstate::AppCall::SendEor(&[7; 100]);
        assert_eq!(p.c.on_app_call(p.now, call).unwrap().len, 100);
    }
    let (held2, heap2) = grew(&p);
    assert!(heap2 > heap, "the record ends' list");
    assert_eq!(held2, heap2);
}

/// Opens `count` connections from the Endpoint to ports of one far host, aborts them
/// and sends what they send (their SYNs; an abort in SYN-SENT sends
/// nothing), so that every slot is freed; returns the allocations the
/// Endpoint made while opening them. `hs` and `buf` are the caller's, so
/// that nothing but the Endpoint allocates in between.
fn open_and_end(n: &mut Net, count: u16, hs: &mut Vec<tcpstate::Handle>, buf: &mut [u8]) -> u64 {
    hs.clear();
    let a0 = counting::allocs();
    for i in 0..count {
        let far = SocketAddr::from(([198, 51, 100, 7], 1000 + i));
        hs.push(n.ep.connect(n.now, None, far).unwrap());
    }
    let opened = counting::allocs() - a0;
    while n.ep.poll_transmit(n.now, buf).is_some() {}
    for &h in hs.iter() {
        n.ep.abort(n.now, h).unwrap();
    }
    while n.ep.poll_transmit(n.now, buf).is_some() {}
    while n.ep.poll_event().is_some() {}
    assert_eq!(n.ep.connection_count(), 0);
    opened
}

/// Connections that come and go (a client that connects and resets, over
/// and over) cost the Endpoint no allocation after the first: a freed
/// connection's slot keeps its entry's box and its buffers go to a spare
/// list, for the next connection (no allocation and no zeroing per
/// connection).
#[test]
fn connection_churn_allocates_nothing_per_connection() {
    let mut n = Net::new(EndpointConfig::linux());
    let (mut hs, mut buf) = (Vec::with_capacity(1), vec![0u8; 2048]);
    assert!(
        open_and_end(&mut n, 1, &mut hs, &mut buf) > 0,
        "the first allocates"
    );
    let allocs: u64 = (0..200)
        .map(|_| open_and_end(&mut n, 1, &mut hs, &mut buf))
        .sum();
    assert_eq!(allocs, 0, "allocations in 200 connections");
}

/// An Endpoint with 4 KiB buffers after three bursts of 100 connections
/// (to warm up: the tables grow to their size, one still by a few hundred
/// bytes in the third), with `open_and_end`'s handle list and buffer.
fn after_bursts() -> (Net, Vec<tcpstate::Handle>, Vec<u8>) {
    let mut c = EndpointConfig::linux();
    c.rx_buffer = 4096;
    c.tx_buffer = 4096;
    let mut n = Net::new(c);
    let (mut hs, mut buf) = (Vec::with_capacity(100), vec![0u8; 2048]);
    for _ in 0..3 {
        open_and_end(&mut n, 100, &mut hs, &mut buf);
    }
    (n, hs, buf)
}

/// What a burst of connections leaves behind once it ends is bounded:
/// the entries of at most 64 freed connections and the buffers of at most
/// 16 are kept for reuse, the rest goes back to the allocator. A second
/// burst of 100 then allocates the 36 entries and 84 pairs of buffers the
/// Endpoint gave back, no more (it reuses what it kept) and no fewer (it
/// kept no more).
#[test]
fn a_burst_of_connections_leaves_64_entries_and_16_buffers_for_reuse() {
    let (mut n, mut hs, mut buf) = after_bursts();
    for _ in 0..5 {
        let h0 = counting::held();
        let allocs = open_and_end(&mut n, 100, &mut hs, &mut buf);
        assert_eq!(
            allocs,
            (100 - 64) + 2 * (100 - 16),
            "allocations of a burst"
        );
        assert_eq!(counting::held(), h0, "memory held after the burst");
    }
}

/// After a burst ends, connections that come one at a time again
/// allocate nothing: the slots that keep their entry's box are the ones
/// the next connection takes (the top of the free stack), and the boxes
/// given back past the 64 kept are the burst's deepest (before, each
/// later connection took a slot whose box had gone, and allocated one).
#[test]
fn single_connections_after_a_burst_allocate_nothing() {
    let (mut n, mut hs, mut buf) = after_bursts();
    let h0 = counting::held();
    let allocs: u64 = (0..200)
        .map(|_| open_and_end(&mut n, 1, &mut hs, &mut buf))
        .sum();
    assert_eq!(allocs, 0, "allocations in 200 connections after a burst");
    assert_eq!(counting::held(), h0, "memory held");
}

/// Orphans that end one after another (closed by the application, then
/// reset by their peers) leave no handles behind, even after a burst of
/// orphans alive at once: the Endpoint's list of orphan handles (the
/// oldest is reset first past `max_orphans`, Linux's tcp_max_orphans) is
/// pruned of the orphans that ended whenever it holds more than 64 plus
/// twice the live ones, so a server's memory does not grow with the
/// number of orphans it has ever had.
#[test]
fn orphans_that_end_leave_the_orphan_list_bounded() {
    let (mut n, server, l) = Net::listening(EndpointConfig::linux(), 128);
    let orphan = |n: &mut Net, i: u16| {
        let client = SocketAddr::from(([198, 51, 100, 7], 1000 + i));
        let (c, _) = n.handshake(client, server, 65535);
        let h = n.ep.accept(l).unwrap();
        n.ep.close(n.now, h).unwrap();
        assert!(n.output().iter().any(|s| s.2.flags.fin()), "the FIN");
        (client, c)
    };
    let reset = |n: &mut Net, (client, c): (SocketAddr, SeqNum)| {
        let out = n.inject(
            client,
            server,
            c,
            SeqNum(0),
            Flags::RST,
            0,
            TcpOptions::NONE,
            &[],
        );
        assert!(out.is_empty(), "{out:?}");
        while n.ep.poll_event().is_some() {}
    };
    for round in 0..3 {
        // A burst of 100 orphans alive at once, then all reset.
        let burst: Vec<_> = (0..100).map(|i| orphan(&mut n, round * 100 + i)).collect();
        assert_eq!(n.ep.counters().orphans, 100);
        for o in burst {
            reset(&mut n, o);
        }
        assert_eq!(n.ep.counters().orphans, 0, "the resets ended the orphans");
    }
    let h0 = counting::held();
    for i in 300..1300 {
        let o = orphan(&mut n, i);
        reset(&mut n, o);
    }
    assert_eq!(counting::held(), h0, "memory held after 1,000 more orphans");
}
