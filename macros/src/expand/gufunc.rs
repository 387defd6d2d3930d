//! The expansion of `#[kern::guvectorize]`: `name(a, b, ..)` takes the inputs
//! (arrays or scalars) and returns the output, or all outputs when the function
//! has several; module `name` holds the handle, `call_out` and the signature (and
//! `reduce`/`accumulate`/`outer` for a `(),()->()` gufunc, which is a ufunc).

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use super::{lifetime, Parts};

pub fn expand_gufunc(parts: &Parts<'_>) -> TokenStream {
    let ident = parts.ident();
    let name = parts.name();
    let docs = &parts.item.docs;
    let vis = &parts.item.visibility;
    let Some(decl) = parts.checked.compiled.gufuncs.get(name) else {
        return crate::check::compile_error(
            &format!("kern does not see `{name}` as a gufunc"),
            None,
        );
    };
    let inputs: Vec<Ident> = decl
        .inputs
        .iter()
        .map(|operand| Ident::new(&operand.name, Span::call_site()))
        .collect();
    let lt = lifetime();
    let signature = &decl.signature_text;
    let (result, pick) = if decl.outputs.len() == 1 {
        (
            quote!(::kern::NdArray),
            quote!(.and_then(|outputs| ::kern::__private::single_output(#name, outputs))),
        )
    } else {
        (quote!(::std::vec::Vec<::kern::NdArray>), quote!())
    };
    // A `(),()->()` gufunc is a binary ufunc: it gets the ufunc methods.
    let methods = (decl.inputs.len() == 2 && decl.as_ufunc().is_some())
        .then(|| super::binary_ufunc_methods("`(),()->()` gufunc"));
    let common = parts.module_common();
    let fn_doc = format!(
        "The kern gufunc `{name}` (signature `{signature}`) over the loop dimensions of \
         its inputs, on its declared target; compiled on first call per dtype \
         signature. More in module [`{name}`](mod@{name})."
    );
    let mod_doc =
        format!("The handle and methods of the `#[kern::guvectorize]` function [`{name}()`].");
    quote! {
        #docs
        #[doc = ""]
        #[doc = #fn_doc]
        #[allow(clippy::too_many_arguments)]
        #vis fn #ident<#lt>(
            #(#inputs: impl ::core::convert::Into<::kern::Operand<#lt>>),*
        ) -> ::core::result::Result<#result, ::kern::Error> {
            #ident::call(&[#(::core::convert::Into::into(#inputs)),*]) #pick
        }

        #[doc = #mod_doc]
        // Callers use what they need of the handle's API; the rest is not dead code
        // to warn about.
        #[allow(dead_code)]
        #vis mod #ident {
            static HANDLE: ::kern::__private::LazyGufunc =
                ::kern::__private::LazyGufunc::new(#name, ::core::file!(), SOURCE);

            /// The layout signature, NumPy's grammar: declared in the attribute or
            /// derived from the nested array types.
            pub const SIGNATURE: &str = #signature;

            /// The cached handle: the first call builds the module from the captured
            /// source (once, whichever thread comes first).
            pub fn handle() -> ::core::result::Result<&'static ::kern::Gufunc, ::kern::Error> {
                HANDLE.get()
            }

            /// The gufunc on `target` instead of its declared one.
            pub fn on(target: ::kern::Target) -> ::core::result::Result<::kern::Gufunc, ::kern::Error> {
                ::core::result::Result::Ok(handle()?.clone().with_target(target))
            }

            /// Runs the gufunc on `inputs`; returns every output, allocated.
            pub fn call(
                inputs: &[::kern::Operand<'_>],
            ) -> ::core::result::Result<::std::vec::Vec<::kern::NdArray>, ::kern::Error> {
                handle()?.call(inputs)
            }

            /// Runs the gufunc on `inputs`, writing into `outs` (one per output).
            pub fn call_out(
                inputs: &[::kern::Operand<'_>],
                outs: ::std::vec::Vec<::kern::OutOperand<'_>>,
            ) -> ::core::result::Result<(), ::kern::Error> {
                handle()?.call_out(inputs, outs)
            }

            /// What the first call does, without the cache.
            pub fn compile_fresh() -> ::core::result::Result<::kern::Gufunc, ::kern::Error> {
                HANDLE.build()
            }

            #methods

            #common
        }
    }
}
