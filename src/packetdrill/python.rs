//! The inline Python of scripts (`%{ ... }%`), evaluated over a snapshot
//! of the connection's `tcp_info` ([`crate::connection::TcpInfo`]).
//!
//! packetdrill runs these blocks in Python with the `tcpi_*` fields of
//! `getsockopt(TCP_INFO)` as variables. The scripts use a small part of the
//! language, which is what this module understands: `assert EXPR[, MSG]`,
//! `print(...)` (ignored), `NAME = EXPR`, `NAME += EXPR`, `NAME -= EXPR`;
//! statements separated by newlines or `;`, `#` comments, `\` line
//! continuations; expressions over integers with `or`, `and`, `not`,
//! chained comparisons, `|`, `&`, `+`, `-`, `*`, `//`, `/`, `%` and
//! parentheses. Variables a block sets are kept for later blocks, as in
//! packetdrill, where all blocks run in one interpreter.

use std::collections::BTreeMap;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use crate::connection::TcpInfo;

/// Why a block did not pass.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PyError {
    /// An assertion failed (with the assertion and the values it read).
    Assert(String),
    /// Something outside the subset (with what).
    Unsupported(String),
}

/// The `tcpi_*` value of a field, and the constants scripts compare with.
fn lookup(info: &TcpInfo, name: &str) -> Option<i64> {
    let v = |x: u64| Some(x as i64);
    let f = |x: u32| Some(i64::from(x));
    match name {
        "tcpi_state" => f(info.state.into()),
        "tcpi_ca_state" => f(info.ca_state.into()),
        "tcpi_retransmits" => f(info.retransmits.into()),
        "tcpi_probes" => f(info.probes.into()),
        "tcpi_backoff" => f(info.backoff.into()),
        "tcpi_options" => f(info.options.into()),
        "tcpi_snd_wscale" => f(info.snd_wscale.into()),
        "tcpi_rcv_wscale" => f(info.rcv_wscale.into()),
        "tcpi_rto" => f(info.rto),
        "tcpi_ato" => f(info.ato),
        "tcpi_snd_mss" => f(info.snd_mss),
        "tcpi_rcv_mss" => f(info.rcv_mss),
        "tcpi_unacked" => f(info.unacked),
        "tcpi_sacked" => f(info.sacked),
        "tcpi_lost" => f(info.lost),
        "tcpi_retrans" => f(info.retrans),
        "tcpi_last_data_sent" => f(info.last_data_sent),
        "tcpi_last_data_recv" => f(info.last_data_recv),
        "tcpi_last_ack_recv" => f(info.last_ack_recv),
        "tcpi_pmtu" => f(info.pmtu),
        "tcpi_rcv_ssthresh" => f(info.rcv_ssthresh),
        "tcpi_rtt" => f(info.rtt),
        "tcpi_rttvar" => f(info.rttvar),
        "tcpi_snd_ssthresh" => f(info.snd_ssthresh),
        "tcpi_snd_cwnd" => f(info.snd_cwnd),
        "tcpi_advmss" => f(info.advmss),
        "tcpi_reordering" => f(info.reordering),
        "tcpi_total_retrans" => f(info.total_retrans),
        "tcpi_bytes_sent" => v(info.bytes_sent),
        "tcpi_bytes_acked" => v(info.bytes_acked),
        "tcpi_bytes_received" => v(info.bytes_received),
        "tcpi_segs_out" => f(info.segs_out),
        "tcpi_segs_in" => f(info.segs_in),
        "tcpi_notsent_bytes" => f(info.notsent_bytes),
        "tcpi_min_rtt" => f(info.min_rtt),
        "tcpi_delivered" => f(info.delivered),
        "tcpi_delivered_ce" => f(info.delivered_ce),
        "tcpi_busy_time" => v(info.busy_time),
        "tcpi_rwnd_limited" => v(info.rwnd_limited),
        "tcpi_sndbuf_limited" => v(info.sndbuf_limited),
        "tcpi_delivery_rate" => v(info.delivery_rate),
        "tcpi_reord_seen" => f(info.reord_seen),
        "tcpi_rcv_rtt" => f(info.rcv_rtt),
        "tcpi_rcv_space" => f(info.rcv_space),
        "tcpi_snd_wnd" => f(info.snd_wnd),
        "tcpi_rcv_wnd" => f(info.rcv_wnd),
        "TCPI_OPT_TIMESTAMPS" => Some(1),
        "TCPI_OPT_SACK" => Some(2),
        "TCPI_OPT_WSCALE" => Some(4),
        "TCPI_OPT_ECN" => Some(8),
        "TCPI_OPT_ECN_SEEN" => Some(16),
        "TCPI_OPT_SYN_DATA" => Some(32),
        "TCP_INFINITE_SSTHRESH" => Some(0x7fff_ffff),
        "TCP_CA_Open" => Some(0),
        "TCP_CA_Disorder" => Some(1),
        "TCP_CA_CWR" => Some(2),
        "TCP_CA_Recovery" => Some(3),
        "TCP_CA_Loss" => Some(4),
        "TCP_ESTABLISHED" => Some(1),
        "TCP_SYN_SENT" => Some(2),
        "TCP_SYN_RECV" => Some(3),
        "TCP_FIN_WAIT1" => Some(4),
        "TCP_FIN_WAIT2" => Some(5),
        "TCP_TIME_WAIT" => Some(6),
        "TCP_CLOSE" => Some(7),
        "TCP_CLOSE_WAIT" => Some(8),
        "TCP_LAST_ACK" => Some(9),
        "TCP_LISTEN" => Some(10),
        "TCP_CLOSING" => Some(11),
        "True" => Some(1),
        "False" => Some(0),
        _ => None,
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Int(i64),
    Name(String),
    Op(&'static str),
    Str,
}

const OPS: &[&str] = &[
    "==", "!=", "<=", ">=", "//", "+=", "-=", "<", ">", "(", ")", "+", "-", "*", "/", "%", "&",
    "|", ",", "=",
];

fn tokens(s: &str) -> Result<Vec<Tok>, PyError> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i] as char).is_ascii_alphanumeric() {
                i += 1;
            }
            let t = &s[start..i];
            let v = match t.strip_prefix("0x") {
                Some(h) => i64::from_str_radix(h, 16),
                None => t.parse(),
            }
            .map_err(|_| PyError::Unsupported(format!("number `{t}`")))?;
            out.push(Tok::Int(v));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && ((b[i] as char).is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Name(s[start..i].to_string()));
        } else if c == '\'' || c == '"' {
            i += 1;
            while i < b.len() && b[i] as char != c {
                i += 1;
            }
            i += 1;
            out.push(Tok::Str);
        } else if let Some(op) = OPS.iter().find(|op| s[i..].starts_with(**op)) {
            out.push(Tok::Op(op));
            i += op.len();
        } else {
            return Err(PyError::Unsupported(format!("python `{c}`")));
        }
    }
    Ok(out)
}

