// flatten_child (corolift=all): spliced children's states become the parent's variants.
// A 3-deep chain, a child with a Drop local live across its await (its drop code is
// spliced into the parent's drop glue), a child with by-reference upvars, and a parent
// that holds other locals across the awaits (they would stay in the prefix, before the
// child's states' fields; `holds_more` declines, because its future would grow from 56 to
// 80 bytes, and no knob lets a flattening grow a future).
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

struct Loud(&'static str);

impl Drop for Loud {
    fn drop(&mut self) {
        println!("drop {}", self.0);
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

async fn guarded(x: u32) -> u32 {
    let _guard = Loud("guarded");
    YieldOnce(false).await;
    x
}

// The child's Drop local is live across its await: dropping the parent mid-flight runs
// the child's drop code, spliced into the parent's drop glue.
async fn wraps_guarded(x: u32) -> u32 {
    guarded(x).await + 1
}

async fn by_ref(v: &Vec<u32>) -> usize {
    YieldOnce(false).await;
    v.len()
}

async fn holds_more(x: u32) -> u32 {
    let keep = Loud("holds_more");
    let a = guarded(x).await;
    drop(keep);
    let v = vec![a; 3];
    a + by_ref(&v).await as u32
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

fn poll_n<F: Future>(fut: F, n: usize) {
    let mut fut = Box::pin(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..n {
        if fut.as_mut().poll(&mut cx).is_ready() {
            println!("ready early");
            return;
        }
    }
    println!("dropping after {n} polls");
}

fn main() {
    let n = std::env::args().count() as u32;
    println!("{}", block_on(top(n)));
    println!("{}", block_on(holds_more(n)));
    poll_n(holds_more(n), 1);
    poll_n(top(n), 1);
    println!("{}", block_on(wraps_guarded(n)));
    poll_n(wraps_guarded(n), 1);
}
