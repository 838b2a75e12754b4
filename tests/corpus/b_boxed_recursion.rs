// Recursion through `Box::pin`: an async fn calling itself with yields at every level.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

use std::future::Future;
use std::pin::Pin;

fn sum_to(n: u32) -> Pin<Box<dyn Future<Output = u64>>> {
    Box::pin(async move {
        if n == 0 {
            return 0;
        }
        yield_now().await;
        let rest = sum_to(n - 1).await;
        rest + n as u64
    })
}

async fn fib(n: u32) -> u64 {
    if n < 2 {
        yield_now().await;
        return n as u64;
    }
    let a = Box::pin(fib(n - 1)).await;
    let b = Box::pin(fib(n - 2)).await;
    a + b
}

async fn depth_with_noisy(n: u32, names: &'static [&'static str]) -> usize {
    let _guard = Noisy(names[n as usize]);
    if n == 0 {
        yield_now().await;
        return 1;
    }
    let inner = Box::pin(depth_with_noisy(n - 1, names)).await;
    println!("unwind level {n}, inner depth {inner}");
    inner + 1
}

fn main() {
    for i in 0..4 {
        let n = opaque(i * 3);
        let (v, polls) = block_on_counted(sum_to(n));
        println!("sum_to({n}) = {v} after {polls} polls");
    }
    for i in [0u32, 1, 5, 10] {
        let n = opaque(i);
        let (v, polls) = block_on_counted(fib(n));
        println!("fib({n}) = {v} after {polls} polls");
    }
    const NAMES: &[&str] = &["d0", "d1", "d2", "d3"];
    let (d, polls) = block_on_counted(depth_with_noisy(opaque(3), NAMES));
    println!("depth = {d} after {polls} polls");

    // Dropped mid-recursion: guards of every level active so far must drop, innermost first.
    let mut fut = Box::pin(depth_with_noisy(opaque(3), NAMES));
    println!("first poll pending: {}", poll_once(fut.as_mut()).is_pending());
    drop(fut);
    println!("done");
}
