//! Parsing of `println!`/`print!` format strings into IR format pieces.
//!
//! Accepts Rust's syntax for what kern prints: `{}`, `{:?}`, `{:.3}`, `{:e}`,
//! `{:8}`, `{:>8.2}`, and `{{`/`}}` escapes. Named or positional arguments
//! (`{x}`, `{0}`) are not supported and are reported as errors. Widths and
//! precisions are limited to Rust's own bound, [`MAX_WIDTH_OR_PRECISION`], so that no
//! format can fail or exhaust memory when it prints.

use crate::ir::{FormatPiece, FormatSpec};

/// The largest width or precision a format accepts: Rust's (`u16::MAX`; rustc
/// rejects larger ones in a literal, and the formatter panics past it at run time).
pub const MAX_WIDTH_OR_PRECISION: usize = u16::MAX as usize;

pub fn parse_format_string(s: &str) -> Result<Vec<FormatPiece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '}' => return Err("invalid format string: unmatched `}` found".into()),
            '{' => {
                let mut spec_text = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => spec_text.push(c),
                        None => {
                            return Err(
                                "invalid format string: expected `}` but string was terminated"
                                    .into(),
                            )
                        }
                    }
                }
                if !text.is_empty() {
                    pieces.push(FormatPiece::Text(std::mem::take(&mut text)));
                }
                pieces.push(FormatPiece::Arg(parse_spec(&spec_text)?));
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(FormatPiece::Text(text));
    }
    Ok(pieces)
}

fn parse_spec(spec: &str) -> Result<FormatSpec, String> {
    let unsupported = || {
        format!("unsupported format specifier `{{{spec}}}` (kern supports `{{}}`, `{{:?}}`, `{{:.N}}`, `{{:e}}` and a width)")
    };
    if spec.is_empty() {
        return Ok(FormatSpec::default());
    }
    let Some(rest) = spec.strip_prefix(':') else {
        return Err(unsupported());
    };
    let mut out = FormatSpec::default();
    let mut rest = rest.strip_prefix('>').unwrap_or(rest);
    let width: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    if !width.is_empty() {
        out.width = Some(bounded(&width, "width")?);
        rest = &rest[width.len()..];
    }
    if let Some(p) = rest.strip_prefix('.') {
        let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() {
            return Err(unsupported());
        }
        out.precision = Some(bounded(&digits, "precision")?);
        rest = &p[digits.len()..];
    }
    match rest {
        "" => {}
        "?" => out.debug = true,
        "e" => out.exponent = true,
        _ => return Err(unsupported()),
    }
    Ok(out)
}

/// A width or precision written `digits`, at most [`MAX_WIDTH_OR_PRECISION`].
fn bounded(digits: &str, what: &str) -> Result<usize, String> {
    match digits.parse::<usize>() {
        Ok(n) if n <= MAX_WIDTH_OR_PRECISION => Ok(n),
        _ => Err(format!(
            "invalid format string: {what} `{digits}` is too large (at most {MAX_WIDTH_OR_PRECISION})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_specs_and_escapes() {
        let p = parse_format_string("a={} b={:.3} {{x}} {:>8.2e}").unwrap();
        assert_eq!(p.len(), 6);
        assert_eq!(
            p[3],
            FormatPiece::Arg(FormatSpec {
                precision: Some(3),
                ..Default::default()
            })
        );
        assert_eq!(p[4], FormatPiece::Text(" {x} ".into()));
        assert_eq!(
            p[5],
            FormatPiece::Arg(FormatSpec {
                width: Some(8),
                precision: Some(2),
                exponent: true,
                debug: false
            })
        );
    }

    #[test]
    fn unsupported_and_malformed_strings_are_errors() {
        assert!(parse_format_string("{x}").is_err());
        assert!(parse_format_string("{").is_err());
        assert!(parse_format_string("}").is_err());
        assert!(parse_format_string("{:#x}").is_err());
    }

    #[test]
    fn widths_and_precisions_are_bounded_as_in_rust() {
        let max = MAX_WIDTH_OR_PRECISION;
        assert!(parse_format_string(&format!("{{:{max}.{max}}}")).is_ok());
        for spec in [
            "{:.65536}",
            "{:65536}",
            "{:3000000000}",
            "{:.99999999999999999999999}",
        ] {
            let e = parse_format_string(spec).unwrap_err();
            assert!(e.contains("too large (at most 65535)"), "{spec}: {e}");
        }
    }
}
