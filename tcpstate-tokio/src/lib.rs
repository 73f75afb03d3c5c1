//! tokio's `TcpListener` and `TcpStream` over tcpstate's sans-IO TCP
//! engine, on a TUN device or any packet device.
//!
//! A [`Stack`] owns one `tcpstate::Endpoint` (the whole host's TCP) and a
//! packet [`Device`](device::Device), and runs one driver task on the
//! tokio runtime. It hands out [`TcpListener`]s and [`TcpStream`]s with
//! tokio's API: a program written for `tokio::net` ports by changing its
//! imports (and creating the stack).
//!
//! The runtime layer owns the I/O, the time and the wakers; it makes no
//! TCP decision. The driver:
//! 1. reads a batch of packets from the device and gives each TCP segment
//!    for an address the stack owns to the engine; everything else goes
//!    to the application's callback ([`StackBuilder::on_unhandled`]);
//! 2. runs the engine's timers when its one deadline has passed;
//! 3. wakes the tasks the engine's events concern;
//! 4. drains the engine's segments into a batch, puts the IP header in
//!    front, and hands the batch to the device, which may hold it
//!    (backpressure: nothing is dropped);
//! 5. sleeps until the device, an application call or the deadline wakes
//!    it.
//!
//! Streams call into the engine directly (under one lock): a write puts
//! the bytes into the connection's send buffer, a read takes them out of
//! its receive buffer, and the driver is woken to send what that allows.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod device;
mod engine;
mod ip;
mod listener;
mod stack;
mod stream;

pub use listener::{IncomingSyn, TcpListener};
pub use stack::{Stack, StackBuilder, StackStats, Unhandled};
pub use stream::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, TcpStream, WriteHalf};
