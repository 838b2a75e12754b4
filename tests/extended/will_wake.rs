// cg_clif limitation behind two futures tests (see known-limitations.txt). Prints
// `same vtable: false` / `will_wake: false` when built by cg_clif at -Copt-level=3, with or
// without corolift (`-Cllvm-args=corolift=off`); `true` under LLVM at any opt-level:
//   rustc +nightly -Zcodegen-backend=$PWD/dist/librustc_codegen_corolift.so -Cllvm-args=corolift=off -Copt-level=3 tests/extended/will_wake.rs
//
// Waker::will_wake on a clone made by the vtable's own clone function.
use std::task::{RawWaker, RawWakerVTable, Waker};

fn vtable<T>() -> &'static RawWakerVTable {
    &RawWakerVTable::new(clone_raw::<T>, noop::<T>, noop::<T>, noop::<T>)
}
unsafe fn clone_raw<T>(data: *const ()) -> RawWaker {
    RawWaker::new(data, vtable::<T>())
}
unsafe fn noop<T>(_: *const ()) {}

fn main() {
    let w1 = unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), vtable::<u8>())) };
    let w2 = w1.clone();
    println!("same vtable: {}", std::ptr::eq(w1.vtable(), w2.vtable()));
    println!("will_wake: {}", w1.will_wake(&w2));
}
