//! The reference interpreter over kern IR.
//!
//! It runs host code (`fn main`) and is the oracle compiled code is compared
//! against, so it aims to be obviously correct: a direct walk over the structured
//! IR, scalar semantics from `ir::eval`, printing from `ir::format`. Calls can be
//! handed to a hook first (the runtime uses this to run callees as machine code).
//! It knows nothing of Cranelift, threads or targets.

use std::io::Write;

use crate::ir::eval::{eval_binary, eval_bitcast, eval_cast, eval_cmp, eval_intrinsic, eval_unary};
use crate::ir::format::format_pieces;
use crate::ir::*;

pub use crate::ir::HostArg;

pub mod host;
mod spmd;
pub use host::{HostEnv, HostHandle, HostValue};

/// Deepest nesting of calls of recursive functions (those on a cycle of the call
/// graph, [`crate::ir::call_graph`]) before `TrapKind::RecursionLimit` (same as
/// compiled code); calls of non-recursive functions do not count.
pub const DEFAULT_RECURSION_LIMIT: usize = 1000;

type CallHook<'p> = Box<
    dyn FnMut(FuncId, &[HostArg], &mut dyn Write) -> Option<Result<Option<ScalarValue>, Trap>> + 'p,
>;

pub struct Interpreter<'p> {
    program: &'p Program,
    hook: Option<CallHook<'p>>,
    recursion_limit: usize,
    depth: usize,
    /// The program's recursive functions, found at the first call.
    recursive: Option<crate::collections::HashSet<FuncId>>,
    host: Option<Box<dyn HostEnv + 'p>>,
    /// Instructions still allowed before `with_step_limit`'s trap (`None`: no limit).
    steps_left: Option<u64>,
    step_limit: u64,
    /// When `with_time_limit`'s trap fires, and the limit it reports.
    deadline: Option<(std::time::Instant, std::time::Duration)>,
}

enum Flow {
    Normal,
    Break,
    Continue,
    Return(Option<ScalarValue>),
}

#[derive(Clone, Copy)]
enum Slot {
    Scalar(ScalarValue),
    Array(ArrayDesc),
    HostArray(HostHandle),
}

struct Frame {
    values: Vec<ScalarValue>,
    locals: Vec<Slot>,
}

impl<'p> Interpreter<'p> {
    pub fn new(program: &'p Program) -> Interpreter<'p> {
        Interpreter {
            program,
            hook: None,
            recursion_limit: DEFAULT_RECURSION_LIMIT,
            depth: 0,
            recursive: None,
            host: None,
            steps_left: None,
            step_limit: 0,
            deadline: None,
        }
    }

    /// Host-array operations (in `main`) go to `env`; without one they trap.
    pub fn with_host_env(mut self, env: Box<dyn HostEnv + 'p>) -> Interpreter<'p> {
        self.host = Some(env);
        self
    }

    /// Calls go through `hook` first; when it returns `Some`, that is the result.
    pub fn with_call_hook(mut self, hook: CallHook<'p>) -> Interpreter<'p> {
        self.hook = Some(hook);
        self
    }

    pub fn with_recursion_limit(mut self, depth: usize) -> Interpreter<'p> {
        self.recursion_limit = depth;
        self
    }

    /// Traps (`TrapKind::Host`, at the instruction) once `steps` instructions have
    /// run, counted over every call this interpreter makes: a bound on the work of
    /// a program of unknown cost (e.g. under a fuzzer). Work done for the host
    /// environment or by the call hook is not counted.
    pub fn with_step_limit(mut self, steps: u64) -> Interpreter<'p> {
        self.steps_left = Some(steps);
        self.step_limit = steps;
        self
    }

    /// Traps (`TrapKind::Host`, at the instruction) at the first step taken once
    /// `limit` has passed since this call: unlike steps, time also bounds the work
    /// of the host environment (one step can fill a large array).
    pub fn with_time_limit(mut self, limit: std::time::Duration) -> Interpreter<'p> {
        self.deadline = Some((std::time::Instant::now() + limit, limit));
        self
    }

    /// Calls a function with scalar arguments only.
    pub fn call_scalars(
        &mut self,
        func: FuncId,
        args: &[ScalarValue],
        out: &mut dyn Write,
    ) -> Result<Option<ScalarValue>, Trap> {
        let args: Vec<HostArg> = args.iter().map(|a| HostArg::Scalar(*a)).collect();
        let f = self.program.function(func);
        if f.param_types().iter().any(|t| matches!(t, Type::Array(_))) {
            return Err(Trap {
                kind: TrapKind::AssertionFailed("array arguments need `Interpreter::call`".into()),
                span: f.span,
            });
        }
        // Safety: no array arguments.
        unsafe { self.call(func, &args, out) }
    }

