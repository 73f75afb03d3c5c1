//! # tcpstate
//!
//! A complete TCP engine (RFC 9293) as a pure state machine: no sockets, no
//! clock, no threads and no `unsafe` inside. The host feeds it segments, the
//! time and application calls; it answers with actions.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod buffer;
pub mod config;
pub mod connection;
pub mod error;
pub mod seq;
#[cfg(feature = "testing")]
pub mod sim;
pub mod state;
pub mod time;
pub mod wire;

pub use buffer::{Assembler, RingBuffer, TooManyRanges};
pub use config::{Config, Keepalive};
pub use connection::{
    Action, Actions, AppCall, Buffers, Connection, Outcome, StateChange, Stats, Timer, Transmit,
};
pub use error::{CallError, CloseReason};
pub use seq::SeqNum;
pub use state::{Event, State, TRANSITIONS, Transition};
pub use time::{Duration, Instant};
pub use wire::{Flags, Segment, TcpHeader, TcpOptions, WireError};
