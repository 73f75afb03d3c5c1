//! Urgent data (RFC 9293 §3.8.5 MUST-30..33, MUST-62, MUST-66, SHLD-13,
//! §3.10.7.4 step 6 SA-URG-1/2; RFC 6093): SND.UP and the URG flag on
//! what we send, RCV.UP and `Action::Urgent` for what arrives, the data
//! always in line.
//!
//! Linux (6.18, `tcp_stdurg=0`), checked with loopback sockets: after
//! `send(b"normal")`, `send(b"URGENT", MSG_OOB)`, the out-of-band byte is
//! `T`, the last byte of the urgent send: the pointer points one past it,
//! which is RFC 9293's MUST-62 and what `send_urgent` sends.
mod common;
mod script;

use script::*;
use tcpstate::wire::{Flags, Segment, TcpOptions};
use tcpstate::{Action, Buffers, Config, Connection, Instant, SeqNum, State};

const URG: Flags = Flags::URG;

/// The peer's segment with URG and pointer `up` (SEG.UP, from SEG.SEQ).
fn urg_seg(s: &mut Sut, flags: Flags, seq: SeqNum, up: u16, payload: &[u8]) {
    let seg = Segment {
        seq,
        ack: s.c.snd_nxt(),
        flags: flags | URG,
        window: s.peer_wnd,
        urgent: up,
        options: TcpOptions::NONE,
        payload,
    };
    let a = s.c.on_segment(s.now, &seg);
    s.record(a);
}

fn urgent_actions(s: &Sut) -> usize {
    s.last.into_iter().filter(|a| *a == Action::Urgent).count()
}

// MUST-30, MUST-62: SEND with the urgent flag; the pointer is the offset
// of the first byte after the urgent data (SEG.SEQ + SEG.UP = SND.UP).
#[test]
fn must_62_urgent_pointer_points_one_past_the_last_urgent_byte() {
    let mut s = established();
    assert_eq!(s.send(b"normal"), 6);
    let p = s.out();
    assert_eq!(p.len(), 1);
    assert!(!p[0].flags().urg());
    // Nagle would hold the next short segment while "normal" is in
    // flight; urgent data goes at once.
    let o = s.c.send_urgent(s.now, b"URGENT").unwrap();
    s.record(o.actions);
    assert_eq!(o.len, 6);
    let p = s.out();
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].payload, b"URGENT");
    assert!(p[0].flags().urg());
    let snd_up = ISS.add(1 + 6 + 6);
    assert_eq!(p[0].seq().add(u32::from(p[0].t.urgent)), snd_up);
    // Until SND.UP is acknowledged every segment below it carries URG:
    // a retransmission of "normal" too.
    let rtx = s.run_for(tcpstate::Duration::from_secs(1));
    assert!(!rtx.is_empty());
    for (_, p) in &rtx {
        assert!(p.flags().urg(), "{p:#?}");
        assert_eq!(p.seq().add(u32::from(p.t.urgent)), snd_up);
    }
    // The peer acknowledges everything: the urgent mode ends.
    s.peer(ACK, &[]);
    assert_eq!(s.send(b"after"), 5);
    let p = s.out();
    assert_eq!(p.len(), 1);
    assert!(!p[0].flags().urg(), "{p:#?}");
    assert_eq!(p[0].t.urgent, 0);
}

