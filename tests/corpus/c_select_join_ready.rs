// Hand-written join and select combinators over futures of which some are await-free
// (Ready on their first poll: await_free lowers them) and some suspend, polled in varied
// orders (forward, reverse, rotating, chosen at run time); losers of a select are dropped
// unpolled or half-done, with Noisy values inside; async parents await the combinators
// and await-free children around them. Every event, result and drop is printed.
#[path = "support/executor.rs"]
mod executor;
use executor::*;
use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Poll};

type Log = Rc<RefCell<Vec<String>>>;

fn log(l: &Log, s: String) {
    l.borrow_mut().push(s);
}

fn flush(l: &Log) {
    for e in l.borrow_mut().drain(..) {
        println!("  {e}");
    }
}

// ---- children ----

async fn instant(id: u32, v: u32) -> u32 {
    v * 2 + id
}

async fn instant_ref(x: &u32) -> u32 {
    *x + 1
}

async fn slow(l: Log, id: u32, n: u32) -> u32 {
    let _n = Noisy("slow body");
    log(&l, format!("slow {id} start"));
    for i in 0..n {
        yield_now().await;
        log(&l, format!("slow {id} step {i}"));
    }
    log(&l, format!("slow {id} done"));
    id * 100 + n
}

async fn instant_then_slow(l: Log, id: u32) -> u32 {
    let a = instant(id, 1).await;
    let b = instant(id, a).await;
    log(&l, format!("its {id} ready part {a} {b}"));
    let c = slow(l.clone(), id, 1).await;
    a + b + c
}

// ---- combinators ----

enum Slot<F: Future> {
    Running(Pin<Box<F>>),
    Done(F::Output),
    Taken,
}

impl<F: Future> Slot<F> {
    fn new(f: F) -> Self {
        Slot::Running(Box::pin(f))
    }
    /// Polls a running slot; true once done. A finished future is dropped at once.
    fn step(&mut self, cx: &mut Context<'_>) -> bool {
        if let Slot::Running(f) = self {
            match f.as_mut().poll(cx) {
                Poll::Ready(v) => *self = Slot::Done(v),
                Poll::Pending => return false,
            }
        }
        true
    }
    fn take(&mut self) -> F::Output {
        match std::mem::replace(self, Slot::Taken) {
            Slot::Done(v) => v,
            _ => panic!("slot not done"),
        }
    }
}

/// Joins two futures, polling them in the order given by `b_first` (flipped each poll if
/// `alternate`).
struct Join2<A: Future, B: Future> {
    a: Slot<A>,
    b: Slot<B>,
    b_first: bool,
    alternate: bool,
    polls: u32,
}

impl<A: Future, B: Future> Future for Join2<A, B> {
    type Output = (A::Output, B::Output, u32);
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = unsafe { self.get_unchecked_mut() };
        this.polls += 1;
        let (da, db) = if this.b_first {
            let db = this.b.step(cx);
            (this.a.step(cx), db)
        } else {
            let da = this.a.step(cx);
            (da, this.b.step(cx))
        };
        if this.alternate {
            this.b_first = !this.b_first;
        }
        if da && db { Poll::Ready((this.a.take(), this.b.take(), this.polls)) } else { Poll::Pending }
    }
}

fn join2<A: Future, B: Future>(a: A, b: B, b_first: bool, alternate: bool) -> Join2<A, B> {
    Join2 { a: Slot::new(a), b: Slot::new(b), b_first, alternate, polls: 0 }
}

/// Joins boxed futures, starting each poll at a rotating index.
struct JoinRotating {
    slots: Vec<Slot<Pin<Box<dyn Future<Output = u32>>>>>,
    start: usize,
    order: Vec<usize>,
}

impl Future for JoinRotating {
    type Output = (Vec<u32>, Vec<usize>);
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let n = this.slots.len();
        let mut all = true;
        for k in 0..n {
            let i = (this.start + k) % n.max(1);
            let was_running = matches!(this.slots[i], Slot::Running(_));
            let done = this.slots[i].step(cx);
            if was_running && done {
                this.order.push(i);
            }
            all &= done;
        }
        this.start += 1;
        if all {
            let values = this.slots.iter_mut().map(Slot::take).collect();
            Poll::Ready((values, std::mem::take(&mut this.order)))
        } else {
            Poll::Pending
        }
    }
}

