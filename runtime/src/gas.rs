//! What execution costs: the per-operator fuel table and the fixed cost of an invocation.
//!
//! The table is consensus. Every operator's cost is set here explicitly rather than taken from
//! wasmtime's defaults, so an engine upgrade cannot silently change what a function pays.

use wasmtime::{OperatorCost, VariableOperatorCost};

/// Fuel charged before an invocation starts: store setup, instantiation and the entry call.
pub const INVOCATION_BASE: u64 = 5_000;

/// Fuel per page (64 KiB) a module's initial memory occupies; charged at instantiation, because
/// zero-filling or copying in a fresh memory is work the operator table never sees.
pub const INITIAL_MEMORY_PER_PAGE: u64 = 64;

/// Fuel cost of one operator, by its wasmparser name.
///
/// Anything not named costs 1: about one machine instruction's worth of work.
fn operator_cost(name: &str) -> u8 {
    match name {
        // Structure only; these generate no code.
        "Nop" | "Drop" | "Block" | "Loop" | "Else" | "End" | "Unreachable" => 0,
        // Calls set up a frame and may spill registers.
        "Call" | "ReturnCall" => 5,
        "CallIndirect" | "ReturnCallIndirect" => 8,
        // Division is an order of magnitude slower than addition on current CPUs.
        "I32DivS" | "I32DivU" | "I32RemS" | "I32RemU" | "I64DivS" | "I64DivU" | "I64RemS" | "I64RemU"
        | "F32Div" | "F64Div" | "F32Sqrt" | "F64Sqrt" => 4,
        // Plus a per-page / per-byte / per-element charge from the variable table below.
        "MemoryGrow" | "TableGrow" => 100,
        "MemoryCopy" | "MemoryFill" | "MemoryInit" | "TableCopy" | "TableFill" | "TableInit" => 5,
        _ => 1,
    }
}

macro_rules! set_every_operator {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// The explicit fuel table used by the engine profile.
        pub fn operator_costs() -> OperatorCost {
            let mut c = OperatorCost::new();
            $( c.$op = operator_cost(stringify!($op)); )*
            c.variable = VariableOperatorCost {
                memory_copy_per_byte: 1,
                memory_fill_per_byte: 1,
                memory_init_per_byte: 1,
                // The largest a u8 allows: growing a page commits and zeroes 64 KiB.
                memory_grow_per_page: 255,
                table_copy_per_element: 1,
                table_fill_per_element: 1,
                table_init_per_element: 1,
                table_grow_per_element: 1,
                // GC is off in the profile; these are unreachable but set for completeness.
                array_copy_per_element: 1,
                array_fill_per_element: 1,
                array_new_data_per_element: 1,
                array_init_data_per_element: 1,
                array_new_elem_per_element: 1,
                array_init_elem_per_element: 1,
                array_new_default_per_element: 1,
                array_new_per_element: 1,
            };
            c
        }
    };
}
wasmparser::for_each_operator!(set_every_operator);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_prices_what_it_says() {
        let c = operator_costs();
        assert_eq!(c.I32Add, 1);
        assert_eq!(c.Nop, 0);
        assert_eq!(c.I64DivU, 4);
        assert_eq!(c.Call, 5);
        assert_eq!(c.variable.memory_grow_per_page, 255);
    }
}
