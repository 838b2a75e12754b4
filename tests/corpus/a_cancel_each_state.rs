// Drop a multi-await future after k polls for every k (never polled, each suspended state, completed).
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn child(name: &'static str) -> u32 {
    let _n = Noisy(name);
    yield_now().await;
    1
}

async fn worker(tag: Noisy, x: u32) -> u32 {
    let a = Noisy("a");
    let mut s = child("child1").await;
    let b = Noisy("b");
    s += child("child2").await;
    drop(a);
    YieldTimes(2).await;
    let _c = Noisy("c");
    s += x;
    yield_now().await;
    drop(b);
    drop(tag);
    yield_now().await;
    s
}

fn main() {
    for k in 0..9 {
        println!("-- k = {k}");
        let mut f = Box::pin(worker(Noisy("tag"), opaque(5)));
        let r = poll_n(f.as_mut(), k);
        println!("poll_n result: {r:?}");
        drop(f);
        println!("dropped");
    }
    println!("-- created and dropped without pinning");
    let f = worker(Noisy("unpinned tag"), opaque(1));
    drop(f);
    println!("-- completed then dropped");
    let mut f = Box::pin(worker(Noisy("tag2"), opaque(2)));
    let mut polls = 0;
    let v = loop {
        polls += 1;
        if let std::task::Poll::Ready(v) = poll_once(f.as_mut()) {
            break v;
        }
    };
    println!("completed with {v} after {polls} polls");
    drop(f);
    println!("dropped completed future");
    println!("size_of worker future: {}", std::mem::size_of_val(&worker(Noisy("sz"), 0)));
}
