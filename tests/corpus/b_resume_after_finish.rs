// Polling an async fn/block again after it returned or after it panicked must panic;
// observed with catch_unwind, including drops of locals during the unwinding poll.
//@ compile-flags: -Cdebug-assertions=on
// (Re-polling a finished or panicked future panics only with debug-assertions on: without
// them corolift returns Pending there, see crates/lowering/src/passes/returned_arm.rs.)
#[path = "support/executor.rs"]
mod executor;
use executor::*;

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::Poll;

async fn finishes(x: u32) -> u32 {
    let _g = Noisy("finishes-local");
    yield_now().await;
    x * 2
}

async fn explodes(x: u32) -> u32 {
    let _g = Noisy("explodes-local");
    yield_now().await;
    if x > 1 {
        panic!("explodes with {x}");
    }
    x
}

fn describe<F: Future + ?Sized>(label: &str, fut: Pin<&mut F>)
where
    F::Output: std::fmt::Debug,
{
    match catch_unwind(AssertUnwindSafe(|| poll_once(fut))) {
        Ok(Poll::Ready(v)) => println!("{label}: Ready({v:?})"),
        Ok(Poll::Pending) => println!("{label}: Pending"),
        Err(_) => println!("{label}: panicked"),
    }
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    let x = opaque(3);

    let mut f = Box::pin(finishes(x));
    describe("finishes poll 1", f.as_mut());
    describe("finishes poll 2", f.as_mut());
    describe("finishes poll 3 (after completion)", f.as_mut());
    drop(f);

    let mut e = Box::pin(explodes(x));
    describe("explodes poll 1", e.as_mut());
    describe("explodes poll 2", e.as_mut());
    describe("explodes poll 3 (after panic)", e.as_mut());
    drop(e);

    let mut b = Box::pin(async move {
        let v = vec![x; 2];
        v.len()
    });
    describe("block poll 1", b.as_mut());
    describe("block poll 2 (after completion)", b.as_mut());
    let _ = std::panic::take_hook();
    println!("end");
}
