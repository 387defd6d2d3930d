//! Text form of kern IR, for `kern emit --ir` and snapshot tests.
//!
//! One instruction per line, nested blocks indented, values as `vN`, locals as
//! `lN`, constants with their type suffix. The format is for people and snapshots;
//! nothing parses it back.

use std::fmt::Write;

use super::*;

/// Prints every function of the program, then its constant tables.
pub fn print_program(program: &Program) -> String {
    let mut out = String::new();
    for (i, table) in program.const_tables.iter().enumerate() {
        let _ = writeln!(
            out,
            "const t{i} {}: [{}; {}]",
            table.name,
            table.elem,
            table.values.len()
        );
    }
    for function in &program.functions {
        out.push_str(&print_function(program, function));
        out.push('\n');
    }
    out
}

pub fn print_function(program: &Program, function: &Function) -> String {
    let mut printer = Printer {
        program,
        function,
        out: String::new(),
        indent: 1,
    };
    let params: Vec<String> = function
        .params
        .iter()
        .map(|p| format!("l{}: {}", p.local.0, type_name(function.local(p.local).ty)))
        .collect();
    let ret = function.ret.map(|t| format!(" -> {t}")).unwrap_or_default();
    let kind = match &function.kind {
        FunctionKind::Plain => String::new(),
        FunctionKind::Main => "host ".to_string(),
        FunctionKind::Ufunc { .. } => "ufunc ".to_string(),
        FunctionKind::Gufunc { signature, .. } => format!("gufunc \"{signature}\" "),
        FunctionKind::Kernel { .. } => "kernel ".to_string(),
        FunctionKind::ElementwiseLoop { element } => format!("elementwise(f{}) ", element.0),
        FunctionKind::GufuncLoop { body } => format!("gufunc_loop(f{}) ", body.0),
        FunctionKind::KernelLaunch { kernel } => format!("kernel_launch(f{}) ", kernel.0),
        FunctionKind::ReductionBatch { combine, .. } => {
            format!("reduction_batch(f{}) ", combine.0)
        }
        FunctionKind::RowFold { combine } => format!("row_fold(f{}) ", combine.0),
    };
    let _ = writeln!(
        printer.out,
        "{kind}fn {}({}){ret} {{",
        function.name,
        params.join(", ")
    );
    for fixed in &function.fixed_strides {
        let _ = writeln!(
            printer.out,
            "    fixed stride l{}, axis {} = {}",
            fixed.array.0, fixed.axis, fixed.stride
        );
    }
    for (i, local) in function.locals.iter().enumerate() {
        if !function.params.iter().any(|p| p.local.0 as usize == i) {
            let _ = writeln!(
                printer.out,
                "    local l{i} {}: {}",
                local.name,
                type_name(local.ty)
            );
        }
    }
    printer.block(&function.body);
    printer.out.push_str("}\n");
    printer.out
}

pub fn type_name(ty: Type) -> String {
    match ty {
        Type::Scalar(t) => t.to_string(),
        Type::HostArray(t) => format!("Array<{t}>"),
        Type::Array(a) => {
            let mut s = a.elem.to_string();
            for _ in 0..a.rank {
                s = format!("[{s}]");
            }
            if a.mutable {
                format!("&mut {s}")
            } else {
                format!("&{s}")
            }
        }
    }
}

fn const_text(value: ScalarValue) -> String {
    match value {
        ScalarValue::F32(v) => format!("{v:?}f32"),
        ScalarValue::F64(v) => format!("{v:?}f64"),
        ScalarValue::Bool(b) => b.to_string(),
        other => format!("{other}{}", other.ty()),
    }
}

struct Printer<'a> {
    program: &'a Program,
    function: &'a Function,
    out: String,
    indent: usize,
}

