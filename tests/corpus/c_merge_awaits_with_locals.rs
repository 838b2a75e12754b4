// The same child future type awaited in several match arms and if/else branches, with
// Drop-printing locals live across those awaits: the same local in every arm, a
// different local of the same type in each arm (mergeable: each arm's Noisy goes to the
// one merged field, and the drop glue must drop the right one), locals of different types
// in different arms (must not merge), 3- and 4-arm merges, merges inside loops, and
// cancellation after every poll count, printing the drop order. Targets merge_states and
// dead_states.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn send(v: u32) -> u32 {
    yield_now().await;
    v * 10
}

async fn send_twice(v: u32) -> u32 {
    yield_now().await;
    yield_now().await;
    v + 1
}

/// One Noisy declared before the match, live across every arm's await.
async fn shared_local(c: u32) -> u32 {
    let _outer = Noisy("shared outer");
    let r = match c {
        0 => send(1).await,
        1 => send(2).await,
        _ => send(3).await,
    };
    println!("  shared_local({c}) got {r}");
    r
}

/// A different Noisy in each arm, all of the same type, all live across the arm's await.
async fn arm_locals(c: u32) -> u32 {
    let r = match c {
        0 => {
            let _a = Noisy("arm0 local");
            send(10).await
        }
        1 => {
            let _b = Noisy("arm1 local");
            send(20).await
        }
        2 => {
            let _c = Noisy("arm2 local");
            send(30).await
        }
        _ => {
            let _d = Noisy("arm3 local");
            send(40).await
        }
    };
    println!("  arm_locals({c}) got {r}");
    r
}

/// Arms holding locals of different types: nothing to merge, still correct.
async fn different_types(c: u32) -> usize {
    match c {
        0 => {
            let n = Noisy("dt noisy");
            let v = send(1).await as usize;
            v + n.0.len()
        }
        1 => {
            let s = String::from("dt string");
            let v = send(2).await as usize;
            v + s.len()
        }
        2 => {
            let v = vec![Noisy("dt vec a"), Noisy("dt vec b")];
            let r = send(3).await as usize;
            r + v.len()
        }
        _ => send(4).await as usize,
    }
}

/// Two Noisys in each arm, one of them moved out after the await.
async fn two_per_arm(c: bool) -> &'static str {
    if c {
        let first = Noisy("then first");
        let _second = Noisy("then second");
        let v = send(5).await;
        println!("  two_per_arm got {v}");
        let keep = first;
        keep.0
    } else {
        let first = Noisy("else first");
        let _second = Noisy("else second");
        let v = send(6).await;
        println!("  two_per_arm got {v}");
        let keep = first;
        keep.0
    }
}

/// Each arm's Noisy is moved away on some inputs before the await (drop flags).
async fn cond_moved(c: u32, give_up: bool) -> u32 {
    let mut sink = Vec::new();
    let r = match c {
        0 => {
            let n = Noisy("cm arm0");
            if give_up {
                sink.push(n);
            }
            send(1).await
        }
        1 => {
            let n = Noisy("cm arm1");
            if give_up {
                sink.push(n);
            }
            send(1).await
        }
        _ => {
            let n = Noisy("cm arm2");
            if give_up {
                sink.push(n);
            }
            send(1).await
        }
    };
    println!("  cond_moved sink holds {}", sink.len());
    r + sink.len() as u32
}

/// Two awaits per arm, the same code in every arm: the second awaits merge first, then
/// the first awaits (whose continuations now share the merged second state).
async fn two_step(c: u32) -> u32 {
    let _g = Noisy("two_step guard");
    let r = match c {
        0 => {
            let x = send(c).await;
            let _b = Noisy("two_step second");
            x + send(2).await
        }
        1 => {
            let x = send(c).await;
            let _b = Noisy("two_step second");
            x + send(2).await
        }
        _ => {
            let x = send(c).await;
            let _b = Noisy("two_step second");
            x + send(2).await
        }
    };
    r + 1
}

/// Arm locals declared before the await of a child of another type too.
async fn mixed_children(c: u32) -> u32 {
    let _g = Noisy("mixed guard");
    match c % 4 {
        0 => {
            let _x = Noisy("mixed 0");
            send(c).await + send_twice(c).await
        }
        1 => {
            let _y = Noisy("mixed 1");
            send(c).await + send_twice(c + 1).await
        }
        2 => send_twice(c).await,
        _ => send_twice(c + 2).await,
    }
}

/// Merges inside a loop; a Noisy per iteration and one for the whole loop.
async fn in_loop(n: u32) -> u32 {
    let _whole = Noisy("loop whole");
    let mut sum = 0;
    for i in 0..n {
        let _it = Noisy("loop iter");
        sum += match i % 3 {
            0 => send(i).await,
            1 => send(i + 100).await,
            _ => {
                let _extra = Noisy("loop extra");
                send(i + 200).await
            }
        };
        if i % 2 == 1 {
            sum += if sum % 2 == 0 { send(1).await } else { send(2).await };
        }
    }
    sum
}

/// A while loop whose arms break or continue after the await.
async fn loop_break(limit: u32) -> u32 {
    let mut i = 0;
    let mut acc = 0;
    while i < 10 {
        i += 1;
        let v = if i % 2 == 0 {
            let _e = Noisy("lb even");
            send(i).await
        } else {
            let _o = Noisy("lb odd");
            send(i + 1).await
        };
        acc += v;
        if acc > limit {
            break;
        }
    }
    acc
}

