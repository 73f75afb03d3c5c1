//! The 11 states of RFC 9293 §3.3.2 and the one transition table.
//!
//! Every state change a [`Connection`](crate::Connection) makes goes through
//! [`TRANSITIONS`]: the engine looks the move up before it makes it (debug
//! builds panic on a move that is not in the table; release builds count it
//! in [`Stats::illegal_transitions`](crate::Stats)). Tests and fuzzers
//! enumerate the table, and the diagram in the README is generated from it
//! by [`write_mermaid`].
//!
//! Sources: RFC 9293 Figure 5 and its notes, §3.10.4 (CLOSE), §3.10.5
//! (ABORT), §3.10.7 (SEGMENT ARRIVES), §3.10.8 (timeouts); RFC 1122
//! §4.2.3.6 (keep-alive), RFC 5482 (user timeout), RFC 1337 (TIME-WAIT
//! assassination); Linux's `tcp_fin_timeout` for orphaned FIN-WAIT-2.

use core::fmt;

/// A TCP connection state (RFC 9293 §3.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum State {
    /// No connection.
    Closed,
    /// Waiting for a connection request.
    Listen,
    /// SYN sent, waiting for a matching SYN.
    SynSent,
    /// SYN received and SYN sent, waiting for the ACK of our SYN.
    SynReceived,
    /// Open: data flows both ways.
    Established,
    /// We sent FIN; waiting for its ACK or the peer's FIN.
    FinWait1,
    /// Our FIN is acknowledged; waiting for the peer's FIN.
    FinWait2,
    /// The peer sent FIN; waiting for the local application to close.
    CloseWait,
    /// Both sides sent FIN at once; waiting for the ACK of ours.
    Closing,
    /// We closed after the peer's FIN; waiting for the ACK of our FIN.
    LastAck,
    /// Waiting 2*MSL so that the peer has our last ACK and old segments die.
    TimeWait,
}

impl State {
    /// Every state, in RFC order.
    pub const ALL: [State; 11] = [
        State::Closed,
        State::Listen,
        State::SynSent,
        State::SynReceived,
        State::Established,
        State::FinWait1,
        State::FinWait2,
        State::CloseWait,
        State::Closing,
        State::LastAck,
        State::TimeWait,
    ];

    /// The name RFC 9293 uses (`"SYN-SENT"`).
    pub const fn rfc_name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }

    /// The name `netstat`/`ss` print (`"SYN_SENT"`, `"ESTAB"` style of netstat).
    pub const fn netstat_name(self) -> &'static str {
        match self {
            State::Closed => "CLOSE",
            State::Listen => "LISTEN",
            State::SynSent => "SYN_SENT",
            State::SynReceived => "SYN_RECV",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN_WAIT1",
            State::FinWait2 => "FIN_WAIT2",
            State::CloseWait => "CLOSE_WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST_ACK",
            State::TimeWait => "TIME_WAIT",
        }
    }

    /// A state in which both ISNs are known (RFC 9293 §3.10.7.4 "synchronized").
    pub const fn is_synchronized(self) -> bool {
        !matches!(self, State::Closed | State::Listen | State::SynSent)
    }

    /// States in which the local side may still send new data.
    pub const fn may_send(self) -> bool {
        matches!(self, State::Established | State::CloseWait)
    }

    /// States in which data from the peer is still accepted (its FIN not seen).
    pub const fn may_receive(self) -> bool {
        matches!(
            self,
            State::SynReceived | State::Established | State::FinWait1 | State::FinWait2
        )
    }

    /// A Mermaid/DOT-safe identifier (`SYN_SENT`).
    const fn ident(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN_SENT",
            State::SynReceived => "SYN_RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN_WAIT_1",
            State::FinWait2 => "FIN_WAIT_2",
            State::CloseWait => "CLOSE_WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST_ACK",
            State::TimeWait => "TIME_WAIT",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rfc_name())
    }
}

