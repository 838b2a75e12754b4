//! Async fns whose lowering differs between corolift's passes: a chain (spliced and
//! flattened at -O1 and up), an await in two match arms (merged states), and an
//! await-free child.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Pending once, then Ready.
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

async fn leaf(x: u64) -> u64 {
    yield_once().await;
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

async fn middle(x: u64) -> u64 {
    leaf(x).await ^ 0x55
}

async fn double(x: u64) -> u64 {
    x.wrapping_mul(2)
}

pub async fn top(x: u64) -> u64 {
    let a = middle(x).await;
    let b = match x % 3 {
        0 => middle(a).await,
        1 => middle(a.wrapping_add(1)).await,
        _ => double(a).await,
    };
    a.rotate_left(7) ^ b
}
