//! Property tests of the invariants in DESIGN.md, on the simulator
//! (`tcpstate::sim`) with random links, scripts and seeds.
//!
//! Each case is a [`Scenario`]: a seed, the link's parameters and both
//! applications' scripts. A failure prints the shrunk scenario (its
//! `Debug` is written to be read), the violations and the end of the
//! trace; `Scenario::run` replays it exactly.
//!
//! Case counts: `PROPTEST_CASES` sets every property's count; by default
//! the file runs in well under a minute in a debug build.

use proptest::prelude::*;
use proptest::test_runner::Config as PtConfig;
use tcpstate::sim::{Ev, GilbertElliott, LinkConfig, Report, Script, Sim, Step};
use tcpstate::wire::{Flags, TcpHeader};
use tcpstate::{
    Buffers, CloseReason, Config, Connection, Duration, Instant, SeqNum, State, TcpOptions,
    state::is_allowed,
};

fn cases(default: u32) -> PtConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    PtConfig {
        cases: n,
        max_shrink_iters: 2000,
        ..PtConfig::default()
    }
}

// ----- scenarios ----------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Preset {
    Rfc9293,
    Linux,
}

impl Preset {
    fn config(self) -> Config {
        match self {
            Preset::Rfc9293 => Config::rfc9293(),
            Preset::Linux => Config::linux(),
        }
    }
}

#[derive(Clone)]
struct Scenario {
    seed: u64,
    preset: Preset,
    link: LinkConfig,
    a: Script,
    b: Script,
    buf: usize,
    keepalive: bool,
}

fn pct(p: f64) -> String {
    format!("{:.1}%", p * 100.0)
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let l = &self.link;
        writeln!(f, "Scenario {{")?;
        writeln!(
            f,
            "  seed: {:#x}, preset: {}, buffers: {} B{}",
            self.seed,
            match self.preset {
                Preset::Rfc9293 => "rfc9293()",
                Preset::Linux => "linux()",
            },
            self.buf,
            if self.keepalive {
                ", keep-alive 30s/5s/3"
            } else {
                ""
            }
        )?;
        write!(f, "  link: delay {:?}, jitter {:?}", l.delay, l.jitter)?;
        match l.bandwidth {
            Some(bw) => write!(f, ", {bw} B/s, queue {} B", l.queue_limit)?,
            None => write!(f, ", unlimited bandwidth")?,
        }
        write!(
            f,
            ", loss {}, dup {}, reorder {} (+{:?}), corrupt {}",
            pct(l.loss),
            pct(l.duplicate),
            pct(l.reorder),
            l.reorder_delay,
            pct(l.corrupt)
        )?;
        if let Some(g) = l.burst {
            write!(
                f,
                ", bursts (good->bad {}, bad->good {}, loss {} / {})",
                pct(g.p_good_to_bad),
                pct(g.p_bad_to_good),
                pct(g.loss_good),
                pct(g.loss_bad)
            )?;
        }
        if let Some(t) = l.cut_at {
            write!(f, ", cut at {t:?}")?;
        }
        writeln!(f)?;
        writeln!(f, "  A (connects): {}", self.a)?;
        writeln!(f, "  B (listens):  {}", self.b)?;
        write!(f, "}}")
    }
}

impl Scenario {
    fn sim(&self) -> Sim {
        let mut sim = Sim::new(self.seed);
        let ab = sim.add_link(self.link.clone());
        let ba = sim.add_link(self.link.clone());
        let mut cfg = self.preset.config();
        if self.keepalive {
            // So that a side with nothing to send also notices a dead path
            // (DESIGN.md: "with a dead link they end in CLOSED with TimedOut").
            cfg.keepalive = Some(tcpstate::Keepalive {
                idle: Duration::from_secs(30),
                interval: Duration::from_secs(5),
                probes: 3,
            });
        }
        let host = |script: &Script| tcpstate::sim::HostConfig {
            config: cfg.clone(),
            rx_buf: self.buf,
            tx_buf: self.buf,
            script: script.clone(),
        };
        sim.add_pair(host(&self.a), host(&self.b), ab, ba);
        sim.step_cap = 500_000;
        sim.time_limit = sim.start + Duration::from_secs(3600);
        sim
    }

