//! One TCP connection: the TCB and the three entry points.
//!
//! RFCs to read: RFC 9293 (§3.3 states, §3.4 sequence numbers, §3.7 data
//! communication, §3.8 retransmission, windows and ACKs, §3.10 event
//! processing), RFC 5961 (blind in-window attacks), RFC 6298 (RTO), RFC 5681
//! (congestion control), RFC 7323 (window scale, timestamps, PAWS),
//! RFC 1122 §4.2.3.6 (keep-alive), RFC 5482 (user timeout).
//!
//! # The calling contract
//!
//! 1. Create a [`Connection`] with a [`Config`] and its two buffers.
//! 2. Open it: [`Connection::connect`] or [`Connection::listen`].
//! 3. Feed it every segment for its 4-tuple with [`Connection::on_segment`]
//!    (parsed and checksum-verified), the application's calls with
//!    [`Connection::on_app_call`] (or the helpers `send`, `recv`, `close`,
//!    ...), and call [`Connection::on_timer`] when its deadline passes.
//! 4. Each of those returns [`Actions`]. On [`Action::Transmit`], call
//!    [`Connection::poll_transmit`] until it returns `None` and put each
//!    segment on the wire. On [`Action::SetTimer`], arm one timer for the
//!    connection; [`Connection::deadline`] always tells the current deadline,
//!    and is to be read again after draining `poll_transmit` (sending starts
//!    the retransmission or loss-probe timer). A deadline may be earlier than
//!    needed: calling `on_timer` early is a harmless no-op.
//! 5. `now` must never go backwards.

mod actions;
mod app;
mod cfg;
#[cfg(feature = "testing")]
mod clone;
mod cold;
pub mod congestion;
mod counters;
mod cwnd_limited;
mod endpoint_api;
mod fastopen;
mod flags;
mod frto;
mod gso;
mod icmp;
pub mod info;
mod input;
mod output;
mod plpmtud;
mod prr;
mod rack;
mod records;
mod sack;
mod spill;
mod timers;
mod txfail;
mod urgent;

pub use actions::{Action, Actions, ActionsIter, StateChange, Transmit};
pub(crate) use endpoint_api::{CookieOpen, TimeWaitVars};
pub use icmp::IcmpError;
pub use info::{CaState, TcpInfo};
pub use output::reply_to_unknown;
pub use timers::Timer;

use crate::buffer::RingBuffer;
use crate::config::Config;
use crate::error::{CallError, CloseReason, ConfigError};
use crate::seq::SeqNum;
use crate::state::{self, Event, State};
use crate::time::{Instant, Stamp};
use crate::wire::{Segment, WireError};

/// Storage for a send or receive buffer: any mutable byte slice owner
/// (`[u8; N]`, `&mut [u8]`, `Vec<u8>`, `Box<[u8]>`).
pub trait Storage: AsRef<[u8]> + AsMut<[u8]> {}
impl<T: AsRef<[u8]> + AsMut<[u8]>> Storage for T {}

/// The two buffers of a connection. Their sizes bound the memory the
/// connection can ever use: out-of-order data is held inside `rx`.
#[derive(Debug)]
pub struct Buffers<B> {
    /// Receive buffer (in-order data waiting for the app, plus reassembly).
    pub rx: B,
    /// Send buffer (unacknowledged and unsent data).
    pub tx: B,
}

#[cfg(feature = "alloc")]
impl Buffers<alloc::vec::Vec<u8>> {
    /// Two heap buffers of the given sizes.
    pub fn with_capacity(rx: usize, tx: usize) -> Self {
        Buffers {
            rx: alloc::vec![0; rx],
            tx: alloc::vec![0; tx],
        }
    }
}

/// A call from the application (RFC 9293 §3.9.1 user interface).
#[derive(Debug)]
pub enum AppCall<'a> {
    /// Passive OPEN. `iss` seeds the initial sequence numbers: each SYN is
    /// answered with `iss` plus a 4-microsecond clock (RFC 9293 §3.4.1).
    Listen {
        /// Secret per-listener offset (the F() of RFC 6528).
        iss: SeqNum,
    },
    /// Active OPEN with this initial send sequence number (the host, or the
    /// Endpoint, computes it per RFC 6528).
    Connect {
        /// Initial send sequence number.
        iss: SeqNum,
    },
    /// SEND: queue data; the outcome's `len` says how much fit.
    Send(&'a [u8]),
    /// RECEIVE: copy readable data into the buffer; `len` is the amount.
    Receive(&'a mut [u8]),
    /// Half-close: send FIN after the queued data, keep receiving.
    Shutdown,
    /// CLOSE: like `Shutdown`, and the application will read no more. With
    /// unread data the connection is reset instead (RFC 9293 §3.6.1 SHLD-3).
    /// The connection then finishes its close on its own (an orphan).
    Close,
    /// ABORT (RFC 9293 §3.10.5): RST where the peer knows us, then CLOSED.
    Abort,
    /// SEND that ends a record (Linux `MSG_EOR`): the data is queued as
    /// by `Send`, and no segment sent or resent carries bytes from both
    /// sides of its end; the segment that ends it carries PSH. See
    /// [`Connection::send_eor`].
    SendEor(&'a [u8]),
    /// SEND with more to come (Linux `MSG_MORE`): the data waits, as under
    /// a cork, until a later `Send` or a push (`SetNoDelay(true)`,
    /// `SetCork(false)`), and no PSH marks its end.
    SendMore(&'a [u8]),
    /// Nagle's algorithm off (`true`, like TCP_NODELAY) or on. Turning it
    /// off also sends at once what it or a cork held back (Linux pushes the
    /// pending frames on TCP_NODELAY).
    SetNoDelay(bool),
    /// Hold back segments shorter than the MSS until the cork is removed,
    /// a FIN is due or Nagle is turned off (Linux `TCP_CORK`); removing it
    /// sends what was held.
    SetCork(bool),
    /// Keep-alive (RFC 9293 §3.8.4 MUST-24: the application turns it on
    /// or off per connection; Linux `SO_KEEPALIVE` with `TCP_KEEPIDLE`,
    /// `TCP_KEEPINTVL`, `TCP_KEEPCNT`) from now on; `None` turns it off
    /// ([`Config::keepalive`]). A keep-alive with a zero idle time or
    /// interval, or no probe, is refused (`CallError::InvalidKeepalive`).
    SetKeepalive(Option<crate::config::Keepalive>),
    /// SEND with the URGENT flag (RFC 9293 §3.10.2, §3.8.5): as `Send`,
    /// and SND.UP moves to the end of the data queued
    /// ([`Connection::send_urgent`]).
    SendUrgent(&'a [u8]),
    /// The user timeout of RFC 5482 (Linux `TCP_USER_TIMEOUT`) from now
    /// on; `None` turns it off ([`Config::user_timeout`]).
    SetUserTimeout(Option<crate::time::Duration>),
    /// SYN retransmissions before an active open gives up (Linux
    /// `TCP_SYNCNT`, per connection; [`Config::syn_retries`]), from now on:
    /// also while the SYN is out.
    SetSynRetries(u8),
}

/// The result of an application call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Outcome {
    /// What the host must do.
    pub actions: Actions,
    /// Bytes accepted (`Send`) or copied (`Receive`); 0 for other calls.
    pub len: usize,
}

/// Counters for one connection.
///
/// The connection keeps the event counters (every field but `bytes_in` and
/// `bytes_out`) in 32 bits: they wrap to 0 after 2^32 - 1. The byte counters
/// do not wrap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Segments given to `on_segment`.
    pub segs_in: u64,
    /// Segments produced by `poll_transmit`.
    pub segs_out: u64,
    /// Segments retransmitted (timeouts, fast retransmit, SYN retries).
    pub retransmits: u64,
    /// Retransmission timeouts.
    pub timeouts: u64,
    /// Congestion-window reductions for ECN-Echo (RFC 3168 §6.1.2).
    pub ecn_reductions: u64,
    /// Timeouts found spurious and undone (RFC 3522 Eifel detection).
    pub spurious_timeouts: u64,
    /// Slow starts ended by HyStart++'s delay test (RFC 9406).
    pub hystart_exits: u64,
    /// Losses detected by RACK's time rule (RFC 8985 §6).
    pub rack_losses: u64,
    /// Lost retransmissions detected in recovery (RFC 8985 §6.2 style).
    pub lost_retransmits: u64,
    /// Tail loss probes sent (RFC 8985 §7).
    pub loss_probes: u64,
    /// Fast-recovery episodes (RFC 5681 §3.2 / RFC 6675).
    pub recoveries: u64,
    /// Segments dropped (unacceptable, failed checks).
    pub dropped: u64,
    /// Challenge ACKs sent (RFC 5961).
    pub challenge_acks: u64,
    /// Challenge ACKs suppressed by the rate limit.
    pub challenge_acks_suppressed: u64,
    /// Payload bytes received in order.
    pub bytes_in: u64,
    /// Payload bytes sent (including retransmissions).
    pub bytes_out: u64,
    /// State changes that were not in the table (always 0 unless there is a bug).
    pub illegal_transitions: u64,
}

/// What a spurious timeout restores (RFC 3522, RFC 4015).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Undo {
    cwnd: u32,
    ssthresh: u32,
    tsval: u32,
}

/// What is about to be probed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Probe {
    None,
    ZeroWindow,
    Keepalive,
    /// The override timeout (RFC 9293 §3.8.6.2.1) forces held data out:
    /// with `Config::linux_push`, it carries PSH (Linux's tcp_write_wakeup).
    Override,
    /// The host could not send new data (`txfail.rs`): it waits for the
    /// probe timer, an ACK or the retransmission timer.
    Held,
    /// The probe timer let held data try again (`txfail.rs`).
    Retry,
}

