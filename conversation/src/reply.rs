//! Replies as typed values that cannot break WhatsApp's limits: a builder refuses a fourth
//! button or a 21-character title here, with the field named, instead of Meta refusing the
//! message after it was queued. [`Reply::to_cloud_api`] renders the Cloud API request body.

use serde_json::{Value, json};

/// WhatsApp Cloud API limits (characters, not bytes).
pub mod limits {
    pub const TEXT_BODY: usize = 4096;
    pub const BUTTONS: usize = 3;
    pub const BUTTON_TITLE: usize = 20;
    pub const BUTTON_ID: usize = 256;
    pub const BUTTON_BODY: usize = 1024;
    pub const FOOTER: usize = 60;
    pub const HEADER: usize = 60;
    pub const LIST_ROWS: usize = 10;
    pub const LIST_SECTIONS: usize = 10;
    pub const ROW_TITLE: usize = 24;
    pub const ROW_DESCRIPTION: usize = 72;
    pub const ROW_ID: usize = 200;
    pub const SECTION_TITLE: usize = 24;
    pub const LIST_BUTTON: usize = 20;
    pub const LIST_BODY: usize = 4096;
    /// A call-to-action URL button's text.
    pub const CTA_TEXT: usize = 20;
    pub const CTA_URL: usize = 2000;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("{field} has {actual} characters; WhatsApp allows {limit}")]
    TooLong {
        field: &'static str,
        limit: usize,
        actual: usize,
    },
    #[error("{field} has {actual} items; WhatsApp allows {limit}")]
    TooMany {
        field: &'static str,
        limit: usize,
        actual: usize,
    },
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("{field} {value:?} is used twice")]
    Duplicate { field: &'static str, value: String },
}

fn check(field: &'static str, value: &str, limit: usize) -> Result<(), LimitError> {
    let actual = value.chars().count();
    if value.trim().is_empty() {
        return Err(LimitError::Empty(field));
    }
    if actual > limit {
        return Err(LimitError::TooLong {
            field,
            limit,
            actual,
        });
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub title: Option<String>,
    pub rows: Vec<Row>,
}

/// A reply, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Text(String),
    Buttons {
        body: String,
        footer: Option<String>,
        buttons: Vec<Button>,
    },
    List {
        header: Option<String>,
        body: String,
        footer: Option<String>,
        button: String,
        sections: Vec<Section>,
    },
    /// A message with one button that opens a URL (WhatsApp's `cta_url`), e.g. the payment link.
    Link {
        body: String,
        button: String,
        url: String,
    },
}

/// `s` cut to `max` characters, the cut marked with "…" (a row title that stops mid-word reads
/// as a typo: "Cabaña del Lag").
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

impl Reply {
    /// A `cta_url` message, checked against WhatsApp's limits.
    pub fn link(
        body: impl Into<String>,
        button: impl Into<String>,
        url: impl Into<String>,
    ) -> Result<Reply, LimitError> {
        let (body, button, url) = (body.into(), button.into(), url.into());
        check("link body", &body, limits::BUTTON_BODY)?;
        check("link button", &button, limits::CTA_TEXT)?;
        check("link url", &url, limits::CTA_URL)?;
        Ok(Reply::Link { body, button, url })
    }

    pub fn text(body: impl Into<String>) -> Result<Reply, LimitError> {
        let body = body.into();
        check("text body", &body, limits::TEXT_BODY)?;
        Ok(Reply::Text(body))
    }

    /// The ids a guest can send back by tapping (to route each to its handler).
    pub fn choice_ids(&self) -> Vec<&str> {
        match self {
            Reply::Text(_) | Reply::Link { .. } => Vec::new(),
            Reply::Buttons { buttons, .. } => buttons.iter().map(|b| b.id.as_str()).collect(),
            Reply::List { sections, .. } => sections
                .iter()
                .flat_map(|s| s.rows.iter().map(|r| r.id.as_str()))
                .collect(),
        }
    }

