//! Splits the annotated Rust item into what only Rust needs — doc comments and the
//! visibility, which kern's grammar does not have — and the tokens kern parses.
//!
//! Everything else (other attributes, the signature, the body) goes to kern as
//! written, so anything kern does not know is reported by kern at its span.

use proc_macro::{Delimiter, TokenStream, TokenTree};

pub struct SplitItem {
    /// `#[doc = ".."]` attributes, re-attached to the generated function.
    pub docs: proc_macro2::TokenStream,
    /// `pub`, `pub(crate)`, ... or nothing.
    pub visibility: proc_macro2::TokenStream,
    /// The rest of the item, for kern.
    pub kern_tokens: TokenStream,
    /// The whole item as written, re-emitted (inactive) for tools.
    pub original: proc_macro2::TokenStream,
}

pub fn split(item: TokenStream) -> SplitItem {
    let original = proc_macro2::TokenStream::from(item.clone());
    let trees: Vec<TokenTree> = item.into_iter().collect();
    let mut docs = TokenStream::new();
    let mut visibility = TokenStream::new();
    let mut kept = Vec::with_capacity(trees.len());
    let mut i = 0;
    let mut before_fn = true;
    while i < trees.len() {
        if before_fn {
            if let (TokenTree::Punct(hash), Some(TokenTree::Group(group))) =
                (&trees[i], trees.get(i + 1))
            {
                if hash.as_char() == '#' && group.delimiter() == Delimiter::Bracket {
                    if is_doc(group) {
                        docs.extend([trees[i].clone(), trees[i + 1].clone()]);
                    } else {
                        kept.extend([trees[i].clone(), trees[i + 1].clone()]);
                    }
                    i += 2;
                    continue;
                }
            }
            if let TokenTree::Ident(ident) = &trees[i] {
                if ident.to_string() == "pub" {
                    visibility.extend([trees[i].clone()]);
                    if let Some(TokenTree::Group(g)) = trees.get(i + 1) {
                        if g.delimiter() == Delimiter::Parenthesis {
                            visibility.extend([trees[i + 1].clone()]);
                            i += 1;
                        }
                    }
                    i += 1;
                    continue;
                }
                before_fn = false;
            }
        }
        kept.push(trees[i].clone());
        i += 1;
    }
    SplitItem {
        docs: docs.into(),
        visibility: visibility.into(),
        kern_tokens: kept.into_iter().collect(),
        original,
    }
}

fn is_doc(group: &proc_macro::Group) -> bool {
    matches!(group.stream().into_iter().next(), Some(TokenTree::Ident(i)) if i.to_string() == "doc")
}
