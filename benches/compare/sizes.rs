// Benchmark: the size of futures in four well-known examples where rustc stores data twice,
// then the cost of building and running them. It first prints `size_of <name>: <bytes>` for
// each example. These lines differ between compilers and are not compared. Then it runs each
// example N times, with inputs derived from the loop index xor SALT.
//   arg_across_await         rust-lang/rust#62958, first example: an 8 KiB argument held
//                            across one await (`test`)
//   nested_argument_futures  #62958, second example: `use_future` (wait once, then await
//                            its argument) nested ten deep around an async block that owns
//                            8 KiB and waits once. rustc's layout doubles the argument at
//                            every level (8 MiB from the 8 KiB block)
//   combining_future         Rust project goal #622: `combining_future` (`async {}.await`,
//                            then await its argument) nested four deep around an async block
//                            that owns a 64 KiB blob
//   work                     rust-lang/rust#135527's discussion: `another` (an async block
//                            that owns 4 KiB) is dead after its await, so `holds_4k`'s 4 KiB
//                            could reuse its bytes
// Every child really suspends once (the `Wait` leaf). Buffers are filled from the seed and
// read back into the result. Examples 2 and 3 are built and run on a spawned thread whose
// stack is 4 × the future's size + 1 MiB, because rustc's 8 MiB future overflows the 8 MiB
// main-thread stack. sizes_manual.rs does the same work with hand-written state machines
// laid out at their live size.
//
// Usage: sizes [N] [SALT] [--main-thread]   N runs of each example (default 1000). SALT is
// xored into each run's input (default 0). With --main-thread, examples 2 and 3 are built
// and run on the main thread, which shows that a compiler with smaller futures can do this.
// Prints the sizes, then N, a wrapping checksum of every result, and the polls.
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

/// Pending once (waking the waker), then Ready on every later poll.
struct Wait {
    yielded: bool,
}

fn wait() -> Wait {
    Wait { yielded: false }
}

