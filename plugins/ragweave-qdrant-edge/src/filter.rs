//! ragweave metadata filters as Qdrant payload filters.

use qdrant_edge::external::serde_json::{Value, json};
use ragweave_core::{Error, Filter, Result};

use ragweave_qdrant_layout::{DOC_ID, payload_key};

/// Translates `filter` into a Qdrant filter on the chunk metadata payload.
///
/// Qdrant matches strings, integers and booleans; a filter on another kind of value (a
/// float, null, an array or an object) is an [`Error::InvalidInput`] at `field`. One
/// difference from [`Filter::matches`]: where the stored metadata value is an array, Qdrant
/// matches when any element equals the value.
pub fn to_qdrant(filter: &Filter, field: &str) -> Result<qdrant_edge::Filter> {
    let condition = condition(filter, field)?;
    serde_json::from_value(json!({ "must": [condition] }))
        .map_err(|e| Error::invalid(field, format!("cannot be expressed in Qdrant: {e}")))
}

/// `filter` (when given) and a document id among `documents`.
pub(crate) fn of_documents(
    filter: Option<&Filter>,
    documents: &[String],
    field: &str,
) -> Result<qdrant_edge::Filter> {
    let mut must = vec![json!({"key": DOC_ID, "match": {"any": documents}})];
    if let Some(f) = filter {
        must.push(condition(f, field)?);
    }
    serde_json::from_value(json!({ "must": must }))
        .map_err(|e| Error::invalid(field, format!("cannot be expressed in Qdrant: {e}")))
}

fn value(v: &Value, field: &str) -> Result<Value> {
    match v {
        Value::String(_) | Value::Bool(_) => Ok(v.clone()),
        Value::Number(n) if n.is_i64() => Ok(v.clone()),
        other => Err(Error::invalid(
            field,
            format!("the qdrant-edge store filters on strings, integers and booleans, not {other}"),
        )),
    }
}

/// A condition no point meets: an id among none.
static NOTHING: std::sync::LazyLock<Value> =
    std::sync::LazyLock::new(|| json!({"must": [{"has_id": []}]}));

fn condition(filter: &Filter, field: &str) -> Result<Value> {
    Ok(match filter {
        Filter::Eq {
            field: name,
            value: v,
        } => {
            json!({"key": payload_key(name, field)?, "match": {"value": value(v, &format!("{field}.value"))?}})
        }
        Filter::In {
            field: name,
            values,
        } => {
            let values = values
                .iter()
                .enumerate()
                .map(|(i, v)| value(v, &format!("{field}.values[{i}]")))
                .collect::<Result<Vec<_>>>()?;
            let key = payload_key(name, field)?;
            let any = |vs: &[Value]| json!({"key": key, "match": {"any": vs}});
            let strings = values.iter().all(Value::is_string);
            let integers = values.iter().all(Value::is_i64);
            if values.is_empty() {
                // Nothing is in an empty set.
                NOTHING.clone()
            } else if strings || integers {
                any(&values)
            } else {
                let each: Vec<Value> = values
                    .iter()
                    .map(|v| json!({"key": key, "match": {"value": v}}))
                    .collect();
                json!({ "should": each })
            }
        }
        Filter::And(fs) => json!({ "must": children(fs, field)? }),
        Filter::Or(fs) if fs.is_empty() => NOTHING.clone(),
        Filter::Or(fs) => json!({ "should": children(fs, field)? }),
        Filter::Not(f) => json!({ "must_not": [condition(f, &format!("{field}.not"))?] }),
    })
}

fn children(fs: &[Filter], field: &str) -> Result<Vec<Value>> {
    fs.iter()
        .enumerate()
        .map(|(i, f)| condition(f, &format!("{field}[{i}]")))
        .collect()
}
