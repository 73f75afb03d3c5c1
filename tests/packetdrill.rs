//! The packetdrill runner: every script under `tests/packetdrill/` must
//! pass, and the runner itself must notice what is wrong in a script.

use tcpstate::packetdrill::{RunOptions, Verdict, report, run};

fn strict() -> RunOptions {
    RunOptions {
        strict: true,
        ..RunOptions::default()
    }
}

#[test]
fn every_script_passes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/packetdrill");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/packetdrill")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pkt"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 15,
        "expected at least 15 scripts, found {}",
        paths.len()
    );
    let mut failed = Vec::new();
    for p in &paths {
        let src = std::fs::read_to_string(p).expect("read script");
        let head = src.lines().next().unwrap_or("");
        assert!(head.starts_with("//"), "{}: no header comment", p.display());
        let (v, _) = run(&src, &strict());
        let name = p.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(p);
        let line = report(&name.display().to_string(), &v);
        println!("{line}");
        if v != Verdict::Pass {
            failed.push(line);
        }
    }
    assert!(
        failed.is_empty(),
        "scripts not passing:\n{}",
        failed.join("\n")
    );
}

const SERVER: &str = "\
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    bind(3, ..., ...) = 0
+0    listen(3, 1) = 0
+0    < S 0:0(0) win 65535 <mss 1000>
+0    > S. 0:0(0) ack 1 <mss 1460>
+.1   < . 1:1(0) ack 1 win 65535
+0    accept(3, ..., ...) = 4
";

fn with(tail: &str) -> Verdict {
    run(&format!("{SERVER}{tail}"), &strict()).0
}

fn fails_at(v: &Verdict, want: usize) -> String {
    match v {
        Verdict::Fail { line, msg } if *line == want => msg.clone(),
        other => panic!("expected FAIL at line {want}, got {other:?}"),
    }
}

#[test]
fn a_wrong_field_fails() {
    assert_eq!(
        with("+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1\n"),
        Verdict::Pass
    );
    let m = fails_at(
        &with("+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 2\n"),
        9,
    );
    assert!(m.contains("ack differ"), "{m}");
    let m = fails_at(
        &with("+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1 win 100\n"),
        9,
    );
    assert!(m.contains("win"), "{m}");
    let m = fails_at(
        &with("+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1 <nop,nop,sackOK>\n"),
        9,
    );
    assert!(m.contains("options"), "{m}");
    let m = fails_at(
        &with("+0 write(4, ..., 10) = 10\n+0 > P. 2:12(10) ack 1\n"),
        9,
    );
    assert!(m.contains("seq"), "{m}");
    // The IP header's ECN field, on every segment of the line: Not-ECT
    // here (no ECN negotiated).
    assert_eq!(
        with("+0 write(4, ..., 10) = 10\n+0 > [noecn] P. 1:11(10) ack 1\n"),
        Verdict::Pass
    );
    let m = fails_at(
        &with("+0 write(4, ..., 10) = 10\n+0 > [ect01] P. 1:11(10) ack 1\n"),
        9,
    );
    assert!(m.contains("ECN"), "{m}");
}

#[test]
fn timing_is_checked_with_the_tolerance() {
    // One RTT sample of 100 ms: the retransmission comes 300 ms later.
    let send = "+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1\n";
    let early = format!("{send}+.2 > P. 1:11(10) ack 1\n");
    let m = fails_at(&with(&early), 10);
    assert!(m.contains("0.400000"), "{m}");
    let loose = RunOptions {
        tolerance_usecs: Some(100_000),
        strict: true,
        ..RunOptions::default()
    };
    assert_eq!(run(&format!("{SERVER}{early}"), &loose).0, Verdict::Pass);
    assert_eq!(
        with(&format!("{send}+.25~+.35 > P. 1:11(10) ack 1\n")),
        Verdict::Pass
    );
    fails_at(&with(&format!("{send}+.4~+.5 > P. 1:11(10) ack 1\n")), 10);
    // `*` matches whenever it comes.
    assert_eq!(
        with(&format!("{send}* > P. 1:11(10) ack 1\n")),
        Verdict::Pass
    );
}

