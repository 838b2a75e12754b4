//! Inlined frames in the DWARF of resume functions, so that a backtrace through a spliced
//! child names the child.
//!
//! `inline_child` and `flatten_child` mark the scopes of the code they splice as inlined
//! from the child (`SourceScopeData::inlined`, with the call's span), as rustc's MIR
//! inliner does for the functions it inlines. cg_clif writes only a line table: every
//! instruction gets a file, line and column, and the function's name is that of the
//! `DW_TAG_subprogram` around it. A symbolizer (std's backtrace, gdb, addr2line) shows an
//! inlined frame only where a `DW_TAG_inlined_subroutine` entry covers the address. This
//! module writes those entries for resume functions, from four hooks in cg_clif's
//! debuginfo code:
//!
//! 1. [`tag_column`] (`FunctionCx::set_debug_loc`): cg_clif interns each instruction's
//!    location as `(file, line, column)`. For code in an inlined scope the column gets the
//!    scope's chain of inlined calls in its upper 32 bits (an id into the interned
//!    chains), so that
//!    the same line reached through two different calls stays two locations.
//! 2. [`untag`] (`create_debug_lines`): the line table gets the real column back.
//! 3. [`add_inlined_subroutines`] (`FunctionDebugContext::finalize`): once the machine
//!    code exists, every chain gets one entry per call in it, nested outermost first
//!    under the function's `DW_TAG_subprogram`, covering the code ranges of the locations
//!    tagged with that chain or a longer one, with the callee's linkage name and the call's
//!    file, line and column.
//! 4. [`line_tables_subprogram`] (`DebugContext::define_function`): under
//!    `-Cdebuginfo=line-tables-only` cg_clif writes no `DW_TAG_subprogram`; a resume
//!    function gets a minimal one, so that its inlined frames have a parent.
//!
//! Only resume functions of coroutines, and only while corolift lowers (not under
//! `corolift=off`, whose output stays stock cg_clif's); within those, rustc's own inlined
//! scopes get frames as well as corolift's.

use std::collections::HashMap;
use std::sync::Mutex;

use gimli::write::{Address, AttributeValue, DwarfUnit, FileId, Range, RangeList, UnitEntryId};
use rustc_codegen_ssa::debuginfo::type_names;
use rustc_hir::def_id::DefId;
use rustc_middle::mir::{Body, SourceScope};
use rustc_middle::ty::print::with_no_trimmed_paths;
use rustc_middle::ty::{self, EarlyBinder, Instance, InstanceKind, TyCtxt};
use rustc_span::Span;

/// The callee of one inlined call.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Callee {
    /// Its name as cg_clif names its functions (`{async_fn#0}`); gdb wants one.
    name: String,
    /// Its symbol, which symbolizers demangle into the full path.
    linkage_name: Option<String>,
}

/// What `tag_column` needs of a scope, worked out once per (monomorphic function, scope):
/// the callees of the inlined calls around it, outermost first (an index into `CALLEES`),
/// and the calls' spans. `None`: the function gets no inlined frames, or the scope is
/// not inlined.
type ScopeKey = (DefId, usize, SourceScope);
type ScopeCalls = Option<(usize, Vec<Span>)>;

/// A chain of inlined calls: its callees (an index into `CALLEES`) and the file, line and
/// column of each call. The `FileId`s are those of the codegen unit that interned it; the
/// unit that reads it back is the one whose locations carry its id, and the same content
/// means the same files there.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Chain {
    callees: usize,
    call_sites: Vec<(FileId, u64, u64)>,
}

/// Interned state, shared by the codegen units (each a thread in cg_clif).
#[derive(Default)]
struct Interned {
    scopes: HashMap<ScopeKey, ScopeCalls>,
    callees: Vec<Vec<Callee>>,
    chains: Vec<Chain>,
    chain_ids: HashMap<Chain, usize>,
}

/// The interning of the whole compilation. A static because cg_clif's codegen units, each
/// a thread, share it (a chain's id written into one location must mean the same chain
/// when the unit's finalize hook reads it back), and the hooks that reach it are free
/// functions called with cg_clif's arguments only. It carries nothing to the report or
/// between crates: only the DWARF of the functions being compiled reads it.
static INTERNED: Mutex<Option<Interned>> = Mutex::new(None);

const COLUMN_BITS: u32 = 32;
const COLUMN_MASK: u64 = (1 << COLUMN_BITS) - 1;

/// The inlined calls around `scope`, innermost first (rustc's `inlined_parent_scope` links).
fn inlined_calls<'tcx>(mir: &Body<'tcx>, scope: SourceScope) -> Vec<(Instance<'tcx>, Span)> {
    let data = &mir.source_scopes[scope];
    let mut next = if data.inlined.is_some() { Some(scope) } else { data.inlined_parent_scope };
    let mut calls = Vec::new();
    while let Some(inlined) = next {
        let data = &mir.source_scopes[inlined];
        let Some(call) = data.inlined else { break };
        calls.push(call);
        next = data.inlined_parent_scope;
    }
    calls
}

