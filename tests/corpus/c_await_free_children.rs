// Await-free children (async fns, blocks and closures that never suspend) awaited by
// parents: Copy arguments (ints, bools, &str, references, tuples, arrays, fn pointers,
// &Cell), non-Copy arguments (String, Vec, Box, Noisy, &mut) that await_free must
// decline, nesting (await-free parent -> child -> grandchild), generic children, panics in
// await-free children (caught, never re-polled), never-polled futures, and Noisy values
// held across the await of an await-free child. Targets await_free, ready_child and
// dead_states; the returned value and every drop is printed.
#[path = "support/executor.rs"]
mod executor;
use executor::*;
use std::cell::Cell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

// ---- await-free leaves with Copy arguments (await_free applies) ----

async fn add3(a: u32, b: u32, c: u32) -> u32 {
    a.wrapping_mul(3).wrapping_add(b) ^ c
}

async fn pick(flag: bool, yes: &'static str, no: &'static str) -> &'static str {
    if flag { yes } else { no }
}

async fn sum_slice(xs: &[u64]) -> u64 {
    let mut s = 0;
    for (i, x) in xs.iter().enumerate() {
        s += x * (i as u64 + 1);
    }
    s
}

async fn tuple_arg(t: (u8, i64, char), scale: i64) -> (i64, char) {
    (t.0 as i64 * scale + t.1, t.2.to_ascii_uppercase())
}

async fn big_array(a: [u64; 24], k: usize) -> u64 {
    a.iter().skip(k).take(5).sum::<u64>() + a[k % 24]
}

async fn via_fn_ptr(f: fn(u32) -> u32, x: u32) -> u32 {
    f(f(x))
}

async fn bump_cell(c: &Cell<u32>, by: u32) -> u32 {
    let old = c.get();
    c.set(old + by);
    old
}

async fn unit_leaf() {}

async fn zst_arg(_z: (), _p: std::marker::PhantomData<u8>) -> u8 {
    42
}

async fn option_leaf(x: Option<u32>) -> Option<u32> {
    let v = x?;
    if v > 100 { None } else { Some(v * 2) }
}

async fn result_leaf(x: i32) -> Result<i32, &'static str> {
    if x < 0 { Err("negative") } else { Ok(x + 1) }
}

async fn early_returns(x: u32) -> u32 {
    if x == 0 {
        return 1000;
    }
    for i in 0..x {
        if i * i > x {
            return i;
        }
    }
    x
}

/// A local Noisy inside an await-free body: created and dropped in the one poll.
async fn local_noisy(x: u32) -> u32 {
    let _n = Noisy("local_noisy body");
    let s = format!("v{x}");
    s.len() as u32 + x
}

// ---- nesting: every level await-free ----

async fn grandchild(x: u32) -> u32 {
    x * 7 + 1
}

async fn child(x: u32, f: bool) -> u32 {
    let g = grandchild(x).await;
    if f { g + grandchild(g).await } else { g }
}

async fn parent(x: u32) -> u32 {
    let a = child(x, true).await;
    let b = child(a % 100, false).await;
    let c = add3(a, b, x).await;
    c + early_returns(x % 10).await
}

async fn deep5(x: u32) -> u32 {
    async fn l1(x: u32) -> u32 {
        x + 1
    }
    async fn l2(x: u32) -> u32 {
        l1(x).await * 2
    }
    async fn l3(x: u32) -> u32 {
        l2(x).await + l1(x).await
    }
    async fn l4(x: u32) -> u32 {
        l3(l3(x).await).await
    }
    l4(x).await + l3(x).await
}

// ---- generic children ----

async fn id<T>(x: T) -> T {
    x
}

async fn id_copy<T: Copy>(x: T) -> T {
    x
}

async fn twice<T: Copy + std::ops::Add<Output = T>>(x: T) -> T {
    x + x
}

