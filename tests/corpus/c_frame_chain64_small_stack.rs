// A flattened 64-deep await chain, run on a thread spawned with a 64 KiB stack. Under the
// default at opt-level 1 and up, inline_child and flatten_child make the chain one resume
// function (and one drop glue); before share_stack_slots and construct_in_place its frame
// grew with the square of the depth (52 KiB at 16 levels), which would overflow this
// thread. Each level mixes its depth into the leaf's value; the leaf is Pending a few
// times and holds a Noisy guard; the chain is cancelled after each poll count, and its
// future's size is printed (compared only for non-lowering builds).
//
// Unflattened, the chain is 64 nested polls: LLVM at -O0 needs about 100 KiB for them, so
// builds with debug assertions (the opt-level 0 ones) get a 1 MiB thread. Stock cg_clif at
// -O3 needs about 140 KiB (64 resume frames of about 2 KiB) and cannot run it:
//@ skip-config: corolift-off-O3 stock cg_clif's 64 nested resume frames (about 2.2 KiB each) overflow a 64 KiB stack
#![recursion_limit = "256"]

#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn l0(x: u64, yields: u32) -> u64 {
    let _guard = Noisy("leaf guard");
    for _ in 0..yields {
        yield_now().await;
    }
    x.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

async fn l1(x: u64, yields: u32) -> u64 {
    l0(x ^ 1, yields).await.rotate_left(2).wrapping_add(1)
}

async fn l2(x: u64, yields: u32) -> u64 {
    l1(x ^ 2, yields).await.rotate_left(3).wrapping_add(2)
}

async fn l3(x: u64, yields: u32) -> u64 {
    l2(x ^ 3, yields).await.rotate_left(4).wrapping_add(3)
}

async fn l4(x: u64, yields: u32) -> u64 {
    l3(x ^ 4, yields).await.rotate_left(5).wrapping_add(4)
}

async fn l5(x: u64, yields: u32) -> u64 {
    l4(x ^ 5, yields).await.rotate_left(6).wrapping_add(5)
}

async fn l6(x: u64, yields: u32) -> u64 {
    l5(x ^ 6, yields).await.rotate_left(7).wrapping_add(6)
}

async fn l7(x: u64, yields: u32) -> u64 {
    l6(x ^ 7, yields).await.rotate_left(1).wrapping_add(7)
}

async fn l8(x: u64, yields: u32) -> u64 {
    l7(x ^ 8, yields).await.rotate_left(2).wrapping_add(8)
}

async fn l9(x: u64, yields: u32) -> u64 {
    l8(x ^ 9, yields).await.rotate_left(3).wrapping_add(9)
}

async fn l10(x: u64, yields: u32) -> u64 {
    l9(x ^ 10, yields).await.rotate_left(4).wrapping_add(10)
}

async fn l11(x: u64, yields: u32) -> u64 {
    l10(x ^ 11, yields).await.rotate_left(5).wrapping_add(11)
}

async fn l12(x: u64, yields: u32) -> u64 {
    l11(x ^ 12, yields).await.rotate_left(6).wrapping_add(12)
}

async fn l13(x: u64, yields: u32) -> u64 {
    l12(x ^ 13, yields).await.rotate_left(7).wrapping_add(13)
}

async fn l14(x: u64, yields: u32) -> u64 {
    l13(x ^ 14, yields).await.rotate_left(1).wrapping_add(14)
}

async fn l15(x: u64, yields: u32) -> u64 {
    l14(x ^ 15, yields).await.rotate_left(2).wrapping_add(15)
}

async fn l16(x: u64, yields: u32) -> u64 {
    l15(x ^ 16, yields).await.rotate_left(3).wrapping_add(16)
}

async fn l17(x: u64, yields: u32) -> u64 {
    l16(x ^ 17, yields).await.rotate_left(4).wrapping_add(17)
}

async fn l18(x: u64, yields: u32) -> u64 {
    l17(x ^ 18, yields).await.rotate_left(5).wrapping_add(18)
}

