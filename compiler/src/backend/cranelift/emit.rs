//! CLIF text for `kern emit --clif`: Cranelift's own printer, with a comment line
//! naming the kern source line (`; file.kern:12: let y = a * x + b;`) before each
//! run of instructions that came from it.
//!
//! Lowering tags every instruction with a source location id that indexes a span
//! list; this file only maps those ids back to source lines.

use std::fmt::{self, Write};

use cranelift_codegen::entity::SecondaryMap;
use cranelift_codegen::ir::{Block, Function, Inst, Value};
use cranelift_codegen::write::{decorate_function, FuncWriter, PlainWriter};

use crate::diagnostics::{SourceMap, Span};

/// `func` as text, annotated with the kern lines of `spans` (indexed by srcloc).
pub(super) fn annotated_clif(func: &Function, spans: &[Span], sources: &SourceMap) -> String {
    let mut writer = SourceLineWriter {
        spans,
        sources,
        last_line: None,
    };
    let mut text = String::new();
    if decorate_function(&mut writer, &mut text, func).is_err() {
        // Writing into a String cannot fail; keep the plain text if it somehow does.
        text = func.display().to_string();
    }
    without_srcloc_column(&text)
}

/// Cranelift prints each instruction's source location id (`@0003`) in a column of
/// its own; those ids are internal, and the comment lines already say where the
/// code comes from, so the column is removed.
fn without_srcloc_column(text: &str) -> String {
    const COLUMN: usize = "@0000".len();
    const SRCLOC_INDENT: usize = 32;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = match line.strip_prefix('@') {
            Some(rest) if rest.len() >= COLUMN - 1 => {
                let (digits, after) = rest.split_at(COLUMN - 1);
                if digits.chars().all(|c| c.is_ascii_hexdigit()) {
                    after
                } else {
                    line
                }
            }
            _ => line
                .get(COLUMN..)
                .filter(|_| line.starts_with("     "))
                .unwrap_or(line),
        };
        let line = line
            .strip_prefix(&" ".repeat(SRCLOC_INDENT - COLUMN))
            .unwrap_or(line);
        out.push_str(line);
        out.push('\n');
    }
    out
}

struct SourceLineWriter<'a> {
    spans: &'a [Span],
    sources: &'a SourceMap,
    last_line: Option<(u32, usize)>,
}

impl SourceLineWriter<'_> {
    /// `file:line: text` of the line where `span` starts, if the file is known.
    fn describe(&self, span: Span) -> Option<(usize, String)> {
        let (_, file) = self.sources.files().nth(span.file.0 as usize)?;
        let (line, _) = self.sources.line_col(span);
        let text = file.text.lines().nth(line - 1).unwrap_or("").trim();
        Some((line, format!("{}:{}: {}", file.name, line, text)))
    }
}

impl FuncWriter for SourceLineWriter<'_> {
    fn write_block_header(
        &mut self,
        w: &mut dyn Write,
        func: &Function,
        block: Block,
        indent: usize,
    ) -> fmt::Result {
        // A new block restarts the annotation so every block says where it is.
        self.last_line = None;
        PlainWriter.write_block_header(w, func, block, indent)
    }

    fn write_instruction(
        &mut self,
        w: &mut dyn Write,
        func: &Function,
        aliases: &SecondaryMap<Value, Vec<Value>>,
        inst: Inst,
        indent: usize,
    ) -> fmt::Result {
        let loc = func.srcloc(inst);
        if !loc.is_default() {
            if let Some(span) = self.spans.get(loc.bits() as usize) {
                if let Some((line, text)) = self.describe(*span) {
                    let key = (span.file.0, line);
                    if self.last_line != Some(key) {
                        writeln!(w, "{:indent$}; {text}", "")?;
                        self.last_line = Some(key);
                    }
                }
            }
        }
        PlainWriter.write_instruction(w, func, aliases, inst, indent)
    }
}
