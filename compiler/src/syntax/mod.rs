//! Syntax: the pest grammar of the kern language and the parser that turns it into
//! the owned, span-carrying [`ast`]. Knows nothing of types or semantics.

pub mod ast;
mod literals;
pub mod parser;
mod pretty;

pub use parser::parse;
pub use pretty::pretty_print;

#[cfg(test)]
mod tests;