async fn l19(x: u64, yields: u32) -> u64 {
    l18(x ^ 19, yields).await.rotate_left(6).wrapping_add(19)
}

async fn l20(x: u64, yields: u32) -> u64 {
    l19(x ^ 20, yields).await.rotate_left(7).wrapping_add(20)
}

async fn l21(x: u64, yields: u32) -> u64 {
    l20(x ^ 21, yields).await.rotate_left(1).wrapping_add(21)
}

async fn l22(x: u64, yields: u32) -> u64 {
    l21(x ^ 22, yields).await.rotate_left(2).wrapping_add(22)
}

async fn l23(x: u64, yields: u32) -> u64 {
    l22(x ^ 23, yields).await.rotate_left(3).wrapping_add(23)
}

async fn l24(x: u64, yields: u32) -> u64 {
    l23(x ^ 24, yields).await.rotate_left(4).wrapping_add(24)
}

async fn l25(x: u64, yields: u32) -> u64 {
    l24(x ^ 25, yields).await.rotate_left(5).wrapping_add(25)
}

async fn l26(x: u64, yields: u32) -> u64 {
    l25(x ^ 26, yields).await.rotate_left(6).wrapping_add(26)
}

async fn l27(x: u64, yields: u32) -> u64 {
    l26(x ^ 27, yields).await.rotate_left(7).wrapping_add(27)
}

async fn l28(x: u64, yields: u32) -> u64 {
    l27(x ^ 28, yields).await.rotate_left(1).wrapping_add(28)
}

async fn l29(x: u64, yields: u32) -> u64 {
    l28(x ^ 29, yields).await.rotate_left(2).wrapping_add(29)
}

async fn l30(x: u64, yields: u32) -> u64 {
    l29(x ^ 30, yields).await.rotate_left(3).wrapping_add(30)
}

async fn l31(x: u64, yields: u32) -> u64 {
    l30(x ^ 31, yields).await.rotate_left(4).wrapping_add(31)
}

async fn l32(x: u64, yields: u32) -> u64 {
    l31(x ^ 32, yields).await.rotate_left(5).wrapping_add(32)
}

async fn l33(x: u64, yields: u32) -> u64 {
    l32(x ^ 33, yields).await.rotate_left(6).wrapping_add(33)
}

async fn l34(x: u64, yields: u32) -> u64 {
    l33(x ^ 34, yields).await.rotate_left(7).wrapping_add(34)
}

async fn l35(x: u64, yields: u32) -> u64 {
    l34(x ^ 35, yields).await.rotate_left(1).wrapping_add(35)
}

async fn l36(x: u64, yields: u32) -> u64 {
    l35(x ^ 36, yields).await.rotate_left(2).wrapping_add(36)
}

async fn l37(x: u64, yields: u32) -> u64 {
    l36(x ^ 37, yields).await.rotate_left(3).wrapping_add(37)
}

async fn l38(x: u64, yields: u32) -> u64 {
    l37(x ^ 38, yields).await.rotate_left(4).wrapping_add(38)
}

async fn l39(x: u64, yields: u32) -> u64 {
    l38(x ^ 39, yields).await.rotate_left(5).wrapping_add(39)
}

async fn l40(x: u64, yields: u32) -> u64 {
    l39(x ^ 40, yields).await.rotate_left(6).wrapping_add(40)
}

async fn l41(x: u64, yields: u32) -> u64 {
    l40(x ^ 41, yields).await.rotate_left(7).wrapping_add(41)
}

async fn l42(x: u64, yields: u32) -> u64 {
    l41(x ^ 42, yields).await.rotate_left(1).wrapping_add(42)
}

async fn l43(x: u64, yields: u32) -> u64 {
    l42(x ^ 43, yields).await.rotate_left(2).wrapping_add(43)
}

async fn l44(x: u64, yields: u32) -> u64 {
    l43(x ^ 44, yields).await.rotate_left(3).wrapping_add(44)
}

