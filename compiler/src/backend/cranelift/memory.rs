//! Memory and host interaction in generated code: array extents, bounds-checked
//! element loads and stores through an `ArrayDesc` pointer, constant tables in
//! read-only data, and `print!` through the host hook.
//!
//! Descriptor fields are loaded read-only and movable (the descriptor never changes
//! during a call), so Cranelift may hoist and share them across a loop; failed
//! bounds checks branch to cold blocks. A stride the function declares
//! ([`FixedStride`](crate::ir::FixedStride)) is that constant instead of a field,
//! and an element's address is a base, the data pointer plus the sum of its
//! run-time terms, with the constant terms (constant indices along fixed
//! strides) in the access's immediate offset: `a[i][2][3]` of a C-contiguous
//! `8x8` core is one load at `[base + 152]`, `base = data + i * s0 * 8`. A base
//! is computed once per block and reused by the block's later accesses with the
//! same run-time terms (the descriptor and the IR's values do not change), so
//! an unrolled body addresses every element of a sub-array from one register.
//!
//! A sub-view argument (`Arg::SubView`) is a fresh descriptor in a stack slot of
//! the caller, written before the call and only read by the callee, for which it
//! is as constant as any other.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, Block, InstBuilder, InstructionData, MemFlagsData, Opcode, StackSlotData, StackSlotKind,
    Value, ValueDef,
};
use cranelift_module::Module;

use super::abi::{trap_code, PrintSite};
use super::lower::{clif_type, Lowerer, POINTER};
use super::BackendError;
use crate::diagnostics::Span;
use crate::ir::{
    ArrayDesc, ConstTableId, FormatPiece, LocalId, ScalarType, Type, ValueId, MAX_RANK,
};

/// What identifies an element address's base within a block: the block, the
/// array and the axes with a run-time term, each with its index.
pub(super) type BaseKey = (Block, LocalId, Vec<(usize, ValueId)>);

/// Flags for `ArrayDesc` fields: valid, aligned, unchanged during the call.
fn descriptor_flags() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

impl<M: Module> Lowerer<'_, '_, M> {
    fn array_local(&mut self, array: LocalId) -> Result<(Value, ScalarType, usize), BackendError> {
        let local = self
            .func
            .locals
            .get(array.0 as usize)
            .ok_or_else(|| self.error(format!("unknown local l{}", array.0)))?;
        let Type::Array(ty) = local.ty else {
            return Err(self.error(format!("local `{}` is not an array", local.name)));
        };
        let var = self.var(array)?;
        Ok((self.b.use_var(var), ty.elem, ty.rank as usize))
    }

    fn descriptor_field(&mut self, desc: Value, offset: i32) -> Value {
        self.b
            .ins()
            .load(types::I64, descriptor_flags(), desc, offset)
    }

    pub fn array_stride(&mut self, array: LocalId, axis: u8) -> Result<Value, BackendError> {
        let (desc, _, rank) = self.array_local(array)?;
        if axis as usize >= rank {
            return Err(self.error(format!("axis {axis} of a rank-{rank} array")));
        }
        Ok(self.descriptor_field(desc, ArrayDesc::STRIDES_OFFSET + 8 * axis as i32))
    }

    /// The value of `v` when it is an integer constant.
    pub(super) fn constant_of(&self, v: Value) -> Option<i64> {
        let ValueDef::Result(inst, _) = self.b.func.dfg.value_def(v) else {
            return None;
        };
        match self.b.func.dfg.insts[inst] {
            InstructionData::UnaryImm {
                opcode: Opcode::Iconst,
                imm,
            } => Some(imm.bits()),
            _ => None,
        }
    }

    pub fn array_len(&mut self, array: LocalId, axis: u8) -> Result<Value, BackendError> {
        let (desc, _, rank) = self.array_local(array)?;
        if axis as usize >= rank {
            return Err(self.error(format!("axis {axis} of a rank-{rank} array")));
        }
        Ok(self.descriptor_field(desc, ArrayDesc::SHAPE_OFFSET + 8 * axis as i32))
    }

    /// Address of the element at `indices`, bounds-checked per axis when `checked`.
    pub(super) fn element_address(
        &mut self,
        array: LocalId,
        indices: &[ValueId],
        checked: bool,
        span: Span,
    ) -> Result<(Value, ScalarType), BackendError> {
        let (base, offset, elem) = self.element_place(array, indices, checked, span)?;
        Ok(match offset {
            0 => (base, elem),
            offset => (self.b.ins().iadd_imm_s(base, i64::from(offset)), elem),
        })
    }

