//! Fuel charged for WASI host calls: a base cost, a cost per byte moved and one per storage
//! access.
//!
//! One unit of fuel is roughly one WebAssembly operator. The bytes counted are the data read or
//! written (file and stream contents, paths, names, arguments, random bytes, directory entries,
//! poll records); fixed-size result records (stat, fdstat, counts) are covered by the base cost.

/// Fuel charged for every WASI call.
pub const HOST_CALL_BASE: u64 = 50;
/// Fuel charged per byte a call moves.
pub const PER_BYTE: u64 = 1;
/// Fuel charged per storage access (`get`, `set`, `delete`, `next`) a WASI call makes: path
/// walks, directory scans and freeing files do work that their bytes alone do not show.
pub const PER_STORAGE_OP: u64 = 25;

/// Fuel of a WASI call that moved `bytes` and made `storage_ops` storage accesses.
pub fn cost(bytes: u64, storage_ops: u64) -> u64 {
    HOST_CALL_BASE
        .saturating_add(PER_BYTE.saturating_mul(bytes))
        .saturating_add(PER_STORAGE_OP.saturating_mul(storage_ops))
}

/// Charges `HOST_CALL_BASE + PER_BYTE * bytes`; traps with [`wasmtime::Trap::OutOfFuel`] (and
/// leaves no fuel) when the store has less than that.
///
/// Fails too when fuel metering is off in the store's engine: consensus execution always meters.
pub fn charge<T: 'static>(caller: &mut wasmtime::Caller<'_, T>, bytes: u64) -> wasmtime::Result<()> {
    charge_fuel(caller, cost(bytes, 0))
}

/// Takes `fuel` from the store, or all of it and traps when there is less.
pub(crate) fn charge_fuel<T: 'static>(
    caller: &mut wasmtime::Caller<'_, T>,
    fuel: u64,
) -> wasmtime::Result<()> {
    let left = caller.get_fuel()?;
    match left.checked_sub(fuel) {
        Some(left) => caller.set_fuel(left),
        None => {
            caller.set_fuel(0)?;
            Err(wasmtime::Trap::OutOfFuel.into())
        }
    }
}
