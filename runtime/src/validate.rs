//! Deploy-time checks: one pass over the module that validates it against the profile's explicit
//! feature set and the host ABI, reads its manifest, and measures each function's frame.

use crate::error::DeployError;
use crate::profile::{self, MAX_MEMORY_BYTES, MAX_TABLE_ELEMENTS};
use nexus_types::abi::{HOST_FUNCTIONS, IMPORT_MODULE, MANIFEST_SECTION};
use nexus_types::{EntryPoint, Manifest};
use std::collections::BTreeSet;
use wasmparser::{
    ExternalKind, FuncType, FunctionBody, Parser, Payload, TypeRef, ValType, ValidPayload, Validator,
    WasmFeatures,
};

/// Import module of WASI preview 1.
pub const WASI_MODULE: &str = "wasi_snapshot_preview1";
/// The 46 functions of WASI preview 1, all provided by `nexus_wasi`.
pub const WASI_FUNCTIONS: [&str; 46] = [
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "sched_yield",
    "random_get",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];
/// Export the runtime adds to read its call-depth counter; user modules may not use it.
pub const DEPTH_EXPORT: &str = "__nexus_depth";

/// What the runtime learned about a valid module.
#[derive(Debug, Clone)]
pub struct ModuleInfo {
    /// The parsed `nexus.manifest` section (defaults when absent).
    pub manifest: Manifest,
    /// Entry points the module exports.
    pub entry_points: BTreeSet<EntryPoint>,
    /// Whether it exports `_initialize` (a WASI reactor), called before every entry point.
    pub has_initialize: bool,
    /// Initial linear memory in bytes.
    pub initial_memory_bytes: u64,
    pub(crate) types: Vec<FuncType>,
    pub(crate) defined_func_types: Vec<u32>,
    pub(crate) imported_globals: u32,
    pub(crate) defined_globals: u32,
    /// Call-depth units each defined function costs (see `instrument`).
    pub(crate) frame_units: Vec<u32>,
}

impl ModuleInfo {
    /// Whether this is a plain WASI command (`_start`) rather than a Nexus reactor.
    pub fn is_command(&self) -> bool {
        self.entry_points.contains(&EntryPoint::Start)
    }
}

fn malformed(e: &wasmparser::BinaryReaderError) -> DeployError {
    DeployError::Malformed { message: e.message().to_string(), offset: e.offset() }
}

/// Validates `wasm` against the deterministic profile and the host ABI.
pub fn analyze(wasm: &[u8]) -> Result<ModuleInfo, DeployError> {
    match analyze_with(wasm, profile::features()) {
        Err(DeployError::Malformed { message, offset }) => Err(explain_rejection(wasm, message, offset)),
        other => other,
    }
}

// The validator's message ("SIMD support is not enabled") rarely tells an author what to change, so
// find which profile-rejected feature would make the module valid and name it.
fn explain_rejection(wasm: &[u8], message: String, offset: usize) -> DeployError {
    for &(feature, name) in profile::REJECTED_FEATURES {
        let mut v = Validator::new_with_features(profile::features() | feature);
        if v.validate_all(wasm).is_ok() {
            return DeployError::FeatureNotAllowed { feature: name, offset };
        }
    }
    DeployError::Malformed { message, offset }
}

