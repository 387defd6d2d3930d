//! Building type expressions from the parse: scalar names, arrays with named or
//! literal dimensions, host arrays (`Array<T>`) and borrows.

use super::*;

impl AstBuilder {
    pub(super) fn type_expr(&self, pair: Pair<Rule>) -> TypeExpr {
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
                let name = parts
                    .next()
                    .map(|n| self.ident(n))
                    .unwrap_or_else(|| missing_ident(span));
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
}
