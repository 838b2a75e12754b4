// Benchmark baseline: protocol.rs's protocol handler with hand-written futures instead of
// async fns: every child is a small struct implementing Future, and `serve` is one
// hand-written state machine (an enum of awaiting states, one per child kind, the reply
// states shared between arms) over the same session state and the same command stream.
// Same output as protocol.rs for the same arguments.
//
// Usage: protocol_manual [N] [SEED]   N commands (default 10000) from a xorshift stream
// seeded by SEED (default 2463534242). Prints the final session state, a store checksum
// and the polls.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

const SLOTS: usize = 16;

fn xorshift(mut x: u32) -> u32 {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    x
}

#[derive(Clone, Copy)]
enum Cmd {
    Ping(u32),
    Auth(u32),
    Get(usize),
    Put(usize, u32),
    Batch(u32),
    Flush,
    Close,
}

fn decode(word: u32) -> Cmd {
    let arg = word >> 8;
    match (word >> 2) % 8 {
        0 | 7 => Cmd::Ping(arg),
        1 => Cmd::Auth(arg),
        2 => Cmd::Get(arg as usize % SLOTS),
        3 => Cmd::Put(arg as usize % SLOTS, arg >> 4),
        4 => Cmd::Batch(arg % 4),
        5 => Cmd::Flush,
        _ => Cmd::Close,
    }
}

#[derive(Clone, Copy)]
struct Session {
    authed: bool,
    key: u32,
    seq: u32,
    errors: u32,
    acc: u64,
    store: [u32; SLOTS],
}

fn pending(cx: &mut Context<'_>) -> Poll<()> {
    cx.waker().wake_by_ref();
    Poll::Pending
}

/// Reads the next frame: suspends when the "socket" has no data yet (1 frame in 4).
struct ReadFrame {
    w: u32,
    wait: bool,
}

#[inline(never)]
fn read_frame(state: u32) -> ReadFrame {
    let w = xorshift(state);
    ReadFrame {
        w,
        wait: w & 3 == 0,
    }
}

impl Future for ReadFrame {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let this = self.get_mut();
        if this.wait {
            this.wait = false;
            return pending(cx).map(|()| 0);
        }
        Poll::Ready(this.w)
    }
}

/// Always suspends once.
struct SendResponse {
    x: u32,
    yielded: bool,
}

#[inline(never)]
fn send_response(x: u32) -> SendResponse {
    SendResponse { x, yielded: false }
}

impl Future for SendResponse {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let this = self.get_mut();
        if !this.yielded {
            this.yielded = true;
            return pending(cx).map(|()| 0);
        }
        Poll::Ready(this.x.rotate_left(5) ^ 0x5bd1_e995)
    }
}

/// A future that is Ready on its first poll with a value computed up front:
/// check_auth, reject and ack never suspend.
struct Ready<T>(Option<T>);

impl<T: Unpin> Future for Ready<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<T> {
        Poll::Ready(
            self.get_mut()
                .0
                .take()
                .expect("Ready polled after completion"),
        )
    }
}

#[inline(never)]
fn check_auth(key: u32) -> Ready<bool> {
    Ready(Some(key % 5 != 0))
}

#[inline(never)]
fn reject(code: u32) -> Ready<u32> {
    Ready(Some(0xe000 | code))
}

#[inline(never)]
fn ack(x: u32) -> Ready<u32> {
    Ready(Some(x.wrapping_mul(3).wrapping_add(1)))
}

/// Suspends 0, 1 or 2 times, depending on the slot.
struct StorageRead {
    cell: u32,
    slot: u32,
    left: u32,
}

#[inline(never)]
fn storage_read(cell: u32, slot: u32) -> StorageRead {
    StorageRead {
        cell,
        slot,
        left: slot % 3,
    }
}

impl Future for StorageRead {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let this = self.get_mut();
        if this.left > 0 {
            this.left -= 1;
            return pending(cx).map(|()| 0);
        }
        Poll::Ready(this.cell.wrapping_mul(2_654_435_761) ^ this.slot)
    }
}

/// Suspends when the value is odd.
struct StorageWrite {
    old: u32,
    v: u32,
    wait: bool,
}

#[inline(never)]
fn storage_write(old: u32, v: u32) -> StorageWrite {
    StorageWrite {
        old,
        v,
        wait: v & 1 == 1,
    }
}

impl Future for StorageWrite {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let this = self.get_mut();
        if this.wait {
            this.wait = false;
            return pending(cx).map(|()| 0);
        }
        Poll::Ready(this.old.wrapping_add(this.v))
    }
}

/// Always suspends twice.
struct Flush {
    seq: u32,
    acc: u64,
    left: u8,
}

#[inline(never)]
fn flush(seq: u32, acc: u64) -> Flush {
    Flush { seq, acc, left: 2 }
}

impl Future for Flush {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let this = self.get_mut();
        if this.left > 0 {
            this.left -= 1;
            return pending(cx).map(|()| 0);
        }
        Poll::Ready((this.acc as u32) ^ (this.acc >> 32) as u32 ^ this.seq)
    }
}

