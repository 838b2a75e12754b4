// Awaits of the same child in match arms that each bind their own values before the
// await, values still in scope (storage-live) at the await but not used after it, as a
// protocol handler's command arms do. The resume code of two such awaits differs only in
// the storage markers of those bindings, which merge_states leaves out of its comparison;
// the merged code must still start and end every binding's storage on each path.
// Also: a binding used after the await in one arm only (must not merge with the others),
// a binding declared before the match and first written after it (storage-live where the
// arms meet), Drop-printing locals in some arms, a loop around the match, and
// cancellation after every poll count. Targets merge_states and dead_states.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn reply(code: u32, payload: u32) -> u32 {
    yield_now().await;
    code.wrapping_mul(1000).wrapping_add(payload)
}

fn checksum(bytes: &[u8]) -> u32 {
    bytes.iter().fold(7u32, |acc, &b| acc.wrapping_mul(31).wrapping_add(b as u32))
}

/// A command loop: each arm computes its own values, then awaits `reply`.
async fn handler(frames: &[[u8; 4]]) -> u32 {
    let mut total = 0;
    for frame in frames {
        let cmd = frame[0];
        let arg = frame[1] as u32;
        let crc = checksum(frame);
        if crc % 17 == 3 {
            continue;
        }
        total += match cmd {
            0 => reply(0, arg).await,
            1 => {
                let index = arg as usize % 4;
                let value = frame[index] as u32;
                reply(1, value).await
            }
            2 => {
                let page = arg * 64;
                let doubled = page * 2;
                let label = if doubled > 500 { 3 } else { 4 };
                reply(label, doubled).await
            }
            3 => {
                let (lo, hi) = (frame[2] as u32, frame[3] as u32);
                reply(3, lo | hi << 8).await
            }
            4 => {
                let _trace = Noisy("cmd 4 trace");
                let shifted = arg << 3;
                reply(4, shifted).await
            }
            5 => {
                let _trace = Noisy("cmd 5 trace");
                reply(5, arg).await
            }
            _ => {
                let unknown = cmd as u32;
                reply(9, unknown).await
            }
        };
    }
    total
}

/// One arm uses its binding after the await: that arm's code differs.
async fn used_after(c: u32) -> u32 {
    match c {
        0 => {
            let a = c + 5;
            let b = a * 3;
            reply(1, b).await
        }
        1 => {
            let a = c + 6;
            let r = reply(1, a).await;
            r + a
        }
        _ => {
            let z = c * 7;
            reply(1, z).await
        }
    }
}

/// A local declared before the match and first written after it: its storage is live
/// where the arms meet.
async fn declared_before(c: u32) -> u32 {
    let late: u32;
    let r = match c {
        0 => {
            let x = c + 1;
            reply(2, x).await
        }
        _ => {
            let y = c + 2;
            reply(2, y).await
        }
    };
    late = r / 2;
    late + 1
}

/// Arms nested in an if, bindings of several types.
async fn nested(c: u32, flag: bool) -> u32 {
    if flag {
        match c % 3 {
            0 => {
                let s: u16 = 40;
                reply(5, s as u32).await
            }
            1 => {
                let t: u64 = 41;
                reply(5, t as u32).await
            }
            _ => {
                let arr = [c; 3];
                reply(5, arr[1]).await
            }
        }
    } else {
        let w = c.wrapping_sub(1);
        reply(5, w).await
    }
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
    let n = opaque(0) as u8;
    let frames: Vec<[u8; 4]> = (0..24u8).map(|i| [i % 8 + n, i.wrapping_mul(37), i ^ 5, i + 1]).collect();
    let (v, p) = block_on_counted(handler(&frames));
    println!("handler = {v} polls {p}");
    for c in 0..3 {
        let (v, p) = block_on_counted(used_after(opaque(c)));
        println!("used_after({c}) = {v} polls {p}");
    }
    for c in 0..2 {
        let (v, p) = block_on_counted(declared_before(opaque(c)));
        println!("declared_before({c}) = {v} polls {p}");
    }
    for c in 0..4 {
        for flag in [false, true] {
            let (v, p) = block_on_counted(nested(opaque(c), flag));
            println!("nested({c}, {flag}) = {v} polls {p}");
        }
    }

    println!("== cancellation");
    for start in 0..8u8 {
        let some: Vec<[u8; 4]> = (start..start + 3).map(|i| [i % 8, i * 3, i, 2]).collect();
        cancel_each!("handler", 7, handler(&some));
    }
    for c in 0..3 {
        cancel_each!("used_after", 2, used_after(opaque(c)));
    }
    for c in 0..2 {
        cancel_each!("declared_before", 2, declared_before(opaque(c)));
    }
    for c in 0..3 {
        cancel_each!("nested", 2, nested(opaque(c), true));
    }

    println!("size_of handler future: {}", std::mem::size_of_val(&handler(&frames)));
    println!("size_of used_after future: {}", std::mem::size_of_val(&used_after(0)));
    println!("size_of nested future: {}", std::mem::size_of_val(&nested(0, true)));
}
