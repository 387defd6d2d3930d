//! The abstract syntax tree of a kern source file.
//!
//! Owned, span-carrying nodes produced by the parser and consumed by the type
//! checker. Every expression has an [`ExprId`] (unique within one parsed file) so
//! later stages can attach types in side tables without mutating the tree. The AST
//! is purely syntactic: names are unresolved and no types are known here.

use crate::diagnostics::{FileId, Span};
use crate::scalar::ScalarType;
use serde::{Deserialize, Serialize};

/// Identifies an expression within one parsed [`SourceUnit`]; dense from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ExprId(pub u32);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// One parsed file: its items in source order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceUnit {
    pub file: FileId,
    pub items: Vec<Item>,
    /// Number of `ExprId`s handed out (ids are `0..expr_count`).
    pub expr_count: u32,
}

impl SourceUnit {
    /// Its functions, in source order.
    pub fn functions(&self) -> impl Iterator<Item = &FnDecl> {
        self.items.iter().filter_map(|item| match item {
            Item::Fn(decl) => Some(decl),
            Item::Const(_) => None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Item {
    Fn(FnDecl),
    Const(ConstDecl),
}

/// `#[name]`, `#[name(args)]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    pub name: Ident,
    pub args: Vec<AttrArg>,
    pub span: Span,
}

/// One argument inside an attribute's parentheses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AttrArg {
    /// `target = "parallel"`
    KeyValue { key: Ident, value: Literal },
    /// `"(m,n),(n,p)->(m,p)"`
    Literal(Literal),
    /// `f32`, `reorderable`
    Ident(Ident),
}

/// `const NAME: TYPE = EXPR;` — a scalar or a fixed-size array of scalars
/// (e.g. a coefficient table in the stdlib).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConstDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FnDecl {
    pub attrs: Vec<Attribute>,
    pub name: Ident,
    /// `<T: Float, U: Int>`
    pub generics: Vec<GenericParam>,
    pub params: Vec<Param>,
    /// `None` for `()`.
    pub ret: Option<TypeExpr>,
    pub body: Block,
    /// The whole item, attributes included.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenericParam {
    pub name: Ident,
    /// The trait bound (`Float`, `Int`, `Num`); `None` when unbounded.
    pub bound: Option<Ident>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// `mut x: f64` is allowed, as in Rust.
    pub mutable: bool,
    pub name: Ident,
    pub ty: TypeExpr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TypeExprKind {
    /// `f64`, `usize`, `bool`, or a generic parameter `T`. Scalar names are *not*
    /// resolved by the parser (the checker does that), so this is just the name.
    Named(Ident),
    /// `&T` / `&mut T`
    Ref { mutable: bool, inner: Box<TypeExpr> },
    /// `[T]`
    Slice(Box<TypeExpr>),
    /// `[T; N]`
    Array { elem: Box<TypeExpr>, len: ArrayLen },
    /// `()`
    Unit,
    /// `Array<f64>`: a name with type arguments (host arrays in `main`).
    Generic { name: Ident, args: Vec<TypeExpr> },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ArrayLen {
    /// `[f64; 3]`
    Literal(u64, Span),
    /// `[f64; N]`: a named core dimension, a usize value inside the body.
    Named(Ident),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    /// The final expression without a semicolon: the block's value.
    pub tail: Option<Box<Expr>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StmtKind {
    /// `let [mut] name [: ty] [= init];`
    Let {
        mutable: bool,
        name: Ident,
        ty: Option<TypeExpr>,
        init: Option<Expr>,
    },
    /// An expression statement. `has_semi` is false for block-like expressions
    /// (`if`, `while`, `loop`, `for`, blocks) written without a trailing `;`.
    Expr { expr: Expr, has_semi: bool },
    /// A stray `;`.
    Empty,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    pub id: ExprId,
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `!x` (logical for bool, bitwise for integers)
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `&&` (short-circuit)
    And,
    /// `||` (short-circuit)
    Or,
}

/// `e` without the parentheses around it: `((x))` → `x`.
pub fn strip_parens(e: &Expr) -> &Expr {
    match &e.kind {
        ExprKind::Paren(inner) => strip_parens(inner),
        _ => e,
    }
}

/// `a[i][j]` → (`a`, [`i`, `j`]): the base of an index chain and its indices,
/// outermost axis first.
pub fn flatten_index(e: &Expr) -> (&Expr, Vec<&Expr>) {
    let mut indices = Vec::new();
    let mut base = e;
    while let ExprKind::Index { base: b, index } = &base.kind {
        indices.push(index.as_ref());
        base = b;
    }
    indices.reverse();
    (base, indices)
}

impl BinaryOp {
    /// The operator as written in source.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
            BinaryOp::BitAnd => "&",
            BinaryOp::BitOr => "|",
            BinaryOp::BitXor => "^",
            BinaryOp::Shl => "<<",
            BinaryOp::Shr => ">>",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::And => "&&",
            BinaryOp::Or => "||",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ExprKind {
    Lit(Literal),
    /// `x`, `PI`, `f64::from_bits`, `random::uniform`, `f64::MAX` — segments of a path.
    Path(Vec<Ident>),
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `target = value`
    Assign {
        target: Box<Expr>,
        value: Box<Expr>,
    },
    /// `target op= value` where `op` is arithmetic or bitwise (never a comparison).
    CompoundAssign {
        op: BinaryOp,
        target: Box<Expr>,
        value: Box<Expr>,
    },
    /// `expr as ty`
    Cast {
        expr: Box<Expr>,
        ty: TypeExpr,
    },
    /// `callee(args)`; `callee` is a `Path` in valid programs, but any expression
    /// parses here so the checker can report a good error.
    Call {
        callee: Box<Expr>,
        args: Vec<Expr>,
    },
    /// `receiver.method(args)`
    MethodCall {
        receiver: Box<Expr>,
        method: Ident,
        args: Vec<Expr>,
    },
    /// `base[index]`; `a[i][j]` is `Index { base: Index { a, i }, j }`.
    Index {
        base: Box<Expr>,
        index: Box<Expr>,
    },
    /// `if cond { .. } [else ..]`; `else_branch` is a `Block` or another `If`.
    If {
        cond: Box<Expr>,
        then_branch: Block,
        else_branch: Option<Box<Expr>>,
    },
    While {
        cond: Box<Expr>,
        body: Block,
    },
    Loop {
        body: Block,
    },
    /// `for var in start..end { }`, `for var in start..=end { }`,
    /// `for var in (start..end).step_by(step) { }`.
    For {
        var: Ident,
        start: Box<Expr>,
        end: Box<Expr>,
        inclusive: bool,
        step: Option<Box<Expr>>,
        body: Block,
    },
    Break,
    Continue,
    Return(Option<Box<Expr>>),
    Block(Block),
    /// `(expr)` — kept so spans and pretty-printing stay faithful.
    Paren(Box<Expr>),
    /// `println!(..)`, `print!(..)`, `assert!(..)`, `assert_eq!(..)`. For printing
    /// macros the first argument is the format string literal.
    Macro {
        name: Ident,
        args: Vec<Expr>,
    },
    /// `[a, b, c]` (const tables).
    ArrayLit(Vec<Expr>),
    /// `[value; count]`
    ArrayRepeat {
        value: Box<Expr>,
        count: Box<Expr>,
    },
    /// `&expr` / `&mut expr`: borrowing an array for a call.
    Ref {
        mutable: bool,
        expr: Box<Expr>,
    },
    /// `a..b`, `a..`, `..b`, `..`: only as the index of a slice, `x[a..b]`.
    Range {
        start: Option<Box<Expr>>,
        end: Option<Box<Expr>>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Literal {
    pub kind: LitKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LitKind {
    /// An integer literal; `value` is exact (hex/binary/octal/decimal decoded,
    /// underscores removed). A literal too large for u128 is a parse error.
    Int {
        value: u128,
        suffix: Option<ScalarType>,
    },
    /// A float literal. `text` is the decimal text without underscores or suffix
    /// (e.g. `"1.5e-3"`), so the checker can round it directly to f32 or f64 once
    /// the type is known (parsing to f64 first would round twice).
    Float {
        text: String,
        suffix: Option<ScalarType>,
    },
    Bool(bool),
    /// A string literal with escapes decoded (only in macros and attributes).
    Str(String),
}
