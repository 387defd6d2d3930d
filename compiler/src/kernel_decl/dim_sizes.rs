//! Sizes of output-only core dimensions, kern's answer to NumPy's
//! `process_core_dims` hook: `#[guvectorize("(m),(n)->(p)", p = "m + n - 1")]`
//! declares that an output's dimension `p`, which no input has, is `m + n - 1`.
//!
//! The expression is integer arithmetic over the inputs' core dimensions:
//! non-negative integer literals, dimension names, `+ - * / %` (`/` and `%` of
//! non-negative sizes: floor), `min(a, b)`, `max(a, b)` and parentheses. It is
//! parsed and checked at compile time ([`parse_size`]; which names it may use is
//! the declaration's business, `gufunc.rs`) and evaluated at call time from the
//! bound sizes ([`SizeExpr::eval`]). It knows no arrays, shapes or spans.

/// A declared size: `dim = text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DimSize {
    /// The output-only dimension it sizes.
    pub dim: String,
    pub expr: SizeExpr,
    /// The expression as written, for messages.
    pub text: String,
}

/// A size expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SizeExpr {
    Int(u64),
    Dim(String),
    Binary(SizeOp, Box<SizeExpr>, Box<SizeExpr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Min,
    Max,
}

impl SizeExpr {
    /// The value for the dimension sizes `size_of` gives; `None` when it divides by
    /// zero or leaves `i128` (the caller then reports the declaration).
    pub fn eval(&self, size_of: &dyn Fn(&str) -> u64) -> Option<i128> {
        Some(match self {
            SizeExpr::Int(v) => i128::from(*v),
            SizeExpr::Dim(name) => i128::from(size_of(name)),
            SizeExpr::Binary(op, a, b) => {
                let (a, b) = (a.eval(size_of)?, b.eval(size_of)?);
                match op {
                    SizeOp::Add => a.checked_add(b)?,
                    SizeOp::Sub => a.checked_sub(b)?,
                    SizeOp::Mul => a.checked_mul(b)?,
                    SizeOp::Div => a.checked_div_euclid(b)?,
                    SizeOp::Rem => a.checked_rem_euclid(b)?,
                    SizeOp::Min => a.min(b),
                    SizeOp::Max => a.max(b),
                }
            }
        })
    }

    /// Every dimension name it reads, in order.
    pub fn names(&self) -> Vec<&str> {
        match self {
            SizeExpr::Int(_) => Vec::new(),
            SizeExpr::Dim(name) => vec![name],
            SizeExpr::Binary(_, a, b) => {
                let mut names = a.names();
                names.extend(b.names());
                names
            }
        }
    }
}

/// A syntax error in a size expression: what, and the byte offset in the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SizeSyntaxError {
    pub message: String,
    pub offset: usize,
}

/// Nesting deeper than this is refused (the parser recurses).
const MAX_DEPTH: usize = 64;

