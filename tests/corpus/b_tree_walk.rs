// Recursive async walk over a tree of boxed nodes: pre-order visit log, sums, and early drop.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

struct Node {
    value: u32,
    name: String,
    children: Vec<Node>,
}

fn build(depth: u32, seed: u32) -> Node {
    let children = if depth == 0 {
        Vec::new()
    } else {
        (0..(seed % 3 + 1)).map(|i| build(depth - 1, seed * 7 + i + 1)).collect()
    };
    Node { value: seed % 100, name: format!("n{seed}"), children }
}

async fn walk(node: &Node, depth: usize, log: &mut Vec<String>) -> u64 {
    log.push(format!("{}{}", "-".repeat(depth), node.name));
    let mut total = node.value as u64;
    for child in &node.children {
        if child.value % 2 == 1 {
            yield_now().await;
        }
        total += Box::pin(walk(child, depth + 1, log)).await;
    }
    total
}

async fn max_depth(node: &Node) -> usize {
    let mut best = 0;
    for child in node.children.iter() {
        let d = Box::pin(max_depth(child)).await;
        if d > best {
            best = d;
        }
    }
    yield_now().await;
    best + 1
}

const LEVEL: [&str; 4] = ["guard0", "guard1", "guard2", "guard3"];

async fn find(node: &Node, target: u32, depth: usize) -> Option<String> {
    let _g = Noisy(LEVEL[depth]);
    if node.value == target {
        return Some(node.name.clone());
    }
    for child in &node.children {
        yield_now().await;
        if let Some(found) = Box::pin(find(child, target, depth + 1)).await {
            return Some(found);
        }
    }
    None
}

fn main() {
    let tree = build(3, opaque(2));
    let mut log = Vec::new();
    let (sum, polls) = block_on_counted(walk(&tree, 0, &mut log));
    for line in &log {
        println!("{line}");
    }
    println!("sum = {sum}, polls = {polls}");
    let (d, polls) = block_on_counted(max_depth(&tree));
    println!("max_depth = {d}, polls = {polls}");

    let (found, polls) = block_on_counted(find(&tree, 93, 0));
    println!("find 93 -> {found:?} after {polls} polls");
    let (found, polls) = block_on_counted(find(&tree, 1000, 0));
    println!("find 1000 -> {found:?} after {polls} polls");

    let mut fut = Box::pin(find(&tree, 1000, 0));
    let r = poll_n(fut.as_mut(), 4);
    println!("after 4 polls: {r:?}");
    drop(fut);
    println!("end");
}
