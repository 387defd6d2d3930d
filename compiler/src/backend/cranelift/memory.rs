//! Memory and host interaction in generated code: array extents, bounds-checked
//! element loads and stores through an `ArrayDesc` pointer, constant tables in
//! read-only data, and `print!` through the host hook.
//!
//! Descriptor fields are loaded read-only and movable (the descriptor never changes
//! during a call), so Cranelift may hoist and share them across a loop; failed
//! bounds checks branch to cold blocks. A sub-view argument (`Arg::SubView`) is a
//! fresh descriptor in a stack slot of the caller, written before the call and only
//! read by the callee, for which it is as constant as any other.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, Value,
};
use cranelift_module::Module;

use super::abi::{trap_code, PrintSite};
use super::lower::{clif_type, Lowerer, POINTER};
use super::BackendError;
use crate::diagnostics::Span;
use crate::ir::{
    ArrayDesc, ConstTableId, FormatPiece, LocalId, ScalarType, Type, ValueId, MAX_RANK,
};

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
        let (desc, elem, rank) = self.array_local(array)?;
        if indices.len() != rank || rank > MAX_RANK {
            return Err(self.error(format!("{} indices for a rank-{rank} array", indices.len())));
        }
        let site = checked.then(|| self.unit.tables.traps.add(span, None));
        let mut offset: Option<Value> = None;
        for (axis, index) in indices.iter().enumerate() {
            let index = self.value(*index)?;
            if let Some(site) = site {
                let len = self.descriptor_field(desc, ArrayDesc::SHAPE_OFFSET + 8 * axis as i32);
                // Unsigned: a "negative" usize is huge and fails the check too.
                let ok = self.b.ins().icmp(IntCC::UnsignedLessThan, index, len);
                self.trap_unless(ok, trap_code::INDEX_OUT_OF_BOUNDS, site, Some([index, len]));
            }
            let stride = self.descriptor_field(desc, ArrayDesc::STRIDES_OFFSET + 8 * axis as i32);
            let term = self.b.ins().imul(index, stride);
            offset = Some(match offset {
                Some(sum) => self.b.ins().iadd(sum, term),
                None => term,
            });
        }
        let data = self.descriptor_field(desc, 0);
        let address = match offset {
            Some(elements) => {
                let shift = elem.size_bytes().trailing_zeros() as i64;
                let bytes = self.b.ins().ishl_imm_u(elements, shift);
                self.b.ins().iadd(data, bytes)
            }
            None => data,
        };
        Ok((address, elem))
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
        let (address, elem) = self.element_address(array, indices, checked, span)?;
        Ok(self
            .b
            .ins()
            .load(clif_type(elem), MemFlagsData::trusted(), address, 0))
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
        let (address, _) = self.element_address(array, indices, checked, span)?;
        self.b.ins().store(MemFlagsData::trusted(), v, address, 0);
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