// MUST-31: urgent data of any length; each segment below SND.UP says how
// far it reaches, and a pointer beyond 16 bits reads 0xFFFF (as Linux).
#[test]
fn must_31_urgent_data_of_any_length_spans_segments() {
    let mut s = Sut::with_buffers(cfg(), RX, 200_000);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    s.expect(SYN, ISS, SeqNum(0));
    s.peer_syn_opts = TcpOptions {
        mss: Some(1000),
        ..TcpOptions::NONE
    };
    s.peer(f(SYN, ACK), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    let n = 100_000;
    let o = s.c.send_urgent(s.now, &vec![9u8; n]).unwrap();
    s.record(o.actions);
    assert_eq!(o.len, n);
    let snd_up = ISS.add(1 + n as u32);
    let p = s.out();
    assert_eq!(p.len(), 10, "the initial window");
    for seg in &p {
        assert!(seg.flags().urg());
        let left = snd_up.dist(seg.seq());
        assert_eq!(u32::from(seg.t.urgent), left.min(0xffff));
    }
    assert_eq!(p[0].t.urgent, 0xffff);
    // The urgent mode marks URG only: PSH stays for the last segment of
    // the data (RFC 9293 §3.9.1), which none of these is.
    assert!(p.iter().all(|seg| !seg.flags().psh()), "{p:?}");
}

// MUST-32, MUST-33, SA-URG-1, RFC 6093: RCV.UP = max(RCV.UP, SEG.SEQ +
// SEG.UP); the application is told once per advance, the data stays in
// line, and `urgent_mark` says how far the urgent data reaches.
#[test]
fn must_32_33_urgent_signalled_once_per_advance_and_delivered_in_line() {
    let mut s = established();
    let base = PEER_ISS.add(1);
    urg_seg(&mut s, ACK, base, 8, b"abcdefghij");
    assert_eq!(urgent_actions(&s), 1, "{:?}", s.last);
    assert!(s.last.urgent());
    assert_eq!(s.c.urgent_mark(), Some(8));
    // The same pointer again (a retransmission, or later data pointing to
    // the same mark): no new signal.
    urg_seg(&mut s, ACK, base.add(10), 0xfffe, &[]);
    assert_eq!(urgent_actions(&s), 1, "the mark moved");
    assert_eq!(s.c.urgent_mark(), Some(0xfffe + 10));
    urg_seg(&mut s, ACK, base, 8, b"abcdefghij");
    assert_eq!(urgent_actions(&s), 0);
    // In line: every byte is read, urgent or not; the mark counts down.
    assert_eq!(s.read(3), b"abc");
    assert_eq!(s.c.urgent_mark(), Some(0xfffe + 7));
    assert_eq!(s.read(100), b"defghij");
    assert_eq!(s.c.urgent_mark(), Some(0xfffe));
    // A pointer behind what was read changes nothing.
    urg_seg(&mut s, ACK, base.add(10), 0, &[1, 2]);
    assert_eq!(urgent_actions(&s), 0);
}

// A read stops at the mark (as BSD's and Linux's do), `urgent_mark` is
// `Some(0)` there (SIOCATMARK), and the mark clears once read past.
#[test]
fn reads_stop_at_the_mark_which_clears_once_read_past() {
    let mut s = established();
    let base = PEER_ISS.add(1);
    urg_seg(&mut s, ACK, base, 4, b"12345678");
    assert_eq!(s.c.urgent_mark(), Some(4));
    assert_eq!(s.read(100), b"1234", "the read stops at the mark");
    assert_eq!(s.c.urgent_mark(), Some(0), "at the mark");
    assert_eq!(s.read(2), b"56");
    assert_eq!(s.c.urgent_mark(), None);
    // A new urgent run is signalled again.
    urg_seg(&mut s, ACK, base.add(8), 2, b"xy");
    assert_eq!(urgent_actions(&s), 1);
    assert_eq!(s.c.urgent_mark(), Some(2 + 2));
    assert_eq!(s.read(100), b"78xy");
    assert_eq!(s.c.urgent_mark(), Some(0));
    // After the urgent data the fast path takes in-order data again.
    s.peer_nxt = base.add(10);
    s.peer(f(ACK, PSH), b"more");
    assert_eq!(s.read(100), b"more");
    assert_eq!(s.c.urgent_mark(), None);
}

// MUST-66 (RFC 9293 §3.8.6.1): URG is processed even when the receive
// window is zero and the segment's text is refused.
#[test]
fn must_66_urg_processed_with_a_zero_receive_window() {
    let mut s = Sut::with_buffers(cfg(), 1000, 8192);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    s.expect(SYN, ISS, SeqNum(0));
    s.peer(f(SYN, ACK), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    s.peer(ACK, &[7u8; 1000]);
    let _ = s.out();
    assert_eq!(s.c.rcv_wnd(), 0);
    let at = s.c.rcv_nxt();
    urg_seg(&mut s, ACK, at, 5, &[1]);
    assert!(s.last.urgent(), "{:?}", s.last);
    assert_eq!(s.c.urgent_mark(), Some(1000 + 5));
    assert_eq!(s.c.recv_queue(), 1000, "the text was refused");
    // A bare ACK with URG at RCV.NXT too.
    urg_seg(&mut s, ACK, at, 9, &[]);
    assert!(s.last.urgent());
    assert_eq!(s.c.urgent_mark(), Some(1000 + 9));
}

// The sender's side of MUST-66: urgent data a shut window holds back is
// announced by a bare ACK carrying URG and the pointer.
#[test]
fn urgent_data_behind_a_shut_window_is_announced_by_a_bare_ack() {
    let mut s = established();
    s.peer_wnd = 0;
    s.peer(ACK, &[]);
    let o = s.c.send_urgent(s.now, b"!").unwrap();
    s.record(o.actions);
    let p = s.out();
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].t.len, 0);
    assert!(p[0].flags().urg() && p[0].flags().ack());
    assert_eq!(p[0].seq().add(u32::from(p[0].t.urgent)), ISS.add(2));
}

