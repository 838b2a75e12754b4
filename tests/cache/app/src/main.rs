use std::future::Future;
use std::task::{Context, Poll, Waker};

fn block_on<F: Future>(future: F) -> (F::Output, u32) {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    let mut polls = 0;
    loop {
        polls += 1;
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return (value, polls);
        }
    }
}

fn main() {
    let mut sum = 0u64;
    let mut polls = 0;
    for i in 0..100 {
        let (value, n) = block_on(corolift_cache_lib::top(i));
        sum = sum.wrapping_add(value);
        polls += n;
    }
    println!("cache workspace: sum={sum:#x} polls={polls}");
}
