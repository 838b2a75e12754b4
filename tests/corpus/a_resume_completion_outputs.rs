//@ compile-flags: -Cdebug-assertions=on
// Re-polling completed futures with droppable/large/unit outputs, boxed as dyn Future and nested in a parent (debug assertions on).
#[path = "support/executor.rs"]
mod executor;
use executor::*;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::Poll;

async fn make_noisy(x: u32) -> Noisy {
    yield_now().await;
    if x % 2 == 0 { Noisy("output even") } else { Noisy("output odd") }
}

async fn make_array(x: u32) -> [u32; 8] {
    yield_now().await;
    let mut a = [0; 8];
    for (i, v) in a.iter_mut().enumerate() {
        *v = x + i as u32;
    }
    a
}

async fn unit(x: u32) {
    YieldTimes(x).await;
}

fn finish_then_repoll<T: std::fmt::Debug>(name: &str, mut f: Pin<Box<dyn Future<Output = T>>>) {
    let mut polls = 0;
    loop {
        polls += 1;
        if let Poll::Ready(v) = poll_once(f.as_mut()) {
            println!("{name}: ready after {polls} polls: {v:?}");
            break;
        }
    }
    let r = catch_unwind(AssertUnwindSafe(|| poll_once(f.as_mut()).is_ready()));
    match r {
        Ok(ready) => println!("{name}: re-poll returned, ready = {ready}"),
        Err(e) => println!("{name}: re-poll panicked: {}", panic_message(e)),
    }
}

impl std::fmt::Debug for Noisy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Noisy({})", self.0)
    }
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    finish_then_repoll("noisy", Box::pin(make_noisy(opaque(3))));
    finish_then_repoll("array", Box::pin(make_array(opaque(10))));
    finish_then_repoll("unit", Box::pin(unit(opaque(2))));

    // A parent that awaits the same child future twice through a &mut: the child was already done.
    let mut child = Box::pin(make_array(opaque(1)));
    let mut parent = Box::pin(async {
        let a = child.as_mut().await;
        println!("parent got first {:?}", a[0]);
        let _p = Noisy("parent local");
        let b = child.as_mut().await;
        println!("parent got second {:?}", b[0]);
    });
    let r = catch_unwind(AssertUnwindSafe(|| poll_n(parent.as_mut(), 5)));
    match r {
        Ok(v) => println!("parent finished: {v:?}"),
        Err(e) => println!("parent panicked: {}", panic_message(e)),
    }
    let r = catch_unwind(AssertUnwindSafe(|| poll_once(parent.as_mut())));
    println!("parent re-poll: {}", panic_message(r.unwrap_err()));
    drop(parent);
    println!("done");
}
