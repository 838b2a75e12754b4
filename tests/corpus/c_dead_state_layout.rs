// Parents that await await-free children (whose suspend states ready_child cuts and
// dead_states removes) while holding large arrays, borrowed buffers and Drop-printing
// values, some of them also across a real suspension elsewhere: the fields of the dead
// states become ordinary locals or move to the live state that holds the same value.
// Prints every result, the drop order, `size_of` of the futures (compared only for
// non-lowering builds), and cancels each parent after every poll count.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn ready_len(n: usize) -> usize {
    n * 2 + 1
}

async fn ready_sum(xs: &[u8]) -> u64 {
    xs.iter().map(|&x| x as u64).sum()
}

async fn ready_pair(a: u64, b: u64) -> (u64, u64) {
    (a.max(b), a.min(b))
}

async fn ready_noisy_inside(tag: u32) -> u32 {
    let _n = Noisy("inside ready child");
    tag + 1
}

async fn suspends(v: u64) -> u64 {
    yield_now().await;
    v + 1000
}

/// A big buffer held only across the await of an await-free child: its saved local lives
/// in the dead state only, and becomes an ordinary local.
async fn big_only_dead(seed: u8) -> u64 {
    let mut buf = [0u8; 2048];
    for (i, b) in buf.iter_mut().enumerate() {
        *b = seed.wrapping_add(i as u8);
    }
    let l = ready_len(buf.len()).await;
    let s = ready_sum(&buf[..64]).await;
    buf[7] as u64 + l as u64 + s
}

/// The same buffer, then a real suspension after the big value is gone.
async fn big_then_suspend(seed: u8) -> u64 {
    let total = {
        let buf = [seed; 1024];
        let s = ready_sum(&buf).await;
        s + ready_len(buf.len()).await as u64
    };
    suspends(total).await
}

/// A Noisy held across an await-free child and across a real suspension.
async fn noisy_across_both(x: u64) -> u64 {
    let _keep = Noisy("across both");
    let (hi, lo) = ready_pair(x, 17).await;
    let y = suspends(hi - lo).await;
    let _late = Noisy("late, across the await-free child only");
    let z = ready_len(y as usize).await as u64;
    y + z
}

/// Large value across a real suspension, small one across the dead state.
async fn big_across_live(seed: u64) -> u64 {
    let mut table = [0u64; 256];
    for (i, t) in table.iter_mut().enumerate() {
        *t = seed * i as u64;
    }
    let _n = Noisy("big_across_live guard");
    let a = suspends(table[3]).await;
    let b = ready_pair(a, table[255]).await;
    let c = suspends(b.0).await;
    table[1] + a + b.1 + c
}

/// A borrow of a local held across the await-free awaits and a real one.
async fn borrowed_across(seed: u8) -> u64 {
    let data = [seed, seed.wrapping_mul(3), 9, 200];
    let view = &data[1..];
    let s1 = ready_sum(view).await;
    let s2 = suspends(s1).await;
    let s3 = ready_sum(view).await;
    s1 + s2 + s3 + view.len() as u64
}

/// Several await-free children in a row with Noisy values of nested scopes.
async fn chain_of_ready(x: u32) -> u32 {
    let _a = Noisy("chain a");
    let p = ready_noisy_inside(x).await;
    let q = {
        let _b = Noisy("chain b");
        let q = ready_noisy_inside(p).await;
        ready_len(q as usize).await as u32
    };
    let _c = Noisy("chain c");
    let r = ready_noisy_inside(q).await;
    p + q + r
}

/// The same, with a real suspension between them: some states live, some dead.
async fn chain_with_yield(x: u32) -> u32 {
    let _a = Noisy("cwy a");
    let p = ready_noisy_inside(x).await;
    yield_now().await;
    let _b = Noisy("cwy b");
    let q = ready_noisy_inside(p).await;
    yield_now().await;
    let r = ready_noisy_inside(q).await;
    drop(_a);
    yield_now().await;
    p + q + r
}

/// In a loop: await-free child every iteration, a real suspension every other one.
async fn loop_mixed(n: u32) -> u64 {
    let _whole = Noisy("loop_mixed whole");
    let mut acc = [0u64; 16];
    for i in 0..n {
        let _it = Noisy("loop_mixed iter");
        let l = ready_len(i as usize).await as u64;
        acc[(i % 16) as usize] += l;
        if i % 2 == 1 {
            acc[0] = suspends(acc[0]).await;
        }
    }
    acc.iter().sum()
}

