//! The expansion of `#[kern::kernel]`: a Rust function `name(grid, block, args..)`
//! that launches the SPMD kernel (grid and block a `usize`, a tuple or a
//! `kern::Dim3`; arguments typed as for `#[kern::jit]`) on the kernel's target,
//! and module `name` with the `kern::Kernel` handle (`handle()`, `on(target)`),
//! the untyped `launch` and the captured source.

use proc_macro2::TokenStream;
use quote::quote;

use super::jit::typed_params;
use super::{lifetime, Parts};

pub fn expand_kernel(parts: &Parts<'_>) -> TokenStream {
    let ident = parts.ident();
    let name = parts.name();
    let docs = &parts.item.docs;
    let vis = &parts.item.visibility;
    let lt = lifetime();
    let (params, args) = match typed_params(parts, "#[kern::kernel]") {
        Ok(p) => p,
        Err(error) => return error,
    };
    let common = parts.module_common();
    let fn_doc = format!(
        "Launches the kern kernel `{name}` on `grid` blocks of `block` threads; the \
         first launch compiles it. More in module [`{name}`](mod@{name})."
    );
    let mod_doc = format!("The handle of the `#[kern::kernel]` function [`{name}()`].");
    quote! {
        #docs
        #[doc = ""]
        #[doc = #fn_doc]
        #[allow(clippy::too_many_arguments)]
        #vis fn #ident<#lt>(
            grid: impl ::core::convert::Into<::kern::Dim3>,
            block: impl ::core::convert::Into<::kern::Dim3>,
            #(#params),*
        ) -> ::core::result::Result<(), ::kern::Error> {
            #ident::launch(grid, block, &mut [#(#args),*])
        }

        #[doc = #mod_doc]
        // Callers use what they need of the handle's API; the rest is not dead code
        // to warn about.
        #[allow(dead_code)]
        #vis mod #ident {
            static KERNEL: ::kern::__private::LazyKernel =
                ::kern::__private::LazyKernel::new(#name, ::core::file!(), SOURCE);

            /// The kernel's handle (its module is built on first use, once).
            pub fn handle() -> ::core::result::Result<::kern::Kernel, ::kern::Error> {
                KERNEL.handle()
            }

            /// The handle launching on `target` instead of the declared target.
            pub fn on(
                target: ::kern::Target,
            ) -> ::core::result::Result<::kern::Kernel, ::kern::Error> {
                ::core::result::Result::Ok(handle()?.with_target(target))
            }

            /// Launches with scalars and arrays in parameter order; printed
            /// output goes to stdout.
            pub fn launch(
                grid: impl ::core::convert::Into<::kern::Dim3>,
                block: impl ::core::convert::Into<::kern::Dim3>,
                args: &mut [::kern::Arg<'_>],
            ) -> ::core::result::Result<(), ::kern::Error> {
                handle()?.launch(grid, block, args, &mut ::std::io::stdout())
            }

            #common
        }
    }
}