/// Splits a block into statements: `;` and newlines, `#` comments and
/// backslash continuations handled.
fn statements(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let joined = code.replace("\\\n", " ");
    for line in joined.lines() {
        let mut cur = String::new();
        let mut quote = None;
        for c in line.chars() {
            match quote {
                Some(q) => {
                    if c == q {
                        quote = None;
                    }
                    cur.push(c);
                }
                None if c == '#' => break,
                None if c == ';' => out.push(core::mem::take(&mut cur)),
                None => {
                    if c == '\'' || c == '"' {
                        quote = Some(c);
                    }
                    cur.push(c);
                }
            }
        }
        out.push(cur);
    }
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

struct Eval<'a> {
    t: &'a [Tok],
    i: usize,
    info: &'a TcpInfo,
    vars: &'a BTreeMap<String, i64>,
    /// Names read and their values (for the failure message).
    seen: Vec<(String, i64)>,
}

impl Eval<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
    fn eat(&mut self, op: &str) -> bool {
        match self.peek() {
            Some(Tok::Op(o)) if *o == op => {
                self.i += 1;
                true
            }
            Some(Tok::Name(n)) if n == op => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }
    fn or(&mut self) -> Result<i64, PyError> {
        let mut v = self.and()?;
        while self.eat("or") {
            let r = self.and()?;
            v = i64::from(v != 0 || r != 0);
        }
        Ok(v)
    }
    fn and(&mut self) -> Result<i64, PyError> {
        let mut v = self.not()?;
        while self.eat("and") {
            let r = self.not()?;
            v = i64::from(v != 0 && r != 0);
        }
        Ok(v)
    }
    fn not(&mut self) -> Result<i64, PyError> {
        if self.eat("not") {
            return Ok(i64::from(self.not()? == 0));
        }
        self.cmp()
    }
    fn cmp(&mut self) -> Result<i64, PyError> {
        let mut left = self.bor()?;
        let mut ok = true;
        let mut any = false;
        loop {
            let op = match self.peek() {
                Some(Tok::Op(o)) if ["==", "!=", "<", "<=", ">", ">="].contains(o) => *o,
                _ => break,
            };
            self.i += 1;
            any = true;
            let right = self.bor()?;
            ok &= match op {
                "==" => left == right,
                "!=" => left != right,
                "<" => left < right,
                "<=" => left <= right,
                ">" => left > right,
                _ => left >= right,
            };
            left = right;
        }
        Ok(if any { i64::from(ok) } else { left })
    }
    fn bor(&mut self) -> Result<i64, PyError> {
        let mut v = self.band()?;
        while self.eat("|") {
            v |= self.band()?;
        }
        Ok(v)
    }
    fn band(&mut self) -> Result<i64, PyError> {
        let mut v = self.sum()?;
        while self.eat("&") {
            v &= self.sum()?;
        }
        Ok(v)
    }
    fn sum(&mut self) -> Result<i64, PyError> {
        let mut v = self.product()?;
        loop {
            if self.eat("+") {
                v = v.wrapping_add(self.product()?);
            } else if self.eat("-") {
                v = v.wrapping_sub(self.product()?);
            } else {
                return Ok(v);
            }
        }
    }
    fn product(&mut self) -> Result<i64, PyError> {
        let mut v = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Op(o)) if ["*", "//", "/", "%"].contains(o) => *o,
                _ => return Ok(v),
            };
            self.i += 1;
            let r = self.unary()?;
            v = match op {
                "*" => v.wrapping_mul(r),
                _ if r == 0 => return Err(PyError::Assert("division by zero".into())),
                "%" => v.rem_euclid(r),
                _ => v.div_euclid(r),
            };
        }
    }
    fn unary(&mut self) -> Result<i64, PyError> {
        if self.eat("-") {
            return Ok(self.unary()?.wrapping_neg());
        }
        if self.eat("+") {
            return self.unary();
        }
        self.atom()
    }
    fn atom(&mut self) -> Result<i64, PyError> {
        match self.peek().cloned() {
            Some(Tok::Int(v)) => {
                self.i += 1;
                Ok(v)
            }
            Some(Tok::Op("(")) => {
                self.i += 1;
                let v = self.or()?;
                if !self.eat(")") {
                    return Err(PyError::Unsupported("python: `)` expected".into()));
                }
                Ok(v)
            }
            Some(Tok::Name(n)) => {
                self.i += 1;
                let v = self
                    .vars
                    .get(&n)
                    .copied()
                    .or_else(|| lookup(self.info, &n))
                    .ok_or_else(|| PyError::Unsupported(format!("python name `{n}`")))?;
                if n.starts_with("tcpi_") || self.vars.contains_key(&n) {
                    self.seen.push((n, v));
                }
                Ok(v)
            }
            other => Err(PyError::Unsupported(format!("python at {other:?}"))),
        }
    }
}

