//! Shell commands in scripts (`` `...` ``): the few that configure the
//! stack under test are understood, everything else is unsupported.
//!
//! - `defaults.sh` (google/packetdrill's `gtests/net/common/defaults.sh`):
//!   Linux's settings the suite assumes; the runner's starting point.
//! - `set_sysctls.py /proc/sys/net/ipv4/NAME=VALUE ...` and
//!   `sysctl [-q] [-e] [-w] net.ipv4.NAME=VALUE ...`: sysctls, applied by
//!   [`super::sysctl`].
//! - `/tmp/sysctl_restore_${PPID}.sh`: puts back what `set_sysctls.py` set.
//! - `ip tcp_metrics flush`: forgets the per-destination metrics (the TCP
//!   Fast Open cookie cache).
//! - `tc qdisc add|replace|change dev tun0 root pfifo limit 0`: a local
//!   queue that drops every segment the engine sends, each drop reported
//!   to it ([`Endpoint::on_transmit_failed`](crate::Endpoint::on_transmit_failed)),
//!   until `tc qdisc del dev tun0 root` or a `pfifo` with room puts a
//!   normal queue back. Other queueing disciplines are unsupported.
//! - `ethtool -K tun0 ...`: no effect on an engine without offloads.
//! - `nstat` (its counters' increments since the last `nstat`) and
//!   `nstat | grep NAME`, which succeeds when NAME grew since then (nstat
//!   shows only counters that changed): over the Endpoint's
//!   [`Counters`](crate::endpoint::Counters) that have Linux's names.
//!
//! `A || B` runs `B` only when `A` names a sysctl this kernel would not
//! have (as the scripts use it: an old name first, then a fallback).

use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

/// One understood command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cmd {
    /// `defaults.sh`.
    Defaults,
    /// A sysctl: its dotted name (`net.ipv4.tcp_sack`) and value.
    Sysctl {
        name: String,
        value: String,
        /// Set by `set_sysctls.py`, which saves the old value for the
        /// restore script.
        saved: bool,
    },
    /// `/tmp/sysctl_restore_${PPID}.sh`.
    Restore,
    /// `ip tcp_metrics flush`.
    FlushMetrics,
    /// `nstat`, or `nstat | grep NAME` (the counter's name).
    Nstat(Option<String>),
    /// `tc qdisc` on tun0's root: whether the queue now drops every
    /// segment (`pfifo limit 0`) or is a normal one again.
    Qdisc { drop_all: bool },
    /// Nothing to do.
    Nothing,
}

/// Splits `text` into words, honouring quotes and backslash-newline
/// continuations; `#` starts a comment to the end of its line.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut have = false;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None => match c {
                '"' | '\'' => {
                    quote = Some(c);
                    have = true;
                }
                '#' if !have => break,
                c if c.is_whitespace() => {
                    if have {
                        out.push(core::mem::take(&mut cur));
                        have = false;
                    }
                }
                c => {
                    cur.push(c);
                    have = true;
                }
            },
        }
    }
    if have {
        out.push(cur);
    }
    out
}

/// Drops output redirections (`> /dev/null`, `&> /dev/null`, `2>&1`).
fn drop_redirections(w: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip_next = false;
    for x in w {
        if skip_next {
            skip_next = false;
            continue;
        }
        let is_redir = x.starts_with('>') || x.starts_with("&>") || x.starts_with("2>");
        if is_redir {
            // `>` alone takes the next word as its target.
            skip_next = matches!(x.as_str(), ">" | "&>" | "2>" | ">>");
            continue;
        }
        out.push(x);
    }
    out
}

/// The sysctl names this runner knows (set to Linux's values or mapped
/// onto the configuration); `A || B` falls back to `B` for others.
pub(crate) fn known_sysctl(name: &str) -> bool {
    super::sysctl::known(name)
}

/// The commands of one shell text, or what is not understood.
pub(crate) fn parse(text: &str) -> Result<Vec<Cmd>, String> {
    let joined = text.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        // `;` and `&&` separate commands; `||` gives a fallback.
        for cmd in line.split(';').flat_map(|c| c.split("&&")) {
            let alts: Vec<&str> = cmd.split("||").collect();
            let mut chosen = None;
            for (i, alt) in alts.iter().enumerate() {
                let cmds = command(alt)?;
                let unknown = cmds.iter().any(|c| match c {
                    Cmd::Sysctl { name, .. } => !known_sysctl(name),
                    _ => false,
                });
                if !unknown || i + 1 == alts.len() {
                    chosen = Some(cmds);
                    break;
                }
            }
            out.extend(chosen.unwrap_or_default());
        }
    }
    Ok(out)
}