/// The transmission control block of one connection (RFC 9293 §3.3.1).
///
/// It is `Clone` when its storage is, so that a model checker or a fuzzer
/// can fork a connection and explore both branches.
#[derive(Clone)]
pub struct Connection<B: Storage> {
    cfg: cfg::Shared,
    state: State,
    /// Yes/no state, one bit per flag (getters and setters in `flags.rs`).
    flags: u32,
    /// Yes/no state of the uncommon modes (urgent data, F-RTO, PLPMTUD):
    /// `xflag` and `set_x` in `urgent.rs`.
    xflags: u8,
    /// The end of the last short (sub-MSS) data segment sent (Minshall).
    snd_sml: SeqNum,
    snd_wscale: u8,
    rcv_wscale: u8,
    probe: Probe,
    dupacks: u8,
    retries: u8,
    zwp_probes: u8,
    /// Zero-window probes sent since the peer last acknowledged anything.
    zwp_unanswered: u8,
    ka_probes: u8,

    // Send sequence space (RFC 9293 §3.3.1).
    iss: SeqNum,
    /// RCV.UP (RFC 9293 §3.3.1; `urgent.rs`) while the peer's urgent
    /// data is pending. In LISTEN, and in SYN-RECEIVED of a passive open,
    /// it holds instead the listener's secret ISS offset (RFC 6528 F()):
    /// urgent data is taken only from ESTABLISHED on (§3.10.7.4 step 6),
    /// and a connection that reached ESTABLISHED never returns to LISTEN.
    rcv_up: SeqNum,
    snd_una: SeqNum,
    snd_nxt: SeqNum,
    /// The highest sequence number sent (SND.NXT before a go-back-N rewind).
    snd_max: SeqNum,
    snd_wl1: SeqNum,
    snd_wl2: SeqNum,
    snd_wnd: u32,
    max_snd_wnd: u32,
    recover: SeqNum,

    // Receive sequence space.
    irs: SeqNum,
    rcv_nxt: SeqNum,
    /// The right edge of the window we advertised (never moves left: SHLD-14).
    rcv_adv: SeqNum,
    /// RCV.NXT in the last ACK we sent (Last.ACK.sent, RFC 7323 §4.3).
    last_ack_sent: SeqNum,

    /// Send MSS from the peer's option (before subtracting our options),
    /// lowered by ICMP (RFC 1191) or PLPMTUD (RFC 4821).
    smss: u16,
    /// Largest segment received (receive MSS estimate).
    rcv_mss_est: u16,
    ts_recent: u32,
    /// When TS.Recent was recorded, in units of 2^20 µs (about a second,
    /// as Linux's `ts_recent_stamp` counts seconds): a shift per update,
    /// 4 bytes instead of 8; PAWS's 24-day idle limit (RFC 7323 §5.5)
    /// needs no finer clock.
    ts_recent_stamp: u32,
    ts_offset: u32,

    // RTT and RTO (RFC 6298), microseconds.
    srtt: u32,
    rttvar: u32,
    rto: u32,
    /// The segment being timed (RFC 6298 §3): its sequence number and
    /// when it was sent.
    rtt_sample: timers::RttSample,
    /// When the oldest unacknowledged data was sent (RFC 5482's user
    /// timeout runs from it). This and the other past times below are
    /// [`Stamp`]s: 32 bits, read against `last_now`.
    unacked_since: Stamp,

    // Congestion control (RFC 5681), bytes.
    cwnd: u32,
    ssthresh: u32,
    cc: congestion::Controller,
    /// HyStart++ (RFC 9406): end of the current round, the minimum RTT of
    /// the last and the current round (µs), and samples in this round.
    /// In fast recovery the first three hold PRR's RecoverFS,
    /// prr_delivered and prr_out instead (`prr.rs`).
    hs_window_end: SeqNum,
    /// `Config::cwnd_limited` (`cwnd_limited.rs`, Linux's
    /// tcp_cwnd_validate): the largest flight, bytes, since data was last
    /// sent with nothing in flight. (With `alloc` only: the TCB without it
    /// has no room.)
    #[cfg(feature = "alloc")]
    cl_max: u32,
    hs_last_min: u32,
    hs_cur_min: u32,
    /// Two counters in one byte (the TCB has no byte to spare): the low
    /// nibble counts HyStart++'s RTT samples this round (RFC 9406 needs
    /// 8; saturates at 15), the high nibble the duplicate ACKs still owed
    /// for out-of-order segments that arrived before the pending ACK went
    /// out (RFC 5681 §4.2; see `owe_ack`).
    nibbles: u8,
    /// When data was last sent (RFC 5681 §4.1 restart after idle).
    /// `Stamp::NONE` before any.
    last_send: Stamp,
    /// When an acceptable segment last arrived from the peer.
    last_rcv: Stamp,

