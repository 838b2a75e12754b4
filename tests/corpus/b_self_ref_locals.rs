// Self-referential futures: references into local arrays and Strings used after awaits,
// and the future moved (boxed) between creation and first poll.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn array_ref(seed: u32) -> u32 {
    let arr = [seed, seed * 2, seed * 3, seed * 4, seed * 5];
    let first = &arr[0];
    let tail = &arr[2..];
    yield_now().await;
    let mut s = *first;
    for x in tail {
        yield_now().await;
        s += *x;
    }
    s
}

async fn string_slices(n: u32) -> String {
    let text = format!("alpha beta gamma delta {n}");
    let words: Vec<&str> = text.split(' ').collect();
    YieldTimes(2).await;
    let longest = words.iter().copied().max_by_key(|w| w.len()).unwrap_or("");
    yield_now().await;
    format!("{} words, longest={longest}, last={}", words.len(), words[words.len() - 1])
}

async fn nested_borrow(n: u32) -> u32 {
    let outer = vec![[n; 4], [n + 1; 4], [n + 2; 4]];
    let row: &[u32; 4] = &outer[1];
    let cell: &u32 = &row[3];
    yield_now().await;
    let inner = async {
        // borrows `outer` inside a nested future that also awaits
        yield_now().await;
        outer.iter().map(|r| r[0]).sum::<u32>()
    };
    let s = inner.await;
    yield_now().await;
    s * 100 + *cell
}

fn main() {
    let n = opaque(1);
    let (v, polls) = block_on_counted(array_ref(n));
    println!("array_ref = {v} polls {polls}");

    // Move the unpolled future around before pinning it.
    let f1 = array_ref(n + 1);
    let moved = [f1];
    let [f2] = moved;
    let mut boxed = Box::pin(f2);
    let mut count = 0;
    let out = loop {
        count += 1;
        if let std::task::Poll::Ready(v) = poll_once(boxed.as_mut()) {
            break v;
        }
    };
    println!("moved array_ref = {out} polls {count}");

    let (s, polls) = block_on_counted(string_slices(n * 7));
    println!("string_slices: {s} polls {polls}");

    let (v, polls) = block_on_counted(nested_borrow(n + 4));
    println!("nested_borrow = {v} polls {polls}");

    // Several self-referential futures alive at once, interleaved by the executor.
    let results = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let mut tasks: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>> = Vec::new();
    for i in 0..3 {
        let r = results.clone();
        tasks.push(Box::pin(async move {
            let v = array_ref(n + i).await;
            let s = string_slices(i).await;
            r.borrow_mut().push(format!("task{i}: {v} / {s}"));
        }));
    }
    let polls = run_all(tasks);
    for line in results.borrow().iter() {
        println!("{line}");
    }
    println!("run_all polls {polls}");
}
