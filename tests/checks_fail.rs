//! The checks can fail (issue 5, "What it must show"): the invariant
//! checker of `tcpstate::sim` is run over a real trace, then over copies
//! doctored to break one invariant each, and must report each one.

use tcpstate::sim::{Ev, LinkConfig, Record, Script, Sim, Trace, Violation};
use tcpstate::wire::Flags;
use tcpstate::{Config, Duration, Event, State};

fn good_trace() -> Trace {
    let mut sim = Sim::pair(
        11,
        Config::rfc9293(),
        LinkConfig::ideal(Duration::from_millis(10)),
        Script::send_then_close(5000),
        Script::send_then_close(3000),
    );
    sim.run();
    let t = sim.trace.clone();
    assert_eq!(t.check_complete(), vec![], "the undoctored trace must pass");
    t
}

fn find(t: &Trace, f: impl Fn(&Record) -> bool) -> usize {
    t.records.iter().position(f).expect("record")
}

#[test]
fn a_state_change_not_in_the_table_is_reported() {
    let mut t = good_trace();
    let i = find(
        &t,
        |r| matches!(r.ev, Ev::State(c) if c.to == State::Established),
    );
    if let Ev::State(c) = &mut t.records[i].ev {
        c.event = Event::RcvFin; // SYN-SENT --rcv FIN--> ESTABLISHED is no edge
    }
    assert!(
        t.check()
            .iter()
            .any(|v| matches!(v, Violation::IllegalEdge { .. }))
    );
}

#[test]
fn a_skipped_state_is_reported() {
    let mut t = good_trace();
    let i = find(
        &t,
        |r| matches!(r.ev, Ev::State(c) if c.to == State::FinWait1),
    );
    t.records.remove(i);
    assert!(
        t.check()
            .iter()
            .any(|v| matches!(v, Violation::Discontinuous { .. }))
    );
}

#[test]
fn time_wait_from_the_wrong_state_is_reported() {
    let mut t = good_trace();
    let i = find(
        &t,
        |r| matches!(r.ev, Ev::State(c) if c.to == State::TimeWait),
    );
    if let Ev::State(c) = &mut t.records[i].ev {
        c.from = State::CloseWait;
        c.event = Event::RcvFin;
    }
    let v = t.check();
    assert!(
        v.iter().any(|v| matches!(
            v,
            Violation::TimeWaitEntry {
                from: State::CloseWait,
                ..
            }
        )),
        "{v:?}"
    );
}

#[test]
fn a_short_time_wait_is_reported() {
    let mut t = good_trace();
    let i = find(
        &t,
        |r| matches!(r.ev, Ev::State(c) if c.event == Event::TimeWaitTimeout),
    );
    t.records[i].t = tcpstate::Instant::from_micros(t.records[i].t.as_micros() - 1_000_000);
    assert!(
        t.check()
            .iter()
            .any(|v| matches!(v, Violation::TimeWaitLength { .. }))
    );
}

#[test]
fn a_byte_delivered_twice_is_reported() {
    let mut t = good_trace();
    let i = find(&t, |r| matches!(&r.ev, Ev::Read(d) if d.len() > 10));
    let dup = t.records[i].clone();
    if let Ev::Read(d) = &mut t.records[i].ev {
        d.truncate(10);
    }
    t.records.insert(i + 1, dup);
    let v = t.check();
    assert!(
        v.iter()
            .any(|v| matches!(v, Violation::ReadMismatch { .. })),
        "{v:?}"
    );
}

#[test]
fn a_lost_byte_is_reported() {
    let mut t = good_trace();
    let i = find(&t, |r| matches!(&r.ev, Ev::Read(d) if d.len() > 10));
    if let Ev::Read(d) = &mut t.records[i].ev {
        d.remove(3);
    }
    let v = t.check_complete();
    assert!(
        v.iter()
            .any(|v| matches!(v, Violation::ReadMismatch { .. })),
        "{v:?}"
    );
    assert!(
        v.iter().any(|v| matches!(v, Violation::Undelivered { .. })),
        "{v:?}"
    );
}

#[test]
fn data_after_fin_is_reported() {
    let mut t = good_trace();
    let i = find(
        &t,
        |r| matches!(r.ev, Ev::Sent { flags, .. } if flags.fin()),
    );
    let (h, fin_seq) = match t.records[i].ev {
        Ev::Sent { seq, len, .. } => (t.records[i].host, seq.add(len)),
        _ => unreachable!(),
    };
    t.records.insert(
        i + 1,
        Record {
            t: t.records[i].t,
            host: h,
            ev: Ev::Sent {
                seq: fin_seq,
                ack: tcpstate::SeqNum(0),
                flags: Flags::ACK,
                len: 100,
            },
        },
    );
    assert!(
        t.check()
            .iter()
            .any(|v| matches!(v, Violation::DataAfterFin { .. }))
    );
}

#[test]
fn eof_before_the_data_is_reported() {
    let mut t = good_trace();
    let i = find(&t, |r| r.ev == Ev::Eof);
    let eof = t.records.remove(i);
    let j = find(&t, |r| r.host == eof.host && matches!(r.ev, Ev::Read(_)));
    t.records.insert(j, eof);
    assert!(
        t.check()
            .iter()
            .any(|v| matches!(v, Violation::EarlyEof { .. }))
    );
}

#[test]
fn a_connection_left_open_is_reported() {
    let mut t = good_trace();
    let i = t
        .records
        .iter()
        .rposition(|r| matches!(r.ev, Ev::State(c) if c.to == State::Closed))
        .unwrap();
    t.records.remove(i);
    assert!(
        t.check_complete()
            .iter()
            .any(|v| matches!(v, Violation::NotClosed { .. }))
    );
}
