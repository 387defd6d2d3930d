//! `print!`/`println!` in `fn main`: scalars through the IR's formatter, arrays
//! as NumPy prints them; a failed write (a full disk, a closed pipe) is an error
//! at the print.

use super::*;

impl HostArrays<'_> {
    /// Prints the format pieces with their arguments.
    pub(super) fn print(
        &mut self,
        pieces: &[FormatPiece],
        newline: bool,
        args: &[HostValue],
        span: Span,
        out: &mut dyn Write,
    ) -> Result<HostValue, Trap> {
        let mut text = String::new();
        let mut next = args.iter();
        for piece in pieces {
            match piece {
                FormatPiece::Text(t) => text.push_str(t),
                FormatPiece::Arg(spec) => match next.next() {
                    Some(HostValue::Scalar(v)) => text.push_str(&format_value(*v, spec)),
                    Some(HostValue::Array(h)) => text.push_str(&self.get(*h, span)?.to_string()),
                    _ => {}
                },
            }
        }
        if newline {
            text.push('\n');
        }
        // Lost output (a full disk, a closed pipe) is an error at the print.
        out.write_all(text.as_bytes()).map_err(|e| {
            host(
                span,
                format!("cannot write the output of `print!`/`println!`: {e}"),
            )
        })?;
        Ok(HostValue::Unit)
    }
}
