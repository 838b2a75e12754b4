// Generic structs holding futures: a Map combinator, a Then chain and a Timed wrapper.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

struct Map<F, G> {
    fut: Pin<Box<F>>,
    f: Option<G>,
}

impl<F: Future, G: FnOnce(F::Output) -> T + Unpin, T> Future for Map<F, G> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.fut.as_mut().poll(cx) {
            Poll::Ready(v) => Poll::Ready((self.f.take().expect("polled after done"))(v)),
            Poll::Pending => Poll::Pending,
        }
    }
}

fn map<F: Future, G: FnOnce(F::Output) -> T, T>(fut: F, f: G) -> Map<F, G> {
    Map { fut: Box::pin(fut), f: Some(f) }
}

/// Counts the polls of the inner future and returns them with the output.
struct Timed<F> {
    inner: Pin<Box<F>>,
    polls: u32,
    label: &'static str,
}

impl<F: Future> Future for Timed<F> {
    type Output = (F::Output, u32);
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.polls += 1;
        let p = self.polls;
        println!("  [{}] poll #{p}", self.label);
        self.inner.as_mut().poll(cx).map(|v| (v, p))
    }
}

struct Holder<T, F> {
    value: T,
    fut: F,
}

impl<T: Clone, F: Future<Output = u32>> Holder<T, F> {
    async fn run(self) -> (T, u32) {
        let v = self.value.clone();
        let n = self.fut.await;
        yield_now().await;
        (v, n + 1)
    }
}

async fn produce(n: u32) -> u32 {
    YieldTimes(n).await;
    n * 10
}

fn main() {
    let n = opaque(2);
    let out = block_on(map(produce(n), |x| format!("mapped {x}")));
    println!("{out}");

    let owned = Noisy("captured-by-closure");
    let out = block_on(map(produce(n + 1), move |x| {
        let whole = &owned; // captures all of `owned`, so it drops with the closure
        println!("  closure sees {}", whole.0);
        x + 1
    }));
    println!("map with noisy closure -> {out}");

    let timed = Timed { inner: Box::pin(map(produce(n), |x| vec![x; 3])), polls: 0, label: "vec" };
    let (v, polls) = block_on(timed);
    println!("timed vec -> {v:?} in {polls}");

    let timed = Timed { inner: Box::pin(async { Noisy("timed-output") }), polls: 0, label: "noisy" };
    let (v, polls) = block_on(timed);
    println!("timed noisy -> {} in {polls}", v.0);
    drop(v);

    let h = Holder { value: String::from("hello"), fut: produce(n) };
    let ((s, k), polls) = block_on_counted(h.run());
    println!("holder string -> {s} {k} polls {polls}");
    let h = Holder { value: vec![1u8, 2], fut: map(produce(1), |x| x * 2) };
    let ((s, k), polls) = block_on_counted(h.run());
    println!("holder vec -> {s:?} {k} polls {polls}");

    // Drop a Map before completion: the closure's captured Noisy must be dropped.
    let guard = Noisy("never-run");
    let mut m = Box::pin(map(produce(opaque(5)), move |x| { let _ = &guard; x }));
    println!("partial: {:?}", poll_n(m.as_mut(), 2));
    drop(m);
    println!("end");
}
