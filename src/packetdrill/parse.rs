//! The packetdrill script language: comments, header options, events
//! (packets and system calls), shell commands and inline Python blocks.
//!
//! The grammar follows google/packetdrill's `parser.y` for the subset the
//! portable TCP scripts use. Constructs the runner cannot execute are kept
//! as [`Stmt::Unsupported`] so that the executor reports them (they are not
//! parse errors).

use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

/// When an event happens (seconds, as microseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Time {
    /// `*`: no timing check.
    Any,
    /// `0.100` or `0.3~0.4` (absolute), or `+0.1` / `+.3~+.4` (relative to
    /// the previous event).
    At {
        /// Relative to the previous event.
        relative: bool,
        /// Start of the window, microseconds.
        lo: i64,
        /// End of the window (equal to `lo` unless a range was given).
        hi: i64,
        /// A range (`~`) was given.
        range: bool,
    },
}

/// One TCP option as written in a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opt {
    /// `nop`
    Nop,
    /// `eol`
    Eol,
    /// `mss N`
    Mss(u16),
    /// `wscale N`
    Wscale(u8),
    /// `sackOK`
    SackOk,
    /// `TS val X ecr Y`
    Ts(u32, u32),
    /// `sack a:b c:d`
    Sack(Vec<(u32, u32)>),
    /// `FO [cookie]`: TCP Fast Open (RFC 7413, option kind 34); an empty
    /// cookie is a cookie request.
    FastOpen(Vec<u8>),
    /// `FOEXP [cookie]`: TCP Fast Open with the experimental option kind
    /// 254 and magic 0xF989 (RFC 6994) that Linux also understands.
    FastOpenExp(Vec<u8>),
    /// `md5 digest`: the TCP MD5 signature option (RFC 2385, kind 19).
    Md5(Vec<u8>),
    /// An option of another kind (seen on the wire only): kind and body.
    Other(u8, Vec<u8>),
}

/// A packet line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// `<` (true: injected into the engine) or `>` (expected from it).
    pub inbound: bool,
    /// The control bits (`-` is none).
    pub flags: u8,
    /// Sequence number.
    pub seq: u32,
    /// Payload length.
    pub len: u32,
    /// `ack N`.
    pub ack: Option<u32>,
    /// `win N`.
    pub win: Option<u16>,
    /// `urg N`.
    pub urg: Option<u16>,
    /// `None`: no option list; `Some(None)`: `<...>`; `Some(Some(list))`.
    pub options: Option<Option<Vec<Opt>>>,
    /// The IP header's ECN field (`[noecn]`, `[ect0]`, `[ect1]`, `[ce]`,
    /// `[ect01]`: either ECT); `None`: not checked (outbound), Not-ECT
    /// (inbound).
    pub ecn: Option<EcnField>,
    /// The text of the line (for messages).
    pub text: String,
}

/// An inbound ICMPv4 line (packetdrill's `icmp_packet_spec`):
/// `< icmp TYPE [CODE] [mtu N] [[SEQ:END(LEN)]]`, an ICMP error about a
/// segment the stack under test sent. Types and codes are RFC 792's (as
/// packetdrill names them, or `type_N` / `code_N`); the quoted sequence
/// number is relative to our ISN, as on our outbound lines (0 when the
/// line gives none: our ISN).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Icmp {
    /// The ICMP type (3 destination unreachable, 11 time exceeded, ...).
    pub icmp_type: u8,
    /// The ICMP code.
    pub code: u8,
    /// `mtu N`: the next-hop MTU of "fragmentation needed" (RFC 1191).
    pub mtu: Option<u16>,
    /// The quoted TCP sequence number, relative to our ISN.
    pub seq: u32,
    /// The text of the line (for messages).
    pub text: String,
}

/// A packet line's `[...]` ECN field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EcnField {
    /// One codepoint.
    Is(crate::Ecn),
    /// `[ect01]`: ECT(0) or ECT(1).
    EitherEct,
}