    /// The element at `indices` as [`Self::element_address`] finds it, as a base
    /// and a byte offset to add to it (a load's or store's immediate).
    pub(super) fn element_place(
        &mut self,
        array: LocalId,
        indices: &[ValueId],
        checked: bool,
        span: Span,
    ) -> Result<(Value, i32, ScalarType), BackendError> {
        let (desc, elem, rank) = self.array_local(array)?;
        if indices.len() != rank || rank > MAX_RANK {
            return Err(self.error(format!("{} indices for a rank-{rank} array", indices.len())));
        }
        let site = checked.then(|| self.unit.tables.traps.add(span, None));
        // In elements: the constant terms' sum (wrapping, as the run-time
        // arithmetic) and the axes with a run-time term.
        let mut constant = 0i64;
        let mut dynamic = Vec::with_capacity(indices.len());
        for (axis, &index) in indices.iter().enumerate() {
            let value = self.value(index)?;
            if let Some(site) = site {
                let len = self.descriptor_field(desc, ArrayDesc::SHAPE_OFFSET + 8 * axis as i32);
                // Unsigned: a "negative" usize is huge and fails the check too.
                let ok = self.b.ins().icmp(IntCC::UnsignedLessThan, value, len);
                self.trap_unless(ok, trap_code::INDEX_OUT_OF_BOUNDS, site, Some([value, len]));
            }
            match (self.func.fixed_stride(array, axis), self.constant_of(value)) {
                // Index 0 adds nothing, whatever the stride.
                (_, Some(0)) => {}
                (Some(stride), Some(i)) => constant = constant.wrapping_add(i.wrapping_mul(stride)),
                _ => dynamic.push((axis, index)),
            }
        }
        let block = self.b.current_block().expect("lowering fills a block");
        let key = (block, array, dynamic);
        let mut address = match self.bases.get(&key) {
            Some(&base) => base,
            None => {
                let base = self.base_address(desc, array, elem, &key.2)?;
                self.bases.insert(key, base);
                base
            }
        };
        let bytes = constant.wrapping_shl(elem.size_bytes().trailing_zeros());
        let immediate = i32::try_from(bytes).unwrap_or_else(|_| {
            address = self.b.ins().iadd_imm_s(address, bytes);
            0
        });
        Ok((address, immediate, elem))
    }

    /// The data pointer of `desc` (array `array`) plus the run-time terms of
    /// the axes `dynamic`, each its index times the stride, in bytes.
    fn base_address(
        &mut self,
        desc: Value,
        array: LocalId,
        elem: ScalarType,
        dynamic: &[(usize, ValueId)],
    ) -> Result<Value, BackendError> {
        let mut offset: Option<Value> = None;
        for &(axis, index) in dynamic {
            let index = self.value(index)?;
            let term = match self.func.fixed_stride(array, axis) {
                Some(1) => index,
                Some(stride) => self.b.ins().imul_imm_s(index, stride),
                None => {
                    let stride =
                        self.descriptor_field(desc, ArrayDesc::STRIDES_OFFSET + 8 * axis as i32);
                    self.b.ins().imul(index, stride)
                }
            };
            offset = Some(match offset {
                Some(sum) => self.b.ins().iadd(sum, term),
                None => term,
            });
        }
        let data = self.descriptor_field(desc, 0);
        Ok(match offset {
            Some(elements) => {
                let shift = elem.size_bytes().trailing_zeros() as i64;
                let bytes = self.b.ins().ishl_imm_u(elements, shift);
                self.b.ins().iadd(data, bytes)
            }
            None => data,
        })
    }

