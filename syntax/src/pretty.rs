//! Canonical text of an AST, for `kern emit --ast` and parser tests: every unary,
//! binary and cast expression is fully parenthesised, so precedence is visible.

use super::ast::*;

pub fn pretty_print(unit: &SourceUnit) -> String {
    let mut p = Pretty { out: String::new() };
    for item in &unit.items {
        match item {
            Item::Fn(f) => p.function(f),
            Item::Const(c) => {
                let value = p.expr(&c.value);
                p.out.push_str(&format!(
                    "const {}: {} = {value};\n",
                    c.name.name,
                    type_text(&c.ty)
                ));
            }
        }
    }
    p.out
}

fn type_text(ty: &TypeExpr) -> String {
    match &ty.kind {
        TypeExprKind::Named(n) => n.name.clone(),
        TypeExprKind::Ref { mutable, inner } => {
            format!(
                "&{}{}",
                if *mutable { "mut " } else { "" },
                type_text(inner)
            )
        }
        TypeExprKind::Slice(inner) => format!("[{}]", type_text(inner)),
        TypeExprKind::Array { elem, len } => {
            let len = match len {
                ArrayLen::Literal(n, _) => n.to_string(),
                ArrayLen::Named(n) => n.name.clone(),
            };
            format!("[{}; {len}]", type_text(elem))
        }
        TypeExprKind::Unit => "()".into(),
        TypeExprKind::Generic { name, args } => {
            let args: Vec<String> = args.iter().map(type_text).collect();
            format!("{}<{}>", name.name, args.join(", "))
        }
    }
}

fn literal_text(lit: &Literal) -> String {
    match &lit.kind {
        LitKind::Int { value, suffix } => {
            format!("{value}{}", suffix.map(|s| s.name()).unwrap_or(""))
        }
        LitKind::Float { text, suffix } => {
            format!("{text}{}", suffix.map(|s| s.name()).unwrap_or(""))
        }
        LitKind::Bool(b) => b.to_string(),
        LitKind::Str(s) => format!("{s:?}"),
    }
}

struct Pretty {
    out: String,
}

impl Pretty {
    fn function(&mut self, f: &FnDecl) {
        for attr in &f.attrs {
            let args: Vec<String> = attr
                .args
                .iter()
                .map(|a| match a {
                    AttrArg::KeyValue { key, value } => {
                        format!("{} = {}", key.name, literal_text(value))
                    }
                    AttrArg::Literal(l) => literal_text(l),
                    AttrArg::Ident(i) => i.name.clone(),
                })
                .collect();
            if args.is_empty() {
                self.out.push_str(&format!("#[{}]\n", attr.name.name));
            } else {
                self.out
                    .push_str(&format!("#[{}({})]\n", attr.name.name, args.join(", ")));
            }
        }
        let generics = if f.generics.is_empty() {
            String::new()
        } else {
            let g: Vec<String> = f
                .generics
                .iter()
                .map(|g| match &g.bound {
                    Some(b) => format!("{}: {}", g.name.name, b.name),
                    None => g.name.name.clone(),
                })
                .collect();
            format!("<{}>", g.join(", "))
        };
        let params: Vec<String> = f
            .params
            .iter()
            .map(|p| {
                format!(
                    "{}{}: {}",
                    if p.mutable { "mut " } else { "" },
                    p.name.name,
                    type_text(&p.ty)
                )
            })
            .collect();
        let ret = f
            .ret
            .as_ref()
            .map(|t| format!(" -> {}", type_text(t)))
            .unwrap_or_default();
        let body = self.block(&f.body, 0);
        self.out.push_str(&format!(
            "fn {}{generics}({}){ret} {body}\n",
            f.name.name,
            params.join(", ")
        ));
    }

    fn block(&mut self, block: &Block, indent: usize) -> String {
        let pad = "    ".repeat(indent + 1);
        let mut s = String::from("{\n");
        for stmt in &block.stmts {
            let line = match &stmt.kind {
                StmtKind::Let {
                    mutable,
                    name,
                    ty,
                    init,
                } => {
                    let ty = ty
                        .as_ref()
                        .map(|t| format!(": {}", type_text(t)))
                        .unwrap_or_default();
                    let init = init
                        .as_ref()
                        .map(|e| format!(" = {}", self.expr_at(e, indent + 1)))
                        .unwrap_or_default();
                    format!(
                        "let {}{}{ty}{init};",
                        if *mutable { "mut " } else { "" },
                        name.name
                    )
                }
                StmtKind::Expr { expr, has_semi } => {
                    format!(
                        "{}{}",
                        self.expr_at(expr, indent + 1),
                        if *has_semi { ";" } else { "" }
                    )
                }
                StmtKind::Empty => ";".into(),
            };
            s.push_str(&format!("{pad}{line}\n"));
        }
        if let Some(tail) = &block.tail {
            let t = self.expr_at(tail, indent + 1);
            s.push_str(&format!("{pad}{t}\n"));
        }
        s.push_str(&"    ".repeat(indent));
        s.push('}');
        s
    }

