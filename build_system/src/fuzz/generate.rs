//! The program generator of `./y.sh fuzz`: from a seed, a small, well-typed, terminating,
//! deterministic async Rust program (std only, edition 2024) that prints what it observes.
//!
//! A program is a prelude (the `Noisy` drop printer, the `Leaf` future that is Pending a
//! given number of times, a hand-written executor on `Waker::noop()`), async fns
//! `f0, f1, ..` where `fi` only calls `fj` with `j < i` (no recursion), and a `main` whose
//! top-level statements each run inside `catch_unwind` and print `caught` when a panic
//! escapes. Every value is a `u32` computed with wrapping arithmetic; loops run at most
//! three times; every await chain ends in a `Leaf`; a cost budget bounds how much work a
//! function does, so programs terminate quickly and their output stays short. `main`
//! runs its statements on a thread with a 128 KiB stack, so that a frame grown by
//! splicing, or a future built on the stack, overflows it instead of passing unnoticed.
//!
//! What the statements exercise: awaits in if/else branches, loops, match arms (the same
//! child awaited in several arms, and the same call in both branches of an if, which is
//! what `merge_states` merges) and match scrutinees; async fns that never await (with
//! `Copy` arguments, which `await_free` lowers, and with `String`, `Vec` or `Noisy`
//! arguments, which it must decline); nested async blocks (`async` and `async move`),
//! async closures and async fns declared inside bodies; `Noisy` values, references and
//! `String`s held across awaits; early returns and `?` on `Option` and `Result`; panics,
//! caught around a whole statement of `main` or inside a body; cancellation (a future
//! dropped after k polls) and a round-robin executor and a select over boxed tasks, in a
//! seed-determined order.
//!
//! The one rule the executor keeps: a future is never polled again after it returned
//! Ready or after its poll panicked. Without debug-assertions corolift makes such a poll
//! return Pending (`returned_arm`) or run the body again (`await_free`), while rustc
//! panics: a difference by design, not a miscompile. So every loop that polls stops at
//! Ready and drops the future, and a future whose poll may panic lives inside the
//! `catch_unwind` closure, so the unwinding drops it.
//!
//! Programs are held as items whose top-level statements can be replaced by a stub (the
//! same `let` with a constant, or nothing), which is how the minimiser shrinks them.

/// The largest `size`; `default_size` picks 1..=MAX_SIZE from the seed, the minimiser
/// tries smaller ones (0 is the smallest program).
pub const MAX_SIZE: u32 = 4;

pub fn default_size(seed: u64) -> u32 {
    (splitmix64(seed ^ 0x5eed_5eed) % MAX_SIZE as u64) as u32 + 1
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// splitmix64: small, good enough, and the same everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(splitmix64(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        splitmix64(self.0)
    }

    /// 0..n (n > 0).
    pub fn below(&mut self, n: u32) -> u32 {
        (self.next_u64() % n.max(1) as u64) as u32
    }

    /// lo..=hi.
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(hi - lo + 1)
    }

    pub fn chance(&mut self, num: u32, den: u32) -> bool {
        self.below(den) < num
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u32) as usize]
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u32 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// One top-level statement: its code, and what replaces it when the minimiser drops it
/// (a `let` of the same variable with a constant, or nothing).
#[derive(Clone, Debug)]
pub struct Unit {
    pub code: String,
    pub stub: String,
    pub stubbed: bool,
}

impl Unit {
    fn new(code: String, stub: String) -> Unit {
        Unit { code, stub, stubbed: false }
    }

    fn text(&self) -> &str {
        if self.stubbed { &self.stub } else { &self.code }
    }
}

#[derive(Clone, Debug)]
pub struct FnItem {
    pub name: String,
    pub header: String,
    pub body: Vec<Unit>,
    pub tail: String,
    pub removed: bool,
}

#[derive(Clone, Debug)]
pub struct Program {
    pub seed: u64,
    pub size: u32,
    pub fns: Vec<FnItem>,
    pub main: Vec<Unit>,
}

/// Where a statement sits: in `main` (None) or in `fns[i]`, at an index.
#[derive(Clone, Copy, Debug)]
pub struct Loc {
    pub func: Option<usize>,
    pub index: usize,
}

const PRELUDE: &str = r#"#![allow(unused, unreachable_code, unused_must_use)]
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
"#;

/// The stack of the thread a generated program runs on: 128 KiB, a sixteenth of a tokio
/// worker's, and more than any generated program needs when built by LLVM at -O0.
const SMALL_STACK: usize = 128 * 1024;

impl Program {
    pub fn render(&self) -> String {
        let mut out = format!("// Generated by `./y.sh fuzz` from seed {} at size {}.\n", self.seed, self.size);
        out.push_str(PRELUDE);
        let mut raw = String::new();
        for f in self.fns.iter().filter(|f| !f.removed) {
            raw.push('\n');
            raw.push_str(&f.header);
            raw.push_str(" {\n");
            for u in &f.body {
                push_lines(&mut raw, u.text());
            }
            push_lines(&mut raw, &f.tail);
            raw.push_str("}\n");
        }
        // The program runs on a thread with a small stack: a resume function whose frame grew
        // with the splices (or a future built on the stack) overflows it, and the abort
        // shows as a divergence.
        raw.push_str("\nfn main() {\nstd::panic::set_hook(Box::new(|_| {}));\n");
        raw.push_str(&format!("let run = std::thread::Builder::new().stack_size({SMALL_STACK}).spawn(|| {{\n"));
        for u in &self.main {
            push_lines(&mut raw, u.text());
        }
        raw.push_str("println!(\"end\");\n}).expect(\"spawn the small-stack thread\");\n");
        raw.push_str("if let Err(payload) = run.join() {\nstd::panic::resume_unwind(payload);\n}\n}\n");
        out.push_str(&reindent(&raw));
        out
    }