enum Either<L, R> {
    Left(L),
    Right(R),
}

/// The first of two futures to finish; the other is dropped where it stands.
struct Select2<A, B> {
    a: Option<Pin<Box<A>>>,
    b: Option<Pin<Box<B>>>,
    b_first: bool,
}

impl<A: Future, B: Future> Future for Select2<A, B> {
    type Output = Either<A::Output, B::Output>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = unsafe { self.get_unchecked_mut() };
        for turn in 0..2 {
            if (turn == 0) == this.b_first {
                if let Poll::Ready(v) = this.b.as_mut().unwrap().as_mut().poll(cx) {
                    this.b = None;
                    this.a = None;
                    return Poll::Ready(Either::Right(v));
                }
            } else if let Poll::Ready(v) = this.a.as_mut().unwrap().as_mut().poll(cx) {
                this.a = None;
                this.b = None;
                return Poll::Ready(Either::Left(v));
            }
        }
        Poll::Pending
    }
}

fn select2<A: Future, B: Future>(a: A, b: B, b_first: bool) -> Select2<A, B> {
    Select2 { a: Some(Box::pin(a)), b: Some(Box::pin(b)), b_first }
}

fn show_either(e: Either<u32, u32>) -> String {
    match e {
        Either::Left(v) => format!("left {v}"),
        Either::Right(v) => format!("right {v}"),
    }
}

// ---- async parents using the combinators ----

async fn parent_joins(l: Log, x: u32, order: bool) -> u32 {
    let _g = Noisy("parent_joins guard");
    let pre = instant(0, x).await;
    let (a, b, p1) = join2(instant(1, x), slow(l.clone(), 2, x % 3), order, false).await;
    log(&l, format!("join1 {a} {b} after {p1} polls"));
    let (c, d, p2) = join2(slow(l.clone(), 3, 2), instant_then_slow(l.clone(), 4), order, true).await;
    log(&l, format!("join2 {c} {d} after {p2} polls"));
    let (e, f, p3) = join2(instant(5, a), instant(6, b), !order, true).await;
    log(&l, format!("join3 {e} {f} after {p3} polls"));
    pre + a + b + c + d + e + f + instant(7, pre).await
}

async fn parent_selects(l: Log, x: u32) -> String {
    let _g = Noisy("parent_selects guard");
    let mut out = Vec::new();
    // the await-free side wins whichever is polled first
    for b_first in [false, true] {
        let r = select2(instant(1, x), slow(l.clone(), 10, 2), b_first).await;
        out.push(show_either(r));
        let r = select2(slow(l.clone(), 11, 2), instant(2, x), b_first).await;
        out.push(show_either(r));
    }
    // two slow ones: the shorter wins, the other is dropped mid-way
    let r = select2(slow(l.clone(), 12, 3), slow(l.clone(), 13, 1), x % 2 == 0).await;
    out.push(show_either(r));
    // both await-free: the first polled wins
    let r = select2(instant(3, x), instant(4, x), true).await;
    out.push(show_either(r));
    let v = instant_ref(&x).await;
    out.push(format!("ref {v}"));
    out.join(", ")
}

async fn parent_rotating(l: Log, n: u32) -> u32 {
    let mut futs: Vec<Pin<Box<dyn Future<Output = u32>>>> = Vec::new();
    for i in 0..n {
        match i % 3 {
            0 => futs.push(Box::pin(instant(i, i))),
            1 => futs.push(Box::pin(slow(l.clone(), i, i % 4))),
            _ => futs.push(Box::pin(instant_then_slow(l.clone(), i))),
        }
    }
    let (values, order) =
        JoinRotating { slots: futs.into_iter().map(Slot::new).collect(), start: 0, order: Vec::new() }.await;
    log(&l, format!("rotating values {values:?} finish order {order:?}"));
    values.iter().sum::<u32>() + instant(0, n).await
}

