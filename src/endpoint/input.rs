//! Segment arrival for the whole host: checksum, parse, demux (RFC 9293
//! §3.10.7; EP-1: exact 4-tuple, TIME-WAIT included, then the listener,
//! specific address before wildcard, then CLOSED), listeners with their
//! SYN and accept queues (Linux), and SYN cookies (RFC 4987).

use core::net::IpAddr;

use super::secret::{cookie_mss_table, cookie_ts_bits, cookie_ts_decode, cookie_tsval};
use super::store::{Fifo, Store};
use super::time_wait::TwVerdict;
use super::{Endpoint, Handle, Queue, SynCookies, TW_BIT, Tuple, unicast};
use crate::Transmit;
use crate::connection::{Connection, CookieOpen, reply_to_unknown};
use crate::seq::SeqNum;
use crate::state::State;
use crate::time::{Duration, Instant};
use crate::wire::{Ecn, Flags, Segment, TcpHeader, TcpOptions, Timestamps, checksum};

/// A listener checks returned cookies only this long after it last sent
/// one (Linux `tcp_synq_no_recent_overflow`: two cookie periods).
const COOKIE_WINDOW: Duration = Duration::from_secs(128);

impl<S: Store> Endpoint<S> {
    /// A TCP segment arrived: `bytes` is the IP payload, `src` and `dst`
    /// the IP addresses, `ecn` the ECN field of its IP header (a CE mark
    /// reaches the connection: RFC 3168 §6.1.3). The checksum is verified
    /// with the pseudo-header (MUST-2, MUST-3); segments from or to
    /// broadcast, multicast or unspecified addresses are dropped (MUST-57,
    /// MUST-63), and so are segments to an address that is not one of
    /// ours ([`EndpointConfig::local_addrs`](super::EndpointConfig::local_addrs);
    /// counted in [`Counters::not_local`](super::Counters::not_local)),
    /// unanswered, unless the Endpoint is transparent.
    pub fn on_datagram(&mut self, now: Instant, src: IpAddr, dst: IpAddr, ecn: Ecn, bytes: &[u8]) {
        self.datagram(now, src, dst, ecn, bytes, None);
    }

    /// As [`Endpoint::on_datagram`], with the application reading at once:
    /// when the segment is for a connection whose handle the application
    /// holds, what [`Endpoint::recv`] would then copy goes into `buf`
    /// (in-order text that arrives with nothing queued goes there straight
    /// from the segment, without passing through the receive buffer:
    /// [`Connection::on_segment_recv`]). Returns that connection and how
    /// many bytes `buf` got, when it got any; no `Readable` event is queued
    /// for data read this way.
    pub fn on_datagram_recv(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        ecn: Ecn,
        bytes: &[u8],
        buf: &mut [u8],
    ) -> Option<(Handle, usize)> {
        self.datagram(now, src, dst, ecn, bytes, Some(buf))
    }

