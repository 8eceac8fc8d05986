//! The quality-against-latency chart.

use plotters::prelude::*;

use crate::error::{EvalError, EvalResult};
use crate::report::Report;

/// An SVG scatter of each pipeline's first metric against its median latency (log scale);
/// the legend sits top left, where points are rare (fast and good at once).
pub fn quality_vs_latency(report: &Report) -> EvalResult<String> {
    let metric = report
        .metrics
        .first()
        .ok_or_else(|| EvalError::Chart("the report has no metric".into()))?;
    let points: Vec<(String, f64, f64)> = report
        .evaluations
        .iter()
        .map(|e| {
            (
                e.name.clone(),
                e.latency.total.p50_ms.max(1e-3),
                e.mean(*metric).unwrap_or(0.0),
            )
        })
        .collect();
    let (x_lo, x_hi) = bounds(points.iter().map(|p| p.1));
    let (y_lo, y_hi) = bounds(points.iter().map(|p| p.2));
    let (x_lo, x_hi) = (x_lo / 2.0, x_hi * 2.0);
    let pad = ((y_hi - y_lo) * 0.15).max(0.01);
    let (y_lo, y_hi) = ((y_lo - pad).max(0.0), (y_hi + pad).min(1.0));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 640)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| EvalError::Chart(e.to_string());
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let caption = format!(
            "{} ({} queries): {metric} against median latency",
            report.dataset, report.queries
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d((x_lo..x_hi).log_scale(), y_lo..y_hi)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("median latency per query, ms (log scale)")
            .y_desc(metric.to_string())
            .draw()
            .map_err(|e| err(&e))?;
        for (i, (name, x, y)) in points.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(std::iter::once(Circle::new((*x, *y), 5, color.filled())))
                .map_err(|e| err(&e))?
                .label(format!("{name} ({y:.3})"))
                .legend(move |(lx, ly)| Circle::new((lx, ly), 5, color.filled()));
            chart
                .draw_series(std::iter::once(Text::new(
                    name.clone(),
                    (*x, *y),
                    ("sans-serif", 12).into_font(),
                )))
                .map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo.is_finite() {
        (lo, hi.max(lo))
    } else {
        (0.0, 1.0)
    }
}
