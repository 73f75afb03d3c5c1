//! Scripted exchanges against one connection: the test plays the peer by
//! hand-made segments, and asserts on what goes on the wire.
//!
//! Fixtures (`listen()`, `syn_sent()`, `established()`, ... `time_wait()`)
//! reach each state through the public API only, by scripting the real
//! exchange. Every `StateChange` any call reports is recorded in
//! [`Sut::changes`], so that `tests/edges.rs` can check the table coverage.
#![allow(dead_code)]

use tcpstate::wire::{Flags, Segment, TcpOptions};
use tcpstate::{
    Actions, Buffers, CloseReason, Config, Connection, Duration, Event, Instant, SeqNum, State,
    StateChange, Transmit,
};

pub type Conn = Connection<Vec<u8>>;

/// Our ISS for active opens.
pub const ISS: SeqNum = SeqNum(1000);
/// The peer's ISS.
pub const PEER_ISS: SeqNum = SeqNum(5000);
/// The secret offset given to `listen` (the ISS is this plus a 4 µs clock).
pub const LISTEN_ISS: SeqNum = SeqNum(9000);
/// The time every script starts at.
pub const T0: Instant = Instant::from_secs(1);
/// Our receive buffer size (so RCV.WND after the handshake).
pub const RX: usize = 4096;

pub const SYN: Flags = Flags::SYN;
pub const ACK: Flags = Flags::ACK;
pub const FIN: Flags = Flags::FIN;
pub const RST: Flags = Flags::RST;
pub const PSH: Flags = Flags::PSH;
pub fn f(a: Flags, b: Flags) -> Flags {
    a | b
}

/// RFC 9293 values without timestamps and window scaling, so that
/// hand-made segments need no options.
pub fn cfg() -> Config {
    Config {
        timestamps: false,
        window_scaling: false,
        ..Config::rfc9293()
    }
}

/// `Config::linux()` (`linux`) or `Config::rfc9293()`, without
/// timestamps and window scaling: the two presets for tests that compare
/// them with hand-made segments.
pub fn preset(linux: bool) -> Config {
    Config {
        timestamps: false,
        window_scaling: false,
        ..if linux {
            Config::linux()
        } else {
            Config::rfc9293()
        }
    }
}

/// One segment the connection emitted.
#[derive(Clone, Debug)]
pub struct Pkt {
    pub t: Transmit,
    pub payload: Vec<u8>,
}

impl Pkt {
    pub fn seq(&self) -> SeqNum {
        self.t.seq
    }
    pub fn ack(&self) -> SeqNum {
        self.t.ack
    }
    pub fn flags(&self) -> Flags {
        self.t.flags
    }
}

/// The system under test and the peer's view of the exchange.
pub struct Sut {
    pub c: Conn,
    pub now: Instant,
    /// Every state change reported by any call, in order.
    pub changes: Vec<StateChange>,
    /// The actions of the last call.
    pub last: Actions,
    /// The next sequence number the peer sends.
    pub peer_nxt: SeqNum,
    /// The window the peer advertises.
    pub peer_wnd: u16,
    /// Options on the peer's SYN.
    pub peer_syn_opts: TcpOptions,
}

impl Sut {
    pub fn new(cfg: Config) -> Self {
        Sut::with_buffers(cfg, RX, 8192)
    }

    pub fn with_buffers(cfg: Config, rx: usize, tx: usize) -> Self {
        Sut {
            c: Connection::new(cfg, Buffers::with_capacity(rx, tx)).expect("valid config"),
            now: T0,
            changes: Vec::new(),
            last: Actions::NONE,
            peer_nxt: PEER_ISS,
            peer_wnd: 65535,
            peer_syn_opts: TcpOptions::NONE,
        }
    }

    pub fn record(&mut self, a: Actions) {
        // A deadline the call reports is the connection's deadline
        // (`Actions::timer`: `Some(None)` when none is left).
        if let Some(t) = a.timer() {
            assert_eq!(t, self.c.deadline(), "the reported deadline");
        }
        self.changes.extend(a.state_changes().copied());
        self.last = a;
    }

    /// Feeds a raw segment.
    pub fn seg(&mut self, flags: Flags, seq: SeqNum, ack: SeqNum, payload: &[u8]) {
        self.seg_wnd(flags, seq, ack, self.peer_wnd, payload);
    }

