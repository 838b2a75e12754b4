// A future panics mid-way (caught with catch_unwind); polling it again panics with "resumed after panicking".
//@ compile-flags: -Cdebug-assertions=on
// (Re-polling after a panic panics only with debug-assertions on: without them corolift
// returns Pending there, see crates/lowering/src/passes/returned_arm.rs.)
#[path = "support/executor.rs"]
mod executor;
use executor::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

async fn boom(x: u32) -> u32 {
    let _held = Noisy("boom held");
    yield_now().await;
    if x > 0 {
        panic!("boom with {x}");
    }
    yield_now().await;
    x
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));

    // async fn
    let mut f = Box::pin(boom(opaque(3)));
    println!("poll 1: {:?}", poll_once(f.as_mut()));
    let r = catch_unwind(AssertUnwindSafe(|| poll_once(f.as_mut())));
    println!("poll 2 caught: {}", panic_message(r.unwrap_err()));
    let r = catch_unwind(AssertUnwindSafe(|| poll_once(f.as_mut())));
    println!("poll 3 caught: {}", panic_message(r.unwrap_err()));
    let r = catch_unwind(AssertUnwindSafe(|| poll_once(f.as_mut())));
    println!("poll 4 caught: {}", panic_message(r.unwrap_err()));
    drop(f);
    println!("dropped panicked async fn future");

    // async block that panics on its first poll
    let n = opaque(7);
    let mut b = Box::pin(async move {
        let _b = Noisy("block held");
        if n == 7 {
            panic!("block panicked with {}", n);
        }
        yield_now().await;
        n
    });
    let r = catch_unwind(AssertUnwindSafe(|| poll_once(b.as_mut())));
    println!("block poll 1 caught: {}", panic_message(r.unwrap_err()));
    let r = catch_unwind(AssertUnwindSafe(|| poll_once(b.as_mut())));
    println!("block poll 2 caught: {}", panic_message(r.unwrap_err()));
    drop(b);
    println!("dropped panicked async block");

    // the non-panicking path still works
    let (v, polls) = block_on_counted(boom(opaque(0)));
    println!("boom(0) = {v} after {polls} polls");
}
