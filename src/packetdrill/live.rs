//! Segments as the engine sent them, parsed without losing the option
//! layout, and the packetdrill notation to show them.

use std::format;
use std::string::String;
use std::vec::Vec;

use super::parse::Opt;

/// A segment the engine sent, parsed without losing the option layout.
pub(crate) struct Live {
    pub(crate) sport: u16,
    pub(crate) dport: u16,
    pub(crate) seq: u32,
    pub(crate) ack: u32,
    pub(crate) flags: u8,
    pub(crate) win: u16,
    pub(crate) urg: u16,
    pub(crate) opts: Vec<Opt>,
    pub(crate) len: u32,
}

impl Live {
    pub(crate) fn parse(b: &[u8]) -> Option<Live> {
        if b.len() < 20 {
            return None;
        }
        let be16 = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        let be32 = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let hlen = usize::from(b[12] >> 4) * 4;
        if hlen < 20 || hlen > b.len() {
            return None;
        }
        let mut opts = Vec::new();
        let area = &b[20..hlen];
        let mut i = 0;
        while i < area.len() {
            let k = area[i];
            match k {
                0 => {
                    // EOL: the rest is padding.
                    if area[i..].iter().any(|&x| x != 0) {
                        opts.push(Opt::Eol);
                    }
                    break;
                }
                1 => {
                    opts.push(Opt::Nop);
                    i += 1;
                    continue;
                }
                _ => {}
            }
            let l = usize::from(*area.get(i + 1)?);
            if l < 2 || i + l > area.len() {
                return None;
            }
            let body = &area[i + 2..i + l];
            let o = match (k, l) {
                (2, 4) => Opt::Mss(u16::from_be_bytes([body[0], body[1]])),
                (3, 3) => Opt::Wscale(body[0]),
                (4, 2) => Opt::SackOk,
                (8, 10) => Opt::Ts(
                    u32::from_be_bytes([body[0], body[1], body[2], body[3]]),
                    u32::from_be_bytes([body[4], body[5], body[6], body[7]]),
                ),
                (5, _) => Opt::Sack(
                    body.chunks_exact(8)
                        .map(|c| {
                            (
                                u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                                u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
                            )
                        })
                        .collect(),
                ),
                (34, _) => Opt::FastOpen(body.to_vec()),
                (254, _) if body.len() >= 2 && body[..2] == [0xf9, 0x89] => {
                    Opt::FastOpenExp(body[2..].to_vec())
                }
                (19, 18) => Opt::Md5(body.to_vec()),
                _ => Opt::Other(k, body.to_vec()),
            };
            opts.push(o);
            i += l;
        }
        Some(Live {
            sport: be16(0),
            dport: be16(2),
            seq: be32(4),
            ack: be32(8),
            flags: b[13],
            win: be16(14),
            urg: be16(18),
            opts,
            len: (b.len() - hlen) as u32,
        })
    }
}

pub(crate) fn flag_str(f: u8) -> String {
    let mut s = String::new();
    for (bit, c) in [
        (0x02, 'S'),
        (0x01, 'F'),
        (0x04, 'R'),
        (0x08, 'P'),
        (0x20, 'U'),
        (0x40, 'E'),
        (0x80, 'W'),
        (0x10, '.'),
    ] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    if s.is_empty() {
        s.push('-');
    }
    s
}

/// The wire bytes of a script's option list (inbound packets), before
/// padding; `ecr` maps a script TS ecr onto the live value, `sack` a
/// relative SACK edge onto the absolute one.
pub(crate) fn encode_options(
    list: &[Opt],
    ecr: impl Fn(u32) -> u32,
    sack: impl Fn(u32) -> u32,
) -> Vec<u8> {
    let mut opts = Vec::new();
    for o in list {
        match o {
            Opt::Nop => opts.push(1),
            Opt::Eol => opts.push(0),
            Opt::Mss(m) => opts.extend_from_slice(&[2, 4, (m >> 8) as u8, *m as u8]),
            Opt::Wscale(w) => opts.extend_from_slice(&[3, 3, *w]),
            Opt::SackOk => opts.extend_from_slice(&[4, 2]),
            Opt::Ts(v, e) => {
                opts.extend_from_slice(&[8, 10]);
                opts.extend_from_slice(&v.to_be_bytes());
                opts.extend_from_slice(&ecr(*e).to_be_bytes());
            }
            Opt::Sack(blocks) => {
                opts.extend_from_slice(&[5, (2 + 8 * blocks.len()) as u8]);
                for (a, b) in blocks {
                    opts.extend_from_slice(&sack(*a).to_be_bytes());
                    opts.extend_from_slice(&sack(*b).to_be_bytes());
                }
            }
            Opt::FastOpen(c) => {
                opts.extend_from_slice(&[34, (2 + c.len()) as u8]);
                opts.extend_from_slice(c);
            }
            Opt::FastOpenExp(c) => {
                opts.extend_from_slice(&[254, (4 + c.len()) as u8, 0xf9, 0x89]);
                opts.extend_from_slice(c);
            }
            Opt::Md5(d) => {
                // The digest is not checked by the engine: any 16 bytes.
                let mut d = d.clone();
                d.resize(16, 0);
                opts.extend_from_slice(&[19, 18]);
                opts.extend_from_slice(&d);
            }
            Opt::Other(k, body) => {
                opts.extend_from_slice(&[*k, (2 + body.len()) as u8]);
                opts.extend_from_slice(body);
            }
        }
    }
    opts
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn opt_str(o: &Opt) -> String {
    match o {
        Opt::FastOpen(c) if c.is_empty() => "FO".into(),
        Opt::FastOpen(c) => format!("FO {}", hex(c)),
        Opt::FastOpenExp(c) if c.is_empty() => "FOEXP".into(),
        Opt::FastOpenExp(c) => format!("FOEXP {}", hex(c)),
        Opt::Md5(d) => format!("md5 {}", hex(d)),
        Opt::Other(k, b) => format!("kind {k} {}", hex(b)),
        Opt::Nop => "nop".into(),
        Opt::Eol => "eol".into(),
        Opt::Mss(m) => format!("mss {m}"),
        Opt::Wscale(w) => format!("wscale {w}"),
        Opt::SackOk => "sackOK".into(),
        Opt::Ts(v, e) => format!("TS val {v} ecr {e}"),
        Opt::Sack(b) => {
            let v: Vec<String> = b.iter().map(|(a, b)| format!("{a}:{b}")).collect();
            format!("sack {}", v.join(" "))
        }
    }
}
