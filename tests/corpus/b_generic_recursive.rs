// Generic async recursion through Box::pin, instantiated with u64, String and Noisy-owning
// types; a generic trait with an async method used by a recursive combiner.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

use std::fmt::Debug;

trait Combine: Sized {
    async fn combine(self, other: Self) -> Self;
}

impl Combine for u64 {
    async fn combine(self, other: Self) -> Self {
        yield_now().await;
        self * 3 + other
    }
}

impl Combine for String {
    async fn combine(self, other: Self) -> Self {
        format!("({self} {other})")
    }
}

struct Tracked(Vec<u32>, Noisy);

impl Combine for Tracked {
    async fn combine(mut self, other: Self) -> Self {
        YieldTimes(1).await;
        self.0.extend(other.0);
        // `other.1` (a Noisy) is dropped here, after the await
        self
    }
}

async fn fold_tree<T: Combine + Clone + Debug>(items: &[T]) -> T {
    if items.len() == 1 {
        return items[0].clone();
    }
    let mid = items.len() / 2;
    let left = Box::pin(fold_tree(&items[..mid])).await;
    let right = Box::pin(fold_tree(&items[mid..])).await;
    left.combine(right).await
}

async fn fold_owned(mut items: Vec<Tracked>) -> Tracked {
    if items.len() == 1 {
        return items.pop().unwrap();
    }
    let right = items.split_off(items.len() / 2);
    let l = Box::pin(fold_owned(items)).await;
    let r = Box::pin(fold_owned(right)).await;
    l.combine(r).await
}

fn main() {
    let n = opaque(2) as u64;
    let nums: Vec<u64> = (1..=5).map(|x| x * n).collect();
    let (v, polls) = block_on_counted(fold_tree(&nums));
    println!("fold u64 = {v} polls {polls}");

    let words: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| format!("{s}{n}")).collect();
    let (v, polls) = block_on_counted(fold_tree(&words));
    println!("fold String = {v} polls {polls}");

    const NAMES: [&str; 4] = ["t0", "t1", "t2", "t3"];
    let tracked: Vec<Tracked> = (0..4).map(|i| Tracked(vec![i as u32 * n as u32], Noisy(NAMES[i]))).collect();
    let (v, polls) = block_on_counted(fold_owned(tracked));
    println!("fold Tracked = {:?} (kept {}) polls {polls}", v.0, v.1.0);
    drop(v);
    println!("end");
}
