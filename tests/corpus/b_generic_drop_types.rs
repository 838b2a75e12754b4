// Generic async fns instantiated with Copy types, String, Vec, Noisy and Box<dyn Trait>.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

use std::fmt::Debug;

trait Shape {
    fn area(&self) -> u32;
    fn name(&self) -> String;
}
struct Square(u32);
struct Rect(u32, u32, Noisy);
impl Shape for Square {
    fn area(&self) -> u32 { self.0 * self.0 }
    fn name(&self) -> String { format!("square{}", self.0) }
}
impl Shape for Rect {
    fn area(&self) -> u32 { self.0 * self.1 }
    fn name(&self) -> String { format!("rect{}x{}-{}", self.0, self.1, self.2.0) }
}

// Holds `a` across an await, returns `b`; `a` is dropped at the end of the body.
async fn keep_then_swap<T, U>(a: T, b: U, f: impl Fn(&T) -> usize) -> (usize, U) {
    yield_now().await;
    let n = f(&a);
    YieldTimes(2).await;
    (n, b)
}

async fn pair_debug<T: Debug + Clone>(items: Vec<T>) -> String {
    let mut out = String::new();
    for (i, it) in items.iter().enumerate() {
        let copy = it.clone();
        if i % 2 == 0 {
            yield_now().await;
        }
        out.push_str(&format!("{copy:?};"));
    }
    out
}

async fn total_area(shapes: Vec<Box<dyn Shape>>) -> u32 {
    let mut sum = 0;
    for s in &shapes {
        yield_now().await;
        println!("  shape {} area {}", s.name(), s.area());
        sum += s.area();
    }
    sum
}

fn main() {
    let n = opaque(3);
    let ((len, b), polls) = block_on_counted(keep_then_swap(n, 7u8, |x| *x as usize));
    println!("u32/u8: len={len} b={b} polls={polls}");

    let ((len, b), _) = block_on_counted(keep_then_swap(
        "x".repeat(n as usize), vec![1u16, 2, 3], |s: &String| s.len()));
    println!("String/Vec: len={len} b={b:?}");

    let ((len, b), _) = block_on_counted(keep_then_swap(
        Noisy("held-a"), Noisy("returned-b"), |_| 42));
    println!("Noisy/Noisy: len={len} b={}", b.0);
    drop(b);

    let ((len, b), _) = block_on_counted(keep_then_swap(
        vec![Noisy("v0"), Noisy("v1")], Box::new(Square(n)) as Box<dyn Shape>, |v| v.len()));
    println!("Vec<Noisy>/Box<dyn Shape>: len={len} area={}", b.area());

    println!("{}", block_on(pair_debug(vec![1u8, 2, 3])));
    println!("{}", block_on(pair_debug(vec!["a".to_string(), "bb".into()])));
    println!("{}", block_on(pair_debug(vec![Some(n), None])));

    let shapes: Vec<Box<dyn Shape>> = vec![
        Box::new(Square(n)),
        Box::new(Rect(2, n + 1, Noisy("rect-noisy"))),
        Box::new(Square(1)),
    ];
    let (area, polls) = block_on_counted(total_area(shapes));
    println!("total area {area} polls {polls}");

    // Started, then dropped while holding a Noisy across the await.
    let mut fut = Box::pin(keep_then_swap(Noisy("abandoned-a"), Noisy("abandoned-b"), |_| 0));
    println!("pending: {}", poll_once(fut.as_mut()).is_pending());
    drop(fut);
    println!("end");
}
