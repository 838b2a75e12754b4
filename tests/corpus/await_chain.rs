// Nested awaits four levels deep, each level adding to the value.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn leaf(x: u32) -> u32 {
    yield_now().await;
    x + 1
}
async fn level3(x: u32) -> u32 { leaf(x).await * 2 }
async fn level2(x: u32) -> u32 { level3(x).await + 3 }
async fn level1(x: u32) -> u32 { level2(x).await * 5 }

fn main() {
    for i in 0..3 {
        let (v, polls) = block_on_counted(level1(opaque(i)));
        println!("level1({i}) = {v} after {polls} polls");
    }
    println!("size_of level1 future: {}", std::mem::size_of_val(&level1(0)));
}