/// What made a connection change state: the label of an edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Event {
    /// The application's passive OPEN (`listen`).
    PassiveOpen,
    /// The application's active OPEN (`connect`): a SYN is sent.
    ActiveOpen,
    /// The application's CLOSE: a FIN is queued after any pending data.
    Close,
    /// The application closed with received data still unread: RST instead of
    /// FIN (RFC 9293 §3.6.1 SHLD-3, RFC 2525 §2.17; what Linux does).
    CloseWithUnreadData,
    /// The application's ABORT (RFC 9293 §3.10.5).
    Abort,
    /// A SYN without ACK arrived.
    RcvSyn,
    /// An acceptable SYN+ACK arrived in SYN-SENT.
    RcvSynAck,
    /// An ACK of our SYN or of our FIN arrived.
    RcvAck,
    /// The peer's FIN arrived (and did not acknowledge our FIN).
    RcvFin,
    /// The peer's FIN arrived together with the ACK of our FIN.
    RcvFinAck,
    /// An acceptable RST arrived.
    RcvRst,
    /// New data arrived after the application closed both directions
    /// (RFC 9293 §3.6.1 SHLD-3; Linux resets).
    RcvDataAfterClose,
    /// A hard ICMP error (protocol or port unreachable) for a connection
    /// still opening (RFC 9293 §3.9.2.2 SHLD-26; RFC 1122 §4.2.3.9), or
    /// under [`Config::linux_icmp`](crate::Config::linux_icmp) an error
    /// Linux ends such a connection with (`tcp_v4_err`, `tcp_req_err`).
    IcmpHardError,
    /// Retransmissions of SYN, SYN+ACK, data or FIN exhausted their limit
    /// (RFC 9293 §3.8.3 R2).
    RetransmitTimeout,
    /// The user timeout expired with data unacknowledged (RFC 5482, RFC 9293 §3.10.8).
    UserTimeout,
    /// Keep-alive probes went unanswered (RFC 1122 §4.2.3.6).
    KeepaliveTimeout,
    /// The TIME-WAIT timer (2*MSL) expired.
    TimeWaitTimeout,
    /// An orphaned FIN-WAIT-2 outlived the fin timeout (Linux `tcp_fin_timeout`).
    FinWait2Timeout,
}

impl Event {
    /// A short label for diagrams.
    pub const fn label(self) -> &'static str {
        match self {
            Event::PassiveOpen => "listen",
            Event::ActiveOpen => "connect / snd SYN",
            Event::Close => "close / snd FIN",
            Event::CloseWithUnreadData => "close, unread data / snd RST",
            Event::Abort => "abort",
            Event::RcvSyn => "rcv SYN",
            Event::RcvSynAck => "rcv SYN,ACK / snd ACK",
            Event::RcvAck => "rcv ACK",
            Event::RcvFin => "rcv FIN / snd ACK",
            Event::RcvFinAck => "rcv FIN,ACK / snd ACK",
            Event::RcvRst => "rcv RST",
            Event::RcvDataAfterClose => "rcv data after close / snd RST",
            Event::IcmpHardError => "ICMP unreachable",
            Event::RetransmitTimeout => "retries exhausted",
            Event::UserTimeout => "user timeout",
            Event::KeepaliveTimeout => "keep-alive timeout",
            Event::TimeWaitTimeout => "2MSL timeout",
            Event::FinWait2Timeout => "fin timeout (orphan)",
        }
    }
}

/// One edge of the state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// State before.
    pub from: State,
    /// What happened.
    pub event: Event,
    /// State after.
    pub to: State,
    /// Where the rule comes from.
    pub rule: &'static str,
}

impl Transition {
    /// The edge's label for diagrams: the event's, except that a close
    /// that ends the connection at once (LISTEN, SYN-SENT) sends nothing.
    pub const fn label(&self) -> &'static str {
        match (self.event, self.to) {
            (Event::Close, State::Closed) => "close",
            (e, _) => e.label(),
        }
    }
}

