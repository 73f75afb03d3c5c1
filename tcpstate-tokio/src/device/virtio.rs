//! The `virtio_net_hdr` in front of every packet of a Linux TUN device
//! opened with `IFF_VNET_HDR` (offload on): what a packet read from the
//! device is, and the header to write in front of a packet sent to it.
//!
//! The kernel hands over TCP super-segments (it did not segment what its
//! TCP sent: `TUN_F_TSO4/6`), UDP super-datagrams (`TUN_F_USO4/6`) and
//! packets whose checksum it left for us (`VIRTIO_NET_HDR_F_NEEDS_CSUM`,
//! Linux's `CHECKSUM_PARTIAL`: made on this host, the field holds the
//! pseudo-header sum). [`VirtioNetHdr::received`] checks a header against
//! its packet and says what it is, never panicking on any bytes; the
//! header for a packet to send comes from its [`PacketMeta`]
//! ([`VirtioNetHdr::for_send`]).
//!
//! The header is in the host's byte order (a TUN device without
//! `TUNSETVNETLE`/`BE`, as `tun-rs` opens it).

use super::{Checksum, PacketMeta};

/// Bytes of the header (`struct virtio_net_hdr`).
pub const LEN: usize = 10;
/// `flags`: the checksum is to be completed from `csum_start`, stored at
/// `csum_start + csum_offset` (the field holds the pseudo-header sum).
pub const F_NEEDS_CSUM: u8 = 1;
/// `flags`: the checksum was verified.
pub const F_DATA_VALID: u8 = 2;
/// `gso_type`: an ordinary packet.
pub const GSO_NONE: u8 = 0;
/// `gso_type`: a TCP over IPv4 super-segment.
pub const GSO_TCPV4: u8 = 1;
/// `gso_type`: UDP fragmentation offload (obsolete, refused).
pub const GSO_UDP: u8 = 3;
/// `gso_type`: a TCP over IPv6 super-segment.
pub const GSO_TCPV6: u8 = 4;
/// `gso_type`: a UDP super-datagram (USO), IPv4 or IPv6.
pub const GSO_UDP_L4: u8 = 5;
/// `gso_type` bit: the TCP super-segment carries CWR (ECN).
pub const GSO_ECN: u8 = 0x80;

/// A `virtio_net_hdr`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VirtioNetHdr {
    /// `F_NEEDS_CSUM`, `F_DATA_VALID`.
    pub flags: u8,
    /// `GSO_*`, possibly with `GSO_ECN`.
    pub gso_type: u8,
    /// Length of the headers (a hint; not trusted on receive).
    pub hdr_len: u16,
    /// Payload bytes per segment of a super-segment.
    pub gso_size: u16,
    /// Where the checksummed part starts (the transport header).
    pub csum_start: u16,
    /// Where the checksum field is, from `csum_start` (16 for TCP, 6 for UDP).
    pub csum_offset: u16,
}

/// What a received packet is (see [`VirtioNetHdr::received`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// One packet (a TCP super-segment included: the engine takes it as
    /// one coalesced segment); its metadata.
    Packet(PacketMeta),
    /// A super-packet that must be split before anyone can use it (a UDP
    /// super-datagram): split it with [`Splitter`](super::Splitter) at
    /// this size.
    Split(u16),
    /// A header that does not fit its packet, or an offload the stack does
    /// not take: drop the packet (counted).
    Bad(&'static str),
}

impl VirtioNetHdr {
    /// Reads a header from the first [`LEN`] bytes; `None` if too short.
    pub fn decode(b: &[u8]) -> Option<VirtioNetHdr> {
        let b: &[u8; LEN] = b.get(..LEN)?.try_into().ok()?;
        let u = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        Some(VirtioNetHdr {
            flags: b[0],
            gso_type: b[1],
            hdr_len: u(2),
            gso_size: u(4),
            csum_start: u(6),
            csum_offset: u(8),
        })
    }

