//! Is an async fn's body polled from one place only? The question `inline_child` asks
//! before it splices a child under `corolift=default`.
//!
//! Splicing a child that is polled from one place moves its code; splicing one that is
//! polled from several copies it, and the corpus then grows (the README's `inline_child`
//! figures). Polls of a child type happen in the parent's MIR, but the parents are all
//! the other bodies of the crate, whose `optimized_mir` may not be asked for here (it is
//! the query being answered: asking would make a cycle). Type checking has their uses of
//! the async fn: every mention of the fn, a call `f(x)`, a path `Type::f` or a method
//! call `x.f()`, is a node typed `FnDef(f)` or a type-dependent resolution to `f`. One
//! mention in the crate means one construction site for the child's coroutine type, so
//! the await being spliced is its only direct poll. (A constructed future can still be
//! polled elsewhere, say by a generic combinator it is handed to; the child's resume
//! function is then still emitted. That costs bytes, never correctness: a splice is
//! correct wherever it applies, the policy only decides where it pays.)
//!
//! Only local async fns that are not trait items qualify: a trait method is called
//! through the trait's item, so its mentions cannot be counted here, and a body from
//! another crate is emitted there anyway. In a library, an async fn that other crates
//! can reach may have callers outside, so it does not qualify either.

use rustc_hir::def::DefKind;
use rustc_hir::{CoroutineDesugaring, CoroutineKind, CoroutineSource, HirId};
use rustc_middle::ty::{self, TyCtxt};
use rustc_session::config::CrateType;
use rustc_span::def_id::DefId;

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

/// The expressions and paths of the crate that name `function`.
fn mentions_of(tcx: TyCtxt<'_>, function: DefId) -> usize {
    let mut mentions = 0;
    for owner in tcx.hir_body_owners() {
        // A closure's or inline const's types live in its typeck root's results.
        if tcx.is_typeck_child(owner.to_def_id()) {
            continue;
        }
        let results = tcx.typeck(owner);
        let names_function = |ty: &ty::Ty<'_>| matches!(ty.kind(), ty::FnDef(def, _) if *def == function);
        let typed = results.node_types().items().filter(|(_, ty)| names_function(ty)).count();
        // A path `Type::f` is both a `FnDef` node and a type-dependent resolution: it is
        // counted once.
        let resolved = results
            .type_dependent_defs()
            .items()
            .filter(|(local_id, res)| {
                let id = HirId { owner: results.hir_owner, local_id: *local_id };
                matches!(res, Ok((_, def)) if *def == function)
                    && !results.node_types().get(id).is_some_and(names_function)
            })
            .count();
        mentions += typed + resolved;
    }
    mentions
}
