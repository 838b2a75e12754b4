// The same child future type awaited in several match arms (one suspension point per arm).
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn send(v: u32) -> u32 {
    yield_now().await;
    v * 10
}

async fn dispatch(c: u32) -> u32 {
    match c {
        0 => send(1).await,
        1 => send(2).await,
        _ => send(3).await,
    }
}

async fn dispatch_two(c: u32) -> u32 {
    let first = match c % 3 {
        0 => send(c).await + send(c + 1).await,
        1 => {
            let _n = Noisy("arm one");
            send(c + 2).await
        }
        _ => 5,
    };
    let second = match first {
        0..=20 => send(first).await,
        21..=60 => send(first + 1).await + 1,
        _ => send(0).await,
    };
    first + second
}

async fn dispatch_in_loop(n: u32) -> u32 {
    let mut sum = 0;
    for i in 0..n {
        sum += match i % 4 {
            0 => send(i).await,
            1 => send(i).await + 1,
            2 => dispatch(i).await,
            _ => 0,
        };
    }
    sum
}

fn main() {
    for c in 0..4 {
        let (v, polls) = block_on_counted(dispatch(opaque(c)));
        println!("dispatch({c}) = {v} after {polls} polls");
    }
    for c in 0..7 {
        let (v, polls) = block_on_counted(dispatch_two(opaque(c)));
        println!("dispatch_two({c}) = {v} after {polls} polls");
    }
    for n in [0, 1, 4, 9] {
        let (v, polls) = block_on_counted(dispatch_in_loop(opaque(n)));
        println!("dispatch_in_loop({n}) = {v} after {polls} polls");
    }
    // cancel dispatch_two in the middle of the arm holding a Noisy
    let mut f = Box::pin(dispatch_two(opaque(1)));
    println!("after 1 poll: {:?}", poll_n(f.as_mut(), 1));
    drop(f);
    println!("cancelled dispatch_two(1)");
    println!("size_of dispatch future: {}", std::mem::size_of_val(&dispatch(0)));
    println!("size_of send future: {}", std::mem::size_of_val(&send(0)));
}
