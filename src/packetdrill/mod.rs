//! A runner for [packetdrill](https://github.com/google/packetdrill)
//! scripts: the script's packets are injected into (`<`) and expected from
//! (`>`) an [`Endpoint`](crate::Endpoint) with [`Config::linux`](crate::Config::linux)
//! on a virtual clock, and its system calls are mapped onto the Endpoint's
//! calls. Nothing touches a real network: every segment stays in memory.
//!
//! What it understands is described in the project's notes on the
//! packetdrill syntax: header options (`--tolerance_usecs`), absolute,
//! relative (`+N`), any (`*`) and range (`~`) times, blocking calls
//! (`...end`), packetdrill's relative sequence numbers (the remote ISN is
//! the script's SYN; the local ISN is learned from the first SYN or SYN,ACK
//! the engine sends), TSO-style aggregation of consecutive outbound
//! segments, exact option layout on outbound lines (`<...>` skips the
//! check), and the socket calls `socket`, `bind`, `listen`, `accept`,
//! `connect`, `write`, `send`, `sendto`, `sendmsg`, `writev`, `read`,
//! `recv`, `recvmsg`, `readv`, `close`, `shutdown`, `ioctl` (SIOCINQ,
//! SIOCOUTQ), `setsockopt`/`getsockopt` (SO_REUSEADDR, SO_ERROR, SO_RCVBUF,
//! SO_SNDBUF, SO_LINGER, TCP_NODELAY, TCP_MAXSEG, TCP_CORK,
//! TCP_USER_TIMEOUT, TCP_NOTSENT_LOWAT, IP_MTU_DISCOVER, IP_TOS), `fcntl`
//! (O_NONBLOCK) and `poll`, with Linux's errno values; script fds are
//! mapped onto the runner's as packetdrill maps them onto live ones.
//! Shell lines that run `defaults.sh` (the runner's starting point) or set
//! sysctls (`set_sysctls.py`, `sysctl -q`) are mapped onto the Endpoint's
//! configuration (`sysctl.rs` says which); `%{ }%` Python blocks are
//! evaluated over [`Connection::info`](crate::Connection::info)
//! (`python.rs` says which subset). TCP Fast Open: `sendto`/`sendmsg` with
//! `MSG_FASTOPEN`, `TCP_FASTOPEN`, `TCP_FASTOPEN_CONNECT` (the deferred
//! connect), `TCP_FASTOPEN_KEY`, and `TFO_COOKIE` defined as the
//! Endpoint's cookie for the script's addresses. Socket-layer hints over
//! engine state: `TCP_NOTSENT_LOWAT`, `TCP_INQ` (`TCP_CM_INQ`), and
//! `MSG_ZEROCOPY` sends (the bytes on the wire; not their completions).
//! The IP header's ECN field (`[ect0]`, `[ce]`, ...) is checked and
//! injected. Inbound ICMPv4 errors (`< icmp unreachable frag_needed mtu
//! 800 [0:1000(1000)]`) quote our segment and go to
//! [`Endpoint::on_icmp`](crate::Endpoint::on_icmp); `CODE` is defined as
//! google/packetdrill's `run_all.py` defines it (`host_unreachable`).
//! `nstat` and `nstat | grep NAME` read the Endpoint's
//! [`Counters`](crate::endpoint::Counters). Anything else, and the socket-layer features no engine has
//! (zerocopy completions on the error queue, SO_TIMESTAMPING, epoll,
//! splice, sendfile), makes a script [`Verdict::Unsupported`] with what it
//! was.
//!
//! Addresses: the engine is 192.0.2.2:8080 (or an ephemeral port for
//! `connect`) and the scripted peer 192.0.2.1, unless the script says
//! `--local_ip`/`--remote_ip` (a Fast Open cookie depends on them).
//!
//! ```
//! use tcpstate::packetdrill::{run, RunOptions, Verdict};
//! let script = "
//! 0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
//! +0  bind(3, ..., ...) = 0
//! +0  listen(3, 1) = 0
//! +0  < S 0:0(0) win 65535 <mss 1460>
//! +0  > S. 0:0(0) ack 1 <mss 1460>
//! +.1 < . 1:1(0) ack 1 win 65535
//! +0  accept(3, ..., ...) = 4
//! ";
//! assert_eq!(run(script, &RunOptions::default()).0, Verdict::Pass);
//! ```

pub mod exec;
mod linux;
mod live;
pub mod parse;
mod python;
mod shell;
mod sysctl;

use std::format;
use std::string::String;
use std::vec::Vec;

pub use exec::{RunOptions, Verdict};

/// Parses and runs one script; returns the verdict and, with
/// `opts.verbose`, a log of what happened.
pub fn run(src: &str, opts: &RunOptions) -> (Verdict, Vec<String>) {
    let mut defined = define(src, "CODE", "host_unreachable");
    if defined.contains("TFO_COOKIE") {
        defined = defined.replace("TFO_COOKIE", &tfo_cookie(src));
    }
    match parse::parse(&defined) {
        Ok(script) => exec::run_script(&script, opts),
        Err(e) => (
            Verdict::Fail {
                line: e.line,
                msg: format!("syntax error: {}", e.msg),
            },
            Vec::new(),
        ),
    }
}

/// The one-line report for a script: `PASS path`, `FAIL path:LINE: ...`
/// or `UNSUPPORTED path:LINE: what`.
pub fn report(path: &str, v: &Verdict) -> String {
    match v {
        Verdict::Pass => format!("PASS {path}"),
        Verdict::Fail { line, msg } => format!("FAIL {path}:{line}: {msg}"),
        Verdict::Unsupported { line, what } => format!("UNSUPPORTED {path}:{line}: {what}"),
    }
}

/// `src` with the word `name` replaced by `value`: a symbol packetdrill
/// takes from its command line (`-D name=value`). google/packetdrill's
/// `run_all.py` defines `CODE` as `host_unreachable` for IPv4 (the ICMP
/// code of its Fast Open server ICMP scripts).
fn define(src: &str, name: &str, value: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    while let Some(i) = rest.find(name) {
        let (before, after) = (&rest[..i], &rest[i + name.len()..]);
        out.push_str(before);
        let prev = out.chars().next_back();
        if word(prev) || word(after.chars().next()) {
            out.push_str(name);
        } else {
            out.push_str(value);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The value of `TFO_COOKIE`, which packetdrill takes from its command line
/// (`--define`): the Fast Open cookie the stack under test gives the
/// scripted peer, here the Endpoint's for the script's addresses under the
/// key `defaults.sh` sets (Linux's cookie for them: SipHash-2-4 of the
/// client's and the server's address).
fn tfo_cookie(src: &str) -> String {
    let addr = |opt: &str, default: core::net::Ipv4Addr| {
        src.lines()
            .find_map(|l| l.trim().strip_prefix(opt)?.trim().parse().ok())
            .unwrap_or(default)
    };
    let local = addr("--local_ip=", exec::LOCAL_IP);
    let remote = addr("--remote_ip=", exec::REMOTE_IP);
    let key = sysctl::Settings::defaults(local).fastopen_key;
    crate::endpoint::fast_open_cookie_with(&key, remote.into(), local.into())
        .map(|c| c.iter().map(|b| format!("{b:02x}")).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn defines_replace_whole_words() {
        assert_eq!(
            super::define(
                "< icmp unreachable CODE\nCODES XCODE CODE_1 CODE",
                "CODE",
                "v"
            ),
            "< icmp unreachable v\nCODES XCODE CODE_1 v"
        );
    }
}