    fn run(&self) -> (Sim, Report) {
        let mut sim = self.sim();
        let r = sim.run();
        (sim, r)
    }
}

/// The last records of a trace, for failure messages.
fn tail(sim: &Sim) -> String {
    let r = &sim.trace.records;
    r[r.len().saturating_sub(30)..]
        .iter()
        .map(|r| format!("  {:?} host {} {:?}", r.t, r.host, short(&r.ev)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn short(ev: &Ev) -> String {
    match ev {
        Ev::Wrote(d) => format!("Wrote({} B)", d.len()),
        Ev::Read(d) => format!("Read({} B)", d.len()),
        e => format!("{e:?}"),
    }
}

fn arb_link(max_loss: f64) -> impl Strategy<Value = LinkConfig> {
    (
        (
            1u64..60,
            0u64..10,
            prop::option::of((50_000u64..5_000_000, 8_000usize..100_000)),
        ),
        (
            0.0..max_loss,
            prop::option::of((0.001f64..0.05, 0.3f64..0.8, 0.1f64..0.5)),
        ),
        (0.0..0.05f64, 0.0..0.1f64, 1u64..50, 0.0..0.05f64),
    )
        .prop_map(|((d, j, bw), (loss, burst), (dup, reo, reo_d, corrupt))| {
            let mut l = LinkConfig::ideal(Duration::from_millis(d));
            l.jitter = Duration::from_millis(j);
            if let Some((bw, q)) = bw {
                l = l.with_bandwidth(bw, q);
            }
            l.loss = loss;
            l.burst = burst.map(|(g2b, b2g, lb)| GilbertElliott {
                p_good_to_bad: g2b,
                p_bad_to_good: b2g,
                loss_good: 0.0,
                loss_bad: lb,
            });
            l.duplicate = dup;
            l.reorder = reo;
            l.reorder_delay = Duration::from_millis(reo_d);
            l.corrupt = corrupt;
            l
        })
}

fn arb_preset() -> impl Strategy<Value = Preset> {
    prop_oneof![Just(Preset::Rfc9293), Just(Preset::Linux)]
}

/// Sends and waits (the body of a well-behaved script).
fn arb_body(max: usize) -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            3 => (0..max).prop_map(Step::Send),
            1 => (0u64..300).prop_map(|ms| Step::Wait(Duration::from_millis(ms))),
            1 => Just(Step::Read),
        ],
        0..4,
    )
}

/// Well-behaved scripts that always let both sides finish: A sends, then
/// half-closes and waits for B's FIN; B either does the same or waits for
/// A's FIN first and then sends (data after a FIN: the half-close case).
fn arb_closing_scripts(max: usize) -> impl Strategy<Value = (Script, Script)> {
    (arb_body(max), arb_body(max), any::<bool>()).prop_map(|(a, b, b_waits)| {
        let mut sa = a;
        sa.extend([Step::Shutdown, Step::WaitEof, Step::Close]);
        let sb = if b_waits {
            let mut s = vec![Step::WaitEof];
            s.extend(b);
            s.push(Step::Close);
            s
        } else {
            let mut s = b;
            s.extend([Step::Shutdown, Step::WaitEof, Step::Close]);
            s
        };
        (
            Script {
                steps: sa,
                auto_read: true,
            },
            Script {
                steps: sb,
                auto_read: true,
            },
        )
    })
}

/// Any script: closes, shutdowns and aborts anywhere, reading or not.
fn arb_any_script(max: usize) -> impl Strategy<Value = Script> {
    (
        prop::collection::vec(
            prop_oneof![
                4 => (0..max).prop_map(Step::Send),
                2 => (0u64..2000).prop_map(|ms| Step::Wait(Duration::from_millis(ms))),
                2 => Just(Step::Read),
                1 => Just(Step::WaitEof),
                1 => Just(Step::Shutdown),
                1 => Just(Step::Close),
                1 => Just(Step::Abort),
            ],
            0..8,
        ),
        any::<bool>(),
    )
        .prop_map(|(steps, auto_read)| Script { steps, auto_read })
}

