//! Deploy-time rewriting that makes call depth deterministic.
//!
//! Wasmtime's own stack-overflow trap fires wherever the native stack happens to run out, which
//! moves with code generation; it must never decide consensus. So every function body is wrapped:
//! on entry it adds its frame units (see `validate::frame_units`) to a counter global and traps
//! with `unreachable` once the counter passes [`MAX_CALL_DEPTH_UNITS`]; on every exit (`return`,
//! tail call, falling off the end, or a branch out of the body) it subtracts them again. The
//! counter is exported as [`DEPTH_EXPORT`] so the runtime can tell this trap from a user's
//! `unreachable`: only this one leaves the counter above the limit.

use crate::error::DeployError;
use crate::profile::MAX_CALL_DEPTH_UNITS;
use crate::validate::{DEPTH_EXPORT, ModuleInfo};
use wasm_encoder::reencode::{Error, Reencode, utils};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, ExportKind, ExportSection, GlobalSection, GlobalType, Instruction,
    Module, SectionId, TypeSection, ValType,
};
use wasmparser::{FunctionBody, Operator};

/// Bumped whenever the rewriting changes, so precompiled caches keyed on it are invalidated.
pub const INSTRUMENTATION_VERSION: u32 = 1;

/// Returns the instrumented module.
pub fn instrument(wasm: &[u8], info: &ModuleInfo) -> Result<Vec<u8>, DeployError> {
    let mut r = Instrumenter {
        info,
        depth_global: info.imported_globals + info.defined_globals,
        next_defined: 0,
        block_types: Vec::new(),
        globals_done: false,
        exports_done: false,
    };
    let mut module = Module::new();
    r.parse_core_module(&mut module, wasmparser::Parser::new(0), wasm)
        .map_err(|e| DeployError::Compile(format!("instrumentation failed: {e}")))?;
    Ok(module.finish())
}

struct Instrumenter<'a> {
    info: &'a ModuleInfo,
    depth_global: u32,
    next_defined: usize,
    /// For each original type index with several results, the index of the added `[] -> results` type.
    block_types: Vec<(u32, u32)>,
    globals_done: bool,
    exports_done: bool,
}

// Position of a section in the binary's required order (ids are not in that order).
fn rank(id: SectionId) -> u8 {
    match id {
        SectionId::Custom => 0,
        SectionId::Type => 1,
        SectionId::Import => 2,
        SectionId::Function => 3,
        SectionId::Table => 4,
        SectionId::Memory => 5,
        SectionId::Tag => 6,
        SectionId::Global => 7,
        SectionId::Export => 8,
        SectionId::Start => 9,
        SectionId::Element => 10,
        SectionId::DataCount => 11,
        SectionId::Code => 12,
        SectionId::Data => 13,
    }
}

impl Instrumenter<'_> {
    fn add_depth_global(&mut self, globals: &mut GlobalSection) {
        globals.global(
            GlobalType { val_type: ValType::I32, mutable: true, shared: false },
            &ConstExpr::i32_const(0),
        );
        self.globals_done = true;
    }

    fn add_depth_export(&mut self, exports: &mut ExportSection) {
        exports.export(DEPTH_EXPORT, ExportKind::Global, self.depth_global);
        self.exports_done = true;
    }

    fn adjust(&self, f: &mut wasm_encoder::Function, units: i32, op: Instruction<'static>) {
        f.instruction(&Instruction::GlobalGet(self.depth_global));
        f.instruction(&Instruction::I32Const(units));
        f.instruction(&op);
        f.instruction(&Instruction::GlobalSet(self.depth_global));
    }
}

impl Reencode for Instrumenter<'_> {
    type Error = DeployError;

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_type_section(self, types, section)?;
        for (index, ty) in self.info.types.iter().enumerate() {
            if ty.results().len() > 1 {
                let results: Vec<ValType> =
                    ty.results().iter().map(|t| self.val_type(*t)).collect::<Result<_, _>>()?;
                let added = self.info.types.len() as u32 + self.block_types.len() as u32;
                types.ty().function([], results);
                self.block_types.push((index as u32, added));
            }
        }
        Ok(())
    }

    fn parse_global_section(
        &mut self,
        globals: &mut GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_global_section(self, globals, section)?;
        self.add_depth_global(globals);
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_export_section(self, exports, section)?;
        self.add_depth_export(exports);
        Ok(())
    }

    // Modules without a global or export section get ours where the section order wants it.
    fn intersperse_section_hook(
        &mut self,
        module: &mut Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), Error<Self::Error>> {
        let next = before.map_or(u8::MAX, rank);
        if !self.globals_done && next > rank(SectionId::Global) {
            let mut globals = GlobalSection::new();
            self.add_depth_global(&mut globals);
            module.section(&globals);
        }
        if !self.exports_done && next > rank(SectionId::Export) {
            let mut exports = ExportSection::new();
            self.add_depth_export(&mut exports);
            module.section(&exports);
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        func: FunctionBody<'_>,
    ) -> Result<(), Error<Self::Error>> {
        let index = self.next_defined;
        self.next_defined += 1;
        let units = self.info.frame_units[index] as i32;
        let type_index = self.info.defined_func_types[index];
        let results = self.info.types[type_index as usize].results();
        let block = match results {
            [] => BlockType::Empty,
            [t] => BlockType::Result(self.val_type(*t)?),
            _ => BlockType::FunctionType(
                self.block_types
                    .iter()
                    .find(|(orig, _)| *orig == type_index)
                    .map(|(_, added)| *added)
                    .ok_or(Error::UserError(DeployError::Compile(
                        "missing block type for multi-value result".into(),
                    )))?,
            ),
        };

        let mut f = self.new_function_with_parsed_locals(&func)?;
        self.adjust(&mut f, units, Instruction::I32Add);
        f.instruction(&Instruction::GlobalGet(self.depth_global));
        f.instruction(&Instruction::I32Const(MAX_CALL_DEPTH_UNITS as i32));
        f.instruction(&Instruction::I32GtU);
        f.instruction(&Instruction::If(BlockType::Empty));
        f.instruction(&Instruction::Unreachable);
        f.instruction(&Instruction::End);
        // Branches that targeted the function body now target this block, so they exit through
        // the decrement below like a fall-through does.
        f.instruction(&Instruction::Block(block));
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            let last = reader.eof();
            match op {
                Operator::Return | Operator::ReturnCall { .. } | Operator::ReturnCallIndirect { .. } => {
                    self.adjust(&mut f, units, Instruction::I32Sub);
                }
                Operator::End if last => {
                    f.instruction(&Instruction::End);
                    self.adjust(&mut f, units, Instruction::I32Sub);
                }
                _ => {}
            }
            f.instruction(&self.instruction(op)?);
        }
        code.function(&f);
        Ok(())
    }
}
