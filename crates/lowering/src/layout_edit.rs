//! Edits of a coroutine's layout, for every pass that changes one, and the check each of
//! them runs afterwards.
//!
//! A coroutine's layout is the `CoroutineLayout` of its `optimized_mir`: the saved locals
//! (`field_tys`, `field_names`), which of them each variant holds (`variant_fields`, with
//! `variant_source_info`), and which of them may not share bytes (`storage_conflicts`).
//! rustc's StateTransform writes it once; rustc's layout computation
//! (`LayoutCalculator::coroutine`) turns it into offsets: saved locals held by several
//! variants go into the prefix after the upvars and the tag, the others overlap between
//! variants where the conflicts allow. corolift's passes change it:
//!
//! | pass | edit |
//! | --- | --- |
//! | `dead_states` | removes variants, and the saved locals only they held |
//! | `flatten_child` | removes the child's saved local, appends the child's upvars and saved locals, fills the holder variant and appends a variant per child state |
//! | `forward_upvars` | removes a saved local from every variant: it lives in an upvar's bytes |
//!
//! Each does it through a [`LayoutEdit`]: the edit works on indices of the old layout
//! (appended saved locals and variants get the next ones), and [`LayoutEdit::finish`]
//! writes the new layout (saved locals no variant holds any more are dropped; variants and
//! saved locals are numbered densely in their old order, appended ones last; conflicts are
//! carried over) and returns the [`Renumbering`] that the body's projections then follow
//! (`body_edit::VariantRewrite`). [`check`] is the post-condition every layout-changing
//! pass runs on both bodies: the layout is consistent with itself, and every projection
//! into a variant names a field that exists and has the type the projection says.
//! [`computed_size`] asks rustc's own layout computation what a layout costs.

use rustc_abi::{FieldIdx, VariantIdx};
use rustc_index::IndexVec;
use rustc_index::bit_set::BitMatrix;
use rustc_middle::mir::visit::{PlaceContext, Visitor};
use rustc_middle::mir::{
    Body, CoroutineLayout, CoroutineSavedLocal, CoroutineSavedTy, Local, Location, Place, ProjectionElem,
    SourceInfo, Statement, StatementKind,
};
use rustc_middle::ty::{self, Ty, TyCtxt, TypingEnv};
use rustc_span::Symbol;

/// A layout being edited. Indices are those of the layout it started from; saved locals
/// and variants appended get the indices after the old ones.
pub struct LayoutEdit<'tcx> {
    saved: IndexVec<CoroutineSavedLocal, (CoroutineSavedTy<'tcx>, Option<Symbol>)>,
    /// `None`: removed.
    variants: IndexVec<VariantIdx, Option<(IndexVec<FieldIdx, CoroutineSavedLocal>, SourceInfo)>>,
    old_conflicts: BitMatrix<CoroutineSavedLocal, CoroutineSavedLocal>,
    /// How many saved locals the old layout had (the conflict matrix's size).
    old_saved: usize,
    added_conflicts: Vec<(CoroutineSavedLocal, CoroutineSavedLocal)>,
    /// The old variants' field lists, for the renumbering.
    old_fields: IndexVec<VariantIdx, IndexVec<FieldIdx, CoroutineSavedLocal>>,
}

impl<'tcx> LayoutEdit<'tcx> {
    pub fn new(layout: &CoroutineLayout<'tcx>) -> LayoutEdit<'tcx> {
        LayoutEdit {
            saved: layout.field_tys.iter_enumerated().map(|(s, ty)| (ty.clone(), layout.field_names[s])).collect(),
            variants: layout
                .variant_fields
                .iter_enumerated()
                .map(|(v, fields)| Some((fields.clone(), layout.variant_source_info[v])))
                .collect(),
            old_conflicts: layout.storage_conflicts.clone(),
            old_saved: layout.field_tys.len(),
            added_conflicts: Vec::new(),
            old_fields: layout.variant_fields.clone(),
        }
    }

    /// The fields of variant `v` as the edit stands (`None`: removed).
    pub fn fields(&self, v: VariantIdx) -> Option<&IndexVec<FieldIdx, CoroutineSavedLocal>> {
        self.variants[v].as_ref().map(|(fields, _)| fields)
    }

    pub fn source_info(&self, v: VariantIdx) -> Option<SourceInfo> {
        self.variants[v].as_ref().map(|(_, info)| *info)
    }

    pub fn saved_ty(&self, s: CoroutineSavedLocal) -> &CoroutineSavedTy<'tcx> {
        &self.saved[s].0
    }