fn enabled(tcx: TyCtxt<'_>, instance: Instance<'_>) -> bool {
    corolift_host::resume_function_of(tcx, instance).is_some() && corolift_host::knobs(tcx).lowering_enabled()
}

/// Hook in `FunctionCx::set_debug_loc`: the column to intern for an instruction of
/// `instance` in `scope`. `span_loc` is cg_clif's own span-to-location mapping.
pub fn tag_column<'tcx, F>(
    tcx: TyCtxt<'tcx>,
    instance: Instance<'tcx>,
    mir: &Body<'tcx>,
    scope: SourceScope,
    column: u64,
    mut span_loc: F,
) -> u64
where
    F: FnMut(Span) -> (FileId, u64, u64),
{
    let data = &mir.source_scopes[scope];
    if data.inlined.is_none() && data.inlined_parent_scope.is_none() {
        return column;
    }
    if column > COLUMN_MASK {
        return column;
    }
    let key = (instance.def_id(), std::ptr::from_ref(instance.args).cast::<()>() as usize, scope);
    let calls = {
        let mut interned = INTERNED.lock().unwrap();
        let interned = interned.get_or_insert_default();
        if !interned.scopes.contains_key(&key) {
            let calls = scope_calls(tcx, instance, mir, scope).map(|(callees, spans)| {
                interned.callees.push(callees);
                (interned.callees.len() - 1, spans)
            });
            interned.scopes.insert(key, calls);
        }
        interned.scopes[&key].clone()
    };
    let Some((callees, spans)) = calls else { return column };
    // Outside the lock: cg_clif's span lookup may add a file to this unit's line program.
    let chain = Chain { callees, call_sites: spans.into_iter().map(&mut span_loc).collect() };
    let id = {
        let mut interned = INTERNED.lock().unwrap();
        let interned = interned.get_or_insert_default();
        match interned.chain_ids.get(&chain) {
            Some(&id) => id,
            None => {
                interned.chains.push(chain.clone());
                let id = interned.chains.len() - 1;
                interned.chain_ids.insert(chain, id);
                id
            }
        }
    };
    match u64::try_from(id + 1) {
        Ok(tag) if tag <= COLUMN_MASK => column | (tag << COLUMN_BITS),
        _ => column,
    }
}

/// The callees and call spans of the inlined calls around `scope`, outermost first; `None`
/// when `instance` gets no inlined frames or the scope is not inlined.
fn scope_calls<'tcx>(
    tcx: TyCtxt<'tcx>,
    instance: Instance<'tcx>,
    mir: &Body<'tcx>,
    scope: SourceScope,
) -> Option<(Vec<Callee>, Vec<Span>)> {
    if !enabled(tcx, instance) {
        return None;
    }
    let (mut callees, mut spans): (Vec<Callee>, Vec<Span>) = inlined_calls(mir, scope)
        .into_iter()
        .map(|(callee, call_span)| {
            let callee = instance.instantiate_mir_and_normalize_erasing_regions(
                tcx,
                ty::TypingEnv::fully_monomorphized(),
                EarlyBinder::bind(callee),
            );
            let callee = match callee.def {
                InstanceKind::Item(def_id) => Callee {
                    name: short_name(tcx, def_id),
                    linkage_name: Some(tcx.symbol_name(callee).name.to_string()),
                },
                _ => Callee { name: with_no_trimmed_paths!(tcx.def_path_str(callee.def_id())), linkage_name: None },
            };
            (callee, call_span)
        })
        .unzip();
    if callees.is_empty() {
        return None;
    }
    callees.reverse();
    spans.reverse();
    Some((callees, spans))
}

/// An item's name as cg_clif's `define_function` writes it into `DW_AT_name`.
fn short_name(tcx: TyCtxt<'_>, def_id: DefId) -> String {
    let mut name = String::new();
    type_names::push_item_name(tcx, def_id, false, &mut name);
    name
}

/// Hook in `DebugContext::define_function`, which under `-Cdebuginfo=line-tables-only`
/// writes no `DW_TAG_subprogram` (functions are named by the symbol table): for a resume
/// function this writes a minimal one, names and (in `finalize`) address range, as LLVM
/// does in that mode, so that its inlined frames have an entry to hang under.
pub fn line_tables_subprogram<'tcx>(
    tcx: TyCtxt<'tcx>,
    instance: Instance<'tcx>,
    dwarf: &mut DwarfUnit,
    linkage_name: &str,
) -> Option<UnitEntryId> {
    if !enabled(tcx, instance) {
        return None;
    }
    let root = dwarf.unit.root();
    let entry_id = dwarf.unit.add(root, gimli::DW_TAG_subprogram);
    let name = dwarf.strings.add(short_name(tcx, instance.def_id()));
    let linkage_name = dwarf.strings.add(linkage_name);
    let entry = dwarf.unit.get_mut(entry_id);
    entry.set(gimli::DW_AT_name, AttributeValue::StringRef(name));
    entry.set(gimli::DW_AT_linkage_name, AttributeValue::StringRef(linkage_name));
    Some(entry_id)
}

