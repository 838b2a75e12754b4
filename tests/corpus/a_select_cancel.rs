// A hand-written select of two futures: the loser is dropped while suspended, in various states; and a join of two.
#[path = "support/executor.rs"]
mod executor;
use executor::*;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

enum Either<A, B> {
    Left(A),
    Right(B),
}

struct Select<A, B>(Pin<Box<A>>, Pin<Box<B>>);

impl<A: Future, B: Future> Future for Select<A, B> {
    type Output = Either<A::Output, B::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(a) = self.0.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(a));
        }
        if let Poll::Ready(b) = self.1.as_mut().poll(cx) {
            return Poll::Ready(Either::Right(b));
        }
        Poll::Pending
    }
}

async fn racer(name: &'static str, n: u32) -> u32 {
    let _r = Noisy(name);
    let mut acc = 0;
    for i in 0..n {
        let _step = Noisy("racer step");
        yield_now().await;
        acc += i;
    }
    acc
}

async fn race(a: u32, b: u32) -> String {
    let _g = Noisy("race guard");
    match (Select(Box::pin(racer("left racer", a)), Box::pin(racer("right racer", b)))).await {
        Either::Left(v) => format!("left won with {v}"),
        Either::Right(v) => format!("right won with {v}"),
    }
}

async fn join(a: u32, b: u32) -> (u32, u32) {
    let mut fa = Box::pin(racer("join a", a));
    let mut fb = Box::pin(racer("join b", b));
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = fa.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = fb.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    (ra.unwrap(), rb.unwrap())
}

fn main() {
    for (a, b) in [(0, 2), (2, 0), (1, 3), (3, 2)] {
        println!("-- race({a}, {b})");
        let (v, polls) = block_on_counted(race(opaque(a), opaque(b)));
        println!("{v} after {polls} polls");
    }
    println!("-- join(1, 3)");
    let (v, polls) = block_on_counted(join(opaque(1), opaque(3)));
    println!("join = {v:?} after {polls} polls");
    println!("-- join(3, 2) cancelled after 2 polls");
    let mut f = Box::pin(join(opaque(3), opaque(2)));
    println!("{:?}", poll_n(f.as_mut(), 2));
    drop(f);
    println!("done");
}
