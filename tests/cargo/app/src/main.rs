use std::future::Future;
use std::task::{Context, Poll, Waker};

use corolift_test_child::{checksum, checksum_blocking, describe, doubled, scaled, tagged, yield_once};
use corolift_test_macros::traced;

include!(concat!(env!("OUT_DIR"), "/generated.rs"));

#[traced]
async fn total(n: u32) -> u32 {
    let mut sum = 0;
    for i in 0..n {
        sum += doubled(i).await;
        yield_once().await;
    }
    sum
}

/// Awaits children of another crate that never suspend (ready_child across crates).
async fn ready_children(n: u32) -> String {
    let a = scaled(n, 3).await;
    let b = tagged(n as u8).await;
    yield_once().await;
    let c = scaled(a, 5).await;
    format!("{a} {b} {c}")
}

/// Awaits another crate's async fn and holds nothing else across the await: under
/// `corolift=all` the child is spliced and flattened from that crate's metadata MIR (its
/// resume code, its layout and its drop code).
async fn wraps_doubled(n: u32) -> u32 {
    doubled(n).await + 1
}

fn block_on<F: Future>(fut: F) -> (F::Output, u32) {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    let mut polls = 1;
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return (v, polls);
        }
        polls += 1;
    }
}

fn main() {
    println!("{GREETING}");
    let n = std::env::args().count() as u32 + 3;
    println!("total = {:?}", block_on(total(n)));
    println!("describe = {:?}", block_on(describe("x", 2)));
    println!("describe = {:?}", block_on(describe(vec![1u8, 2], 1)));
    println!("checksum = {:?}", block_on(checksum((1..n + 5).collect())));
    println!("ready_children = {:?}", block_on(ready_children(n)));
    println!("checksum_blocking = {}", checksum_blocking((1..n + 7).collect()));
    println!("wraps_doubled = {:?}", block_on(wraps_doubled(n)));
    // Dropped while the other crate's child is suspended: its spliced drop code runs.
    let mut fut = Box::pin(wraps_doubled(n));
    let pending = fut.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending();
    drop(fut);
    println!("wraps_doubled dropped while pending: {pending}");
}
