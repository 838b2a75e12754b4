// `gen` blocks used as iterators: simple yields, state held across yields (String, Vec,
// outside borrows, Noisy), early drop of a half-consumed generator, and use inside async.
#![feature(gen_blocks)]
#[path = "support/executor.rs"]
mod executor;
use executor::*;

fn countdown(n: u32) -> impl Iterator<Item = u32> {
    gen move {
        let mut i = n;
        while i > 0 {
            yield i;
            i -= 1;
        }
    }
}

fn fib_gen(limit: u64) -> impl Iterator<Item = u64> {
    gen move {
        let (mut a, mut b) = (0u64, 1u64);
        while a <= limit {
            yield a;
            let t = a + b;
            a = b;
            b = t;
        }
    }
}

fn words<'a>(text: &'a str) -> impl Iterator<Item = String> + 'a {
    gen move {
        let _g = Noisy("words-gen");
        let mut current = String::new();
        for c in text.chars() {
            if c == ' ' {
                if !current.is_empty() {
                    yield std::mem::take(&mut current).to_uppercase();
                }
            } else {
                current.push(c);
            }
        }
        if !current.is_empty() {
            yield current;
        }
    }
}

fn windows_sum(data: &[u32]) -> impl Iterator<Item = u32> + '_ {
    gen move {
        let buf: Vec<u32> = data.iter().map(|x| x * 2).collect();
        // gen blocks are not pinned, so the owned buffer is indexed, not borrowed, across yields
        let mut i = 0;
        while i + 3 <= buf.len() {
            yield buf[i] + buf[i + 1] + buf[i + 2];
            i += 1;
        }
    }
}

async fn consume_in_async(n: u32) -> u32 {
    let mut total = 0;
    for v in countdown(n) {
        yield_now().await;
        total += v * v;
    }
    total
}

fn main() {
    let n = opaque(5);
    println!("simple: {:?}", gen { yield 1; yield 2; yield 3; }.collect::<Vec<i32>>());
    println!("countdown: {:?}", countdown(n).collect::<Vec<_>>());
    println!("fib: {:?}", fib_gen(n as u64 * 20).collect::<Vec<_>>());
    println!("windows: {:?}", windows_sum(&[1, 2, 3, 4, n]).collect::<Vec<_>>());

    let text = format!("the quick  brown fox {n}");
    let all: Vec<String> = words(&text).collect();
    println!("words: {all:?}");

    let mut half = words(&text);
    println!("first word: {:?}", half.next());
    println!("second word: {:?}", half.next());
    drop(half);
    println!("after dropping half-consumed generator");

    let chained: u32 = countdown(n).zip(fib_gen(1000)).map(|(a, b)| a * b as u32).sum();
    println!("chained = {chained}");

    let (t, polls) = block_on_counted(consume_in_async(n));
    println!("consume_in_async = {t} polls {polls}");
}
