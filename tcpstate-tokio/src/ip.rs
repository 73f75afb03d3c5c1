//! IP in and out, with `etherparse`: what an incoming packet is, and the
//! IP header in front of an outgoing segment.
//!
//! Nothing here panics on any input: a packet that does not parse, is
//! fragmented, or carries anything but TCP or an ICMP error is
//! [`Packet::Other`], for the application.

use std::net::IpAddr;

use etherparse::{IpNumber, IpSlice, Ipv4Header, Ipv6FlowLabel, Ipv6Header};

/// The room an outgoing packet keeps in front of the TCP segment.
pub(crate) const IP_ROOM: usize = Ipv6Header::LEN;

/// What an incoming packet is.
#[derive(Debug)]
pub(crate) enum Packet<'a> {
    /// A TCP segment (the IP payload), unfragmented.
    Tcp {
        src: IpAddr,
        dst: IpAddr,
        /// The IP header's ECN codepoint (0-3).
        ecn: u8,
        segment: &'a [u8],
    },
    /// An ICMP or ICMPv6 error quoting a TCP segment.
    IcmpError {
        v6: bool,
        kind: u8,
        code: u8,
        /// Next-hop MTU (ICMPv4 "fragmentation needed") or MTU (ICMPv6
        /// "packet too big"); 0 otherwise.
        mtu: u32,
        /// The quoted packet: its IP header and at least 8 bytes of TCP.
        quoted: &'a [u8],
        /// The quoted packet's source address (ours, when it is for us).
        quoted_src: IpAddr,
    },
    /// Anything else.
    Other,
}

/// RFC 1071 sum, folded, not complemented.
fn sum(mut acc: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        acc += u32::from(*b) << 8;
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc
}

fn checksum_ok(acc: u32) -> bool {
    sum(acc, &[]) == 0xffff
}

/// Whether a TCP segment's checksum is right (for the addresses it came
/// with).
pub(crate) fn tcp_checksum_ok(src: IpAddr, dst: IpAddr, segment: &[u8]) -> bool {
    use tcpstate::wire::checksum::{verify_v4, verify_v6};
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => verify_v4(s.octets(), d.octets(), segment),
        (IpAddr::V6(s), IpAddr::V6(d)) => verify_v6(s.octets(), d.octets(), segment),
        _ => false,
    }
}

/// Classifies a packet as the device handed it over.
pub(crate) fn parse(bytes: &[u8]) -> Packet<'_> {
    let Ok(ip) = IpSlice::from_slice(bytes) else {
        return Packet::Other;
    };
    if ip.is_fragmenting_payload() {
        return Packet::Other;
    }
    let (ecn, v6) = match &ip {
        IpSlice::Ipv4(v4) => {
            let h = v4.header();
            if !checksum_ok(sum(0, h.slice())) {
                return Packet::Other;
            }
            (h.ecn().value(), false)
        }
        IpSlice::Ipv6(v6) => (v6.header().traffic_class() & 3, true),
    };
    let (src, dst) = (ip.source_addr(), ip.destination_addr());
    let payload = ip.payload();
    match payload.ip_number {
        IpNumber::TCP => Packet::Tcp {
            src,
            dst,
            ecn,
            segment: payload.payload,
        },
        IpNumber::ICMP if !v6 => icmp(payload.payload, false, sum(0, payload.payload)),
        IpNumber::IPV6_ICMP if v6 => {
            let (IpAddr::V6(s), IpAddr::V6(d)) = (src, dst) else {
                return Packet::Other;
            };
            let msg = payload.payload;
            let len = msg.len() as u32;
            let mut acc = sum(0, &s.octets());
            acc = sum(acc, &d.octets());
            acc = sum(acc, &len.to_be_bytes());
            acc = sum(acc, &[0, 0, 0, 58]);
            icmp(msg, true, sum(acc, msg))
        }
        _ => Packet::Other,
    }
}

