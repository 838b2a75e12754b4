// Hand-written Select2: returns whichever child finishes first and drops the loser
// at once (its locals print their drops); biased vs alternating poll order.
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

struct Select2<A, B> {
    a: Option<Pin<Box<A>>>,
    b: Option<Pin<Box<B>>>,
    alternate: bool,
    round: u32,
}

impl<A: Future, B: Future> Future for Select2<A, B> {
    type Output = Either<A::Output, B::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.round += 1;
        let a_first = !self.alternate || self.round % 2 == 1;
        for turn in 0..2 {
            if (turn == 0) == a_first {
                if let Poll::Ready(v) = self.a.as_mut().unwrap().as_mut().poll(cx) {
                    self.a = None;
                    println!("  select: left won in round {}, dropping right", self.round);
                    self.b = None;
                    return Poll::Ready(Either::Left(v));
                }
            } else if let Poll::Ready(v) = self.b.as_mut().unwrap().as_mut().poll(cx) {
                self.b = None;
                println!("  select: right won in round {}, dropping left", self.round);
                self.a = None;
                return Poll::Ready(Either::Right(v));
            }
        }
        Poll::Pending
    }
}

fn select2<A: Future, B: Future>(a: A, b: B, alternate: bool) -> Select2<A, B> {
    Select2 { a: Some(Box::pin(a)), b: Some(Box::pin(b)), alternate, round: 0 }
}

async fn racer(name: &'static str, steps: u32) -> &'static str {
    let _guard = Noisy(name);
    let scratch = vec![steps; 3];
    for _ in 0..steps {
        yield_now().await;
    }
    println!("  {name} reached the end with {}", scratch.len());
    name
}

fn show(e: Either<&str, &str>) -> String {
    match e {
        Either::Left(s) => format!("Left({s})"),
        Either::Right(s) => format!("Right({s})"),
    }
}

fn main() {
    let n = opaque(2);
    let (r, polls) = block_on_counted(select2(racer("hare", n), racer("tortoise", n + 3), false));
    println!("race 1 -> {} polls {polls}", show(r));

    let (r, polls) = block_on_counted(select2(racer("slowpoke", n + 4), racer("speedy", n - 1), false));
    println!("race 2 -> {} polls {polls}", show(r));

    // A tie: biased select prefers left; alternating select picks by round parity.
    for (alt, label) in [(false, "biased"), (true, "alternating")] {
        for k in 0..2 {
            let (r, polls) = block_on_counted(select2(racer("tie-l", n + k), racer("tie-r", n + k), alt));
            println!("{label} tie steps {} -> {} polls {polls}", n + k, show(r));
        }
    }

    // The loser is itself a select whose children must be dropped too.
    let inner = select2(racer("inner-a", 9), racer("inner-b", 8), false);
    let (r, _) = block_on_counted(select2(async {
        let v = inner.await;
        match v { Either::Left(_) => 0, Either::Right(_) => 1 }
    }, async { yield_now().await; 42 }, false));
    match r {
        Either::Left(x) => println!("nested -> left {x}"),
        Either::Right(x) => println!("nested -> right {x}"),
    }
}
