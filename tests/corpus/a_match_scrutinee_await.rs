// Awaits in match scrutinees and guards, bindings held across awaits inside arms, while-let over an awaited Option.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

#[derive(Debug)]
enum Msg {
    Data(Vec<u32>),
    Ping(u32),
    Stop,
}

async fn recv(i: u32) -> Msg {
    YieldTimes(i % 2).await;
    match i % 4 {
        0 => Msg::Data(vec![i, i + 1, i + 2]),
        1 => Msg::Ping(i),
        2 => Msg::Data(Vec::new()),
        _ => Msg::Stop,
    }
}

async fn check(x: u32) -> bool {
    yield_now().await;
    x > 4
}

async fn handle(i: u32) -> u32 {
    match recv(i).await {
        Msg::Data(v) if check(v.len() as u32 + i).await => {
            // `v` is live across this await
            yield_now().await;
            v.iter().sum()
        }
        Msg::Data(v) => {
            let _n = Noisy("small data");
            YieldTimes(2).await;
            v.len() as u32
        }
        Msg::Ping(p) if check(p).await => p * 100,
        Msg::Ping(p) => p,
        Msg::Stop => 9999,
    }
}

async fn next(counter: &mut u32) -> Option<u32> {
    yield_now().await;
    *counter += 1;
    if *counter <= 4 { Some(*counter * 3) } else { None }
}

async fn drain(start: u32) -> u32 {
    let mut c = start;
    let mut total = 0;
    while let Some(v) = next(&mut c).await {
        total += match (v % 2, check(v).await) {
            (0, true) => v,
            (0, false) => 1,
            (_, b) => b as u32 * 10,
        };
    }
    total
}

fn main() {
    for i in 0..9 {
        let (v, polls) = block_on_counted(handle(opaque(i)));
        println!("handle({i}) = {v} after {polls} polls");
    }
    for s in 0..3 {
        let (v, polls) = block_on_counted(drain(opaque(s)));
        println!("drain({s}) = {v} after {polls} polls");
    }
    println!("recv(5) = {:?}", block_on(recv(opaque(5))));
    println!("size_of handle future: {}", std::mem::size_of_val(&handle(0)));
}
