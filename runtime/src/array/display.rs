//! NumPy's text for arrays: `Display` for [`NdArray`] and [`ArrayRef`] prints exactly
//! what NumPy 2's `str(arr)` prints under its default print options (precision 8,
//! `floatmode='maxprec'`, no suppression, summaries of arrays over 1000 elements with
//! 3 edge items, lines of at most 75 characters).
//!
//! This module owns those rules, ported from `numpy/_core/arrayprint.py` and
//! NumPy's Dragon4 (`dragon4.c`): how each element type is written (shortest
//! round-trip digits, at most 8 fractional digits, one width for every element, when
//! floats switch to scientific notation) and how rows and blocks are laid out. It must
//! not know where arrays come from or how they are stored or computed.

use std::fmt;

use ndarray::{ArrayViewD, Axis};

use super::{with_array, ArrayRef, NdArray};

/// NumPy's default print options (`np.get_printoptions()`).
const PRECISION: usize = 8;
const THRESHOLD: usize = 1000;
const EDGE_ITEMS: usize = 3;
const LINE_WIDTH: usize = 75;

impl fmt::Display for NdArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.view(), f)
    }
}

impl fmt::Display for ArrayRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&with_array!(ArrayRef, self, |a: T| array_str(a.view())))
    }
}

/// NumPy's `str(a)`: a 0-d array prints its scalar, an empty one `[]`, others the
/// nested rows of elements that all have the same width.
fn array_str<T: PrintElement>(a: ArrayViewD<'_, T>) -> String {
    if a.ndim() == 0 {
        return a
            .first()
            .expect("a 0-d array holds one element")
            .scalar_str();
    }
    if a.is_empty() {
        return "[]".to_owned();
    }
    let summarize = a.len() > THRESHOLD;
    let mut shown = Vec::new();
    collect_shown(a.view(), summarize, &mut shown);
    let layout = Layout {
        summarize,
        format: T::element_format(&shown),
    };
    layout.block(a, " ", LINE_WIDTH)
}

/// An element type NumPy prints.
trait PrintElement: Copy {
    /// NumPy's `str` of a scalar of this type, which is what a 0-d array prints.
    fn scalar_str(self) -> String;

    /// The format every element of an array is written in, chosen from the elements
    /// the array shows (all of them, or the corners of a summarized array).
    fn element_format(shown: &[Self]) -> impl Fn(Self) -> String;
}

impl PrintElement for bool {
    fn scalar_str(self) -> String {
        if self { "True" } else { "False" }.to_owned()
    }

    fn element_format(_: &[bool]) -> impl Fn(bool) -> String {
        |x| if x { " True" } else { "False" }.to_owned()
    }
}

macro_rules! print_int {
    ($($t:ty),*) => {$(
        impl PrintElement for $t {
            fn scalar_str(self) -> String {
                self.to_string()
            }

            fn element_format(shown: &[$t]) -> impl Fn($t) -> String {
                let width = shown.iter().map(|x| x.to_string().len()).max().unwrap_or(0);
                move |x| format!("{x:>width$}")
            }
        }
    )*};
}
print_int!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! print_float {
    ($($t:ty),*) => {$(
        impl PrintElement for $t {
            fn scalar_str(self) -> String {
                float_scalar_str(self)
            }

            fn element_format(shown: &[$t]) -> impl Fn($t) -> String {
                let format = FloatFormat::new(shown);
                move |x| format.format(x)
            }
        }
    )*};
}
print_float!(f32, f64);

/// How many leading and trailing items of an axis of `len` are printed: NumPy shows
/// `EDGE_ITEMS` at each end of an axis longer than twice that in a summarized array.
fn edges(summarize: bool, len: usize) -> (usize, usize) {
    if summarize && len > 2 * EDGE_ITEMS {
        (EDGE_ITEMS, EDGE_ITEMS)
    } else {
        (0, len)
    }
}

/// Appends the elements of `a` that are printed to `shown`, in order.
fn collect_shown<T: Copy>(a: ArrayViewD<'_, T>, summarize: bool, shown: &mut Vec<T>) {
    if a.ndim() == 0 {
        shown.extend(a.iter().copied());
        return;
    }
    let len = a.len_of(Axis(0));
    let (leading, trailing) = edges(summarize, len);
    for i in (0..leading).chain(len - trailing..len) {
        collect_shown(a.index_axis(Axis(0), i), summarize, shown);
    }
}

/// How an array's rows are laid out: whether it is summarized, and the format of its
/// elements.
struct Layout<F> {
    summarize: bool,
    format: F,
}

