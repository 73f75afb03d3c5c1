//! Two connections over a link the fuzzer controls: it chooses which
//! segment is delivered, dropped, duplicated or reordered, when time jumps
//! and when each side writes or closes. Afterwards the link turns perfect
//! and both sides finish. Checked: bytes read are always a prefix of the
//! bytes written (in order, once); when neither side ended in error, every
//! byte arrives and both reach CLOSED normally; every state change is an
//! edge of the table (debug assertions in the engine); SND.UNA =< SND.NXT
//! (RFC 9293 §3.3.1) on both sides after every step, also when output is
//! polled late (`Hold`), and when the host's device drops segments and
//! says so with `on_transmit_failed` (`DeviceFull`) or reports a segment
//! again or out of turn (`FailAgain`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;
use tcpstate::wire::{Segment, TcpHeader};
use tcpstate::{
    Buffers, CloseReason, Config, Connection, Duration, Instant, SeqNum, State, Transmit,
};

type Conn = Connection<Vec<u8>>;

#[derive(Debug, arbitrary::Arbitrary)]
enum Op {
    Deliver(u8),
    Drop(u8),
    Duplicate(u8),
    Swap(u8),
    Timer { side_b: bool, ms: u16 },
    Send { side_b: bool, n: u16 },
    Read { side_b: bool },
    Close { side_b: bool },
    Shutdown { side_b: bool },
    /// Stops (or resumes) polling the output before each op: a host that
    /// feeds input and runs timers and polls output later (a device that
    /// held its queue). A timeout then a segment, both before the poll, is
    /// an order a real host produces.
    Hold,
    /// The next `1 + n % 4` segments polled are dropped by the device
    /// and reported with `on_transmit_failed` right after their poll.
    DeviceFull(u8),
    /// The `k`-th of the side's last segments polled reported failed
    /// (again, or not the last one, or one the peer got).
    FailAgain { side_b: bool, k: u8 },
}

#[derive(Debug, arbitrary::Arbitrary)]
struct Case {
    linux: bool,
    rx_a: u16,
    rx_b: u16,
    total_a: u16,
    total_b: u16,
    ops: Vec<Op>,
}

struct Side {
    c: Conn,
    written: usize,
    read: Vec<u8>,
    total: usize,
    stream: u8,
    closed_app: bool,
    /// The last segments polled, most recent first.
    polled: VecDeque<Transmit>,
}

