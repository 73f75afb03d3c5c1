//! SEGMENT ARRIVES (RFC 9293 §3.10.7) rule by rule, in each state where a
//! rule applies, plus RFC 5961, RFC 1337 and the timer-driven behaviour of
//! §3.8 and §3.10.8. Each test names its checklist row (RFC-CHECKLIST.md).
mod script;

use script::*;
use tcpstate::connection::reply_to_unknown;
use tcpstate::wire::Segment;
use tcpstate::{CloseReason, Config, Duration, Instant, SeqNum, State as S, Timer};

/// Moves the clock past the challenge-ACK rate limit.
fn later(s: &mut Sut) {
    s.now += Duration::from_secs(1);
}

fn bare(flags: tcpstate::Flags, seq: u32, ack: u32, payload: &[u8]) -> Segment<'_> {
    Segment {
        seq: SeqNum(seq),
        ack: SeqNum(ack),
        flags,
        window: 1000,
        urgent: 0,
        options: tcpstate::TcpOptions::NONE,
        payload,
    }
}

/// Every synchronized state, each built by its fixture.
fn synchronized() -> Vec<(S, Sut)> {
    vec![
        (S::SynReceived, syn_received_passive()),
        (S::Established, established()),
        (S::FinWait1, fin_wait_1()),
        (S::FinWait2, fin_wait_2()),
        (S::CloseWait, close_wait()),
        (S::Closing, closing()),
        (S::LastAck, last_ack()),
        (S::TimeWait, time_wait()),
    ]
}

// ----- §3.10.7.1 CLOSED ------------------------------------------------------

// SA-CL-1 (RFC 9293 §3.10.7.1): a RST to no connection is discarded.
#[test]
fn sa_cl_1_rst_gets_no_reply() {
    assert_eq!(reply_to_unknown(&bare(RST, 7, 0, &[])), None);
    assert_eq!(reply_to_unknown(&bare(f(RST, ACK), 7, 9, &[])), None);
}

// SA-CL-2, SA-CL-4 (RFC 9293 §3.10.7.1): no ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; SYN and FIN count.
#[test]
fn sa_cl_2_no_ack_gets_rst_ack_with_seg_len() {
    let t = reply_to_unknown(&bare(SYN, 100, 0, &[])).unwrap();
    assert_eq!(
        (t.flags, t.seq, t.ack, t.len),
        (f(RST, ACK), SeqNum(0), SeqNum(101), 0)
    );
    let t = reply_to_unknown(&bare(f(SYN, FIN), 100, 0, b"data")).unwrap();
    assert_eq!(t.ack, SeqNum(106));
    let t = reply_to_unknown(&bare(FIN, u32::MAX, 0, &[])).unwrap();
    assert_eq!(t.ack, SeqNum(0), "wraps modulo 2^32");
}

// SA-CL-3 (RFC 9293 §3.10.7.1): ACK set: <SEQ=SEG.ACK><CTL=RST>.
#[test]
fn sa_cl_3_ack_gets_rst_at_seg_ack() {
    let t = reply_to_unknown(&bare(f(ACK, PSH), 100, 777, b"x")).unwrap();
    assert_eq!((t.flags, t.seq, t.len), (RST, SeqNum(777), 0));
}

// P-FSM-2 (checklist §3): once CLOSED the connection emits nothing more.
#[test]
fn closed_connection_says_nothing() {
    let mut s = closed();
    s.seg(SYN, PEER_ISS, SeqNum(0), &[]);
    s.silent();
    // RFC 9293 §3.10.7.1: the segment is the Endpoint's to answer; the
    // connection only counts it as dropped.
    assert_eq!(s.c.stats().dropped, 1, "counted as dropped");
    let mut s = established();
    s.abort();
    s.expect(RST, ISS.add(1), SeqNum(0));
    s.peer(ACK, b"more");
    s.silent();
    s.unchanged(S::Closed);
    assert_eq!(s.c.stats().dropped, 1, "counted as dropped");
}

// ----- §3.10.7.2 LISTEN --------------------------------------------------------

// SA-LI-1 (RFC 9293 §3.10.7.2 first): a RST is ignored.
#[test]
fn sa_li_1_rst_ignored() {
    let mut s = listen();
    s.seg(RST, PEER_ISS, SeqNum(0), &[]);
    s.silent();
    s.unchanged(S::Listen);
    assert_eq!(s.c.stats().dropped, 1, "counted as dropped");
}

// SA-LI-2 (RFC 9293 §3.10.7.2 second): any ACK, SYN,ACK included, gets <SEQ=SEG.ACK><CTL=RST>.
#[test]
fn sa_li_2_ack_gets_rst() {
    let mut s = listen();
    s.seg(ACK, PEER_ISS, SeqNum(4242), &[]);
    s.expect(RST, SeqNum(4242), SeqNum(0));
    s.unchanged(S::Listen);
    s.seg(f(SYN, ACK), PEER_ISS, SeqNum(77), &[]);
    s.expect(RST, SeqNum(77), SeqNum(0));
    s.unchanged(S::Listen);
    assert_eq!(s.c.stats().dropped, 2, "both counted as dropped");
}

// SA-LI-4 (RFC 9293 §3.10.7.2 third) with the documented deviation: data on a
// SYN is not queued (`Note:` in input.rs, like Linux without TFO): the SYN,ACK
// acknowledges only the SYN, so the peer retransmits the data.
#[test]
fn sa_li_4_syn_data_not_acked_then_retransmitted() {
    let mut s = listen();
    s.peer(SYN, b"early");
    let iss = s.c.iss();
    s.expect(f(SYN, ACK), iss, PEER_ISS.add(1));
    s.peer_nxt = PEER_ISS.add(1);
    s.peer(ACK, &[]);
    assert_eq!(s.c.state(), S::Established);
    assert_eq!(s.c.recv_queue(), 0);
    s.peer(ACK, b"early");
    assert_eq!(s.read(100), b"early");
}

// SA-LI-5 (RFC 9293 §3.10.7.2 fourth): no SYN, RST or ACK: dropped.
#[test]
fn sa_li_5_other_segments_dropped() {
    let mut s = listen();
    s.seg(FIN, PEER_ISS, SeqNum(0), &[]);
    s.seg(PSH, PEER_ISS, SeqNum(0), b"data");
    s.silent();
    s.unchanged(S::Listen);
    assert_eq!(s.c.stats().dropped, 2, "both counted as dropped");
}

// ----- §3.10.7.3 SYN-SENT ------------------------------------------------------

// SA-SS-1 (RFC 9293 §3.10.7.3 first): SEG.ACK =< ISS or > SND.NXT: RST at SEG.ACK, unless RST.
#[test]
fn sa_ss_1_unacceptable_ack_gets_rst() {
    let mut s = syn_sent();
    s.seg(f(SYN, ACK), PEER_ISS, ISS, &[]);
    s.expect(RST, ISS, SeqNum(0));
    s.seg(f(SYN, ACK), PEER_ISS, ISS.add(2), &[]);
    s.expect(RST, ISS.add(2), SeqNum(0));
    s.seg(f(RST, ACK), PEER_ISS, ISS.add(2), &[]);
    s.silent();
    s.unchanged(S::SynSent);
    assert_eq!(s.c.stats().dropped, 3, "each counted as dropped");
}

// SA-SS-1 with two unacceptable ACKs before the host polls: the connection
// holds one RST to send, the last one's <SEQ=SEG.ACK><CTL=RST> (a second
// RST does not cancel the first).
#[test]
fn sa_ss_1_two_unacceptable_acks_before_a_poll_leave_the_last_rst() {
    let mut s = syn_sent();
    s.seg(ACK, PEER_ISS, ISS.add(50), &[]);
    s.seg(ACK, PEER_ISS, ISS.add(60), &[]);
    s.expect(RST, ISS.add(60), SeqNum(0));
    s.silent();
    s.unchanged(S::SynSent);
}

// SA-SS-1: the RST to send is reported as output (`Actions::transmit`),
// as is ABORT's from CLOSED (RFC 9293 §3.10.5: <SEQ=SND.NXT><CTL=RST>);
// a segment dropped without a reply (SA-SS-4) reports nothing to send.
#[test]
fn sa_ss_1_a_rst_to_send_is_reported_as_output() {
    let mut s = syn_sent();
    s.seg(RST, PEER_ISS, SeqNum(0), &[]);
    assert!(!s.last.transmit(), "{:?}", s.last);
    s.seg(ACK, PEER_ISS, ISS.add(50), &[]);
    assert!(s.last.transmit(), "{:?}", s.last);
    s.expect(RST, ISS.add(50), SeqNum(0));
    let mut s = established();
    s.abort();
    assert_eq!(s.c.state(), S::Closed);
    assert!(s.last.transmit(), "{:?}", s.last);
    s.expect(RST, ISS.add(1), SeqNum(0));
}

// SA-SS-4 (RFC 9293 §3.10.7.3 second): RST without ACK is dropped.
#[test]
fn sa_ss_4_rst_without_ack_dropped() {
    let mut s = syn_sent();
    s.seg(RST, PEER_ISS, SeqNum(0), &[]);
    s.silent();
    s.unchanged(S::SynSent);
    assert_eq!(s.c.stats().dropped, 1, "counted as dropped");
}

// SA-SS-7 (RFC 9293 §3.10.7.3 fourth): SYN,ACK with data and FIN continues at step 6.
#[test]
fn sa_ss_7_syn_ack_with_data_and_fin() {
    let mut s = syn_sent();
    s.peer(f(f(SYN, ACK), FIN), b"hi");
    assert_eq!(s.c.state(), S::CloseWait);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(4));
    assert_eq!(s.read(10), b"hi");
    assert!(s.c.is_eof());
}

// SA-SS-7 (RFC 9293 §3.10.7.3 fourth): SYN,ACK with data and no FIN (a
// Fast Open server's reply, RFC 7413 §4.2.2, may carry data): the text
// after the SYN is queued and acknowledged; no end of stream.
#[test]
fn sa_ss_7_syn_ack_with_data_alone() {
    let mut s = syn_sent();
    s.peer(f(SYN, ACK), b"hello");
    assert_eq!(s.c.state(), S::Established);
    assert!(s.last.readable());
    s.expect(ACK, ISS.add(1), PEER_ISS.add(6));
    assert_eq!(s.read(10), b"hello");
    assert!(!s.c.is_eof());
    s.peer(ACK, b" world");
    assert_eq!(s.read(10), b" world");
}

// SA-SS-9 (RFC 9293 §3.10.7.3 fifth): neither SYN nor RST: dropped.
#[test]
fn sa_ss_9_no_syn_no_rst_dropped() {
    let mut s = syn_sent();
    s.seg(ACK, PEER_ISS, ISS.add(1), &[]);
    s.seg(f(ACK, FIN), PEER_ISS, ISS.add(1), b"x");
    s.silent();
    s.unchanged(S::SynSent);
    assert_eq!(s.c.stats().dropped, 2, "both counted as dropped");
}

// SA-FIN-1 (RFC 9293 §3.10.7.4 step 8): no FIN processing in LISTEN or SYN-SENT.
#[test]
fn sa_fin_1_fin_not_processed_before_sync() {
    let mut s = syn_sent();
    s.seg(FIN, PEER_ISS, SeqNum(0), &[]);
    s.silent();
    s.unchanged(S::SynSent);
    let mut s = listen();
    s.seg(FIN, PEER_ISS, SeqNum(0), &[]);
    s.silent();
    s.unchanged(S::Listen);
}

