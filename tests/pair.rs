//! Two connections over an in-memory link: whole lifecycles.
mod common;
use common::*;
use tcpstate::{CloseReason, Config, Duration, State};

#[test]
fn handshake_data_both_ways_and_close() {
    let mut p = Pair::open(Config::linux(), 8192, 8192);
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + 3) as u8).collect();
    let back: Vec<u8> = (0..50_000u32).map(|i| (i * 13 + 1) as u8).collect();
    let (mut sent_a, mut sent_b) = (0, 0);
    let (mut got_b, mut got_a) = (Vec::new(), Vec::new());
    for _ in 0..10_000 {
        let now = p.now;
        if sent_a < data.len() {
            let o = p.a.send(now, &data[sent_a..]).unwrap();
            sent_a += o.len;
            p.record(true, &o.actions);
        }
        if sent_b < back.len() {
            let o = p.b.send(now, &back[sent_b..]).unwrap();
            sent_b += o.len;
        }
        read_all(&mut p.b, now, &mut got_b);
        read_all(&mut p.a, now, &mut got_a);
        if got_b.len() == data.len() && got_a.len() == back.len() {
            break;
        }
        p.run_for(Duration::from_millis(10));
    }
    assert_eq!(got_b, data);
    assert_eq!(got_a, back);
    p.app_a(|c, now| c.close(now).unwrap());
    p.run_for(Duration::from_millis(100));
    assert_eq!(
        p.b.state(),
        State::CloseWait,
        "{:#?}",
        &p.log[p.log.len().saturating_sub(10)..]
    );
    assert_eq!(p.a.state(), State::FinWait2);
    p.app_b(|c, now| c.close(now).unwrap());
    p.run_for(Duration::from_millis(100));
    assert_eq!(p.b.state(), State::Closed);
    assert_eq!(p.b.close_reason(), Some(CloseReason::Normal));
    assert_eq!(p.a.state(), State::TimeWait);
    p.run_for(Duration::from_secs(61));
    assert_eq!(p.a.state(), State::Closed);
    assert_eq!(p.a.close_reason(), Some(CloseReason::Normal));
}
