//! The code each macro expands to, around a function kern has checked: a function
//! in the value namespace named after the kern function (the common call) and a
//! module of the same name in the type namespace (the handle, the `out` variant,
//! target overrides, ufunc methods, the captured source).
//!
//! Generated code names only `::kern::..` and `::core::..` paths, so it works in
//! any crate that depends on `kern`. The original item is re-emitted inside the
//! module under `#[cfg(any())]`: its body is kern (dimension names as values,
//! `T: Float`, stdlib constants), which rustc would reject, but tools still see
//! the tokens.

mod gufunc;
mod jit;
mod kernel;
mod ufunc;

pub use gufunc::expand_gufunc;
pub use jit::expand_jit;
pub use kernel::expand_kernel;
pub use ufunc::expand_ufunc;

use proc_macro2::{Ident, Punct, Spacing, Span, TokenStream};
use quote::{format_ident, quote};

use crate::check::Checked;
use crate::item::SplitItem;
use crate::source::CapturedSource;

/// What every expansion is built from.
pub struct Parts<'a> {
    pub checked: &'a Checked,
    pub item: &'a SplitItem,
    pub source: &'a CapturedSource,
}

impl Parts<'_> {
    /// The kern function's name.
    pub fn name(&self) -> &str {
        &self.checked.decl.name.name
    }

    /// The function's name as a Rust identifier, at the span of its name in the
    /// item (so "go to definition" lands on it).
    pub fn ident(&self) -> Ident {
        let span = self
            .source
            .spans_of(self.checked.decl.name.span.range())
            .map(|(start, _)| Span::from(start))
            .unwrap_or_else(Span::call_site);
        Ident::new(self.name(), span)
    }

    /// The parameter names, as identifiers for the generated function.
    pub fn param_idents(&self) -> Vec<Ident> {
        self.checked
            .decl
            .params
            .iter()
            .map(|p| Ident::new(&p.name.name, Span::call_site()))
            .collect()
    }

    /// Items every module of an expansion has: the captured source and the
    /// original item, inactive.
    pub fn module_common(&self) -> TokenStream {
        let text = &self.source.text;
        let original = &self.item.original;
        quote! {
            /// The kern source the macro captured and checked at compile time; each
            /// token sits at its line and column in the Rust file, so kern's errors
            /// name the real location.
            pub const SOURCE: &str = #text;

            #[cfg(any())]
            #original
        }
    }
}

/// The one lifetime of the generated function's operands: every argument's borrow
/// shrinks to it, so the operands fit in one slice.
/// The module functions of a binary ufunc — `reduce`, `accumulate`, `outer` —
/// forwarding to the handle; `what` names the kind of function in their docs.
fn binary_ufunc_methods(what: &str) -> TokenStream {
    let reduce = format!("`reduce` of this {what} (see `kern::Ufunc::reduce`).");
    let accumulate = format!("`accumulate` of this {what} along `axis`.");
    let outer = format!("`outer` of this {what}: `out[i.., j..] = f(a[i..], b[j..])`.");
    quote! {
        #[doc = #reduce]
        pub fn reduce<'a>(
            array: impl ::core::convert::Into<::kern::Operand<'a>>,
            options: &::kern::Reduce,
        ) -> ::core::result::Result<::kern::NdArray, ::kern::Error> {
            handle()?.reduce(array, options)
        }

        #[doc = #accumulate]
        pub fn accumulate<'a>(
            array: impl ::core::convert::Into<::kern::Operand<'a>>,
            axis: isize,
        ) -> ::core::result::Result<::kern::NdArray, ::kern::Error> {
            handle()?.accumulate(array, axis)
        }

        #[doc = #outer]
        pub fn outer<'a, 'b>(
            a: impl ::core::convert::Into<::kern::Operand<'a>>,
            b: impl ::core::convert::Into<::kern::Operand<'b>>,
        ) -> ::core::result::Result<::kern::NdArray, ::kern::Error> {
            handle()?.outer(a, b)
        }
    }
}

pub fn lifetime() -> TokenStream {
    let apostrophe = Punct::new('\'', Spacing::Joint);
    let name = format_ident!("k");
    quote!(#apostrophe #name)
}