fn byte(stream: u8, i: usize) -> u8 {
    (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ stream
}

struct Net {
    now: Instant,
    a: Side,
    b: Side,
    /// (towards B, header, payload)
    wire: VecDeque<(bool, TcpHeader, Vec<u8>)>,
    /// Segments left that the device drops.
    device_full: u8,
}

impl Net {
    fn side(&mut self, b: bool) -> &mut Side {
        if b { &mut self.b } else { &mut self.a }
    }
    fn flush(&mut self) {
        let now = self.now;
        let mut buf = [0u8; 2048];
        for to_b in [true, false] {
            let s = if to_b { &mut self.a } else { &mut self.b };
            let mut n = 0;
            while let Some(t) = s.c.poll_transmit(now, &mut buf) {
                n += 1;
                assert!(n < 10_000, "poll_transmit does not end");
                if s.polled.len() == 8 {
                    s.polled.pop_back();
                }
                s.polled.push_front(t);
                if self.device_full > 0 {
                    self.device_full -= 1;
                    let st = s.c.state();
                    let a = s.c.on_transmit_failed(now, &t);
                    assert!(a.state_changes().next().is_none(), "on_transmit_failed: {a:?}");
                    assert_eq!(s.c.state(), st, "on_transmit_failed changed the state");
                    continue;
                }
                if self.wire.len() < 4096 {
                    self.wire.push_back((to_b, t.header(1, 2), buf[..t.len].to_vec()));
                }
            }
        }
    }
    fn deliver(&mut self, i: usize) {
        if let Some((to_b, h, p)) = self.wire.remove(i) {
            let now = self.now;
            let s = if to_b { &mut self.b } else { &mut self.a };
            let _ = s.c.on_segment(now, &Segment::new(&h, &p));
        }
    }
    fn send(&mut self, b: bool, n: usize) {
        let now = self.now;
        let s = self.side(b);
        let want = n.min(s.total - s.written);
        if want == 0 || !s.c.may_send() {
            return;
        }
        let data: Vec<u8> = (s.written..s.written + want).map(|i| byte(s.stream, i)).collect();
        if let Ok(o) = s.c.send(now, &data) {
            s.written += o.len;
        }
    }
    fn read(&mut self, b: bool) {
        let now = self.now;
        let s = self.side(b);
        let mut buf = [0u8; 4096];
        while let Ok(o) = s.c.recv(now, &mut buf) {
            if o.len == 0 {
                break;
            }
            s.read.extend_from_slice(&buf[..o.len]);
        }
    }
    fn timer(&mut self, b: bool, ms: u64) {
        self.now += Duration::from_millis(ms);
        let now = self.now;
        let s = self.side(b);
        if s.c.deadline().is_some_and(|d| d <= now) {
            let _ = s.c.on_timer(now);
        }
    }
    /// SND.UNA =< SND.NXT once a side has a send sequence (RFC 9293
    /// §3.3.1).
    fn check_send_sequence(&self) {
        for s in [&self.a, &self.b] {
            if !matches!(s.c.state(), State::Closed | State::Listen) {
                assert!(
                    !s.c.snd_nxt().before(s.c.snd_una()),
                    "SND.NXT {:?} below SND.UNA {:?} in {}",
                    s.c.snd_nxt(),
                    s.c.snd_una(),
                    s.c.state()
                );
            }
        }
    }
    /// Bytes read so far are the peer's bytes, in order, once.
    fn check_prefix(&self) {
        for (r, w) in [(&self.b, &self.a), (&self.a, &self.b)] {
            assert!(r.read.len() <= w.written, "read more than was written");
            for (i, x) in r.read.iter().enumerate() {
                assert_eq!(*x, byte(w.stream, i), "byte {i} differs");
            }
        }
    }
}

fuzz_target!(|case: Case| {
    let cfg = if case.linux { Config::linux() } else { Config::rfc9293() };
    let mk = |rx: u16| Connection::new(cfg.clone(), Buffers::with_capacity(usize::from(rx % 8192) + 1, 4096)).expect("valid config");
    let mut n = Net {
        now: Instant::from_secs(1),
        a: Side { c: mk(case.rx_a), written: 0, read: vec![], total: usize::from(case.total_a % 4_000), stream: 0xA5, closed_app: false, polled: VecDeque::new() },
        b: Side { c: mk(case.rx_b), written: 0, read: vec![], total: usize::from(case.total_b % 4_000), stream: 0x5A, closed_app: false, polled: VecDeque::new() },
        wire: VecDeque::new(),
        device_full: 0,
    };
    let now = n.now;
    let _ = n.b.c.listen(now, SeqNum(0x8000_0000));
    let _ = n.a.c.connect(now, SeqNum(0xffff_fff0));
    let mut hold = false;
    for op in case.ops.iter().take(256) {
        if !hold {
            n.flush();
        }
        let len = n.wire.len().max(1);
        match *op {
            Op::Deliver(i) => n.deliver(usize::from(i) % len),
            Op::Drop(i) => {
                n.wire.remove(usize::from(i) % len);
            }
            Op::Duplicate(i) => {
                if let Some(x) = n.wire.get(usize::from(i) % len).cloned() {
                    n.wire.push_back(x);
                }
            }
            Op::Swap(i) => {
                let i = usize::from(i) % len;
                if i + 1 < n.wire.len() {
                    n.wire.swap(i, i + 1);
                }
            }
            Op::Timer { side_b, ms } => n.timer(side_b, u64::from(ms)),
            Op::Send { side_b, n: k } => n.send(side_b, usize::from(k)),
            Op::Read { side_b } => n.read(side_b),
            Op::Close { side_b } => {
                let now = n.now;
                let s = n.side(side_b);
                // Only a reader that has read everything closes (else RST).
                if s.c.recv_queue() == 0 && !s.closed_app && s.c.close(now).is_ok() {
                    s.closed_app = true;
                }
            }
            Op::Shutdown { side_b } => {
                let now = n.now;
                let _ = n.side(side_b).c.shutdown(now);
            }
            Op::Hold => hold = !hold,
            Op::DeviceFull(k) => n.device_full = 1 + k % 4,
            Op::FailAgain { side_b, k } => {
                let now = n.now;
                let s = n.side(side_b);
                if let Some(&t) = s.polled.get(usize::from(k) % s.polled.len().max(1)) {
                    let st = s.c.state();
                    let a = s.c.on_transmit_failed(now, &t);
                    assert!(a.state_changes().next().is_none(), "on_transmit_failed: {a:?}");
                    assert_eq!(s.c.state(), st, "on_transmit_failed changed the state");
                }
            }
        }
        n.check_prefix();
        n.check_send_sequence();
    }
    // The link turns perfect: finish everything.
    n.device_full = 0;
    for _ in 0..20_000 {
        for b in [false, true] {
            let total = n.side(b).total;
            n.send(b, total);
            n.read(b);
            let now = n.now;
            let s = n.side(b);
            if s.written == s.total && s.c.is_eof() && !s.closed_app && s.c.close(now).is_ok() {
                s.closed_app = true;
            }
        }
        n.flush();
        if !n.wire.is_empty() {
            n.deliver(0);
            continue;
        }
        if n.a.c.state() == State::Closed && n.b.c.state() == State::Closed {
            break;
        }
        let d = [n.a.c.deadline(), n.b.c.deadline()].into_iter().flatten().min();
        let Some(d) = d else { break };
        n.now = d.max(n.now);
        let now = n.now;
        for b in [false, true] {
            let s = n.side(b);
            if s.c.deadline().is_some_and(|x| x <= now) {
                let _ = s.c.on_timer(now);
            }
        }
    }
    n.read(false);
    n.read(true);
    n.check_prefix();
    let clean = |s: &Side| matches!(s.c.close_reason(), None | Some(CloseReason::Normal));
    let passive_listening = n.b.c.state() == State::Listen;
    if clean(&n.a) && clean(&n.b) && !passive_listening && n.a.c.state() == State::Closed {
        assert_eq!(n.b.read.len(), n.a.written, "A->B bytes lost");
        assert_eq!(n.a.read.len(), n.b.written, "B->A bytes lost");
        assert_eq!(n.b.c.state(), State::Closed);
    }
});