// ----- §3.10.7.4 first: sequence numbers ----------------------------------------

/// ESTABLISHED with `rx` bytes of receive buffer, all filled by the peer:
/// RCV.WND = 0. Something of ours ("x") is in flight.
fn zero_window() -> Sut {
    let mut s = Sut::with_buffers(cfg(), 100, 8192);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    s.expect(SYN, ISS, SeqNum(0));
    s.peer(f(SYN, ACK), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    s.peer(ACK, &[0u8; 100]);
    s.out();
    assert_eq!(s.c.rcv_wnd(), 0);
    s.send(b"x");
    let p = s.expect(f(ACK, PSH), ISS.add(1), PEER_ISS.add(101));
    assert_eq!(p.t.window, 0);
    s
}

// SA-SEQ-1 (RFC 9293 §3.10.7.4 Table 6): SEG.LEN 0, RCV.WND 0: only SEG.SEQ = RCV.NXT.
#[test]
fn sa_seq_1_zero_window_pure_ack() {
    let mut s = zero_window();
    let nxt = s.c.rcv_nxt();
    s.seg(ACK, nxt.add(1), ISS.add(2), &[]);
    s.expect(ACK, ISS.add(2), nxt);
    assert_eq!(
        s.c.snd_una(),
        ISS.add(1),
        "not acceptable: ACK not processed"
    );
    s.seg(ACK, nxt, ISS.add(2), &[]);
    assert_eq!(s.c.snd_una(), ISS.add(2));
    s.silent();
}

// SA-SEQ-3, MUST-66 (RFC 9293 §3.10.7.4, §3.8.6.1): data into a zero window is
// not acceptable: an ACK goes back; valid ACKs (and RSTs) are still processed.
#[test]
fn sa_seq_3_zero_window_data_acked_and_ack_processed() {
    let mut s = zero_window();
    let nxt = s.c.rcv_nxt();
    s.seg(f(ACK, PSH), nxt, ISS.add(2), b"more");
    s.expect(ACK, ISS.add(2), nxt);
    assert_eq!(s.c.recv_queue(), 100);
    assert_eq!(s.c.snd_una(), ISS.add(2), "the valid ACK is processed");
    s.seg(RST, nxt, SeqNum(0), &[]);
    s.closed_by(CloseReason::Reset);
}

// SA-SEQ-3 (RFC 9293 §3.10.7.4): the window stays zero until we advertise
// more. The application read a little, too little for a window update
// (receiver SWS avoidance, §3.8.6.2.2): text that would fit the room made
// is still not acceptable (as Linux's tcp_data_queue drops it while
// tcp_receive_window is 0); an ACK answers with the zero window.
#[test]
fn sa_seq_3_room_made_without_a_window_update_takes_no_text() {
    let mut s = zero_window();
    let nxt = s.c.rcv_nxt();
    assert_eq!(s.read(10).len(), 10);
    s.silent();
    s.seg(f(ACK, PSH), nxt, ISS.add(2), b"more");
    let p = s.expect(ACK, ISS.add(2), nxt);
    assert_eq!(p.t.window, 0);
    assert_eq!(s.c.recv_queue(), 90, "the text is not taken");
    assert_eq!(s.c.snd_una(), ISS.add(2), "the valid ACK is processed");
}

// RFC 9293 §3.10.7.4 (first, and seventh): text past the receive buffer
// is not taken, also when the application reads it at once
// (`on_segment_recv`, into a buffer that would hold it all): the buffer's
// share is, RCV.NXT moves by that much, and the ACK asks for the rest.
#[test]
fn text_past_the_receive_buffer_is_not_taken_when_read_at_once() {
    let mut s = established();
    let nxt = s.c.rcv_nxt();
    let text: Vec<u8> = (0..RX + 900).map(|k| k as u8).collect();
    let seg = tcpstate::wire::Segment {
        seq: nxt,
        ack: ISS.add(1),
        flags: f(ACK, PSH),
        window: 1000,
        urgent: 0,
        options: tcpstate::TcpOptions::NONE,
        payload: &text,
    };
    let mut dst = vec![0u8; RX + 1000];
    let o = s.c.on_segment_recv(s.now, &seg, false, &mut dst);
    s.record(o.actions);
    assert_eq!(o.len, RX, "the buffer's share");
    assert_eq!(&dst[..RX], &text[..RX]);
    assert_eq!(s.c.rcv_nxt(), nxt.add(RX as u32));
    let p = s.out().pop().expect("an ACK");
    assert_eq!(p.ack(), nxt.add(RX as u32));
}

// SA-SEQ-3 in FIN-WAIT-1 (RFC 9293 §3.10.7.4): a zero-window probe whose
// ACK acknowledges our FIN is not acceptable for its text, but its ACK is
// processed: FIN-WAIT-1 becomes FIN-WAIT-2, and the probe is answered
// with our (still zero) window.
#[test]
fn sa_seq_3_zero_window_probe_acking_our_fin_enters_fin_wait_2() {
    let mut s = zero_window();
    let nxt = s.c.rcv_nxt();
    s.shutdown();
    s.expect(f(ACK, FIN), ISS.add(2), nxt);
    assert_eq!(s.c.state(), S::FinWait1);
    s.seg(f(ACK, PSH), nxt, ISS.add(3), b"m");
    s.changed(S::FinWait1, tcpstate::Event::RcvAck, S::FinWait2);
    let p = s.expect(ACK, ISS.add(3), nxt);
    assert_eq!(p.t.window, 0);
    assert_eq!(s.c.recv_queue(), 100, "the probe's byte is not taken");
    // An ACK of the data alone, not of the FIN, leaves FIN-WAIT-1.
    let mut s = zero_window();
    s.shutdown();
    s.out();
    s.seg(f(ACK, PSH), nxt, ISS.add(2), b"m");
    assert_eq!(s.c.state(), S::FinWait1);
    assert_eq!(s.c.snd_una(), ISS.add(2));
}

/// ESTABLISHED, "x" in flight, RCV.WND = RX advertised.
fn established_with_x() -> Sut {
    let mut s = established();
    s.send(b"x");
    let p = s.expect(f(ACK, PSH), ISS.add(1), PEER_ISS.add(1));
    assert_eq!(usize::from(p.t.window), RX);
    s
}

// SA-SEQ-2 (RFC 9293 §3.10.7.4 Table 6): window edges for SEG.LEN 0.
#[test]
fn sa_seq_2_window_edges() {
    let wnd = RX as u32;
    let nxt = PEER_ISS.add(1);
    // RCV.NXT-1 is rejected: an ACK, SND.UNA unchanged.
    let mut s = established_with_x();
    s.seg(ACK, nxt.sub(1), ISS.add(2), &[]);
    s.expect(ACK, ISS.add(2), nxt);
    assert_eq!(s.c.snd_una(), ISS.add(1));
    // RCV.NXT+WND is rejected.
    later(&mut s);
    s.seg(ACK, nxt.add(wnd), ISS.add(2), &[]);
    s.expect(ACK, ISS.add(2), nxt);
    assert_eq!(s.c.snd_una(), ISS.add(1));
    // RCV.NXT+WND-1 is accepted: the ACK is processed.
    s.seg(ACK, nxt.add(wnd - 1), ISS.add(2), &[]);
    assert_eq!(s.c.snd_una(), ISS.add(2));
    s.silent();
}

// SA-SEQ-4, SA-SEQ-7 (RFC 9293 §3.10.7.4 Table 6, trimming): a segment whose
// last byte is in the window is acceptable; old bytes are trimmed.
#[test]
fn sa_seq_4_and_7_overlap_trimmed() {
    let mut s = established();
    s.peer(ACK, b"abc");
    // Retransmission of "c" plus new "de": starts at RCV.NXT-1.
    s.seg(ACK, PEER_ISS.add(3), ISS.add(1), b"cde");
    assert_eq!(s.read(100), b"abcde");
    assert_eq!(s.c.rcv_nxt(), PEER_ISS.add(6));
    // Entirely old data: not acceptable, an immediate ACK.
    s.out();
    s.seg(ACK, PEER_ISS.add(1), ISS.add(1), b"abc");
    s.expect_ack();
    assert_eq!(s.c.recv_queue(), 0);
}

// SA-SEQ-4 (RFC 9293 §3.10.7.4 Table 6): data ending past the window but
// starting in it is acceptable; data starting at RCV.NXT+WND is not.
#[test]
fn sa_seq_4_data_at_right_edge() {
    let mut s = established();
    let nxt = PEER_ISS.add(1);
    s.seg(ACK, nxt.add(RX as u32), ISS.add(1), b"z");
    s.expect(ACK, ISS.add(1), nxt);
    s.seg(ACK, nxt.add(RX as u32 - 1), ISS.add(1), b"yz");
    // Accepted out of order (held): an immediate duplicate ACK (SA-TXT-2).
    s.expect(ACK, ISS.add(1), nxt);
    s.seg(ACK, nxt, ISS.add(1), &vec![b'a'; RX - 1]);
    s.expect(ACK, ISS.add(1), nxt.add(RX as u32));
    assert_eq!(s.c.recv_queue(), RX);
}

// SA-SEQ-6 (RFC 9293 §3.10.7.4 first): not acceptable: ACK and drop, in every
// synchronized state; with RST: drop silently (SA-RST-1).
#[test]
fn sa_seq_6_unacceptable_gets_ack_in_every_state() {
    for (state, mut s) in synchronized() {
        later(&mut s);
        let (snd, rcv) = (s.c.snd_nxt(), s.c.rcv_nxt());
        s.seg(ACK, rcv.add(100_000), snd, b"far");
        s.expect(ACK, snd, rcv);
        s.unchanged(state);
        s.seg(RST, rcv.add(100_000), SeqNum(0), &[]);
        s.silent();
        s.unchanged(state);
    }
}

// SA-SEQ-6 (RFC 9293 §3.10.7.4 first): an unacceptable segment with data
// or a FIN is ACKed each time, not at the challenge-ACK rate that bounds
// the replies to pure ACKs (RFC 5961 §7): such segments cannot form an ACK
// loop (Linux's tcp_oow_rate_limited lets them through).
#[test]
fn sa_seq_6_unacceptable_text_is_acked_every_time() {
    let mut s = established();
    later(&mut s);
    let (snd, rcv) = (s.c.snd_nxt(), s.c.rcv_nxt());
    for _ in 0..3 {
        s.seg(ACK, rcv.add(100_000), snd, b"far");
        s.expect(ACK, snd, rcv);
        s.seg(f(FIN, ACK), rcv.add(100_000), snd, &[]);
        s.expect(ACK, snd, rcv);
    }
    assert_eq!(s.c.stats().challenge_acks, 0);
}

// SA-SEQ-11 (RFC 9293 §3.4): sequence numbers wrap modulo 2^32: both ISNs
// just below 2^32, data both ways across the wrap, then a full close.
#[test]
fn sa_seq_11_data_and_close_across_the_wrap() {
    let iss = SeqNum(0xFFFF_FFF0);
    let peer = SeqNum(0xFFFF_FFF8);
    let mut s = Sut::new(cfg());
    s.app(|c, now| c.connect(now, iss).unwrap());
    s.expect(SYN, iss, SeqNum(0));
    s.peer_nxt = peer;
    s.peer(f(SYN, ACK), &[]);
    s.expect(ACK, iss.add(1), peer.add(1));
    let data: Vec<u8> = (0..40).collect();
    s.send(&data);
    let p = s.expect(f(ACK, PSH), iss.add(1), peer.add(1));
    assert_eq!(p.payload, data);
    s.peer(ACK, &data);
    assert_eq!(s.c.snd_una(), iss.add(41));
    assert_eq!(s.c.snd_una(), SeqNum(25));
    assert_eq!(s.read(100), data);
    assert_eq!(s.c.rcv_nxt(), SeqNum(33));
    s.close();
    s.expect(f(FIN, ACK), SeqNum(25), SeqNum(33));
    s.peer(f(FIN, ACK), &[]);
    s.expect(ACK, SeqNum(26), SeqNum(34));
    assert_eq!(s.c.state(), S::TimeWait);
}

// ----- §3.10.7.4 second: RST --------------------------------------------------

// SA-RST-3 (RFC 9293 §3.10.7.4 second, RFC 5961 §3.2): an in-window RST not at
// RCV.NXT draws a challenge ACK, in every synchronized state.
#[test]
fn sa_rst_3_in_window_rst_challenged_in_every_state() {
    for (state, mut s) in synchronized() {
        later(&mut s);
        let (snd, rcv) = (s.c.snd_nxt(), s.c.rcv_nxt());
        s.seg(RST, rcv.add(1), SeqNum(0), &[]);
        s.expect(ACK, snd, rcv);
        s.unchanged(state);
        assert_eq!(s.c.stats().challenge_acks, 1, "{state}");
    }
}

// SA-RST-2, SA-RST-6, SA-RST-8, MUST-12, SHLD-2 (RFC 9293 §3.10.7.4 second,
// §3.5.3): a RST at RCV.NXT, even carrying data, resets and tells the app.
#[test]
fn sa_rst_8_rst_with_data_resets() {
    let mut s = established();
    s.seg(RST, PEER_ISS.add(1), SeqNum(0), b"reason: bye");
    s.closed_by(CloseReason::Reset);
    assert!(s.last.readable() && s.last.writable());
    assert_eq!(
        s.c.send(s.now, b"x"),
        Err(tcpstate::CallError::Ended(CloseReason::Reset))
    );
}

// SA-RST-7, R1337-1 (RFC 9293 §3.10.7.4 second, RFC 1337): with protection on
// (Config::rfc9293) a RST in TIME-WAIT is ignored and 2MSL runs on.
#[test]
fn r1337_1_time_wait_ignores_rst() {
    let mut s = time_wait_with(Config {
        timestamps: false,
        window_scaling: false,
        ..Config::rfc9293()
    });
    let tw = s.c.timer(Timer::TimeWait);
    s.seg(RST, PEER_ISS.add(2), SeqNum(0), &[]);
    s.unchanged(S::TimeWait);
    s.silent();
    assert_eq!(s.c.timer(Timer::TimeWait), tw);
    assert_eq!(s.c.stats().dropped, 1, "counted as dropped");
    assert!(Config::rfc9293().rfc1337);
}

// FSM-45, R1337-1 off (Config::linux, tcp_rfc1337=0): the RST ends TIME-WAIT.
#[test]
fn r1337_off_linux_time_wait_rst_closes() {
    let mut s = time_wait_with(Config {
        timestamps: false,
        window_scaling: false,
        ..Config::linux()
    });
    s.seg(RST, PEER_ISS.add(2), SeqNum(0), &[]);
    assert_eq!(s.c.state(), S::Closed);
    s.silent();
}

// R5961-4 (RFC 5961 §7): 1000 spoofed in-window RSTs within 1 s draw at most
// the configured number of challenge ACKs (1 per 500 ms).
#[test]
fn r5961_4_challenge_ack_rate_limit() {
    let mut s = established();
    let start = s.now;
    let mut acks = 0;
    for i in 0..1000u32 {
        s.now = start + Duration::from_millis(u64::from(i));
        s.seg(RST, PEER_ISS.add(2 + i), SeqNum(0), &[]);
        acks += s.out().len();
    }
    assert_eq!(s.c.state(), S::Established);
    assert!((1..=2).contains(&acks), "{acks} challenge ACKs");
    let st = s.c.stats();
    assert_eq!(st.challenge_acks as usize, acks);
    assert_eq!(st.challenge_acks_suppressed as usize, 1000 - acks);
}

// ----- §3.10.7.4 fourth: SYN -------------------------------------------------

// SA-SYN-3, R5961-2 (RFC 9293 §3.10.7.4 fourth, RFC 5961 §4.2): a SYN in a
// synchronized state draws a challenge ACK whatever its SEG.SEQ.
#[test]
fn sa_syn_3_syn_challenged_in_every_state() {
    for (state, mut s) in synchronized() {
        if state == S::SynReceived {
            continue; // passive: SA-SYN-1, back to LISTEN (tests/edges.rs)
        }
        for seq in [
            s.c.rcv_nxt(),
            s.c.rcv_nxt().add(10),
            s.c.rcv_nxt().sub(1000),
        ] {
            later(&mut s);
            let (snd, rcv) = (s.c.snd_nxt(), s.c.rcv_nxt());
            s.seg(SYN, seq, SeqNum(0), &[]);
            s.expect(ACK, snd, rcv);
            s.unchanged(state);
        }
    }
}

// SA-SYN-2 (RFC 9293 §3.10.7.4 fourth): SYN-RECEIVED of an active open is
// handled as synchronized: challenge ACK, no reset.
#[test]
fn sa_syn_2_active_syn_received_challenges_syn() {
    let mut s = syn_received_active();
    s.seg(SYN, PEER_ISS.add(10), SeqNum(0), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    s.unchanged(S::SynReceived);
}

// SYN-RECEIVED: a retransmitted SYN (our SYN,ACK was lost) gets the SYN,ACK again.
#[test]
fn syn_received_retransmitted_syn_gets_syn_ack() {
    let mut s = syn_received_passive();
    let iss = s.c.iss();
    s.seg(SYN, PEER_ISS, SeqNum(0), &[]);
    s.expect(f(SYN, ACK), iss, PEER_ISS.add(1));
    s.unchanged(S::SynReceived);
}

// RFC 6298 §3 (Karn, MUST-18): a SYN,ACK sent again for the peer's
// retransmitted SYN makes the ACK that completes the handshake ambiguous:
// no RTT sample from it (Linux's `tcp_synack_rtt_meas` takes none once
// `num_retrans` counted the resend). Without the resend, the handshake's
// 150 ms is the first sample.
#[test]
fn karn_a_syn_ack_sent_again_for_a_duplicate_syn_gives_no_rtt_sample() {
    for dup in [false, true] {
        let mut s = syn_received_passive();
        let iss = s.c.iss();
        s.now += Duration::from_millis(100);
        if dup {
            s.seg(SYN, PEER_ISS, SeqNum(0), &[]);
            s.expect(f(SYN, ACK), iss, PEER_ISS.add(1));
        }
        s.now += Duration::from_millis(50);
        s.seg(ACK, PEER_ISS.add(1), iss.add(1), &[]);
        assert_eq!(s.c.state(), S::Established);
        let want = (!dup).then(|| Duration::from_millis(150));
        assert_eq!(s.c.srtt(), want, "dup {dup}");
    }
}

// ----- §3.10.7.4 fifth: ACK -----------------------------------------------------

// SA-ACK-0 (RFC 9293 §3.10.7.4 fifth): ACK off: drop.
#[test]
fn sa_ack_0_no_ack_bit_dropped() {
    let mut s = established();
    s.seg(PSH, PEER_ISS.add(1), SeqNum(0), b"sneaky");
    s.silent();
    assert_eq!(s.c.recv_queue(), 0);
    assert_eq!(s.c.rcv_nxt(), PEER_ISS.add(1));
    assert_eq!(s.c.stats().dropped, 1, "counted as dropped");
}

// SA-ACK-1, R5961-3 (RFC 9293 §3.10.7.4 fifth, RFC 5961 §5.2): SEG.ACK must be
// >= SND.UNA - MAX.SND.WND; below: drop and ACK.
#[test]
fn sa_ack_1_ack_range_check() {
    let mut s = established();
    let max_wnd = 65535;
    s.seg(ACK, PEER_ISS.add(1), ISS.add(1).sub(max_wnd + 1), b"inject");
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    assert_eq!(s.c.recv_queue(), 0);
    assert_eq!(s.c.stats().dropped, 1, "counted as dropped");
    // At the lower edge: acceptable (an old duplicate ACK), data delivered.
    s.seg(ACK, PEER_ISS.add(1), ISS.add(1).sub(max_wnd), b"fine");
    assert_eq!(s.read(10), b"fine");
}

// SA-ACK-2 (RFC 9293 §3.10.7.4 fifth, SYN-RECEIVED): an ACK outside
// SND.UNA < SEG.ACK =< SND.NXT gets <SEQ=SEG.ACK><CTL=RST>.
#[test]
fn sa_ack_2_syn_received_bad_ack_gets_rst() {
    let mut s = syn_received_passive();
    let iss = s.c.iss();
    s.seg(ACK, PEER_ISS.add(1), iss, &[]);
    s.expect(RST, iss, SeqNum(0));
    s.seg(ACK, PEER_ISS.add(1), iss.add(5), &[]);
    s.expect(RST, iss.add(5), SeqNum(0));
    s.unchanged(S::SynReceived);
    assert_eq!(s.c.stats().dropped, 2, "both counted as dropped");
    s.seg(ACK, PEER_ISS.add(1), iss.add(1), &[]);
    assert_eq!(s.c.state(), S::Established);
}

// SA-ACK-2 in FIN-WAIT-1 entered from SYN-RECEIVED (CLOSE before the
// peer's ACK of our SYN): the ACK must still acknowledge the SYN (SND.UNA
// < SEG.ACK =< SND.NXT); one that does not gets <SEQ=SEG.ACK><CTL=RST>
// and is dropped (counted); the right one moves on.
#[test]
fn sa_ack_2_fin_wait_1_before_the_syn_is_acked_resets_a_bad_ack() {
    let mut s = syn_received_passive();
    let iss = s.c.iss();
    s.close();
    assert_eq!(s.c.state(), S::FinWait1);
    let _ = s.out();
    s.seg(ACK, PEER_ISS.add(1), iss, &[]);
    s.expect(RST, iss, SeqNum(0));
    assert_eq!(s.c.state(), S::FinWait1);
    assert_eq!(s.c.stats().dropped, 1, "counted as dropped");
    s.seg(ACK, PEER_ISS.add(1), iss.add(1), &[]);
    assert_eq!(s.c.snd_una(), iss.add(1));
    assert_eq!(s.c.stats().dropped, 1);
}

// SA-ACK-2, then a RST: the reset sent for the bad ACK leaves the
// connection as it was, a passive OPEN's, so the peer's RST returns it to
// LISTEN (RFC 9293 §3.10.7.4 second, SYN-RECEIVED, SA-RST-1).
#[test]
fn sa_ack_2_the_rst_for_a_bad_ack_leaves_the_open_passive() {
    let mut s = syn_received_passive();
    let iss = s.c.iss();
    s.seg(ACK, PEER_ISS.add(1), iss.add(5), &[]);
    s.expect(RST, iss.add(5), SeqNum(0));
    s.seg(RST, PEER_ISS.add(1), SeqNum(0), &[]);
    s.silent();
    assert_eq!(s.c.state(), S::Listen);
}

// SA-ACK-2 with a duplicate segment before the host polls: the duplicate
// is acknowledged (RFC 9293 §3.10.7.4 first), and the RST still goes with
// the bad ACK's number, <SEQ=SEG.ACK><CTL=RST> (the D-SACK block the
// duplicate would report, RFC 2883 §4, does not take its place).
#[test]
fn sa_ack_2_a_duplicate_before_the_poll_leaves_the_rst_as_it_was() {
    let mut s = syn_received_passive();
    let iss = s.c.iss();
    s.seg(ACK, PEER_ISS.add(1), iss.add(5), &[]);
    s.seg(ACK, PEER_ISS.add(1).sub(10), iss.add(1), &[7; 10]);
    let v = s.out();
    assert_eq!(
        v.iter().map(|p| (p.flags(), p.seq())).collect::<Vec<_>>(),
        [(RST, iss.add(5)), (ACK, iss.add(1))],
        "{v:#?}"
    );
    s.unchanged(S::SynReceived);
}

// The ACK of our SYN is not a duplicate ACK, whatever it leaves
// unacknowledged: it moves SND.UNA past the SYN (RFC 5681 §2: a duplicate
// acknowledges nothing new; Linux's tcp_ack flags it FLAG_SYN_ACKED, never
// a duplicate). A Fast Open server's data sent before it (RFC 7413 §4.2.2)
// stays in flight: no limited-transmit segment beyond cwnd (RFC 3042), no
// Disorder state.
#[test]
fn sa_ack_2_the_ack_of_a_fast_open_syn_ack_is_not_a_duplicate() {
    let mut s = fast_open_child_with(cfg(), b"hi");
    s.expect(f(SYN, ACK), LISTEN_ISS, PEER_ISS.add(3));
    s.peer_nxt = PEER_ISS.add(3);
    // IW 10 segments of 536 bytes, the SYN among them: 9 go.
    s.send(&[7; 8000]);
    assert_eq!(s.out().len(), 9);
    s.peer_ack(ACK, LISTEN_ISS.add(1), &[]);
    assert_eq!(s.c.state(), S::Established);
    assert_eq!(s.c.snd_una(), LISTEN_ISS.add(1));
    // The room the SYN left: one segment, none beyond cwnd.
    let sent = s.out();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(s.c.info(s.now).ca_state, 0, "TCP_CA_Open");
}

// The same in FIN-WAIT-1 entered from SYN-RECEIVED: the ACK of the SYN
// alone leaves our FIN in flight and is not a duplicate ACK.
#[test]
fn sa_ack_2_the_ack_of_the_syn_before_our_fin_is_not_a_duplicate() {
    let mut s = syn_received_passive();
    let iss = s.c.iss();
    s.close();
    s.expect(f(FIN, ACK), iss.add(1), PEER_ISS.add(1));
    s.peer_ack(ACK, iss.add(1), &[]);
    s.unchanged(S::FinWait1);
    assert_eq!(s.c.snd_una(), iss.add(1));
    assert_eq!(s.c.info(s.now).ca_state, 0, "TCP_CA_Open");
}

// SA-ACK-3 (RFC 9293 §3.10.7.4 fifth, ESTABLISHED): each branch.
#[test]
fn sa_ack_3_established_ack_branches() {
    let mut s = established_with_x();
    // SEG.ACK > SND.NXT: ACK, drop (data not delivered).
    s.seg(ACK, PEER_ISS.add(1), ISS.add(10), b"bad");
    s.expect(ACK, ISS.add(2), PEER_ISS.add(1));
    assert_eq!(s.c.recv_queue(), 0);
    assert_eq!(s.c.stats().dropped, 1, "counted as dropped");
    // Duplicate (SEG.ACK = SND.UNA): ignored, data processed.
    s.seg(ACK, PEER_ISS.add(1), ISS.add(1), b"dup");
    assert_eq!(s.c.snd_una(), ISS.add(1));
    assert_eq!(s.read(10), b"dup");
    // New: SND.UNA advances, send space freed.
    s.seg(ACK, PEER_ISS.add(4), ISS.add(2), &[]);
    assert_eq!(s.c.snd_una(), ISS.add(2));
    assert_eq!(s.c.send_queue(), 0);
    assert!(s.last.writable());
}

// SA-ACK-2 (RFC 9293 §3.10.7.4 fifth): an ACK that acknowledges our FIN
// alone frees no send buffer space, and after a shutdown the application
// cannot write (`send` fails): it is woken for nothing (`Writable`) as
// FIN-WAIT-1 becomes FIN-WAIT-2.
#[test]
fn sa_ack_2_the_ack_of_our_fin_alone_wakes_no_writer() {
    let mut s = fin_wait_1_with(cfg(), false);
    s.peer(ACK, &[]);
    s.changed(S::FinWait1, tcpstate::Event::RcvAck, S::FinWait2);
    assert!(!s.last.writable(), "{:?}", s.last);
    s.silent();
}

// SA-ACK-4 (RFC 9293 §3.10.7.4 fifth): the window is taken only from a newer
// segment (WL1/WL2): a reordered old segment does not shrink SND.WND.
#[test]
fn sa_ack_4_old_segment_does_not_update_window() {
    let mut s = established();
    s.seg_wnd(ACK, PEER_ISS.add(1), ISS.add(1), 60000, b"abcd");
    s.seg_wnd(ACK, PEER_ISS.add(5), ISS.add(1), 50000, &[]);
    assert_eq!(s.c.snd_wnd(), 50000);
    s.seg_wnd(ACK, PEER_ISS.add(1), ISS.add(1), 100, b"abcd");
    assert_eq!(s.c.snd_wnd(), 50000);
}

// SA-ACK-4 with Linux's `tcp_may_update_window`: an ACK that moves SND.UNA
// sets the window whatever its SEG.SEQ. The peer's retransmission that
// fills a hole has a SEG.SEQ below SND.WL1 and today's window; taking only
// SND.UNA from it would count the old SND.WND from the new SND.UNA and send
// past the peer's right edge (two tcpstate peers echoing at 2 % loss
// deadlocked so).
#[test]
fn a_window_that_comes_with_a_filled_hole_is_obeyed() {
    let mut s = established();
    // The peer's second segment arrives first (a hole below it); its
    // window of 1072 (two segments of 536) is taken (SND.WL1 = its SEG.SEQ).
    s.seg_wnd(ACK, PEER_ISS.add(101), ISS.add(1), 1072, &[b'b'; 100]);
    assert_eq!(s.c.snd_wnd(), 1072);
    s.out();
    assert_eq!(s.send(&[7; 3000]), 3000);
    let sent: usize = s.out().iter().map(|p| p.payload.len()).sum();
    assert_eq!(sent, 1072, "the window bounds what is sent");
    // The hole is filled by the peer's retransmission (SEG.SEQ below
    // SND.WL1): it acknowledges all 1072 bytes and its buffer is full.
    s.seg_wnd(ACK, PEER_ISS.add(1), ISS.add(1073), 0, &[b'a'; 100]);
    assert_eq!(s.c.snd_wnd(), 0, "the window of the ACK that moved SND.UNA");
    let out = s.out();
    assert!(
        out.iter().all(|p| p.payload.is_empty()),
        "nothing past the peer's right edge: {out:#?}"
    );
    // The same segment not acknowledging new data leaves the window alone
    // (SA-ACK-4 as before).
    s.seg_wnd(ACK, PEER_ISS.add(101), ISS.add(1073), 500, &[b'b'; 100]);
    assert_eq!(s.c.snd_wnd(), 0);
}

// SA-ACK-4 (RFC 9293 §3.10.7.4): the window of a segment older than the
// one that set it (SEG.SEQ below SND.WL1), with the same ACK, is not
// taken; Linux's `tcp_may_update_window` agrees (SEG.SEQ not after
// SND.WL1, and not equal to it).
#[test]
fn the_window_of_an_older_segment_with_the_same_ack_is_not_taken() {
    let mut s = established();
    s.seg_wnd(ACK, PEER_ISS.add(101), ISS.add(1), 1072, &[b'b'; 100]);
    assert_eq!(s.c.snd_wnd(), 1072);
    // The segment before it, reordered, with an older window.
    s.seg_wnd(ACK, PEER_ISS.add(1), ISS.add(1), 3000, &[b'a'; 100]);
    assert_eq!(s.c.snd_wnd(), 1072);
    s.out();
    assert_eq!(s.send(&[7; 3000]), 3000);
    let sent: usize = s.out().iter().map(|p| p.payload.len()).sum();
    assert_eq!(sent, 1072, "the newer window bounds what is sent");
}

// RFC 9293 §3.10.7.4 step 1 at the peer: an ACK is taken only when its
// SEG.SEQ is in the receiver's window (with a zero window, SEG.SEQ =
// RCV.NXT). After the peer shrank its window below what we sent, a pure
// ACK at SND.MAX would be dropped there with what it acknowledges; it goes
// at the right edge of the peer's window instead (Linux's
// `tcp_acceptable_seq`).
#[test]
fn a_pure_ack_stays_inside_a_shrunk_window() {
    let mut s = established();
    s.seg_wnd(ACK, PEER_ISS.add(1), ISS.add(1), 1072, &[]);
    assert_eq!(s.send(&[7; 1072]), 1072);
    let sent: usize = s.out().iter().map(|p| p.payload.len()).sum();
    assert_eq!(sent, 1072);
    // The peer takes 400 bytes, then its buffer is full: window 0 with
    // 672 bytes of ours beyond its right edge.
    s.seg_wnd(ACK, PEER_ISS.add(1), ISS.add(401), 0, &[]);
    s.out();
    // Its data must be acknowledged at SEG.SEQ = SND.UNA + SND.WND.
    s.seg_wnd(ACK, PEER_ISS.add(1), ISS.add(401), 0, b"hello");
    // (a delayed ACK: let its timer run; the zero window keeps data back)
    let acks: Vec<_> = s
        .run_for(Duration::from_millis(500))
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| p.payload.is_empty() && p.ack() == PEER_ISS.add(6))
        .collect();
    assert!(!acks.is_empty(), "the data is acknowledged");
    for p in &acks {
        assert_eq!(p.seq(), ISS.add(401), "not SND.MAX {}", ISS.add(1073));
    }
}

// The same with the peer's window scaled (RFC 7323 §2.4: the peer rounds
// its window down to its unit of 2^shift bytes): SND.MAX less than one unit
// past the edge may be inside the peer's real window, and the ACK stays at
// SND.MAX; one unit past it or more, it goes at the edge (Linux's
// `tcp_acceptable_seq`, which counts the unit by its own shift where this
// counts the peer's: the same between two Linux defaults).
#[test]
fn a_pure_ack_less_than_a_window_unit_past_the_edge_stays_at_snd_max() {
    for (past, at_max) in [
        (1u32, true),
        (100, true),
        (127, true),
        (128, false),
        (300, false),
    ] {
        let c = Config {
            window_scaling: true,
            ..script::cfg()
        };
        let opts = tcpstate::wire::TcpOptions {
            window_scale: Some(7),
            ..tcpstate::wire::TcpOptions::NONE
        };
        let mut s = established_with_peer(c, opts, Duration::from_millis(10));
        s.peer_wnd = 100;
        s.peer(ACK, &[]);
        assert_eq!(s.c.snd_wnd(), 12_800);
        assert_eq!(s.send(&[7; 6000]), 6000);
        let sent: u32 = s.out().iter().map(|p| p.payload.len() as u32).sum();
        assert!(sent > past + 1024, "{sent}");
        // The peer takes all but `past + 1024` bytes and leaves 8 units of
        // window: its right edge is `past` bytes below SND.MAX.
        let una = ISS.add(1 + sent - past - 1024);
        s.peer_wnd = 8;
        s.peer_ack(ACK, una, &[]);
        s.out();
        s.peer_ack(ACK, una, b"hello");
        let acks: Vec<_> = s
            .run_for(Duration::from_millis(500))
            .into_iter()
            .map(|(_, p)| p)
            .filter(|p| p.payload.is_empty() && p.ack() == s.peer_nxt)
            .collect();
        assert!(!acks.is_empty(), "the data is acknowledged");
        let want = if at_max {
            ISS.add(1 + sent)
        } else {
            ISS.add(1 + sent - past)
        };
        for p in &acks {
            assert_eq!(p.seq(), want, "{past} bytes past the edge");
        }
    }
}

// SA-ACK-6 (RFC 9293 §3.10.7.4 fifth, FIN-WAIT-2): ACKs are processed as in
// ESTABLISHED and the connection stays.
#[test]
fn sa_ack_6_fin_wait_2_keeps_tcb() {
    let mut s = fin_wait_2();
    s.peer(ACK, &[]);
    s.unchanged(S::FinWait2);
    s.silent();
}

// SA-ACK-8 (RFC 9293 §3.10.7.4 fifth, CLOSING): an ACK not covering our FIN is ignored.
#[test]
fn sa_ack_8_closing_ack_without_fin_ignored() {
    let mut s = closing();
    s.seg(ACK, PEER_ISS.add(2), ISS.add(1), &[]);
    s.unchanged(S::Closing);
}

// SA-ACK-9 (RFC 9293 §3.10.7.4 fifth, LAST-ACK): only the ACK of our FIN closes.
#[test]
fn sa_ack_9_last_ack_needs_ack_of_fin() {
    let mut s = last_ack();
    s.seg(ACK, PEER_ISS.add(2), ISS.add(1), &[]);
    s.unchanged(S::LastAck);
    s.seg(ACK, PEER_ISS.add(2), ISS.add(2), &[]);
    s.closed_by(CloseReason::Normal);
}

// SA-ACK-10, SA-FIN-7, R1337-2 (RFC 9293 §3.10.7.4 fifth and eighth, TIME-WAIT):
// a retransmitted FIN is ACKed and restarts 2MSL; an old duplicate ACK changes nothing.
#[test]
fn sa_ack_10_time_wait_refin_reacked_timer_restarted() {
    let mut s = time_wait();
    let first = s.c.timer(Timer::TimeWait).unwrap();
    s.now += Duration::from_secs(200);
    s.seg(f(FIN, ACK), PEER_ISS.add(1), ISS.add(2), &[]);
    s.expect(ACK, ISS.add(2), PEER_ISS.add(2));
    let restarted = s.c.timer(Timer::TimeWait).unwrap();
    assert_eq!(restarted, s.now + Duration::from_secs(240));
    assert!(restarted > first);
    s.seg(ACK, PEER_ISS.add(2), ISS.add(2), &[]);
    s.unchanged(S::TimeWait);
    assert_eq!(s.c.timer(Timer::TimeWait), Some(restarted));
    // Closed 240 s after the retransmitted FIN, not after the first.
    s.run_until(first + Duration::from_secs(1));
    assert_eq!(s.c.state(), S::TimeWait);
    s.run_until(restarted);
    assert_eq!(s.c.state(), S::Closed);
}

// SA-FIN-7 (RFC 9293 §3.10.7.4 eighth, TIME-WAIT): every FIN that reaches
// step 8 restarts 2MSL, not only a retransmission of the one taken: a FIN
// at RCV.NXT (in the window, past the peer's first FIN) is ACKed and
// restarts the timer too, as Linux's tcp_timewait_state_process
// reschedules TIME-WAIT for the segments with ACK it answers there.
#[test]
fn sa_fin_7_time_wait_a_fin_past_the_first_restarts_2msl() {
    let mut s = time_wait();
    s.now += Duration::from_secs(200);
    s.seg(f(FIN, ACK), PEER_ISS.add(2), ISS.add(2), &[]);
    s.changed(S::TimeWait, tcpstate::Event::RcvFin, S::TimeWait);
    let restarted = s.c.timer(Timer::TimeWait);
    assert_eq!(restarted, Some(s.now + Duration::from_secs(240)));
    s.expect(ACK, ISS.add(2), PEER_ISS.add(2));
}

// ----- steps 7 and 8: text and FIN ---------------------------------------------

// SA-TXT-1, SA-TXT-2, SHLD-31 (RFC 9293 §3.10.7.4 seventh): in-order data is
// delivered; out-of-order data is held and draws an immediate duplicate ACK;
// filling the hole delivers everything with one immediate cumulative ACK.
#[test]
fn sa_txt_2_out_of_order_then_fill() {
    let mut s = established();
    s.seg(ACK, PEER_ISS.add(4), ISS.add(1), b"def");
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    assert_eq!(s.c.recv_queue(), 0);
    s.seg(ACK, PEER_ISS.add(1), ISS.add(1), b"abc");
    s.expect(ACK, ISS.add(1), PEER_ISS.add(7));
    assert_eq!(s.read(10), b"abcdef");
}

// SA-TXT-1 in FIN-WAIT-1 and FIN-WAIT-2 after `shutdown` (half-close): data
// still flows in.
#[test]
fn sa_txt_1_half_close_we_keep_receiving() {
    let mut s = fin_wait_1_with(cfg(), false);
    s.peer_ack(ACK, ISS.add(1), b"one");
    assert_eq!(s.c.state(), S::FinWait1);
    assert_eq!(s.read(10), b"one");
    s.peer(ACK, b"two");
    assert_eq!(s.c.state(), S::FinWait2);
    assert_eq!(s.read(10), b"two");
    s.peer(f(FIN, ACK), b"three");
    assert_eq!(s.c.state(), S::TimeWait);
    s.expect(ACK, ISS.add(2), PEER_ISS.add(13));
    assert_eq!(s.read(10), b"three");
    assert!(s.c.is_eof());
}

// MUST-40 (RFC 9293 §3.8.6.3, RFC 5681 §4.2) after a half-close: in-order
// data in FIN-WAIT-2 (the full path, never header prediction) is
// acknowledged as in ESTABLISHED: with nothing held out of order the ACK
// of one segment waits for the delayed-ACK timer.
#[test]
fn must_40_delayed_ack_in_fin_wait_2() {
    let mut s = fin_wait_2_with(cfg(), false);
    s.peer(ACK, b"one");
    s.silent();
    let at = s.c.timer(Timer::DelayedAck).expect("delayed ACK armed");
    s.fire();
    assert_eq!(s.now, at);
    s.expect(ACK, ISS.add(2), PEER_ISS.add(4));
}

// Half-close the other way: in CLOSE-WAIT we keep sending, then close.
#[test]
fn half_close_peer_we_keep_sending() {
    let mut s = close_wait();
    assert!(s.c.may_send());
    s.send(b"reply");
    s.expect(f(ACK, PSH), ISS.add(1), PEER_ISS.add(2));
    s.peer(ACK, &[]);
    assert_eq!(s.c.snd_una(), ISS.add(6));
    s.close();
    s.expect(f(FIN, ACK), ISS.add(6), PEER_ISS.add(2));
    s.peer(ACK, &[]);
    s.closed_by(CloseReason::Normal);
}

// SA-TXT-3 (RFC 9293 §3.10.7.4 seventh): after the peer's FIN its text is ignored.
#[test]
fn sa_txt_3_text_after_fin_ignored() {
    for (state, mut s) in [
        (S::CloseWait, close_wait()),
        (S::LastAck, last_ack()),
        (S::TimeWait, time_wait()),
    ] {
        let before = s.c.rcv_nxt();
        s.seg(ACK, before, s.c.snd_una(), b"ghost");
        s.unchanged(state);
        assert_eq!(s.c.rcv_nxt(), before, "{state}");
        assert_eq!(s.c.recv_queue(), 0, "{state}");
    }
}

// SA-FIN-6 (RFC 9293 §3.10.7.4 eighth): a retransmitted FIN in CLOSE-WAIT,
// CLOSING, LAST-ACK is ACKed and the state stays.
#[test]
fn sa_fin_6_refin_acked_state_stays() {
    for (state, mut s) in [
        (S::CloseWait, close_wait()),
        (S::Closing, closing()),
        (S::LastAck, last_ack()),
    ] {
        let (snd, rcv) = (s.c.snd_nxt(), s.c.rcv_nxt());
        s.seg(f(FIN, ACK), PEER_ISS.add(1), ISS.add(1), &[]);
        s.expect(ACK, snd, rcv);
        s.unchanged(state);
    }
}

// SA-FIN-3, FSM-17 (RFC 9293 §3.10.7.4 eighth): a FIN acking our SYN,ACK in
// SYN-RECEIVED goes to CLOSE-WAIT via ESTABLISHED.
#[test]
fn sa_fin_3_syn_received_fin_to_close_wait() {
    let mut s = syn_received_passive();
    s.peer(f(FIN, ACK), &[]);
    let c: Vec<_> = s.last.state_changes().map(|c| (c.from, c.to)).collect();
    assert_eq!(
        c,
        vec![
            (S::SynReceived, S::Established),
            (S::Established, S::CloseWait)
        ]
    );
    s.expect_ack();
    assert_eq!(s.c.rcv_nxt(), PEER_ISS.add(2));
}

// SA-FIN-8 (RFC 9293 §3.10.7.4 eighth): a FIN beyond a hole waits for the data.
#[test]
fn sa_fin_8_fin_after_hole() {
    let mut s = established();
    s.seg(f(FIN, ACK), PEER_ISS.add(4), ISS.add(1), b"def");
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    s.unchanged(S::Established);
    s.seg(ACK, PEER_ISS.add(1), ISS.add(1), b"abc");
    assert_eq!(s.c.state(), S::CloseWait);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(8));
    assert_eq!(s.read(10), b"abcdef");
    assert!(s.c.is_eof());
}