    /// The header's bytes.
    pub fn encode(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[0] = self.flags;
        b[1] = self.gso_type;
        for (i, v) in [
            (2, self.hdr_len),
            (4, self.gso_size),
            (6, self.csum_start),
            (8, self.csum_offset),
        ] {
            b[i..i + 2].copy_from_slice(&v.to_ne_bytes());
        }
        b
    }

    /// The header for sending `packet` (an IP packet) with `meta`: with
    /// [`Checksum::Partial`] the checksum is left to the device, and the
    /// packet is a TCP super-segment when `meta.segment_size` is set and
    /// the payload is longer than it (the kernel's GSO needs the
    /// pseudo-header sum in the field, as the engine's transmit checksum
    /// offload writes it). Anything else (a complete checksum, a packet
    /// that is not TCP or whose headers do not parse) gets the plain
    /// header: sent as it is.
    pub fn for_send(packet: &[u8], meta: PacketMeta) -> VirtioNetHdr {
        let plain = VirtioNetHdr::default();
        if meta.checksum != Checksum::Partial {
            return plain;
        }
        let Some(l) = Layout::of(packet) else {
            return plain;
        };
        if l.proto != 6 {
            return plain;
        }
        let Some(tcp_len) = packet
            .get(l.ip_len + 12)
            .map(|b| usize::from(b >> 4) * 4)
            .filter(|&n| n >= 20)
        else {
            return plain;
        };
        let mut h = VirtioNetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: GSO_NONE,
            hdr_len: (l.ip_len + tcp_len) as u16,
            gso_size: 0,
            csum_start: l.ip_len as u16,
            csum_offset: 16,
        };
        let payload = l.end.saturating_sub(l.ip_len + tcp_len);
        if meta.segment_size > 0 && payload > usize::from(meta.segment_size) {
            h.gso_type = if l.v6 { GSO_TCPV6 } else { GSO_TCPV4 };
            h.gso_size = meta.segment_size;
            // CWR on a super-segment: Linux's SKB_GSO_TCP_ECN.
            if packet.get(l.ip_len + 13).is_some_and(|f| f & 0x80 != 0) {
                h.gso_type |= GSO_ECN;
            }
        }
        h
    }

    /// Checks this header (read in front of `packet`) and says what the
    /// packet is. A checksum left to us on anything but a TCP segment
    /// whose field is where the stack expects it is completed here, in
    /// `packet`, so that what reaches the application is whole.
    pub fn received(&self, packet: &mut [u8]) -> Received {
        let base = self.gso_type & !GSO_ECN;
        let Some(l) = Layout::of(packet) else {
            return match base {
                GSO_NONE if self.flags & F_NEEDS_CSUM == 0 => {
                    Received::Packet(PacketMeta::default())
                }
                _ => Received::Bad("offload on a packet that is not IP"),
            };
        };
        let needs = self.flags & F_NEEDS_CSUM != 0;
        let start = usize::from(self.csum_start);
        let field = start + usize::from(self.csum_offset);
        if needs && field + 2 > l.end {
            return Received::Bad("checksum field beyond the packet");
        }
        if needs && start < l.ip_len {
            return Received::Bad("checksum starts inside the IP header");
        }
        let tcp_std = l.proto == 6 && start == l.ip_len && self.csum_offset == 16;
        let udp_std = l.proto == 17 && start == l.ip_len && self.csum_offset == 6;
        match base {
            GSO_NONE => {
                let checksum = if needs && tcp_std {
                    Checksum::Partial
                } else if needs {
                    complete_checksum(&mut packet[..l.end], start, field);
                    Checksum::Complete
                } else if self.flags & F_DATA_VALID != 0 {
                    Checksum::Verified
                } else {
                    Checksum::Complete
                };
                Received::Packet(PacketMeta {
                    segment_size: 0,
                    checksum,
                })
            }
            GSO_TCPV4 | GSO_TCPV6 => {
                if (base == GSO_TCPV6) != l.v6 {
                    return Received::Bad("GSO type of the other IP version");
                }
                if !tcp_std || !needs {
                    return Received::Bad("TCP GSO without the TCP checksum offsets");
                }
                let Some(hl) = packet.get(l.ip_len + 12).map(|b| usize::from(b >> 4) * 4) else {
                    return Received::Bad("TCP header cut short");
                };
                if hl < 20 || l.ip_len + hl > l.end {
                    return Received::Bad("bad TCP data offset");
                }
                if self.gso_size == 0 {
                    return Received::Bad("GSO size 0");
                }
                Received::Packet(PacketMeta {
                    segment_size: self.gso_size,
                    checksum: Checksum::Partial,
                })
            }
            GSO_UDP_L4 => {
                if self.gso_type & GSO_ECN != 0 {
                    return Received::Bad("ECN on UDP GSO");
                }
                if !udp_std || !needs || l.ip_len + 8 > l.end {
                    return Received::Bad("UDP GSO without the UDP checksum offsets");
                }
                if self.gso_size == 0 {
                    return Received::Bad("GSO size 0");
                }
                Received::Split(self.gso_size)
            }
            GSO_UDP => Received::Bad("UFO (GSO type 3) is not supported"),
            _ => Received::Bad("unknown GSO type"),
        }
    }
}

