// Benchmark: the seed programs of the state-lowering issue, as async fns.
// Measures the per-call cost of small coroutines: `foo` (no await), `bar` (awaits an
// await-free child), `send_response` (one real suspension) and `dispatch` (the same child
// type awaited in two match arms), each driven to completion by a tiny block_on with a
// noop waker. seed_manual.rs does the same work with hand-written futures.
//
// Usage: seed [N] [SALT]   N iterations (default 10000); SALT is xored into bar's input
// (default 0). Prints N, a wrapping checksum of every result, and the number of polls.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

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

#[inline(never)]
async fn foo(blah: bool) -> i32 {
    if blah { 7 } else { 3 }
}

#[inline(never)]
async fn bar(input: u32) -> i32 {
    let blah = input > 10;
    foo(blah).await * 2
}

#[inline(never)]
async fn send_response(x: u32) -> u32 {
    YieldOnce::new().await;
    x + 1
}

#[inline(never)]
async fn dispatch(c: u8) -> u32 {
    match c {
        0 => send_response(123).await,
        _ => send_response(456).await,
    }
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
    let n: u32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10000);
    let salt: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (n, salt) = std::hint::black_box((n, salt));
    let mut checksum: u64 = 0;
    let mut polls: u64 = 0;
    for i in 0..n {
        let b = block_on(bar(i ^ salt), &mut polls);
        checksum = checksum.wrapping_mul(31).wrapping_add(b as u32 as u64);
        let d = block_on(dispatch((i % 3) as u8), &mut polls);
        checksum = checksum.wrapping_mul(31).wrapping_add(d as u64);
    }
    println!("seed n={n} checksum={checksum:#018x} polls={polls}");
}
