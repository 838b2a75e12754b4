// A Vec<Pin<Box<dyn Future<Output = ()>>>> run round-robin with run_all: interleaving, Flag hand-offs, and drop-at-finish order.
#[path = "support/executor.rs"]
mod executor;
use executor::*;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

type Log = Rc<RefCell<Vec<String>>>;

async fn worker(id: u32, steps: u32, log: Log) {
    let _n = Noisy(["w0 done", "w1 done", "w2 done", "w3 done"][id as usize]);
    for s in 0..steps {
        log.borrow_mut().push(format!("w{id} step {s}"));
        yield_now().await;
    }
}

async fn producer(flag: Flag, log: Log) {
    for i in 0..3 {
        log.borrow_mut().push(format!("producer {i}"));
        YieldTimes(1).await;
    }
    flag.set();
    log.borrow_mut().push("producer set flag".to_string());
}

async fn consumer(flag: Flag, log: Log) {
    log.borrow_mut().push("consumer waiting".to_string());
    WaitFor(flag).await;
    log.borrow_mut().push("consumer woke".to_string());
    let _c = Noisy("consumer done");
}

fn main() {
    let log: Log = Rc::default();
    let flag = Flag::default();
    let mut tasks: Vec<Pin<Box<dyn Future<Output = ()>>>> = Vec::new();
    tasks.push(Box::pin(consumer(flag.clone(), log.clone())));
    for id in 0..3 {
        tasks.push(Box::pin(worker(id, opaque(id + 1), log.clone())));
    }
    tasks.push(Box::pin(producer(flag.clone(), log.clone())));
    let l2 = log.clone();
    let k = opaque(2);
    tasks.push(Box::pin(async move {
        let _b = Noisy("block done");
        for i in 0..k {
            l2.borrow_mut().push(format!("block {i}"));
            YieldTimes(2).await;
        }
    }));
    let polls = run_all(tasks);
    println!("total polls: {polls}");
    for line in log.borrow().iter() {
        println!("{line}");
    }
    println!("flag = {}", flag.get());

    // an empty task list, and one with a single instantly ready task
    println!("empty: {}", run_all(Vec::new()));
    println!("single ready: {}", run_all(vec![Box::pin(async {})]));
}
