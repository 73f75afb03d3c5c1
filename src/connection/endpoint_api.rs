//! What the [`Endpoint`](crate::endpoint::Endpoint) needs from a
//! connection beyond the public API: a connection opened by a SYN cookie
//! (RFC 4987), the few TCB variables a compact TIME-WAIT entry keeps, and
//! the timestamp clock offset the Endpoint chooses per address pair.

use super::{Buffers, Connection, Storage};
use crate::buffer::RingBuffer;
use crate::seq::SeqNum;
use crate::time::Instant;
use crate::wire::{Flags, Segment, TcpOptions, Timestamps};

use super::actions::Actions;

/// What a valid SYN cookie restores of the peer's SYN (RFC 4987 §3.6).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CookieOpen {
    /// Our ISS: the cookie.
    pub(crate) iss: SeqNum,
    /// The peer's MSS, rounded down to the cookie's table.
    pub(crate) mss: u16,
    /// The peer's window-scale shift, when timestamps carried it.
    pub(crate) wscale: Option<u8>,
    /// SACK-permitted, when timestamps carried it.
    pub(crate) sack: bool,
    /// The timestamp clock offset of this address pair.
    pub(crate) ts_offset: u32,
}

/// The TCB variables a TIME-WAIT entry keeps.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TimeWaitVars {
    pub(crate) snd_nxt: SeqNum,
    pub(crate) rcv_nxt: SeqNum,
    pub(crate) ts_on: bool,
    pub(crate) ts_recent: u32,
    pub(crate) ts_recent_age: Instant,
    pub(crate) ts_offset: u32,
    /// The window field of the last advertisement, still open to the
    /// right of RCV.NXT (Linux `tw_rcv_wnd`), already scaled.
    pub(crate) window: u16,
}

impl<B: Storage> Connection<B> {
    /// Takes the buffers (for another connection), leaving `empty` ones in
    /// their place: the Endpoint keeps a freed connection's storage for the
    /// next one, which overwrites the whole TCB.
    pub(crate) fn swap_buffers(&mut self, empty: Buffers<B>) -> Buffers<B> {
        let rx = core::mem::replace(&mut self.rx, RingBuffer::new(empty.rx));
        let tx = core::mem::replace(&mut self.tx, RingBuffer::new(empty.tx));
        Buffers {
            rx: rx.into_inner(),
            tx: tx.into_inner(),
        }
    }

    /// A connection opened by the ACK that returns a valid SYN cookie: the
    /// SYN is rebuilt from the cookie (IRS = SEG.SEQ - 1, the MSS of the
    /// cookie's table, window scale and SACK from the echoed timestamp), the
    /// SYN,ACK is taken as sent, and the ACK is processed as in SYN-RECEIVED
    /// (RFC 9293 §3.10.7.4 step 5), which moves the connection to
    /// ESTABLISHED. Data on the ACK is processed too.
    pub(crate) fn from_cookie(
        config: &super::PackedConfig,
        buffers: Buffers<B>,
        now: Instant,
        ack: &Segment<'_>,
        c: CookieOpen,
    ) -> Result<(Self, Actions), Buffers<B>> {
        let mut options = TcpOptions::NONE;
        options.mss = Some(c.mss);
        options.window_scale = c.wscale;
        options.sack_permitted = c.sack;
        options.timestamps = ack.options.timestamps.map(|ts| Timestamps {
            val: ts.val,
            ecr: 0,
        });
        let syn = Segment {
            seq: ack.seq.sub(1),
            ack: SeqNum(0),
            flags: Flags::SYN,
            window: ack.window,
            urgent: 0,
            options,
            payload: &[],
        };
        let (mut conn, mut a) = Connection::accept_packed(config, buffers, now, &syn, c.iss)?;
        conn.ts_offset = c.ts_offset;
        // The SYN,ACK went out (statelessly) as the cookie.
        conn.snd_nxt = c.iss.add(1);
        conn.snd_max = conn.snd_nxt;
        let window = conn.rx.free().min(0xffff) as u32;
        conn.rcv_adv = conn.rcv_nxt.add(window);
        conn.rtt_sample = super::timers::RttSample::NONE;
        a.merge(conn.on_segment(now, ack));
        Ok((conn, a))
    }

    /// Sets the timestamp clock offset (RFC 7323 §5.4). The Endpoint keeps
    /// it per address pair so that TSvals grow across incarnations of a
    /// 4-tuple (RFC 6191). Call before the first segment is polled.
    pub(crate) fn set_ts_offset(&mut self, offset: u32) {
        self.ts_offset = offset;
    }

    /// Whether the application opened this connection (`connect`), not a
    /// listener: a SYN-RECEIVED that reaches ESTABLISHED completes an
    /// active open only after a simultaneous open (RFC 9293 §3.5).
    pub(crate) fn active_open(&self) -> bool {
        !self.passive()
    }

    /// Whether `poll_transmit` has something.
    pub(crate) fn wants_output(&self) -> bool {
        self.has_output(self.wants_to_send())
    }

    /// Whether `poll_transmit` may give another segment now: what
    /// [`wants_output`](Self::wants_output) says, and SACK loss recovery
    /// (RFC 6675 §5), whose retransmissions it does not predict. When
    /// false, `poll_transmit` would return `None`.
    pub(crate) fn may_transmit(&self) -> bool {
        // A full segment of new data ready (`send_predict`, the common
        // answer during a bulk transfer) is output without the general
        // test's work.
        self.send_predict(usize::MAX).is_some()
            || (self.sack_on() && self.in_recovery())
            || self.wants_output()
    }

    /// The variables a compact TIME-WAIT entry keeps.
    pub(crate) fn time_wait_vars(&self) -> TimeWaitVars {
        TimeWaitVars {
            snd_nxt: self.snd_nxt,
            rcv_nxt: self.rcv_nxt,
            ts_on: self.ts_on(),
            ts_recent: self.ts_recent,
            ts_recent_age: Instant::from_micros(u64::from(self.ts_recent_stamp) << 20),
            ts_offset: self.ts_offset,
            window: {
                let open = if self.rcv_adv.after(self.rcv_nxt) {
                    self.rcv_adv.dist(self.rcv_nxt)
                } else {
                    0
                };
                (open >> self.rcv_wscale).min(0xffff) as u16
            },
        }
    }
}

impl<B: Storage> Connection<B> {
    /// Whether `seq`, quoted by an ICMP error, names data of ours still
    /// in flight: SND.UNA <= seq < SND.NXT, with SND.NXT the highest
    /// sequence number sent (RFC 5927 §4.1, as Linux's `tcp_v4_err`).
    pub(crate) fn icmp_seq_in_flight(&self, seq: SeqNum) -> bool {
        !seq.before(self.snd_una) && seq.before(self.snd_max)
    }
}
