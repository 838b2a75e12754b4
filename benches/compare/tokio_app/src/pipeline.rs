//! A multi-stage request pipeline over `tokio::sync::mpsc` channels.
//!
//! ```text
//! producer (stream, buffered) -> parser task -> shard tasks (by key) -> aggregator
//!                                     ^                                   |
//!                                     +---------- cancel (watch) ---------+
//! ```
//!
//! Requests are routed to shards by key, so each key is always handled by the same shard
//! in sequence order. Each shard has its own namespace and its own [`Model`], so every
//! response is known in advance whatever the interleaving. The aggregator puts responses
//! back into sequence order before folding them into the checksum.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use futures::stream;
use tokio::sync::{mpsc, watch};

use crate::AppError;
use crate::protocol::{Command, Handler, Model, ParseError, Rng, gen_line, parse};
use crate::storage::{FNV_OFFSET, Store, fnv};

const QUEUE: usize = 32;

struct Job {
    seq: u64,
    line: String,
}

struct Parsed {
    seq: u64,
    parsed: Result<Command, ParseError>,
}

struct Done {
    seq: u64,
    shard: usize,
    response: String,
    error: bool,
}

/// Counts running stages for as long as it lives.
struct StageGuard {
    live: Arc<AtomicUsize>,
}

impl StageGuard {
    fn new(live: &Arc<AtomicUsize>) -> StageGuard {
        live.fetch_add(1, Ordering::SeqCst);
        StageGuard {
            live: Arc::clone(live),
        }
    }
}

impl Drop for StageGuard {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

pub struct PipelineReport {
    pub jobs: u64,
    pub shards: usize,
    pub errors: u64,
    pub checksum: u64,
    pub shard_ops: Vec<u64>,
}

/// Request `seq` of the pipeline: a pure function of the sequence number.
async fn render_job(seq: u64) -> Job {
    let mut rng = Rng::new(0x51_7e ^ seq.wrapping_mul(0x1000_0000_01b3));
    // Pipeline requests use a wider key space than the interactive clients.
    let line = gen_line(&mut rng, 48);
    if seq.is_multiple_of(64) {
        tokio::task::yield_now().await;
    }
    Job { seq, line }
}

async fn produce(n: u64, jobs: mpsc::Sender<Job>, live: Arc<AtomicUsize>) -> Result<u64, AppError> {
    let _stage = StageGuard::new(&live);
    let mut source = stream::iter(0..n).map(render_job).buffered(8);
    let mut sent = 0;
    while let Some(job) = source.next().await {
        jobs.send(job)
            .await
            .map_err(|_| AppError::new("pipeline: parser went away"))?;
        sent += 1;
    }
    Ok(sent)
}

/// Requests on a key (and scans, by prefix) always go to the same shard; the rest are
/// spread by sequence number.
fn shard_of(parsed: &Parsed, shards: usize) -> usize {
    let hash = match &parsed.parsed {
        Ok(Command::Scan(prefix, _)) => fnv(FNV_OFFSET, prefix.as_bytes()),
        Ok(cmd) => cmd
            .key()
            .map_or(parsed.seq, |key| fnv(FNV_OFFSET, key.as_bytes())),
        Err(_) => parsed.seq,
    };
    (hash % shards as u64) as usize
}

async fn parse_stage(
    mut jobs: mpsc::Receiver<Job>,
    shards: Vec<mpsc::Sender<Parsed>>,
    mut cancel: watch::Receiver<bool>,
    live: Arc<AtomicUsize>,
) -> u64 {
    let _stage = StageGuard::new(&live);
    let mut parsed_count = 0;
    loop {
        let job = tokio::select! {
            biased;
            changed = cancel.changed() => match changed {
                Ok(()) if *cancel.borrow() => break,
                Ok(()) => continue,
                // The aggregator is gone: drain whatever is left.
                Err(_) => match jobs.recv().await {
                    Some(job) => job,
                    None => break,
                },
            },
            job = jobs.recv() => match job {
                Some(job) => job,
                None => break,
            },
        };
        let parsed = Parsed {
            seq: job.seq,
            parsed: parse(&job.line),
        };
        let shard = shard_of(&parsed, shards.len());
        if shards[shard].send(parsed).await.is_err() {
            break;
        }
        parsed_count += 1;
    }
    parsed_count
}

async fn shard_stage(
    shard: usize,
    store: Arc<Store>,
    mut input: mpsc::Receiver<Parsed>,
    output: mpsc::Sender<Done>,
    live: Arc<AtomicUsize>,
) -> Result<u64, AppError> {
    let _stage = StageGuard::new(&live);
    let mut handler = Handler::new(store, format!("pipe{shard}"));
    let mut model = Model::default();
    while let Some(Parsed { seq, parsed }) = input.recv().await {
        let want = model.apply(&parsed);
        let got = handler.respond(parsed).await;
        if got != want {
            bail!("pipeline shard {shard}: seq {seq}: got {got}, want {want}");
        }
        let done = Done {
            seq,
            shard,
            error: got.is_err(),
            response: got.to_string(),
        };
        if output.send(done).await.is_err() {
            break;
        }
    }
    Ok(handler.ops())
}

struct Aggregate {
    next: u64,
    errors: u64,
    checksum: u64,
    pending: BTreeMap<u64, Done>,
}

impl Aggregate {
    async fn absorb(&mut self, batch: Vec<Done>) {
        for done in batch {
            self.pending.insert(done.seq, done);
        }
        while let Some(done) = self.pending.remove(&self.next) {
            self.fold(done).await;
        }
    }