impl EcnField {
    /// Whether a datagram's codepoint matches.
    pub fn matches(self, e: crate::Ecn) -> bool {
        match self {
            EcnField::Is(want) => want == e,
            EcnField::EitherEct => matches!(e, crate::Ecn::Ect0 | crate::Ecn::Ect1),
        }
    }
}

/// A system-call argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// `...`
    Ellipsis,
    /// An integer.
    Int(i64),
    /// A symbolic constant.
    Sym(String),
    /// `A|B`
    Or(Vec<Expr>),
    /// `[a, b]`
    List(Vec<Expr>),
    /// `{a=1, b=2}`
    Struct(Vec<(String, Expr)>),
    /// `"text"`
    Str(String),
}

/// A system-call line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Syscall {
    /// `socket`, `connect`, ...
    pub name: String,
    /// Arguments.
    pub args: Vec<Expr>,
    /// Expected return value.
    pub ret: i64,
    /// Expected errno name, when `ret` is -1.
    pub errno: Option<String>,
    /// End of a blocking call (`...end`).
    pub end: Option<Time>,
    /// The text of the line.
    pub text: String,
}

/// What a line does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stmt {
    /// A packet to inject or expect.
    Packet(Packet),
    /// An ICMP error to inject.
    Icmp(Icmp),
    /// A system call.
    Syscall(Syscall),
    /// A shell command (between backticks): its text.
    Shell(String),
    /// An inline Python block (`%{ ... }%`): its text.
    Python(String),
    /// Something the runner does not execute (with a description).
    Unsupported(String),
}

/// One timed (or untimed) statement of the script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// 1-based line where it starts.
    pub line: usize,
    /// Its time.
    pub time: Time,
    /// What it does.
    pub stmt: Stmt,
}

/// A parsed script.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    /// Header options (`--name=value`), in order, with their line.
    pub options: Vec<(usize, String, String)>,
    /// Events in file order.
    pub events: Vec<Event>,
}

/// A syntax error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub msg: String,
}

/// Removes `//` and `/* */` comments, keeping line breaks (and text inside
/// backticks, strings and `%{ }%` blocks).
fn strip_comments(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let (mut in_tick, mut in_str, mut in_py) = (false, false, false);
    while i < b.len() {
        let c = b[i] as char;
        let next = b.get(i + 1).map(|&x| x as char);
        if in_py {
            if c == '}' && next == Some('%') {
                in_py = false;
                out.push_str("}%");
                i += 2;
                continue;
            }
        } else if in_tick {
            if c == '`' {
                in_tick = false;
            }
        } else if in_str {
            if c == '"' {
                in_str = false;
            }
        } else if c == '%' && next == Some('{') {
            in_py = true;
            out.push_str("%{");
            i += 2;
            continue;
        } else if c == '`' {
            in_tick = true;
        } else if c == '"' {
            in_str = true;
        } else if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                if b[i] == b'\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 2;
            continue;
        }
        let ch = src[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Splits the comment-free text into statements: a statement ends at a
/// newline unless brackets are open or a backtick / `%{` block is.
fn statements(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 1;
    let mut line = 1;
    let mut depth: i32 = 0;
    let (mut in_tick, mut in_py) = (false, false);
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if cur.trim().is_empty() && !c.is_whitespace() {
            start = line;
        }
        if in_py {
            if c == '}' && chars.get(i + 1) == Some(&'%') {
                in_py = false;
                cur.push_str("}%");
                i += 2;
                continue;
            }
        } else if in_tick {
            if c == '`' {
                in_tick = false;
            }
        } else {
            match c {
                '`' => in_tick = true,
                '%' if chars.get(i + 1) == Some(&'{') => in_py = true,
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                // `<` opens an option list only after a packet's fields;
                // lists never span lines in practice.
                _ => {}
            }
        }
        if c == '\n' {
            line += 1;
            if depth <= 0 && !in_tick && !in_py {
                if !cur.trim().is_empty() {
                    out.push((start, core::mem::take(&mut cur)));
                }
                cur.clear();
                depth = 0;
                i += 1;
                continue;
            }
            // Shell commands and Python keep their line breaks.
            cur.push(if in_tick || in_py { '\n' } else { ' ' });
            i += 1;
            continue;
        }
        cur.push(c);
        i += 1;
    }
    if !cur.trim().is_empty() {
        out.push((start, cur));
    }
    out
}

/// Parses a whole script.
pub fn parse(src: &str) -> Result<Script, ParseError> {
    let text = strip_comments(src);
    let mut script = Script::default();
    for (line, stmt) in statements(&text) {
        let s = stmt.trim();
        let err = |msg: String| ParseError { line, msg };
        if let Some(opt) = s.strip_prefix("--") {
            let (k, v) = match opt.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => (opt.trim(), ""),
            };
            script.options.push((line, k.to_string(), v.to_string()));
            continue;
        }
        if s.starts_with('#') {
            script.events.push(Event {
                line,
                time: Time::Any,
                stmt: Stmt::Unsupported(format!("preprocessor line `{s}`")),
            });
            continue;
        }
        if let Some(cmd) = backticks(s) {
            script.events.push(Event {
                line,
                time: Time::Any,
                stmt: Stmt::Shell(cmd),
            });
            continue;
        }
        let mut lx = Lexer::new(s);
        let time = lx.time().map_err(err)?;
        let rest = lx.rest().trim();
        let stmt = if let Some(cmd) = backticks(rest) {
            Stmt::Shell(cmd)
        } else if let Some(code) = rest
            .strip_prefix("%{")
            .and_then(|r| r.trim_end().strip_suffix("}%"))
        {
            Stmt::Python(code.to_string())
        } else if rest.starts_with('<') || rest.starts_with('>') {
            parse_packet(rest).map_err(err)?
        } else {
            parse_syscall(&mut lx, rest).map_err(err)?
        };
        script.events.push(Event { line, time, stmt });
    }
    Ok(script)
}

