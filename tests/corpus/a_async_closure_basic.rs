// Async closures: `async |x|`, `async move` capturing owned values, borrowing captures, and closures returning closures' futures.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

fn main() {
    let add = async |x: u32| {
        yield_now().await;
        x + 1
    };
    for i in 0..3 {
        let (v, polls) = block_on_counted(add(opaque(i)));
        println!("add({i}) = {v} after {polls} polls");
    }

    // async move closure owning a Noisy and a Vec
    let owned = Noisy("captured by move");
    let table = vec![opaque(10), opaque(20), opaque(30)];
    let pick = async move |i: usize| {
        YieldTimes(i as u32).await;
        let _use = &owned;
        table[i % table.len()]
    };
    for i in 0..4 {
        let (v, polls) = block_on_counted(pick(i));
        println!("pick({i}) = {v} after {polls} polls");
    }
    println!("dropping pick");
    drop(pick);
    println!("pick dropped");

    // borrowing closure: mutates a captured counter across awaits
    let mut counter = opaque(0);
    {
        let mut bump = async |by: u32| {
            counter += by;
            yield_now().await;
            counter += by;
            counter
        };
        let a = block_on(bump(opaque(1)));
        let b = block_on(bump(opaque(5)));
        println!("bump results {a} {b}");
    }
    println!("counter = {counter}");

    // a future from the closure, cancelled after one poll, while it borrows the closure
    let label = Noisy("closure capture");
    let slow = async |n: u32| {
        let _inner = Noisy("slow body local");
        YieldTimes(n).await;
        let _l = &label;
        n * 3
    };
    {
        let mut f = Box::pin(slow(opaque(4)));
        println!("slow after 2 polls: {:?}", poll_n(f.as_mut(), 2));
        drop(f);
        println!("slow future cancelled");
    }
    let (v, polls) = block_on_counted(slow(opaque(2)));
    println!("slow(2) = {v} after {polls} polls");
    drop(label);
    println!("size_of add future: {}", std::mem::size_of_val(&add(0)));
}
