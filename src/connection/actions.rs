//! What a call asks of the host: [`Actions`], a small owned value.

use crate::error::CloseReason;
use crate::seq::SeqNum;
use crate::state::{Event, State};
use crate::time::Instant;
use crate::wire::{FIXED_LEN, Flags, TcpHeader, TcpOptions, WireError};

/// `emit_header`'s error for a header of `hlen` bytes to end at `end` in
/// a buffer of `have` bytes: the buffer, or the room before `end`.
fn too_small(end: usize, have: usize, hlen: usize) -> WireError {
    if end > have {
        WireError::BufferTooSmall { need: end, have }
    } else {
        WireError::BufferTooSmall {
            need: hlen,
            have: end,
        }
    }
}

/// A state change, with the edge of the transition table that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateChange {
    /// State before.
    pub from: State,
    /// What happened.
    pub event: Event,
    /// State after.
    pub to: State,
}

/// One thing the host must do or may want to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The connection changed state (in the order the changes happened).
    StateChanged(StateChange),
    /// The connection reached CLOSED for this reason; it will send nothing
    /// more except a RST that is already pending.
    Closed(CloseReason),
    /// Data (or the end of the peer's data) can be read.
    Readable,
    /// Send-buffer space was freed.
    Writable,
    /// Segments are ready: call `poll_transmit` until it returns `None`.
    Transmit,
    /// The connection's deadline moved: call `on_timer` at (or after) it.
    SetTimer(Instant),
    /// The connection has no deadline any more.
    ClearTimer,
    /// The peer's urgent pointer moved past what the application has read
    /// (RFC 9293 §3.8.5 MUST-32, §3.10.7.4 step 6): urgent data is on its
    /// way in line, and [`Connection::urgent_mark`] says where it ends.
    ///
    /// [`Connection::urgent_mark`]: crate::Connection::urgent_mark
    Urgent,
    /// R1 retransmissions of the same segment (or SYN) went unanswered
    /// (RFC 9293 §3.8.3 MUST-20, SHLD-9, MUST-22): the host should give
    /// its IP layer negative advice about the route (dead-gateway
    /// detection, RFC 1122 §3.3.1.4; Linux `dst_negative_advice`) and may
    /// tell the application. The connection goes on retransmitting until
    /// R2. Reported once per episode of unanswered retransmissions.
    NegativeAdvice,
}

const TRANSMIT: u8 = 1;
const READABLE: u8 = 2;
const WRITABLE: u8 = 4;
const TIMER: u8 = 8;
const URGENT: u8 = 16;
const ADVICE: u8 = 32;
const MAX_CHANGES: usize = 3;

/// Everything one call changed, as a small value (no allocation).
/// Iterate it to get [`Action`]s in a fixed order: state changes, close,
/// readable, writable, transmit, timer, urgent, negative advice.
#[must_use = "actions say what the host must do (transmit, arm the timer)"]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Actions {
    bits: u8,
    n_changes: u8,
    changes: [Option<StateChange>; MAX_CHANGES],
    closed: Option<CloseReason>,
    timer: Option<Instant>,
}

impl Actions {
    /// Nothing to do.
    pub const NONE: Actions = Actions {
        bits: 0,
        n_changes: 0,
        changes: [None; MAX_CHANGES],
        closed: None,
        timer: None,
    };

    pub(crate) fn push_change(&mut self, c: StateChange) {
        let n = usize::from(self.n_changes);
        if n < MAX_CHANGES {
            self.changes[n] = Some(c);
            self.n_changes += 1;
        } else {
            debug_assert!(false, "more than {MAX_CHANGES} state changes in one call");
        }
    }
    pub(crate) fn set_closed(&mut self, r: CloseReason) {
        self.closed = Some(r);
    }
    pub(crate) fn set_transmit(&mut self) {
        self.bits |= TRANSMIT;
    }
    pub(crate) fn set_readable(&mut self) {
        self.bits |= READABLE;
    }
    pub(crate) fn clear_readable(&mut self) {
        self.bits &= !READABLE;
    }
    pub(crate) fn set_writable(&mut self) {
        self.bits |= WRITABLE;
    }
    pub(crate) fn set_urgent(&mut self) {
        self.bits |= URGENT;
    }
    pub(crate) fn set_negative_advice(&mut self) {
        self.bits |= ADVICE;
    }
    pub(crate) fn set_timer(&mut self, deadline: Option<Instant>) {
        self.bits |= TIMER;
        self.timer = deadline;
    }
    /// Merges `later` into `self` (for hosts that batch several calls).
    pub fn merge(&mut self, later: Actions) {
        for c in later.state_changes() {
            self.push_change(*c);
        }
        self.bits |= later.bits;
        if later.closed.is_some() {
            self.closed = later.closed;
        }
        if later.bits & TIMER != 0 {
            self.timer = later.timer;
        }
    }

