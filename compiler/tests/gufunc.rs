//! Gufuncs at compile time: signatures derived from parameter types, explicit
//! signatures checked against them (with the signature parser's messages and
//! positions), and the IR of a gufunc loop (an insta snapshot of matmul's).

use kern_compiler::ir::{print, verify, FunctionKind, ScalarType};
use kern_compiler::kernel_decl::{GufuncDecl, OperandForm, SchemeType};
use kern_compiler::loops::gufunc_loop::{build_gufunc_loop, GufuncLoopSignature};
use kern_compiler::{frontend, SourceMap};

fn gufunc(src: &str, name: &str) -> GufuncDecl {
    let mut sources = SourceMap::new();
    let file = sources.add("t.kern", src);
    match frontend::compile(&mut sources, file) {
        Ok(c) => c
            .gufuncs
            .get(name)
            .cloned()
            .expect("the gufunc is declared"),
        Err(d) => panic!("{}", d.render(&sources)),
    }
}

/// The first error: its message and the source text it points at.
fn error(src: &str) -> (String, String) {
    let mut sources = SourceMap::new();
    let file = sources.add("t.kern", src);
    match frontend::compile(&mut sources, file) {
        Ok(_) => panic!("expected an error"),
        Err(d) => {
            let first = &d.0[0];
            (
                first.message.clone(),
                sources.snippet(first.span).to_string(),
            )
        }
    }
}

fn signature_of(src: &str, name: &str) -> String {
    gufunc(src, name).signature_text
}

#[test]
fn nested_array_types_give_named_core_dimensions() {
    let src = "#[guvectorize]
        fn matmul(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
            for i in 0..M { for j in 0..P { let mut s = 0.0; for k in 0..N { s += a[i][k] * b[k][j]; } out[i][j] = s; } }
        }";
    let decl = gufunc(src, "matmul");
    assert_eq!(decl.signature_text, "(M,N),(N,P)->(M,P)");
    assert_eq!((decl.inputs.len(), decl.outputs.len()), (2, 1));
    assert_eq!(decl.outputs[0].form, OperandForm::Array { rank: 2 });
    assert_eq!(decl.outputs[0].elem, SchemeType::Concrete(ScalarType::F64));
}

#[test]
fn slices_get_fresh_names_and_numeric_lengths_are_frozen() {
    assert_eq!(
        signature_of(
            "#[guvectorize] fn dot(a: &[f64], b: &[f64]) -> f64 { a[0] * b[0] }",
            "dot"
        ),
        "(n),(n1)->()"
    );
    // A fresh name skips names the types use.
    assert_eq!(
        signature_of(
            "#[guvectorize] fn f(a: &[[f64; n]; n1], b: &[f64], out: &mut [f64; n]) { out[0] = a[0][0] + b[0]; }",
            "f"
        ),
        "(n1,n),(n2)->(n)"
    );
    assert_eq!(
        signature_of(
            "#[guvectorize] fn cross(a: &[f64; 3], b: &[f64; 3], out: &mut [f64; 3]) { out[0] = a[1] * b[2] - a[2] * b[1]; }",
            "cross"
        ),
        "(3),(3)->(3)"
    );
}

#[test]
fn scalars_are_empty_core_dimensions_and_the_return_value_is_the_last_output() {
    let src = "#[guvectorize] fn stats<T: Float>(x: &[T], scale: T, sum: &mut [T; 1]) -> T {
        sum[0] = x[0] * scale; x[0]
    }";
    let decl = gufunc(src, "stats");
    assert_eq!(decl.signature_text, "(n),()->(1),()");
    assert_eq!(decl.inputs[1].form, OperandForm::Scalar);
    assert_eq!(decl.outputs[1].form, OperandForm::Returned);
    assert_eq!(decl.outputs[1].elem, SchemeType::Generic(0));
}

