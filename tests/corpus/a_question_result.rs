// `?` on Result across awaits, with error conversion via From and Noisy values alive when `?` returns.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

#[allow(dead_code)]
#[derive(Debug)]
enum AppError {
    Parse(u32),
    Io(&'static str),
}

#[derive(Debug)]
struct IoError(&'static str);

impl From<IoError> for AppError {
    fn from(e: IoError) -> Self {
        println!("converting IoError({})", e.0);
        AppError::Io(e.0)
    }
}

async fn parse(x: u32) -> Result<u32, AppError> {
    yield_now().await;
    if x % 5 == 4 { Err(AppError::Parse(x)) } else { Ok(x * 3) }
}

async fn read(x: u32) -> Result<u32, IoError> {
    YieldTimes(2).await;
    if x > 20 { Err(IoError("too big")) } else { Ok(x + 1) }
}

async fn pipeline(x: u32) -> Result<u32, AppError> {
    let _p = Noisy("pipeline");
    let a = parse(x).await?;
    let held = Noisy("held across read");
    let b = read(a).await?;
    drop(held);
    let c = parse(b).await?;
    Ok(a + b + c)
}

async fn sum_all(xs: &[u32]) -> Result<u32, AppError> {
    let mut total = 0;
    for &x in xs {
        let _n = Noisy("sum iter");
        total += pipeline(x).await?;
    }
    Ok(total)
}

fn main() {
    for x in [0, 1, 4, 6, 8, 9] {
        let (v, polls) = block_on_counted(pipeline(opaque(x)));
        println!("pipeline({x}) = {v:?} after {polls} polls");
    }
    let xs = [opaque(0), opaque(2), opaque(7), opaque(1)];
    let (v, polls) = block_on_counted(sum_all(&xs));
    println!("sum_all = {v:?} after {polls} polls");
    let xs = [opaque(1), opaque(2)];
    let (v, polls) = block_on_counted(sum_all(&xs));
    println!("sum_all = {v:?} after {polls} polls");
}