    /// Every statement the minimiser may stub, main's first.
    pub fn locs(&self) -> Vec<Loc> {
        let mut locs: Vec<Loc> = (0..self.main.len()).map(|index| Loc { func: None, index }).collect();
        for (i, f) in self.fns.iter().enumerate().rev() {
            if f.removed {
                continue;
            }
            for index in 0..f.body.len() {
                locs.push(Loc { func: Some(i), index });
            }
        }
        locs
    }

    /// Replaces one statement by its stub; false if it already was one (or is empty).
    pub fn stub(&mut self, loc: Loc) -> bool {
        let unit = match loc.func {
            None => &mut self.main[loc.index],
            Some(f) => &mut self.fns[f].body[loc.index],
        };
        if unit.stubbed || unit.code == unit.stub {
            return false;
        }
        unit.stubbed = true;
        true
    }

    /// Removes the functions nothing else names; true if any went.
    pub fn remove_unused_fns(&mut self) -> bool {
        let mut any = false;
        loop {
            let mut changed = false;
            for i in 0..self.fns.len() {
                if self.fns[i].removed {
                    continue;
                }
                let name = self.fns[i].name.clone();
                let mut used = self.main.iter().any(|u| mentions(u.text(), &name));
                for (j, f) in self.fns.iter().enumerate() {
                    if j != i && !f.removed {
                        used |= f.body.iter().any(|u| mentions(u.text(), &name)) || mentions(&f.tail, &name);
                    }
                }
                if !used {
                    self.fns[i].removed = true;
                    changed = true;
                    any = true;
                }
            }
            if !changed {
                return any;
            }
        }
    }
}

/// Does `text` contain `name` as a whole identifier?
fn mentions(text: &str, name: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut start = 0;
    while let Some(pos) = text[start..].find(name) {
        let at = start + pos;
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        if !before.is_some_and(ident) && !after.is_some_and(ident) {
            return true;
        }
        start = at + name.len();
    }
    false
}

fn push_lines(out: &mut String, text: &str) {
    if text.is_empty() {
        return;
    }
    out.push_str(text);
    if !text.ends_with('\n') {
        out.push('\n');
    }
}