/// The text between a statement's backticks.
fn backticks(s: &str) -> Option<String> {
    let inner = s.strip_prefix('`')?;
    let end = inner.find('`')?;
    Some(inner[..end].to_string())
}

/// A hex string (`abcd1234`) as bytes.
fn hex_bytes(w: &str) -> Result<Vec<u8>, String> {
    if w.len() % 2 != 0 || !w.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("`{w}` is not a hex string of whole bytes"));
    }
    (0..w.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&w[i..i + 2], 16).map_err(|e| format!("{e}")))
        .collect()
}

pub(crate) fn shorten(s: &str) -> String {
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

/// A cursor over one statement.
struct Lexer<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn new(s: &'a str) -> Self {
        Lexer { s, pos: 0 }
    }
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }
    fn ws(&mut self) {
        while let Some(c) = self.rest().chars().next() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }
    fn peek(&mut self) -> Option<char> {
        self.ws();
        self.rest().chars().next()
    }
    fn eat(&mut self, t: &str) -> bool {
        self.ws();
        if self.rest().starts_with(t) {
            self.pos += t.len();
            true
        } else {
            false
        }
    }
    fn expect(&mut self, t: &str) -> Result<(), String> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(format!("expected `{t}` at `{}`", shorten(self.rest())))
        }
    }
    /// A decimal number of seconds (`0.1`, `.1`, `3`), as microseconds.
    fn seconds(&mut self) -> Result<i64, String> {
        self.ws();
        let r = self.rest();
        let n = r
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(r.len());
        let mut t = &r[..n];
        // `0...0.2`: the number ends before `...`.
        if let Some(i) = t.find("..") {
            t = &t[..i];
        }
        if t.is_empty() || t == "." {
            return Err(format!("expected a time at `{}`", shorten(r)));
        }
        self.pos += t.len();
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        let int: i64 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| format!("bad time `{t}`"))?
        };
        let mut f = String::from(frac);
        if f.len() > 6 {
            f.truncate(6);
        }
        while f.len() < 6 {
            f.push('0');
        }
        let frac: i64 = f.parse().map_err(|_| format!("bad time `{t}`"))?;
        Ok(int * 1_000_000 + frac)
    }
    /// `*`, `[+]t[~[+]t]`.
    fn time(&mut self) -> Result<Time, String> {
        if self.eat("*") {
            return Ok(Time::Any);
        }
        let relative = self.eat("+");
        let lo = self.seconds()?;
        if self.eat("~") {
            let rel2 = self.eat("+");
            let hi = self.seconds()?;
            if rel2 != relative {
                return Err("a time range mixes relative and absolute ends".into());
            }
            return Ok(Time::At {
                relative,
                lo,
                hi,
                range: true,
            });
        }
        Ok(Time::At {
            relative,
            lo,
            hi: lo,
            range: false,
        })
    }
    fn int(&mut self) -> Result<i64, String> {
        self.ws();
        let r = self.rest();
        let neg = r.starts_with('-');
        let body = if neg { &r[1..] } else { r };
        let (digits, radix, skip) = if let Some(h) = body.strip_prefix("0x") {
            let n = h.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(h.len());
            (&h[..n], 16, 2)
        } else {
            let n = body
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(body.len());
            (&body[..n], 10, 0)
        };
        if digits.is_empty() {
            return Err(format!("expected a number at `{}`", shorten(r)));
        }
        let v = i64::from_str_radix(digits, radix).map_err(|e| format!("{e}"))?;
        self.pos += usize::from(neg) + skip + digits.len();
        Ok(if neg { -v } else { v })
    }
    fn word(&mut self) -> String {
        self.ws();
        let r = self.rest();
        let n = r
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(r.len());
        self.pos += n;
        r[..n].to_string()
    }
}

