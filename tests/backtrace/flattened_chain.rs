// A three-deep chain of single-use async fns, each spliced into its caller and flattened
// into one state machine (`inline_child`, `flatten_child`). The innermost suspends once
// and panics when polled again, so the panic runs in code reached through the flattened
// dispatch. The backtrace must still show every level at these lines (the `backtrace`
// suite reads the FRAME markers, innermost first).
//@ spliced-by: inline_child flatten_child
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

async fn leaf(x: u32) -> u32 {
    YieldOnce(false).await;
    if x % 7 == 0 {
        panic!("leaf panicked on its second poll"); // FRAME 1: flattened_chain::leaf::{closure#0}
    }
    x + 1
}

async fn middle(x: u32) -> u32 {
    leaf(x + 1).await + 2 // FRAME 2: flattened_chain::middle::{closure#0}
}

async fn top(x: u32) -> u32 {
    middle(x * 2).await * 3 // FRAME 3: flattened_chain::top::{closure#0}
}

fn main() {
    // 3 when run without arguments: middle passes 7 to leaf.
    let x = std::env::args().count() as u32 + 2;
    let mut future = pin!(top(x));
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        match future.as_mut().poll(&mut cx) { // FRAME 4: flattened_chain::main
            Poll::Ready(v) => {
                println!("ready {v}");
                break;
            }
            Poll::Pending => println!("pending"),
        }
    }
}
