// Regression (found by `./y.sh fuzz`, seed 901027, minimised by it; seed 901123 was the
// same bug): forward_upvars looks for drop flags cleared (`_f = const false`) before a
// move it forwards, and asked every constant assigned there whether it was `false`.
// rustc treats asking a constant that is not a `bool` as a bug, so compiling `f1` below
// (`let v5: u32 = 12u32;` before `p0` is moved out) was an internal compiler error under
// every corolift build. It now asks `bool` constants only.
#![allow(unused, unreachable_code, unused_must_use)]
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

struct Noisy(u32);

impl Drop for Noisy {
    fn drop(&mut self) {
        println!("drop {}", self.0);
    }
}

/// Pending `left` times, then Ready(val).
struct Leaf {
    left: u32,
    val: u32,
}

impl Future for Leaf {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<u32> {
        if self.left == 0 {
            Poll::Ready(self.val)
        } else {
            self.left -= 1;
            Poll::Pending
        }
    }
}

fn leaf(left: u32, val: u32) -> Leaf {
    Leaf { left, val }
}

fn opaque(x: u32) -> u32 {
    std::hint::black_box(x)
}

fn checked(x: u32) -> Option<u32> {
    if x % 5 == 0 { None } else { Some(x) }
}

fn checked_res(x: u32) -> Result<u32, u32> {
    if x % 7 == 0 { Err(x) } else { Ok(x) }
}

const LIMIT: u32 = 100_000;

fn stuck() -> ! {
    println!("stuck");
    std::process::exit(3)
}

fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    fut.poll(&mut cx)
}

/// Polls until Ready; the output and the number of polls.
fn block_on<F: Future>(fut: F) -> (F::Output, u32) {
    let mut fut = pin!(fut);
    let mut polls = 0;
    loop {
        polls += 1;
        if let Poll::Ready(v) = poll_once(fut.as_mut()) {
            return (v, polls);
        }
        if polls > LIMIT {
            stuck();
        }
    }
}

type Task = Pin<Box<dyn Future<Output = u32>>>;

fn task(fut: impl Future<Output = u32> + 'static) -> Task {
    Box::pin(fut)
}

/// Rounds over `order` (every task at least once) until all tasks are done; a finished
/// task is dropped at once and never polled again.
fn run_tasks(tasks: Vec<Task>, order: &[usize]) -> u32 {
    let mut slots: Vec<Option<Task>> = tasks.into_iter().map(Some).collect();
    let mut left = slots.len();
    let mut polls = 0;
    while left > 0 {
        for &i in order {
            let Some(t) = slots[i].as_mut() else { continue };
            polls += 1;
            if let Poll::Ready(v) = poll_once(t.as_mut()) {
                println!("task {i} -> {v}");
                slots[i] = None;
                left -= 1;
            }
        }
        if polls > LIMIT {
            stuck();
        }
    }
    polls
}

/// Polls `a` then `b` until one is Ready; drops both then (the loser is cancelled).
fn select2(mut a: Task, mut b: Task) -> u32 {
    let mut polls = 0;
    loop {
        polls += 1;
        if let Poll::Ready(v) = poll_once(a.as_mut()) {
            println!("select: first -> {v}");
            drop(a);
            drop(b);
            return polls;
        }
        if let Poll::Ready(v) = poll_once(b.as_mut()) {
            println!("select: second -> {v}");
            drop(b);
            drop(a);
            return polls;
        }
        if polls > LIMIT {
            stuck();
        }
    }
}

async fn f0(p0: u32, p1: impl Future<Output = u32>, p2: u32) -> Option<u32> {
    let p1: u32 = 0u32;
    let v1: u32 = 3u32;
    let v4: u32 = 5u32;
    if v1 % 2 == 1 { None } else { Some(((((18u32 ^ p2) ^ (p0 ^ p1))).wrapping_add(v4)).wrapping_add(v1)) }
}