/// Indents by brace depth (string literals in generated code hold balanced `{}` only).
fn reindent(raw: &str) -> String {
    let mut out = String::new();
    let mut depth: i32 = 0;
    for line in raw.lines() {
        let t = line.trim();
        if t.is_empty() {
            out.push('\n');
            continue;
        }
        let leading = t.chars().take_while(|&c| c == '}' || c == ')').filter(|&c| c == '}').count() as i32;
        depth -= leading;
        for _ in 0..depth.max(0) {
            out.push_str("    ");
        }
        out.push_str(t);
        out.push('\n');
        let opens = t.matches('{').count() as i32;
        let closes = t.matches('}').count() as i32;
        depth += opens - (closes - leading);
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ret {
    U32,
    Opt,
    Res,
}

impl Ret {
    fn ty(self) -> &'static str {
        match self {
            Ret::U32 => "u32",
            Ret::Opt => "Option<u32>",
            Ret::Res => "Result<u32, u32>",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Arg {
    U32,
    Str,
    Vec,
    Noisy,
    /// `[u32; 128]`: 512 bytes held across awaits (rust-lang/rust#62958's shape).
    Big,
    /// `impl Future<Output = u32>`, awaited after a suspension: argument futures nest.
    Fut,
}

struct Sig {
    name: String,
    args: Vec<Arg>,
    ret: Ret,
    /// An upper bound of the work one call does (awaits, prints), with its children's.
    cost: u32,
}

/// Where code is being generated.
#[derive(Clone)]
struct Ctx {
    label: String,
    /// `u32` variables in scope.
    vars: Vec<String>,
    /// Other `u32` expressions over parameters; `false`: not usable inside `async move`
    /// (it would move a non-Copy parameter into the block).
    atoms: Vec<(String, bool)>,
    /// What `return` and `?` produce here (`U32` in async blocks and closures).
    ret: Ret,
    awaits: bool,
    /// May call `f0..f{callable}`.
    callable: usize,
    depth: u32,
    in_move: bool,
    /// How often the current code can run per call (loop trip counts multiplied).
    mult: u32,
    cost: u32,
    budget: u32,
}

impl Ctx {
    fn room(&self) -> u32 {
        self.budget.saturating_sub(self.cost)
    }
}

struct Gen {
    rng: Rng,
    size: u32,
    sigs: Vec<Sig>,
    next_name: u32,
    next_noisy: u32,
}

pub fn generate(seed: u64, size: u32) -> Program {
    let size = size.min(MAX_SIZE);
    let mut g = Gen { rng: Rng::new(seed), size, sigs: Vec::new(), next_name: 0, next_noisy: 0 };
    let n_fns = 1 + size + g.rng.below(size + 1);
    let mut fns = Vec::new();
    for i in 0..n_fns as usize {
        fns.push(g.gen_fn(i));
    }
    let main = g.gen_main();
    Program { seed, size, fns, main }
}

#[derive(Clone, Copy)]
enum Conv {
    Plain,
    Question,
    OkOrQuestion,
    OkQuestion,
    UnwrapOr(u32),
    UnwrapOrElse(u32),
}

impl Gen {
    fn fresh(&mut self, prefix: &str) -> String {
        self.next_name += 1;
        format!("{prefix}{}", self.next_name)
    }

    fn noisy(&mut self) -> u32 {
        self.next_noisy += 1;
        self.next_noisy
    }

    fn konst(&mut self) -> String {
        format!("{}u32", self.rng.below(24))
    }

    fn max_depth(&self) -> u32 {
        1 + self.size.min(4) / 2
    }

    fn charge(&self, ctx: &mut Ctx, cost: u32) {
        ctx.cost = ctx.cost.saturating_add(cost.saturating_mul(ctx.mult));
    }

    fn fits(&self, ctx: &Ctx, cost: u32) -> bool {
        cost.saturating_mul(ctx.mult) <= ctx.room()
    }

    // ---- expressions -------------------------------------------------------------------

    fn atom(&mut self, ctx: &Ctx) -> String {
        let atoms: Vec<String> =
            ctx.atoms.iter().filter(|(_, ok)| *ok || !ctx.in_move).map(|(a, _)| a.clone()).collect();
        match self.rng.below(10) {
            0..=4 if !ctx.vars.is_empty() => self.rng.pick(&ctx.vars).clone(),
            5..=6 if !atoms.is_empty() => self.rng.pick(&atoms).clone(),
            7 => format!("opaque({})", self.rng.below(40)),
            _ => self.konst(),
        }
    }

    fn expr(&mut self, ctx: &Ctx, depth: u32) -> String {
        if depth == 0 || self.rng.chance(2, 5) {
            return self.atom(ctx);
        }
        let a = self.expr(ctx, depth - 1);
        match self.rng.below(6) {
            0 => format!("{}.wrapping_add({})", paren(&a), self.expr(ctx, depth - 1)),
            1 => format!("{}.wrapping_mul({})", paren(&a), self.rng.range(2, 9)),
            2 => format!("({} ^ {})", a, self.expr(ctx, depth - 1)),
            3 => format!("({} % {})", a, self.rng.range(2, 9)),
            4 => format!("({} >> {})", a, self.rng.below(4)),
            _ => format!("{}.wrapping_sub({})", paren(&a), self.expr(ctx, depth - 1)),
        }
    }

    fn cond(&mut self, ctx: &mut Ctx) -> String {
        match self.rng.below(5) {
            0 | 1 => {
                let k = self.rng.range(2, 5);
                let r = self.rng.below(k);
                format!("{} % {k} == {r}", self.expr(ctx, 2))
            }
            2 => format!("{} > {}", self.expr(ctx, 1), self.expr(ctx, 1)),
            3 if ctx.awaits && ctx.depth > 0 => {
                let aw = self.simple_await(ctx);
                format!("{aw} % 2 == 0")
            }
            _ => format!("({} & 1) == 0", self.expr(ctx, 1)),
        }
    }

    fn ret_value(&mut self, ctx: &Ctx) -> String {
        let e = self.expr(ctx, 2);
        match ctx.ret {
            Ret::U32 => e,
            Ret::Opt => {
                if self.rng.chance(1, 2) {
                    "None".to_string()
                } else {
                    format!("Some({e})")
                }
            }
            Ret::Res => {
                if self.rng.chance(1, 2) {
                    format!("Err({e})")
                } else {
                    format!("Ok({e})")
                }
            }
        }
    }

    /// A u32 over the latest variables: the value of a block.
    fn tail_u32(&mut self, ctx: &Ctx) -> String {
        let mut e = self.expr(ctx, 2);
        for v in ctx.vars.clone().iter().rev().take(2) {
            if self.rng.chance(2, 3) {
                e = format!("{}.wrapping_add({v})", paren(&e));
            }
        }
        e
    }

    /// The value a function (or async block) ends with, of its return type.
    fn tail(&mut self, ctx: &mut Ctx) -> String {
        let e = self.tail_u32(ctx);
        match ctx.ret {
            Ret::U32 => e,
            Ret::Opt if self.rng.chance(1, 3) => {
                let c = self.cond_sync(ctx);
                format!("if {c} {{ None }} else {{ Some({e}) }}")
            }
            Ret::Opt => format!("Some({e})"),
            Ret::Res if self.rng.chance(1, 3) => {
                let c = self.cond_sync(ctx);
                format!("if {c} {{ Err({}) }} else {{ Ok({e}) }}", self.expr(ctx, 1))
            }
            Ret::Res => format!("Ok({e})"),
        }
    }

    fn cond_sync(&mut self, ctx: &Ctx) -> String {
        let k = self.rng.range(2, 5);
        let r = self.rng.below(k);
        format!("{} % {k} == {r}", self.expr(ctx, 1))
    }

    // ---- awaits ------------------------------------------------------------------------

    fn leaf(&mut self, ctx: &mut Ctx) -> String {
        self.charge(ctx, 1);
        let n = self.rng.below(4);
        format!("leaf({n}, {}).await", self.expr(ctx, 1))
    }

    fn callee(&mut self, ctx: &Ctx) -> Option<usize> {
        let candidates: Vec<usize> = (0..ctx.callable).filter(|&j| self.fits(ctx, self.sigs[j].cost)).collect();
        if candidates.is_empty() { None } else { Some(*self.rng.pick(&candidates)) }
    }

    fn conv(&mut self, ctx: &Ctx, ret: Ret) -> Conv {
        let q = self.rng.chance(1, 2);
        let c = self.rng.below(20);
        match (ret, ctx.ret) {
            (Ret::U32, _) => Conv::Plain,
            (Ret::Opt, Ret::Opt) if q => Conv::Question,
            (Ret::Opt, Ret::Res) if q => Conv::OkOrQuestion,
            (Ret::Opt, _) => Conv::UnwrapOr(c),
            (Ret::Res, Ret::Res) if q => Conv::Question,
            (Ret::Res, Ret::Opt) if q => Conv::OkQuestion,
            (Ret::Res, _) => Conv::UnwrapOrElse(c),
        }
    }

    fn apply_conv(call: &str, conv: Conv) -> String {
        match conv {
            Conv::Plain => call.to_string(),
            Conv::Question => format!("{call}?"),
            Conv::OkOrQuestion => format!("{call}.ok_or(3u32)?"),
            Conv::OkQuestion => format!("{call}.ok()?"),
            Conv::UnwrapOr(c) => format!("{call}.unwrap_or({c}u32)"),
            Conv::UnwrapOrElse(c) => format!("{call}.unwrap_or_else(|e| e.wrapping_add({c}u32))"),
        }
    }

    fn args(&mut self, ctx: &mut Ctx, j: usize) -> String {
        let kinds = self.sigs[j].args.clone();
        let mut out = Vec::new();
        for kind in kinds {
            out.push(match kind {
                Arg::Big => format!("[{}; 128]", self.expr(ctx, 1)),
                Arg::Fut => self.argument_future(ctx),
                Arg::U32 => self.expr(ctx, 1),
                Arg::Str => {
                    if self.rng.chance(1, 2) {
                        format!("format!(\"s{{}}\", {})", self.expr(ctx, 1))
                    } else {
                        format!("String::from(\"{}\")", &"abcdefgh"[..self.rng.below(8) as usize])
                    }
                }
                Arg::Vec => format!("vec![{}, {}]", self.expr(ctx, 1), self.konst()),
                Arg::Noisy => format!("Noisy({})", self.noisy()),
            });
        }
        out.join(", ")
    }

    /// A future of output `u32` passed as an argument: another function's call (which may
    /// take a future in turn, so they nest), or an `async move` block over a `Leaf` that
    /// captures only `u32` values (so that the caller keeps its other variables).
    fn argument_future(&mut self, ctx: &mut Ctx) -> String {
        let nestable: Vec<usize> = (0..ctx.callable)
            .filter(|&j| matches!(self.sigs[j].ret, Ret::U32) && self.fits(ctx, self.sigs[j].cost))
            .collect();
        if !nestable.is_empty() && self.rng.chance(1, 2) {
            let j = *self.rng.pick(&nestable);
            self.charge(ctx, self.sigs[j].cost);
            let args = self.args(ctx, j);
            return format!("{}({args})", self.sigs[j].name);
        }
        let mut copies_only = ctx.clone();
        copies_only.atoms.clear();
        let n = self.rng.below(3);
        format!("async move {{ leaf({n}, {}).await }}", self.expr(&copies_only, 1))
    }

    /// `fj(args).await` converted to a u32 (with `?` where the context returns the same
    /// kind of value).
    fn call(&mut self, ctx: &mut Ctx, j: usize) -> String {
        self.charge(ctx, self.sigs[j].cost);
        let conv = self.conv(ctx, self.sigs[j].ret);
        let args = self.args(ctx, j);
        let call = format!("{}({args}).await", self.sigs[j].name);
        Self::apply_conv(&call, conv)
    }

    fn simple_await(&mut self, ctx: &mut Ctx) -> String {
        if self.rng.chance(3, 5) {
            if let Some(j) = self.callee(ctx) {
                return self.call(ctx, j);
            }
        }
        self.leaf(ctx)
    }

    fn await_expr(&mut self, ctx: &mut Ctx) -> String {
        if ctx.depth > 0 && self.rng.chance(1, 4) {
            let mv = self.rng.chance(1, 2);
            let (stmts, tail) = self.nested(ctx, |c| {
                c.ret = Ret::U32;
                c.in_move |= mv;
            });
            let mv = if mv { "move " } else { "" };
            return format!("async {mv}{{\n{stmts}{tail}\n}}.await");
        }
        self.simple_await(ctx)
    }

    /// A block of statements and a tail expression, one level deeper, after `setup`
    /// changed the context; the context is restored afterwards (its cost kept).
    fn nested(&mut self, ctx: &mut Ctx, setup: impl FnOnce(&mut Ctx)) -> (String, String) {
        let saved = ctx.clone();
        ctx.depth -= 1;
        setup(ctx);
        let n = self.rng.range(1, 1 + self.size.min(3));
        let mut stmts = String::new();
        for _ in 0..n {
            let u = self.stmt(ctx);
            push_lines(&mut stmts, &u.code);
        }
        let tail = self.tail_u32(ctx);
        let cost = ctx.cost;
        *ctx = saved;
        ctx.cost = cost;
        (stmts, tail)
    }

    // ---- statements --------------------------------------------------------------------

    fn stmt(&mut self, ctx: &mut Ctx) -> Unit {
        #[derive(Clone, Copy)]
        enum K {
            Let,
            Await,
            Noisy,
            If,
            IfNoElse,
            TwinIf,
            For,
            Loop,
            MatchSame,
            MatchScrut,
            Return,
            Question,
            Panic,
            Print,
            Scoped,
            RefAcross,
            StringAcross,
            VecAcross,
            InnerFn,
            Closure,
            Catch,
            Deferred,
            Join,
        }
        let aw = ctx.awaits;
        let deep = ctx.depth > 0;
        let table: [(K, u32, bool); 23] = [
            (K::Let, 3, true),
            (K::Await, 6, aw),
            (K::Noisy, 2, true),
            (K::If, 3, deep),
            (K::IfNoElse, 1, deep),
            (K::TwinIf, 2, aw),
            (K::For, 2, deep),
            (K::Loop, 1, deep),
            (K::MatchSame, 3, aw),
            (K::MatchScrut, 1, aw && deep),
            (K::Return, 2, true),
            (K::Question, 2, ctx.ret != Ret::U32),
            (K::Panic, 1, self.rng.chance(2, 3)),
            (K::Print, 2, true),
            (K::Scoped, 2, deep),
            (K::RefAcross, 1, aw),
            (K::StringAcross, 1, aw),
            (K::VecAcross, 1, aw),
            (K::InnerFn, 1, aw && deep),
            (K::Closure, 1, aw && deep),
            (K::Catch, 1, true),
            (K::Deferred, 1, aw),
            (K::Join, 1, aw && deep),
        ];
        let total: u32 = table.iter().filter(|t| t.2).map(|t| t.1).sum();
        let mut r = self.rng.below(total);
        let mut kind = K::Let;
        for &(k, w, ok) in &table {
            if !ok {
                continue;
            }
            if r < w {
                kind = k;
                break;
            }
            r -= w;
        }
        let v = self.fresh("v");
        let c = self.konst();
        let stub = format!("let {v}: u32 = {c};");
        let unit = match kind {
            K::Let => {
                let e = self.expr(ctx, 3);
                Unit::new(format!("let {v}: u32 = {e};"), stub)
            }
            K::Await => {
                let e = self.await_expr(ctx);
                Unit::new(format!("let {v}: u32 = {e};"), stub)
            }
            K::Noisy => {
                let id = self.noisy();
                self.charge(ctx, 1);
                Unit::new(format!("let _n{} = Noisy({id});", self.next_name), String::new())
            }
            K::If => {
                let c = self.cond(ctx);
                let (s1, t1) = self.nested(ctx, |_| {});
                let (s2, t2) = self.nested(ctx, |_| {});
                Unit::new(format!("let {v}: u32 = if {c} {{\n{s1}{t1}\n}} else {{\n{s2}{t2}\n}};"), stub)
            }
            K::IfNoElse => {
                let c = self.cond(ctx);
                let (s1, _) = self.nested(ctx, |_| {});
                Unit::new(format!("if {c} {{\n{s1}}}"), String::new())
            }
            K::TwinIf => {
                // The same await in both branches, different values held and used after.
                let c = self.cond(ctx);
                let x = self.expr(ctx, 2);
                let y = self.expr(ctx, 2);
                let call = match self.callee(ctx) {
                    Some(j) => self.call(ctx, j),
                    None => self.leaf(ctx),
                };
                let (a, b, r1, r2) = (self.fresh("x"), self.fresh("y"), self.fresh("r"), self.fresh("r"));
                Unit::new(
                    format!(
                        "let {v}: u32 = {{\nlet {a}: u32 = {x};\nlet {b}: u32 = {y};\nif {c} {{\nlet {r1}: u32 = {call};\n{r1}.wrapping_add({a})\n}} else {{\nlet {r2}: u32 = {call};\n{r2}.wrapping_add({b})\n}}\n}};"
                    ),
                    stub,
                )
            }
            K::For => {
                let n = self.rng.below(4);
                let i = self.fresh("i");
                let init = self.konst();
                let saved = ctx.clone();
                ctx.vars.push(i.clone());
                ctx.vars.push(v.clone());
                ctx.mult = ctx.mult.saturating_mul(n.max(1));
                let (body, step) = self.nested(ctx, |_| {});
                let brk = if self.rng.chance(1, 3) {
                    format!("if {} {{\nbreak;\n}}\n", self.cond_sync(ctx))
                } else {
                    String::new()
                };
                let cost = ctx.cost;
                *ctx = saved;
                ctx.cost = cost;
                Unit::new(
                    format!(
                        "let mut {v}: u32 = {init};\nfor {i} in 0..{n}u32 {{\n{body}{brk}{v} = {v}.wrapping_add({step});\n}}"
                    ),
                    stub,
                )
            }
            K::Loop => {
                let n = self.rng.below(4);
                let k = self.fresh("k");
                let init = self.konst();
                let saved = ctx.clone();
                ctx.vars.push(v.clone());
                ctx.mult = ctx.mult.saturating_mul(n.max(1));
                let (body, step) = self.nested(ctx, |_| {});
                let cost = ctx.cost;
                *ctx = saved;
                ctx.cost = cost;
                Unit::new(
                    format!(
                        "let mut {v}: u32 = {init};\nlet mut {k}: u32 = 0;\nloop {{\nif {k} >= {n} {{\nbreak;\n}}\n{k} += 1;\n{body}{v} = {v} ^ {step};\n}}"
                    ),
                    stub,
                )
            }
            K::MatchSame => {
                // The same child awaited in two or three arms, with different arguments.
                let scrut = self.expr(ctx, 2);
                let arms = self.rng.range(2, 3);
                let mut text = format!("let {v}: u32 = match {} % {} {{\n", paren(&scrut), arms + 1);
                match self.callee(ctx) {
                    Some(j) => {
                        self.charge(ctx, self.sigs[j].cost);
                        let conv = self.conv(ctx, self.sigs[j].ret);
                        // Arms of one shape: the call alone, the call with a value held
                        // across it, or with a Noisy held across it.
                        let shape = self.rng.below(3);
                        for a in 0..arms {
                            let args = self.args(ctx, j);
                            let call = format!("{}({args}).await", self.sigs[j].name);
                            let call = Self::apply_conv(&call, conv);
                            let arm = match shape {
                                0 => call,
                                1 => {
                                    let (h, r) = (self.fresh("h"), self.fresh("r"));
                                    let e = self.expr(ctx, 2);
                                    format!("{{\nlet {h}: u32 = {e};\nlet {r}: u32 = {call};\n{r}.wrapping_add({h})\n}}")
                                }
                                _ => format!("{{\nlet _g = Noisy({});\n{call}\n}}", self.noisy()),
                            };
                            text.push_str(&format!("{a} => {arm},\n"));
                        }
                    }
                    None => {
                        self.charge(ctx, 1);
                        let n = self.rng.below(3);
                        for a in 0..arms {
                            text.push_str(&format!("{a} => leaf({n}, {}).await,\n", self.expr(ctx, 1)));
                        }
                    }
                }
                let other = if self.rng.chance(1, 2) { self.expr(ctx, 2) } else { self.simple_await(ctx) };
                text.push_str(&format!("_ => {other},\n}};"));
                Unit::new(text, stub)
            }
            K::MatchScrut => {
                let s = self.simple_await(ctx);
                let a0 = self.await_expr(ctx);
                let a1 = self.expr(ctx, 2);
                let id = self.noisy();
                let a2 = self.simple_await(ctx);
                Unit::new(
                    format!(
                        "let {v}: u32 = match {s} % 4 {{\n0 => {a0},\n1 | 2 => {a1},\n_ => {{\nlet _g = Noisy({id});\n{a2}\n}}\n}};"
                    ),
                    stub,
                )
            }
            K::Return => {
                let c = self.cond(ctx);
                let r = self.ret_value(ctx);
                Unit::new(format!("if {c} {{\nreturn {r};\n}}"), String::new())
            }
            K::Question => {
                let e = self.expr(ctx, 2);
                let code = match (ctx.ret, self.rng.chance(1, 2)) {
                    (Ret::Opt, true) => format!("let {v}: u32 = checked({e})?;"),
                    (Ret::Opt, false) => format!("let {v}: u32 = checked_res({e}).ok()?;"),
                    (_, true) => format!("let {v}: u32 = checked_res({e})?;"),
                    (_, false) => format!("let {v}: u32 = checked({e}).ok_or(9u32)?;"),
                };
                Unit::new(code, stub)
            }
            K::Panic => {
                let e = self.expr(ctx, 2);
                let k = self.rng.range(7, 17);
                let r = self.rng.below(k);
                Unit::new(format!("if {} % {k} == {r} {{\npanic!(\"boom\");\n}}", paren(&e)), String::new())
            }
            K::Print => {
                self.charge(ctx, 1);
                let e = self.expr(ctx, 2);
                Unit::new(format!("println!(\"{}.{} {{}}\", {e});", ctx.label, self.next_name), String::new())
            }
            K::Scoped => {
                let id = self.noisy();
                self.charge(ctx, 1);
                let (s, t) = self.nested(ctx, |_| {});
                Unit::new(format!("let {v}: u32 = {{\nlet _g = Noisy({id});\n{s}{t}\n}};"), stub)
            }
            K::RefAcross => {
                let t = self.fresh("t");
                let r = self.fresh("r");
                let w = self.fresh("w");
                let e = self.expr(ctx, 2);
                let a = self.await_expr(ctx);
                Unit::new(
                    format!("let {v}: u32 = {{\nlet {t}: u32 = {e};\nlet {r} = &{t};\nlet {w}: u32 = {a};\n(*{r}).wrapping_add({w})\n}};"),
                    stub,
                )
            }
            K::StringAcross => {
                let s = self.fresh("s");
                let w = self.fresh("w");
                let e = self.expr(ctx, 1);
                let a = self.await_expr(ctx);
                Unit::new(
                    format!("let {v}: u32 = {{\nlet {s} = format!(\"t{{}}\", {e});\nlet {w}: u32 = {a};\n({s}.len() as u32).wrapping_add({w})\n}};"),
                    stub,
                )
            }
            K::VecAcross => {
                let s = self.fresh("vs");
                let w = self.fresh("w");
                let (n1, n2) = (self.noisy(), self.noisy());
                self.charge(ctx, 2);
                let a = self.await_expr(ctx);
                let end = if self.rng.chance(1, 2) {
                    format!("let n = {s}.len() as u32;\ndrop({s});\nn.wrapping_add({w})")
                } else {
                    format!("({s}[1].0).wrapping_add({w})")
                };
                Unit::new(
                    format!("let {v}: u32 = {{\nlet {s} = vec![Noisy({n1}), Noisy({n2})];\nlet {w}: u32 = {a};\n{end}\n}};"),
                    stub,
                )
            }
            K::InnerFn => {
                let name = self.fresh("inner");
                let budget = ctx.room() / ctx.mult.max(1);
                let mut inner = Ctx {
                    label: name.clone(),
                    vars: vec!["x".to_string()],
                    atoms: Vec::new(),
                    ret: Ret::U32,
                    awaits: true,
                    callable: ctx.callable,
                    depth: ctx.depth,
                    in_move: false,
                    mult: 1,
                    cost: 0,
                    budget,
                };
                let (s, t) = self.nested(&mut inner, |_| {});
                self.charge(ctx, inner.cost);
                let e = self.expr(ctx, 2);
                Unit::new(
                    format!("async fn {name}(x: u32) -> u32 {{\n{s}{t}\n}}\nlet {v}: u32 = {name}({e}).await;"),
                    stub,
                )
            }
            K::Closure => {
                let name = self.fresh("c");
                let saved_mult = ctx.mult;
                ctx.mult = ctx.mult.saturating_mul(2);
                let (s, t) = self.nested(ctx, |c| {
                    c.ret = Ret::U32;
                    c.vars.push("x".to_string());
                });
                ctx.mult = saved_mult;
                let (e1, e2) = (self.expr(ctx, 1), self.expr(ctx, 1));
                Unit::new(
                    format!(
                        "let {name} = async |x: u32| -> u32 {{\n{s}{t}\n}};\nlet {v}: u32 = {name}({e1}).await.wrapping_add({name}({e2}).await);"
                    ),
                    stub,
                )
            }
            K::Catch => {
                let id = self.noisy();
                self.charge(ctx, 2);
                let e = self.expr(ctx, 2);
                let k = self.rng.range(2, 4);
                let r = self.rng.below(k);
                let t = self.expr(ctx, 2);
                Unit::new(
                    format!(
                        "let {v}: u32 = match catch_unwind(AssertUnwindSafe(|| {{\nlet _g = Noisy({id});\nif {} % {k} == {r} {{\npanic!(\"inner\");\n}}\n{t}\n}})) {{\nOk(v) => v,\nErr(_) => {{\nprintln!(\"caught inner\");\n0\n}}\n}};",
                        paren(&e)
                    ),
                    stub,
                )
            }
            K::Deferred => {
                // A child future created, held (unresumed) across another await, then awaited.
                let f = self.fresh("fut");
                let w = self.fresh("w");
                let (create, conv) = match self.callee(ctx) {
                    Some(j) => {
                        self.charge(ctx, self.sigs[j].cost);
                        let conv = self.conv(ctx, self.sigs[j].ret);
                        let args = self.args(ctx, j);
                        (format!("{}({args})", self.sigs[j].name), conv)
                    }
                    None => {
                        self.charge(ctx, 1);
                        (format!("leaf({}, {})", self.rng.below(3), self.expr(ctx, 1)), Conv::Plain)
                    }
                };
                let a = self.simple_await(ctx);
                let awaited = Self::apply_conv(&format!("{f}.await"), conv);
                Unit::new(
                    format!("let {v}: u32 = {{\nlet {f} = {create};\nlet {w}: u32 = {a};\n{awaited}.wrapping_add({w})\n}};"),
                    stub,
                )
            }
            K::Join => {
                // A hand-written join of two async blocks inside this coroutine; neither is
                // polled again once Ready.
                let (s1, t1) = self.nested(ctx, |c| c.ret = Ret::U32);
                let (s2, t2) = self.nested(ctx, |c| c.ret = Ret::U32);
                let (a, b, ra, rb) = (self.fresh("ja"), self.fresh("jb"), self.fresh("ra"), self.fresh("rb"));
                Unit::new(
                    format!(
                        "let {v}: u32 = {{\nlet mut {a} = pin!(async {{\n{s1}{t1}\n}});\nlet mut {b} = pin!(async {{\n{s2}{t2}\n}});\nlet mut {ra}: Option<u32> = None;\nlet mut {rb}: Option<u32> = None;\nstd::future::poll_fn(|cx| {{\nif {ra}.is_none() {{\nif let Poll::Ready(v) = {a}.as_mut().poll(cx) {{\n{ra} = Some(v);\n}}\n}}\nif {rb}.is_none() {{\nif let Poll::Ready(v) = {b}.as_mut().poll(cx) {{\n{rb} = Some(v);\n}}\n}}\nif {ra}.is_some() && {rb}.is_some() {{ Poll::Ready(()) }} else {{ Poll::Pending }}\n}}).await;\n{ra}.unwrap().wrapping_add({rb}.unwrap())\n}};"
                    ),
                    stub,
                )
            }
        };
        // Every kind that defines `v` starts its code with a `let` (or an item) of it.
        if unit.stub.starts_with(&format!("let {v}:")) {
            ctx.vars.push(v);
        }
        unit
    }

    // ---- functions and main ------------------------------------------------------------

    fn gen_fn(&mut self, i: usize) -> FnItem {
        let name = format!("f{i}");
        let awaits = self.rng.chance(3, 4);
        let n_args = self.rng.below(4);
        let mut args = Vec::new();
        let mut prologue: Vec<Unit> = Vec::new();
        let mut params = Vec::new();
        let mut vars = Vec::new();
        let mut atoms = Vec::new();
        for k in 0..n_args {
            let kind = match self.rng.below(13) {
                0..=5 => Arg::U32,
                6 => Arg::Str,
                7 | 8 => Arg::Vec,
                9 | 10 => Arg::Noisy,
                11 => Arg::Big,
                _ => Arg::Fut,
            };
            let p = format!("p{k}");
            match kind {
                Arg::U32 => {
                    params.push(format!("{p}: u32"));
                    vars.push(p);
                }
                Arg::Str => {
                    params.push(format!("{p}: String"));
                    atoms.push((format!("({p}.len() as u32)"), false));
                }
                Arg::Vec => {
                    params.push(format!("{p}: Vec<u32>"));
                    atoms.push((format!("{p}.iter().fold(0u32, |a, b| a.wrapping_add(*b))"), false));
                }
                Arg::Noisy => {
                    params.push(format!("{p}: Noisy"));
                    atoms.push((format!("{p}.0"), false));
                }
                Arg::Big => {
                    params.push(format!("{p}: [u32; 128]"));
                    atoms.push((format!("{p}.iter().fold(0u32, |a, b| a.wrapping_add(*b))"), false));
                    atoms.push((format!("{p}[{}]", self.rng.below(128)), false));
                }
                Arg::Fut => {
                    // Awaited first thing, after a suspension (#62958's `use_future`); then a u32.
                    params.push(format!("{p}: impl Future<Output = u32>"));
                    let n = self.rng.range(1, 2);
                    prologue.push(Unit::new(
                        format!("let {p}: u32 = {{ leaf({n}, 0).await; {p}.await }};"),
                        format!("let {p}: u32 = 0u32;"),
                    ));
                    vars.push(p);
                }
            }
            args.push(kind);
        }
        let ret = match self.rng.below(4) {
            0 | 1 => Ret::U32,
            2 => Ret::Opt,
            _ => Ret::Res,
        };
        let mut ctx = Ctx {
            label: name.clone(),
            vars,
            atoms,
            ret,
            awaits,
            callable: i,
            depth: self.max_depth(),
            in_move: false,
            mult: 1,
            cost: 0,
            budget: 40 + 10 * self.size,
        };
        let params_only = ctx.clone();
        let n = self.rng.range(1, 2 + self.size);
        let mut body: Vec<Unit> = prologue;
        body.extend((0..n).map(|_| self.stmt(&mut ctx)));
        if awaits && !body.iter().any(|u| u.code.contains("leaf(")) {
            // Make sure an awaiting fn can really suspend.
            let at = self.rng.below(body.len() as u32 + 1) as usize;
            let v = self.fresh("v");
            // At `at`, only the parameters are sure to be in scope.
            let mut at_ctx = params_only;
            let leaf = self.leaf(&mut at_ctx);
            ctx.cost += at_ctx.cost;
            body.insert(at, Unit::new(format!("let {v}: u32 = {leaf};"), format!("let {v}: u32 = 0u32;")));
        }
        let tail = self.tail(&mut ctx);
        let header = format!("async fn {name}({}) -> {}", params.join(", "), ret.ty());
        self.sigs.push(Sig { name: name.clone(), args, ret, cost: ctx.cost.max(1) });
        FnItem { name, header, body, tail, removed: false }
    }

    fn main_ctx(&self, label: &str, awaits: bool, in_move: bool) -> Ctx {
        Ctx {
            label: label.to_string(),
            vars: Vec::new(),
            atoms: Vec::new(),
            ret: Ret::U32,
            awaits,
            callable: self.sigs.len(),
            depth: self.max_depth(),
            in_move,
            mult: 1,
            cost: 0,
            budget: 60 + 10 * self.size,
        }
    }

    /// A future of the program, as an expression: a call of some `fj`, or an async block
    /// (whose output is then a u32). With `as_u32`, the call's output is converted.
    fn future(&mut self, label: &str, as_u32: bool) -> String {
        let mut ctx = self.main_ctx(label, true, true);
        if self.rng.chance(2, 3) {
            let j = self.rng.below(self.sigs.len() as u32) as usize;
            let args = self.args(&mut ctx, j);
            let call = format!("{}({args})", self.sigs[j].name);
            if !as_u32 {
                return call;
            }
            let conv = self.conv(&ctx, self.sigs[j].ret);
            return format!("async move {{\n{}\n}}", Self::apply_conv(&format!("{call}.await"), conv));
        }
        let mut stmts = String::new();
        for _ in 0..self.rng.range(1, 2 + self.size.min(2)) {
            let u = self.stmt(&mut ctx);
            push_lines(&mut stmts, &u.code);
        }
        let t = self.tail(&mut ctx);
        format!("async move {{\n{stmts}{t}\n}}")
    }

    fn gen_main(&mut self) -> Vec<Unit> {
        let n = self.rng.range(2, 3 + self.size);
        let mut units = Vec::new();
        for k in 0..n {
            let body = match self.rng.below(7) {
                0 | 1 => {
                    let fut = self.future(&format!("m{k}"), false);
                    format!("let (v, polls) = block_on({fut});\nprintln!(\"{k}: {{:?}} after {{}} polls\", v, polls);")
                }
                2 => {
                    let fut = self.future(&format!("m{k}"), false);
                    let polls = self.rng.below(5);
                    format!(
                        "let mut fut = Box::pin({fut});\nfor _ in 0..{polls} {{\nif let Poll::Ready(v) = poll_once(fut.as_mut()) {{\nprintln!(\"{k}: ready early {{:?}}\", v);\nbreak;\n}}\n}}\nprintln!(\"{k}: cancel\");\ndrop(fut);\nprintln!(\"{k}: dropped\");"
                    )
                }
                3 | 4 => {
                    let n = self.rng.range(2, 4) as usize;
                    let mut tasks = String::new();
                    for t in 0..n {
                        let fut = self.future(&format!("m{k}t{t}"), true);
                        tasks.push_str(&format!("task({fut}),\n"));
                    }
                    let mut order: Vec<usize> = (0..n).collect();
                    self.rng.shuffle(&mut order);
                    if self.rng.chance(1, 3) {
                        let extra = self.rng.below(n as u32) as usize;
                        order.push(extra);
                    }
                    let order: Vec<String> = order.iter().map(|i| i.to_string()).collect();
                    format!(
                        "let tasks: Vec<Task> = vec![\n{tasks}];\nlet polls = run_tasks(tasks, &[{}]);\nprintln!(\"{k}: tasks done after {{}} polls\", polls);",
                        order.join(", ")
                    )
                }
                5 => {
                    let a = self.future(&format!("m{k}a"), true);
                    let b = self.future(&format!("m{k}b"), true);
                    format!("let polls = select2(task({a}), task({b}));\nprintln!(\"{k}: select after {{}} polls\", polls);")
                }
                _ => {
                    let fut = self.future(&format!("m{k}"), false);
                    format!(
                        "let mut fut = pin!({fut});\nmatch poll_once(fut.as_mut()) {{\nPoll::Ready(v) => println!(\"{k}: once {{:?}}\", v),\nPoll::Pending => println!(\"{k}: once pending\"),\n}}"
                    )
                }
            };
            let code = format!(
                "{{\nprintln!(\"== {k}\");\nlet r = catch_unwind(AssertUnwindSafe(|| {{\n{body}\n}}));\nif r.is_err() {{\nprintln!(\"caught\");\n}}\n}}"
            );
            units.push(Unit::new(code, String::new()));
        }
        units
    }
}

/// Parenthesises an expression unless it is a name, a literal or a call.
fn paren(e: &str) -> String {
    let simple = e.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        || (e.ends_with(')') && !e.starts_with('(') && !e.contains(' '));
    if simple { e.to_string() } else { format!("({e})") }
}
