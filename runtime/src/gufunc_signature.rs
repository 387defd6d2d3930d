//! Generalized-ufunc signatures such as `(m,n),(n,p)->(m,p)`: their grammar, their
//! canonical text and their parse errors.
//!
//! This module owns only the text form of a signature. It must not know about
//! operands, shapes, dtypes or loops: binding core dimensions to the sizes of
//! actual arrays belongs to the gufunc runtime that consumes a [`GufuncSignature`].
//!
//! It follows NumPy's C parser (`_parse_signature` in `ufunc_object.c`) check by
//! check, so a signature NumPy accepts is accepted here, one it rejects is rejected,
//! and the error reads the same: `<what> at position <offset> in "<signature>"`.
//! Kept from NumPy, including the surprising parts:
//! - only space and tab are whitespace; a newline is an unexpected character;
//! - a dimension is a C identifier or a frozen size, a positive decimal integer
//!   below `isize::MAX`; leading zeros are allowed (`(03)` is `(3)`), `(0)` is not;
//! - `?` may follow any dimension, a frozen one too (`(3?)` parses), and a dimension
//!   carries `?` at every appearance or at none;
//! - `(n|1)`, trailing commas and empty arguments are rejected.
//!
//! NumPy's parser is told how many inputs and outputs the ufunc has; this one infers
//! them: each list ends at the first argument not followed by `,`. Every error is the
//! one NumPy reports for a ufunc whose counts match that reading.

use std::fmt;
use std::str::FromStr;

/// A parsed signature: the core dimensions of each input and each output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GufuncSignature {
    pub inputs: Vec<Vec<CoreDim>>,
    pub outputs: Vec<Vec<CoreDim>>,
}

/// One core dimension of one argument.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CoreDim {
    pub size: CoreDimSize,
    /// Written with `?`: the operand may lack this dimension.
    pub optional: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CoreDimSize {
    /// Sized by the operands; every appearance of the name has the same size.
    Named(String),
    /// Fixed by the signature, e.g. the `3` of `(3),(3)->(3)`.
    Frozen(usize),
}

/// A signature that does not parse. `Display` is NumPy's `ValueError` text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at position {position} in \"{signature}\"")]
pub struct SignatureError {
    /// What was expected, in NumPy's words, e.g. `expect ',' or ')'`.
    pub message: &'static str,
    /// Byte offset into the signature (NumPy counts C `char`s).
    pub position: usize,
    pub signature: String,
}

const EXPECT_OPEN: &str = "expect '('";
const EXPECT_COMMA: &str = "expect ','";
const EXPECT_ARROW: &str = "expect '->'";
const EXPECT_COMMA_OR_CLOSE: &str = "expect ',' or ')'";
const EXPECT_DIMENSION: &str = "expect dimension name or non-zero frozen size";
const COMMA_BEFORE_CLOSE: &str = "',' must not be followed by ')'";
const UNEXPECTED_END: &str = "unexpected end of signature string";
const INCOMPLETE: &str = "incomplete signature: not all arguments found";
const OPTIONAL_NOT_ALLOWED: &str = "? cannot be used, name already seen without ?";
const OPTIONAL_REQUIRED: &str = "? must be used, name already seen with ?";

impl GufuncSignature {
    pub fn nin(&self) -> usize {
        self.inputs.len()
    }

    pub fn nout(&self) -> usize {
        self.outputs.len()
    }

    /// The distinct dimension names, inputs before outputs, in order of first appearance.
    pub fn core_dim_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for dim in self.inputs.iter().chain(&self.outputs).flatten() {
            if let CoreDimSize::Named(name) = &dim.size {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
        names
    }
}

impl FromStr for GufuncSignature {
    type Err = SignatureError;