/// Splits tokens at the first comma outside parentheses.
fn split_comma(t: &[Tok]) -> (&[Tok], Option<&[Tok]>) {
    let mut depth = 0;
    for (i, x) in t.iter().enumerate() {
        match x {
            Tok::Op("(") => depth += 1,
            Tok::Op(")") => depth -= 1,
            Tok::Op(",") if depth == 0 => return (&t[..i], Some(&t[i + 1..])),
            _ => {}
        }
    }
    (t, None)
}

fn eval(
    t: &[Tok],
    info: &TcpInfo,
    vars: &BTreeMap<String, i64>,
) -> Result<(i64, Vec<(String, i64)>), PyError> {
    let mut e = Eval {
        t,
        i: 0,
        info,
        vars,
        seen: vec![],
    };
    let v = e.or()?;
    if e.i != t.len() {
        return Err(PyError::Unsupported(format!(
            "python expression at {:?}",
            t.get(e.i)
        )));
    }
    Ok((v, e.seen))
}

/// Runs one block; `vars` carries variables from block to block.
pub(crate) fn run(
    code: &str,
    info: &TcpInfo,
    vars: &mut BTreeMap<String, i64>,
) -> Result<(), PyError> {
    for stmt in statements(code) {
        let t = tokens(&stmt)?;
        match t.first() {
            Some(Tok::Name(n)) if n == "assert" => {
                let (cond, _msg) = split_comma(&t[1..]);
                let (v, seen) = eval(cond, info, vars)?;
                if v == 0 {
                    let vals: Vec<String> =
                        seen.iter().map(|(n, v)| format!("{n} = {v}")).collect();
                    let text = stmt.trim_start_matches("assert").trim();
                    let text = text.split(',').next().unwrap_or(text).trim();
                    return Err(PyError::Assert(format!(
                        "`assert {text}` failed ({})",
                        vals.join(", ")
                    )));
                }
            }
            Some(Tok::Name(n)) if n == "print" => {}
            Some(Tok::Name(n)) if matches!(t.get(1), Some(Tok::Op("=" | "+=" | "-="))) => {
                let (v, _) = eval(&t[2..], info, vars)?;
                let old = vars.get(n).copied();
                let new = match t[1] {
                    Tok::Op("=") => v,
                    Tok::Op("+=") => old
                        .ok_or_else(|| PyError::Unsupported(format!("python name `{n}`")))?
                        .wrapping_add(v),
                    _ => old
                        .ok_or_else(|| PyError::Unsupported(format!("python name `{n}`")))?
                        .wrapping_sub(v),
                };
                vars.insert(n.clone(), new);
            }
            _ => return Err(PyError::Unsupported(format!("python statement `{stmt}`"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subset_scripts_use() {
        let info = TcpInfo {
            snd_cwnd: 10,
            options: 32 | 1,
            rtt: 8000,
            snd_ssthresh: 0x7fff_ffff,
            ..TcpInfo::default()
        };
        let mut vars = BTreeMap::new();
        let ok = |c: &str, vars: &mut BTreeMap<String, i64>| run(c, &info, vars);
        ok("assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd", &mut vars).unwrap();
        ok(
            "assert (tcpi_options & TCPI_OPT_SYN_DATA) != 0, tcpi_options",
            &mut vars,
        )
        .unwrap();
        ok(
            "\nassert 5000 <= tcpi_rtt <= 20000, 'srtt=%d us' % tcpi_rtt\n",
            &mut vars,
        )
        .unwrap();
        ok(
            "assert tcpi_snd_ssthresh == TCP_INFINITE_SSTHRESH # c",
            &mut vars,
        )
        .unwrap();
        ok("cwnd = 5", &mut vars).unwrap();
        ok(
            "print(tcpi_snd_cwnd); cwnd += 5; assert tcpi_snd_cwnd == cwnd, tcpi_snd_cwnd",
            &mut vars,
        )
        .unwrap();
        match ok("assert tcpi_snd_cwnd == 11, tcpi_snd_cwnd", &mut vars) {
            Err(PyError::Assert(m)) => assert!(m.contains("tcpi_snd_cwnd = 10"), "{m}"),
            o => panic!("{o:?}"),
        }
        assert!(matches!(
            ok("assert tcpi_nonsense == 1", &mut vars),
            Err(PyError::Unsupported(_))
        ));
        ok(
            "assert tcpi_probes == 0, tcpi_probes; \\\n  assert tcpi_backoff == 0",
            &mut vars,
        )
        .unwrap();
    }
}
