//! The device trap record: how a GPU thread reports a kern trap to the host.
//!
//! Every kernel takes a pointer to one [`TrapRecord`] in global memory, zeroed by
//! the host before the launch. A trapping thread does
//! `atomicCAS(&record.code, 0, code)`; only the thread that swapped the 0 writes
//! `site` and `payload`, so the record describes exactly one trap — the first to
//! reach the CAS. The host reads it after the launch completes and turns it into an
//! [`ir::Trap`] with [`decode`]. This file knows the layout and the codes, not how
//! code that writes them is generated.
//!
//! Layout (24 bytes, C layout, little-endian, 8-byte aligned):
//!
//! | offset | field        | type     | meaning                                   |
//! |--------|--------------|----------|-------------------------------------------|
//! | 0      | `code`       | `u32`    | 0 = no trap, else one of [`trap_code`]     |
//! | 4      | `site`       | `u32`    | index into [`super::PtxModule::trap_sites`] |
//! | 8      | `payload[0]` | `i64`    | `IndexOutOfBounds`: the index             |
//! | 16     | `payload[1]` | `i64`    | `IndexOutOfBounds`: the extent            |
//!
//! The codes are the Cranelift backend's (`backend::cranelift::abi::trap_code`),
//! so both backends describe a trap the same way.

use crate::diagnostics::Span;
use crate::ir;

/// Trap codes stored in [`TrapRecord::code`].
pub mod trap_code {
    pub const NONE: u32 = 0;
    pub const DIVISION_BY_ZERO: u32 = 1;
    pub const DIVISION_OVERFLOW: u32 = 2;
    pub const INDEX_OUT_OF_BOUNDS: u32 = 3;
    pub const ASSERTION_FAILED: u32 = 4;
}

/// The device trap record (see the module docs for its layout).
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

/// A place in the source where a kernel can trap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrapSite {
    pub span: Span,
    /// The message of an `assert!` site.
    pub assertion: Option<String>,
}

/// The trap `record` describes, if any; `sites` are the module's trap sites.
pub fn decode(sites: &[TrapSite], record: &TrapRecord) -> Option<ir::Trap> {
    let site = sites.get(record.site as usize);
    let kind = match record.code {
        trap_code::NONE => return None,
        trap_code::DIVISION_BY_ZERO => ir::TrapKind::DivisionByZero,
        trap_code::DIVISION_OVERFLOW => ir::TrapKind::DivisionOverflow,
        trap_code::INDEX_OUT_OF_BOUNDS => ir::TrapKind::IndexOutOfBounds {
            index: record.payload[0],
            len: record.payload[1],
        },
        _ => ir::TrapKind::AssertionFailed(
            site.and_then(|s| s.assertion.clone()).unwrap_or_default(),
        ),
    };
    Some(ir::Trap {
        kind,
        span: site.map(|s| s.span).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cranelift::abi::trap_code as cranelift_code;

    #[test]
    fn the_record_layout_is_the_documented_one() {
        let record = TrapRecord::default();
        let base = &record as *const TrapRecord as usize;
        assert_eq!(&record.code as *const u32 as usize - base, 0);
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
    fn codes_are_the_cranelift_backends() {
        assert_eq!(
            trap_code::DIVISION_BY_ZERO,
            cranelift_code::DIVISION_BY_ZERO
        );
        assert_eq!(
            trap_code::DIVISION_OVERFLOW,
            cranelift_code::DIVISION_OVERFLOW
        );
        assert_eq!(
            trap_code::INDEX_OUT_OF_BOUNDS,
            cranelift_code::INDEX_OUT_OF_BOUNDS
        );
        assert_eq!(
            trap_code::ASSERTION_FAILED,
            cranelift_code::ASSERTION_FAILED
        );
    }

    #[test]
    fn a_record_decodes_to_the_trap_at_its_site() {
        let span = Span::new(crate::FileId(0), 4, 9);
        let sites = [
            TrapSite {
                span: Span::default(),
                assertion: None,
            },
            TrapSite {
                span,
                assertion: Some("x > 0".into()),
            },
        ];
        assert_eq!(decode(&sites, &TrapRecord::default()), None);
        let oob = TrapRecord {
            code: trap_code::INDEX_OUT_OF_BOUNDS,
            site: 1,
            payload: [7, 3],
        };
        assert_eq!(
            decode(&sites, &oob),
            Some(ir::Trap {
                kind: ir::TrapKind::IndexOutOfBounds { index: 7, len: 3 },
                span
            })
        );
        let assertion = TrapRecord {
            code: trap_code::ASSERTION_FAILED,
            site: 1,
            payload: [0, 0],
        };
        assert_eq!(
            decode(&sites, &assertion).map(|t| t.kind),
            Some(ir::TrapKind::AssertionFailed("x > 0".into()))
        );
    }
}