    #[inline(always)]
    fn datagram(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        ecn: Ecn,
        bytes: &[u8],
        read: Option<&mut [u8]>,
    ) -> Option<(Handle, usize)> {
        let now = self.clock(now);
        if !unicast(src) || !unicast(dst) {
            self.counters.addr_drops += 1;
            return None;
        }
        if !self.cfg.transparent && !self.cfg.local_addrs.contains(&dst) {
            // Not for us: no reply may come from an address that is not
            // ours.
            self.counters.not_local += 1;
            return None;
        }
        // With receive checksum offload the device verified it.
        let ok = match (src, dst) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_))
                if self.cfg.rx_checksum_offload =>
            {
                true
            }
            (IpAddr::V4(s), IpAddr::V4(d)) => checksum::verify_v4(s.octets(), d.octets(), bytes),
            (IpAddr::V6(s), IpAddr::V6(d)) => checksum::verify_v6(s.octets(), d.octets(), bytes),
            _ => false,
        };
        if !ok {
            self.counters.in_errs += 1;
            self.counters.in_csum_errors += 1;
            return None;
        }
        let Ok((h, payload)) = TcpHeader::parse(bytes) else {
            self.counters.in_errs += 1;
            return None;
        };
        self.counters.in_segs += 1;
        let seg = Segment::new(&h, payload);
        let tuple = Tuple {
            local_ip: dst,
            remote_ip: src,
            local_port: h.dst_port,
            remote_port: h.src_port,
        };
        let mut iss = None;
        let hash = self.keys.table_hash(&tuple);
        match self.lookup_hashed(&tuple, hash) {
            Some(v) if v & TW_BIT != 0 => {
                match self.time_wait_input(v & !TW_BIT, &tuple, &seg, now) {
                    TwVerdict::Done => return None,
                    TwVerdict::Reuse(s) => iss = Some(s),
                }
            }
            Some(idx) => return self.deliver(idx, &seg, ecn.is_ce(), now, read),
            None => {}
        }
        match self.listener_at(tuple.local_ip, tuple.local_port) {
            Some(li) => self.listener_input(li, &tuple, hash, &seg, now, iss),
            None => self.closed_input(&tuple, &seg),
        }
        None
    }

    /// RFC 9293 §3.10.7.1: no connection. A RST is never answered with a RST.
    fn closed_input(&mut self, tuple: &Tuple, seg: &Segment<'_>) {
        self.counters.no_port += 1;
        if let Some(t) = reply_to_unknown(seg) {
            self.push_ctrl(*tuple, t);
        }
    }

    /// A segment for a connection.
    fn deliver(
        &mut self,
        idx: u32,
        seg: &Segment<'_>,
        ce: bool,
        now: Instant,
        read: Option<&mut [u8]>,
    ) -> Option<(Handle, usize)> {
        let h = self.handle_of(idx);
        let e = self.slots[idx as usize].get_mut()?;
        if e.held {
            // A SYN waiting for the application's verdict: its
            // retransmissions, and anything else, wait too.
            return None;
        }
        // The final ACK of a handshake whose listener's accept queue is
        // full is dropped (Linux `tcp_abort_on_overflow=0`): the connection
        // stays in SYN-RECEIVED, its SYN,ACK timer runs, and the client's
        // retransmissions get in once the application accepts.
        if e.conn.state() == State::SynReceived
            && e.queue == Queue::Syn
            && seg.flags.ack()
            && !seg.flags.rst()
            && !seg.flags.syn()
            && let Some(Some(l)) = self.listeners.get(e.parent as usize)
            && l.accept_queue.count() >= l.accept_limit
        {
            self.counters.listen_overflows += 1;
            self.counters.listen_drops += 1;
            return None;
        }
        // A Fast Open client's SYN,ACK: the cookie cache learns from it
        // once the connection took it.
        let fo_synack = e.fo & super::fo::ACTIVE != 0
            && e.conn.state() == State::SynSent
            && seg.flags.syn()
            && seg.flags.ack();
        let fo_bits = e.fo;
        // The SYN timed out (Linux's `total_retrans` at the SYN,ACK).
        let syn_timed_out = fo_synack && e.conn.stats().timeouts > 0;
        let (a, got) = match read {
            Some(buf) if e.app => {
                let o = e.conn.on_segment_recv(now, seg, ce, buf);
                (o.actions, (o.len > 0).then_some((h, o.len)))
            }
            _ => (e.conn.on_segment_ecn(now, seg, ce), None),
        };
        // Once: `fo::ACTIVE` is read only in SYN-SENT, which the
        // connection has left.
        if fo_synack && !matches!(e.conn.state(), State::SynSent | State::Closed) {
            let tuple = e.tuple;
            let news = super::fastopen::SynAckNews {
                mss: seg.options.mss,
                cookie: seg.options.fast_open.filter(|c| !c.is_request()),
                sent_option: fo_bits & super::fo::SENT_OPTION != 0,
                sent_exp: fo_bits & super::fo::EXP != 0,
                sent_data: fo_bits & super::fo::SENT_DATA != 0,
                retransmitted: syn_timed_out,
            };
            self.fast_open_learn(&tuple, &news);
        }
        self.after(idx, a, now);
        got
    }

    /// RFC 9293 §3.10.7.2 (LISTEN) with Linux's queues and RFC 4987 cookies.
    fn listener_input(
        &mut self,
        li: u32,
        tuple: &Tuple,
        hash: u64,
        seg: &Segment<'_>,
        now: Instant,
        iss: Option<SeqNum>,
    ) {
        let f = seg.flags;
        // First: a RST is ignored (SA-LI-1).
        if f.rst() {
            return;
        }
        // Second: an ACK. It may return a SYN cookie; otherwise
        // <SEQ=SEG.ACK><CTL=RST> (SA-LI-2, LNX-5).
        if f.ack() {
            if !f.syn() && self.cookie_ack(li, tuple, hash, seg, now) {
                return;
            }
            self.push_ctrl(
                *tuple,
                Transmit {
                    seq: seg.ack,
                    ack: SeqNum(0),
                    flags: Flags::RST,
                    window: 0,
                    urgent: 0,
                    ect: false,
                    options: TcpOptions::NONE,
                    len: 0,
                },
            );
            return;
        }
        // Fourth: neither SYN, RST nor ACK: drop (SA-LI-5).
        if !f.syn() {
            return;
        }
        // Third: a SYN.
        let l = self.listeners[li as usize].as_ref().expect("live listener");
        if l.accept_queue.count() >= l.accept_limit {
            // Linux drops SYNs while the accept queue is full.
            self.counters.listen_overflows += 1;
            self.counters.listen_drops += 1;
            return;
        }
        let syn_full = l.syn_queue.len() >= l.syn_limit;
        let filter = l.filter_syn;
        // A filtering listener never answers with a cookie: a cookie
        // would let the connection in without the application's verdict.
        let cookie = !filter
            && match self.cfg.syncookies {
                SynCookies::Always => true,
                SynCookies::OnOverflow => syn_full,
                SynCookies::Off => false,
            };
        if cookie {
            self.send_cookie(li, tuple, seg, now);
            return;
        }
        if syn_full || !self.room_for_conn() {
            // EP-3: no cookies: drop the SYN silently.
            self.counters.listen_drops += 1;
            return;
        }
        let iss = iss.unwrap_or_else(|| self.passive_iss(tuple, now));
        let buffers = self.buffers();
        // Built in its slot (no copy of the TCB), then given the SYN there
        // (it is a SYN without ACK or RST: see above).
        let reuse = self.listeners[li as usize]
            .as_ref()
            .is_some_and(|l| l.reuse_addr);
        let idx = self.insert_conn(
            |c| Connection::new_packed(c, buffers),
            *tuple,
            hash,
            li,
            false,
            reuse,
        );
        let ts_offset = self.ts_offset_for(tuple);
        // RFC 7413 §4.2.2: a valid cookie (or none needed) opens the
        // connection with the SYN's data; a request or a wrong cookie gets
        // our cookie on the SYN,ACK.
        // Without Fast Open on the server side (RFC 7413 is opt-in) there
        // is nothing to decide: no call for every SYN.
        let (fast_open, reply, exp) = if self.fo_cfg.server {
            self.fast_open_verdict(li, tuple, seg)
        } else {
            (false, false, false)
        };
        let Some(e) = self.entry_mut(idx) else {
            return;
        };
        e.held = filter;
        if reply {
            e.fo = super::fo::REPLY | if exp { super::fo::EXP } else { 0 };
        }
        let a = if fast_open {
            e.conn.open_passive_fast_open(now, seg, iss)
        } else {
            e.conn.open_passive(now, seg, iss)
        };
        // After the SYN, which seeds its own offset; the SYN,ACK is built
        // later.
        if let Some(off) = ts_offset {
            e.conn.set_ts_offset(off);
        }
        if fast_open {
            // Linux puts a Fast Open connection in the accept queue at
            // once (the accept queue was checked above).
            self.fast_open_child(li, idx);
        } else if let Some(Some(l)) = self.listeners.get_mut(li as usize) {
            // Cannot fail: syn_limit is at most the queue's capacity.
            let _ = super::store::Seq::try_push(&mut l.syn_queue, idx);
        }
        self.after(idx, a, now);
        if filter {
            let p = super::PendingSyn {
                idx,
                generation: self.slots[idx as usize].generation,
                ep: self.tag,
            };
            let l = super::ListenerId {
                idx: li,
                generation: self.listeners[li as usize]
                    .as_ref()
                    .map_or(0, |l| l.generation),
                ep: self.tag,
            };
            if Fifo::push(&mut self.events, super::Event::SynPending(l, p)).is_err() {
                // No verdict can come: the SYN is dropped, not held for ever.
                self.counters.events_dropped += 1;
                self.drop_held(idx);
            }
        }
    }

    /// The window-scale shift we offer, as the Connection computes it
    /// (`Connection::our_wscale`): the connection a cookie opens receives
    /// with its own, which the SYN,ACK must have offered. That includes
    /// its limit of two units in the receive buffer.
    fn our_wscale(&self) -> u8 {
        let rx = self.cfg.rx_buffer;
        let cap = rx.max(self.cfg.conn.wscale_buffer.unwrap_or(0));
        let mut s = 0u8;
        while s < 14 && (cap >> s) > 0xffff && (rx >> (s + 1)) >= 2 {
            s += 1;
        }
        s
    }

    /// Answers a SYN with a SYN,ACK whose ISS is a cookie, keeping no state
    /// (RFC 4987 §3.6). The MSS goes into the cookie; window scale and SACK
    /// into the low bits of TSval when the SYN has timestamps (as Linux);
    /// without timestamps they are not offered.
    fn send_cookie(&mut self, li: u32, tuple: &Tuple, seg: &Segment<'_>, now: Instant) {
        let cfg = &self.cfg.conn;
        let peer_mss = seg.options.mss.unwrap_or(cfg.default_peer_mss);
        // The largest entry the peer takes (RFC 9293 §3.7.1), the table's
        // first below them all (the IPv6 table's is its minimum MTU's).
        let table = cookie_mss_table(tuple.local_ip);
        let mss_idx = table.iter().rposition(|&m| m <= peer_mss).unwrap_or(0) as u32;
        let iss = self.keys.cookie(tuple, seg.seq, mss_idx, now);
        let mut o = TcpOptions::NONE;
        o.mss = Some(cfg.mss);
        if let (true, Some(ts)) = (cfg.timestamps, seg.options.timestamps) {
            let wscale = seg.options.window_scale.filter(|_| cfg.window_scaling);
            let sack = cfg.sack && seg.options.sack_permitted;
            if wscale.is_some() {
                o.window_scale = Some(self.our_wscale());
            }
            o.sack_permitted = sack;
            let off = self.keys.ts_offset(tuple.local_ip, tuple.remote_ip);
            let ts_now = (now.as_millis() as u32).wrapping_add(off);
            o.timestamps = Some(Timestamps {
                val: cookie_tsval(ts_now, cookie_ts_bits(wscale, sack)),
                ecr: ts.val,
            });
        }
        let t = Transmit {
            seq: iss,
            ack: seg.seq.add(1),
            flags: Flags::SYN | Flags::ACK,
            window: self.cfg.rx_buffer.min(0xffff) as u16,
            urgent: 0,
            ect: false,
            options: o,
            len: 0,
        };
        self.counters.syncookies_sent += 1;
        if let Some(Some(l)) = self.listeners.get_mut(li as usize) {
            l.last_cookie = Some(now);
        }
        self.push_ctrl(*tuple, t);
    }

    /// An ACK to a listener: if it returns a valid cookie, the connection
    /// is created in ESTABLISHED and queued for `accept`. Returns whether
    /// the segment was consumed.
    fn cookie_ack(
        &mut self,
        li: u32,
        tuple: &Tuple,
        hash: u64,
        seg: &Segment<'_>,
        now: Instant,
    ) -> bool {
        if self.cfg.syncookies == SynCookies::Off {
            return false;
        }
        let l = self.listeners[li as usize].as_ref().expect("live listener");
        let recent = l
            .last_cookie
            .is_some_and(|t| now.saturating_duration_since(t) <= COOKIE_WINDOW);
        if !recent {
            return false;
        }
        let full = l.accept_queue.count() >= l.accept_limit;
        let peer_isn = seg.seq.sub(1);
        let cookie = seg.ack.sub(1);
        let Some(mss_idx) = self.keys.check_cookie(tuple, peer_isn, cookie, now) else {
            self.counters.syncookies_failed += 1;
            return false;
        };
        if full || !self.room_for_conn() {
            // As for a full accept queue: drop, the peer retransmits.
            self.counters.listen_overflows += 1;
            self.counters.listen_drops += 1;
            return true;
        }
        self.counters.syncookies_recv += 1;
        let (wscale, sack) = match (self.cfg.conn.timestamps, seg.options.timestamps) {
            (true, Some(ts)) => cookie_ts_decode(ts.ecr),
            _ => (None, false),
        };
        let open = CookieOpen {
            iss: cookie,
            mss: cookie_mss_table(tuple.local_ip)[mss_idx as usize],
            wscale: wscale.filter(|_| self.cfg.conn.window_scaling),
            sack: sack && self.cfg.conn.sack,
            ts_offset: self.keys.ts_offset(tuple.local_ip, tuple.remote_ip),
        };
        let buffers = self.buffers();
        let Ok((conn, a)) = Connection::from_cookie(&self.conn_cfg, buffers, now, seg, open) else {
            return false;
        };
        let reuse = self.listeners[li as usize]
            .as_ref()
            .is_some_and(|l| l.reuse_addr);
        let idx = self.insert_conn(|_| conn, *tuple, hash, li, false, reuse);
        self.after(idx, a, now);
        true
    }
}