const fn t(from: State, event: Event, to: State, rule: &'static str) -> Transition {
    Transition {
        from,
        event,
        to,
        rule,
    }
}

use Event as E;
use State as S;

/// Every move the engine may make. Nothing else changes a connection's state.
pub const TRANSITIONS: &[Transition] = &[
    // Opening (RFC 9293 Figure 5).
    t(S::Closed, E::PassiveOpen, S::Listen, "RFC 9293 §3.10.1"),
    t(S::Closed, E::ActiveOpen, S::SynSent, "RFC 9293 §3.10.1"),
    t(S::Listen, E::Close, S::Closed, "RFC 9293 §3.10.4"),
    t(S::Listen, E::Abort, S::Closed, "RFC 9293 §3.10.5"),
    t(S::Listen, E::RcvSyn, S::SynReceived, "RFC 9293 §3.10.7.2"),
    t(
        S::SynSent,
        E::RcvSynAck,
        S::Established,
        "RFC 9293 §3.10.7.3",
    ),
    t(
        S::SynSent,
        E::RcvSyn,
        S::SynReceived,
        "RFC 9293 §3.10.7.3 (simultaneous open)",
    ),
    t(
        S::SynSent,
        E::RcvRst,
        S::Closed,
        "RFC 9293 §3.10.7.3 (refused)",
    ),
    t(S::SynSent, E::Close, S::Closed, "RFC 9293 §3.10.4"),
    t(S::SynSent, E::Abort, S::Closed, "RFC 9293 §3.10.5"),
    t(
        S::SynSent,
        E::RetransmitTimeout,
        S::Closed,
        "RFC 9293 §3.8.3 (MUST-22)",
    ),
    t(S::SynSent, E::UserTimeout, S::Closed, "RFC 9293 §3.10.8"),
    t(
        S::SynSent,
        E::IcmpHardError,
        S::Closed,
        "RFC 9293 §3.9.2.2 (SHLD-26)",
    ),
    t(
        S::SynReceived,
        E::RcvAck,
        S::Established,
        "RFC 9293 §3.10.7.4",
    ),
    t(
        S::SynReceived,
        E::IcmpHardError,
        S::Listen,
        "RFC 1122 §4.2.3.9 (SHLD-26; passive open, as Linux's tcp_req_err)",
    ),
    t(
        S::SynReceived,
        E::IcmpHardError,
        S::Closed,
        "RFC 1122 §4.2.3.9 (SHLD-26; active open, or a Fast Open child)",
    ),
    t(
        S::SynReceived,
        E::RcvRst,
        S::Listen,
        "RFC 9293 §3.10.7.4 (passive open)",
    ),
    t(
        S::SynReceived,
        E::RcvRst,
        S::Closed,
        "RFC 9293 §3.10.7.4 (active open: refused)",
    ),
    t(
        S::SynReceived,
        E::RcvSyn,
        S::Listen,
        "RFC 9293 §3.10.7.4 step 4 (passive open)",
    ),
    t(S::SynReceived, E::Close, S::FinWait1, "RFC 9293 §3.10.4"),
    t(
        S::SynReceived,
        E::CloseWithUnreadData,
        S::Closed,
        "RFC 9293 §3.6.1 (SHLD-3; a Fast Open SYN's data, RFC 7413)",
    ),
    t(S::SynReceived, E::Abort, S::Closed, "RFC 9293 §3.10.5"),
    t(
        S::SynReceived,
        E::RetransmitTimeout,
        S::Listen,
        "RFC 9293 §3.8.3 (passive open)",
    ),
    t(
        S::SynReceived,
        E::RetransmitTimeout,
        S::Closed,
        "RFC 9293 §3.8.3 (active open, or a Fast Open child: Linux's tcp_fastopen_synack_timer)",
    ),
    t(
        S::SynReceived,
        E::UserTimeout,
        S::Closed,
        "RFC 9293 §3.10.8",
    ),
    // Established and closing.
    t(S::Established, E::Close, S::FinWait1, "RFC 9293 §3.10.4"),
    t(
        S::Established,
        E::CloseWithUnreadData,
        S::Closed,
        "RFC 9293 §3.6.1 (SHLD-3)",
    ),
    t(
        S::Established,
        E::RcvFin,
        S::CloseWait,
        "RFC 9293 §3.10.7.4 step 8",
    ),
    t(
        S::Established,
        E::RcvRst,
        S::Closed,
        "RFC 9293 §3.10.7.4 step 2",
    ),
    t(S::Established, E::Abort, S::Closed, "RFC 9293 §3.10.5"),
    t(
        S::Established,
        E::RetransmitTimeout,
        S::Closed,
        "RFC 9293 §3.8.3 (R2)",
    ),
    t(
        S::Established,
        E::UserTimeout,
        S::Closed,
        "RFC 5482, RFC 9293 §3.10.8",
    ),
    t(
        S::Established,
        E::KeepaliveTimeout,
        S::Closed,
        "RFC 1122 §4.2.3.6",
    ),
    t(
        S::FinWait1,
        E::RcvAck,
        S::FinWait2,
        "RFC 9293 §3.10.7.4 step 5",
    ),
    t(
        S::FinWait1,
        E::RcvFin,
        S::Closing,
        "RFC 9293 §3.10.7.4 step 8",
    ),
    t(
        S::FinWait1,
        E::RcvFinAck,
        S::TimeWait,
        "RFC 9293 Figure 5 note 2",
    ),
    t(
        S::FinWait1,
        E::RcvRst,
        S::Closed,
        "RFC 9293 §3.10.7.4 step 2",
    ),
    t(
        S::FinWait1,
        E::RcvDataAfterClose,
        S::Closed,
        "RFC 9293 §3.6.1 (SHLD-3)",
    ),
    t(S::FinWait1, E::Abort, S::Closed, "RFC 9293 §3.10.5"),
    t(
        S::FinWait1,
        E::RetransmitTimeout,
        S::Closed,
        "RFC 9293 §3.8.3 (R2)",
    ),
    t(
        S::FinWait1,
        E::UserTimeout,
        S::Closed,
        "RFC 5482, RFC 9293 §3.10.8",
    ),
    t(
        S::FinWait2,
        E::RcvFin,
        S::TimeWait,
        "RFC 9293 §3.10.7.4 step 8",
    ),
    t(
        S::FinWait2,
        E::RcvRst,
        S::Closed,
        "RFC 9293 §3.10.7.4 step 2",
    ),
    t(
        S::FinWait2,
        E::RcvDataAfterClose,
        S::Closed,
        "RFC 9293 §3.6.1 (SHLD-3)",
    ),
    t(S::FinWait2, E::Abort, S::Closed, "RFC 9293 §3.10.5"),
    t(
        S::FinWait2,
        E::FinWait2Timeout,
        S::Closed,
        "Linux tcp_fin_timeout (orphan)",
    ),
    t(
        S::FinWait2,
        E::KeepaliveTimeout,
        S::Closed,
        "RFC 1122 §4.2.3.6",
    ),
    t(S::CloseWait, E::Close, S::LastAck, "RFC 9293 §3.10.4"),
    t(
        S::CloseWait,
        E::CloseWithUnreadData,
        S::Closed,
        "RFC 9293 §3.6.1 (SHLD-3)",
    ),
    t(
        S::CloseWait,
        E::RcvRst,
        S::Closed,
        "RFC 9293 §3.10.7.4 step 2",
    ),
    t(S::CloseWait, E::Abort, S::Closed, "RFC 9293 §3.10.5"),
    t(
        S::CloseWait,
        E::RetransmitTimeout,
        S::Closed,
        "RFC 9293 §3.8.3 (R2)",
    ),
    t(
        S::CloseWait,
        E::UserTimeout,
        S::Closed,
        "RFC 5482, RFC 9293 §3.10.8",
    ),
    t(
        S::CloseWait,
        E::KeepaliveTimeout,
        S::Closed,
        "RFC 1122 §4.2.3.6",
    ),
    t(
        S::Closing,
        E::RcvAck,
        S::TimeWait,
        "RFC 9293 §3.10.7.4 step 5",
    ),
    t(
        S::Closing,
        E::RcvRst,
        S::Closed,
        "RFC 9293 §3.10.7.4 step 2",
    ),
    t(S::Closing, E::Abort, S::Closed, "RFC 9293 §3.10.5"),
    t(
        S::Closing,
        E::RetransmitTimeout,
        S::Closed,
        "RFC 9293 §3.8.3 (R2)",
    ),
    t(
        S::Closing,
        E::UserTimeout,
        S::Closed,
        "RFC 5482, RFC 9293 §3.10.8",
    ),
    t(
        S::LastAck,
        E::RcvAck,
        S::Closed,
        "RFC 9293 §3.10.7.4 step 5",
    ),
    t(
        S::LastAck,
        E::RcvRst,
        S::Closed,
        "RFC 9293 §3.10.7.4 step 2",
    ),
    t(S::LastAck, E::Abort, S::Closed, "RFC 9293 §3.10.5"),
    t(
        S::LastAck,
        E::RetransmitTimeout,
        S::Closed,
        "RFC 9293 §3.8.3 (R2)",
    ),
    t(
        S::LastAck,
        E::UserTimeout,
        S::Closed,
        "RFC 5482, RFC 9293 §3.10.8",
    ),
    t(
        S::TimeWait,
        E::RcvFin,
        S::TimeWait,
        "RFC 9293 §3.10.7.4 step 8 (restart 2MSL)",
    ),
    t(
        S::TimeWait,
        E::RcvRst,
        S::Closed,
        "RFC 9293 §3.10.7.4 step 2 (only without RFC 1337)",
    ),
    t(S::TimeWait, E::Abort, S::Closed, "RFC 9293 §3.10.5"),
    t(
        S::TimeWait,
        E::TimeWaitTimeout,
        S::Closed,
        "RFC 9293 §3.10.8",
    ),
];

