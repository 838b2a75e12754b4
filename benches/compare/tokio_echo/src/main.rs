// Benchmark: a real-world async program on tokio. A TCP echo server on 127.0.0.1:0 and
// several clients run in one current-thread runtime; each client sends K messages of
// pseudo-random length (1..=256 bytes) one at a time and checks every echo byte for byte.
// Measures tokio's own coroutines (accept loop, connection handlers, clients, tokio's
// io-util futures) as compiled by the backend under test, end to end.
//
// Usage: tokio_echo [K] [CLIENTS]   K messages per client (default 1000), CLIENTS clients
// (default 4). Prints a deterministic summary (no timings, no ports); exits 1 on any
// error or mismatch.
use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// What the server saw on one connection: totals that do not depend on how TCP split it.
struct ConnStats {
    bytes: u64,
    checksum: u64,
}

/// What one client sent and verified.
struct ClientStats {
    messages: u64,
    bytes: u64,
    checksum: u64,
}

fn xorshift(mut x: u32) -> u32 {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    x
}

fn mix(h: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(h, |h, &b| h.wrapping_mul(0x100_0000_01b3) ^ b as u64)
}

/// Echoes everything back until the client shuts its write half down.
async fn serve_conn(mut sock: TcpStream, done: mpsc::UnboundedSender<ConnStats>) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    let mut stats = ConnStats {
        bytes: 0,
        checksum: 0xcbf2_9ce4_8422_2325,
    };
    loop {
        let n = sock.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        stats.bytes += n as u64;
        stats.checksum = mix(stats.checksum, &buf[..n]);
        sock.write_all(&buf[..n]).await?;
    }
    sock.shutdown().await?;
    let _ = done.send(stats);
    Ok(())
}

async fn accept_loop(
    listener: TcpListener,
    done: mpsc::UnboundedSender<ConnStats>,
) -> io::Result<()> {
    loop {
        let (sock, _) = listener.accept().await?;
        sock.set_nodelay(true)?;
        let done = done.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_conn(sock, done).await {
                eprintln!("server connection error: {e}");
            }
        });
    }
}

async fn client(addr: SocketAddr, id: u32, k: u32) -> io::Result<ClientStats> {
    let mut sock = TcpStream::connect(addr).await?;
    sock.set_nodelay(true)?;
    let mut rng = 0x9e37_79b9 ^ id.wrapping_mul(0x85eb_ca6b) | 1;
    let mut msg = Vec::with_capacity(256);
    let mut echo = [0u8; 256];
    let mut stats = ClientStats {
        messages: 0,
        bytes: 0,
        checksum: 0xcbf2_9ce4_8422_2325,
    };
    for _ in 0..k {
        rng = xorshift(rng);
        let len = 1 + (rng % 256) as usize;
        msg.clear();
        for _ in 0..len {
            rng = xorshift(rng);
            msg.push((rng >> 24) as u8);
        }
        sock.write_all(&msg).await?;
        sock.read_exact(&mut echo[..len]).await?;
        if echo[..len] != msg[..] {
            return Err(io::Error::other(format!("client {id}: echo mismatch")));
        }
        stats.messages += 1;
        stats.bytes += len as u64;
        stats.checksum = mix(stats.checksum, &msg);
    }
    sock.shutdown().await?;
    if sock.read(&mut echo).await? != 0 {
        return Err(io::Error::other(format!(
            "client {id}: extra bytes after shutdown"
        )));
    }
    Ok(stats)
}

async fn run(k: u32, clients: u32) -> io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let server = tokio::spawn(accept_loop(listener, done_tx));

    let handles: Vec<_> = (0..clients)
        .map(|id| tokio::spawn(client(addr, id, k)))
        .collect();
    let mut messages = 0u64;
    let mut bytes = 0u64;
    let mut client_sum = 0u64;
    for h in handles {
        let s = h.await.map_err(io::Error::other)??;
        messages += s.messages;
        bytes += s.bytes;
        client_sum = client_sum.rotate_left(11) ^ s.checksum;
    }

    // Every client has seen its server half close, so every handler has reported.
    let mut conns = 0u64;
    let mut server_bytes = 0u64;
    let mut server_sum = 0u64;
    while conns < clients as u64 {
        let s = done_rx
            .recv()
            .await
            .ok_or_else(|| io::Error::other("server stopped early"))?;
        conns += 1;
        server_bytes += s.bytes;
        server_sum = server_sum.wrapping_add(s.checksum);
    }
    server.abort();

    Ok(format!(
        "tokio_echo clients={clients} messages={messages} bytes={bytes} \
         client_checksum={client_sum:#018x} server_conns={conns} server_bytes={server_bytes} \
         server_checksum={server_sum:#018x}"
    ))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let k: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let clients: u32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(4);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("tokio runtime");
    match rt.block_on(run(k, clients)) {
        Ok(summary) => println!("{summary}"),
        Err(e) => {
            eprintln!("tokio_echo: {e}");
            std::process::exit(1);
        }
    }
}