/// Nested matches: the inner match's arms and the outer arms all await `send`.
async fn nested_match(a: u32, b: u32) -> u32 {
    match a {
        0 => match b {
            0 => send(1).await,
            _ => send(2).await,
        },
        1 => {
            let _n = Noisy("nested a=1");
            match b {
                0 => send(3).await,
                _ => send(4).await,
            }
        }
        _ => send(5).await,
    }
}

/// The scrutinee itself awaits, then the arms await the same child type.
async fn scrutinee_await(c: u32) -> u32 {
    let _s = Noisy("scrutinee guard");
    match send(c).await % 3 {
        0 => send(7).await,
        1 => send(8).await,
        _ => send(9).await,
    }
}

/// Results computed from the same locals after each arm's await.
async fn same_tail(c: u32, base: u32) -> u32 {
    let k = base * 2;
    let r = if c == 0 {
        send(base).await
    } else if c == 1 {
        send(base + 1).await
    } else {
        send(base + 2).await
    };
    r + k
}

fn show(name: &str, r: Option<impl std::fmt::Debug>) {
    match r {
        Some(v) => println!("  {name}: finished with {v:?}"),
        None => println!("  {name}: pending"),
    }
}

/// Creates the future, polls it k times, drops it; for k = 0 up to completion.
macro_rules! cancel_each {
    ($name:expr, $max:expr, $make:expr) => {
        for k in 0..=$max {
            let mut f = Box::pin($make);
            println!("{} cancel after {k} polls", $name);
            let r = poll_n(f.as_mut(), k);
            let done = r.is_some();
            show($name, r);
            drop(f);
            println!("  dropped");
            if done {
                break;
            }
        }
    };
}

fn main() {
    for c in 0..4 {
        let (v, p) = block_on_counted(shared_local(opaque(c)));
        println!("shared_local({c}) = {v} polls {p}");
    }
    for c in 0..5 {
        let (v, p) = block_on_counted(arm_locals(opaque(c)));
        println!("arm_locals({c}) = {v} polls {p}");
    }
    for c in 0..4 {
        let (v, p) = block_on_counted(different_types(opaque(c)));
        println!("different_types({c}) = {v} polls {p}");
    }
    for c in [true, false] {
        let (v, p) = block_on_counted(two_per_arm(opaque(c as u32) == 1));
        println!("two_per_arm({c}) = {v} polls {p}");
    }
    for c in 0..4 {
        let (v, p) = block_on_counted(two_step(opaque(c)));
        println!("two_step({c}) = {v} polls {p}");
    }
    for c in 0..3 {
        for g in [false, true] {
            let (v, p) = block_on_counted(cond_moved(opaque(c), g));
            println!("cond_moved({c}, {g}) = {v} polls {p}");
        }
    }
    for c in 0..5 {
        let (v, p) = block_on_counted(mixed_children(opaque(c)));
        println!("mixed_children({c}) = {v} polls {p}");
    }
    for n in [0, 1, 2, 5] {
        let (v, p) = block_on_counted(in_loop(opaque(n)));
        println!("in_loop({n}) = {v} polls {p}");
    }
    for limit in [0, 15, 1000] {
        let (v, p) = block_on_counted(loop_break(opaque(limit)));
        println!("loop_break({limit}) = {v} polls {p}");
    }
    for a in 0..3 {
        for b in 0..2 {
            let (v, p) = block_on_counted(nested_match(opaque(a), opaque(b)));
            println!("nested_match({a}, {b}) = {v} polls {p}");
        }
    }
    for c in 0..3 {
        let (v, p) = block_on_counted(scrutinee_await(opaque(c)));
        println!("scrutinee_await({c}) = {v} polls {p}");
    }
    for c in 0..3 {
        let (v, p) = block_on_counted(same_tail(opaque(c), 7));
        println!("same_tail({c}) = {v} polls {p}");
    }

    println!("== cancellation");
    for c in 0..4 {
        cancel_each!("shared_local", 3, shared_local(opaque(c)));
        cancel_each!("arm_locals", 3, arm_locals(opaque(c)));
        cancel_each!("different_types", 3, different_types(opaque(c)));
        cancel_each!("mixed_children", 6, mixed_children(opaque(c)));
    }
    for c in [true, false] {
        cancel_each!("two_per_arm", 3, two_per_arm(opaque(c as u32) == 1));
    }
    for c in 0..3 {
        cancel_each!("two_step", 5, two_step(opaque(c)));
    }
    for c in 0..3 {
        cancel_each!("cond_moved", 3, cond_moved(opaque(c), c == 1));
        cancel_each!("cond_moved", 3, cond_moved(opaque(c), c != 1));
    }
    cancel_each!("in_loop", 12, in_loop(opaque(4)));
    cancel_each!("loop_break", 8, loop_break(opaque(15)));
    for a in 0..3 {
        cancel_each!("nested_match", 3, nested_match(opaque(a), opaque(a % 2)));
    }
    cancel_each!("scrutinee_await", 5, scrutinee_await(opaque(1)));

    println!("size_of shared_local future: {}", std::mem::size_of_val(&shared_local(0)));
    println!("size_of arm_locals future: {}", std::mem::size_of_val(&arm_locals(0)));
    println!("size_of two_step future: {}", std::mem::size_of_val(&two_step(0)));
    println!("size_of in_loop future: {}", std::mem::size_of_val(&in_loop(0)));
    println!("size_of nested_match future: {}", std::mem::size_of_val(&nested_match(0, 0)));
}