impl<F> Layout<F> {
    /// `a` (at least 1-d) in brackets, as NumPy's `_formatArray` writes it: lines
    /// (including the closing brackets) fit in `width` columns where they can, and
    /// continue after `indent`.
    fn block<T: Copy>(&self, a: ArrayViewD<'_, T>, indent: &str, width: usize) -> String
    where
        F: Fn(T) -> String,
    {
        let len = a.len_of(Axis(0));
        let (leading, trailing) = edges(self.summarize, len);
        let summary = leading + trailing < len;
        // `Some(i)` for item `i`, `None` for the `...` of a summary.
        let items = (0..leading)
            .map(Some)
            .chain(summary.then_some(None))
            .chain((len - trailing..len).map(Some));
        let mut text = String::new();
        if a.ndim() == 1 {
            // One column stays free for the closing bracket.
            let word_width = width.saturating_sub(1);
            let mut line = indent.to_owned();
            let mut words = items
                .map(|item| item.map_or_else(|| "...".to_owned(), |i| (self.format)(a[[i]])))
                .peekable();
            while let Some(word) = words.next() {
                extend_line(&mut text, &mut line, &word, word_width, indent);
                if words.peek().is_some() {
                    line.push(' ');
                }
            }
            text.push_str(&line);
        } else {
            let inner_indent = format!("{indent} ");
            // Rows of a matrix are on consecutive lines, matrices of a 3-d array are
            // one blank line apart, and so on.
            let separator = "\n".repeat(a.ndim() - 1);
            for (k, item) in items.enumerate() {
                if k > 0 {
                    text.push_str(&separator);
                }
                text.push_str(indent);
                match item {
                    Some(i) => text.push_str(&self.block(
                        a.index_axis(Axis(0), i),
                        &inner_indent,
                        width.saturating_sub(1),
                    )),
                    None => text.push_str("..."),
                }
            }
        }
        format!("[{}]", &text[indent.len()..])
    }
}

/// NumPy's `_extendLine`: appends `word` to `line`, first moving `line` into `text`
/// and starting a new one after `indent` if the word would pass `width` (unless the
/// line holds nothing but the indent, where wrapping would not help).
fn extend_line(text: &mut String, line: &mut String, word: &str, width: usize, indent: &str) {
    if line.len() + word.len() > width && line.len() > indent.len() {
        text.push_str(line.trim_end());
        text.push('\n');
        line.clear();
        line.push_str(indent);
    }
    line.push_str(word);
}

/// What NumPy's float formatting needs of `f32` and `f64`.
trait Float:
    Copy + PartialOrd + fmt::Display + fmt::LowerExp + std::str::FromStr + std::ops::Div<Output = Self>
{
    const ZERO: Self;
    /// An array with an element at least this large prints in scientific notation:
    /// `10**min(8, np.finfo(dtype).precision)`.
    const SCIENTIFIC_FROM: Self;
    /// ... and so does one with a non-zero element smaller than this (`1e-4`, in the
    /// element type)...
    const SCIENTIFIC_BELOW: Self;
    /// ... or with a largest magnitude more than this many times its smallest.
    const SCIENTIFIC_RATIO: Self;
    /// A scalar prints in positional notation below this magnitude (and from `1e-4`).
    const SCALAR_POSITIONAL_BELOW: f64;

    fn abs(self) -> Self;
    fn is_finite(self) -> bool;
    fn is_nan(self) -> bool;
    fn is_sign_negative(self) -> bool;
    fn to_f64(self) -> f64;
    /// `(m, e)` with `self == m × 2^e`, for a finite `self`.
    fn decompose(self) -> (u64, i32);
}

macro_rules! float {
    ($t:ty, fraction_bits: $fraction_bits:expr, exponent_mask: $exponent_mask:expr,
     bias: $bias:expr, scientific_from: $scientific_from:expr,
     scalar_positional_below: $scalar_positional_below:expr) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const SCIENTIFIC_FROM: Self = $scientific_from;
            const SCIENTIFIC_BELOW: Self = 1e-4;
            const SCIENTIFIC_RATIO: Self = 1000.0;
            const SCALAR_POSITIONAL_BELOW: f64 = $scalar_positional_below;

            fn abs(self) -> Self {
                <$t>::abs(self)
            }

            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }

            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }

            fn is_sign_negative(self) -> bool {
                <$t>::is_sign_negative(self)
            }

            fn to_f64(self) -> f64 {
                f64::from(self)
            }

            fn decompose(self) -> (u64, i32) {
                let bits = self.to_bits();
                let fraction = u64::from(bits & ((1 << $fraction_bits) - 1));
                let biased = ((bits >> $fraction_bits) & $exponent_mask) as i32;
                if biased == 0 {
                    // Subnormal: no implicit leading bit, the smallest exponent.
                    (fraction, 1 - $bias - $fraction_bits)
                } else {
                    let mantissa = fraction | 1 << $fraction_bits;
                    (mantissa, biased - $bias - $fraction_bits)
                }
            }
        }
    };
}
float!(f32, fraction_bits: 23, exponent_mask: 0xff, bias: 127, scientific_from: 1e6,
       scalar_positional_below: 1e6);
float!(f64, fraction_bits: 52, exponent_mask: 0x7ff, bias: 1023, scientific_from: 1e8,
       scalar_positional_below: 1e16);

/// The decimal digits of a finite, non-negative float: `d₁.d₂…dₙ × 10^exp`.
#[derive(Clone, Debug, PartialEq)]
struct Digits {
    digits: Vec<u8>,
    exp: i32,
}

impl Digits {
    /// Reads Rust's `{:e}` text of a non-negative float (`1.25e-7`, `3e0`).
    fn parse(text: &str) -> Digits {
        let (mantissa, exp) = text.split_once('e').expect("`{:e}` writes an exponent");
        Digits {
            digits: mantissa.bytes().filter(u8::is_ascii_digit).collect(),
            exp: exp.parse().expect("`{:e}` writes an integer exponent"),
        }
    }

    /// The shortest digits that read back as `x` (finite, non-negative), picked as
    /// NumPy's Dragon4 picks them.
    fn shortest<F: Float>(x: F) -> Digits {
        let digits = Digits::parse(&format!("{x:e}"));
        // When `x` lies exactly halfway between the two closest shortest candidates,
        // Rust takes the upper one and Dragon4 the one whose last digit is even.
        if digits.last_digit() % 2 == 1 {
            if let Some(lower) = digits.tie_below(x) {
                return lower;
            }
        }
        digits
    }

    /// The same number of digits with the last one lowered by one, if `x` is exactly
    /// halfway between those digits and these, and those read back as `x` too.
    fn tie_below<F: Float>(&self, x: F) -> Option<Digits> {
        let mut lower = self.clone();
        let last = lower.digits.last_mut()?;
        *last = last.checked_sub(1).filter(|d| d.is_ascii_digit())?;
        let n = lower.digits.len() as i32;
        let lower_int: u128 = std::str::from_utf8(&lower.digits).ok()?.parse().ok()?;
        // The midpoint is (10 × lower + 5) × 10^(exp - n).
        if !is_exactly(x, lower_int * 10 + 5, lower.exp - n) {
            return None;
        }
        let text = format!("{}e{}", lower_int, lower.exp - n + 1);
        if text.parse::<F>().ok()? != x {
            return None;
        }
        lower
            .digits
            .truncate(lower.digits.iter().rposition(|&d| d != b'0')? + 1);
        Some(lower)
    }

