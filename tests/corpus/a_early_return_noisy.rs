// Early `return` from inside loops, matches and nested blocks across awaits, with Noisy values alive at the return.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn tick(x: u32) -> u32 {
    yield_now().await;
    x + 1
}

async fn early(x: u32) -> u32 {
    let _outer = Noisy("outer");
    let a = tick(x).await;
    if a == 1 {
        return 100;
    }
    let inner = Noisy("inner");
    let b = tick(a).await;
    if b == 3 {
        let _deep = Noisy("deep");
        YieldTimes(2).await;
        return 200 + b;
    }
    drop(inner);
    let c = tick(b).await;
    c * 10
}

async fn search(limit: u32, target: u32) -> Option<u32> {
    let _s = Noisy("search");
    for i in 0..limit {
        let _iter = Noisy(if i % 2 == 0 { "even iter" } else { "odd iter" });
        if tick(i).await == target {
            return Some(i);
        }
    }
    None
}

async fn returns_from_match(k: u32) -> &'static str {
    let _m = Noisy("match guard");
    match tick(k).await {
        1 => return "one",
        2 => {
            let _n = Noisy("arm two");
            tick(0).await;
            return "two";
        }
        _ => {}
    }
    tick(0).await;
    "other"
}

fn main() {
    for x in 0..4 {
        let (v, polls) = block_on_counted(early(opaque(x)));
        println!("early({x}) = {v} after {polls} polls");
    }
    for t in [0, 2, 3, 9] {
        let (v, polls) = block_on_counted(search(opaque(4), opaque(t)));
        println!("search(4, {t}) = {v:?} after {polls} polls");
    }
    for k in 0..4 {
        let (v, polls) = block_on_counted(returns_from_match(opaque(k)));
        println!("returns_from_match({k}) = {v} after {polls} polls");
    }
}
