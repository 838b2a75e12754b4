// forward_upvars: saved locals that live in the bytes of the upvar they are moved out of
// (rust-lang/rust#62958). Arguments of drop-tracking types held across awaits and dropped
// in every state (cancellation after each poll count); argument futures nested three deep,
// cancelled at each level; a panic between the move and the first await, and one after it;
// an argument borrowed across an await (its address must stay put); a Copy argument copied
// in a loop (never forwarded: the copy would read the upvar again); an argument moved on
// one path only; and the 8 KiB argument of #62958's first example. Prints every result,
// the drop order and `size_of` of the futures (compared only for non-lowering builds).
#[path = "support/executor.rs"]
mod executor;
use executor::*;

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Two Drop-tracking arguments held across two awaits, dropped at the end.
async fn two_guards(a: Noisy, b: Noisy, n: u32) -> u32 {
    yield_now().await;
    let first = a.0.len() as u32;
    yield_now().await;
    drop(a);
    first + b.0.len() as u32 + n
}

/// An argument future awaited after one suspension.
async fn use_future<F: Future<Output = u32>>(fut: F) -> u32 {
    let _level = Noisy("use_future level");
    yield_now().await;
    fut.await + 1
}

async fn leaf(tag: &'static str, v: u32) -> u32 {
    let _guard = Noisy(tag);
    yield_now().await;
    v * 10
}

/// The argument is moved into the body, then the body panics before its first await.
async fn panics_before_await(guard: Noisy, explode: bool) -> u32 {
    let kept = guard;
    if explode {
        panic!("before the first await");
    }
    yield_now().await;
    kept.0.len() as u32
}

/// The body panics after the await, while the forwarded argument is live.
async fn panics_after_await(guard: Noisy, explode: bool) -> u32 {
    yield_now().await;
    if explode {
        panic!("after the await, holding {}", guard.0);
    }
    guard.0.len() as u32
}

/// An argument borrowed across an await: the borrow must see the same bytes after it.
async fn borrowed_across(mut buf: [u32; 16], x: u32) -> u32 {
    let first: *const u32 = &buf[0];
    let r = &mut buf;
    r[3] = x;
    yield_now().await;
    r[5] = x + 1;
    let same = std::ptr::eq(first, &r[0]);
    r.iter().sum::<u32>() + same as u32
}

/// A Copy argument copied again on every iteration: each copy must start from the
/// argument's original value.
async fn copied_in_loop(base: [u8; 32], rounds: u32) -> u32 {
    let mut total = 0;
    for i in 0..rounds {
        let mut copy = base;
        copy[0] = copy[0].wrapping_add(i as u8);
        yield_now().await;
        total += copy.iter().map(|&b| b as u32).sum::<u32>();
    }
    total
}

/// The argument is moved out on one path only; on the other it is dropped at the end.
async fn moved_on_one_path(guard: Noisy, take: bool) -> u32 {
    yield_now().await;
    if take {
        let taken = guard;
        yield_now().await;
        taken.0.len() as u32
    } else {
        yield_now().await;
        7
    }
}

/// rust-lang/rust#62958's first example.
async fn big_argument(arg: [u8; 8192]) -> u64 {
    yield_now().await;
    arg.iter().map(|&b| b as u64).sum()
}

fn main() {
    println!("size_of two_guards: {}", std::mem::size_of_val(&two_guards(Noisy("a"), Noisy("b"), 0)));
    println!("size_of nested: {}", std::mem::size_of_val(&use_future(use_future(use_future(leaf("l", 1))))));
    println!("size_of big_argument: {}", std::mem::size_of_val(&big_argument([0; 8192])));

    println!("== two_guards");
    let (v, p) = block_on_counted(two_guards(Noisy("guard a"), Noisy("guard bb"), opaque(3)));
    println!("two_guards = {v} polls {p}");
    for polls in 0..4 {
        println!("-- cancel after {polls} polls");
        let mut fut = Box::pin(two_guards(Noisy("guard a"), Noisy("guard bb"), opaque(1)));
        match poll_n(fut.as_mut(), polls) {
            Some(v) => println!("finished: {v}"),
            None => println!("dropping"),
        }
        drop(fut);
    }

    println!("== nested argument futures");
    let (v, p) = block_on_counted(use_future(use_future(use_future(leaf("leaf", opaque(4))))));
    println!("nested = {v} polls {p}");
    for polls in 0..6 {
        println!("-- cancel after {polls} polls");
        let mut fut = Box::pin(use_future(use_future(use_future(leaf("leaf", opaque(2))))));
        match poll_n(fut.as_mut(), polls) {
            Some(v) => println!("finished: {v}"),
            None => println!("dropping"),
        }
        drop(fut);
    }

    println!("== panics");
    for explode in [false, true] {
        let caught = catch_unwind(AssertUnwindSafe(|| block_on(panics_before_await(Noisy("before"), explode))));
        match caught {
            Ok(v) => println!("panics_before_await({explode}) = {v}"),
            Err(payload) => println!("panics_before_await({explode}) caught: {}", panic_message(payload)),
        }
        let caught = catch_unwind(AssertUnwindSafe(|| block_on(panics_after_await(Noisy("after"), explode))));
        match caught {
            Ok(v) => println!("panics_after_await({explode}) = {v}"),
            Err(payload) => println!("panics_after_await({explode}) caught: {}", panic_message(payload)),
        }
    }

    println!("== borrowed across an await");
    let mut buf = [0u32; 16];
    for (i, b) in buf.iter_mut().enumerate() {
        *b = i as u32 * opaque(1);
    }
    println!("borrowed_across = {}", block_on(borrowed_across(buf, opaque(100))));

    println!("== copied in a loop");
    let mut base = [0u8; 32];
    for (i, b) in base.iter_mut().enumerate() {
        *b = (i as u32 * opaque(3)) as u8;
    }
    println!("copied_in_loop = {}", block_on(copied_in_loop(base, opaque(3))));

    println!("== moved on one path");
    for take in [false, true] {
        println!("moved_on_one_path({take}) = {}", block_on(moved_on_one_path(Noisy("path guard"), take)));
        let mut fut = Box::pin(moved_on_one_path(Noisy("cancelled path guard"), take));
        let _ = poll_n(fut.as_mut(), 2);
        drop(fut);
        println!("cancelled after 2 polls");
    }

    println!("== #62958");
    let mut arg = [0u8; 8192];
    for (i, b) in arg.iter_mut().enumerate() {
        *b = (i as u32 ^ opaque(5)) as u8;
    }
    println!("big_argument = {}", block_on(big_argument(arg)));
}
