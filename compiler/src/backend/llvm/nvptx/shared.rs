//! A `#[kernel]`'s shared arrays (`SpmdInst::SharedArray`) as PTX `.shared`
//! memory: one module global in address space 3 per array, bound to the array
//! local as a rank-1 descriptor (`len` elements, stride 1) for the whole kernel
//! body, so `Load`/`Store`/`ArrayLen` and atomics treat it like any array and
//! bounds-check against `len`.
//!
//! The IR promises zeroed memory, fresh for each block; the GPU leaves shared
//! memory as the previous block left it. So a kernel that declares shared arrays
//! starts with its block's threads zeroing them cooperatively (thread `t` of `n`
//! clears elements `t, t + n, ..`), then a barrier. Kernels without shared arrays
//! pay nothing. The static total is limited to 48 KiB, what every CUDA GPU gives
//! a block without opting in to more; beyond is a compile-time error at the
//! declaration that crosses it.
//!
//! It knows the IR's declaration and the descriptor form; instruction lowering is
//! `lower`'s, the barrier `spmd`'s.

use inkwell::module::Linkage;
use inkwell::types::BasicType;
use inkwell::values::GlobalValue;
use inkwell::{AddressSpace, IntPredicate};

use super::spmd::{barrier, special_register};
use crate::backend::llvm::lower::{ArrayValue, Lowerer, Unit};
use crate::backend::llvm::types::memory_type;
use crate::backend::llvm::LlvmError;
use crate::diagnostics::Span;
use crate::ir::spmd::SpmdInst;
use crate::ir::{self, Block, InstKind, LocalId, ScalarType, Type};

/// PTX's shared address space.
const SHARED: u16 = 3;

/// Static shared memory a block may use without opting in to more (every CUDA
/// GPU since compute capability 2.0).
pub(super) const MAX_STATIC_SHARED_BYTES: u64 = 48 * 1024;

/// One shared array of a kernel: the local it binds and its global.
pub(super) struct SharedArray<'ctx> {
    pub local: LocalId,
    pub global: GlobalValue<'ctx>,
    pub elem: ScalarType,
    pub len: u64,
}

/// `(local, len, span)` of every `SharedArray` in `block`, in program order.
fn declarations(block: &Block, out: &mut Vec<(LocalId, u64, Span)>) {
    out.extend(block.insts_deep().filter_map(|inst| match inst.kind {
        InstKind::Spmd(SpmdInst::SharedArray { array, len }) => Some((array, len, inst.span)),
        _ => None,
    }));
}

/// Declares the shared globals of kernel `func` (entry `kernel_name`), after
/// checking the 48 KiB limit.
pub(super) fn declare_shared_arrays<'ctx>(
    unit: &Unit<'ctx>,
    func: &ir::Function,
    kernel_name: &str,
) -> Result<Vec<SharedArray<'ctx>>, LlvmError> {
    let mut found = Vec::new();
    declarations(&func.body, &mut found);
    let mut total: u64 = 0;
    let mut arrays = Vec::with_capacity(found.len());
    for (local, len, span) in found {
        let name = &func.local(local).name;
        let elem = match func.local(local).ty {
            Type::Array(a) if a.rank == 1 => a.elem,
            _ => {
                return Err(LlvmError::Invalid {
                    function: func.name.clone(),
                    message: format!("the shared array `{name}` is not a rank-1 array local"),
                })
            }
        };
        if arrays.iter().any(|a: &SharedArray| a.local == local) {
            return Err(LlvmError::Invalid {
                function: func.name.clone(),
                message: format!("the shared array `{name}` is declared twice"),
            });
        }
        let bytes = len.saturating_mul(elem.size_bytes() as u64);
        total = total.saturating_add(bytes);
        if total > MAX_STATIC_SHARED_BYTES {
            return Err(LlvmError::Unsupported {
                function: func.name.clone(),
                construct: format!(
                    "the shared array `{name}` ({len} × {elem}, {bytes} bytes), which brings the kernel's shared memory to {total} bytes (a block has at most {MAX_STATIC_SHARED_BYTES}, 48 KiB)"
                ),
                span,
            });
        }
        let array_ty = memory_type(unit.cx, elem).array_type(len as u32);
        // `$` never occurs in a name `kernels::ptx_identifier` makes: no clash.
        let global_name = format!("{kernel_name}$shared{}", local.0);
        let global =
            unit.module
                .add_global(array_ty, Some(AddressSpace::from(SHARED)), &global_name);
        // Shared memory cannot be initialised by the loader: undef, zeroed at entry.
        global.set_initializer(&array_ty.get_undef());
        global.set_linkage(Linkage::Internal);
        global.set_alignment(elem.size_bytes().max(1) as u32);
        arrays.push(SharedArray {
            local,
            global,
            elem,
            len,
        });
    }
    Ok(arrays)
}

