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

use std::collections::HashMap;
use std::sync::Mutex;

use rustc_hir::def::DefKind;
use rustc_hir::intravisit::{self, Visitor};
use rustc_hir::{CoroutineDesugaring, CoroutineKind, CoroutineSource, Expr, ExprKind, HirId, QPath};
use rustc_middle::hir::nested_filter;
use rustc_middle::ty::TyCtxt;
use rustc_session::config::CrateType;
use rustc_span::def_id::DefId;
use rustc_span::{Span, Symbol};

/// `Ok` when `coroutine` is the body of a local async fn that the crate mentions once;
/// otherwise why not.
pub fn polled_from_one_place(tcx: TyCtxt<'_>, coroutine: DefId) -> Result<(), String> {
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
    let mentions = mentions_of(tcx, function);
    if mentions != 1 {
        return Err(format!("{} is mentioned {mentions} times in the crate", tcx.def_path_str(function)));
    }
    Ok(())
}

/// The expressions and paths of the crate that may name `function` (see the module doc).
fn mentions_of(tcx: TyCtxt<'_>, function: DefId) -> usize {
    let session = &*tcx.sess as *const _ as usize;
    let mut cached = CENSUS.lock().unwrap();
    if cached.as_ref().is_none_or(|(key, _)| *key != session) {
        let mut census = Census { tcx, resolved: HashMap::new(), by_name: HashMap::new() };
        tcx.hir_walk_toplevel_module(&mut census);
        *cached = Some((session, (census.resolved, census.by_name)));
    }
    let (resolved, by_name) = &cached.as_ref().unwrap().1;
    let mut count = resolved.get(&function).copied().unwrap_or(0);
    if tcx.def_kind(function) == DefKind::AssocFn {
        count += by_name.get(&tcx.item_name(function)).copied().unwrap_or(0);
    }
    count
}

/// The census of the crate being compiled, taken once per session (keyed by the session's
/// address) by one walk of its HIR: every async fn's question is then a look-up, where a
/// walk per question made the policy quadratic in the size of the crate.
static CENSUS: Mutex<Option<(usize, (HashMap<DefId, usize>, HashMap<Symbol, usize>))>> = Mutex::new(None);

/// Counts, over the whole crate, the paths that resolve to each definition, and the method
/// calls and type-relative paths by their last segment's name.
struct Census<'tcx> {
    tcx: TyCtxt<'tcx>,
    resolved: HashMap<DefId, usize>,
    by_name: HashMap<Symbol, usize>,
}

impl<'tcx> Visitor<'tcx> for Census<'tcx> {
    type NestedFilter = nested_filter::All;

    fn maybe_tcx(&mut self) -> Self::MaybeTyCtxt {
        self.tcx
    }

    fn visit_qpath(&mut self, qpath: &'tcx QPath<'tcx>, id: HirId, _: Span) {
        match qpath {
            QPath::Resolved(_, path) => {
                if let Some(def_id) = path.res.opt_def_id() {
                    *self.resolved.entry(def_id).or_default() += 1;
                }
            }
            QPath::TypeRelative(_, segment) => *self.by_name.entry(segment.ident.name).or_default() += 1,
        }
        intravisit::walk_qpath(self, qpath, id);
    }

    fn visit_expr(&mut self, expr: &'tcx Expr<'tcx>) {
        if let ExprKind::MethodCall(segment, ..) = expr.kind {
            *self.by_name.entry(segment.ident.name).or_default() += 1;
        }
        intravisit::walk_expr(self, expr);
    }
}