/// Where an IP packet's transport header and end are.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    pub(crate) v6: bool,
    /// IP header length (the transport header's offset).
    pub(crate) ip_len: usize,
    /// The IP protocol / next header (no IPv6 extension headers).
    pub(crate) proto: u8,
    /// End of the IP packet in the buffer (total length).
    pub(crate) end: usize,
}

impl Layout {
    /// The layout of `p`, or `None` if its IP header does not hold.
    pub(crate) fn of(p: &[u8]) -> Option<Layout> {
        match p.first()? >> 4 {
            4 => {
                let ip_len = usize::from(p[0] & 15) * 4;
                let end = usize::from(u16::from_be_bytes([*p.get(2)?, *p.get(3)?]));
                if ip_len < 20 || end < ip_len || end > p.len() {
                    return None;
                }
                Some(Layout {
                    v6: false,
                    ip_len,
                    proto: p[9],
                    end,
                })
            }
            6 => {
                let plen = usize::from(u16::from_be_bytes([*p.get(4)?, *p.get(5)?]));
                let end = 40 + plen;
                if p.len() < 40 || end > p.len() {
                    return None;
                }
                Some(Layout {
                    v6: true,
                    ip_len: 40,
                    proto: p[6],
                    end,
                })
            }
            _ => None,
        }
    }
}

