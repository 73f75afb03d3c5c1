//! A TUN device through the `tun-rs` crate (no hand-written ioctls).
//!
//! [`TunDevice::open`] creates an interface, gives the kernel's side its
//! addresses and brings it up; [`TunDevice::from_async`] wraps a
//! `tun_rs::AsyncDevice` built elsewhere. Each `poll_recv` reads packets
//! until the device has no more or the batch is full (one system call
//! per packet, no `virtio_net_hdr` offload yet), so the engine sees a
//! batch of segments before it answers them.

use std::io;
use std::net::IpAddr;
use std::task::{Context, Poll};

use super::{Batch, Capabilities, Device, Packet};

/// A TUN interface (layer 3, IP packets without a header).
pub struct TunDevice {
    dev: tun_rs::AsyncDevice,
    mtu: usize,
    batch: usize,
    oversize: u64,
    send_errors: u64,
}

impl std::fmt::Debug for TunDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunDevice")
            .field("name", &self.dev.name().ok())
            .field("mtu", &self.mtu)
            .finish_non_exhaustive()
    }
}

impl TunDevice {
    /// Creates interface `name` with the given MTU, the kernel's side
    /// holding `kernel` (address and prefix length, IPv4 and/or IPv6), and
    /// brings it up. Needs `CAP_NET_ADMIN`.
    pub fn open(name: &str, mtu: u16, kernel: &[(IpAddr, u8)]) -> io::Result<TunDevice> {
        let mut b = tun_rs::DeviceBuilder::new().name(name).mtu(mtu);
        for (ip, prefix) in kernel {
            b = match ip {
                IpAddr::V4(a) => b.ipv4(*a, *prefix, None),
                IpAddr::V6(a) => b.ipv6(*a, *prefix),
            };
        }
        let dev = b.build_async()?;
        Ok(TunDevice::from_async(dev, usize::from(mtu)))
    }

    /// Wraps a device built with `tun_rs::DeviceBuilder::build_async`
    /// (without offload or packet information).
    pub fn from_async(dev: tun_rs::AsyncDevice, mtu: usize) -> TunDevice {
        TunDevice {
            dev,
            mtu,
            batch: 64,
            oversize: 0,
            send_errors: 0,
        }
    }

    /// The interface's name.
    pub fn name(&self) -> io::Result<String> {
        self.dev.name()
    }

    /// Packets the kernel refused as too long.
    pub fn oversize_drops(&self) -> u64 {
        self.oversize
    }

    /// Packets a write failed for otherwise (the interface down: `EIO`;
    /// no buffer space), dropped as a link would drop them.
    pub fn send_errors(&self) -> u64 {
        self.send_errors
    }
}

impl Device for TunDevice {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new(self.mtu, self.batch)
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        while let Some(p) = batch.next_free() {
            match self.dev.poll_recv(cx, p.buffer_mut()) {
                Poll::Ready(Ok(n)) => {
                    p.set_len(n);
                    batch.commit();
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Poll::Ready(Err(e)) if batch.is_empty() => return Poll::Ready(Err(e)),
                Poll::Ready(Err(_)) | Poll::Pending => break,
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
        while let Some(p) = packets.get(n) {
            match self.dev.poll_send(cx, p.data()) {
                Poll::Ready(Ok(_)) => n += 1,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e))
                    if e.raw_os_error() == Some(90) || e.kind() == io::ErrorKind::InvalidInput =>
                {
                    // EMSGSIZE: this packet can never go; drop it, counted.
                    self.oversize += 1;
                    n += 1;
                }
                Poll::Ready(Err(_)) => {
                    // Any other write error is the link's loss (the
                    // interface is down: EIO; no buffer space): the packet
                    // is dropped, counted, and the engine retransmits. Only
                    // a failed read ends the driver.
                    self.send_errors += 1;
                    n += 1;
                }
                Poll::Pending => break,
            }
        }
        if n == 0 {
            Poll::Pending
        } else {
            Poll::Ready(Ok(n))
        }
    }
}