async fn generic_parent(x: u32) -> (u32, u64, &'static str, String) {
    let a = id(x).await;
    let b = id_copy(x as u64 * 3).await;
    let c = id_copy("copy str").await;
    let d = id(format!("owned {a}")).await;
    let e = twice(b).await;
    (a + twice(a).await, e, c, d)
}

// ---- non-Copy arguments: await_free must decline, results unchanged ----

async fn takes_string(s: String) -> usize {
    s.len()
}

async fn takes_vec(v: Vec<u32>) -> u32 {
    v.into_iter().sum()
}

async fn takes_box(b: Box<u32>) -> u32 {
    *b + 1
}

async fn takes_noisy(n: Noisy, keep: bool) -> Option<Noisy> {
    println!("  takes_noisy runs with {}", n.0);
    if keep { Some(n) } else { None }
}

async fn takes_mut(r: &mut Vec<u32>, x: u32) -> usize {
    r.push(x);
    r.len()
}

async fn non_copy_parent(x: u32) -> u32 {
    let _p = Noisy("non_copy_parent local");
    let a = takes_string(format!("abc{x}")).await as u32;
    let b = takes_vec(vec![x, x + 1, x + 2]).await;
    let c = takes_box(Box::new(x)).await;
    let kept = takes_noisy(Noisy("arg kept"), true).await;
    let gone = takes_noisy(Noisy("arg gone"), false).await;
    println!("  kept {} gone {}", kept.is_some(), gone.is_none());
    let mut v = vec![1];
    let d = takes_mut(&mut v, x).await as u32;
    let e = takes_mut(&mut v, x + 1).await as u32;
    println!("  v = {v:?}");
    a + b + c + d + e
}

// ---- Noisy values held across awaits of await-free children ----

async fn holds_noisy(x: u32) -> u32 {
    let _a = Noisy("holds a");
    let v = add3(x, 1, 2).await;
    let _b = Noisy("holds b");
    let w = grandchild(v).await;
    drop(_a);
    let u = child(w % 50, x % 2 == 0).await;
    println!("  holds_noisy computed {v} {w} {u}");
    v + w + u
}

async fn holds_noisy_then_suspends(x: u32) -> u32 {
    let _a = Noisy("hs a");
    let v = add3(x, 4, 5).await;
    yield_now().await;
    let _b = Noisy("hs b");
    let w = grandchild(v).await;
    yield_now().await;
    v ^ w
}

async fn noisy_in_branch(x: u32) -> u32 {
    if x % 2 == 0 {
        let _e = Noisy("branch even");
        grandchild(x).await
    } else {
        let _o = Noisy("branch odd");
        let r = child(x, true).await;
        r + grandchild(r % 9).await
    }
}

// ---- blocks and closures ----

async fn blocks_parent(x: u32, name: &'static str) -> u32 {
    let k = 5u32;
    let t = (x, k, name);
    let b1 = async move { t.0 * t.1 + t.2.len() as u32 };
    let b2 = async { x + k };
    let b3 = async move { add3(t.0, t.1, 9).await };
    let nested = async move { async move { async move { x * 11 }.await + 1 }.await + 2 };
    b1.await + b2.await + b3.await + nested.await
}

async fn closures_parent(x: u32) -> u32 {
    let c1 = async |a: u32| a * 2 + x;
    let c2 = async move |a: u32, b: bool| if b { a } else { a + 100 };
    let c3 = async || grandchild(x).await;
    let r = c1(3).await + c1(4).await + c2(x, true).await + c2(x, false).await + c3().await;
    let s = String::from("captured by closure");
    let c4 = async move |n: usize| s.len() + n;
    r + c4(1).await as u32
}

/// Async closures called through AsyncFnOnce (by-move body: its non-Copy upvar must keep
/// await_free away) and AsyncFn (by-ref body: its upvars are references).
async fn call_once<F: AsyncFnOnce(u32) -> u32>(f: F, x: u32) -> u32 {
    f(x).await
}

async fn call_ref<F: AsyncFn(u32) -> u32>(f: F, x: u32) -> u32 {
    f(x).await + f(x + 1).await
}

