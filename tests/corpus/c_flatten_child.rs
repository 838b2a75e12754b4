// flatten_child's cases, for the corolift=all builds (the pass is not a default): parents
// whose await state holds nothing but the child, so that the child's states become the
// parent's. A chain whose leaf keeps a printing guard across its awaits, cancellation at
// every poll count (the child's drop code runs from the parent's drop glue), a panic in a
// flattened child caught by the caller, a child with two different suspend states, a
// generic child, and a child that borrows its argument.
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

async fn level1(n: u32) -> u32 {
    leaf("leaf", n).await + 1
}

async fn level2(n: u32) -> u32 {
    level1(n).await * 2
}

async fn level3(n: u32) -> u32 {
    level2(n).await + 3
}

async fn two_states(n: u32) -> u32 {
    let first = Noisy("two_states-first");
    yield_now().await;
    drop(first);
    let _second = Noisy("two_states-second");
    YieldTimes(n).await;
    n + 100
}

async fn wraps_two_states(n: u32) -> u32 {
    two_states(n).await - 1
}

async fn panicky(n: u32) -> u32 {
    let _g = Noisy("panicky-local");
    yield_now().await;
    if n == opaque(3) {
        panic!("flattened child panics at {n}");
    }
    n
}

async fn wraps_panicky(n: u32) -> u32 {
    panicky(n).await + 1
}

async fn generic<T: Copy + std::fmt::Debug>(value: T, n: u32) -> String {
    for _ in 0..n {
        yield_now().await;
    }
    format!("{value:?}")
}

async fn wraps_generic<T: Copy + std::fmt::Debug>(value: T) -> String {
    generic(value, 2).await
}

async fn borrows(v: &[u32]) -> u32 {
    yield_now().await;
    v.iter().sum()
}

async fn wraps_borrows(v: &[u32]) -> u32 {
    borrows(v).await * 2
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    let (v, polls) = block_on_counted(level3(opaque(3)));
    println!("level3 = {v} after {polls} polls");
    for k in 0..6 {
        let mut fut = std::pin::pin!(level3(opaque(3)));
        match poll_n(fut.as_mut(), k) {
            Some(v) => println!("level3 finished after {k} polls: {v}"),
            None => println!("level3 cancelled after {k} polls"),
        }
    }
    for k in 0..4 {
        let mut fut = std::pin::pin!(wraps_two_states(opaque(2)));
        match poll_n(fut.as_mut(), k) {
            Some(v) => println!("wraps_two_states finished after {k} polls: {v}"),
            None => println!("wraps_two_states cancelled after {k} polls"),
        }
    }
    for n in [2, 3] {
        let outcome = catch_unwind(AssertUnwindSafe(|| block_on(wraps_panicky(opaque(n)))));
        match outcome {
            Ok(v) => println!("wraps_panicky({n}) = {v}"),
            Err(payload) => println!("wraps_panicky({n}) panicked: {}", panic_message(payload)),
        }
    }
    println!("{}", block_on(wraps_generic(opaque(7))));
    println!("{}", block_on(wraps_generic((1u8, 'z'))));
    let data = vec![opaque(1), 2, 3];
    println!("borrows = {}", block_on(wraps_borrows(&data)));
    println!("size_of level3 future = {}", std::mem::size_of_val(&level3(0)));
}