#[test]
fn consecutive_segments_make_up_one_line() {
    assert_eq!(
        with("+0 write(4, ..., 3000) = 3000\n+0 > P. 1:3001(3000) ack 1\n"),
        Verdict::Pass
    );
}

#[test]
fn return_values_and_errno_are_checked() {
    let m = fails_at(&with("+0 read(4, ..., 10) = 0\n"), 8);
    assert!(m.contains("would block"), "{m}");
    let m = fails_at(
        &with("+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 read(4, ..., 10) = -1 EPIPE (x)\n"),
        9,
    );
    assert!(m.contains("EAGAIN"), "{m}");
    assert_eq!(
        with(
            "+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 read(4, ..., 10) = -1 EWOULDBLOCK (x)\n"
        ),
        Verdict::Pass
    );
}

#[test]
fn an_unexpected_packet_fails_in_strict_mode() {
    // The ACK is sent before the script's last line but never expected.
    let v = with("+0 < . 1:101(100) ack 1 win 65535\n+1 read(4, ..., 100) = 100\n");
    assert!(matches!(v, Verdict::Fail { .. }), "{v:?}");
    let lax = run(
        &format!("{SERVER}+0 < . 1:101(100) ack 1 win 65535\n+1 read(4, ..., 100) = 100\n"),
        &RunOptions::default(),
    )
    .0;
    assert_eq!(lax, Verdict::Pass);
}

#[test]
fn unsupported_constructs_are_reported() {
    for (tail, what) in [
        ("+0 `echo hi`\n", "shell command"),
        ("+0 %{ import os }%\n", "python"),
        ("+0 `sysctl -q net.ipv4.tcp_ecn=3`\n", "tcp_ecn"),
        ("+0 `tc qdisc replace dev tun0 root fq`\n", "fq"),
        (
            "+0 getsockopt(4, SOL_TCP, TCP_INFO, ..., ...) = 0\n",
            "TCP_INFO",
        ),
        (
            "+0 setsockopt(4, SOL_TCP, TCP_CONGESTION, \"bbr\", 3) = 0\n",
            "TCP_CONGESTION",
        ),
        (
            "+0 recv(4, ..., 10, MSG_ERRQUEUE) = -1 EAGAIN (Resource temporarily unavailable)\n",
            "recv flags",
        ),
        (
            "+0 sendmsg(4, {msg_name(...)=..., msg_iov(18)=[{..., 1}, {..., 1}, {..., 1}, \
             {..., 1}, {..., 1}, {..., 1}, {..., 1}, {..., 1}, {..., 1}, {..., 1}, {..., 1}, \
             {..., 1}, {..., 1}, {..., 1}, {..., 1}, {..., 1}, {..., 1}, {..., 1}], \
             msg_flags=0}, MSG_ZEROCOPY) = 18\n",
            "page fragments",
        ),
    ] {
        match with(tail) {
            Verdict::Unsupported { line, what: w } => {
                assert_eq!(line, 8, "{tail}");
                assert!(w.contains(what), "{w} / {what}");
            }
            other => panic!("{tail}: {other:?}"),
        }
    }
    // tcp_ecn=2 (ECN only when asked): an active open would ask.
    let v = with(
        "+0 `sysctl -q net.ipv4.tcp_ecn=2`\n+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 5\n\
         +0 connect(5, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n",
    );
    assert!(
        matches!(&v, Verdict::Unsupported { line: 10, what } if what.contains("tcp_ecn=2")),
        "{v:?}"
    );
    // The Linux defaults script is what Config::linux() is.
    let v = run(
        &format!("`../common/defaults.sh`\n{SERVER}"),
        &RunOptions::default(),
    )
    .0;
    assert_eq!(v, Verdict::Pass);
}

