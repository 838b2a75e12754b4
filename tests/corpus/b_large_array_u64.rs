// Large futures: a [u64; 256] array held across awaits, nested in a caller, and boxed.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

fn checksum(a: &[u64]) -> u64 {
    a.iter().enumerate().fold(17u64, |acc, (i, x)| {
        acc.wrapping_mul(31).wrapping_add(*x ^ (i as u64))
    })
}

async fn fill_and_sum(seed: u64) -> u64 {
    let mut arr = [0u64; 256];
    for i in 0..arr.len() {
        arr[i] = seed.wrapping_mul(i as u64 + 1) % 1_000_003;
        if i % 64 == 63 {
            yield_now().await;
        }
    }
    yield_now().await;
    arr.reverse();
    YieldTimes(2).await;
    checksum(&arr)
}

async fn two_arrays(seed: u64) -> (u64, u64) {
    let a = [seed; 256];
    let first = fill_and_sum(seed + 1).await;
    let mut b = a;
    b[255] = first % 1000;
    yield_now().await;
    (first, checksum(&b) ^ checksum(&a))
}

async fn boxed_large(seed: u64) -> u64 {
    let inner: std::pin::Pin<Box<dyn std::future::Future<Output = u64>>> =
        Box::pin(fill_and_sum(seed));
    let small = [seed as u8; 8];
    let v = inner.await;
    v ^ small.iter().map(|x| *x as u64).sum::<u64>()
}

fn main() {
    let seed = opaque(5) as u64;
    let (v, polls) = block_on_counted(fill_and_sum(seed));
    println!("fill_and_sum checksum {v} polls {polls}");
    let ((a, b), polls) = block_on_counted(two_arrays(seed));
    println!("two_arrays {a} {b} polls {polls}");
    let (v, polls) = block_on_counted(boxed_large(seed));
    println!("boxed_large {v} polls {polls}");

    println!("size_of fill_and_sum: {}", std::mem::size_of_val(&fill_and_sum(0)));
    println!("size_of two_arrays: {}", std::mem::size_of_val(&two_arrays(0)));
    println!("size_of boxed_large: {}", std::mem::size_of_val(&boxed_large(0)));
    let big_enough = std::mem::size_of_val(&fill_and_sum(0)) >= 256 * 8;
    println!("fill_and_sum holds the whole array: {big_enough}");
}