async fn closure_traits(x: u32) -> u32 {
    let n = Noisy("moved into once-closure");
    let once = async move |a: u32| {
        let k = n;
        println!("  once-closure body with {}", k.0);
        a + 1
    };
    let a = call_once(once, x).await;
    let m = Noisy("held by ref-closure");
    let by_ref = async move |a: u32| a + m.0.len() as u32;
    let b = call_ref(&by_ref, x).await;
    let copy_only = async move |a: u32| a * 2 + x;
    let c = call_once(copy_only, x).await + call_ref(copy_only, x).await;
    println!("  closure_traits {a} {b} {c}");
    a + b + c
}

// ---- panics inside await-free children ----

async fn panicky(x: u32) -> u32 {
    if x % 3 == 2 {
        panic!("panicky({x})");
    }
    x + 1
}

async fn panicky_parent(x: u32) -> u32 {
    let _n = Noisy("panicky_parent guard");
    let a = panicky(x).await;
    let _m = Noisy("panicky_parent second guard");
    let b = panicky(a).await;
    a * 10 + b
}

/// Polls the inner future inside catch_unwind (never again after a panic).
struct Catch<F>(Option<Pin<Box<F>>>);

impl<F: Future> Future for Catch<F> {
    type Output = Result<F::Output, String>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut().expect("polled after completion");
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => {
                self.0 = None;
                Poll::Ready(Ok(v))
            }
            Err(e) => {
                println!("  Catch: dropping the panicked future");
                self.0 = None;
                Poll::Ready(Err(panic_message(e)))
            }
        }
    }
}