    /// The Cloud API `POST /{phone-number-id}/messages` body for `to` (digits, as sent).
    pub fn to_cloud_api(&self, to: &str) -> Value {
        let mut message = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
        });
        match self {
            Reply::Text(body) => {
                message["type"] = json!("text");
                message["text"] = json!({"preview_url": false, "body": body});
            }
            Reply::Link { body, button, url } => {
                message["type"] = json!("interactive");
                message["interactive"] = json!({
                    "type": "cta_url",
                    "body": {"text": body},
                    "action": {"name": "cta_url", "parameters": {"display_text": button, "url": url}},
                });
            }
            Reply::Buttons {
                body,
                footer,
                buttons,
            } => {
                let mut interactive = json!({
                    "type": "button",
                    "body": {"text": body},
                    "action": {"buttons": buttons.iter().map(|b| json!({
                        "type": "reply", "reply": {"id": b.id, "title": b.title}
                    })).collect::<Vec<_>>()},
                });
                if let Some(f) = footer {
                    interactive["footer"] = json!({"text": f});
                }
                message["type"] = json!("interactive");
                message["interactive"] = interactive;
            }
            Reply::List {
                header,
                body,
                footer,
                button,
                sections,
            } => {
                let sections: Vec<Value> = sections
                    .iter()
                    .map(|s| {
                        let rows: Vec<Value> = s
                            .rows
                            .iter()
                            .map(|r| {
                                let mut row = json!({"id": r.id, "title": r.title});
                                if let Some(d) = &r.description {
                                    row["description"] = json!(d);
                                }
                                row
                            })
                            .collect();
                        let mut section = json!({"rows": rows});
                        if let Some(t) = &s.title {
                            section["title"] = json!(t);
                        }
                        section
                    })
                    .collect();
                let mut interactive = json!({
                    "type": "list",
                    "body": {"text": body},
                    "action": {"button": button, "sections": sections},
                });
                if let Some(h) = header {
                    interactive["header"] = json!({"type": "text", "text": h});
                }
                if let Some(f) = footer {
                    interactive["footer"] = json!({"text": f});
                }
                message["type"] = json!("interactive");
                message["interactive"] = interactive;
            }
        }
        message
    }
}

/// Reply buttons: at most 3, unique titles and ids.
#[derive(Debug, Default)]
pub struct ButtonsBuilder {
    body: String,
    footer: Option<String>,
    buttons: Vec<Button>,
}

impl ButtonsBuilder {
    pub fn new(body: impl Into<String>) -> ButtonsBuilder {
        ButtonsBuilder {
            body: body.into(),
            ..ButtonsBuilder::default()
        }
    }

    pub fn footer(mut self, footer: impl Into<String>) -> ButtonsBuilder {
        self.footer = Some(footer.into());
        self
    }

    pub fn button(mut self, id: impl Into<String>, title: impl Into<String>) -> ButtonsBuilder {
        self.buttons.push(Button {
            id: id.into(),
            title: title.into(),
        });
        self
    }

    pub fn build(self) -> Result<Reply, LimitError> {
        check("button body", &self.body, limits::BUTTON_BODY)?;
        if let Some(f) = &self.footer {
            check("footer", f, limits::FOOTER)?;
        }
        if self.buttons.is_empty() {
            return Err(LimitError::Empty("buttons"));
        }
        if self.buttons.len() > limits::BUTTONS {
            return Err(LimitError::TooMany {
                field: "buttons",
                limit: limits::BUTTONS,
                actual: self.buttons.len(),
            });
        }
        for (i, b) in self.buttons.iter().enumerate() {
            check("button title", &b.title, limits::BUTTON_TITLE)?;
            check("button id", &b.id, limits::BUTTON_ID)?;
            for other in &self.buttons[..i] {
                if other.title == b.title {
                    return Err(LimitError::Duplicate {
                        field: "button title",
                        value: b.title.clone(),
                    });
                }
                if other.id == b.id {
                    return Err(LimitError::Duplicate {
                        field: "button id",
                        value: b.id.clone(),
                    });
                }
            }
        }
        Ok(Reply::Buttons {
            body: self.body,
            footer: self.footer,
            buttons: self.buttons,
        })
    }
}

