//! The parser: kern source text → owned AST with byte spans.
//!
//! pest does the lexing and the statement/item structure from `grammar.pest`; a
//! `PrattParser` folds flat operator sequences with Rust's precedence and
//! associativity. Pairs are converted to the AST immediately, so nothing outside this
//! module sees pest. Syntax errors become [`Diagnostic`]s with human words for what
//! was expected; no input makes the parser panic or overflow the stack.
//!
//! This file owns running the grammar and its limits (source size, nesting depth,
//! the step budget that keeps parse time linear, the parse thread's stack) and the
//! AST builder's state; the AST is built by concern in `items`, `type_exprs`,
//! `blocks` and `expressions`, and pest errors are worded in `errors`.

use std::cell::{Cell, RefCell};
use std::num::NonZeroUsize;
use std::sync::{Mutex, OnceLock, PoisonError};

use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest::Parser as _;

use super::ast::*;
use super::literals::{decode_float, decode_int, decode_string};
use crate::diagnostics::{Diagnostic, Diagnostics, FileId, Span};

mod blocks;
mod errors;
mod expressions;
mod items;
mod type_exprs;

use blocks::empty_block;
use errors::syntax_error;

#[derive(pest_derive::Parser)]
#[grammar = "grammar.pest"]
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

/// Parses a stdlib file on the calling thread: what the compiler's build script
/// does with every file (no program parses the stdlib at run time). Its
/// nesting is shallow and fixed, so it needs no parse thread of its own. The
/// nesting limit still applies.
pub fn parse_stdlib(file: FileId, text: &str) -> Result<SourceUnit, Diagnostics> {
    parse_here(file, text)
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

/// The name of an item or call whose identifier did not parse (the syntax error is
/// reported already): empty, at the construct's span.
fn missing_ident(span: Span) -> Ident {
    Ident {
        name: String::new(),
        span,
    }
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
}
