//! Packet devices: where the stack's IP packets come from and go to.
//!
//! A [`Device`] moves whole IP packets (IPv4 or IPv6, no link header) in
//! batches. The driver task is its only user: it asks for a batch of
//! received packets with [`Device::poll_recv`] and hands over a batch to
//! send with [`Device::poll_send`], which may take only some of them. A
//! device that cannot take a packet now returns `Pending` and wakes the
//! driver later: the driver holds the packets (it never drops a transmit)
//! and stops draining the engine until they are gone, so the backpressure
//! reaches the connections' send buffers and windows.
//!
//! Adapters: [`memory`] (bounded in-memory channels, for tests),
//! [`Impaired`] (seeded drop, reorder and delay around any device) and,
//! with the `tun` feature, [`tun`] (a TUN device through the `tun-rs`
//! crate).
//!
//! Room for offloads: a [`Packet`] carries [`PacketMeta`], which says
//! whether it is a super-segment to be split at a segment size (GSO on
//! send, GRO on receive) and what is known of its checksum; a device
//! states what it can do in [`Capabilities`]. Today's adapters send and
//! receive plain packets with full software checksums.

use std::io;
use std::task::{Context, Poll};

mod impair;
pub mod memory;
#[cfg(feature = "tun")]
pub mod tun;

pub use impair::{Impaired, Impairment, ImpairmentStats};

/// What a device can do. `#[non_exhaustive]`: build it with
/// [`Capabilities::new`] and set the fields you need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// The largest IP packet the device carries (its MTU), headers included.
    pub mtu: usize,
    /// The most packets one `poll_recv` or `poll_send` handles.
    pub max_batch: usize,
    /// The largest super-segment (IP header included) the device splits
    /// itself on send (GSO); 0 when it splits nothing.
    pub gso_max: usize,
    /// The device may hand over coalesced TCP segments larger than the MTU
    /// (GRO); their [`PacketMeta::segment_size`] says the original size.
    pub gro: bool,
    /// The device completes TCP checksums on send
    /// ([`Checksum::Partial`] packets).
    pub tx_checksum: bool,
    /// The device verifies TCP checksums on receive and marks good packets
    /// [`Checksum::Verified`].
    pub rx_checksum: bool,
}

impl Capabilities {
    /// Plain packets of at most `mtu` bytes, `max_batch` at a time, no
    /// offload.
    pub fn new(mtu: usize, max_batch: usize) -> Self {
        Capabilities {
            mtu,
            max_batch: max_batch.max(1),
            gso_max: 0,
            gro: false,
            tx_checksum: false,
            rx_checksum: false,
        }
    }
}

/// What is known of a packet's TCP checksum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Checksum {
    /// Complete in the packet (send) / not checked yet (receive): the
    /// default, full software checksums.
    #[default]
    Complete,
    /// Send: only the pseudo-header sum is in the checksum field; the
    /// device completes it (needs [`Capabilities::tx_checksum`]).
    Partial,
    /// Receive: the device verified it.
    Verified,
}

/// A packet's offload metadata.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PacketMeta {
    /// For a TCP super-segment: the payload size to split it at (GSO on
    /// send) or the size of the segments it was coalesced from (GRO on
    /// receive). 0 for an ordinary packet.
    pub segment_size: u16,
    /// The TCP checksum's status.
    pub checksum: Checksum,
}

/// One IP packet in a buffer with room in front for headers.
#[derive(Clone, Debug)]
pub struct Packet {
    buf: Box<[u8]>,
    start: usize,
    len: usize,
    /// Offload metadata.
    pub meta: PacketMeta,
}