fn command(text: &str) -> Result<Vec<Cmd>, String> {
    let w = drop_redirections(words(text));
    let Some(prog) = w.first() else {
        return Ok(Vec::new());
    };
    let base = prog.rsplit('/').next().unwrap_or(prog);
    let args = &w[1..];
    match base {
        "defaults.sh" if args.is_empty() => Ok(vec![Cmd::Defaults]),
        "set_sysctls.py" => args
            .iter()
            .map(|a| {
                let (path, value) = a
                    .split_once('=')
                    .ok_or_else(|| format!("set_sysctls.py argument `{a}`"))?;
                let name = path
                    .strip_prefix("/proc/sys/")
                    .ok_or_else(|| format!("set_sysctls.py path `{path}`"))?
                    .replace('/', ".");
                Ok(Cmd::Sysctl {
                    name,
                    value: value.to_string(),
                    saved: true,
                })
            })
            .collect(),
        "sysctl" => {
            let mut v = Vec::new();
            for a in args {
                if a.starts_with('-') {
                    if !matches!(a.as_str(), "-q" | "-e" | "-w" | "-qw" | "-wq") {
                        return Err(format!("sysctl option `{a}`"));
                    }
                    continue;
                }
                let Some((n, value)) = a.split_once('=') else {
                    return Err(format!("sysctl read `{a}`"));
                };
                v.push(Cmd::Sysctl {
                    name: n.replace('/', "."),
                    value: value.to_string(),
                    saved: false,
                });
            }
            Ok(v)
        }
        b if b.starts_with("sysctl_restore_") => Ok(vec![Cmd::Restore]),
        "ip" if args.first().is_some_and(|a| a == "tcp_metrics")
            && args.get(1).is_some_and(|a| a == "flush") =>
        {
            Ok(vec![Cmd::FlushMetrics])
        }
        "tc" if qdisc(args).is_some() => Ok(vec![Cmd::Qdisc {
            drop_all: qdisc(args) == Some(true),
        }]),
        "ethtool" if args.first().is_some_and(|a| a == "-K") => Ok(vec![Cmd::Nothing]),
        "nstat" if args.is_empty() => Ok(vec![Cmd::Nstat(None)]),
        "nstat" if args.len() == 3 && args[0] == "|" && args[1] == "grep" => {
            Ok(vec![Cmd::Nstat(Some(args[2].clone()))])
        }
        "tc" => Err(format!("queueing discipline `{}`", w.join(" "))),
        // tcp_cubic's `hystart_detect` at its default (3: ACK train and
        // delay), what the module has unless a script changed it: the
        // line changes nothing on Linux, so nothing here either. Any other
        // value has no switch in the engine.
        "echo"
            if text.split_whitespace().eq([
                "echo",
                "3",
                ">",
                "/sys/module/tcp_cubic/parameters/hystart_detect",
            ]) =>
        {
            Ok(vec![Cmd::Nothing])
        }
        "echo" if text.contains("/sys/module/") => Err(format!(
            "module parameter `{}`",
            text.split_whitespace().last().unwrap_or("")
        )),
        _ => Err(format!("shell command `{}`", w.join(" "))),
    }
}

/// `tc qdisc ...` on tun0's root that the runner models: `Some(true)` for
/// a `pfifo` of no room (every segment dropped), `Some(false)` for a
/// `pfifo` with room or the root's removal (a normal queue).
fn qdisc(args: &[String]) -> Option<bool> {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (head, rest) = a.split_at_checked(5)?;
    if head[..2] != ["qdisc", "del"][..] && head[..2] != ["qdisc", "delete"][..] {
        // add, replace or change: tun0's root becomes `rest`.
        let verb = matches!(head[1], "add" | "replace" | "change");
        if !verb || head[0] != "qdisc" || head[2..] != ["dev", "tun0", "root"][..] {
            return None;
        }
        return match rest {
            ["pfifo"] => Some(false),
            ["pfifo", "limit", n] => n.parse::<u32>().ok().map(|n| n == 0),
            _ => None,
        };
    }
    (head[2..] == ["dev", "tun0", "root"][..] && rest.is_empty()).then_some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn understands_the_suite_forms() {
        let c = parse(
            "../common/defaults.sh\n../common/set_sysctls.py /proc/sys/net/ipv4/tcp_wmem=\"4096 50000 4194304\" \\\n /proc/sys/net/ipv4/tcp_timestamps=0",
        )
        .unwrap();
        assert_eq!(c[0], Cmd::Defaults);
        assert_eq!(
            c[1],
            Cmd::Sysctl {
                name: "net.ipv4.tcp_wmem".into(),
                value: "4096 50000 4194304".into(),
                saved: true
            }
        );
        assert_eq!(c.len(), 3);
        let c = parse("sysctl -q net.ipv4.tcp_fastopen_cookies=0 &> /dev/null ||\\\n ip tcp_metrics flush all &> /dev/null").unwrap();
        assert_eq!(c, vec![Cmd::FlushMetrics]);
        let c = parse("sysctl -q net/ipv4/tcp_pacing_ss_ratio=200 # comment").unwrap();
        assert!(
            matches!(&c[0], Cmd::Sysctl { name, .. } if name == "net.ipv4.tcp_pacing_ss_ratio")
        );
        assert!(parse("tc qdisc replace dev tun0 root fq").is_err());
        assert_eq!(
            parse("tc qdisc delete dev tun0 root 2>/dev/null ; tc qdisc add dev tun0 root pfifo limit 0").unwrap(),
            vec![Cmd::Qdisc { drop_all: false }, Cmd::Qdisc { drop_all: true }]
        );
        assert_eq!(
            parse("tc qdisc replace dev tun0 root pfifo limit 1000").unwrap(),
            vec![Cmd::Qdisc { drop_all: false }]
        );
        assert!(parse("tc qdisc add dev tun0 root pfifo limit x").is_err());
        assert_eq!(parse("nstat > /dev/null").unwrap(), vec![Cmd::Nstat(None)]);
        assert_eq!(
            parse("nstat | grep TcpExtOutOfWindowIcmps > /dev/null").unwrap(),
            vec![Cmd::Nstat(Some("TcpExtOutOfWindowIcmps".into()))]
        );
        assert_eq!(
            parse("echo 3 > /sys/module/tcp_cubic/parameters/hystart_detect").unwrap(),
            vec![Cmd::Nothing]
        );
        assert!(parse("echo 2 > /sys/module/tcp_cubic/parameters/hystart_detect").is_err());
        assert_eq!(
            parse("/tmp/sysctl_restore_${PPID}.sh").unwrap(),
            vec![Cmd::Restore]
        );
    }
}
