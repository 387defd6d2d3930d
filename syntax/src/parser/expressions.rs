//! Building expressions from the parse: the Pratt parser folds flat operator
//! sequences with Rust's precedence and associativity; postfix forms (calls,
//! methods, indexing, casts), primaries and literals. Moves operands into new
//! nodes (never clones them), so long flat chains build in linear time.

use super::*;

/// What an infix operator rule builds.
enum InfixOp {
    Assign,
    Compound(BinaryOp),
    Binary(BinaryOp),
}

impl AstBuilder {
    pub(super) fn expr(&self, pair: Pair<Rule>) -> Expr {
        let pairs = pair.into_inner();
        self.pratt_expr(pairs)
    }

    pub(super) fn pratt_expr(&self, pairs: Pairs<Rule>) -> Expr {
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

    pub(super) fn postfix(&self, base: Expr, op: Pair<Rule>) -> Expr {
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
                let method = inner
                    .next()
                    .map(|m| self.ident(m))
                    .unwrap_or_else(|| missing_ident(span));
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

    pub(super) fn infix(&self, lhs: Expr, op: Pair<Rule>, rhs: Expr) -> Expr {
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

    pub(super) fn args(&self, pair: Pair<Rule>) -> Vec<Expr> {
        pair.into_inner().map(|e| self.expr(e)).collect()
    }

    pub(super) fn primary(&self, pair: Pair<Rule>) -> Expr {
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
                let mut inner = pair.into_inner();
                let value = inner
                    .next()
                    .map(|e| self.expr(e))
                    .unwrap_or_else(|| self.expr_node(ExprKind::Break, span));
                if inner.next().is_some() {
                    self.error(
                        span,
                        "a range `a..b` can only be the bounds of a `for` loop",
                    );
                }
                ExprKind::Paren(Box::new(value))
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
                let name = inner
                    .next()
                    .map(|n| self.ident(n))
                    .unwrap_or_else(|| missing_ident(span));
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

    pub(super) fn literal(&self, pair: Pair<Rule>) -> Option<Literal> {
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

    pub(super) fn int_literal(&self, pair: &Pair<Rule>) -> Option<LitKind> {
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
