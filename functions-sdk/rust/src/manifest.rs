//! The `nexus.manifest` records the SDK embeds: [`crate::limits!`] here; the entry-point attributes
//! emit the ABI version and trigger records themselves.

/// Declares the resource limits the function asks for; the chain caps each at its own maximum.
///
/// Keys (each optional, each a `u64` constant expression): `fuel` per invocation, `memory` in
/// bytes of linear memory, `storage` in bytes of key-value plus file storage. Use it once per
/// function, at module level; two different limit declarations make deploy fail.
///
/// ```
/// nexus_sdk::limits!(fuel = 50_000_000, memory = 16 << 20, storage = 1 << 20);
/// ```
#[macro_export]
macro_rules! limits {
    ($($key:ident = $value:expr),+ $(,)?) => {
        const _: () = {
            const RECORD: $crate::__private::LimitsRecord =
                $crate::__private::LimitsRecord::new()$(.$key($value))+;
            #[cfg_attr(target_arch = "wasm32", unsafe(link_section = "nexus.manifest"))]
            #[used]
            static LIMITS: [u8; RECORD.len()] = RECORD.bytes();
        };
    };
}

/// Builds a limits record at compile time, for [`crate::limits!`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct LimitsRecord {
    fuel: Option<u64>,
    memory: Option<u64>,
    storage: Option<u64>,
}

impl LimitsRecord {
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self { fuel: None, memory: None, storage: None }
    }

    pub const fn fuel(mut self, v: u64) -> Self {
        self.fuel = Some(v);
        self
    }

    pub const fn memory(mut self, v: u64) -> Self {
        self.memory = Some(v);
        self
    }

    pub const fn storage(mut self, v: u64) -> Self {
        self.storage = Some(v);
        self
    }

    const fn fields(&self) -> [Option<u64>; 3] {
        [self.fuel, self.memory, self.storage]
    }

    /// Record length: tag, u32 length, then each field as an `Option<u64>` in the shared codec.
    #[allow(clippy::len_without_is_empty)]
    pub const fn len(&self) -> usize {
        let f = self.fields();
        let mut n = 5;
        let mut i = 0;
        while i < f.len() {
            n += if f[i].is_some() { 9 } else { 1 };
            i += 1;
        }
        n
    }

    /// The record bytes; `N` must be [`Self::len`].
    pub const fn bytes<const N: usize>(&self) -> [u8; N] {
        assert!(N == self.len(), "limits record length mismatch");
        let mut out = [0u8; N];
        // Tag 5 = limits (nexus_types::manifest); the payload length follows as u32 LE.
        out[0] = 5;
        let payload = ((N - 5) as u32).to_le_bytes();
        let mut p = 1;
        let mut i = 0;
        while i < 4 {
            out[p] = payload[i];
            p += 1;
            i += 1;
        }
        let f = self.fields();
        let mut j = 0;
        while j < f.len() {
            if let Some(v) = f[j] {
                out[p] = 1;
                p += 1;
                let le = v.to_le_bytes();
                let mut k = 0;
                while k < 8 {
                    out[p] = le[k];
                    p += 1;
                    k += 1;
                }
            } else {
                p += 1;
            }
            j += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::LimitsRecord;
    use nexus_types::{Limits, Manifest};

    #[test]
    fn compile_time_limits_record_matches_the_shared_encoding() {
        const R: LimitsRecord = LimitsRecord::new().fuel(7).storage(1 << 40);
        const B: [u8; R.len()] = R.bytes();
        let want = Limits { fuel: Some(7), memory_bytes: None, storage_bytes: Some(1 << 40) };
        assert_eq!(B.to_vec(), Manifest::limits_record(&want));
        assert_eq!(Manifest::parse(&B).unwrap().limits, want);
        const ALL: LimitsRecord = LimitsRecord::new().memory(65536).fuel(1).storage(2);
        let all: [u8; ALL.len()] = ALL.bytes();
        let want = Limits { fuel: Some(1), memory_bytes: Some(65536), storage_bytes: Some(2) };
        assert_eq!(all.to_vec(), Manifest::limits_record(&want));
    }
}