/// Skips a balanced `( ... )`; false when it is not closed.
fn skip_parens(lx: &mut Lexer<'_>) -> bool {
    let mut depth = 0;
    for (i, c) in lx.rest().char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    lx.pos += i + 1;
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

fn parse_packet(s: &str) -> Result<Stmt, String> {
    let mut lx = Lexer::new(s);
    let inbound = lx.eat("<");
    if !inbound {
        lx.expect(">")?;
    }
    lx.ws();
    // packetdrill's `ip_ecn` before the flags.
    let mut ecn = None;
    for (name, f) in [
        ("[noecn]", EcnField::Is(crate::Ecn::NotEct)),
        ("[ect0]", EcnField::Is(crate::Ecn::Ect0)),
        ("[ect1]", EcnField::Is(crate::Ecn::Ect1)),
        ("[ce]", EcnField::Is(crate::Ecn::Ce)),
        ("[ect01]", EcnField::EitherEct),
    ] {
        if lx.eat(name) {
            ecn = Some(f);
            lx.ws();
            break;
        }
    }
    let r = lx.rest();
    let fl = r.split_whitespace().next().unwrap_or("");
    let lower = fl.to_ascii_lowercase();
    if lower == "icmp" && inbound {
        lx.pos += fl.len();
        return parse_icmp(&mut lx, s);
    }
    if ["udp", "icmp", "ip", "sctp"].contains(&lower.as_str()) {
        return Ok(Stmt::Unsupported(format!("{lower} packet")));
    }
    if fl.starts_with('[') || fl.starts_with('(') {
        return Ok(Stmt::Unsupported(format!("IP-level field `{fl}`")));
    }
    let mut flags = 0u8;
    for c in fl.chars() {
        flags |= match c {
            'F' => 0x01,
            'S' => 0x02,
            'R' => 0x04,
            'P' => 0x08,
            '.' => 0x10,
            'U' => 0x20,
            'E' => 0x40,
            'W' => 0x80,
            '-' => 0,
            'A' | '0'..='7' => {
                return Ok(Stmt::Unsupported(format!("AccECN flag `{c}`")));
            }
            _ => return Err(format!("bad TCP flags `{fl}`")),
        };
    }
    lx.pos += fl.len();
    let (seq, len) = seq_range(&mut lx)?;
    let mut p = Packet {
        inbound,
        flags,
        seq: seq as u32,
        len: len as u32,
        ack: None,
        win: None,
        urg: None,
        options: None,
        ecn,
        text: s.trim().to_string(),
    };
    loop {
        match lx.peek() {
            None => break,
            Some('<') => {
                lx.pos += 1;
                if lx.eat("...") {
                    lx.expect(">")?;
                    p.options = Some(None);
                } else {
                    p.options = Some(Some(parse_options(&mut lx)?));
                }
            }
            Some('(') | Some('[') => {
                return Ok(Stmt::Unsupported(format!(
                    "IP-level field `{}`",
                    shorten(lx.rest())
                )));
            }
            Some(_) => {
                let w = lx.word();
                match w.as_str() {
                    "ack" => p.ack = Some(lx.int()? as u32),
                    "win" => p.win = Some(lx.int()? as u16),
                    "urg" => p.urg = Some(lx.int()? as u16),
                    "" => return Err(format!("unexpected `{}`", shorten(lx.rest()))),
                    _ => return Ok(Stmt::Unsupported(format!("packet field `{w}`"))),
                }
            }
        }
    }
    if p.inbound && p.options == Some(None) {
        return Err("`<...>` is not allowed on an inbound packet".into());
    }
    Ok(Stmt::Packet(p))
}

/// `START:END(LEN)`, with END = START + LEN (mod 2^32): START and LEN.
fn seq_range(lx: &mut Lexer<'_>) -> Result<(i64, i64), String> {
    let seq = lx.int()?;
    lx.expect(":")?;
    let end = lx.int()?;
    lx.expect("(")?;
    let len = lx.int()?;
    lx.expect(")")?;
    if (end - seq).rem_euclid(1 << 32) != len {
        return Err(format!("seq range {seq}:{end} does not match length {len}"));
    }
    Ok((seq, len))
}

/// RFC 792's message types, as packetdrill names them (its
/// `icmpv4_types`); the unreachable codes below (RFC 792, RFC 1191,
/// RFC 1812 §5.2.7.1).
const ICMP_TYPES: [(&str, u8); 13] = [
    ("echo_reply", 0),
    ("unreachable", 3),
    ("source_quench", 4),
    ("redirect", 5),
    ("echo_request", 8),
    ("time_exceeded", 11),
    ("parameter_problem", 12),
    ("timestamp_request", 13),
    ("timestamp_reply", 14),
    ("information_request", 15),
    ("information_reply", 16),
    ("address_mask_request", 17),
    ("address_mask_reply", 18),
];
const ICMP_UNREACHABLE_CODES: [&str; 16] = [
    "net_unreachable",
    "host_unreachable",
    "protocol_unreachable",
    "port_unreachable",
    "frag_needed",
    "source_route_failed",
    "net_unknown",
    "host_unknown",
    "source_host_isolated",
    "net_prohibited",
    "host_prohibited",
    "net_unreachable_for_tos",
    "host_unreachable_for_tos",
    "packet_filtered",
    "precedence_violation",
    "precedence_cutoff",
];

/// The rest of an inbound `icmp` line, after the word `icmp`.
fn parse_icmp(lx: &mut Lexer<'_>, s: &str) -> Result<Stmt, String> {
    let ty = lx.word();
    let icmp_type = match ty.strip_prefix("type_") {
        Some(n) => n.parse().map_err(|_| format!("bad ICMP type `{ty}`"))?,
        None => ICMP_TYPES
            .iter()
            .find(|(n, _)| *n == ty)
            .map(|&(_, t)| t)
            .ok_or_else(|| format!("bad ICMP type `{ty}`"))?,
    };
    let mut code = 0u8;
    let mut mtu = None;
    let mut seq = 0u32;
    loop {
        match lx.peek() {
            None => break,
            Some('[') => {
                lx.pos += 1;
                if lx
                    .rest()
                    .trim_start()
                    .starts_with(|c: char| c.is_ascii_digit())
                {
                    seq = seq_range(lx)?.0 as u32;
                    lx.expect("]")?;
                } else {
                    return Ok(Stmt::Unsupported(format!(
                        "ICMP quoting `[{}`",
                        shorten(lx.rest())
                    )));
                }
            }
            Some(_) => {
                let w = lx.word();
                match w.as_str() {
                    "mtu" => {
                        let m = lx.int()?;
                        if icmp_type != 3 || code != 4 {
                            return Err("an ICMP MTU is only for unreachable frag_needed".into());
                        }
                        mtu = Some(u16::try_from(m).map_err(|_| "ICMP MTU out of range")?);
                    }
                    "" => return Err(format!("unexpected `{}`", shorten(lx.rest()))),
                    "id" => return Ok(Stmt::Unsupported("ICMP echo id".into())),
                    c => {
                        code = match c.strip_prefix("code_") {
                            Some(n) => n.parse().map_err(|_| format!("bad ICMP code `{c}`"))?,
                            None if icmp_type == 3 => ICMP_UNREACHABLE_CODES
                                .iter()
                                .position(|n| *n == c)
                                .map(|i| i as u8)
                                .ok_or_else(|| format!("bad ICMP code `{c}`"))?,
                            None => return Err(format!("bad ICMP code `{c}`")),
                        };
                    }
                }
            }
        }
    }
    Ok(Stmt::Icmp(Icmp {
        icmp_type,
        code,
        mtu,
        seq,
        text: s.trim().to_string(),
    }))
}

fn parse_options(lx: &mut Lexer<'_>) -> Result<Vec<Opt>, String> {
    let mut out = Vec::new();
    if lx.eat(">") {
        return Ok(out);
    }
    loop {
        let w = lx.word();
        let o = match w.as_str() {
            "nop" => Opt::Nop,
            "eol" => Opt::Eol,
            "mss" => Opt::Mss(lx.int()? as u16),
            "wscale" => Opt::Wscale(lx.int()? as u8),
            "sackOK" => Opt::SackOk,
            "TS" => {
                lx.expect("val")?;
                let v = lx.int()? as u32;
                lx.expect("ecr")?;
                let e = lx.int()? as u32;
                Opt::Ts(v, e)
            }
            "sack" => {
                let mut blocks = Vec::new();
                while lx.peek().is_some_and(|c| c.is_ascii_digit()) {
                    let a = lx.int()? as u32;
                    lx.expect(":")?;
                    let b = lx.int()? as u32;
                    blocks.push((a, b));
                }
                Opt::Sack(blocks)
            }
            "FO" | "FOEXP" | "md5" => {
                let cookie = if lx.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
                    hex_bytes(&lx.word())?
                } else {
                    Vec::new()
                };
                match w.as_str() {
                    "FO" => Opt::FastOpen(cookie),
                    "FOEXP" => Opt::FastOpenExp(cookie),
                    _ => Opt::Md5(cookie),
                }
            }
            "" => return Err(format!("bad option at `{}`", shorten(lx.rest()))),
            other => return Err(format!("unsupported TCP option `{other}`")),
        };
        out.push(o);
        if lx.eat(",") {
            continue;
        }
        lx.expect(">")?;
        return Ok(out);
    }
}

