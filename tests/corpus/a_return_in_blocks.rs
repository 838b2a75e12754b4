// `return` and `?` inside async blocks and async closures (they leave the block, not the enclosing fn), with Noisy alive.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn half(x: u32) -> Result<u32, String> {
    yield_now().await;
    if x % 2 == 0 { Ok(x / 2) } else { Err(format!("{x} is odd")) }
}

async fn outer(x: u32) -> u32 {
    let _o = Noisy("outer fn");
    let inner = async {
        let _i = Noisy("inner block");
        let a = half(x).await?;
        if a == 1 {
            return Ok::<u32, String>(111);
        }
        let b = half(a).await?;
        Ok(b + 1)
    };
    let r = inner.await;
    println!("outer({x}): block gave {r:?}");
    match r {
        Ok(v) => v,
        Err(_) => {
            yield_now().await;
            0
        }
    }
}

fn main() {
    for x in [2, 3, 4, 6, 8] {
        let (v, polls) = block_on_counted(outer(opaque(x)));
        println!("outer({x}) = {v} after {polls} polls");
    }

    let quarter = async |x: u32| -> Result<u32, String> {
        let _c = Noisy("closure body");
        let a = half(x).await?;
        let _mid = Noisy("closure mid");
        let b = half(a).await?;
        Ok(b)
    };
    for x in [8, 6, 5] {
        let (v, polls) = block_on_counted(quarter(opaque(x)));
        println!("quarter({x}) = {v:?} after {polls} polls");
    }

    let find = async |xs: Vec<u32>, t: u32| -> Option<usize> {
        for (i, x) in xs.iter().enumerate() {
            YieldTimes(1).await;
            if *x == t {
                return Some(i);
            }
        }
        None
    };
    let (v, polls) = block_on_counted(find(vec![opaque(5), opaque(7), opaque(9)], opaque(7)));
    println!("find 7 = {v:?} after {polls} polls");
    let (v, polls) = block_on_counted(find(vec![opaque(5)], opaque(1)));
    println!("find 1 = {v:?} after {polls} polls");
}
