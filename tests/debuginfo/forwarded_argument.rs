// The `backtrace` suite's variable check: `forward_upvars` moves `arg`, an async fn's
// argument held across an await, into the upvar it came from. Under the LLVM driver
// (which writes variable debug info; cg_clif writes none) gdb, stopped in `observe`, must
// still print `arg` in the caller's frame with its value: the debug info follows the new
// place. GDB: `print arg` in frame 1 prints `[7, 8, 9, 10]`.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

struct Yield(bool);

impl Future for Yield {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

#[inline(never)]
fn observe(x: u64) -> u64 {
    std::hint::black_box(x)
}

async fn held(arg: [u64; 4]) -> u64 {
    Yield(false).await;
    observe(arg[0] + arg[3])
}

fn main() {
    let mut future = std::pin::pin!(held([7, 8, 9, 10]));
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            println!("{v}");
            break;
        }
    }
}