/// Whether `from --event--> to` is an edge of [`TRANSITIONS`].
pub fn is_allowed(from: State, event: Event, to: State) -> bool {
    ALLOWED
        .get(from as usize)
        .and_then(|m| m.get(event as usize))
        .is_some_and(|m| m & (1 << to as usize) != 0)
}

/// How many events there are (`FinWait2Timeout` is the last).
const EVENTS: usize = Event::FinWait2Timeout as usize + 1;

/// [`TRANSITIONS`] as, per (from, event), the set of states it may lead
/// to (bit `to as usize`), built at compile time: every state change of
/// every connection checks its edge, and a scan of the table cost tens of
/// comparisons each time.
const ALLOWED: [[u16; EVENTS]; State::ALL.len()] = {
    let mut m = [[0u16; EVENTS]; State::ALL.len()];
    let mut i = 0;
    while i < TRANSITIONS.len() {
        let t = &TRANSITIONS[i];
        m[t.from as usize][t.event as usize] |= 1 << (t.to as usize);
        i += 1;
    }
    m
};

/// Writes the table as a Graphviz DOT digraph.
pub fn write_dot(out: &mut impl fmt::Write) -> fmt::Result {
    writeln!(out, "digraph tcp {{")?;
    writeln!(out, "  rankdir=TB;")?;
    writeln!(out, "  node [shape=box, style=rounded];")?;
    for s in State::ALL {
        writeln!(out, "  {} [label=\"{}\"];", s.ident(), s.rfc_name())?;
    }
    for e in TRANSITIONS {
        writeln!(
            out,
            "  {} -> {} [label=\"{}\"];",
            e.from.ident(),
            e.to.ident(),
            e.label()
        )?;
    }
    writeln!(out, "}}")
}

