//! Decoding of literal tokens: integers (any base, `_`, suffix), floats (text kept
//! for exact rounding later) and strings (escapes). Pure functions over token text.

use crate::scalar::ScalarType;

/// `0xFF_u8` → (255, Some(U8)). Errors on values that do not fit in u128.
pub fn decode_int(token: &str) -> Result<(u128, Option<ScalarType>), String> {
    let (digits, suffix) = split_suffix(token);
    let cleaned: String = digits.chars().filter(|c| *c != '_').collect();
    let (radix, body) = if let Some(rest) = cleaned.strip_prefix("0x") {
        (16, rest)
    } else if let Some(rest) = cleaned.strip_prefix("0o") {
        (8, rest)
    } else if let Some(rest) = cleaned.strip_prefix("0b") {
        (2, rest)
    } else {
        (10, cleaned.as_str())
    };
    let value = u128::from_str_radix(body, radix)
        .map_err(|_| format!("integer literal `{token}` is too large"))?;
    Ok((value, suffix))
}

/// `1_000.5e-1f32` → ("1000.5e-1", Some(F32)).
pub fn decode_float(token: &str) -> (String, Option<ScalarType>) {
    let (digits, suffix) = split_suffix(token);
    (digits.chars().filter(|c| *c != '_').collect(), suffix)
}

fn split_suffix(token: &str) -> (&str, Option<ScalarType>) {
    // Hex digits include `f`, so only integer suffixes can end a hex literal; the
    // grammar guarantees that.
    for suffix in [
        "isize", "usize", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64",
    ] {
        if let Some(rest) = token.strip_suffix(suffix) {
            let is_hex = token.starts_with("0x");
            let hex_digit_f = is_hex && suffix.starts_with('f');
            if !hex_digit_f && !rest.is_empty() {
                return (rest, ScalarType::from_name(suffix));
            }
        }
    }
    (token, None)
}

/// Decodes a quoted string literal (with its quotes) into its value.
pub fn decode_string(token: &str) -> Result<String, String> {
    let inner = token
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(token);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('\'') => out.push('\''),
            Some('u') => {
                let code: String = chars
                    .by_ref()
                    .skip_while(|c| *c == '{')
                    .take_while(|c| *c != '}')
                    .collect();
                let ch = u32::from_str_radix(&code, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("invalid unicode escape `\\u{{{code}}}`"))?;
                out.push(ch);
            }
            other => {
                return Err(format!(
                    "unknown character escape `\\{}`",
                    other.map(String::from).unwrap_or_default()
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_in_every_base_with_separators_and_suffixes() {
        assert_eq!(decode_int("1_000_000"), Ok((1_000_000, None)));
        assert_eq!(decode_int("0xFF_u8"), Ok((255, Some(ScalarType::U8))));
        assert_eq!(decode_int("0xff"), Ok((255, None)));
        assert_eq!(decode_int("0o17"), Ok((15, None)));
        assert_eq!(decode_int("0b1010i64"), Ok((10, Some(ScalarType::I64))));
        assert_eq!(decode_int("7usize"), Ok((7, Some(ScalarType::Usize))));
        assert!(decode_int("999999999999999999999999999999999999999999").is_err());
    }

    #[test]
    fn floats_keep_their_text_for_exact_rounding() {
        assert_eq!(decode_float("1_000.5e-1"), ("1000.5e-1".into(), None));
        assert_eq!(decode_float("2f64"), ("2".into(), Some(ScalarType::F64)));
        assert_eq!(
            decode_float("1.0f32"),
            ("1.0".into(), Some(ScalarType::F32))
        );
    }

    #[test]
    fn string_escapes() {
        assert_eq!(
            decode_string(r#""a\tb\n\"q\" \u{263A}""#).unwrap(),
            "a\tb\n\"q\" ☺"
        );
        assert!(decode_string(r#""\q""#).is_err());
    }
}
