//! A small builder for IR functions, used by lowering and by tests that need IR
//! without going through the front end.
//!
//! It tracks the block being filled as a stack: `begin_block` opens a nested block,
//! `end_block` closes it and hands it back to put into an `If` or `Loop`. It does not
//! check scoping rules; run [`crate::ir::verify`] for that.

use super::*;

pub struct FunctionBuilder {
    function: Function,
    blocks: Vec<Block>,
    /// Span given to instructions pushed without an explicit one.
    pub current_span: Span,
}

impl FunctionBuilder {
    pub fn new(name: impl Into<String>, ret: Option<ScalarType>, span: Span) -> FunctionBuilder {
        FunctionBuilder {
            function: Function {
                name: name.into(),
                kind: FunctionKind::Plain,
                params: Vec::new(),
                ret,
                locals: Vec::new(),
                value_types: Vec::new(),
                body: Block::default(),
                span,
                fixed_strides: Vec::new(),
            },
            blocks: vec![Block::default()],
            current_span: span,
        }
    }

    pub fn set_kind(&mut self, kind: FunctionKind) {
        self.function.kind = kind;
    }

    /// Declares the next parameter; it is also a local.
    pub fn param(&mut self, name: impl Into<String>, ty: Type) -> LocalId {
        let name = name.into();
        let local = self.local(name.clone(), ty);
        self.function.params.push(Param { name, local });
        local
    }

    pub fn local(&mut self, name: impl Into<String>, ty: Type) -> LocalId {
        self.function.locals.push(Local {
            name: name.into(),
            ty,
        });
        LocalId(self.function.locals.len() as u32 - 1)
    }

    pub fn local_type(&self, local: LocalId) -> Type {
        self.function.locals[local.0 as usize].ty
    }

    pub fn value_type(&self, value: ValueId) -> ScalarType {
        self.function.value_types[value.0 as usize]
    }

    /// Appends an instruction that defines a value of type `ty`.
    pub fn value(&mut self, kind: InstKind, ty: ScalarType) -> ValueId {
        let id = ValueId(self.function.value_types.len() as u32);
        self.function.value_types.push(ty);
        let span = self.current_span;
        self.current_block().insts.push(Inst {
            result: Some(id),
            kind,
            span,
        });
        id
    }

    /// Appends an instruction without a result.
    pub fn inst(&mut self, kind: InstKind) {
        let span = self.current_span;
        self.current_block().insts.push(Inst {
            result: None,
            kind,
            span,
        });
    }

    pub fn constant(&mut self, value: ScalarValue) -> ValueId {
        self.value(InstKind::Const(value), value.ty())
    }

    pub fn get(&mut self, local: LocalId) -> ValueId {
        let ty = self
            .local_type(local)
            .as_scalar()
            .expect("GetLocal of an array local");
        self.value(InstKind::GetLocal(local), ty)
    }

    pub fn set(&mut self, local: LocalId, value: ValueId) {
        self.inst(InstKind::SetLocal(local, value));
    }

    /// `loop { header; if !cond break; body; latch }` (blocks from `end_block`),
    /// not declared counted: a pass proves nothing from its shape.
    pub fn plain_loop(&mut self, header: Block, cond: Option<ValueId>, body: Block, latch: Block) {
        self.inst(InstKind::Loop {
            header,
            cond,
            body,
            latch,
            counted: None,
        });
    }

    /// `local = local + by`, for a loop written by hand (counted loops step
    /// their counter in [`Self::counted_loop`]).
    pub fn increment(&mut self, local: LocalId, by: ScalarValue) {
        let by = self.constant(by);
        let now = self.get(local);
        let next = self.binary(BinaryOp::Add, now, by);
        self.set(local, next);
    }

    /// `if cond { then_block } else { else_block }` (blocks from `end_block`).
    pub fn if_else(&mut self, cond: ValueId, then_block: Block, else_block: Block) {
        self.inst(InstKind::If {
            cond,
            then_block,
            else_block,
        });
    }

    pub fn binary(&mut self, op: BinaryOp, a: ValueId, b: ValueId) -> ValueId {
        let ty = self.value_type(a);
        self.value(InstKind::Binary(op, a, b), ty)
    }

    /// The length of `array` along `axis` (a `usize`).
    pub fn array_len(&mut self, array: LocalId, axis: u8) -> ValueId {
        self.value(InstKind::ArrayLen { array, axis }, ScalarType::Usize)
    }

