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
            pending: VecDeque::new(),
            spare: Vec::new(),
            splitter: Splitter::new(),
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

    /// Splits `packet` into `pending` (checksums completed).
    fn split_pending(&mut self, packet: &[u8], size: u16) {
        let (pending, spare) = (&mut self.pending, &mut self.spare);
        match self.splitter.split(packet, size, |q| {
            let mut v = spare.pop().unwrap_or_default();
            v.clear();
            v.extend_from_slice(q);
            pending.push_back(v);
        }) {
            Ok(n) => self.stats.split_pieces += n as u64,
            Err(_) => self.stats.bad_header += 1,
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
        self.drain_pending(batch);
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
            if !self.vnet {
                p.set_len(n);
                batch.commit();
                continue;
            }
            let buf = p.buffer_mut();
            let Some(h) = VirtioNetHdr::decode(&buf[..n]) else {
                self.stats.bad_header += 1;
                continue;
            };
            let body = &mut buf[virtio::LEN..n];
            let split = match h.received(body) {
                Received::Packet(meta) if meta.segment_size == 0 || self.opts.gro => {
                    if meta.segment_size > 0 {
                        self.stats.super_in += 1;
                    }
                    p.set_range(virtio::LEN, n - virtio::LEN);
                    p.meta = meta;
                    batch.commit();
                    None
                }
                Received::Packet(meta) => Some(meta.segment_size),
                Received::Split(size) => Some(size),
                Received::Bad(why) => {
                    self.stats.bad_header += 1;
                    log::debug!("TUN: packet dropped: {why} ({h:?})");
                    None
                }
            };
            if let Some(size) = split {
                self.stats.super_in += 1;
                // The packet's bytes are in the batch's free buffer, which
                // the pieces will overwrite: take them out first.
                let mut raw = self.spare.pop().unwrap_or_default();
                raw.clear();
                if let Some(p) = batch.next_free() {
                    raw.extend_from_slice(&p.buffer_mut()[virtio::LEN..n]);
                }
                self.split_pending(&raw, size);
                self.spare.push(raw);
                self.drain_pending(batch);
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
