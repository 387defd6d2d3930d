//! The parser: kern source text → owned AST with byte spans.
//!
//! pest does the lexing and the statement/item structure from `grammar.pest`; a
//! `PrattParser` folds flat operator sequences with Rust's precedence and
//! associativity. Pairs are converted to the AST immediately, so nothing outside this
//! file sees pest. Syntax errors become [`Diagnostic`]s with human words for what was
//! expected; no input makes the parser panic or overflow the stack.

use std::cell::{Cell, RefCell};
use std::num::NonZeroUsize;
use std::sync::{Mutex, OnceLock, PoisonError};

use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest::Parser as _;

use super::ast::*;
use super::literals::{decode_float, decode_int, decode_string};
use crate::diagnostics::{Diagnostic, Diagnostics, FileId, Span};

#[derive(pest_derive::Parser)]
#[grammar = "syntax/grammar.pest"]
struct KernGrammar;

/// Deepest nesting of expressions and blocks accepted. Deeper programs are rejected
/// with an error instead of risking a stack overflow in later (recursive) stages.
pub const MAX_NESTING: usize = 200;

/// Stack for the parse thread: pest is recursive descent, so pathological input
/// (thousands of nested `else if` or `- - - x`) needs room before we can reject it.
const PARSE_STACK_BYTES: usize = 256 << 20;

/// The largest source file kern parses: 4 MiB, two hundred times the biggest file
/// of the stdlib. The parse tree and the AST take up to ~200 bytes per byte of
/// source (e.g. `x = 1;` is nine nodes), so the limit is what keeps checking any file
/// within a bounded amount of memory (under a GiB) instead of aborting on an
/// allocation of many GiB.
pub const MAX_SOURCE_BYTES: usize = 4 << 20;

/// Parses one source file.
pub fn parse(file: FileId, text: &str) -> Result<SourceUnit, Diagnostics> {
    if text.len() > MAX_SOURCE_BYTES {
        return Err(Diagnostic::error(
            Span::new(file, 0, 0),
            format!(
                "this file is {} bytes long; kern reads source files of at most {} MiB",
                text.len(),
                MAX_SOURCE_BYTES >> 20
            ),
        )
        .into());
    }
    // Inputs under 1 KiB cannot nest deeply enough to matter; bigger ones parse on a
    // thread with a large (lazily committed) stack, whatever the caller's stack is.
    if text.len() < 1024 {
        return parse_here(file, text);
    }
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(PARSE_STACK_BYTES)
            .spawn_scoped(scope, || parse_here(file, text))
            .map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    Span::new(file, 0, 0),
                    format!("cannot start the parser thread: {e}"),
                ))
            })
            .and_then(|handle| {
                handle.join().unwrap_or_else(|_| {
                    Err(Diagnostics::from(Diagnostic::error(
                        Span::new(file, 0, 0),
                        "internal error: the parser failed on this file",
                    )))
                })
            })
    })
}