/// A list message: at most 10 rows in all, in at most 10 sections.
#[derive(Debug, Default)]
pub struct ListBuilder {
    header: Option<String>,
    body: String,
    footer: Option<String>,
    button: String,
    sections: Vec<Section>,
}

impl ListBuilder {
    pub fn new(body: impl Into<String>, button: impl Into<String>) -> ListBuilder {
        ListBuilder {
            body: body.into(),
            button: button.into(),
            ..ListBuilder::default()
        }
    }

    pub fn header(mut self, header: impl Into<String>) -> ListBuilder {
        self.header = Some(header.into());
        self
    }

    pub fn footer(mut self, footer: impl Into<String>) -> ListBuilder {
        self.footer = Some(footer.into());
        self
    }

    /// Starts a new section; rows go into the last one started (or an untitled first one).
    pub fn section(mut self, title: impl Into<String>) -> ListBuilder {
        self.sections.push(Section {
            title: Some(title.into()),
            rows: Vec::new(),
        });
        self
    }

    pub fn row(
        mut self,
        id: impl Into<String>,
        title: impl Into<String>,
        description: Option<String>,
    ) -> ListBuilder {
        if self.sections.is_empty() {
            self.sections.push(Section {
                title: None,
                rows: Vec::new(),
            });
        }
        if let Some(last) = self.sections.last_mut() {
            last.rows.push(Row {
                id: id.into(),
                title: title.into(),
                description,
            });
        }
        self
    }

    pub fn build(self) -> Result<Reply, LimitError> {
        check("list body", &self.body, limits::LIST_BODY)?;
        check("list button", &self.button, limits::LIST_BUTTON)?;
        if let Some(h) = &self.header {
            check("header", h, limits::HEADER)?;
        }
        if let Some(f) = &self.footer {
            check("footer", f, limits::FOOTER)?;
        }
        if self.sections.len() > limits::LIST_SECTIONS {
            return Err(LimitError::TooMany {
                field: "sections",
                limit: limits::LIST_SECTIONS,
                actual: self.sections.len(),
            });
        }
        let rows: Vec<&Row> = self.sections.iter().flat_map(|s| &s.rows).collect();
        if rows.is_empty() {
            return Err(LimitError::Empty("rows"));
        }
        if rows.len() > limits::LIST_ROWS {
            return Err(LimitError::TooMany {
                field: "rows",
                limit: limits::LIST_ROWS,
                actual: rows.len(),
            });
        }
        for s in &self.sections {
            match &s.title {
                Some(t) => check("section title", t, limits::SECTION_TITLE)?,
                // With several sections each needs a title.
                None if self.sections.len() > 1 => return Err(LimitError::Empty("section title")),
                None => {}
            }
        }
        for (i, r) in rows.iter().enumerate() {
            check("row title", &r.title, limits::ROW_TITLE)?;
            check("row id", &r.id, limits::ROW_ID)?;
            if let Some(d) = &r.description {
                check("row description", d, limits::ROW_DESCRIPTION)?;
            }
            if rows[..i].iter().any(|o| o.id == r.id) {
                return Err(LimitError::Duplicate {
                    field: "row id",
                    value: r.id.clone(),
                });
            }
        }
        Ok(Reply::List {
            header: self.header,
            body: self.body,
            footer: self.footer,
            button: self.button,
            sections: self.sections,
        })
    }
}