    /// Feeds a raw segment with an explicit window.
    pub fn seg_wnd(&mut self, flags: Flags, seq: SeqNum, ack: SeqNum, window: u16, payload: &[u8]) {
        let options = if flags.syn() {
            self.peer_syn_opts
        } else {
            TcpOptions::NONE
        };
        let s = Segment {
            seq,
            ack,
            flags,
            window,
            urgent: 0,
            options,
            payload,
        };
        let a = self.c.on_segment(self.now, &s);
        self.record(a);
    }

    /// Feeds a raw segment with explicit options (SACK blocks, timestamps).
    pub fn seg_opts(
        &mut self,
        flags: Flags,
        seq: SeqNum,
        ack: SeqNum,
        options: TcpOptions,
        payload: &[u8],
    ) {
        let s = Segment {
            seq,
            ack,
            flags,
            window: self.peer_wnd,
            urgent: 0,
            options,
            payload,
        };
        let a = self.c.on_segment(self.now, &s);
        self.record(a);
    }

    /// The peer's ACK of `ack` (no new data) with these SACK blocks.
    pub fn ack_sack(&mut self, ack: SeqNum, blocks: &[(SeqNum, SeqNum)]) {
        let mut sack = tcpstate::wire::SackBlocks::new();
        for &(l, r) in blocks {
            sack.push(l, r);
        }
        let o = TcpOptions {
            sack,
            ..TcpOptions::NONE
        };
        let seq = self.peer_nxt;
        self.seg_opts(ACK, seq, ack, o, &[]);
    }

    /// The peer's next in-order segment, acknowledging everything we sent
    /// (when `flags` has ACK). Advances the peer's SND.NXT.
    pub fn peer(&mut self, flags: Flags, payload: &[u8]) {
        let ack = self.c.snd_nxt();
        self.peer_ack(flags, ack, payload);
    }

    /// The peer's next in-order segment with an explicit ACK number.
    pub fn peer_ack(&mut self, flags: Flags, ack: SeqNum, payload: &[u8]) {
        let seq = self.peer_nxt;
        let len = payload.len() as u32 + u32::from(flags.syn()) + u32::from(flags.fin());
        self.peer_nxt = seq.add(len);
        self.seg(flags, seq, ack, payload);
    }

    /// An application call through a closure.
    pub fn app(&mut self, f: impl FnOnce(&mut Conn, Instant) -> Actions) {
        let a = f(&mut self.c, self.now);
        self.record(a);
    }

    pub fn send(&mut self, data: &[u8]) -> usize {
        let o = self.c.send(self.now, data).expect("send");
        self.record(o.actions);
        o.len
    }

    pub fn close(&mut self) {
        let a = self.c.close(self.now).expect("close");
        self.record(a);
    }

    pub fn shutdown(&mut self) {
        let a = self.c.shutdown(self.now).expect("shutdown");
        self.record(a);
    }

    pub fn abort(&mut self) {
        let a = self.c.abort(self.now).expect("abort");
        self.record(a);
    }

    /// Reads up to `n` bytes.
    pub fn read(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        let o = self.c.recv(self.now, &mut buf).expect("recv");
        self.record(o.actions);
        buf.truncate(o.len);
        buf
    }

    /// Everything the connection has to send now.
    pub fn out(&mut self) -> Vec<Pkt> {
        let mut v = Vec::new();
        let mut buf = vec![0u8; 65536];
        while let Some(t) = self.c.poll_transmit(self.now, &mut buf) {
            v.push(Pkt {
                t,
                payload: buf[..t.len].to_vec(),
            });
            assert!(v.len() < 10_000, "poll_transmit does not end");
        }
        v
    }

    /// Exactly one segment with these flags, SEG.SEQ and (if ACK is set) SEG.ACK.
    #[track_caller]
    pub fn expect(&mut self, flags: Flags, seq: SeqNum, ack: SeqNum) -> Pkt {
        let v = self.out();
        assert_eq!(v.len(), 1, "expected one segment {flags:?}, got {v:#?}");
        let p = v.into_iter().next().unwrap();
        assert_eq!(p.flags(), flags, "flags of {p:#?}");
        assert_eq!(p.seq(), seq, "SEG.SEQ of {p:#?}");
        if flags.ack() {
            assert_eq!(p.ack(), ack, "SEG.ACK of {p:#?}");
        }
        p
    }

    /// Exactly one pure ACK `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`.
    #[track_caller]
    pub fn expect_ack(&mut self) -> Pkt {
        let (seq, ack) = (self.c.snd_nxt(), self.c.rcv_nxt());
        self.expect(ACK, seq, ack)
    }

    /// Nothing on the wire.
    #[track_caller]
    pub fn silent(&mut self) {
        let v = self.out();
        assert!(v.is_empty(), "expected no segment, got {v:#?}");
    }

