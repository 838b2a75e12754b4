// A panic inside a child future that corolift splices into its caller (`inline_child`:
// `child` is awaited once, by `parent`), caught by nobody. With `-g` and RUST_BACKTRACE=1
// the backtrace must show the child's frame, then the caller's, at these lines (the
// `backtrace` suite reads the FRAME markers, innermost first).
//@ spliced-by: inline_child
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

async fn child(x: u32) -> u32 {
    if x == 7 {
        panic!("child panicked at seven"); // FRAME 1: spliced_panic::child::{closure#0}
    }
    x + 1
}

async fn parent(x: u32) -> u32 {
    let doubled = child(x).await * 2; // FRAME 2: spliced_panic::parent::{closure#0}
    doubled + 1
}

fn main() {
    // 7 when run without arguments: not a constant the compiler could fold.
    let x = std::env::args().count() as u32 + 6;
    let mut future = pin!(parent(x));
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) { // FRAME 3: spliced_panic::main
        Poll::Ready(v) => println!("ready {v}"),
        Poll::Pending => println!("pending"),
    }
}
