// Benchmark baseline: seed.rs's work (foo, bar, send_response, dispatch) written as
// hand-written `impl Future` state machines (enums) instead of async fns, to show what a
// coroutine lowering could reach. Same output as seed.rs for the same arguments.
//
// Usage: seed_manual [N] [SALT]   N iterations (default 10000); SALT is xored into bar's
// input (default 0). Prints N, a wrapping checksum of every result, and the number of polls.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Pending once (waking the waker), then Ready.
struct YieldOnce(bool);

impl YieldOnce {
    fn new() -> Self {
        YieldOnce(false)
    }
}

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

/// foo: no await, Ready on the first poll.
enum Foo {
    Start(bool),
    Done,
}

#[inline(never)]
fn foo(blah: bool) -> Foo {
    Foo::Start(blah)
}

impl Future for Foo {
    type Output = i32;
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<i32> {
        let this = self.get_mut();
        match std::mem::replace(this, Foo::Done) {
            Foo::Start(blah) => Poll::Ready(if blah { 7 } else { 3 }),
            Foo::Done => panic!("Foo polled after completion"),
        }
    }
}

/// bar: awaits foo and doubles its result.
enum Bar {
    Start(u32),
    Awaiting(Foo),
    Done,
}

#[inline(never)]
fn bar(input: u32) -> Bar {
    Bar::Start(input)
}

impl Future for Bar {
    type Output = i32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<i32> {
        let this = self.get_mut();
        loop {
            match this {
                Bar::Start(input) => {
                    let blah = *input > 10;
                    *this = Bar::Awaiting(foo(blah));
                }
                Bar::Awaiting(f) => match Pin::new(f).poll(cx) {
                    Poll::Ready(v) => {
                        *this = Bar::Done;
                        return Poll::Ready(v * 2);
                    }
                    Poll::Pending => return Poll::Pending,
                },
                Bar::Done => panic!("Bar polled after completion"),
            }
        }
    }
}

/// send_response: one suspension, then x + 1.
enum SendResponse {
    Start(u32),
    Awaiting(u32, YieldOnce),
    Done,
}

#[inline(never)]
fn send_response(x: u32) -> SendResponse {
    SendResponse::Start(x)
}

impl Future for SendResponse {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let this = self.get_mut();
        loop {
            match this {
                SendResponse::Start(x) => *this = SendResponse::Awaiting(*x, YieldOnce::new()),
                SendResponse::Awaiting(x, y) => match Pin::new(y).poll(cx) {
                    Poll::Ready(()) => {
                        let r = *x + 1;
                        *this = SendResponse::Done;
                        return Poll::Ready(r);
                    }
                    Poll::Pending => return Poll::Pending,
                },
                SendResponse::Done => panic!("SendResponse polled after completion"),
            }
        }
    }
}

/// dispatch: the same child type in both match arms, so one awaiting state suffices.
enum Dispatch {
    Start(u8),
    Awaiting(SendResponse),
    Done,
}

#[inline(never)]
fn dispatch(c: u8) -> Dispatch {
    Dispatch::Start(c)
}

impl Future for Dispatch {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let this = self.get_mut();
        loop {
            match this {
                Dispatch::Start(c) => {
                    let child = match *c {
                        0 => send_response(123),
                        _ => send_response(456),
                    };
                    *this = Dispatch::Awaiting(child);
                }
                Dispatch::Awaiting(child) => match Pin::new(child).poll(cx) {
                    Poll::Ready(v) => {
                        *this = Dispatch::Done;
                        return Poll::Ready(v);
                    }
                    Poll::Pending => return Poll::Pending,
                },
                Dispatch::Done => panic!("Dispatch polled after completion"),
            }
        }
    }
}

#[inline(never)]
fn block_on<F: Future>(fut: F, polls: &mut u64) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        *polls += 1;
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10000);
    let salt: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (n, salt) = std::hint::black_box((n, salt));
    let mut checksum: u64 = 0;
    let mut polls: u64 = 0;
    for i in 0..n {
        let b = block_on(bar(i ^ salt), &mut polls);
        checksum = checksum.wrapping_mul(31).wrapping_add(b as u32 as u64);
        let d = block_on(dispatch((i % 3) as u8), &mut polls);
        checksum = checksum.wrapping_mul(31).wrapping_add(d as u64);
    }
    println!("seed n={n} checksum={checksum:#018x} polls={polls}");
}