// ----- closing calls -------------------------------------------------------------

// SHLD-3, FSM-48 (RFC 9293 §3.6.1): close with unread data: RST instead of FIN.
#[test]
fn shld_3_close_with_unread_data_sends_rst() {
    let mut s = established();
    s.peer(ACK, b"unread");
    s.out();
    s.close();
    let v = s.out();
    assert_eq!(v.len(), 1);
    assert!(v[0].flags().rst() && !v[0].flags().fin());
    s.closed_by(CloseReason::Aborted);
}

// SHLD-3 contrast: everything read: a FIN, not a RST.
#[test]
fn shld_3_close_after_reading_sends_fin() {
    let mut s = established();
    s.peer(ACK, b"read");
    assert_eq!(s.read(10), b"read");
    s.out();
    s.close();
    s.expect(f(FIN, ACK), ISS.add(1), PEER_ISS.add(5));
}

// FSM-40 (RFC 9293 §3.10.5): ABORT sends <SEQ=SND.NXT><CTL=RST> and fails later calls.
#[test]
fn fsm_40_abort_sends_rst() {
    let mut s = established_with_x();
    s.abort();
    s.expect(RST, ISS.add(2), SeqNum(0));
    s.closed_by(CloseReason::Aborted);
    assert!(s.c.recv(s.now, &mut [0; 4]).is_err());
}

