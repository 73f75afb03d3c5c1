//! A TUN device through the `tun-rs` crate (no hand-written ioctls).
//!
//! [`TunDevice::open`] creates an interface, gives the kernel's side its
//! addresses and brings it up; [`TunDevice::from_async`] wraps a
//! `tun_rs::AsyncDevice` built elsewhere.
//!
//! On Linux the device is opened with offload (tun-rs's
//! `DeviceBuilder::offload`: `IFF_VNET_HDR` and `TUNSETOFFLOAD` with TCP
//! segmentation and checksum offload), and every packet crosses it behind
//! a `virtio_net_hdr` ([`super::virtio`]):
//! - out: the engine's TCP super-segments of up to 64 KiB go to the
//!   kernel in one write each, the kernel splits them (or, going to a
//!   local socket, never does), and checksums are left to it;
//! - in: the kernel's TCP hands over what it sent unsegmented (up to 64
//!   KiB in one read), which the engine takes whole as one coalesced
//!   segment ([`TunOptions::gro`]; off, such packets are split in
//!   software first, as tun-rs's `recv_multiple` does), with the checksum
//!   trusted when the kernel made the packet; UDP super-datagrams are split
//!   here for the application, and a header that does not fit its packet
//!   drops the packet (counted, [`TunStats::bad_header`]).
//!
//! Where the kernel refuses offload (and on other systems) the device
//! falls back to plain packets, one system call each, said in one log line
//! (`log::warn!`) and by [`TunDevice::offload_refused`].
//!
//! Each `poll_recv` reads packets until the device has no more or the
//! batch is full, so the engine sees a batch of segments before it answers
//! them; each `poll_send` writes the batch it is given.

use std::collections::VecDeque;
use std::io;
use std::net::IpAddr;
use std::task::{Context, Poll};

use super::virtio::{self, Received, VirtioNetHdr};
use super::{Batch, Capabilities, Checksum, Device, Packet, PacketMeta, Splitter};

/// How to open a TUN device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TunOptions {
    /// Ask for offload (Linux: segmentation and checksum offload through
    /// the `virtio_net_hdr`). On by default; where the kernel refuses it
    /// the device works without, said in one log line.
    pub offload: bool,
    /// With offload: hand the kernel's TCP super-segments to the stack
    /// whole (the engine takes them as coalesced segments). Off: split
    /// them into wire-sized packets in software first. On by default.
    pub gro: bool,
    /// The most packets one `poll_recv` or `poll_send` handles (default
    /// 64).
    pub batch: usize,
}

impl Default for TunOptions {
    fn default() -> Self {
        TunOptions {
            offload: true,
            gro: true,
            batch: 64,
        }
    }
}

impl TunOptions {
    /// Plain packets, one system call each, no offload.
    pub fn plain() -> Self {
        TunOptions {
            offload: false,
            ..TunOptions::default()
        }
    }
    /// These options with offload on or off.
    pub fn offload(mut self, on: bool) -> Self {
        self.offload = on;
        self
    }
    /// These options with coalesced segments taken whole or split.
    pub fn gro(mut self, on: bool) -> Self {
        self.gro = on;
        self
    }
}

/// Counts kept by a [`TunDevice`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TunStats {
    /// Reads from the device (one packet or super-packet each).
    pub reads: u64,
    /// Writes to the device (one packet or super-segment each).
    pub writes: u64,
    /// Of the reads, super-packets (more than one segment's worth).
    pub super_in: u64,
    /// Of the writes, super-segments the kernel splits.
    pub super_out: u64,
    /// Packets made by splitting super-packets here.
    pub split_pieces: u64,
    /// Packets the kernel refused as too long.
    pub oversize: u64,
    /// Packets a write failed for otherwise (the interface down: `EIO`;
    /// no buffer space), dropped as a link would drop them.
    pub send_errors: u64,
    /// Packets dropped for a `virtio_net_hdr` that does not fit them.
    pub bad_header: u64,
}

/// A TUN interface (layer 3, IP packets without a link header).
pub struct TunDevice {
    dev: tun_rs::AsyncDevice,
    mtu: usize,
    opts: TunOptions,
    /// Packets cross with a `virtio_net_hdr` (offload is on).
    vnet: bool,
    refused: Option<String>,
    stats: TunStats,
    rx: Rx,
}