fn arb_closing_scenario(max_loss: f64, max_bytes: usize) -> impl Strategy<Value = Scenario> {
    (
        any::<u64>(),
        arb_preset(),
        arb_link(max_loss),
        arb_closing_scripts(max_bytes),
        prop_oneof![Just(4096usize), Just(16_384), Just(65_536)],
    )
        .prop_map(|(seed, preset, link, (a, b), buf)| Scenario {
            seed,
            preset,
            link,
            a,
            b,
            buf,
            keepalive: false,
        })
}

// ----- graph ----------------------------------------------------------------

proptest! {
    #![proptest_config(cases(48))]

    /// Graph (and every other trace check) under any scripts, including
    /// closes and aborts at any point and applications that never read:
    /// each state change is an edge of TRANSITIONS and starts where the
    /// last one ended; TIME-WAIT is entered only from FIN-WAIT-1/2 or
    /// CLOSING; nothing is sent past a FIN; bytes read are a prefix of
    /// bytes written; EOF comes after all data.
    #[test]
    fn graph_and_trace_invariants_under_any_script(
        sc in (any::<u64>(), arb_preset(), arb_link(0.2), arb_any_script(40_000),
               arb_any_script(40_000), prop_oneof![Just(2048usize), Just(65_536)])
            .prop_map(|(seed, preset, link, a, b, buf)| Scenario { seed, preset, link, a, b, buf, keepalive: false })
    ) {
        let (sim, r) = sc.run();
        let v = sim.trace.check();
        prop_assert!(v.is_empty(), "{sc:?}\nviolations: {v:#?}\n{r:#?}\n{}", tail(&sim));
        prop_assert!(r.end != tcpstate::sim::End::StepCap, "{sc:?}\n{r:#?}\n{}", tail(&sim));
    }
}

// ----- delivery and half-close ---------------------------------------------

/// Whether host `h` of a clean close (both scripts shut down and wait for
/// the peer's FIN) ending with `reason`, not `Normal`, is the one outcome
/// no protocol can rule out: every ACK of `h`'s FIN was lost (the closing
/// handshake's last ACK is never acknowledged itself). Precisely:
///
/// - `h` read the peer's FIN (its application saw the end of the data;
///   `check_complete` has checked that every byte arrived, in order,
///   once) and left CLOSING or LAST-ACK, its own FIN unacknowledged;
/// - the peer acknowledged everything `h` sent, FIN included (a segment
///   with that ACK is in the trace: it was lost), entered TIME-WAIT and
///   ended `Normal` when 2MSL ran out;
/// - `Reset`: `h` retransmitted its FIN after that and the peer, with no
///   TCB left, answered with a RST (RFC 9293 §3.10.8, the TIME-WAIT
///   timeout deletes the TCB; §3.10.7.1, a segment to a CLOSED
///   connection gets a RST); the RST came after the peer's TIME-WAIT
///   ended;
/// - `TimedOut`: `h` gave up retransmitting (RFC 9293 §3.8.3, R2; an
///   orphan's `tcp_orphan_retries` with `linux()`) before any ACK or RST
///   got through.
///
/// Both were seen on unmutated code (tests/MUTANTS.md);
/// tests/properties.proptest-regressions replays them first on every run:
/// sim seed 0xaa703ea7d54631e7 (`Reset`: A's backed-off FIN
/// retransmission reached B after B's TIME-WAIT ended) and
/// 0xd9a4ce6941e819b9 (`TimedOut`: a Gilbert-Elliott bad state, stepped
/// per packet, not per second, lasted through B's orphan retransmissions
/// and A's ACKs; B gave up after `linux()`'s 8 orphan retries, at 103 s).
fn last_fin_unacknowledged(
    sim: &Sim,
    r: &Report,
    h: usize,
    reason: CloseReason,
) -> Result<(), String> {
    use tcpstate::state::Event as E;
    let peer = 1 - h;
    let records = &sim.trace.records;
    if r.close_reasons[peer] != Some(CloseReason::Normal) {
        return Err(format!(
            "host {h}: {reason:?}, and its peer did not end normally"
        ));
    }
    if !records.iter().any(|x| x.host == h && x.ev == Ev::Eof) {
        return Err(format!(
            "host {h}: {reason:?} before it read the peer's FIN"
        ));
    }
    // `h`'s last state change, and the peer's TIME-WAIT ending.
    let (t_end, last) = sim.trace.states(h).last().ok_or("no state change")?;
    if !matches!(last.from, State::Closing | State::LastAck) {
        return Err(format!(
            "host {h}: {reason:?} from {:?}, not CLOSING or LAST-ACK",
            last.from
        ));
    }
    let Some((t_tw, tw_end)) = sim.trace.states(peer).last() else {
        return Err("the peer has no state change".into());
    };
    if (tw_end.from, tw_end.event) != (State::TimeWait, E::TimeWaitTimeout) {
        return Err(format!(
            "host {h}: {reason:?}, but the peer did not leave TIME-WAIT by its timeout: {tw_end:?}"
        ));
    }
    // Everything `h` sent, its FIN included, was acknowledged by the peer.
    let h_end = records
        .iter()
        .filter(|x| x.host == h)
        .filter_map(|x| match x.ev {
            Ev::Sent {
                seq, flags, len, ..
            } => Some(seq.add(len + u32::from(flags.syn()) + u32::from(flags.fin()))),
            _ => None,
        })
        // The latest in sequence-number order (RFC 9293 §3.4).
        .reduce(|a, b| {
            if (b.0.wrapping_sub(a.0) as i32) > 0 {
                b
            } else {
                a
            }
        })
        .ok_or("host sent nothing")?;
    let acked = records.iter().any(|x| {
        x.host == peer && matches!(x.ev, Ev::Sent { ack, flags, .. } if flags.ack() && ack == h_end)
    });
    if !acked {
        return Err(format!(
            "host {h}: {reason:?}, and the peer never acknowledged its FIN ({h_end:?})"
        ));
    }
    // The peer, CLOSED, answered with a RST after its TIME-WAIT ended.
    let rst_after = |t| {
        records.iter().any(|x| {
            x.host == peer && x.t > t && matches!(x.ev, Ev::Sent { flags, .. } if flags.rst())
        })
    };
    match (reason, last.event) {
        (CloseReason::Reset, E::RcvRst) if t_end > t_tw && rst_after(t_tw) => Ok(()),
        (CloseReason::TimedOut, E::RetransmitTimeout) => Ok(()),
        _ => Err(format!(
            "host {h}: {reason:?} by {last:?} at {t_end:?} (the peer left TIME-WAIT at {t_tw:?})"
        )),
    }
}