// FSM-60/61/62 (RFC 9293 §3.10.2, §3.10.4): no second FIN; no send after close.
#[test]
fn fsm_60_no_second_fin_no_send_after_close() {
    let mut s = fin_wait_1_with(cfg(), false);
    assert!(s.c.shutdown(s.now).is_err());
    assert_eq!(s.c.send(s.now, b"x"), Err(tcpstate::CallError::Closing));
    s.silent();
    let mut s = time_wait();
    assert!(s.c.close(s.now).is_err());
    s.silent();
}

// FSM-32 (Linux tcp_fin_timeout): an orphan (close) FIN-WAIT-2 ends after fin_timeout...
#[test]
fn fsm_32_orphan_fin_wait_2_times_out() {
    let mut s = fin_wait_2();
    s.run_until(T0 + Duration::from_secs(59));
    assert_eq!(s.c.state(), S::FinWait2);
    s.run_until(T0 + Duration::from_secs(60));
    s.closed_by(CloseReason::FinTimeout);
}

// FSM-32 with RFC 9293 §3.10.7.4 step 8: the orphan's deadline and the
// 2MSL timer share a slot, each read only in its own states: in FIN-WAIT-2
// the fin timeout is set and no 2MSL timer; in TIME-WAIT the 2MSL timer
// and no fin timeout (entering TIME-WAIT turns the others off).
#[test]
fn fsm_32_the_fin_timeout_ends_where_the_2msl_timer_starts() {
    let mut s = fin_wait_2();
    assert_eq!(
        s.c.timer(Timer::FinWait2),
        Some(T0 + Duration::from_secs(60))
    );
    assert_eq!(s.c.timer(Timer::TimeWait), None);
    s.now += Duration::from_secs(1);
    s.peer(f(FIN, ACK), &[]);
    s.expect(ACK, ISS.add(2), PEER_ISS.add(2));
    assert_eq!(s.c.state(), S::TimeWait);
    assert_eq!(
        s.c.timer(Timer::TimeWait),
        Some(s.now + Duration::from_secs(240))
    );
    assert_eq!(s.c.timer(Timer::FinWait2), None);
}

