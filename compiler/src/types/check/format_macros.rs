//! Checking macro calls: `println!`/`print!` and their format strings
//! (placeholders against arguments), `assert!` and `assert_eq!`. Knows nothing of
//! how output is produced.

use super::*;

impl FnChecker<'_, '_> {
    pub(super) fn macro_call(&mut self, e: &Expr, name: &Ident, args: &[Expr]) -> Ty {
        match name.name.as_str() {
            "println" | "print" => {
                let newline = name.name == "println";
                let (pieces, rest) = match args.first().map(|a| &a.kind) {
                    None if newline => (Vec::new(), args),
                    Some(ExprKind::Lit(Literal {
                        kind: LitKind::Str(s),
                        span,
                    })) => match parse_format_string(s) {
                        Ok(p) => (p, &args[1..]),
                        Err(msg) => return self.error(*span, msg),
                    },
                    _ => {
                        return self.error(
                            args.first().map_or(e.span, |a| a.span),
                            format!(
                                "`{}!` needs a format string literal as its first argument",
                                name.name
                            ),
                        )
                    }
                };
                let wanted = FormatPiece::arg_count(&pieces);
                if wanted != rest.len() {
                    let s = |n: usize| if n == 1 { "" } else { "s" };
                    return self.error(
                        e.span,
                        format!("{wanted} positional argument{} in format string, but {} argument{} given", s(wanted), rest.len(), s(rest.len())),
                    );
                }
                for a in rest {
                    let t = self.expr(a);
                    if self.host && matches!(self.inf.resolve(t), Ty::HostArray(_)) {
                        continue;
                    }
                    if !matches!(self.inf.resolve(t), Ty::Scalar(_) | Ty::Var(_) | Ty::Error) {
                        let d = self.inf.describe(t);
                        self.error(a.span, format!("`{d}` cannot be printed"));
                    }
                }
                self.resolve(e, Resolution::Print { pieces, newline });
                Ty::Unit
            }
            "assert" => {
                if args.is_empty() {
                    return self.error(
                        e.span,
                        "`assert!` takes a condition and an optional message",
                    );
                }
                if args.len() > 2 {
                    // The message travels with the trap as text fixed at compile
                    // time; formatting run-time values into it is not built yet.
                    return self.error(
                        args[2].span,
                        "`assert!` messages with format arguments are not supported",
                    );
                }
                let c = self.expr(&args[0]);
                self.expect(c, Ty::Scalar(ScalarType::Bool), args[0].span);
                if let Some(msg) = args.get(1) {
                    if !matches!(
                        msg.kind,
                        ExprKind::Lit(Literal {
                            kind: LitKind::Str(_),
                            ..
                        })
                    ) {
                        self.error(
                            msg.span,
                            "the message of `assert!` must be a string literal",
                        );
                    }
                }
                Ty::Unit
            }
            "assert_eq" => {
                if args.len() != 2 {
                    return self.error(e.span, "`assert_eq!` takes two arguments");
                }
                let a = self.expr(&args[0]);
                let b = self.expr(&args[1]);
                self.expect(b, a, args[1].span);
                if let Ty::HostArray(_) = self.inf.resolve(a) {
                    return self.error(
                        e.span,
                        "`assert_eq!` compares scalars; compare arrays element by element",
                    );
                }
                Ty::Unit
            }
            other => self.error(
                name.span,
                format!("cannot find macro `{other}` in this scope"),
            ),
        }
    }
}