    fn last_digit(&self) -> u8 {
        self.digits.last().map_or(0, |d| d - b'0')
    }

    /// The digits before and after the decimal point in positional notation
    /// (`("0", "0012")` for 1.2e-3, `("1200", "")` for 1.2e3).
    fn positional(&self) -> (String, String) {
        let digits = std::str::from_utf8(&self.digits).expect("ASCII digits");
        if self.exp < 0 {
            let zeros = "0".repeat((-self.exp - 1) as usize);
            return ("0".to_owned(), format!("{zeros}{digits}"));
        }
        let whole = self.exp as usize + 1;
        if digits.len() <= whole {
            (format!("{digits:0<whole$}"), String::new())
        } else {
            (digits[..whole].to_owned(), digits[whole..].to_owned())
        }
    }

    /// The mantissa in scientific notation: `d.ddd`, or `d.` for a single digit.
    fn mantissa(&self) -> String {
        let digits = std::str::from_utf8(&self.digits).expect("ASCII digits");
        format!("{}.{}", &digits[..1], &digits[1..])
    }
}

/// Whether `x == n × 10^p` exactly, for an odd `n`.
fn is_exactly<F: Float>(x: F, n: u128, p: i32) -> bool {
    let (m, e) = x.decompose();
    if m == 0 {
        return false;
    }
    // x = odd × 2^b and n × 10^p = n × 5^p × 2^p, where n × 5^p is odd too.
    let odd = u128::from(m >> m.trailing_zeros());
    let b = e + m.trailing_zeros() as i32;
    let pow5 = |k: i32| 5u128.checked_pow(k.unsigned_abs());
    b == p
        && if p >= 0 {
            pow5(p).and_then(|f| f.checked_mul(n)) == Some(odd)
        } else {
            pow5(p).and_then(|f| f.checked_mul(odd)) == Some(n)
        }
}

/// `x` (finite) in positional notation with at most `max_frac` fractional digits, as
/// NumPy's `format_float_positional(x, max_frac, unique=True, trim='.')` writes it:
/// the integer part (with its sign) and the fractional digits.
fn positional<F: Float>(x: F, max_frac: usize) -> (String, String) {
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let (int, frac) = Digits::shortest(x.abs()).positional();
    if frac.len() <= max_frac {
        return (format!("{sign}{int}"), frac);
    }
    // Dragon4 stops at the cutoff and rounds the exact value there, half to even;
    // so does Rust's fixed-precision formatting.
    let rounded = format!("{:.max_frac$}", x.abs());
    let (int, frac) = rounded.split_once('.').expect("a fixed-precision float");
    (
        format!("{sign}{int}"),
        frac.trim_end_matches('0').to_owned(),
    )
}

/// `|x|` (finite) in scientific notation with at most `max_frac` digits after the
/// point: the digits of NumPy's `format_float_scientific(x, max_frac, unique=True)`.
fn scientific<F: Float>(x: F, max_frac: usize) -> Digits {
    let shortest = Digits::shortest(x.abs());
    if shortest.digits.len() <= max_frac + 1 {
        return shortest;
    }
    let mut rounded = Digits::parse(&format!("{:.max_frac$e}", x.abs()));
    let kept = rounded.digits.iter().rposition(|&d| d != b'0').unwrap_or(0) + 1;
    rounded.digits.truncate(kept);
    rounded
}

/// `e+05`, `e-123`: an exponent with at least `digits` digits.
fn exponent(exp: i32, digits: usize) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    format!("e{sign}{:0>digits$}", exp.unsigned_abs())
}

/// NumPy's `str` of a float scalar: the shortest round-trip digits, positional with at
/// least one fractional digit from 1e-4 up to a type-dependent bound (`1.0`, `0.001`),
/// scientific without trailing zeros outside it (`1e+16`, `1.5e-05`).
fn float_scalar_str<F: Float>(x: F) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if !x.is_finite() {
        return format!("{sign}inf");
    }
    let magnitude = x.abs().to_f64();
    let digits = Digits::shortest(x.abs());
    if magnitude == 0.0 || (1e-4..F::SCALAR_POSITIONAL_BELOW).contains(&magnitude) {
        let (int, frac) = digits.positional();
        let frac = if frac.is_empty() { "0" } else { &frac };
        format!("{sign}{int}.{frac}")
    } else {
        let mantissa = digits.mantissa();
        let mantissa = mantissa.trim_end_matches('.');
        format!("{sign}{mantissa}{}", exponent(digits.exp, 2))
    }
}

/// NumPy's `FloatingFormat` under the default options: one notation and width for all
/// the elements of an array.
#[derive(Debug, PartialEq)]
struct FloatFormat {
    notation: Notation,
    /// Characters every element has left of its decimal point (sign included).
    pad_left: usize,
    /// Characters every element has right of its decimal point (in scientific
    /// notation: mantissa digits and exponent).
    pad_right: usize,
}

#[derive(Debug, PartialEq)]
enum Notation {
    /// Up to `PRECISION` fractional digits, trailing zeros replaced by spaces.
    Positional,
    /// `precision` digits after the point for every element, and exponents of at
    /// least `exp_digits` digits.
    Scientific { precision: usize, exp_digits: usize },
}

