// Benchmark: a realistic multi-module async application on tokio, for debug build times
// and debug-binary run time. A key/value store behind async locks (storage), a line
// protocol with a handler and a reference model (protocol), a channel pipeline with
// spawned stages (pipeline), and a server with TCP and in-memory clients (client).
// Three phases run concurrently on one current-thread runtime, each in its own key
// namespaces, and every response is checked against the model.
//
// Usage: tokio_app [N]   workload size (default 2000). Prints deterministic lines (no
// timings, ports or addresses) and exits 0; exits 1 on any inconsistency, 2 on bad usage.
// The leading `size_of ...` lines are future sizes and depend on the compiler.

/// Returns early with an [`AppError`] built from a format string.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::AppError::new(format!($($arg)*)))
    };
}

mod client;
mod pipeline;
mod protocol;
mod storage;

use std::fmt;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::protocol::Handler;
use crate::storage::{FNV_OFFSET, Store, fnv};

/// TCP clients in phase `tcp`.
const TCP_CLIENTS: usize = 4;
/// Executor shards in phase `pipeline`.
const SHARDS: usize = 4;
/// In-memory sessions in phase `duplex`.
const DUPLEX_SESSIONS: usize = 2;

#[derive(Debug)]
pub struct AppError(String);

impl AppError {
    pub fn new(message: impl Into<String>) -> AppError {
        AppError(message.into())
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> AppError {
        AppError(format!("i/o error: {e}"))
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> AppError {
        AppError(format!("task failed: {e}"))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = match args.as_slice() {
        [] => Some(2000),
        [s] => s.parse::<u64>().ok().filter(|&n| n > 0),
        _ => None,
    };
    let Some(n) = n else {
        eprintln!("usage: tokio_app [N=2000]");
        return ExitCode::from(2);
    };
    let n = std::hint::black_box(n);

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tokio_app: cannot start runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let app = run(n);
    println!("size_of run {}", std::mem::size_of_val(&app));
    match runtime.block_on(app) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokio_app: error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Prints the sizes of a few of the main futures, created and dropped without a poll.
fn print_future_sizes(store: &Arc<Store>, live: &Arc<AtomicUsize>, n: u64) {
    let (end, _other_end) = tokio::io::duplex(64);
    let serve = client::serve_connection(end, Arc::clone(store), Arc::clone(live));
    println!("size_of serve_connection {}", std::mem::size_of_val(&serve));
    drop(serve);
    let tcp = client::tcp_phase(Arc::clone(store), Arc::clone(live), n, TCP_CLIENTS);
    println!("size_of tcp_phase {}", std::mem::size_of_val(&tcp));
    drop(tcp);
    let pipe = pipeline::run_pipeline(Arc::clone(store), n, SHARDS);
    println!("size_of run_pipeline {}", std::mem::size_of_val(&pipe));
    drop(pipe);
    let mut handler = Handler::new(Arc::clone(store), "sizes".to_owned());
    let handle = handler.handle_line("PING");
    println!("size_of handle_line {}", std::mem::size_of_val(&handle));
}

fn print_phase(phase: &client::PhaseReport) {
    println!(
        "{} sessions={} requests={} errors={} checksum=0x{:016x}",
        phase.name, phase.sessions, phase.requests, phase.errors, phase.checksum
    );
}

async fn run(n: u64) -> Result<(), AppError> {
    let store = Store::new();
    let live = Arc::new(AtomicUsize::new(0));
    print_future_sizes(&store, &live, n);

    // All three phases at once: they share the store but not a single key.
    let (tcp, pipe, mem) = tokio::try_join!(
        client::tcp_phase(Arc::clone(&store), Arc::clone(&live), n, TCP_CLIENTS),
        pipeline::run_pipeline(Arc::clone(&store), n, SHARDS),
        client::duplex_phase(
            Arc::clone(&store),
            Arc::clone(&live),
            n / 4,
            DUPLEX_SESSIONS
        ),
    )?;
    print_phase(&tcp);
    let shard_ops: Vec<String> = pipe.shard_ops.iter().map(u64::to_string).collect();
    println!(
        "pipeline shards={} requests={} errors={} shard_ops={} checksum=0x{:016x}",
        pipe.shards,
        pipe.jobs,
        pipe.errors,
        shard_ops.join("/"),
        pipe.checksum
    );
    print_phase(&mem);

    let (keys, digest) = store.digest().await;
    let stats = store.stats().await;
    let (records, journal) = store.journal().await;
    println!(
        "store keys={keys} reads={} misses={} writes={} deletes={} scans={} failed={} journal={records}/0x{journal:016x} digest=0x{digest:016x}",
        stats.reads, stats.misses, stats.writes, stats.deletes, stats.scans, stats.failed
    );

    if live.load(Ordering::SeqCst) != 0 {
        bail!("a connection is still open");
    }
    if store.in_flight() != 0 {
        bail!("{} store operations still in flight", store.in_flight());
    }
    if records != stats.writes + stats.deletes {
        bail!("journal has {records} records for {stats:?}");
    }

    let requests = tcp.requests + pipe.jobs + mem.requests;
    let errors = tcp.errors + pipe.errors + mem.errors;
    let checksum = [tcp.checksum, pipe.checksum, mem.checksum, journal, digest]
        .iter()
        .fold(FNV_OFFSET, |h, c| fnv(h, &c.to_le_bytes()));
    println!(
        "tokio_app n={n} requests={requests} errors={errors} keys={keys} checksum=0x{checksum:016x}"
    );
    Ok(())
}
