//! Async code another crate awaits: generic (codegened downstream from metadata MIR)
//! and non-generic (codegened here).
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pub struct YieldOnce(bool);

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

pub fn yield_once() -> YieldOnce {
    YieldOnce(false)
}

pub async fn doubled(x: u32) -> u32 {
    yield_once().await;
    x * 2
}

pub async fn describe<T: std::fmt::Debug>(value: T, times: u32) -> String {
    let mut out = String::new();
    for i in 0..times {
        yield_once().await;
        out.push_str(&format!("{i}:{value:?} "));
    }
    out
}

/// Large enough not to be inlined across crates: codegened in this crate.
pub async fn checksum(data: Vec<u32>) -> u32 {
    let mut sum = 0u32;
    for (i, x) in data.iter().enumerate() {
        if i % 2 == 0 {
            yield_once().await;
        }
        sum = sum.wrapping_mul(31).wrapping_add(*x);
    }
    sum
}

/// Polls `checksum` here, so its resume function is codegened in this crate.
#[inline(never)]
pub fn checksum_blocking(data: Vec<u32>) -> u32 {
    let mut fut = std::pin::pin!(checksum(data));
    let mut cx = Context::from_waker(std::task::Waker::noop());
    loop {
        if let Poll::Ready(sum) = fut.as_mut().poll(&mut cx) {
            return sum;
        }
    }
}

/// Never suspends, Copy arguments: `await_free` lowers it here, and an awaiting parent in
/// another crate proves from this crate's metadata MIR that its first poll is Ready.
pub async fn scaled(x: u32, k: u32) -> u32 {
    x.wrapping_mul(k) + 1
}

/// Generic and never suspends: the same proof on a body codegened downstream.
pub async fn tagged<T: Copy + std::fmt::Debug>(value: T) -> String {
    format!("<{value:?}>")
}
