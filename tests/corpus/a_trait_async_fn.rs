// Async fns in traits with several impls (stateful, generic wrapper, default method), called through generic dispatch.
#[path = "support/executor.rs"]
mod executor;
use executor::*;
use std::cell::Cell;

trait Service {
    async fn call(&self, x: u32) -> u32;
    async fn call_twice(&self, x: u32) -> u32 {
        let a = self.call(x).await;
        let b = self.call(a).await;
        a + b
    }
}

struct Adder(u32);
impl Service for Adder {
    async fn call(&self, x: u32) -> u32 {
        yield_now().await;
        x + self.0
    }
}

struct Counter {
    calls: Cell<u32>,
}
impl Service for Counter {
    async fn call(&self, x: u32) -> u32 {
        let _n = Noisy("counter call");
        YieldTimes(x % 3).await;
        self.calls.set(self.calls.get() + 1);
        x * self.calls.get()
    }
    async fn call_twice(&self, x: u32) -> u32 {
        // overrides the default
        self.call(x).await + 1000
    }
}

struct Logged<S>(S, &'static str);
impl<S: Service> Service for Logged<S> {
    async fn call(&self, x: u32) -> u32 {
        println!("[{}] call({x})", self.1);
        let r = self.0.call(x).await;
        println!("[{}] -> {r}", self.1);
        r
    }
}

async fn drive<S: Service>(s: &S, xs: &[u32]) -> u32 {
    let mut total = 0;
    for &x in xs {
        total += s.call(x).await;
    }
    total + s.call_twice(xs.len() as u32).await
}

fn main() {
    let xs = [opaque(1), opaque(2), opaque(4)];
    let (v, polls) = block_on_counted(drive(&Adder(opaque(10)), &xs));
    println!("drive(Adder) = {v} after {polls} polls");
    let c = Counter { calls: Cell::new(0) };
    let (v, polls) = block_on_counted(drive(&c, &xs));
    println!("drive(Counter) = {v} after {polls} polls, calls = {}", c.calls.get());
    let l = Logged(Adder(opaque(100)), "outer");
    let (v, polls) = block_on_counted(drive(&l, &xs[..1]));
    println!("drive(Logged<Adder>) = {v} after {polls} polls");
    let ll = Logged(Logged(Counter { calls: Cell::new(0) }, "inner"), "outer");
    let (v, polls) = block_on_counted(ll.call_twice(opaque(5)));
    println!("Logged<Logged<Counter>>.call_twice(5) = {v} after {polls} polls");
    // cancel a trait-method future mid-way
    let mut f = Box::pin(c.call_twice(opaque(2)));
    println!("partial: {:?}", poll_n(f.as_mut(), 1));
    drop(f);
    println!("calls after cancel = {}", c.calls.get());
}