impl Packet {
    /// An empty packet whose buffer holds `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Packet {
            buf: vec![0; capacity].into_boxed_slice(),
            start: 0,
            len: 0,
            meta: PacketMeta::default(),
        }
    }
    /// The packet's bytes.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.start + self.len]
    }
    /// The packet's bytes, to change in place.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.start + self.len]
    }
    /// The whole buffer, for a device to receive into; then call
    /// [`Packet::set_len`].
    pub fn buffer_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }
    /// The buffer's size.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }
    /// Says the packet is `buf[start..start + len]`, with default metadata.
    /// Out-of-range values are clamped to the buffer.
    pub fn set_range(&mut self, start: usize, len: usize) {
        self.start = start.min(self.buf.len());
        self.len = len.min(self.buf.len() - self.start);
        self.meta = PacketMeta::default();
    }
    /// Says the packet is the buffer's first `len` bytes.
    pub fn set_len(&mut self, len: usize) {
        self.set_range(0, len);
    }
    /// Copies `bytes` in as the whole packet; false (and nothing changed)
    /// when they do not fit: a packet is never truncated.
    pub fn fill(&mut self, bytes: &[u8]) -> bool {
        let Some(dst) = self.buf.get_mut(..bytes.len()) else {
            return false;
        };
        dst.copy_from_slice(bytes);
        self.set_len(bytes.len());
        true
    }
}

/// A fixed set of packet buffers, filled from the front.
#[derive(Debug)]
pub struct Batch {
    packets: Vec<Packet>,
    len: usize,
}

impl Batch {
    /// `count` packets of `capacity` bytes each.
    pub fn new(count: usize, capacity: usize) -> Self {
        Batch {
            packets: (0..count.max(1))
                .map(|_| Packet::with_capacity(capacity))
                .collect(),
            len: 0,
        }
    }
    /// Filled packets.
    pub fn len(&self) -> usize {
        self.len
    }
    /// No packet is filled.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// No buffer is left.
    pub fn is_full(&self) -> bool {
        self.len == self.packets.len()
    }
    /// How many packets it holds at most.
    pub fn capacity(&self) -> usize {
        self.packets.len()
    }
    /// The filled packets.
    pub fn packets(&self) -> &[Packet] {
        &self.packets[..self.len]
    }
    /// The filled packets, to change in place.
    pub fn packets_mut(&mut self) -> &mut [Packet] {
        &mut self.packets[..self.len]
    }
    /// The next free buffer; [`Batch::commit`] makes it part of the batch.
    pub fn next_free(&mut self) -> Option<&mut Packet> {
        self.packets.get_mut(self.len)
    }
    /// Adds the buffer [`Batch::next_free`] returned.
    pub fn commit(&mut self) {
        if self.len < self.packets.len() {
            self.len += 1;
        }
    }
    /// Copies a packet in; false when the batch is full or the packet is
    /// larger than a buffer (see [`Batch::fits`]).
    pub fn push(&mut self, bytes: &[u8]) -> bool {
        let ok = self.next_free().is_some_and(|p| p.fill(bytes));
        if ok {
            self.commit();
        }
        ok
    }
    /// Whether a packet of `len` bytes fits in a buffer.
    pub fn fits(&self, len: usize) -> bool {
        self.packets.first().is_some_and(|p| len <= p.capacity())
    }
    /// Removes the first `n` packets (sent), keeping the rest in order.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.packets[..self.len].rotate_left(n);
        self.len -= n;
    }
    /// Empties the batch.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

/// A packet device, batched. The stack's driver task is its only caller.
pub trait Device: Send + 'static {
    /// What the device can do.
    fn capabilities(&self) -> Capabilities;

    /// Receives packets into `batch` (empty on entry): `Ready(Ok(()))`
    /// with at least one packet, or `Pending` with the waker registered.
    /// An error ends the driver.
    fn poll_recv(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>>;

    /// Sends packets from the front of `packets` in order and returns how
    /// many it took (at least one), or `Pending` with the waker registered
    /// when it can take none now: the caller keeps them and calls again.
    /// A packet the device cannot carry at all (too big) is taken and
    /// dropped by the device, counted where it can.
    fn poll_send(&mut self, cx: &mut Context<'_>, packets: &[Packet]) -> Poll<io::Result<usize>>;
}

impl<D: Device + ?Sized> Device for Box<D> {
    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
    fn poll_recv(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        (**self).poll_recv(cx, batch)
    }
    fn poll_send(&mut self, cx: &mut Context<'_>, packets: &[Packet]) -> Poll<io::Result<usize>> {
        (**self).poll_send(cx, packets)
    }
}
