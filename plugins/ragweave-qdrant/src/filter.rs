//! ragweave metadata filters as Qdrant gRPC filters.

use qdrant_client::qdrant::r#match::MatchValue;
use qdrant_client::qdrant::{
    Condition, Filter as QFilter, PointId, RepeatedIntegers, RepeatedStrings,
};
use ragweave_core::{Error, Filter, Result};
use ragweave_qdrant_layout::{DOC_ID, payload_key};
use serde_json::Value;

/// Translates `filter` into a Qdrant filter on the chunk metadata payload, exactly as the
/// embedded store (`ragweave-qdrant-edge`) does: strings match as keywords
/// (whole values, never full-text), integers and booleans as values; any other value is
/// [`Error::InvalidInput`] at `field`.
pub fn to_qdrant_filter(filter: &Filter, field: &str) -> Result<QFilter> {
    Ok(QFilter::must([condition(filter, field)?]))
}

/// `filter` (when given) and a document id among `documents`.
pub(crate) fn of_documents(
    filter: Option<&Filter>,
    documents: &[String],
    field: &str,
) -> Result<QFilter> {
    let mut must = vec![matching(
        DOC_ID,
        MatchValue::Keywords(RepeatedStrings {
            strings: documents.to_vec(),
        }),
    )];
    if let Some(f) = filter {
        must.push(condition(f, field)?);
    }
    Ok(QFilter::must(must))
}

fn match_value(v: &Value, field: &str) -> Result<MatchValue> {
    match v {
        Value::String(s) => Ok(MatchValue::Keyword(s.clone())),
        Value::Bool(b) => Ok(MatchValue::Boolean(*b)),
        Value::Number(n) if n.is_i64() => Ok(MatchValue::Integer(n.as_i64().expect("i64"))),
        other => Err(Error::invalid(
            field,
            format!("the qdrant store filters on strings, integers and booleans, not {other}"),
        )),
    }
}

fn matching(key: &str, m: MatchValue) -> Condition {
    Condition::matches(key.to_string(), m)
}

/// A condition no point meets: an id among none.
fn nothing() -> Condition {
    QFilter::must([Condition::has_id(Vec::<PointId>::new())]).into()
}

fn condition(filter: &Filter, field: &str) -> Result<Condition> {
    Ok(match filter {
        Filter::Eq { field: name, value } => matching(
            &payload_key(name, field)?,
            match_value(value, &format!("{field}.value"))?,
        ),
        Filter::In {
            field: name,
            values,
        } => {
            let key = payload_key(name, field)?;
            let values = values
                .iter()
                .enumerate()
                .map(|(i, v)| match_value(v, &format!("{field}.values[{i}]")))
                .collect::<Result<Vec<_>>>()?;
            let strings: Option<Vec<String>> = values
                .iter()
                .map(|m| match m {
                    MatchValue::Keyword(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
            let integers: Option<Vec<i64>> = values
                .iter()
                .map(|m| match m {
                    MatchValue::Integer(i) => Some(*i),
                    _ => None,
                })
                .collect();
            match (values.is_empty(), strings, integers) {
                // Nothing is in an empty set.
                (true, _, _) => nothing(),
                (false, Some(strings), _) => {
                    matching(&key, MatchValue::Keywords(RepeatedStrings { strings }))
                }
                (false, _, Some(integers)) => {
                    matching(&key, MatchValue::Integers(RepeatedIntegers { integers }))
                }
                (false, None, None) => {
                    QFilter::should(values.into_iter().map(|m| matching(&key, m))).into()
                }
            }
        }
        Filter::And(fs) => QFilter::must(children(fs, field)?).into(),
        Filter::Or(fs) if fs.is_empty() => nothing(),
        Filter::Or(fs) => QFilter::should(children(fs, field)?).into(),
        Filter::Not(f) => QFilter::must_not([condition(f, &format!("{field}.not"))?]).into(),
    })
}

fn children(fs: &[Filter], field: &str) -> Result<Vec<Condition>> {
    fs.iter()
        .enumerate()
        .map(|(i, f)| condition(f, &format!("{field}[{i}]")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use qdrant_client::qdrant::condition::ConditionOneOf;
    use serde_json::json;

    fn only(f: &QFilter) -> &ConditionOneOf {
        f.must[0].condition_one_of.as_ref().unwrap()
    }

    #[test]
    fn strings_with_spaces_match_whole_values_not_text() {
        let f = to_qdrant_filter(&Filter::eq("title", "two words"), "query.filter").unwrap();
        let ConditionOneOf::Field(c) = only(&f) else {
            panic!("{f:?}")
        };
        assert_eq!(c.key, "meta.\"title\"");
        let m = c.r#match.as_ref().unwrap().match_value.as_ref().unwrap();
        assert_eq!(m, &MatchValue::Keyword("two words".into()));
    }

    #[test]
    fn sets_floats_and_empty_sets() {
        let mixed = Filter::In {
            field: "x".into(),
            values: vec![json!("a"), json!(3)],
        };
        let f = to_qdrant_filter(&mixed, "q").unwrap();
        let ConditionOneOf::Filter(inner) = only(&f) else {
            panic!("{f:?}")
        };
        assert_eq!(inner.should.len(), 2);
        let empty = Filter::In {
            field: "x".into(),
            values: vec![],
        };
        let f = to_qdrant_filter(&empty, "q").unwrap();
        assert!(matches!(only(&f), ConditionOneOf::Filter(_)));
        let e = to_qdrant_filter(&Filter::eq("score", 0.5), "q").unwrap_err();
        assert!(
            matches!(&e, Error::InvalidInput { field, .. } if field == "q.value"),
            "{e}"
        );
    }
}