proptest! {
    #![proptest_config(cases(64))]

    /// Delivery: under loss, bursts, duplication, reordering and corruption
    /// that let segments through eventually, every byte written is read,
    /// in order, once; both ends finish CLOSED, normally, but for the one
    /// thing no protocol can avoid (`last_fin_unacknowledged`): the ACK of
    /// the last FIN lost every time.
    #[test]
    fn delivery_under_impairments(sc in arb_closing_scenario(0.1, 30_000)) {
        let (sim, r) = sc.run();
        let v = sim.trace.check_complete();
        prop_assert!(v.is_empty(), "{sc:?}\nviolations: {v:#?}\n{r:#?}\n{}", tail(&sim));
        prop_assert_eq!(r.end, tcpstate::sim::End::AllClosed, "{:?}\n{:#?}", sc, r);
        for (h, c) in r.close_reasons.iter().enumerate() {
            if *c == Some(CloseReason::Normal) {
                continue;
            }
            let why = match c {
                Some(reason) => last_fin_unacknowledged(&sim, &r, h, *reason),
                None => Err(format!("host {h} has no close reason")),
            };
            prop_assert!(why.is_ok(), "{sc:?}\n{}\n{r:#?}\n{}", why.unwrap_err(), tail(&sim));
        }
    }

    /// Half-close: A sends, half-closes and keeps reading; B waits for A's
    /// FIN, then sends any amount. All of B's data reaches A in full, in
    /// order, once, while A is in FIN-WAIT; A sends no data past its FIN;
    /// each FIN reaches the application only after all data before it.
    #[test]
    fn half_close(
        seed in any::<u64>(),
        preset in arb_preset(),
        link in arb_link(0.1),
        first in 0usize..20_000,
        after in 1usize..60_000,
        buf in prop_oneof![Just(4096usize), Just(65_536)],
    ) {
        let a = Script { steps: vec![Step::Send(first), Step::Shutdown, Step::WaitEof, Step::Close], auto_read: true };
        let b = Script { steps: vec![Step::WaitEof, Step::Send(after), Step::Close], auto_read: true };
        let sc = Scenario { seed, preset, link, a, b, buf, keepalive: false };
        let (sim, r) = sc.run();
        let v = sim.trace.check_complete();
        prop_assert!(v.is_empty(), "{sc:?}\nviolations: {v:#?}\n{r:#?}\n{}", tail(&sim));
        // B wrote all its data after A had half-closed (and after B had
        // seen A's FIN); A read all of it (check_complete: in order, once).
        let a_closed = sim.trace.records.iter().position(|r| r.host == 0 && r.ev == Ev::WriteClosed);
        let b_eof = sim.trace.records.iter().position(|r| r.host == 1 && r.ev == Ev::Eof);
        prop_assert!(a_closed.is_some() && b_eof.is_some() && a_closed < b_eof);
        let read_half_closed: usize = sim.trace.records[b_eof.unwrap()..].iter()
            .filter_map(|r| match &r.ev { Ev::Wrote(d) if r.host == 1 => Some(d.len()), _ => None })
            .sum();
        prop_assert_eq!(read_half_closed, after, "{:?}\n{}", sc, tail(&sim));
    }

}