// SA-URG-2: in CLOSE-WAIT (and CLOSING, LAST-ACK, TIME-WAIT) the peer's
// FIN came before: URG is ignored.
#[test]
fn sa_urg_2_ignored_after_the_peers_fin() {
    let mut s = close_wait();
    let at = s.c.rcv_nxt();
    urg_seg(&mut s, ACK, at, 5, &[]);
    assert!(!s.last.urgent());
    assert_eq!(s.c.urgent_mark(), None);
    assert_eq!(s.c.state(), State::CloseWait);
}

// SA-URG-1 in FIN-WAIT-2: still taken.
#[test]
fn sa_urg_1_taken_in_fin_wait_2() {
    let mut s = fin_wait_2_with(cfg(), false);
    let at = s.c.rcv_nxt();
    urg_seg(&mut s, ACK, at, 3, b"xyz");
    assert!(s.last.urgent());
    assert_eq!(s.c.urgent_mark(), Some(3));
}

/// Moves every segment from `from` to `to`; the actions `to` reported.
fn deliver(
    from: &mut Connection<Vec<u8>>,
    to: &mut Connection<Vec<u8>>,
    now: Instant,
) -> (bool, Vec<Action>) {
    let mut seen = Vec::new();
    let mut moved = false;
    let mut buf = vec![0u8; 65536];
    while let Some(t) = from.poll_transmit(now, &mut buf) {
        moved = true;
        let seg = Segment {
            seq: t.seq,
            ack: t.ack,
            flags: t.flags,
            window: t.window,
            urgent: t.urgent,
            options: t.options,
            payload: &buf[..t.len],
        };
        seen.extend(to.on_segment(now, &seg));
    }
    (moved, seen)
}

/// Moves segments both ways until both connections are silent.
fn exchange(a: &mut Connection<Vec<u8>>, b: &mut Connection<Vec<u8>>, now: Instant) -> Vec<Action> {
    let mut seen = Vec::new();
    for _ in 0..100 {
        let (m1, s1) = deliver(a, b, now);
        let (m2, s2) = deliver(b, a, now);
        seen.extend(s1);
        seen.extend(s2);
        if !m1 && !m2 {
            break;
        }
    }
    seen
}

