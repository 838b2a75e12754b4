// Awaits inside for, while, loop-with-break-value and labelled nested loops, with loop-carried state.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn step(x: u32) -> u32 {
    yield_now().await;
    x * 2 + 1
}

async fn for_loop(n: u32) -> u32 {
    let mut acc = 0;
    for i in 0..n {
        acc += step(i).await;
    }
    acc
}

async fn while_loop(limit: u32) -> (u32, u32) {
    let mut v = 1;
    let mut iters = 0;
    while v < limit {
        v = step(v).await;
        iters += 1;
    }
    (v, iters)
}

async fn loop_break(start: u32) -> u32 {
    let mut x = start;
    let found = loop {
        let y = step(x).await;
        if y % 3 == 0 {
            break y;
        }
        x += 1;
    };
    found + 1000
}

async fn nested_loops(n: u32) -> u32 {
    let mut total = 0;
    'outer: for i in 0..n {
        let mut j = 0;
        while j < n {
            let s = step(i + j).await;
            if s > 9 {
                continue 'outer;
            }
            total += s;
            j += 1;
        }
        YieldTimes(i).await;
    }
    total
}

async fn labelled_block(x: u32) -> u32 {
    let v = 'blk: {
        if step(x).await > 5 {
            break 'blk 1;
        }
        YieldTimes(3).await;
        2
    };
    v * 100 + x
}

fn main() {
    for n in 0..4 {
        let (v, polls) = block_on_counted(for_loop(opaque(n)));
        println!("for_loop({n}) = {v} after {polls} polls");
    }
    for lim in [0, 1, 2, 10, 50] {
        let ((v, it), polls) = block_on_counted(while_loop(opaque(lim)));
        println!("while_loop({lim}) = {v} in {it} iterations, {polls} polls");
    }
    for s in 0..5 {
        let (v, polls) = block_on_counted(loop_break(opaque(s)));
        println!("loop_break({s}) = {v} after {polls} polls");
    }
    for n in 0..5 {
        let (v, polls) = block_on_counted(nested_loops(opaque(n)));
        println!("nested_loops({n}) = {v} after {polls} polls");
    }
    for x in 0..4 {
        let (v, polls) = block_on_counted(labelled_block(opaque(x)));
        println!("labelled_block({x}) = {v} after {polls} polls");
    }
    println!("size_of for_loop future: {}", std::mem::size_of_val(&for_loop(0)));
    println!("size_of nested_loops future: {}", std::mem::size_of_val(&nested_loops(0)));
}