impl FloatFormat {
    /// NumPy's `FloatingFormat.fillFormat`: the format of the elements `shown`.
    fn new<F: Float>(shown: &[F]) -> FloatFormat {
        let finite: Vec<F> = shown.iter().copied().filter(|x| x.is_finite()).collect();
        let mut format = if finite.is_empty() {
            FloatFormat {
                notation: Notation::Positional,
                pad_left: 0,
                pad_right: 0,
            }
        } else if needs_scientific(&finite) {
            let digits: Vec<(bool, Digits)> = finite
                .iter()
                .map(|&x| (x.is_sign_negative(), scientific(x, PRECISION)))
                .collect();
            let precision = digits.iter().map(|(_, d)| d.digits.len() - 1).max();
            let exp_digits = digits
                .iter()
                .map(|(_, d)| exponent(d.exp, 2).len() - 2)
                .max();
            let pad_left = digits
                .iter()
                .map(|&(negative, _)| 1 + usize::from(negative))
                .max();
            let (precision, exp_digits) = (precision.unwrap_or(0), exp_digits.unwrap_or(2));
            FloatFormat {
                notation: Notation::Scientific {
                    precision,
                    exp_digits,
                },
                pad_left: pad_left.unwrap_or(1),
                pad_right: exp_digits + 2 + precision,
            }
        } else {
            let parts: Vec<(String, String)> =
                finite.iter().map(|&x| positional(x, PRECISION)).collect();
            FloatFormat {
                notation: Notation::Positional,
                pad_left: parts.iter().map(|(int, _)| int.len()).max().unwrap_or(0),
                pad_right: parts.iter().map(|(_, frac)| frac.len()).max().unwrap_or(0),
            }
        };
        if finite.len() < shown.len() {
            // `nan`, `inf` and `-inf` are right-aligned in the full width.
            let neg_inf = shown
                .iter()
                .any(|x| !x.is_finite() && !x.is_nan() && x.is_sign_negative());
            let widest = 3 + usize::from(neg_inf);
            format.pad_left = format
                .pad_left
                .max(widest.saturating_sub(format.pad_right + 1));
        }
        format
    }

    fn format<F: Float>(&self, x: F) -> String {
        if !x.is_finite() {
            let word = match (x.is_nan(), x.is_sign_negative()) {
                (true, _) => "nan",
                (false, false) => "inf",
                (false, true) => "-inf",
            };
            return format!("{word:>width$}", width = self.pad_left + self.pad_right + 1);
        }
        let (pad_left, pad_right) = (self.pad_left, self.pad_right);
        match self.notation {
            Notation::Positional => {
                let (int, frac) = positional(x, PRECISION);
                format!("{int:>pad_left$}.{frac:<pad_right$}")
            }
            Notation::Scientific {
                precision,
                exp_digits,
            } => {
                // Every element gets `precision` digits: the exact value rounded there,
                // which may show digits past the shortest round-trip ones.
                let digits = Digits::parse(&format!("{:.precision$e}", x.abs()));
                let sign = if x.is_sign_negative() { "-" } else { "" };
                let mantissa = format!("{sign}{}", digits.mantissa());
                let int_len = 1 + sign.len();
                let padding = " ".repeat(pad_left.saturating_sub(int_len));
                format!("{padding}{mantissa}{}", exponent(digits.exp, exp_digits))
            }
        }
    }
}

