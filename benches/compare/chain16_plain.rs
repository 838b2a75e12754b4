// Benchmark: chain16.rs without any inline attribute (on the async fns nor on the
// executor), so that neither backend is told what not to inline. A chain of 16 nested
// async fns, each awaiting the next exactly once, over a
// leaf future that is Pending once then Ready. Measures the cost of resuming a deep await
// chain (each poll walks all 16 levels) and of the nested future layout, driven through
// `Pin<&mut dyn Future<Output = u64>>`. chain16_plain_manual.rs (a copy of chain16_manual.rs
// without its inline attribute) is the one-future baseline.
//
// Usage: chain16_plain [N] [SALT]   N runs of the chain (default 10000); SALT is xored into each
// run's input (default 0). Prints N, a wrapping checksum of the results, and the polls.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// The leaf: Pending once (waking the waker), then Ready with its value.
struct Leaf {
    value: u64,
    yielded: bool,
}

impl Leaf {
    fn new(value: u64) -> Self {
        Leaf {
            value,
            yielded: false,
        }
    }
}

impl Future for Leaf {
    type Output = u64;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        if self.yielded {
            Poll::Ready(self.value)
        } else {
            self.yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

async fn l1(x: u64) -> u64 {
    Leaf::new(x).await + 1
}

async fn l2(x: u64) -> u64 {
    l1(x).await + 2
}

async fn l3(x: u64) -> u64 {
    l2(x).await + 3
}

async fn l4(x: u64) -> u64 {
    l3(x).await + 4
}

async fn l5(x: u64) -> u64 {
    l4(x).await + 5
}

async fn l6(x: u64) -> u64 {
    l5(x).await + 6
}

async fn l7(x: u64) -> u64 {
    l6(x).await + 7
}

async fn l8(x: u64) -> u64 {
    l7(x).await + 8
}

async fn l9(x: u64) -> u64 {
    l8(x).await + 9
}

async fn l10(x: u64) -> u64 {
    l9(x).await + 10
}

async fn l11(x: u64) -> u64 {
    l10(x).await + 11
}

async fn l12(x: u64) -> u64 {
    l11(x).await + 12
}

async fn l13(x: u64) -> u64 {
    l12(x).await + 13
}

async fn l14(x: u64) -> u64 {
    l13(x).await + 14
}

async fn l15(x: u64) -> u64 {
    l14(x).await + 15
}

async fn l16(x: u64) -> u64 {
    l15(x).await + 16
}

/// Polls one chain to completion through a trait object (no monomorphised executor).
fn run_dyn(mut fut: Pin<&mut dyn Future<Output = u64>>, polls: &mut u64) -> u64 {
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
    let n: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10000);
    let salt: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (n, salt) = std::hint::black_box((n, salt));
    let mut checksum: u64 = 0;
    let mut polls: u64 = 0;
    for i in 0..n {
        let f = std::pin::pin!(l16(i ^ salt));
        let f: Pin<&mut dyn Future<Output = u64>> = f;
        let v = run_dyn(f, &mut polls);
        checksum = checksum.wrapping_mul(0x100000001b3).wrapping_add(v);
    }
    println!("chain16 n={n} checksum={checksum:#018x} polls={polls}");
}
