//! TCP Fast Open in one connection (RFC 7413): data on the SYN, and data
//! on a SYN taken before the handshake completes. Cookies are the host's
//! business (the Endpoint generates, checks and caches them: RFC 7413
//! §4.1); the connection only marks the SYN that carries the option and
//! handles the data.
//!
//! No byte of the TCB is added. One flag bit (`fast_open`) says, in
//! SYN-SENT, that the first SYN is a Fast Open SYN, and afterwards that
//! the SYN's data was acknowledged (client) or that the connection is a
//! Fast Open child (server); a spare bit of the RACK log's word tells
//! whether the server took data from the SYN: Linux's
//! `TCPI_OPT_SYN_DATA`. While in SYN-SENT the send window, which the peer
//! has not told yet, holds how many bytes the SYN may carry (RFC 7413
//! §4.1.2: the client's SYN data is limited by the server's MSS as cached
//! and by the room for options, a limit the host computes).

use super::{AcceptError, Actions, Buffers, Connection, Storage};
use crate::error::CallError;
use crate::seq::SeqNum;
use crate::state::State;
use crate::time::Instant;
use crate::wire::Segment;

impl<B: Storage> Connection<B> {
    /// Active OPEN with TCP Fast Open (RFC 7413 §4.1.2), as Linux's
    /// `sendto(MSG_FASTOPEN)` or `TCP_FASTOPEN_CONNECT` open: the first SYN
    /// carries the Fast Open option and up to `syn_data` bytes of the data
    /// queued (with [`send`](Self::send)) before it is polled.
    ///
    /// The SYN's [`Transmit`](super::Transmit) has
    /// `options.fast_open = Some(FastOpen::request(false))`: the host puts
    /// its cached cookie for the server there (or leaves the request, or
    /// removes the option for a server known to take data without one)
    /// before it emits the segment. `syn_data` is 0 for a cookie request:
    /// RFC 7413 §4.1.2 sends data only with a cookie. A retransmitted SYN
    /// carries neither option nor data (as Linux), and data the SYN,ACK
    /// does not acknowledge is sent again at once after the handshake
    /// (RFC 7413 §4.2.2, the fallback to a regular 3-way handshake).
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub fn connect_fast_open(
        &mut self,
        now: Instant,
        iss: SeqNum,
        syn_data: u32,
    ) -> Result<Actions, CallError> {
        let a = self.connect(now, iss)?;
        self.mark_fast_open(syn_data);
        Ok(a)
    }

    /// [`open_active`](Self::open_active) with Fast Open (the Endpoint's
    /// path to [`connect_fast_open`](Self::connect_fast_open)).
    pub(crate) fn open_active_fast_open(
        &mut self,
        now: Instant,
        iss: SeqNum,
        syn_data: u32,
    ) -> Actions {
        let a = self.open_active(now, iss);
        self.mark_fast_open(syn_data);
        a
    }

    /// Called right after an active open succeeded: in SYN-SENT, the SYN
    /// not yet sent (the SYN goes out when polled).
    fn mark_fast_open(&mut self, syn_data: u32) {
        debug_assert!(self.state == State::SynSent && self.snd_max == self.iss);
        self.set_fast_open(true);
        // The peer's window is unknown until its SYN: in SYN-SENT the
        // send window holds what the SYN may carry.
        self.snd_wnd = syn_data;
    }

    /// The data of our Fast Open SYN that its SYN,ACK acknowledged in
    /// full, else 0 (`Cold::syn_data`).
    pub(super) fn syn_data_delivered(&self) -> u32 {
        #[cfg(feature = "alloc")]
        if self.fast_open() && !self.passive() {
            return self.cold().syn_data;
        }
        0
    }

    /// The first SYN of a Fast Open connection is due: the payload it
    /// carries (what is queued, at most the room given).
    pub(super) fn syn_payload(&self) -> u32 {
        if self.fast_open() && self.state == State::SynSent && self.snd_max == self.iss {
            self.snd_wnd.min(self.tx.len() as u32)
        } else {
            0
        }
    }

    /// How many more bytes the first SYN of a Fast Open connection may
    /// take: `Some(n)` in SYN-SENT before the SYN went out (0 for a
    /// cookie request), `None` otherwise.
    pub fn fast_open_room(&self) -> Option<usize> {
        (self.fast_open() && self.state == State::SynSent && self.snd_max == self.iss)
            .then(|| self.snd_wnd.saturating_sub(self.tx.len() as u32) as usize)
    }

    /// Whether the SYN's data was acknowledged by the SYN,ACK (an active
    /// open), or data on the peer's SYN was taken (a passive one; not for
    /// a Fast Open SYN without data, as Linux's `tcp_fastopen_add_skb`
    /// sets `syn_data_acked` only when there is data): Linux's
    /// `TCPI_OPT_SYN_DATA`.
    pub fn syn_data_acked(&self) -> bool {
        self.fast_open()
            && self.state != State::SynSent
            && (!self.passive() || self.sent_log.syn_data())
    }

