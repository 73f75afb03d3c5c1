//! Runs a parsed script against an [`Endpoint`] on a virtual clock.
//!
//! Inbound packets are built byte for byte (options in the script's order),
//! checksummed and given to [`Endpoint::on_datagram`] at their time.
//! Outbound lines take the oldest segment the Endpoint emitted (advancing
//! the clock through its timers until one appears) and compare it field by
//! field. System calls map onto the Endpoint's calls; blocking calls with
//! `...end` stay pending while later lines run, as in packetdrill.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use super::linux::*;
use super::live::{Live, encode_options, flag_str, opt_str};
use super::parse::{EcnField, Event, Expr, Icmp, Opt, Packet, Script, Stmt, Syscall, Time};
use super::python::{self, PyError};
use super::shell::{self, Cmd};
use super::sysctl::{self, Settings};
use crate::endpoint::{
    ConnectOptions, Endpoint, EndpointConfig, Event as EpEvent, FastOpenConfig, Handle,
    ListenOptions, ListenerId,
};
use crate::error::CloseReason;
use crate::state::State;
use crate::time::Instant;
use crate::wire::Ecn;
use crate::wire::checksum;

/// The stack under test (RFC 5737 TEST-NET-1; packetdrill's default local
/// address is 192.168.0.1, any fixed address does).
pub const LOCAL_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// The scripted peer (packetdrill's default remote address).
pub const REMOTE_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// `bind` and `connect` port (packetdrill's `--bind_port`, `--connect_port`).
pub const SCRIPT_PORT: u16 = 8080;
pub use super::sysctl::DEFAULTS_SH_RMEM_MAX;
/// The peer's port towards a listener (packetdrill picks an ephemeral one).
pub const REMOTE_EPHEMERAL: u16 = 48_879;

/// The verdict for one script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every line ran and matched.
    Pass,
    /// A line did not match.
    Fail {
        /// 1-based line.
        line: usize,
        /// `expected ... got ...`.
        msg: String,
    },
    /// A line uses something the runner does not execute.
    Unsupported {
        /// 1-based line.
        line: usize,
        /// What.
        what: String,
    },
}

/// How to run scripts.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// `--tolerance_usecs`: timing slack (default 4000); a script's own
    /// `--tolerance_usecs` line wins, as in packetdrill.
    pub tolerance_usecs: Option<i64>,
    /// Log every event and segment.
    pub verbose: bool,
    /// Also fail when the engine sent a segment that no line expected
    /// before the last line ran (packetdrill itself only notices such a
    /// segment when a later `>` line meets it).
    pub strict: bool,
}

enum Stop {
    Fail(usize, String),
    Unsupported(usize, String),
}

type Res<T> = Result<T, Stop>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fresh,
    Listener(ListenerId),
    Conn(Handle),
}

#[derive(Debug, Clone)]
struct Fd {
    kind: Kind,
    nonblock: bool,
    rcvbuf: Option<usize>,
    sndbuf: Option<usize>,
    nodelay: bool,
    maxseg: Option<u16>,
    linger0: bool,
    /// The pending error (`SO_ERROR`), as an errno value.
    err: Option<i32>,
    /// The connection ended for the application, with this reason.
    gone: Option<CloseReason>,
    /// `err` was set when the connection closed, before its `Closed`
    /// event (held back while data is left to read).
    err_early: bool,
    rd_shut: bool,
    wr_shut: bool,
    connecting: bool,
    /// SO_SNDBUF set on the open socket: Linux's send-buffer limit
    /// (twice the value), enforced here at the socket layer.
    sndbuf_limit: Option<usize>,
    /// TCP_NOTSENT_LOWAT.
    lowat: Option<u32>,
    /// TCP_INQ: recvmsg gives the bytes left to read (TCP_CM_INQ).
    inq: bool,
    /// TCP_CORK is set.
    cork: bool,
    /// TCP_USER_TIMEOUT, for connections this socket opens or accepts.
    user_timeout: Option<crate::Duration>,
    /// TCP_SYNCNT, for the connection this socket opens.
    syncnt: Option<u8>,
    /// SO_KEEPALIVE, and TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT (Linux's
    /// defaults: 7200 s, 75 s, 9), for this socket's connection and the
    /// ones it accepts (Linux's children inherit them).
    keepalive: bool,
    ka: (u32, u32, u8),
    /// `listen`'s backlog.
    backlog: u32,
    /// The connection's state when the runner last looked.
    last_state: Option<State>,
    /// TCP_FASTOPEN_CONNECT.
    fo_connect: bool,
    /// TCP_FASTOPEN (a listener's Fast Open queue).
    fo_qlen: u32,
    /// TCP_FASTOPEN_KEY.
    fo_key: Option<[u8; 16]>,
    /// A TCP_FASTOPEN_CONNECT `connect` with a cookie cached: the SYN waits
    /// for the first write (Linux's deferred connect).
    deferred: bool,
}

impl Fd {
    fn new(nonblock: bool) -> Self {
        Fd {
            kind: Kind::Fresh,
            nonblock,
            rcvbuf: None,
            sndbuf: None,
            nodelay: false,
            maxseg: None,
            linger0: false,
            err: None,
            gone: None,
            err_early: false,
            keepalive: false,
            ka: (7200, 75, 9),
            rd_shut: false,
            wr_shut: false,
            connecting: false,
            sndbuf_limit: None,
            lowat: None,
            inq: false,
            cork: false,
            user_timeout: None,
            syncnt: None,
            backlog: 0,
            last_state: None,
            fo_connect: false,
            fo_qlen: 0,
            fo_key: None,
            deferred: false,
        }
    }
}

/// A segment the engine sent.
struct Out {
    at: Instant,
    bytes: Vec<u8>,
    /// The IP header's ECN field (`Datagram::ecn`).
    ecn: Ecn,
}

/// A blocking call in progress.
struct Blocked {
    call: Syscall,
    line: usize,
    /// Script time window for its return (microseconds).
    lo: i64,
    hi: i64,
    tol: i64,
    /// Bytes a blocking write has queued so far.
    done: usize,
}

/// packetdrill's socket under test: the one the script's packets belong
/// to. Outbound segments of other sockets are not the script's: the real
/// tool's sniffer drops them (`sniff_outbound_live_packet`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sut {
    /// No socket yet: every segment counts.
    Nothing,
    /// A new socket (`socket()`): only the SYN of its active open counts.
    Fresh,
    /// A listener: an inbound SYN makes a child with a new remote port.
    Listening,
    /// A connection: its ports are `Exec::ports`.
    Conn,
}

