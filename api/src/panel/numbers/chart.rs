//! Bar charts drawn on the server as inline SVG (no script, no library). Each chart has a
//! `<title>` and a `<desc>` for screen readers, each bar its own `<title>` with its figure, and
//! the page puts the same figures in a table beside it: the chart is never the only source.
//! Series differ by a pattern (solid, striped, outlined) as well as by colour.

use super::super::html::{Html, html};

/// One group of bars (a month) with a bar per series (a cabin), as fractions of the chart's
/// height (0 to 1) and the words each bar's `<title>` says.
pub struct Group {
    pub label: String,
    pub bars: Vec<(f64, String)>,
}

const COLOURS: [&str; 4] = ["#2a6f97", "#b5651d", "#3c8d2f", "#7b3f99"];
const HEIGHT: i64 = 160;
const TOP: i64 = 10;
const LEFT: i64 = 8;

/// The fill of series `i`: a colour, and a pattern that cycles apart from it (solid, dashed
/// outline, thick outline), so two series never differ by colour alone.
fn fill(i: usize) -> (&'static str, Html) {
    let style = match i % 3 {
        0 => Html::default(),
        1 => html!("stroke=\"#111\" stroke-dasharray=\"3 2\" fill-opacity=\"0.7\""),
        _ => html!("stroke=\"#111\" stroke-width=\"2\" fill-opacity=\"0.4\""),
    };
    (COLOURS[i % COLOURS.len()], style)
}

/// A bar chart: `id` names its title and description for `aria-labelledby`.
pub fn bars(id: &str, title: &str, desc: &str, groups: &[Group]) -> Html {
    let per_group = groups
        .iter()
        .map(|g| g.bars.len())
        .max()
        .unwrap_or(1)
        .max(1) as i64;
    let bar = if per_group > 3 { 6 } else { 12 };
    let group_width = per_group * bar + 10;
    // Room on the right for the last month's slanted label.
    let width = LEFT * 2 + group_width * groups.len().max(1) as i64 + 30;
    let height = TOP + HEIGHT + 40;
    let mut shapes = html!(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#888\"/>",
        LEFT,
        TOP + HEIGHT,
        width - LEFT,
        TOP + HEIGHT
    );
    for (g, group) in groups.iter().enumerate() {
        let x0 = LEFT + g as i64 * group_width + 5;
        for (i, (fraction, words)) in group.bars.iter().enumerate() {
            let h = (fraction.clamp(0.0, 1.0) * HEIGHT as f64).round() as i64;
            let (colour, style) = fill(i);
            shapes.push(html!(
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" {}>\
                 <title>{}</title></rect>",
                x0 + i as i64 * bar,
                TOP + HEIGHT - h,
                bar - 1,
                h.max(1),
                colour,
                style,
                words
            ));
        }
        shapes.push(html!(
            "<text x=\"{}\" y=\"{}\" font-size=\"10\" transform=\"rotate(45 {} {})\">{}</text>",
            x0,
            TOP + HEIGHT + 12,
            x0,
            TOP + HEIGHT + 12,
            group.label
        ));
    }
    html!(
        "<svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" aria-labelledby=\"{}-t {}-d\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title id=\"{}-t\">{}</title>\
         <desc id=\"{}-d\">{}</desc>{}</svg>",
        width,
        height,
        id,
        id,
        id,
        title,
        id,
        desc,
        shapes
    )
}

/// The key of the series: each name beside a swatch drawn as its bars are.
pub fn key(names: &[String]) -> Html {
    let items: Html = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (colour, style) = fill(i);
            html!(
                "<li><svg width=\"14\" height=\"14\" aria-hidden=\"true\">\
                 <rect x=\"1\" y=\"1\" width=\"12\" height=\"12\" fill=\"{}\" {}/></svg> {}</li>",
                colour,
                style,
                name
            )
        })
        .collect();
    html!("<ul class=\"key\">{}</ul>", items)
}
