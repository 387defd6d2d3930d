//! The expansion of `#[kern::jit]`: a Rust function with the kern function's
//! parameters — scalars typed as in the declaration, `&[T]` parameters as
//! anything that converts to a `kern::ArrayRef`, `&mut [T]` ones to a
//! `kern::ArrayMut` — returning its scalar result; module `name` holds the
//! untyped `call` and the captured source.

use kern_compiler::scalar::ScalarType;
use kern_compiler::syntax::ast::TypeExprKind;
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use super::{lifetime, Parts};
use crate::check::compile_error;

pub fn expand_jit(parts: &Parts<'_>) -> TokenStream {
    let decl = &parts.checked.decl;
    let ident = parts.ident();
    let name = parts.name();
    let docs = &parts.item.docs;
    let vis = &parts.item.visibility;
    if !decl.generics.is_empty() {
        let spans = parts.source.spans_of(decl.generics[0].name.span.range());
        return compile_error(
            "a generic #[kern::jit] function is not supported yet: give its parameters \
             concrete types, or make it a #[kern::vectorize] ufunc",
            spans,
        );
    }
    let lt = lifetime();
    let (params, args) = match typed_params(parts, "#[kern::jit]") {
        Ok(p) => p,
        Err(error) => return error,
    };
    let (result, convert) = match decl.ret.as_ref().map(|r| &r.kind) {
        None | Some(TypeExprKind::Unit) => (quote!(()), quote!(result.map(|_| ()))),
        Some(TypeExprKind::Named(scalar)) => {
            let ty = rust_scalar(&scalar.name);
            (
                quote!(#ty),
                quote!(::kern::__private::scalar_result::<#ty>(#name, result)),
            )
        }
        Some(_) => {
            let spans = decl
                .ret
                .as_ref()
                .and_then(|r| parts.source.spans_of(r.span.range()));
            return compile_error("a #[kern::jit] function returns a scalar or nothing", spans);
        }
    };
    let common = parts.module_common();
    let fn_doc = format!(
        "The kern function `{name}`, compiled to machine code on its first call. \
         More in module [`{name}`](mod@{name})."
    );
    let mod_doc = format!("The handle of the `#[kern::jit]` function [`{name}()`].");
    quote! {
        #docs
        #[doc = ""]
        #[doc = #fn_doc]
        #[allow(clippy::too_many_arguments)]
        #vis fn #ident<#lt>(#(#params),*) -> ::core::result::Result<#result, ::kern::Error> {
            let result = #ident::call(&mut [#(#args),*]);
            #convert
        }

        #[doc = #mod_doc]
        // Callers use what they need of the handle's API; the rest is not dead code
        // to warn about.
        #[allow(dead_code)]
        #vis mod #ident {
            static FUNCTION: ::kern::__private::LazyJit =
                ::kern::__private::LazyJit::new(#name, ::core::file!(), SOURCE);

            /// Calls the function with scalars and arrays in parameter order; the
            /// first call compiles it (once, whichever thread comes first).
            pub fn call(
                args: &mut [::kern::Arg<'_>],
            ) -> ::core::result::Result<::core::option::Option<::kern::ScalarValue>, ::kern::Error> {
                FUNCTION.call(args)
            }

            #common
        }
    }
}

/// The generated function's parameters and the `kern::Arg`s they become: scalars
/// typed as declared, `&[T]` as anything that converts to an `ArrayRef`, `&mut [T]`
/// to an `ArrayMut`. `Err` is the compile error for any other parameter type.
pub(super) fn typed_params(
    parts: &Parts<'_>,
    what: &str,
) -> Result<(Vec<TokenStream>, Vec<TokenStream>), TokenStream> {
    let lt = lifetime();
    let mut params = Vec::new();
    let mut args = Vec::new();
    for (param, ident) in parts.checked.decl.params.iter().zip(parts.param_idents()) {
        match &param.ty.kind {
            TypeExprKind::Named(scalar) => {
                let ty = rust_scalar(&scalar.name);
                params.push(quote!(#ident: #ty));
                args.push(quote!(::kern::__private::scalar_arg(#ident)));
            }
            TypeExprKind::Ref { mutable: false, .. } => {
                params.push(quote!(#ident: impl ::core::convert::Into<::kern::ArrayRef<#lt>>));
                args.push(quote!(::kern::Arg::Ref(::core::convert::Into::into(#ident))));
            }
            TypeExprKind::Ref { mutable: true, .. } => {
                params.push(quote!(#ident: impl ::core::convert::Into<::kern::ArrayMut<#lt>>));
                args.push(quote!(::kern::Arg::Mut(::core::convert::Into::into(#ident))));
            }
            _ => {
                let message = format!(
                    "a {what} parameter must be a scalar, `&[T]` or `&mut [T]` (nested arrays too)"
                );
                let spans = parts.source.spans_of(param.ty.span.range());
                return Err(compile_error(&message, spans));
            }
        }
    }
    Ok((params, args))
}

/// The Rust type of a kern scalar type name; a name kern accepted that is not a
/// scalar cannot reach here (the checker rejects it), so it passes through.
fn rust_scalar(name: &str) -> Ident {
    debug_assert!(ScalarType::from_name(name).is_some(), "{name}");
    Ident::new(name, Span::call_site())
}
