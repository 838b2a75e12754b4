// inline_child under corolift=default: at opt-level 3 a child is spliced only when it is
// the body of a local async fn that the crate mentions once (its code then moves, it is
// not copied); at opt-level 0 nothing is spliced. One case per reason.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

struct YieldOnce(bool);

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

// Mentioned once (in `parent`): spliced, and not emitted on its own.
async fn once(x: u32) -> u32 {
    YieldOnce(false).await;
    x + 1
}

// Mentioned twice (both in `parent`): kept, so that its code is not copied.
async fn twice(x: u32) -> u32 {
    YieldOnce(false).await;
    x * 2
}

struct Counter(u32);

impl Counter {
    // An inherent method mentioned once: spliced.
    async fn bump(&mut self) -> u32 {
        YieldOnce(false).await;
        self.0 += 1;
        self.0
    }
}

trait Source {
    async fn next(&mut self) -> u32;
}

impl Source for Counter {
    // A trait method: its callers name the trait's item, so its uses cannot be counted.
    async fn next(&mut self) -> u32 {
        YieldOnce(false).await;
        self.0 += 10;
        self.0
    }
}

async fn parent(x: u32) -> u32 {
    let mut counter = Counter(x);
    let a = once(x).await;
    let b = if x > 3 { twice(a).await } else { twice(a + 1).await };
    let c = counter.bump().await;
    let d = counter.next().await;
    // An async block is not an async fn body: kept.
    let e = async { YieldOnce(false).await; a + b }.await;
    a + b + c + d + e
}

fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn main() {
    let n = std::env::args().count() as u32;
    println!("{}", block_on(parent(n)));
}
