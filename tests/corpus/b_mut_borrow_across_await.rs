// `&mut` references to locals held and written through across awaits, including reborrows
// passed into child futures and a `&mut` into a struct field.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

struct Stats {
    count: u32,
    total: u64,
    log: Vec<&'static str>,
}

async fn bump(slot: &mut u64, by: u64) {
    yield_now().await;
    *slot += by;
}

async fn record(stats: &mut Stats, tag: &'static str, v: u32) {
    stats.count += 1;
    yield_now().await;
    stats.total += v as u64;
    stats.log.push(tag);
}

async fn driver(n: u32) -> (u64, Stats) {
    let mut counter: u64 = 0;
    let mut stats = Stats { count: 0, total: 0, log: Vec::new() };
    {
        let c = &mut counter;
        for i in 0..n {
            bump(c, i as u64 + 1).await;
            *c *= 2;
        }
    }
    let total_ref = &mut stats.total;
    bump(total_ref, 1000).await;
    *total_ref += 1;
    record(&mut stats, "a", n).await;
    record(&mut stats, "b", n * 2).await;
    let mut arr = [0u32; 6];
    let (left, right) = arr.split_at_mut(3);
    for i in 0..3 {
        left[i] = i as u32 + n;
        yield_now().await;
        right[2 - i] = left[i] * 10;
    }
    println!("  arr = {arr:?}");
    (counter, stats)
}

async fn swap_dance(mut a: String, mut b: String) -> (String, String) {
    let ra = &mut a;
    let rb = &mut b;
    for round in 0..3 {
        yield_now().await;
        std::mem::swap(ra, rb);
        ra.push_str(&round.to_string());
    }
    (a, b)
}

fn main() {
    let n = opaque(4);
    let ((c, s), polls) = block_on_counted(driver(n));
    println!("counter = {c}, count = {}, total = {}, log = {:?}, polls = {polls}",
        s.count, s.total, s.log);

    let ((a, b), polls) = block_on_counted(swap_dance("left".into(), format!("right{n}")));
    println!("swap_dance -> {a} {b} polls {polls}");

    let mut outside = vec![1u32, 2, 3];
    let fut = async {
        let v = &mut outside;
        for i in 0..3 {
            YieldTimes(i).await;
            v.push(v[i as usize] * n);
        }
        v.len()
    };
    let (len, polls) = block_on_counted(fut);
    println!("outside len {len} = {outside:?} polls {polls}");
}
