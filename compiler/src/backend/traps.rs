//! How generated code reports a kern trap, for every code generator.
//!
//! A trap is three things: a **code** (which [`crate::ir::TrapKind`]), a **site**
//! (an index into the unit's [`TrapSite`] table: the source span, and an assertion's
//! message) and a **payload** (`IndexOutOfBounds`: the index and the extent). Every
//! backend writes them into a [`TrapRecord`] — the Cranelift backend into the first
//! 24 bytes of its call context, the NVPTX backend into a record in global memory
//! that the first trapping thread claims with a CAS — and the host turns the record
//! into an [`ir::Trap`] with [`decode`]. This file owns the codes, the layout and
//! the decoder; it must not know how code that writes them is generated.
//!
//! Layout (24 bytes, C layout, little-endian, 8-byte aligned):
//!
//! | offset | field        | type  | meaning                                  |
//! |--------|--------------|-------|------------------------------------------|
//! | 0      | `code`       | `u32` | 0 = no trap, else one of [`trap_code`]   |
//! | 4      | `site`       | `u32` | index into the unit's [`TrapSite`]s      |
//! | 8      | `payload[0]` | `i64` | `IndexOutOfBounds`: the index            |
//! | 16     | `payload[1]` | `i64` | `IndexOutOfBounds`: the extent           |

use crate::diagnostics::Span;
use crate::ir;

/// Trap codes stored in [`TrapRecord::code`]; 0 means "no trap".
pub mod trap_code {
    pub const NONE: u32 = 0;
    pub const DIVISION_BY_ZERO: u32 = 1;
    pub const DIVISION_OVERFLOW: u32 = 2;
    pub const INDEX_OUT_OF_BOUNDS: u32 = 3;
    pub const ASSERTION_FAILED: u32 = 4;
    /// Only CPU code can recurse (the GPU check refuses recursion).
    pub const RECURSION_LIMIT: u32 = 5;
    /// A call whose callee's frame would not fit on the thread's stack (CPU only).
    pub const STACK_OVERFLOW: u32 = 6;
    /// Not a trap: the optimized tier's elementwise loop leaves elements
    /// `payload[0]..payload[0] + payload[1]` of the call to the baseline's code
    /// of the same loop, and the rest after them to itself (the host runs both:
    /// `CompiledFunction`'s fallback). Never seen by a caller.
    pub const FALLBACK: u32 = 7;
}

/// A trap as generated code records it (see the module docs for its layout).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrapRecord {
    pub code: u32,
    pub site: u32,
    pub payload: [i64; 2],
}

impl TrapRecord {
    pub const CODE_OFFSET: u64 = 0;
    pub const SITE_OFFSET: u64 = 4;
    pub const PAYLOAD_OFFSET: u64 = 8;
    pub const SIZE: u64 = 24;
}

/// A place in the source where generated code can trap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrapSite {
    pub span: Span,
    /// The message of an `assert!` site.
    pub assertion: Option<String>,
}

/// The trap sites of one unit of generated code, indexed by [`TrapRecord::site`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrapSites(pub Vec<TrapSite>);

impl TrapSites {
    /// Records a site and returns the index generated code stores on a trap there.
    pub fn add(&mut self, span: Span, assertion: Option<String>) -> u32 {
        self.0.push(TrapSite { span, assertion });
        self.0.len() as u32 - 1
    }

    /// The trap `record` describes, if any.
    pub fn decode(&self, record: &TrapRecord) -> Option<ir::Trap> {
        let site = self.0.get(record.site as usize);
        let kind = match record.code {
            trap_code::NONE => return None,
            trap_code::DIVISION_BY_ZERO => ir::TrapKind::DivisionByZero,
            trap_code::DIVISION_OVERFLOW => ir::TrapKind::DivisionOverflow,
            trap_code::INDEX_OUT_OF_BOUNDS => ir::TrapKind::IndexOutOfBounds {
                index: record.payload[0],
                len: record.payload[1],
            },
            trap_code::RECURSION_LIMIT => ir::TrapKind::RecursionLimit,
            trap_code::STACK_OVERFLOW => ir::TrapKind::StackOverflow,
            trap_code::FALLBACK => ir::TrapKind::Host(
                "internal error: the optimized tier's code asked for a fallback it does not have"
                    .into(),
            ),
            _ => ir::TrapKind::AssertionFailed(
                site.and_then(|s| s.assertion.clone()).unwrap_or_default(),
            ),
        };
        Some(ir::Trap {
            kind,
            span: site.map(|s| s.span).unwrap_or_default(),
        })
    }
}

impl std::ops::Deref for TrapSites {
    type Target = [TrapSite];
    fn deref(&self) -> &[TrapSite] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_layout_is_the_documented_one() {
        let record = TrapRecord::default();
        let base = &record as *const TrapRecord as usize;
        assert_eq!(
            &record.code as *const u32 as usize - base,
            TrapRecord::CODE_OFFSET as usize
        );
        assert_eq!(
            &record.site as *const u32 as usize - base,
            TrapRecord::SITE_OFFSET as usize
        );
        assert_eq!(
            record.payload.as_ptr() as usize - base,
            TrapRecord::PAYLOAD_OFFSET as usize
        );
        assert_eq!(std::mem::size_of::<TrapRecord>(), TrapRecord::SIZE as usize);
    }

    #[test]
    fn a_record_decodes_to_the_trap_at_its_site() {
        let span = Span::new(crate::FileId(0), 4, 9);
        let mut sites = TrapSites::default();
        sites.add(Span::default(), None);
        let site = sites.add(span, Some("x > 0".into()));
        assert_eq!(sites.decode(&TrapRecord::default()), None);
        let decode = |code, payload| {
            sites.decode(&TrapRecord {
                code,
                site,
                payload,
            })
        };
        let oob = ir::TrapKind::IndexOutOfBounds { index: 7, len: 3 };
        assert_eq!(
            decode(trap_code::INDEX_OUT_OF_BOUNDS, [7, 3]),
            Some(ir::Trap { kind: oob, span })
        );
        assert_eq!(
            decode(trap_code::ASSERTION_FAILED, [0, 0]).map(|t| t.kind),
            Some(ir::TrapKind::AssertionFailed("x > 0".into()))
        );
        let recursion = ir::TrapKind::RecursionLimit;
        assert_eq!(
            decode(trap_code::RECURSION_LIMIT, [0, 0]),
            Some(ir::Trap {
                kind: recursion,
                span
            })
        );
    }
}
