// `async gen` blocks driven by hand through AsyncIterator::poll_next: awaits between
// yields, values held across both, and dropping a stream mid-way.
#![feature(gen_blocks, async_iterator)]
#[path = "support/executor.rs"]
mod executor;
use executor::*;

use std::async_iter::AsyncIterator;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future resolving to the next item of a pinned async iterator.
struct Next<'a, S: ?Sized>(Pin<&'a mut S>);

impl<S: AsyncIterator + ?Sized> Future for Next<'_, S> {
    type Output = Option<S::Item>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll_next(cx)
    }
}

fn ticker(n: u32) -> impl AsyncIterator<Item = u32> {
    async gen move {
        let _g = Noisy("ticker");
        let label = String::from("tick");
        for i in 0..n {
            YieldTimes(i % 3).await;
            yield i * 10 + label.len() as u32;
        }
    }
}

fn pairs(base: u32) -> impl AsyncIterator<Item = (u32, String)> {
    async gen move {
        let mut history: Vec<u32> = Vec::new();
        for k in 1..=3 {
            yield_now().await;
            history.push(base * k);
            yield (k, format!("{history:?}"));
        }
    }
}

async fn sum_stream<S: AsyncIterator<Item = u32>>(s: S) -> (u32, u32) {
    let mut s = std::pin::pin!(s);
    let (mut sum, mut count) = (0, 0);
    while let Some(v) = Next(s.as_mut()).await {
        sum += v;
        count += 1;
    }
    (sum, count)
}

fn main() {
    let n = opaque(5);
    let ((sum, count), polls) = block_on_counted(sum_stream(ticker(n)));
    println!("ticker sum {sum} count {count} polls {polls}");

    // Poll by hand and record each poll_next result.
    let mut p = Box::pin(pairs(n));
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let mut events = Vec::new();
    loop {
        match p.as_mut().poll_next(&mut cx) {
            Poll::Pending => events.push("pending".to_string()),
            Poll::Ready(Some((k, h))) => events.push(format!("item {k} {h}")),
            Poll::Ready(None) => {
                events.push("end".into());
                break;
            }
        }
    }
    for e in &events {
        println!("  {e}");
    }

    // Take two items, then drop the stream while it is suspended.
    let mut t = Box::pin(ticker(n));
    let first = block_on(Next(t.as_mut()));
    let second = block_on(Next(t.as_mut()));
    println!("first two: {first:?} {second:?}");
    drop(t);
    println!("end");
}
