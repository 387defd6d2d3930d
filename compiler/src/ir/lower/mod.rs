//! Lowering from the typed AST to IR. (being written)