async fn catches(x: u32) -> String {
    let _g = Noisy("catches guard");
    let r1 = Catch(Some(Box::pin(panicky(x)))).await;
    let r2 = Catch(Some(Box::pin(panicky_parent(x)))).await;
    format!("{r1:?} / {r2:?}")
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    let x = opaque(3);

    println!("== leaves");
    let (v, p) = block_on_counted(add3(x, 4, 5));
    println!("add3 = {v} polls {p}");
    println!("pick = {} {}", block_on(pick(x > 2, "big", "small")), block_on(pick(x > 9, "big", "small")));
    let data = [x as u64, 2, 3, 4, 5];
    println!("sum_slice = {}", block_on(sum_slice(&data)));
    println!("sum_slice empty = {}", block_on(sum_slice(&[])));
    println!("tuple_arg = {:?}", block_on(tuple_arg((x as u8, -9, 'q'), 4)));
    let mut arr = [0u64; 24];
    for (i, a) in arr.iter_mut().enumerate() {
        *a = (i as u64) * (i as u64) + x as u64;
    }
    println!("big_array = {} {}", block_on(big_array(arr, 2)), block_on(big_array(arr, 19)));
    println!("via_fn_ptr = {}", block_on(via_fn_ptr(|v| v * 3 + 1, x)));
    let cell = Cell::new(10);
    let o1 = block_on(bump_cell(&cell, x));
    let o2 = block_on(bump_cell(&cell, 1));
    println!("bump_cell old {o1} {o2} now {}", cell.get());
    let ((), p) = block_on_counted(unit_leaf());
    println!("unit_leaf polls {p}");
    println!("zst_arg = {}", block_on(zst_arg((), std::marker::PhantomData)));
    for o in [None, Some(x), Some(500)] {
        println!("option_leaf({o:?}) = {:?}", block_on(option_leaf(o)));
    }
    for r in [-1, 0, x as i32] {
        println!("result_leaf({r}) = {:?}", block_on(result_leaf(r)));
    }
    for e in [0, 1, 5, 17, x] {
        println!("early_returns({e}) = {}", block_on(early_returns(e)));
    }
    println!("local_noisy = {}", block_on(local_noisy(x)));

    println!("== nesting");
    for i in 0..4 {
        let (v, p) = block_on_counted(parent(opaque(i)));
        println!("parent({i}) = {v} polls {p}");
    }
    for i in [0, 1, 9] {
        println!("deep5({i}) = {}", block_on(deep5(opaque(i))));
    }

    println!("== generic");
    let (v, p) = block_on_counted(generic_parent(x));
    println!("generic_parent = {v:?} polls {p}");
    println!("id(Noisy) -> {}", block_on(id(Noisy("through id"))).0);
    println!("id_copy(tuple) = {:?}", block_on(id_copy((x, 'z', 2.5f32))));

    println!("== non-Copy arguments");
    let (v, p) = block_on_counted(non_copy_parent(x));
    println!("non_copy_parent = {v} polls {p}");

    println!("== Noisy across await-free awaits");
    for i in 0..2 {
        let (v, p) = block_on_counted(holds_noisy(opaque(i)));
        println!("holds_noisy({i}) = {v} polls {p}");
    }
    let (v, p) = block_on_counted(holds_noisy_then_suspends(x));
    println!("holds_noisy_then_suspends = {v} polls {p}");
    for k in 0..4 {
        let mut f = Box::pin(holds_noisy_then_suspends(opaque(k)));
        let r = poll_n(f.as_mut(), k as usize);
        println!("holds_noisy_then_suspends cancel after {k} polls: {r:?}");
        drop(f);
        println!("  dropped");
    }
    for i in 0..4 {
        println!("noisy_in_branch({i}) = {}", block_on(noisy_in_branch(opaque(i))));
    }

    println!("== blocks and closures");
    let (v, p) = block_on_counted(blocks_parent(x, "name"));
    println!("blocks_parent = {v} polls {p}");
    let (v, p) = block_on_counted(closures_parent(x));
    println!("closures_parent = {v} polls {p}");

    let (v, p) = block_on_counted(closure_traits(x));
    println!("closure_traits = {v} polls {p}");
    let n = Noisy("never-polled closure capture");
    let c = async move |a: u32| {
        let _k = n;
        a
    };
    drop(c(3));
    println!("dropped a never-polled closure future");
    let n = Noisy("polled closure capture");
    let c = async move |a: u32| {
        let k = n;
        k.0.len() as u32 + a
    };
    let mut f = Box::pin(c(3));
    println!("closure future poll: {:?}", poll_once(f.as_mut()));
    drop(f);
    println!("dropped the completed closure future");

    println!("== panics");
    for i in 0..6 {
        let i = opaque(i);
        let r = catch_unwind(AssertUnwindSafe(|| block_on(panicky_parent(i))));
        match r {
            Ok(v) => println!("panicky_parent({i}) = {v}"),
            Err(e) => println!("panicky_parent({i}) panicked: {}", panic_message(e)),
        }
    }
    for i in [0, 1, 2] {
        let (v, p) = block_on_counted(catches(opaque(i)));
        println!("catches({i}) = {v} polls {p}");
    }

    println!("== never polled");
    let f1 = takes_noisy(Noisy("never polled arg"), true);
    let f2 = add3(1, 2, 3);
    let f3 = holds_noisy(x);
    let f4 = async move { add3(x, x, x).await };
    println!("created four futures");
    drop(f2);
    drop(f3);
    drop(f4);
    drop(f1);
    println!("dropped four futures");

    println!("== polled once, dropped after completion");
    let mut f = Box::pin(parent(x));
    println!("poll_once parent = {:?}", poll_once(f.as_mut()));
    drop(f);
    let mut f = Box::pin(noisy_in_branch(x));
    println!("poll_once noisy_in_branch = {:?}", poll_once(f.as_mut()));
    drop(f);
    println!("dropped");

    println!("size_of add3 future: {}", std::mem::size_of_val(&add3(0, 0, 0)));
    println!("size_of parent future: {}", std::mem::size_of_val(&parent(0)));
    println!("size_of holds_noisy future: {}", std::mem::size_of_val(&holds_noisy(0)));
    println!("size_of generic_parent future: {}", std::mem::size_of_val(&generic_parent(0)));
}