fn parse_here(file: FileId, text: &str) -> Result<SourceUnit, Diagnostics> {
    if let Some(offset) = first_too_deep_bracket(text) {
        return Err(Diagnostic::error(
            Span::new(file, offset, offset + 1),
            format!("nesting too deep (more than {MAX_NESTING} levels)"),
        )
        .into());
    }
    let pairs = parse_rule(Rule::file, text).map_err(|e| syntax_error(file, text, e))?;
    let builder = AstBuilder {
        file,
        next_id: Cell::new(0),
        errors: RefCell::new(Vec::new()),
    };
    let mut items = Vec::new();
    for pair in pairs.flatten().filter(|p| p.as_rule() == Rule::file) {
        for item in pair.into_inner() {
            match item.as_rule() {
                Rule::fn_item => items.push(Item::Fn(builder.fn_item(item))),
                Rule::const_item => items.push(Item::Const(builder.const_item(item))),
                _ => {}
            }
        }
    }
    let unit = SourceUnit {
        file,
        items,
        expr_count: builder.next_id.get(),
    };
    let mut errors = builder.errors.into_inner();
    if errors.is_empty() {
        if let Some(span) = first_too_deep_expr(&unit) {
            errors.push(Diagnostic::error(
                span,
                format!("expression nested too deeply (more than {MAX_NESTING} levels)"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(unit)
    } else {
        Err(Diagnostics(errors))
    }
}

/// Parser steps (pest rule entries, backtracking included) allowed per byte of
/// input. The grammar parses every construct once, so real code takes 10–20 steps a
/// byte and the worst syntax errors found under 100; the budget turns any
/// backtracking blow-up that is left into a located error in time linear in the
/// input, instead of a parse that takes hours.
pub const PARSE_STEPS_PER_BYTE: usize = 400;
/// Steps allowed whatever the input's size (an error in a tiny file is reported
/// after the alternatives at its position are tried).
const PARSE_STEPS_BASE: usize = 100_000;

/// Runs the grammar from `rule` under the step budget of `text`'s length.
fn parse_rule(rule: Rule, text: &str) -> Result<Pairs<'_, Rule>, pest::error::Error<Rule>> {
    // pest reads its step limit from a process-wide setting when a parse starts:
    // parses take turns so that each runs under its own input's budget.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let budget = text
        .len()
        .saturating_mul(PARSE_STEPS_PER_BYTE)
        .saturating_add(PARSE_STEPS_BASE);
    pest::set_call_limit(NonZeroUsize::new(budget));
    KernGrammar::parse(rule, text)
}

/// Byte offset of the first bracket that opens nesting deeper than `MAX_NESTING`.
/// Brackets inside strings and comments are counted too: that only errs on the
/// side of rejecting absurd files.
fn first_too_deep_bracket(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Finds an expression nested deeper than `MAX_NESTING` (e.g. long `else if`
/// chains or operator chains), iteratively so the check itself cannot overflow.
fn first_too_deep_expr(unit: &SourceUnit) -> Option<Span> {
    enum Node<'a> {
        Expr(&'a Expr),
        Block(&'a Block),
    }
    let mut stack: Vec<(Node, usize)> = Vec::new();
    for item in &unit.items {
        match item {
            Item::Fn(f) => stack.push((Node::Block(&f.body), 0)),
            Item::Const(c) => stack.push((Node::Expr(&c.value), 0)),
        }
    }
    while let Some((node, depth)) = stack.pop() {
        let depth = depth + 1;
        match node {
            Node::Block(block) => {
                if depth > MAX_NESTING {
                    return Some(block.span);
                }
                for stmt in &block.stmts {
                    match &stmt.kind {
                        StmtKind::Let { init: Some(e), .. } => stack.push((Node::Expr(e), depth)),
                        StmtKind::Expr { expr, .. } => stack.push((Node::Expr(expr), depth)),
                        _ => {}
                    }
                }
                if let Some(tail) = &block.tail {
                    stack.push((Node::Expr(tail), depth));
                }
            }
            Node::Expr(expr) => {
                if depth > MAX_NESTING {
                    return Some(expr.span);
                }
                match &expr.kind {
                    ExprKind::Lit(_) | ExprKind::Path(_) | ExprKind::Break | ExprKind::Continue => {
                    }
                    ExprKind::Unary { operand, .. } => stack.push((Node::Expr(operand), depth)),
                    ExprKind::Binary { lhs, rhs, .. } => {
                        stack.push((Node::Expr(lhs), depth));
                        stack.push((Node::Expr(rhs), depth));
                    }
                    ExprKind::Assign { target, value }
                    | ExprKind::CompoundAssign { target, value, .. } => {
                        stack.push((Node::Expr(target), depth));
                        stack.push((Node::Expr(value), depth));
                    }
                    ExprKind::Cast { expr, .. }
                    | ExprKind::Paren(expr)
                    | ExprKind::Ref { expr, .. } => stack.push((Node::Expr(expr), depth)),
                    ExprKind::Call { callee, args } => {
                        stack.push((Node::Expr(callee), depth));
                        stack.extend(args.iter().map(|a| (Node::Expr(a), depth)));
                    }
                    ExprKind::MethodCall { receiver, args, .. } => {
                        stack.push((Node::Expr(receiver), depth));
                        stack.extend(args.iter().map(|a| (Node::Expr(a), depth)));
                    }
                    ExprKind::Index { base, index } => {
                        stack.push((Node::Expr(base), depth));
                        stack.push((Node::Expr(index), depth));
                    }
                    ExprKind::If {
                        cond,
                        then_branch,
                        else_branch,
                    } => {
                        stack.push((Node::Expr(cond), depth));
                        stack.push((Node::Block(then_branch), depth));
                        if let Some(e) = else_branch {
                            stack.push((Node::Expr(e), depth));
                        }
                    }
                    ExprKind::While { cond, body } => {
                        stack.push((Node::Expr(cond), depth));
                        stack.push((Node::Block(body), depth));
                    }
                    ExprKind::Loop { body } => stack.push((Node::Block(body), depth)),
                    ExprKind::For {
                        start,
                        end,
                        step,
                        body,
                        ..
                    } => {
                        stack.push((Node::Expr(start), depth));
                        stack.push((Node::Expr(end), depth));
                        if let Some(s) = step {
                            stack.push((Node::Expr(s), depth));
                        }
                        stack.push((Node::Block(body), depth));
                    }
                    ExprKind::Return(value) => {
                        if let Some(v) = value {
                            stack.push((Node::Expr(v), depth));
                        }
                    }
                    ExprKind::Block(b) => stack.push((Node::Block(b), depth)),
                    ExprKind::Macro { args, .. } | ExprKind::ArrayLit(args) => {
                        stack.extend(args.iter().map(|a| (Node::Expr(a), depth)));
                    }
                    ExprKind::ArrayRepeat { value, count } => {
                        stack.push((Node::Expr(value), depth));
                        stack.push((Node::Expr(count), depth));
                    }
                    ExprKind::Range { start, end } => {
                        for bound in [start, end].into_iter().flatten() {
                            stack.push((Node::Expr(bound), depth));
                        }
                    }
                }
            }
        }
    }
    None
}

fn pratt() -> &'static PrattParser<Rule> {
    static PRATT: OnceLock<PrattParser<Rule>> = OnceLock::new();
    PRATT.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::assign, Assoc::Right)
                | Op::infix(Rule::add_assign, Assoc::Right)
                | Op::infix(Rule::sub_assign, Assoc::Right)
                | Op::infix(Rule::mul_assign, Assoc::Right)
                | Op::infix(Rule::div_assign, Assoc::Right)
                | Op::infix(Rule::rem_assign, Assoc::Right)
                | Op::infix(Rule::and_assign, Assoc::Right)
                | Op::infix(Rule::or_assign, Assoc::Right)
                | Op::infix(Rule::xor_assign, Assoc::Right)
                | Op::infix(Rule::shl_assign, Assoc::Right)
                | Op::infix(Rule::shr_assign, Assoc::Right))
            .op(Op::infix(Rule::or, Assoc::Left))
            .op(Op::infix(Rule::and, Assoc::Left))
            .op(Op::infix(Rule::eq, Assoc::Left)
                | Op::infix(Rule::ne, Assoc::Left)
                | Op::infix(Rule::lt, Assoc::Left)
                | Op::infix(Rule::le, Assoc::Left)
                | Op::infix(Rule::gt, Assoc::Left)
                | Op::infix(Rule::ge, Assoc::Left))
            .op(Op::infix(Rule::bit_or, Assoc::Left))
            .op(Op::infix(Rule::bit_xor, Assoc::Left))
            .op(Op::infix(Rule::bit_and, Assoc::Left))
            .op(Op::infix(Rule::shl, Assoc::Left) | Op::infix(Rule::shr, Assoc::Left))
            .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
            .op(Op::infix(Rule::mul, Assoc::Left)
                | Op::infix(Rule::div, Assoc::Left)
                | Op::infix(Rule::rem, Assoc::Left))
            .op(Op::postfix(Rule::cast))
            .op(Op::prefix(Rule::neg) | Op::prefix(Rule::not) | Op::prefix(Rule::borrow))
            .op(Op::postfix(Rule::method_call) | Op::postfix(Rule::call) | Op::postfix(Rule::index))
    })
}

struct AstBuilder {
    file: FileId,
    next_id: Cell<u32>,
    errors: RefCell<Vec<Diagnostic>>,
}

impl AstBuilder {
    fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, s.start(), s.end())
    }

    fn error(&self, span: Span, message: impl Into<String>) {
        self.errors
            .borrow_mut()
            .push(Diagnostic::error(span, message));
    }

    fn expr_node(&self, kind: ExprKind, span: Span) -> Expr {
        let id = ExprId(self.next_id.get());
        self.next_id.set(id.0 + 1);
        Expr { id, kind, span }
    }

    fn ident(&self, pair: Pair<Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    fn fn_item(&self, pair: Pair<Rule>) -> FnDecl {
        let span = self.span(&pair);
        let mut attrs = Vec::new();
        let mut name = None;
        let mut generics = Vec::new();
        let mut params = Vec::new();
        let mut ret = None;
        let mut body = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::attribute => attrs.push(self.attribute(p)),
                Rule::ident => name = Some(self.ident(p)),
                Rule::generics => {
                    for g in p.into_inner() {
                        let mut parts = g.into_inner();
                        let name = parts.next().map(|n| self.ident(n));
                        let bound = parts.next().map(|b| self.ident(b));
                        if let Some(name) = name {
                            generics.push(GenericParam { name, bound });
                        }
                    }
                }
                Rule::params => {
                    for param in p.into_inner() {
                        params.push(self.param(param));
                    }
                }
                Rule::ret_type => ret = p.into_inner().next().map(|t| self.type_expr(t)),
                Rule::block => body = Some(self.block(p)),
                _ => {}
            }
        }
        FnDecl {
            attrs,
            name: name.unwrap_or(Ident {
                name: String::new(),
                span,
            }),
            generics,
            params,
            ret,
            body: body.unwrap_or(Block {
                stmts: Vec::new(),
                tail: None,
                span,
            }),
            span,
        }
    }

    fn attribute(&self, pair: Pair<Rule>) -> Attribute {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = inner.next().map(|n| self.ident(n)).unwrap_or(Ident {
            name: String::new(),
            span,
        });
        let mut args = Vec::new();
        if let Some(list) = inner.next() {
            for arg in list.into_inner() {
                let Some(arg) = arg.into_inner().next() else {
                    continue;
                };
                match arg.as_rule() {
                    Rule::attr_kv => {
                        let mut kv = arg.into_inner();
                        if let (Some(k), Some(v)) = (kv.next(), kv.next()) {
                            let key = self.ident(k);
                            if let Some(value) = self.literal(v) {
                                args.push(AttrArg::KeyValue { key, value });
                            }
                        }
                    }
                    Rule::ident => args.push(AttrArg::Ident(self.ident(arg))),
                    _ => {
                        if let Some(lit) = self.literal(arg) {
                            args.push(AttrArg::Literal(lit));
                        }
                    }
                }
            }
        }
        Attribute { name, args, span }
    }

    fn param(&self, pair: Pair<Rule>) -> Param {
        let span = self.span(&pair);
        let mut mutable = false;
        let mut name = None;
        let mut ty = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::kw_mut => mutable = true,
                Rule::ident => name = Some(self.ident(p)),
                Rule::type_expr => ty = Some(self.type_expr(p)),
                _ => {}
            }
        }
        Param {
            mutable,
            name: name.unwrap_or(Ident {
                name: String::new(),
                span,
            }),
            ty: ty.unwrap_or(TypeExpr {
                kind: TypeExprKind::Unit,
                span,
            }),
            span,
        }
    }

    fn const_item(&self, pair: Pair<Rule>) -> ConstDecl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        inner.next(); // `const`
        let name = inner.next().map(|p| self.ident(p));
        let ty = inner.next().map(|p| self.type_expr(p));
        let value = inner.next().map(|p| self.expr(p));
        ConstDecl {
            name: name.unwrap_or(Ident {
                name: String::new(),
                span,
            }),
            ty: ty.unwrap_or(TypeExpr {
                kind: TypeExprKind::Unit,
                span,
            }),
            value: value
                .unwrap_or_else(|| self.expr_node(ExprKind::Block(empty_block(span)), span)),
            span,
        }
    }

    fn type_expr(&self, pair: Pair<Rule>) -> TypeExpr {
        let span = self.span(&pair);
        let Some(inner) = pair.into_inner().next() else {
            return TypeExpr {
                kind: TypeExprKind::Unit,
                span,
            };
        };
        let kind = match inner.as_rule() {
            Rule::ident => TypeExprKind::Named(self.ident(inner)),
            Rule::generic_type => {
                let mut parts = inner.into_inner();
                let name = parts.next().map(|n| self.ident(n)).unwrap_or(Ident {
                    name: String::new(),
                    span,
                });
                TypeExprKind::Generic {
                    name,
                    args: parts.map(|t| self.type_expr(t)).collect(),
                }
            }
            Rule::unit_type => TypeExprKind::Unit,
            Rule::ref_type => {
                let mut mutable = false;
                let mut target = None;
                for p in inner.into_inner() {
                    match p.as_rule() {
                        Rule::kw_mut => mutable = true,
                        Rule::type_expr => target = Some(self.type_expr(p)),
                        _ => {}
                    }
                }
                TypeExprKind::Ref {
                    mutable,
                    inner: Box::new(target.unwrap_or(TypeExpr {
                        kind: TypeExprKind::Unit,
                        span,
                    })),
                }
            }
            Rule::array_type => {
                let mut parts = inner.into_inner();
                let elem = parts.next().map(|p| self.type_expr(p)).unwrap_or(TypeExpr {
                    kind: TypeExprKind::Unit,
                    span,
                });
                match parts.next().and_then(|len| len.into_inner().next()) {
                    None => TypeExprKind::Slice(Box::new(elem)),
                    Some(len) if len.as_rule() == Rule::ident => TypeExprKind::Array {
                        elem: Box::new(elem),
                        len: ArrayLen::Named(self.ident(len)),
                    },
                    Some(len) => {
                        let len_span = self.span(&len);
                        let value = match self.int_literal(&len) {
                            Some(LitKind::Int { value, .. }) => value as u64,
                            _ => 0,
                        };
                        TypeExprKind::Array {
                            elem: Box::new(elem),
                            len: ArrayLen::Literal(value, len_span),
                        }
                    }
                }
            }
            _ => TypeExprKind::Unit,
        };
        TypeExpr { kind, span }
    }

    fn block(&self, pair: Pair<Rule>) -> Block {
        let span = self.span(&pair);
        let mut stmts = Vec::new();
        for p in pair.into_inner() {
            if p.as_rule() == Rule::stmt {
                stmts.extend(self.stmt(p));
            }
        }
        // The last expression without `;` (a plain one, or a trailing `if`/`loop`/
        // block) is the block's value, as in Rust.
        let mut tail = None;
        if let Some(Stmt {
            kind: StmtKind::Expr {
                has_semi: false, ..
            },
            ..
        }) = stmts.last()
        {
            if let Some(Stmt {
                kind: StmtKind::Expr { expr, .. },
                ..
            }) = stmts.pop()
            {
                tail = Some(Box::new(expr));
            }
        }
        Block { stmts, tail, span }
    }

    fn stmt(&self, pair: Pair<Rule>) -> Option<Stmt> {
        let span = self.span(&pair);
        let inner = pair.into_inner().next()?;
        let kind = match inner.as_rule() {
            Rule::let_stmt => {
                let mut mutable = false;
                let mut name = None;
                let mut ty = None;
                let mut init = None;
                for p in inner.into_inner() {
                    match p.as_rule() {
                        Rule::kw_mut => mutable = true,
                        Rule::ident => name = Some(self.ident(p)),
                        Rule::type_expr => ty = Some(self.type_expr(p)),
                        Rule::expr => init = Some(self.expr(p)),
                        _ => {}
                    }
                }
                StmtKind::Let {
                    mutable,
                    name: name?,
                    ty,
                    init,
                }
            }
            Rule::empty_stmt => StmtKind::Empty,
            Rule::block_like_stmt => {
                let mut parts = inner.into_inner().peekable();
                let mut expr = self.primary(parts.next()?);
                if let Some(assign) = parts.next_if(|p| p.as_rule() == Rule::assign) {
                    let value = self.expr(parts.next()?);
                    expr = self.infix(expr, assign, value);
                }
                let has_semi = parts.next().is_some();
                StmtKind::Expr { expr, has_semi }
            }
            Rule::expr_stmt => {
                let mut parts = inner.into_inner();
                let expr = self.expr(parts.next()?);
                StmtKind::Expr {
                    expr,
                    has_semi: parts.next().is_some(),
                }
            }
            _ => return None,
        };
        Some(Stmt { kind, span })
    }

    fn expr(&self, pair: Pair<Rule>) -> Expr {
        let pairs = pair.into_inner();
        self.pratt_expr(pairs)
    }

    fn pratt_expr(&self, pairs: Pairs<Rule>) -> Expr {
        pratt()
            .map_primary(|p| self.primary(p))
            .map_prefix(|op, operand| {
                let span = self.span(&op).to(operand.span);
                if op.as_rule() == Rule::borrow {
                    let mutable = op.into_inner().any(|p| p.as_rule() == Rule::kw_mut);
                    return self.expr_node(
                        ExprKind::Ref {
                            mutable,
                            expr: Box::new(operand),
                        },
                        span,
                    );
                }
                let op = if op.as_rule() == Rule::neg {
                    UnaryOp::Neg
                } else {
                    UnaryOp::Not
                };
                self.expr_node(
                    ExprKind::Unary {
                        op,
                        operand: Box::new(operand),
                    },
                    span,
                )
            })
            .map_postfix(|base, op| self.postfix(base, op))
            .map_infix(|lhs, op, rhs| self.infix(lhs, op, rhs))
            .parse(pairs)
    }

    fn postfix(&self, base: Expr, op: Pair<Rule>) -> Expr {
        let span = base.span.to(self.span(&op));
        let kind = match op.as_rule() {
            Rule::cast => {
                let ty = op
                    .into_inner()
                    .find(|p| matches!(p.as_rule(), Rule::type_expr | Rule::cast_type))
                    .map(|t| self.type_expr(t))
                    .unwrap_or(TypeExpr {
                        kind: TypeExprKind::Unit,
                        span,
                    });
                ExprKind::Cast {
                    expr: Box::new(base),
                    ty,
                }
            }
            Rule::method_call => {
                let mut inner = op.into_inner();
                let method = inner.next().map(|m| self.ident(m)).unwrap_or(Ident {
                    name: String::new(),
                    span,
                });
                let args = inner.next().map(|a| self.args(a)).unwrap_or_default();
                ExprKind::MethodCall {
                    receiver: Box::new(base),
                    method,
                    args,
                }
            }
            Rule::call => ExprKind::Call {
                callee: Box::new(base),
                args: op
                    .into_inner()
                    .next()
                    .map(|a| self.args(a))
                    .unwrap_or_default(),
            },
            _ => {
                let index_span = self.span(&op);
                let mut start = None;
                let mut range: Option<Option<Expr>> = None;
                for p in op.into_inner() {
                    match p.as_rule() {
                        Rule::index_range => {
                            range = Some(
                                p.into_inner()
                                    .find(|e| e.as_rule() == Rule::expr)
                                    .map(|e| self.expr(e)),
                            )
                        }
                        _ => start = Some(self.expr(p)),
                    }
                }
                let index = match range {
                    Some(end) => {
                        // Without the brackets: `a..b`.
                        let inner = Span::new(
                            index_span.file,
                            index_span.start as usize + 1,
                            (index_span.end as usize)
                                .saturating_sub(1)
                                .max(index_span.start as usize + 1),
                        );
                        self.expr_node(
                            ExprKind::Range {
                                start: start.map(Box::new),
                                end: end.map(Box::new),
                            },
                            inner,
                        )
                    }
                    None => start.unwrap_or_else(|| self.expr_node(ExprKind::Break, span)),
                };
                ExprKind::Index {
                    base: Box::new(base),
                    index: Box::new(index),
                }
            }
        };
        self.expr_node(kind, span)
    }

    fn infix(&self, lhs: Expr, op: Pair<Rule>, rhs: Expr) -> Expr {
        // The operands are moved into the new node: cloning them would make a flat
        // chain `1 + 1 + … + 1` quadratic in its length.
        let span = lhs.span.to(rhs.span);
        let (target, value) = (Box::new(lhs), Box::new(rhs));
        let kind = match infix_op(op.as_rule()) {
            InfixOp::Assign => ExprKind::Assign { target, value },
            InfixOp::Compound(op) => ExprKind::CompoundAssign { op, target, value },
            InfixOp::Binary(op) => ExprKind::Binary {
                op,
                lhs: target,
                rhs: value,
            },
        };
        if let ExprKind::Binary { op, lhs, .. } = &kind {
            if op.is_comparison() {
                if let ExprKind::Binary { op: inner, .. } = &lhs.kind {
                    if inner.is_comparison() {
                        self.errors.borrow_mut().push(
                            Diagnostic::error(span, "comparison operators cannot be chained")
                                .with_label("this is parsed as two comparisons")
                                .with_note("help: split the comparison into two: `a < b && b < c`"),
                        );
                    }
                }
            }
        }
        self.expr_node(kind, span)
    }

    fn args(&self, pair: Pair<Rule>) -> Vec<Expr> {
        pair.into_inner().map(|e| self.expr(e)).collect()
    }

    fn primary(&self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::float_lit | Rule::int_lit | Rule::bool_lit | Rule::string_lit => {
                match self.literal(pair) {
                    Some(lit) => ExprKind::Lit(lit),
                    None => ExprKind::Lit(Literal {
                        kind: LitKind::Int {
                            value: 0,
                            suffix: None,
                        },
                        span,
                    }),
                }
            }
            Rule::path => ExprKind::Path(pair.into_inner().map(|i| self.ident(i)).collect()),
            Rule::paren_expr => {
                let inner = pair
                    .into_inner()
                    .next()
                    .map(|e| self.expr(e))
                    .unwrap_or_else(|| self.expr_node(ExprKind::Break, span));
                ExprKind::Paren(Box::new(inner))
            }
            Rule::block => ExprKind::Block(self.block(pair)),
            Rule::break_expr => {
                if let Some(value) = pair.into_inner().find(|p| p.as_rule() == Rule::expr) {
                    let value_span = self.span(&value);
                    self.errors.borrow_mut().push(
                        Diagnostic::error(value_span, "`break` with a value is not supported")
                            .with_label("assign it to a variable declared before the loop"),
                    );
                }
                ExprKind::Break
            }
            Rule::continue_expr => ExprKind::Continue,
            Rule::return_expr => ExprKind::Return(
                pair.into_inner()
                    .find(|p| p.as_rule() == Rule::expr)
                    .map(|e| Box::new(self.expr(e))),
            ),
            Rule::macro_call => {
                let mut inner = pair.into_inner();
                let name = inner.next().map(|n| self.ident(n)).unwrap_or(Ident {
                    name: String::new(),
                    span,
                });
                let args = inner.next().map(|a| self.args(a)).unwrap_or_default();
                ExprKind::Macro { name, args }
            }
            Rule::array_lit => {
                let mut elements = Vec::new();
                let mut count = None;
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::repeat_count => count = p.into_inner().next().map(|c| self.expr(c)),
                        _ => elements.push(self.expr(p)),
                    }
                }
                match (count, elements.pop()) {
                    (Some(count), Some(value)) => ExprKind::ArrayRepeat {
                        value: Box::new(value),
                        count: Box::new(count),
                    },
                    (_, last) => ExprKind::ArrayLit(elements.into_iter().chain(last).collect()),
                }
            }
            Rule::if_expr => self.if_expr(pair),
            Rule::while_expr => {
                let mut inner = pair.into_inner().skip(1);
                let cond = inner.next().map(|e| self.expr(e));
                let body = inner.next().map(|b| self.block(b));
                match (cond, body) {
                    (Some(cond), Some(body)) => ExprKind::While {
                        cond: Box::new(cond),
                        body,
                    },
                    _ => ExprKind::Block(empty_block(span)),
                }
            }
            Rule::loop_expr => ExprKind::Loop {
                body: pair
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::block)
                    .map(|b| self.block(b))
                    .unwrap_or_else(|| empty_block(span)),
            },
            Rule::for_expr => self.for_expr(pair),
            Rule::expr => return self.expr(pair),
            _ => ExprKind::Block(empty_block(span)),
        };
        self.expr_node(kind, span)
    }

    fn if_expr(&self, pair: Pair<Rule>) -> ExprKind {
        let span = self.span(&pair);
        let mut cond = None;
        let mut then_branch = None;
        let mut else_branch = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::expr => cond = Some(self.expr(p)),
                Rule::block if then_branch.is_none() => then_branch = Some(self.block(p)),
                Rule::block | Rule::if_expr => else_branch = Some(Box::new(self.primary(p))),
                _ => {}
            }
        }
        match (cond, then_branch) {
            (Some(cond), Some(then_branch)) => ExprKind::If {
                cond: Box::new(cond),
                then_branch,
                else_branch,
            },
            _ => ExprKind::Block(empty_block(span)),
        }
    }

    fn for_expr(&self, pair: Pair<Rule>) -> ExprKind {
        let span = self.span(&pair);
        let mut var = None;
        let mut range = None;
        let mut body = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => var = Some(self.ident(p)),
                Rule::for_range => range = p.into_inner().next(),
                Rule::block => body = Some(self.block(p)),
                _ => {}
            }
        }
        let (Some(var), Some(range), Some(body)) = (var, range, body) else {
            return ExprKind::Block(empty_block(span));
        };
        let (range, step) = if range.as_rule() == Rule::stepped_range {
            let mut inner = range.into_inner();
            let r = inner.next();
            let step = inner.next().map(|s| Box::new(self.expr(s)));
            (r, step)
        } else {
            (Some(range), None)
        };
        let Some(range) = range else {
            return ExprKind::Block(empty_block(span));
        };
        let mut parts = range.into_inner();
        let start = parts.next().map(|e| self.expr(e));
        let inclusive = parts
            .next()
            .is_some_and(|p| p.as_rule() == Rule::range_inclusive);
        let end = parts.next().map(|e| self.expr(e));
        match (start, end) {
            (Some(start), Some(end)) => ExprKind::For {
                var,
                start: Box::new(start),
                end: Box::new(end),
                inclusive,
                step,
                body,
            },
            _ => ExprKind::Block(empty_block(span)),
        }
    }

    fn literal(&self, pair: Pair<Rule>) -> Option<Literal> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::int_lit => self.int_literal(&pair)?,
            Rule::float_lit => {
                let (text, suffix) = decode_float(pair.as_str());
                LitKind::Float { text, suffix }
            }
            Rule::bool_lit => LitKind::Bool(pair.as_str().starts_with('t')),
            Rule::string_lit => match decode_string(pair.as_str()) {
                Ok(s) => LitKind::Str(s),
                Err(msg) => {
                    self.error(span, msg);
                    LitKind::Str(String::new())
                }
            },
            _ => return None,
        };
        Some(Literal { kind, span })
    }

    fn int_literal(&self, pair: &Pair<Rule>) -> Option<LitKind> {
        match decode_int(pair.as_str()) {
            Ok((value, suffix)) => Some(LitKind::Int { value, suffix }),
            Err(msg) => {
                self.error(self.span(pair), msg);
                Some(LitKind::Int {
                    value: 0,
                    suffix: None,
                })
            }
        }
    }
}