    pub fn saved_name(&self, s: CoroutineSavedLocal) -> Option<Symbol> {
        self.saved[s].1
    }

    /// The variants that hold `s`.
    pub fn holders(&self, s: CoroutineSavedLocal) -> impl Iterator<Item = VariantIdx> + '_ {
        self.variants
            .iter_enumerated()
            .filter(move |(_, variant)| variant.as_ref().is_some_and(|(fields, _)| fields.raw.contains(&s)))
            .map(|(v, _)| v)
    }

    pub fn remove_variant(&mut self, v: VariantIdx) {
        self.variants[v] = None;
    }

    pub fn set_fields(&mut self, v: VariantIdx, fields: IndexVec<FieldIdx, CoroutineSavedLocal>) {
        let variant = self.variants[v].as_mut().expect("set_fields of a removed variant");
        variant.0 = fields;
    }

    /// No variant holds `s` any more (its place is elsewhere now).
    pub fn remove_from_variants(&mut self, s: CoroutineSavedLocal) {
        for (fields, _) in self.variants.iter_mut().flatten() {
            fields.raw.retain(|&held| held != s);
        }
    }

    pub fn append_saved(&mut self, ty: CoroutineSavedTy<'tcx>, name: Option<Symbol>) -> CoroutineSavedLocal {
        self.saved.push((ty, name))
    }

    /// `a` and `b` may not share bytes.
    pub fn add_conflict(&mut self, a: CoroutineSavedLocal, b: CoroutineSavedLocal) {
        self.added_conflicts.push((a, b));
    }

    /// Did the layout this edit started from say that `a` and `b` conflict?
    pub fn old_conflict(&self, a: CoroutineSavedLocal, b: CoroutineSavedLocal) -> bool {
        a.as_usize() < self.old_saved && b.as_usize() < self.old_saved && self.old_conflicts.contains(a, b)
    }

    pub fn append_variant(&mut self, fields: IndexVec<FieldIdx, CoroutineSavedLocal>, info: SourceInfo) -> VariantIdx {
        self.variants.push(Some((fields, info)))
    }

    /// Writes the edited layout into `layout` and says where everything went.
    pub fn finish(self, layout: &mut CoroutineLayout<'tcx>) -> Renumbering {
        let mut held = vec![false; self.saved.len()];
        for (fields, _) in self.variants.iter().flatten() {
            for &s in fields {
                held[s.as_usize()] = true;
            }
        }
        let mut next = 0;
        let saved: IndexVec<CoroutineSavedLocal, Option<CoroutineSavedLocal>> = held
            .iter()
            .map(|&h| {
                h.then(|| {
                    next += 1;
                    CoroutineSavedLocal::from_usize(next - 1)
                })
            })
            .collect();
        let mut next = 0;
        let variants: IndexVec<VariantIdx, Option<VariantIdx>> = self
            .variants
            .iter()
            .map(|v| {
                v.as_ref().map(|_| {
                    next += 1;
                    VariantIdx::from_usize(next - 1)
                })
            })
            .collect();

        let count = held.iter().filter(|&&h| h).count();
        let mut conflicts = BitMatrix::new(count, count);
        for a in self.old_conflicts.rows() {
            let Some(new_a) = saved.get(a).copied().flatten() else { continue };
            for b in self.old_conflicts.iter(a) {
                if let Some(new_b) = saved.get(b).copied().flatten() {
                    conflicts.insert(new_a, new_b);
                }
            }
        }
        for &(a, b) in &self.added_conflicts {
            if let (Some(a), Some(b)) = (saved[a], saved[b]) {
                conflicts.insert(a, b);
                conflicts.insert(b, a);
            }
        }

        layout.field_tys = self.saved.iter_enumerated().filter(|(s, _)| held[s.as_usize()]).map(|(_, (ty, _))| ty.clone()).collect();
        layout.field_names = self.saved.iter_enumerated().filter(|(s, _)| held[s.as_usize()]).map(|(_, (_, name))| *name).collect();
        let kept: Vec<&(IndexVec<FieldIdx, CoroutineSavedLocal>, SourceInfo)> = self.variants.iter().flatten().collect();
        layout.variant_fields = kept.iter().map(|(fields, _)| fields.iter().map(|&s| saved[s].unwrap()).collect()).collect();
        layout.variant_source_info = kept.iter().map(|(_, info)| *info).collect();
        layout.storage_conflicts = conflicts;

        let fields = self
            .old_fields
            .iter_enumerated()
            .map(|(v, old)| {
                let new = self.variants[v].as_ref().map(|(fields, _)| fields);
                old.iter().map(|s| new.and_then(|fields| fields.iter().position(|held| held == s)).map(FieldIdx::from_usize)).collect()
            })
            .collect();
        Renumbering { variants, fields, saved }
    }
}