    /// The state changes, in order.
    pub fn state_changes(&self) -> impl Iterator<Item = &StateChange> {
        // Only the first `n_changes` are filled (in order): no test of the
        // empty ones.
        let n = usize::from(self.n_changes).min(MAX_CHANGES);
        self.changes[..n].iter().flatten()
    }
    /// Segments wait in `poll_transmit`.
    pub fn transmit(&self) -> bool {
        self.bits & TRANSMIT != 0
    }
    /// The application can read.
    pub fn readable(&self) -> bool {
        self.bits & READABLE != 0
    }
    /// The application can write.
    pub fn writable(&self) -> bool {
        self.bits & WRITABLE != 0
    }
    /// The peer's urgent pointer advanced ([`Action::Urgent`]).
    pub fn urgent(&self) -> bool {
        self.bits & URGENT != 0
    }
    /// R1 was reached ([`Action::NegativeAdvice`]).
    pub fn negative_advice(&self) -> bool {
        self.bits & ADVICE != 0
    }
    /// [`urgent`](Self::urgent) or [`negative_advice`](Self::negative_advice):
    /// one test for a host that handles neither on its common path.
    pub fn rare(&self) -> bool {
        self.bits & (URGENT | ADVICE) != 0
    }
    /// Why the connection closed, if it did in this call.
    pub fn closed(&self) -> Option<CloseReason> {
        self.closed
    }
    /// `Some(Some(t))`: new deadline `t`; `Some(None)`: cleared; `None`: unchanged.
    pub fn timer(&self) -> Option<Option<Instant>> {
        (self.bits & TIMER != 0).then_some(self.timer)
    }
    /// Nothing happened.
    pub fn is_empty(&self) -> bool {
        *self == Actions::NONE
    }
}

impl IntoIterator for Actions {
    type Item = Action;
    type IntoIter = ActionsIter;
    fn into_iter(self) -> ActionsIter {
        ActionsIter { a: self, pos: 0 }
    }
}

/// Iterator over [`Actions`].
#[derive(Clone, Debug)]
pub struct ActionsIter {
    a: Actions,
    pos: u8,
}

impl Iterator for ActionsIter {
    type Item = Action;
    fn next(&mut self) -> Option<Action> {
        loop {
            let p = self.pos;
            self.pos = self.pos.saturating_add(1);
            let a = &self.a;
            let item = match p {
                0..3 => a.changes[usize::from(p)].map(Action::StateChanged),
                3 => a.closed.map(Action::Closed),
                4 => a.readable().then_some(Action::Readable),
                5 => a.writable().then_some(Action::Writable),
                6 => a.transmit().then_some(Action::Transmit),
                7 => a.timer().map(|t| match t {
                    Some(t) => Action::SetTimer(t),
                    None => Action::ClearTimer,
                }),
                8 => a.urgent().then_some(Action::Urgent),
                9 => a.negative_advice().then_some(Action::NegativeAdvice),
                _ => return None,
            };
            if item.is_some() {
                return item;
            }
        }
    }
}

/// One segment to send, produced by `poll_transmit`. Its payload was written
/// to the start of the caller's buffer (`len` bytes). Ports, addresses and
/// the checksum are the host's (or the Endpoint's) to add.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Sequence number.
    pub seq: SeqNum,
    /// Acknowledgment number (meaningful with ACK set).
    pub ack: SeqNum,
    /// Control bits.
    pub flags: Flags,
    /// Window field (already scaled down).
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Mark the IP header ECT(0) (RFC 3168 §6.1.1: new data of an
    /// ECN-capable connection).
    pub ect: bool,
    /// Options.
    pub options: TcpOptions,
    /// Payload bytes written to the caller's buffer.
    pub len: usize,
}

impl Transmit {
    /// The TCP header for this segment between the given ports.
    pub fn header(&self, src_port: u16, dst_port: u16) -> TcpHeader {
        TcpHeader {
            src_port,
            dst_port,
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            window: self.window,
            urgent: self.urgent,
            options: self.options,
        }
    }

