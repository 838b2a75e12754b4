//! The server side of the protocol and the clients that drive it.
//!
//! [`serve_connection`] is generic over the byte stream, so the same code serves TCP
//! connections (phase `tcp`: a listener on 127.0.0.1:0) and in-memory `tokio::io::duplex`
//! pipes (phase `duplex`). Each client works in its own namespace and checks every
//! response against a [`Model`]; results are keyed by namespace, so nothing printed
//! depends on the order in which connections are accepted or finish.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::AppError;
use crate::protocol::{Command, Handler, Model, Response, Rng, gen_line, parse};
use crate::storage::{FNV_OFFSET, Store, fnv};

/// Requests a client sends per write; responses are read concurrently.
const BATCH: usize = 16;
/// Generous upper bound for one batch round trip. Only hit when something is broken.
const ROUND_TRIP_LIMIT: Duration = Duration::from_secs(20);

/// Counts open connections for as long as it lives.
struct ConnGuard {
    live: Arc<AtomicUsize>,
}

impl ConnGuard {
    fn new(live: &Arc<AtomicUsize>) -> ConnGuard {
        live.fetch_add(1, Ordering::SeqCst);
        ConnGuard {
            live: Arc::clone(live),
        }
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What the server saw on one connection.
#[derive(Debug)]
pub struct ConnReport {
    pub ns: String,
    pub requests: u64,
    pub errors: u64,
    pub bytes_in: u64,
}

/// What one client sent and verified.
#[derive(Debug)]
pub struct ClientReport {
    pub ns: String,
    pub requests: u64,
    pub errors: u64,
    pub bytes_out: u64,
    pub checksum: u64,
}

/// The totals of one phase, printed as one line.
pub struct PhaseReport {
    pub name: &'static str,
    pub sessions: usize,
    pub requests: u64,
    pub errors: u64,
    pub checksum: u64,
}

/// Serves one connection: `HELLO ns`, then requests until `QUIT` or end of input.
pub async fn serve_connection<S>(
    stream: S,
    store: Arc<Store>,
    live: Arc<AtomicUsize>,
) -> Result<ConnReport, AppError>
where
    S: AsyncRead + AsyncWrite,
{
    let _conn = ConnGuard::new(&live);
    let (rd, wr) = tokio::io::split(stream);
    let mut reader = BufReader::new(rd);
    let mut writer = BufWriter::new(wr);
    let mut line = String::new();

    let mut bytes_in = reader.read_line(&mut line).await? as u64;
    let ns = match parse(line.trim_end_matches('\n')) {
        Ok(Command::Hello(ns)) => ns,
        _ => {
            writer.write_all(b"ERR expected HELLO\n").await?;
            writer.shutdown().await?;
            bail!("bad greeting {line:?}");
        }
    };
    writer
        .write_all(format!("{}\n", Response::Welcome(ns.clone())).as_bytes())
        .await?;
    writer.flush().await?;

    let mut handler = Handler::new(store, ns.clone());
    loop {
        line.clear();
        let n = reader.read_line(&mut line).await?;
        if n == 0 {
            break;
        }
        bytes_in += n as u64;
        let response = handler.handle_line(line.trim_end_matches('\n')).await;
        writer.write_all(format!("{response}\n").as_bytes()).await?;
        match response {
            Response::Bye => {
                writer.flush().await?;
                break;
            }
            // Flush once everything the client has sent so far is answered.
            _ if reader.buffer().is_empty() => writer.flush().await?,
            _ => {}
        }
    }
    writer.shutdown().await?;
    Ok(ConnReport {
        ns,
        requests: handler.ops(),
        errors: handler.errors(),
        bytes_in,
    })
}

/// The request lines of one client: a pure function of the seed and the count.
fn client_lines(seed: u64, count: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    (0..count).map(|_| gen_line(&mut rng, 24)).collect()
}

/// Sends `lines` in batches, checks every response against the model, then asks for the
/// session counters and quits. Expects the server to close afterwards.
pub async fn drive_client<S>(
    stream: S,
    ns: String,
    lines: Vec<String>,
) -> Result<ClientReport, AppError>
where
    S: AsyncRead + AsyncWrite,
{
    let (rd, mut wr) = tokio::io::split(stream);
    let mut responses = BufReader::new(rd).lines();
    let mut model = Model::default();
    let mut report = ClientReport {
        ns: ns.clone(),
        requests: 0,
        errors: 0,
        bytes_out: 0,
        checksum: FNV_OFFSET,
    };

    wr.write_all(format!("HELLO {ns}\n").as_bytes()).await?;
    let welcome = responses.next_line().await?;
    if welcome.as_deref() != Some(format!("WELCOME {ns}").as_str()) {
        bail!("{ns}: bad welcome {welcome:?}");
    }

    let tail = ["SESSION".to_owned(), "QUIT".to_owned()];
    let batches = lines.chunks(BATCH).chain(std::iter::once(&tail[..]));
    for batch in batches {
        let mut out = String::new();
        for line in batch {
            out.push_str(line);
            out.push('\n');
        }
        report.bytes_out += out.len() as u64;
        // Write the batch and read its answers at the same time, so neither side can
        // block the other however small the transport's buffers are.
        let send = async {
            wr.write_all(out.as_bytes()).await?;
            wr.flush().await
        };
        let receive = async {
            let mut got = Vec::with_capacity(batch.len());
            while got.len() < batch.len() {
                match responses.next_line().await? {
                    Some(line) => got.push(line),
                    None => break,
                }
            }
            Ok::<_, std::io::Error>(got)
        };
        let (sent, received) =
            tokio::time::timeout(ROUND_TRIP_LIMIT, async { tokio::join!(send, receive) })
                .await
                .map_err(|_| AppError::new(format!("{ns}: batch timed out")))?;
        sent?;
        let received = received?;
        if received.len() != batch.len() {
            bail!("{ns}: connection closed early");
        }
        for (line, got) in batch.iter().zip(&received) {
            let want = model.apply_line(line);
            if *got != want.to_string() {
                bail!("{ns}: {line:?} got {got:?}, want {want}");
            }
            report.requests += 1;
            report.errors += want.is_err() as u64;
            report.checksum = fnv(report.checksum, got.as_bytes());
            report.checksum = fnv(report.checksum, b"\n");
        }
    }
    if let Some(extra) = responses.next_line().await? {
        bail!("{ns}: unexpected line after BYE: {extra:?}");
    }
    wr.shutdown().await?;
    Ok(report)
}

/// Accepts connections until told to stop, then waits for every connection to finish.
async fn run_tcp_server(
    listener: TcpListener,
    store: Arc<Store>,
    live: Arc<AtomicUsize>,
    mut shutdown: oneshot::Receiver<()>,
) -> Result<BTreeMap<String, ConnReport>, AppError> {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (sock, _peer) = accepted?;
                sock.set_nodelay(true)?;
                conns.spawn(serve_connection(sock, Arc::clone(&store), Arc::clone(&live)));
            }
        }
    }
    let mut reports = BTreeMap::new();
    while let Some(joined) = conns.join_next().await {
        let report = joined??;
        reports.insert(report.ns.clone(), report);
    }
    Ok(reports)
}