/// Parses a size expression.
pub fn parse_size(text: &str) -> Result<SizeExpr, SizeSyntaxError> {
    let mut p = Parser {
        bytes: text.as_bytes(),
        at: 0,
        depth: 0,
    };
    let expr = p.sum()?;
    p.skip_spaces();
    if p.at < p.bytes.len() {
        return Err(p.error("expected an operator or the end of the size"));
    }
    Ok(expr)
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, message: &str) -> SizeSyntaxError {
        SizeSyntaxError {
            message: message.into(),
            offset: self.at,
        }
    }

    fn skip_spaces(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_spaces();
        let found = self.bytes.get(self.at) == Some(&byte);
        if found {
            self.at += 1;
        }
        found
    }

    /// `product (('+' | '-') product)*`
    fn sum(&mut self) -> Result<SizeExpr, SizeSyntaxError> {
        let mut left = self.product()?;
        loop {
            let op = if self.eat(b'+') {
                SizeOp::Add
            } else if self.eat(b'-') {
                SizeOp::Sub
            } else {
                return Ok(left);
            };
            left = SizeExpr::Binary(op, Box::new(left), Box::new(self.product()?));
        }
    }

    /// `atom (('*' | '/' | '%') atom)*`
    fn product(&mut self) -> Result<SizeExpr, SizeSyntaxError> {
        let mut left = self.atom()?;
        loop {
            let op = if self.eat(b'*') {
                SizeOp::Mul
            } else if self.eat(b'/') {
                SizeOp::Div
            } else if self.eat(b'%') {
                SizeOp::Rem
            } else {
                return Ok(left);
            };
            left = SizeExpr::Binary(op, Box::new(left), Box::new(self.atom()?));
        }
    }

    /// An integer, a name, `min(a, b)`, `max(a, b)` or `( sum )`.
    fn atom(&mut self) -> Result<SizeExpr, SizeSyntaxError> {
        self.skip_spaces();
        let start = self.at;
        let word_end = |p: &Self| {
            let mut end = p.at;
            while p
                .bytes
                .get(end)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            {
                end += 1;
            }
            end
        };
        match self.bytes.get(self.at) {
            Some(b) if b.is_ascii_digit() => {
                let end = word_end(self);
                let digits = std::str::from_utf8(&self.bytes[start..end]).unwrap_or("");
                let value = digits
                    .parse()
                    .map_err(|_| self.error("expected a non-negative integer"))?;
                self.at = end;
                Ok(SizeExpr::Int(value))
            }
            Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {
                let end = word_end(self);
                let name = String::from_utf8_lossy(&self.bytes[start..end]).into_owned();
                self.at = end;
                let op = match name.as_str() {
                    "min" => SizeOp::Min,
                    "max" => SizeOp::Max,
                    _ => return Ok(SizeExpr::Dim(name)),
                };
                if !self.eat(b'(') {
                    return Err(self.error(&format!("expected `(` after `{name}`")));
                }
                let a = self.nested()?;
                if !self.eat(b',') {
                    return Err(self.error("expected `,`"));
                }
                let b = self.nested()?;
                if !self.eat(b')') {
                    return Err(self.error("expected `)`"));
                }
                Ok(SizeExpr::Binary(op, Box::new(a), Box::new(b)))
            }
            Some(b'(') => {
                self.at += 1;
                let inner = self.nested()?;
                if !self.eat(b')') {
                    return Err(self.error("expected `)`"));
                }
                Ok(inner)
            }
            _ => Err(self.error(
                "expected a dimension name, a non-negative integer, `min(..)`, `max(..)` or `(`",
            )),
        }
    }

    fn nested(&mut self) -> Result<SizeExpr, SizeSyntaxError> {
        if self.depth == MAX_DEPTH {
            return Err(self.error("the size expression is nested too deeply"));
        }
        self.depth += 1;
        let inner = self.sum();
        self.depth -= 1;
        inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, m: u64, n: u64) -> Option<i128> {
        parse_size(text)
            .unwrap()
            .eval(&|name| if name == "m" { m } else { n })
    }

    #[test]
    fn sizes_are_integer_arithmetic_over_dimensions() {
        assert_eq!(value("m + n - 1", 5, 3), Some(7));
        assert_eq!(value("2 * (m + 1) - n", 5, 3), Some(9));
        assert_eq!(value("m / 2 + m % 2", 7, 0), Some(4));
        assert_eq!(value("max(m, n) - min(m, n)", 2, 9), Some(7));
        assert_eq!(value("m - n", 1, 3), Some(-2));
        assert_eq!(value("m / n", 1, 0), None);
        assert_eq!(parse_size("m*n+m").unwrap().names(), ["m", "n", "m"]);
    }

    #[test]
    fn syntax_errors_say_where() {
        let err = |text| parse_size(text).unwrap_err();
        assert_eq!(err("m +").offset, 3);
        assert_eq!(
            err("m n").message,
            "expected an operator or the end of the size"
        );
        assert_eq!(err("min(m)").message, "expected `,`");
        assert_eq!(err("-1").offset, 0);
        assert_eq!(
            err("99999999999999999999999").message,
            "expected a non-negative integer"
        );
        let deep = format!("{}m{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(
            err(&deep).message,
            "the size expression is nested too deeply"
        );
    }
}
