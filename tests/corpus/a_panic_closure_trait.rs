// Panics inside async closure bodies and async trait methods: caught, Noisy captures/locals dropped, then re-polled.
//@ compile-flags: -Cdebug-assertions=on
// (Re-polling after a panic panics only with debug-assertions on: without them corolift
// returns Pending there, see crates/lowering/src/passes/returned_arm.rs.)
#[path = "support/executor.rs"]
mod executor;
use executor::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::task::Poll;

trait Job {
    async fn run(&self, x: u32) -> u32;
}

struct Divider(u32);
impl Job for Divider {
    async fn run(&self, x: u32) -> u32 {
        let _l = Noisy("divider local");
        yield_now().await;
        if self.0 == 0 {
            panic!("divide {} by zero", x);
        }
        x / self.0
    }
}

fn drive<F: std::future::Future<Output = u32>>(name: &str, fut: F) {
    let mut f = Box::pin(fut);
    let mut polls = 0;
    let r = catch_unwind(AssertUnwindSafe(|| loop {
        polls += 1;
        if let Poll::Ready(v) = poll_once(f.as_mut()) {
            break v;
        }
    }));
    match r {
        Ok(v) => println!("{name}: {v} after {polls} polls"),
        Err(e) => {
            println!("{name}: panicked on poll {polls}: {}", panic_message(e));
            let again = catch_unwind(AssertUnwindSafe(|| poll_once(f.as_mut())));
            match again {
                Ok(p) => println!("{name}: re-poll returned {p:?}"),
                Err(e) => println!("{name}: re-poll panicked: {}", panic_message(e)),
            }
        }
    }
    drop(f);
    println!("{name}: future dropped");
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    drive("divider(4)", Divider(opaque(4)).run(opaque(20)));
    let zero = Divider(opaque(0));
    drive("divider(0)", zero.run(opaque(20)));

    let cap = Noisy("closure capture");
    let limit = opaque(3);
    let checked = async move |x: u32| {
        let _b = Noisy("closure body");
        let _c = &cap;
        YieldTimes(x).await;
        if x > limit {
            panic!("{x} exceeds {limit}");
        }
        x * 2
    };
    drive("checked(2)", checked(opaque(2)));
    drive("checked(5)", checked(opaque(5)));
    println!("closure still usable: {}", block_on(checked(opaque(1))));
    drop(checked);
    println!("closure dropped");

    // a panic in a once-closure that owns its capture
    let owned = Noisy("once owned");
    let once = async move || {
        yield_now().await;
        let _o = owned;
        if opaque(1) == 1 {
            panic!("once closure failed");
        }
        7
    };
    drive("once", once());
}
