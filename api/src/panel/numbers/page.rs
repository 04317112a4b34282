//! The numbers page: the window's form, then occupancy, revenue, channels and lead time, each
//! chart followed by its table with the same figures (months down the side: a phone scrolls
//! down more easily than across).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use chrono::NaiveDate;

use super::chart::{self, Group};
use super::figures::{Figures, percent};
use crate::panel::html::{Html, html, signed_in_page};
use crate::panel::session::Session;

pub fn render(who: &Session, first: NaiveDate, last: NaiveDate, f: &Figures) -> HttpResponse {
    let (desde, hasta) = (
        first.format("%Y-%m").to_string(),
        last.format("%Y-%m").to_string(),
    );
    let body = html!(
        "<form class=\"filter\" method=\"get\" action=\"/panel/numeros\">\
         <label for=\"desde\">Desde (mes)</label>\
         <input id=\"desde\" name=\"desde\" type=\"month\" value=\"{}\">\
         <label for=\"hasta\">Hasta (mes)</label>\
         <input id=\"hasta\" name=\"hasta\" type=\"month\" value=\"{}\">\
         <button type=\"submit\">Ver</button></form>\
         <p><a href=\"/panel/numeros.csv?desde={}&amp;hasta={}\" download>Descargar CSV</a> \
         (las mismas cifras, para abrir en una planilla)</p>{}{}{}{}",
        desde,
        hasta,
        desde,
        hasta,
        occupancy(f),
        revenue(f),
        channels(f),
        lead(f)
    );
    signed_in_page(StatusCode::OK, "Números", &who.csrf, body)
}

fn occupancy(f: &Figures) -> Html {
    if f.cabins.is_empty() {
        return html!("<h2>Ocupación</h2><p>Todavía no hay cabañas registradas.</p>");
    }
    let groups: Vec<Group> = f
        .months
        .iter()
        .enumerate()
        .map(|(m, month)| Group {
            label: month.label.clone(),
            bars: f
                .cabins
                .iter()
                .map(|c| {
                    let sold = c.nights[m].0;
                    let words =
                        format!("{}, {}: {}", c.name, month.label, percent(sold, month.days));
                    (sold as f64 / month.days as f64, words)
                })
                .collect(),
        })
        .collect();
    let names: Vec<String> = f.cabins.iter().map(|c| c.name.clone()).collect();
    let svg = chart::bars(
        "ocupacion",
        "Ocupación por mes y cabaña",
        "Barras de 0 a 100 %: noches vendidas sobre noches del mes, una barra por cabaña en \
         cada mes. Las cifras están en la tabla que sigue.",
        &groups,
    );
    let head: Html = names
        .iter()
        .map(|n| html!("<th scope=\"col\">{}</th>", n))
        .collect();
    let rows: Html = f
        .months
        .iter()
        .enumerate()
        .map(|(m, month)| {
            let cells: Html = f
                .cabins
                .iter()
                .map(|c| {
                    let (sold, blocked) = c.nights[m];
                    html!(
                        "<td>{}<br><small>{} de {} noches; {} bloqueadas</small></td>",
                        percent(sold, month.days),
                        sold,
                        month.days,
                        blocked
                    )
                })
                .collect();
            html!("<tr><th scope=\"row\">{}</th>{}</tr>", month.label, cells)
        })
        .collect();
    html!(
        "<h2>Ocupación</h2>{}{}<div class=\"scroll\"><table><caption>Ocupación: noches vendidas \
         (reservas confirmadas) sobre noches del mes. Las bloqueadas (por vos o por otro \
         calendario) van aparte.</caption><thead><tr><th scope=\"col\">Mes</th>{}</tr></thead>\
         <tbody>{}</tbody></table></div>",
        svg,
        chart::key(&names),
        head,
        rows
    )
}

fn revenue(f: &Figures) -> Html {
    let top = f
        .revenue
        .iter()
        .map(|m| m.amount())
        .max()
        .unwrap_or_default();
    let top = if top > rust_decimal::Decimal::ZERO {
        top
    } else {
        rust_decimal::Decimal::ONE
    };
    let groups: Vec<Group> = f
        .months
        .iter()
        .zip(&f.revenue)
        .map(|(month, money)| {
            let fraction = rust_decimal::prelude::ToPrimitive::to_f64(&(money.amount() / top));
            Group {
                label: month.label.clone(),
                bars: vec![(
                    fraction.unwrap_or_default(),
                    format!("{}: {}", month.label, money),
                )],
            }
        })
        .collect();
    let svg = chart::bars(
        "ingresos",
        "Ingresos por mes",
        "Una barra por mes, proporcional a lo cobrado neto ese mes. Las cifras están en la \
         tabla que sigue.",
        &groups,
    );
    let rows: Html = f
        .months
        .iter()
        .enumerate()
        .map(|(m, month)| {
            let rate = f.rate[m].map_or_else(|| "—".to_owned(), |r| r.to_string());
            html!(
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td></tr>",
                month.label,
                f.revenue[m].to_string(),
                rate
            )
        })
        .collect();
    html!(
        "<h2>Ingresos</h2>{}<div class=\"scroll\"><table><caption>Ingresos netos por mes \
         (pagos recibidos menos devoluciones) y tarifa promedio por noche vendida</caption>\
         <thead><tr><th scope=\"col\">Mes</th><th scope=\"col\">Ingresos</th>\
         <th scope=\"col\">Tarifa promedio</th></tr></thead><tbody>{}</tbody></table></div>",
        svg,
        rows
    )
}

fn channels(f: &Figures) -> Html {
    let total: i64 = f.channels.iter().map(|c| c.nights).sum();
    let rows: Html = f
        .channels
        .iter()
        .map(|c| {
            html!(
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
                c.label,
                c.nights,
                percent(c.nights, total),
                c.revenue.to_string()
            )
        })
        .collect();
    html!(
        "<h2>Canales</h2><div class=\"scroll\"><table><caption>Noches vendidas por canal en \
         estos meses (Airbnb y Booking: las noches que importó su calendario; lo que cobran \
         ellos no pasa por acá)</caption><thead><tr><th scope=\"col\">Canal</th>\
         <th scope=\"col\">Noches</th><th scope=\"col\">Parte</th>\
         <th scope=\"col\">Ingresos</th></tr></thead><tbody>{}</tbody></table></div>",
        rows
    )
}

fn lead(f: &Figures) -> Html {
    match f.lead_days {
        Some(days) => html!(
            "<h2>Anticipación</h2><p>Mediana: <strong>{} días</strong> entre la reserva y la \
             llegada ({}).</p>",
            days,
            if f.lead_count == 1 {
                "1 reserva confirmada que llega en estos meses".to_owned()
            } else {
                format!(
                    "{} reservas confirmadas que llegan en estos meses",
                    f.lead_count
                )
            }
        ),
        None => html!(
            "<h2>Anticipación</h2><p>No hay reservas confirmadas que lleguen en estos meses.</p>"
        ),
    }
}
