// Awaits in if/else branches, in conditions, in nested ifs and in if-let, with a Noisy live across some.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn get(x: u32) -> u32 {
    yield_now().await;
    x + 7
}

async fn is_even(x: u32) -> bool {
    YieldTimes(x % 3).await;
    x % 2 == 0
}

async fn branchy(x: u32) -> u32 {
    let guard = Noisy("branchy guard");
    let r = if is_even(x).await {
        let a = get(x).await;
        if a > 10 { get(a).await } else { a * 2 }
    } else if x > 4 {
        let _inner = Noisy("else-if inner");
        YieldTimes(2).await;
        x * 3
    } else {
        0
    };
    drop(guard);
    r
}

async fn maybe(x: u32) -> Option<u32> {
    yield_now().await;
    if x % 3 == 0 { None } else { Some(x) }
}

async fn iflet(x: u32) -> u32 {
    if let Some(v) = maybe(x).await {
        let w = get(v).await;
        v + w
    } else {
        let n = Noisy("iflet none");
        let r = get(100).await;
        drop(n);
        r
    }
}

fn main() {
    for x in 0..8 {
        let (v, polls) = block_on_counted(branchy(opaque(x)));
        println!("branchy({x}) = {v} after {polls} polls");
    }
    for x in 0..5 {
        let (v, polls) = block_on_counted(iflet(opaque(x)));
        println!("iflet({x}) = {v} after {polls} polls");
    }
    println!("size_of branchy future: {}", std::mem::size_of_val(&branchy(0)));
}
