// Async code compiled with -Cpanic=abort: awaits, drops of Noisy locals (no unwinding
// paths), a boxed recursive future, and a cancelled future; ends with a normal exit code.
//@ compile-flags: -Cpanic=abort
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn step(name: &'static str, n: u32) -> u32 {
    let _g = Noisy(name);
    YieldTimes(n % 3).await;
    n * 2 + 1
}

async fn pipeline(n: u32) -> u32 {
    let a = step("stage-a", n).await;
    let keep = Noisy("pipeline-local");
    let b = step("stage-b", a).await;
    let c = {
        let _inner = Noisy("block-scope");
        step("stage-c", b).await
    };
    drop(keep);
    a + b + c
}

fn countdown(n: u32) -> std::pin::Pin<Box<dyn std::future::Future<Output = u32>>> {
    Box::pin(async move {
        if n == 0 {
            return 0;
        }
        yield_now().await;
        n + countdown(n - 1).await
    })
}

fn main() {
    let n = opaque(2);
    let (v, polls) = block_on_counted(pipeline(n));
    println!("pipeline = {v} polls {polls}");

    let (v, polls) = block_on_counted(countdown(n + 3));
    println!("countdown = {v} polls {polls}");

    let mut cancelled = Box::pin(pipeline(n + 1));
    println!("partial: {:?}", poll_n(cancelled.as_mut(), 1));
    drop(cancelled);

    let mut total = 0;
    for i in 0..4 {
        total += block_on(async move { step("loop", i).await + 1 });
    }
    println!("loop total = {total}");
    std::process::exit(if total == 20 { 0 } else { 3 });
}