/// What the receive path keeps between reads, apart from the device so
/// that it can be tested on any bytes (`take`).
struct Rx {
    /// Pieces of a split super-packet not yet handed over (at most one
    /// super-packet's: [`super::MAX_PIECES`]).
    pending: VecDeque<Vec<u8>>,
    spare: Vec<Vec<u8>>,
    splitter: Splitter,
}

impl std::fmt::Debug for TunDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunDevice")
            .field("name", &self.dev.name().ok())
            .field("mtu", &self.mtu)
            .field("offload", &self.vnet)
            .finish_non_exhaustive()
    }
}

impl TunDevice {
    /// Creates interface `name` with the given MTU, the kernel's side
    /// holding `kernel` (address and prefix length, IPv4 and/or IPv6), and
    /// brings it up, with offload where the kernel allows it. Needs
    /// `CAP_NET_ADMIN`.
    pub fn open(name: &str, mtu: u16, kernel: &[(IpAddr, u8)]) -> io::Result<TunDevice> {
        TunDevice::open_with(name, mtu, kernel, TunOptions::default())
    }

    /// [`TunDevice::open`] with options.
    pub fn open_with(
        name: &str,
        mtu: u16,
        kernel: &[(IpAddr, u8)],
        opts: TunOptions,
    ) -> io::Result<TunDevice> {
        let builder = || {
            let mut b = tun_rs::DeviceBuilder::new().name(name).mtu(mtu);
            for (ip, prefix) in kernel {
                b = match ip {
                    IpAddr::V4(a) => b.ipv4(*a, *prefix, None),
                    IpAddr::V6(a) => b.ipv6(*a, *prefix),
                };
            }
            b
        };
        let mut refused = None;
        #[cfg(target_os = "linux")]
        if opts.offload {
            match builder().offload(true).build_async() {
                Ok(dev) => {
                    let mut d = TunDevice::from_async_with(dev, usize::from(mtu), opts);
                    if !d.vnet {
                        d.refused = Some("tun-rs reports no TCP offload".into());
                        log::warn!(
                            "TUN {name}: offload off (no TCP offload): plain per-packet I/O"
                        );
                    }
                    return Ok(d);
                }
                Err(e) => {
                    log::warn!(
                        "TUN {name}: the kernel refused offload ({e}): plain per-packet I/O"
                    );
                    refused = Some(e.to_string());
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        if opts.offload {
            refused = Some("offload is Linux only".into());
        }
        let dev = builder().build_async()?;
        let mut d = TunDevice::from_async_with(dev, usize::from(mtu), opts);
        d.refused = refused;
        Ok(d)
    }

    /// Wraps a device built with `tun_rs::DeviceBuilder::build_async`
    /// (without packet information; with or without `offload(true)`).
    pub fn from_async(dev: tun_rs::AsyncDevice, mtu: usize) -> TunDevice {
        TunDevice::from_async_with(dev, mtu, TunOptions::default())
    }

    /// [`TunDevice::from_async`] with options (`offload` is what the
    /// device was built with; `gro` and `batch` apply).
    pub fn from_async_with(dev: tun_rs::AsyncDevice, mtu: usize, opts: TunOptions) -> TunDevice {
        #[cfg(target_os = "linux")]
        let vnet = dev.tcp_gso();
        #[cfg(not(target_os = "linux"))]
        let vnet = false;
        TunDevice {
            dev,
            mtu,
            opts: TunOptions {
                batch: opts.batch.max(1),
                offload: vnet,
                ..opts
            },
            vnet,
            refused: None,
            stats: TunStats::default(),
            rx: Rx::new(),
        }
    }

    /// The interface's name.
    pub fn name(&self) -> io::Result<String> {
        self.dev.name()
    }

    /// Whether offload is on.
    pub fn offload(&self) -> bool {
        self.vnet
    }

    /// Why offload is off though it was asked for (the kernel's answer).
    pub fn offload_refused(&self) -> Option<&str> {
        self.refused.as_deref()
    }

    /// The counts so far.
    pub fn stats(&self) -> TunStats {
        self.stats
    }

    /// Packets the kernel refused as too long.
    pub fn oversize_drops(&self) -> u64 {
        self.stats.oversize
    }

    /// Packets a write failed for otherwise (the interface down: `EIO`;
    /// no buffer space), dropped as a link would drop them.
    pub fn send_errors(&self) -> u64 {
        self.stats.send_errors
    }

    /// Writes one packet (behind `hdr` with offload); `Ready(true)` when
    /// it is done with (written or dropped), `Pending` when the device is
    /// full.
    fn send_one(&mut self, cx: &mut Context<'_>, hdr: Option<&[u8]>, data: &[u8]) -> Poll<bool> {
        loop {
            let r = match hdr {
                #[cfg(unix)]
                Some(h) => {
                    let bufs = [io::IoSlice::new(h), io::IoSlice::new(data)];
                    match self.dev.try_send_vectored(&bufs) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            match self.dev.poll_writable(cx) {
                                Poll::Ready(Ok(())) => continue,
                                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                                Poll::Pending => Poll::Pending,
                            }
                        }
                        r => Poll::Ready(r),
                    }
                }
                _ => self.dev.poll_send(cx, data),
            };
            return match r {
                Poll::Ready(Ok(_)) => {
                    self.stats.writes += 1;
                    Poll::Ready(true)
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Poll::Ready(Err(e))
                    if e.raw_os_error() == Some(90) || e.kind() == io::ErrorKind::InvalidInput =>
                {
                    // EMSGSIZE: this packet can never go; drop it, counted.
                    self.stats.oversize += 1;
                    Poll::Ready(true)
                }
                Poll::Ready(Err(_)) => {
                    // Any other write error is the link's loss (the
                    // interface is down: EIO; no buffer space): the packet
                    // is dropped, counted, and the engine retransmits. Only
                    // a failed read ends the driver.
                    self.stats.send_errors += 1;
                    Poll::Ready(true)
                }
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

impl Rx {
    fn new() -> Rx {
        Rx {
            pending: VecDeque::new(),
            spare: Vec::new(),
            splitter: Splitter::new(),
        }
    }

    /// Takes the `n` bytes just read into `batch`'s next free packet: a
    /// `virtio_net_hdr` and the packet behind it. The packet is committed
    /// to the batch (whole, or split into `pending` and as many pieces as
    /// fit), or dropped and counted in `stats.bad_header` when the header
    /// does not fit it; never a panic, whatever the bytes.
    fn take(&mut self, batch: &mut Batch, n: usize, gro: bool, stats: &mut TunStats) {
        let Some(p) = batch.next_free() else {
            return;
        };
        let buf = p.buffer_mut();
        let n = n.min(buf.len());
        let Some(h) = VirtioNetHdr::decode(&buf[..n]) else {
            stats.bad_header += 1;
            return;
        };
        let body = &mut buf[virtio::LEN..n];
        let split = match h.received(body) {
            Received::Packet(meta) if meta.segment_size == 0 || gro => {
                if meta.segment_size > 0 {
                    stats.super_in += 1;
                }
                p.set_range(virtio::LEN, n - virtio::LEN);
                p.meta = meta;
                batch.commit();
                None
            }
            Received::Packet(meta) => Some(meta.segment_size),
            Received::Split(size) => Some(size),
            Received::Bad(why) => {
                stats.bad_header += 1;
                log::debug!("TUN: packet dropped: {why} ({h:?})");
                None
            }
        };
        if let Some(size) = split {
            stats.super_in += 1;
            // The packet's bytes are in the batch's free buffer, which
            // the pieces will overwrite: take them out first.
            let mut raw = self.spare.pop().unwrap_or_default();
            raw.clear();
            if let Some(p) = batch.next_free() {
                raw.extend_from_slice(&p.buffer_mut()[virtio::LEN..n]);
            }
            self.split_pending(&raw, size, stats);
            self.spare.push(raw);
            self.drain_pending(batch);
        }
    }

    /// Splits `packet` into `pending` (checksums completed).
    fn split_pending(&mut self, packet: &[u8], size: u16, stats: &mut TunStats) {
        let (pending, spare) = (&mut self.pending, &mut self.spare);
        match self.splitter.split(packet, size, |q| {
            let mut v = spare.pop().unwrap_or_default();
            v.clear();
            v.extend_from_slice(q);
            pending.push_back(v);
        }) {
            Ok(n) => stats.split_pieces += n as u64,
            Err(_) => stats.bad_header += 1,
        }
    }

    /// Moves pending pieces into `batch` while it has room.
    fn drain_pending(&mut self, batch: &mut Batch) {
        while !batch.is_full() {
            let Some(v) = self.pending.pop_front() else {
                break;
            };
            // Checksums computed here: as good as verified.
            let _ = batch.push_with(&v, PacketMeta::new(0, Checksum::Verified));
            if self.spare.len() < 64 {
                self.spare.push(v);
            }
        }
    }
}

impl Device for TunDevice {
    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::new(self.mtu, self.opts.batch);
        if self.vnet {
            c.gso_max = 65_535;
            c.gro = self.opts.gro;
            c.tx_checksum = true;
            c.rx_checksum = true;
        }
        c
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        self.rx.drain_pending(batch);
        while !batch.is_full() {
            let Some(p) = batch.next_free() else {
                break;
            };
            let n = match self.dev.poll_recv(cx, p.buffer_mut()) {
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Poll::Ready(Err(e)) if batch.is_empty() => return Poll::Ready(Err(e)),
                Poll::Ready(Err(_)) | Poll::Pending => break,
            };
            self.stats.reads += 1;
            if self.vnet {
                self.rx.take(batch, n, self.opts.gro, &mut self.stats);
            } else {
                p.set_len(n);
                batch.commit();
            }
        }
        if batch.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(Ok(()))
        }
    }

    fn poll_send(&mut self, cx: &mut Context<'_>, packets: &[Packet]) -> Poll<io::Result<usize>> {
        let mut n = 0;
        for p in packets {
            let done = if self.vnet {
                let h = VirtioNetHdr::for_send(p.data(), p.meta);
                if h.gso_type != virtio::GSO_NONE {
                    self.stats.super_out += 1;
                }
                self.send_one(cx, Some(&h.encode()), p.data())
            } else if p.meta.segment_size > 0 || p.meta.checksum == Checksum::Partial {
                // Not for a device without offload (the stack never makes
                // these for one): split / complete in software.
                let size = match p.meta.segment_size {
                    0 => u16::MAX,
                    s => s,
                };
                let mut pieces: Vec<Vec<u8>> = Vec::new();
                if self
                    .rx
                    .splitter
                    .split(p.data(), size, |q| pieces.push(q.to_vec()))
                    .is_err()
                {
                    self.stats.send_errors += 1;
                }
                for v in &pieces {
                    // A full device midway is the link's loss here.
                    if self.send_one(cx, None, v).is_pending() {
                        self.stats.send_errors += 1;
                    }
                }
                Poll::Ready(true)
            } else {
                self.send_one(cx, None, p.data())
            };
            if done.is_pending() {
                break;
            }
            n += 1;
        }
        if n == 0 {
            Poll::Pending
        } else {
            Poll::Ready(Ok(n))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::virtio::{
        F_NEEDS_CSUM, GSO_ECN, GSO_NONE, GSO_TCPV4, GSO_TCPV6, GSO_UDP, GSO_UDP_L4,
    };

    /// An IPv4 TCP segment with `payload` bytes (ACK, data offset 5).
    fn tcp_v4(payload: usize) -> Vec<u8> {
        let total = 20 + 20 + payload;
        let mut p = vec![0u8; total];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&[192, 0, 2, 1]);
        p[16..20].copy_from_slice(&[192, 0, 2, 2]);
        p[32] = 5 << 4;
        p[33] = 0x10;
        for (i, b) in p[40..].iter_mut().enumerate() {
            *b = i as u8;
        }
        p
    }

    fn tso(gso_type: u8) -> VirtioNetHdr {
        VirtioNetHdr {
            flags: F_NEEDS_CSUM,
            gso_type,
            hdr_len: 40,
            gso_size: 1448,
            csum_start: 20,
            csum_offset: 16,
        }
    }

    /// Reads `bytes` (a header and a packet, as the device hands them
    /// over) through the receive path into `batch`.
    fn read(rx: &mut Rx, batch: &mut Batch, bytes: &[u8], gro: bool, st: &mut TunStats) {
        let p = batch.next_free().expect("a free buffer");
        let n = bytes.len().min(p.buffer_mut().len());
        p.buffer_mut()[..n].copy_from_slice(&bytes[..n]);
        rx.take(batch, bytes.len(), gro, st);
    }

    fn with_hdr(h: VirtioNetHdr, packet: &[u8]) -> Vec<u8> {
        let mut v = h.encode().to_vec();
        v.extend_from_slice(packet);
        v
    }

    #[test]
    fn tcp_super_segment_whole_or_split() {
        let seg = with_hdr(tso(GSO_TCPV4), &tcp_v4(4000));
        // GRO: taken whole, with its segment size.
        let (mut rx, mut st) = (Rx::new(), TunStats::default());
        let mut batch = Batch::new(8, 65_600);
        read(&mut rx, &mut batch, &seg, true, &mut st);
        assert_eq!(batch.len(), 1);
        assert_eq!(batch.packets()[0].data().len(), 4040);
        assert_eq!(batch.packets()[0].meta.segment_size, 1448);
        assert_eq!((st.super_in, st.bad_header), (1, 0));
        // Without GRO: split here into wire-sized pieces.
        let (mut rx, mut st) = (Rx::new(), TunStats::default());
        let mut batch = Batch::new(8, 65_600);
        read(&mut rx, &mut batch, &seg, false, &mut st);
        assert_eq!(batch.len(), 3, "{st:?}");
        assert!(batch.packets().iter().all(|p| p.data().len() <= 1488));
        assert_eq!((st.super_in, st.split_pieces, st.bad_header), (1, 3, 0));
        // A batch with room for one: the rest waits, bounded, for the next.
        let (mut rx, mut st) = (Rx::new(), TunStats::default());
        let mut batch = Batch::new(1, 65_600);
        read(&mut rx, &mut batch, &seg, false, &mut st);
        assert_eq!((batch.len(), rx.pending.len()), (1, 2));
        batch.clear();
        rx.drain_pending(&mut batch);
        assert_eq!((batch.len(), rx.pending.len()), (1, 1));
    }

    /// Headers that do not fit their packet, and GSO types that are not
    /// TCP (or not supported): the packet is dropped and counted in
    /// `bad_header`, nothing reaches the batch, no panic.
    #[test]
    fn bad_headers_are_dropped_and_counted() {
        let p = tcp_v4(4000);
        let bad: Vec<(&str, Vec<u8>)> = vec![
            ("empty read", vec![]),
            ("read shorter than the header", vec![0; 9]),
            ("header without a packet", tso(GSO_TCPV4).encode().to_vec()),
            ("UFO (GSO type 3)", with_hdr(tso(GSO_UDP), &p)),
            ("unknown GSO type", with_hdr(tso(0x7f), &p)),
            ("TCPv6 GSO on IPv4", with_hdr(tso(GSO_TCPV6), &p)),
            ("UDP L4 GSO on TCP", with_hdr(tso(GSO_UDP_L4), &p)),
            (
                "UDP L4 GSO with ECN",
                with_hdr(tso(GSO_UDP_L4 | GSO_ECN), &p),
            ),
            (
                "GSO size 0",
                with_hdr(
                    VirtioNetHdr {
                        gso_size: 0,
                        ..tso(GSO_TCPV4)
                    },
                    &p,
                ),
            ),
            (
                "checksum field beyond the packet",
                with_hdr(
                    VirtioNetHdr {
                        csum_offset: 4030,
                        ..tso(GSO_NONE)
                    },
                    &p,
                ),
            ),
            (
                "checksum start past the end",
                with_hdr(
                    VirtioNetHdr {
                        csum_start: 65_535,
                        csum_offset: 65_535,
                        ..tso(GSO_NONE)
                    },
                    &p,
                ),
            ),
            (
                "checksum start inside the IP header",
                with_hdr(
                    VirtioNetHdr {
                        csum_start: 4,
                        ..tso(GSO_NONE)
                    },
                    &p,
                ),
            ),
            (
                "TCP GSO with UDP's checksum offset",
                with_hdr(
                    VirtioNetHdr {
                        csum_offset: 6,
                        ..tso(GSO_TCPV4)
                    },
                    &p,
                ),
            ),
            (
                "TCP GSO without NEEDS_CSUM",
                with_hdr(
                    VirtioNetHdr {
                        flags: 0,
                        ..tso(GSO_TCPV4)
                    },
                    &p,
                ),
            ),
            ("TCP GSO on a packet cut short", {
                let mut v = with_hdr(tso(GSO_TCPV4), &p);
                v.truncate(virtio::LEN + 30);
                v
            }),
            ("TCP GSO with a data offset past the end", {
                let mut q = tcp_v4(0);
                q[32] = 15 << 4;
                with_hdr(tso(GSO_TCPV4), &q)
            }),
            ("TCP GSO with a data offset below 20", {
                let mut q = tcp_v4(100);
                q[32] = 4 << 4;
                with_hdr(tso(GSO_TCPV4), &q)
            }),
            ("IP total length past the read", {
                let mut q = tcp_v4(100);
                q[2..4].copy_from_slice(&9000u16.to_be_bytes());
                with_hdr(tso(GSO_TCPV4), &q)
            }),
            ("GSO on a packet that is not IP", {
                let mut q = tcp_v4(100);
                q[0] = 0x00;
                with_hdr(tso(GSO_TCPV4), &q)
            }),
        ];
        for gro in [true, false] {
            for (what, bytes) in &bad {
                let (mut rx, mut st) = (Rx::new(), TunStats::default());
                let mut batch = Batch::new(4, 65_600);
                read(&mut rx, &mut batch, bytes, gro, &mut st);
                assert_eq!(batch.len(), 0, "{what} (gro {gro}): taken");
                assert!(rx.pending.is_empty(), "{what}: pieces pending");
                assert_eq!(st.bad_header, 1, "{what} (gro {gro}): {st:?}");
            }
        }
        // A read longer than the buffer is cut to it (tun-rs never does
        // that; no panic if it did).
        let (mut rx, mut st) = (Rx::new(), TunStats::default());
        let mut batch = Batch::new(1, 100);
        rx.take(&mut batch, 70_000, true, &mut st);
        assert_eq!(batch.len() as u64 + st.bad_header, 1);
    }

    /// Any bytes at all (a seeded generator: random headers, lengths and
    /// packets, half of them near the shapes the kernel makes): never a
    /// panic, and every read is either in the batch (whole or in pieces)
    /// or counted as a bad header, never dropped in silence.
    #[test]
    fn any_bytes_never_panic_nor_vanish() {
        let mut s = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for i in 0..20_000 {
            let r = next();
            let mut bytes = if i % 2 == 0 {
                let len = (next() % 3000) as usize;
                (0..len).map(|_| next() as u8).collect::<Vec<u8>>()
            } else {
                let mut h = tso([GSO_NONE, GSO_TCPV4, GSO_TCPV6, GSO_UDP_L4][(r % 4) as usize]);
                h.flags = (r >> 8) as u8 & 3;
                h.gso_size = [0, 1, 536, 1448, 65_535][(r >> 16) as usize % 5];
                h.csum_start = [0, 20, 40, 60, 65_535][(r >> 24) as usize % 5];
                h.csum_offset = [0, 6, 16, 100, 65_535][(r >> 32) as usize % 5];
                let mut p = tcp_v4((next() % 5000) as usize);
                if r >> 40 & 1 == 1 {
                    p[9] = 17;
                }
                if r >> 41 & 1 == 1 {
                    let at = (next() as usize) % p.len();
                    p[at] = next() as u8;
                }
                with_hdr(h, &p)
            };
            if r >> 42 & 1 == 1 {
                let cut = (next() as usize) % (bytes.len() + 1);
                bytes.truncate(cut);
            }
            let (mut rx, mut st) = (Rx::new(), TunStats::default());
            let mut batch = Batch::new(64, 65_600);
            read(&mut rx, &mut batch, &bytes, r >> 43 & 1 == 1, &mut st);
            let taken = batch.len() + rx.pending.len();
            assert!(
                (taken > 0) != (st.bad_header > 0),
                "read {i}: {taken} taken, {st:?}"
            );
        }
    }
}