    /// A Fast Open server connection whose handshake is not complete
    /// (SYN-RECEIVED after [`accept_fast_open`](Self::accept_fast_open)):
    /// it takes data to send and sends it before the ACK of its SYN,ACK
    /// arrives (RFC 7413 §4.2.2: the server may send data before the
    /// handshake completes; Linux's Fast Open child is writable in
    /// SYN_RECV, `tcp_passive_fastopen` in `sk_stream_wait_connect`).
    pub fn fast_open_child(&self) -> bool {
        self.state == State::SynReceived && self.passive() && self.fast_open()
    }

    /// New data may go out in SYN-RECEIVED (`fast_open_child`), once the
    /// SYN,ACK is out: new data only; after a timeout only the SYN,ACK is
    /// sent again (as Linux's `tcp_fastopen_synack_timer`), and the data
    /// once the handshake completes.
    pub(super) fn fast_open_child_sends(&self) -> bool {
        self.fast_open_child() && self.snd_nxt != self.iss && self.snd_nxt == self.snd_max
    }

    /// Our Fast Open SYN acknowledged up to SND.UNA (RFC 7413 §4.2.2), by
    /// the SYN,ACK in SYN-SENT or, after a simultaneous open, by the ACK
    /// in SYN-RECEIVED:
    /// the data it covers leaves the send buffer, the rest is sent again
    /// now (SND.NXT back to SND.UNA: a retransmission that is no sign of
    /// congestion, as Linux's `tcp_rcv_fastopen_synack`), and the flag now
    /// tells whether all of the SYN's data was acknowledged.
    pub(super) fn fast_open_synack(&mut self) {
        let sent = self.snd_max.dist(self.iss.add(1));
        let acked = self.snd_una.dist(self.iss.add(1)).min(sent);
        self.tx.consume((acked as usize).min(self.tx.len()));
        self.snd_nxt = self.snd_una;
        if acked < sent {
            // What the SYN,ACK left unacknowledged goes again (RFC 7413
            // §4.1.3): retransmitted data in flight (Linux's
            // tcp_rcv_fastopen_synack marks it lost and resends it).
            self.high_rxt = self.snd_max;
            if self.cfg.linux_push() {
                // Linux resends it as the buffer it was, PSH on its end
                // (Config::linux_push): a record's end (`records.rs`).
                self.record_end_at(self.snd_max);
            }
        }
        self.set_fast_open(sent > 0 && acked == sent);
        #[cfg(feature = "alloc")]
        if sent > 0 && acked == sent {
            self.cold_mut().syn_data = sent;
        }
    }

    /// Accepts a SYN as a Fast Open server does once the host found its
    /// cookie valid (or takes data without one): RFC 7413 §4.2.2. As
    /// [`accept`](Self::accept), and the SYN's data is taken at once:
    /// readable before the handshake completes, acknowledged by the
    /// SYN,ACK. The host gives the connection to the application at once
    /// (Linux puts it in the accept queue). Data the application sends
    /// goes out before the ACK of the SYN,ACK ([`fast_open_child`](Self::fast_open_child)).
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    pub fn accept_fast_open(
        config: crate::config::Config,
        buffers: Buffers<B>,
        now: Instant,
        syn: &Segment<'_>,
        iss: SeqNum,
    ) -> Result<(Self, Actions), AcceptError<B>> {
        let (mut c, mut a) = Self::accept(config, buffers, now, syn, iss)?;
        c.take_syn_data(now, syn, &mut a);
        Ok((c, a))
    }

    /// [`open_passive`](Self::open_passive) with Fast Open (the Endpoint's
    /// path to [`accept_fast_open`](Self::accept_fast_open)).
    pub(crate) fn open_passive_fast_open(
        &mut self,
        now: Instant,
        syn: &Segment<'_>,
        iss: SeqNum,
    ) -> Actions {
        let mut a = self.open_passive(now, syn, iss);
        self.take_syn_data(now, syn, &mut a);
        a
    }

    /// The data on a SYN, in order at RCV.NXT (IRS + 1), into the receive
    /// buffer (what fits: the rest is not acknowledged, and the peer sends
    /// it again). A FIN on the SYN is not taken: the peer sends it again.
    fn take_syn_data(&mut self, now: Instant, syn: &Segment<'_>, a: &mut Actions) {
        if self.state != State::SynReceived {
            return;
        }
        self.set_fast_open(true);
        let n = self.rx.write_unallocated(0, syn.payload);
        if n > 0 {
            self.sent_log.set_syn_data();
            self.rx.commit_unallocated(n);
            self.rcv_nxt = self.rcv_nxt.add(n as u32);
            self.count_bytes_in(n as u32);
            // Not `last_data_in`: as on Linux (tcp_fastopen_add_skb), data
            // on the SYN does not start the delayed-ACK clock, so no reply
            // to it counts as interactive and the ACK of a FIN after it
            // goes at once (`fin_ack_delayed`).
            a.set_readable();
        }
        self.rcv_adv = self.rcv_nxt;
        self.last_ack_sent = self.rcv_nxt;
        // The child may send before the handshake completes: its initial
        // window is already set (`accept_syn`), as Linux's
        // `tcp_fastopen_create_child` calls `tcp_init_transfer`.
        debug_assert!(self.cwnd != 0);
        self.finish(now, a);
    }
}
