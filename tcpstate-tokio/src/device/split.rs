//! Splitting super-packets into the packets a wire carries: a TCP
//! super-segment (GSO out, GRO in) with `tcpstate::wire::gso::split`
//! (Linux's `tcp_gso_segment` rules), a UDP super-datagram (USO) at its
//! segment size; each piece with its own IP header (length, IPv4
//! identification and header checksum) and a complete checksum.
//!
//! Used where packets must be seen as the wire sees them: the seeded
//! impairment (drops and reordering act on wire-sized packets, with or
//! without offload), and a device adapter that receives super-packets
//! its user cannot take.

use std::net::IpAddr;

use tcpstate::wire::{checksum, gso};

use super::virtio::Layout;

/// At most this many pieces from one super-packet (a smaller segment
/// size is refused): 64 KiB at Linux's smallest TCP MSS (48), and above
/// Linux's 128 segments per UDP super-datagram.
pub const MAX_PIECES: usize = 65_535 / 48 + 1;

/// Why a packet could not be split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitError {
    /// Not an IP packet carrying TCP or UDP, or its headers do not hold.
    Malformed,
    /// Segment size 0, or more than [`MAX_PIECES`] pieces.
    BadSegmentSize,
}

/// Splits super-packets, reusing its scratch buffers.
#[derive(Debug, Default)]
pub struct Splitter {
    tcp: Vec<u8>,
    out: Vec<u8>,
}

impl Splitter {
    /// A splitter (buffers grow on first use, to one piece each).
    pub fn new() -> Self {
        Splitter::default()
    }

    /// Splits `packet` (an IP packet, TCP or UDP) into pieces of at most
    /// `segment_size` payload bytes and hands each, a whole IP packet with
    /// a complete transport checksum, to `out`; returns how many. A
    /// payload that fits one piece gives one packet (its checksum
    /// completed).
    pub fn split(
        &mut self,
        packet: &[u8],
        segment_size: u16,
        mut out: impl FnMut(&[u8]),
    ) -> Result<usize, SplitError> {
        let l = Layout::of(packet).ok_or(SplitError::Malformed)?;
        let size = usize::from(segment_size);
        if size == 0 {
            return Err(SplitError::BadSegmentSize);
        }
        let (src, dst) = addrs(packet, l.v6);
        let ip = &packet[..l.ip_len];
        let l4 = &packet[l.ip_len..l.end];
        let id0 = if l.v6 {
            0
        } else {
            u16::from_be_bytes([packet[4], packet[5]])
        };
        match l.proto {
            6 => {
                let hl = l4
                    .get(12)
                    .map(|b| usize::from(b >> 4) * 4)
                    .ok_or(SplitError::Malformed)?;
                if hl < 20 || hl > l4.len() {
                    return Err(SplitError::Malformed);
                }
                if (l4.len() - hl).div_ceil(size) > MAX_PIECES {
                    return Err(SplitError::BadSegmentSize);
                }
                self.tcp.resize(hl + size.min(l4.len() - hl), 0);
                let mut i = 0u16;
                let out_buf = &mut self.out;
                gso::split(l4, size, src, dst, &mut self.tcp, |piece| {
                    ip_piece(out_buf, ip, l.v6, id0.wrapping_add(i), piece);
                    i = i.wrapping_add(1);
                    out(out_buf);
                })
                .map_err(|_| SplitError::Malformed)
            }
            17 => {
                if l4.len() < 8 {
                    return Err(SplitError::Malformed);
                }
                let data = &l4[8..];
                let pieces = data.len().div_ceil(size).max(1);
                if pieces > MAX_PIECES {
                    return Err(SplitError::BadSegmentSize);
                }
                for i in 0..pieces {
                    let chunk = &data[(i * size).min(data.len())..((i + 1) * size).min(data.len())];
                    self.tcp.clear();
                    self.tcp.extend_from_slice(&l4[..8]);
                    self.tcp.extend_from_slice(chunk);
                    let ulen = (8 + chunk.len()) as u16;
                    self.tcp[4..6].copy_from_slice(&ulen.to_be_bytes());
                    self.tcp[6..8].fill(0);
                    let c = udp_checksum(src, dst, &self.tcp);
                    self.tcp[6..8].copy_from_slice(&c.to_be_bytes());
                    ip_piece(
                        &mut self.out,
                        ip,
                        l.v6,
                        id0.wrapping_add(i as u16),
                        &self.tcp,
                    );
                    out(&self.out);
                }
                Ok(pieces)
            }
            _ => Err(SplitError::Malformed),
        }
    }
}

fn addrs(p: &[u8], v6: bool) -> (IpAddr, IpAddr) {
    if v6 {
        let s: [u8; 16] = p[8..24].try_into().unwrap_or_default();
        let d: [u8; 16] = p[24..40].try_into().unwrap_or_default();
        (IpAddr::from(s), IpAddr::from(d))
    } else {
        let s: [u8; 4] = p[12..16].try_into().unwrap_or_default();
        let d: [u8; 4] = p[16..20].try_into().unwrap_or_default();
        (IpAddr::from(s), IpAddr::from(d))
    }
}