    /// In-order bytes received and not yet acknowledged.
    ack_pending: u32,
    /// Quick ACKs left (Linux `icsk_ack.quick`).
    quick: u8,
    /// When in-order data last arrived.
    last_data_in: Stamp,

    timers: [Instant; timers::COUNT],
    /// The deadline last reported in `Actions` (`Instant::MAX`: none).
    reported_deadline: Instant,
    last_now: Instant,
    close_reason: Option<CloseReason>,
    /// The last soft ICMP error (`icmp::soft` encoding).
    soft_error: u16,
    /// Challenge ACKs sent in the current interval (RFC 5961 §7).
    challenge_n: u8,
    stats: counters::Counters,
    /// Uncommon state: rare-event counters, undo, pending RST or D-SACK
    /// block, urgent pointer, PLPMTUD, D-SACK round, challenge-ACK
    /// interval (`cold.rs`; boxed at the first use, with `alloc`).
    cold: cold::Slot,
    /// `Stats::bytes_in` and `Stats::bytes_out`, their low 32 bits (the
    /// high words are in `cold`, counted at each wrap).
    bytes_in: u32,
    bytes_out: u32,

    /// RACK (RFC 8985 §6): first-transmission times and the send time of
    /// the most recently sent delivered byte (lower bound); the minimum
    /// RTT (µs).
    sent_log: rack::SendLog,
    min_rtt: u32,
    /// SACK scoreboard: ranges above SND.UNA the peer reported (RFC 6675).
    sacked: spill::Spill,
    /// HighRxt (RFC 6675 §2): the end of the last hole retransmitted.
    high_rxt: SeqNum,
    /// SND.MAX at the last hole retransmission: data above it was sent
    /// later, so once it is SACKed the retransmissions should have arrived
    /// (RACK's time order, RFC 8985 §6.2, told by sequence).
    rtx_mark: SeqNum,

    rx: RingBuffer<B>,
    tx: RingBuffer<B>,
    asm: spill::Spill<spill::Marked>,
}

impl<B: Storage> core::fmt::Debug for Connection<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("state", &self.state)
            .field("snd_una", &self.snd_una)
            .field("snd_nxt", &self.snd_nxt)
            .field("snd_wnd", &self.snd_wnd)
            .field("rcv_nxt", &self.rcv_nxt)
            .field("rcv_wnd", &self.rcv_wnd())
            .field("send_queue", &self.tx.len())
            .field("recv_queue", &self.rx.len())
            .finish_non_exhaustive()
    }
}

/// Why [`Connection::accept`] made no connection.
#[derive(Debug)]
pub enum AcceptError<B> {
    /// The segment is not a SYN without ACK or RST: the buffers, back.
    NotSyn(Buffers<B>),
    /// The config or the buffers were refused.
    Config(ConfigError),
}

/// The checks of [`Connection::new`]: the config's, and buffers that are
/// not empty.
fn validate<B: Storage>(config: &Config, buffers: &Buffers<B>) -> Result<(), ConfigError> {
    config.validate()?;
    ConfigError::check(
        !buffers.rx.as_ref().is_empty(),
        "buffers.rx",
        "must not be empty",
    )?;
    ConfigError::check(
        !buffers.tx.as_ref().is_empty(),
        "buffers.tx",
        "must not be empty",
    )
}

/// Adds `n` to a counter's low word: whether it wrapped (its high word,
/// kept apart, counts the wraps).
#[inline(always)]
fn add_wraps(low: &mut u32, n: u32) -> bool {
    let (v, wrapped) = low.overflowing_add(n);
    *low = v;
    wrapped
}

/// A [`Config`] packed as a connection keeps it, once for all the
/// connections a host opens with it (the Endpoint's): packing it costs
/// about as much as the rest of building a connection.
#[derive(Clone, Debug)]
pub(crate) struct PackedConfig {
    cfg: cfg::Shared,
    /// The RTO a new connection starts with (RFC 6298 §2.1: the initial
    /// RTO, clamped to the configured bounds), computed once: decoding
    /// the three packed durations took about 100 instructions per
    /// connection.
    rto: u32,
}

impl PackedConfig {
    pub(crate) fn new(config: &Config) -> Self {
        let cfg = cfg::Cfg::new(config);
        let rto = timers::clamp_rto(&cfg, timers::us(cfg.rto_initial()));
        PackedConfig {
            cfg: cfg::Shared::new(cfg),
            rto,
        }
    }
}

impl<B: Storage> Connection<B> {
    /// A connection in CLOSED with the given configuration and buffers.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for a config value the engine cannot work with
    /// ([`Config::validate`]) or an empty buffer.
    pub fn new(config: Config, buffers: Buffers<B>) -> Result<Self, ConfigError> {
        validate(&config, &buffers)?;
        Ok(Self::new_packed(&PackedConfig::new(&config), buffers))
    }

    /// [`new`](Self::new) with a configuration packed once for many
    /// connections (the Endpoint's): no packing per connection.
    #[inline(always)]
    pub(crate) fn new_packed(config: &PackedConfig, buffers: Buffers<B>) -> Self {
        let rx = RingBuffer::new(buffers.rx);
        let tx = RingBuffer::new(buffers.tx);
        let cfg = config.cfg.clone();
        let nagle = cfg.nagle();
        let cc = cfg.congestion;
        let rto = config.rto;
        let mut c = Connection {
            cfg,
            state: State::Closed,
            flags: 0,
            snd_sml: SeqNum(0),
            snd_wscale: 0,
            rcv_wscale: 0,
            probe: Probe::None,
            dupacks: 0,
            retries: 0,
            zwp_probes: 0,
            zwp_unanswered: 0,
            ka_probes: 0,
            iss: SeqNum(0),
            rcv_up: SeqNum(0),
            xflags: 0,
            snd_una: SeqNum(0),
            snd_nxt: SeqNum(0),
            snd_max: SeqNum(0),
            snd_wl1: SeqNum(0),
            snd_wl2: SeqNum(0),
            snd_wnd: 0,
            max_snd_wnd: 0,
            recover: SeqNum(0),
            irs: SeqNum(0),
            rcv_nxt: SeqNum(0),
            rcv_adv: SeqNum(0),
            last_ack_sent: SeqNum(0),
            smss: 536,
            rcv_mss_est: 0,
            ts_recent: 0,
            ts_recent_stamp: 0,
            ts_offset: 0,
            srtt: 0,
            rttvar: 0,
            rto,
            rtt_sample: timers::RttSample::NONE,
            unacked_since: Stamp::new(Instant::ZERO),
            cwnd: 0,
            ssthresh: u32::MAX,
            cc: congestion::Controller::new(cc),
            hs_window_end: SeqNum(0),
            #[cfg(feature = "alloc")]
            cl_max: 0,
            hs_last_min: u32::MAX,
            hs_cur_min: u32::MAX,
            nibbles: 0,
            last_send: Stamp::NONE,
            last_rcv: Stamp::new(Instant::ZERO),
            ack_pending: 0,
            quick: 0,
            last_data_in: Stamp::NONE,
            timers: [Instant::MAX; timers::COUNT],
            reported_deadline: Instant::MAX,
            last_now: Instant::ZERO,
            close_reason: None,
            soft_error: icmp::soft::NONE,
            challenge_n: 0,
            stats: counters::Counters::default(),
            cold: cold::EMPTY,
            bytes_in: 0,
            bytes_out: 0,
            rx,
            tx,
            asm: spill::Spill::default(),
            sacked: spill::Spill::default(),
            sent_log: rack::SendLog::new(),
            min_rtt: u32::MAX,
            high_rxt: SeqNum(0),
            rtx_mark: SeqNum(0),
        };
        c.set_nagle(nagle);
        c.smss = c.cfg.default_peer_mss.max(1);
        c.quick = c.cfg.quickack;
        c
    }

