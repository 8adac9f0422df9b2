//! The SVG chart: requests per task, one group of bars per task and one bar
//! per phase, with a dashed line at the even share. Only plotters' SVG
//! backend; text stays SVG `<text>`, so no fonts are needed to draw it.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::report::{DemoReport, Route};
use super::{Algorithm, DemoError};

/// Chart size in pixels.
const SIZE: (u32, u32) = (1000, 560);
/// Fraction of a task's slot the group of bars takes.
const GROUP_WIDTH: f64 = 0.8;

/// One colour per route, the same in every run.
fn color(route: Route) -> RGBColor {
    match route {
        Route::Direct => RGBColor(214, 96, 77),
        Route::Alb(Algorithm::RoundRobin) => RGBColor(67, 147, 195),
        Route::Alb(Algorithm::LeastOutstandingRequests) => RGBColor(77, 175, 74),
    }
}

/// Writes the chart of `report` to `path`.
pub fn write_svg(report: &DemoReport, path: &Path) -> Result<(), DemoError> {
    draw(report, path).map_err(|e| DemoError::Chart {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn draw(report: &DemoReport, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let n = report.tasks.len();
    let phases = &report.phases;
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    // Headroom above the tallest bar for its value and the legend.
    let top = phases.iter().map(|p| p.max()).max().unwrap_or(0).max(1) as f64 * 1.45;
    let caption = format!(
        "Requests per task: {} clients, {} requests per phase ({} scenario)",
        report.clients, report.requests, report.scenario
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..n as f64, 0f64..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(WHITE)
        .y_desc("requests answered")
        .axis_desc_style(("sans-serif", 15))
        .draw()?;

    let bar_width = GROUP_WIDTH / phases.len().max(1) as f64;
    let left = (1.0 - GROUP_WIDTH) / 2.0;
    let value_style = ("sans-serif", 12)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    for (j, phase) in phases.iter().enumerate() {
        let fill = color(phase.route);
        let x0 = |i: usize| i as f64 + left + j as f64 * bar_width;
        chart
            .draw_series(phase.counts.iter().enumerate().map(|(i, &c)| {
                Rectangle::new(
                    [(x0(i), 0.0), (x0(i) + bar_width * 0.92, c as f64)],
                    fill.filled(),
                )
            }))?
            .label(format!("{}  (CV {:.2})", phase.route.short(), phase.cv()))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], fill.filled()));
        chart.draw_series(phase.counts.iter().enumerate().map(|(i, &c)| {
            Text::new(
                c.to_string(),
                (x0(i) + bar_width * 0.46, c as f64),
                value_style.clone(),
            )
        }))?;
    }

    // The even share: where every bar would end with a perfect spread.
    let even = report.requests as f64 / n.max(1) as f64;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, even), (n as f64, even)],
            BLACK.mix(0.45).stroke_width(1),
        )))?
        .label(format!("even share ({even:.0})"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], BLACK.mix(0.45)));

    let label_style = ("sans-serif", 14)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    chart.draw_series(report.tasks.iter().enumerate().map(|(i, task)| {
        EmptyElement::at((i as f64 + 0.5, 0.0))
            + Text::new(task.label(i), (0, 10), label_style.clone())
    }))?;

    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    root.present()?;
    Ok(())
}