    /// Calls a function.
    ///
    /// # Safety
    /// Every `HostArg::Array` must describe valid memory for its shape, strides and
    /// element type (writable if the parameter is `&mut`) for the whole call.
    pub unsafe fn call(
        &mut self,
        func: FuncId,
        args: &[HostArg],
        out: &mut dyn Write,
    ) -> Result<Option<ScalarValue>, Trap> {
        let f = self.program.function(func);
        let types = f.param_types();
        let matches = types.len() == args.len()
            && types.iter().zip(args).all(|(t, a)| match (t, a) {
                (Type::Scalar(t), HostArg::Scalar(v)) => *t == v.ty(),
                (Type::Array(_), HostArg::Array(_)) => true,
                _ => false,
            });
        if !matches {
            return Err(Trap {
                kind: TrapKind::AssertionFailed(format!(
                    "`{}` called with arguments that do not match its parameters",
                    f.name
                )),
                span: f.span,
            });
        }
        self.run_function(f, args, out)
    }

    fn run_function(
        &mut self,
        f: &'p Function,
        args: &[HostArg],
        out: &mut dyn Write,
    ) -> Result<Option<ScalarValue>, Trap> {
        let mut frame = Frame {
            values: vec![ScalarValue::Bool(false); f.value_types.len()],
            locals: f
                .locals
                .iter()
                .map(|l| match l.ty {
                    Type::Scalar(t) => Slot::Scalar(ScalarValue::zero(t)),
                    Type::Array(_) => Slot::Array(ArrayDesc {
                        data: std::ptr::null_mut(),
                        shape: [0; MAX_RANK],
                        strides: [0; MAX_RANK],
                    }),
                    Type::HostArray(_) => Slot::HostArray(HostHandle(0)),
                })
                .collect(),
        };
        for (param, arg) in f.params.iter().zip(args) {
            frame.locals[param.local.0 as usize] = match arg {
                HostArg::Scalar(v) => Slot::Scalar(*v),
                HostArg::Array(a) => Slot::Array(*a),
            };
        }
        let result = self.block(f, &f.body, &mut frame, out);
        if let Some(env) = self.host.as_mut() {
            for slot in &frame.locals {
                if let Slot::HostArray(h) = slot {
                    if h.0 != 0 {
                        env.release(*h);
                    }
                }
            }
        }
        match result? {
            Flow::Return(v) => Ok(v),
            _ => Ok(None),
        }
    }

    /// Counts one step against `with_step_limit`'s and `with_time_limit`'s budgets.
    fn step(&mut self, span: crate::diagnostics::Span) -> Result<(), Trap> {
        if let Some(steps) = self.steps_left.as_mut() {
            if *steps == 0 {
                return Err(Trap {
                    kind: TrapKind::Host(format!(
                        "step limit reached: {} instructions run",
                        self.step_limit
                    )),
                    span,
                });
            }
            *steps -= 1;
        }
        if let Some((deadline, limit)) = self.deadline {
            if std::time::Instant::now() >= deadline {
                return Err(Trap {
                    kind: TrapKind::Host(format!("time limit reached: {limit:?}")),
                    span,
                });
            }
        }
        Ok(())
    }

