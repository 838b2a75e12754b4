// Regression: await_free removes the dispatch of a future that never suspends when every
// upvar is Copy, so that polling it again runs the body again. Its argument, "a move out
// of a Copy upvar is a copy that leaves it intact, so running the body twice cannot move
// or drop anything twice", holds for safe code only. A raw pointer is Copy, and unsafe
// code in the body may transfer ownership through it, relying on the body running at
// most once, which rustc guarantees (a second poll of a finished future panics, whatever
// the debug-assertions). `consume_later` below is a sound safe API under that guarantee;
// after await_free a second poll (safe code, the caller's mistake, but never UB) ran
// `Box::from_raw` on the freed Box again. Without debug-assertions corolift printed
// `first poll: Ready(6)` and then segfaulted (valgrind: invalid read of a block freed by
// the first poll). The reference's second poll panics, which prints
// `second poll: no value`; returning Pending (returned_arm's behaviour) prints the same.
#[path = "support/executor.rs"]
mod executor;
use executor::*;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::Poll;

/// Takes the Box back exactly once: sound as long as the async block's body runs once.
fn consume_later(s: String) -> impl Future<Output = usize> {
    let raw: *mut String = Box::into_raw(Box::new(s));
    async move {
        let s = unsafe { Box::from_raw(raw) };
        s.len()
    }
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    let mut fut = pin!(consume_later(format!("hello{}", opaque(7))));
    match poll_once(fut.as_mut()) {
        Poll::Ready(n) => println!("first poll: Ready({n})"),
        Poll::Pending => println!("first poll: Pending"),
    }
    match catch_unwind(AssertUnwindSafe(|| poll_once(fut.as_mut()))) {
        Ok(Poll::Ready(n)) => println!("second poll: Ready({n})"),
        Ok(Poll::Pending) | Err(_) => println!("second poll: no value"),
    }
}