impl<'ctx> Lowerer<'ctx, '_> {
    /// Binds each shared array to its local and zeroes them all (see the module
    /// docs); nothing when there are none.
    pub(super) fn bind_shared_arrays(
        &mut self,
        arrays: &[SharedArray<'ctx>],
    ) -> Result<(), LlvmError> {
        if arrays.is_empty() {
            return Ok(());
        }
        let i64t = self.cx.i64_type();
        let mut bases = Vec::with_capacity(arrays.len());
        for a in arrays {
            // The array global's address is its element 0's.
            let data = a.global.as_pointer_value();
            self.bind_array(
                a.local,
                ArrayValue {
                    data,
                    shape: vec![i64t.const_int(a.len, false)],
                    strides: vec![i64t.const_int(1, false)],
                },
            )?;
            bases.push(data);
        }
        let register = |l: &Self, name: &str| special_register(l.unit, &l.b, name);
        let (tx, ty, tz) = (
            register(self, "tid.x")?,
            register(self, "tid.y")?,
            register(self, "tid.z")?,
        );
        let (nx, ny, nz) = (
            register(self, "ntid.x")?,
            register(self, "ntid.y")?,
            register(self, "ntid.z")?,
        );
        // Flat thread index `tx + nx * (ty + ny * tz)` and the block's thread
        // count: at most 1024 each, no overflow.
        let row = self.b.build_int_nuw_mul(ny, tz, "")?;
        let row = self.b.build_int_nuw_add(ty, row, "")?;
        let row = self.b.build_int_nuw_mul(nx, row, "")?;
        let first = self.b.build_int_nuw_add(tx, row, "flat_thread")?;
        let threads = self.b.build_int_nuw_mul(nx, ny, "")?;
        let threads = self.b.build_int_nuw_mul(threads, nz, "block_threads")?;
        for (a, data) in arrays.iter().zip(bases) {
            let len = i64t.const_int(a.len, false);
            let before = self
                .b
                .get_insert_block()
                .ok_or_else(|| self.invalid("the builder has no block"))?;
            let (clear, done) = (self.basic_block("zero_shared"), self.basic_block("zeroed"));
            let any = self
                .b
                .build_int_compare(IntPredicate::ULT, first, len, "")?;
            self.b.build_conditional_branch(any, clear, done)?;
            self.b.position_at_end(clear);
            let i = self.b.build_phi(i64t, "i")?;
            i.add_incoming(&[(&first, before)]);
            let i_value = i.as_basic_value().into_int_value();
            // SAFETY (LLVM): `i < len` on every path into this block.
            let elem = memory_type(self.cx, a.elem);
            let slot = unsafe { self.b.build_in_bounds_gep(elem, data, &[i_value], "")? };
            let store = self.b.build_store(slot, elem.const_zero())?;
            let _ = store.set_alignment(a.elem.size_bytes().max(1) as u32);
            let next = self.b.build_int_nuw_add(i_value, threads, "")?;
            i.add_incoming(&[(&next, clear)]);
            let more = self.b.build_int_compare(IntPredicate::ULT, next, len, "")?;
            self.b.build_conditional_branch(more, clear, done)?;
            self.b.position_at_end(done);
        }
        // No thread reads a shared array before every thread has cleared its part.
        barrier(self.unit, &self.b)
    }
}
