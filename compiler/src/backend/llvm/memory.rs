//! Memory in generated code: array extents, bounds-checked element loads and
//! stores through a flattened descriptor, sub-views (`Arg::SubView`, a new
//! descriptor of registers — no memory), and constant tables as read-only globals.
//!
//! Every array lives in the unit's address space (`Unit::address_space`: the
//! GPU's global memory, 1, or the host's only one, 0) except a GPU `#[kernel]`'s
//! shared arrays, whose data pointer is a shared one (address space 3); the same
//! code addresses all of them. A failed bounds check branches to the trap exit with the
//! index and the extent as payload, exactly the values the Cranelift backend
//! reports.

use inkwell::module::Linkage;
use inkwell::types::BasicType;
use inkwell::values::{BasicValue, BasicValueEnum, IntValue, PointerValue};
use inkwell::IntPredicate;

use super::lower::{ArrayValue, Lowerer};
use super::types::memory_type;
use super::LlvmError;
use crate::backend::traps::trap_code;
use crate::diagnostics::Span;
use crate::ir::{ConstTableId, LocalId, ScalarType, ScalarValue, ValueId};

impl<'ctx> Lowerer<'ctx, '_> {
    pub fn array_len(&mut self, array: LocalId, axis: u8) -> Result<IntValue<'ctx>, LlvmError> {
        let (a, ty) = self.array(array)?;
        a.shape
            .get(axis as usize)
            .copied()
            .ok_or_else(|| self.invalid(format!("axis {axis} of a rank-{} array", ty.rank)))
    }

    pub fn array_stride(&mut self, array: LocalId, axis: u8) -> Result<IntValue<'ctx>, LlvmError> {
        let (a, ty) = self.array(array)?;
        a.strides
            .get(axis as usize)
            .copied()
            .ok_or_else(|| self.invalid(format!("axis {axis} of a rank-{} array", ty.rank)))
    }

    /// Address of the element at `indices`, bounds-checked per axis when `checked`.
    /// A stride the function declares ([`crate::ir::FixedStride`]) is that
    /// constant, so LLVM folds constant indices into a constant offset.
    pub fn element_address(
        &mut self,
        array: LocalId,
        indices: &[ValueId],
        checked: bool,
        span: Span,
    ) -> Result<(PointerValue<'ctx>, ScalarType), LlvmError> {
        let (a, ty) = self.array(array)?;
        if indices.len() != ty.rank as usize {
            return Err(self.invalid(format!(
                "{} indices for a rank-{} array",
                indices.len(),
                ty.rank
            )));
        }
        let site = checked.then(|| self.unit.trap_sites.add(span, None));
        let mut offset: Option<IntValue> = None;
        for (axis, index) in indices.iter().enumerate() {
            let index = self.int(*index)?;
            if let Some(site) = site {
                let len = a.shape[axis];
                // Unsigned: a "negative" usize is huge and fails the check too.
                let ok = self
                    .b
                    .build_int_compare(IntPredicate::ULT, index, len, "")?;
                self.trap_unless(ok, trap_code::INDEX_OUT_OF_BOUNDS, site, Some([index, len]))?;
            }
            let stride = match self.func.fixed_stride(array, axis) {
                Some(stride) => self.cx.i64_type().const_int(stride as u64, true),
                None => a.strides[axis],
            };
            let term = self.b.build_int_mul(index, stride, "")?;
            offset = Some(match offset {
                Some(sum) => self.b.build_int_add(sum, term, "")?,
                None => term,
            });
        }
        let elem = memory_type(self.cx, ty.elem);
        let address = match offset {
            // SAFETY (LLVM): a plain (not inbounds) GEP is defined for any offset;
            // the bounds check or the caller's contract keeps it inside the array.
            Some(elements) => unsafe { self.b.build_gep(elem, a.data, &[elements], "")? },
            None => a.data,
        };
        Ok((address, ty.elem))
    }

    /// The view of `a` (of `elem`s) at `index` along axis 0 (in range by the
    /// IR's contract).
    pub fn sub_view(
        &mut self,
        a: &ArrayValue<'ctx>,
        elem: ScalarType,
        index: ValueId,
    ) -> Result<ArrayValue<'ctx>, LlvmError> {
        if a.shape.len() < 2 {
            return Err(self.invalid(format!("sub-view of a rank-{} array", a.shape.len())));
        }
        let index = self.int(index)?;
        let elements = self.b.build_int_mul(index, a.strides[0], "")?;
        // SAFETY (LLVM): see `element_address`.
        let elem = memory_type(self.cx, elem);
        let data = unsafe { self.b.build_gep(elem, a.data, &[elements], "")? };
        Ok(ArrayValue {
            data,
            shape: a.shape[1..].to_vec(),
            strides: a.strides[1..].to_vec(),
        })
    }

    pub fn load(
        &mut self,
        array: LocalId,
        indices: &[ValueId],
        checked: bool,
        span: Span,
    ) -> Result<BasicValueEnum<'ctx>, LlvmError> {
        let (address, elem) = self.element_address(array, indices, checked, span)?;
        let v = self.b.build_load(memory_type(self.cx, elem), address, "")?;
        set_alignment(v, elem);
        self.register_form(v, elem)
    }

    pub fn store(
        &mut self,
        array: LocalId,
        indices: &[ValueId],
        value: ValueId,
        checked: bool,
        span: Span,
    ) -> Result<(), LlvmError> {
        let (address, elem) = self.element_address(array, indices, checked, span)?;
        if self.value_type(value)? != elem {
            return Err(self.invalid("stored value has another type than the array"));
        }
        let v = self.value(value)?;
        let v = self.memory_form(v, elem)?;
        let store = self.b.build_store(address, v)?;
        let _ = store.set_alignment(elem.size_bytes() as u32);
        Ok(())
    }

    pub fn load_const(
        &mut self,
        table: ConstTableId,
        index: ValueId,
        span: Span,
    ) -> Result<BasicValueEnum<'ctx>, LlvmError> {
        let (elem, len) = match self.program.const_tables.get(table.0 as usize) {
            Some(t) => (t.elem, t.values.len() as u64),
            None => return Err(self.invalid(format!("unknown constant table {}", table.0))),
        };
        let global_table = self.const_table(table)?;
        let index = self.int(index)?;
        let i64t = self.cx.i64_type();
        let len = i64t.const_int(len, false);
        let site = self.unit.trap_sites.add(span, None);
        let ok = self
            .b
            .build_int_compare(IntPredicate::ULT, index, len, "")?;
        self.trap_unless(ok, trap_code::INDEX_OUT_OF_BOUNDS, site, Some([index, len]))?;
        // SAFETY (LLVM): the index was just checked against the table's length.
        let elem_ty = memory_type(self.cx, elem);
        let address = unsafe {
            self.b
                .build_in_bounds_gep(elem_ty, global_table, &[index], "")?
        };
        let v = self.b.build_load(elem_ty, address, "")?;
        set_alignment(v, elem);
        self.register_form(v, elem)
    }

    /// The module's global for constant table `table`, created on first use.
    fn const_table(&mut self, table: ConstTableId) -> Result<PointerValue<'ctx>, LlvmError> {
        if let Some(g) = self.unit.const_tables.get(&table) {
            return Ok(g.as_pointer_value());
        }
        let t = &self.program.const_tables[table.0 as usize];
        let elem_ty = memory_type(self.cx, t.elem);
        let values: Vec<BasicValueEnum> = t
            .values
            .iter()
            .map(|v| memory_constant(self.cx, *v))
            .collect();
        let init = match elem_ty {
            inkwell::types::BasicTypeEnum::FloatType(f) => f.const_array(
                &values
                    .iter()
                    .map(|v| v.into_float_value())
                    .collect::<Vec<_>>(),
            ),
            inkwell::types::BasicTypeEnum::IntType(i) => i.const_array(
                &values
                    .iter()
                    .map(|v| v.into_int_value())
                    .collect::<Vec<_>>(),
            ),
            _ => return Err(self.invalid("constant table of a non-scalar type")),
        };
        let array_ty = elem_ty.array_type(t.values.len() as u32);
        // `$` never occurs in a kern function's LLVM name: no clash.
        let name = format!("kern$const{}", table.0);
        let g = self
            .unit
            .module
            .add_global(array_ty, Some(self.unit.address_space), &name);
        g.set_initializer(&init);
        g.set_constant(true);
        g.set_linkage(Linkage::Internal);
        self.unit.const_tables.insert(table, g);
        Ok(g.as_pointer_value())
    }
}

/// A constant in its memory form (`bool` as a byte).
fn memory_constant(cx: &inkwell::context::Context, v: ScalarValue) -> BasicValueEnum<'_> {
    match v {
        ScalarValue::Bool(b) => cx.i8_type().const_int(b as u64, false).into(),
        v => super::types::constant(cx, v),
    }
}

/// Natural alignment of a loaded element (descriptors point at aligned elements).
fn set_alignment(v: BasicValueEnum<'_>, elem: ScalarType) {
    if let Some(inst) = v.as_instruction_value() {
        let _ = inst.set_alignment(elem.size_bytes() as u32);
    }
}
