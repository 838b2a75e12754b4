// Regression: merge_states decides that two continuations are "the same code" by comparing
// `format!("{:?}")` of their statements and terminators, and MIR's Debug output is not
// injective. Three ways two different continuations print the same:
// - `by_item`: two fn items named `h` in different blocks of one function; both print
//   as `by_item::{closure#0}::h()` (the def path's disambiguator is not printed);
// - `by_macro`: two closures from two expansions of one macro; at opt-level >= 1 the ZST
//   closure is a constant operand and its type prints as `{closure@<span in the macro>}`,
//   the same for both expansions, so `apply::<{closure@..}>` prints the same for both;
// - `by_nan`: two f32 constants that differ only in their NaN payload both print
//   `const NaN_f32` (at opt-level >= 1, where the consts are evaluated into the body).
// The states merged and the `false` arm ran the `true` arm's copy: corolift printed
// `by_item(false) = 1`, `by_macro(false) = 30`, `by_nan(false) = 0x7fc00001` (the
// reference: 2, 300, 0x7fc00002). Comparing the renamed MIR with `==` instead of its
// Debug string tells all three apart.
#[path = "support/executor.rs"]
mod executor;
use executor::*;

async fn by_item(c: bool) -> u32 {
    if c {
        yield_now().await;
        fn h() -> u32 {
            1
        }
        h()
    } else {
        yield_now().await;
        fn h() -> u32 {
            2
        }
        h()
    }
}

macro_rules! scale {
    ($k:expr) => {
        |x: u32| x * $k
    };
}

fn apply<F: Fn(u32) -> u32>(f: F) -> u32 {
    f(std::hint::black_box(3))
}

async fn by_macro(c: bool) -> u32 {
    if c {
        yield_now().await;
        apply(scale!(10))
    } else {
        yield_now().await;
        apply(scale!(100))
    }
}

const NAN_1: f32 = f32::from_bits(0x7fc0_0001);
const NAN_2: f32 = f32::from_bits(0x7fc0_0002);

async fn by_nan(c: bool) -> u32 {
    if c {
        yield_now().await;
        std::hint::black_box(NAN_1).to_bits()
    } else {
        yield_now().await;
        std::hint::black_box(NAN_2).to_bits()
    }
}

fn main() {
    for c in [true, false] {
        let flag = opaque(c as u32) == 1;
        println!("by_item({c}) = {}", block_on(by_item(flag)));
        println!("by_macro({c}) = {}", block_on(by_macro(flag)));
        println!("by_nan({c}) = {:#x}", block_on(by_nan(flag)));
    }
}
