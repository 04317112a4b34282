//! HTML for the panel without a template crate (ADR 0005): one escaping helper, [`escape`], an
//! [`Html`] newtype for fragments already safe, and `html!`, which passes every argument that
//! is not `Html` through `escape`. The page shell with its inline CSS is here too.

use std::fmt;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};

/// A fragment of HTML that is safe to send as it is: written in this crate's source, or built
/// from escaped values by `html!`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Html(String);

impl Html {
    /// Only `html!` calls this, with `format!`'s output over a literal and escaped arguments.
    #[doc(hidden)]
    pub fn from_template(text: String) -> Html {
        Html(text)
    }

    /// Appends another safe fragment.
    pub fn push(&mut self, fragment: Html) {
        self.0.push_str(&fragment.0);
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromIterator<Html> for Html {
    fn from_iter<I: IntoIterator<Item = Html>>(iter: I) -> Html {
        let mut all = Html::default();
        for fragment in iter {
            all.push(fragment);
        }
        all
    }
}

/// The one escaping helper: text made safe for an element's content and for a quoted
/// attribute value alike.
pub fn escape(text: &str) -> Html {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Html(out)
}

/// What `html!` may interpolate: `Html` as it is, everything else escaped.
pub trait Fragment {
    fn fragment(&self) -> Html;
}

impl Fragment for Html {
    fn fragment(&self) -> Html {
        self.clone()
    }
}

impl Fragment for str {
    fn fragment(&self) -> Html {
        escape(self)
    }
}

impl Fragment for String {
    fn fragment(&self) -> Html {
        escape(self)
    }
}

impl<T: Fragment + ?Sized> Fragment for &T {
    fn fragment(&self) -> Html {
        (**self).fragment()
    }
}

macro_rules! number_fragment {
    ($($t:ty),*) => {$(
        impl Fragment for $t {
            fn fragment(&self) -> Html {
                escape(&self.to_string())
            }
        }
    )*};
}
number_fragment!(u8, u32, i64, usize);

/// `html!("<td class=\"{}\">{}</td>", class, text)`: `format!` over a literal whose arguments
/// each go through [`Fragment`]. The literal reaches `format!` through `concat!`, which makes
/// inline captures (`{name}`, which would skip the escaping) a compile error.
macro_rules! html {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {
        $crate::panel::html::Html::from_template(format!(
            concat!($fmt) $(, $crate::panel::html::Fragment::fragment(&$arg))*
        ))
    };
}
pub(crate) use html;

/// Small, phone-first: the table scrolls sideways inside its box, the first column stays put,
/// and each state has a pattern of its own as well as a colour.
const CSS: &str = "body{font:16px/1.4 system-ui,sans-serif;margin:0;padding:1rem;color:#111;\
background:#fafafa}main{max-width:64rem;margin:auto}h1{font-size:1.3rem}\
form.in{display:grid;gap:.6rem;max-width:22rem}input,button{font:inherit;padding:.5rem}\
.err{color:#a00;font-weight:bold}.scroll{overflow-x:auto}table{border-collapse:collapse}\
caption{text-align:left;font-weight:bold;padding:.4rem 0}th,td{border:1px solid #ccc;\
padding:.25rem;font-size:.8rem;min-width:4.2rem;vertical-align:top}\
th[scope=row]{position:sticky;left:0;background:#fff;text-align:left}\
.held{background:#fff3c4;border-style:dashed}.confirmed{background:#c8ecd0;font-weight:bold}\
.blocked{background:#ddd;text-decoration:line-through}.imported{background:#d6e4ff;\
font-style:italic}.free{color:#777}.code{display:block;font-weight:bold;font-style:normal}\
nav{display:flex;gap:1rem;flex-wrap:wrap;align-items:center;margin:.5rem 0}\
dl.legend{display:grid;grid-template-columns:max-content 1fr;gap:.3rem .6rem;\
align-items:center}dl.legend dt{padding:0 .3rem}dl.legend dd{margin:0}\
nav.top{border-bottom:1px solid #ccc;padding-bottom:.5rem}\
nav.top a[aria-current]{font-weight:bold;text-decoration:none;color:#111}nav form{display:inline}\
form.filter,form.act{display:grid;gap:.4rem;max-width:26rem;margin:.5rem 0}\
select{font:inherit;padding:.4rem}dl.facts{display:grid;grid-template-columns:auto 1fr;\
gap:.2rem .8rem}dl.facts dt{font-weight:bold}dl.facts dd{margin:0}\
ol.list li,ol.history li{margin:.4rem 0}.ok{background:#c8ecd0;padding:.5rem}\
details{margin:.6rem 0;border:1px solid #ccc;padding:.4rem;background:#fff}\
summary{font-weight:bold}form.inline{display:inline}fieldset{border:1px solid #ccc}\
fieldset label{display:inline-block;margin-right:.6rem}";

/// A whole page: `title` in the tab and the heading, `body` under it.
pub fn page(status: StatusCode, title: &str, body: Html) -> HttpResponse {
    let text = html!(
        "<!doctype html><html lang=\"es-AR\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · Cabañas</title><style>{}</style>\
         <script src=\"/panel/panel.js\" defer></script></head>\
         <body><main><h1>{}</h1>{}</main></body></html>",
        title,
        Html(CSS.to_owned()),
        title,
        body
    );
    HttpResponse::build(status)
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ))
        // Pages hold a CSRF token and reservation codes: never kept by a shared cache, and
        // never framed by another site.
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; \
                 connect-src 'self'; form-action 'self'; frame-ancestors 'none'",
            ),
        ))
        .body(text.0)
}

