//! In-memory devices: two ends of a wire made of two bounded queues.
//!
//! `pair(capacity, mtu)` gives two [`MemoryDevice`]s; what one sends the
//! other receives, in order. Each direction holds at most `capacity`
//! packets: a sender that finds it full gets `Pending` (and is woken when
//! the receiver takes packets), so nothing is dropped and nothing grows
//! without bound. Packets longer than the MTU are dropped and counted, as
//! a real link would.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::{Batch, Capabilities, Device, Packet};

#[derive(Debug, Default)]
struct Queue {
    packets: VecDeque<Vec<u8>>,
    /// Spent buffers, for the sender to reuse.
    spare: Vec<Vec<u8>>,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
    /// One of the two ends is gone.
    closed: bool,
}

#[derive(Debug)]
struct Wire {
    q: Mutex<Queue>,
    capacity: usize,
}

impl Wire {
    fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Wire {
            q: Mutex::new(Queue::default()),
            capacity: capacity.max(1),
        })
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.q.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One end of an in-memory wire (see the module docs).
#[derive(Debug)]
pub struct MemoryDevice {
    rx: Arc<Wire>,
    tx: Arc<Wire>,
    mtu: usize,
    batch: usize,
    oversize: u64,
}

/// Two devices joined back to back: `capacity` packets each way.
pub fn pair(capacity: usize, mtu: usize) -> (MemoryDevice, MemoryDevice) {
    let (a, b) = (Wire::new(capacity), Wire::new(capacity));
    let dev = |rx: &Arc<Wire>, tx: &Arc<Wire>| MemoryDevice {
        rx: rx.clone(),
        tx: tx.clone(),
        mtu,
        batch: 64,
        oversize: 0,
    };
    (dev(&a, &b), dev(&b, &a))
}

impl MemoryDevice {
    /// Packets dropped for being longer than the MTU.
    pub fn oversize_drops(&self) -> u64 {
        self.oversize
    }
}

impl Drop for MemoryDevice {
    fn drop(&mut self) {
        for w in [&self.rx, &self.tx] {
            let mut q = w.lock();
            q.closed = true;
            let wakers = [q.rx_waker.take(), q.tx_waker.take()];
            drop(q);
            wakers.into_iter().flatten().for_each(Waker::wake);
        }
    }
}

impl Device for MemoryDevice {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new(self.mtu, self.batch)
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        let mut q = self.rx.lock();
        if q.packets.is_empty() {
            if q.closed {
                return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
            }
            q.rx_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        while !batch.is_full() {
            let Some(p) = q.packets.pop_front() else {
                break;
            };
            if !batch.push(&p) {
                // Larger than the receiver's buffers (the sender checks the
                // MTU, so only with mismatched settings): dropped, counted.
                self.oversize += 1;
            }
            if q.spare.len() < self.rx.capacity {
                q.spare.push(p);
            }
        }
        let w = q.tx_waker.take();
        drop(q);
        if let Some(w) = w {
            w.wake();
        }
        Poll::Ready(Ok(()))
    }

    fn poll_send(&mut self, cx: &mut Context<'_>, packets: &[Packet]) -> Poll<io::Result<usize>> {
        let mut q = self.tx.lock();
        if q.closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let mut n = 0;
        for p in packets {
            if q.packets.len() >= self.tx.capacity {
                break;
            }
            n += 1;
            if p.data().len() > self.mtu {
                self.oversize += 1;
                continue;
            }
            let mut v = q.spare.pop().unwrap_or_default();
            v.clear();
            v.extend_from_slice(p.data());
            q.packets.push_back(v);
        }
        if n == 0 {
            q.tx_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let w = q.rx_waker.take();
        drop(q);
        if let Some(w) = w {
            w.wake();
        }
        Poll::Ready(Ok(n))
    }
}