    /// A passive open for one SYN, as a listener creates it: the new
    /// connection starts in LISTEN, takes the SYN with `iss` as its initial
    /// sequence number and moves to SYN-RECEIVED (RFC 9293 §3.10.7.2).
    ///
    /// # Errors
    ///
    /// [`AcceptError::NotSyn`], with the buffers given back, when `syn`
    /// is not a SYN without ACK or RST; [`AcceptError::Config`] as for
    /// [`new`](Self::new).
    pub fn accept(
        config: Config,
        buffers: Buffers<B>,
        now: Instant,
        syn: &Segment<'_>,
        iss: SeqNum,
    ) -> Result<(Self, Actions), AcceptError<B>> {
        validate(&config, &buffers).map_err(AcceptError::Config)?;
        Self::accept_packed(&PackedConfig::new(&config), buffers, now, syn, iss)
            .map_err(AcceptError::NotSyn)
    }

    /// [`accept`](Self::accept) with a configuration packed once.
    pub(crate) fn accept_packed(
        config: &PackedConfig,
        buffers: Buffers<B>,
        now: Instant,
        syn: &Segment<'_>,
        iss: SeqNum,
    ) -> Result<(Self, Actions), Buffers<B>> {
        let f = syn.flags;
        if !f.syn() || f.ack() || f.rst() {
            return Err(buffers);
        }
        let mut c = Connection::new_packed(config, buffers);
        let a = c.open_passive(now, syn, iss);
        Ok((c, a))
    }

    /// Active OPEN (as [`connect`](Self::connect)) of a connection fresh
    /// from `new`, where it lies (the Endpoint builds it in its slot): such
    /// a TCB already holds what `connect`'s reset would write but for the
    /// variables that start at `iss`, so only those are set.
    pub(crate) fn open_active(&mut self, now: Instant, iss: SeqNum) -> Actions {
        debug_assert!(self.state == State::Closed && self.close_reason.is_none());
        debug_assert!(self.tx.is_empty() && self.rx.is_empty());
        let now = self.clock_fresh(now);
        let mut a = Actions::NONE;
        self.set_iss(iss);
        self.start_active(iss, &mut a);
        self.finish(now, &mut a);
        a
    }

    /// [`accept`](Self::accept)'s work on a connection fresh from `new`
    /// (in CLOSED), where it lies (the Endpoint builds it in its slot, no
    /// copy of the TCB): LISTEN takes the SYN and moves to SYN-RECEIVED
    /// (RFC 9293 §3.10.7.2). The caller checked that `syn` is a SYN without
    /// ACK or RST.
    pub(crate) fn open_passive(&mut self, now: Instant, syn: &Segment<'_>, iss: SeqNum) -> Actions {
        debug_assert!(self.state == State::Closed && syn.flags.syn());
        debug_assert!(!syn.flags.ack() && !syn.flags.rst());
        let now = self.clock_fresh(now);
        self.state = State::Listen;
        self.set_passive(true);
        let mut a = Actions::NONE;
        self.accept_syn(now, syn, iss);
        self.goto(Event::RcvSyn, State::SynReceived, &mut a);
        self.finish(now, &mut a);
        a
    }