/// What an infix operator rule builds.
enum InfixOp {
    Assign,
    Compound(BinaryOp),
    Binary(BinaryOp),
}

fn infix_op(rule: Rule) -> InfixOp {
    use BinaryOp::*;
    match rule {
        Rule::assign => InfixOp::Assign,
        Rule::add_assign => InfixOp::Compound(Add),
        Rule::sub_assign => InfixOp::Compound(Sub),
        Rule::mul_assign => InfixOp::Compound(Mul),
        Rule::div_assign => InfixOp::Compound(Div),
        Rule::rem_assign => InfixOp::Compound(Rem),
        Rule::and_assign => InfixOp::Compound(BitAnd),
        Rule::or_assign => InfixOp::Compound(BitOr),
        Rule::xor_assign => InfixOp::Compound(BitXor),
        Rule::shl_assign => InfixOp::Compound(Shl),
        Rule::shr_assign => InfixOp::Compound(Shr),
        Rule::or => InfixOp::Binary(Or),
        Rule::and => InfixOp::Binary(And),
        Rule::eq => InfixOp::Binary(Eq),
        Rule::ne => InfixOp::Binary(Ne),
        Rule::lt => InfixOp::Binary(Lt),
        Rule::le => InfixOp::Binary(Le),
        Rule::gt => InfixOp::Binary(Gt),
        Rule::ge => InfixOp::Binary(Ge),
        Rule::bit_or => InfixOp::Binary(BitOr),
        Rule::bit_xor => InfixOp::Binary(BitXor),
        Rule::bit_and => InfixOp::Binary(BitAnd),
        Rule::shl => InfixOp::Binary(Shl),
        Rule::shr => InfixOp::Binary(Shr),
        Rule::add => InfixOp::Binary(Add),
        Rule::sub => InfixOp::Binary(Sub),
        Rule::mul => InfixOp::Binary(Mul),
        Rule::div => InfixOp::Binary(Div),
        _ => InfixOp::Binary(Rem),
    }
}