    /// The last call reported exactly this state change and the connection is in `to`.
    #[track_caller]
    pub fn changed(&self, from: State, event: Event, to: State) {
        let got: Vec<_> = self.last.state_changes().copied().collect();
        assert_eq!(got, vec![StateChange { from, event, to }], "state changes");
        assert_eq!(self.c.state(), to);
    }

    /// The last call reported no state change.
    #[track_caller]
    pub fn unchanged(&self, state: State) {
        assert_eq!(self.last.state_changes().count(), 0, "{:?}", self.last);
        assert_eq!(self.c.state(), state);
    }

    /// The last call closed the connection for this reason.
    #[track_caller]
    pub fn closed_by(&self, r: CloseReason) {
        assert_eq!(self.last.closed(), Some(r));
        assert_eq!(self.c.close_reason(), Some(r));
        assert_eq!(self.c.state(), State::Closed);
    }

    /// Jumps to the connection's deadline and runs its timers.
    #[track_caller]
    pub fn fire(&mut self) {
        let d = self.c.deadline().expect("no deadline armed");
        assert!(d >= self.now);
        self.now = d;
        let a = self.c.on_timer(self.now);
        self.record(a);
    }

    /// Runs every timer due up to `t` (draining output each time, returned
    /// with the time it left), then sets the clock to `t`.
    pub fn run_until(&mut self, t: Instant) -> Vec<(Instant, Pkt)> {
        let mut sent = Vec::new();
        for p in self.out() {
            sent.push((self.now, p));
        }
        while let Some(d) = self.c.deadline() {
            if d > t {
                break;
            }
            self.now = d.max(self.now);
            let a = self.c.on_timer(self.now);
            self.record(a);
            for p in self.out() {
                sent.push((self.now, p));
            }
            assert!(sent.len() < 100_000);
        }
        self.now = t.max(self.now);
        sent
    }

    pub fn run_for(&mut self, d: Duration) -> Vec<(Instant, Pkt)> {
        let t = self.now + d;
        self.run_until(t)
    }

    /// Runs timers until the connection is CLOSED (at most `limit` of virtual time).
    #[track_caller]
    pub fn run_to_closed(&mut self, limit: Duration) -> Vec<(Instant, Pkt)> {
        let end = self.now + limit;
        let mut sent = Vec::new();
        while self.c.state() != State::Closed {
            let d = self.c.deadline().expect("no timer while not closed");
            assert!(d <= end, "still {} at {:?}", self.c.state(), self.now);
            self.now = d.max(self.now);
            let a = self.c.on_timer(self.now);
            self.record(a);
            for p in self.out() {
                sent.push((self.now, p));
            }
        }
        sent
    }
}

// ----- fixtures ------------------------------------------------------------

pub fn closed() -> Sut {
    Sut::new(cfg())
}

pub fn listen_with(cfg: Config) -> Sut {
    let mut s = Sut::new(cfg);
    s.app(|c, now| c.listen(now, LISTEN_ISS).unwrap());
    s.silent();
    assert_eq!(s.c.state(), State::Listen);
    s
}

pub fn listen() -> Sut {
    listen_with(cfg())
}

pub fn syn_sent_with(cfg: Config) -> Sut {
    let mut s = Sut::new(cfg);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    s.expect(SYN, ISS, SeqNum(0));
    assert_eq!(s.c.state(), State::SynSent);
    s
}

pub fn syn_sent() -> Sut {
    syn_sent_with(cfg())
}

