//! A segment the host could not send, for the whole host
//! ([`Endpoint::on_transmit_failed`]; the connection's side:
//! [`Connection::on_transmit_failed`](crate::Connection::on_transmit_failed)).

use super::store::Store;
use super::{Datagram, Endpoint, TW_BIT, Tuple};
use crate::time::Instant;
use crate::wire::TcpHeader;

impl<S: Store> Endpoint<S> {
    /// The host could not send `d`, the datagram the last call to
    /// [`poll_transmit`](Self::poll_transmit) returned (`segment` is the
    /// `d.segment(&buf)` that call filled): its local queue dropped it
    /// (`ENOBUFS`, a full TUN or device queue). Call it right after that
    /// poll, before the next. The connection that sent it takes new data
    /// back and retries as Linux does when its qdisc drops
    /// ([`Connection::on_transmit_failed`](crate::Connection::on_transmit_failed)
    /// has the rule and what it does not cover); anything else (a SYN, an
    /// ACK, a RST, a TIME-WAIT reply, a segment that does not parse) is
    /// left as sent and lost.
    ///
    /// ```
    /// use tcpstate::{Endpoint, EndpointConfig, Instant};
    ///
    /// let mut ep = Endpoint::new(EndpointConfig::default(), [7; 16]).unwrap();
    /// let now = Instant::ZERO;
    /// let mut buf = vec![0u8; 65536];
    /// while let Some(d) = ep.poll_transmit(now, &mut buf) {
    ///     let queue_full = false; // e.g. the TUN write returned ENOBUFS
    ///     if queue_full {
    ///         ep.on_transmit_failed(now, &d, d.segment(&buf));
    ///     }
    /// }
    /// ```
    pub fn on_transmit_failed(&mut self, now: Instant, d: &Datagram, segment: &[u8]) {
        let now = self.clock(now);
        let Ok((h, payload)) = TcpHeader::parse(segment) else {
            return;
        };
        let tuple = Tuple {
            local_ip: d.src,
            remote_ip: d.dst,
            local_port: h.src_port,
            remote_port: h.dst_port,
        };
        let idx = match self.lookup(&tuple) {
            Some(v) if v & TW_BIT == 0 => v,
            _ => return,
        };
        let Some(entry) = self.entry_mut(idx) else {
            return;
        };
        let a = entry
            .conn
            .transmit_failed(now, h.seq, payload.len(), h.flags);
        self.after(idx, a, now);
    }
}
