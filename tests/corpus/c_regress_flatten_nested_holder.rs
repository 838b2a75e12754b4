// A miscompile found while generalising flatten_child: `grand` flattens `parent` (which
// had spliced `first`, `second` and `third` but flattened none: each would have grown
// it), then flattens `second` inside `grand`, whose state for it is one of `parent`'s.
// The switch on that state in `parent`'s spliced drop code was not told about the new
// states of `second`, so dropping `grand` while `second` was suspended skipped
// `second`'s Drop values ("drop second" missing). Every switch on the tag that has an arm
// for the holder state now gets the child's states too. Cancellation at every poll count,
// a panic in the flattened grandchild, under every configuration.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

use std::panic::{AssertUnwindSafe, catch_unwind};

async fn first(x: u32) -> u32 {
    let _n = Noisy("first");
    yield_now().await;
    yield_now().await;
    x + 1
}

async fn second(x: u32) -> u32 {
    let _n = Noisy("second");
    yield_now().await;
    if x == opaque(99) {
        panic!("second panics");
    }
    x * 3
}

async fn third(s: String) -> usize {
    yield_now().await;
    s.len()
}

async fn parent(x: u32) -> u32 {
    let a = first(x).await;
    let b = second(a).await;
    let c = third(format!("{b}")).await as u32;
    a + b + c
}

async fn grand(x: u32) -> u32 {
    parent(x).await * 2
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    for k in 0..9 {
        let mut fut = std::pin::pin!(grand(opaque(5)));
        match poll_n(fut.as_mut(), k) {
            Some(v) => println!("grand finished after {k} polls: {v}"),
            None => println!("grand cancelled after {k} polls"),
        }
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| block_on(grand(opaque(98)))));
    match outcome {
        Ok(v) => println!("grand(98) = {v}"),
        Err(payload) => println!("grand(98) panicked: {}", panic_message(payload)),
    }
}