proptest! {
    #![proptest_config(cases(16))]

    /// A dead link: the path dies mid-transfer. Both ends finish CLOSED, the
    /// side with data outstanding with TimedOut, within the bound the
    /// configuration sets (retries with backoff capped at RTO max, or the
    /// keep-alive probes).
    #[test]
    fn dead_link_times_out(
        seed in any::<u64>(),
        preset in arb_preset(),
        cut_ms in 0u64..3000,
        delay in 1u64..50,
    ) {
        let mut link = LinkConfig::ideal(Duration::from_millis(delay)).with_bandwidth(200_000, 20_000);
        let cut = Instant::from_secs(1) + Duration::from_millis(cut_ms);
        link.cut_at = Some(cut);
        let a = Script { steps: vec![Step::Send(10_000_000), Step::Close], auto_read: true };
        let b = Script { steps: vec![Step::WaitEof, Step::Close], auto_read: true };
        let sc = Scenario { seed, preset, link, a, b, buf: 65_536, keepalive: true };
        let (sim, r) = sc.run();
        prop_assert!(sim.trace.check().is_empty(), "{sc:?}\n{:#?}", sim.trace.check());
        // B ends CLOSED, or back in LISTEN if the handshake never completed
        // (a half-open passive connection returns to LISTEN, RFC 9293 §3.8.3).
        let b_opened = sim.trace.states(1).any(|(_, c)| c.to == State::Established);
        prop_assert_eq!(r.states[0], State::Closed, "{:?}\n{:#?}", sc, r);
        prop_assert_eq!(r.states[1], if b_opened { State::Closed } else { State::Listen }, "{:?}\n{:#?}", sc, r);
        let cfg = sim.hosts[0].conn.config().clone();
        // Sender: SYN retries or retries2 with backoff, each wait at most RTO max.
        let retries = u32::from(cfg.retries2.max(cfg.syn_retries)) + 2;
        let bound = cfg.rto_max * retries + Duration::from_secs(1);
        let timed_out_at = sim.trace.records.iter()
            .find(|r| r.host == 0 && r.ev == Ev::Closed(CloseReason::TimedOut))
            .map(|r| r.t);
        prop_assert!(timed_out_at.is_some(), "{sc:?}\n{r:#?}");
        let took = timed_out_at.unwrap().saturating_duration_since(cut);
        prop_assert!(took <= bound, "timed out after {took:?} > {bound:?}\n{sc:?}");
        // The receiver notices through keep-alive (or was reset/closed).
        let ka = cfg.keepalive.unwrap();
        let ka_bound = ka.idle + ka.interval * u32::from(ka.probes) + cfg.rto_max * retries;
        let b_end = sim.trace.records.iter()
            .find(|r| r.host == 1 && matches!(r.ev, Ev::Closed(_)))
            .map(|r| r.t.saturating_duration_since(cut));
        prop_assert!(!b_opened || b_end.is_some_and(|t| t <= ka_bound), "{sc:?}\n{b_end:?} > {ka_bound:?}\n{r:#?}");
    }
}

