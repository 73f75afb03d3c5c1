//! What a run did, as a list of records, and the invariant checker that
//! reads it (DESIGN.md "Invariants that tests and fuzzers check").
//!
//! The checker knows nothing about the simulator: it reads records. A test
//! can build or doctor a [`Trace`] by hand to show that each check fails
//! when the invariant is broken.

use std::vec::Vec;

use crate::connection::StateChange;
use crate::error::CloseReason;
use crate::seq::SeqNum;
use crate::state::{self, Event, State};
use crate::time::{Duration, Instant};
use crate::wire::Flags;

/// One thing that happened at one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ev {
    /// The connection changed state.
    State(StateChange),
    /// The connection reached CLOSED for this reason.
    Closed(CloseReason),
    /// The connection sent a segment (header summary; `len` payload bytes).
    Sent {
        /// SEG.SEQ.
        seq: SeqNum,
        /// SEG.ACK.
        ack: SeqNum,
        /// Control bits.
        flags: Flags,
        /// Payload length.
        len: u32,
    },
    /// The application wrote these bytes (accepted by `send`).
    Wrote(Vec<u8>),
    /// The application read these bytes.
    Read(Vec<u8>),
    /// The application saw the end of the peer's data.
    Eof,
    /// The application ended its writing (`shutdown` or `close`).
    WriteClosed,
}

/// A record: when, where, what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Virtual time.
    pub t: Instant,
    /// Host index.
    pub host: usize,
    /// What happened.
    pub ev: Ev,
}

/// What the checker must know about a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostInfo {
    /// The host at the other end of its connection.
    pub peer: usize,
    /// Its TIME-WAIT length (2*MSL).
    pub time_wait: Duration,
}

/// A run's records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// The hosts, by index.
    pub hosts: Vec<HostInfo>,
    /// Everything, in order.
    pub records: Vec<Record>,
}

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// A state change that is not an edge of `TRANSITIONS`.
    IllegalEdge {
        /// Host.
        host: usize,
        /// The change.
        change: StateChange,
    },
    /// A state change whose `from` is not the state the host was in.
    Discontinuous {
        /// Host.
        host: usize,
        /// The state it was in.
        was: State,
        /// The change.
        change: StateChange,
    },
    /// TIME-WAIT entered from a state other than FIN-WAIT-1/2 or CLOSING.
    TimeWaitEntry {
        /// Host.
        host: usize,
        /// Where from.
        from: State,
    },
    /// TIME-WAIT ended by its timer after the wrong time.
    TimeWaitLength {
        /// Host.
        host: usize,
        /// How long it lasted since it was entered or restarted.
        lasted: Duration,
        /// 2*MSL.
        expected: Duration,
    },
    /// A segment carried data beyond the host's FIN.
    DataAfterFin {
        /// Host.
        host: usize,
        /// The FIN's sequence number.
        fin: SeqNum,
        /// The segment's sequence number and length.
        seq: SeqNum,
        /// Its payload length.
        len: u32,
    },
    /// A FIN was sent with a different sequence number than an earlier one.
    FinMoved {
        /// Host.
        host: usize,
        /// The first FIN's sequence number.
        first: SeqNum,
        /// The new one.
        now: SeqNum,
    },
    /// The application read bytes that differ from what the peer wrote at
    /// that offset (a byte out of order, twice, or made up).
    ReadMismatch {
        /// Host.
        host: usize,
        /// Offset in the stream.
        offset: u64,
    },
    /// The application read more than the peer wrote.
    ReadBeyondWritten {
        /// Host.
        host: usize,
        /// Bytes read.
        read: u64,
        /// Bytes the peer wrote.
        written: u64,
    },
    /// End of data seen before every byte the peer wrote was read, or
    /// without the peer having closed its writing.
    EarlyEof {
        /// Host.
        host: usize,
        /// Bytes read.
        read: u64,
        /// Bytes the peer wrote before closing (None: it did not close).
        peer_wrote: Option<u64>,
    },
    /// At the end, fewer bytes were read than written.
    Undelivered {
        /// The reading host.
        host: usize,
        /// Bytes read.
        read: u64,
        /// Bytes the peer wrote.
        written: u64,
    },
    /// At the end, a connection was not CLOSED.
    NotClosed {
        /// Host.
        host: usize,
        /// Its last state.
        state: State,
    },
}

