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
    let at = |m: &str, p: usize, s: &str| format!("{m} at position {p} in \"{s}\"");
    // Two inputs expected, one given: NumPy wants a ',' where the arrow is.
    let s = "(n)->()";
    assert_eq!(counted(s, 2, 1), Err(at(EXPECT_COMMA, 3, s)));
    // One input expected, two given.
    let s = "(n),(n)->()";
    assert_eq!(counted(s, 1, 1), Err(at(EXPECT_ARROW, 3, s)));
    // Two outputs expected, one given.
    let s = "(n)->()";
    assert_eq!(counted(s, 1, 2), Err(at(EXPECT_COMMA, 7, s)));
    // One output expected, two given.
    let s = "(n)->(),()";
    assert_eq!(counted(s, 1, 1), Err(at(EXPECT_OPEN, 7, s)));
    let s = "(n)->()(m)";
    assert_eq!(counted(s, 1, 1), Err(at(EXPECT_COMMA, 7, s)));
    let s = "(n)->()x";
    assert_eq!(counted(s, 1, 1), Err(at(EXPECT_OPEN, 7, s)));
    assert_eq!(counted("", 1, 1), Err(at(INCOMPLETE, 0, "")));
    let s = "(n)->";
    assert_eq!(counted(s, 1, 1), Err(at(EXPECT_OPEN, 5, s)));
    let s = "(n|1),(n|1)->()";
    assert_eq!(counted(s, 2, 1), Err(at(EXPECT_COMMA_OR_CLOSE, 2, s)));
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