// Two engines, Linux's preset: the urgent byte arrives in line, at the
// position Linux's receiver would call the mark (the byte before RCV.UP).
#[test]
fn urgent_data_between_two_linux_preset_engines() {
    let now = Instant::from_secs(1);
    let mk = || Connection::new(Config::linux(), Buffers::with_capacity(65536, 65536)).unwrap();
    let (mut cl, mut sv) = (mk(), mk());
    let _ = sv.listen(now, SeqNum(77)).unwrap();
    let _ = cl.connect(now, SeqNum(5)).unwrap();
    exchange(&mut cl, &mut sv, now);
    assert_eq!(sv.state(), State::Established);
    let _ = cl.send(now, b"normal").unwrap();
    let _ = cl.send_urgent(now, b"URGENT").unwrap();
    let _ = cl.send(now, b"after").unwrap();
    let seen = exchange(&mut cl, &mut sv, now);
    assert!(seen.contains(&Action::Urgent), "{seen:?}");
    // Linux's out-of-band byte is the last urgent byte: `T`; the read
    // stops at the mark.
    let mark = sv.urgent_mark().unwrap();
    assert_eq!(mark, 12);
    let mut got = vec![0u8; 100];
    let n = sv.recv(now, &mut got).unwrap().len;
    assert_eq!(&got[..n], b"normalURGENT");
    assert_eq!(got[mark - 1], b'T');
    assert_eq!(sv.urgent_mark(), Some(0));
    let n = sv.recv(now, &mut got).unwrap().len;
    assert_eq!(&got[..n], b"after");
    assert_eq!(sv.urgent_mark(), None);
    // The sender's urgent mode ended with the ACK of SND.UP.
    let _ = cl.send(now, b"x").unwrap();
    let mut buf = [0u8; 100];
    let t = cl.poll_transmit(now, &mut buf).unwrap();
    assert!(!t.flags.urg());
}

// SHLD-13: RFC 9293 advises new applications against urgent data; the
// call's documentation says so (checked here so that it stays said).
#[test]
fn shld_13_send_urgent_documents_the_advice() {
    let src = include_str!("../src/connection/urgent.rs");
    assert!(src.contains("SHLD-13") && src.contains("advise new"));
}

mod ep_net;

// The Endpoint: `send_urgent`, `Event::Urgent` for the receiving
// application, the data in line, `urgent_mark` through `connection(h)`.
#[test]
fn endpoint_send_urgent_and_event_urgent() {
    use ep_net::*;
    use tcpstate::endpoint::Event;
    let mut net = Net::new(vec![cfg(1), cfg(2)], 1);
    let (c, s, _) = open_pair(&mut net);
    let now = net.now;
    assert_eq!(net.ep(0).send(now, c, b"normal"), Ok(6));
    assert_eq!(net.ep(0).send_urgent(now, c, b"URGENT"), Ok(6));
    net.run_for(tcpstate::Duration::from_millis(50));
    let ev = net.take_events(1);
    assert!(ev.contains(&Event::Urgent(s)), "{ev:?}");
    assert_eq!(net.ep(1).connection(s).unwrap().urgent_mark(), Some(12));
    let now = net.now;
    let (data, _) = read_all(net.ep(1), now, s);
    assert_eq!(data, b"normalURGENT");
    assert_eq!(net.ep(1).connection(s).unwrap().urgent_mark(), Some(0));
}

// RFC 9293 §3.10.7.4 step 6: RCV.UP = max(RCV.UP, SEG.UP). New data whose
// pointer lies behind the mark already known (but ahead of what was read)
// moves nothing and signals nothing.
#[test]
fn rcv_up_keeps_the_larger_pointer() {
    let mut s = established();
    let base = PEER_ISS.add(1);
    urg_seg(&mut s, ACK, base, 100, b"abcdefghij");
    assert_eq!(urgent_actions(&s), 1);
    assert_eq!(s.c.urgent_mark(), Some(100));
    // SEG.UP = base + 15: behind the mark (base + 100), ahead of the read.
    urg_seg(&mut s, ACK, base.add(10), 5, b"klmno");
    assert_eq!(urgent_actions(&s), 0, "{:?}", s.last);
    assert_eq!(s.c.urgent_mark(), Some(100));
}