fn analyze_with(wasm: &[u8], features: WasmFeatures) -> Result<ModuleInfo, DeployError> {
    let mut validator = Validator::new_with_features(features);
    let mut info = ModuleInfo {
        manifest: Manifest::default(),
        entry_points: BTreeSet::new(),
        has_initialize: false,
        initial_memory_bytes: 0,
        types: Vec::new(),
        defined_func_types: Vec::new(),
        imported_globals: 0,
        defined_globals: 0,
        frame_units: Vec::new(),
    };
    let mut imported_funcs: Vec<u32> = Vec::new();
    let mut imports_host = false;
    let mut memory_exported = false;
    let mut manifest_bytes: Vec<u8> = Vec::new();
    let mut exports: Vec<(String, ExternalKind, u32)> = Vec::new();

    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| malformed(&e))?;
        let valid = validator.payload(&payload).map_err(|e| malformed(&e))?;
        match &payload {
            Payload::TypeSection(r) => {
                for ty in r.clone().into_iter_err_on_gc_types() {
                    info.types.push(ty.map_err(|e| malformed(&e))?);
                }
            }
            Payload::ImportSection(r) => {
                for imp in r.clone().into_imports() {
                    let imp = imp.map_err(|e| malformed(&e))?;
                    let TypeRef::Func(ty) = imp.ty else {
                        return Err(DeployError::UnknownImport {
                            module: imp.module.into(),
                            name: imp.name.into(),
                            detail: ": only functions can be imported (memories, tables and globals are the module's own)".into(),
                        });
                    };
                    check_import(imp.module, imp.name, &info.types[ty as usize])?;
                    imports_host = true;
                    imported_funcs.push(ty);
                }
            }
            Payload::FunctionSection(r) => {
                for ty in r.clone() {
                    info.defined_func_types.push(ty.map_err(|e| malformed(&e))?);
                }
            }
            Payload::MemorySection(r) => {
                for m in r.clone() {
                    let m = m.map_err(|e| malformed(&e))?;
                    let bytes = m.initial.saturating_mul(65536);
                    if bytes > MAX_MEMORY_BYTES {
                        return Err(DeployError::TooLarge {
                            what: "initial memory (bytes)",
                            requested: bytes,
                            limit: MAX_MEMORY_BYTES,
                        });
                    }
                    info.initial_memory_bytes = bytes;
                }
            }
            Payload::TableSection(r) => {
                for t in r.clone() {
                    let t = t.map_err(|e| malformed(&e))?;
                    if t.ty.initial > MAX_TABLE_ELEMENTS as u64 {
                        return Err(DeployError::TooLarge {
                            what: "initial table size (elements)",
                            requested: t.ty.initial,
                            limit: MAX_TABLE_ELEMENTS as u64,
                        });
                    }
                }
            }
            Payload::GlobalSection(r) => info.defined_globals = r.count(),
            Payload::ExportSection(r) => {
                for e in r.clone() {
                    let e = e.map_err(|e| malformed(&e))?;
                    exports.push((e.name.to_string(), e.kind, e.index));
                }
            }
            Payload::CustomSection(c) if c.name() == MANIFEST_SECTION => {
                manifest_bytes.extend_from_slice(c.data())
            }
            _ => {}
        }
        if let ValidPayload::Func(func, body) = valid {
            let mut fv = func.into_validator(Default::default());
            info.frame_units.push(frame_units(&mut fv, &body)?);
        }
    }

    let num_imported = imported_funcs.len();
    let func_type = |index: u32| -> Option<&FuncType> {
        let index = index as usize;
        let ty = if index < num_imported {
            imported_funcs[index]
        } else {
            *info.defined_func_types.get(index - num_imported)?
        };
        info.types.get(ty as usize)
    };
    let mut entry_points = BTreeSet::new();
    for (name, kind, index) in &exports {
        if name == DEPTH_EXPORT {
            return Err(DeployError::ReservedName(name.clone()));
        }
        if name == "memory" && *kind == ExternalKind::Memory {
            memory_exported = true;
        }
        let expected_results: &[ValType] = match name.as_str() {
            "on_task" => &[ValType::I32],
            "_initialize" => &[],
            n if EntryPoint::from_export_name(n).is_some() => &[],
            _ => continue,
        };
        let found = (*kind == ExternalKind::Func).then(|| func_type(*index)).flatten();
        match found {
            Some(ty) if ty.params().is_empty() && ty.results() == expected_results => {}
            _ => {
                return Err(DeployError::BadEntryPoint {
                    name: name.clone(),
                    expected: if expected_results.is_empty() { "() -> ()" } else { "() -> i32" },
                    found: found.map_or_else(|| format!("{kind:?}"), |t| t.to_string()),
                });
            }
        }
        match EntryPoint::from_export_name(name) {
            Some(e) => {
                entry_points.insert(e);
            }
            None => info.has_initialize = true,
        }
    }
    if entry_points.is_empty() {
        return Err(DeployError::NoEntryPoint);
    }
    if imports_host && !memory_exported {
        return Err(DeployError::NoMemoryExport);
    }
    info.entry_points = entry_points;
    info.manifest = Manifest::parse(&manifest_bytes)?;
    Ok(info)
}

fn check_import(module: &str, name: &str, ty: &FuncType) -> Result<(), DeployError> {
    let unknown =
        |detail: String| DeployError::UnknownImport { module: module.into(), name: name.into(), detail };
    match module {
        IMPORT_MODULE => {
            let Some((_, params, results)) = HOST_FUNCTIONS.iter().find(|(n, ..)| *n == name) else {
                return Err(unknown(": no such host function in ABI v1 (see functions-sdk/ABI.md)".into()));
            };
            let want_params: Vec<ValType> = params.chars().map(abi_type).collect();
            let want_results: Vec<ValType> = results.chars().map(abi_type).collect();
            if ty.params() != want_params || ty.results() != want_results {
                let want = FuncType::new(want_params, want_results);
                return Err(unknown(format!(" with type {ty}, but the host provides {want}")));
            }
            Ok(())
        }
        WASI_MODULE => {
            if WASI_FUNCTIONS.contains(&name) {
                Ok(())
            } else {
                Err(unknown(": not a wasi_snapshot_preview1 function".into()))
            }
        }
        _ => Err(unknown(format!(
            ": functions may only import from `{IMPORT_MODULE}` and `{WASI_MODULE}` (is this built for wasm32-wasip1?)"
        ))),
    }
}

fn abi_type(c: char) -> ValType {
    if c == 'I' { ValType::I64 } else { ValType::I32 }
}

/// Call-depth units a function costs: one, plus one per eight wasm values its frame may hold
/// (params, locals and the deepest operand stack), since those become Cranelift stack slots.
fn frame_units(
    fv: &mut wasmparser::FuncValidator<wasmparser::ValidatorResources>,
    body: &FunctionBody<'_>,
) -> Result<u32, DeployError> {
    let mut reader = body.get_binary_reader();
    fv.read_locals(&mut reader).map_err(|e| malformed(&e))?;
    let mut max_height = 0u32;
    while !reader.eof() {
        reader
            .visit_operator(&mut fv.visitor(reader.original_position()))
            .map_err(|e| malformed(&e))?
            .map_err(|e| malformed(&e))?;
        max_height = max_height.max(fv.operand_stack_height());
    }
    reader.finish_expression(&fv.visitor(reader.original_position())).map_err(|e| malformed(&e))?;
    let slots = u64::from(fv.len_locals()) + u64::from(max_height);
    Ok(u32::try_from(1 + slots / 8).unwrap_or(u32::MAX).min(profile::MAX_CALL_DEPTH_UNITS + 1))
}
