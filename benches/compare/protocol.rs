// Benchmark: a dispatch-heavy protocol handler written as one long-running async fn.
// `serve` reads a deterministic pseudo-random stream of command frames (a read sometimes
// suspends) and handles each with a 7-arm `match` whose arms await child futures: the same
// child type in several arms (`send_response`, `ack`, `reject`), children that really yield
// (`read_frame`, `send_response`, `storage_read`, `storage_write`, `flush`) and children
// that never yield (`check_auth`, `reject`, `ack`), with a session state (auth flag, key,
// counters, a 16-slot store) carried across every await. Measures resume/dispatch cost of a
// large coroutine with many suspend points and its future's size. protocol_manual.rs does
// the same work with hand-written futures.
//
// Usage: protocol [N] [SEED]   N commands (default 10000) from a xorshift stream seeded by
// SEED (default 2463534242). Prints the final session state, a store checksum and the polls.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

const SLOTS: usize = 16;

/// Pending once (waking the waker), then Ready.
struct YieldOnce(bool);

impl YieldOnce {
    fn new() -> Self {
        YieldOnce(false)
    }
}

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

fn xorshift(mut x: u32) -> u32 {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    x
}

#[derive(Clone, Copy)]
enum Cmd {
    Ping(u32),
    Auth(u32),
    Get(usize),
    Put(usize, u32),
    Batch(u32),
    Flush,
    Close,
}

fn decode(word: u32) -> Cmd {
    let arg = word >> 8;
    match (word >> 2) % 8 {
        0 | 7 => Cmd::Ping(arg),
        1 => Cmd::Auth(arg),
        2 => Cmd::Get(arg as usize % SLOTS),
        3 => Cmd::Put(arg as usize % SLOTS, arg >> 4),
        4 => Cmd::Batch(arg % 4),
        5 => Cmd::Flush,
        _ => Cmd::Close,
    }
}

#[derive(Clone, Copy)]
struct Session {
    authed: bool,
    key: u32,
    seq: u32,
    errors: u32,
    acc: u64,
    store: [u32; SLOTS],
}

/// Reads the next frame: suspends when the "socket" has no data yet (1 frame in 4).
#[inline(never)]
async fn read_frame(state: u32) -> u32 {
    let w = xorshift(state);
    if w & 3 == 0 {
        YieldOnce::new().await;
    }
    w
}

/// Always suspends once.
#[inline(never)]
async fn send_response(x: u32) -> u32 {
    YieldOnce::new().await;
    x.rotate_left(5) ^ 0x5bd1_e995
}

/// Never suspends.
#[inline(never)]
async fn check_auth(key: u32) -> bool {
    key % 5 != 0
}

/// Never suspends.
#[inline(never)]
async fn reject(code: u32) -> u32 {
    0xe000 | code
}

/// Never suspends.
#[inline(never)]
async fn ack(x: u32) -> u32 {
    x.wrapping_mul(3).wrapping_add(1)
}

/// Suspends 0, 1 or 2 times, depending on the slot.
#[inline(never)]
async fn storage_read(cell: u32, slot: u32) -> u32 {
    for _ in 0..slot % 3 {
        YieldOnce::new().await;
    }
    cell.wrapping_mul(2_654_435_761) ^ slot
}

/// Suspends when the value is odd.
#[inline(never)]
async fn storage_write(old: u32, v: u32) -> u32 {
    if v & 1 == 1 {
        YieldOnce::new().await;
    }
    old.wrapping_add(v)
}

/// Always suspends twice.
#[inline(never)]
async fn flush(seq: u32, acc: u64) -> u32 {
    YieldOnce::new().await;
    YieldOnce::new().await;
    (acc as u32) ^ (acc >> 32) as u32 ^ seq
}

#[inline(never)]
async fn serve(n: u32, seed: u32) -> Session {
    let mut s = Session {
        authed: false,
        key: 0,
        seq: 0,
        errors: 0,
        acc: 0,
        store: [0; SLOTS],
    };
    let mut rng = seed | 1;
    for _ in 0..n {
        rng = read_frame(rng).await;
        let reply = match decode(rng) {
            Cmd::Ping(x) => send_response(x ^ s.seq).await,
            Cmd::Auth(k) => {
                let ok = check_auth(k).await;
                if ok {
                    s.authed = true;
                    s.key = k;
                } else {
                    s.errors += 1;
                }
                send_response(ok as u32).await
            }
            Cmd::Get(slot) => {
                if s.authed {
                    let v = storage_read(s.store[slot], slot as u32).await;
                    send_response(v ^ s.key).await
                } else {
                    s.errors += 1;
                    reject(1).await
                }
            }
            Cmd::Put(slot, v) => {
                if s.authed {
                    s.store[slot] = storage_write(s.store[slot], v).await;
                    ack(s.store[slot]).await
                } else {
                    s.errors += 1;
                    reject(2).await
                }
            }
            Cmd::Batch(k) => {
                let mut sum = 0u32;
                for j in 0..k {
                    sum = sum.wrapping_add(ack(j ^ s.key).await);
                }
                sum
            }
            Cmd::Flush => {
                let r = flush(s.seq, s.acc).await;
                send_response(r).await
            }
            Cmd::Close => {
                s.authed = false;
                ack(s.seq).await
            }
        };
        s.seq = s.seq.wrapping_add(1);
        s.acc = s
            .acc
            .wrapping_mul(0x100_0000_01b3)
            .wrapping_add(reply as u64);
    }
    s
}

#[inline(never)]
fn block_on<F: Future>(fut: F, polls: &mut u64) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        *polls += 1;
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10000);
    let seed: u32 = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_463_534_242);
    let (n, seed) = std::hint::black_box((n, seed));
    let mut polls: u64 = 0;
    let s = block_on(serve(n, seed), &mut polls);
    let store = s
        .store
        .iter()
        .fold(0u64, |h, &w| h.rotate_left(7) ^ w as u64);
    println!(
        "protocol n={n} seed={seed} seq={} errors={} authed={} key={:#010x} acc={:#018x} store={store:#018x} polls={polls}",
        s.seq, s.errors, s.authed, s.key, s.acc
    );
}
