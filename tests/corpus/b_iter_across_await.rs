// Iterators (slice, chars, peekable, chunks, zip) held across awaits inside one future.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn sum_pairs(n: u32) -> Vec<u32> {
    let data: Vec<u32> = (0..n * 4).map(|x| x * x % 17).collect();
    let mut out = Vec::new();
    let mut chunks = data.chunks(3);
    while let Some(c) = chunks.next() {
        yield_now().await;
        out.push(c.iter().sum());
    }
    out
}

async fn tokenize(src: String) -> Vec<String> {
    let mut toks = Vec::new();
    let mut it = src.chars().peekable();
    while let Some(&c) = it.peek() {
        if c.is_ascii_digit() {
            let mut num = String::new();
            while let Some(&d) = it.peek() {
                if !d.is_ascii_digit() {
                    break;
                }
                num.push(d);
                it.next();
                yield_now().await; // the Peekable<Chars> borrowing `src` lives across this
            }
            toks.push(num);
        } else if c == ' ' {
            it.next();
        } else {
            toks.push(c.to_string());
            it.next();
            yield_now().await;
        }
    }
    toks
}

async fn zip_walk(a: &[u8], b: &[u8]) -> u32 {
    let mut acc = 0u32;
    for (i, (x, y)) in a.iter().zip(b.iter().rev()).enumerate() {
        if i % 2 == 1 {
            YieldTimes(2).await;
        }
        acc = acc * 3 % 1000 + (*x as u32) * (*y as u32);
    }
    acc
}

fn main() {
    let n = opaque(3);
    let (v, polls) = block_on_counted(sum_pairs(n));
    println!("sum_pairs = {v:?} polls {polls}");

    let src = format!("12+{}*(7 - 345)", n * 11);
    let (toks, polls) = block_on_counted(tokenize(src));
    println!("tokens = {toks:?} polls {polls}");

    let a: Vec<u8> = (1..=7).map(|x| x as u8 * n as u8).collect();
    let b: Vec<u8> = (10..17).collect();
    let (z, polls) = block_on_counted(zip_walk(&a, &b));
    println!("zip_walk = {z} polls {polls}");

    // An iterator state machine interrupted and dropped half-way.
    let mut fut = Box::pin(async {
        let _n = Noisy("iter-owner");
        let words = vec![String::from("one"), "two".into(), "three".into()];
        let mut count = 0;
        for w in words.iter() {
            yield_now().await;
            println!("  visiting {w}");
            count += w.len();
        }
        count
    });
    println!("partial = {:?}", poll_n(fut.as_mut(), 3));
    drop(fut);
    println!("end");
}
