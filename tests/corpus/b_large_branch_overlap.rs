// Large futures with large locals in disjoint branches and sequential scopes (candidates
// for overlapping storage), a large array moved between awaits, and checksums of each.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

fn mix(a: &[u32]) -> u32 {
    a.iter().fold(0x811c_9dc5u32, |h, x| (h ^ x).wrapping_mul(0x0100_0193))
}

async fn branches(which: u32) -> u32 {
    if which % 2 == 0 {
        let mut left = [0u32; 512];
        for (i, x) in left.iter_mut().enumerate() {
            *x = i as u32 * which;
        }
        yield_now().await;
        mix(&left)
    } else {
        let mut right = [7u32; 300];
        right[299] = which;
        YieldTimes(2).await;
        let small = [which; 4];
        yield_now().await;
        mix(&right) ^ mix(&small)
    }
}

async fn sequential(seed: u32) -> (u32, u32) {
    let first = {
        let a = [seed; 400];
        yield_now().await;
        mix(&a)
    };
    let second = {
        let mut b = [0u32; 400];
        b[0] = first;
        b[399] = seed;
        yield_now().await;
        mix(&b)
    };
    (first, second)
}

async fn consume(arr: [u32; 256]) -> u32 {
    yield_now().await;
    mix(&arr)
}

async fn move_between(seed: u32) -> u32 {
    let mut arr = [0u32; 256];
    arr[seed as usize % 256] = 99;
    yield_now().await;
    let moved = arr;
    let r1 = consume(moved).await;
    arr[1] = r1;
    yield_now().await;
    r1 ^ consume(arr).await
}

fn main() {
    let s = opaque(6);
    for w in [s, s + 1] {
        let (v, polls) = block_on_counted(branches(w));
        println!("branches({w}) = {v:08x} polls {polls}");
    }
    let ((a, b), polls) = block_on_counted(sequential(s));
    println!("sequential = {a:08x} {b:08x} polls {polls}");
    let (v, polls) = block_on_counted(move_between(s));
    println!("move_between = {v:08x} polls {polls}");

    // Several large futures alive at once in boxes, interleaved.
    let mut futs: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = u32>>>> =
        vec![Box::pin(branches(s)), Box::pin(branches(s + 3)), Box::pin(move_between(s + 2))];
    let mut done = vec![None; futs.len()];
    while done.iter().any(|d| d.is_none()) {
        for (i, f) in futs.iter_mut().enumerate() {
            if done[i].is_none() {
                if let std::task::Poll::Ready(v) = poll_once(f.as_mut()) {
                    println!("future {i} done: {v:08x}");
                    done[i] = Some(v);
                }
            }
        }
    }
    println!("size_of branches: {}", std::mem::size_of_val(&branches(0)));
    println!("size_of sequential: {}", std::mem::size_of_val(&sequential(0)));
    println!("size_of move_between: {}", std::mem::size_of_val(&move_between(0)));
}
