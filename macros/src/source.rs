//! Turns the tokens of an annotated Rust function back into kern source text, and
//! remembers which token every byte range of that text came from.
//!
//! Each token is written at the line and column rustc says it has in the user's
//! file, so a kern diagnostic or run-time trap rendered against this text names
//! the real `file:line:col` (comments and everything outside the item are blank).
//! Where a token's position is unknown or out of order (tokens made by another
//! macro), it is written after a space instead. The attribute is written in kern's
//! spelling (`#[vectorize(..)]`, not `#[kern::vectorize(..)]`). This file knows
//! tokens and text, not what kern does with them.

use proc_macro::{Delimiter, Span, TokenStream, TokenTree};

/// Kern source text and, for each token written, its byte range and its span.
pub struct CapturedSource {
    pub text: String,
    tokens: Vec<(std::ops::Range<usize>, Span)>,
}

impl CapturedSource {
    /// Captures `#[<attribute>(<args>)] <item>` as kern text (`item` already without
    /// what kern does not parse: doc comments, visibility).
    pub fn capture(attribute: &str, args: TokenStream, item: TokenStream) -> CapturedSource {
        let mut writer = Writer::default();
        writer.raw("#[");
        writer.raw(attribute);
        if !args.is_empty() {
            writer.raw("(");
            writer.stream(args);
            writer.raw(")");
        }
        writer.raw("]");
        writer.stream(item);
        CapturedSource {
            text: writer.text,
            tokens: writer.tokens,
        }
    }

    /// The spans of the first and last tokens overlapping `range` of the text, for
    /// an error covering them; `None` when no token does (text the macro wrote).
    pub fn spans_of(&self, range: std::ops::Range<usize>) -> Option<(Span, Span)> {
        let overlapping = |r: &std::ops::Range<usize>| {
            r.start < range.end.max(range.start + 1) && range.start < r.end
        };
        let first = self.tokens.iter().find(|(r, _)| overlapping(r))?;
        let last = self.tokens.iter().rev().find(|(r, _)| overlapping(r))?;
        Some((first.1, last.1))
    }
}

#[derive(Default)]
struct Writer {
    text: String,
    /// 1-based line and column (in chars) where the next character goes.
    line: usize,
    column: usize,
    tokens: Vec<(std::ops::Range<usize>, Span)>,
    /// The previous token was a `Joint` punct (`+` of `+=`): nothing may separate
    /// it from the next one.
    glued: bool,
}

impl Writer {
    fn raw(&mut self, s: &str) {
        if self.line == 0 {
            (self.line, self.column) = (1, 1);
        }
        for c in s.chars() {
            if c == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        self.text.push_str(s);
    }

    /// Moves to where `span` starts in the user's file, or past a space when that
    /// is behind us.
    fn move_to(&mut self, span: Span) {
        let (line, column) = (span.line(), span.column());
        if (line, column) > (self.line, self.column) {
            if line > self.line {
                self.raw(&"\n".repeat(line - self.line));
            }
            self.raw(&" ".repeat(column - self.column));
        } else if !self.glued && !self.text.is_empty() && (line, column) < (self.line, self.column)
        {
            self.raw(" ");
        }
    }

    fn token(&mut self, span: Span, text: &str) {
        self.move_to(span);
        let start = self.text.len();
        self.raw(text);
        self.tokens.push((start..self.text.len(), span));
    }

    fn stream(&mut self, stream: TokenStream) {
        for tree in stream {
            match tree {
                TokenTree::Group(group) => {
                    let (open, close) = match group.delimiter() {
                        Delimiter::Parenthesis => ("(", ")"),
                        Delimiter::Brace => ("{", "}"),
                        Delimiter::Bracket => ("[", "]"),
                        Delimiter::None => ("", ""),
                    };
                    self.glued = false;
                    if !open.is_empty() {
                        self.token(group.span_open(), open);
                    }
                    self.stream(group.stream());
                    self.glued = false;
                    if !close.is_empty() {
                        self.token(group.span_close(), close);
                    }
                }
                TokenTree::Punct(punct) => {
                    self.token(punct.span(), &punct.as_char().to_string());
                    self.glued = punct.spacing() == proc_macro::Spacing::Joint;
                    continue;
                }
                TokenTree::Ident(ident) => self.token(ident.span(), &ident.to_string()),
                TokenTree::Literal(literal) => self.token(literal.span(), &literal.to_string()),
            }
            self.glued = false;
        }
    }
}
