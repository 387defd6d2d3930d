//! kern-macros: the attribute macros `#[kern::vectorize]`, `#[kern::guvectorize]`,
//! `#[kern::jit]` and `#[kern::kernel]`. Use them through the `kern` crate, whose
//! documentation shows the generated API with examples.
//!
//! Each macro writes the annotated function back out as kern source (in kern's
//! attribute spelling, every token at its place in the Rust file), runs kern's
//! front end on it while rustc compiles — a kern syntax or type error becomes a
//! `compile_error!` at the tokens it points at — and expands to a function and a
//! module named after it that build the kern module lazily at run time from the
//! captured text. This crate must not depend on the runtime: it only checks and
//! captures source; the code it generates names `::kern::..` paths.

mod check;
mod expand;
mod item;
mod source;

use proc_macro::TokenStream;

use check::check;
use expand::Parts;
use source::CapturedSource;

/// A ufunc: a scalar function applied elementwise to arrays (see the `kern` crate).
#[proc_macro_attribute]
pub fn vectorize(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_with("vectorize", args, item, expand::expand_ufunc)
}

/// A gufunc: a function over core dimensions, looped over the rest (see the
/// `kern` crate).
#[proc_macro_attribute]
pub fn guvectorize(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_with("guvectorize", args, item, expand::expand_gufunc)
}

/// A scalar or slice function compiled by kern (see the `kern` crate).
#[proc_macro_attribute]
pub fn jit(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_with("jit", args, item, expand::expand_jit)
}

/// An explicit SPMD kernel, launched over a grid of blocks (see the `kern` crate).
#[proc_macro_attribute]
pub fn kernel(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_with("kernel", args, item, expand::expand_kernel)
}

fn expand_with(
    attribute: &str,
    args: TokenStream,
    item: TokenStream,
    expand: fn(&Parts<'_>) -> proc_macro2::TokenStream,
) -> TokenStream {
    let item = item::split(item);
    let source = CapturedSource::capture(attribute, args, item.kern_tokens.clone());
    match check(&source, attribute) {
        Ok(checked) => expand(&Parts {
            checked: &checked,
            item: &item,
            source: &source,
        })
        .into(),
        Err(errors) => errors.into(),
    }
}