/// Branches: one awaits only await-free children, the other suspends.
async fn branchy(c: u32) -> u64 {
    let big = [c as u64; 64];
    if c % 2 == 0 {
        let _e = Noisy("branchy even");
        ready_sum(&[1, 2, 3]).await + ready_len(big.len()).await as u64
    } else {
        let _o = Noisy("branchy odd");
        suspends(big[0]).await + big[63]
    }
}

/// Async blocks as await-free children, capturing by reference and by copy.
async fn blocks_as_children(x: u64) -> u64 {
    let arr = [x; 32];
    let _g = Noisy("blocks guard");
    let a = async { arr.iter().sum::<u64>() }.await;
    let b = suspends(a).await;
    let c = async move { b * 2 }.await;
    let d = async { async { arr[0] + c }.await }.await;
    a + b + c + d
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
    for s in [0u8, 5, 250] {
        let s2 = opaque(s as u32) as u8;
        let (v, p) = block_on_counted(big_only_dead(s2));
        println!("big_only_dead({s}) = {v} polls {p}");
        let (v, p) = block_on_counted(big_then_suspend(s2));
        println!("big_then_suspend({s}) = {v} polls {p}");
        let (v, p) = block_on_counted(borrowed_across(s2));
        println!("borrowed_across({s}) = {v} polls {p}");
    }
    for x in [0u64, 17, 40] {
        let (v, p) = block_on_counted(noisy_across_both(opaque(x as u32) as u64));
        println!("noisy_across_both({x}) = {v} polls {p}");
        let (v, p) = block_on_counted(big_across_live(opaque(x as u32) as u64));
        println!("big_across_live({x}) = {v} polls {p}");
        let (v, p) = block_on_counted(blocks_as_children(opaque(x as u32) as u64));
        println!("blocks_as_children({x}) = {v} polls {p}");
    }
    for x in 0..2 {
        let (v, p) = block_on_counted(chain_of_ready(opaque(x)));
        println!("chain_of_ready({x}) = {v} polls {p}");
        let (v, p) = block_on_counted(chain_with_yield(opaque(x)));
        println!("chain_with_yield({x}) = {v} polls {p}");
    }
    for n in [0, 1, 4] {
        let (v, p) = block_on_counted(loop_mixed(opaque(n)));
        println!("loop_mixed({n}) = {v} polls {p}");
    }
    for c in 0..4 {
        let (v, p) = block_on_counted(branchy(opaque(c)));
        println!("branchy({c}) = {v} polls {p}");
    }

    println!("== cancellation");
    cancel_each!("big_only_dead", 2, big_only_dead(opaque(3) as u8));
    cancel_each!("big_then_suspend", 3, big_then_suspend(opaque(3) as u8));
    cancel_each!("noisy_across_both", 3, noisy_across_both(opaque(5) as u64));
    cancel_each!("big_across_live", 4, big_across_live(opaque(5) as u64));
    cancel_each!("borrowed_across", 3, borrowed_across(opaque(5) as u8));
    cancel_each!("chain_of_ready", 2, chain_of_ready(opaque(1)));
    cancel_each!("chain_with_yield", 5, chain_with_yield(opaque(1)));
    cancel_each!("loop_mixed", 4, loop_mixed(opaque(5)));
    for c in 0..2 {
        cancel_each!("branchy", 3, branchy(opaque(c)));
    }
    cancel_each!("blocks_as_children", 3, blocks_as_children(opaque(2) as u64));

    println!("size_of big_only_dead future: {}", std::mem::size_of_val(&big_only_dead(0)));
    println!("size_of big_then_suspend future: {}", std::mem::size_of_val(&big_then_suspend(0)));
    println!("size_of noisy_across_both future: {}", std::mem::size_of_val(&noisy_across_both(0)));
    println!("size_of big_across_live future: {}", std::mem::size_of_val(&big_across_live(0)));
    println!("size_of borrowed_across future: {}", std::mem::size_of_val(&borrowed_across(0)));
    println!("size_of chain_of_ready future: {}", std::mem::size_of_val(&chain_of_ready(0)));
    println!("size_of chain_with_yield future: {}", std::mem::size_of_val(&chain_with_yield(0)));
    println!("size_of loop_mixed future: {}", std::mem::size_of_val(&loop_mixed(0)));
    println!("size_of branchy future: {}", std::mem::size_of_val(&branchy(0)));
    println!("size_of blocks_as_children future: {}", std::mem::size_of_val(&blocks_as_children(0)));
}
