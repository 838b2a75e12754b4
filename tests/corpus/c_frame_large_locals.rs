// Spliced children that hold large locals: share_stack_slots and construct_in_place. Each
// level of a three-deep chain keeps a 4 KiB array across its await, filled from its
// argument and checked after the child returns; one level keeps it on the stack only
// (across an await-free child, whose state dead_states removes) and one in its future. A
// Noisy guard at each level prints the drop order; every chain is cancelled after each
// poll count, and a panic in the leaf is caught. Prints `size_of` of the futures (compared
// only for non-lowering builds) and every checksum.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

use std::panic::{AssertUnwindSafe, catch_unwind};

fn fill(seed: u32) -> [u8; 4096] {
    let mut buf = [0u8; 4096];
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (seed as usize).wrapping_mul(31).wrapping_add(i * 7) as u8;
    }
    buf
}

fn checksum(buf: &[u8]) -> u64 {
    buf.iter().enumerate().fold(0u64, |acc, (i, &b)| acc.wrapping_mul(131).wrapping_add(b as u64 ^ i as u64))
}

async fn leaf(seed: u32, yields: u32, explode: bool) -> u64 {
    let _guard = Noisy("leaf guard");
    let buf = fill(seed);
    for _ in 0..yields {
        yield_now().await;
    }
    if explode {
        panic!("leaf exploded at seed {seed}");
    }
    checksum(&buf[..1024])
}

async fn ready_twice(x: u64) -> u64 {
    x.wrapping_mul(2)
}

async fn middle(seed: u32, yields: u32, explode: bool) -> u64 {
    let _guard = Noisy("middle guard");
    let mut buf = fill(seed ^ 0x55);
    let inner = leaf(seed + 1, yields, explode).await;
    buf[17] ^= inner as u8;
    // Across an await that never suspends only: this buffer may live on the stack.
    let stack_only = fill(seed ^ 0xaa);
    let doubled = ready_twice(checksum(&stack_only)).await;
    checksum(&buf) ^ inner ^ doubled
}

async fn top(seed: u32, yields: u32, explode: bool) -> u64 {
    let _guard = Noisy("top guard");
    let buf = fill(seed.wrapping_mul(3));
    let m = middle(seed + 10, yields, explode).await;
    let again = checksum(&buf);
    m.wrapping_add(again)
}

/// Two large arrays whose lives do not overlap, each across its own await.
async fn sequential(seed: u32) -> u64 {
    let first = {
        let a = fill(seed);
        yield_now().await;
        checksum(&a)
    };
    let second = {
        let b = fill(seed + 1);
        yield_now().await;
        checksum(&b)
    };
    first ^ second.rotate_left(7)
}

fn main() {
    println!("size_of top future: {}", std::mem::size_of_val(&top(0, 0, false)));
    println!("size_of sequential future: {}", std::mem::size_of_val(&sequential(0)));
    for (seed, yields) in [(1u32, 0u32), (2, 1), (3, 3)] {
        let (v, p) = block_on_counted(top(opaque(seed), opaque(yields), false));
        println!("top({seed}, {yields}) = {v:#x} polls {p}");
    }
    println!("sequential = {:#x}", block_on(sequential(opaque(9))));

    // Cancel after every poll count: the guards drop innermost first.
    for polls in 0..4 {
        println!("-- cancel after {polls} polls");
        let mut fut = Box::pin(top(opaque(4), opaque(2), false));
        match poll_n(fut.as_mut(), polls) {
            Some(v) => println!("finished early: {v:#x}"),
            None => println!("dropping"),
        }
        drop(fut);
    }

    // A panic in the leaf unwinds through all three levels.
    let caught = catch_unwind(AssertUnwindSafe(|| block_on(top(opaque(5), opaque(1), true))));
    match caught {
        Ok(v) => println!("no panic: {v:#x}"),
        Err(payload) => println!("caught: {}", panic_message(payload)),
    }
}
