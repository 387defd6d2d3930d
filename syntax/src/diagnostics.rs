//! Source files, spans and user-facing diagnostics.
//!
//! Every stage reports problems as [`Diagnostic`]s that point at a [`Span`] of some
//! source file held in a [`SourceMap`]. Rendering (rustc-like: `file:line:col`, the
//! source line and an underline) goes through `ariadne` and lives only here, so the
//! stages never format messages for a terminal themselves. This module knows nothing
//! of the language: it is plain text positions.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Index of a file in a [`SourceMap`].
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub struct FileId(pub u32);

/// A byte range `start..end` in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }

    /// The smallest span covering both `self` and `other` (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// One source file: a display name (usually the path as given) and its text.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

/// All source files of a compilation: the user's files and the stdlib.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
        });
        FileId(self.files.len() as u32 - 1)
    }

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    /// 1-based line and column (in characters) of the start of `span`.
    pub fn line_col(&self, span: Span) -> (usize, usize) {
        let text = &self.file(span.file).text;
        let start = (span.start as usize).min(text.len());
        let before = &text[..floor_char_boundary(text, start)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// `file:line:col` of the start of `span`, as rustc prints locations.
    pub fn location(&self, span: Span) -> String {
        let (line, col) = self.line_col(span);
        format!("{}:{}:{}", self.file(span.file).name, line, col)
    }

    /// The byte range of `span`, widened to whole characters and clamped to its
    /// file: what a renderer may slice the text with, whatever the span says.
    pub fn char_range(&self, span: Span) -> std::ops::Range<usize> {
        let text = &self.file(span.file).text;
        let start = floor_char_boundary(text, span.start as usize);
        let mut end = (span.end as usize).clamp(start, text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        start..end
    }

    /// The source text a span covers.
    pub fn snippet(&self, span: Span) -> &str {
        let text = &self.file(span.file).text;
        let start = floor_char_boundary(text, span.start as usize);
        let end = floor_char_boundary(text, span.end as usize).max(start);
        &text[start..end]
    }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// A message about the user's source: what is wrong, where, and optionally more.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// One line, lower case, no trailing period (rustc style).
    pub message: String,
    /// The primary location; the underline goes here.
    pub span: Span,
    /// Text printed under the primary underline, if any.
    pub label: Option<String>,
    /// Further locations with their own labels (e.g. "first defined here").
    pub secondary: Vec<(Span, String)>,
    /// `= note: ...` / `= help: ...` lines.
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span,
            label: None,
            secondary: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    pub fn with_secondary(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.secondary.push((span, label.into()));
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// Renders like rustc: `error: msg`, `--> file:line:col`, the line and a caret
    /// underline. Plain text (no colour) so snapshots and logs stay readable.
    pub fn render(&self, sources: &SourceMap) -> String {
        render_with_ariadne(self, sources, false)
    }

    /// As [`Diagnostic::render`], with ANSI colour (for a terminal).
    pub fn render_colored(&self, sources: &SourceMap) -> String {
        render_with_ariadne(self, sources, true)
    }
}

fn render_with_ariadne(diag: &Diagnostic, sources: &SourceMap, color: bool) -> String {
    use ariadne::{Config, IndexType, Label, Report, ReportKind};

    let kind = match diag.severity {
        Severity::Error => ReportKind::Error,
        Severity::Warning => ReportKind::Warning,
    };
    let name = |span: Span| sources.file(span.file).name.clone();
    // A span from anywhere (a byte offset into a string literal, say) is shown
    // on whole characters: ariadne slices the text with it.
    let range = |span: Span| sources.char_range(span);
    let mut report = Report::build(kind, (name(diag.span), range(diag.span)))
        .with_config(
            Config::default()
                .with_color(color)
                .with_index_type(IndexType::Byte),
        )
        .with_message(&diag.message);
    // ariadne underlines only a span whose label has a message: an error without
    // a label of its own still gets one, so the caret is always there.
    let primary = Label::new((name(diag.span), range(diag.span)))
        .with_message(diag.label.as_deref().unwrap_or("here"));
    report = report.with_label(primary);
    for (span, label) in &diag.secondary {
        report = report.with_label(Label::new((name(*span), range(*span))).with_message(label));
    }
    for note in &diag.notes {
        report = match note.strip_prefix("help: ") {
            Some(help) => report.with_help(help),
            None => report.with_note(note),
        };
    }
    let cache = ariadne::sources(
        sources
            .files()
            .map(|(_, f)| (f.name.clone(), f.text.clone())),
    );
    let mut out = Vec::new();
    // Writing into a Vec cannot fail; a failure would only lose the rendering.
    let _ = report.finish().write(cache, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Several diagnostics from one run (a stage reports every independent error it finds).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics(Vec::new())
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub fn render(&self, sources: &SourceMap) -> String {
        self.0.iter().map(|d| d.render(sources)).collect()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Diagnostics {
        Diagnostics(vec![d])
    }
}

impl fmt::Display for Diagnostics {
    /// Without the sources only the messages can be shown; use `render` for the full form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "error: {}", d.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_that_splits_a_character_is_shown_on_whole_characters() {
        let mut sources = SourceMap::new();
        let text = "let s = \"ñ—x\";\n";
        let file = sources.add("t.kern", text);
        let n = text.find('ñ').unwrap();
        // Spans starting or ending inside 'ñ' (2 bytes) or '—' (3 bytes), and past
        // the end of the file.
        for (start, end) in [(n, n + 1), (n + 1, n + 3), (n + 3, n + 4), (n, 999)] {
            let span = Span::new(file, start, end);
            let range = sources.char_range(span);
            assert!(text.is_char_boundary(range.start) && text.is_char_boundary(range.end));
            assert!(range.start <= start && (range.end >= end.min(text.len())));
            let shown = Diagnostic::error(span, "bad").render(&sources);
            assert!(shown.contains("t.kern:1:"), "{shown}");
        }
    }
}