    fn expr(&mut self, e: &Expr) -> String {
        self.expr_at(e, 0)
    }

    fn expr_at(&mut self, e: &Expr, indent: usize) -> String {
        let list = |p: &mut Pretty, items: &[Expr]| {
            items
                .iter()
                .map(|a| p.expr_at(a, indent))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &e.kind {
            ExprKind::Lit(l) => literal_text(l),
            ExprKind::Path(segments) => segments
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join("::"),
            ExprKind::Unary { op, operand } => {
                let sym = match op {
                    UnaryOp::Neg => "-",
                    UnaryOp::Not => "!",
                };
                format!("({sym}{})", self.expr_at(operand, indent))
            }
            ExprKind::Binary { op, lhs, rhs } => format!(
                "({} {} {})",
                self.expr_at(lhs, indent),
                op.symbol(),
                self.expr_at(rhs, indent)
            ),
            ExprKind::Assign { target, value } => format!(
                "{} = {}",
                self.expr_at(target, indent),
                self.expr_at(value, indent)
            ),
            ExprKind::CompoundAssign { op, target, value } => format!(
                "{} {}= {}",
                self.expr_at(target, indent),
                op.symbol(),
                self.expr_at(value, indent)
            ),
            ExprKind::Cast { expr, ty } => {
                format!("({} as {})", self.expr_at(expr, indent), type_text(ty))
            }
            ExprKind::Call { callee, args } => {
                format!("{}({})", self.expr_at(callee, indent), list(self, args))
            }
            ExprKind::MethodCall {
                receiver,
                method,
                args,
            } => format!(
                "{}.{}({})",
                self.expr_at(receiver, indent),
                method.name,
                list(self, args)
            ),
            ExprKind::Index { base, index } => format!(
                "{}[{}]",
                self.expr_at(base, indent),
                self.expr_at(index, indent)
            ),
            ExprKind::If {
                cond,
                then_branch,
                else_branch,
            } => {
                let mut s = format!(
                    "if {} {}",
                    self.expr_at(cond, indent),
                    self.block(then_branch, indent)
                );
                if let Some(e) = else_branch {
                    s.push_str(&format!(" else {}", self.expr_at(e, indent)));
                }
                s
            }
            ExprKind::While { cond, body } => format!(
                "while {} {}",
                self.expr_at(cond, indent),
                self.block(body, indent)
            ),
            ExprKind::Loop { body } => format!("loop {}", self.block(body, indent)),
            ExprKind::For {
                var,
                start,
                end,
                inclusive,
                step,
                body,
            } => {
                let range = format!(
                    "{}{}{}",
                    self.expr_at(start, indent),
                    if *inclusive { "..=" } else { ".." },
                    self.expr_at(end, indent)
                );
                let range = match step {
                    Some(s) => format!("({range}).step_by({})", self.expr_at(s, indent)),
                    None => range,
                };
                format!("for {} in {range} {}", var.name, self.block(body, indent))
            }
            ExprKind::Break => "break".into(),
            ExprKind::Continue => "continue".into(),
            ExprKind::Return(None) => "return".into(),
            ExprKind::Return(Some(v)) => format!("return {}", self.expr_at(v, indent)),
            ExprKind::Block(b) => self.block(b, indent),
            ExprKind::Paren(inner) => self.expr_at(inner, indent),
            ExprKind::Macro { name, args } => format!("{}!({})", name.name, list(self, args)),
            ExprKind::ArrayLit(items) => format!("[{}]", list(self, items)),
            ExprKind::ArrayRepeat { value, count } => format!(
                "[{}; {}]",
                self.expr_at(value, indent),
                self.expr_at(count, indent)
            ),
            ExprKind::Ref { mutable, expr } => format!(
                "&{}{}",
                if *mutable { "mut " } else { "" },
                self.expr_at(expr, indent)
            ),
            ExprKind::Range { start, end } => format!(
                "{}..{}",
                start
                    .as_ref()
                    .map_or(String::new(), |s| self.expr_at(s, indent)),
                end.as_ref()
                    .map_or(String::new(), |e| self.expr_at(e, indent))
            ),
        }
    }
}