impl core::fmt::Display for Violation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Violation::IllegalEdge { host, change: c } => write!(
                f,
                "graph: host {host} moved {} --{:?}--> {}, not an edge of TRANSITIONS",
                c.from, c.event, c.to
            ),
            Violation::Discontinuous { host, was, change } => write!(
                f,
                "graph: host {host} was in {was} but changed from {}",
                change.from
            ),
            Violation::TimeWaitEntry { host, from } => {
                write!(f, "TIME-WAIT: host {host} entered it from {from}")
            }
            Violation::TimeWaitLength {
                host,
                lasted,
                expected,
            } => write!(
                f,
                "TIME-WAIT: host {host} left it after {lasted:?}, not 2*MSL = {expected:?}"
            ),
            Violation::DataAfterFin {
                host,
                fin,
                seq,
                len,
            } => write!(
                f,
                "half-close: host {host} sent data [{seq}, +{len}) past its FIN at {fin}"
            ),
            Violation::FinMoved { host, first, now } => {
                write!(
                    f,
                    "half-close: host {host} sent FIN at {first}, then at {now}"
                )
            }
            Violation::ReadMismatch { host, offset } => write!(
                f,
                "delivery: host {host} read a wrong byte at offset {offset} (reordered, duplicated or invented)"
            ),
            Violation::ReadBeyondWritten {
                host,
                read,
                written,
            } => write!(
                f,
                "delivery: host {host} read {read} bytes, the peer wrote {written}"
            ),
            Violation::EarlyEof {
                host,
                read,
                peer_wrote,
            } => write!(
                f,
                "half-close: host {host} saw end of data after {read} bytes; the peer wrote {peer_wrote:?} before closing"
            ),
            Violation::Undelivered {
                host,
                read,
                written,
            } => write!(
                f,
                "delivery: host {host} read {read} of the {written} bytes its peer wrote"
            ),
            Violation::NotClosed { host, state } => {
                write!(f, "close: host {host} ended in {state}, not CLOSED")
            }
        }
    }
}

#[derive(Clone, Default)]
struct HostCheck {
    state: Option<State>,
    tw_since: Option<Instant>,
    fin: Option<SeqNum>,
    written: Vec<u8>,
    read: u64,
    wrote_at_close: Option<u64>,
}

