//! Runs kern's front end (parse, type check, lowering) on the captured source while
//! rustc compiles, and turns kern diagnostics into `compile_error!`s at the spans
//! of the Rust tokens they point at.
//!
//! What a successful check yields is what the expansion needs to know about the
//! function (its declaration and, for ufuncs and gufuncs, how the runtime will see
//! it); the expansion itself is elsewhere.

use kern_compiler::diagnostics::{Diagnostic, SourceMap};
use kern_compiler::frontend::{self, Compiled};
use kern_compiler::syntax::ast::{FnDecl, Item};
use kern_compiler::FileId;
use proc_macro2::{Delimiter, Group, Literal, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};

use crate::source::CapturedSource;

/// A function kern accepted.
pub struct Checked {
    pub decl: FnDecl,
    pub compiled: Compiled,
}

/// Checks `source`; on failure, the `compile_error!`s to emit.
pub fn check(source: &CapturedSource, macro_name: &str) -> Result<Checked, TokenStream> {
    let decl = parse_one_fn(source, macro_name)?;
    let name = "<item>";
    let mut sources = SourceMap::new();
    let file = sources.add(name, source.text.clone());
    match frontend::compile(&mut sources, file) {
        Ok(compiled) => Ok(Checked { decl, compiled }),
        Err(diagnostics) => {
            // The front end rebuilds the source map with the stdlib first; the
            // user's text is the file that kept our name.
            let user_file = sources
                .files()
                .find(|(_, f)| f.name == name)
                .map(|(id, _)| id);
            Err(diagnostics
                .0
                .iter()
                .map(|d| {
                    let spans = (Some(d.span.file) == user_file)
                        .then(|| source.spans_of(d.span.range()))
                        .flatten();
                    compile_error(&message_of(d), spans)
                })
                .collect())
        }
    }
}

/// The item, parsed by kern: exactly one function.
fn parse_one_fn(source: &CapturedSource, macro_name: &str) -> Result<FnDecl, TokenStream> {
    let unit = kern_compiler::syntax::parse(FileId(0), &source.text).map_err(|diagnostics| {
        diagnostics
            .0
            .iter()
            .map(|d| compile_error(&message_of(d), source.spans_of(d.span.range())))
            .collect::<TokenStream>()
    })?;
    let mut functions = unit.items.into_iter().filter_map(|item| match item {
        Item::Fn(decl) => Some(decl),
        _ => None,
    });
    match (functions.next(), functions.next()) {
        (Some(decl), None) => Ok(decl),
        _ => Err(compile_error(
            &format!("#[kern::{macro_name}] goes on one function"),
            None,
        )),
    }
}

/// The diagnostic as one message: rustc shows only the text of a
/// `compile_error!`, so the label and notes follow the message.
fn message_of(d: &Diagnostic) -> String {
    let mut text = d.message.clone();
    if let Some(label) = &d.label {
        text.push_str(&format!(": {label}"));
    }
    for note in &d.notes {
        text.push_str(&format!("\n= note: {note}"));
    }
    text
}

/// `compile_error!(message)` covering the tokens from `spans.0` to `spans.1` (or
/// the attribute when the error is not in the user's tokens). rustc reports a
/// macro call from the span of its path to that of its delimiters, so giving the
/// path the first span and the braces the last one underlines the whole range.
pub fn compile_error(
    message: &str,
    spans: Option<(proc_macro::Span, proc_macro::Span)>,
) -> TokenStream {
    let (start, end) = match spans {
        Some((start, end)) => (Span::from(start), Span::from(end)),
        None => (Span::call_site(), Span::call_site()),
    };
    let mut bang = Punct::new('!', Spacing::Alone);
    bang.set_span(start);
    let mut text = Literal::string(message);
    text.set_span(end);
    let mut body = Group::new(Delimiter::Brace, TokenTree::from(text).into());
    body.set_span(end);
    let path = quote_spanned!(start=> ::core::compile_error);
    quote!(#path #bang #body)
}
