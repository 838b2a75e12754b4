// A parent awaiting, in sequence and in branches, a mix of await-free children and
// children that really suspend, with early returns through `?` on Result and Option,
// loops with break/continue, and cancellation after every poll count; plus children
// awaited both directly and through Box::pin(dyn Future), and a child that is await-free
// or suspending depending on its argument. Targets ready_child, dead_states and
// merge_states, with await_free on the children.
#[path = "support/executor.rs"]
mod executor;
use executor::*;
use std::future::Future;
use std::pin::Pin;

#[derive(Debug)]
#[allow(dead_code)]
struct Fail(&'static str, u32);

async fn parse_ready(x: u32) -> Result<u32, Fail> {
    if x % 5 == 4 { Err(Fail("parse_ready", x)) } else { Ok(x * 2) }
}

async fn check_pending(x: u32) -> Result<u32, Fail> {
    yield_now().await;
    if x % 7 == 6 { Err(Fail("check_pending", x)) } else { Ok(x + 3) }
}

async fn lookup_ready(k: u32) -> Option<u32> {
    if k % 3 == 2 { None } else { Some(k * 10) }
}

async fn lookup_pending(k: u32) -> Option<u32> {
    YieldTimes(k % 3).await;
    if k % 4 == 3 { None } else { Some(k + 1) }
}

async fn ready_val(x: u32) -> u32 {
    x ^ 0x55
}

async fn pending_val(x: u32) -> u32 {
    yield_now().await;
    x.wrapping_mul(3)
}

/// Ready or suspending depending on the argument: never await-free.
async fn maybe_yield(x: u32) -> u32 {
    if x % 2 == 1 {
        yield_now().await;
    }
    x + 1
}

/// A chain with `?` after each kind of child, Noisy values across everything.
async fn pipeline(x: u32) -> Result<u32, Fail> {
    let _g = Noisy("pipeline guard");
    let a = parse_ready(x).await?;
    let b = check_pending(a).await?;
    let _mid = Noisy("pipeline mid");
    let c = parse_ready(b).await?;
    let d = check_pending(c).await?;
    Ok(a + b + c + d)
}

/// The same with Option.
async fn option_chain(k: u32) -> Option<u32> {
    let _g = Noisy("option guard");
    let a = lookup_ready(k).await?;
    let b = lookup_pending(a).await?;
    let c = lookup_ready(b).await?;
    let _late = Noisy("option late");
    let d = lookup_pending(c + k).await?;
    Some(a + b + c + d)
}

/// Branches mixing the two kinds of children with the same child type in several arms.
async fn branches(c: u32) -> u32 {
    let _g = Noisy("branches guard");
    let first = match c % 4 {
        0 => ready_val(c).await,
        1 => pending_val(c).await,
        2 => ready_val(c + 1).await + pending_val(c).await,
        _ => pending_val(c + 1).await,
    };
    let second = if first % 2 == 0 {
        let _e = Noisy("branches even");
        ready_val(first).await
    } else {
        let _o = Noisy("branches odd");
        pending_val(first).await
    };
    first + second
}

/// A loop with continue/break after await-free and suspending awaits.
async fn looped(n: u32) -> Result<u32, Fail> {
    let mut acc = 0u32;
    let _whole = Noisy("looped whole");
    for i in 0..n {
        let r = ready_val(i).await;
        if r % 3 == 0 {
            continue;
        }
        let _it = Noisy("looped iter");
        let p = pending_val(r).await;
        if p > 1000 {
            break;
        }
        acc = acc.wrapping_add(parse_ready(p).await.unwrap_or(1));
        acc = acc.wrapping_add(check_pending(i).await?);
    }
    Ok(acc)
}

/// A child used both by direct await and through Box::pin(dyn Future).
async fn direct_and_boxed(x: u32) -> u32 {
    let direct = ready_val(x).await;
    let boxed: Pin<Box<dyn Future<Output = u32>>> = Box::pin(ready_val(x));
    let via_box = boxed.await;
    let mut futs: Vec<Pin<Box<dyn Future<Output = u32>>>> = Vec::new();
    futs.push(Box::pin(ready_val(x + 1)));
    futs.push(Box::pin(pending_val(x + 2)));
    futs.push(Box::pin(maybe_yield(x)));
    futs.push(Box::pin(async move { ready_val(x).await + pending_val(x).await }));
    let mut sum = direct + via_box;
    for f in futs {
        sum += f.await;
    }
    sum + pending_val(direct).await + maybe_yield(x + 1).await
}

/// Early return from inside a branch and from inside a loop.
async fn early(x: u32) -> u32 {
    let _g = Noisy("early guard");
    if ready_val(x).await == 0x55 {
        return 1;
    }
    for i in 0..4 {
        let _it = Noisy("early iter");
        let v = if i % 2 == 0 { ready_val(i + x).await } else { pending_val(i + x).await };
        if v % 4 == 0 {
            return v;
        }
    }
    maybe_yield(x).await
}

/// A generic parent over the child future type.
async fn generic_parent<F: Future<Output = u32>>(f: F, g: F) -> u32 {
    let _n = Noisy("generic parent");
    let a = f.await;
    let b = g.await;
    a * 100 + b
}

macro_rules! cancel_each {
    ($name:expr, $max:expr, $make:expr) => {
        for k in 0..=$max {
            let mut f = Box::pin($make);
            let r = poll_n(f.as_mut(), k);
            println!("{} cancel after {k} polls: {:?}", $name, r);
            let done = r.is_some();
            drop(f);
            println!("  dropped");
            if done {
                break;
            }
        }
    };
}

fn main() {
    for x in [0, 1, 2, 3, 4, 9, 13] {
        let (v, p) = block_on_counted(pipeline(opaque(x)));
        println!("pipeline({x}) = {v:?} polls {p}");
    }
    for k in 0..7 {
        let (v, p) = block_on_counted(option_chain(opaque(k)));
        println!("option_chain({k}) = {v:?} polls {p}");
    }
    for c in 0..8 {
        let (v, p) = block_on_counted(branches(opaque(c)));
        println!("branches({c}) = {v} polls {p}");
    }
    for n in [0, 1, 3, 6, 8] {
        let (v, p) = block_on_counted(looped(opaque(n)));
        println!("looped({n}) = {v:?} polls {p}");
    }
    for x in 0..3 {
        let (v, p) = block_on_counted(direct_and_boxed(opaque(x)));
        println!("direct_and_boxed({x}) = {v} polls {p}");
    }
    for x in [0, 1, 2, 3, 6] {
        let (v, p) = block_on_counted(early(opaque(x)));
        println!("early({x}) = {v} polls {p}");
    }
    let (v, p) = block_on_counted(generic_parent(ready_val(opaque(1)), ready_val(opaque(2))));
    println!("generic_parent(ready) = {v} polls {p}");
    let (v, p) = block_on_counted(generic_parent(pending_val(opaque(1)), pending_val(opaque(2))));
    println!("generic_parent(pending) = {v} polls {p}");
    let (v, p) = block_on_counted(generic_parent(maybe_yield(opaque(1)), maybe_yield(opaque(2))));
    println!("generic_parent(maybe) = {v} polls {p}");

    println!("== cancellation");
    for x in [1, 3, 9] {
        cancel_each!("pipeline", 4, pipeline(opaque(x)));
    }
    for k in [0, 1, 4] {
        cancel_each!("option_chain", 8, option_chain(opaque(k)));
    }
    for c in 0..4 {
        cancel_each!("branches", 4, branches(opaque(c)));
    }
    cancel_each!("looped", 12, looped(opaque(4)));
    cancel_each!("direct_and_boxed", 8, direct_and_boxed(opaque(1)));
    for x in [0, 1, 3] {
        cancel_each!("early", 4, early(opaque(x)));
    }
    cancel_each!("generic_parent", 3, generic_parent(pending_val(opaque(4)), pending_val(opaque(5))));

    println!("size_of pipeline future: {}", std::mem::size_of_val(&pipeline(0)));
    println!("size_of option_chain future: {}", std::mem::size_of_val(&option_chain(0)));
    println!("size_of branches future: {}", std::mem::size_of_val(&branches(0)));
    println!("size_of early future: {}", std::mem::size_of_val(&early(0)));
}
