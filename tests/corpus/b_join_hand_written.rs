// Hand-written Join2 and JoinAll combinators polling async children until all are done;
// the interleaving is printed as events.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

enum Slot<F: Future> {
    Running(Pin<Box<F>>),
    Done(Option<F::Output>),
}

impl<F: Future> Slot<F> {
    fn poll_slot(&mut self, cx: &mut Context<'_>) -> bool {
        match self {
            Slot::Running(f) => match f.as_mut().poll(cx) {
                Poll::Ready(v) => {
                    *self = Slot::Done(Some(v));
                    true
                }
                Poll::Pending => false,
            },
            Slot::Done(_) => true,
        }
    }
    fn take(&mut self) -> F::Output {
        match self {
            Slot::Done(v) => v.take().expect("taken twice"),
            Slot::Running(_) => panic!("not done"),
        }
    }
}

struct Join2<A: Future, B: Future>(Slot<A>, Slot<B>);

impl<A: Future, B: Future> Future for Join2<A, B> {
    type Output = (A::Output, B::Output);
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = unsafe { self.get_unchecked_mut() };
        let a = this.0.poll_slot(cx);
        let b = this.1.poll_slot(cx);
        if a && b { Poll::Ready((this.0.take(), this.1.take())) } else { Poll::Pending }
    }
}

fn join2<A: Future, B: Future>(a: A, b: B) -> Join2<A, B> {
    Join2(Slot::Running(Box::pin(a)), Slot::Running(Box::pin(b)))
}

struct JoinAll<F: Future>(Vec<Slot<F>>);

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = unsafe { self.get_unchecked_mut() };
        let mut all = true;
        for s in this.0.iter_mut() {
            all &= s.poll_slot(cx);
        }
        if all { Poll::Ready(this.0.iter_mut().map(|s| s.take()).collect()) } else { Poll::Pending }
    }
}

async fn worker(name: &'static str, steps: u32) -> String {
    let _n = Noisy(name);
    for i in 0..steps {
        println!("  {name} step {i}");
        yield_now().await;
    }
    println!("  {name} finished");
    format!("{name}:{steps}")
}

fn main() {
    let n = opaque(1);
    let ((a, b), polls) = block_on_counted(join2(worker("fast", n), worker("slow", n + 2)));
    println!("join2 -> {a} {b} polls {polls}");

    let names = ["w0", "w1", "w2", "w3"];
    let all = JoinAll(
        names.iter().enumerate()
            .map(|(i, nm)| Slot::Running(Box::pin(worker(nm, (i as u32 * 2 + n) % 4))))
            .collect(),
    );
    let (v, polls) = block_on_counted(all);
    println!("join_all -> {v:?} polls {polls}");

    // Nested joins inside an async fn.
    let (((x, y), z), polls) = block_on_counted(async {
        let inner = join2(worker("in-a", 1), async { yield_now().await; n * 7 });
        join2(inner, worker("in-c", 2)).await
    });
    println!("nested -> {x} {y} {z} polls {polls}");

    // Dropping a partially finished join drops the finished output and the running child.
    let mut j = Box::pin(join2(async { Noisy("ready-output") }, worker("stuck", 10)));
    println!("partial join: {}", poll_n(j.as_mut(), 2).is_some());
    drop(j);
    println!("end");
}