    /// Writes the TCP header of this segment between the given ports into
    /// `buf` so that it ends at `end`, and returns where it starts. A host
    /// that gave `poll_transmit` the buffer `&mut buf[end..]` then has the
    /// whole segment in `buf[start..end + self.len]`, the payload unmoved.
    ///
    /// The bytes are those of `self.header(src_port, dst_port).emit(..)`
    /// (the checksum field zero, to fill in over the whole segment:
    /// RFC 9293 §3.1), written without building the [`TcpHeader`]: a
    /// segment without options (every data segment of a connection
    /// without timestamps, and no SACK block to report) is 20 bytes from
    /// the fields.
    ///
    /// # Errors
    ///
    /// * [`WireError::BufferTooSmall`]: `end` is past the end of `buf`, or
    ///   less than the header's length before it.
    /// * [`WireError::OptionsTooLong`]: the options need more than 40
    ///   bytes (as [`TcpHeader::emit`]).
    #[inline]
    pub fn emit_header(
        &self,
        src_port: u16,
        dst_port: u16,
        buf: &mut [u8],
        end: usize,
    ) -> Result<usize, WireError> {
        if !self.options.is_empty() {
            return emit_with_options(&self.header(src_port, dst_port), buf, end);
        }
        let have = buf.len();
        let start = end.wrapping_sub(FIXED_LEN);
        match buf
            .get_mut(start..end)
            .and_then(|b| b.first_chunk_mut::<FIXED_LEN>())
        {
            Some(fixed) => {
                // The options are not read: only the fixed fields are
                // kept of this header (no copy of the options).
                let h = TcpHeader {
                    options: TcpOptions::NONE,
                    ..self.header(src_port, dst_port)
                };
                *fixed = h.fixed_header(FIXED_LEN);
                Ok(start)
            }
            None => Err(too_small(end, have, FIXED_LEN)),
        }
    }

    /// SEG.LEN of this segment (payload plus SYN and FIN).
    pub fn seg_len(&self) -> u32 {
        self.len as u32 + u32::from(self.flags.syn()) + u32::from(self.flags.fin())
    }
}

