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