/// Writes the table as a Mermaid `stateDiagram-v2`.
pub fn write_mermaid(out: &mut impl fmt::Write) -> fmt::Result {
    writeln!(out, "stateDiagram-v2")?;
    for s in State::ALL {
        writeln!(out, "    state \"{}\" as {}", s.rfc_name(), s.ident())?;
    }
    writeln!(out, "    [*] --> CLOSED")?;
    for e in TRANSITIONS {
        writeln!(
            out,
            "    {} --> {}: {}",
            e.from.ident(),
            e.to.ident(),
            e.label()
        )?;
    }
    Ok(())
}

/// The table as DOT text.
#[cfg(feature = "alloc")]
pub fn to_dot() -> alloc::string::String {
    let mut s = alloc::string::String::new();
    let _ = write_dot(&mut s);
    s
}

/// The table as Mermaid text.
#[cfg(feature = "alloc")]
pub fn to_mermaid() -> alloc::string::String {
    let mut s = alloc::string::String::new();
    let _ = write_mermaid(&mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compiled table says exactly what a scan of `TRANSITIONS` says,
    /// for every (from, event, to).
    #[test]
    fn is_allowed_is_the_table() {
        use Event as E;
        let events = [
            E::PassiveOpen,
            E::ActiveOpen,
            E::Close,
            E::CloseWithUnreadData,
            E::Abort,
            E::RcvSyn,
            E::RcvSynAck,
            E::RcvAck,
            E::RcvFin,
            E::RcvFinAck,
            E::RcvRst,
            E::RcvDataAfterClose,
            E::IcmpHardError,
            E::RetransmitTimeout,
            E::UserTimeout,
            E::KeepaliveTimeout,
            E::TimeWaitTimeout,
            E::FinWait2Timeout,
        ];
        assert_eq!(events.len(), EVENTS);
        let mut edges = 0;
        for from in State::ALL {
            for event in events {
                for to in State::ALL {
                    let scan = TRANSITIONS
                        .iter()
                        .any(|e| e.from == from && e.event == event && e.to == to);
                    assert_eq!(is_allowed(from, event, to), scan, "{from} {event:?} {to}");
                    edges += usize::from(scan);
                }
            }
        }
        assert_eq!(edges, TRANSITIONS.len());
    }

    #[test]
    fn every_state_has_an_edge_and_table_has_no_duplicates() {
        for s in State::ALL {
            assert!(
                TRANSITIONS.iter().any(|e| e.from == s || e.to == s),
                "{s} is not in the table"
            );
        }
        for (i, a) in TRANSITIONS.iter().enumerate() {
            for b in &TRANSITIONS[i + 1..] {
                assert!(
                    !(a.from == b.from && a.event == b.event && a.to == b.to),
                    "duplicate edge {a:?}"
                );
            }
        }
    }

    #[test]
    fn time_wait_is_entered_only_by_a_side_that_sent_fin() {
        for e in TRANSITIONS.iter().filter(|e| e.to == State::TimeWait) {
            assert!(matches!(
                e.from,
                State::FinWait1 | State::FinWait2 | State::Closing | State::TimeWait
            ));
        }
    }

    #[test]
    fn every_state_reaches_closed() {
        // Breadth-first search backwards from CLOSED over the table.
        let mut reach = [false; 11];
        reach[0] = true;
        loop {
            let mut changed = false;
            for e in TRANSITIONS {
                let (f, t) = (e.from as usize, e.to as usize);
                if reach[t] && !reach[f] {
                    reach[f] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        assert!(reach.iter().all(|r| *r));
    }

    /// Every state's names and predicates, one row per state.
    ///
    /// - `netstat_name`: the strings of net-tools' `netstat` (its
    ///   `tcp_state[]` table), which `Endpoint::connections` prints;
    /// - `is_synchronized`: both ISNs known, i.e. past SYN-SENT (RFC 9293
    ///   §3.10.7.4 "synchronized");
    /// - `may_send`: SEND segmentizes the data in ESTABLISHED and
    ///   CLOSE-WAIT; after our FIN it is "connection closing", before the
    ///   handshake completes data is only queued (RFC 9293 §3.10.2);
    /// - `may_receive`: segment text is processed in ESTABLISHED,
    ///   FIN-WAIT-1 and FIN-WAIT-2 (queued in SYN-RECEIVED) and ignored
    ///   once the peer's FIN arrived (RFC 9293 §3.10.7.4, seventh step).
    #[test]
    fn names_and_predicates_per_state() {
        use State as S;
        #[rustfmt::skip]
        let rows = [
            // state,         RFC name,       netstat name,  sync,  send,  receive
            (S::Closed,      "CLOSED",       "CLOSE",       false, false, false),
            (S::Listen,      "LISTEN",       "LISTEN",      false, false, false),
            (S::SynSent,     "SYN-SENT",     "SYN_SENT",    false, false, false),
            (S::SynReceived, "SYN-RECEIVED", "SYN_RECV",    true,  false, true),
            (S::Established, "ESTABLISHED",  "ESTABLISHED", true,  true,  true),
            (S::FinWait1,    "FIN-WAIT-1",   "FIN_WAIT1",   true,  false, true),
            (S::FinWait2,    "FIN-WAIT-2",   "FIN_WAIT2",   true,  false, true),
            (S::CloseWait,   "CLOSE-WAIT",   "CLOSE_WAIT",  true,  true,  false),
            (S::Closing,     "CLOSING",      "CLOSING",     true,  false, false),
            (S::LastAck,     "LAST-ACK",     "LAST_ACK",    true,  false, false),
            (S::TimeWait,    "TIME-WAIT",    "TIME_WAIT",   true,  false, false),
        ];
        assert_eq!(rows.map(|r| r.0), State::ALL);
        for (s, rfc, netstat, sync, send, receive) in rows {
            assert_eq!(s.rfc_name(), rfc);
            // Display prints the RFC name, and honours no width of its own.
            assert_eq!(format!("{s}"), rfc);
            assert_eq!(s.netstat_name(), netstat, "{s}");
            assert_eq!(s.is_synchronized(), sync, "{s}");
            assert_eq!(s.may_send(), send, "{s}");
            assert_eq!(s.may_receive(), receive, "{s}");
        }
    }

    /// `to_dot` and `to_mermaid` are the writers' text, whole.
    #[test]
    fn to_dot_and_to_mermaid_are_the_written_diagrams() {
        let mut dot = String::new();
        write_dot(&mut dot).unwrap();
        let mut mm = String::new();
        write_mermaid(&mut mm).unwrap();
        assert_eq!(to_dot(), dot);
        assert_eq!(to_mermaid(), mm);
        assert!(dot.starts_with("digraph tcp {\n") && dot.ends_with("}\n"));
        assert!(dot.contains("  SYN_SENT [label=\"SYN-SENT\"];\n"));
        assert!(dot.contains("  CLOSED -> LISTEN [label=\"listen\"];\n"));
        assert!(mm.starts_with("stateDiagram-v2\n"));
        assert!(mm.contains("    state \"TIME-WAIT\" as TIME_WAIT\n"));
    }

    #[test]
    fn exports_name_every_edge() {
        let mut dot = String::new();
        write_dot(&mut dot).unwrap();
        let mut mm = String::new();
        write_mermaid(&mut mm).unwrap();
        assert_eq!(dot.matches(" -> ").count(), TRANSITIONS.len());
        assert_eq!(mm.matches(" --> ").count(), TRANSITIONS.len() + 1);
        assert!(mm.contains("FIN_WAIT_1 --> TIME_WAIT: rcv FIN,ACK / snd ACK"));
    }
}