impl Trace {
    /// Checks every record; returns every violation found (empty: all good).
    ///
    /// Checked: each state change is an edge of the table and starts where
    /// the last one ended; TIME-WAIT is entered only from FIN-WAIT-1,
    /// FIN-WAIT-2 or CLOSING and, when its timer ends it, lasted exactly
    /// 2*MSL since it was entered or restarted by a retransmitted FIN; no
    /// segment carries data past the host's FIN and the FIN never moves;
    /// every byte read is the peer's byte at that offset (in order, once);
    /// end of data is seen only after all the peer wrote before closing.
    pub fn check(&self) -> Vec<Violation> {
        let mut v = Vec::new();
        let mut hs = std::vec![HostCheck::default(); self.hosts.len()];
        for r in &self.records {
            let h = r.host;
            match &r.ev {
                Ev::State(c) => {
                    let hc = &mut hs[h];
                    if !state::is_allowed(c.from, c.event, c.to) {
                        v.push(Violation::IllegalEdge {
                            host: h,
                            change: *c,
                        });
                    }
                    let was = hc.state.unwrap_or(State::Closed);
                    if was != c.from {
                        v.push(Violation::Discontinuous {
                            host: h,
                            was,
                            change: *c,
                        });
                    }
                    if c.to == State::TimeWait {
                        if !matches!(
                            c.from,
                            State::FinWait1 | State::FinWait2 | State::Closing | State::TimeWait
                        ) {
                            v.push(Violation::TimeWaitEntry {
                                host: h,
                                from: c.from,
                            });
                        }
                        hc.tw_since = Some(r.t);
                    }
                    if c.from == State::TimeWait && c.event == Event::TimeWaitTimeout {
                        let expected = self.hosts[h].time_wait;
                        let lasted = hc
                            .tw_since
                            .map_or(Duration::ZERO, |s| r.t.saturating_duration_since(s));
                        // The host may call on_timer a little late, never early.
                        if lasted < expected || lasted > expected + Duration::from_millis(1) {
                            v.push(Violation::TimeWaitLength {
                                host: h,
                                lasted,
                                expected,
                            });
                        }
                    }
                    if c.to != State::TimeWait {
                        hc.tw_since = None;
                    }
                    hc.state = Some(c.to);
                }
                Ev::Sent {
                    seq, flags, len, ..
                } => {
                    let hc = &mut hs[h];
                    // A SYN occupies the first sequence number.
                    let data_start = seq.add(u32::from(flags.syn()));
                    if flags.rst() {
                        continue;
                    }
                    if let Some(fin) = hc.fin {
                        if *len > 0 && data_start.add(*len).after(fin) {
                            v.push(Violation::DataAfterFin {
                                host: h,
                                fin,
                                seq: data_start,
                                len: *len,
                            });
                        }
                    }
                    if flags.fin() {
                        let at = data_start.add(*len);
                        match hc.fin {
                            Some(first) if first != at => v.push(Violation::FinMoved {
                                host: h,
                                first,
                                now: at,
                            }),
                            _ => hc.fin = Some(at),
                        }
                    }
                }
                Ev::Wrote(data) => hs[h].written.extend_from_slice(data),
                Ev::WriteClosed => {
                    let n = hs[h].written.len() as u64;
                    hs[h].wrote_at_close.get_or_insert(n);
                }
                Ev::Read(data) => {
                    let p = self.hosts[h].peer;
                    let off = hs[h].read;
                    let written = hs[p].written.len() as u64;
                    let end = off + data.len() as u64;
                    if end > written {
                        v.push(Violation::ReadBeyondWritten {
                            host: h,
                            read: end,
                            written,
                        });
                    }
                    let want = hs[p].written.get(off as usize..).unwrap_or(&[]);
                    if let Some(i) = data.iter().zip(want).position(|(a, b)| a != b) {
                        v.push(Violation::ReadMismatch {
                            host: h,
                            offset: off + i as u64,
                        });
                    }
                    hs[h].read = end;
                }
                Ev::Eof => {
                    let p = self.hosts[h].peer;
                    let peer_wrote = hs[p].wrote_at_close;
                    if peer_wrote != Some(hs[h].read) {
                        v.push(Violation::EarlyEof {
                            host: h,
                            read: hs[h].read,
                            peer_wrote,
                        });
                    }
                }
                Ev::Closed(_) => {}
            }
        }
        v
    }

    /// [`check`](Self::check), and at the end of the run: every host read
    /// all its peer wrote, and every connection is CLOSED.
    pub fn check_complete(&self) -> Vec<Violation> {
        let mut v = self.check();
        let mut written = std::vec![0u64; self.hosts.len()];
        let mut read = std::vec![0u64; self.hosts.len()];
        let mut last = std::vec![State::Closed; self.hosts.len()];
        for r in &self.records {
            match &r.ev {
                Ev::Wrote(d) => written[r.host] += d.len() as u64,
                Ev::Read(d) => read[r.host] += d.len() as u64,
                Ev::State(c) => last[r.host] = c.to,
                _ => {}
            }
        }
        for (h, info) in self.hosts.iter().enumerate() {
            if read[h] != written[info.peer] {
                v.push(Violation::Undelivered {
                    host: h,
                    read: read[h],
                    written: written[info.peer],
                });
            }
            if last[h] != State::Closed {
                v.push(Violation::NotClosed {
                    host: h,
                    state: last[h],
                });
            }
        }
        v
    }

    /// The state changes of one host, in order.
    pub fn states(&self, host: usize) -> impl Iterator<Item = (Instant, StateChange)> + '_ {
        self.records.iter().filter_map(move |r| match r.ev {
            Ev::State(c) if r.host == host => Some((r.t, c)),
            _ => None,
        })
    }
}