// ----- TIME-WAIT -----------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum TwPoke {
    /// The peer's FIN again (its ACK was lost, say).
    RetransmittedFin,
    /// An in-window RST.
    Rst,
    /// A segment with new data.
    Data,
    /// Nothing: time passes.
    Nothing,
}

/// When host 0 last entered TIME-WAIT or restarted it (a FIN arrived).
fn tw_since(sim: &Sim) -> Instant {
    sim.trace
        .states(0)
        .filter(|(_, c)| c.to == State::TimeWait)
        .map(|(t, _)| t)
        .last()
        .unwrap_or(sim.start)
}

proptest! {
    #![proptest_config(cases(64))]

    /// TIME-WAIT: entered only by the side that closed first; lasts 2*MSL
    /// from the last FIN it ACKed; a retransmitted FIN is ACKed again and
    /// restarts the timer; an RST is ignored with RFC 1337 protection on
    /// (`rfc9293()`) and ends it without (`linux()`); no data is accepted.
    #[test]
    fn time_wait(
        seed in any::<u64>(),
        preset in arb_preset(),
        link in arb_link(0.05),
        n in 0usize..20_000,
        pokes in prop::collection::vec(
            ((0u64..1000), prop_oneof![
                Just(TwPoke::RetransmittedFin), Just(TwPoke::Rst),
                Just(TwPoke::Data), Just(TwPoke::Nothing)]),
            0..5),
    ) {
        let a = Script { steps: vec![Step::Send(n), Step::Close], auto_read: true };
        let b = Script { steps: vec![Step::WaitEof, Step::Close], auto_read: true };
        let sc = Scenario { seed, preset, link, a, b, buf: 65_536, keepalive: false };
        let mut sim = sc.sim();
        sim.run_while(sim.time_limit, |s| s.hosts[0].conn.state() != State::TimeWait);
        let cfg = preset.config();
        let tw = cfg.time_wait();
        prop_assert_eq!(sim.hosts[0].conn.state(), State::TimeWait, "{:?}\n{}", sc, tail(&sim));
        let entered = sim.now;
        prop_assert_eq!(sim.hosts[0].conn.deadline(), Some(entered + tw));
        let fin = sim.packets.iter().rev()
            .find(|p| p.from == 1 && TcpHeader::parse(&p.tcp).is_ok_and(|(h, _)| h.flags.fin()))
            .map(|p| TcpHeader::parse(&p.tcp).unwrap().0);
        prop_assert!(fin.is_some());
        let fin = fin.unwrap();
        for (i, (permille, poke)) in pokes.iter().enumerate() {
            // Somewhere inside what is left of TIME-WAIT.
            let at = tw_since(&sim) + tw.mul_f64(*permille as f64 / 1000.0 * 0.99);
            let _ = sim.run_until(at);
            // Without RFC 1337 a RST (say, the peer's answer to our re-ACK of
            // a duplicate FIN) may end TIME-WAIT early; with it, nothing does.
            if cfg.rfc1337 {
                prop_assert_eq!(sim.hosts[0].conn.state(), State::TimeWait, "{:?}\n{}", sc, tail(&sim));
            }
            sim.now = sim.now.max(at);
            if sim.hosts[0].conn.state() != State::TimeWait {
                break;
            }
            let c = &sim.hosts[0].conn;
            let (rcv_nxt, snd_nxt) = (c.rcv_nxt(), c.snd_nxt());
            let sent_before = sim.packets.len();
            match poke {
                TwPoke::RetransmittedFin => {
                    // A retransmission carries B's clock now (RFC 7323), so
                    // that PAWS does not take it for an old duplicate.
                    let mut fin = fin;
                    let last = sim.packets.iter().rev().filter(|p| p.from == 1)
                        .find_map(|p| TcpHeader::parse(&p.tcp).ok()?.0.options.timestamps.map(|t| (p.t, t)));
                    if let (Some(ts), Some((t, last))) = (fin.options.timestamps.as_mut(), last) {
                        let ms = sim.now.saturating_duration_since(t).as_millis() as u32;
                        ts.val = last.val.wrapping_add(ms);
                    }
                    let _ = sim.inject(0, &fin, &[]);
                    let c = &sim.hosts[0].conn;
                    prop_assert_eq!(c.state(), State::TimeWait, "poke {}: {:?}", i, sc);
                    prop_assert_eq!(c.deadline(), Some(sim.now + tw), "timer not restarted: {:?}", sc);
                    let acked = sim.packets[sent_before..].iter().any(|p| {
                        let (h, _) = TcpHeader::parse(&p.tcp).unwrap();
                        p.from == 0 && h.flags.ack() && h.ack == rcv_nxt
                    });
                    prop_assert!(acked, "retransmitted FIN not ACKed: {sc:?}");
                    prop_assert_eq!(tw_since(&sim), sim.now);
                }
                TwPoke::Rst => {
                    let mut h = fin;
                    h.seq = rcv_nxt;
                    h.flags = Flags::RST;
                    h.options = TcpOptions::NONE;
                    let _ = sim.inject(0, &h, &[]);
                    let st = sim.hosts[0].conn.state();
                    if cfg.rfc1337 {
                        prop_assert_eq!(st, State::TimeWait, "RST ended TIME-WAIT with RFC 1337 on: {:?}", sc);
                        prop_assert_eq!(sim.hosts[0].conn.deadline(), Some(tw_since(&sim) + tw));
                    } else {
                        prop_assert_eq!(st, State::Closed, "{:?}", sc);
                        break;
                    }
                }
                TwPoke::Data => {
                    let mut h = fin;
                    h.seq = rcv_nxt;
                    h.ack = snd_nxt;
                    h.flags = Flags::ACK | Flags::PSH;
                    let _ = sim.inject(0, &h, b"late data");
                    let c = &sim.hosts[0].conn;
                    prop_assert_eq!(c.recv_queue(), 0, "data accepted in TIME-WAIT: {:?}", sc);
                    prop_assert_eq!(c.rcv_nxt(), rcv_nxt);
                    prop_assert_eq!(c.state(), State::TimeWait);
                }
                TwPoke::Nothing => {}
            }
        }
        let end = sim.run();
        let v = sim.trace.check();
        prop_assert!(v.is_empty(), "{sc:?}\n{v:#?}\n{}", tail(&sim));
        prop_assert_eq!(end.states[0], State::Closed);
        // Who entered TIME-WAIT, and from where.
        for rec in &sim.trace.records {
            if let Ev::State(c) = rec.ev {
                if c.to == State::TimeWait && c.from != State::TimeWait {
                    prop_assert_eq!(rec.host, 0, "the side that closed second entered TIME-WAIT: {:?}", sc);
                }
            }
        }
    }
}

