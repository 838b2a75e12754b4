//! Is an async fn's body polled from one place only? The question `inline_child` asks
//! before it splices a child under `corolift=default`.
//!
//! Splicing a child that is polled from one place moves its code; splicing one that is
//! polled from several copies it, and the corpus then grows (the README's `inline_child`
//! figures). Polls of a child type happen in the parent's MIR, but the parents are all
//! the other bodies of the crate, whose `optimized_mir` may not be asked for here (it is
//! the query being answered: asking would make a cycle). Nor may their type checking: a
//! body whose types need a layout (embassy's `#[task]` sizes each task's static from
//! `size_of` of its future) would ask for this coroutine's layout, and so for this very
//! `optimized_mir`. So the mentions are counted in the HIR, from name resolution alone:
//! - a path that resolves to the fn (a call `f(x)`, `f` as a value, `Type::f` written
//!   with its full path) is one mention;
//! - for an associated fn, every method call `x.f()` and every type-relative path
//!   `<T>::f` whose last segment is named `f` counts as a mention, since which fn it names
//!   is only known after type checking: an over-count, which can only keep a child from
//!   being spliced.
//!
//! One mention in the crate means one construction site for the child's coroutine type, so
//! the await being spliced is its only direct poll. (A constructed future can still be
//! polled elsewhere, say by a generic combinator it is handed to; the child's resume
//! function is then still emitted. That costs bytes, never correctness: a splice is
//! correct wherever it applies, the policy only decides where it pays.)
//!
//! Only local async fns that are not trait items qualify: a trait method is called
//! through the trait's item, so its mentions cannot be counted here, and a body from
//! another crate is emitted there anyway. In a library, an async fn that other crates
//! can reach may have callers outside, so it does not qualify either.
//!
//! The counts come from one walk of the crate per session ([`Census`]), taken on the first
//! question. This module keeps no state: the census lives in the
//! [`LoweringSession`](crate::LoweringSession) that the lowering's caller owns
//! ([`LazyCensus`]).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use rustc_hir::def::DefKind;
use rustc_hir::intravisit::{self, Visitor};
use rustc_hir::{CoroutineDesugaring, CoroutineKind, CoroutineSource, Expr, ExprKind, HirId, QPath};
use rustc_middle::hir::nested_filter;
use rustc_middle::ty::TyCtxt;
use rustc_session::config::CrateType;
use rustc_span::def_id::DefId;
use rustc_span::{Span, Symbol};

/// `Ok` when `coroutine` is the body of a local async fn that the crate mentions once;
/// otherwise why not. The census is only taken if the cheaper checks pass.
pub fn polled_from_one_place(tcx: TyCtxt<'_>, census: &LazyCensus, coroutine: DefId) -> Result<(), String> {
    let name = || tcx.def_path_str(coroutine);
    if !coroutine.is_local() {
        return Err(format!("{} is another crate's", name()));
    }
    if tcx.coroutine_kind(coroutine)
        != Some(CoroutineKind::Desugared(CoroutineDesugaring::Async, CoroutineSource::Fn))
    {
        return Err(format!("{} is not the body of an async fn", name()));
    }
    let function = tcx.parent(coroutine);
    match tcx.def_kind(function) {
        DefKind::Fn => {}
        DefKind::AssocFn
            if tcx.trait_of_assoc(function).is_none() && tcx.trait_impl_of_assoc(function).is_none() => {}
        _ => return Err(format!("{} belongs to a trait item", name())),
    }
    let only_executables = tcx.crate_types().iter().all(|kind| *kind == CrateType::Executable);
    if !only_executables && tcx.effective_visibilities(()).is_reachable(function.expect_local()) {
        return Err(format!("other crates can call {}", tcx.def_path_str(function)));
    }
    let mentions = census.get(tcx).mentions_of(tcx, function);
    if mentions != 1 {
        return Err(format!("{} is mentioned {mentions} times in the crate", tcx.def_path_str(function)));
    }
    Ok(())
}

/// The mentions of every definition in the crate being compiled, counted by one walk of
/// its HIR: every async fn's question is then a look-up, where a walk per question made
/// the policy quadratic in the size of the crate.
pub struct Census {
    /// Paths that resolve to each definition.
    resolved: HashMap<DefId, usize>,
    /// Method calls and type-relative paths, by their last segment's name.
    by_name: HashMap<Symbol, usize>,
}

impl Census {
    /// Walks the crate's HIR, nested bodies included.
    pub fn of_crate(tcx: TyCtxt<'_>) -> Census {
        let mut walk = CensusWalk { tcx, census: Census { resolved: HashMap::new(), by_name: HashMap::new() } };
        tcx.hir_walk_toplevel_module(&mut walk);
        walk.census
    }

    /// The expressions and paths of the crate that may name `function` (see the module doc).
    fn mentions_of(&self, tcx: TyCtxt<'_>, function: DefId) -> usize {
        let mut count = self.resolved.get(&function).copied().unwrap_or(0);
        if tcx.def_kind(function) == DefKind::AssocFn {
            count += self.by_name.get(&tcx.item_name(function)).copied().unwrap_or(0);
        }
        count
    }
}

/// The census of one compilation session, taken when a coroutine first asks for it and
/// shared from then on. The caller of the lowering owns it (in
/// [`LoweringSession`](crate::LoweringSession)); clones share one census.
#[derive(Clone, Default)]
pub struct LazyCensus(Arc<OnceLock<Census>>);

impl LazyCensus {
    /// The census of the crate `tcx` compiles (the session's own `tcx`), taken on the
    /// first call.
    pub fn get(&self, tcx: TyCtxt<'_>) -> &Census {
        // Taking the census inside `get_or_init` cannot deadlock by re-entering it: the
        // walk asks for the HIR and its name resolution only, never for a body's
        // `optimized_mir` or type checking (the module doc says why it must not), so no
        // lowering, and so no other call of this, runs inside it. Under the parallel front
        // end, a thread that asks while another walks waits for that walk, which needs
        // nothing the waiting thread computes (the HIR is complete before any MIR is built).
        self.0.get_or_init(|| Census::of_crate(tcx))
    }
}

/// The HIR visitor that fills a [`Census`].
struct CensusWalk<'tcx> {
    tcx: TyCtxt<'tcx>,
    census: Census,
}

impl<'tcx> Visitor<'tcx> for CensusWalk<'tcx> {
    type NestedFilter = nested_filter::All;

    fn maybe_tcx(&mut self) -> Self::MaybeTyCtxt {
        self.tcx
    }

    fn visit_qpath(&mut self, qpath: &'tcx QPath<'tcx>, id: HirId, _: Span) {
        match qpath {
            QPath::Resolved(_, path) => {
                if let Some(def_id) = path.res.opt_def_id() {
                    *self.census.resolved.entry(def_id).or_default() += 1;
                }
            }
            QPath::TypeRelative(_, segment) => *self.census.by_name.entry(segment.ident.name).or_default() += 1,
        }
        intravisit::walk_qpath(self, qpath, id);
    }

    fn visit_expr(&mut self, expr: &'tcx Expr<'tcx>) {
        if let ExprKind::MethodCall(segment, ..) = expr.kind {
            *self.census.by_name.entry(segment.ident.name).or_default() += 1;
        }
        intravisit::walk_expr(self, expr);
    }
}
