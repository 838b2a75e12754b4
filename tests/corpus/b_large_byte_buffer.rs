// Large futures: a [u8; 4096] buffer written in chunks across awaits, then checksummed;
// plus several such futures interleaved by the round-robin executor.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

use std::cell::RefCell;
use std::rc::Rc;

fn adler(buf: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in buf {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

async fn fill_buffer(seed: u8, chunk: usize) -> u32 {
    let mut buf = [0u8; 4096];
    let mut pos = 0;
    let mut round = 0u8;
    while pos < buf.len() {
        let end = (pos + chunk).min(buf.len());
        for (i, b) in buf[pos..end].iter_mut().enumerate() {
            *b = seed.wrapping_add(round).wrapping_mul(i as u8 | 1);
        }
        pos = end;
        round = round.wrapping_add(1);
        yield_now().await;
    }
    let head = &buf[..16];
    yield_now().await;
    println!("  seed {seed} head {:?}", &head[..4]);
    adler(&buf)
}

async fn copy_twice(seed: u8) -> (u32, u32) {
    let mut src = [seed; 4096];
    src[100] = 7;
    yield_now().await;
    let dst = src;
    src[200] = 9;
    yield_now().await;
    (adler(&src), adler(&dst))
}

fn main() {
    let seed = opaque(3) as u8;
    let (v, polls) = block_on_counted(fill_buffer(seed, 1024));
    println!("fill_buffer(1024) adler {v:08x} polls {polls}");
    let (v, polls) = block_on_counted(fill_buffer(seed, 1000));
    println!("fill_buffer(1000) adler {v:08x} polls {polls}");
    let ((a, b), polls) = block_on_counted(copy_twice(seed));
    println!("copy_twice {a:08x} {b:08x} polls {polls}");

    let results = Rc::new(RefCell::new(Vec::new()));
    let mut tasks: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>> = Vec::new();
    for i in 0..3u8 {
        let r = results.clone();
        tasks.push(Box::pin(async move {
            let v = fill_buffer(seed + i, 512 * (i as usize + 1)).await;
            r.borrow_mut().push((i, v));
        }));
    }
    let polls = run_all(tasks);
    for (i, v) in results.borrow().iter() {
        println!("task {i} adler {v:08x}");
    }
    println!("run_all polls {polls}");
    println!("size_of fill_buffer: {}", std::mem::size_of_val(&fill_buffer(0, 1)));
    println!("size_of copy_twice: {}", std::mem::size_of_val(&copy_twice(0)));
}