impl Future for Wait {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            Poll::Ready(())
        } else {
            self.yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Fills `buf` from `seed`: one LCG step per 8 bytes. (Plain indexing, so that -O0 builds
/// do not spend their time in slice-iterator calls.)
fn fill(buf: &mut [u8], seed: u64) {
    let mut x = seed;
    let mut i = 0;
    while i + 8 <= buf.len() {
        x = x
            .wrapping_mul(0x5851_f42d_4c95_7f2d)
            .wrapping_add(0x1405_7b7e_f767_814f);
        let b = x.to_le_bytes();
        buf[i] = b[0];
        buf[i + 1] = b[1];
        buf[i + 2] = b[2];
        buf[i + 3] = b[3];
        buf[i + 4] = b[4];
        buf[i + 5] = b[5];
        buf[i + 6] = b[6];
        buf[i + 7] = b[7];
        i += 8;
    }
}

/// FNV-style hash of `buf`, one step per 8 bytes.
fn checksum_of(buf: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i + 8 <= buf.len() {
        let w = u64::from_le_bytes([
            buf[i],
            buf[i + 1],
            buf[i + 2],
            buf[i + 3],
            buf[i + 4],
            buf[i + 5],
            buf[i + 6],
            buf[i + 7],
        ]);
        h = (h ^ w).wrapping_mul(0x100000001b3);
        i += 8;
    }
    h
}

/// The size of the value that `f` would return, without calling it.
fn size_of_output<F: FnOnce() -> R, R>(_: &F) -> usize {
    std::mem::size_of::<R>()
}

// 1. arg_across_await

async fn test(arg: [u8; 8192]) -> u64 {
    wait().await;
    checksum_of(&arg)
}

// 2. nested_argument_futures

async fn use_future<F: Future<Output = u64>>(fut: F) -> u64 {
    wait().await;
    fut.await
}

/// The 8 KiB future at the bottom: an async block that owns the buffer and waits once
/// (an upvar used in place, so rustc does not store it twice: 8 KiB and a tag).
fn owned_8k(buffer: [u8; 8192]) -> impl Future<Output = u64> {
    async move {
        wait().await;
        checksum_of(&buffer)
    }
}

fn nested_argument_futures(buffer: [u8; 8192]) -> impl Future<Output = u64> {
    use_future(use_future(use_future(use_future(use_future(use_future(
        use_future(use_future(use_future(use_future(owned_8k(buffer))))),
    ))))))
}

// 3. combining_future

async fn combining_future<F: Future<Output = u64>>(compute: F) -> u64 {
    async {}.await;
    compute.await
}

fn blob_future(seed: u64) -> impl Future<Output = u64> {
    let mut blob = [0u8; 65536];
    fill(&mut blob, seed);
    async move {
        wait().await;
        checksum_of(&blob)
    }
}

fn combining_nested(seed: u64) -> impl Future<Output = u64> {
    combining_future(combining_future(combining_future(combining_future(
        blob_future(seed),
    ))))
}

// 4. work

fn another(seed: u64) -> impl Future<Output = u64> {
    let mut data = [0u8; 4096];
    fill(&mut data, seed);
    async move {
        wait().await;
        checksum_of(&data)
    }
}

async fn holds_4k(x: u64) -> u64 {
    let mut buf = [0u8; 4096];
    fill(&mut buf, x);
    wait().await;
    checksum_of(&buf)
}

async fn work<F: Future<Output = u64>>(another: F) -> u64 {
    let a = another.await;
    let b = holds_4k(a).await;
    a ^ b
}

/// Polls one future to completion through a trait object, counting the polls.
#[inline(never)]
fn run_dyn(mut fut: Pin<&mut dyn Future<Output = u64>>, polls: &mut u64) -> u64 {
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        *polls += 1;
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[derive(Clone, Copy)]
struct Totals {
    checksum: u64,
    polls: u64,
}

impl Totals {
    fn run(&mut self, fut: Pin<&mut dyn Future<Output = u64>>) {
        let v = run_dyn(fut, &mut self.polls);
        self.checksum = self.checksum.wrapping_mul(0x100000001b3).wrapping_add(v);
    }
}

/// The input of run `i` of example `example`.
fn input(i: u64, salt: u64, example: u64) -> u64 {
    (i ^ salt) ^ (example << 56)
}

fn run_arg_across_await(n: u64, salt: u64, mut t: Totals) -> Totals {
    for i in 0..n {
        let mut arg = [0u8; 8192];
        fill(&mut arg, input(i, salt, 1));
        t.run(pin!(test(arg)));
    }
    t
}

fn run_nested_argument_futures(n: u64, salt: u64, mut t: Totals) -> Totals {
    for i in 0..n {
        let mut buffer = [0u8; 8192];
        fill(&mut buffer, input(i, salt, 2));
        t.run(pin!(nested_argument_futures(buffer)));
    }
    t
}

fn run_combining_future(n: u64, salt: u64, mut t: Totals) -> Totals {
    for i in 0..n {
        t.run(pin!(combining_nested(input(i, salt, 3))));
    }
    t
}

fn run_work(n: u64, salt: u64, mut t: Totals) -> Totals {
    for i in 0..n {
        t.run(pin!(work(another(input(i, salt, 4)))));
    }
    t
}

/// Runs `f` on the main thread, or on a spawned thread with a stack of 4 × `size` + 1 MiB.
fn on_stack_for(
    size: usize,
    main_thread: bool,
    f: impl FnOnce() -> Totals + Send + 'static,
) -> Totals {
    if main_thread {
        f()
    } else {
        std::thread::Builder::new()
            .stack_size(4 * size + (1 << 20))
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let salt: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let main_thread = args.get(3).is_some_and(|s| s == "--main-thread");
    let (n, salt, main_thread) = std::hint::black_box((n, salt, main_thread));

    let size_1 = size_of_output(&|| test([0u8; 8192]));
    let size_2 = size_of_output(&|| nested_argument_futures([0u8; 8192]));
    let size_3 = size_of_output(&|| combining_nested(0));
    let size_4 = size_of_output(&|| work(another(0)));
    println!("size_of arg_across_await: {size_1}");
    println!("size_of nested_argument_futures: {size_2}");
    println!("size_of combining_future: {size_3}");
    println!("size_of work: {size_4}");

    let mut t = Totals {
        checksum: 0,
        polls: 0,
    };
    t = run_arg_across_await(n, salt, t);
    t = on_stack_for(size_2, main_thread, move || {
        run_nested_argument_futures(n, salt, t)
    });
    t = on_stack_for(size_3, main_thread, move || {
        run_combining_future(n, salt, t)
    });
    t = run_work(n, salt, t);
    let Totals { checksum, polls } = t;
    println!("sizes n={n} checksum={checksum:#018x} polls={polls}");
}
