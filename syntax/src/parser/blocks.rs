//! Building blocks, statements and the block-like expressions (`if`, `for`)
//! from the parse: whether a statement ends in `;` is read off the parse here, so
//! the grammar parses every statement once. Operators and primaries are built in
//! `expressions`.

use super::*;

impl AstBuilder {
    pub(super) fn block(&self, pair: Pair<Rule>) -> Block {
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

    pub(super) fn stmt(&self, pair: Pair<Rule>) -> Option<Stmt> {
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

    pub(super) fn if_expr(&self, pair: Pair<Rule>) -> ExprKind {
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

    pub(super) fn for_expr(&self, pair: Pair<Rule>) -> ExprKind {
        let span = self.span(&pair);
        let mut var = None;
        let mut range = None;
        let mut body = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => var = Some(self.ident(p)),
                Rule::for_range => range = Some(p),
                Rule::block => body = Some(self.block(p)),
                _ => {}
            }
        }
        // The body's nodes are numbered before the range's, as they always were.
        let range = range.and_then(|r| self.for_range(r));
        match (var, range, body) {
            (Some(var), Some(range), Some(body)) => ExprKind::For {
                var,
                start: Box::new(range.start),
                end: Box::new(range.end),
                inclusive: range.inclusive,
                step: range.step,
                body,
            },
            _ => ExprKind::Block(empty_block(span)),
        }
    }

    /// The bounds of a `for` loop: `a..b` and `a..=b`, or a parenthesised range
    /// `(a..b)` alone or followed by `.step_by(s)` (the grammar parses the latter
    /// as an expression, once; see `paren_expr`). Anything else is an error.
    fn for_range(&self, pair: Pair<Rule>) -> Option<ForRange> {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let first = parts.next()?;
        if let (Some(op), Some(end)) = (parts.next(), parts.next()) {
            return Some(ForRange {
                start: self.expr(first),
                end: self.expr(end),
                inclusive: op.as_rule() == Rule::range_inclusive,
                step: None,
            });
        }
        let mut terms = first.into_inner();
        let (paren, step, rest) = (terms.next(), terms.next(), terms.next());
        let range = paren
            .filter(|p| p.as_rule() == Rule::paren_expr)
            .map(|p| p.into_inner().collect::<Vec<_>>())
            .filter(|inner| inner.len() == 3);
        let step = match step {
            None => Some(None),
            Some(call) if call.as_rule() == Rule::method_call => self.step_by(call).map(Some),
            Some(_) => None,
        };
        match (range, step, rest) {
            (Some(inner), Some(step), None) => {
                let [start, op, end] = <[Pair<Rule>; 3]>::try_from(inner).ok()?;
                let (start, end) = (self.expr(start), self.expr(end));
                let inclusive = op.as_rule() == Rule::range_inclusive;
                Some(ForRange {
                    start,
                    end,
                    inclusive,
                    step: step.map(Box::new),
                })
            }
            _ => {
                self.error(
                    span,
                    "expected a range: `start..end`, `start..=end` or \
                     `(start..end).step_by(step)`",
                );
                None
            }
        }
    }

    /// The step of `.step_by(step)` after a parenthesised range (no other method).
    fn step_by(&self, call: Pair<Rule>) -> Option<Expr> {
        let mut inner = call.into_inner();
        let name = inner.next()?;
        let mut args = inner.next()?.into_inner();
        match (name.as_str(), args.next(), args.next()) {
            ("step_by", Some(step), None) => Some(self.expr(step)),
            _ => None,
        }
    }
}

/// The bounds of a `for` loop, as built from its range.
struct ForRange {
    start: Expr,
    end: Expr,
    inclusive: bool,
    step: Option<Box<Expr>>,
}

pub(super) fn empty_block(span: Span) -> Block {
    Block {
        stmts: Vec::new(),
        tail: None,
        span,
    }
}
