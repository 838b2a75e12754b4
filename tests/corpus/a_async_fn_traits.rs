// Async closures passed to generic functions bounded by AsyncFn, AsyncFnMut and AsyncFnOnce.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn apply_twice(f: impl AsyncFn(u32) -> u32, x: u32) -> u32 {
    let a = f(x).await;
    f(a).await
}

async fn apply_all<F: AsyncFn(u32) -> u32>(f: &F, xs: &[u32]) -> Vec<u32> {
    let mut out = Vec::new();
    for &x in xs {
        out.push(f(x).await);
    }
    out
}

async fn call_n(mut f: impl AsyncFnMut(u32) -> u32, n: u32) -> u32 {
    let mut last = 0;
    for i in 0..n {
        last = f(i).await;
    }
    last
}

async fn consume(f: impl AsyncFnOnce() -> String) -> usize {
    let s = f().await;
    println!("consume got {s:?}");
    s.len()
}

async fn compose(f: impl AsyncFn(u32) -> u32, g: impl AsyncFn(u32) -> u32, x: u32) -> u32 {
    g(f(x).await).await
}

fn main() {
    let double = async |x: u32| {
        yield_now().await;
        x * 2
    };
    let offset = opaque(7);
    let shift = async move |x: u32| {
        YieldTimes(2).await;
        x + offset
    };
    let (v, polls) = block_on_counted(apply_twice(&double, opaque(3)));
    println!("apply_twice(double, 3) = {v} after {polls} polls");
    let (v, polls) = block_on_counted(apply_twice(&shift, opaque(3)));
    println!("apply_twice(shift, 3) = {v} after {polls} polls");
    let xs = [opaque(1), opaque(2), opaque(3)];
    let (v, polls) = block_on_counted(apply_all(&double, &xs));
    println!("apply_all(double) = {v:?} after {polls} polls");
    let (v, polls) = block_on_counted(compose(&double, &shift, opaque(5)));
    println!("compose(double, shift, 5) = {v} after {polls} polls");

    let mut seen = Vec::new();
    let recorder = async |x: u32| {
        yield_now().await;
        seen.push(x * 10);
        seen.len() as u32
    };
    let (v, polls) = block_on_counted(call_n(recorder, opaque(4)));
    println!("call_n(recorder, 4) = {v} after {polls} polls; seen = {seen:?}");

    let owned = String::from("owned-string");
    let guard = Noisy("once guard");
    let once = async move || {
        yield_now().await;
        drop(guard);
        owned + "!"
    };
    let (v, polls) = block_on_counted(consume(once));
    println!("consume = {v} after {polls} polls");

    // an AsyncFnOnce future cancelled before completion drops its captures
    let guard2 = Noisy("cancelled once guard");
    let once2 = async move || {
        YieldTimes(3).await;
        let _g = guard2;
        String::from("never")
    };
    let mut f = Box::pin(consume(once2));
    println!("consume(once2) after 2 polls: {:?}", poll_n(f.as_mut(), 2));
    drop(f);
    println!("done");
}
