// inline_child's cases (corolift=all splices them all; the default only the single-use ones):
// a child awaited in a loop, a child dropped mid-flight (cancellation inside spliced code),
// a panic inside a spliced child caught by the caller, and generic children; each with
// values whose Drop prints, so that the drop order is compared too.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

use std::panic::{AssertUnwindSafe, catch_unwind};

async fn leaf(tag: &'static str, n: u32) -> u32 {
    let _guard = Noisy(tag);
    for _ in 0..n {
        yield_now().await;
    }
    n * 10
}

async fn middle(n: u32) -> u32 {
    let _m = Noisy("middle");
    leaf("leaf-in-middle", n).await + 1
}

async fn looped(rounds: u32) -> u32 {
    let mut sum = 0;
    for i in 0..rounds {
        sum += leaf("leaf-in-loop", i % 3).await;
    }
    sum
}

async fn generic<T: Copy + std::fmt::Debug>(value: T, n: u32) -> String {
    for _ in 0..n {
        yield_now().await;
    }
    format!("{value:?}")
}

async fn generic_parent(n: u32) -> String {
    let a = generic(n, 1).await;
    let b = generic('x', 2).await;
    let c = generic((n, true), 0).await;
    format!("{a} {b} {c}")
}

async fn may_panic(n: u32) -> u32 {
    let _g = Noisy("may_panic-local");
    yield_now().await;
    if n == opaque(3) {
        panic!("child panics at {n}");
    }
    n
}

async fn panicking_parent(n: u32) -> u32 {
    let _p = Noisy("panicking_parent-local");
    middle(1).await + may_panic(n).await
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    let (v, polls) = block_on_counted(looped(opaque(5)));
    println!("looped = {v} after {polls} polls");
    let (v, polls) = block_on_counted(generic_parent(opaque(7)));
    println!("generic_parent = {v} after {polls} polls");
    for k in 0..5 {
        let mut fut = std::pin::pin!(middle(opaque(3)));
        match poll_n(fut.as_mut(), k) {
            Some(v) => println!("middle finished after {k} polls: {v}"),
            None => println!("middle cancelled after {k} polls"),
        }
    }
    for n in [2, 3] {
        let outcome = catch_unwind(AssertUnwindSafe(|| block_on(panicking_parent(opaque(n)))));
        match outcome {
            Ok(v) => println!("panicking_parent({n}) = {v}"),
            Err(payload) => println!("panicking_parent({n}) panicked: {}", panic_message(payload)),
        }
    }
}