/// An outcome of one attempt at a call: `None` when it would block.
type Ret = Option<(i64, Option<&'static str>)>;

struct Exec {
    opts: RunOptions,
    ep: Option<Endpoint>,
    now: Instant,
    out: VecDeque<Out>,
    fds: BTreeMap<i64, Fd>,
    local_isn: Option<u32>,
    /// The script's ISN on that SYN: packetdrill maps only SYNs by the
    /// difference; the other segments' numbers are relative to the live
    /// ISN (`local_seq_script_to_live_offset`).
    script_isn: u32,
    /// The socket under test.
    sut: Sut,
    /// The next remote port for a passive connection (packetdrill's
    /// `next_ephemeral_port`: each child of a listener gets its own).
    next_port: u16,
    /// The scripted peer's ISN (its SYN's sequence number): the script's
    /// other sequence numbers of the peer are relative to it (packetdrill's
    /// `remote_seq_script_to_live_offset`).
    remote_isn: u32,
    /// (local port, remote port) of the scripted connection.
    ports: (u16, u16),
    /// Script TS val -> the live TS val that went out on that line.
    ts_map: HashMap<u32, u32>,
    /// `--tcp_ts_ecr_scaled`: an inbound TS ecr that echoes no script TS
    /// val is moved by the socket's first (script, live) TS val pair
    /// (`ts_first`), as packetdrill interpolates it.
    ts_ecr_scaled: bool,
    ts_first: Option<(u32, u32)>,
    blocked: Option<Blocked>,
    tol_usecs: i64,
    tol_percent: f64,
    strict_segments: bool,
    /// Script time of the previous event (microseconds).
    prev: i64,
    /// The previous event was an inbound packet.
    prev_inbound: bool,
    log: Vec<String>,
    /// What the script's sysctls configured.
    settings: Settings,
    /// The settings before `set_sysctls.py` changed them (for the restore
    /// script).
    saved: Option<Settings>,
    /// Variables of the inline Python blocks.
    py_vars: std::collections::BTreeMap<String, i64>,
    /// A sysctl changed the settings while the Endpoint was in use.
    stale: Option<String>,
    /// The connection `tcp_info` is read from (packetdrill's socket under
    /// test): the one accepted or connected last.
    under_test: Option<Handle>,
    /// `tcpi_options` of the socket under test when last seen open: a
    /// socket keeps them once its connection ended (Linux's tcp_info of a
    /// reset socket still names the options and SYN data).
    last_options: u8,
    /// Its `probes` too: Linux's `icsk_probes_out` outlives a timeout
    /// (`tcp_write_err` leaves it).
    last_probes: u8,
    /// The Endpoint's counters at the last `nstat` (its history).
    nstat_seen: crate::endpoint::Counters,
    /// `tc qdisc ... pfifo limit 0`: the local queue drops every segment
    /// the engine sends (each reported to it as a send the host could not
    /// make).
    qdisc_drops: bool,
    /// The engine's address and the scripted peer's (`--local_ip`,
    /// `--remote_ip`; TCP Fast Open cookies depend on them).
    local_ip: Ipv4Addr,
    remote_ip: Ipv4Addr,
}

/// Runs a parsed script; returns the verdict and the log (verbose only).
pub fn run_script(script: &Script, opts: &RunOptions) -> (Verdict, Vec<String>) {
    let mut x = Exec {
        opts: opts.clone(),
        ep: None,
        now: Instant::ZERO,
        out: VecDeque::new(),
        fds: BTreeMap::new(),
        local_isn: None,
        script_isn: 0,
        sut: Sut::Nothing,
        next_port: REMOTE_EPHEMERAL,
        remote_isn: 0,
        ports: (SCRIPT_PORT, REMOTE_EPHEMERAL),
        ts_map: HashMap::new(),
        ts_ecr_scaled: false,
        ts_first: None,
        blocked: None,
        tol_usecs: opts.tolerance_usecs.unwrap_or(4000),
        tol_percent: 12.5,
        strict_segments: false,
        prev: 0,
        prev_inbound: false,
        log: Vec::new(),
        settings: Settings::defaults(LOCAL_IP),
        saved: None,
        py_vars: std::collections::BTreeMap::new(),
        under_test: None,
        last_options: 0,
        last_probes: 0,
        stale: None,
        nstat_seen: Default::default(),
        qdisc_drops: false,
        local_ip: LOCAL_IP,
        remote_ip: REMOTE_IP,
    };
    let v = match x.run(script) {
        Ok(()) => Verdict::Pass,
        Err(Stop::Fail(line, msg)) => Verdict::Fail { line, msg },
        Err(Stop::Unsupported(line, what)) => Verdict::Unsupported { line, what },
    };
    (v, x.log)
}

fn us(t: Instant) -> i64 {
    t.as_micros() as i64
}

fn at(t: i64) -> Instant {
    Instant::from_micros(t.max(0) as u64)
}

fn secs(t: i64) -> String {
    format!("{:.6}", t as f64 / 1e6)
}

impl Exec {
    fn say(&mut self, s: String) {
        if self.opts.verbose {
            self.log.push(s);
        }
    }

    fn run(&mut self, script: &Script) -> Res<()> {
        for (line, k, v) in &script.options {
            let line = *line;
            match k.as_str() {
                "tolerance_usecs" => {
                    self.tol_usecs = v
                        .parse()
                        .map_err(|_| Stop::Fail(line, format!("bad --tolerance_usecs `{v}`")))?;
                }
                "tolerance_percent" => {
                    self.tol_percent = v
                        .parse()
                        .map_err(|_| Stop::Fail(line, format!("bad --tolerance_percent `{v}`")))?;
                }
                "ip_version" if v == "ipv4" || v == "ipv4-mapped-ipv6" => {}
                "strict_segments" => self.strict_segments = true,
                "tcp_ts_ecr_scaled" => self.ts_ecr_scaled = true,
                // Inbound GSO size, bind/connect ports we already use,
                // and the TS tick (TS val is not checked).
                "mss" | "tcp_ts_tick_usecs" => {}
                "bind_port" | "connect_port" if v == "8080" => {}
                // Addresses do not appear in packet lines; only a TCP Fast
                // Open cookie depends on them.
                "local_ip" | "remote_ip" => {
                    let ip: Ipv4Addr = v.parse().map_err(|_| {
                        Stop::Unsupported(line, format!("command-line option --{k}{}", eq(v)))
                    })?;
                    if k == "local_ip" {
                        self.local_ip = ip;
                        self.settings = Settings::defaults(ip);
                    } else {
                        self.remote_ip = ip;
                    }
                }
                "gateway_ip" | "netmask_ip" => {}
                _ => {
                    return Err(Stop::Unsupported(
                        line,
                        format!("command-line option --{k}{}", eq(v)),
                    ));
                }
            }
        }
        for ev in &script.events {
            self.event(ev)?;
        }
        let mut out = core::mem::take(&mut self.out);
        out.retain(|o| self.for_sut(&o.bytes));
        self.out = out;
        if self.opts.strict
            && let Some(o) = self.out.front()
        {
            let last = script.events.last().map_or(0, |e| e.line);
            let got = self.show(&o.bytes);
            return Err(Stop::Fail(
                last,
                format!(
                    "expected no more packets got `> {got}` at {}",
                    secs(us(o.at))
                ),
            ));
        }
        // A blocking call still pending: let it finish within its window.
        if let Some(b) = &self.blocked {
            let (line, end) = (b.line, b.hi + b.tol);
            self.advance(end)?;
            if self.blocked.is_some() {
                return Err(Stop::Fail(
                    line,
                    format!(
                        "expected the call to return by {} got still blocked",
                        secs(end)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn event(&mut self, ev: &Event) -> Res<()> {
        let line = ev.line;
        let stmt = match &ev.stmt {
            Stmt::Unsupported(what) => {
                return Err(Stop::Unsupported(line, what.clone()));
            }
            s => s,
        };
        // packetdrill (run.c adjust_relative_event_times): a relative time
        // counts from the previous inbound packet's script time when both
        // are inbound packets, otherwise from the moment the previous event
        // finished (here: the virtual clock).
        let inbound = matches!(stmt, Stmt::Packet(p) if p.inbound) || matches!(stmt, Stmt::Icmp(_));
        let offset = if self.prev_inbound && inbound {
            self.prev
        } else {
            us(self.now)
        };
        let (lo, hi, relative) = match ev.time {
            Time::Any => (None, None, false),
            Time::At {
                relative, lo, hi, ..
            } => {
                let base = if relative { offset } else { 0 };
                (Some(base + lo), Some(base + hi), relative)
            }
        };
        let tol = match lo {
            Some(l) => self
                .tol_usecs
                .max((self.tol_percent / 100.0 * (l - self.prev).max(0) as f64) as i64),
            None => self.tol_usecs,
        };
        match stmt {
            Stmt::Packet(p) if !p.inbound => {
                self.expect(line, p, lo, hi, tol)?;
            }
            Stmt::Packet(p) => {
                let t = lo.map_or(us(self.now), |l| l.max(us(self.now)));
                self.advance(t)?;
                self.inject(line, p)?;
            }
            Stmt::Icmp(m) => {
                let t = lo.map_or(us(self.now), |l| l.max(us(self.now)));
                self.advance(t)?;
                self.inject_icmp(m)?;
            }
            Stmt::Syscall(c) => {
                let t = lo.map_or(us(self.now), |l| l.max(us(self.now)));
                self.advance(t)?;
                self.say(format!("{} {}", secs(us(self.now)), c.text));
                let base = if relative { offset } else { 0 };
                self.syscall(line, c, t, base, tol)?;
            }
            Stmt::Shell(text) => {
                let t = lo.map_or(us(self.now), |l| l.max(us(self.now)));
                self.advance(t)?;
                self.shell(line, text)?;
            }
            Stmt::Python(code) => {
                let t = lo.map_or(us(self.now), |l| l.max(us(self.now)));
                self.advance(t)?;
                self.python(line, code)?;
            }
            Stmt::Unsupported(_) => unreachable!(),
        }
        self.prev = lo.unwrap_or(offset);
        self.prev_inbound = inbound;
        Ok(())
    }

    // ----- shell commands and inline Python ---------------------------------

    fn shell(&mut self, line: usize, text: &str) -> Res<()> {
        let cmds = shell::parse(text).map_err(|w| Stop::Unsupported(line, w))?;
        for c in cmds {
            match c {
                // The runner starts where `defaults.sh` leaves Linux.
                Cmd::Defaults | Cmd::Nothing => {}
                Cmd::Qdisc { drop_all } => self.qdisc_drops = drop_all,
                Cmd::FlushMetrics => {
                    // The Fast Open cookies live in Linux's TCP metrics.
                    if let Some(ep) = self.ep.as_mut() {
                        ep.clear_fast_open_cache();
                    }
                }
                Cmd::Nstat(grep) => {
                    let now = self.ep.as_ref().map(|e| e.counters()).unwrap_or_default();
                    let seen = core::mem::replace(&mut self.nstat_seen, now);
                    if let Some(name) = grep {
                        let (Some(was), Some(is)) = (nstat(&seen, &name), nstat(&now, &name))
                        else {
                            return Err(Stop::Unsupported(line, format!("nstat counter {name}")));
                        };
                        if is == was {
                            return Err(Stop::Fail(
                                line,
                                format!("expected nstat to show {name} got no change"),
                            ));
                        }
                    }
                }
                Cmd::Restore => {
                    if let Some(old) = self.saved.take() {
                        self.set_settings(old, "the sysctl restore script");
                    }
                }
                Cmd::Sysctl { name, value, saved } => {
                    if saved && self.saved.is_none() {
                        self.saved = Some(self.settings.clone());
                    }
                    let mut next = self.settings.clone();
                    sysctl::apply(&mut next, &name, &value)
                        .map_err(|w| Stop::Unsupported(line, w))?;
                    self.set_settings(next, &format!("sysctl {name}"));
                }
            }
        }
        Ok(())
    }

    /// New settings: the Endpoint's configuration changes with them. An
    /// Endpoint that holds nothing yet is made again with them; one with
    /// connections keeps its configuration (as on Linux, a sysctl changes
    /// only the connections opened after it), and a socket opened on it
    /// later is unsupported (`stale`).
    fn set_settings(&mut self, next: Settings, what: &str) {
        if next.cfg != self.settings.cfg && self.ep.is_some() {
            if self.ep_busy(None) {
                self.stale = Some(what.to_string());
            } else {
                self.ep = None;
                self.stale = None;
            }
        }
        if let Some(ep) = self.ep.as_mut() {
            // Linux's Fast Open sysctls take effect at once.
            ep.set_fast_open_config(FastOpenConfig::from_linux(next.fastopen));
            ep.set_fast_open_key(next.fastopen_key, None);
        }
        self.settings = next;
    }

    /// Whether the Endpoint holds a connection, a TIME-WAIT entry or a
    /// socket other than `except`.
    fn ep_busy(&self, except: Option<i64>) -> bool {
        self.ep
            .as_ref()
            .is_some_and(|e| e.connection_count() > 0 || e.time_wait_count() > 0)
            || self
                .fds
                .iter()
                .any(|(k, f)| Some(*k) != except && !matches!(f.kind, Kind::Fresh))
    }

    fn python(&mut self, line: usize, code: &str) -> Res<()> {
        let info = self
            .under_test
            .and_then(|h| self.ep.as_ref()?.connection(h))
            .map(|c| c.info(self.now))
            .unwrap_or_else(|| crate::connection::TcpInfo {
                options: self.last_options,
                probes: self.last_probes,
                ..closed_info()
            });
        match python::run(code, &info, &mut self.py_vars) {
            Ok(()) => Ok(()),
            Err(PyError::Assert(m)) => Err(Stop::Fail(line, m)),
            Err(PyError::Unsupported(w)) => Err(Stop::Unsupported(line, w)),
        }
    }

    // ----- the clock ------------------------------------------------------

    /// Drains events and segments after any call into the Endpoint.
    fn pump(&mut self) -> Res<()> {
        let Some(ep) = self.ep.as_mut() else {
            return Ok(());
        };
        while let Some(e) = ep.poll_event() {
            if let EpEvent::Closed(h, reason) = e {
                let icmp = ep.connection(h).and_then(|c| c.soft_error());
                for fd in self.fds.values_mut() {
                    if fd.kind == Kind::Conn(h) && fd.gone.is_none() {
                        fd.gone = Some(reason);
                        if !fd.err_early {
                            fd.err = close_errno(reason, fd.last_state, fd.err, icmp);
                        }
                    }
                }
            }
        }
        for fd in self.fds.values_mut() {
            if let Kind::Conn(h) = fd.kind {
                let c = ep.connection(h);
                let state = c.map(|c| c.state());
                // Linux's tcp_reset sets the socket's error at once: the
                // next write reports it even while data is left to read
                // (the `Closed` event waits for that data).
                if fd.gone.is_none() && !fd.err_early && state == Some(State::Closed) {
                    if let Some(r) = c.and_then(|c| c.close_reason()) {
                        let icmp = c.and_then(|c| c.soft_error());
                        fd.err = close_errno(r, fd.last_state, fd.err, icmp);
                        fd.err_early = true;
                    }
                }
                fd.last_state = state;
            }
        }
        if let Some(c) = self.under_test.and_then(|h| ep.connection(h)) {
            let i = c.info(self.now);
            (self.last_options, self.last_probes) = (i.options, i.probes);
        }
        let mut buf = vec![0u8; 65536 + 64];
        let mut sent = Vec::new();
        let mut dropped = Vec::new();
        while let Some(d) = ep.poll_transmit(self.now, &mut buf) {
            if d.dst != IpAddr::V4(self.remote_ip) {
                continue;
            }
            if self.qdisc_drops {
                // tun0's queue has no room: the segment never leaves.
                ep.on_transmit_failed(self.now, &d, d.segment(&buf));
                dropped.push(d.segment(&buf).to_vec());
                continue;
            }
            sent.push((d.segment(&buf).to_vec(), d.ecn));
        }
        if self.opts.verbose {
            for bytes in dropped {
                let s = self.show(&bytes);
                self.say(format!("{} qdisc dropped {s}", secs(us(self.now))));
            }
        }
        for (bytes, ecn) in sent {
            if self.opts.verbose {
                let s = self.show(&bytes);
                self.say(format!("{} engine sent {s}", secs(us(self.now))));
            }
            self.out.push_back(Out {
                at: self.now,
                bytes,
                ecn,
            });
        }
        self.try_unblock()
    }

    /// Runs the Endpoint's timers up to script time `t`; `stop_on_output`
    /// returns as soon as a segment is waiting.
    fn advance_inner(&mut self, t: i64, stop_on_output: bool) -> Res<()> {
        let mut guard = 0u32;
        loop {
            if stop_on_output && !self.out.is_empty() {
                return Ok(());
            }
            let Some(d) = self.ep.as_ref().and_then(|e| e.next_deadline()) else {
                break;
            };
            if us(d) > t {
                break;
            }
            guard += 1;
            if guard > 1_000_000 {
                break;
            }
            if d > self.now {
                self.now = d;
            }
            let now = self.now;
            if let Some(ep) = self.ep.as_mut() {
                ep.on_timer(now);
            }
            self.pump()?;
            self.check_blocked_deadline()?;
        }
        if at(t) > self.now {
            self.now = at(t);
        }
        self.check_blocked_deadline()
    }

    fn advance(&mut self, t: i64) -> Res<()> {
        self.advance_inner(t, false)
    }

    fn check_blocked_deadline(&mut self) -> Res<()> {
        if let Some(b) = &self.blocked
            && us(self.now) > b.hi + b.tol
        {
            return Err(Stop::Fail(
                b.line,
                format!(
                    "expected `{}` to return by {} got still blocked at {}",
                    b.call.text,
                    secs(b.hi),
                    secs(us(self.now))
                ),
            ));
        }
        Ok(())
    }

    // ----- packets ----------------------------------------------------------

    fn inject(&mut self, line: usize, p: &Packet) -> Res<()> {
        if self.ep.is_none() {
            // A segment to a host with no socket yet: the Endpoint answers
            // as a closed port.
            self.ep = Some(self.new_endpoint(line, None)?);
        }
        let isn = self.seq_off(p.flags & 0x02 != 0);
        let mut opts = match &p.options {
            Some(Some(list)) => encode_options(
                list,
                |e| match (self.ts_map.get(&e), self.ts_first) {
                    (Some(&live), _) => live,
                    (None, Some((script, live))) if self.ts_ecr_scaled => {
                        e.wrapping_sub(script).wrapping_add(live)
                    }
                    _ => e,
                },
                |x| x.wrapping_add(isn),
            ),
            _ => Vec::new(),
        };
        while opts.len() % 4 != 0 {
            opts.push(0);
        }
        if opts.len() > 40 {
            return Err(Stop::Fail(line, "options longer than 40 bytes".into()));
        }
        let hlen = 20 + opts.len();
        let mut seg = vec![0u8; hlen + p.len as usize];
        if p.flags & 0x12 == 0x02 && matches!(self.sut, Sut::Listening | Sut::Nothing) {
            // A SYN to a listener: a child with a remote port of its own.
            self.ports = (SCRIPT_PORT, self.next_port);
            self.next_port = self.next_port.wrapping_add(1).max(1024);
            self.sut = Sut::Conn;
        }
        let (lport, rport) = self.ports;
        seg[0..2].copy_from_slice(&rport.to_be_bytes());
        seg[2..4].copy_from_slice(&lport.to_be_bytes());
        let seq = if p.flags & 0x02 != 0 {
            // A SYN's number is the script's own; a SYN,ACK, or a SYN that
            // opens a connection, names the peer's ISN (not a SYN sent to
            // a synchronized connection).
            let synced = self
                .under_test
                .and_then(|h| self.state_of(h))
                .is_some_and(|s| {
                    !matches!(
                        s,
                        State::Closed | State::Listen | State::SynSent | State::TimeWait
                    )
                });
            if p.flags & 0x10 != 0 || !synced {
                self.remote_isn = p.seq;
            }
            p.seq
        } else {
            p.seq.wrapping_add(self.remote_isn)
        };
        seg[4..8].copy_from_slice(&seq.to_be_bytes());
        let ack = p.ack.map_or(0, |a| a.wrapping_add(isn));
        seg[8..12].copy_from_slice(&ack.to_be_bytes());
        seg[12] = ((hlen / 4) as u8) << 4;
        seg[13] = p.flags;
        seg[14..16].copy_from_slice(&p.win.unwrap_or(0).to_be_bytes());
        seg[18..20].copy_from_slice(&p.urg.unwrap_or(0).to_be_bytes());
        seg[20..hlen].copy_from_slice(&opts);
        checksum::fill_checksum_v4(self.remote_ip.octets(), self.local_ip.octets(), &mut seg);
        if p.win.is_none() {
            return Err(Stop::Fail(line, "an inbound packet needs `win`".into()));
        }
        self.say(format!("{} inject {}", secs(us(self.now)), p.text));
        let now = self.now;
        if let Some(ep) = self.ep.as_mut() {
            ep.on_datagram(
                now,
                IpAddr::V4(self.remote_ip),
                IpAddr::V4(self.local_ip),
                match p.ecn {
                    Some(EcnField::Is(e)) => e,
                    Some(EcnField::EitherEct) => Ecn::Ect0,
                    None => Ecn::NotEct,
                },
                &seg,
            );
        }
        self.pump()
    }

    /// An ICMP error from the network about the scripted connection
    /// (packetdrill's `new_icmp_packet`): it quotes an IPv4 header from us
    /// to the peer and the first 8 bytes of our TCP header (ports and the
    /// sequence number, the script's relative one made live as packetdrill's
    /// `map_inbound_icmp_tcp_packet` does); given to
    /// [`Endpoint::on_icmp`]. A message that reports no error about a
    /// datagram (an echo reply, ...) reaches no connection (Linux's
    /// `tcp_v4_err` is not called for it).
    fn inject_icmp(&mut self, m: &Icmp) -> Res<()> {
        self.say(format!("{} inject {}", secs(us(self.now)), m.text));
        let Some(e) = crate::IcmpError::from_v4(m.icmp_type, m.code, m.mtu.unwrap_or(0)) else {
            return Ok(());
        };
        let (lport, rport) = self.ports;
        let mut quoted = [0u8; 28];
        quoted[0] = 0x45;
        quoted[2..4].copy_from_slice(&40u16.to_be_bytes());
        quoted[8] = 64;
        quoted[9] = 6;
        quoted[12..16].copy_from_slice(&self.local_ip.octets());
        quoted[16..20].copy_from_slice(&self.remote_ip.octets());
        quoted[20..22].copy_from_slice(&lport.to_be_bytes());
        quoted[22..24].copy_from_slice(&rport.to_be_bytes());
        let seq = m.seq.wrapping_add(self.seq_off(false));
        quoted[24..28].copy_from_slice(&seq.to_be_bytes());
        let now = self.now;
        if let Some(ep) = self.ep.as_mut() {
            ep.on_icmp(now, e, &quoted);
        }
        self.pump()
    }

    /// The next outbound segment, emitted no later than `limit`.
    fn next_out(&mut self, limit: i64) -> Res<Option<Out>> {
        loop {
            if self.out.is_empty() {
                self.advance_inner(limit, true)?;
            }
            let Some(o) = self.out.pop_front() else {
                return Ok(None);
            };
            if self.for_sut(&o.bytes) {
                return Ok(Some(o));
            }
            if self.opts.verbose {
                let s = self.show(&o.bytes);
                self.say(format!(
                    "{} ignored (not the socket under test) {s}",
                    secs(us(o.at))
                ));
            }
        }
    }

    /// Whether a segment the engine sent belongs to the socket under test
    /// (packetdrill drops the others unseen).
    fn for_sut(&self, bytes: &[u8]) -> bool {
        let Some(l) = Live::parse(bytes) else {
            return true;
        };
        let syn = l.flags & 0x12 == 0x02;
        match self.sut {
            Sut::Nothing => true,
            Sut::Fresh => syn,
            // What a listener answers itself (a RST to a stray ACK) goes
            // to the ports the script's packets use.
            Sut::Listening => (l.sport, l.dport) == self.ports,
            Sut::Conn => (l.sport, l.dport) == self.ports || syn,
        }
    }

    /// What packetdrill adds to a script's sequence number of ours (and
    /// takes from a live one): for a SYN the live ISN less the script's,
    /// for the other segments the live ISN.
    fn seq_off(&self, syn: bool) -> u32 {
        let o = self.local_isn.unwrap_or(0);
        if syn {
            o
        } else {
            o.wrapping_add(self.script_isn)
        }
    }

    fn expect(
        &mut self,
        line: usize,
        p: &Packet,
        lo: Option<i64>,
        hi: Option<i64>,
        tol: i64,
    ) -> Res<i64> {
        // `*`: wait as long as the engine has timers (bounded).
        let limit = match hi {
            Some(h) => h + tol,
            None => us(self.now) + 600_000_000,
        };
        let Some(first) = self.next_out(limit)? else {
            // For the message: what comes later, if anything.
            let when = lo.map_or(String::new(), |l| format!(" at {}", secs(l)));
            let later = if hi.is_some() {
                self.next_out(limit + 10_000_000).unwrap_or(None)
            } else {
                None
            };
            let got = match later {
                Some(o) => format!("`> {}` at {}", self.show(&o.bytes), secs(us(o.at))),
                None => "no packet".into(),
            };
            return Err(Stop::Fail(
                line,
                format!("expected `{}`{when} got {got}", p.text),
            ));
        };
        let t = us(first.at);
        if let (Some(l), Some(h)) = (lo, hi)
            && (t < l - tol || t > h + tol)
        {
            let got = self.show(&first.bytes);
            return Err(Stop::Fail(
                line,
                format!(
                    "expected `{}` at {}{} (tolerance {} us) got `> {got}` at {}",
                    p.text,
                    secs(l),
                    if h != l {
                        format!("~{}", secs(h))
                    } else {
                        String::new()
                    },
                    tol,
                    secs(t)
                ),
            ));
        }
        let mut live = Live::parse(&first.bytes)
            .ok_or_else(|| Stop::Fail(line, "the engine sent a malformed segment".to_string()))?;
        // Every segment of the line carries the ECN field it names.
        let mut ecn_ok = p.ecn.is_none_or(|e| e.matches(first.ecn));
        // TSO aggregation: consecutive segments make up the line's length.
        while !self.strict_segments && live.len < p.len && live.len > 0 {
            let Some(more) = self.next_out(limit)? else {
                break;
            };
            let Some(m) = Live::parse(&more.bytes) else {
                break;
            };
            if m.seq != live.seq.wrapping_add(live.len) || m.len == 0 {
                self.out.push_front(more);
                break;
            }
            ecn_ok &= p.ecn.is_none_or(|e| e.matches(more.ecn));
            live.len += m.len;
            // packetdrill's aggregate_packets: the headers of the last
            // packet, but SEQ and CWR of the first.
            const CWR: u8 = 0x80;
            live.flags = (m.flags & !CWR) | (live.flags & CWR);
            live.ack = m.ack;
            live.win = m.win;
        }
        if live.flags & 0x12 == 0x02 && live.seq.wrapping_sub(p.seq) != self.local_isn.unwrap_or(0)
        {
            // A new active open: no peer ISN yet.
            self.remote_isn = 0;
        }
        self.remote_relative(&mut live);
        if live.flags & 0x02 != 0 {
            // A new SYN or SYN,ACK (not a retransmission) starts a new
            // connection: learn its ISN; an active open also names the
            // ports the peer's segments use from now on.
            let isn = live.seq.wrapping_sub(p.seq);
            let ports = if live.flags & 0x10 == 0 {
                (live.sport, live.dport)
            } else {
                self.ports
            };
            if self.local_isn != Some(isn) || self.ports != ports {
                self.local_isn = Some(isn);
                self.script_isn = p.seq;
                self.ports = ports;
                self.sut = Sut::Conn;
            }
        }
        if !ecn_ok {
            return Err(Stop::Fail(
                line,
                format!(
                    "expected `{}` got `> {}` (IP ECN field differs)",
                    p.text,
                    self.show_live(&live)
                ),
            ));
        }
        self.compare(line, p, &live)?;
        Ok(t)
    }

    /// The peer's sequence numbers in an outbound segment (ACK, SACK
    /// blocks) relative to its ISN, as the script writes them; a SYN's
    /// ACK stays absolute (packetdrill's `tcp_convert_seq_number`).
    fn remote_relative(&self, live: &mut Live) {
        if live.flags & 0x02 != 0 || self.remote_isn == 0 {
            return;
        }
        let off = self.remote_isn;
        live.ack = live.ack.wrapping_sub(off);
        for o in &mut live.opts {
            if let Opt::Sack(blocks) = o {
                for (a, b) in blocks.iter_mut() {
                    *a = a.wrapping_sub(off);
                    *b = b.wrapping_sub(off);
                }
            }
        }
    }

    fn compare(&mut self, line: usize, p: &Packet, live: &Live) -> Res<()> {
        let isn = self.seq_off(live.flags & 0x02 != 0);
        let rel = live.seq.wrapping_sub(isn);
        let mut bad = Vec::new();
        if live.flags != p.flags {
            bad.push("flags");
        }
        if rel != p.seq {
            bad.push("seq");
        }
        if live.len != p.len {
            bad.push("length");
        }
        match p.ack {
            Some(a) if live.ack != a => bad.push("ack"),
            None if p.flags & 0x10 == 0 && live.ack != 0 && live.flags & 0x10 != 0 => {
                bad.push("ack")
            }
            _ => {}
        }
        if let Some(w) = p.win
            && w != live.win
        {
            bad.push("win");
        }
        if let Some(u) = p.urg
            && u != live.urg
        {
            bad.push("urg");
        }
        let mut ts_learn = Vec::new();
        match &p.options {
            Some(None) => {}
            None => {
                if !live.opts.is_empty() {
                    bad.push("options");
                }
            }
            Some(Some(want)) => {
                let ok = want.len() == live.opts.len()
                    && want.iter().zip(&live.opts).all(|(w, g)| match (w, g) {
                        (Opt::Ts(wv, we), Opt::Ts(gv, ge)) => {
                            ts_learn.push((*wv, *gv));
                            we == ge
                        }
                        (a, b) => a == b,
                    });
                if !ok {
                    bad.push("options");
                }
            }
        }
        let got = self.show_live(live);
        if !bad.is_empty() {
            return Err(Stop::Fail(
                line,
                format!(
                    "expected `{}` got `{} {got}` ({} differ)",
                    p.text,
                    if p.inbound { "<" } else { ">" },
                    bad.join(", ")
                ),
            ));
        }
        for (w, g) in ts_learn {
            self.ts_map.insert(w, g);
            self.ts_first.get_or_insert((w, g));
        }
        self.say(format!("{} matched > {got}", secs(us(self.now))));
        Ok(())
    }

    fn show(&self, bytes: &[u8]) -> String {
        match Live::parse(bytes) {
            Some(l) => self.show_live(&l),
            None => "<malformed>".into(),
        }
    }

    fn show_live(&self, l: &Live) -> String {
        let isn = self.seq_off(l.flags & 0x02 != 0);
        let seq = if l.flags & 0x02 != 0 && self.local_isn.is_none() {
            0
        } else {
            l.seq.wrapping_sub(isn)
        };
        let mut s = flag_str(l.flags);
        s += &format!(" {seq}:{}({})", seq.wrapping_add(l.len), l.len);
        if l.flags & 0x10 != 0 {
            s += &format!(" ack {}", l.ack);
        }
        s += &format!(" win {}", l.win);
        if !l.opts.is_empty() {
            let v: Vec<String> = l.opts.iter().map(opt_str).collect();
            s += &format!(" <{}>", v.join(","));
        }
        if self.local_isn.is_none() && l.flags & 0x02 != 0 {
            s += &format!(" (isn {})", l.seq);
        }
        s
    }

    // ----- system calls -----------------------------------------------------

    fn new_endpoint(&self, line: usize, fd: Option<&Fd>) -> Res<Endpoint> {
        // What `defaults.sh` and the script's sysctls configured.
        let mut cfg = self.settings.cfg.clone();
        if let Some(fd) = fd {
            if let Some(r) = fd.rcvbuf {
                cfg.rx_buffer = r;
                // Linux clamps the window (and so the scale) to a locked
                // SO_RCVBUF (tcp_select_initial_window's window_clamp).
                cfg.conn.wscale_buffer = None;
            }
            if let Some(s) = fd.sndbuf {
                cfg.tx_buffer = cfg.tx_buffer.max(2 * s);
            }
            if fd.nodelay {
                cfg.conn.nagle = false;
            }
            if let Some(m) = fd.maxseg {
                cfg.conn.mss = m;
            }
        }
        cfg.fast_open = FastOpenConfig::from_linux(self.settings.fastopen);
        // A fixed secret: runs are reproducible.
        let mut ep = Endpoint::new(cfg, *b"packetdrill-tcp!")
            .map_err(|e| Stop::Unsupported(line, e.to_string()))?;
        ep.set_fast_open_key(self.settings.fastopen_key, None);
        Ok(ep)
    }

    /// The Endpoint for a socket that opens now; a second socket with
    /// different buffer or MSS settings cannot share it.
    fn endpoint_for(&mut self, line: usize, fd: i64) -> Res<()> {
        let f = self.fds[&fd].clone();
        if let Some(what) = self.stale.clone() {
            self.stale = None;
            if !self.ep_busy(Some(fd)) {
                self.ep = None;
            } else if !self.conn_settings_only(&f) {
                return Err(Stop::Unsupported(
                    line,
                    format!(
                        "a socket opened after {what} while others are open \
                         (one configuration per Endpoint)"
                    ),
                ));
            }
        }
        if self.ep.is_none() {
            self.ep = Some(self.new_endpoint(line, Some(&f))?);
            return Ok(());
        }
        let cfg = self
            .ep
            .as_ref()
            .map(|e| e.config().clone())
            .unwrap_or_default();
        if f.rcvbuf.is_some_and(|r| r != cfg.rx_buffer)
            || f.sndbuf.is_some_and(|s| s != cfg.tx_buffer)
            || (f.maxseg.is_some_and(|m| m != cfg.conn.mss) && !self.conn_settings_only(&f))
        {
            return Err(Stop::Unsupported(
                line,
                "socket options that differ between two sockets of one script".into(),
            ));
        }
        // With no listener (whose children would take them too), a socket
        // without an earlier one's TCP_MAXSEG opens with its own settings.
        if !self
            .fds
            .values()
            .any(|o| matches!(o.kind, Kind::Listener(_)))
        {
            let _ = self.conn_settings_only(&f);
        }
        Ok(())
    }

    /// Linux's tcp_inq_hint: the bytes received and not read (RCV.NXT
    /// less what was copied, so a FIN counts one), and 1 after a FIN
    /// when nothing is left.
    fn inq_hint(&self, fd: i64) -> i64 {
        let Some(Kind::Conn(h)) = self.fds.get(&fd).map(|f| f.kind) else {
            return 0;
        };
        let Some(c) = self.ep.as_ref().and_then(|e| e.connection(h)) else {
            return 0;
        };
        let fin_in = c.is_eof()
            || matches!(
                c.state(),
                State::CloseWait | State::Closing | State::LastAck | State::TimeWait
            );
        let unread = c.recv_queue() as i64;
        if fin_in { unread + 1 } else { unread }
    }

    /// A sysctl or this socket's TCP_MAXSEG changed only the connection
    /// settings (`EndpointConfig::conn`) of an Endpoint that holds other
    /// sockets: they keep theirs, and what opens from now on takes the new
    /// ones (as on Linux, where a sysctl is read when a socket uses it).
    fn conn_settings_only(&mut self, f: &Fd) -> bool {
        let Ok(next) = self.new_endpoint(0, Some(f)).map(|e| e.config().clone()) else {
            return false;
        };
        let Some(ep) = self.ep.as_mut() else {
            return false;
        };
        let mut same = ep.config().clone();
        same.conn = next.conn.clone();
        // Fast Open's sysctls were given to the Endpoint when they changed.
        same.fast_open = next.fast_open;
        same == next && ep.set_connection_config(next.conn).is_ok()
    }

    /// Under `tcp_ecn=2` the engine, set to answer ECN-setup SYNs, would
    /// also ask for ECN on an active open, as Linux does not.
    fn active_open_ecn(&self, line: usize) -> Res<()> {
        let on = self.ep.as_ref().is_some_and(|e| e.config().conn.ecn);
        if self.settings.ecn_passive && on {
            return Err(Stop::Unsupported(
                line,
                "an active open under sysctl net.ipv4.tcp_ecn=2 (the engine would ask for ECN)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Changes the Endpoint's configuration under a listener that is all
    /// it holds: a new Endpoint, the same listener on it.
    fn relisten(
        &mut self,
        line: usize,
        fd: i64,
        backlog: u32,
        change: impl FnOnce(&mut EndpointConfig),
    ) -> Res<()> {
        if self.ep_busy(Some(fd)) {
            return Err(Stop::Unsupported(
                line,
                "a listener option with other sockets open (one configuration per Endpoint)".into(),
            ));
        }
        let mut next = self.settings.clone();
        change(&mut next.cfg);
        self.settings = next;
        self.ep = Some(self.new_endpoint(line, self.fds.get(&fd))?);
        let addr = SocketAddr::new(IpAddr::V4(self.local_ip), SCRIPT_PORT);
        match self.ep.as_mut().map(|e| e.listen(addr, backlog)) {
            Some(Ok(id)) => {
                if let Some(f) = self.fds.get_mut(&fd) {
                    f.kind = Kind::Listener(id);
                }
                Ok(())
            }
            _ => Err(Stop::Fail(line, "listen again failed".into())),
        }
    }

    /// The fd a new socket gets: packetdrill maps a script's fd onto the
    /// live one, so the number the script expects is used when it is free
    /// (a script's `socket(...) = 4` passes when the first free fd is 3).
    fn new_fd(&self, want: i64) -> i64 {
        if want >= 0 {
            // packetdrill maps the script's number onto the new socket
            // even while an older socket the script left open has it (the
            // newest socket wins the number).
            return want;
        }
        (3..).find(|i| !self.fds.contains_key(i)).unwrap_or(3)
    }

    fn fd(&self, line: usize, c: &Syscall, i: usize) -> Res<i64> {
        match c.args.get(i) {
            Some(Expr::Int(v)) => Ok(*v),
            _ => Err(Stop::Fail(line, format!("`{}`: bad fd argument", c.name))),
        }
    }

    fn syscall(&mut self, line: usize, c: &Syscall, start: i64, base: i64, tol: i64) -> Res<()> {
        if self.blocked.is_some() {
            return Err(Stop::Unsupported(
                line,
                "a system call while another one blocks (one thread only)".into(),
            ));
        }
        let mut b = Blocked {
            call: c.clone(),
            line,
            lo: start,
            hi: start,
            tol,
            done: 0,
        };
        if let Some(end) = c.end {
            let (lo, hi) = match end {
                // The end counts from the same base as the start.
                Time::At { lo, hi, .. } => (base + lo, base + hi),
                Time::Any => (start, i64::MAX / 4),
            };
            b.lo = lo;
            b.hi = hi;
        }
        let r = self.attempt(&mut b, true)?;
        match r {
            Some(r) => self.finish_call(&b, r),
            None if c.end.is_some() => {
                self.blocked = Some(b);
                Ok(())
            }
            None => Err(Stop::Fail(
                line,
                format!("expected `{}` got a call that would block", c.text),
            )),
        }
    }

    fn try_unblock(&mut self) -> Res<()> {
        let Some(mut b) = self.blocked.take() else {
            return Ok(());
        };
        match self.attempt(&mut b, false)? {
            Some(r) => self.finish_call(&b, r),
            None => {
                self.blocked = Some(b);
                Ok(())
            }
        }
    }

    fn finish_call(&mut self, b: &Blocked, (ret, errno): (i64, Option<&'static str>)) -> Res<()> {
        let c = &b.call;
        let t = us(self.now);
        if c.end.is_some() && (t < b.lo - b.tol || t > b.hi + b.tol) {
            return Err(Stop::Fail(
                b.line,
                format!(
                    "expected `{}` to return at {} got a return at {}",
                    c.text,
                    secs(b.lo),
                    secs(t)
                ),
            ));
        }
        let want_errno = c.errno.as_deref().map(canon_errno);
        let ok = ret == c.ret && (ret != -1 || want_errno.is_none() || want_errno == errno);
        if !ok {
            let got = match errno {
                Some(e) if ret == -1 => format!("-1 {e}"),
                _ => ret.to_string(),
            };
            return Err(Stop::Fail(
                b.line,
                format!("expected `{}` got = {got}", c.text),
            ));
        }
        if c.end.is_some() {
            self.say(format!("{} returned: {}", secs(t), c.text));
        }
        Ok(())
    }

    fn conn_of(&self, fd: i64) -> Option<Handle> {
        match self.fds.get(&fd)?.kind {
            Kind::Conn(h) => Some(h),
            _ => None,
        }
    }

    fn state_of(&self, h: Handle) -> Option<State> {
        self.ep.as_ref()?.connection(h).map(|c| c.state())
    }

    fn take_err(&mut self, fd: i64) -> Option<&'static str> {
        let f = self.fds.get_mut(&fd)?;
        let e = f.err.take()?;
        Some(errno_name(e))
    }

    fn attempt(&mut self, b: &mut Blocked, first: bool) -> Res<Ret> {
        let c = b.call.clone();
        let line = b.line;
        let unsupported = |what: String| Err(Stop::Unsupported(line, what));
        match c.name.as_str() {
            "socket" => {
                let ty = c.args.get(1).map_or(0, eval);
                let fd = self.new_fd(c.ret);
                if c.args.first().is_some_and(|a| eval(a) == AF_INET6) {
                    return unsupported("IPv6 sockets".into());
                }
                self.fds.insert(fd, Fd::new(ty & SOCK_NONBLOCK != 0));
                self.sut = Sut::Fresh;
                // packetdrill's first TS val pair is per socket.
                self.ts_first = None;
                Ok(Some((fd, None)))
            }
            "bind" => {
                let fd = self.fd(line, &c, 0)?;
                Ok(Some(if self.fds.contains_key(&fd) {
                    (0, None)
                } else {
                    (-1, Some("EBADF"))
                }))
            }
            "listen" => {
                let fd = self.fd(line, &c, 0)?;
                let backlog = c.args.get(1).map_or(128, eval).max(0) as u32;
                if !self.fds.contains_key(&fd) {
                    return Ok(Some((-1, Some("EBADF"))));
                }
                self.endpoint_for(line, fd)?;
                let addr = SocketAddr::new(IpAddr::V4(self.local_ip), SCRIPT_PORT);
                let (qlen, key) = (self.fds[&fd].fo_qlen, self.fds[&fd].fo_key);
                let opts = ListenOptions {
                    fast_open: qlen,
                    ..ListenOptions::backlog(backlog)
                };
                let r = self.ep.as_mut().map(|e| {
                    let r = e.listen_with(addr, opts);
                    if let (Ok(id), Some(k)) = (&r, key) {
                        let _ = e.set_listener_fast_open_key(*id, k);
                    }
                    r
                });
                match r {
                    Some(Ok(id)) => {
                        if let Some(f) = self.fds.get_mut(&fd) {
                            f.kind = Kind::Listener(id);
                            f.backlog = backlog;
                        }
                        if self.sut == Sut::Fresh {
                            self.sut = Sut::Listening;
                        }
                        Ok(Some((0, None)))
                    }
                    _ => Ok(Some((-1, Some("EADDRINUSE")))),
                }
            }
            "accept" | "accept4" => {
                let fd = self.fd(line, &c, 0)?;
                let Some(Kind::Listener(id)) = self.fds.get(&fd).map(|f| f.kind) else {
                    return Ok(Some((-1, Some("EINVAL"))));
                };
                let nonblock = self.fds[&fd].nonblock;
                let h = self.ep.as_mut().and_then(|e| e.accept(id));
                self.pump()?;
                match h {
                    Some(h) => {
                        let nfd = self.new_fd(c.ret);
                        self.under_test = Some(h);
                        let parent = self.fds[&fd].clone();
                        let mut f = Fd::new(false);
                        f.kind = Kind::Conn(h);
                        f.nodelay = parent.nodelay;
                        f.linger0 = parent.linger0;
                        f.user_timeout = parent.user_timeout;
                        f.keepalive = parent.keepalive;
                        f.ka = parent.ka;
                        if parent.keepalive {
                            let now = self.now;
                            if let Some(ep) = self.ep.as_mut() {
                                let _ = ep.on_app_call(
                                    now,
                                    h,
                                    crate::AppCall::SetKeepalive(keepalive_of(&parent)),
                                );
                            }
                        }
                        f.sndbuf_limit = parent.sndbuf.map(|s| 2 * s);
                        f.lowat = parent.lowat;
                        if let Some(t) = parent.user_timeout {
                            let now = self.now;
                            if let Some(ep) = self.ep.as_mut() {
                                let _ =
                                    ep.on_app_call(now, h, crate::AppCall::SetUserTimeout(Some(t)));
                            }
                        }
                        // The child may have ended in the accept queue:
                        // Linux's tcp_reset set its error then, which the
                        // next call reports (after the data, for a read).
                        match self.ep.as_ref().and_then(|e| e.connection(h)) {
                            None => f.gone = Some(CloseReason::Reset),
                            Some(c) if c.state() == State::Closed => {
                                if let Some(r) = c.close_reason() {
                                    f.err = close_errno(r, None, f.err, c.soft_error());
                                    f.err_early = true;
                                }
                                f.last_state = Some(State::Closed);
                            }
                            Some(_) => {}
                        }
                        self.fds.insert(nfd, f);
                        if parent.nodelay {
                            let now = self.now;
                            if let Some(ep) = self.ep.as_mut() {
                                let _ = ep.on_app_call(now, h, crate::AppCall::SetNoDelay(true));
                            }
                        }
                        Ok(Some((nfd, None)))
                    }
                    None if nonblock => Ok(Some((-1, Some("EAGAIN")))),
                    None => Ok(None),
                }
            }
            "connect" => {
                let fd = self.fd(line, &c, 0)?;
                let Some(f) = self.fds.get(&fd).cloned() else {
                    return Ok(Some((-1, Some("EBADF"))));
                };
                let mut initiated = false;
                if f.deferred {
                    return Ok(Some((-1, Some("EISCONN"))));
                }
                if f.kind == Kind::Fresh {
                    if !first {
                        return Ok(Some((-1, Some("EBADF"))));
                    }
                    self.endpoint_for(line, fd)?;
                    self.active_open_ecn(line)?;
                    let now = self.now;
                    let remote = SocketAddr::new(IpAddr::V4(self.remote_ip), SCRIPT_PORT);
                    if f.fo_connect && self.fast_open_ready() {
                        // Linux's TCP_FASTOPEN_CONNECT with a cookie: connect
                        // returns at once, the SYN waits for the first write.
                        if let Some(x) = self.fds.get_mut(&fd) {
                            x.deferred = true;
                        }
                        return Ok(Some((0, None)));
                    }
                    let opts = ConnectOptions {
                        fast_open: f.fo_connect,
                        ..ConnectOptions::default()
                    };
                    let r = self
                        .ep
                        .as_mut()
                        .map(|e| e.connect_with(now, None, remote, opts));
                    match r {
                        Some(Ok(h)) => {
                            if let Some(f) = self.fds.get_mut(&fd) {
                                f.kind = Kind::Conn(h);
                                f.connecting = true;
                            }
                            self.under_test = Some(h);
                            self.opened(h, &f);
                            initiated = true;
                            self.pump()?;
                        }
                        _ => return Ok(Some((-1, Some("EADDRNOTAVAIL")))),
                    }
                }
                let Some(h) = self.conn_of(fd) else {
                    return Ok(Some((-1, Some("EISCONN"))));
                };
                let f = self.fds[&fd].clone();
                match self.state_of(h) {
                    _ if f.gone.is_some() => {
                        let e = self.take_err(fd);
                        if let Some(x) = self.fds.get_mut(&fd) {
                            x.connecting = false;
                        }
                        Ok(Some(match e {
                            Some(e) => (-1, Some(e)),
                            None if f.connecting => (-1, Some("ECONNABORTED")),
                            None => (-1, Some("EISCONN")),
                        }))
                    }
                    Some(State::SynSent | State::SynReceived) => {
                        if f.nonblock {
                            Ok(Some((
                                -1,
                                Some(if initiated { "EINPROGRESS" } else { "EALREADY" }),
                            )))
                        } else {
                            Ok(None)
                        }
                    }
                    Some(_) => {
                        if f.connecting {
                            if let Some(x) = self.fds.get_mut(&fd) {
                                x.connecting = false;
                            }
                            // Linux: a non-blocking socket's second connect
                            // after the handshake returns 0 once.
                            Ok(Some((0, None)))
                        } else {
                            Ok(Some((-1, Some("EISCONN"))))
                        }
                    }
                    None => Ok(Some((-1, Some("EISCONN")))),
                }
            }
            "write" | "send" | "writev" | "sendto" | "sendmsg" => {
                let fd = self.fd(line, &c, 0)?;
                // (buffer, length, flags) by call.
                let (buf, n, flags) = match c.name.as_str() {
                    "write" => (c.args.get(1), c.args.get(2).map_or(0, eval), 0),
                    "writev" => (None, iov_len(c.args.get(1)), 0),
                    "sendmsg" => {
                        let (n, control) = msghdr(c.args.get(1));
                        if control {
                            return unsupported("sendmsg with control messages".into());
                        }
                        (None, n, c.args.get(2).map_or(0, eval))
                    }
                    _ => (
                        c.args.get(1),
                        c.args.get(2).map_or(0, eval),
                        c.args.get(3).map_or(0, eval),
                    ),
                };
                let fresh = self.fds.get(&fd).is_some_and(|f| f.kind == Kind::Fresh);
                let deferred = self.fds.get(&fd).is_some_and(|f| f.deferred);
                if flags & MSG_FASTOPEN != 0 {
                    if self.settings.fastopen & 1 == 0
                        || matches!(c.args.get(4), Some(Expr::Sym(s)) if s == "AF_UNSPEC")
                    {
                        return Ok(Some((-1, Some("EOPNOTSUPP"))));
                    }
                    if !fresh {
                        let connecting = self
                            .conn_of(fd)
                            .is_some_and(|h| self.state_of(h) == Some(State::SynSent));
                        // Linux: another Fast Open in progress; on a
                        // connected socket the flag changes nothing.
                        if first && connecting {
                            return Ok(Some((-1, Some("EALREADY"))));
                        }
                    }
                }
                let fast_open_call = flags & MSG_FASTOPEN != 0 && (fresh || !first) && {
                    // A later attempt of a blocking Fast Open call, not a
                    // send on a connected socket.
                    fresh || self.fds.get(&fd).is_some_and(|f| f.connecting)
                };
                let null = matches!(buf, Some(Expr::Sym(s)) if s == "NULL") && n > 0;
                if fast_open_call || (deferred && (fresh || !first)) {
                    let dontwait = flags & MSG_DONTWAIT != 0;
                    if null {
                        // Linux (tcp_send_syn_data): the copy fails, the
                        // SYN goes without data; the call fails with
                        // EINPROGRESS, or EFAULT once connected.
                        let r = self.fast_open_send(line, fd, 0, dontwait, b, first)?;
                        return Ok(
                            r.map(|(k, e)| if k >= 0 { (-1, Some("EFAULT")) } else { (k, e) })
                        );
                    }
                    return self.fast_open_send(line, fd, n.max(0) as usize, dontwait, b, first);
                }
                // MSG_ZEROCOPY sends the same bytes; its completions go to
                // the error queue, which the runner does not model (reading
                // it, MSG_ERRQUEUE, stays UNSUPPORTED). Each iovec becomes a
                // page fragment, and a packet holds at most 17
                // (MAX_SKB_FRAGS): past that Linux splits the data where a
                // plain send would not.
                if flags & MSG_ZEROCOPY != 0 && zerocopy_frags(c.args.get(1)) > 17 {
                    return unsupported(
                        "MSG_ZEROCOPY with more iovecs than a packet has page fragments".into(),
                    );
                }
                if flags
                    & !(MSG_DONTWAIT
                        | MSG_MORE
                        | MSG_EOR
                        | MSG_NOSIGNAL
                        | MSG_FASTOPEN
                        | MSG_ZEROCOPY)
                    != 0
                {
                    return unsupported(format!("send flags {flags:#x}"));
                }
                if null {
                    return Ok(Some((-1, Some("EFAULT"))));
                }
                let how = if flags & MSG_MORE != 0 {
                    How::More
                } else if flags & MSG_EOR != 0 {
                    How::Eor
                } else {
                    How::Plain
                };
                self.write(fd, n.max(0) as usize, flags & MSG_DONTWAIT != 0, how, b)
            }
            "read" | "recv" | "recvfrom" | "recvmsg" | "readv" => {
                let fd = self.fd(line, &c, 0)?;
                let mut inq_want = None;
                let (n, flags) = match c.name.as_str() {
                    "read" => (c.args.get(2).map_or(0, eval), 0),
                    "readv" => (iov_len(c.args.get(1)), 0),
                    "recvmsg" => {
                        let (n, control) = msghdr(c.args.get(1));
                        if control {
                            // Only TCP_CM_INQ, on a socket with TCP_INQ.
                            let inq_on = self.fds.get(&fd).is_some_and(|f| f.inq);
                            match cm_inq(c.args.get(1)) {
                                Some(w) if inq_on => inq_want = Some(w),
                                _ => {
                                    return unsupported(
                                        "recvmsg control messages (socket-layer: timestamps, errors)"
                                            .into(),
                                    );
                                }
                            }
                        }
                        (n, c.args.get(2).map_or(0, eval))
                    }
                    _ => (c.args.get(2).map_or(0, eval), c.args.get(3).map_or(0, eval)),
                };
                let n = n.max(0) as usize;
                if matches!(c.args.get(1), Some(Expr::Sym(s)) if s == "NULL") && n > 0 {
                    return Ok(Some((-1, Some("EFAULT"))));
                }
                if flags & !MSG_DONTWAIT != 0 {
                    return unsupported(format!("recv flags {flags:#x}"));
                }
                let r = self.read(fd, n, flags & MSG_DONTWAIT != 0)?;
                if let (Some(want), Some((k, None))) = (inq_want, r)
                    && k > 0
                {
                    let got = self.inq_hint(fd);
                    if got != want {
                        return Err(Stop::Fail(
                            line,
                            format!("expected `{}` got TCP_CM_INQ {got}", c.text),
                        ));
                    }
                }
                Ok(r)
            }
            "close" => {
                let fd = self.fd(line, &c, 0)?;
                let Some(f) = self.fds.remove(&fd) else {
                    return Ok(Some((-1, Some("EBADF"))));
                };
                let now = self.now;
                match f.kind {
                    Kind::Fresh => {}
                    Kind::Listener(id) => {
                        if let Some(ep) = self.ep.as_mut() {
                            let _ = ep.close_listener(now, id);
                        }
                    }
                    Kind::Conn(h) if f.gone.is_none() => {
                        if let Some(ep) = self.ep.as_mut() {
                            let _ = if f.linger0 {
                                ep.abort(now, h)
                            } else {
                                ep.close(now, h)
                            };
                        }
                    }
                    Kind::Conn(_) => {}
                }
                self.pump()?;
                Ok(Some((0, None)))
            }
            "shutdown" => {
                let fd = self.fd(line, &c, 0)?;
                let how = c.args.get(1).map_or(-1, eval);
                let Some(f) = self.fds.get(&fd).cloned() else {
                    return Ok(Some((-1, Some("EBADF"))));
                };
                let Kind::Conn(h) = f.kind else {
                    return Ok(Some((-1, Some("ENOTCONN"))));
                };
                if !(0..=2).contains(&how) {
                    return Ok(Some((-1, Some("EINVAL"))));
                }
                if matches!(self.state_of(h), None | Some(State::SynSent)) {
                    return Ok(Some((-1, Some("ENOTCONN"))));
                }
                if how == SHUT_RD || how == SHUT_RDWR {
                    if let Some(x) = self.fds.get_mut(&fd) {
                        x.rd_shut = true;
                    }
                }
                if (how == SHUT_WR || how == SHUT_RDWR) && !f.wr_shut {
                    if let Some(x) = self.fds.get_mut(&fd) {
                        x.wr_shut = true;
                    }
                    let now = self.now;
                    if let Some(ep) = self.ep.as_mut() {
                        let _ = ep.shutdown(now, h);
                    }
                    self.pump()?;
                }
                Ok(Some((0, None)))
            }
            "setsockopt" => self.setsockopt(line, &c),
            "getsockopt" => self.getsockopt(line, &c),
            "fcntl" => {
                let fd = self.fd(line, &c, 0)?;
                let cmd = c.args.get(1).map_or(-1, eval);
                let Some(f) = self.fds.get_mut(&fd) else {
                    return Ok(Some((-1, Some("EBADF"))));
                };
                match cmd {
                    F_GETFL => Ok(Some((
                        O_RDWR | if f.nonblock { O_NONBLOCK } else { 0 },
                        None,
                    ))),
                    F_SETFL => {
                        let v = c.args.get(2).map_or(0, eval);
                        f.nonblock = v & O_NONBLOCK != 0;
                        Ok(Some((0, None)))
                    }
                    _ => unsupported(format!("fcntl command {cmd}")),
                }
            }
            "poll" => self.poll(line, &c, b, first),
            "ioctl" => {
                let fd = self.fd(line, &c, 0)?;
                let req = c.args.get(1).map_or(-1, eval);
                let Some(h) = self.conn_of(fd) else {
                    return Ok(Some((-1, Some("EINVAL"))));
                };
                let conn = self.ep.as_ref().and_then(|e| e.connection(h));
                let v = match req {
                    SIOCINQ => conn.map_or(0, |c| c.recv_queue()) as i64,
                    SIOCOUTQ => conn.map_or(0, |c| c.send_queue()) as i64,
                    _ => return unsupported(format!("ioctl {}", arg_text(c.args.get(1)))),
                };
                if let Some(w) = c.args.get(2).and_then(|e| match e {
                    Expr::List(l) => l.first(),
                    _ => None,
                }) && *w != Expr::Ellipsis
                    && eval(w) != v
                {
                    return Err(Stop::Fail(
                        line,
                        format!("expected `{}` got value [{v}]", c.text),
                    ));
                }
                Ok(Some((0, None)))
            }
            other => unsupported(format!("system call {other}")),
        }
    }

    /// Whether a TCP_FASTOPEN_CONNECT `connect` is deferred: a cookie is
    /// cached for the peer, or the client sends data without one.
    fn fast_open_ready(&self) -> bool {
        self.settings.fastopen & 0x4 != 0
            || self.ep.as_ref().is_some_and(|e| {
                e.fast_open_cached(IpAddr::V4(self.local_ip), IpAddr::V4(self.remote_ip))
                    .is_some()
            })
    }

    /// `sendto(MSG_FASTOPEN)` on a fresh socket, or the first write of a
    /// deferred TCP_FASTOPEN_CONNECT: the connection opens with Fast Open
    /// (RFC 7413). Non-blocking, as Linux: what the SYN carries is taken
    /// (`EINPROGRESS` when it asks for a cookie and carries nothing);
    /// blocking: all of it, the call returning once the connection is up.
    fn fast_open_send(
        &mut self,
        line: usize,
        fd: i64,
        n: usize,
        dontwait: bool,
        b: &mut Blocked,
        first: bool,
    ) -> Res<Ret> {
        let Some(f) = self.fds.get(&fd).cloned() else {
            return Ok(Some((-1, Some("EBADF"))));
        };
        let nonblock = f.nonblock || dontwait;
        if first {
            self.endpoint_for(line, fd)?;
            self.active_open_ecn(line)?;
            let now = self.now;
            let remote = SocketAddr::new(IpAddr::V4(self.remote_ip), SCRIPT_PORT);
            let data = vec![0u8; n];
            let r = self.ep.as_mut().map(|e| {
                if nonblock {
                    e.connect_with_data(now, None, remote, ConnectOptions::default(), &data)
                } else {
                    let opts = ConnectOptions {
                        fast_open: true,
                        ..ConnectOptions::default()
                    };
                    let h = e.connect_with(now, None, remote, opts)?;
                    let k = if n > 0 { e.send(now, h, &data)? } else { 0 };
                    Ok((h, k))
                }
            });
            let (h, k) = match r {
                Some(Ok(x)) => x,
                Some(Err(crate::EndpointError::Unsupported)) => {
                    return Ok(Some((-1, Some("EOPNOTSUPP"))));
                }
                _ => return Ok(Some((-1, Some("EADDRNOTAVAIL")))),
            };
            if let Some(x) = self.fds.get_mut(&fd) {
                x.kind = Kind::Conn(h);
                x.connecting = true;
                x.deferred = false;
            }
            self.under_test = Some(h);
            self.opened(h, &f);
            b.done = k;
            self.pump()?;
            if nonblock {
                return Ok(Some(if k > 0 {
                    (k as i64, None)
                } else {
                    (-1, Some("EINPROGRESS"))
                }));
            }
        }
        // Blocking: until the connection is up, or fails.
        let Some(h) = self.conn_of(fd) else {
            return Ok(Some((-1, Some("EBADF"))));
        };
        let gone = self.fds.get(&fd).is_some_and(|x| x.gone.is_some());
        if gone {
            let e = self.take_err(fd);
            return Ok(Some((-1, Some(e.unwrap_or("EPIPE")))));
        }
        match self.state_of(h) {
            Some(State::SynSent | State::SynReceived) => Ok(None),
            Some(_) => {
                if let Some(x) = self.fds.get_mut(&fd) {
                    x.connecting = false;
                }
                Ok(Some((b.done as i64, None)))
            }
            None => Ok(Some((-1, Some("EPIPE")))),
        }
    }

    fn write(&mut self, fd: i64, n: usize, dontwait: bool, how: How, b: &mut Blocked) -> Res<Ret> {
        let Some(f) = self.fds.get(&fd).cloned() else {
            return Ok(Some((-1, Some("EBADF"))));
        };
        let Kind::Conn(h) = f.kind else {
            return Ok(Some((
                -1,
                Some(if f.kind == Kind::Fresh {
                    "EPIPE"
                } else {
                    "ENOTCONN"
                }),
            )));
        };
        let nonblock = f.nonblock || dontwait;
        if f.gone.is_some() || f.wr_shut {
            if let Some(e) = self.take_err(fd) {
                return Ok(Some((-1, Some(e))));
            }
            return Ok(Some((-1, Some("EPIPE"))));
        }
        // A Fast Open child writes before the final ACK (Linux's
        // sk_stream_wait_connect lets `tcp_passive_fastopen` through).
        let tfo_child = self
            .ep
            .as_ref()
            .and_then(|e| e.connection(h))
            .is_some_and(|c| c.fast_open_child());
        match self.state_of(h) {
            Some(State::SynReceived) if tfo_child => {}
            Some(State::SynSent | State::SynReceived) => {
                return Ok(if nonblock {
                    Some((-1, Some("EAGAIN")))
                } else {
                    None
                });
            }
            Some(State::Established | State::CloseWait) => {}
            _ => return Ok(Some((-1, Some(self.take_err(fd).unwrap_or("EPIPE"))))),
        }
        // As Linux copies a write into the send queue while it sends
        // (tcp_push_one), the limits are checked again after each part.
        loop {
            let mut want = n - b.done.min(n);
            if want == 0 {
                break;
            }
            // Linux's send-buffer limit (SO_SNDBUF or tcp_wmem[1]) and
            // TCP_NOTSENT_LOWAT, kept here at the socket layer: the engine's
            // ring is as large as autotuning could make it (tcp_wmem[2]).
            let (queued, notsent, mss, wnd) = self
                .ep
                .as_ref()
                .and_then(|e| e.connection(h))
                .map_or((0, 0, 1, 0), |c| {
                    let i = c.info(self.now);
                    (
                        c.send_queue(),
                        i.notsent_bytes as usize,
                        i.snd_mss.max(1) as usize,
                        i.snd_wnd as usize,
                    )
                });
            let limit = f.sndbuf_limit.unwrap_or(self.settings.sndbuf);
            want = want.min(limit.saturating_sub(queued));
            if let Some(l) =
                f.lowat.or((self.settings.notsent_lowat != u32::MAX)
                    .then_some(self.settings.notsent_lowat))
            {
                // Linux (tcp_sendmsg_locked) copies a write into packets of
                // `size_goal` bytes and tests TCP_NOTSENT_LOWAT
                // (sk_stream_memory_free) only before it starts a new one:
                // the unsent tail packet is filled up to `size_goal` first,
                // whatever the unsent bytes.
                let goal = size_goal(wnd, mss);
                let tail = notsent % goal;
                want = want.min(if tail > 0 {
                    goal - tail
                } else if notsent < l as usize {
                    goal
                } else {
                    0
                });
            }
            if want == 0 {
                // The socket's limits leave no room now.
                break;
            }
            let data = vec![0u8; want];
            let now = self.now;
            // MSG_EOR ends a record with the write's last byte.
            let last = b.done + want == n;
            let r = self.ep.as_mut().map(|e| match how {
                How::More => e
                    .on_app_call(now, h, crate::AppCall::SendMore(&data))
                    .map(|o| o.len),
                How::Eor if last => e
                    .on_app_call(now, h, crate::AppCall::SendEor(&data))
                    .map(|o| o.len),
                _ => e.send(now, h, &data),
            });
            let k = match r {
                Some(Ok(k)) => k,
                _ => return Ok(Some((-1, Some("EPIPE")))),
            };
            b.done += k;
            self.pump()?;
            if k == 0 {
                break;
            }
        }
        if b.done >= n {
            return Ok(Some((n as i64, None)));
        }
        if nonblock {
            return Ok(Some(if b.done > 0 {
                (b.done as i64, None)
            } else {
                (-1, Some("EAGAIN"))
            }));
        }
        Ok(None)
    }

    fn read(&mut self, fd: i64, n: usize, dontwait: bool) -> Res<Ret> {
        let Some(f) = self.fds.get(&fd).cloned() else {
            return Ok(Some((-1, Some("EBADF"))));
        };
        if f.deferred {
            // A deferred Fast Open connect: nothing to read yet.
            return Ok(if f.nonblock || dontwait {
                Some((-1, Some("EAGAIN")))
            } else {
                None
            });
        }
        let Kind::Conn(h) = f.kind else {
            return Ok(Some((-1, Some("ENOTCONN"))));
        };
        let nonblock = f.nonblock || dontwait;
        let (queued, eof) = match self.ep.as_ref().and_then(|e| e.connection(h)) {
            Some(c) => (c.recv_queue(), c.is_eof()),
            None => (0, true),
        };
        if queued > 0 && n > 0 {
            let mut buf = vec![0u8; n];
            let now = self.now;
            let r = self.ep.as_mut().map(|e| e.recv(now, h, &mut buf));
            let k = match r {
                Some(Ok(k)) => k,
                _ => 0,
            };
            self.pump()?;
            return Ok(Some((k as i64, None)));
        }
        if let Some(e) = self.take_err(fd) {
            return Ok(Some((-1, Some(e))));
        }
        if eof || f.rd_shut || f.gone.is_some() {
            return Ok(Some((0, None)));
        }
        if matches!(self.state_of(h), Some(State::SynSent | State::SynReceived)) && nonblock {
            return Ok(Some((-1, Some("EAGAIN"))));
        }
        if nonblock {
            return Ok(Some((-1, Some("EAGAIN"))));
        }
        Ok(None)
    }

    /// The options set on a socket before its active open, given to the
    /// connection it opened.
    fn opened(&mut self, h: Handle, f: &Fd) {
        let now = self.now;
        let Some(ep) = self.ep.as_mut() else {
            return;
        };
        if f.nodelay {
            let _ = ep.on_app_call(now, h, crate::AppCall::SetNoDelay(true));
        }
        if let Some(n) = f.syncnt {
            let _ = ep.on_app_call(now, h, crate::AppCall::SetSynRetries(n));
        }
        if f.keepalive {
            let _ = ep.on_app_call(now, h, crate::AppCall::SetKeepalive(keepalive_of(f)));
        }
    }

    fn setsockopt(&mut self, line: usize, c: &Syscall) -> Res<Ret> {
        let fd = self.fd(line, c, 0)?;
        let level = c.args.get(1).map_or(-1, eval);
        let name = c.args.get(2).map_or(-1, eval);
        let val = c.args.get(3).cloned().unwrap_or(Expr::Ellipsis);
        let int = match &val {
            Expr::List(v) => v.first().map_or(0, eval),
            e => eval(e),
        };
        let now = self.now;
        let Some(f) = self.fds.get_mut(&fd) else {
            return Ok(Some((-1, Some("EBADF"))));
        };
        let opened = f.kind != Kind::Fresh;
        match (level, name) {
            (SOL_SOCKET, SO_REUSEADDR) => {}
            (SOL_SOCKET, SO_KEEPALIVE)
            | (IPPROTO_TCP, TCP_KEEPIDLE | TCP_KEEPINTVL | TCP_KEEPCNT) => {
                // Linux: 1..=32767 s (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL),
                // 1..=127 probes (MAX_TCP_KEEPCNT), else EINVAL.
                let max = if name == TCP_KEEPCNT { 127 } else { 32767 };
                if level == IPPROTO_TCP && !(1..=max).contains(&int) {
                    return Ok(Some((-1, Some("EINVAL"))));
                }
                match (level, name) {
                    (SOL_SOCKET, _) => f.keepalive = int != 0,
                    (_, TCP_KEEPIDLE) => f.ka.0 = int as u32,
                    (_, TCP_KEEPINTVL) => f.ka.1 = int as u32,
                    _ => f.ka.2 = int as u8,
                }
                let k = keepalive_of(f);
                if let Kind::Conn(h) = f.kind
                    && (name == SO_KEEPALIVE || f.keepalive)
                    && let Some(ep) = self.ep.as_mut()
                {
                    let _ = ep.on_app_call(now, h, crate::AppCall::SetKeepalive(k));
                    self.pump()?;
                }
            }
            (SOL_SOCKET, SO_SNDBUF) if opened => {
                // Linux doubles the value and locks it (no autotuning); the
                // limit is kept here, at the socket layer.
                f.sndbuf_limit = Some(2 * (int.max(0) as usize).max(2304));
            }
            (SOL_SOCKET, SO_RCVBUF) | (SOL_SOCKET, SO_SNDBUF) => {
                if opened {
                    return Err(Stop::Unsupported(
                        line,
                        "SO_RCVBUF on an open connection (the receive buffer is fixed when it opens)"
                            .into(),
                    ));
                }
                // Linux doubles the value (bookkeeping overhead) and uses
                // about half for data: the engine gets the value itself.
                let v = (int.max(0) as usize).max(2048);
                if name == SO_RCVBUF {
                    f.rcvbuf = Some(v);
                } else {
                    f.sndbuf = Some(v);
                }
            }
            (SOL_SOCKET, SO_LINGER) => match &val {
                Expr::Struct(fields) => {
                    let get = |k: &str| {
                        fields
                            .iter()
                            .find(|(n, _)| n == k || n == &format!("l_{k}"))
                            .map_or(0, |(_, e)| eval(e))
                    };
                    if get("onoff") != 0 && get("linger") != 0 {
                        return Err(Stop::Unsupported(line, "SO_LINGER with a timeout".into()));
                    }
                    f.linger0 = get("onoff") != 0;
                }
                _ => return Ok(Some((-1, Some("EINVAL")))),
            },
            (IPPROTO_TCP, TCP_NODELAY) => {
                f.nodelay = int != 0;
                if let Kind::Conn(h) = f.kind
                    && let Some(ep) = self.ep.as_mut()
                {
                    let _ = ep.on_app_call(now, h, crate::AppCall::SetNoDelay(int != 0));
                    self.pump()?;
                }
            }
            (IPPROTO_TCP, TCP_MAXSEG) => {
                let m = int.clamp(88, 65535) as u16;
                f.maxseg = Some(m);
                match f.kind {
                    Kind::Fresh => {}
                    // On a listener: its children's MSS. The Endpoint has
                    // one configuration; one that holds nothing but this
                    // listener is made again with the new MSS.
                    Kind::Listener(_) => {
                        let backlog = f.backlog;
                        self.relisten(line, fd, backlog, |cfg| cfg.conn.mss = m)?;
                    }
                    Kind::Conn(_) => {
                        return Err(Stop::Unsupported(
                            line,
                            "TCP_MAXSEG on an open connection".into(),
                        ));
                    }
                }
            }
            (IPPROTO_TCP, TCP_USER_TIMEOUT) => {
                let t = (int > 0).then(|| crate::Duration::from_millis(int as u64));
                f.user_timeout = t;
                if let Kind::Conn(h) = f.kind
                    && let Some(ep) = self.ep.as_mut()
                {
                    let _ = ep.on_app_call(now, h, crate::AppCall::SetUserTimeout(t));
                    self.pump()?;
                }
            }
            // Linux: 1..=127 (MAX_TCP_SYNCNT), else EINVAL.
            (IPPROTO_TCP, TCP_SYNCNT) => {
                if !(1..=127).contains(&int) {
                    return Ok(Some((-1, Some("EINVAL"))));
                }
                f.syncnt = Some(int as u8);
                if let Kind::Conn(h) = f.kind
                    && let Some(ep) = self.ep.as_mut()
                {
                    let _ = ep.on_app_call(now, h, crate::AppCall::SetSynRetries(int as u8));
                }
            }
            (IPPROTO_TCP, TCP_CORK) => {
                f.cork = int != 0;
                let corked = f.cork;
                if let Kind::Conn(h) = f.kind
                    && let Some(ep) = self.ep.as_mut()
                {
                    let _ = ep.on_app_call(now, h, crate::AppCall::SetCork(corked));
                    self.pump()?;
                }
            }
            (IPPROTO_TCP, TCP_NOTSENT_LOWAT) => {
                f.lowat = (int as u32 != u32::MAX).then_some(int as u32);
            }
            (IPPROTO_TCP, TCP_INQ) => f.inq = int != 0,
            // TCP Fast Open (RFC 7413): a listener's queue, any time before
            // or after listen (Linux: in CLOSE or LISTEN).
            (IPPROTO_TCP, TCP_FASTOPEN) => match f.kind {
                Kind::Conn(_) => return Ok(Some((-1, Some("EINVAL")))),
                Kind::Listener(id) => {
                    f.fo_qlen = int.max(0) as u32;
                    if let Some(ep) = self.ep.as_mut() {
                        let _ = ep.set_listener_fast_open(id, int.max(0) as u32);
                    }
                }
                Kind::Fresh => f.fo_qlen = int.max(0) as u32,
            },
            (IPPROTO_TCP, TCP_FASTOPEN_CONNECT) => {
                if !(0..=1).contains(&int) {
                    return Ok(Some((-1, Some("EINVAL"))));
                }
                if self.settings.fastopen & 1 == 0 {
                    return Ok(Some((-1, Some("EOPNOTSUPP"))));
                }
                if opened {
                    return Ok(Some((-1, Some("EINVAL"))));
                }
                f.fo_connect = int != 0;
            }
            (IPPROTO_TCP, TCP_FASTOPEN_KEY) => {
                let len = c.args.get(4).map_or(0, eval);
                let key: Option<[u8; 16]> = match &val {
                    Expr::Str(t) if len == 16 => unescape(t).try_into().ok(),
                    _ => None,
                };
                let Some(key) = key else {
                    return Ok(Some((-1, Some("EINVAL"))));
                };
                f.fo_key = Some(key);
                if let Kind::Listener(id) = f.kind
                    && let Some(ep) = self.ep.as_mut()
                {
                    let _ = ep.set_listener_fast_open_key(id, key);
                }
            }
            // IP-level options that change nothing an engine sends: the
            // TOS byte and DF (path MTU discovery) are the host's, marks
            // are for routing.
            (SOL_IP, IP_MTU_DISCOVER) | (SOL_IP, IP_TOS) | (SOL_SOCKET, SO_MARK) => {}
            // Allows MSG_ZEROCOPY, whose data goes out the same (above).
            (SOL_SOCKET, SO_ZEROCOPY) => {}
            _ => {
                return Err(Stop::Unsupported(
                    line,
                    format!("socket option {}", arg_text(c.args.get(2))),
                ));
            }
        }
        Ok(Some((0, None)))
    }

    fn getsockopt(&mut self, line: usize, c: &Syscall) -> Res<Ret> {
        let fd = self.fd(line, c, 0)?;
        let level = c.args.get(1).map_or(-1, eval);
        let name = c.args.get(2).map_or(-1, eval);
        let Some(f) = self.fds.get(&fd).cloned() else {
            return Ok(Some((-1, Some("EBADF"))));
        };
        let cfg = self
            .ep
            .as_ref()
            .map(|e| e.config().clone())
            .unwrap_or_else(EndpointConfig::linux);
        let conn = match f.kind {
            Kind::Conn(h) => self.ep.as_ref().and_then(|e| e.connection(h)),
            _ => None,
        };
        let v: i64 = match (level, name) {
            (SOL_SOCKET, SO_ERROR) => {
                let e = self.fds.get_mut(&fd).and_then(|x| x.err.take());
                i64::from(e.unwrap_or(0))
            }
            (SOL_SOCKET, SO_REUSEADDR) => 1,
            (SOL_SOCKET, SO_RCVBUF) => 2 * f.rcvbuf.unwrap_or(cfg.rx_buffer) as i64,
            (SOL_SOCKET, SO_SNDBUF) => f
                .sndbuf_limit
                .or(f.sndbuf.map(|s| 2 * s))
                .unwrap_or(self.settings.sndbuf) as i64,
            (IPPROTO_TCP, TCP_NOTSENT_LOWAT) => {
                // The socket's own value (0: unset, the sysctl applies).
                i64::from(f.lowat.unwrap_or(0) as i32)
            }
            (IPPROTO_TCP, TCP_INQ) => i64::from(f.inq),
            (IPPROTO_TCP, TCP_USER_TIMEOUT) => f.user_timeout.map_or(0, |t| t.as_millis() as i64),
            (SOL_SOCKET, SO_KEEPALIVE) => i64::from(f.keepalive),
            (IPPROTO_TCP, TCP_KEEPIDLE) => i64::from(f.ka.0),
            (IPPROTO_TCP, TCP_KEEPINTVL) => i64::from(f.ka.1),
            (IPPROTO_TCP, TCP_KEEPCNT) => i64::from(f.ka.2),
            (IPPROTO_TCP, TCP_NODELAY) => i64::from(f.nodelay),
            (IPPROTO_TCP, TCP_MAXSEG) => match conn {
                Some(c) if c.state() != State::SynSent => i64::from(c.effective_mss()),
                _ => i64::from(f.maxseg.unwrap_or(536)),
            },
            _ => {
                return Err(Stop::Unsupported(
                    line,
                    format!("socket option {}", arg_text(c.args.get(2))),
                ));
            }
        };
        let want = match c.args.get(3) {
            Some(Expr::List(l)) => l.first().cloned(),
            Some(Expr::Ellipsis) | None => None,
            Some(e) => Some(e.clone()),
        };
        if let Some(w) = want
            && w != Expr::Ellipsis
            && eval(&w) != v
        {
            return Err(Stop::Fail(
                line,
                format!("expected `{}` got value [{v}]", c.text),
            ));
        }
        Ok(Some((0, None)))
    }

    fn poll(&mut self, line: usize, c: &Syscall, b: &mut Blocked, first: bool) -> Res<Ret> {
        let Some(Expr::List(items)) = c.args.first() else {
            return Err(Stop::Unsupported(line, "poll without a pollfd list".into()));
        };
        let timeout = c.args.get(2).map_or(0, eval);
        let mut ready = 0;
        let mut mismatch = None;
        for it in items {
            let Expr::Struct(fields) = it else {
                return Err(Stop::Unsupported(line, "poll item".into()));
            };
            let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, e)| eval(e));
            let fd = get("fd").unwrap_or(-1);
            let events = get("events").unwrap_or(0);
            let revents = self.revents(fd) & (events | POLLERR | POLLHUP | POLLNVAL);
            if revents != 0 {
                ready += 1;
            }
            if let Some(w) = get("revents")
                && w != revents
            {
                mismatch = Some((fd, w, revents));
            }
        }
        let _ = first;
        if ready == 0 && timeout != 0 {
            // Blocks: until something is ready or the timeout (the
            // timeout itself is the script's `...end`).
            if c.end.is_some() && timeout > 0 && us(self.now) >= b.lo + timeout * 1000 - b.tol {
                return Ok(Some((0, None)));
            }
            return Ok(None);
        }
        if let Some((fd, w, got)) = mismatch {
            return Err(Stop::Fail(
                line,
                format!(
                    "expected `{}` got revents {got:#x} on fd {fd} (not {w:#x})",
                    c.text
                ),
            ));
        }
        Ok(Some((ready, None)))
    }

    /// Linux's POLLOUT test of TCP_NOTSENT_LOWAT (tcp_poll,
    /// __sk_stream_is_writeable with `wake` = 1, tcp_stream_memory_free):
    /// twice the unsent bytes below the limit.
    fn lowat_writeable(&self, f: &Fd, notsent: u32) -> bool {
        let Some(l) = f
            .lowat
            .or((self.settings.notsent_lowat != u32::MAX).then_some(self.settings.notsent_lowat))
        else {
            return true;
        };
        u64::from(notsent) * 2 < u64::from(l)
    }

    fn revents(&self, fd: i64) -> i64 {
        let Some(f) = self.fds.get(&fd) else {
            return POLLNVAL;
        };
        match f.kind {
            // A deferred Fast Open connect takes a write.
            Kind::Fresh if f.deferred => POLLOUT,
            Kind::Fresh => POLLOUT | POLLHUP,
            Kind::Listener(id) => {
                let q = self
                    .ep
                    .as_ref()
                    .and_then(|e| e.queue_lengths(id))
                    .map_or(0, |q| q.0);
                if q > 0 { POLLIN | POLLRDNORM } else { 0 }
            }
            Kind::Conn(h) => {
                let mut r = 0;
                if f.err.is_some() {
                    r |= POLLERR;
                }
                let conn = self.ep.as_ref().and_then(|e| e.connection(h));
                match conn {
                    None => {
                        r |= POLLIN | POLLRDNORM | POLLRDHUP | POLLHUP;
                        if f.gone != Some(CloseReason::Normal) && !f.wr_shut {
                            r |= POLLOUT | POLLWRNORM;
                        }
                    }
                    Some(c) => {
                        let st = c.state();
                        // Linux's tcp_poll: RCV_SHUTDOWN (the peer's FIN
                        // arrived, read or not) gives POLLIN and POLLRDHUP.
                        let fin_in = c.is_eof()
                            || matches!(
                                st,
                                State::CloseWait
                                    | State::Closing
                                    | State::LastAck
                                    | State::TimeWait
                            );
                        if c.recv_queue() > 0 || fin_in || f.rd_shut {
                            r |= POLLIN | POLLRDNORM;
                        }
                        if fin_in {
                            r |= POLLRDHUP;
                        }
                        if matches!(st, State::Established | State::CloseWait)
                            && c.send_capacity() > 0
                            && !f.wr_shut
                            && self.lowat_writeable(f, c.info(self.now).notsent_bytes)
                        {
                            r |= POLLOUT | POLLWRNORM;
                        }
                        if c.is_eof() && f.wr_shut {
                            r |= POLLHUP;
                        }
                    }
                }
                r
            }
        }
    }
}

/// A send's flags that change how the engine queues it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum How {
    Plain,
    /// MSG_MORE: `AppCall::SendMore`.
    More,
    /// MSG_EOR: `AppCall::SendEor` (a record ends with the write).
    Eor,
}

/// Linux's `size_goal` for a write (tcp_xmit_size_goal): a GSO packet of
/// at most 64 KB, bounded to half the peer's window (tcp_bound_to_half_wnd,
/// here the current window for the largest one seen), in whole segments.
fn size_goal(wnd: usize, mss: usize) -> usize {
    let cut = if wnd > 536 { wnd / 2 } else { wnd };
    let bytes = if cut > 0 { cut.min(65_535) } else { 65_535 };
    (bytes / mss).max(1) * mss
}

/// The bytes of an iovec list (`[{..., 10}, {..., 20}]`).
fn iov_len(e: Option<&Expr>) -> i64 {
    match e {
        Some(Expr::List(items)) => items
            .iter()
            .map(|it| match it {
                Expr::Struct(f) => f.last().map_or(0, |(_, v)| eval(v)),
                _ => 0,
            })
            .sum(),
        _ => 0,
    }
}

/// How many non-empty iovecs a msghdr holds (a zerocopy send's fragments).
fn zerocopy_frags(e: Option<&Expr>) -> usize {
    let Some(Expr::Struct(fields)) = e else {
        return 0;
    };
    match fields.iter().find(|(n, _)| n == "msg_iov").map(|(_, v)| v) {
        Some(Expr::List(items)) => items
            .iter()
            .filter(
                |it| matches!(it, Expr::Struct(f) if f.last().is_some_and(|(_, v)| eval(v) > 0)),
            )
            .count(),
        _ => 0,
    }
}

/// The bytes a msghdr's iovecs hold, and whether it has control messages.
fn msghdr(e: Option<&Expr>) -> (i64, bool) {
    let Some(Expr::Struct(fields)) = e else {
        return (0, false);
    };
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v);
    let control = matches!(get("msg_control"), Some(Expr::List(l)) if !l.is_empty());
    (iov_len(get("msg_iov")), control)
}

/// The TCP_CM_INQ value a msghdr's `msg_control` expects, when that is
/// its one control message.
fn cm_inq(e: Option<&Expr>) -> Option<i64> {
    let Some(Expr::Struct(fields)) = e else {
        return None;
    };
    let Some((_, Expr::List(cmsgs))) = fields.iter().find(|(n, _)| n == "msg_control") else {
        return None;
    };
    let [Expr::Struct(m)] = cmsgs.as_slice() else {
        return None;
    };
    let get = |k: &str| m.iter().find(|(n, _)| n == k).map(|(_, v)| eval(v));
    (get("cmsg_level") == Some(IPPROTO_TCP) && get("cmsg_type") == Some(TCP_INQ))
        .then(|| get("cmsg_data"))
        .flatten()
}

/// A socket's keep-alive as the engine takes it (`None`: off).
fn keepalive_of(f: &Fd) -> Option<crate::Keepalive> {
    f.keepalive.then(|| crate::Keepalive {
        idle: crate::Duration::from_secs(u64::from(f.ka.0)),
        interval: crate::Duration::from_secs(u64::from(f.ka.1)),
        probes: f.ka.2,
    })
}

/// The socket error a connection's end leaves (`err` is the one pending).
/// The Endpoint's counter that `nstat` shows as `name` (Linux's
/// `/proc/net/snmp` and `/proc/net/netstat` names), if it keeps one.
fn nstat(c: &crate::endpoint::Counters, name: &str) -> Option<u64> {
    Some(match name {
        "TcpActiveOpens" => c.active_opens,
        "TcpPassiveOpens" => c.passive_opens,
        "TcpAttemptFails" => c.attempt_fails,
        "TcpEstabResets" => c.estab_resets,
        "TcpInSegs" => c.in_segs,
        "TcpOutSegs" => c.out_segs,
        "TcpRetransSegs" => c.retrans_segs,
        "TcpInErrs" => c.in_errs,
        "TcpInCsumErrors" => c.in_csum_errors,
        "TcpOutRsts" => c.out_rsts,
        "TcpExtListenOverflows" => c.listen_overflows,
        "TcpExtListenDrops" => c.listen_drops,
        "TcpExtSyncookiesSent" => c.syncookies_sent,
        "TcpExtSyncookiesRecv" => c.syncookies_recv,
        "TcpExtSyncookiesFailed" => c.syncookies_failed,
        "TcpExtTCPTimeWaitOverflow" => c.time_wait_overflow,
        "TcpExtPAWSEstabRejected" => c.paws_rejected,
        "TcpExtTCPACKSkippedTimeWait" => c.tw_acks_skipped,
        "TcpExtTWRecycled" => c.tw_reused,
        "TcpExtTCPAbortOnMemory" => c.orphan_resets,
        "TcpExtOutOfWindowIcmps" => c.out_of_window_icmps,
        _ => return None,
    })
}

/// The socket error a connection's end leaves (`icmp`: the connection's
/// ICMP error, for `CloseReason::Unreachable`).
fn close_errno(
    reason: CloseReason,
    last_state: Option<State>,
    err: Option<i32>,
    icmp: Option<crate::IcmpError>,
) -> Option<i32> {
    match reason {
        CloseReason::Unreachable => Some(icmp.map_or(EHOSTUNREACH, icmp_errno)),
        CloseReason::Refused => Some(ECONNREFUSED),
        // Linux tcp_reset: EPIPE in CLOSE-WAIT (the peer had closed its
        // side already).
        CloseReason::Reset if last_state == Some(State::CloseWait) => Some(EPIPE),
        CloseReason::Reset => Some(ECONNRESET),
        CloseReason::TimedOut | CloseReason::UserTimeout => Some(ETIMEDOUT),
        _ => err,
    }
}

/// The errno Linux reports for an ICMP error (`icmp_err_convert` in
/// net/ipv4/icmp.c for destination unreachable, by code; EHOSTUNREACH for
/// time exceeded, EPROTO for parameter problem: `tcp_v4_err`).
fn icmp_errno(e: crate::IcmpError) -> i32 {
    use crate::IcmpError as I;
    match e {
        I::Unreachable {
            code: 0 | 6 | 9 | 11,
        } => ENETUNREACH,
        I::Unreachable { code: 2 } => ENOPROTOOPT,
        I::Unreachable { code: 3 } => ECONNREFUSED,
        I::Unreachable { code: 5 } => EOPNOTSUPP,
        I::Unreachable { code: 7 } => EHOSTDOWN,
        I::Unreachable { code: 8 } => ENONET,
        I::ParameterProblem => EPROTO,
        _ => EHOSTUNREACH,
    }
}

/// `tcp_info` of a socket whose connection is gone: TCP_CLOSE.
fn closed_info() -> crate::connection::TcpInfo {
    crate::connection::TcpInfo {
        state: 7,
        ..Default::default()
    }
}

fn eq(v: &str) -> String {
    if v.is_empty() {
        String::new()
    } else {
        format!("={v}")
    }
}

fn arg_text(e: Option<&Expr>) -> String {
    match e {
        Some(Expr::Sym(s)) => s.clone(),
        Some(Expr::Int(i)) => i.to_string(),
        _ => "?".into(),
    }
}

/// The bytes of a C string literal's text (`\xNN`, `\n`, `\\` escapes).
fn unescape(t: &str) -> Vec<u8> {
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'x' => {
                    let hex: String = t[i + 2..]
                        .chars()
                        .take(2)
                        .take_while(|c| c.is_ascii_hexdigit())
                        .collect();
                    out.push(u8::from_str_radix(&hex, 16).unwrap_or(0));
                    i += 2 + hex.len();
                    continue;
                }
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'0' => out.push(0),
                c => out.push(c),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}