#[test]
fn an_explicit_signature_that_agrees_is_kept_as_written() {
    let src = "#[guvectorize(\"(m?,n),(n,p?) -> (m?,p?)\")]
        fn mm(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) { out[0][0] = a[0][0] * b[0][0]; }";
    let decl = gufunc(src, "mm");
    assert_eq!(decl.signature_text, "(m?,n),(n,p?) -> (m?,p?)");
    assert_eq!(decl.signature.to_string(), "(m?,n),(n,p?)->(m?,p?)");
    // A frozen size in the signature may sharpen a slice.
    let src = "#[guvectorize(\"(3)->()\")] fn norm3(x: &[f64]) -> f64 { x[0] }";
    assert_eq!(signature_of(src, "norm3"), "(3)->()");
}

#[test]
fn a_signature_that_does_not_parse_points_at_the_position() {
    let (message, at) =
        error("#[guvectorize(\"(n|1),(n|1)->()\")] fn f(a: &[f64], b: &[f64]) -> f64 { a[0] }");
    assert_eq!(
        message,
        r#"invalid gufunc signature: expect ',' or ')' at position 2 in "(n|1),(n|1)->()""#
    );
    assert_eq!(at, "|");
    let (message, at) = error("#[guvectorize(\"(n,)->()\")] fn f(a: &[f64]) -> f64 { a[0] }");
    assert!(
        message.contains("',' must not be followed by ')' at position 3"),
        "{message}"
    );
    assert_eq!(at, ")");
}

#[test]
fn a_signature_of_another_arity_is_reported_as_such() {
    let (message, at) =
        error("#[guvectorize(\"(n)->()\")] fn f(a: &[f64], b: &[f64]) -> f64 { a[0] }");
    assert_eq!(
        message,
        "the signature has 1 input and 1 output, but `f` has 2 inputs and 1 output"
    );
    assert_eq!(at, "\"(n)->()\"");
    let (message, _) = error("#[guvectorize(\"(n)->(),()\")] fn f(a: &[f64]) -> f64 { a[0] }");
    assert!(
        message.contains("2 outputs, but `f` has 1 input and 1 output"),
        "{message}"
    );
}

#[test]
fn ranks_frozen_sizes_and_shared_names_must_agree() {
    let (message, at) = error(
        "#[guvectorize(\"(m),(n)->()\")] fn f(a: &[[f64; N]; M], b: &[f64]) -> f64 { a[0][0] }",
    );
    assert_eq!(
        message,
        "the signature gives input 0 (`a`) 1 core dimension, its type has 2 dimensions"
    );
    assert_eq!(at, "&[[f64; N]; M]");
    let (message, at) = error("#[guvectorize(\"(n)->()\")] fn f(a: &[f64; 3]) -> f64 { a[0] }");
    assert_eq!(
        message,
        "axis 0 of `a` has length 3 in its type, but the signature says `n`"
    );
    assert_eq!(at, "3");
    let (message, _) = error("#[guvectorize(\"(4)->()\")] fn f(a: &[f64; 3]) -> f64 { a[0] }");
    assert!(message.contains("the signature says `4`"), "{message}");
    let (message, at) = error(
        "#[guvectorize(\"(n),(k)->()\")] fn f(a: &[f64; N], b: &[f64; N]) -> f64 { a[0] + b[0] }",
    );
    assert_eq!(
        message,
        "`N` names axis 0 of `a` and axis 0 of `b`, but the signature gives them different dimensions (`n` and `k`)"
    );
    assert_eq!(at, "&[f64; N]");
    let (message, _) = error(
        "#[guvectorize(\"()->()\")] fn f(x: f64) -> f64 { x }
         #[guvectorize(\"(n)->()\")] fn g(x: f64) -> f64 { x }",
    );
    assert!(
        message.contains("input 0 (`x`) 1 core dimension, its type has 0"),
        "{message}"
    );
}

