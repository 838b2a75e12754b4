// No-await async closures and blocks stored in collections, each polled exactly once;
// plus a completed no-await future polled again (which must panic) caught by catch_unwind.
//@ compile-flags: -Cdebug-assertions=on
// (Re-polling a finished or panicked future panics only with debug-assertions on: without
// them corolift returns Pending there, see crates/lowering/src/passes/returned_arm.rs.)
#[path = "support/executor.rs"]
mod executor;
use executor::*;

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

fn make_blocks(x: u32) -> Vec<Pin<Box<dyn Future<Output = String>>>> {
    let mut v: Vec<Pin<Box<dyn Future<Output = String>>>> = Vec::new();
    v.push(Box::pin(async move { format!("int {}", x * 2) }));
    let s = "s".repeat(x as usize);
    v.push(Box::pin(async move { format!("string {s}") }));
    let guard = Noisy("vec-block-guard");
    v.push(Box::pin(async move {
        let g = guard;
        format!("noisy {}", g.0)
    }));
    let list = vec![x; 3];
    v.push(Box::pin(async move { format!("list sum {}", list.iter().sum::<u32>()) }));
    v
}

fn main() {
    let x = opaque(3);
    for (i, mut f) in make_blocks(x).into_iter().enumerate() {
        match poll_once(f.as_mut()) {
            Poll::Ready(s) => println!("block {i}: {s}"),
            Poll::Pending => println!("block {i}: pending?!"),
        }
    }

    let base = String::from("base");
    let closure = async |k: u32| format!("{base}-{}", k + x);
    println!("closure(1) = {}", block_on(closure(1)));
    println!("closure(2) = {}", block_on(closure(2)));

    let noisy = Noisy("moved-into-closure");
    let once = async move || {
        let n = noisy;
        n.0.len() as u32 + x
    };
    let (v, polls) = block_on_counted(once());
    println!("once closure = {v} polls {polls}");

    let mut counter = 0u32;
    let mut bump = async || {
        counter += x;
        counter
    };
    let a = block_on(bump());
    let b = block_on(bump());
    println!("mut closure results {a} {b}, counter {counter}");

    // Poll a finished no-await future again: the language requires a panic.
    std::panic::set_hook(Box::new(|_| {}));
    let mut fut = Box::pin(async move { x + 1 });
    let first = poll_once(fut.as_mut());
    println!("first poll ready: {:?}", first);
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = poll_once(fut.as_mut());
    }));
    println!("second poll panicked: {}", again.is_err());
    let _ = std::panic::take_hook();
    drop(fut);
    println!("end");
}