    fn block(
        &mut self,
        f: &'p Function,
        block: &'p Block,
        frame: &mut Frame,
        out: &mut dyn Write,
    ) -> Result<Flow, Trap> {
        for inst in &block.insts {
            let flow = self.inst(f, inst, frame, out)?;
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn inst(
        &mut self,
        f: &'p Function,
        inst: &'p Inst,
        frame: &mut Frame,
        out: &mut dyn Write,
    ) -> Result<Flow, Trap> {
        self.step(inst.span)?;
        let trap = |kind: TrapKind| Trap {
            kind,
            span: inst.span,
        };
        let v = |frame: &Frame, id: &ValueId| frame.values[id.0 as usize];
        let value = match &inst.kind {
            InstKind::Const(c) => *c,
            InstKind::GetLocal(l) => match frame.locals[l.0 as usize] {
                Slot::Scalar(s) => s,
                Slot::Array(_) | Slot::HostArray(_) => ScalarValue::Bool(false),
            },
            InstKind::SetLocal(l, x) => {
                frame.locals[l.0 as usize] = Slot::Scalar(v(frame, x));
                return Ok(Flow::Normal);
            }
            InstKind::Spmd(s) => match spmd::run(f, s, frame).map_err(trap)? {
                Some(value) => value,
                None => return Ok(Flow::Normal),
            },
            InstKind::Unary(op, x) => eval_unary(*op, v(frame, x)),
            InstKind::Binary(op, a, b) => {
                eval_binary(*op, v(frame, a), v(frame, b)).map_err(trap)?
            }
            InstKind::Cmp(op, a, b) => ScalarValue::Bool(eval_cmp(*op, v(frame, a), v(frame, b))),
            InstKind::Cast(x, t) => eval_cast(v(frame, x), *t),
            InstKind::Bitcast(x, t) => eval_bitcast(v(frame, x), *t),
            InstKind::Select {
                cond,
                if_true,
                if_false,
            } => {
                if v(frame, cond) == ScalarValue::Bool(true) {
                    v(frame, if_true)
                } else {
                    v(frame, if_false)
                }
            }
            InstKind::Intrinsic(i, args) => {
                let args: Vec<ScalarValue> = args.iter().map(|a| v(frame, a)).collect();
                eval_intrinsic(*i, &args)
            }
            InstKind::Call { callee, args } => {
                let params = self.program.function(*callee).param_types();
                let mut host_args = Vec::with_capacity(args.len());
                for (i, a) in args.iter().enumerate() {
                    host_args.push(match a {
                        Arg::Value(x) => HostArg::Scalar(v(frame, x)),
                        Arg::Array(l) => match frame.locals[l.0 as usize] {
                            Slot::Array(d) => HostArg::Array(d),
                            Slot::Scalar(s) => HostArg::Scalar(s),
                            Slot::HostArray(h) => {
                                let rank = match params.get(i) {
                                    Some(Type::Array(a)) => a.rank,
                                    _ => 1,
                                };
                                let Some(env) = self.host.as_mut() else {
                                    return Err(trap(no_host_env()));
                                };
                                HostArg::Array(env.descriptor(h, rank, inst.span)?)
                            }
                        },
                        Arg::SubView { array, index } => {
                            let desc = array_desc(frame, *array);
                            let elem = array_elem(f, *array);
                            HostArg::Array(sub_view(&desc, v(frame, index).to_bits(), elem))
                        }
                    });
                }
                let args = host_args;
                let result = self.call_from_ir(*callee, &args, inst.span, out)?;
                match (inst.result, result) {
                    (Some(r), Some(value)) => {
                        frame.values[r.0 as usize] = value;
                        return Ok(Flow::Normal);
                    }
                    _ => return Ok(Flow::Normal),
                }
            }
            InstKind::ArrayLen { array, axis } => {
                let desc = array_desc(frame, *array);
                ScalarValue::Usize(desc.shape[*axis as usize] as u64)
            }
            InstKind::ArrayStride { array, axis } => {
                ScalarValue::Isize(array_desc(frame, *array).strides[*axis as usize])
            }
            InstKind::Load {
                array,
                indices,
                checked,
            } => {
                let (data, offset, elem) =
                    element(f, frame, *array, indices, *checked).map_err(trap)?;
                // Safety: the caller of `call` guarantees the view is valid, and the
                // index was bounds-checked (or proven in bounds by a pass).
                unsafe { read_element(data, offset, elem) }
            }
            InstKind::Store {
                array,
                indices,
                value,
                checked,
            } => {
                let x = v(frame, value);
                let (data, offset, elem) =
                    element(f, frame, *array, indices, *checked).map_err(trap)?;
                // Safety: as for loads; the parameter is `&mut` (checked by the verifier).
                unsafe { write_element(data, offset, elem, x) };
                return Ok(Flow::Normal);
            }
            InstKind::LoadConst { table, index } => {
                let t = self.program.const_table(*table);
                let i = v(frame, index).as_i128().unwrap_or(-1);
                match usize::try_from(i).ok().and_then(|i| t.values.get(i)) {
                    Some(value) => *value,
                    None => {
                        return Err(trap(TrapKind::IndexOutOfBounds {
                            index: i as i64,
                            len: t.values.len() as i64,
                        }))
                    }
                }
            }
            InstKind::If {
                cond,
                then_block,
                else_block,
            } => {
                let taken = if v(frame, cond) == ScalarValue::Bool(true) {
                    then_block
                } else {
                    else_block
                };
                return self.block(f, taken, frame, out);
            }
            InstKind::Loop {
                header,
                cond,
                body,
                latch,
                ..
            } => {
                loop {
                    // An iteration is a step of its own: `loop {}` runs none.
                    self.step(inst.span)?;
                    match self.block(f, header, frame, out)? {
                        Flow::Normal => {}
                        Flow::Break => break,
                        Flow::Continue => continue,
                        ret @ Flow::Return(_) => return Ok(ret),
                    }
                    if let Some(c) = cond {
                        if v(frame, c) != ScalarValue::Bool(true) {
                            break;
                        }
                    }
                    match self.block(f, body, frame, out)? {
                        Flow::Normal | Flow::Continue => {}
                        Flow::Break => break,
                        ret @ Flow::Return(_) => return Ok(ret),
                    }
                    match self.block(f, latch, frame, out)? {
                        Flow::Normal | Flow::Continue => {}
                        Flow::Break => break,
                        ret @ Flow::Return(_) => return Ok(ret),
                    }
                }
                return Ok(Flow::Normal);
            }
            InstKind::Break => return Ok(Flow::Break),
            InstKind::Continue => return Ok(Flow::Continue),
            InstKind::Return(x) => return Ok(Flow::Return(x.map(|x| v(frame, &x)))),
            InstKind::Assert { cond, message } => {
                if v(frame, cond) != ScalarValue::Bool(true) {
                    return Err(trap(TrapKind::AssertionFailed(message.clone())));
                }
                return Ok(Flow::Normal);
            }
            InstKind::Host { op, args, dest } => {
                let values: Vec<HostValue> = args
                    .iter()
                    .map(|a| match a {
                        Arg::Value(x) => HostValue::Scalar(v(frame, x)),
                        Arg::Array(l) => match frame.locals[l.0 as usize] {
                            Slot::HostArray(h) => HostValue::Array(h),
                            Slot::Scalar(s) => HostValue::Scalar(s),
                            Slot::Array(_) => HostValue::Unit,
                        },
                        // Host operations take whole arrays; the verifier rejects views.
                        Arg::SubView { .. } => HostValue::Unit,
                    })
                    .collect();
                let Some(env) = self.host.as_mut() else {
                    return Err(trap(no_host_env()));
                };
                // Temporaries die here (`ir::host`): the op may take their arrays.
                let mut temporaries: Vec<(LocalId, HostHandle)> = Vec::new();
                for a in args {
                    let Arg::Array(l) = a else { continue };
                    let local = &f.locals[l.0 as usize];
                    if let (true, Type::HostArray(_), Slot::HostArray(h)) =
                        (local.name.is_empty(), &local.ty, frame.locals[l.0 as usize])
                    {
                        if h.0 != 0 && !temporaries.iter().any(|(t, _)| t == l) {
                            temporaries.push((*l, h));
                        }
                    }
                }
                let handles: Vec<HostHandle> = temporaries.iter().map(|(_, h)| *h).collect();
                env.temporaries(&handles);
                let result = env.host_op(op, &values, inst.span, out);
                for (l, h) in temporaries {
                    env.release(h);
                    frame.locals[l.0 as usize] = Slot::HostArray(HostHandle(0));
                }
                match (result?, dest, inst.result) {
                    (HostValue::Array(h), Some(d), _) => {
                        if let Slot::HostArray(old) = frame.locals[d.0 as usize] {
                            if old.0 != 0 {
                                env.release(old);
                            }
                        }
                        frame.locals[d.0 as usize] = Slot::HostArray(h);
                    }
                    (HostValue::Array(h), None, _) => env.release(h),
                    (HostValue::Scalar(s), _, Some(r)) => {
                        let ty = f.value_type(r);
                        frame.values[r.0 as usize] =
                            if s.ty() == ty { s } else { eval_cast(s, ty) };
                    }
                    (_, _, Some(_)) | (_, Some(_), _) => {
                        return Err(trap(TrapKind::Host(format!(
                            "internal error: host operation `{}` gave no result",
                            op.name()
                        ))))
                    }
                    _ => {}
                }
                return Ok(Flow::Normal);
            }
            InstKind::Print {
                pieces,
                args,
                newline,
            } => {
                let args: Vec<ScalarValue> = args.iter().map(|a| v(frame, a)).collect();
                let text = format_pieces(pieces, &args, *newline);
                // Lost output (a full disk, a closed pipe) stops the program with an
                // error at the print, as Rust's `println!` would (it panics).
                out.write_all(text.as_bytes()).map_err(|e| {
                    trap(TrapKind::Host(format!(
                        "cannot write the output of `print!`/`println!`: {e}"
                    )))
                })?;
                return Ok(Flow::Normal);
            }
        };
        if let Some(r) = inst.result {
            frame.values[r.0 as usize] = value;
        }
        Ok(Flow::Normal)
    }

    fn call_from_ir(
        &mut self,
        callee: FuncId,
        args: &[HostArg],
        span: crate::diagnostics::Span,
        out: &mut dyn Write,
    ) -> Result<Option<ScalarValue>, Trap> {
        if let Some(hook) = self.hook.as_mut() {
            if let Some(result) = hook(callee, args, out) {
                return result;
            }
        }
        let program = self.program;
        let counts = self
            .recursive
            .get_or_insert_with(|| crate::ir::call_graph::recursive_functions(program))
            .contains(&callee);
        if counts && self.depth >= self.recursion_limit {
            return Err(Trap {
                kind: TrapKind::RecursionLimit,
                span,
            });
        }
        if crate::stack_limit::interpreter_exhausted() {
            return Err(Trap {
                kind: TrapKind::StackOverflow,
                span,
            });
        }
        let f = self.program.function(callee);
        self.depth += usize::from(counts);
        let result = self.run_function(f, args, out);
        self.depth -= usize::from(counts);
        result
    }
}

fn no_host_env() -> TrapKind {
    TrapKind::Host("host arrays need a host environment (run the program with `kern run`)".into())
}

fn array_desc(frame: &Frame, local: LocalId) -> ArrayDesc {
    match frame.locals[local.0 as usize] {
        Slot::Array(d) => d,
        Slot::Scalar(_) | Slot::HostArray(_) => ArrayDesc {
            data: std::ptr::null_mut(),
            shape: [0; MAX_RANK],
            strides: [0; MAX_RANK],
        },
    }
}

fn array_elem(f: &Function, local: LocalId) -> ScalarType {
    match f.local(local).ty {
        Type::Array(a) => a.elem,
        Type::Scalar(t) | Type::HostArray(t) => t,
    }
}

/// The view of `desc` at `index` along axis 0 (the IR's `Arg::SubView`; the index is
/// in range by the IR's contract, the address arithmetic wraps like the JIT's).
fn sub_view(desc: &ArrayDesc, index: u64, elem: ScalarType) -> ArrayDesc {
    let offset = (index as i64)
        .wrapping_mul(desc.strides[0])
        .wrapping_mul(elem.size_bytes() as i64);
    let mut view = ArrayDesc {
        data: desc.data.wrapping_offset(offset as isize),
        shape: [0; MAX_RANK],
        strides: [0; MAX_RANK],
    };
    view.shape[..MAX_RANK - 1].copy_from_slice(&desc.shape[1..]);
    view.strides[..MAX_RANK - 1].copy_from_slice(&desc.strides[1..]);
    view
}

/// Element offset (in elements) of `indices`, bounds-checking each when `checked`.
fn element_offset(
    desc: &ArrayDesc,
    indices: &[ValueId],
    frame: &Frame,
    checked: bool,
) -> Result<isize, TrapKind> {
    let mut offset: i64 = 0;
    for (axis, index) in indices.iter().enumerate() {
        let i = frame.values[index.0 as usize].to_bits() as i64;
        let len = desc.shape[axis];
        if (checked || desc.data.is_null()) && (i as u64) >= (len as u64) {
            return Err(TrapKind::IndexOutOfBounds { index: i, len });
        }
        offset = offset.wrapping_add(i.wrapping_mul(desc.strides[axis]));
    }
    Ok(offset as isize)
}

/// Where `array[indices]` of `f` is: the array's data, the element offset and the
/// element type; an index out of bounds traps when `checked`.
fn element(
    f: &Function,
    frame: &Frame,
    array: LocalId,
    indices: &[ValueId],
    checked: bool,
) -> Result<(*mut u8, isize, ScalarType), TrapKind> {
    let desc = array_desc(frame, array);
    let offset = element_offset(&desc, indices, frame, checked)?;
    Ok((desc.data, offset, array_elem(f, array)))
}

unsafe fn read_element(data: *mut u8, offset: isize, elem: ScalarType) -> ScalarValue {
    let size = elem.size_bytes() as isize;
    let p = data.offset(offset * size);
    let bits = match size {
        1 => p.read() as u64,
        2 => (p as *const u16).read_unaligned() as u64,
        4 => (p as *const u32).read_unaligned() as u64,
        _ => (p as *const u64).read_unaligned(),
    };
    ScalarValue::from_bits(elem, bits)
}

unsafe fn write_element(data: *mut u8, offset: isize, elem: ScalarType, value: ScalarValue) {
    let size = elem.size_bytes() as isize;
    let p = data.offset(offset * size);
    let bits = value.to_bits();
    match size {
        1 => p.write(bits as u8),
        2 => (p as *mut u16).write_unaligned(bits as u16),
        4 => (p as *mut u32).write_unaligned(bits as u32),
        _ => (p as *mut u64).write_unaligned(bits),
    }
}