/// An ICMP message whose checksum sum is `acc`: an error quoting TCP, or
/// [`Packet::Other`].
fn icmp(msg: &[u8], v6: bool, acc: u32) -> Packet<'_> {
    if msg.len() < 8 || !checksum_ok(acc) {
        return Packet::Other;
    }
    let (kind, code) = (msg[0], msg[1]);
    let error = if v6 {
        matches!(kind, 1..=4)
    } else {
        matches!(kind, 3 | 4 | 11 | 12)
    };
    if !error {
        return Packet::Other;
    }
    let mtu = match (v6, kind, code) {
        (false, 3, 4) => u32::from(u16::from_be_bytes([msg[6], msg[7]])),
        (true, 2, _) => u32::from_be_bytes([msg[4], msg[5], msg[6], msg[7]]),
        _ => 0,
    };
    let quoted = &msg[8..];
    // The quoted packet is often cut short: read only its fixed header.
    let (proto, qsrc, hlen) = match (v6, quoted.first().map(|b| b >> 4)) {
        (false, Some(4)) if quoted.len() >= 20 => {
            let ihl = usize::from(quoted[0] & 0xf) * 4;
            let src: [u8; 4] = quoted[12..16].try_into().unwrap_or_default();
            (quoted[9], IpAddr::from(src), ihl)
        }
        (true, Some(6)) if quoted.len() >= 40 => {
            let src: [u8; 16] = quoted[8..24].try_into().unwrap_or_default();
            (quoted[6], IpAddr::from(src), 40)
        }
        _ => return Packet::Other,
    };
    if proto != 6 || hlen < 20 || quoted.len() < hlen + 8 {
        return Packet::Other;
    }
    Packet::IcmpError {
        v6,
        kind,
        code,
        mtu,
        quoted,
        quoted_src: qsrc,
    }
}

/// Writes the IP header for a `len`-byte TCP segment that lies at
/// `buf[at..]`, right in front of it, and returns where the packet starts
/// in `buf`. `None` for mixed address families, a segment too long for
/// IPv4, or no room for the header before `at`.
pub(crate) fn write_header(
    buf: &mut [u8],
    at: usize,
    src: IpAddr,
    dst: IpAddr,
    ecn: u8,
    len: usize,
    id: u16,
) -> Option<usize> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut h = Ipv4Header::new(
                u16::try_from(len).ok()?,
                64,
                IpNumber::TCP,
                s.octets(),
                d.octets(),
            )
            .ok()?;
            h.dont_fragment = true;
            h.identification = id;
            h.ecn = etherparse::IpEcn::try_new(ecn & 3).ok()?;
            h.header_checksum = h.calc_header_checksum();
            let b = h.to_bytes();
            let start = at.checked_sub(b.len())?;
            buf.get_mut(start..at)?.copy_from_slice(&b);
            Some(start)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let h = Ipv6Header {
                traffic_class: ecn & 3,
                flow_label: Ipv6FlowLabel::ZERO,
                payload_length: u16::try_from(len).ok()?,
                next_header: IpNumber::TCP,
                hop_limit: 64,
                source: s.octets(),
                destination: d.octets(),
            };
            let b = h.to_bytes();
            let start = at.checked_sub(b.len())?;
            buf.get_mut(start..at)?.copy_from_slice(&b);
            Some(start)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_other() {
        for len in 0..80 {
            for fill in [0u8, 0x45, 0x60, 0xff] {
                let mut b = vec![fill; len];
                if let Some(x) = b.first_mut() {
                    *x = fill;
                }
                let _ = parse(&b);
            }
        }
    }

    #[test]
    fn tcp_round_trip_v4_and_v6() {
        for (s, d) in [("192.0.2.1", "192.0.2.2"), ("2001:db8::1", "2001:db8::2")] {
            let (s, d): (IpAddr, IpAddr) = (s.parse().unwrap(), d.parse().unwrap());
            let mut buf = vec![0u8; IP_ROOM + 20];
            buf[IP_ROOM..].copy_from_slice(&[7; 20]);
            let start = write_header(&mut buf, IP_ROOM, s, d, 2, 20, 9).unwrap();
            match parse(&buf[start..]) {
                Packet::Tcp {
                    src,
                    dst,
                    ecn,
                    segment,
                } => {
                    assert_eq!((src, dst, ecn, segment), (s, d, 2, &[7u8; 20][..]));
                }
                p => panic!("{p:?}"),
            }
        }
    }
}