async fn l45(x: u64, yields: u32) -> u64 {
    l44(x ^ 45, yields).await.rotate_left(4).wrapping_add(45)
}

async fn l46(x: u64, yields: u32) -> u64 {
    l45(x ^ 46, yields).await.rotate_left(5).wrapping_add(46)
}

async fn l47(x: u64, yields: u32) -> u64 {
    l46(x ^ 47, yields).await.rotate_left(6).wrapping_add(47)
}

async fn l48(x: u64, yields: u32) -> u64 {
    l47(x ^ 48, yields).await.rotate_left(7).wrapping_add(48)
}

async fn l49(x: u64, yields: u32) -> u64 {
    l48(x ^ 49, yields).await.rotate_left(1).wrapping_add(49)
}

async fn l50(x: u64, yields: u32) -> u64 {
    l49(x ^ 50, yields).await.rotate_left(2).wrapping_add(50)
}

async fn l51(x: u64, yields: u32) -> u64 {
    l50(x ^ 51, yields).await.rotate_left(3).wrapping_add(51)
}

async fn l52(x: u64, yields: u32) -> u64 {
    l51(x ^ 52, yields).await.rotate_left(4).wrapping_add(52)
}

async fn l53(x: u64, yields: u32) -> u64 {
    l52(x ^ 53, yields).await.rotate_left(5).wrapping_add(53)
}

async fn l54(x: u64, yields: u32) -> u64 {
    l53(x ^ 54, yields).await.rotate_left(6).wrapping_add(54)
}

async fn l55(x: u64, yields: u32) -> u64 {
    l54(x ^ 55, yields).await.rotate_left(7).wrapping_add(55)
}

async fn l56(x: u64, yields: u32) -> u64 {
    l55(x ^ 56, yields).await.rotate_left(1).wrapping_add(56)
}

async fn l57(x: u64, yields: u32) -> u64 {
    l56(x ^ 57, yields).await.rotate_left(2).wrapping_add(57)
}

async fn l58(x: u64, yields: u32) -> u64 {
    l57(x ^ 58, yields).await.rotate_left(3).wrapping_add(58)
}

async fn l59(x: u64, yields: u32) -> u64 {
    l58(x ^ 59, yields).await.rotate_left(4).wrapping_add(59)
}

async fn l60(x: u64, yields: u32) -> u64 {
    l59(x ^ 60, yields).await.rotate_left(5).wrapping_add(60)
}

async fn l61(x: u64, yields: u32) -> u64 {
    l60(x ^ 61, yields).await.rotate_left(6).wrapping_add(61)
}

async fn l62(x: u64, yields: u32) -> u64 {
    l61(x ^ 62, yields).await.rotate_left(7).wrapping_add(62)
}

async fn l63(x: u64, yields: u32) -> u64 {
    l62(x ^ 63, yields).await.rotate_left(1).wrapping_add(63)
}

async fn l64(x: u64, yields: u32) -> u64 {
    l63(x ^ 64, yields).await.rotate_left(2).wrapping_add(64)
}


fn run() {
    println!("size_of chain64 future: {}", std::mem::size_of_val(&l64(0, 0)));
    for (x, yields) in [(1u64, 0u32), (2, 1), (3, 4)] {
        let (v, polls) = block_on_counted(l64(opaque(x as u32) as u64, opaque(yields)));
        println!("l64({x}, {yields}) = {v:#018x} polls {polls}");
    }
    for polls in 0..4 {
        let mut fut = Box::pin(l64(opaque(7) as u64, opaque(2)));
        match poll_n(fut.as_mut(), polls) {
            Some(v) => println!("after {polls} polls: finished {v:#018x}"),
            None => println!("after {polls} polls: cancelled"),
        }
        drop(fut);
    }
}

fn main() {
    let stack = if cfg!(debug_assertions) { 1024 * 1024 } else { 64 * 1024 };
    let worker = std::thread::Builder::new().stack_size(stack).spawn(run).expect("spawn the small-stack thread");
    worker.join().expect("the small-stack thread finished");
    println!("done on the small stack");
}
