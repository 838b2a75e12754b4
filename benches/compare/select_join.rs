// Benchmark: hand-written join2/join3/select2 combinators (small generic futures defined
// below) over async fns that suspend a varying number of times. Each round joins two
// `work` futures, then joins three heterogeneous futures (one of them, `pair`, is an async
// fn that itself joins two), then races two in select2 and drops the loser. Measures
// combinator-driven polling of many small coroutines, their monomorphised resume functions
// and the cost of cancelling a coroutine. select_join_manual.rs does the same work with
// hand-written futures throughout (the same combinators).
//
// Usage: select_join [N] [SALT]   N rounds (default 10000); SALT is xored into each round's
// input (default 0). Prints N, a wrapping checksum of the rounds' results, and the polls.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

// ---- combinators (identical in select_join.rs and select_join_manual.rs) ----

/// A joined future, or its output once it finished.
enum MaybeDone<F: Future> {
    Running(F),
    Done(F::Output),
    Taken,
}

impl<F: Future> MaybeDone<F> {
    /// Polls the future if it is still running; true once its output is there.
    fn poll_done(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        // SAFETY: the future is never moved out; it is dropped in place when replaced.
        let this = unsafe { self.get_unchecked_mut() };
        match this {
            MaybeDone::Running(f) => match unsafe { Pin::new_unchecked(f) }.poll(cx) {
                Poll::Ready(v) => {
                    *this = MaybeDone::Done(v);
                    true
                }
                Poll::Pending => false,
            },
            MaybeDone::Done(_) => true,
            MaybeDone::Taken => panic!("MaybeDone polled after its output was taken"),
        }
    }

    fn take(self: Pin<&mut Self>) -> F::Output {
        // SAFETY: only the output is moved, and only when no future is left.
        let this = unsafe { self.get_unchecked_mut() };
        match this {
            MaybeDone::Done(_) => match std::mem::replace(this, MaybeDone::Taken) {
                MaybeDone::Done(v) => v,
                _ => unreachable!(),
            },
            _ => panic!("MaybeDone output taken before it was done"),
        }
    }
}

/// Polls both futures on every poll until both are done.
struct Join2<A: Future, B: Future> {
    a: MaybeDone<A>,
    b: MaybeDone<B>,
}

fn join2<A: Future, B: Future>(a: A, b: B) -> Join2<A, B> {
    Join2 {
        a: MaybeDone::Running(a),
        b: MaybeDone::Running(b),
    }
}

impl<A: Future, B: Future> Future for Join2<A, B> {
    type Output = (A::Output, B::Output);
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of both fields; neither is moved.
        let this = unsafe { self.get_unchecked_mut() };
        let mut a = unsafe { Pin::new_unchecked(&mut this.a) };
        let mut b = unsafe { Pin::new_unchecked(&mut this.b) };
        let a_done = a.as_mut().poll_done(cx);
        let b_done = b.as_mut().poll_done(cx);
        if a_done && b_done {
            Poll::Ready((a.take(), b.take()))
        } else {
            Poll::Pending
        }
    }
}

/// Polls all three futures on every poll until all are done.
struct Join3<A: Future, B: Future, C: Future> {
    a: MaybeDone<A>,
    b: MaybeDone<B>,
    c: MaybeDone<C>,
}

fn join3<A: Future, B: Future, C: Future>(a: A, b: B, c: C) -> Join3<A, B, C> {
    Join3 {
        a: MaybeDone::Running(a),
        b: MaybeDone::Running(b),
        c: MaybeDone::Running(c),
    }
}

impl<A: Future, B: Future, C: Future> Future for Join3<A, B, C> {
    type Output = (A::Output, B::Output, C::Output);
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of the three fields; none is moved.
        let this = unsafe { self.get_unchecked_mut() };
        let mut a = unsafe { Pin::new_unchecked(&mut this.a) };
        let mut b = unsafe { Pin::new_unchecked(&mut this.b) };
        let mut c = unsafe { Pin::new_unchecked(&mut this.c) };
        let a_done = a.as_mut().poll_done(cx);
        let b_done = b.as_mut().poll_done(cx);
        let c_done = c.as_mut().poll_done(cx);
        if a_done && b_done && c_done {
            Poll::Ready((a.take(), b.take(), c.take()))
        } else {
            Poll::Pending
        }
    }
}

enum Either<L, R> {
    Left(L),
    Right(R),
}

/// Polls `a` then `b`; the first to finish wins, and the other is dropped with the Select2.
struct Select2<A, B> {
    a: A,
    b: B,
}

fn select2<A: Future, B: Future>(a: A, b: B) -> Select2<A, B> {
    Select2 { a, b }
}

impl<A: Future, B: Future> Future for Select2<A, B> {
    type Output = Either<A::Output, B::Output>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of both fields; neither is moved.
        let this = unsafe { self.get_unchecked_mut() };
        if let Poll::Ready(v) = unsafe { Pin::new_unchecked(&mut this.a) }.poll(cx) {
            return Poll::Ready(Either::Left(v));
        }
        if let Poll::Ready(v) = unsafe { Pin::new_unchecked(&mut this.b) }.poll(cx) {
            return Poll::Ready(Either::Right(v));
        }
        Poll::Pending
    }
}

// ---- the work ----

/// Pending once (waking the waker), then Ready.
struct YieldOnce(bool);

impl YieldOnce {
    fn new() -> Self {
        YieldOnce(false)
    }
}

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Suspends `yields` times, mixing a step into the accumulator after each.
#[inline(never)]
async fn work(id: u64, yields: u32) -> u64 {
    let mut acc = id;
    for k in 0..yields {
        YieldOnce::new().await;
        acc = acc.wrapping_mul(31).wrapping_add(k as u64);
    }
    acc
}

/// An async fn that itself joins two children.
#[inline(never)]
async fn pair(x: u64, r: u32) -> u64 {
    let (p, q) = join2(work(x, r % 2), work(x.wrapping_add(7), 2)).await;
    p ^ q.rotate_left(3)
}

#[inline(never)]
async fn round(r: u32) -> u64 {
    let x = r as u64;
    let (a, b) = join2(work(x, r % 3), work(x + 1, (r >> 1) % 4)).await;
    let (c, d, e) = join3(work(a, (r >> 2) % 3), pair(b, r), work(a ^ b, 0)).await;
    let s = match select2(work(c, r % 5), work(d, r.wrapping_add(2) % 5)).await {
        Either::Left(v) => v,
        Either::Right(v) => v ^ 0xffff,
    };
    a ^ b.rotate_left(8) ^ c.rotate_left(16) ^ d.rotate_left(24) ^ e.rotate_left(32) ^ s
}

#[inline(never)]
fn block_on<F: Future>(fut: F, polls: &mut u64) -> F::Output {
    let mut fut = std::pin::pin!(fut);
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
    let n: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10000);
    let salt: u32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(0);
    let (n, salt) = std::hint::black_box((n, salt));
    let mut checksum: u64 = 0;
    let mut polls: u64 = 0;
    for i in 0..n {
        let v = block_on(round(i ^ salt), &mut polls);
        checksum = checksum.wrapping_mul(0x100_0000_01b3).wrapping_add(v);
    }
    println!("select_join n={n} checksum={checksum:#018x} polls={polls}");
}