/// `Transmit::emit_header` of a segment with options (out of line: the
/// common data segment has none, and the Endpoint writes its own).
#[inline(never)]
fn emit_with_options(h: &TcpHeader, buf: &mut [u8], end: usize) -> Result<usize, WireError> {
    let olen = h.options_len();
    if olen > 40 {
        // Reported before the buffer is looked at, as `emit` does.
        return Err(WireError::OptionsTooLong(olen));
    }
    let hlen = FIXED_LEN + olen;
    let have = buf.len();
    match end
        .checked_sub(hlen)
        .and_then(|s| Some((s, buf.get_mut(s..end)?)))
    {
        Some((start, out)) => h.emit(out).map(|_| start),
        None => Err(too_small(end, have, hlen)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(from: State, event: Event, to: State) -> StateChange {
        StateChange { from, event, to }
    }

    /// Each flag reads back alone: setting one sets no other, and
    /// `clear_readable` clears only READABLE.
    #[test]
    fn each_flag_reads_back_alone() {
        type Set = fn(&mut Actions);
        type Get = fn(&Actions) -> bool;
        let flags: [(Set, Get); 5] = [
            (Actions::set_transmit, Actions::transmit),
            (Actions::set_readable, Actions::readable),
            (Actions::set_writable, Actions::writable),
            (Actions::set_urgent, Actions::urgent),
            (Actions::set_negative_advice, Actions::negative_advice),
        ];
        for (i, (set, _)) in flags.iter().enumerate() {
            let mut a = Actions::NONE;
            set(&mut a);
            assert!(!a.is_empty());
            for (j, (_, get)) in flags.iter().enumerate() {
                assert_eq!(get(&a), i == j, "set {i}, read {j}");
            }
            // `rare` is urgent or negative advice (i = 3, 4).
            assert_eq!(a.rare(), i >= 3, "set {i}");
            assert_eq!(a.timer(), None);
            assert_eq!(a.closed(), None);
        }
        let mut a = Actions::NONE;
        a.set_transmit();
        a.set_readable();
        a.set_urgent();
        a.clear_readable();
        assert!(a.transmit() && !a.readable() && a.urgent());
        a.clear_readable();
        assert!(a.transmit() && !a.readable() && a.urgent());
        assert!(Actions::NONE.is_empty() && !Actions::NONE.rare());
        assert_eq!(Actions::default(), Actions::NONE);
    }

    /// `timer`: `None` unchanged, `Some(None)` cleared, `Some(Some(t))` a
    /// new deadline; `closed` and the state changes in order.
    #[test]
    fn timer_close_and_state_changes_read_back() {
        let t = Instant::from_secs(7);
        let mut a = Actions::NONE;
        a.set_timer(Some(t));
        assert_eq!(a.timer(), Some(Some(t)));
        assert!(!a.transmit() && !a.rare() && !a.is_empty());
        a.set_timer(None);
        assert_eq!(a.timer(), Some(None));
        a.set_closed(CloseReason::Reset);
        assert_eq!(a.closed(), Some(CloseReason::Reset));
        let c = [
            change(State::Closed, Event::ActiveOpen, State::SynSent),
            change(State::SynSent, Event::RcvSynAck, State::Established),
            change(State::Established, Event::RcvRst, State::Closed),
        ];
        for x in c {
            a.push_change(x);
        }
        let got: Vec<StateChange> = a.state_changes().copied().collect();
        assert_eq!(got, c);
    }

    /// `merge` (a host batching calls): the state changes follow one
    /// another, the flags add up, and the later call's close and deadline
    /// win when it has them; a later call that left the timer alone keeps
    /// the earlier deadline.
    #[test]
    fn merge_keeps_order_and_the_later_close_and_deadline() {
        let (t1, t2) = (Instant::from_secs(1), Instant::from_secs(2));
        let c1 = change(State::Closed, Event::ActiveOpen, State::SynSent);
        let c2 = change(State::SynSent, Event::RcvSynAck, State::Established);
        let mut a = Actions::NONE;
        a.push_change(c1);
        a.set_transmit();
        a.set_timer(Some(t1));
        a.set_closed(CloseReason::Normal);
        let mut b = Actions::NONE;
        b.push_change(c2);
        b.set_readable();
        let mut m = a;
        m.merge(b);
        assert_eq!(m.state_changes().copied().collect::<Vec<_>>(), [c1, c2]);
        assert!(m.transmit() && m.readable() && !m.writable());
        assert_eq!(m.timer(), Some(Some(t1)), "b left the timer alone");
        assert_eq!(m.closed(), Some(CloseReason::Normal), "b did not close");
        b.set_timer(Some(t2));
        b.set_closed(CloseReason::Reset);
        let mut m = a;
        m.merge(b);
        assert_eq!(m.timer(), Some(Some(t2)));
        assert_eq!(m.closed(), Some(CloseReason::Reset));
        let mut cleared = Actions::NONE;
        cleared.set_timer(None);
        let mut m = a;
        m.merge(cleared);
        assert_eq!(m.timer(), Some(None));
        let mut m = Actions::NONE;
        m.merge(a);
        assert_eq!(m, a);
    }

    /// Iteration gives every action once, in the documented order: state
    /// changes, close, readable, writable, transmit, timer, urgent,
    /// negative advice.
    #[test]
    fn iteration_follows_the_documented_order() {
        let t = Instant::from_secs(3);
        let c = [
            change(State::Listen, Event::RcvSyn, State::SynReceived),
            change(State::SynReceived, Event::RcvAck, State::Established),
            change(State::Established, Event::RcvRst, State::Closed),
        ];
        let mut a = Actions::NONE;
        a.set_negative_advice();
        a.set_urgent();
        a.set_timer(Some(t));
        a.set_transmit();
        a.set_writable();
        a.set_readable();
        a.set_closed(CloseReason::Reset);
        for x in c {
            a.push_change(x);
        }
        let got: Vec<Action> = a.into_iter().collect();
        assert_eq!(
            got,
            [
                Action::StateChanged(c[0]),
                Action::StateChanged(c[1]),
                Action::StateChanged(c[2]),
                Action::Closed(CloseReason::Reset),
                Action::Readable,
                Action::Writable,
                Action::Transmit,
                Action::SetTimer(t),
                Action::Urgent,
                Action::NegativeAdvice,
            ]
        );
        let mut b = Actions::NONE;
        b.set_timer(None);
        assert_eq!(b.into_iter().collect::<Vec<_>>(), [Action::ClearTimer]);
        assert_eq!(Actions::NONE.into_iter().next(), None);
    }

    /// A SYN,ACK with 5 bytes of payload and the given options.
    fn sample(options: TcpOptions) -> Transmit {
        Transmit {
            seq: SeqNum(10),
            ack: SeqNum(20),
            flags: Flags::SYN | Flags::ACK,
            window: 300,
            urgent: 4,
            ect: false,
            options,
            len: 5,
        }
    }

    /// `Transmit::header` carries every field over with the ports given;
    /// SEG.LEN counts SYN and FIN (RFC 9293 §3.4).
    #[test]
    fn transmit_header_and_seg_len() {
        let t = sample(TcpOptions {
            mss: Some(1000),
            ..TcpOptions::NONE
        });
        let h = t.header(1, 2);
        assert_eq!((h.src_port, h.dst_port), (1, 2));
        assert_eq!((h.seq, h.ack, h.flags), (t.seq, t.ack, t.flags));
        assert_eq!((h.window, h.urgent, h.options), (300, 4, t.options));
        assert_eq!(t.seg_len(), 6);
        let fin = Transmit {
            flags: Flags::FIN | Flags::ACK,
            ..t
        };
        assert_eq!(fin.seg_len(), 6);
        let both = Transmit {
            flags: Flags::SYN | Flags::FIN,
            len: 0,
            ..t
        };
        assert_eq!(both.seg_len(), 2);
        let data = Transmit {
            flags: Flags::ACK,
            len: 7,
            ..t
        };
        assert_eq!(data.seg_len(), 7);
    }

    /// `Transmit::emit_header` writes the bytes of `header().emit()` right
    /// in front of `end`, with and without options, and reports what
    /// `emit` reports when they do not fit.
    #[test]
    fn emit_header_is_header_then_emit() {
        use crate::wire::{SackBlocks, Timestamps};
        let bare = Transmit {
            seq: SeqNum(0x0102_0304),
            flags: Flags::ACK | Flags::PSH,
            ..sample(TcpOptions::NONE)
        };
        let ts = Some(Timestamps { val: 5, ecr: 6 });
        let mut sack = SackBlocks::new();
        sack.push(SeqNum(10), SeqNum(20));
        // Timestamps and three SACK blocks: 40 bytes, the most that fit.
        let mut three = SackBlocks::new();
        for i in 0..3 {
            three.push(SeqNum(i * 100), SeqNum(i * 100 + 10));
        }
        let with = |options| Transmit { options, ..bare };
        for t in [
            bare,
            with(TcpOptions {
                timestamps: ts,
                ..TcpOptions::NONE
            }),
            with(TcpOptions {
                mss: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                timestamps: ts,
                ..TcpOptions::NONE
            }),
            with(TcpOptions {
                sack,
                ..TcpOptions::NONE
            }),
            with(TcpOptions {
                sack: three,
                timestamps: ts,
                ..TcpOptions::NONE
            }),
        ] {
            let h = t.header(1000, 2000);
            let hlen = h.header_len();
            let mut want = [0xeeu8; 64];
            h.emit(&mut want[..hlen]).unwrap();
            let mut got = [0xeeu8; 80];
            assert_eq!(t.emit_header(1000, 2000, &mut got, 70), Ok(70 - hlen));
            assert_eq!(got[70 - hlen..70], want[..hlen]);
            // Nothing outside the header is touched.
            assert!(
                got[..70 - hlen]
                    .iter()
                    .chain(&got[70..])
                    .all(|&b| b == 0xee)
            );
            // Room before `end` short by a byte, and `end` past the buffer.
            let short = WireError::BufferTooSmall {
                need: hlen,
                have: hlen - 1,
            };
            assert_eq!(t.emit_header(1, 2, &mut got, hlen - 1), Err(short));
            let past = WireError::BufferTooSmall { need: 81, have: 80 };
            assert_eq!(t.emit_header(1, 2, &mut got, 81), Err(past));
            // `end` at the buffer's end, with too little room before it.
            let end = &mut got[..hlen - 1];
            assert_eq!(t.emit_header(1, 2, end, hlen - 1), Err(short));
        }
        // Four SACK blocks and timestamps need 48 option bytes (as `emit`).
        let mut four = SackBlocks::new();
        for i in 0..4 {
            four.push(SeqNum(i * 100), SeqNum(i * 100 + 10));
        }
        let long = with(TcpOptions {
            sack: four,
            timestamps: ts,
            ..TcpOptions::NONE
        });
        let mut buf = [0u8; 100];
        assert_eq!(
            long.emit_header(1, 2, &mut buf, 90),
            Err(WireError::OptionsTooLong(48))
        );
        assert_eq!(
            long.header(1, 2).emit(&mut buf),
            Err(WireError::OptionsTooLong(48))
        );
    }
}