/// NumPy's rule for scientific notation, on the finite elements of an array: a
/// magnitude of at least `SCIENTIFIC_FROM`, a non-zero one below `1e-4`, or a ratio of
/// more than 1000 between the largest and smallest non-zero magnitude (compared in
/// the element type, as NumPy does).
fn needs_scientific<F: Float>(finite: &[F]) -> bool {
    let mut magnitudes = finite.iter().map(|x| x.abs()).filter(|&a| a != F::ZERO);
    let Some(first) = magnitudes.next() else {
        return false;
    };
    let (min, max) = magnitudes.fold((first, first), |(min, max), a| {
        (if a < min { a } else { min }, if a > max { a } else { max })
    });
    max >= F::SCIENTIFIC_FROM || min < F::SCIENTIFIC_BELOW || max / min > F::SCIENTIFIC_RATIO
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::npy::numpy_interop::run_python;
    use crate::array::npy::save_npy;
    use crate::array::{cast_value, with_dtype, Element, ARRAY_DTYPES};
    use kern_compiler::ir::ScalarValue;
    use ndarray::{ArrayD, IxDyn};

    fn arr<T: Element>(values: &[T], shape: &[usize]) -> NdArray {
        T::wrap(ArrayD::from_shape_vec(IxDyn(shape), values.to_vec()).unwrap())
    }

    #[test]
    fn prints_like_numpys_str() {
        // Each expected string is `str(...)` of the NumPy 2.4 expression above it.
        let cases = [
            // np.arange(5)
            (arr::<i64>(&[0, 1, 2, 3, 4], &[5]), "[0 1 2 3 4]"),
            // np.array([1.0, 2.0, 3.0])
            (arr::<f64>(&[1.0, 2.0, 3.0], &[3]), "[1. 2. 3.]"),
            // np.array([0.5, 1.25])
            (arr::<f64>(&[0.5, 1.25], &[2]), "[0.5  1.25]"),
            // np.array([1/3, 2/3, 10.0])
            (
                arr::<f64>(&[1.0 / 3.0, 2.0 / 3.0, 10.0], &[3]),
                "[ 0.33333333  0.66666667 10.        ]",
            ),
            // np.arange(6).reshape(2, 3)
            (
                arr::<i64>(&[0, 1, 2, 3, 4, 5], &[2, 3]),
                r"[[0 1 2]
 [3 4 5]]",
            ),
            // np.arange(24).reshape(2, 3, 4)
            (
                arr::<i64>(&(0..24).collect::<Vec<_>>(), &[2, 3, 4]),
                r"[[[ 0  1  2  3]
  [ 4  5  6  7]
  [ 8  9 10 11]]

 [[12 13 14 15]
  [16 17 18 19]
  [20 21 22 23]]]",
            ),
            // (np.arange(8) / 4).reshape(2, 2, 2)
            (
                arr::<f64>(
                    &(0..8).map(|i| i as f64 / 4.0).collect::<Vec<_>>(),
                    &[2, 2, 2],
                ),
                r"[[[0.   0.25]
  [0.5  0.75]]

 [[1.   1.25]
  [1.5  1.75]]]",
            ),
            // np.arange(16).reshape(2, 2, 2, 2)
            (
                arr::<i64>(&(0..16).collect::<Vec<_>>(), &[2, 2, 2, 2]),
                r"[[[[ 0  1]
   [ 2  3]]

  [[ 4  5]
   [ 6  7]]]


 [[[ 8  9]
   [10 11]]

  [[12 13]
   [14 15]]]]",
            ),
            // np.arange(40) * 1000
            (
                arr::<i64>(&(0..40).map(|i| i * 1000).collect::<Vec<_>>(), &[40]),
                r"[    0  1000  2000  3000  4000  5000  6000  7000  8000  9000 10000 11000
 12000 13000 14000 15000 16000 17000 18000 19000 20000 21000 22000 23000
 24000 25000 26000 27000 28000 29000 30000 31000 32000 33000 34000 35000
 36000 37000 38000 39000]",
            ),
            // np.arange(30) / 29
            (
                arr::<f64>(&(0..30).map(|i| i as f64 / 29.0).collect::<Vec<_>>(), &[30]),
                r"[0.         0.03448276 0.06896552 0.10344828 0.13793103 0.17241379
 0.20689655 0.24137931 0.27586207 0.31034483 0.34482759 0.37931034
 0.4137931  0.44827586 0.48275862 0.51724138 0.55172414 0.5862069
 0.62068966 0.65517241 0.68965517 0.72413793 0.75862069 0.79310345
 0.82758621 0.86206897 0.89655172 0.93103448 0.96551724 1.        ]",
            ),
            // (np.arange(60) * 1.5).reshape(2, 30)
            (
                arr::<f64>(
                    &(0..60).map(|i| i as f64 * 1.5).collect::<Vec<_>>(),
                    &[2, 30],
                ),
                r"[[ 0.   1.5  3.   4.5  6.   7.5  9.  10.5 12.  13.5 15.  16.5 18.  19.5
  21.  22.5 24.  25.5 27.  28.5 30.  31.5 33.  34.5 36.  37.5 39.  40.5
  42.  43.5]
 [45.  46.5 48.  49.5 51.  52.5 54.  55.5 57.  58.5 60.  61.5 63.  64.5
  66.  67.5 69.  70.5 72.  73.5 75.  76.5 78.  79.5 81.  82.5 84.  85.5
  87.  88.5]]",
            ),
            // np.arange(2000)
            (
                arr::<i64>(&(0..2000).collect::<Vec<_>>(), &[2000]),
                "[   0    1    2 ... 1997 1998 1999]",
            ),
            // (np.arange(6000) * 0.5).reshape(2000, 3)
            (
                arr::<f64>(
                    &(0..6000).map(|i| i as f64 * 0.5).collect::<Vec<_>>(),
                    &[2000, 3],
                ),
                r"[[0.0000e+00 5.0000e-01 1.0000e+00]
 [1.5000e+00 2.0000e+00 2.5000e+00]
 [3.0000e+00 3.5000e+00 4.0000e+00]
 ...
 [2.9955e+03 2.9960e+03 2.9965e+03]
 [2.9970e+03 2.9975e+03 2.9980e+03]
 [2.9985e+03 2.9990e+03 2.9995e+03]]",
            ),
            // np.arange(2000).reshape(10, 10, 20)
            (
                arr::<i64>(&(0..2000).collect::<Vec<_>>(), &[10, 10, 20]),
                r"[[[   0    1    2 ...   17   18   19]
  [  20   21   22 ...   37   38   39]
  [  40   41   42 ...   57   58   59]
  ...
  [ 140  141  142 ...  157  158  159]
  [ 160  161  162 ...  177  178  179]
  [ 180  181  182 ...  197  198  199]]

 [[ 200  201  202 ...  217  218  219]
  [ 220  221  222 ...  237  238  239]
  [ 240  241  242 ...  257  258  259]
  ...
  [ 340  341  342 ...  357  358  359]
  [ 360  361  362 ...  377  378  379]
  [ 380  381  382 ...  397  398  399]]

 [[ 400  401  402 ...  417  418  419]
  [ 420  421  422 ...  437  438  439]
  [ 440  441  442 ...  457  458  459]
  ...
  [ 540  541  542 ...  557  558  559]
  [ 560  561  562 ...  577  578  579]
  [ 580  581  582 ...  597  598  599]]

 ...

 [[1400 1401 1402 ... 1417 1418 1419]
  [1420 1421 1422 ... 1437 1438 1439]
  [1440 1441 1442 ... 1457 1458 1459]
  ...
  [1540 1541 1542 ... 1557 1558 1559]
  [1560 1561 1562 ... 1577 1578 1579]
  [1580 1581 1582 ... 1597 1598 1599]]

 [[1600 1601 1602 ... 1617 1618 1619]
  [1620 1621 1622 ... 1637 1638 1639]
  [1640 1641 1642 ... 1657 1658 1659]
  ...
  [1740 1741 1742 ... 1757 1758 1759]
  [1760 1761 1762 ... 1777 1778 1779]
  [1780 1781 1782 ... 1797 1798 1799]]

 [[1800 1801 1802 ... 1817 1818 1819]
  [1820 1821 1822 ... 1837 1838 1839]
  [1840 1841 1842 ... 1857 1858 1859]
  ...
  [1940 1941 1942 ... 1957 1958 1959]
  [1960 1961 1962 ... 1977 1978 1979]
  [1980 1981 1982 ... 1997 1998 1999]]]",
            ),
            // np.arange(1010).reshape(1, 1010)
            (
                arr::<i64>(&(0..1010).collect::<Vec<_>>(), &[1, 1010]),
                "[[   0    1    2 ... 1007 1008 1009]]",
            ),
            // np.arange(1000) % 7
            (
                arr::<i64>(&(0..1000).map(|i| i % 7).collect::<Vec<_>>(), &[1000]),
                r"[0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1
 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3
 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5
 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0
 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2
 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4
 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6
 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1
 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3
 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5
 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0
 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2
 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4
 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6
 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1
 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3
 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5
 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0
 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2
 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4
 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6
 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1
 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3
 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5
 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0
 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2
 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4 5 6 0 1 2 3 4
 5]",
            ),
            // np.array([1e10, 1e-10])
            (arr::<f64>(&[1e10, 1e-10], &[2]), "[1.e+10 1.e-10]"),
            // np.array([1e-5, 1.0, 100.0])
            (
                arr::<f64>(&[1e-5, 1.0, 100.0], &[3]),
                "[1.e-05 1.e+00 1.e+02]",
            ),
            // np.array([1.5e8, 2.0])
            (arr::<f64>(&[1.5e8, 2.0], &[2]), "[1.5e+08 2.0e+00]"),
            // np.array([1.0, 1001.0])
            (arr::<f64>(&[1.0, 1001.0], &[2]), "[1.000e+00 1.001e+03]"),
            // np.array([1.0, 1000.0])
            (arr::<f64>(&[1.0, 1000.0], &[2]), "[   1. 1000.]"),
            // np.array([1.23456789e-5, -2.5e100, 3.0])
            (
                arr::<f64>(&[1.23456789e-5, -2.5e100, 3.0], &[3]),
                "[ 1.23456789e-005 -2.50000000e+100  3.00000000e+000]",
            ),
            // np.array([123456.789, 0.001, -42.5])
            (
                arr::<f64>(&[123456.789, 0.001, -42.5], &[3]),
                "[ 1.23456789e+05  1.00000000e-03 -4.25000000e+01]",
            ),
            // np.array([-1.5, 2.25, -3.0])
            (arr::<f64>(&[-1.5, 2.25, -3.0], &[3]), "[-1.5   2.25 -3.  ]"),
            // np.array([-5, 10, -200])
            (arr::<i64>(&[-5, 10, -200], &[3]), "[  -5   10 -200]"),
            // np.array([-0.0, 1.0])
            (arr::<f64>(&[-0.0, 1.0], &[2]), "[-0.  1.]"),
            // np.array([np.nan, 1.0, -np.inf, np.inf])
            (
                arr::<f64>(&[f64::NAN, 1.0, f64::NEG_INFINITY, f64::INFINITY], &[4]),
                "[ nan   1. -inf  inf]",
            ),
            // np.array([np.nan, np.nan])
            (arr::<f64>(&[f64::NAN, f64::NAN], &[2]), "[nan nan]"),
            // np.array([np.inf, -np.inf])
            (
                arr::<f64>(&[f64::INFINITY, f64::NEG_INFINITY], &[2]),
                "[ inf -inf]",
            ),
            // np.array([1e-10, np.nan, -np.inf])
            (
                arr::<f64>(&[1e-10, f64::NAN, f64::NEG_INFINITY], &[3]),
                "[1.e-10    nan   -inf]",
            ),
            // np.array([0.123456789, np.nan])
            (
                arr::<f64>(&[0.123456789, f64::NAN], &[2]),
                "[0.12345679        nan]",
            ),
            // np.array([0.001953125, 0.005859375, 1.0])
            (
                arr::<f64>(&[0.001953125, 0.005859375, 1.0], &[3]),
                "[0.00195312 0.00585938 1.        ]",
            ),
            // np.array([0.1, 0.2, 1/3], dtype=np.float32)
            (
                arr::<f32>(&[0.1, 0.2, 1.0 / 3.0], &[3]),
                "[0.1        0.2        0.33333334]",
            ),
            // np.array([1e6, 1.0], dtype=np.float32)
            (arr::<f32>(&[1e6, 1.0], &[2]), "[1.e+06 1.e+00]"),
            // np.array([123456.7, 1000.5], dtype=np.float32)
            (arr::<f32>(&[123456.7, 1000.5], &[2]), "[123456.7   1000.5]"),
            // np.array([0.1, 1.2345678e-7], dtype=np.float32)
            (
                arr::<f32>(&[0.1, 1.2345678e-7], &[2]),
                "[1.0000000e-01 1.2345679e-07]",
            ),
            // np.array([1e-4, 2e-4], dtype=np.float32)
            (arr::<f32>(&[1e-4, 2e-4], &[2]), "[0.0001 0.0002]"),
            // np.array([-128, 0, 127], dtype=np.int8)
            (arr::<i8>(&[-128, 0, 127], &[3]), "[-128    0  127]"),
            // np.array([0, 7, 255], dtype=np.uint8)
            (arr::<u8>(&[0, 7, 255], &[3]), "[  0   7 255]"),
            // np.array([-32768, 5, 32767], dtype=np.int16)
            (
                arr::<i16>(&[-32768, 5, 32767], &[3]),
                "[-32768      5  32767]",
            ),
            // np.array([0, 65535], dtype=np.uint16)
            (arr::<u16>(&[0, 65535], &[2]), "[    0 65535]"),
            // np.array([-2**31, -1, 2**31 - 1], dtype=np.int32)
            (
                arr::<i32>(&[i32::MIN, -1, i32::MAX], &[3]),
                "[-2147483648          -1  2147483647]",
            ),
            // np.array([0, 2**32 - 1], dtype=np.uint32)
            (arr::<u32>(&[0, u32::MAX], &[2]), "[         0 4294967295]"),
            // np.array([-2**63, 0, 2**63 - 1], dtype=np.int64)
            (
                arr::<i64>(&[i64::MIN, 0, i64::MAX], &[3]),
                "[-9223372036854775808                    0  9223372036854775807]",
            ),
            // np.array([0, 1, 2**64 - 1], dtype=np.uint64)
            (
                arr::<u64>(&[0, 1, u64::MAX], &[3]),
                "[                   0                    1 18446744073709551615]",
            ),
            // np.array([True, False, True])
            (
                arr::<bool>(&[true, false, true], &[3]),
                "[ True False  True]",
            ),
            // np.array([[True, False], [False, True]])
            (
                arr::<bool>(&[true, false, false, true], &[2, 2]),
                r"[[ True False]
 [False  True]]",
            ),
            // np.array(3.5)
            (arr::<f64>(&[3.5], &[]), "3.5"),
            // np.array(1.0)
            (arr::<f64>(&[1.0], &[]), "1.0"),
            // np.array(1/3)
            (arr::<f64>(&[1.0 / 3.0], &[]), "0.3333333333333333"),
            // np.array(1e20)
            (arr::<f64>(&[1e20], &[]), "1e+20"),
            // np.array(1234567890123456.0)
            (arr::<f64>(&[1234567890123456.0], &[]), "1234567890123456.0"),
            // np.array(1.5e-5)
            (arr::<f64>(&[1.5e-5], &[]), "1.5e-05"),
            // np.array(987947971728212.25)
            (
                arr::<f64>(&[3_951_791_886_912_849.0 / 4.0], &[]),
                "987947971728212.2",
            ),
            // np.array(np.nan)
            (arr::<f64>(&[f64::NAN], &[]), "nan"),
            // np.array(-np.inf)
            (arr::<f64>(&[f64::NEG_INFINITY], &[]), "-inf"),
            // np.array(0.1, dtype=np.float32)
            (arr::<f32>(&[0.1], &[]), "0.1"),
            // np.array(1e7, dtype=np.float32)
            (arr::<f32>(&[1e7], &[]), "1e+07"),
            // np.array(-5, dtype=np.int8)
            (arr::<i8>(&[-5], &[]), "-5"),
            // np.array(True)
            (arr::<bool>(&[true], &[]), "True"),
            // np.zeros(0)
            (arr::<f64>(&[], &[0]), "[]"),
            // np.zeros((2, 0, 3), dtype=np.int64)
            (arr::<i64>(&[], &[2, 0, 3]), "[]"),
            // np.array([[7]])
            (arr::<i64>(&[7], &[1, 1]), "[[7]]"),
        ];
        for (array, expected) in cases {
            assert_eq!(array.to_string(), expected, "shape {:?}", array.shape());
        }
    }

    #[test]
    fn a_view_prints_the_values_it_shows() {
        let a = arr::<i64>(&(0..12).collect::<Vec<_>>(), &[3, 4]);
        let a = a.as_array::<i64>().unwrap();
        // np.arange(12).reshape(3, 4)[::2, ::-1]
        let view = ArrayRef::I64(a.slice(ndarray::s![..;2, ..;-1]).into_dyn());
        assert_eq!(view.to_string(), "[[ 3  2  1  0]\n [11 10  9  8]]");
    }

    #[test]
    fn shapes_are_written_as_python_tuples() {}

    #[test]
    fn shortest_digits_round_a_tie_to_the_even_digit_like_dragon4() {
        // 987947971728212.25 is exactly halfway between ...212.2 and ...212.3; Rust's
        // `{:e}` picks the upper one, NumPy (and Python's repr) the even one.
        let x = 3_951_791_886_912_849.0f64 / 4.0;
        assert_eq!(format!("{x:e}"), "9.879479717282123e14");
        assert_eq!(Digits::shortest(x), Digits::parse("9.879479717282122e14"));
        // Not a tie: 0.3 is not exactly halfway between anything.
        assert_eq!(Digits::shortest(0.3f64), Digits::parse("3e-1"));
        assert_eq!(Digits::shortest(0.0f64), Digits::parse("0e0"));
    }

    #[test]
    fn an_odd_last_digit_is_kept_unless_it_is_a_tie() {
        // 2^-25 = 2.98023223876953125e-08 has 18 digits; its shortest form has 17 and
        // its last digit rounds (half to even) down.
        let x = 2f64.powi(-25);
        assert_eq!(Digits::shortest(x), Digits::parse("2.9802322387695312e-8"));
        assert_eq!(Digits::shortest(0.1f32), Digits::parse("1e-1"));
        assert_eq!(
            Digits::shortest(1.0f32 / 3.0),
            Digits::parse("3.3333334e-1")
        );
    }

    #[test]
    fn float_formats_follow_numpys_fill_format() {
        assert_eq!(
            FloatFormat::new(&[0.5f64, 1.25]),
            FloatFormat {
                notation: Notation::Positional,
                pad_left: 1,
                pad_right: 2
            }
        );
        assert_eq!(
            FloatFormat::new(&[-1e-10f64, 3.5]),
            FloatFormat {
                notation: Notation::Scientific {
                    precision: 1,
                    exp_digits: 2
                },
                pad_left: 2,
                pad_right: 5
            }
        );
        assert_eq!(FloatFormat::new(&[1e-300f64]).format(2e-300), "2.e-300");
    }

    /// A small deterministic random number generator (SplitMix64).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// A random shape: mostly small, sometimes rows long enough to wrap, sometimes
    /// enough elements to be summarized.
    fn random_shape(rng: &mut Rng) -> Vec<usize> {
        let ndim = rng.below(5) as usize;
        let mut shape: Vec<usize> = (0..ndim).map(|_| rng.below(6) as usize).collect();
        match (ndim, rng.below(8)) {
            (1.., 0) => shape[ndim - 1] = 7 + rng.below(40) as usize,
            (1.., 1) => shape[0] = 1001 + rng.below(600) as usize,
            (2.., 2) => {
                shape[0] = 40 + rng.below(20) as usize;
                shape[1] = 25 + rng.below(20) as usize;
            }
            _ => {}
        }
        shape
    }

    /// A random float in one of several families: small integers, short decimals,
    /// any magnitude, any bit pattern, multiples of powers of two (halfway cases when
    /// rounded to 8 digits), or a special value.
    fn random_float(rng: &mut Rng, family: u64) -> f64 {
        let sign = if rng.below(3) == 0 { -1.0 } else { 1.0 };
        match family {
            0 => sign * rng.below(200) as f64,
            1 => sign * rng.below(100_000) as f64 / 10f64.powi(rng.below(7) as i32),
            2 => sign * rng.unit() * 10f64.powi(rng.below(41) as i32 - 20),
            3 => loop {
                let x = f64::from_bits(rng.next());
                if x.is_finite() {
                    break x;
                }
            },
            4 => sign * rng.below(1 << 20) as f64 / 2f64.powi(rng.below(40) as i32),
            5 => sign * rng.below(1 << 53) as f64 / 4.0,
            _ => [
                0.0,
                -0.0,
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                1e-4,
                1e8,
                1e16,
            ][rng.below(8) as usize],
        }
    }

    fn random_array(rng: &mut Rng) -> NdArray {
        let dtype = ARRAY_DTYPES[rng.below(ARRAY_DTYPES.len() as u64) as usize];
        let shape = random_shape(rng);
        let len: usize = shape.iter().product();
        let families = [rng.below(7), rng.below(7)];
        with_dtype!(dtype, |T| {
            let values: Vec<T> = (0..len)
                .map(|_| {
                    let value = if dtype.is_float() {
                        // Mostly one family per array, with a few elements of another.
                        let family = families[usize::from(rng.below(10) == 0)];
                        ScalarValue::F64(random_float(rng, family))
                    } else {
                        // Integers of a random number of bits, negative or not.
                        let bits = rng.below(65);
                        let magnitude = rng.next().checked_shr(64 - bits as u32).unwrap_or(0);
                        let value = magnitude as i128 * if rng.below(2) == 0 { -1 } else { 1 };
                        ScalarValue::I64(value as i64)
                    };
                    T::from_value(cast_value(value, T::DTYPE)).unwrap()
                })
                .collect();
            arr(&values, &shape)
        })
    }

    #[test]
    fn prints_random_arrays_exactly_like_numpy() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng(0x5eed);
        let arrays: Vec<NdArray> = (0..600).map(|_| random_array(&mut rng)).collect();
        for (i, array) in arrays.iter().enumerate() {
            save_npy(&dir.path().join(format!("{i}.npy")), &array.view()).unwrap();
        }
        let script = r#"