#[test]
fn tcp_info_assertions_are_evaluated() {
    assert_eq!(
        with("+0 %{ assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd }%\n"),
        Verdict::Pass
    );
    assert_eq!(
        with("+0 %{\nassert tcpi_state == TCP_ESTABLISHED\nassert tcpi_snd_mss == 1000\n}%\n"),
        Verdict::Pass
    );
    let m = fails_at(
        &with("+0 %{ assert tcpi_snd_cwnd == 11, tcpi_snd_cwnd }%\n"),
        8,
    );
    assert!(m.contains("tcpi_snd_cwnd = 10"), "{m}");
    // Variables live from one block to the next, as in packetdrill.
    assert_eq!(
        with("+0 %{ cwnd = 9 }%\n+0 %{ cwnd += 1; assert tcpi_snd_cwnd == cwnd }%\n"),
        Verdict::Pass
    );
}

#[test]
fn sysctls_configure_the_endpoint() {
    // Timestamps off before the listener opens: no TS option on the SYN,ACK.
    let off = "`../common/defaults.sh\n../common/set_sysctls.py /proc/sys/net/ipv4/tcp_timestamps=0`\n\
        0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n\
        +0 < S 0:0(0) win 65535 <mss 1000,sackOK,TS val 1 ecr 0,nop,wscale 7>\n\
        +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>\n\
        `/tmp/sysctl_restore_${PPID}.sh`\n";
    assert_eq!(run(off, &strict()).0, Verdict::Pass);
    // A TSO knob cannot change what the engine sends: accepted.
    assert_eq!(
        run(
            &format!("`sysctl -q net.ipv4.tcp_tso_win_divisor=100`\n{SERVER}"),
            &strict()
        )
        .0,
        Verdict::Pass
    );
}

