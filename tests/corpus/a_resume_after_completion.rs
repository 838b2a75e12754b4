//@ compile-flags: -Cdebug-assertions=on
// Polling an async fn, an async block and an async closure's future again after they completed panics (debug assertions on).
#[path = "support/executor.rs"]
mod executor;
use executor::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

async fn twice(x: u32) -> u32 {
    let _n = Noisy("twice local");
    yield_now().await;
    x * 2
}

async fn instant(x: u32) -> u32 {
    x + 1
}

fn repoll<F: std::future::Future<Output = u32>>(name: &str, fut: F) {
    let mut f = std::pin::pin!(fut);
    let mut polls = 0;
    let v = loop {
        polls += 1;
        if let std::task::Poll::Ready(v) = poll_once(f.as_mut()) {
            break v;
        }
    };
    println!("{name}: ready {v} after {polls} polls");
    for i in 0..2 {
        let r = catch_unwind(AssertUnwindSafe(|| poll_once(f.as_mut())));
        match r {
            Ok(p) => println!("{name}: re-poll {i} returned {p:?}"),
            Err(e) => println!("{name}: re-poll {i} panicked: {}", panic_message(e)),
        }
    }
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    repoll("async fn", twice(opaque(4)));
    repoll("async fn without await", instant(opaque(4)));
    let k = opaque(9);
    repoll("async block", async move {
        let _b = Noisy("block local");
        yield_now().await;
        k + 1
    });
    let c = async |x: u32| {
        YieldTimes(2).await;
        x + 100
    };
    repoll("async closure", c(opaque(5)));
    println!("done");
}
