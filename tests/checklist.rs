//! Where each row of the project's RFC checklist (`RFC-CHECKLIST.md`,
//! shared with the team: RFC 9293 Appendix B, the SEGMENT ARRIVES steps,
//! Figure 5's edges, the companion RFCs, Linux's defaults, the Endpoint)
//! is tested, for the rows that no test names: the tests that check the
//! rule under another name, or why the row cannot apply to a sans-IO
//! engine, or why it is not covered yet. Rows a test names (e.g.
//! `fn must_30_...`, or a comment citing `MUST-30` in a test file) are
//! not listed here.
//!
//! `every_mapped_test_exists` checks that each test named here exists, so
//! that a rename cannot leave a row pointing at nothing.

/// How a row is covered.
#[derive(Debug)]
enum Cover {
    /// Tests that check the rule: `file::function` (a file of `tests/`,
    /// or `src/...` for unit tests), or `pkt:name` for
    /// `tests/packetdrill/name.pkt` (run by `packetdrill::every_script_passes`).
    Tests(&'static [&'static str]),
    /// The row does not apply to a sans-IO engine, or is an option
    /// (MAY) not taken: why.
    NotApplicable(&'static str),
    /// Not covered yet: what is missing.
    NotYet(&'static str),
}
use Cover::*;

const ROWS: &[(&str, Cover)] = &[
    // 1.2 Window
    (
        "MAY-8",
        Tests(&[
            "adversarial/fixed::sender_persists_while_a_receiver_that_stopped_reading_answers",
        ]),
    ),
    (
        "SHLD-14",
        Tests(&[
            "hostile::regression_syn_received_window_never_shrinks",
            "adversarial/fixed::scaled_window_closes_when_the_buffer_fills",
        ]),
    ),
    // 1.4 Options
    (
        "MUST-4",
        Tests(&[
            "wire::linux_syn_parses_to_the_right_fields",
            "wire::eol_stops_parsing",
            "wire::mss_at_odd_offset",
        ]),
    ),
    ("MUST-5", Tests(&["wire::options_on_non_syn_segments"])),
    (
        "MUST-68",
        Tests(&["wire::emit_then_parse_round_trips", "wire::emit_layouts"]),
    ),
    (
        "MUST-16",
        Tests(&[
            "rfc9293_rows::must_14_shld_5_may_3_must_67_the_mss_option",
            "wire::emit_layouts",
        ]),
    ),
    (
        "MUST-69",
        Tests(&["wire::linux_syn_emits_byte_for_byte", "wire::emit_layouts"]),
    ),
    // 1.5 Checksums, ISN
    (
        "MUST-2",
        Tests(&[
            "endpoint::handshake_both_ways_data_and_time_wait",
            "wire::checksum_known_answer_v4",
            "wire::checksum_known_answer_v6",
        ]),
    ),
    (
        "MUST-3",
        Tests(&[
            "sim::corruption_is_caught_by_the_checksum",
            "wire::every_bit_flip_fails",
            "src/connection/tests::unverified_segment_with_bad_checksum_commits_nothing",
        ]),
    ),
    // 1.6 Opening
    (
        "MUST-11",
        Tests(&[
            "edges::edge_syn_received_passive_rcv_rst",
            "edges::edge_syn_received_active_rcv_rst",
        ]),
    ),
    (
        "MUST-10",
        Tests(&[
            "edges::edge_syn_sent_rcv_syn",
            "rfc9293_rows::sa_seq_10_self_connect",
        ]),
    ),
    (
        "MUST-41",
        Tests(&[
            "reuse_addr::must_42_listen_beside_an_active_open_on_the_same_port",
            "reuse_addr::two_listeners_on_one_port",
        ]),
    ),
    // 1.7 Closing
    (
        "MAY-1",
        Tests(&["segment_arrival::shld_3_close_with_unread_data_sends_rst"]),
    ),
    (
        "MUST-13",
        Tests(&[
            "edges::edge_time_wait_timeout",
            "properties::graph_and_trace_invariants_under_any_script",
        ]),
    ),
    (
        "MAY-2",
        Tests(&["endpoint::time_wait_reuse_with_a_higher_sequence_number"]),
    ),
    (
        "SHLD-4",
        Tests(&["endpoint::time_wait_reuse_with_timestamps"]),
    ),
    // 1.8 Retransmission, ACKs, sending
    (
        "MUST-19",
        Tests(&[
            "segment_arrival::must_18_rto_backoff_and_karn",
            "rfc9293_rows::r5681_5_loss_window_after_a_timeout",
            "recovery::r6928_initial_window_and_cubic_default",
            "recovery::r5681_restart_after_idle",
        ]),
    ),
    (
        "MAY-4",
        NotApplicable("the IP identification field is the host's: the engine writes TCP segments"),
    ),
    (
        "MAY-13",
        Tests(&["segment_arrival::sa_txt_2_out_of_order_then_fill"]),
    ),
    (
        "MUST-49",
        NotApplicable(
            "TTL / hop limit is set by the host, which builds the IP header around each \
             Datagram (src/embedding.rs)",
        ),
    ),
    // 1.9 Failures and keep-alive
    (
        "MUST-21",
        Tests(&[
            "segment_arrival::must_20_timed_out_after_retries2",
            "linux_fidelity::user_timeout_set_on_an_open_connection",
        ]),
    ),
    ("MAY-5", Tests(&["recovery::r1122_keepalive"])),
    (
        "MUST-26",
        Tests(&[
            "recovery::r1122_keepalive",
            "rfc9293_rows::must_24_27_keepalive_per_connection",
        ]),
    ),
    (
        "MAY-6",
        NotApplicable("not taken: probes carry no data (SHLD-12), as Linux's"),
    ),
    // 1.10 IP options, ICMP, addresses, interface
    (
        "MUST-50",
        NotApplicable("IP options are the IP layer's: the engine is given TCP segments"),
    ),
    (
        "MAY-10",
        NotApplicable("IP timestamp and record-route options are the IP layer's"),
    ),
    (
        "MUST-51",
        NotApplicable("source routing is the IP layer's (the host's)"),
    ),
    (
        "MUST-54",
        Tests(&[
            "recovery::r9293_icmp_soft_errors_and_pmtu",
            "contract::icmp_soft_errors_and_path_mtu",
        ]),
    ),
    (
        "SHLD-25",
        Tests(&[
            "recovery::r9293_icmp_soft_errors_and_pmtu",
            "contract::icmp_port_unreachable_refuses_a_connect_only_in_window",
        ]),
    ),
    (
        "MUST-47",
        Tests(&[
            "contract::reset_is_an_error_after_the_data",
            "edges::edge_established_rcv_rst",
        ]),
    ),
    (
        "SHLD-20",
        NotApplicable(
            "soft errors are never pushed: the application asks (Connection::soft_error), \
             so there is no report to turn off",
        ),
    ),
    (
        "MUST-48",
        NotApplicable("DSCP is in the IP header, which the host builds"),
    ),
    (
        "SHLD-21",
        NotApplicable("DSCP is in the IP header, which the host builds"),
    ),
    (
        "MAY-9",
        NotApplicable("DSCP is in the IP header, which the host reads"),
    ),
    (
        "MAY-14",
        NotApplicable("not taken: no FLUSH call (Linux has none either)"),
    ),
    (
        "MAY-12",
        Tests(&[
            "adversarial/held::rfc5961_blind_rst_syn_and_data",
            "segment_arrival::sa_ack_1_ack_range_check",
        ]),
    ),
    (
        "SHLD-8",
        Tests(&["recovery::r3168_ecn_negotiation_and_reaction"]),
    ),
    (
        "MAY-18",
        Tests(&[
            "recovery::r6928_initial_window_and_cubic_default",
            "src/connection/congestion/cubic::reduction_and_recovery_to_w_max",
        ]),
    ),
    // 2. SEGMENT ARRIVES
    (
        "SA-LI-3",
        NotApplicable("no security compartments (SA-SEC-1): the check always passes"),
    ),
    (
        "SA-SS-2",
        Tests(&[
            "segment_arrival::sa_ss_1_unacceptable_ack_gets_rst",
            "segment_arrival::sa_ss_7_syn_ack_with_data_and_fin",
        ]),
    ),
    ("SA-SS-3", Tests(&["edges::edge_syn_sent_rcv_rst"])),
    ("SA-SS-8", Tests(&["edges::edge_syn_sent_rcv_syn"])),
    (
        "SA-RST-4",
        Tests(&["edges::edge_syn_received_passive_rcv_rst"]),
    ),
    (
        "SA-SEC-1",
        NotApplicable("no security compartments: the check always passes (input.rs step 3)"),
    ),
    ("SA-FIN-2", Tests(&["edges::edge_established_rcv_fin"])),
    (
        "SA-SS-6",
        NotApplicable("no security compartments (SA-SEC-1): the check always passes"),
    ),
    (
        "SA-SS-10",
        Tests(&["segment_arrival::sa_li_4_syn_data_not_acked_then_retransmitted"]),
    ),
    (
        "SA-SEQ-5",
        Tests(&["segment_arrival::sa_cl_2_no_ack_gets_rst_ack_with_seg_len"]),
    ),
    (
        "SA-SEQ-9",
        Tests(&["endpoint::time_wait_reuse_with_timestamps"]),
    ),
    (
        "SA-RST-5",
        Tests(&["edges::edge_syn_received_active_rcv_rst"]),
    ),
    (
        "SA-SYN-4",
        Tests(&[
            "endpoint::time_wait_reuse_with_a_higher_sequence_number",
            "endpoint::time_wait_reuse_with_timestamps",
        ]),
    ),
    (
        "SA-SYN-5",
        NotApplicable("not taken: no RFC 793 mode; RFC 5961's challenge ACK always (SA-SYN-3)"),
    ),
    ("SA-ACK-5", Tests(&["edges::edge_fin_wait_1_rcv_ack"])),
    (
        "SA-ACK-7",
        Tests(&["segment_arrival::half_close_peer_we_keep_sending"]),
    ),
    (
        "SA-FIN-4",
        Tests(&[
            "edges::edge_fin_wait_1_rcv_fin",
            "edges::edge_fin_wait_1_rcv_fin_ack",
        ]),
    ),
    ("SA-FIN-5", Tests(&["edges::edge_fin_wait_2_rcv_fin"])),
    (
        "SA-TMO-1",
        Tests(&[
            "edges::edge_established_user_timeout",
            "recovery::r5482_user_timeout",
        ]),
    ),
    (
        "SA-TMO-2",
        Tests(&["segment_arrival::must_18_rto_backoff_and_karn"]),
    ),
    ("SA-TMO-3", Tests(&["edges::edge_time_wait_timeout"])),
    // 4.1 RFC 5961
    (
        "R5961-1",
        Tests(&[
            "segment_arrival::sa_rst_3_in_window_rst_challenged_in_every_state",
            "adversarial/held::rfc5961_blind_rst_syn_and_data",
        ]),
    ),
    (
        "R5961-5",
        Tests(&[
            "segment_arrival::sa_seq_6_unacceptable_gets_ack_in_every_state",
            "endpoint::time_wait_acks_carry_a_window_and_are_rate_limited",
        ]),
    ),
    // 4.3 RFC 6191
    (
        "R6191-1",
        Tests(&["endpoint::time_wait_reuse_with_timestamps"]),
    ),
    (
        "R6191-2",
        Tests(&["endpoint::time_wait_reuse_with_a_higher_sequence_number"]),
    ),
    ("R6191-3", Tests(&["endpoint::tw_reuse_on_connect"])),
    (
        "R6191-4",
        Tests(&[
            "endpoint::time_wait_reuse_with_timestamps",
            "endpoint::time_wait_reuse_with_a_higher_sequence_number",
        ]),
    ),
    ("R6191-5", Tests(&["endpoint::tw_reuse_on_connect"])),
    // 4.4 RFC 7323
    (
        "R7323-4",
        Tests(&["adversarial/fixed::scaled_window_closes_when_the_buffer_fills"]),
    ),
    (
        "R7323-7",
        Tests(&["linux_fidelity::ts_recent_ignores_a_segment_acknowledging_unsent_data"]),
    ),
    (
        "R7323-8",
        Tests(&["recovery::r3522_eifel_undoes_a_spurious_timeout"]),
    ),
    (
        "R7323-9",
        Tests(&["adversarial/held::paws_across_the_tsval_wrap"]),
    ),
    (
        "R7323-11",
        Tests(&[
            "endpoint::new_connections_take_the_pair_timestamp_offset",
            "endpoint::active_open_keeps_one_timestamp_clock",
        ]),
    ),
    // 4.5 RFC 6298
    (
        "R6298-1",
        Tests(&["segment_arrival::must_22_syn_retries_backoff_then_timed_out"]),
    ),
    (
        "R6298-4",
        Tests(&["src/config::presets_follow_their_sources"]),
    ),
    (
        "R6298-5",
        Tests(&["src/config::presets_follow_their_sources"]),
    ),
    (
        "R6298-6",
        Tests(&["segment_arrival::must_18_rto_backoff_and_karn"]),
    ),
    (
        "R6298-7",
        Tests(&["segment_arrival::must_18_rto_backoff_and_karn"]),
    ),
    (
        "R6298-8",
        Tests(&[
            "segment_arrival::must_18_rto_backoff_and_karn",
            "pkt:rto-backoff",
        ]),
    ),
    // 4.6 RFC 5681, RFC 3042
    (
        "R5681-1",
        Tests(&["recovery::r6928_initial_window_and_cubic_default"]),
    ),
    (
        "R5681-2",
        Tests(&["recovery::r6928_initial_window_and_cubic_default"]),
    ),
    (
        "R5681-7",
        Tests(&["recovery::r6582_newreno_partial_ack", "pkt:fast-retransmit"]),
    ),
    (
        "R5681-8",
        Tests(&["segment_arrival::sa_txt_2_out_of_order_then_fill"]),
    ),
    ("R5681-9", Tests(&["recovery::r5681_restart_after_idle"])),
    ("R3042-1", Tests(&["pkt:limited-transmit"])),
    // 4.7 RFC 6582
    ("R6582-1", Tests(&["recovery::r6582_newreno_partial_ack"])),
    ("R6582-2", Tests(&["recovery::r6582_newreno_partial_ack"])),
    ("R6582-3", Tests(&["recovery::r6582_newreno_partial_ack"])),
    (
        "R6582-4",
        Tests(&["recovery_modern::r5682_duplicate_ack_in_step_2_is_conventional"]),
    ),
    // 4.8 SACK
    (
        "R2018-1",
        Tests(&[
            "recovery::r6675_retransmits_only_the_hole",
            "pkt:sack-recovery",
        ]),
    ),
    (
        "R2018-2",
        Tests(&["recovery::r2018_sack_blocks_most_recent_first_and_dsack"]),
    ),
    (
        "R2018-3",
        Tests(&["recovery::recovery_state_is_on_the_heap_only_while_a_hole_exists"]),
    ),
    // R2018-4 as Linux's `tcp_enter_loss`: the scoreboard is forgotten at
    // a timeout when it covers SND.UNA (the peer reneged), kept otherwise.
    (
        "R2018-4",
        Tests(&["adversarial/fixed::reneging_receiver_gets_its_data_after_a_timeout"]),
    ),
    (
        "R2883-1",
        Tests(&["recovery::r2018_sack_blocks_most_recent_first_and_dsack"]),
    ),
    (
        "R6675-1",
        Tests(&["recovery::r6675_retransmits_only_the_hole"]),
    ),
    (
        "R6675-2",
        Tests(&["recovery::r6675_retransmits_only_the_hole"]),
    ),
    (
        "R6675-3",
        Tests(&[
            "recovery::r6675_retransmits_only_the_hole",
            "recovery::r6937_prr_one_segment_at_a_time",
        ]),
    ),
    (
        "R6675-4",
        Tests(&["recovery::r6675_retransmits_only_the_hole"]),
    ),
    // 4.9 RACK-TLP
    (
        "R8985-1",
        Tests(&["recovery::r8985_rack_detects_loss_with_fewer_than_dupthresh_sacks"]),
    ),
    (
        "R8985-2",
        Tests(&[
            "recovery_modern::r8985_reo_wnd_grows_with_dsack_once_per_round",
            "recovery_modern::r8985_reo_wnd_is_at_most_srtt",
        ]),
    ),
    (
        "R8985-3",
        Tests(&[
            "recovery::r8985_tail_loss_probe_before_rto",
            "pkt:tail-loss-probe",
        ]),
    ),
    (
        "R8985-4",
        NotYet(
            "TLP loss detection (RFC 8985 §7.4: cwnd reduced when the probe repaired a loss) is not implemented",
        ),
    ),
    (
        "R8985-5",
        Tests(&["recovery::r8985_lost_retransmission_resent_without_rto"]),
    ),
    // 4.10 CUBIC
    (
        "R9438-1",
        Tests(&["src/connection/congestion/cubic::reduction_and_recovery_to_w_max"]),
    ),
    (
        "R9438-2",
        Tests(&["src/connection/congestion/cubic::cube_root"]),
    ),
    (
        "R9438-4",
        Tests(&["src/connection/congestion/cubic::fast_convergence"]),
    ),
    (
        "R9438-6",
        Tests(&[
            "recovery::r3522_eifel_undoes_a_spurious_timeout",
            "recovery_modern::r5682_spurious_timeout_detected_and_undone",
        ]),
    ),
    // 4.11 ISN, ports, cookies, UTO, ECN
    (
        "R6528-1",
        Tests(&["endpoint::isn_is_monotonic_per_tuple_and_unpredictable_across_tuples"]),
    ),
    (
        "R6056-1",
        Tests(&["endpoint::ephemeral_ports_run_out_with_a_typed_error"]),
    ),
    (
        "R6056-2",
        Tests(&[
            "endpoint::ephemeral_ports_run_out_with_a_typed_error",
            "endpoint::tw_reuse_on_connect",
        ]),
    ),
    (
        "R4987-1",
        Tests(&["endpoint::syn_flood_with_cookies_lets_legitimate_clients_in"]),
    ),
    (
        "R4987-2",
        Tests(&["endpoint::forged_and_stale_cookies_are_refused_and_counted"]),
    ),
    (
        "R4987-3",
        Tests(&["endpoint::syn_flood_with_cookies_lets_legitimate_clients_in"]),
    ),
    ("R5482-1", Tests(&["recovery::r5482_user_timeout"])),
    (
        "R3168-1",
        Tests(&["recovery::r3168_ecn_negotiation_and_reaction"]),
    ),
    // 4.12 RFC 1122 / 9293: delayed ACK, keep-alive, SWS, Nagle
    (
        "R1122-DA-1",
        Tests(&[
            "segment_arrival::must_40_delayed_ack",
            "segment_arrival::shld_19_ack_every_second_full_segment",
        ]),
    ),
    (
        "R1122-DA-2",
        Tests(&["segment_arrival::sa_txt_2_out_of_order_then_fill"]),
    ),
    ("R1122-KA-1", Tests(&["recovery::r1122_keepalive"])),
    (
        "R9293-SWS-1",
        Tests(&["recovery::r9293_receiver_sws_avoidance_and_window_update"]),
    ),
    (
        "R9293-SWS-2",
        Tests(&["recovery::r9293_nagle_holds_small_segments", "pkt:nagle"]),
    ),
    (
        "R9293-NAGLE-1",
        Tests(&[
            "recovery::r9293_nagle_holds_small_segments",
            "segment_arrival::shld_7_nagle_on",
        ]),
    ),
    // 5. Linux defaults
    (
        "ACK every 2nd full segment",
        Tests(&["segment_arrival::shld_19_ack_every_second_full_segment"]),
    ),
    (
        "LNX-1",
        Tests(&["linux_fidelity::rst_of_close_with_unread_data_per_preset"]),
    ),
    ("LNX-2", Tests(&["edges::edge_fin_wait_1_data_after_close"])),
    (
        "LNX-3",
        Tests(&[
            "endpoint::time_wait_reuse_with_a_higher_sequence_number",
            "endpoint::tw_reuse_on_connect",
        ]),
    ),
    (
        "LNX-4",
        Tests(&["segment_arrival::r1337_off_linux_time_wait_rst_closes"]),
    ),
    (
        "LNX-5",
        Tests(&["endpoint::forged_and_stale_cookies_are_refused_and_counted"]),
    ),
    (
        "LNX-6",
        Tests(&["endpoint::backlog_overflow_drops_the_final_ack_until_the_app_accepts"]),
    ),
    (
        "LNX-8",
        Tests(&["segment_arrival::fsm_32_orphan_fin_wait_2_times_out"]),
    ),
    // 6. Endpoint and cross-cutting
    (
        "EP-2",
        Tests(&[
            "endpoint::time_wait_reuse_with_a_higher_sequence_number",
            "endpoint::time_wait_reuse_with_timestamps",
        ]),
    ),
    (
        "EP-3",
        Tests(&["endpoint::syn_flood_with_cookies_lets_legitimate_clients_in"]),
    ),
    (
        "EP-4",
        Tests(&["endpoint::backlog_overflow_drops_the_final_ack_until_the_app_accepts"]),
    ),
    (
        "EP-5",
        Tests(&["endpoint::close_listener_resets_embryonic_and_unaccepted_connections"]),
    ),
    ("EP-6", Tests(&["endpoint::memory_of_the_compact_states"])),
    (
        "EP-7",
        Tests(&[
            "endpoint::ephemeral_ports_run_out_with_a_typed_error",
            "endpoint::tw_reuse_on_connect",
        ]),
    ),
    (
        "EP-10",
        Tests(&["contract::stale_and_foreign_handles_are_refused"]),
    ),
    (
        "X-1",
        Tests(&[
            "adversarial/held::sequence_numbers_wrap_through_2_32",
            "segment_arrival::sa_seq_11_data_and_close_across_the_wrap",
        ]),
    ),
    (
        "X-2",
        Tests(&[
            "wire::parse_never_panics",
            "endpoint_hostile::endpoint_survives_hostile_input",
        ]),
    ),
    ("X-3", Tests(&["sim::a_seed_replays_exactly"])),
    (
        "X-4",
        Tests(&["endpoint::freed_connections_leave_no_timers_and_next_deadline_is_exact"]),
    ),
    ("X-5", Tests(&["packetdrill::every_script_passes"])),
    (
        "X-6",
        Tests(&[
            "properties::delivery_under_impairments",
            "model_check::from_connect",
        ]),
    ),
];

fn read(path: &str) -> String {
    let p = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

#[test]
fn every_mapped_test_exists() {
    let mut seen = std::collections::HashSet::new();
    for (row, cover) in ROWS {
        assert!(seen.insert(*row), "{row} listed twice");
        let Tests(tests) = cover else { continue };
        assert!(!tests.is_empty(), "{row}");
        for t in *tests {
            if let Some(script) = t.strip_prefix("pkt:") {
                read(&format!("tests/packetdrill/{script}.pkt"));
                continue;
            }
            let (file, func) = t.split_once("::").expect("file::function");
            let path = if file.starts_with("src/") {
                format!("{file}.rs")
            } else {
                format!("tests/{file}.rs")
            };
            let text = read(&path);
            assert!(
                text.contains(&format!("fn {func}(")),
                "{row}: no fn {func} in {path}"
            );
        }
    }
}

/// The rows not covered, for the README's table.
#[test]
fn the_rows_left_say_why() {
    for (row, cover) in ROWS {
        match cover {
            NotApplicable(why) | NotYet(why) => assert!(why.len() > 20, "{row}"),
            Tests(_) => {}
        }
    }
    let left = ROWS.iter().filter(|r| matches!(r.1, NotYet(_))).count();
    let na = ROWS
        .iter()
        .filter(|r| matches!(r.1, NotApplicable(_)))
        .count();
    assert_eq!((left, na), (1, 15), "update the README's coverage table");
}
