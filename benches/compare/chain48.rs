// Benchmark: a chain of 48 nested async fns, each awaiting the next exactly once, over a
// leaf future that is Pending once then Ready. Measures the cost of resuming a deep await
// chain (each poll walks all 48 levels) and of the nested future layout, driven through
// `Pin<&mut dyn Future<Output = u64>>`. chain48_manual.rs is the one-future baseline.
// chain16.rs is the same chain 16 deep: the two show how resuming and the resume
// function's frame grow with depth.
//
// Usage: chain48 [N] [SALT]   N runs of the chain (default 10000); SALT is xored into each
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

#[inline(never)]
async fn l1(x: u64) -> u64 {
    Leaf::new(x).await + 1
}

#[inline(never)]
async fn l2(x: u64) -> u64 {
    l1(x).await + 2
}

#[inline(never)]
async fn l3(x: u64) -> u64 {
    l2(x).await + 3
}

#[inline(never)]
async fn l4(x: u64) -> u64 {
    l3(x).await + 4
}

#[inline(never)]
async fn l5(x: u64) -> u64 {
    l4(x).await + 5
}

#[inline(never)]
async fn l6(x: u64) -> u64 {
    l5(x).await + 6
}

#[inline(never)]
async fn l7(x: u64) -> u64 {
    l6(x).await + 7
}

#[inline(never)]
async fn l8(x: u64) -> u64 {
    l7(x).await + 8
}

#[inline(never)]
async fn l9(x: u64) -> u64 {
    l8(x).await + 9
}

#[inline(never)]
async fn l10(x: u64) -> u64 {
    l9(x).await + 10
}

#[inline(never)]
async fn l11(x: u64) -> u64 {
    l10(x).await + 11
}

#[inline(never)]
async fn l12(x: u64) -> u64 {
    l11(x).await + 12
}

#[inline(never)]
async fn l13(x: u64) -> u64 {
    l12(x).await + 13
}

#[inline(never)]
async fn l14(x: u64) -> u64 {
    l13(x).await + 14
}

#[inline(never)]
async fn l15(x: u64) -> u64 {
    l14(x).await + 15
}

#[inline(never)]
async fn l16(x: u64) -> u64 {
    l15(x).await + 16
}

#[inline(never)]
async fn l17(x: u64) -> u64 {
    l16(x).await + 17
}

#[inline(never)]
async fn l18(x: u64) -> u64 {
    l17(x).await + 18
}

#[inline(never)]
async fn l19(x: u64) -> u64 {
    l18(x).await + 19
}

#[inline(never)]
async fn l20(x: u64) -> u64 {
    l19(x).await + 20
}

#[inline(never)]
async fn l21(x: u64) -> u64 {
    l20(x).await + 21
}

#[inline(never)]
async fn l22(x: u64) -> u64 {
    l21(x).await + 22
}

#[inline(never)]
async fn l23(x: u64) -> u64 {
    l22(x).await + 23
}

#[inline(never)]
async fn l24(x: u64) -> u64 {
    l23(x).await + 24
}

#[inline(never)]
async fn l25(x: u64) -> u64 {
    l24(x).await + 25
}

#[inline(never)]
async fn l26(x: u64) -> u64 {
    l25(x).await + 26
}

#[inline(never)]
async fn l27(x: u64) -> u64 {
    l26(x).await + 27
}

#[inline(never)]
async fn l28(x: u64) -> u64 {
    l27(x).await + 28
}

#[inline(never)]
async fn l29(x: u64) -> u64 {
    l28(x).await + 29
}

#[inline(never)]
async fn l30(x: u64) -> u64 {
    l29(x).await + 30
}

#[inline(never)]
async fn l31(x: u64) -> u64 {
    l30(x).await + 31
}

#[inline(never)]
async fn l32(x: u64) -> u64 {
    l31(x).await + 32
}

#[inline(never)]
async fn l33(x: u64) -> u64 {
    l32(x).await + 33
}

#[inline(never)]
async fn l34(x: u64) -> u64 {
    l33(x).await + 34
}

#[inline(never)]
async fn l35(x: u64) -> u64 {
    l34(x).await + 35
}

#[inline(never)]
async fn l36(x: u64) -> u64 {
    l35(x).await + 36
}

#[inline(never)]
async fn l37(x: u64) -> u64 {
    l36(x).await + 37
}

#[inline(never)]
async fn l38(x: u64) -> u64 {
    l37(x).await + 38
}

#[inline(never)]
async fn l39(x: u64) -> u64 {
    l38(x).await + 39
}

#[inline(never)]
async fn l40(x: u64) -> u64 {
    l39(x).await + 40
}

#[inline(never)]
async fn l41(x: u64) -> u64 {
    l40(x).await + 41
}

#[inline(never)]
async fn l42(x: u64) -> u64 {
    l41(x).await + 42
}

#[inline(never)]
async fn l43(x: u64) -> u64 {
    l42(x).await + 43
}

#[inline(never)]
async fn l44(x: u64) -> u64 {
    l43(x).await + 44
}

#[inline(never)]
async fn l45(x: u64) -> u64 {
    l44(x).await + 45
}

#[inline(never)]
async fn l46(x: u64) -> u64 {
    l45(x).await + 46
}

#[inline(never)]
async fn l47(x: u64) -> u64 {
    l46(x).await + 47
}

#[inline(never)]
async fn l48(x: u64) -> u64 {
    l47(x).await + 48
}

/// Polls one chain to completion through a trait object (no monomorphised executor).
#[inline(never)]
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
        let f = std::pin::pin!(l48(i ^ salt));
        let f: Pin<&mut dyn Future<Output = u64>> = f;
        let v = run_dyn(f, &mut polls);
        checksum = checksum.wrapping_mul(0x100000001b3).wrapping_add(v);
    }
    println!("chain48 n={n} checksum={checksum:#018x} polls={polls}");
}
