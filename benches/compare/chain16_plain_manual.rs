// Benchmark baseline: chain16_plain.rs's work (chain16.rs without inline attributes) as one
// hand-written future, without inline attributes either: Pending once (waking
// the waker), then Ready with input + 1 + 2 + ... + 16, the value the 16-level async chain
// computes. Polled through `Pin<&mut dyn Future<Output = u64>>` like chain16.rs; same output.
//
// Usage: chain16_manual [N] [SALT]   N runs (default 10000); SALT is xored into each run's
// input (default 0). Prints N, a wrapping checksum of the results, and the polls.
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

/// The whole chain flattened: the leaf's one suspension, then the 16 levels' additions.
struct Chain16 {
    leaf: Leaf,
}

fn chain16(x: u64) -> Chain16 {
    Chain16 { leaf: Leaf::new(x) }
}

impl Future for Chain16 {
    type Output = u64;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        match Pin::new(&mut self.get_mut().leaf).poll(cx) {
            Poll::Ready(v) => Poll::Ready(
                v + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12 + 13 + 14 + 15 + 16,
            ),
            Poll::Pending => Poll::Pending,
        }
    }
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
        let f = std::pin::pin!(chain16(i ^ salt));
        let f: Pin<&mut dyn Future<Output = u64>> = f;
        let v = run_dyn(f, &mut polls);
        checksum = checksum.wrapping_mul(0x100000001b3).wrapping_add(v);
    }
    println!("chain16 n={n} checksum={checksum:#018x} polls={polls}");
}
