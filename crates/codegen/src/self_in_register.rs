//! The coroutine pointer stays in a register.
//!
//! A resume function reaches every saved local through one pointer, which rustc's
//! transform copies out of the `Pin` argument at entry:
//!
//! ```text
//! bb0: { _16 = copy (_1.0: &mut {async fn body of loop_break()}); _15 = discriminant((*_16)); ... }
//! bb5: { _9 = &mut (((*_16) as variant#3).1: {async fn body of step()}); ... }
//! ```
//!
//! cg_clif keeps a scalar local in a Cranelift variable (a register) unless some
//! `&`/`&raw` borrows a place of it, and it counts `&mut (*_16).f` as such a borrow. That
//! borrow never takes `_16`'s own address: it adds an offset to the pointer `_16` holds.
//! Yet one such borrow (pinning the awaited child is one) puts `_16` in a stack slot, and
//! every access to a saved local then starts by loading the pointer back from the stack
//! (`mov 0x40(%rsp),%rax` before each store to the coroutine, on x86-64).
//!
//! This codegen step changes no MIR. It finds the locals that are borrowed only through a
//! dereference of themselves, and the codegen hook hands that list to cg_clif's SSA
//! analysis, which keeps them in variables again. The hook recomputes the list from the
//! body cg_clif lowers, so it also covers resume bodies the pipeline left alone (another
//! crate's, or one whose state machine was not recognised): the argument below does not
//! depend on the body's shape. The MIR, the layout and the drop glue
//! are the same as without it; only where cg_clif keeps the pointer changes.
//!
//! Why it is sound: cg_clif needs a local in memory only when code takes the local's
//! address. A place that starts with `Deref` is lowered by reading the local's value (the
//! pointer) and projecting from it, which cg_clif already does for every other use of a
//! variable (`_15 = discriminant((*_16))` above). A local borrowed both ways (`&_16`
//! somewhere, `&(*_16).f` elsewhere) stays in memory.
//!
//! Precondition: some local is borrowed, and every borrow of it starts with a `Deref`.
//!
//! Why not rustc's `borrowed_locals`: it answers "whose address is taken", and counts
//! no borrow whose place goes through a `Deref` anywhere. This step needs the question
//! cg_clif's SSA analysis asks, which counts every `&`/`&raw` of a place of the local,
//! narrowed by exactly one case: a place whose *first* projection is the `Deref`, which
//! cg_clif lowers by reading the local's value. `&(*(_5.0)).x` is not borrowed for rustc
//! yet puts `_5` in memory for cg_clif, so the two sets differ.

use corolift_lowering::passes::PassOutcome;
use rustc_index::bit_set::DenseBitSet;
use rustc_middle::mir::{Body, Local, ProjectionElem, Rvalue, StatementKind};

/// The step's record for the report: which locals stay in variables, and why.
pub fn outcome(body: &Body<'_>) -> PassOutcome {
    let locals = borrowed_only_through_deref(body);
    if locals.is_empty() {
        return PassOutcome::Declined("no local is borrowed only through a dereference of itself".to_string());
    }
    let names: Vec<String> = locals.iter().map(|local| format!("{local:?}")).collect();
    PassOutcome::Applied(format!(
        "{}: every borrow goes through a dereference (`&(*{})...`), so cg_clif keeps {} in a variable, not a stack slot",
        names.join(", "),
        names[0],
        if names.len() == 1 { "it" } else { "them" }
    ))
}

/// The locals that some `&`/`&raw` borrows through a dereference of the local, and none
/// borrows any other way. cg_clif's SSA analysis puts every borrowed local in memory; these
/// need not be. The codegen hook calls this on the body cg_clif lowers.
pub fn borrowed_only_through_deref(body: &Body<'_>) -> Vec<Local> {
    let mut through_deref = DenseBitSet::new_empty(body.local_decls.len());
    let mut directly = DenseBitSet::new_empty(body.local_decls.len());
    for data in body.basic_blocks.iter() {
        for statement in &data.statements {
            let StatementKind::Assign(assign) = &statement.kind else { continue };
            let (Rvalue::Ref(_, _, place) | Rvalue::RawPtr(_, place)) = &assign.1 else { continue };
            if matches!(place.projection.first(), Some(ProjectionElem::Deref)) {
                through_deref.insert(place.local);
            } else {
                directly.insert(place.local);
            }
        }
    }
    through_deref.subtract(&directly);
    through_deref.iter().collect()
}
