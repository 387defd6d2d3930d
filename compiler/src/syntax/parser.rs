//! Parser: pest pairs → AST. (Being written.)
use crate::diagnostics::{Diagnostics, FileId};
use crate::syntax::ast::SourceUnit;

/// Parses one source file.
pub fn parse(file: FileId, _text: &str) -> Result<SourceUnit, Diagnostics> {
    Ok(SourceUnit { file, items: Vec::new(), expr_count: 0 })
}