/// Where `serve` is suspended. The final reply of Ping, Auth, Get and Flush is one state,
/// as are the never-suspending acks and rejects.
enum State {
    Next,
    Read(ReadFrame),
    Auth(u32, Ready<bool>),
    Reply(SendResponse),
    Immediate(Ready<u32>),
    GetRead(StorageRead),
    PutWrite(usize, StorageWrite),
    PutAck(Ready<u32>),
    Batch { j: u32, k: u32, sum: u32 },
    Flush(Flush),
    Done,
}

struct Serve {
    s: Session,
    n: u32,
    i: u32,
    rng: u32,
    state: State,
}

#[inline(never)]
fn serve(n: u32, seed: u32) -> Serve {
    Serve {
        s: Session {
            authed: false,
            key: 0,
            seq: 0,
            errors: 0,
            acc: 0,
            store: [0; SLOTS],
        },
        n,
        i: 0,
        rng: seed | 1,
        state: State::Next,
    }
}

macro_rules! ready {
    ($e:expr) => {
        match $e {
            Poll::Ready(v) => v,
            Poll::Pending => return Poll::Pending,
        }
    };
}

impl Serve {
    /// A command's reply is known: account for it and go on to the next frame.
    fn finish(&mut self, reply: u32) {
        self.s.seq = self.s.seq.wrapping_add(1);
        self.s.acc = self
            .s
            .acc
            .wrapping_mul(0x100_0000_01b3)
            .wrapping_add(reply as u64);
        self.i += 1;
        self.state = State::Next;
    }

    /// The frame is read: decode it and start the command's first child.
    fn start(&mut self, word: u32) {
        let s = &mut self.s;
        self.state = match decode(word) {
            Cmd::Ping(x) => State::Reply(send_response(x ^ s.seq)),
            Cmd::Auth(k) => State::Auth(k, check_auth(k)),
            Cmd::Get(slot) => {
                if s.authed {
                    State::GetRead(storage_read(s.store[slot], slot as u32))
                } else {
                    s.errors += 1;
                    State::Immediate(reject(1))
                }
            }
            Cmd::Put(slot, v) => {
                if s.authed {
                    State::PutWrite(slot, storage_write(s.store[slot], v))
                } else {
                    s.errors += 1;
                    State::Immediate(reject(2))
                }
            }
            Cmd::Batch(k) => State::Batch { j: 0, k, sum: 0 },
            Cmd::Flush => State::Flush(flush(s.seq, s.acc)),
            Cmd::Close => {
                s.authed = false;
                State::Immediate(ack(s.seq))
            }
        };
    }
}

impl Future for Serve {
    type Output = Session;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Session> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Next => {
                    if this.i == this.n {
                        this.state = State::Done;
                        return Poll::Ready(this.s);
                    }
                    this.state = State::Read(read_frame(this.rng));
                }
                State::Read(f) => {
                    let w = ready!(Pin::new(f).poll(cx));
                    this.rng = w;
                    this.start(w);
                }
                State::Auth(k, f) => {
                    let k = *k;
                    let ok = ready!(Pin::new(f).poll(cx));
                    if ok {
                        this.s.authed = true;
                        this.s.key = k;
                    } else {
                        this.s.errors += 1;
                    }
                    this.state = State::Reply(send_response(ok as u32));
                }
                State::Reply(f) => {
                    let r = ready!(Pin::new(f).poll(cx));
                    this.finish(r);
                }
                State::Immediate(f) => {
                    let r = ready!(Pin::new(f).poll(cx));
                    this.finish(r);
                }
                State::GetRead(f) => {
                    let v = ready!(Pin::new(f).poll(cx));
                    this.state = State::Reply(send_response(v ^ this.s.key));
                }
                State::PutWrite(slot, f) => {
                    let slot = *slot;
                    let v = ready!(Pin::new(f).poll(cx));
                    this.s.store[slot] = v;
                    this.state = State::PutAck(ack(v));
                }
                State::PutAck(f) => {
                    let r = ready!(Pin::new(f).poll(cx));
                    this.finish(r);
                }
                State::Batch { j, k, sum } => {
                    if *j == *k {
                        let r = *sum;
                        this.finish(r);
                    } else {
                        let a = ready!(Pin::new(&mut ack(*j ^ this.s.key)).poll(cx));
                        *sum = sum.wrapping_add(a);
                        *j += 1;
                    }
                }
                State::Flush(f) => {
                    let r = ready!(Pin::new(f).poll(cx));
                    this.state = State::Reply(send_response(r));
                }
                State::Done => panic!("Serve polled after completion"),
            }
        }
    }
}

#[inline(never)]
fn block_on<F: Future>(fut: F, polls: &mut u64) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        *polls += 1;
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10000);
    let seed: u32 = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_463_534_242);
    let (n, seed) = std::hint::black_box((n, seed));
    let mut polls: u64 = 0;
    let s = block_on(serve(n, seed), &mut polls);
    let store = s
        .store
        .iter()
        .fold(0u64, |h, &w| h.rotate_left(7) ^ w as u64);
    println!(
        "protocol n={n} seed={seed} seq={} errors={} authed={} key={:#010x} acc={:#018x} store={store:#018x} polls={polls}",
        s.seq, s.errors, s.authed, s.key, s.acc
    );
}
