//! A load run's outputs: the time series as CSV, and a plot (SVG and PNG) of offered against
//! accepted and processed load, lag, p99 latency and where the CPU went.

use std::collections::BTreeSet;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::recorder::Second;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("writing {path}")]
    Csv {
        path: String,
        #[source]
        source: csv::Error,
    },
    #[error("drawing {path}: {message}")]
    Plot { path: String, message: String },
}

/// The consumers whose handled records the series carries, in pipeline order.
pub const CONSUMERS: [&str; 4] = ["materialiser", "inventory", "fulfilment", "accounting"];

/// Parts of the local pipeline that appear in a run's CPU columns, in the order they appear.
fn cpu_parts(seconds: &[Second]) -> Vec<String> {
    let parts: BTreeSet<&String> = seconds.iter().flat_map(|s| s.cpu.keys()).collect();
    parts.into_iter().cloned().collect()
}

fn optional(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// One row per second.
pub fn write_csv(path: &Path, seconds: &[Second]) -> Result<(), ReportError> {
    let error = |source| ReportError::Csv {
        path: path.display().to_string(),
        source,
    };
    let parts = cpu_parts(seconds);
    let mut writer = csv::Writer::from_path(path).map_err(error)?;
    let mut header: Vec<String> = [
        "second",
        "target_rate",
        "sent_requests",
        "sent_orders",
        "unsent",
        "accepted_orders",
        "rejected",
        "failed",
        "gave_up",
        "throttled",
        "post_p50_ms",
        "post_p99_ms",
    ]
    .map(String::from)
    .to_vec();
    header.extend(CONSUMERS.map(|c| format!("handled_{c}")));
    header.extend(
        [
            "behind_latest_ms",
            "record_age_ms",
            "oldest_unmaterialised_ms",
            "oldest_unfinished_ms",
        ]
        .map(String::from),
    );
    header.extend(parts.iter().map(|p| format!("cpu_{p}")));
    writer.write_record(&header).map_err(error)?;
    for (index, s) in seconds.iter().enumerate() {
        let mut row = vec![
            index.to_string(),
            format!("{:.1}", s.target_rate),
            s.sent_requests.to_string(),
            s.sent_orders.to_string(),
            s.unsent.to_string(),
            s.accepted_orders.to_string(),
            s.rejected.to_string(),
            s.failed.to_string(),
            s.gave_up.to_string(),
            s.throttled.to_string(),
            optional(s.post_ms(0.5).map(|v| format!("{v:.2}"))),
            optional(s.post_ms(0.99).map(|v| format!("{v:.2}"))),
        ];
        row.extend(CONSUMERS.map(|c| optional(s.handled.get(c).map(u64::to_string))));
        row.extend([
            optional(s.behind_latest_ms),
            optional(s.record_age_ms),
            optional(s.oldest_unmaterialised_ms),
            optional(s.oldest_unfinished_ms),
        ]);
        row.extend(
            parts
                .iter()
                .map(|p| optional(s.cpu.get(p).map(|v| format!("{v:.0}")))),
        );
        writer.write_record(&row).map_err(error)?;
    }
    writer.flush().map_err(|e| error(e.into()))
}

/// The plot's font, embedded so that a machine without fonts draws the same picture.
fn register_font() {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(|| {
        // Only fails on bytes that are not a font; these are a known font.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        );
    });
}

const SIZE: (u32, u32) = (1200, 1200);

/// Writes `<stem>.svg` and `<stem>.png`.
/// `fault`, seconds from the start to the end of an injected fault, is shaded in every panel.
pub fn plot(
    stem: &Path,
    title: &str,
    seconds: &[Second],
    fault: Option<(f64, f64)>,
) -> Result<(), ReportError> {
    register_font();
    let svg = stem.with_extension("svg");
    draw(
        SVGBackend::new(&svg, SIZE).into_drawing_area(),
        title,
        seconds,
        fault,
    )
    .map_err(|message| ReportError::Plot {
        path: svg.display().to_string(),
        message,
    })?;
    let png = stem.with_extension("png");
    draw(
        BitMapBackend::new(&png, SIZE).into_drawing_area(),
        title,
        seconds,
        fault,
    )
    .map_err(|message| ReportError::Plot {
        path: png.display().to_string(),
        message,
    })
}

type Series = (String, RGBColor, Vec<(f64, f64)>);

fn series(
    name: &str,
    color: RGBColor,
    seconds: &[Second],
    value: impl Fn(&Second) -> Option<f64>,
) -> Series {
    let points = seconds
        .iter()
        .enumerate()
        .filter_map(|(i, s)| value(s).map(|v| (i as f64, v)))
        .collect();
    (name.to_owned(), color, points)
}

const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn draw<B: DrawingBackend>(
    root: DrawingArea<B, Shift>,
    title: &str,
    seconds: &[Second],
    fault: Option<(f64, f64)>,
) -> Result<(), String> {
    let fail = |e: DrawingAreaErrorKind<B::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(fail)?;
    let root = root.titled(title, ("sans-serif", 26)).map_err(fail)?;
    let panels = root.split_evenly((4, 1));
    // Every panel spans the whole run, so they line up.
    let x_max = seconds.len().max(1) as f64;
    let handled = |name: &'static str| move |s: &Second| s.handled.get(name).map(|v| *v as f64);
    let orders = vec![
        series("target (requests/s)", PALETTE[7], seconds, |s| {
            Some(s.target_rate)
        }),
        series("sent (orders/s)", PALETTE[0], seconds, |s| {
            Some(s.sent_orders as f64)
        }),
        series("accepted (orders/s)", PALETTE[2], seconds, |s| {
            Some(s.accepted_orders as f64)
        }),
        series("throttled (429/503 per s)", PALETTE[3], seconds, |s| {
            Some(s.throttled as f64)
        }),
        series(
            "given up on, still throttled (orders/s)",
            PALETTE[9],
            seconds,
            |s| (s.gave_up > 0).then_some(s.gave_up as f64),
        ),
        series(
            "inventory handled (orders into the saga/s)",
            PALETTE[1],
            seconds,
            handled("inventory"),
        ),
        series(
            "accounting handled (orders through the saga/s)",
            PALETTE[4],
            seconds,
            handled("accounting"),
        ),
    ];
    let panel = |area, caption, unit, lines| panel(x_max, fault, area, caption, unit, lines);
    panel(&panels[0], "load", "per second", orders).map_err(fail)?;
    let as_seconds = |v: Option<u64>| v.map(|ms| ms as f64 / 1000.0);
    let lag = vec![
        series(
            "consumers' max MillisBehindLatest",
            PALETTE[0],
            seconds,
            |s| as_seconds(s.behind_latest_ms),
        ),
        series(
            "consumers' oldest record handled (RecordAgeMs)",
            PALETTE[3],
            seconds,
            |s| as_seconds(s.record_age_ms),
        ),
        series(
            "oldest accepted order not in DynamoDB",
            PALETTE[2],
            seconds,
            |s| as_seconds(s.oldest_unmaterialised_ms),
        ),
        series(
            "oldest accepted order not through the saga",
            PALETTE[4],
            seconds,
            |s| as_seconds(s.oldest_unfinished_ms),
        ),
    ];
    panel(&panels[1], "lag", "seconds", lag).map_err(fail)?;
    let latency = vec![
        series("POST p50", PALETTE[0], seconds, |s| s.post_ms(0.5)),
        series("POST p99", PALETTE[3], seconds, |s| s.post_ms(0.99)),
    ];
    panel(
        &panels[2],
        "POST latency, from when it was due",
        "ms",
        latency,
    )
    .map_err(fail)?;
    let cpu = cpu_parts(seconds)
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let points = seconds
                .iter()
                .enumerate()
                .filter_map(|(t, s)| s.cpu.get(&part).map(|v| (t as f64, *v)))
                .collect();
            (part, PALETTE[i % PALETTE.len()], points)
        })
        .collect();
    panel(&panels[3], "CPU by part (100 = one core)", "%", cpu).map_err(fail)?;
    root.present().map_err(fail)
}

fn panel<B: DrawingBackend>(
    x_max: f64,
    fault: Option<(f64, f64)>,
    area: &DrawingArea<B, Shift>,
    caption: &str,
    unit: &str,
    lines: Vec<Series>,
) -> Result<(), DrawingAreaErrorKind<B::ErrorType>> {
    let y_max = lines
        .iter()
        .flat_map(|(_, _, points)| points.iter().map(|(_, y)| *y))
        .fold(1.0, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc("seconds from the start")
        .y_desc(unit)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    if let Some((from, to)) = fault {
        let shade = RGBColor(255, 190, 190).mix(0.5);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(from, 0.0), (to, y_max)],
                shade.filled(),
            )))?
            .label("fault")
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], shade.filled()));
    }
    for (name, color, points) in lines {
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 13))
        .draw()
}