    async fn fold(&mut self, done: Done) {
        self.checksum = fnv(self.checksum, &done.seq.to_le_bytes());
        self.checksum = fnv(self.checksum, &[done.shard as u8]);
        self.checksum = fnv(self.checksum, done.response.as_bytes());
        self.errors += done.error as u64;
        self.next += 1;
    }
}

async fn aggregate(
    n: u64,
    mut done: mpsc::Receiver<Done>,
    cancel: watch::Sender<bool>,
) -> Result<Aggregate, AppError> {
    let mut acc = Aggregate {
        next: 0,
        errors: 0,
        checksum: FNV_OFFSET,
        pending: BTreeMap::new(),
    };
    let mut batches = stream::poll_fn(move |cx| done.poll_recv(cx)).chunks(16);
    while let Some(batch) = batches.next().await {
        acc.absorb(batch).await;
    }
    if acc.next != n || !acc.pending.is_empty() {
        let _ = cancel.send(true);
        bail!("pipeline: folded {} of {n} results", acc.next);
    }
    Ok(acc)
}

/// Runs `n` generated requests through the pipeline with `shards` executor shards.
pub async fn run_pipeline(
    store: Arc<Store>,
    n: u64,
    shards: usize,
) -> Result<PipelineReport, AppError> {
    let live = Arc::new(AtomicUsize::new(0));
    let (job_tx, job_rx) = mpsc::channel(QUEUE);
    let (done_tx, done_rx) = mpsc::channel(QUEUE);
    let (cancel_tx, cancel_rx) = watch::channel(false);

    let mut shard_txs = Vec::new();
    let mut shard_tasks = Vec::new();
    for shard in 0..shards {
        let (tx, rx) = mpsc::channel(QUEUE);
        shard_txs.push(tx);
        let task = shard_stage(
            shard,
            Arc::clone(&store),
            rx,
            done_tx.clone(),
            Arc::clone(&live),
        );
        shard_tasks.push(tokio::spawn(task));
    }
    // The aggregator ends when the last shard drops its sender.
    drop(done_tx);
    let parser = tokio::spawn(parse_stage(job_rx, shard_txs, cancel_rx, Arc::clone(&live)));

    let (produced, aggregated) = tokio::join!(
        produce(n, job_tx, Arc::clone(&live)),
        aggregate(n, done_rx, cancel_tx)
    );
    let parsed = parser.await?;
    let mut shard_ops = Vec::new();
    for joined in futures::future::join_all(shard_tasks).await {
        shard_ops.push(joined??);
    }
    let produced = produced?;
    let acc = aggregated?;
    if produced != n || parsed != n || shard_ops.iter().sum::<u64>() != n {
        bail!("pipeline: produced {produced}, parsed {parsed}, executed {shard_ops:?}");
    }
    if live.load(Ordering::SeqCst) != 0 {
        bail!("pipeline: a stage is still running");
    }
    Ok(PipelineReport {
        jobs: n,
        shards,
        errors: acc.errors,
        checksum: acc.checksum,
        shard_ops,
    })
}
