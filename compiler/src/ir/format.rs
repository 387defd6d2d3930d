//! Formatting of `print!`/`println!` arguments, shared by the interpreter and the
//! JIT's print hooks so that every engine prints byte-identical text.
//!
//! Follows Rust's `std::fmt` for the subset kern accepts: `{}`, `{:?}`, `{:.N}`,
//! `{:e}`, a width (`{:8}`, `{:>8}`, `{:8.3}`). Parsing the format string is the
//! checker's job; this module only turns a value and a [`FormatSpec`] into text.

use super::{FormatPiece, FormatSpec};
use crate::scalar::ScalarValue;

/// Formats one value as Rust would with the equivalent format spec.
pub fn format_value(value: ScalarValue, spec: &FormatSpec) -> String {
    let body = match value {
        ScalarValue::F32(v) => format_float(v as f64, Some(v), spec),
        ScalarValue::F64(v) => format_float(v, None, spec),
        ScalarValue::Bool(b) => b.to_string(),
        other => {
            // Integers: {:e} is LowerExp for integers in Rust too.
            if spec.exponent {
                match other.as_i128() {
                    Some(i) if other.ty().is_signed_int() => format!("{:e}", i as i64),
                    Some(i) => format!("{:e}", i as u64),
                    None => other.to_string(),
                }
            } else {
                other.to_string()
            }
        }
    };
    match spec.width {
        Some(w) if body.chars().count() < w => {
            let pad = w - body.chars().count();
            if matches!(value, ScalarValue::Bool(_)) {
                // Rust left-aligns non-numeric values by default.
                format!("{body}{}", " ".repeat(pad))
            } else {
                format!("{}{body}", " ".repeat(pad))
            }
        }
        _ => body,
    }
}

/// `single` is the original f32 when the value is an f32: Rust prints f32 with the
/// shortest representation that round-trips *as f32*, which differs from f64's.
fn format_float(v: f64, single: Option<f32>, spec: &FormatSpec) -> String {
    match (single, spec.precision, spec.exponent, spec.debug) {
        (Some(s), Some(p), true, _) => format!("{s:.p$e}"),
        (Some(s), None, true, _) => format!("{s:e}"),
        (Some(s), Some(p), false, _) => format!("{s:.p$}"),
        (Some(s), None, false, true) => format!("{s:?}"),
        (Some(s), None, false, false) => format!("{s}"),
        (None, Some(p), true, _) => format!("{v:.p$e}"),
        (None, None, true, _) => format!("{v:e}"),
        (None, Some(p), false, _) => format!("{v:.p$}"),
        (None, None, false, true) => format!("{v:?}"),
        (None, None, false, false) => format!("{v}"),
    }
}

/// Renders a whole `print!` call: text pieces and formatted arguments in order.
/// Surplus pieces without an argument print nothing (the checker prevents that).
pub fn format_pieces(pieces: &[FormatPiece], args: &[ScalarValue], newline: bool) -> String {
    let mut out = String::new();
    let mut next = args.iter();
    for piece in pieces {
        match piece {
            FormatPiece::Text(t) => out.push_str(t),
            FormatPiece::Arg(spec) => {
                if let Some(v) = next.next() {
                    out.push_str(&format_value(*v, spec));
                }
            }
        }
    }
    if newline {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> FormatSpec {
        FormatSpec::default()
    }

    #[test]
    fn floats_print_like_rust_display() {
        assert_eq!(format_value(ScalarValue::F64(1.0), &spec()), "1");
        assert_eq!(format_value(ScalarValue::F64(0.1), &spec()), "0.1");
        assert_eq!(format_value(ScalarValue::F32(0.1), &spec()), "0.1");
        assert_eq!(
            format_value(ScalarValue::F64(0.1f32 as f64), &spec()),
            "0.10000000149011612"
        );
        assert_eq!(format_value(ScalarValue::F64(f64::NAN), &spec()), "NaN");
        assert_eq!(
            format_value(ScalarValue::F64(-f64::INFINITY), &spec()),
            "-inf"
        );
    }

    #[test]
    fn precision_width_debug_and_exponent() {
        let p3 = FormatSpec {
            precision: Some(3),
            ..spec()
        };
        assert_eq!(
            format_value(ScalarValue::F64(std::f64::consts::PI), &p3),
            "3.142"
        );
        let dbg = FormatSpec {
            debug: true,
            ..spec()
        };
        assert_eq!(format_value(ScalarValue::F64(1.0), &dbg), "1.0");
        let exp = FormatSpec {
            exponent: true,
            ..spec()
        };
        assert_eq!(format_value(ScalarValue::F64(1500.0), &exp), "1.5e3");
        let w = FormatSpec {
            width: Some(6),
            ..spec()
        };
        assert_eq!(format_value(ScalarValue::I32(-42), &w), "   -42");
        assert_eq!(format_value(ScalarValue::Bool(true), &w), "true  ");
    }

    #[test]
    fn pieces_interleave_text_and_arguments() {
        let pieces = vec![
            FormatPiece::Text("a=".into()),
            FormatPiece::Arg(spec()),
            FormatPiece::Text(", b=".into()),
            FormatPiece::Arg(spec()),
        ];
        let text = format_pieces(
            &pieces,
            &[ScalarValue::I64(3), ScalarValue::Bool(false)],
            true,
        );
        assert_eq!(text, "a=3, b=false\n");
    }
}