    // ----- queries -------------------------------------------------------

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }
    /// The configuration. The connection keeps it packed in 64 bytes:
    /// durations come back to the microsecond up to about 17 minutes, to
    /// the millisecond up to about 12 days, to the second beyond (rounded
    /// up); everything else as given.
    pub fn config(&self) -> Config {
        self.cfg.to_config()
    }
    /// Why the connection closed, once it has.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.close_reason
    }
    /// The earliest time `on_timer` needs to be called, if any.
    pub fn deadline(&self) -> Option<Instant> {
        let d = self.earliest_timer();
        (d != Instant::MAX).then_some(d)
    }
    /// The earliest armed timer, `Instant::MAX` when none is.
    fn earliest_timer(&self) -> Instant {
        const _: () = assert!(timers::COUNT == 6, "earliest_timer names every timer");
        let t = &self.timers;
        t[0].min(t[1]).min(t[2].min(t[3])).min(t[4].min(t[5]))
    }
    /// When the given timer fires, if it is armed.
    pub fn timer(&self, t: Timer) -> Option<Instant> {
        let d = self.timer_at(t);
        (d != Instant::MAX).then_some(d)
    }
    /// Counters (built from the packed ones the connection keeps).
    #[inline]
    pub fn stats(&self) -> Stats {
        let c = self.cold();
        let wide = |hi: u32, lo: u32| (u64::from(hi) << 32) | u64::from(lo);
        self.stats.stats(
            &c.rare,
            wide(c.bytes_in_hi, self.bytes_in),
            wide(c.bytes_out_hi, self.bytes_out),
        )
    }

    /// Counts `n` payload bytes received in order (`Stats::bytes_in`).
    #[inline(always)]
    fn count_bytes_in(&mut self, n: u32) {
        if add_wraps(&mut self.bytes_in, n) {
            let c = self.cold_mut();
            c.bytes_in_hi = c.bytes_in_hi.wrapping_add(1);
        }
    }

    /// Counts `n` payload bytes sent (`Stats::bytes_out`).
    #[inline(always)]
    fn count_bytes_out(&mut self, n: u32) {
        if add_wraps(&mut self.bytes_out, n) {
            let c = self.cold_mut();
            c.bytes_out_hi = c.bytes_out_hi.wrapping_add(1);
        }
    }
    /// `Stats::retransmits` as kept (32 bits, wrapping): the Endpoint adds
    /// up the difference across one call with `wrapping_sub`.
    pub(crate) fn retransmits(&self) -> u32 {
        self.cold().rare.retransmits.get()
    }
    /// Heap bytes the connection holds besides its buffers: with `alloc`,
    /// the SACK scoreboard and the reassembly ranges while loss recovery
    /// or reordering needs them (one small box each, freed when the last
    /// hole closes), the RACK send log's checkpoints while data is in
    /// flight, the counters of rare events once one happened, and
    /// the packed configuration when no other connection shares it (its
    /// allocation's two reference counts included); 0 otherwise.
    pub fn heap_bytes(&self) -> usize {
        #[cfg(feature = "alloc")]
        return self.sacked.heap_bytes()
            + self.asm.heap_bytes()
            + self.cold_heap_bytes()
            + self.sent_log.heap_bytes()
            + self.cfg.heap_bytes();
        #[cfg(not(feature = "alloc"))]
        return 0;
    }
    /// Bytes the application can read now.
    pub fn recv_queue(&self) -> usize {
        self.rx.len()
    }
    /// Bytes queued for sending (unsent plus unacknowledged).
    pub fn send_queue(&self) -> usize {
        self.tx.len()
    }
    /// Free space in the send buffer.
    pub fn send_capacity(&self) -> usize {
        self.tx.free()
    }
    /// Whether `send` can queue data now (RFC 9293 §3.10.2).
    pub fn may_send(&self) -> bool {
        !self.fin_queued()
            && matches!(
                self.state,
                State::SynSent | State::SynReceived | State::Established | State::CloseWait
            )
    }
    /// Whether more data may still arrive or be read. (A FIN taken in
    /// order always leaves the states that receive, RFC 9293 §3.10.7.4
    /// step 8.)
    pub fn may_recv(&self) -> bool {
        !self.rx.is_empty() || self.state.may_receive()
    }
    /// The peer closed its direction and every byte before its FIN was read.
    pub fn is_eof(&self) -> bool {
        self.fin_received() && self.rx.is_empty()
    }
    /// SND.UNA.
    pub fn snd_una(&self) -> SeqNum {
        self.snd_una
    }
    /// SND.NXT.
    pub fn snd_nxt(&self) -> SeqNum {
        self.snd_nxt
    }
    /// SND.WND (scaled).
    pub fn snd_wnd(&self) -> u32 {
        self.snd_wnd
    }
    /// RCV.NXT.
    pub fn rcv_nxt(&self) -> SeqNum {
        self.rcv_nxt
    }
    /// ISS.
    pub fn iss(&self) -> SeqNum {
        self.iss
    }
    /// IRS.
    pub fn irs(&self) -> SeqNum {
        self.irs
    }
    /// The current receive window (RCV.WND): free space in the receive buffer.
    pub fn rcv_wnd(&self) -> u32 {
        self.rx.free_u32()
    }
    /// The retransmission timeout now in force.
    pub fn rto(&self) -> crate::time::Duration {
        crate::time::Duration::from_micros(u64::from(self.rto))
    }
    /// The smoothed RTT, once measured.
    pub fn srtt(&self) -> Option<crate::time::Duration> {
        (self.srtt != 0).then(|| crate::time::Duration::from_micros(u64::from(self.srtt)))
    }
    /// The congestion window in bytes.
    pub fn cwnd(&self) -> u32 {
        self.cwnd
    }
    /// The effective send MSS (payload bytes per full segment).
    pub fn effective_mss(&self) -> u16 {
        self.eff_mss() as u16
    }
    /// Whether timestamps were negotiated.
    pub fn timestamps_enabled(&self) -> bool {
        self.ts_on()
    }
    /// Whether SACK was negotiated.
    pub fn sack_enabled(&self) -> bool {
        self.sack_on()
    }
    /// Window-scale shifts (ours, the peer's), if window scaling was negotiated.
    pub fn window_scale(&self) -> Option<(u8, u8)> {
        self.ws_on().then_some((self.rcv_wscale, self.snd_wscale))
    }
    /// The application called `close` (the connection may be an orphan).
    pub fn is_app_closed(&self) -> bool {
        self.app_closed()
    }

    // ----- entry points --------------------------------------------------

    /// A segment arrived for this connection (RFC 9293 §3.10.7). The host
    /// has verified the checksum (MUST-3) and matched the 4-tuple.
    pub fn on_segment(&mut self, now: Instant, seg: &Segment<'_>) -> Actions {
        self.on_segment_ecn(now, seg, false)
    }

    /// As [`Connection::on_segment`], for a segment whose IP header carried
    /// the Congestion Experienced codepoint when `ce` (RFC 3168 §5).
    pub fn on_segment_ecn(&mut self, now: Instant, seg: &Segment<'_>, ce: bool) -> Actions {
        let now = self.segment_arrives(now, ce);
        let mut a = Actions::NONE;
        let settled = self.input_inline(now, seg, &mut a);
        self.finish_segment(now, &mut a, settled);
        a
    }

    /// As [`Connection::on_segment_ecn`], for the segment as it arrived:
    /// `tcp` is the TCP header (options included) and the payload, whose
    /// checksum the host has verified (or let the device verify); the
    /// connection parses it itself. The host reads the ports it demuxes on
    /// straight from the first four bytes.
    ///
    /// The same outcome as [`TcpHeader::parse`], [`Segment::new`] and
    /// `on_segment_ecn`, with fewer steps for the common segment: a
    /// 20-byte header (no options) in ESTABLISHED that header prediction
    /// takes is read field by field, with no [`TcpOptions`] built or
    /// copied.
    ///
    /// # Errors
    ///
    /// What [`TcpHeader::parse`] returns for bytes that are no TCP
    /// header; the segment is dropped and nothing changes.
    ///
    /// [`TcpHeader::parse`]: crate::wire::TcpHeader::parse
    /// [`TcpOptions`]: crate::wire::TcpOptions
    pub fn on_segment_bytes(
        &mut self,
        now: Instant,
        tcp: &[u8],
        ce: bool,
    ) -> Result<Actions, WireError> {
        // As on_segment_unverified, prediction before the clock and the
        // counters: it reads neither.
        if let Some(seg) = Segment::plain(tcp)
            && self.state == State::Established
            && let Some(new_ack) = self.predict(&seg)
        {
            let now = self.segment_arrives(now, ce);
            let mut a = Actions::NONE;
            let settled = self.fast_path(now, &seg, new_ack, input::Text::Copy, &mut a);
            self.finish_segment(now, &mut a, settled);
            return Ok(a);
        }
        self.on_segment_bytes_parsed(now, tcp, ce)
    }

    /// `on_segment_bytes` for every segment its fast path does not take.
    #[inline(never)]
    fn on_segment_bytes_parsed(
        &mut self,
        now: Instant,
        tcp: &[u8],
        ce: bool,
    ) -> Result<Actions, WireError> {
        let (h, payload) = crate::wire::TcpHeader::parse(tcp)?;
        Ok(self.on_segment_ecn(now, &Segment::new(&h, payload), ce))
    }

    /// As [`Connection::on_segment_ecn`], for a segment whose TCP checksum
    /// the host has *not* verified: the connection verifies it (RFC 9293
    /// §3.1 MUST-3), for in-order text while copying it into the receive
    /// ring (one pass over the payload, as Linux's
    /// `skb_copy_and_csum_datagram`).
    ///
    /// `sum` is the partial sum ([`checksum::ones_complement_sum`]) of
    /// everything the checksum covers except `seg.payload`: the
    /// pseudo-header ([`checksum::pseudo_header_v4`] or
    /// [`checksum::pseudo_header_v6`]) and the TCP header bytes as received,
    /// checksum field and options included. The header is a multiple of 4
    /// bytes long, so the payload's sum adds on directly.
    ///
    /// # Errors
    ///
    /// [`WireError::BadChecksum`]: the checksum does not verify. The
    /// segment is dropped and nothing changes (no state, no counter, no
    /// byte made readable): as if it never arrived (RFC 9293 §3.10.7).
    ///
    /// [`checksum::ones_complement_sum`]: crate::wire::checksum::ones_complement_sum
    /// [`checksum::pseudo_header_v4`]: crate::wire::checksum::pseudo_header_v4
    /// [`checksum::pseudo_header_v6`]: crate::wire::checksum::pseudo_header_v6
    pub fn on_segment_unverified(
        &mut self,
        now: Instant,
        seg: &Segment<'_>,
        ce: bool,
        sum: u32,
    ) -> Result<Actions, WireError> {
        use crate::wire::checksum::{fold, ones_complement_sum};
        let predicted = if self.state == State::Established {
            self.predict(seg)
        } else {
            None
        };
        // In-order text that fits goes into the ring's unallocated space
        // while it is summed; it becomes readable only once the sum checks.
        let staged = match predicted {
            Some(_) if !seg.payload.is_empty() => self.rx.write_unallocated_sum(seg.payload, sum),
            _ => None,
        };
        let total = staged.unwrap_or_else(|| ones_complement_sum(seg.payload, sum));
        if fold(total) != 0xffff {
            return Err(WireError::BadChecksum);
        }
        let now = self.segment_arrives(now, ce);
        let mut a = Actions::NONE;
        let settled = match predicted {
            Some(new_ack) => {
                let text = if staged.is_some() {
                    input::Text::Staged
                } else {
                    input::Text::Copy
                };
                self.fast_path(now, seg, new_ack, text, &mut a)
            }
            None => self.input(now, seg, &mut a),
        };
        self.finish_segment(now, &mut a, settled);
        Ok(a)
    }

    /// A segment arrived, and the application reads into `dst` at once:
    /// the same as [`Connection::on_segment_ecn`] followed by
    /// [`Connection::recv`] into `dst` (the actions of both, merged; `len`
    /// is what `recv` copied, 0 where `recv` would have returned an error,
    /// whose cause the actions already report), except that
    /// [`Action::Readable`] is left out when
    /// nothing is left to read: no text queued, no end of stream or close
    /// newly reached.
    ///
    /// One copy fewer on the common path: in-order text that arrives with
    /// nothing queued for reading and that fits `dst` whole goes straight
    /// from the segment into `dst` and never enters the receive ring (as
    /// Van Jacobson's fast path delivered to a reader waiting in
    /// `recvmsg`). The window stays as open as if the application had read
    /// the data the moment it arrived, which it did (RFC 9293 §3.8.6.2.2's
    /// update rule after a read applies as `recv` would apply it). Any
    /// other segment takes the usual path into the ring, and whatever is
    /// readable then is copied into `dst` as `recv` copies it.
    pub fn on_segment_recv(
        &mut self,
        now: Instant,
        seg: &Segment<'_>,
        ce: bool,
        dst: &mut [u8],
    ) -> Outcome {
        let len = seg.payload.len();
        let direct = if self.state == State::Established
            && len > 0
            && len <= dst.len()
            && self.rx.is_empty()
        {
            self.predict(seg)
        } else {
            None
        };
        let fin_before = self.fin_received();
        let now = self.segment_arrives(now, ce);
        let mut a = Actions::NONE;
        let (n, settled) = match (direct, dst.get_mut(..len)) {
            (Some(new_ack), Some(to)) => {
                to.copy_from_slice(seg.payload);
                let settled = self.fast_path(now, seg, new_ack, input::Text::Delivered, &mut a);
                // What `recv` would have seen: the ring holding the text.
                let before = self.rcv_wnd().saturating_sub(len as u32);
                self.rx.rewind_if_empty();
                self.update_after_read(before);
                (len, settled)
            }
            _ => {
                self.input(now, seg, &mut a);
                (self.app_recv(dst, &mut a).unwrap_or(0), false)
            }
        };
        self.finish_segment(now, &mut a, settled);
        if self.rx.is_empty() && self.fin_received() == fin_before && a.closed().is_none() {
            a.clear_readable();
        }
        Outcome { actions: a, len: n }
    }

    /// What every arriving segment does first: the clock, the counter, and
    /// the IP header's CE mark.
    #[inline(always)]
    fn segment_arrives(&mut self, now: Instant, ce: bool) -> Instant {
        let now = self.clock(now);
        self.stats.segs_in += 1;
        if ce && self.ecn_on() {
            // RFC 3168 §6.1.3: echo ECE until the sender's CWR.
            self.set_ece_pending(true);
            self.set_ack_now(true);
        }
        now
    }
    /// Whether ECN was negotiated.
    pub fn ecn_enabled(&self) -> bool {
        self.ecn_on()
    }

    /// Time passed: handles every timer due at `now` (RFC 9293 §3.10.8).
    /// Calling it before the deadline does nothing.
    pub fn on_timer(&mut self, now: Instant) -> Actions {
        let now = self.clock(now);
        let mut a = Actions::NONE;
        self.handle_timers(now, &mut a);
        self.finish(now, &mut a);
        a
    }

    /// An application call (RFC 9293 §3.10.1-§3.10.6). A call that makes no
    /// sense in the current state returns an error and changes nothing.
    pub fn on_app_call(&mut self, now: Instant, call: AppCall<'_>) -> Result<Outcome, CallError> {
        let now = self.clock(now);
        let mut a = Actions::NONE;
        let len = self.app_call(now, call, &mut a)?;
        self.finish(now, &mut a);
        Ok(Outcome { actions: a, len })
    }

    /// Active open with initial sequence number `iss`.
    pub fn connect(&mut self, now: Instant, iss: SeqNum) -> Result<Actions, CallError> {
        self.on_app_call(now, AppCall::Connect { iss })
            .map(|o| o.actions)
    }
    /// Passive open; `iss` seeds the initial sequence numbers.
    pub fn listen(&mut self, now: Instant, iss: SeqNum) -> Result<Actions, CallError> {
        self.on_app_call(now, AppCall::Listen { iss })
            .map(|o| o.actions)
    }
    /// Queues data; returns how much fit.
    pub fn send(&mut self, now: Instant, data: &[u8]) -> Result<Outcome, CallError> {
        self.on_app_call(now, AppCall::Send(data))
    }
    /// Queues data written in place: `fill` gets the send buffer's free
    /// space (its longest contiguous run: where the ring wraps, a second
    /// call gets the rest), writes the bytes to send at its start and
    /// returns how many it wrote (more than the slice is taken as all of
    /// it). No copy from an application buffer: a host that produces its
    /// data (a file read, a decoder, a generator) writes it where the
    /// segments are cut from. `fill` is not called when the buffer is
    /// full (`Ok` with `len` 0). Errors and the rest as [`send`](Self::send).
    ///
    /// ```
    /// # use tcpstate::{Buffers, Config, Connection, Instant, SeqNum};
    /// let mut c = Connection::new(Config::linux(), Buffers::with_capacity(4096, 4096)).unwrap();
    /// let now = Instant::from_millis(1);
    /// c.connect(now, SeqNum(1)).unwrap();
    /// // (in SYN-SENT data may be queued; it goes after the handshake)
    /// let o = c.send_with(now, |space| {
    ///     let n = space.len().min(5);
    ///     space[..n].copy_from_slice(&b"hello"[..n]);
    ///     n
    /// }).unwrap();
    /// assert_eq!(o.len, 5);
    /// assert_eq!(c.send_queue(), 5);
    /// ```
    pub fn send_with(
        &mut self,
        now: Instant,
        fill: impl FnOnce(&mut [u8]) -> usize,
    ) -> Result<Outcome, CallError> {
        let now = self.clock(now);
        let mut a = Actions::NONE;
        self.send_allowed()?;
        let space = self.tx.unallocated_contiguous_mut(0, usize::MAX);
        let len = if space.is_empty() {
            0
        } else {
            let max = space.len();
            let n = fill(space).min(max);
            self.tx.commit_unallocated(n)
        };
        if len > 0 {
            self.set_more(false);
        }
        self.finish(now, &mut a);
        Ok(Outcome { actions: a, len })
    }
    /// Reads data; returns how much was copied (0 at end of stream or when
    /// nothing is readable yet: see [`Connection::is_eof`]).
    pub fn recv(&mut self, now: Instant, buf: &mut [u8]) -> Result<Outcome, CallError> {
        self.on_app_call(now, AppCall::Receive(buf))
    }
    /// Half-close (send FIN after queued data; keep reading).
    pub fn shutdown(&mut self, now: Instant) -> Result<Actions, CallError> {
        self.on_app_call(now, AppCall::Shutdown).map(|o| o.actions)
    }
    /// Full close (the connection finishes closing on its own).
    pub fn close(&mut self, now: Instant) -> Result<Actions, CallError> {
        self.on_app_call(now, AppCall::Close).map(|o| o.actions)
    }
    /// Abort (RST).
    pub fn abort(&mut self, now: Instant) -> Result<Actions, CallError> {
        self.on_app_call(now, AppCall::Abort).map(|o| o.actions)
    }

    // ----- shared internals ---------------------------------------------

    /// Clamps `now` so that time never goes backwards.
    /// Time as the connection takes it: a `now` earlier than one it was
    /// given before is taken as that earlier time (clamped, in debug and
    /// release builds alike): time never goes backwards inside.
    ///
    /// Every entry point but `poll_transmit` calls it first, so it also
    /// ends a burst of predicted segments (`urgent::x::BURST`, see
    /// `output.rs`'s `send_fast`): whatever the call changes, the next
    /// segment does all of its bookkeeping again.
    fn clock(&mut self, now: Instant) -> Instant {
        self.xflags &= !urgent::x::BURST;
        self.clock_poll(now)
    }

    /// [`clock`](Self::clock) for `poll_transmit`: a burst goes on at the
    /// same time (or an earlier one, clamped to it), and ends when time
    /// moves on.
    #[inline(always)]
    fn clock_poll(&mut self, now: Instant) -> Instant {
        if now > self.last_now {
            self.xflags &= !urgent::x::BURST;
            if Stamp::crosses(self.last_now, now) {
                self.renew_stamps(now);
            }
            self.last_now = now;
        }
        self.last_now
    }

    /// [`clock`](Self::clock)'s first call on a TCB fresh from `new`
    /// (the opens): its latest time is the epoch and its stamps were
    /// written there (`unacked_since`, `last_rcv`) or are absent, so
    /// `renew_stamps` would write the two at `Stamp::epoch(now)`, which is
    /// also what they read when `now` does not cross from the epoch. A
    /// host's clock is far from the epoch, so every new connection's
    /// first `clock` crossed and called `renew_stamps` (its loop over
    /// four stamps and the RTT sample); this writes the same two.
    #[inline(always)]
    fn clock_fresh(&mut self, now: Instant) -> Instant {
        debug_assert!(self.last_now == Instant::ZERO);
        debug_assert!(self.unacked_since == Stamp::new(Instant::ZERO));
        debug_assert!(self.last_rcv == Stamp::new(Instant::ZERO));
        debug_assert!(self.last_send.is_none() && self.last_data_in.is_none());
        debug_assert!(self.rtt_sample.is_none());
        let epoch = Stamp::epoch(now);
        self.unacked_since = epoch;
        self.last_rcv = epoch;
        self.last_now = now;
        now
    }

    /// Writes every [`Stamp`] again for `now`, the new latest time (see
    /// `Stamp::renew`).
    #[cold]
    #[inline(never)]
    fn renew_stamps(&mut self, now: Instant) {
        let old = self.last_now;
        let stamps = [
            &mut self.unacked_since,
            &mut self.last_send,
            &mut self.last_rcv,
            &mut self.last_data_in,
        ];
        if old == Instant::ZERO {
            // A new connection's first time: every stamp not NONE was
            // written at the epoch (the common case, made cheap: the
            // Endpoint's hosts run on clocks far from their epoch).
            let epoch = Stamp::epoch(now);
            for s in stamps {
                if !s.is_none() {
                    *s = epoch;
                }
            }
        } else {
            for s in stamps {
                *s = s.renew(old, now);
            }
        }
        self.rtt_sample.renew(old, now);
    }

    /// A time kept as a [`Stamp`], read at the latest time.
    #[inline(always)]
    fn when(&self, s: Stamp) -> Instant {
        s.at(self.last_now)
    }

    /// When data was last sent; the epoch before any.
    #[inline(always)]
    fn last_send_at(&self) -> Instant {
        self.last_send.get(self.last_now).unwrap_or(Instant::ZERO)
    }

    /// `t` (at most the latest time, and not long before it) as a
    /// [`Stamp`].
    #[inline(always)]
    fn stamp(&self, t: Instant) -> Stamp {
        debug_assert!(t <= self.last_now, "a stamp of a time not yet reached");
        Stamp::new(t)
    }

    /// Moves to `to` through the transition table.
    fn goto(&mut self, event: Event, to: State, a: &mut Actions) {
        let from = self.state;
        if !state::is_allowed(from, event, to) {
            debug_assert!(false, "illegal transition {from} --{event:?}--> {to}");
            self.cold_mut().rare.illegal_transitions += 1;
        }
        self.state = to;
        a.push_change(StateChange { from, event, to });
        match to {
            State::Closed => self.enter_closed(),
            State::TimeWait => {
                // RFC 9293 §3.10.7.4 step 8: start the 2MSL timer, turn off the others.
                self.timers = [Instant::MAX; timers::COUNT];
                self.set_timer(Timer::TimeWait, self.last_now + self.cfg.time_wait());
                self.tx.clear();
                self.set_fin_queued(false);
            }
            // An orphan's fin timeout starts (FSM-32).
            State::FinWait2 => self.arm_orphan_deadline(self.last_now),
            // As Linux (`tcp_finish_connect`, and SYN_RECV in
            // `tcp_rcv_state_process`: "prevent spurious tcp_cwnd_restart()
            // on first data packet"), the handshake dates the last send:
            // RFC 5681 §4.1's idle time counts from there, and tcp_info's
            // `last_data_sent` too.
            State::Established => self.last_send = self.stamp(self.last_now),
            _ => {}
        }
    }

    /// Moves to CLOSED and reports why.
    fn close_with(&mut self, event: Event, reason: CloseReason, a: &mut Actions) {
        self.goto(event, State::Closed, a);
        self.close_reason = Some(reason);
        a.set_closed(reason);
        a.set_readable();
        a.set_writable();
    }

    fn enter_closed(&mut self) {
        self.timers = [Instant::MAX; timers::COUNT];
        self.tx.clear();
        self.asm.clear();
        self.sacked.clear();
        self.sent_log.clear();
        self.set_dsack(None);
        self.set_ack_now(false);
        self.set_fast_rtx(false);
        self.set_force_send(false);
        self.set_tlp_armed(false);
        self.set_tlp_out(false);
        self.set_tlp_rtx(false);
        self.set_undo(None);
        self.probe = Probe::None;
    }

    /// Final bookkeeping of every entry point: timers and the actions that
    /// report them.
    fn finish(&mut self, now: Instant, a: &mut Actions) {
        // Arming timers changes nothing `wants_to_send` reads: ask once.
        let wants = self.wants_to_send();
        self.arm_timers(now, wants);
        self.report(a, wants);
    }

    /// `finish` after a segment; `settled` is what the fast path found
    /// ([`fast_path`](Self::fast_path)): nothing to send and the timers
    /// `arm_timers` keeps already right, so both steps are skipped (in
    /// debug builds they run and must agree).
    #[inline(always)]
    fn finish_segment(&mut self, now: Instant, a: &mut Actions, settled: bool) {
        if !settled {
            return self.finish(now, a);
        }
        #[cfg(debug_assertions)]
        {
            let (timers, since) = (self.timers, self.unacked_since);
            let wants = self.wants_to_send();
            self.arm_timers(now, wants);
            debug_assert!(!wants, "a settled segment left something to send");
            debug_assert!(
                timers == self.timers && since == self.unacked_since,
                "a settled segment moved a timer"
            );
        }
        // `report(a, false)`, in ESTABLISHED (the fast paths' state):
        // `has_output(false)` there is a RST or an ACK due, or a probe.
        debug_assert!(self.state == State::Established);
        self.report_deadline(a);
        let output = self.rst_or_ack_now() || !matches!(self.probe, Probe::None | Probe::Held);
        debug_assert_eq!(output, self.has_output(false));
        if output {
            a.set_transmit();
        }
    }

    /// The deadline (when it changed) and whether there is output, into `a`.
    #[inline(always)]
    fn report(&mut self, a: &mut Actions, wants: bool) {
        self.report_deadline(a);
        if self.has_output(wants) {
            a.set_transmit();
        }
    }

    /// The deadline, into `a` when it changed.
    #[inline(always)]
    fn report_deadline(&mut self, a: &mut Actions) {
        let d = self.earliest_timer();
        if d != self.reported_deadline {
            self.reported_deadline = d;
            a.set_timer((d != Instant::MAX).then_some(d));
        }
    }

    /// The effective send MSS: the peer's MSS less our options (MUST-16).
    fn eff_mss(&self) -> u32 {
        let opt = if self.ts_on() { 12 } else { 0 };
        u32::from(self.smss).saturating_sub(opt).max(1)
    }

    /// The sequence number of the first byte in `tx`.
    fn tx_base(&self) -> SeqNum {
        if !self.syn_acked() {
            self.iss.add(1)
        } else if self.fin_acked() {
            // SND.UNA is past our FIN; the (empty) buffer ends at the FIN.
            self.snd_una.sub(1)
        } else {
            self.snd_una
        }
    }

    /// The sequence number our FIN has (or will have).
    fn fin_seq(&self) -> SeqNum {
        self.tx_base().add(self.tx.len() as u32)
    }

    /// Bytes in flight (sent, not acknowledged), counting SYN and FIN.
    fn flight(&self) -> u32 {
        self.snd_max.dist(self.snd_una)
    }
}

