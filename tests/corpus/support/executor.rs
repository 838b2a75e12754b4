//! The corpus's own tiny executor: no external crates, deterministic, prints nothing
//! by itself. Each program includes it with
//! `#[path = "support/executor.rs"] mod executor;` and prints what it observes.
#![allow(dead_code)]

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// A waker that counts how often it was woken.
pub struct CountingWaker(pub AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

pub fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let inner = Arc::new(CountingWaker(AtomicUsize::new(0)));
    (inner.clone(), Waker::from(inner))
}

/// Polls `fut` to completion; returns its output and the number of polls it took.
pub fn block_on_counted<F: Future>(fut: F) -> (F::Output, usize) {
    let mut fut = std::pin::pin!(fut);
    let (_, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut polls = 0;
    loop {
        polls += 1;
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return (v, polls);
        }
        assert!(polls < 1_000_000, "future never completed");
    }
}

pub fn block_on<F: Future>(fut: F) -> F::Output {
    block_on_counted(fut).0
}

/// Polls once with a no-op waker.
pub fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    fut.poll(&mut cx)
}

/// Polls up to `n` times; `Some(output)` if it finished.
pub fn poll_n<F: Future + ?Sized>(mut fut: Pin<&mut F>, n: usize) -> Option<F::Output> {
    for _ in 0..n {
        if let Poll::Ready(v) = poll_once(fut.as_mut()) {
            return Some(v);
        }
    }
    None
}

/// Pending `n` times (waking itself each time), then Ready.
pub struct YieldTimes(pub u32);

impl Future for YieldTimes {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            Poll::Ready(())
        } else {
            self.0 -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Pending once, then Ready: the `YieldOnce` of the seed programs.
pub fn yield_now() -> YieldTimes {
    YieldTimes(1)
}

/// A value whose drop prints `drop <name>`.
pub struct Noisy(pub &'static str);

impl Drop for Noisy {
    fn drop(&mut self) {
        println!("drop {}", self.0);
    }
}

/// A shared, single-threaded slot a test can set from outside a future.
#[derive(Clone, Default)]
pub struct Flag(pub Rc<Cell<bool>>);

impl Flag {
    pub fn set(&self) {
        self.0.set(true)
    }
    pub fn get(&self) -> bool {
        self.0.get()
    }
}

/// Pending until the flag is set.
pub struct WaitFor(pub Flag);

impl Future for WaitFor {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.0.get() { Poll::Ready(()) } else { Poll::Pending }
    }
}

/// Round-robin over boxed tasks until all finish; prints nothing, returns the number of
/// polls in total. Tasks are polled in the order given, and finished tasks are dropped
/// at once.
pub fn run_all(mut tasks: Vec<Pin<Box<dyn Future<Output = ()>>>>) -> usize {
    let mut polls = 0;
    while !tasks.is_empty() {
        let mut i = 0;
        while i < tasks.len() {
            polls += 1;
            if poll_once(tasks[i].as_mut()).is_ready() {
                drop(tasks.remove(i));
            } else {
                i += 1;
            }
        }
        assert!(polls < 1_000_000, "tasks never completed");
    }
    polls
}

/// An input the optimiser cannot see through: the number of command-line arguments.
pub fn opaque(n: u32) -> u32 {
    std::hint::black_box(n + std::env::args().count() as u32 - 1)
}

/// The message of a panic caught by `catch_unwind`.
pub fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string payload>".to_string()
    }
}