async fn tcp_client(addr: SocketAddr, id: usize, count: u64) -> Result<ClientReport, AppError> {
    let sock = TcpStream::connect(addr).await?;
    sock.set_nodelay(true)?;
    drive_client(
        sock,
        format!("tcp{id}"),
        client_lines(0x7c9 + id as u64, count),
    )
    .await
}

/// Splits `n` requests as evenly as possible over `parts` sessions.
fn share(n: u64, parts: usize, i: usize) -> u64 {
    n / parts as u64 + ((i as u64) < n % parts as u64) as u64
}

/// Checks each client against what the server recorded for its namespace and folds the
/// clients, in namespace order, into one phase report.
fn reconcile(
    name: &'static str,
    clients: Vec<ClientReport>,
    conns: &BTreeMap<String, ConnReport>,
) -> Result<PhaseReport, AppError> {
    if clients.len() != conns.len() {
        bail!(
            "{name}: {} clients, {} connections",
            clients.len(),
            conns.len()
        );
    }
    let mut phase = PhaseReport {
        name,
        sessions: clients.len(),
        requests: 0,
        errors: 0,
        checksum: FNV_OFFSET,
    };
    let by_ns: BTreeMap<_, _> = clients.into_iter().map(|c| (c.ns.clone(), c)).collect();
    for (ns, client) in &by_ns {
        let conn = conns
            .get(ns)
            .ok_or_else(|| AppError::new(format!("{name}: no connection for {ns}")))?;
        let hello = format!("HELLO {ns}\n").len() as u64;
        if conn.requests != client.requests
            || conn.errors != client.errors
            || conn.bytes_in != client.bytes_out + hello
        {
            bail!("{name}: {ns}: server saw {conn:?}, client {client:?}");
        }
        phase.requests += client.requests;
        phase.errors += client.errors;
        phase.checksum = fnv(phase.checksum, &client.checksum.to_le_bytes());
    }
    Ok(phase)
}

/// Phase `tcp`: a server on 127.0.0.1:0 and `clients` concurrent clients sharing `n` requests.
pub async fn tcp_phase(
    store: Arc<Store>,
    live: Arc<AtomicUsize>,
    n: u64,
    clients: usize,
) -> Result<PhaseReport, AppError> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel();
    let server = tokio::spawn(run_tcp_server(listener, store, live, stopped));

    let handles: Vec<_> = (0..clients)
        .map(|id| tokio::spawn(tcp_client(addr, id, share(n, clients, id))))
        .collect();
    let mut reports = Vec::new();
    for joined in futures::future::join_all(handles).await {
        reports.push(joined??);
    }
    // Every client has seen BYE, so every connection was accepted.
    let _ = stop.send(());
    let conns = server.await??;
    reconcile("tcp", reports, &conns)
}

/// Phase `duplex`: the same server code over in-memory pipes, no sockets.
pub async fn duplex_phase(
    store: Arc<Store>,
    live: Arc<AtomicUsize>,
    n: u64,
    sessions: usize,
) -> Result<PhaseReport, AppError> {
    let runs = (0..sessions).map(|id| {
        let (client_end, server_end) = tokio::io::duplex(512);
        let server = tokio::spawn(serve_connection(
            server_end,
            Arc::clone(&store),
            Arc::clone(&live),
        ));
        let lines = client_lines(0xd0 + id as u64, share(n, sessions, id));
        async move {
            let (client, server) =
                futures::join!(drive_client(client_end, format!("mem{id}"), lines), server);
            Ok::<_, AppError>((client?, server??))
        }
    });
    let mut clients = Vec::new();
    let mut conns = BTreeMap::new();
    for (client, conn) in futures::future::try_join_all(runs).await? {
        clients.push(client);
        conns.insert(conn.ns.clone(), conn);
    }
    reconcile("duplex", clients, &conns)
}