import sys, numpy as np
out, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    with open(f"{out}/{i}.txt", "w") as f:
        f.write(str(np.load(f"{out}/{i}.npy")))
"#;
        let dir_arg = dir.path().to_str().unwrap();
        let count = arrays.len().to_string();
        if run_python(
            "prints_random_arrays_exactly_like_numpy",
            script,
            &[dir_arg, &count],
        )
        .is_none()
        {
            return;
        }
        let mismatches: Vec<String> = arrays
            .iter()
            .enumerate()
            .filter_map(|(i, array)| {
                let expected =
                    std::fs::read_to_string(dir.path().join(format!("{i}.txt"))).unwrap();
                let actual = array.to_string();
                (actual != expected).then(|| {
                    format!(
                        "array {i} ({} {:?}):\nNumPy:\n{expected}\nkern:\n{actual}\n",
                        array.dtype(),
                        array.shape()
                    )
                })
            })
            .collect();
        assert!(
            mismatches.is_empty(),
            "{} of {} arrays print differently; the first:\n{}",
            mismatches.len(),
            arrays.len(),
            mismatches[..mismatches.len().min(3)].join("\n")
        );
    }

    #[test]
    fn prints_floats_of_every_magnitude_exactly_like_numpy() {
        // One-element and 0-d arrays of random bit patterns: every float decides its
        // own notation, digits and exponent width.
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng(0xf10a7);
        let doubles: Vec<f64> = (0..4000)
            .map(|_| {
                let family = rng.below(7);
                random_float(&mut rng, family)
            })
            .collect();
        let singles: Vec<f32> = (0..4000)
            .map(|_| loop {
                let x = f32::from_bits(rng.next() as u32);
                if x.is_finite() {
                    break x;
                }
            })
            .collect();
        let single = arr::<f32>(&singles, &[singles.len()]);
        let double = arr::<f64>(&doubles, &[doubles.len()]);
        save_npy(&dir.path().join("f32.npy"), &single.view()).unwrap();
        save_npy(&dir.path().join("f64.npy"), &double.view()).unwrap();
        let script = r#"
import sys, numpy as np
out = sys.argv[1]
for name in ["f32", "f64"]:
    a = np.load(f"{out}/{name}.npy")
    with open(f"{out}/{name}.txt", "w") as f:
        for x in a:
            f.write(str(np.array([x])) + "\t" + str(np.array(x)) + "\n")
"#;
        let dir_arg = dir.path().to_str().unwrap();
        if run_python("prints_floats_of_every_magnitude", script, &[dir_arg]).is_none() {
            return;
        }
        // The same two strings for each value: as a 1-element array and as a 0-d one.
        fn both<T: Element>(values: &[T]) -> Vec<String> {
            let both = |&x: &T| format!("{}\t{}", arr(&[x], &[1]), arr(&[x], &[]));
            values.iter().map(both).collect()
        }
        let (f32_lines, f64_lines) = (both(&singles), both(&doubles));
        for (name, lines) in [("f32", f32_lines), ("f64", f64_lines)] {
            let expected = std::fs::read_to_string(dir.path().join(format!("{name}.txt"))).unwrap();
            let mismatches: Vec<String> = expected
                .lines()
                .zip(&lines)
                .filter(|(e, a)| e != a)
                .map(|(e, a)| format!("NumPy {e:?}, kern {a:?}"))
                .collect();
            assert!(
                mismatches.is_empty(),
                "{name}: {} differ:\n{}",
                mismatches.len(),
                mismatches[..mismatches.len().min(10)].join("\n")
            );
        }
    }
}
