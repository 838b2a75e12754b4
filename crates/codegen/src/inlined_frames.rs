//! Inlined frames in the DWARF of resume functions, so that a backtrace through a spliced
//! child names the child.
//!
//! `inline_child` and `flatten_child` mark the scopes of the code they splice as inlined
//! from the child (`SourceScopeData::inlined`, with the call's span), as rustc's MIR
//! inliner does for the functions it inlines. cg_clif writes only a line table: every
//! instruction gets a file, line and column, and the function's name is that of the
//! `DW_TAG_subprogram` around it. A symbolizer (std's backtrace, gdb, addr2line) shows an
//! inlined frame only where a `DW_TAG_inlined_subroutine` entry covers the address. This
//! module writes those entries for resume functions, from three hooks in cg_clif's
//! debuginfo code:
//!
//! 1. [`tag_column`] (`FunctionCx::set_debug_loc`): cg_clif interns each instruction's
//!    location as `(file, line, column)`. For code in an inlined scope the column gets the
//!    scope's chain of inlined calls in its upper 32 bits (an id into [`CHAINS`]), so that
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

/// One inlined call: the callee, and where it was called.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct InlinedCall {
    /// The callee's name as cg_clif names its functions (`{async_fn#0}`); gdb wants one.
    name: String,
    /// The callee's symbol, which symbolizers demangle into the full path.
    linkage_name: Option<String>,
    call_file: FileId,
    call_line: u64,
    call_column: u64,
}

/// Every chain of inlined calls seen, outermost call first; a tagged column holds an index
/// plus one. A chain holds `FileId`s of the codegen unit that interned it; the unit that
/// reads it back is the one whose locations carry its id, and the same content means the
/// same files there.
static CHAINS: Mutex<Vec<Vec<InlinedCall>>> = Mutex::new(Vec::new());
static CHAIN_IDS: Mutex<Option<HashMap<Vec<InlinedCall>, usize>>> = Mutex::new(None);

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
    let InstanceKind::Item(def_id) = instance.def else { return false };
    tcx.is_coroutine(def_id) && crate::knobs(tcx).lowering_enabled()
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
    if column > COLUMN_MASK || !enabled(tcx, instance) {
        return column;
    }
    let mut chain: Vec<InlinedCall> = inlined_calls(mir, scope)
        .into_iter()
        .map(|(callee, call_span)| {
            let callee = instance.instantiate_mir_and_normalize_erasing_regions(
                tcx,
                ty::TypingEnv::fully_monomorphized(),
                EarlyBinder::bind(callee),
            );
            let (name, linkage_name) = match callee.def {
                InstanceKind::Item(def_id) => (short_name(tcx, def_id), Some(tcx.symbol_name(callee).name.to_string())),
                _ => (with_no_trimmed_paths!(tcx.def_path_str(callee.def_id())), None),
            };
            let (call_file, call_line, call_column) = span_loc(call_span);
            InlinedCall { name, linkage_name, call_file, call_line, call_column }
        })
        .collect();
    if chain.is_empty() {
        return column;
    }
    chain.reverse();
    let id = {
        let mut ids = CHAIN_IDS.lock().unwrap();
        let ids = ids.get_or_insert_default();
        match ids.get(&chain) {
            Some(&id) => id,
            None => {
                let mut chains = CHAINS.lock().unwrap();
                chains.push(chain.clone());
                ids.insert(chain, chains.len() - 1);
                chains.len() - 1
            }
        }
    };
    match u64::try_from(id + 1) {
        Ok(tag) if tag <= COLUMN_MASK => column | (tag << COLUMN_BITS),
        _ => column,
    }
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

fn chain_of_column(column: u64) -> Option<Vec<InlinedCall>> {
    let tag = usize::try_from(column >> COLUMN_BITS).ok()?.checked_sub(1)?;
    CHAINS.lock().unwrap().get(tag).cloned()
}

/// One `DW_TAG_inlined_subroutine` being built: its entry and code ranges (offsets).
struct Frame {
    entry: UnitEntryId,
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
    let mut frames: HashMap<Vec<InlinedCall>, Frame> = HashMap::new();
    let mut order: Vec<Vec<InlinedCall>> = Vec::new();
    for (start, end, interned) in code {
        let Some(interned) = interned else { continue };
        let Some(chain) = chain_of_column(location(interned).2) else { continue };
        for depth in 1..=chain.len() {
            let prefix = chain[..depth].to_vec();
            if !frames.contains_key(&prefix) {
                let parent = if depth == 1 { subprogram } else { frames[&chain[..depth - 1]].entry };
                let entry = dwarf.unit.add(parent, gimli::DW_TAG_inlined_subroutine);
                order.push(prefix.clone());
                frames.insert(prefix.clone(), Frame { entry, ranges: Vec::new() });
            }
            let frame = frames.get_mut(&prefix).unwrap();
            match frame.ranges.last_mut() {
                Some(last) if last.1 == start => last.1 = end,
                _ => frame.ranges.push((start, end)),
            }
        }
    }
    for prefix in order {
        let frame = &frames[&prefix];
        let call = prefix.last().unwrap();
        let name = dwarf.strings.add(call.name.as_str());
        let linkage_name = call.linkage_name.as_deref().map(|linkage_name| dwarf.strings.add(linkage_name));
        let ranges: Vec<Range> = frame
            .ranges
            .iter()
            .map(|&(start, end)| Range::StartLength {
                begin: Address::Symbol { symbol, addend: addend + i64::from(start) },
                length: u64::from(end - start),
            })
            .collect();
        let ranges = dwarf.unit.ranges.add(RangeList(ranges));
        let entry = dwarf.unit.get_mut(frame.entry);
        entry.set(gimli::DW_AT_name, AttributeValue::StringRef(name));
        if let Some(linkage_name) = linkage_name {
            entry.set(gimli::DW_AT_linkage_name, AttributeValue::StringRef(linkage_name));
        }
        entry.set(gimli::DW_AT_ranges, AttributeValue::RangeListRef(ranges));
        entry.set(gimli::DW_AT_call_file, AttributeValue::FileIndex(Some(call.call_file)));
        entry.set(gimli::DW_AT_call_line, AttributeValue::Udata(call.call_line));
        entry.set(gimli::DW_AT_call_column, AttributeValue::Udata(call.call_column));
    }
}