/// The bar's links: where, and the words (also the title of the page they lead to).
const BAR: [(&str, &str); 8] = [
    ("/panel/calendario", "Calendario"),
    ("/panel/agenda", "Agenda"),
    ("/panel/reservas", "Reservas"),
    ("/panel/numeros", "Números"),
    ("/panel/cabanas", "Cabañas"),
    ("/panel/alertas", "Alertas"),
    ("/panel/conversaciones", "Conversaciones"),
    ("/panel/auditoria", "Auditoría"),
];

/// A page for a signed-in user: the bar shared by every page (its links, the one to this page
/// marked as current for screen readers and the eye, and "Salir", a form because signing out
/// changes state) above `body`.
pub fn signed_in_page(status: StatusCode, title: &str, csrf: &str, body: Html) -> HttpResponse {
    within(status, title, title, csrf, body)
}

/// A page inside one of the bar's sections (a reservation inside "Reservas"): the section's
/// link is marked as the one the user is in.
pub fn within(
    status: StatusCode,
    section: &str,
    title: &str,
    csrf: &str,
    body: Html,
) -> HttpResponse {
    let links: Html = BAR
        .iter()
        .map(|(href, words)| {
            if *words == title {
                html!("<a href=\"{}\" aria-current=\"page\">{}</a>", *href, *words)
            } else if *words == section {
                html!("<a href=\"{}\" aria-current=\"true\">{}</a>", *href, *words)
            } else {
                html!("<a href=\"{}\">{}</a>", *href, *words)
            }
        })
        .collect();
    let bar = html!(
        "<nav class=\"top\">{}\
         <form method=\"post\" action=\"/panel/salir\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\">Salir</button></form></nav>{}",
        links,
        csrf,
        body
    );
    page(status, title, bar)
}

/// A page that only says why the request was refused.
pub fn refusal(status: StatusCode, title: &str, detail: &str) -> HttpResponse {
    page(
        status,
        title,
        html!(
            "<p>{}</p><p><a href=\"/panel/\">Volver al panel</a></p>",
            detail
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_every_character_that_could_open_markup_or_leave_an_attribute() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>").as_str(),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(escape("Cabaña del Lago").as_str(), "Cabaña del Lago");
        assert_eq!(escape("").as_str(), "");
    }

    #[test]
    fn html_escapes_text_arguments_and_keeps_safe_fragments() {
        let inner = html!("<b>{}</b>", "a<b");
        let outer = html!("<td title=\"{}\">{}{}</td>", "\"><x", inner, 7u32);
        assert_eq!(
            outer.as_str(),
            "<td title=\"&quot;&gt;&lt;x\"><b>a&lt;b</b>7</td>"
        );
    }
}