// ... but not after `shutdown`: the app may still read, so FIN-WAIT-2 stays.
#[test]
fn fsm_32_shutdown_fin_wait_2_does_not_time_out() {
    let mut s = fin_wait_2_with(cfg(), false);
    assert_eq!(s.c.timer(Timer::FinWait2), None);
    s.run_for(Duration::from_secs(3600));
    assert_eq!(s.c.state(), S::FinWait2);
    // Closing later makes it an orphan: fin_timeout from then.
    s.close();
    let at = s.now;
    s.run_to_closed(Duration::from_secs(61));
    s.closed_by(CloseReason::FinTimeout);
    assert_eq!(s.now - at, Duration::from_secs(60));
}

// ----- timers -----------------------------------------------------------------

fn times(sent: &[(Instant, Pkt)], from: Instant) -> Vec<u64> {
    sent.iter().map(|(t, _)| (*t - from).as_secs()).collect()
}

// MUST-22, MUST-23, RFC 6298 §5.5 (RFC 9293 §3.8.3): SYN retries back off
// exponentially (capped at rto_max) and connect fails with TimedOut.
#[test]
fn must_22_syn_retries_backoff_then_timed_out() {
    let mut s = syn_sent();
    let sent = s.run_to_closed(Duration::from_secs(1000));
    assert_eq!(times(&sent, T0), vec![1, 3, 7, 15, 31, 63, 123]);
    assert!(sent.iter().all(|(_, p)| p.flags() == SYN && p.seq() == ISS));
    assert_eq!(s.now - T0, Duration::from_secs(183));
    assert!(
        s.now - T0 >= Duration::from_secs(180),
        "MUST-23: at least 3 minutes"
    );
    s.closed_by(CloseReason::TimedOut);
}

