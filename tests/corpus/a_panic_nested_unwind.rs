// A panic deep in a nested child future unwinds through its parents, dropping Noisy values at every level in order.
//@ compile-flags: -Cdebug-assertions=on
// (Re-polling after a panic panics only with debug-assertions on: without them corolift
// returns Pending there, see crates/lowering/src/passes/returned_arm.rs.)
#[path = "support/executor.rs"]
mod executor;
use executor::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

async fn leaf(x: u32) -> u32 {
    let _l = Noisy("leaf");
    YieldTimes(x % 3).await;
    if x >= 4 {
        panic!("leaf failed on {}", x);
    }
    x + 1
}

async fn mid(x: u32) -> u32 {
    let _m1 = Noisy("mid first");
    let a = leaf(x).await;
    let _m2 = Noisy("mid second");
    let b = leaf(a + 2).await;
    a + b
}

async fn top(x: u32) -> u32 {
    let _t = Noisy("top");
    let mut sum = 0;
    for i in 0..2 {
        let _it = Noisy("top iter");
        sum += mid(x + i).await;
    }
    sum
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    for x in 0..4 {
        println!("-- top({x})");
        let mut f = Box::pin(top(opaque(x)));
        let mut polls = 0;
        let r = catch_unwind(AssertUnwindSafe(|| loop {
            polls += 1;
            if let std::task::Poll::Ready(v) = poll_once(f.as_mut()) {
                break v;
            }
        }));
        match r {
            Ok(v) => println!("top({x}) = {v} after {polls} polls"),
            Err(e) => {
                println!("top({x}) panicked on poll {polls}: {}", panic_message(e));
                let again = catch_unwind(AssertUnwindSafe(|| poll_once(f.as_mut())));
                println!("re-poll: {}", panic_message(again.unwrap_err()));
            }
        }
        drop(f);
        println!("dropped top({x})");
    }
}
