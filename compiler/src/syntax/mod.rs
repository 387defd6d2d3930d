//! Syntax: the pest grammar of the kern language and the parser that turns it into
//! the owned, span-carrying [`ast`]. Knows nothing of types or semantics.

pub mod ast;
pub mod parser;

pub use parser::parse;
