// Trait methods returning Pin<Box<dyn Future>>, used through &dyn Trait objects, plus Box<dyn Future> with droppable captures.
#[path = "support/executor.rs"]
mod executor;
use executor::*;
use std::future::Future;
use std::pin::Pin;

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

trait Handler {
    fn name(&self) -> &'static str;
    fn handle<'a>(&'a self, x: u32) -> BoxFut<'a, u32>;
}

struct Doubler;
impl Handler for Doubler {
    fn name(&self) -> &'static str {
        "doubler"
    }
    fn handle<'a>(&'a self, x: u32) -> BoxFut<'a, u32> {
        Box::pin(async move {
            yield_now().await;
            x * 2
        })
    }
}

struct Chain {
    steps: Vec<Box<dyn Handler>>,
}
impl Handler for Chain {
    fn name(&self) -> &'static str {
        "chain"
    }
    fn handle<'a>(&'a self, x: u32) -> BoxFut<'a, u32> {
        Box::pin(async move {
            let _c = Noisy("chain running");
            let mut v = x;
            for s in &self.steps {
                v = s.handle(v).await;
            }
            v
        })
    }
}

struct Offset(u32, Noisy);
impl Handler for Offset {
    fn name(&self) -> &'static str {
        self.1.0
    }
    fn handle<'a>(&'a self, x: u32) -> BoxFut<'a, u32> {
        if x > 50 {
            // a different future type behind the same box
            Box::pin(std::future::ready(x))
        } else {
            Box::pin(async move {
                YieldTimes(2).await;
                x + self.0
            })
        }
    }
}

async fn run(h: &dyn Handler, x: u32) -> u32 {
    let v = h.handle(x).await;
    println!("{}({x}) = {v}", h.name());
    v
}

fn main() {
    let handlers: Vec<Box<dyn Handler>> = vec![
        Box::new(Doubler),
        Box::new(Offset(opaque(3), Noisy("offset3"))),
        Box::new(Chain {
            steps: vec![Box::new(Doubler), Box::new(Offset(opaque(40), Noisy("offset40"))), Box::new(Doubler)],
        }),
    ];
    for x in [opaque(1), opaque(30)] {
        for h in &handlers {
            let (_, polls) = block_on_counted(run(h.as_ref(), x));
            println!("  polls: {polls}");
        }
    }
    // a boxed future cancelled halfway through the chain
    let mut f = handlers[2].handle(opaque(2));
    println!("chain after 2 polls: {:?}", poll_n(f.as_mut(), 2));
    drop(f);
    println!("dropping handlers");
    drop(handlers);
    println!("done");
}
