// Cancellation of nested futures: drop order of Noisy values held at several nesting levels, in loops and match arms.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn leaf(name: &'static str, n: u32) -> u32 {
    let _l = Noisy(name);
    YieldTimes(n).await;
    n
}

async fn middle(sel: u32) -> u32 {
    let _m = Noisy("middle");
    let v = match sel {
        0 => leaf("leaf arm0", 1).await,
        1 => {
            let _x = Noisy("arm1 extra");
            leaf("leaf arm1", 2).await
        }
        _ => leaf("leaf arm2", 3).await + leaf("leaf arm2b", 1).await,
    };
    let _after = Noisy("middle after");
    yield_now().await;
    v
}

async fn top(sel: u32) -> u32 {
    let t = Noisy("top");
    let mut acc = 0;
    for i in 0..2 {
        let _it = Noisy(if i == 0 { "top iter0" } else { "top iter1" });
        acc += middle(sel + i).await;
    }
    drop(t);
    let _late = Noisy("top late");
    yield_now().await;
    acc
}

fn main() {
    for sel in 0..3 {
        // find how many polls it takes, so we cancel in every state
        let (v, total) = block_on_counted(async {
            let r = top(opaque(sel)).await;
            println!("(reference run done)");
            r
        });
        println!("== sel {sel}: completes with {v} after {total} polls");
        for k in 1..total {
            println!("-- sel {sel}, cancel after {k} polls");
            let mut f = std::pin::pin!(top(opaque(sel)));
            assert!(poll_n(f.as_mut(), k).is_none());
            // pinned on the stack: dropped at end of this iteration's scope
        }
    }
    println!("done");
}
