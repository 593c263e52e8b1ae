//! Fuel charged for WASI host calls: a base cost plus a cost per byte moved.
//!
//! One unit of fuel is roughly one WebAssembly operator. The bytes counted are the data read or
//! written (file and stream contents, paths, names, arguments, random bytes, directory entries,
//! poll records); fixed-size result records (stat, fdstat, counts) are covered by the base cost.

/// Fuel charged for every WASI call.
pub const HOST_CALL_BASE: u64 = 50;
/// Fuel charged per byte a call moves.
pub const PER_BYTE: u64 = 1;

/// Charges `HOST_CALL_BASE + PER_BYTE * bytes`; traps with [`wasmtime::Trap::OutOfFuel`] (and
/// leaves no fuel) when the store has less than that.
///
/// Fails too when fuel metering is off in the store's engine: consensus execution always meters.
pub fn charge<T: 'static>(caller: &mut wasmtime::Caller<'_, T>, bytes: u64) -> wasmtime::Result<()> {
    let cost = HOST_CALL_BASE.saturating_add(PER_BYTE.saturating_mul(bytes));
    let fuel = caller.get_fuel()?;
    match fuel.checked_sub(cost) {
        Some(left) => caller.set_fuel(left),
        None => {
            caller.set_fuel(0)?;
            Err(wasmtime::Trap::OutOfFuel.into())
        }
    }
}