/// Hook in `create_debug_lines`: a location as the line table wants it, without the tag.
pub fn untag<F>(location: (F, u64, u64)) -> (F, u64, u64) {
    (location.0, location.1, location.2 & COLUMN_MASK)
}

/// The chain id a tagged column carries.
fn chain_id_of_column(column: u64) -> Option<usize> {
    usize::try_from(column >> COLUMN_BITS).ok()?.checked_sub(1)
}

/// One inlined call as a DWARF entry sees it: the callee and the call site.
#[derive(Clone, PartialEq, Eq, Hash)]
struct InlinedCall {
    callee: Callee,
    call_site: (FileId, u64, u64),
}

/// The calls of chain `id`, outermost first (empty for an unknown id).
fn calls_of_chain(id: usize) -> Vec<InlinedCall> {
    let interned = INTERNED.lock().unwrap();
    let Some(interned) = interned.as_ref() else { return Vec::new() };
    let Some(chain) = interned.chains.get(id) else { return Vec::new() };
    interned.callees[chain.callees]
        .iter()
        .zip(&chain.call_sites)
        .map(|(callee, &call_site)| InlinedCall { callee: callee.clone(), call_site })
        .collect()
}

/// One `DW_TAG_inlined_subroutine` being built: its entry, its call, and its code ranges
/// (offsets into the function).
struct Frame {
    entry: UnitEntryId,
    call: InlinedCall,
    ranges: Vec<(u32, u32)>,
}

/// Hook in `FunctionDebugContext::finalize`: the inlined subroutines of one function.
/// `code` lists the machine code's ranges with the interned location of each (`None`: no
/// location); `location` reads an interned location back.
pub fn add_inlined_subroutines(
    dwarf: &mut DwarfUnit,
    subprogram: UnitEntryId,
    function_start: Address,
    code: impl Iterator<Item = (u32, u32, Option<usize>)>,
    location: impl Fn(usize) -> (FileId, u64, u64),
) {
    let Address::Symbol { symbol, addend } = function_start else { return };
    let mut frames: Vec<Frame> = Vec::new();
    // The frame of each distinct prefix of a chain: chains that share their outer calls
    // share those entries.
    let mut frame_of_prefix: HashMap<Vec<InlinedCall>, usize> = HashMap::new();
    // The frames of each chain id, outermost first, worked out once per id.
    let mut frames_of_chain: HashMap<usize, Vec<usize>> = HashMap::new();
    for (start, end, interned) in code {
        let Some(interned) = interned else { continue };
        let Some(id) = chain_id_of_column(location(interned).2) else { continue };
        let chain_frames = frames_of_chain.entry(id).or_insert_with(|| {
            let calls = calls_of_chain(id);
            let mut parent = subprogram;
            (1..=calls.len())
                .map(|depth| {
                    let at = *frame_of_prefix.entry(calls[..depth].to_vec()).or_insert_with(|| {
                        let entry = dwarf.unit.add(parent, gimli::DW_TAG_inlined_subroutine);
                        frames.push(Frame { entry, call: calls[depth - 1].clone(), ranges: Vec::new() });
                        frames.len() - 1
                    });
                    parent = frames[at].entry;
                    at
                })
                .collect()
        });
        for &at in chain_frames.iter() {
            let ranges = &mut frames[at].ranges;
            match ranges.last_mut() {
                Some(last) if last.1 == start => last.1 = end,
                _ => ranges.push((start, end)),
            }
        }
    }
    for frame in &frames {
        let name = dwarf.strings.add(frame.call.callee.name.as_str());
        let linkage_name = frame.call.callee.linkage_name.as_deref().map(|linkage_name| dwarf.strings.add(linkage_name));
        let ranges: Vec<Range> = frame
            .ranges
            .iter()
            .map(|&(start, end)| Range::StartLength {
                begin: Address::Symbol { symbol, addend: addend + i64::from(start) },
                length: u64::from(end - start),
            })
            .collect();
        let ranges = dwarf.unit.ranges.add(RangeList(ranges));
        let (call_file, call_line, call_column) = frame.call.call_site;
        let entry = dwarf.unit.get_mut(frame.entry);
        entry.set(gimli::DW_AT_name, AttributeValue::StringRef(name));
        if let Some(linkage_name) = linkage_name {
            entry.set(gimli::DW_AT_linkage_name, AttributeValue::StringRef(linkage_name));
        }
        entry.set(gimli::DW_AT_ranges, AttributeValue::RangeListRef(ranges));
        entry.set(gimli::DW_AT_call_file, AttributeValue::FileIndex(Some(call_file)));
        entry.set(gimli::DW_AT_call_line, AttributeValue::Udata(call_line));
        entry.set(gimli::DW_AT_call_column, AttributeValue::Udata(call_column));
    }
}