fn parse_syscall(lx: &mut Lexer<'_>, rest: &str) -> Result<Stmt, String> {
    // A blocking call: `...end` follows the start time.
    let mut end = None;
    if lx.eat("...") {
        end = Some(lx.time()?);
    }
    let name = lx.word();
    if name.is_empty() {
        return Err(format!(
            "expected a packet or a system call at `{}`",
            shorten(rest)
        ));
    }
    lx.expect("(")?;
    let mut args = Vec::new();
    if !lx.eat(")") {
        loop {
            args.push(expr(lx)?);
            if lx.eat(",") {
                continue;
            }
            lx.expect(")")?;
            break;
        }
    }
    lx.expect("=")?;
    let ret = match lx.peek() {
        Some(c) if c == '-' || c.is_ascii_digit() => lx.int()?,
        _ => {
            return Err(format!(
                "expected a return value at `{}`",
                shorten(lx.rest())
            ));
        }
    };
    let mut errno = None;
    if lx.peek().is_some_and(|c| c.is_ascii_uppercase()) {
        errno = Some(lx.word());
    }
    // The rest (`(Operation now in progress)`, `(flags O_RDWR)`) is a note.
    let text = lx.s.trim().to_string();
    Ok(Stmt::Syscall(Syscall {
        name,
        args,
        ret,
        errno,
        end,
        text,
    }))
}