/// An inline join with poll_fn: the order of polling depends on `x`.
async fn inline_poll_fn(l: Log, x: u32) -> (u32, u32, u32) {
    let mut a = pin!(instant(1, x));
    let mut b = pin!(slow(l.clone(), 20, 2));
    let mut c = pin!(instant_then_slow(l.clone(), 21));
    let mut ra = None;
    let mut rb = None;
    let mut rc = None;
    let mut turn = 0u32;
    poll_fn(|cx| {
        turn += 1;
        for k in 0..3 {
            match (k + x + turn) % 3 {
                0 if ra.is_none() => {
                    if let Poll::Ready(v) = a.as_mut().poll(cx) {
                        ra = Some(v);
                    }
                }
                1 if rb.is_none() => {
                    if let Poll::Ready(v) = b.as_mut().poll(cx) {
                        rb = Some(v);
                    }
                }
                2 if rc.is_none() => {
                    if let Poll::Ready(v) = c.as_mut().poll(cx) {
                        rc = Some(v);
                    }
                }
                _ => {}
            }
        }
        if ra.is_some() && rb.is_some() && rc.is_some() { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    log(&l, format!("inline join took {turn} turns"));
    (ra.unwrap(), rb.unwrap(), rc.unwrap())
}

fn main() {
    let l: Log = Rc::default();
    for x in [0, 1, 4] {
        for order in [false, true] {
            let (v, p) = block_on_counted(parent_joins(l.clone(), opaque(x), order));
            flush(&l);
            println!("parent_joins({x}, {order}) = {v} polls {p}");
        }
    }
    for x in [1, 2] {
        let (v, p) = block_on_counted(parent_selects(l.clone(), opaque(x)));
        flush(&l);
        println!("parent_selects({x}) = {v} polls {p}");
    }
    for n in [0, 1, 5, 7] {
        let (v, p) = block_on_counted(parent_rotating(l.clone(), opaque(n)));
        flush(&l);
        println!("parent_rotating({n}) = {v} polls {p}");
    }
    for x in 0..3 {
        let (v, p) = block_on_counted(inline_poll_fn(l.clone(), opaque(x)));
        flush(&l);
        println!("inline_poll_fn({x}) = {v:?} polls {p}");
    }

    println!("== run_all with await-free and suspending tasks");
    let out: Rc<RefCell<Vec<u32>>> = Rc::default();
    let mut tasks: Vec<Pin<Box<dyn Future<Output = ()>>>> = Vec::new();
    for i in 0..6u32 {
        let out = out.clone();
        let l = l.clone();
        if i % 2 == 0 {
            tasks.push(Box::pin(async move {
                let v = instant(i, i).await;
                out.borrow_mut().push(v);
            }));
        } else {
            tasks.push(Box::pin(async move {
                let v = slow(l, i, i / 2).await + instant(i, 0).await;
                out.borrow_mut().push(v);
            }));
        }
    }
    tasks.reverse();
    let polls = run_all(tasks);
    flush(&l);
    println!("run_all polls {polls}, outputs {:?}", out.borrow());

    println!("== cancellation of combinators mid-way");
    for k in 0..6 {
        let mut f = Box::pin(parent_joins(l.clone(), opaque(2), k % 2 == 0));
        let r = poll_n(f.as_mut(), k);
        drop(f);
        flush(&l);
        println!("parent_joins cancelled after {k} polls: {r:?}");
    }
    for k in 0..4 {
        let mut f = Box::pin(parent_selects(l.clone(), opaque(1)));
        let r = poll_n(f.as_mut(), k);
        drop(f);
        flush(&l);
        println!("parent_selects cancelled after {k} polls: {r:?}");
    }
    for k in 0..4 {
        let mut f = Box::pin(inline_poll_fn(l.clone(), opaque(1)));
        let r = poll_n(f.as_mut(), k);
        drop(f);
        flush(&l);
        println!("inline_poll_fn cancelled after {k} polls: {r:?}");
    }
    // a select whose loser was never polled, and a join dropped before any poll
    let s = select2(slow(l.clone(), 30, 1), instant(31, 0), false);
    drop(s);
    let j = join2(instant(32, 1), slow(l.clone(), 33, 2), true, true);
    drop(j);
    flush(&l);
    println!("dropped unpolled select and join");

    println!("size_of parent_joins future: {}", std::mem::size_of_val(&parent_joins(l.clone(), 0, false)));
    println!("size_of instant future: {}", std::mem::size_of_val(&instant(0, 0)));
}
