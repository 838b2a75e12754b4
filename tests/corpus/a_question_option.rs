// `?` on Option across awaits inside async fns and async blocks, including `?` inside a loop and on a child's output.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn lookup(table: &[Option<u32>], i: usize) -> Option<u32> {
    yield_now().await;
    table.get(i).copied()?
}

async fn chain(table: &[Option<u32>], start: usize) -> Option<u32> {
    let _c = Noisy("chain");
    let mut i = start;
    let mut hops = 0;
    loop {
        let next = lookup(table, i).await?;
        hops += 1;
        if next as usize == i || hops > 5 {
            return Some(next * 100 + hops);
        }
        i = next as usize;
    }
}

async fn both(table: &[Option<u32>], a: usize, b: usize) -> Option<u32> {
    let x = chain(table, a).await?;
    let _mid = Noisy("both mid");
    let y = chain(table, b).await?;
    Some(x + y)
}

fn main() {
    let table = [Some(opaque(2)), None, Some(opaque(3)), Some(opaque(3)), Some(opaque(7)), Some(opaque(1))];
    for s in 0..7 {
        let (v, polls) = block_on_counted(chain(&table, s));
        println!("chain({s}) = {v:?} after {polls} polls");
    }
    for (a, b) in [(0, 3), (0, 4), (5, 0)] {
        let (v, polls) = block_on_counted(both(&table, a, b));
        println!("both({a}, {b}) = {v:?} after {polls} polls");
    }
    // `?` inside an async block
    for k in 0..3 {
        let t = &table;
        let blk = async move {
            let _b = Noisy("block");
            let v = lookup(t, k * 2).await?;
            yield_now().await;
            let w = lookup(t, v as usize + k).await?;
            Some(v + w)
        };
        let (v, polls) = block_on_counted(blk);
        println!("block({k}) = {v:?} after {polls} polls");
    }
}