fn empty_block(span: Span) -> Block {
    Block {
        stmts: Vec::new(),
        tail: None,
        span,
    }
}

/// Turns a pest error into a rustc-like diagnostic with human words.
fn syntax_error(file: FileId, text: &str, error: pest::error::Error<Rule>) -> Diagnostics {
    use pest::error::{ErrorVariant, InputLocation};
    let (start, end) = match error.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    // Point at the offending token (or the end of input), not at an empty range.
    let token_end = text[start.min(text.len())..]
        .char_indices()
        .find(|(_, c)| c.is_whitespace())
        .map_or(text.len(), |(i, _)| start + i);
    let end = if end > start {
        end
    } else {
        token_end.max(start)
    };
    let found = if start >= text.len() {
        "end of file".to_string()
    } else {
        format!(
            "`{}`",
            &text[start..end.min(text.len())]
                .chars()
                .take(20)
                .collect::<String>()
        )
    };
    let message = match error.variant {
        // An expression statement without `;` that is not its block's last: say so
        // at the end of the expression, where the `;` goes.
        ErrorVariant::ParsingError { positives, .. }
            if positives.contains(&Rule::semi)
                && start < text.len()
                && parse_rule(Rule::stmt, &text[start..]).is_ok() =>
        {
            let end = text[..start].trim_end().len();
            return Diagnostic::error(
                Span::new(file, end, end),
                "expected `;`, found the start of another statement",
            )
            .with_label("add `;` here")
            .into();
        }
        ErrorVariant::ParsingError { positives, .. } => {
            let mut words: Vec<&str> = positives.iter().filter_map(|r| rule_words(*r)).collect();
            words.sort_unstable();
            words.dedup();
            // An expression may start with an identifier or a block: say "expression".
            if words.contains(&"expression") {
                words.retain(|w| *w != "identifier" && *w != "`{`");
            }
            match words.len() {
                0 => format!("unexpected {found}"),
                1 => format!("expected {}, found {found}", words[0]),
                _ => {
                    let (last, rest) = words.split_last().expect("len >= 2");
                    format!(
                        "expected one of {} or {last}, found {found}",
                        rest.join(", ")
                    )
                }
            }
        }
        // pest's own limits: the step budget above, and the native stack.
        ErrorVariant::CustomError { message } if message.contains("call limit") => format!(
            "this file is too hard to parse: the parser gave up after {} steps \
             ({PARSE_STEPS_PER_BYTE} per byte); simplify the code near here",
            text.len()
                .saturating_mul(PARSE_STEPS_PER_BYTE)
                .saturating_add(PARSE_STEPS_BASE)
        ),
        ErrorVariant::CustomError { message } if message.contains("stack limit") => {
            format!("nesting too deep (more than {MAX_NESTING} levels)")
        }
        ErrorVariant::CustomError { message } => message,
    };
    Diagnostic::error(Span::new(file, start, end), message)
        .with_label("unexpected here")
        .into()
}