/// Where a [`LayoutEdit`] put the old layout's variants, fields and saved locals.
pub struct Renumbering {
    /// Per variant of the edit (old ones, then appended ones): its new index.
    variants: IndexVec<VariantIdx, Option<VariantIdx>>,
    /// Per old variant and field: the field's new index in that variant, if it still holds
    /// the saved local.
    fields: IndexVec<VariantIdx, IndexVec<FieldIdx, Option<FieldIdx>>>,
    saved: IndexVec<CoroutineSavedLocal, Option<CoroutineSavedLocal>>,
}

impl Renumbering {
    /// The new index of variant `v` (`None`: removed).
    pub fn variant(&self, v: VariantIdx) -> Option<VariantIdx> {
        self.variants.get(v).copied().flatten()
    }

    /// Where field `f` of old variant `v` is now, if the variant is kept and still holds
    /// that saved local.
    pub fn field(&self, v: VariantIdx, f: FieldIdx) -> Option<(VariantIdx, FieldIdx)> {
        Some((self.variant(v)?, self.fields.get(v)?.get(f).copied().flatten()?))
    }

    pub fn saved(&self, s: CoroutineSavedLocal) -> Option<CoroutineSavedLocal> {
        self.saved.get(s).copied().flatten()
    }
}

/// The post-condition of every layout-changing pass: `layout` is consistent with itself,
/// and `body` (a resume body or a coroutine drop body, whose pointer to the coroutine is
/// `coroutine_ref`) names only what it has. Checked:
/// - one name per saved local, one source location per variant, a conflict row per saved
///   local, and conflicts that are symmetric;
/// - every variant holds saved locals that exist, each at most once, and every saved local
///   is held by some variant;
/// - every `((*self) as v).i: T` (in code and debug info; debug info may reach the
///   coroutine through `self.0`) names a field `i` of variant `v` whose saved local has
///   type `T`, and every state write `discriminant((*self)) = v` names a variant.
pub fn check<'tcx>(layout: &CoroutineLayout<'tcx>, body: &Body<'tcx>, coroutine_ref: Local) -> Result<(), String> {
    let count = layout.field_tys.len();
    if layout.field_names.len() != count {
        return Err(format!("{} saved locals but {} names", count, layout.field_names.len()));
    }
    if layout.variant_source_info.len() != layout.variant_fields.len() {
        return Err("a variant without a source location".into());
    }
    let conflicts = &layout.storage_conflicts;
    if conflicts.rows().count() != count {
        return Err(format!("a conflict matrix of {} rows for {count} saved locals", conflicts.rows().count()));
    }
    let mut held = vec![false; count];
    for (v, fields) in layout.variant_fields.iter_enumerated() {
        for (f, &s) in fields.iter_enumerated() {
            if s.as_usize() >= count {
                return Err(format!("variant {} field {} is saved local {}, which does not exist", v.as_u32(), f.as_u32(), s.as_u32()));
            }
            if fields.iter().filter(|&&other| other == s).count() > 1 {
                return Err(format!("variant {} holds saved local {} twice", v.as_u32(), s.as_u32()));
            }
            held[s.as_usize()] = true;
        }
    }
    if let Some(s) = held.iter().position(|&h| !h) {
        return Err(format!("no variant holds saved local {s}"));
    }
    for a in conflicts.rows() {
        for b in conflicts.iter(a) {
            if !conflicts.contains(b, a) {
                return Err(format!("saved locals {} and {} conflict one way only", a.as_u32(), b.as_u32()));
            }
        }
    }

    struct Names<'a, 'tcx> {
        coroutine_ref: Local,
        layout: &'a CoroutineLayout<'tcx>,
        bad: Option<String>,
    }
    impl<'tcx> Visitor<'tcx> for Names<'_, 'tcx> {
        fn visit_place(&mut self, place: &Place<'tcx>, _: PlaceContext, _: Location) {
            let projection = match place.projection.as_slice() {
                elems if place.local == self.coroutine_ref => elems,
                [ProjectionElem::Field(..), rest @ ..] if place.local == Local::from_u32(1) => rest,
                _ => return,
            };
            if let [ProjectionElem::Deref, ProjectionElem::Downcast(_, v), ProjectionElem::Field(f, ty), ..] = projection {
                let saved = self.layout.variant_fields.get(*v).and_then(|fields| fields.get(*f));
                if !saved.is_some_and(|&s| self.layout.field_tys[s].ty == *ty) {
                    self.bad.get_or_insert(format!("{place:?} names no such field"));
                }
            }
        }

        fn visit_statement(&mut self, statement: &Statement<'tcx>, location: Location) {
            if let StatementKind::SetDiscriminant { place, variant_index } = &statement.kind
                && place.local == self.coroutine_ref
                && place.projection.as_slice() == [ProjectionElem::Deref]
                && variant_index.as_usize() >= self.layout.variant_fields.len()
            {
                self.bad.get_or_insert(format!("the state write `= {}` names no variant", variant_index.as_u32()));
            }
            self.super_statement(statement, location);
        }
    }
    let mut names = Names { coroutine_ref, layout, bad: None };
    names.visit_body(body);
    match names.bad {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

/// The size rustc's layout computation (`LayoutCalculator::coroutine`, the one `layout_of`
/// uses) gives coroutine `def`'s type with `layout`, or `None` when a field's layout is not
/// known here (a generic coroutine, before monomorphization).
pub fn computed_size<'tcx>(
    tcx: TyCtxt<'tcx>,
    typing_env: TypingEnv<'tcx>,
    def: rustc_hir::def_id::DefId,
    layout: &CoroutineLayout<'tcx>,
) -> Option<u64> {
    use rustc_abi::LayoutData;
    use rustc_middle::ty::layout::{LayoutCx, PrimitiveExt as _, TyAndLayout};
    let ty::Coroutine(_, args) = *tcx.type_of(def).instantiate_identity().skip_norm_wip().kind() else {
        return None;
    };
    let layout_of = |ty: Ty<'tcx>| tcx.layout_of(typing_env.as_query_input(ty)).ok();
    let locals: IndexVec<CoroutineSavedLocal, TyAndLayout<'tcx>> = layout
        .field_tys
        .iter()
        .map(|saved| layout_of(Ty::new_maybe_uninit(tcx, saved.ty)))
        .collect::<Option<_>>()?;
    let prefix: IndexVec<FieldIdx, TyAndLayout<'tcx>> =
        args.as_coroutine().upvar_tys().iter().map(layout_of).collect::<Option<_>>()?;
    let cx = LayoutCx::new(tcx, typing_env);
    let computed = cx
        .calc
        .coroutine(&locals, prefix, &layout.variant_fields, &layout.storage_conflicts, |tag| TyAndLayout {
            ty: tag.primitive().to_ty(tcx),
            layout: tcx.mk_layout(LayoutData::scalar(&cx, tag)),
        })
        .ok()?;
    Some(computed.size.bytes())
}
