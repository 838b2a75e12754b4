// inline_child (not yet a default pass): a chain of awaits spliced into one resume
// function, a generic child, a child awaited in a loop, and a child whose poll can panic.
//@ compile-flags: -Cllvm-args=corolift=all
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

async fn leaf(x: u32) -> u32 {
    YieldOnce(false).await;
    x + 1
}

async fn middle(x: u32) -> u32 {
    leaf(x).await * 2
}

async fn top(x: u32) -> u32 {
    middle(x).await + 3
}

async fn generic_child<T: Copy + Into<u64>>(value: T) -> u64 {
    YieldOnce(false).await;
    value.into()
}

async fn looped(n: u32) -> u64 {
    let mut sum = 0;
    for i in 0..n {
        sum += generic_child(i).await;
    }
    sum
}

async fn may_panic(x: u32) -> u32 {
    YieldOnce(false).await;
    if x == 7 {
        panic!("seven");
    }
    x
}

async fn catches(x: u32) -> u32 {
    may_panic(x).await + top(x).await
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
    println!("{}", block_on(top(n)));
    println!("{}", block_on(looped(n + 3)));
    println!("{}", block_on(catches(n)));
}
