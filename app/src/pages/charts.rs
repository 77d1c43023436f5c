//! Small SVG charts rendered on the server (readable without script: every bar carries a `<title>`),
//! which show a tooltip as the pointer moves over a bar once the page is hydrated.

use leptos::prelude::*;

use crate::i18n::t;

const PALETTE: &[&str] = &[
    "#3b5bdb", "#f08c00", "#2b8a3e", "#c92a2a", "#7048e8", "#0c8599", "#e64980", "#5c940d",
];
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 64.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 10.0;

/// Values per day, stacked by series.
#[derive(Clone, Debug, PartialEq)]
pub struct Stacked {
    /// Labels of the days (x axis), in order.
    pub days: Vec<String>,
    /// (series name, one value per day).
    pub series: Vec<(String, Vec<i64>)>,
}

impl Stacked {
    fn max_total(&self) -> i64 {
        (0..self.days.len())
            .map(|i| {
                self.series
                    .iter()
                    .map(|(_, v)| v.get(i).copied().unwrap_or(0))
                    .sum::<i64>()
            })
            .max()
            .unwrap_or(0)
    }
}

/// A stacked bar chart; `format` renders a value for labels and tooltips.
#[component]
pub fn StackedBars(
    #[prop(into)] title: String,
    data: Stacked,
    format: fn(i64) -> String,
    #[prop(into)] testid: String,
) -> impl IntoView {
    let tip = RwSignal::new(None::<String>);
    let max = data.max_total().max(1);
    let n = data.days.len().max(1);
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let bar_w = (slot * 0.7).max(1.0);
    let mut bars = Vec::new();
    for (i, day) in data.days.iter().enumerate() {
        let mut y = TOP + plot_h;
        for (s, (name, values)) in data.series.iter().enumerate() {
            let v = values.get(i).copied().unwrap_or(0);
            if v <= 0 {
                continue;
            }
            let h = plot_h * v as f64 / max as f64;
            y -= h;
            let label = format!("{day} · {name}: {}", format(v));
            bars.push((
                LEFT + slot * i as f64 + (slot - bar_w) / 2.0,
                y,
                h,
                PALETTE[s % PALETTE.len()],
                label,
            ));
        }
    }
    let first = data.days.first().cloned().unwrap_or_default();
    let last = data.days.last().cloned().unwrap_or_default();
    let legend: Vec<(String, &'static str)> = data
        .series
        .iter()
        .enumerate()
        .map(|(s, (name, _))| (name.clone(), PALETTE[s % PALETTE.len()]))
        .collect();
    let empty = bars.is_empty();
    let label = title.clone();
    view! {
        <figure class="chart" data-testid=testid>
            <figcaption>{title}</figcaption>
            {if empty {
                view! { <p class="empty">{t("chart-empty")}</p> }.into_any()
            } else {
                view! {
                    <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=label>
                        <line x1=LEFT y1=TOP x2=LEFT y2=TOP + plot_h class="axis"/>
                        <line x1=LEFT y1=TOP + plot_h x2=WIDTH - 8.0 y2=TOP + plot_h class="axis"/>
                        <text x=LEFT - 6.0 y=TOP + 10.0 text-anchor="end" class="tick">{format(max)}</text>
                        <text x=LEFT - 6.0 y=TOP + plot_h text-anchor="end" class="tick">"0"</text>
                        <text x=LEFT y=HEIGHT - 6.0 class="tick">{first}</text>
                        <text x=WIDTH - 8.0 y=HEIGHT - 6.0 text-anchor="end" class="tick">{last}</text>
                        {bars.into_iter().map(|(x, y, h, color, label)| {
                            let shown = label.clone();
                            let tip_attr = label.clone();
                            view! {
                                <rect x=x y=y width=bar_w height=h fill=color class="bar" data-tip=tip_attr
                                    on:mouseenter=move |_| tip.set(Some(shown.clone()))
                                    on:mouseleave=move |_| tip.set(None)>
                                    <title>{label}</title>
                                </rect>
                            }
                        }).collect_view()}
                    </svg>
                    <div class="chart-tip" role="tooltip">{move || tip.get()}</div>
                    <ul class="legend">
                        {legend.into_iter().map(|(name, color)| view! {
                            <li><span class="swatch" style=format!("background:{color}")></span>{name}</li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </figure>
    }
}

/// Horizontal bars, one per label.
#[component]
pub fn Bars(
    #[prop(into)] title: String,
    data: Vec<(String, i64)>,
    format: fn(i64) -> String,
    #[prop(into)] testid: String,
) -> impl IntoView {
    let max = data.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    view! {
        <figure class="chart" data-testid=testid>
            <figcaption>{title}</figcaption>
            {if data.is_empty() {
                view! { <p class="empty">{t("chart-empty")}</p> }.into_any()
            } else {
                view! {
                    <ul class="hbars">
                        {data.into_iter().map(|(label, v)| {
                            let pct = (100.0 * v as f64 / max as f64).max(0.5);
                            let text = format(v);
                            let hover = format!("{label}: {text}");
                            view! {
                                <li title=hover>
                                    <span class="hbar-label">{label}</span>
                                    <span class="hbar-track"><span class="hbar" style=format!("width:{pct:.1}%")></span></span>
                                    <span class="hbar-value">{text}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </figure>
    }
}
