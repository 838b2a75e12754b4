// Regression: merge_states compares the two continuations by their MIR statements and
// terminators only, not by their source spans. The two arms below are equal but for the
// line of their `unwrap()`, so the states merge and arm 1 runs arm 0's copy of the code:
// the panic location that `#[track_caller]` reports (to the panic hook, and in the default
// "panicked at" message) became arm 0's line. corolift printed `panic at line 21` for
// pick(1) (the reference: line 25).
#[path = "support/executor.rs"]
mod executor;
use executor::*;
use std::panic::{AssertUnwindSafe, catch_unwind};

async fn send(v: u32) -> u32 {
    yield_now().await;
    v
}

async fn pick(c: u32) -> u32 {
    match c {
        0 => {
            let r = send(1).await;
            r.checked_sub(5).unwrap()
        }
        _ => {
            let r = send(1).await;
            r.checked_sub(5).unwrap()
        }
    }
}

fn main() {
    std::panic::set_hook(Box::new(|info| {
        let l = info.location().unwrap();
        println!("panic at line {}", l.line());
    }));
    for c in 0..2 {
        let r = catch_unwind(AssertUnwindSafe(|| block_on(pick(opaque(c)))));
        println!("pick({c}) -> {}", if r.is_ok() { "ok" } else { "panicked" });
    }
}
