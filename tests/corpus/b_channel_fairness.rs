// Producer/consumer tasks over a hand-written single-threaded channel, run round-robin;
// the printed event order shows fairness, and a bounded channel applies back-pressure.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

struct Chan {
    queue: VecDeque<(u32, String)>,
    cap: usize,
    closed_senders: u32,
    senders: u32,
}

type Shared = Rc<RefCell<Chan>>;

struct Send<'a>(&'a Shared, Option<(u32, String)>);
impl Future for Send<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        let ch = self.0.borrow_mut();
        if ch.queue.len() >= ch.cap {
            return Poll::Pending;
        }
        let item = self.1.take().unwrap();
        drop(ch);
        self.0.borrow_mut().queue.push_back(item);
        Poll::Ready(())
    }
}

struct Recv<'a>(&'a Shared);
impl Future for Recv<'_> {
    type Output = Option<(u32, String)>;
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut ch = self.0.borrow_mut();
        match ch.queue.pop_front() {
            Some(v) => Poll::Ready(Some(v)),
            None if ch.closed_senders == ch.senders => Poll::Ready(None),
            None => Poll::Pending,
        }
    }
}

async fn producer(id: u32, count: u32, ch: Shared) {
    for i in 0..count {
        let msg = format!("p{id}-m{i}");
        println!("  p{id} sending {msg}");
        Send(&ch, Some((id, msg))).await;
        if id == 0 {
            yield_now().await;
        }
    }
    println!("  p{id} done");
    ch.borrow_mut().closed_senders += 1;
}

async fn consumer(ch: Shared, out: Rc<RefCell<Vec<String>>>) {
    let mut per = [0u32; 3];
    while let Some((id, msg)) = Recv(&ch).await {
        println!("  consumer got {msg}");
        per[id as usize] += 1;
        out.borrow_mut().push(msg);
        yield_now().await;
    }
    println!("  consumer sees closed channel, per-producer {per:?}");
}

fn scenario(cap: usize, n: u32) {
    println!("scenario cap={cap}");
    let ch = Rc::new(RefCell::new(Chan { queue: VecDeque::new(), cap, closed_senders: 0, senders: 3 }));
    let out = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<Pin<Box<dyn Future<Output = ()>>>> = vec![
        Box::pin(consumer(ch.clone(), out.clone())),
        Box::pin(producer(0, n, ch.clone())),
        Box::pin(producer(1, n, ch.clone())),
        Box::pin(producer(2, 1, ch.clone())),
    ];
    let polls = run_all(tasks);
    println!("received {} messages in {polls} polls: {}", out.borrow().len(), out.borrow().join(","));
}

fn main() {
    let n = opaque(3);
    scenario(1, n);
    scenario(8, n);
}