// Linux preset: 6 SYN retries, RTO from 1 s: failure at 127 s.
#[test]
fn must_22_linux_syn_retries() {
    let mut s = syn_sent_with(Config {
        timestamps: false,
        window_scaling: false,
        ..Config::linux()
    });
    let sent = s.run_to_closed(Duration::from_secs(1000));
    assert_eq!(times(&sent, T0), vec![1, 3, 7, 15, 31, 63]);
    assert_eq!(s.now - T0, Duration::from_secs(127));
}

// SYN,ACK retransmission (RFC 9293 §3.8.3): same ISS, backed off.
#[test]
fn syn_ack_retransmits() {
    let mut s = syn_received_passive();
    let iss = s.c.iss();
    let sent = s.run_for(Duration::from_secs(20));
    assert_eq!(times(&sent, T0), vec![1, 3, 7, 15]);
    assert!(
        sent.iter()
            .all(|(_, p)| p.flags() == f(SYN, ACK) && p.seq() == iss && p.ack() == PEER_ISS.add(1))
    );
    // The handshake still completes, with RTO 3 s (RFC 6298 §5.7).
    s.peer(ACK, &[]);
    assert_eq!(s.c.state(), S::Established);
    assert_eq!(s.c.rto(), Duration::from_secs(3));
}

// RFC 6298 §5.5-5.6, MUST-18 Karn (RFC 9293 §3.8.1): data RTO backs off; the
// ACK of a retransmitted segment gives no RTT sample.
#[test]
fn must_18_rto_backoff_and_karn() {
    let mut s = established_with_x();
    let srtt = s.c.srtt();
    let start = s.now;
    let sent = s.run_for(Duration::from_secs(8));
    assert_eq!(times(&sent, start), vec![1, 3, 7]);
    assert!(
        sent.iter()
            .all(|(_, p)| p.seq() == ISS.add(1) && p.payload == b"x")
    );
    assert_eq!(s.c.rto(), Duration::from_secs(8));
    s.peer(ACK, &[]);
    assert_eq!(s.c.snd_una(), ISS.add(2));
    assert_eq!(s.c.srtt(), srtt, "Karn: no sample from a retransmission");
    assert_eq!(
        s.c.rto(),
        Duration::from_secs(8),
        "backed-off RTO kept until a new sample"
    );
}

// MUST-20 (RFC 9293 §3.8.3 R2): retries2 unanswered retransmissions: TimedOut.
#[test]
fn must_20_timed_out_after_retries2() {
    let mut s = established_with(Config {
        retries2: 3,
        ..cfg()
    });
    s.send(b"data");
    s.out();
    let start = s.now;
    let sent = s.run_to_closed(Duration::from_secs(100));
    assert_eq!(times(&sent, start), vec![1, 3, 7]);
    assert_eq!(s.now - start, Duration::from_secs(15));
    s.closed_by(CloseReason::TimedOut);
}

/// ESTABLISHED with a peer window of 0 and 5 bytes queued.
fn peer_window_zero() -> Sut {
    let mut s = established();
    s.seg_wnd(ACK, PEER_ISS.add(1), ISS.add(1), 0, &[]);
    assert_eq!(s.c.snd_wnd(), 0);
    s.send(b"hello");
    s.silent();
    s
}

// MUST-36, SHLD-29, SHLD-30 (RFC 9293 §3.8.6.1): a zero window is probed, the
// first probe after one RTO, then backed off.
#[test]
fn must_36_zero_window_probes_back_off() {
    let mut s = peer_window_zero();
    let start = s.now;
    let sent = s.run_for(Duration::from_secs(16));
    assert_eq!(times(&sent, start), vec![1, 3, 7, 15]);
    for (_, p) in &sent {
        assert_eq!(p.flags(), ACK);
        assert_eq!(p.seq(), ISS);
    }
    // The window opens: the data goes at once.
    s.seg_wnd(ACK, PEER_ISS.add(1), ISS.add(1), 1000, &[]);
    let p = s.expect(f(ACK, PSH), ISS.add(1), PEER_ISS.add(1));
    assert_eq!(p.payload, b"hello");
}

// RFC 9293 §3.8.6.1: the persist timer runs while the window is shut
// and nothing is in flight; once the window opens and the data goes,
// the retransmission timer times it and the persist timer is off (as
// Linux's tcp_ack_probe clears ICSK_TIME_PROBE0): the deadline is the RTO.
#[test]
fn must_36_a_window_that_opens_turns_the_persist_timer_off() {
    let mut s = peer_window_zero();
    let first = s.c.timer(Timer::Persist).expect("persist timer armed");
    assert_eq!(first, s.now + Duration::from_secs(1));
    assert_eq!(s.c.timer(Timer::Retransmit), None);
    s.fire();
    assert_eq!(s.out().len(), 1, "a probe");
    s.seg_wnd(ACK, PEER_ISS.add(1), ISS.add(1), 1000, &[]);
    s.expect(f(ACK, PSH), ISS.add(1), PEER_ISS.add(1));
    assert_eq!(s.c.timer(Timer::Persist), None);
    let rto = s.c.timer(Timer::Retransmit).expect("the data is timed");
    assert_eq!(s.c.deadline(), Some(rto));
}

// RFC 9293 §3.8.6.1: a zero-window probe is for a shut window. When the
// persist timer has fired but a window update opens the window before the
// host polls output, the data goes and no probe follows it (Linux sends
// its probe from the timer itself, so an open window never sees one).
#[test]
fn must_36_a_window_that_opens_before_the_probe_goes_cancels_it() {
    let mut s = peer_window_zero();
    s.fire();
    s.seg_wnd(ACK, PEER_ISS.add(1), ISS.add(1), 1000, &[]);
    let p = s.expect(f(ACK, PSH), ISS.add(1), PEER_ISS.add(1));
    assert_eq!(p.payload, b"hello");
    assert_eq!(s.c.timer(Timer::Persist), None);
}

