//! Record ends (`AppCall::SendEor`, Linux's `MSG_EOR`): no segment, first
//! transmission or retransmission, carries bytes from both sides of one,
//! and the segment that ends a record carries PSH. An explicit request of
//! the application, so both presets keep it (issue 15;
//! tests/packetdrill/eor-record-end.pkt pins the Linux preset's timing
//! against what Linux did).

mod script;

use script::*;
use tcpstate::AppCall;

#[test]
fn a_record_end_ends_segments_and_carries_psh_in_both_presets() {
    for linux in [false, true] {
        let mut s = established_with(preset(linux));
        let una = s.c.snd_nxt();
        // 200 bytes ending a record, then 300 more: the record goes alone
        // (the peer's MSS, 536, would take 500), with PSH.
        s.app(|c, now| {
            c.on_app_call(now, AppCall::SendEor(&[2; 200]))
                .unwrap()
                .actions
        });
        assert_eq!(s.send(&[3; 300]), 300);
        let v = s.out();
        assert_eq!(v[0].seq(), una, "linux {linux}");
        assert_eq!(v[0].payload, [2; 200], "linux {linux}");
        assert_eq!(v[0].flags(), f(PSH, ACK), "linux {linux}");
        // The rest is the queue's tail: Nagle holds it while the record
        // is unacknowledged (RFC 9293 §3.7.4).
        assert_eq!(v.len(), 1, "linux {linux}: {v:#?}");
        // The retransmission timeout resends from SND.UNA: the record
        // again, alone, with PSH.
        s.fire();
        let v = s.out();
        assert_eq!(v[0].seq(), una, "linux {linux}");
        assert_eq!(v[0].payload, [2; 200], "linux {linux}");
        assert_eq!(v[0].flags(), f(PSH, ACK), "linux {linux}");
        // Once the record is acknowledged, the rest goes in one segment.
        s.peer_ack(ACK, una.add(200), &[]);
        let v = s.out();
        assert_eq!(v.len(), 1, "linux {linux}: {v:#?}");
        assert_eq!(v[0].seq(), una.add(200), "linux {linux}");
        assert_eq!(v[0].payload, [3; 300], "linux {linux}");
    }
}

#[test]
fn bytes_queued_before_a_record_join_it_and_later_sends_do_not() {
    for linux in [false, true] {
        let mut s = established_with(preset(linux));
        let una = s.c.snd_nxt();
        // The peer's window takes one segment: 64 bytes wait behind it.
        s.peer_wnd = 536;
        s.peer_ack(ACK, una, &[]);
        assert_eq!(s.send(&[1; 600]), 600);
        assert_eq!(s.out().len(), 1, "linux {linux}");
        s.app(|c, now| c.send_eor(now, &[2; 100]).unwrap().actions);
        assert_eq!(s.send(&[3; 100]), 100);
        s.app(|c, now| c.send_eor(now, &[4; 50]).unwrap().actions);
        s.silent();
        // The window opens. The waiting bytes and the first record: one
        // segment, sent at once (it cannot grow). The second record (the
        // plain 100 bytes and the last 50) is the queue's tail, which
        // Nagle holds while the short segment is unacknowledged.
        s.peer_wnd = 65535;
        s.peer_ack(ACK, una.add(536), &[]);
        let v = s.out();
        let got: Vec<_> = v
            .iter()
            .map(|p| (p.seq(), p.payload.len(), p.flags()))
            .collect();
        assert_eq!(got, [(una.add(536), 164, f(PSH, ACK))], "linux {linux}");
        s.peer_ack(ACK, una.add(700), &[]);
        let v = s.out();
        assert_eq!(v.len(), 1, "linux {linux}: {v:#?}");
        assert_eq!((v[0].seq(), v[0].payload.len()), (una.add(700), 150));
        assert_eq!(v[0].flags(), f(PSH, ACK), "linux {linux}");
    }
}

/// At most `MAX_RECORDS` (1024) record ends are kept unacknowledged;
/// past that a mark is dropped and its record merges with the next (a
/// byte stream allows it; see `connection::records`). 1026 records of one
/// byte queued at once: the first 1024 go one byte a segment, the last
/// two together.
#[test]
fn record_ends_past_the_limit_are_dropped() {
    let mut s = established_with(preset(false));
    let una = s.c.snd_nxt();
    for i in 0..1026u32 {
        s.app(|c, now| c.send_eor(now, &[i as u8]).unwrap().actions);
    }
    let mut lens = Vec::new();
    let mut acked = una;
    for _ in 0..2000 {
        let v = s.out();
        if v.is_empty() && acked == una.add(1026) {
            break;
        }
        for p in &v {
            lens.push(p.payload.len());
            acked = p.seq().add(p.payload.len() as u32);
        }
        s.peer_ack(ACK, acked, &[]);
    }
    assert_eq!(lens.len(), 1025, "{lens:?}");
    assert!(lens[..1024].iter().all(|&n| n == 1));
    assert_eq!(lens[1024], 2);
}

/// Acknowledged record ends leave room for new ones: the limit of 1024
/// counts the marks not yet acknowledged, not every mark ever set (an ACK
/// past a mark drops it). 1100 records sent and acknowledged one at a
/// time, then three queued at once: three segments, not one.
#[test]
fn acknowledged_record_ends_leave_room_for_new_ones() {
    let mut s = established_with(preset(false));
    let una = s.c.snd_nxt();
    for i in 0..1100u32 {
        s.app(|c, now| c.send_eor(now, &[i as u8]).unwrap().actions);
        let v = s.out();
        assert_eq!(v.len(), 1, "record {i}");
        s.peer_ack(ACK, una.add(i + 1), &[]);
    }
    let una = s.c.snd_nxt();
    for i in 0..3u8 {
        s.app(|c, now| c.send_eor(now, &[i]).unwrap().actions);
    }
    let mut lens = Vec::new();
    let mut acked = una;
    for _ in 0..10 {
        let v = s.out();
        if v.is_empty() && acked == una.add(3) {
            break;
        }
        for p in &v {
            lens.push(p.payload.len());
            acked = p.seq().add(p.payload.len() as u32);
        }
        s.peer_ack(ACK, acked, &[]);
    }
    assert_eq!(lens, [1, 1, 1]);
}

/// A record end after `SendMore` data: the record's end is the end of the
/// write that said no more is to come (Linux `MSG_EOR` without
/// `MSG_MORE`), so what was held goes with it at once, one segment that
/// ends with PSH.
#[test]
fn a_record_end_after_send_more_data_sends_both_with_psh() {
    for linux in [false, true] {
        let mut s = established_with(preset(linux));
        let una = s.c.snd_nxt();
        s.app(|c, now| {
            c.on_app_call(now, AppCall::SendMore(&[1; 40]))
                .unwrap()
                .actions
        });
        s.silent();
        s.app(|c, now| c.send_eor(now, &[2; 40]).unwrap().actions);
        let v = s.out();
        assert_eq!(v.len(), 1, "linux {linux}: {v:#?}");
        assert_eq!((v[0].seq(), v[0].payload.len()), (una, 80), "linux {linux}");
        assert_eq!(v[0].flags(), f(PSH, ACK), "linux {linux}");
    }
}
