// Async fns and blocks with no await at all: ready on the first poll, capturing Copy
// values, Strings, Vecs and Noisy values; drop order when completed vs never polled.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn constant() -> u32 {
    7
}

async fn add(a: u32, b: u32) -> u32 {
    a + b
}

async fn describe(name: String, tags: Vec<&'static str>) -> String {
    format!("{name}[{}]", tags.join("|"))
}

async fn consume_noisy(n: Noisy, keep: bool) -> Option<Noisy> {
    println!("  consume_noisy body runs for {}", n.0);
    if keep { Some(n) } else { None }
}

async fn unit_fn() {}

fn main() {
    let x = opaque(4);
    let (v, polls) = block_on_counted(constant());
    println!("constant = {v} polls {polls}");
    let (v, polls) = block_on_counted(add(x, 10));
    println!("add = {v} polls {polls}");
    let (v, polls) = block_on_counted(describe(format!("item{x}"), vec!["a", "b"]));
    println!("describe = {v} polls {polls}");
    let ((), polls) = block_on_counted(unit_fn());
    println!("unit polls {polls}");

    let kept = block_on(consume_noisy(Noisy("kept"), true));
    println!("kept is_some = {}", kept.is_some());
    let dropped = block_on(consume_noisy(Noisy("discarded"), false));
    println!("dropped is_none = {}", dropped.is_none());
    drop(kept);

    // A never-polled future owns its arguments: dropping it drops them, without running.
    let fut = consume_noisy(Noisy("never-polled"), true);
    println!("created, not polled");
    drop(fut);

    let owned = vec![x, x * 2, x * 3];
    let s = String::from("captured");
    let block = async move {
        let total: u32 = owned.iter().sum();
        format!("{s}:{total}:{}", owned.len())
    };
    let mut block = std::pin::pin!(block);
    match poll_once(block.as_mut()) {
        std::task::Poll::Ready(v) => println!("async move block ready at once: {v}"),
        std::task::Poll::Pending => println!("unexpectedly pending"),
    }

    let a = Noisy("block-a");
    let b = Noisy("block-b");
    let blk = async move {
        let first = a;
        let _second = b;
        println!("  inside block with {}", first.0);
        first.0.len()
    };
    let (len, polls) = block_on_counted(blk);
    println!("noisy block len {len} polls {polls}");

    let by_ref = async { x * 3 + constant_sync() };
    println!("by_ref block = {}", block_on(by_ref));

    let nested = async { add(constant().await, x).await };
    let (v, polls) = block_on_counted(nested);
    println!("nested no-yield awaits = {v} polls {polls}");
    println!("size_of constant future: {}", std::mem::size_of_val(&constant()));
}

fn constant_sync() -> u32 {
    1
}