/// Argentine mobiles arrive as `549` + 10 digits but are sent to as `54` + 10 digits; every
/// other number is sent as it came. The `wa_id` itself stays the guest's identity.
pub fn send_number(wa_id: &str) -> String {
    match wa_id.strip_prefix("549") {
        Some(rest) if rest.len() == 10 && rest.chars().all(|c| c.is_ascii_digit()) => {
            format!("54{rest}")
        }
        _ => wa_id.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_within_limits_render_the_cloud_api_shape() {
        let reply = ButtonsBuilder::new("¿Confirmamos la reserva?")
            .button("hold:confirm", "Confirmar")
            .button("hold:dates", "Cambiar fechas")
            .button("hold:cancel", "Cancelar")
            .footer("Seña del 30 %")
            .build()
            .unwrap();
        let body = reply.to_cloud_api("541122334455");
        assert_eq!(body["type"], "interactive");
        assert_eq!(body["interactive"]["type"], "button");
        assert_eq!(
            body["interactive"]["action"]["buttons"][1]["reply"]["title"],
            "Cambiar fechas"
        );
        assert_eq!(
            reply.choice_ids(),
            ["hold:confirm", "hold:dates", "hold:cancel"]
        );
    }

    #[test]
    fn buttons_beyond_limits_are_refused_by_name() {
        let four = (0..4).fold(ButtonsBuilder::new("x"), |b, i| {
            b.button(format!("id{i}"), format!("t{i}"))
        });
        assert!(matches!(
            four.build(),
            Err(LimitError::TooMany {
                field: "buttons",
                ..
            })
        ));
        let long = ButtonsBuilder::new("x").button("a", "un título demasiado largo");
        assert!(matches!(
            long.build(),
            Err(LimitError::TooLong {
                field: "button title",
                limit: 20,
                ..
            })
        ));
        let dup = ButtonsBuilder::new("x").button("a", "Sí").button("b", "Sí");
        assert!(matches!(dup.build(), Err(LimitError::Duplicate { .. })));
        let body = ButtonsBuilder::new("x".repeat(1025)).button("a", "b");
        assert!(matches!(
            body.build(),
            Err(LimitError::TooLong {
                field: "button body",
                ..
            })
        ));
        let footer = ButtonsBuilder::new("x")
            .button("a", "b")
            .footer("f".repeat(61));
        assert!(footer.build().is_err());
    }

    #[test]
    fn lists_within_limits_render_and_beyond_them_are_refused() {
        let list = ListBuilder::new("Elegí una cabaña", "Ver cabañas")
            .section("Disponibles")
            .row(
                "acc:1",
                "Cabaña del Lago",
                Some("$ 90.000 · 2 noches".into()),
            )
            .row("acc:2", "Cabaña del Bosque", None)
            .build()
            .unwrap();
        let body = list.to_cloud_api("541122334455");
        assert_eq!(body["interactive"]["type"], "list");
        assert_eq!(body["interactive"]["action"]["button"], "Ver cabañas");
        assert_eq!(
            body["interactive"]["action"]["sections"][0]["rows"][0]["description"],
            "$ 90.000 · 2 noches"
        );
        let eleven = (0..11).fold(ListBuilder::new("x", "Ver"), |b, i| {
            b.row(format!("r{i}"), format!("Fila {i}"), None)
        });
        assert!(matches!(
            eleven.build(),
            Err(LimitError::TooMany { field: "rows", .. })
        ));
        let long_row = ListBuilder::new("x", "Ver").row("r", "y".repeat(25), None);
        assert!(long_row.build().is_err());
        let long_desc = ListBuilder::new("x", "Ver").row("r", "ok", Some("d".repeat(73)));
        assert!(long_desc.build().is_err());
        let untitled = ListBuilder::new("x", "Ver")
            .row("a", "A", None)
            .section("Otra")
            .row("b", "B", None);
        assert!(matches!(
            untitled.build(),
            Err(LimitError::Empty("section title"))
        ));
        assert!(
            ListBuilder::new("x", "un botón largo de más")
                .row("a", "A", None)
                .build()
                .is_err()
        );
    }

    #[test]
    fn argentine_mobiles_are_sent_without_the_9() {
        assert_eq!(send_number("5491122334455"), "541122334455");
        assert_eq!(send_number("16505551234"), "16505551234");
        assert_eq!(send_number("549112233"), "549112233");
    }

    #[test]
    fn text_is_limited_too() {
        assert!(Reply::text("hola").is_ok());
        assert!(Reply::text("").is_err());
        assert!(Reply::text("x".repeat(4097)).is_err());
    }
}