// ----- robustness ------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    /// A segment with fields relative to the connection's own numbers
    /// (near them, so that it often lands in the window) or raw.
    Seg {
        seq: i32,
        ack: i32,
        raw: Option<(u32, u32)>,
        flags: u8,
        window: u16,
        len: usize,
        ts: Option<(u32, u32)>,
        sack: Option<(i32, u32)>,
    },
    /// Time passes by this many ms, then the timer is called.
    Timer(u32),
    Connect,
    Listen,
    Send(usize),
    Recv(usize),
    Shutdown,
    Close,
    Abort,
    NoDelay(bool),
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (
            (-70_000i32..70_000, -70_000i32..70_000, prop::option::weighted(0.1, (any::<u32>(), any::<u32>()))),
            (any::<u8>(), any::<u16>(), 0usize..3000),
            (prop::option::of((any::<u32>(), any::<u32>())), prop::option::weighted(0.2, (-5000i32..5000, 0u32..5000))),
        )
            .prop_map(|((seq, ack, raw), (flags, window, len), (ts, sack))| Op::Seg { seq, ack, raw, flags, window, len, ts, sack }),
        3 => (0u32..200_000).prop_map(Op::Timer),
        1 => Just(Op::Connect),
        1 => Just(Op::Listen),
        2 => (0usize..10_000).prop_map(Op::Send),
        2 => (0usize..10_000).prop_map(Op::Recv),
        1 => Just(Op::Shutdown),
        1 => Just(Op::Close),
        1 => Just(Op::Abort),
        1 => any::<bool>().prop_map(Op::NoDelay),
    ]
}