    fn from_str(signature: &str) -> Result<Self, SignatureError> {
        Parser {
            text: signature,
            bytes: signature.as_bytes(),
            seen: Vec::new(),
        }
        .signature()
    }
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    /// Each distinct dimension once, with the `?` of its first appearance.
    seen: Vec<CoreDim>,
}

impl Parser<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    fn skip_whitespace(&self, mut i: usize) -> usize {
        while matches!(self.at(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        i
    }

    fn fail<T>(&self, message: &'static str, position: usize) -> Result<T, SignatureError> {
        let signature = self.text.to_owned();
        Err(SignatureError {
            message,
            position,
            signature,
        })
    }

    fn ensure(
        &self,
        ok: bool,
        message: &'static str,
        position: usize,
    ) -> Result<(), SignatureError> {
        if ok {
            Ok(())
        } else {
            self.fail(message, position)
        }
    }

    fn signature(mut self) -> Result<GufuncSignature, SignatureError> {
        let mut i = self.skip_whitespace(0);
        let mut inputs = Vec::new();
        loop {
            // NumPy checks for the end of the string before each argument it expects
            // after a comma, but not after "->" (there it reports the missing '(').
            self.ensure(self.at(i).is_some(), INCOMPLETE, i)?;
            let (dims, next) = self.argument(i)?;
            inputs.push(dims);
            i = self.skip_whitespace(next);
            if self.at(i) != Some(b',') {
                break;
            }
            i = self.skip_whitespace(i + 1);
        }
        self.ensure(self.at(i).is_some(), INCOMPLETE, i)?;
        self.ensure(self.bytes[i..].starts_with(b"->"), EXPECT_ARROW, i)?;
        i = self.skip_whitespace(i + 2);
        let mut outputs = Vec::new();
        loop {
            let (dims, next) = self.argument(i)?;
            outputs.push(dims);
            i = self.skip_whitespace(next);
            match self.at(i) {
                None => break,
                Some(b',') => {
                    i = self.skip_whitespace(i + 1);
                    self.ensure(self.at(i).is_some(), INCOMPLETE, i)?;
                }
                // With all outputs read, NumPy goes back for another argument and
                // reports the missing '('; a '(' there would overrun its arrays, so
                // for that case report what it says when one more output is due.
                Some(b'(') => return self.fail(EXPECT_COMMA, i),
                Some(_) => return self.fail(EXPECT_OPEN, i),
            }
        }
        Ok(GufuncSignature { inputs, outputs })
    }

    /// One parenthesised dimension list starting at `i`; returns it and the offset
    /// just past its `)`.
    fn argument(&mut self, mut i: usize) -> Result<(Vec<CoreDim>, usize), SignatureError> {
        self.ensure(self.at(i) == Some(b'('), EXPECT_OPEN, i)?;
        i = self.skip_whitespace(i + 1);
        let mut dims = Vec::new();
        while self.at(i) != Some(b')') {
            let Some(first) = self.at(i) else {
                return self.fail(UNEXPECTED_END, i);
            };
            let frozen = if is_alpha_underscore(first) {
                None
            } else {
                let size = frozen_size(&self.bytes[i..]);
                self.ensure(size.is_some(), EXPECT_DIMENSION, i)?;
                size
            };
            let mut name_end = i;
            while self.at(name_end).is_some_and(is_alnum_underscore) {
                name_end += 1;
            }
            let optional = self.at(name_end) == Some(b'?');
            let end = name_end + usize::from(optional);
            let size = match frozen {
                Some(size) => CoreDimSize::Frozen(size),
                None => CoreDimSize::Named(self.text[i..name_end].to_owned()),
            };
            // NumPy checks `?` consistency before looking at what follows the
            // dimension, so e.g. `(3?),(+3)` fails on the `?`, not on the `+`.
            let dim = CoreDim { size, optional };
            self.check_optional(&dim, i)?;
            dims.push(dim);
            i = self.skip_whitespace(end);
            match self.at(i) {
                Some(b')') => {}
                Some(b',') => {
                    i = self.skip_whitespace(i + 1);
                    self.ensure(self.at(i) != Some(b')'), COMMA_BEFORE_CLOSE, i)?;
                }
                _ => return self.fail(EXPECT_COMMA_OR_CLOSE, i),
            }
        }
        Ok((dims, i + 1))
    }

    fn check_optional(&mut self, dim: &CoreDim, position: usize) -> Result<(), SignatureError> {
        let Some(first) = self.seen.iter().find(|seen| seen.size == dim.size) else {
            self.seen.push(dim.clone());
            return Ok(());
        };
        match (first.optional, dim.optional) {
            (false, true) => self.fail(OPTIONAL_NOT_ALLOWED, position),
            (true, false) => self.fail(OPTIONAL_REQUIRED, position),
            _ => Ok(()),
        }
    }
}

fn is_alpha_underscore(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_alnum_underscore(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The frozen size NumPy reads at the start of `text`, or `None` where it reports
/// "expect dimension name or non-zero frozen size".
///
/// NumPy reads the number with `strtoll`, so C whitespace and a sign are consumed
/// here too; such a prefix is then not part of the dimension's token, and the
/// caller fails on it with "expect ',' or ')'", as NumPy does.
fn frozen_size(text: &[u8]) -> Option<usize> {
    let mut k = text
        .iter()
        .take_while(|c| b" \t\n\r\x0b\x0c".contains(c))
        .count();
    let negative = text.get(k) == Some(&b'-');
    k += usize::from(matches!(text.get(k), Some(b'+' | b'-')));
    let digits = text[k..].iter().take_while(|c| c.is_ascii_digit()).count();
    // Saturating like `strtoll`; anything that large is rejected below anyway.
    let value = text[k..k + digits].iter().fold(0u128, |value, &digit| {
        value
            .saturating_mul(10)
            .saturating_add(u128::from(digit - b'0'))
    });
    let after = text.get(k + digits).copied();
    let malformed = digits == 0 || after.is_some_and(is_alpha_underscore);
    if malformed || negative || value == 0 || value >= isize::MAX as u128 {
        return None;
    }
    usize::try_from(value).ok()
}

impl fmt::Display for CoreDimSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreDimSize::Named(name) => f.write_str(name),
            CoreDimSize::Frozen(size) => write!(f, "{size}"),
        }
    }
}

impl fmt::Display for CoreDim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.size, if self.optional { "?" } else { "" })
    }
}

