//! A TCP echo server on tcpstate-tokio over a TUN device (Linux, root):
//! `cargo run -p tcpstate-tokio --example echo`, then from the host
//! `nc 192.0.2.2 7`. The kernel's side of `tun0` is 192.0.2.1/24; the
//! stack answers for 192.0.2.2.
use tcpstate_tokio::{Stack, device::tun::TunDevice};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let tun = TunDevice::open("tun0", 1500, &[("192.0.2.1".parse().unwrap(), 24)])?;
    let stack = Stack::new(tun, &["192.0.2.2".parse().unwrap()])?;
    let listener = stack.bind("192.0.2.2:7".parse().unwrap()).await?;
    loop {
        let (stream, peer) = listener.accept().await?;
        tokio::spawn(async move {
            let (mut rd, mut wr) = stream.into_split();
            let n = tokio::io::copy(&mut rd, &mut wr).await;
            println!("{peer}: echoed {n:?}");
        });
    }
}