proptest! {
    #![proptest_config(cases(256))]

    /// Robustness: arbitrary sequences of segments (arbitrary fields and
    /// payloads, mostly near the connection's sequence numbers), timer
    /// jumps and application calls in any state never panic (which
    /// includes the engine's own debug assertion that every state change is
    /// in the table), every reported state change is an edge of the table,
    /// and the queues never exceed the buffers.
    #[test]
    fn robustness(
        preset in arb_preset(),
        rx in 1usize..5000,
        tx in 1usize..5000,
        ops in prop::collection::vec(arb_op(), 1..60),
    ) {
        let mut c = Connection::new(preset.config(), Buffers::with_capacity(rx, tx)).expect("valid config");
        let mut now = Instant::from_secs(1);
        let mut out = vec![0u8; 70_000];
        let payload: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        let mut state = c.state();
        for op in &ops {
            let acts = match op {
                Op::Seg { seq, ack, raw, flags, window, len, ts, sack } => {
                    let (s, a) = match raw {
                        Some((s, a)) => (SeqNum(*s), SeqNum(*a)),
                        None => (
                            SeqNum(c.rcv_nxt().0.wrapping_add(*seq as u32)),
                            SeqNum(c.snd_una().0.wrapping_add(*ack as u32)),
                        ),
                    };
                    let mut opts = TcpOptions::NONE;
                    opts.timestamps = ts.map(|(val, ecr)| tcpstate::wire::Timestamps { val, ecr });
                    if let Some((off, l)) = sack {
                        let left = SeqNum(c.snd_una().0.wrapping_add(*off as u32));
                        opts.sack.push(left, left.add(*l));
                    }
                    if flags & 0x02 != 0 {
                        opts.mss = Some(536);
                        opts.window_scale = Some(flags & 0x0f);
                        opts.sack_permitted = true;
                    }
                    let h = TcpHeader { src_port: 1, dst_port: 2, seq: s, ack: a, flags: Flags(*flags), window: *window, urgent: 0, options: opts };
                    c.on_segment(now, &tcpstate::Segment::new(&h, &payload[..*len]))
                }
                Op::Timer(ms) => {
                    now += Duration::from_millis(u64::from(*ms));
                    c.on_timer(now)
                }
                Op::Connect => c.connect(now, SeqNum(1000)).unwrap_or_default(),
                Op::Listen => c.listen(now, SeqNum(2000)).unwrap_or_default(),
                Op::Send(n) => c.send(now, &payload[..(*n).min(3000)]).map(|o| o.actions).unwrap_or_default(),
                Op::Recv(n) => {
                    let mut b = vec![0u8; *n];
                    c.recv(now, &mut b).map(|o| o.actions).unwrap_or_default()
                }
                Op::Shutdown => c.shutdown(now).unwrap_or_default(),
                Op::Close => c.close(now).unwrap_or_default(),
                Op::Abort => c.abort(now).unwrap_or_default(),
                Op::NoDelay(on) => c.on_app_call(now, tcpstate::AppCall::SetNoDelay(*on)).map(|o| o.actions).unwrap_or_default(),
            };
            for ch in acts.state_changes() {
                prop_assert!(is_allowed(ch.from, ch.event, ch.to), "{ch:?} after {op:?}");
                prop_assert_eq!(ch.from, state, "discontinuous change {:?}", ch);
                state = ch.to;
            }
            prop_assert_eq!(state, c.state());
            let mut n = 0;
            while c.poll_transmit(now, &mut out).is_some() {
                n += 1;
                prop_assert!(n < 10_000, "poll_transmit does not end");
            }
            prop_assert!(c.recv_queue() <= rx, "recv_queue {} > {rx}", c.recv_queue());
            prop_assert!(c.send_queue() <= tx, "send_queue {} > {tx}", c.send_queue());
            prop_assert_eq!(c.stats().illegal_transitions, 0);
        }
    }
}
