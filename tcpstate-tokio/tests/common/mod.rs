//! Shared by the TUN tests: network namespaces, TUN devices moved into
//! them, and a small hyper HTTP/1.1 server on tcpstate-tokio.
#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::net::IpAddr;
use std::pin::Pin;
use std::process::{Command, Output};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame};
use hyper::{Request, Response};
use tcpstate_tokio::device::tun::TunDevice;

/// Whether the TUN tests can run: root, and asked for (or skipped).
pub fn enabled(var: &str) -> bool {
    let asked = std::env::var(var).is_ok_and(|v| v == "1");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !asked {
        eprintln!("skipped: set {var}=1 (as root) to run the TUN tests");
    } else if !root {
        panic!("{var}=1 but not root");
    }
    asked && root
}

/// Runs a command, panicking with its output if it fails.
pub fn run(args: &[&str]) -> Output {
    let o = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        o.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Runs a shell command inside a namespace and returns its stdout.
pub fn sh_in(ns: &str, cmd: &str) -> String {
    let o = run(&["ip", "netns", "exec", ns, "sh", "-c", cmd]);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A network namespace, deleted on drop.
pub struct Netns(pub String);

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = format!("tst-{tag}-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run(&["ip", "netns", "add", &name]);
        run(&["ip", "-n", &name, "link", "set", "lo", "up"]);
        Netns(name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// A TUN device created here, moved into `ns`, with the kernel's side
/// holding 192.0.2.1/24 and 2001:db8::1/64 there.
pub fn tun_in(ns: &Netns, name: &str, mtu: u16) -> TunDevice {
    let dev = TunDevice::open(name, mtu, &[]).expect("TUN device (root, /dev/net/tun)");
    run(&["ip", "link", "set", name, "netns", &ns.0]);
    run(&[
        "ip",
        "-n",
        &ns.0,
        "addr",
        "add",
        "192.0.2.1/24",
        "dev",
        name,
    ]);
    run(&[
        "ip",
        "-n",
        &ns.0,
        "addr",
        "add",
        "2001:db8::1/64",
        "dev",
        name,
        "nodad",
    ]);
    run(&["ip", "-n", &ns.0, "link", "set", name, "up"]);
    dev
}

/// The stack's own addresses on that link.
pub fn stack_addrs() -> [IpAddr; 2] {
    ["192.0.2.2".parse().unwrap(), "2001:db8::2".parse().unwrap()]
}

/// The bytes of the pattern at `pos..pos + out.len()`: cheap, not
/// periodic at any small length.
pub fn pattern(pos: u64, out: &mut [u8]) {
    for (i, b) in out.iter_mut().enumerate() {
        let x = (pos + i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        *b = (x >> 56) as u8 ^ (x >> 29) as u8;
    }
}

/// An HTTP body of `len` pattern bytes, in 64 KiB frames.
pub struct PatternBody {
    pos: u64,
    len: u64,
}

impl Body for PatternBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.pos >= self.len {
            return Poll::Ready(None);
        }
        let n = (self.len - self.pos).min(65536) as usize;
        let mut v = vec![0u8; n];
        pattern(self.pos, &mut v);
        self.pos += n as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(v)))))
    }
    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.len - self.pos)
    }
}

/// `GET /N` answers N pattern bytes; anything else a short greeting.
async fn handle(
    req: Request<hyper::body::Incoming>,
) -> Result<Response<http_body_util::Either<PatternBody, http_body_util::Full<Bytes>>>, Infallible>
{
    use http_body_util::Either;
    let n = req.uri().path().trim_start_matches('/').parse::<u64>().ok();
    Ok(match n {
        Some(len) => Response::new(Either::Left(PatternBody { pos: 0, len })),
        None => Response::new(Either::Right(http_body_util::Full::new(
            Bytes::from_static(b"hello from tcpstate-tokio\n"),
        ))),
    })
}

/// Serves HTTP/1.1 (keep-alive) on every connection the listener accepts.
pub async fn serve_http(l: tcpstate_tokio::TcpListener) {
    loop {
        let Ok((s, _)) = l.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(s);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, hyper::service::service_fn(handle))
                .await;
        });
    }
}

/// The sha256 of `len` pattern bytes, as `sha256sum` prints it.
pub fn pattern_sha256(len: u64) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0;
    while pos < len {
        let n = (len - pos).min(buf.len() as u64) as usize;
        pattern(pos, &mut buf[..n]);
        h.update(&buf[..n]);
        pos += n as u64;
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The process's peak resident set size (VmHWM), in KiB.
pub fn peak_rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