#[cfg(test)]
mod tests;

/// Where the bytes of a `Connection<B>` go, for the W3 line of
/// `benches/compare.rs`: its larger parts as (name, bytes); the rest is
/// sequence variables, times, counts and flags.
#[cfg(feature = "testing")]
#[doc(hidden)]
pub fn layout<B: Storage>() -> alloc::vec::Vec<(&'static str, usize)> {
    use core::mem::size_of;
    alloc::vec![
        ("shared packed Config", size_of::<cfg::Shared>()),
        (
            "packed Stats (rare ones lazy)",
            size_of::<counters::Counters>() + 2 * size_of::<u64>()
        ),
        ("2 x RingBuffer", 2 * size_of::<RingBuffer<B>>()),
        (
            "congestion::Controller",
            size_of::<congestion::Controller>()
        ),
        ("RACK send log", size_of::<rack::SendLog>()),
        ("timers", size_of::<[Instant; timers::COUNT]>()),
        (
            "SACK scoreboard + reassembly (lazy)",
            size_of::<spill::Spill>() + size_of::<spill::Spill<spill::Marked>>(),
        ),
    ]
}

/// The boxes a connection holds on the heap (with `alloc`) while loss
/// recovery or reordering needs them, as (name, bytes), for the W3 line.
#[cfg(feature = "testing")]
#[doc(hidden)]
pub fn heap_layout() -> alloc::vec::Vec<(&'static str, usize)> {
    use core::mem::size_of;
    alloc::vec![
        ("SACK scoreboard", size_of::<crate::buffer::Assembler>()),
        ("reassembly ranges", size_of::<spill::Marked>()),
        (
            "uncommon state and rare event counters",
            size_of::<cold::Cold>()
        ),
        (
            "packed Config and Arc's counts, once per Endpoint (or standalone connection)",
            cfg::Shared::ALLOC_BYTES
        ),
        (
            "RACK send log checkpoints (while a flight spans several send times)",
            rack::SendLog::HEAP_BYTES
        ),
    ]
}

// Issues 7 and 17, W3: the TCB's own bytes (the buffers' bytes apart).
// Pinned so that a regression fails the build: with `alloc` (the SACK
// scoreboard, the reassembly ranges and the rare counters boxed while in
// use, the packed config shared) and without (inline).
#[cfg(all(
    feature = "alloc",
    target_pointer_width = "64",
    target_has_atomic = "ptr"
))]
const _: () = assert!(core::mem::size_of::<Connection<alloc::vec::Vec<u8>>>() <= 400);
#[cfg(all(
    feature = "alloc",
    target_pointer_width = "64",
    target_has_atomic = "ptr"
))]
const _: () = assert!(core::mem::size_of::<Connection<alloc::boxed::Box<[u8]>>>() <= 384);
#[cfg(all(not(feature = "alloc"), target_pointer_width = "64"))]
const _: () = assert!(core::mem::size_of::<Connection<&'static mut [u8]>>() <= 728);
