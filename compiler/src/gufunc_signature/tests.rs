//! The parser against NumPy's behaviour, error by error.

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

/// Every rejection with NumPy's message and position, grouped by the rule it breaks.
const REJECTED: &[(&str, &str, usize)] = &[
    // A frozen size is a positive decimal: zero, negative or not a number is not.
    ("(0)->()", EXPECT_DIMENSION, 1),
    ("(n,00)->()", EXPECT_DIMENSION, 3),
    ("(-3)->()", EXPECT_DIMENSION, 1),
    ("(3a)->()", EXPECT_DIMENSION, 1),
    ("(3_)->()", EXPECT_DIMENSION, 1),
    ("(?)->()", EXPECT_DIMENSION, 1),
    ("((n))->()", EXPECT_DIMENSION, 1),
    // `strtoll` takes the sign, but it is not part of the dimension token.
    ("(+3)->()", EXPECT_COMMA_OR_CLOSE, 1),
    ("(3.5)->()", EXPECT_COMMA_OR_CLOSE, 2),
    // Names are C identifiers.
    ("(ñ)->()", EXPECT_DIMENSION, 1),
    // `?` is used at every appearance of a dimension or at none.
    ("(n),(n?)->()", OPTIONAL_NOT_ALLOWED, 5),
    ("(n?),(n)->()", OPTIONAL_REQUIRED, 6),
    ("(n)->(n?)", OPTIONAL_NOT_ALLOWED, 6),
    ("(3?),(3)->()", OPTIONAL_REQUIRED, 6),
    ("(3?),(+3)->()", OPTIONAL_REQUIRED, 6),
    ("(n??)->()", EXPECT_COMMA_OR_CLOSE, 3),
    ("(n ?)->()", EXPECT_COMMA_OR_CLOSE, 3),
    // A newline is not white space.
    ("(n)\n->()", EXPECT_ARROW, 3),
    ("(n\n)->()", EXPECT_COMMA_OR_CLOSE, 2),
    ("\n(n)->()", EXPECT_OPEN, 0),
    // Commas separate and never trail.
    ("(n,)->()", COMMA_BEFORE_CLOSE, 3),
    ("(n, )->()", COMMA_BEFORE_CLOSE, 4),
    ("(,n)->()", EXPECT_DIMENSION, 1),
    ("(n),->()", EXPECT_OPEN, 4),
    ("(n),", INCOMPLETE, 4),
    ("(n)->(),", INCOMPLETE, 8),
    ("(n)->(), ", INCOMPLETE, 9),
    // The inputs end at the first argument without a comma after it.
    ("(n)(n)", EXPECT_ARROW, 3),
    ("(n)(n)->()", EXPECT_ARROW, 3),
    ("(n)-()", EXPECT_ARROW, 3),
    ("(n) > ()", EXPECT_ARROW, 4),
    // At least one input and one output are required.
    ("", INCOMPLETE, 0),
    ("  ", INCOMPLETE, 2),
    ("(n)", INCOMPLETE, 3),
    ("->()", EXPECT_OPEN, 0),
    ("(n)->", EXPECT_OPEN, 5),
    ("(n)-> ", EXPECT_OPEN, 6),
    // Nothing may follow the outputs.
    ("(n)->()x", EXPECT_OPEN, 7),
    ("(n)->() x", EXPECT_OPEN, 8),
    ("(n)->()->()", EXPECT_OPEN, 7),
    ("(n)->()(m)", EXPECT_COMMA, 7),
    ("(n)->()\0", EXPECT_OPEN, 7),
    // Argument lists are closed.
    ("(n->()", EXPECT_COMMA_OR_CLOSE, 2),
    ("(n", EXPECT_COMMA_OR_CLOSE, 2),
    ("(n,", UNEXPECTED_END, 3),
    ("(", UNEXPECTED_END, 1),
    ("(n)->(m", EXPECT_COMMA_OR_CLOSE, 7),
    ("(n)->(", UNEXPECTED_END, 6),
];

#[test]
fn every_rejection_has_numpys_message_and_position() {
    for &(signature, message, position) in REJECTED {
        assert_rejected(signature, message, position);
    }
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
fn spaces_and_tabs_may_surround_every_token() {
    assert_eq!(parse("( m , n ) -> ( )"), sig(&[&["m", "n"]], &[&[]]));
    let spaced = " \t(m,\tn) ,\t(n)\t->\t(m) , () \t";
    assert_eq!(parse(spaced), parse("(m,n),(n)->(m),()"));
    assert_eq!(parse("(  3)  -> ( )"), parse("(3)->()"));
}

#[test]
fn broadcastable_one_is_not_numpy_syntax() {
    let error = "(n|1),(n|1)->()".parse::<GufuncSignature>().unwrap_err();
    let expected = r#"expect ',' or ')' at position 2 in "(n|1),(n|1)->()""#;
    assert_eq!(error.to_string(), expected);
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

fn counted(signature: &str, nin: usize, nout: usize) -> Result<GufuncSignature, String> {
    GufuncSignature::parse_with_counts(signature, nin, nout).map_err(|e| e.to_string())
}

#[test]
fn a_known_arity_parses_like_the_inferred_one() {
    for (text, nin, nout) in [
        ("(m,n),(n,p)->(m,p)", 2, 1),
        (" (n) -> (), (k?) ", 1, 2),
        ("()->()", 1, 1),
        ("(3),(3)->(3)", 2, 1),
    ] {
        assert_eq!(counted(text, nin, nout), Ok(parse(text)), "{text}");
    }
}

#[test]
fn a_known_arity_reports_numpys_errors_for_the_wrong_count() {
    for (s, nin, nout, message, position) in [
        // Two inputs expected, one given: NumPy wants a ',' where the arrow is.
        ("(n)->()", 2, 1, EXPECT_COMMA, 3),
        // One input expected, two given.
        ("(n),(n)->()", 1, 1, EXPECT_ARROW, 3),
        // Two outputs expected, one given.
        ("(n)->()", 1, 2, EXPECT_COMMA, 7),
        // One output expected, two given.
        ("(n)->(),()", 1, 1, EXPECT_OPEN, 7),
        ("(n)->()(m)", 1, 1, EXPECT_COMMA, 7),
        ("(n)->()x", 1, 1, EXPECT_OPEN, 7),
        ("", 1, 1, INCOMPLETE, 0),
        ("(n)->", 1, 1, EXPECT_OPEN, 5),
        ("(n|1),(n|1)->()", 2, 1, EXPECT_COMMA_OR_CLOSE, 2),
    ] {
        let expected = format!("{message} at position {position} in \"{s}\"");
        assert_eq!(counted(s, nin, nout), Err(expected));
    }
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
