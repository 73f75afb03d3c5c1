//! Scripted application behaviour for one side of a connection.

use std::vec::Vec;

use crate::time::Duration;

/// The byte at offset `i` of the stream written by host `stream`: a
/// hash, so that a duplicated or skipped chunk never looks like the right
/// bytes.
pub fn pattern(stream: usize, i: u64) -> u8 {
    let x = (i ^ ((stream as u64) << 48))
        .wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 56) as u8 ^ (x >> 24) as u8
}

/// One step of an application script. Steps run in order; a step that
/// cannot finish yet (a `Send` into a full buffer, a `Wait`) blocks the
/// ones after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Write this many bytes of the host's pattern (blocks until all fit).
    Send(usize),
    /// Read everything readable now.
    Read,
    /// Do nothing for this long.
    Wait(Duration),
    /// Block until the peer's FIN has been read (or the connection ended).
    WaitEof,
    /// Half-close (`shutdown`).
    Shutdown,
    /// Close (`close`).
    Close,
    /// Abort (`abort`).
    Abort,
}

/// What one side's application does.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Script {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Read whatever is readable after every event (a reader that keeps
    /// up); without it, data is read only by [`Step::Read`] and `WaitEof`.
    pub auto_read: bool,
}

impl Script {
    /// Send `n` bytes, then wait for the peer's FIN, then close: the
    /// usual "send a request, read the reply" pattern.
    pub fn send_then_close(n: usize) -> Self {
        Script {
            steps: std::vec![Step::Send(n), Step::Shutdown, Step::WaitEof, Step::Close],
            auto_read: true,
        }
    }

    /// Total bytes the script writes.
    pub fn bytes_to_send(&self) -> u64 {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Send(n) => *n as u64,
                _ => 0,
            })
            .sum()
    }
}

impl core::fmt::Display for Script {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.auto_read {
            f.write_str("[reads] ")?;
        }
        for (i, s) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match s {
                Step::Send(n) => write!(f, "send {n}")?,
                Step::Read => f.write_str("read")?,
                Step::Wait(d) => write!(f, "wait {d:?}")?,
                Step::WaitEof => f.write_str("wait-eof")?,
                Step::Shutdown => f.write_str("shutdown")?,
                Step::Close => f.write_str("close")?,
                Step::Abort => f.write_str("abort")?,
            }
        }
        Ok(())
    }
}