/// Completes a `CHECKSUM_PARTIAL` checksum: the sum from `start` to the
/// end (the field holding the pseudo-header sum), complemented, into the
/// field at `field`. The caller checked both are inside `p`.
fn complete_checksum(p: &mut [u8], start: usize, field: usize) {
    let sum = tcpstate::wire::checksum::ones_complement_sum(&p[start..], 0);
    let c = !tcpstate::wire::checksum::fold(sum);
    p[field..field + 2].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp_v4(payload: usize) -> Vec<u8> {
        let total = 20 + 20 + payload;
        let mut p = vec![0u8; total];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[9] = 6;
        p[32] = 5 << 4;
        p
    }

    #[test]
    fn round_trip() {
        let h = VirtioNetHdr {
            flags: 1,
            gso_type: 4,
            hdr_len: 60,
            gso_size: 1440,
            csum_start: 40,
            csum_offset: 16,
        };
        assert_eq!(VirtioNetHdr::decode(&h.encode()), Some(h));
        assert_eq!(VirtioNetHdr::decode(&[0; 9]), None);
    }

    #[test]
    fn send_headers() {
        let p = tcp_v4(3000);
        let gso = PacketMeta {
            segment_size: 1448,
            checksum: Checksum::Partial,
        };
        let h = VirtioNetHdr::for_send(&p, gso);
        assert_eq!(
            (h.flags, h.gso_type, h.gso_size, h.csum_start, h.csum_offset),
            (F_NEEDS_CSUM, GSO_TCPV4, 1448, 20, 16)
        );
        // One segment's worth: no GSO, checksum still left to the device.
        let h = VirtioNetHdr::for_send(&tcp_v4(100), gso);
        assert_eq!((h.flags, h.gso_type), (F_NEEDS_CSUM, GSO_NONE));
        // Plain.
        let h = VirtioNetHdr::for_send(&p, PacketMeta::default());
        assert_eq!(h, VirtioNetHdr::default());
        // Garbage never panics and goes plain.
        for n in 0..64 {
            let _ = VirtioNetHdr::for_send(&vec![0x45; n], gso);
            let _ = VirtioNetHdr::for_send(&vec![0x65; n], gso);
        }
    }

    /// Every header on every packet: never a panic; the shapes the kernel
    /// makes are taken, the rest refused.
    #[test]
    fn any_header_on_any_packet() {
        let mut packets = vec![tcp_v4(0), tcp_v4(4000), vec![], vec![0x45], vec![0x60; 40]];
        let mut udp = tcp_v4(100);
        udp[9] = 17;
        packets.push(udp);
        let mut short = tcp_v4(10);
        short.truncate(30);
        packets.push(short);
        let values = [0u16, 1, 6, 16, 19, 20, 40, 1448, 4039, 4040, 65535];
        let mut taken = 0;
        for p in &packets {
            for flags in [0u8, 1, 2, 3, 0xff] {
                for gso_type in [0u8, 1, 3, 4, 5, 0x81, 0x85, 7, 0xff] {
                    for &gso_size in &[0u16, 1, 1448, 65535] {
                        for &csum_start in &values {
                            for &csum_offset in &values {
                                let h = VirtioNetHdr {
                                    flags,
                                    gso_type,
                                    hdr_len: csum_start,
                                    gso_size,
                                    csum_start,
                                    csum_offset,
                                };
                                let mut q = p.clone();
                                if !matches!(h.received(&mut q), Received::Bad(_)) {
                                    taken += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(taken > 0);
        let mut p = tcp_v4(4000);
        let tso = VirtioNetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: GSO_TCPV4,
            hdr_len: 40,
            gso_size: 1448,
            csum_start: 20,
            csum_offset: 16,
        };
        assert_eq!(
            tso.received(&mut p),
            Received::Packet(PacketMeta {
                segment_size: 1448,
                checksum: Checksum::Partial
            })
        );
        let v6 = VirtioNetHdr {
            gso_type: GSO_TCPV6,
            ..tso
        };
        assert!(matches!(v6.received(&mut p), Received::Bad(_)));
        let zero = VirtioNetHdr { gso_size: 0, ..tso };
        assert!(matches!(zero.received(&mut p), Received::Bad(_)));
        let off = VirtioNetHdr {
            csum_offset: 6,
            ..tso
        };
        assert!(matches!(off.received(&mut p), Received::Bad(_)));
    }

    #[test]
    fn partial_checksum_of_other_protocols_is_completed() {
        // A UDP datagram with CHECKSUM_PARTIAL: the field gets the sum.
        let mut p = tcp_v4(0);
        p[9] = 17;
        p[24..26].copy_from_slice(&20u16.to_be_bytes());
        let h = VirtioNetHdr {
            flags: F_NEEDS_CSUM,
            csum_start: 20,
            csum_offset: 6,
            ..Default::default()
        };
        assert_eq!(h.received(&mut p), Received::Packet(PacketMeta::default()));
        let sum = tcpstate::wire::checksum::ones_complement_sum(&p[20..], 0);
        assert_eq!(tcpstate::wire::checksum::fold(sum), 0xffff);
    }
}