async fn f1(p0: u32, p1: u32, p2: u32) -> u32 {
    let v5: u32 = 12u32;
    p0
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    let run = std::thread::Builder::new().stack_size(131072).spawn(|| {
        {
            println!("== 0");
            let r = catch_unwind(AssertUnwindSafe(|| {
                let tasks: Vec<Task> = vec![
                task(async move {
                    let mut v16: u32 = 7u32;
                    for i17 in 0..3u32 {
                        let v18: u32 = {
                            let x19: u32 = v16;
                            let y20: u32 = (21u32 % 5);
                            if i17 % 5 == 0 {
                                let r21: u32 = f0((i17 ^ 9u32), f1(v16, 8u32.wrapping_sub(v16), (v16 ^ 4u32)), 15u32.wrapping_mul(5)).await.unwrap_or(13u32);
                                r21.wrapping_add(x19)
                            } else {
                                let r22: u32 = f0((i17 ^ 9u32), f1(v16, 8u32.wrapping_sub(v16), (v16 ^ 4u32)), 15u32.wrapping_mul(5)).await.unwrap_or(13u32);
                                r22.wrapping_add(y20)
                            }
                        };
                        let v23: u32 = match (((i17 ^ 23u32) ^ v16)) % 4 {
                            0 => {
                                let _g = Noisy(1);
                                f0(opaque(13), async move { leaf(0, opaque(12)).await }, (v16 % 6)).await.unwrap_or(4u32)
                            },
                            1 => {
                                let _g = Noisy(2);
                                f0(v16, async move { leaf(0, (opaque(30) % 2)).await }, i17.wrapping_mul(2)).await.unwrap_or(4u32)
                            },
                            2 => {
                                let _g = Noisy(3);
                                f0(16u32, async move { leaf(2, v18).await }, i17).await.unwrap_or(4u32)
                            },
                            _ => leaf(0, i17).await,
                        };
                        v16 = v16.wrapping_add(((((v16 >> 2) % 4)).wrapping_add(v23)).wrapping_add(v18));
                    }
                    let v24: u32 = async move {
                        println!("m0t0.25 {}", ((12u32 ^ v16)).wrapping_add(12u32.wrapping_sub(v16)));
                        let v26: u32 = {
                            let x27: u32 = 10u32;
                            let y28: u32 = v16;
                            if 2u32 % 5 == 2 {
                                let r29: u32 = f1(6u32, v16, v16.wrapping_add(v16)).await;
                                r29.wrapping_add(x27)
                            } else {
                                let r30: u32 = f1(6u32, v16, v16.wrapping_add(v16)).await;
                                r30.wrapping_add(y28)
                            }
                        };
                        10u32.wrapping_mul(3).wrapping_add(v26)
                    }.await;
                    ((v16 ^ v16)).wrapping_add(v24)
                }),
                task(async move {
                    f0(23u32.wrapping_add(5u32), f1(22u32, 19u32, (15u32 ^ 10u32)), 4u32.wrapping_mul(7)).await.unwrap_or(10u32)
                }),
                task(async move {
                    let mut v31: u32 = 15u32;
                    let mut k32: u32 = 0;
                    loop {
                        if k32 >= 1 {
                            break;
                        }
                        k32 += 1;
                        let v33: u32 = leaf(1, (opaque(8) % 6)).await;
                        v31 = v31 ^ (((v33.wrapping_sub(v31) ^ v31)).wrapping_add(v33)).wrapping_add(v31);
                    }
                    ((v31 ^ v31.wrapping_sub(v31))).wrapping_add(v31)
                }),
                task(async move {
                    let v34: u32 = async {
                        let v35: u32 = {
                            let t36: u32 = (14u32.wrapping_mul(3) >> 3);
                            let r37 = &t36;
                            let w38: u32 = f1(22u32, opaque(31), opaque(29)).await;
                            (*r37).wrapping_add(w38)
                        };
                        ((v35 % 3)).wrapping_sub((v35 >> 1))
                    }.await;
                    let c40 = async |x: u32| -> u32 {
                        let v41: u32 = leaf(1, opaque(8)).await;
                        let v42: u32 = match (((16u32 >> 2)).wrapping_sub(x)) % 3 {
                            0 => {
                                let h43: u32 = x;
                                let r44: u32 = f1(v41.wrapping_sub(v34), (opaque(12) >> 3), x).await;
                                r44.wrapping_add(h43)
                            },
                            1 => {
                                let h45: u32 = x;
                                let r46: u32 = f1((v34 % 7), v41, opaque(20)).await;
                                r46.wrapping_add(h45)
                            },
                            _ => (8u32 % 2),
                        };
                        (((x.wrapping_add(14u32) ^ 6u32.wrapping_add(16u32))).wrapping_add(v42)).wrapping_add(v41)
                    };
                    let v39: u32 = c40(v34).await.wrapping_add(c40((8u32 ^ v34)).await);
                    23u32.wrapping_sub(v34.wrapping_add(v39)).wrapping_add(v39)
                }),
                ];
                let polls = run_tasks(tasks, &[1, 3, 2, 0]);
                println!("0: tasks done after {} polls", polls);
            }));
            if r.is_err() {
                println!("caught");
            }
        }
        println!("end");
    }).expect("spawn the small-stack thread");
    if let Err(payload) = run.join() {
        std::panic::resume_unwind(payload);
    }
}
