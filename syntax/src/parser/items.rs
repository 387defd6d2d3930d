//! Building items from the parse: functions (attributes, generics, parameters,
//! return type) and constants. Types are built in `type_exprs`, bodies in
//! `blocks`.

use super::*;

impl AstBuilder {
    pub(super) fn fn_item(&self, pair: Pair<Rule>) -> FnDecl {
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
            name: name.unwrap_or_else(|| missing_ident(span)),
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

    pub(super) fn attribute(&self, pair: Pair<Rule>) -> Attribute {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = inner
            .next()
            .map(|n| self.ident(n))
            .unwrap_or_else(|| missing_ident(span));
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

    pub(super) fn param(&self, pair: Pair<Rule>) -> Param {
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
            name: name.unwrap_or_else(|| missing_ident(span)),
            ty: ty.unwrap_or(TypeExpr {
                kind: TypeExprKind::Unit,
                span,
            }),
            span,
        }
    }

    pub(super) fn const_item(&self, pair: Pair<Rule>) -> ConstDecl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        inner.next(); // `const`
        let name = inner.next().map(|p| self.ident(p));
        let ty = inner.next().map(|p| self.type_expr(p));
        let value = inner.next().map(|p| self.expr(p));
        ConstDecl {
            name: name.unwrap_or_else(|| missing_ident(span)),
            ty: ty.unwrap_or(TypeExpr {
                kind: TypeExprKind::Unit,
                span,
            }),
            value: value
                .unwrap_or_else(|| self.expr_node(ExprKind::Block(empty_block(span)), span)),
            span,
        }
    }
}