// The Endpoint's `send_urgent` with a full send buffer takes nothing and
// says so (`WouldBlock`, as `send`): RFC 9293 §3.9.1 SEND with the urgent
// flag queues data like any SEND.
#[test]
fn endpoint_send_urgent_into_a_full_buffer_would_block() {
    use ep_net::*;
    let mut net = Net::new(vec![cfg(1), cfg(2)], 1);
    let (c, _, _) = open_pair(&mut net);
    let now = net.now;
    let big = vec![7u8; 8192];
    let mut queued = 0;
    while let Ok(n) = net.ep(0).send(now, c, &big) {
        queued += n;
    }
    assert_eq!(queued, 8192);
    assert_eq!(
        net.ep(0).send_urgent(now, c, b"!"),
        Err(tcpstate::EndpointError::WouldBlock)
    );
    assert_eq!(net.ep(0).connection(c).unwrap().send_queue(), 8192);
}

// RFC 9293 §3.8.5 marks data segments: urgent data queued in SYN-SENT
// (RFC 9293 §3.10.2 queues a SEND there) puts no URG on the SYN's
// retransmission and asks for no bare ACK before the handshake; the
// segment that carries the data after it does carry URG.
#[test]
fn urgent_data_queued_in_syn_sent_marks_no_syn() {
    let mut s = syn_sent();
    let o = s.c.send_urgent(s.now, b"!").unwrap();
    s.record(o.actions);
    s.silent();
    s.fire();
    let p = s.out();
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(p[0].flags().syn() && !p[0].flags().urg(), "{p:#?}");
    assert_eq!(p[0].t.urgent, 0);
    s.peer(f(SYN, ACK), &[]);
    let p = s.out();
    assert!(
        p.iter().any(|p| p.payload == b"!" && p.flags().urg()),
        "{p:#?}"
    );
}

// RFC 9293 §3.10.7.1: a RST carries no URG, even with urgent data still
// waiting behind a shut window when the application aborts.
#[test]
fn an_abort_with_urgent_data_waiting_sends_a_plain_rst() {
    let mut s = established();
    s.peer_wnd = 0;
    s.peer(ACK, &[]);
    let o = s.c.send_urgent(s.now, b"!").unwrap();
    s.record(o.actions);
    let _ = s.out();
    s.app(|c, now| {
        c.on_app_call(now, tcpstate::AppCall::Abort)
            .unwrap()
            .actions
    });
    let p = s.out();
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(p[0].flags().rst() && !p[0].flags().urg(), "{p:#?}");
    assert_eq!(p[0].t.urgent, 0);
}

// Urgent data that congestion control holds back (cwnd full, the window
// open) waits with the rest: no bare ACK for the pointer, which only a
// shut window calls for (`urgent_data_behind_a_shut_window_is_announced_by_a_bare_ack`).
#[test]
fn urgent_data_behind_a_full_cwnd_waits_without_a_bare_ack() {
    let mut s = established();
    let cwnd = s.c.cwnd() as usize;
    assert_eq!(s.send(&vec![1u8; cwnd + 1000]), cwnd + 1000);
    let sent: usize = s.out().iter().map(|p| p.payload.len()).sum();
    assert_eq!(sent, cwnd);
    let o = s.c.send_urgent(s.now, b"!").unwrap();
    s.record(o.actions);
    s.silent();
}

// The urgent mode ends once SND.UP is acknowledged (RFC 9293 §3.8.5):
// a zero-window probe after it (SEG.SEQ = SND.UNA - 1, below SND.UP when
// SND.UNA is at it) carries no URG.
#[test]
fn the_urgent_mode_ends_when_snd_up_is_acknowledged() {
    let mut s = established();
    let o = s.c.send_urgent(s.now, b"!").unwrap();
    s.record(o.actions);
    let p = s.out();
    assert!(p[0].flags().urg());
    assert_eq!(s.send(b"more"), 4);
    let _ = s.out();
    // Everything up to SND.UP (the urgent byte) acknowledged, the window
    // shut over the rest.
    s.peer_wnd = 0;
    s.peer_ack(ACK, ISS.add(2), &[]);
    let mut probes = Vec::new();
    for _ in 0..3 {
        s.fire();
        probes.extend(s.out());
    }
    assert!(!probes.is_empty());
    assert!(probes.iter().all(|p| !p.flags().urg()), "{probes:#?}");
}