    /// The address of a new descriptor for the view of `array` at `index` along
    /// axis 0 (the IR's `Arg::SubView`; the index is in range by contract).
    pub fn sub_view(&mut self, array: LocalId, index: ValueId) -> Result<Value, BackendError> {
        let (desc, elem, rank) = self.array_local(array)?;
        if rank < 2 {
            return Err(self.error(format!("sub-view of a rank-{rank} array")));
        }
        let index = self.value(index)?;
        let size = std::mem::size_of::<ArrayDesc>() as u32;
        let slot = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            size,
            3,
        ));
        let stride = self.descriptor_field(desc, ArrayDesc::STRIDES_OFFSET);
        let elements = self.b.ins().imul(index, stride);
        let shift = elem.size_bytes().trailing_zeros() as i64;
        let bytes = self.b.ins().ishl_imm_u(elements, shift);
        let data = self.descriptor_field(desc, 0);
        let data = self.b.ins().iadd(data, bytes);
        self.b.ins().stack_store(POINTER, data, slot, 0);
        // Axes 1.. become axes 0..; the slot's unused tail is never read.
        for axis in 0..rank as i32 - 1 {
            for base in [ArrayDesc::SHAPE_OFFSET, ArrayDesc::STRIDES_OFFSET] {
                let field = self.descriptor_field(desc, base + 8 * (axis + 1));
                self.b
                    .ins()
                    .stack_store(types::I64, field, slot, base + 8 * axis);
            }
        }
        Ok(self.b.ins().stack_addr(POINTER, slot, 0))
    }

    pub fn load(
        &mut self,
        array: LocalId,
        indices: &[ValueId],
        checked: bool,
        span: Span,
    ) -> Result<Value, BackendError> {
        let (address, offset, elem) = self.element_place(array, indices, checked, span)?;
        Ok(self
            .b
            .ins()
            .load(clif_type(elem), MemFlagsData::trusted(), address, offset))
    }

    pub fn store(
        &mut self,
        array: LocalId,
        indices: &[ValueId],
        value: ValueId,
        checked: bool,
        span: Span,
    ) -> Result<(), BackendError> {
        let v = self.value(value)?;
        let (address, offset, _) = self.element_place(array, indices, checked, span)?;
        self.b
            .ins()
            .store(MemFlagsData::trusted(), v, address, offset);
        Ok(())
    }

    pub fn load_const(
        &mut self,
        table: ConstTableId,
        index: ValueId,
        span: Span,
    ) -> Result<Value, BackendError> {
        let (elem, len) = match self.program.const_tables.get(table.0 as usize) {
            Some(t) => (t.elem, t.values.len() as i64),
            None => return Err(self.error(format!("unknown constant table {}", table.0))),
        };
        let gv = self.const_table_global(table)?;
        let index = self.value(index)?;
        let site = self.unit.tables.traps.add(span, None);
        let ok = self.b.ins().icmp_imm_u(IntCC::UnsignedLessThan, index, len);
        let len = self.b.ins().iconst(types::I64, len);
        self.trap_unless(ok, trap_code::INDEX_OUT_OF_BOUNDS, site, Some([index, len]));
        let base = self.b.ins().symbol_value(POINTER, gv);
        let shift = elem.size_bytes().trailing_zeros() as i64;
        let bytes = self.b.ins().ishl_imm_u(index, shift);
        let address = self.b.ins().iadd(base, bytes);
        let flags = MemFlagsData::trusted().with_readonly();
        Ok(self.b.ins().load(clif_type(elem), flags, address, 0))
    }

    /// Stores each argument into its own 8-byte slot of a stack buffer (the low
    /// bytes hold the value's bits; the hook reads them with `ScalarValue::from_bits`,
    /// which ignores the rest — little-endian hosts only) and calls the hook.
    pub fn print(
        &mut self,
        pieces: &[FormatPiece],
        args: &[ValueId],
        newline: bool,
    ) -> Result<(), BackendError> {
        let arg_types = args
            .iter()
            .map(|a| self.value_type(*a))
            .collect::<Result<Vec<_>, _>>()?;
        let values = args
            .iter()
            .map(|a| self.value(*a))
            .collect::<Result<Vec<_>, _>>()?;
        let site = self.unit.tables.add_print(PrintSite {
            pieces: pieces.to_vec(),
            arg_types,
            newline,
        });
        let buffer = if values.is_empty() {
            self.b.ins().iconst(POINTER, 0)
        } else {
            let slot = self.b.create_sized_stack_slot(StackSlotData::new(
                StackSlotKind::ExplicitSlot,
                8 * values.len() as u32,
                3,
            ));
            for (i, v) in values.iter().enumerate() {
                self.b.ins().stack_store(POINTER, *v, slot, 8 * i as i32);
            }
            self.b.ins().stack_addr(POINTER, slot, 0)
        };
        let hook = self.print_hook_ref();
        let site = self.b.ins().iconst(types::I32, site as i64);
        let ctx = self.ctx;
        self.b.ins().call(hook, &[ctx, site, buffer]);
        Ok(())
    }
}