#[test]
fn outputs_come_after_inputs_and_there_is_at_least_one() {
    let (message, at) = error("#[guvectorize] fn f(out: &mut [f64], a: &[f64]) { out[0] = a[0]; }");
    assert_eq!(
        message,
        "the inputs of a #[guvectorize] function come before its outputs"
    );
    assert_eq!(at, "a: &[f64]");
    let (message, at) = error("#[guvectorize] fn g(a: &[f64]) { }");
    assert_eq!(message, "a #[guvectorize] function needs an output");
    assert_eq!(at, "g");
    let (message, at) = error("#[guvectorize] fn h(a: &[f64; 0]) -> f64 { 0.0 }");
    assert_eq!(message, "a gufunc core dimension cannot have length 0");
    assert_eq!(at, "0");
    let (message, at) = error("#[guvectorize] fn r(a: &[[[[[[[[f64]]]]]]]]) -> f64 { 0.0 }");
    assert_eq!(
        message,
        "a gufunc operand has at most 7 core dimensions (one axis is kept for the loop)"
    );
    assert_eq!(at, "&[[[[[[[[f64]]]]]]]]");
}

#[test]
fn output_only_dimensions_may_declare_their_size() {
    let convolve = "fn convolve(a: &[f64], b: &[f64], out: &mut [f64]) { out[0] = a[0] + b[0]; }";
    let decl = gufunc(
        &format!("#[guvectorize(\"(m),(n)->(p)\", p = \"m + n - 1\")] {convolve}"),
        "convolve",
    );
    assert_eq!(decl.sizes.len(), 1);
    assert_eq!(
        (decl.sizes[0].dim.as_str(), decl.sizes[0].text.as_str()),
        ("p", "m + n - 1")
    );
    // Derived signatures name dimensions after the types' lengths.
    let decl = gufunc(
        "#[guvectorize(P = \"2 * N\")] fn twice(x: &[f64; N], out: &mut [f64; P]) { out[0] = x[0]; }",
        "twice",
    );
    assert_eq!(decl.sizes[0].dim, "P");
    let cases = [
        (
            "\"(m),(n)->(p)\", n = \"m\"",
            "`n` is sized by the inputs; only a core dimension that only outputs have can be given a size",
            "n",
        ),
        (
            "\"(m),(n)->(p)\", q = \"m\"",
            "`q` is not a core dimension of the signature (m),(n)->(p)",
            "q",
        ),
        (
            "\"(m),(n)->(p)\", p = \"m + k\"",
            "the size of `p` reads `k`, which is not a core dimension of an input",
            "k",
        ),
        (
            "\"(m),(n)->(p)\", p = \"m +\"",
            "invalid size of `p`: expected a dimension name, a non-negative integer, `min(..)`, `max(..)` or `(`",
            "\"",
        ),
        (
            "\"(m),(n)->(p)\", p = \"m\", p = \"n\"",
            "`p` is given a size twice",
            "p",
        ),
    ];
    for (args, expected, at) in cases {
        let (message, snippet) = error(&format!("#[guvectorize({args})] {convolve}"));
        assert_eq!(message, expected, "{args}");
        assert_eq!(snippet, at, "{args}");
    }
}

#[test]
fn the_gufunc_kind_carries_the_signature_in_the_ir() {
    let mut sources = SourceMap::new();
    let file = sources.add(
        "t.kern",
        "#[guvectorize] fn norm(x: &[f64]) -> f64 { x[0] }",
    );
    let compiled = frontend::compile(&mut sources, file).unwrap();
    let id = compiled.functions["norm"];
    assert_eq!(
        compiled.program.function(id).kind,
        FunctionKind::Gufunc {
            signature: "(n)->()".into(),
            target: None
        }
    );
}

#[test]
fn the_matmul_loop_is_one_fused_loop_over_sub_views() {
    let src = "#[guvectorize]
fn matmul(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
    for i in 0..M {
        for j in 0..P {
            let mut s = 0.0;
            for k in 0..N { s += a[i][k] * b[k][j]; }
            out[i][j] = s;
        }
    }
}";
    let mut sources = SourceMap::new();
    let file = sources.add("t.kern", src);
    let compiled = frontend::compile(&mut sources, file).unwrap();
    let (mut program, body) = compiled.instantiate("matmul", &[]).unwrap();
    let signature = GufuncLoopSignature {
        inputs: vec![ScalarType::F64; 2],
        outputs: vec![ScalarType::F64],
    };
    let lp = build_gufunc_loop(&mut program, body, 2, &signature).unwrap();
    verify::verify_program(&program).unwrap();
    insta::assert_snapshot!(print::print_function(&program, program.function(lp)));
}
