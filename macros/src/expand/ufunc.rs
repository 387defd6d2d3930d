//! The expansion of `#[kern::vectorize]`: `name(a, b, ..)` applies the ufunc to
//! arrays and scalars in any mix; module `name` holds the handle and the rest of
//! the ufunc API (`call_out`, `call_out_where`, `call_where`, `on(target)`, and `reduce`/`accumulate`/`outer` for
//! a binary ufunc).

use proc_macro2::TokenStream;
use quote::quote;

use super::{lifetime, Parts};

pub fn expand_ufunc(parts: &Parts<'_>) -> TokenStream {
    let ident = parts.ident();
    let name = parts.name();
    let docs = &parts.item.docs;
    let vis = &parts.item.visibility;
    let params = parts.param_idents();
    let lt = lifetime();
    let binary = params.len() == 2;
    let methods = binary.then(|| super::binary_ufunc_methods("binary ufunc"));
    let common = parts.module_common();
    let fn_doc = format!(
        "The kern ufunc `{name}` applied elementwise to arrays and scalars (broadcast \
         like NumPy), on its declared target; compiled on first call per dtype \
         signature. More in module [`{name}`](mod@{name})."
    );
    let mod_doc =
        format!("The handle and methods of the `#[kern::vectorize]` function [`{name}()`].");
    quote! {
        #docs
        #[doc = ""]
        #[doc = #fn_doc]
        #[allow(clippy::too_many_arguments)]
        #vis fn #ident<#lt>(
            #(#params: impl ::core::convert::Into<::kern::Operand<#lt>>),*
        ) -> ::core::result::Result<::kern::NdArray, ::kern::Error> {
            #ident::call(&[#(::core::convert::Into::into(#params)),*])
        }

        #[doc = #mod_doc]
        // Callers use what they need of the handle's API; the rest is not dead code
        // to warn about.
        #[allow(dead_code)]
        #vis mod #ident {
            static HANDLE: ::kern::__private::LazyUfunc =
                ::kern::__private::LazyUfunc::new(#name, ::core::file!(), SOURCE);

            /// The cached handle: the first call builds the module from the captured
            /// source (once, whichever thread comes first).
            pub fn handle() -> ::core::result::Result<&'static ::kern::Ufunc, ::kern::Error> {
                HANDLE.get()
            }

            /// The ufunc on `target` instead of its declared one.
            pub fn on(target: ::kern::Target) -> ::core::result::Result<::kern::Ufunc, ::kern::Error> {
                ::core::result::Result::Ok(handle()?.clone().with_target(target))
            }

            /// Applies the ufunc to `inputs`; returns a new array.
            pub fn call(
                inputs: &[::kern::Operand<'_>],
            ) -> ::core::result::Result<::kern::NdArray, ::kern::Error> {
                handle()?.call(inputs)
            }

            /// Applies the ufunc to `inputs`, writing into `out`.
            pub fn call_out<'o>(
                inputs: &[::kern::Operand<'_>],
                out: impl ::core::convert::Into<::kern::OutOperand<'o>>,
            ) -> ::core::result::Result<(), ::kern::Error> {
                handle()?.call_out(inputs, out)
            }

            /// Applies the ufunc where `mask` is true, writing into `out` (NumPy's
            /// `where=`; see `kern::Ufunc::call_out_where`).
            pub fn call_out_where<'o, 'm>(
                inputs: &[::kern::Operand<'_>],
                mask: impl ::core::convert::Into<::kern::Operand<'m>>,
                out: impl ::core::convert::Into<::kern::OutOperand<'o>>,
            ) -> ::core::result::Result<(), ::kern::Error> {
                handle()?.call_out_where(inputs, mask, out)
            }

            /// Applies the ufunc where `mask` is true into a new array whose other
            /// elements are zero (see `kern::Ufunc::call_where`).
            pub fn call_where<'m>(
                inputs: &[::kern::Operand<'_>],
                mask: impl ::core::convert::Into<::kern::Operand<'m>>,
            ) -> ::core::result::Result<::kern::NdArray, ::kern::Error> {
                handle()?.call_where(inputs, mask)
            }

            #methods

            /// What the first call does, without the cache: a new module from the
            /// captured source and a handle on the ufunc (for measuring first-call
            /// latency).
            pub fn compile_fresh() -> ::core::result::Result<::kern::Ufunc, ::kern::Error> {
                HANDLE.build()
            }

            #common
        }
    }
}