// RFC 9293 §3.8.6.1 (MUST-36, SHLD-17): the peer shuts its window with
// our data in flight. The retransmission timeout then probes the window
// (<SEQ=SND.UNA-1><CTL=ACK>) instead of resending into it, backs off,
// and counts a timeout each time, but no retry while the peer answers.
#[test]
fn must_36_a_window_shut_over_data_in_flight_is_probed_at_each_timeout() {
    let mut s = established();
    s.send(b"hello");
    s.expect(f(ACK, PSH), ISS.add(1), PEER_ISS.add(1));
    s.seg_wnd(ACK, PEER_ISS.add(1), ISS.add(1), 0, &[]);
    assert_eq!(s.c.snd_wnd(), 0);
    s.silent();
    let rto = s.c.rto();
    for n in 1..=3u32 {
        s.fire();
        s.expect(ACK, ISS, PEER_ISS.add(1));
        assert_eq!(s.c.stats().timeouts, u64::from(n));
        assert_eq!(s.c.rto(), rto * 2u32.pow(n));
        // The peer answers: its window is still shut.
        s.seg_wnd(ACK, PEER_ISS.add(1), ISS.add(1), 0, &[]);
        assert_eq!(s.c.state(), S::Established);
    }
}

// MUST-37 (RFC 9293 §3.8.6.1): probes that are answered keep the connection
// up for hours of virtual time, far beyond retries2.
#[test]
fn must_37_answered_probes_keep_connection_forever() {
    let mut s = peer_window_zero();
    let end = s.now + Duration::from_secs(6 * 3600);
    let mut probes = 0;
    while s.now < end {
        let d = s.c.deadline().expect("persist timer armed");
        s.now = d;
        s.fire();
        for p in s.out() {
            probes += 1;
            assert_eq!(p.seq(), ISS);
            // The peer answers every probe, window still 0.
            s.seg_wnd(ACK, PEER_ISS.add(1), ISS.add(1), 0, &[]);
        }
        assert_eq!(
            s.c.state(),
            S::Established,
            "after {probes} probes at {:?}",
            s.now
        );
    }
    assert!(probes > 11, "{probes}");
}

// Unanswered probes do end the connection (R2 applies to probes).
#[test]
fn zero_window_unanswered_probes_time_out() {
    let mut s = peer_window_zero();
    s.run_to_closed(Duration::from_secs(3 * 3600));
    s.closed_by(CloseReason::TimedOut);
}

// An orphan's zero-window probes count toward `orphan_retries` even when
// answered (Linux's tcp_probe_timer for an orphan): a peer that keeps its
// window shut cannot hold it for ever (Sockstress), but the orphan is
// probed that many times first (MUST-36), then times out.
#[test]
fn an_orphan_behind_a_shut_window_is_probed_orphan_retries_times() {
    let mut s = established_with(Config {
        orphan_retries: 3,
        ..cfg()
    });
    s.seg_wnd(ACK, PEER_ISS.add(1), ISS.add(1), 0, &[]);
    s.send(b"hello");
    s.close();
    s.silent();
    let mut probes = 0;
    while s.c.state() != S::Closed {
        s.fire();
        for p in s.out() {
            assert_eq!((p.flags(), p.seq()), (ACK, ISS), "{p:#?}");
            probes += 1;
            s.seg_wnd(ACK, PEER_ISS.add(1), ISS.add(1), 0, &[]);
        }
        assert!(probes <= 3, "{probes}");
    }
    assert_eq!(probes, 3);
    s.closed_by(CloseReason::TimedOut);
}

// RFC 6298 §3 (Karn, MUST-18) without timestamps: one segment is timed at
// a time, and its sample comes from the ACK that covers it. An ACK of the
// data before the timed segment gives none (it would time that data from
// the later segment's send, too short).
#[test]
fn an_ack_below_the_timed_segment_gives_no_rtt_sample() {
    let mut s = established();
    let mss = usize::from(s.c.effective_mss());
    // Segment 1 is timed; segment 2 goes 50 ms later, untimed.
    s.send(&vec![1u8; mss]);
    assert_eq!(s.out().len(), 1);
    s.now += Duration::from_millis(50);
    s.send(&vec![2u8; mss]);
    assert_eq!(s.out().len(), 1);
    // Segment 1 acknowledged at 100 ms: a sample; segment 3 is timed next.
    s.now += Duration::from_millis(50);
    s.peer_ack(ACK, ISS.add(1 + mss as u32), &[]);
    s.send(&vec![3u8; mss]);
    assert_eq!(s.out().len(), 1);
    let srtt = s.c.srtt();
    // Segment 2 acknowledged 10 ms later: below segment 3, no sample.
    s.now += Duration::from_millis(10);
    s.peer_ack(ACK, ISS.add(1 + 2 * mss as u32), &[]);
    assert_eq!(s.c.snd_una(), ISS.add(1 + 2 * mss as u32));
    assert_eq!(s.c.srtt(), srtt);
}

// SHLD-7, MAY-16 (RFC 9293 §3.7.4): Nagle holds a small segment while data is unacknowledged.
#[test]
fn shld_7_nagle_on() {
    let mut s = established();
    s.send(b"a");
    s.expect(f(ACK, PSH), ISS.add(1), PEER_ISS.add(1));
    s.send(b"b");
    s.send(b"c");
    s.silent();
    s.peer(ACK, &[]);
    let p = s.expect(f(ACK, PSH), ISS.add(2), PEER_ISS.add(1));
    assert_eq!(p.payload, b"bc");
}

// MUST-17 (RFC 9293 §3.7.4): with Nagle off every small write goes at once.
#[test]
fn must_17_nagle_off() {
    let mut s = established();
    let o =
        s.c.on_app_call(s.now, tcpstate::AppCall::SetNoDelay(true))
            .unwrap();
    s.record(o.actions);
    s.send(b"a");
    s.expect(f(ACK, PSH), ISS.add(1), PEER_ISS.add(1));
    s.send(b"b");
    s.expect(f(ACK, PSH), ISS.add(2), PEER_ISS.add(1));
}

// SHLD-18, MUST-40 (RFC 9293 §3.8.6.3): one segment's ACK is delayed by at
// most the configured delay (< 500 ms).
#[test]
fn must_40_delayed_ack() {
    let mut s = established();
    s.peer(ACK, b"one");
    s.silent();
    let at = s.c.timer(Timer::DelayedAck).expect("delayed ACK armed");
    assert!(at - s.now <= cfg().delayed_ack);
    assert!(cfg().delayed_ack < Duration::from_millis(500));
    s.fire();
    assert_eq!(s.now, at);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(4));
}

// SHLD-19 (RFC 9293 §3.8.6.3, RFC 5681 §4.2): an ACK at least every second full-sized segment.
#[test]
fn shld_19_ack_every_second_full_segment() {
    let mut s = established();
    let seg = vec![7u8; 536];
    s.peer(ACK, &seg);
    s.silent();
    s.peer(ACK, &seg);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1 + 2 * 536));
    // One full-sized segment and a small one are less than two full-sized
    // segments' worth of data: the ACK still waits for the timer.
    let mut s = established();
    s.peer(ACK, &seg);
    s.peer(ACK, &[7u8; 100]);
    s.silent();
    assert!(s.c.timer(Timer::DelayedAck).is_some());
}

// TIME-WAIT accepts no data (SA-TXT-3, TIME-WAIT).
#[test]
fn time_wait_accepts_no_data() {
    let mut s = time_wait();
    s.seg(ACK, PEER_ISS.add(2), ISS.add(2), b"late");
    assert_eq!(s.c.recv_queue(), 0);
    assert_eq!(s.c.rcv_nxt(), PEER_ISS.add(2));
    s.unchanged(S::TimeWait);
}

// SA-SS-5, R5961-6 (RFC 9293 §3.10.7.3 second): documented deviation (`Note:`
// in input.rs, as Linux): in SYN-SENT an acceptable ACK suffices for a RST;
// SEG.SEQ is not checked because RCV.NXT is not known yet.
#[test]
fn sa_ss_5_rst_any_seq_with_acceptable_ack_refuses() {
    let mut s = syn_sent();
    s.seg(f(RST, ACK), SeqNum(0xDEAD_BEEF), ISS.add(1), &[]);
    s.closed_by(CloseReason::Refused);
    s.silent();
}

// FSM-16, FSM-63 (RFC 9293 §3.10.4, §3.10.2): CLOSE in SYN-RECEIVED with data
// queued: the data, then the FIN, go after the handshake completes.
#[test]
fn fsm_16_close_in_syn_received_with_data_queued() {
    let mut s = syn_received_passive();
    let iss = s.c.iss();
    s.send(b"queued");
    s.close();
    assert_eq!(s.c.state(), S::FinWait1);
    s.silent();
    s.peer_ack(ACK, iss.add(1), &[]);
    let p = s.expect(f(f(ACK, PSH), FIN), iss.add(1), PEER_ISS.add(1));
    assert_eq!(p.payload, b"queued");
    s.peer_ack(ACK, iss.add(8), &[]);
    assert_eq!(s.c.state(), S::FinWait2);
}

// AppCall::SetSynRetries (Linux TCP_SYNCNT), given while the SYN is out:
// one retransmission, then TimedOut when the backed-off timer expires.
#[test]
fn set_syn_retries_per_connection() {
    for cfg in [Config::rfc9293(), Config::linux()] {
        let mut s = syn_sent_with(Config {
            timestamps: false,
            window_scaling: false,
            ..cfg
        });
        let now = s.now;
        let _ =
            s.c.on_app_call(now, tcpstate::AppCall::SetSynRetries(1))
                .unwrap();
        let sent = s.run_to_closed(Duration::from_secs(1000));
        assert_eq!(times(&sent, T0), vec![1]);
        assert_eq!(s.now - T0, Duration::from_secs(3));
        s.closed_by(CloseReason::TimedOut);
    }
}

// A timeout rewinds SND.NXT to the SYN (RFC 6298 §5.4); when the ACK of
// the first SYN,ACK arrives before the retransmission goes out (a host
// that polls output after its input, or a device that held the queue),
// SND.NXT moves up with SND.UNA (RFC 9293 §3.3.1: SND.UNA =< SND.NXT).
// Before, SND.NXT stayed one below SND.UNA and every poll_transmit sent
// the same empty segment again without end: the spin seen over TUN at
// 2 % loss.
#[test]
fn ack_of_a_syn_ack_after_its_timeout_and_before_its_retransmission() {
    let mut s = syn_received_passive();
    let iss = s.c.iss();
    s.fire();
    assert_eq!(s.c.snd_nxt(), iss, "the timeout rewinds to the SYN");
    s.peer_ack(ACK, iss.add(1), &[7u8; 100]);
    assert_eq!(s.c.state(), S::Established);
    assert_eq!((s.c.snd_una(), s.c.snd_nxt()), (iss.add(1), iss.add(1)));
    assert_eq!(s.read(200), vec![7u8; 100]);
    assert_eq!(s.send(&[9u8; 100]), 100);
    let out = s.out();
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(
        (out[0].seq(), out[0].ack()),
        (iss.add(1), PEER_ISS.add(101))
    );
    assert_eq!(out[0].payload, vec![9u8; 100]);
}

// The same on an active open: the SYN's timeout, then the SYN,ACK of the
// first SYN before the retransmission is polled.
#[test]
fn syn_ack_after_the_syn_timeout_and_before_its_retransmission() {
    let mut s = syn_sent();
    s.fire();
    assert_eq!(s.c.snd_nxt(), ISS, "the timeout rewinds to the SYN");
    s.peer_ack(f(SYN, ACK), ISS.add(1), &[]);
    assert_eq!(s.c.state(), S::Established);
    assert_eq!((s.c.snd_una(), s.c.snd_nxt()), (ISS.add(1), ISS.add(1)));
    assert_eq!(s.send(&[9u8; 100]), 100);
    let out = s.out();
    assert!(!out.is_empty() && out.len() <= 2, "{out:#?}");
    let data = out.last().unwrap();
    assert_eq!(data.seq(), ISS.add(1));
    assert_eq!(data.payload, vec![9u8; 100]);
}

