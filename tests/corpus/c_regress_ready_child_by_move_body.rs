// Regression: ready_child proves "every poll of the child returns Ready" from
// `optimized_mir(child)`, with `child` the DefId of the coroutine type. But an async
// closure called through `AsyncFnOnce` returns a coroutine whose kind differs from the
// closure's own, and `<_ as Future>::poll` on it resolves to a different body,
// `coroutine_by_move_body_def_id(child)` (rustc_middle/src/ty/instance.rs). Below, the
// by-ref body captures `&String` (Copy), so await_free lowered it and every return is
// Ready; the by-move body owns the String, await_free declined, and returned_arm made its
// Returned arm return Pending. The parent polls the finished future again by hand: the
// body that runs says Pending, but ready_child had cut the Pending branch, so the parent
// reads a `Poll::Ready(String)` out of a `Poll::Pending`. Without debug-assertions
// corolift's -O3 build segfaulted after `first poll: Ready("value7")`, its -O0 build
// aborted with `free(): invalid pointer`, and with only
// `corolift=returned_arm,ready_child,await_free` it printed `second poll: Ready("")` (valgrind:
// uninitialised reads). The reference's second poll panics, which prints
// `second poll: no value`; a fixed corolift returns Pending, which prints the same.
#[path = "support/executor.rs"]
mod executor;
use executor::*;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

fn call_once<F: AsyncFnOnce() -> String>(f: F) -> impl Future<Output = String> {
    f()
}

async fn parent(n: u32) {
    let s = format!("value{n}");
    let c = async move || s.clone();
    let mut fut = pin!(call_once(c));
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(v) => println!("first poll: Ready({v:?})"),
        Poll::Pending => println!("first poll: Pending"),
    }
    // Polling a finished future is the caller's mistake, but safe code: it may panic or
    // return Pending, never hand out a value.
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(v) => println!("second poll: Ready({v:?})"),
        Poll::Pending => println!("second poll: no value"),
    }
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    if catch_unwind(AssertUnwindSafe(|| block_on(parent(opaque(7))))).is_err() {
        println!("second poll: no value");
    }
}