fn expr(lx: &mut Lexer<'_>) -> Result<Expr, String> {
    let first = atom(lx)?;
    if lx.peek() != Some('|') {
        return Ok(first);
    }
    let mut v = vec![first];
    while lx.eat("|") {
        v.push(atom(lx)?);
    }
    Ok(Expr::Or(v))
}

fn atom(lx: &mut Lexer<'_>) -> Result<Expr, String> {
    match lx.peek() {
        Some('.') => {
            lx.expect("...")?;
            Ok(Expr::Ellipsis)
        }
        Some('[') => {
            lx.pos += 1;
            let mut v = Vec::new();
            if !lx.eat("]") {
                loop {
                    v.push(expr(lx)?);
                    if lx.eat(",") {
                        continue;
                    }
                    lx.expect("]")?;
                    break;
                }
            }
            Ok(Expr::List(v))
        }
        Some('{') => {
            // `{fd=3, events=POLLIN}`, `{msg_iov(1)=[...], ...}` (the count
            // in parentheses is dropped) or `{..., 1000}` (an iovec:
            // positional items have an empty name).
            lx.pos += 1;
            let mut v = Vec::new();
            if !lx.eat("}") {
                loop {
                    let save = lx.pos;
                    let k = lx.word();
                    let named = !k.is_empty() && {
                        if lx.peek() == Some('(') {
                            let depth_ok = skip_parens(lx);
                            depth_ok && lx.peek() == Some('=')
                        } else {
                            lx.peek() == Some('=')
                        }
                    };
                    if named {
                        lx.expect("=")?;
                        v.push((k, expr(lx)?));
                    } else {
                        lx.pos = save;
                        v.push((String::new(), expr(lx)?));
                    }
                    if lx.eat(",") {
                        continue;
                    }
                    lx.expect("}")?;
                    break;
                }
            }
            Ok(Expr::Struct(v))
        }
        Some('"') => {
            lx.pos += 1;
            let r = lx.rest();
            let n = r.find('"').ok_or("unterminated string")?;
            lx.pos += n + 1;
            Ok(Expr::Str(r[..n].to_string()))
        }
        Some(c) if c == '-' || c.is_ascii_digit() => Ok(Expr::Int(lx.int()?)),
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            let w = lx.word();
            // A function-like argument (`htonl(1)`, `sockaddr(...)`).
            if lx.peek() == Some('(') {
                lx.pos += 1;
                let mut inner = Vec::new();
                if !lx.eat(")") {
                    loop {
                        inner.push(expr(lx)?);
                        if lx.eat(",") {
                            continue;
                        }
                        lx.expect(")")?;
                        break;
                    }
                }
                if w == "htonl" || w == "htons" {
                    if let Some(Expr::Int(v)) = inner.first() {
                        return Ok(Expr::Int(*v));
                    }
                }
                return Ok(Expr::Sym(format!("{w}(...)")));
            }
            Ok(Expr::Sym(w))
        }
        _ => Err(format!("bad argument at `{}`", shorten(lx.rest()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_common_forms() {
        let s = parse(
            "--tolerance_usecs=100000\n\
             // comment\n\
             0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
             +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0 /* c */\n\
             +.1~+.2 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>\n\
             * > S. 0:0(0) ack 1 <...>\n\
             +0...0.2 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n\
             +0 `sysctl -q x`\n\
             +0 %{ assert 1 }%\n\
             +0 > . 1:1(0) ack 1 <nop,nop,TS val 100 ecr 700,nop,nop,sack 1:11 21:31>\n",
        )
        .unwrap();
        assert_eq!(s.options[0].1, "tolerance_usecs");
        assert_eq!(s.events.len(), 8);
        match &s.events[2].stmt {
            Stmt::Packet(p) => {
                assert!(p.inbound);
                assert_eq!(p.flags, 0x02);
                assert_eq!(p.win, Some(32792));
                assert_eq!(p.options.as_ref().unwrap().as_ref().unwrap().len(), 6);
            }
            o => panic!("{o:?}"),
        }
        assert_eq!(
            s.events[2].time,
            Time::At {
                relative: true,
                lo: 100_000,
                hi: 200_000,
                range: true
            }
        );
        match &s.events[4].stmt {
            Stmt::Syscall(c) => {
                assert_eq!(c.errno.as_deref(), Some("EINPROGRESS"));
                assert_eq!(c.ret, -1);
                assert!(c.end.is_some());
            }
            o => panic!("{o:?}"),
        }
        assert_eq!(s.events[5].stmt, Stmt::Shell("sysctl -q x".into()));
        assert_eq!(s.events[6].stmt, Stmt::Python(" assert 1 ".into()));
    }

    #[test]
    fn parses_fast_open_and_msghdr() {
        let s = parse(
            "+0 < S 0:10(10) win 1 <mss 1460,FO abcd1234,nop,nop,FOEXP,md5 00ff>\n\
             +0 sendmsg(4, {msg_name(...)=..., msg_iov(2)=[{..., 10}, {..., 20}], \
             msg_flags=0}, MSG_MORE) = 30\n",
        )
        .unwrap();
        match &s.events[0].stmt {
            Stmt::Packet(p) => assert_eq!(
                p.options,
                Some(Some(vec![
                    Opt::Mss(1460),
                    Opt::FastOpen(vec![0xab, 0xcd, 0x12, 0x34]),
                    Opt::Nop,
                    Opt::Nop,
                    Opt::FastOpenExp(vec![]),
                    Opt::Md5(vec![0, 0xff]),
                ]))
            ),
            o => panic!("{o:?}"),
        }
        match &s.events[1].stmt {
            Stmt::Syscall(c) => {
                let Expr::Struct(f) = &c.args[1] else {
                    panic!("{:?}", c.args[1])
                };
                assert_eq!(f[0], ("msg_name".into(), Expr::Ellipsis));
                let Expr::List(iov) = &f[1].1 else {
                    panic!("{f:?}")
                };
                assert_eq!(
                    iov[1],
                    Expr::Struct(vec![
                        (String::new(), Expr::Ellipsis),
                        (String::new(), Expr::Int(20))
                    ])
                );
            }
            o => panic!("{o:?}"),
        }
        assert!(parse("+0 < S 0:0(0) win 1 <FO TFO_COOKIE>\n").is_err());
    }

    #[test]
    fn parses_icmp_lines() {
        let s = parse(
            "+0 < icmp unreachable frag_needed mtu 800 [0:1000(1000)]\n\
             +0 < icmp unreachable host_unreachable\n\
             +0 < icmp time_exceeded code_1 [5000:6000(1000)]\n\
             +0 > icmp unreachable port_unreachable\n",
        )
        .unwrap();
        let icmp = |i: usize| match &s.events[i].stmt {
            Stmt::Icmp(m) => (m.icmp_type, m.code, m.mtu, m.seq),
            o => panic!("{o:?}"),
        };
        assert_eq!(icmp(0), (3, 4, Some(800), 0));
        assert_eq!(icmp(1), (3, 1, None, 0));
        assert_eq!(icmp(2), (11, 1, None, 5000));
        assert!(matches!(s.events[3].stmt, Stmt::Unsupported(_)));
        assert!(parse("+0 < icmp unreachable host_unreachable mtu 800\n").is_err());
        assert!(parse("+0 < icmp unreachable no_such_code\n").is_err());
        assert!(parse("+0 < icmp no_such_type\n").is_err());
    }
}
