//! Generalized-ufunc signatures such as `(m,n),(n,p)->(m,p)`: their grammar, their
//! canonical text and their parse errors.
//!
//! This module owns only the text form of a signature. It must not know about
//! operands, shapes, dtypes or loops: binding core dimensions to the sizes of
//! actual arrays belongs to the gufunc runtime that consumes a [`GufuncSignature`].
//! It lives in the compiler so that the front end can check a `#[guvectorize("..")]`
//! signature against the parameter types at compile time; the runtime re-exports it
//! as `kern_runtime::gufunc_signature`.
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
//! NumPy's parser is told how many inputs and outputs the ufunc has. `FromStr`
//! infers them: each list ends at the first argument not followed by `,`, and every
//! error is the one NumPy reports for a ufunc whose counts match that reading.
//! [`GufuncSignature::parse_with_counts`] is NumPy's parser for a known arity, with
//! its errors for a signature of the wrong arity (`expect ','`, `expect '->'`,
//! `incomplete signature: not all arguments found`).

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

impl GufuncSignature {
    /// Parses `signature` for a gufunc of `nin` inputs and `nout` outputs, as
    /// NumPy's `_parse_signature` does for a ufunc of that arity: after input
    /// `nin - 1` comes `->`, between other arguments `,`, and a signature with fewer
    /// arguments is incomplete. Text after the last argument is reported as the
    /// inferring parser does (NumPy would read past its arrays there).
    pub fn parse_with_counts(
        signature: &str,
        nin: usize,
        nout: usize,
    ) -> Result<GufuncSignature, SignatureError> {
        Parser {
            text: signature,
            bytes: signature.as_bytes(),
            seen: Vec::new(),
        }
        .counted(nin, nout)
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

    fn counted(mut self, nin: usize, nout: usize) -> Result<GufuncSignature, SignatureError> {
        let nargs = nin + nout;
        let mut arguments: Vec<Vec<CoreDim>> = Vec::new();
        let mut i = self.skip_whitespace(0);
        while self.at(i).is_some() {
            if arguments.len() == nargs {
                let message = if self.at(i) == Some(b'(') {
                    EXPECT_COMMA
                } else {
                    EXPECT_OPEN
                };
                return self.fail(message, i);
            }
            if arguments.len() == nin {
                self.ensure(self.bytes[i..].starts_with(b"->"), EXPECT_ARROW, i)?;
                i = self.skip_whitespace(i + 2);
            }
            let (dims, next) = self.argument(i)?;
            arguments.push(dims);
            i = self.skip_whitespace(next);
            if arguments.len() != nin && arguments.len() != nargs {
                self.ensure(self.at(i) == Some(b','), EXPECT_COMMA, i)?;
                i = self.skip_whitespace(i + 1);
            }
        }
        self.ensure(arguments.len() == nargs, INCOMPLETE, i)?;
        let outputs = arguments.split_off(nin);
        Ok(GufuncSignature {
            inputs: arguments,
            outputs,
        })
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
mod tests;