    /// Asserts that axis `axis` of array parameter `array` has stride `stride`
    /// (`message` if not) and declares it ([`FixedStride`]). The assertion must
    /// be among the body's opening instructions: build it before any access,
    /// call or control flow.
    pub fn fix_stride(&mut self, array: LocalId, axis: u8, stride: i64, message: &str) {
        let actual = self.value(InstKind::ArrayStride { array, axis }, ScalarType::Isize);
        let expected = self.constant(ScalarValue::Isize(stride));
        let cond = self.cmp(CmpOp::Eq, actual, expected);
        self.inst(InstKind::Assert {
            cond,
            message: message.into(),
        });
        self.function.fixed_strides.push(FixedStride {
            array,
            axis,
            stride,
        });
    }

    /// The element of `array` at `indices`, of type `ty`; `checked` bounds-checks.
    pub fn load(
        &mut self,
        array: LocalId,
        indices: Vec<ValueId>,
        checked: bool,
        ty: ScalarType,
    ) -> ValueId {
        let load = InstKind::Load {
            array,
            indices,
            checked,
        };
        self.value(load, ty)
    }

    /// Stores `value` at `indices` of `array`; `checked` bounds-checks.
    pub fn store(&mut self, array: LocalId, indices: Vec<ValueId>, value: ValueId, checked: bool) {
        self.inst(InstKind::Store {
            array,
            indices,
            value,
            checked,
        });
    }

    pub fn cmp(&mut self, op: CmpOp, a: ValueId, b: ValueId) -> ValueId {
        self.value(InstKind::Cmp(op, a, b), ScalarType::Bool)
    }

    /// Opens a nested block; instructions go there until `end_block`.
    pub fn begin_block(&mut self) {
        self.blocks.push(Block::default());
    }

    pub fn end_block(&mut self) -> Block {
        assert!(self.blocks.len() > 1, "end_block without begin_block");
        self.blocks.pop().unwrap_or_default()
    }

    /// Emits the counted loop `iv = get counter; while more(iv) { body(iv); counter
    /// = iv + step }` and declares it ([`CountedLoop`]). The caller initialises
    /// `counter` (a `usize` local) before the loop. Every loop builder writes its
    /// loops with this (or [`Self::counted_loop_to`]), so that backends and passes
    /// read what a loop is instead of recognising its shape.
    pub fn counted_loop(
        &mut self,
        counter: LocalId,
        step: u64,
        order: IterationOrder,
        more: impl FnOnce(&mut Self, ValueId) -> ValueId,
        body: impl FnOnce(&mut Self, ValueId),
    ) {
        self.begin_block();
        let induction = self.get(counter);
        let cond = more(self, induction);
        let header = self.end_block();
        self.begin_block();
        body(self, induction);
        let body = self.end_block();
        self.begin_block();
        let step_value = self.constant(ScalarValue::Usize(step));
        let next = self.binary(BinaryOp::Add, induction, step_value);
        self.set(counter, next);
        let latch = self.end_block();
        self.inst(InstKind::Loop {
            header,
            cond: Some(cond),
            body,
            latch,
            counted: Some(CountedLoop {
                counter,
                induction,
                step: step_value,
                order,
            }),
        });
    }

    /// [`Self::counted_loop`] `for iv in counter..end`, stepping by one.
    pub fn counted_loop_to(
        &mut self,
        counter: LocalId,
        end: ValueId,
        order: IterationOrder,
        body: impl FnOnce(&mut Self, ValueId),
    ) {
        self.counted_loop(counter, 1, order, |b, iv| b.cmp(CmpOp::Lt, iv, end), body);
    }

    /// True when the current block already ends in `Break`/`Continue`/`Return`, so
    /// anything appended would be unreachable.
    pub fn is_terminated(&self) -> bool {
        self.blocks
            .last()
            .and_then(|b| b.insts.last())
            .is_some_and(|i| {
                matches!(
                    i.kind,
                    InstKind::Break | InstKind::Continue | InstKind::Return(_)
                )
            })
    }

    pub fn finish(mut self) -> Function {
        assert_eq!(self.blocks.len(), 1, "unclosed block in FunctionBuilder");
        self.function.body = self.blocks.pop().unwrap_or_default();
        self.function
    }

    fn current_block(&mut self) -> &mut Block {
        self.blocks.last_mut().expect("builder always has a block")
    }
}
