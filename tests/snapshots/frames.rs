// Resume frames at their live size (the default at -O0 and -O3): the `.frame` files show
// share_stack_slots and construct_in_place. A 3-deep chain whose levels each hold a
// 256-byte array across their await (spliced and flattened at -O3: the levels' locals
// share slots, and each child is built in its parent's field), two arrays whose lives do
// not overlap (one slot for both), and a future built by an async fn call straight into
// the awaiting state (no call, no temporary).
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

fn fill(seed: u8) -> [u8; 256] {
    let mut buf = [0u8; 256];
    for (i, b) in buf.iter_mut().enumerate() {
        *b = seed.wrapping_add(i as u8);
    }
    buf
}

async fn leaf(seed: u8) -> u32 {
    let buf = fill(seed);
    YieldOnce(false).await;
    buf.iter().map(|&b| b as u32).sum()
}

async fn middle(seed: u8) -> u32 {
    let buf = fill(seed ^ 1);
    let inner = leaf(seed).await;
    inner + buf[3] as u32
}

async fn top(seed: u8) -> u32 {
    let buf = fill(seed ^ 2);
    let inner = middle(seed).await;
    inner + buf[5] as u32
}

async fn two_in_turn(seed: u8) -> u32 {
    let first = {
        let a = fill(seed);
        YieldOnce(false).await;
        a[1] as u32
    };
    let second = {
        let b = fill(seed ^ 7);
        YieldOnce(false).await;
        b[2] as u32
    };
    first + second
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
    println!("{}", block_on(top(std::hint::black_box(3))));
    println!("{}", block_on(two_in_turn(std::hint::black_box(4))));
}
