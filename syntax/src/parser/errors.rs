//! Syntax errors in human words: a pest error (the rules expected at a position)
//! becomes a rustc-like diagnostic ("expected `;`, found ...") with a label and,
//! where it helps, a suggestion. Knows nothing of the AST.

use super::*;

/// Turns a pest error into a rustc-like diagnostic with human words.
pub(super) fn syntax_error(
    file: FileId,
    text: &str,
    error: pest::error::Error<Rule>,
) -> Diagnostics {
    use pest::error::{ErrorVariant, InputLocation};
    let (start, end) = match error.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    // Point at the offending token (or the end of input), not at an empty range.
    let token_end = text[start.min(text.len())..]
        .char_indices()
        .find(|(_, c)| c.is_whitespace())
        .map_or(text.len(), |(i, _)| start + i);
    let end = if end > start {
        end
    } else {
        token_end.max(start)
    };
    let found = if start >= text.len() {
        "end of file".to_string()
    } else {
        format!(
            "`{}`",
            &text[start..end.min(text.len())]
                .chars()
                .take(20)
                .collect::<String>()
        )
    };
    let message = match error.variant {
        // An expression statement without `;` that is not its block's last: say so
        // at the end of the expression, where the `;` goes.
        ErrorVariant::ParsingError { positives, .. }
            if positives.contains(&Rule::semi)
                && start < text.len()
                && parse_rule(Rule::stmt, &text[start..]).is_ok() =>
        {
            let end = text[..start].trim_end().len();
            return Diagnostic::error(
                Span::new(file, end, end),
                "expected `;`, found the start of another statement",
            )
            .with_label("add `;` here")
            .into();
        }
        ErrorVariant::ParsingError { positives, .. } => {
            let mut words: Vec<&str> = positives.iter().filter_map(|r| rule_words(*r)).collect();
            words.sort_unstable();
            words.dedup();
            // An expression may start with an identifier or a block: say "expression".
            if words.contains(&"expression") {
                words.retain(|w| *w != "identifier" && *w != "`{`");
            }
            match words.len() {
                0 => format!("unexpected {found}"),
                1 => format!("expected {}, found {found}", words[0]),
                _ => {
                    let (last, rest) = words.split_last().expect("len >= 2");
                    format!(
                        "expected one of {} or {last}, found {found}",
                        rest.join(", ")
                    )
                }
            }
        }
        // pest's own limits: the step budget above, and the native stack.
        ErrorVariant::CustomError { message } if message.contains("call limit") => format!(
            "this file is too hard to parse: the parser gave up after {} steps \
             ({PARSE_STEPS_PER_BYTE} per byte); simplify the code near here",
            text.len()
                .saturating_mul(PARSE_STEPS_PER_BYTE)
                .saturating_add(PARSE_STEPS_BASE)
        ),
        ErrorVariant::CustomError { message } if message.contains("stack limit") => {
            format!("nesting too deep (more than {MAX_NESTING} levels)")
        }
        ErrorVariant::CustomError { message } => message,
    };
    Diagnostic::error(Span::new(file, start, end), message)
        .with_label("unexpected here")
        .into()
}

fn rule_words(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::expr | Rule::paren_expr | Rule::path => "expression",
        Rule::int_lit | Rule::float_lit | Rule::bool_lit | Rule::string_lit => "expression",
        Rule::if_expr | Rule::while_expr | Rule::loop_expr | Rule::for_expr => "expression",
        Rule::array_lit | Rule::macro_call => "expression",
        Rule::break_expr | Rule::continue_expr | Rule::return_expr => "expression",
        Rule::neg | Rule::not => "expression",
        Rule::ident => "identifier",
        Rule::block => "`{`",
        Rule::stmt | Rule::let_stmt | Rule::expr_stmt | Rule::block_like_stmt => "statement",
        Rule::empty_stmt | Rule::semi | Rule::repeat_count => "`;`",
        Rule::fn_item | Rule::const_item | Rule::attribute => "item",
        Rule::EOI => "end of file",
        Rule::type_expr | Rule::ref_type | Rule::array_type | Rule::unit_type => "type",
        Rule::params | Rule::param => "parameter",
        Rule::ret_type => "`->`",
        Rule::generics => "`<`",
        Rule::args => "argument",
        Rule::method_call | Rule::call | Rule::index | Rule::cast => "operator",
        Rule::for_range => "range",
        Rule::range_inclusive | Rule::range_exclusive => "`..`",
        Rule::kw_else => "`else`",
        Rule::kw_in => "`in`",
        Rule::kw_mut => "`mut`",
        r if is_binary_operator(r) => "operator",
        _ => return None,
    })
}

fn is_binary_operator(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::assign
            | Rule::add_assign
            | Rule::sub_assign
            | Rule::mul_assign
            | Rule::div_assign
            | Rule::rem_assign
            | Rule::and_assign
            | Rule::or_assign
            | Rule::xor_assign
            | Rule::shl_assign
            | Rule::shr_assign
            | Rule::or
            | Rule::and
            | Rule::eq
            | Rule::ne
            | Rule::lt
            | Rule::le
            | Rule::gt
            | Rule::ge
            | Rule::bit_or
            | Rule::bit_xor
            | Rule::bit_and
            | Rule::shl
            | Rule::shr
            | Rule::add
            | Rule::sub
            | Rule::mul
            | Rule::div
            | Rule::rem
    )
}