/// `out` = the IP header `ip` fixed for `l4` (lengths, identification,
/// header checksum) followed by `l4`.
fn ip_piece(out: &mut Vec<u8>, ip: &[u8], v6: bool, id: u16, l4: &[u8]) {
    out.clear();
    out.extend_from_slice(ip);
    out.extend_from_slice(l4);
    if v6 {
        let plen = (out.len() - 40) as u16;
        out[4..6].copy_from_slice(&plen.to_be_bytes());
    } else {
        let total = out.len() as u16;
        out[2..4].copy_from_slice(&total.to_be_bytes());
        out[4..6].copy_from_slice(&id.to_be_bytes());
        out[10..12].fill(0);
        let hl = ip.len();
        let c = !checksum::fold(checksum::ones_complement_sum(&out[..hl], 0));
        out[10..12].copy_from_slice(&c.to_be_bytes());
    }
}

fn udp_checksum(src: IpAddr, dst: IpAddr, dgram: &[u8]) -> u16 {
    let mut pseudo = Vec::with_capacity(40);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&d.octets());
            pseudo.extend_from_slice(&[0, 17]);
            pseudo.extend_from_slice(&(dgram.len() as u16).to_be_bytes());
        }
        (s, d) => {
            let o = |a: IpAddr| match a {
                IpAddr::V6(a) => a.octets(),
                IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
            };
            pseudo.extend_from_slice(&o(s));
            pseudo.extend_from_slice(&o(d));
            pseudo.extend_from_slice(&(dgram.len() as u32).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, 17]);
        }
    }
    let sum = checksum::ones_complement_sum(dgram, checksum::ones_complement_sum(&pseudo, 0));
    match !checksum::fold(sum) {
        0 => 0xffff,
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 TCP packet: `payload` bytes of a pattern, PSH|ACK, the
    /// timestamp option, a full checksum.
    fn tcp_v4(payload: usize) -> Vec<u8> {
        let total = 20 + 32 + payload;
        let mut p = vec![0u8; total];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[4..6].copy_from_slice(&100u16.to_be_bytes());
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&[192, 0, 2, 1]);
        p[16..20].copy_from_slice(&[192, 0, 2, 2]);
        let t = &mut p[20..];
        t[0..4].copy_from_slice(&[0x9c, 0x40, 0, 80]);
        t[4..8].copy_from_slice(&1000u32.to_be_bytes());
        t[12] = 8 << 4;
        t[13] = 0x18;
        t[20..32].copy_from_slice(&[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
        for (i, b) in t[32..].iter_mut().enumerate() {
            *b = i as u8;
        }
        checksum::fill_checksum_v4([192, 0, 2, 1], [192, 0, 2, 2], t);
        let c = !checksum::fold(checksum::ones_complement_sum(&p[..20], 0));
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p
    }

    #[test]
    fn tcp_pieces_are_wire_packets() {
        let p = tcp_v4(4000);
        let mut s = Splitter::new();
        let mut pieces = Vec::new();
        let n = s.split(&p, 1448, |q| pieces.push(q.to_vec())).unwrap();
        assert_eq!(n, 3);
        let mut payload = Vec::new();
        for (i, q) in pieces.iter().enumerate() {
            assert_eq!(usize::from(u16::from_be_bytes([q[2], q[3]])), q.len());
            assert_eq!(u16::from_be_bytes([q[4], q[5]]), 100 + i as u16);
            assert_eq!(
                checksum::fold(checksum::ones_complement_sum(&q[..20], 0)),
                0xffff
            );
            assert!(checksum::verify_v4(
                [192, 0, 2, 1],
                [192, 0, 2, 2],
                &q[20..]
            ));
            let seq = u32::from_be_bytes(q[24..28].try_into().unwrap());
            assert_eq!(seq, 1000 + 1448 * i as u32);
            // PSH on the last piece only.
            assert_eq!(q[33] & 0x08 != 0, i == 2);
            payload.extend_from_slice(&q[52..]);
        }
        assert_eq!(payload, p[52..]);
    }

    #[test]
    fn udp_pieces() {
        let mut p = tcp_v4(0);
        p.truncate(20);
        p[9] = 17;
        let mut udp = vec![0u8; 8 + 3000];
        udp[0..4].copy_from_slice(&[0x13, 0x88, 0x13, 0x89]);
        p.extend_from_slice(&udp);
        let total = p.len() as u16;
        p[2..4].copy_from_slice(&total.to_be_bytes());
        let mut s = Splitter::new();
        let mut lens = Vec::new();
        s.split(&p, 1200, |q| {
            lens.push(q.len());
            assert_eq!(
                usize::from(u16::from_be_bytes([q[24], q[25]])),
                q.len() - 20
            );
        })
        .unwrap();
        assert_eq!(lens, vec![1228, 1228, 628]);
    }

    #[test]
    fn garbage_is_refused_without_panic() {
        let mut s = Splitter::new();
        for n in 0..80 {
            for fill in [0u8, 0x45, 0x46, 0x60, 0xff] {
                let mut b = vec![fill; n];
                if n > 3 {
                    b[2..4].copy_from_slice(&(n as u16).to_be_bytes());
                }
                for size in [0u16, 1, 8, 1448] {
                    let _ = s.split(&b, size, |_| {});
                }
            }
        }
        assert_eq!(
            s.split(&tcp_v4(4000), 1, |_| {}),
            Err(SplitError::BadSegmentSize)
        );
    }
}
