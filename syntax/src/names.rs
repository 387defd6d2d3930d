//! The names a text uses, found lexically, without parsing: its identifiers
//! outside comments and string literals, and whether it has a `%`. The
//! compiler uses them to find the stdlib items a program can reach before it
//! parses anything (`kern_compiler::stdlib`), and its build script to record
//! what each stdlib item uses. Knows nothing of what the names mean.

/// What [`names_used`] finds in a text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamesUsed<'t> {
    /// Every identifier, in order, repeats included. A word starting with a
    /// digit is a number (`0x7ff`, `1e9f64`), not a name.
    pub identifiers: Vec<&'t str>,
    /// Whether a `%` appears (outside comments and strings).
    pub percent: bool,
}

/// The identifiers `text` uses outside comments (block comments nest, as in
/// Rust) and string literals, and whether it has a `%`. Linear in the text;
/// never fails, whatever the text (an unclosed comment or string runs to the
/// end).
pub fn names_used(text: &str) -> NamesUsed<'_> {
    let mut found = NamesUsed::default();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < bytes.len() {
                    if bytes[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if bytes[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'%' => {
                found.percent = true;
                i += 1;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                if !c.is_ascii_digit() {
                    found.identifiers.push(&text[start..i]);
                }
            }
            _ => i += 1,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::names_used;

    #[test]
    fn identifiers_outside_comments_and_strings() {
        let text = "fn f(x: f64) -> f64 { /* sin /* nested */ cos */ x.exp() } // tan\n\"ln\"";
        let found = names_used(text);
        assert_eq!(
            found.identifiers,
            ["fn", "f", "x", "f64", "f64", "x", "exp"]
        );
        assert!(!found.percent);
    }

    #[test]
    fn numbers_are_not_names_and_percent_is_seen() {
        let found = names_used("let y = 0x7ff + 1e9f64 % z;");
        assert_eq!(found.identifiers, ["let", "y", "z"]);
        assert!(found.percent);
        assert!(!names_used("// 10 % 3\n\"%\"").percent);
    }

    #[test]
    fn unclosed_comments_and_strings_end_the_text() {
        assert_eq!(names_used("a /* b").identifiers, ["a"]);
        assert_eq!(names_used("a \"b \\\" c").identifiers, ["a"]);
        assert_eq!(names_used("a \"\\").identifiers, ["a"]);
    }
}
