//! The numbers as CSV for a spreadsheet set to Argentina: `;` between fields and a decimal
//! comma (what such a spreadsheet expects), a UTF-8 byte-order mark so that "Cabaña" opens
//! right, one figure per line under one header.

use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderValue};
use chrono::NaiveDate;
use domain::Money;

use super::figures::{Figures, percent};

/// A field made safe: quoted when it holds a separator, a quote or a line break, and with a
/// leading `'` when a spreadsheet would take it for a formula (a cabin named `=HYPERLINK(…)`).
fn field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// An amount as a spreadsheet reads it: `116000`, `1234,5`.
fn amount(m: Money) -> String {
    m.amount().normalize().to_string().replace('.', ",")
}

fn line(out: &mut String, fields: [&str; 5]) {
    let fields: Vec<String> = fields.iter().map(|f| field(f)).collect();
    out.push_str(&fields.join(";"));
    out.push_str("\r\n");
}

pub fn body(f: &Figures) -> String {
    let mut out = String::from("\u{feff}");
    line(&mut out, ["indicador", "mes", "cabaña", "canal", "valor"]);
    for (m, month) in f.months.iter().enumerate() {
        for c in &f.cabins {
            let (sold, blocked) = c.nights[m];
            let share = percent(sold, month.days);
            let share = share.trim_end_matches(" %");
            line(&mut out, ["ocupación %", &month.key, &c.name, "", share]);
            line(
                &mut out,
                [
                    "noches vendidas",
                    &month.key,
                    &c.name,
                    "",
                    &sold.to_string(),
                ],
            );
            line(
                &mut out,
                [
                    "noches del mes",
                    &month.key,
                    &c.name,
                    "",
                    &month.days.to_string(),
                ],
            );
            line(
                &mut out,
                [
                    "noches bloqueadas",
                    &month.key,
                    &c.name,
                    "",
                    &blocked.to_string(),
                ],
            );
        }
        line(
            &mut out,
            ["ingresos", &month.key, "", "", &amount(f.revenue[m])],
        );
        let rate = f.rate[m].map(amount).unwrap_or_default();
        line(
            &mut out,
            ["tarifa promedio por noche", &month.key, "", "", &rate],
        );
    }
    for c in &f.channels {
        line(
            &mut out,
            ["noches por canal", "", "", &c.label, &c.nights.to_string()],
        );
        line(
            &mut out,
            ["ingresos por canal", "", "", &c.label, &amount(c.revenue)],
        );
    }
    let lead = f.lead_days.map(|d| d.to_string()).unwrap_or_default();
    line(&mut out, ["anticipación mediana (días)", "", "", "", &lead]);
    out
}

pub fn render(first: NaiveDate, last: NaiveDate, f: &Figures) -> HttpResponse {
    // Built from two dates only: nothing the request sent reaches the header.
    let name = format!(
        "attachment; filename=\"numeros-{}-a-{}.csv\"",
        first.format("%Y-%m"),
        last.format("%Y-%m")
    );
    let disposition = HeaderValue::from_str(&name)
        .unwrap_or_else(|_| HeaderValue::from_static("attachment; filename=\"numeros.csv\""));
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        ))
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(body(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_that_a_spreadsheet_would_misread_are_quoted_or_defused() {
        assert_eq!(field("Cabaña del Lago"), "Cabaña del Lago");
        assert_eq!(field("a;b"), "\"a;b\"");
        assert_eq!(field("dice \"hola\""), "\"dice \"\"hola\"\"\"");
        assert_eq!(field("=1+1"), "'=1+1");
        assert_eq!(amount(Money::pesos(116_000)), "116000");
    }
}
