// One coroutine per interesting case of the state passes, applied or declined.
// The blessed files under tests/snapshots/passes/ show what each pass did and why.
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

// await_free applies: no await, Copy upvars.
async fn copy_args(a: u32, b: &str) -> usize {
    a as usize + b.len()
}

// await_free declines: the String upvar is not Copy.
async fn owns_string(s: String) -> usize {
    s.len()
}

// ready_child + dead_states + await_free: both awaits are of await-free children.
async fn two_ready_children(x: u32) -> usize {
    let a = copy_args(x, "ab").await;
    let b = copy_args(x + 1, "abc").await;
    a + b
}

// ready_child declines for owns_string's await? No: owns_string has no await either, so
// its every return is Ready even with its dispatch kept; the String is moved in once.
async fn ready_non_copy_child(s: String) -> usize {
    owns_string(s).await + 1
}

async fn step(x: u32) -> u32 {
    YieldOnce(false).await;
    x + 1
}

// merge_states: three arms, same child, a Loud local live across every await.
async fn three_arms(c: u8) -> u32 {
    let _guard = Loud("three_arms guard");
    match c {
        0 => step(1).await,
        1 => step(2).await,
        _ => step(3).await,
    }
}

// merge_states declines: the arms continue differently (one adds 1 after the await).
async fn different_continuations(c: u8) -> u32 {
    match c {
        0 => step(1).await,
        _ => step(2).await + 1,
    }
}

// merge_states: each arm binds values that are in scope at its await but not used after
// it; the comparison leaves out those bindings' storage markers, the redirected first
// poll ends their storage.
async fn arm_bindings(c: u8) -> u32 {
    match c {
        0 => {
            let page = c as u32 * 64;
            step(page).await
        }
        _ => {
            let (lo, hi) = (c as u32, c as u32 + 1);
            step(lo | hi << 8).await
        }
    }
}

// dead_states keeps the real suspension and drops the ready child's state, while a
// Loud value lives across both.
async fn ready_then_pending(x: u32) -> usize {
    let guard = Loud("ready_then_pending guard");
    let a = copy_args(x, "a").await;
    let b = step(x).await as usize;
    drop(guard);
    a + b
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
    println!("{}", block_on(two_ready_children(n)));
    println!("{}", block_on(ready_non_copy_child(format!("n={n}"))));
    println!("{}", block_on(three_arms(n as u8)));
    println!("{}", block_on(different_continuations(n as u8)));
    println!("{}", block_on(arm_bindings(n as u8)));
    println!("{}", block_on(ready_then_pending(n)));
}