// And a CLOSE in SYN-RECEIVED (FIN-WAIT-1 before our SYN is acknowledged):
// the timeout rewinds to the SYN, the ACK of the SYN alone arrives; the
// FIN goes out next, at ISS+1.
#[test]
fn ack_of_the_syn_in_fin_wait_1_after_a_timeout() {
    let mut s = syn_received_passive();
    let iss = s.c.iss();
    s.close();
    let fin = s.out();
    assert!(fin.iter().any(|p| p.flags().fin()), "{fin:#?}");
    s.fire();
    assert_eq!(s.c.snd_nxt(), iss, "the timeout rewinds to the SYN");
    s.peer_ack(ACK, iss.add(1), &[]);
    assert_eq!(s.c.state(), S::FinWait1);
    assert_eq!((s.c.snd_una(), s.c.snd_nxt()), (iss.add(1), iss.add(1)));
    let out = s.out();
    assert!(out.len() <= 2, "{out:#?}");
    let last = out.last().expect("the FIN");
    assert_eq!((last.flags(), last.seq()), (f(FIN, ACK), iss.add(1)));
}

// RFC 5681 §4.2: an immediate duplicate ACK for each out-of-order segment,
// also when a host feeds several before it polls output (a batch from a
// device): three segments above a hole, then one poll, give three
// duplicate ACKs (the count a sender without SACK needs, RFC 5681 §3.2),
// each with the latest SACK block when SACK is on.
#[test]
fn each_out_of_order_segment_of_a_batch_gets_its_duplicate_ack() {
    for sack in [false, true] {
        let mut o = tcpstate::TcpOptions::NONE;
        o.sack_permitted = sack;
        let mut s = established_with_peer(script::cfg(), o, Duration::from_millis(10));
        let rcv = s.c.rcv_nxt();
        for k in 1..=3u32 {
            s.seg(ACK, rcv.add(100 * k), ISS.add(1), &[k as u8; 100]);
        }
        let out = s.out();
        assert_eq!(out.len(), 3, "sack {sack}: {out:#?}");
        for p in &out {
            assert_eq!((p.flags(), p.ack(), p.payload.len()), (ACK, rcv, 0));
            if sack {
                assert_eq!(
                    p.t.options.sack.as_slice(),
                    &[(rcv.add(100), rcv.add(400))],
                    "the latest blocks on every copy"
                );
            }
        }
        s.silent();
    }
}

// The owed duplicates are forgotten when in-order data moves SEG.ACK
// before the poll: a moved SEG.ACK is never sent twice (a sender would
// count the copies as duplicate ACKs of data not lost).
#[test]
fn a_filled_hole_before_the_poll_sends_one_ack() {
    let mut s = established();
    let rcv = s.c.rcv_nxt();
    for k in 1..=3u32 {
        s.seg(ACK, rcv.add(100 * k), ISS.add(1), &[k as u8; 100]);
    }
    s.seg(ACK, rcv, ISS.add(1), &[0u8; 100]);
    let out = s.out();
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!((out[0].flags(), out[0].ack()), (ACK, rcv.add(400)));
}

/// RFC 9293 §3.10.7.3: once SYN-SENT gets the SYN,ACK, RCV.WND is the
/// window our SYN offered, from RCV.NXT = IRS + 1. Data the peer sends
/// before our ACK of its SYN has gone out (a Fast Open server's reply, or
/// a host that reads a batch of segments before it polls) is in that
/// window, in order or not. (It was dropped: the window read as 0 until
/// the ACK advertised one.)
#[test]
fn sa_ss_data_before_our_ack_of_the_syn_ack_is_in_the_window() {
    for (linux, gap) in [(false, 0u32), (false, 100), (true, 0), (true, 100)] {
        let mut s = syn_sent_with(preset(linux));
        s.peer(f(SYN, ACK), &[]);
        assert_eq!(s.c.state(), S::Established);
        let irs1 = PEER_ISS.add(1);
        s.seg(ACK, irs1.add(gap), ISS.add(1), &[7; 500]);
        let case = format!("linux {linux}, gap {gap}");
        assert_eq!(s.c.stats().dropped, 0, "{case}");
        let expect = if gap == 0 { irs1.add(500) } else { irs1 };
        assert_eq!(s.c.rcv_nxt(), expect, "{case}");
        // The ACK that goes out covers it (or, out of order, asks for the
        // hole).
        let acks = s.out();
        assert_eq!(acks.last().map(|p| p.ack()), Some(expect), "{case}");
    }
}

// RFC 9293 §3.10.3 RECEIVE: `may_recv` says whether a RECEIVE can still
// return data: while bytes are queued, or while the peer's FIN has not
// arrived in a state that receives (a half-closed FIN-WAIT-2 still does).
// `is_eof` is the other side: the FIN arrived and every byte before it
// was read.
#[test]
fn may_recv_until_the_fin_and_every_byte_before_it_are_read() {
    let mut s = established();
    assert!(s.c.may_recv() && !s.c.is_eof());
    s.peer(f(ACK, PSH), b"abc");
    s.peer(f(ACK, FIN), &[]);
    assert_eq!(s.c.state(), S::CloseWait);
    assert!(s.c.may_recv(), "three bytes to read");
    assert!(!s.c.is_eof());
    assert_eq!(s.read(3), b"abc");
    assert!(!s.c.may_recv());
    assert!(s.c.is_eof());
    // Our own shutdown does not end the receiving side (half-close).
    let mut s = fin_wait_2_with(cfg(), false);
    assert!(s.c.may_recv(), "FIN-WAIT-2 receives");
    s.peer(f(ACK, PSH), b"xy");
    assert!(s.c.may_recv());
    // A reset ends it, and what was queued is still there to read.
    let nxt = s.c.rcv_nxt();
    s.seg(RST, nxt, SeqNum(0), &[]);
    assert_eq!(s.c.state(), S::Closed);
    assert!(s.c.may_recv(), "two bytes still queued");
    assert_eq!(s.read(2), b"xy");
    assert!(!s.c.may_recv());
    assert!(!s.c.is_eof(), "no FIN: the stream did not end normally");
}

// `Config::orphan_lifetime`: an orphan whose FIN the peer keeps
// unacknowledged (FIN-WAIT-1, CLOSING, LAST-ACK) is aborted when its
// lifetime runs out, before its retransmissions would give up, as RFC
// 9293 §3.10.5's ABORT: a RST in FIN-WAIT-1, none in CLOSING and LAST-ACK
// (the peer has sent its FIN).
#[test]
fn an_orphan_past_its_lifetime_is_aborted() {
    let c = Config {
        orphan_lifetime: Some(Duration::from_secs(5)),
        ..cfg()
    };
    for s in [
        fin_wait_1_with(c.clone(), true),
        closing_with(c.clone()),
        last_ack_with(c),
    ] {
        let mut s = s;
        let from = s.c.state();
        let sent = s.run_to_closed(Duration::from_secs(60));
        assert_eq!(s.now, T0 + Duration::from_secs(5), "{from}");
        s.closed_by(CloseReason::Aborted);
        let rst = sent.iter().any(|(_, p)| p.flags().rst());
        assert_eq!(rst, from == S::FinWait1, "{from}: {sent:#?}");
    }
}

/// `poll_transmit` with a buffer that has no room: no segment of the
/// data path goes (it would go empty, a packet for nothing, and count as
/// sent); the data waits for a poll with room, and an ACK that is due
/// still goes.
#[test]
fn a_poll_with_no_room_sends_no_data_segment() {
    let mut s = established();
    assert_eq!(s.send(b"hello"), 5);
    assert_eq!(s.c.poll_transmit(s.now, &mut []), None);
    // An out-of-order segment: its duplicate ACK is due at once.
    s.seg(ACK, PEER_ISS.add(11), ISS.add(1), b"later");
    let t = s.c.poll_transmit(s.now, &mut []).expect("the ACK");
    assert_eq!((t.len, t.seq, t.ack), (0, ISS.add(1), PEER_ISS.add(1)));
    assert_eq!(s.c.poll_transmit(s.now, &mut []), None);
    let p = s.out();
    assert_eq!(p.len(), 1);
    assert_eq!(
        (p[0].seq(), p[0].payload.as_slice()),
        (ISS.add(1), &b"hello"[..])
    );
}

/// RFC 6298 times one new segment at a time; a FIN alone is one (its ACK
/// dates it as data's would, and Linux takes an RTT from a FIN-only skb
/// as from any other): after a handshake of 10 ms, the ACK of a FIN
/// alone 50 ms after it left moves SRTT to 10 + (50 - 10) / 8 = 15 ms.
#[test]
fn r6298_a_fin_alone_is_timed() {
    let none = tcpstate::wire::TcpOptions::NONE;
    let mut s = established_with_peer(cfg(), none, Duration::from_millis(10));
    assert_eq!(s.c.srtt(), Some(Duration::from_millis(10)));
    s.close();
    let fin = s.expect(f(FIN, ACK), ISS.add(1), PEER_ISS.add(1));
    assert!(fin.payload.is_empty());
    s.now += Duration::from_millis(50);
    s.peer_ack(ACK, ISS.add(2), &[]);
    assert_eq!(s.c.srtt(), Some(Duration::from_millis(15)));
}

/// A passive SYN-RECEIVED that gives up (its SYN,ACK retries run out)
/// goes back to LISTEN (RFC 9293 §3.10.7.4: a passive open returns
/// there), and the next SYN is a new attempt: its SYN,ACK is timed and
/// resent after the initial RTO (RFC 6298 §2.1: 1 s), not the last
/// attempt's backed-off one, and its handshake gets the initial window,
/// not the one segment RFC 5681 §3.1 leaves after a lost SYN.
#[test]
fn back_in_listen_a_new_syn_starts_afresh() {
    let mut s = listen();
    s.seg(SYN, PEER_ISS, SeqNum(0), &[]);
    assert_eq!(s.out().len(), 1);
    let mut fired = 0;
    while s.c.state() != S::Listen {
        s.fire();
        let _ = s.out();
        fired += 1;
        assert!(fired < 20, "no return to LISTEN");
    }
    s.now += Duration::from_secs(1);
    let peer = PEER_ISS.add(1_000_000);
    s.seg(SYN, peer, SeqNum(0), &[]);
    let synack = s.out();
    assert_eq!(synack.len(), 1);
    assert_eq!(
        s.c.timer(Timer::Retransmit),
        Some(s.now + Duration::from_secs(1)),
        "the initial RTO"
    );
    s.now += Duration::from_millis(10);
    s.seg(ACK, peer.add(1), synack[0].seq().add(1), &[]);
    assert_eq!(s.c.state(), S::Established);
    assert_eq!(
        s.c.srtt(),
        Some(Duration::from_millis(10)),
        "the SYN,ACK timed"
    );
    assert_eq!(
        s.c.cwnd(),
        10 * u32::from(s.c.effective_mss()),
        "the initial window"
    );
}
