//! corolift's patch to cg_clif: a handful of hook call sites, applied to the staged source.
//!
//! Each hook names an anchor, a piece of upstream text that must occur exactly once in
//! its file, and what to put beside it. When a newer nightly moves or rewrites an
//! anchor, staging stops with an error that names the anchor and the file, instead of
//! building a backend with a hook silently missing. The functions called here live in
//! `crates/codegen`; see its module doc for what each one does.

use crate::util::{Result, error};

pub enum Edit {
    InsertBefore(&'static str),
    InsertAfter(&'static str),
    Replace(&'static str),
}

pub struct Hook {
    /// The file inside cg_clif's source.
    pub file: &'static str,
    pub anchor: &'static str,
    pub edit: Edit,
}

pub static HOOKS: &[Hook] = &[
    // Make the staged crate its own workspace, and link corolift's hook glue into it.
    Hook { file: "Cargo.toml", anchor: "[package]\n", edit: Edit::InsertBefore("[workspace]\n\n") },
    Hook {
        file: "Cargo.toml",
        anchor: "[dependencies]\n",
        edit: Edit::InsertAfter("corolift-codegen = { path = \"../../crates/codegen\" }\n"),
    },
    // `-Cllvm-args=corolift...` words are corolift's; an unknown one is a fatal error.
    Hook {
        file: "src/config.rs",
        anchor: "            match &**opt {\n",
        edit: Edit::InsertBefore(
            "            if let Some(checked) = corolift_codegen::check_knob(opt) {\n                checked?;\n                continue;\n            }\n",
        ),
    },
    // The MIR-level hook: override `optimized_mir`.
    Hook {
        file: "src/lib.rs",
        anchor: "impl CodegenBackend for CraneliftCodegenBackend {\n",
        edit: Edit::InsertAfter(
            "    fn provide(&self, providers: &mut rustc_middle::util::Providers) {\n        corolift_codegen::provide(providers)\n    }\n\n",
        ),
    },
    // The SSA hook: locals cg_clif would put in memory that may stay in variables.
    Hook {
        file: "src/abi/mod.rs",
        anchor: "    let ssa_analyzed = crate::analyze::analyze(fx);\n",
        edit: Edit::Replace(
            "    let mut ssa_analyzed = crate::analyze::analyze(fx);\n    for local in corolift_codegen::locals_kept_in_registers(fx.tcx, fx.instance, fx.mir) {\n        ssa_analyzed[local] = crate::analyze::SsaKind::MaybeSsa;\n    }\n",
        ),
    },
    // The slot hook: which local each stack slot is for (the key `share_stack_slots` reads).
    Hook {
        file: "src/abi/mod.rs",
        anchor: "        CPlace::new_stack_slot(fx, layout)\n",
        edit: Edit::Replace(
            "        {\n            let first = fx.bcx.func.sized_stack_slots.len();\n            let place = CPlace::new_stack_slot(fx, layout);\n            corolift_codegen::local_slot_created(fx.tcx, fx.instance, fx.bcx.func, first, local);\n            place\n        }\n",
        ),
    },
    // The debuginfo hooks: inlined frames for spliced code (crates/codegen/src/inlined_frames.rs).
    Hook {
        file: "src/common.rs",
        anchor: "                debug_context.get_span_loc(self.tcx, self.mir.span, source_info.span);\n",
        edit: Edit::InsertAfter(
            "            let column = corolift_codegen::inlined_frames::tag_column(self.tcx, self.instance, self.mir, source_info.scope, column, |span| debug_context.get_span_loc(self.tcx, self.mir.span, span));\n",
        ),
    },
    Hook {
        file: "src/debuginfo/mod.rs",
        anchor: "                entry_id: None,\n",
        edit: Edit::Replace(
            "                entry_id: corolift_codegen::inlined_frames::line_tables_subprogram(tcx, instance, &mut self.dwarf, linkage_name),\n",
        ),
    },
    Hook {
        file: "src/debuginfo/line_info.rs",
        anchor: "                let source_loc = self.source_loc_set[loc.bits() as usize];\n",
        edit: Edit::Replace(
            "                let source_loc = corolift_codegen::inlined_frames::untag(self.source_loc_set[loc.bits() as usize]);\n",
        ),
    },
    Hook {
        file: "src/debuginfo/mod.rs",
        anchor: "        if let Some(entry_id) = self.entry_id {\n",
        edit: Edit::InsertBefore(
            "        if let Some(entry_id) = self.entry_id {\n            corolift_codegen::inlined_frames::add_inlined_subroutines(\n                &mut debug_context.dwarf,\n                entry_id,\n                address_for_func(func_id),\n                context.compiled_code().unwrap().buffer.get_srclocs_sorted().iter().map(|l| (l.start, l.end, (!l.loc.is_default()).then(|| l.loc.bits() as usize))),\n                |index| self.source_loc_set[index],\n            );\n        }\n",
        ),
    },
    // The Cranelift-level hook: every function once its CLIF is complete.
    Hook {
        file: "src/base.rs",
        anchor: "    fx.constants_cx.finalize(fx.tcx, &mut *fx.module);\n",
        edit: Edit::InsertAfter(
            "    corolift_codegen::function_lowered(tcx, instance, &symbol_name, &mut func);\n",
        ),
    },
    // The size hook: machine-code bytes and the frame of every function after `define_function`.
    Hook {
        file: "src/base.rs",
        anchor: "            Ok(()) => {}\n",
        edit: Edit::Replace(
            "            Ok(()) => corolift_codegen::function_compiled(&codegened_func.symbol_name, context.compiled_code()),\n",
        ),
    },
];

/// Applies every hook of `file` to its upstream `text`.
pub fn apply(file: &str, mut text: String) -> Result<String> {
    for hook in HOOKS.iter().filter(|h| h.file == file) {
        let found = text.matches(hook.anchor).count();
        if found != 1 {
            return error(format!(
                "cg_clif's {file} has {found} copies of the hook anchor {:?} (corolift needs exactly one). \
                 This nightly's cg_clif source moved it: update build_system/src/patch.rs",
                hook.anchor.trim()
            ));
        }
        let at = text.find(hook.anchor).unwrap();
        let end = at + hook.anchor.len();
        text = match hook.edit {
            Edit::InsertBefore(new) => format!("{}{new}{}", &text[..at], &text[at..]),
            Edit::InsertAfter(new) => format!("{}{new}{}", &text[..end], &text[end..]),
            Edit::Replace(new) => format!("{}{new}{}", &text[..at], &text[end..]),
        };
    }
    Ok(text)
}

/// The files the patch touches.
pub fn patched_files() -> Vec<&'static str> {
    let mut files: Vec<&str> = HOOKS.iter().map(|h| h.file).collect();
    files.dedup();
    files
}
