// Mutual recursion between two async fns through `Box::pin`, with state kept across awaits.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn is_even(n: u32, trail: &mut Vec<char>) -> bool {
    trail.push('e');
    if n == 0 {
        return true;
    }
    if n % 3 == 0 {
        yield_now().await;
    }
    Box::pin(is_odd(n - 1, trail)).await
}

async fn is_odd(n: u32, trail: &mut Vec<char>) -> bool {
    trail.push('o');
    if n == 0 {
        return false;
    }
    let label = format!("odd{n}");
    yield_now().await;
    let r = Box::pin(is_even(n - 1, trail)).await;
    // `label` lives across the recursive await.
    if n == 1 {
        trail.extend(label.chars());
    }
    r
}

// Hofstadter female/male sequences, both async and mutually recursive.
async fn female(n: u32) -> u32 {
    if n == 0 {
        return 1;
    }
    let f = Box::pin(female(n - 1)).await;
    n - Box::pin(male(f)).await
}

async fn male(n: u32) -> u32 {
    if n == 0 {
        return 0;
    }
    let m = Box::pin(male(n - 1)).await;
    yield_now().await;
    n - Box::pin(female(m)).await
}

fn main() {
    for i in [0u32, 1, 4, 7] {
        let n = opaque(i);
        let mut trail = Vec::new();
        let (even, polls) = block_on_counted(is_even(n, &mut trail));
        let s: String = trail.iter().collect();
        println!("is_even({n}) = {even} polls={polls} trail={s}");
    }
    let mut fs = Vec::new();
    let mut ms = Vec::new();
    let mut total_polls = 0;
    for i in 0..10 {
        let n = opaque(i);
        let (f, p1) = block_on_counted(female(n));
        let (m, p2) = block_on_counted(male(n));
        fs.push(f);
        ms.push(m);
        total_polls += p1 + p2;
    }
    println!("F = {fs:?}");
    println!("M = {ms:?}");
    println!("total polls = {total_polls}");
}
