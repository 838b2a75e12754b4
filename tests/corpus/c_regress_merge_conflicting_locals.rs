// Regression: merge_states merged two suspend states whose exclusive saved locals are
// live at the same time (before the branch). `x` is held only by the first await's state,
// `y` only by the second's; the continuations after the two awaits are equal once `y` is
// renamed to `x`, so the states merged and `y` was put in `x`'s field, although both are
// storage-live, and both hold needed values, from their `let`s to the branch. The write
// of `y` then overwrote `x`: corolift printed `pick(true) = 510` (the reference: 13).
// check_same_saved_locals skips a conflict of b's saved local with its own partner in a
// (`other != sa`), which is exactly the conflict that forbids the merge.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn send(v: u32) -> u32 {
    yield_now().await;
    v * 10
}

async fn pick(c: bool, p: u64, q: u64) -> u64 {
    let x = p * 3;
    let y = q * 5;
    if c {
        let r = send(1).await;
        r as u64 + x
    } else {
        let r = send(1).await;
        r as u64 + y
    }
}

fn main() {
    for c in [true, false] {
        let (v, polls) = block_on_counted(pick(c, opaque(1) as u64, opaque(100) as u64));
        println!("pick({c}) = {v} after {polls} polls");
    }
}