/// ESTABLISHED by an active open whose peer's SYN,ACK carries `opts` and
/// arrives `rtt` after our SYN (the first RTT sample).
pub fn established_with_peer(cfg: Config, opts: TcpOptions, rtt: Duration) -> Sut {
    let mut s = syn_sent_with(cfg);
    s.peer_syn_opts = opts;
    s.now += rtt;
    s.peer(f(SYN, ACK), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    s
}

/// SYN-RECEIVED from LISTEN (passive); the SYN,ACK was sent.
pub fn syn_received_passive_with(cfg: Config) -> Sut {
    let mut s = listen_with(cfg);
    s.peer(SYN, &[]);
    let iss = s.c.iss();
    s.expect(f(SYN, ACK), iss, PEER_ISS.add(1));
    assert_eq!(s.c.state(), State::SynReceived);
    s
}

pub fn syn_received_passive() -> Sut {
    syn_received_passive_with(cfg())
}

/// SYN-RECEIVED from SYN-SENT (simultaneous open); the SYN,ACK was sent.
pub fn syn_received_active_with(cfg: Config) -> Sut {
    let mut s = syn_sent_with(cfg);
    s.peer(SYN, &[]);
    s.expect(f(SYN, ACK), ISS, PEER_ISS.add(1));
    assert_eq!(s.c.state(), State::SynReceived);
    s
}

pub fn syn_received_active() -> Sut {
    syn_received_active_with(cfg())
}

/// A Fast Open child (`Connection::accept_fast_open`) of a SYN from the
/// peer with `payload`, its SYN,ACK not yet taken.
pub fn fast_open_child_with(cfg: Config, payload: &[u8]) -> Sut {
    let syn = Segment {
        seq: PEER_ISS,
        ack: SeqNum(0),
        flags: SYN,
        window: 65535,
        urgent: 0,
        options: TcpOptions::NONE,
        payload,
    };
    let mut s = Sut::new(cfg.clone());
    let (c, a) = Connection::accept_fast_open(
        cfg,
        Buffers::with_capacity(RX, 8192),
        s.now,
        &syn,
        LISTEN_ISS,
    )
    .expect("accepted");
    s.c = c;
    s.record(a);
    s
}

/// ESTABLISHED by an active open.
pub fn established_with(cfg: Config) -> Sut {
    let mut s = syn_sent_with(cfg);
    s.peer(f(SYN, ACK), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    assert_eq!(s.c.state(), State::Established);
    s
}

pub fn established() -> Sut {
    established_with(cfg())
}

/// ESTABLISHED by a passive open.
pub fn established_passive() -> Sut {
    let mut s = syn_received_passive();
    s.peer(ACK, &[]);
    s.silent();
    assert_eq!(s.c.state(), State::Established);
    s
}

/// FIN-WAIT-1 after `close` (or `shutdown` when `orphan` is false); our FIN is out.
pub fn fin_wait_1_with(cfg: Config, orphan: bool) -> Sut {
    let mut s = established_with(cfg);
    if orphan {
        s.close();
    } else {
        s.shutdown();
    }
    s.expect(f(FIN, ACK), ISS.add(1), PEER_ISS.add(1));
    assert_eq!(s.c.state(), State::FinWait1);
    s
}

pub fn fin_wait_1() -> Sut {
    fin_wait_1_with(cfg(), true)
}

/// FIN-WAIT-2: our FIN acknowledged.
pub fn fin_wait_2_with(cfg: Config, orphan: bool) -> Sut {
    let mut s = fin_wait_1_with(cfg, orphan);
    s.peer(ACK, &[]);
    s.silent();
    assert_eq!(s.c.state(), State::FinWait2);
    s
}

pub fn fin_wait_2() -> Sut {
    fin_wait_2_with(cfg(), true)
}

/// CLOSE-WAIT: the peer's FIN arrived and was ACKed.
pub fn close_wait_with(cfg: Config) -> Sut {
    let mut s = established_with(cfg);
    s.peer(f(FIN, ACK), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(2));
    assert_eq!(s.c.state(), State::CloseWait);
    s
}

pub fn close_wait() -> Sut {
    close_wait_with(cfg())
}

/// CLOSING: FINs crossed; ours is not acknowledged.
pub fn closing_with(cfg: Config) -> Sut {
    let mut s = fin_wait_1_with(cfg, true);
    s.peer_ack(f(FIN, ACK), ISS.add(1), &[]);
    s.expect(ACK, ISS.add(2), PEER_ISS.add(2));
    assert_eq!(s.c.state(), State::Closing);
    s
}

pub fn closing() -> Sut {
    closing_with(cfg())
}

/// LAST-ACK: we closed after the peer's FIN; our FIN is out.
pub fn last_ack_with(cfg: Config) -> Sut {
    let mut s = close_wait_with(cfg);
    s.close();
    s.expect(f(FIN, ACK), ISS.add(1), PEER_ISS.add(2));
    assert_eq!(s.c.state(), State::LastAck);
    s
}

pub fn last_ack() -> Sut {
    last_ack_with(cfg())
}

/// TIME-WAIT through FIN-WAIT-2.
pub fn time_wait_with(cfg: Config) -> Sut {
    let mut s = fin_wait_2_with(cfg, true);
    s.peer(f(FIN, ACK), &[]);
    s.expect(ACK, ISS.add(2), PEER_ISS.add(2));
    assert_eq!(s.c.state(), State::TimeWait);
    s
}

pub fn time_wait() -> Sut {
    time_wait_with(cfg())
}