fn write_arguments(f: &mut fmt::Formatter<'_>, arguments: &[Vec<CoreDim>]) -> fmt::Result {
    for (k, dims) in arguments.iter().enumerate() {
        let dims: Vec<String> = dims.iter().map(CoreDim::to_string).collect();
        write!(f, "{}({})", if k > 0 { "," } else { "" }, dims.join(","))?;
    }
    Ok(())
}

/// The canonical form: no whitespace, frozen sizes without leading zeros.
impl fmt::Display for GufuncSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_arguments(f, &self.inputs)?;
        f.write_str("->")?;
        write_arguments(f, &self.outputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(signature: &str) -> GufuncSignature {
        let parsed = signature.parse();
        parsed.unwrap_or_else(|e| panic!("{signature:?} should parse: {e}"))
    }

    /// The expected signature, one token per dimension: `"m"`, `"m?"`, `"3"`, `"3?"`.
    fn sig(inputs: &[&[&str]], outputs: &[&[&str]]) -> GufuncSignature {
        let dim = |token: &str| {
            let text = token.trim_end_matches('?');
            let size = match text.parse() {
                Ok(size) => CoreDimSize::Frozen(size),
                Err(_) => CoreDimSize::Named(text.to_owned()),
            };
            let optional = text.len() < token.len();
            CoreDim { size, optional }
        };
        let args = |list: &[&[&str]]| -> Vec<Vec<CoreDim>> {
            list.iter()
                .map(|d| d.iter().map(|t| dim(t)).collect())
                .collect()
        };
        GufuncSignature {
            inputs: args(inputs),
            outputs: args(outputs),
        }
    }

    /// Asserts the rejection and that its text is NumPy's `ValueError` message.
    fn assert_rejected(signature: &str, message: &str, position: usize) {
        let error = signature.parse::<GufuncSignature>().unwrap_err();
        let expected = format!("{message} at position {position} in \"{signature}\"");
        assert_eq!((error.to_string(), error.position), (expected, position));
        assert_eq!(
            (error.message, error.signature.as_str()),
            (message, signature)
        );
    }

    #[test]
    fn matrix_multiply_has_two_inputs_one_output_and_three_names() {
        let parsed = parse("(m,n),(n,p)->(m,p)");
        assert_eq!(parsed, sig(&[&["m", "n"], &["n", "p"]], &[&["m", "p"]]));
        assert_eq!((parsed.nin(), parsed.nout()), (2, 1));
        assert_eq!(parsed.core_dim_names(), ["m", "n", "p"]);
    }

    #[test]
    fn scalar_arguments_have_no_core_dimensions() {
        assert_eq!(parse("(n),(n)->()"), sig(&[&["n"], &["n"]], &[&[]]));
        assert_eq!(parse("()->()"), sig(&[&[]], &[&[]]));
        assert_eq!(parse("(),()->()").nin(), 2);
        assert!(parse("()->()").core_dim_names().is_empty());
    }

    #[test]
    fn frozen_sizes_are_positive_decimals_and_leading_zeros_are_dropped() {
        assert_eq!(parse("(3)->(3)"), sig(&[&["3"]], &[&["3"]]));
        let parsed = parse("(3),(03,3),(n)->(9)");
        assert_eq!(parsed, sig(&[&["3"], &["3", "3"], &["n"]], &[&["9"]]));
        assert_eq!(parsed.to_string(), "(3),(3,3),(n)->(9)");
        assert_eq!(parsed.core_dim_names(), ["n"], "frozen sizes are not names");
    }

    #[test]
    fn frozen_size_zero_negative_or_not_a_number_is_rejected() {
        assert_rejected("(0)->()", EXPECT_DIMENSION, 1);
        assert_rejected("(n,00)->()", EXPECT_DIMENSION, 3);
        assert_rejected("(-3)->()", EXPECT_DIMENSION, 1);
        assert_rejected("(3a)->()", EXPECT_DIMENSION, 1);
        assert_rejected("(3_)->()", EXPECT_DIMENSION, 1);
        assert_rejected("(?)->()", EXPECT_DIMENSION, 1);
        assert_rejected("((n))->()", EXPECT_DIMENSION, 1);
        // `strtoll` takes the sign, but it is not part of the dimension token.
        assert_rejected("(+3)->()", EXPECT_COMMA_OR_CLOSE, 1);
        assert_rejected("(3.5)->()", EXPECT_COMMA_OR_CLOSE, 2);
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn frozen_size_must_be_below_the_largest_intp() {
        let largest = "(9223372036854775806)->()";
        assert_eq!(parse(largest), sig(&[&["9223372036854775806"]], &[&[]]));
        assert_rejected("(9223372036854775807)->()", EXPECT_DIMENSION, 1);
        assert_rejected("(99999999999999999999999)->()", EXPECT_DIMENSION, 1);
    }

    #[test]
    fn names_are_c_identifiers() {
        let parsed = parse("(i1,i2),(J_1)->(_kAB)");
        assert_eq!(parsed.core_dim_names(), ["i1", "i2", "J_1", "_kAB"]);
        assert_rejected("(ñ)->()", EXPECT_DIMENSION, 1);
    }

    #[test]
    fn question_mark_marks_optional_dimensions() {
        let parsed = parse("(m?,n),(n,p?)->(m?,p?)");
        assert_eq!(parsed, sig(&[&["m?", "n"], &["n", "p?"]], &[&["m?", "p?"]]));
        assert_eq!(parsed.core_dim_names(), ["m", "n", "p"]);
    }

    #[test]
    fn frozen_dimension_may_be_optional_as_in_numpy() {
        let dim = CoreDim {
            size: CoreDimSize::Frozen(3),
            optional: true,
        };
        assert_eq!(parse("(3?)->()").inputs, [[dim]]);
        assert_eq!(parse("(3?)->()").to_string(), "(3?)->()");
    }

    #[test]
    fn question_mark_must_be_used_at_every_appearance_or_none() {
        assert_rejected("(n),(n?)->()", OPTIONAL_NOT_ALLOWED, 5);
        assert_rejected("(n?),(n)->()", OPTIONAL_REQUIRED, 6);
        assert_rejected("(n)->(n?)", OPTIONAL_NOT_ALLOWED, 6);
        assert_rejected("(3?),(3)->()", OPTIONAL_REQUIRED, 6);
        assert_rejected("(3?),(+3)->()", OPTIONAL_REQUIRED, 6);
        assert_rejected("(n??)->()", EXPECT_COMMA_OR_CLOSE, 3);
        assert_rejected("(n ?)->()", EXPECT_COMMA_OR_CLOSE, 3);
    }

    #[test]
    fn spaces_and_tabs_may_surround_every_token() {
        assert_eq!(parse("( m , n ) -> ( )"), sig(&[&["m", "n"]], &[&[]]));
        let spaced = " \t(m,\tn) ,\t(n)\t->\t(m) , () \t";
        assert_eq!(parse(spaced), parse("(m,n),(n)->(m),()"));
        assert_eq!(parse("(  3)  -> ( )"), parse("(3)->()"));
    }

    #[test]
    fn newline_is_not_whitespace() {
        assert_rejected("(n)\n->()", EXPECT_ARROW, 3);
        assert_rejected("(n\n)->()", EXPECT_COMMA_OR_CLOSE, 2);
        assert_rejected("\n(n)->()", EXPECT_OPEN, 0);
    }

    #[test]
    fn broadcastable_one_is_not_numpy_syntax() {
        let error = "(n|1),(n|1)->()".parse::<GufuncSignature>().unwrap_err();
        let expected = r#"expect ',' or ')' at position 2 in "(n|1),(n|1)->()""#;
        assert_eq!(error.to_string(), expected);
    }

    #[test]
    fn commas_separate_and_never_trail() {
        assert_rejected("(n,)->()", COMMA_BEFORE_CLOSE, 3);
        assert_rejected("(n, )->()", COMMA_BEFORE_CLOSE, 4);
        assert_rejected("(,n)->()", EXPECT_DIMENSION, 1);
        assert_rejected("(n),->()", EXPECT_OPEN, 4);
        assert_rejected("(n),", INCOMPLETE, 4);
        assert_rejected("(n)->(),", INCOMPLETE, 8);
        assert_rejected("(n)->(), ", INCOMPLETE, 9);
    }

    #[test]
    fn inputs_end_at_the_first_argument_without_a_comma() {
        assert_rejected("(n)(n)", EXPECT_ARROW, 3);
        assert_rejected("(n)(n)->()", EXPECT_ARROW, 3);
        assert_rejected("(n)-()", EXPECT_ARROW, 3);
        assert_rejected("(n) > ()", EXPECT_ARROW, 4);
    }

    #[test]
    fn at_least_one_input_and_one_output_are_required() {
        assert_rejected("", INCOMPLETE, 0);
        assert_rejected("  ", INCOMPLETE, 2);
        assert_rejected("(n)", INCOMPLETE, 3);
        assert_rejected("->()", EXPECT_OPEN, 0);
        assert_rejected("(n)->", EXPECT_OPEN, 5);
        assert_rejected("(n)-> ", EXPECT_OPEN, 6);
    }

    #[test]
    fn nothing_may_follow_the_outputs() {
        assert_rejected("(n)->()x", EXPECT_OPEN, 7);
        assert_rejected("(n)->() x", EXPECT_OPEN, 8);
        assert_rejected("(n)->()->()", EXPECT_OPEN, 7);
        assert_rejected("(n)->()(m)", EXPECT_COMMA, 7);
        assert_rejected("(n)->()\0", EXPECT_OPEN, 7);
    }

    #[test]
    fn unclosed_argument_lists_are_rejected() {
        assert_rejected("(n->()", EXPECT_COMMA_OR_CLOSE, 2);
        assert_rejected("(n", EXPECT_COMMA_OR_CLOSE, 2);
        assert_rejected("(n,", UNEXPECTED_END, 3);
        assert_rejected("(", UNEXPECTED_END, 1);
        assert_rejected("(n)->(m", EXPECT_COMMA_OR_CLOSE, 7);
        assert_rejected("(n)->(", UNEXPECTED_END, 6);
    }

    #[test]
    fn several_outputs_share_names_listed_once_in_order_of_first_appearance() {
        let parsed = parse("(b,a),(3,c?)->(a,d,b),(c?)");
        assert_eq!((parsed.nin(), parsed.nout()), (2, 2));
        assert_eq!(
            parsed.outputs,
            sig(&[], &[&["a", "d", "b"], &["c?"]]).outputs
        );
        assert_eq!(parsed.core_dim_names(), ["b", "a", "c", "d"]);
    }

    #[test]
    fn display_is_canonical_and_round_trips() {
        for (text, canonical) in [
            ("(m,n),(n,p)->(m,p)", "(m,n),(n,p)->(m,p)"),
            ("( m , n ) -> ( )", "(m,n)->()"),
            ("()->()", "()->()"),
            ("(3)->(3)", "(3)->(3)"),
            ("(m?,n),(n,p?)->(m?,p?)", "(m?,n),(n,p?)->(m?,p?)"),
            ("(003,\tk) -> (k), ()", "(3,k)->(k),()"),
        ] {
            let parsed = parse(text);
            assert_eq!(parsed.to_string(), canonical);
            assert_eq!(parse(canonical), parsed);
        }
    }
}