fn rule_words(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::expr | Rule::paren_expr | Rule::path => "expression",
        Rule::int_lit | Rule::float_lit | Rule::bool_lit | Rule::string_lit => "expression",
        Rule::if_expr | Rule::while_expr | Rule::loop_expr | Rule::for_expr => "expression",
        Rule::array_lit | Rule::macro_call => "expression",
        Rule::break_expr | Rule::continue_expr | Rule::return_expr => "expression",
        Rule::neg | Rule::not => "expression",
        Rule::ident => "identifier",
        Rule::block => "`{`",
        Rule::stmt | Rule::let_stmt | Rule::expr_stmt | Rule::block_like_stmt => "statement",
        Rule::empty_stmt | Rule::semi | Rule::repeat_count => "`;`",
        Rule::fn_item | Rule::const_item | Rule::attribute => "item",
        Rule::EOI => "end of file",
        Rule::type_expr | Rule::ref_type | Rule::array_type | Rule::unit_type => "type",
        Rule::params | Rule::param => "parameter",
        Rule::ret_type => "`->`",
        Rule::generics => "`<`",
        Rule::args => "argument",
        Rule::method_call | Rule::call | Rule::index | Rule::cast => "operator",
        Rule::range | Rule::for_range | Rule::stepped_range => "range",
        Rule::range_inclusive | Rule::range_exclusive => "`..`",
        Rule::kw_else => "`else`",
        Rule::kw_in => "`in`",
        Rule::kw_mut => "`mut`",
        r if is_binary_operator(r) => "operator",
        _ => return None,
    })
}

fn is_binary_operator(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::assign
            | Rule::add_assign
            | Rule::sub_assign
            | Rule::mul_assign
            | Rule::div_assign
            | Rule::rem_assign
            | Rule::and_assign
            | Rule::or_assign
            | Rule::xor_assign
            | Rule::shl_assign
            | Rule::shr_assign
            | Rule::or
            | Rule::and
            | Rule::eq
            | Rule::ne
            | Rule::lt
            | Rule::le
            | Rule::gt
            | Rule::ge
            | Rule::bit_or
            | Rule::bit_xor
            | Rule::bit_and
            | Rule::shl
            | Rule::shr
            | Rule::add
            | Rule::sub
            | Rule::mul
            | Rule::div
            | Rule::rem
    )
}
