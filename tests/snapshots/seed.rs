// The seed programs of the state-lowering issue: foo (no await), bar (awaits foo),
// send_response (one suspension) and dispatch (the same child type in two match arms).
// Inputs come from the command line so that nothing folds away. Also the demo program.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Pending once, then Ready.
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

#[inline(never)]
async fn foo(blah: bool) -> i32 {
    if blah { 7 } else { 3 }
}

#[inline(never)]
async fn bar(input: u32) -> i32 {
    let blah = input > 10;
    foo(blah).await * 2
}

#[inline(never)]
async fn send_response(x: u32) -> u32 {
    YieldOnce(false).await;
    x + 1
}

#[inline(never)]
async fn dispatch(c: u8) -> u32 {
    match c {
        0 => send_response(123).await,
        _ => send_response(456).await,
    }
}

#[inline(never)]
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
    let n = std::env::args().count() as u32 - 1;
    println!("bar({n}) = {}", block_on(bar(n)));
    println!("bar({}) = {}", n + 11, block_on(bar(n + 11)));
    println!("dispatch({n}) = {}", block_on(dispatch(n as u8)));
    println!("dispatch({}) = {}", n + 1, block_on(dispatch(n as u8 + 1)));
    println!("size_of bar future: {}", std::mem::size_of_val(&bar(n)));
    println!("size_of dispatch future: {}", std::mem::size_of_val(&dispatch(0)));
}