impl Printer<'_> {
    fn line(&mut self, text: &str) {
        for _ in 0..self.indent {
            self.out.push_str("    ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn block(&mut self, block: &Block) {
        for inst in &block.insts {
            self.inst(inst);
        }
    }

    fn nested(&mut self, header: &str, block: &Block) {
        self.line(header);
        self.indent += 1;
        self.block(block);
        self.indent -= 1;
    }

    fn inst(&mut self, inst: &Inst) {
        let v = |id: &ValueId| format!("v{}", id.0);
        let list = |ids: &[ValueId]| ids.iter().map(v).collect::<Vec<_>>().join(", ");
        // Array arguments are written `&l1` in calls and `l1` in host instructions.
        let arg_list = |args: &[Arg], array: &str| {
            let text = |a: &Arg| match a {
                Arg::Value(x) => v(x),
                Arg::Array(l) => format!("{array}l{}", l.0),
                Arg::SubView { array: l, index } => format!("{array}l{}[{}]", l.0, v(index)),
            };
            args.iter().map(text).collect::<Vec<_>>().join(", ")
        };
        let text = match &inst.kind {
            InstKind::Const(c) => format!("const {}", const_text(*c)),
            InstKind::GetLocal(l) => format!("get l{}", l.0),
            InstKind::SetLocal(l, x) => format!("set l{}, {}", l.0, v(x)),
            InstKind::Unary(op, x) => format!("{} {}", format!("{op:?}").to_lowercase(), v(x)),
            InstKind::Binary(op, a, b) => {
                format!("{} {}, {}", format!("{op:?}").to_lowercase(), v(a), v(b))
            }
            InstKind::Cmp(op, a, b) => {
                format!(
                    "cmp.{} {}, {}",
                    format!("{op:?}").to_lowercase(),
                    v(a),
                    v(b)
                )
            }
            InstKind::Cast(x, t) => format!("cast {} as {t}", v(x)),
            InstKind::Bitcast(x, t) => format!("bitcast {} as {t}", v(x)),
            InstKind::Select {
                cond,
                if_true,
                if_false,
            } => format!("select {}, {}, {}", v(cond), v(if_true), v(if_false)),
            InstKind::Intrinsic(i, args) => format!("{} {}", i.name(), list(args)),
            InstKind::Call { callee, args } => {
                let name = self
                    .program
                    .functions
                    .get(callee.0 as usize)
                    .map_or("?", |f| f.name.as_str());
                format!("call {name}({})", arg_list(args, "&"))
            }
            InstKind::ArrayLen { array, axis } => format!("len l{}, axis {axis}", array.0),
            InstKind::ArrayStride { array, axis } => {
                format!("stride l{}, axis {axis}", array.0)
            }
            InstKind::Load {
                array,
                indices,
                checked,
            } => format!(
                "load{} l{}[{}]",
                if *checked { "" } else { ".unchecked" },
                array.0,
                list(indices)
            ),
            InstKind::Store {
                array,
                indices,
                value,
                checked,
            } => format!(
                "store{} l{}[{}], {}",
                if *checked { "" } else { ".unchecked" },
                array.0,
                list(indices),
                v(value)
            ),
            InstKind::LoadConst { table, index } => {
                format!("load.const t{}[{}]", table.0, v(index))
            }
            InstKind::If {
                cond,
                then_block,
                else_block,
            } => {
                self.nested(&format!("if {} {{", v(cond)), then_block);
                if !else_block.insts.is_empty() {
                    self.nested("} else {", else_block);
                }
                self.line("}");
                return;
            }
            InstKind::Loop {
                header,
                cond,
                body,
                latch,
                counted,
            } => {
                match counted {
                    None => self.line("loop {"),
                    Some(c) => self.line(&format!(
                        "loop for l{} = {} step {} {} {{",
                        c.counter.0,
                        v(&c.induction),
                        v(&c.step),
                        match c.order {
                            IterationOrder::Independent => "independent",
                            IterationOrder::InOrder => "in order",
                        }
                    )),
                }
                self.indent += 1;
                if !header.insts.is_empty() {
                    self.nested("header:", header);
                }
                if let Some(c) = cond {
                    self.line(&format!("while {}", v(c)));
                }
                self.nested("body:", body);
                if !latch.insts.is_empty() {
                    self.nested("latch:", latch);
                }
                self.indent -= 1;
                self.line("}");
                return;
            }
            InstKind::Break => "break".to_string(),
            InstKind::Continue => "continue".to_string(),
            InstKind::Return(None) => "return".to_string(),
            InstKind::Return(Some(x)) => format!("return {}", v(x)),
            InstKind::Assert { cond, message } => format!("assert {}, {message:?}", v(cond)),
            InstKind::Host { op, args, dest } => {
                let args = arg_list(args, "");
                let dest = dest.map_or(String::new(), |d| format!(" -> l{}", d.0));
                format!("host {}({}){dest}", op.name(), args)
            }
            InstKind::Spmd(s) => {
                let array = s.array().map(|l| format!("l{}", l.0));
                let operands: Vec<String> =
                    array.into_iter().chain(s.values().iter().map(v)).collect();
                format!("{}({})", s.name(), operands.join(", "))
            }
            InstKind::Print {
                pieces,
                args,
                newline,
            } => {
                let mut fmt = String::new();
                for piece in pieces {
                    match piece {
                        FormatPiece::Text(t) => {
                            fmt.push_str(&t.replace('{', "{{").replace('}', "}}"))
                        }
                        FormatPiece::Arg(_) => fmt.push_str("{}"),
                    }
                }
                let name = if *newline { "println" } else { "print" };
                format!("{name} {fmt:?}, {}", list(args))
            }
        };
        match inst.result {
            Some(r) => {
                let ty = self.function.value_type(r);
                self.line(&format!("v{}: {ty} = {text}", r.0));
            }
            None => self.line(&text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::build::FunctionBuilder;

    #[test]
    fn prints_nested_control_flow() {
        let mut b = FunctionBuilder::new("count", Some(ScalarType::I64), Span::default());
        let n = b.param("n", Type::Scalar(ScalarType::I64));
        let i = b.local("i", Type::Scalar(ScalarType::I64));
        b.begin_block();
        let iv = b.get(i);
        let nv = b.get(n);
        let c = b.cmp(CmpOp::Lt, iv, nv);
        let header = b.end_block();
        b.begin_block();
        b.increment(i, ScalarValue::I64(1));
        let body = b.end_block();
        b.plain_loop(header, Some(c), body, Block::default());
        let r = b.get(i);
        b.inst(InstKind::Return(Some(r)));
        let f = b.finish();
        let program = Program {
            functions: vec![f],
            const_tables: vec![],
        };
        let text = print_function(&program, &program.functions[0]);
        assert_eq!(
            text,
            "fn count(l0: i64) -> i64 {\n    local l1 i: i64\n    loop {\n        header:\n            v0: i64 = get l1\n            v1: i64 = get l0\n            v2: bool = cmp.lt v0, v1\n        while v2\n        body:\n            v3: i64 = const 1i64\n            v4: i64 = get l1\n            v5: i64 = add v4, v3\n            set l1, v5\n    }\n    v6: i64 = get l1\n    return v6\n}\n"
        );
    }
}