#[test]
fn socket_layer_calls() {
    // packetdrill maps script fds onto live ones.
    let v = run(
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4\n+0 bind(4, ..., ...) = 0\n+0 listen(4, 1) = 0\n",
        &strict(),
    )
    .0;
    assert_eq!(v, Verdict::Pass);
    assert_eq!(
        with("+0 write(4, NULL, 1000) = -1 EFAULT (Bad address)\n"),
        Verdict::Pass
    );
    assert_eq!(
        with(
            "+0 sendmsg(4, {msg_name(...)=..., msg_iov(2)=[{..., 10}, {..., 20}], msg_flags=0}, 0) = 30\n\
             +0 > P. 1:31(30) ack 1\n"
        ),
        Verdict::Pass
    );
    // MSG_MORE holds a short segment and leaves PSH off; TCP_NODELAY pushes.
    assert_eq!(
        with(
            "+0 send(4, ..., 40, MSG_MORE) = 40\n\
             +.05 setsockopt(4, SOL_TCP, TCP_NODELAY, [1], 4) = 0\n\
             +0 > . 1:41(40) ack 1\n"
        ),
        Verdict::Pass
    );
    // A Fast Open send from NULL (Linux 6.18, tcp_send_syn_data): the SYN
    // goes without data, the call fails with EINPROGRESS (not strict: that
    // SYN carries the cached cookie here, a new cookie request on Linux).
    let fo = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
              +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n\
              +0 sendto(3, ..., 0, MSG_FASTOPEN, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n\
              +0 > S 0:0(0) <...>\n\
              +.01 < S. 0:0(0) ack 1 win 14600 <mss 1460,nop,nop,sackOK,FO abcd1234,nop,nop>\n\
              +0 > . 1:1(0) ack 1\n\
              +0 close(3) = 0\n\
              +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4\n\
              +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n";
    let (v, _) = run(
        &format!(
            "{fo}+0 sendto(4, NULL, 100, MSG_FASTOPEN, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n"
        ),
        &RunOptions::default(),
    );
    assert_eq!(v, Verdict::Pass);
    // After a RST in CLOSE-WAIT a write fails with EPIPE (Linux tcp_reset).
    assert_eq!(
        with(
            "+0 < F. 1:1(0) ack 1 win 65535\n+0 > . 1:1(0) ack 2\n\
             +.1 < R. 2:2(0) ack 1 win 0\n\
             +0 write(4, ..., 10) = -1 EPIPE (Broken pipe)\n"
        ),
        Verdict::Pass
    );
}

/// packetdrill's socket under test: a new socket takes over, and what an
/// older connection sends is not the script's (the real tool's sniffer
/// drops it); each child of a listener has a remote port of its own; a
/// SYN's sequence number maps the ISN, the other segments count from the
/// live ISN.
#[test]
fn segments_of_other_sockets_are_not_the_scripts() {
    // The first connection's FIN (after close) is never listed: the second
    // socket's SYN is the next segment the script sees.
    let v = with(
        "+0 close(4) = 0\n\
         +0 close(3) = 0\n\
         +.1 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
         +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n\
         +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n\
         +0 > S 0:0(0) <...>\n",
    );
    assert_eq!(v, Verdict::Pass);
    // A second listener's child does not meet the first connection (still
    // open, same script fd): a SYN,ACK with another ISN in the script.
    let v = with(
        "+0 close(3) = 0\n\
         +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
         +0 bind(3, ..., ...) = 0\n\
         +0 listen(3, 1) = 0\n\
         +0 < S 0:0(0) win 65535 <mss 1000>\n\
         +0 > S. 1234:1234(0) ack 1 <mss 1460>\n\
         +0 < . 1:1(0) ack 1 win 65535\n\
         +0 accept(3, ..., ...) = 4\n\
         +0 < P. 1:11(10) ack 1 win 65535\n\
         +0 > . 1:1(0) ack 11\n\
         +0 read(4, ..., 100) = 10\n",
    );
    assert_eq!(v, Verdict::Pass);
}

#[test]
fn tcp_cm_inq_is_checked() {
    let script = |want: u32| {
        format!(
            "{SERVER}+0 setsockopt(4, SOL_TCP, TCP_INQ, [1], 4) = 0\n\
             +0 < P. 1:101(100) ack 1 win 65535\n\
             +0 recvmsg(4, {{msg_name(...)=..., msg_iov(1)=[{{..., 40}}], msg_flags=0, \
             msg_control=[{{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data={want}}}]}}, 0) = 40\n"
        )
    };
    let lax = RunOptions::default();
    assert_eq!(run(&script(60), &lax).0, Verdict::Pass);
    match run(&script(61), &lax).0 {
        Verdict::Fail { line: 10, msg } => assert!(msg.contains("TCP_CM_INQ 60"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

/// `< icmp ...` lines: an ICMP error quoting our segment with the
/// script's relative sequence number made live, given to the Endpoint
/// (`Endpoint::on_icmp`); `nstat | grep NAME` succeeds only when the
/// counter grew since the last `nstat`.
#[test]
fn icmp_lines_and_nstat_counters() {
    // Out of SND.UNA..SND.NXT: ignored and counted (OutOfWindowIcmps).
    let counted = "+0 `nstat > /dev/null`\n\
                   +0 < icmp unreachable host_unreachable [5000:5001(1)]\n\
                   +0 `nstat | grep TcpExtOutOfWindowIcmps > /dev/null`\n";
    assert_eq!(with(counted), Verdict::Pass);
    // At SND.UNA, with data in flight: taken, not counted.
    let flight = "+0 write(4, ..., 10) = 10\n\
                  +0 > P. 1:11(10) ack 1\n";
    let taken = format!(
        "{flight}+0 `nstat > /dev/null`\n\
         +0 < icmp unreachable host_unreachable [1:11(10)]\n\
         +0 `nstat | grep TcpExtOutOfWindowIcmps > /dev/null`\n"
    );
    let v = with(&taken);
    assert!(fails_at(&v, 12).contains("OutOfWindowIcmps"), "{v:?}");
    // The path MTU lowers the send MSS (RFC 1191): 576 less 40 bytes.
    let pmtu = format!(
        "{flight}+0 < icmp unreachable frag_needed mtu 576 [1:11(10)]\n\
         +.1 < . 1:1(0) ack 11 win 65535\n\
         +0 write(4, ..., 700) = 700\n\
         +0 > . 11:547(536) ack 1\n\
         +0 > P. 547:711(164) ack 1\n"
    );
    assert_eq!(with(&pmtu), Verdict::Pass);
    // A counter the Endpoint does not keep.
    assert!(matches!(
        with("+0 `nstat | grep TcpExtTCPSackMerged`\n"),
        Verdict::Unsupported { line: 8, .. }
    ));
}
