//! Stage 3: which experts answer a query, and with what weight.

use std::sync::Arc;

use super::experts::Expert;
use super::stage::Stage;
use crate::answer::Trace;
use crate::error::{Error, Result};
use crate::query::Query;
use crate::traits::router::{Route, Router};

/// The experts `router` chooses for `query` (every expert at weight 1 without one), each
/// once, with its weight checked.
pub(crate) async fn route<'e>(
    router: Option<&Arc<dyn Router>>,
    experts: &'e [Expert],
    names: &[String],
    query: &Query,
    trace: &mut Trace,
) -> Result<Vec<(&'e Expert, f32)>> {
    let Some(router) = router else {
        return Ok(experts.iter().map(|e| (e, 1.0)).collect());
    };
    let span = tracing::info_span!("ragweave.route");
    let routes = Stage::new("route", "router", span)
        .run(trace, router.route(query, names))
        .await?;
    if routes.is_empty() {
        return Err(Error::component("router", "chose no expert"));
    }
    trace.annotate_last(
        routes
            .iter()
            .map(|r| format!("{}={:.3}", r.expert, r.weight))
            .collect(),
    );
    let mut chosen: Vec<(&Expert, f32)> = Vec::with_capacity(routes.len());
    for Route { expert, weight } in routes {
        if !(weight.is_finite() && weight >= 0.0) {
            return Err(Error::component(
                "router",
                format!("weight {weight} for expert `{expert}` is not a finite number >= 0"),
            ));
        }
        if chosen.iter().any(|(e, _)| e.name == expert) {
            continue; // a router naming an expert twice still runs it once
        }
        let found = experts
            .iter()
            .find(|e| e.name == expert)
            .ok_or(Error::NotFound {
                what: "expert",
                name: expert,
            })?;
        chosen.push((found, weight));
    }
    Ok(chosen)
}
