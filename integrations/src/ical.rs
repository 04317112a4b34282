//! iCalendar (RFC 5545) both ways: reading the feeds Airbnb and Booking.com export, hardened for
//! what real feeds do, and writing the calendar we export to them.
//!
//! Reading normalises first (the `icalendar` parser fails on a UTF-8 BOM and on lower-case
//! property names): BOM stripped, LF or CRLF accepted, folded lines joined, property and
//! parameter names upper-cased. Then the checks that keep a bad fetch from being applied: it must
//! be a calendar (an HTML error page is not), and no event may be cut off; a calendar without its
//! closing line is read but reported incomplete, so the caller adds what it has and removes
//! nothing. Dates: `VALUE=DATE` as they are; a UTC date-time is moved into the accommodation's
//! time zone before taking its date; a local or `TZID` date-time keeps its own date (feeds give
//! the zone of the property, which is the accommodation's); a missing `DTEND` means one night.

use chrono::{Duration, NaiveDate, NaiveDateTime};

/// One event of an imported feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedEvent {
    pub uid: String,
    pub check_in: NaiveDate,
    /// Exclusive, like `DTEND`.
    pub check_out: NaiveDate,
    pub summary: String,
    /// Whether the channel says the nights are closed rather than booked by a guest.
    pub not_available: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feed {
    pub events: Vec<FeedEvent>,
    /// `END:VCALENDAR` was there: the feed is whole and may remove what it no longer lists.
    pub complete: bool,
    /// Events left out because they had no UID or no start.
    pub skipped: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FeedError {
    #[error("not a calendar (starts with {0:?})")]
    NotACalendar(String),
    #[error("the calendar is cut off inside an event")]
    Truncated,
    #[error("the calendar is not UTF-8")]
    NotUtf8,
    #[error("unreadable calendar: {0}")]
    Unparseable(String),
}

/// Joins folded lines and upper-cases property and parameter names, line by line.
fn normalise(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = line.strip_prefix([' ', '\t'])
            && let Some(last) = lines.last_mut()
        {
            last.push_str(rest);
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        lines.push(line.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    for line in lines {
        // The name and its parameters end at the first ':' outside quotes.
        let mut quoted = false;
        let mut split = line.len();
        for (i, c) in line.char_indices() {
            match c {
                '"' => quoted = !quoted,
                ':' if !quoted => {
                    split = i;
                    break;
                }
                _ => {}
            }
        }
        let (head, value) = line.split_at(split);
        // Upper-case names, not parameter values (a TZID or a quoted value keeps its case).
        let head: String = head
            .split(';')
            .map(|part| match part.split_once('=') {
                Some((k, v)) => format!("{}={v}", k.to_ascii_uppercase()),
                None => part.to_ascii_uppercase(),
            })
            .collect::<Vec<_>>()
            .join(";");
        out.push_str(&head);
        out.push_str(value);
        out.push_str("\r\n");
    }
    out
}

/// `\,` `\;` `\n` `\\` back to text.
pub fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// The calendar date a `DTSTART`/`DTEND` value falls on for the accommodation.
fn date_of(value: &str, utc_offset_minutes: i32) -> Option<NaiveDate> {
    let value = value.trim();
    if value.len() == 8 {
        return NaiveDate::parse_from_str(value, "%Y%m%d").ok();
    }
    if let Some(utc) = value.strip_suffix('Z') {
        let t = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").ok()?;
        return Some((t + Duration::minutes(i64::from(utc_offset_minutes))).date());
    }
    NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S")
        .ok()
        .map(|t| t.date())
}

fn is_closed(summary: &str) -> bool {
    let s = summary.to_lowercase();
    [
        "not available",
        "closed",
        "blocked",
        "no disponible",
        "bloqueado",
        "unavailable",
    ]
    .iter()
    .any(|w| s.contains(w))
}

/// Reads a fetched feed (see the module docs for what is accepted and what is refused).
pub fn parse(bytes: &[u8], utc_offset_minutes: i32) -> Result<Feed, FeedError> {
    let text = std::str::from_utf8(bytes).map_err(|_| FeedError::NotUtf8)?;
    let normalised = normalise(text);
    if !normalised.starts_with("BEGIN:VCALENDAR") {
        let start: String = text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .chars()
            .take(30)
            .collect();
        return Err(FeedError::NotACalendar(start));
    }
    let lines: Vec<&str> = normalised.lines().collect();
    let begins = lines.iter().filter(|l| **l == "BEGIN:VEVENT").count();
    let ends = lines.iter().filter(|l| **l == "END:VEVENT").count();
    let last = lines.last().copied().unwrap_or_default();
    let complete = last == "END:VCALENDAR";
    if begins != ends || !(complete || last == "END:VEVENT" || begins == 0) {
        return Err(FeedError::Truncated);
    }
    let mut whole = normalised.clone();
    if !complete {
        whole.push_str("END:VCALENDAR\r\n");
    }
    let calendar = icalendar::parser::read_calendar(&whole)
        .map_err(|e| FeedError::Unparseable(e.lines().next().unwrap_or_default().to_owned()))?;
    let mut events = Vec::new();
    let mut skipped = 0;
    let mut stack: Vec<&icalendar::parser::Component> = calendar.components.iter().collect();
    while let Some(c) = stack.pop() {
        stack.extend(c.components.iter());
        if c.name.as_str() != "VEVENT" {
            continue;
        }
        let prop = |name: &str| {
            c.properties
                .iter()
                .find(|p| p.name.as_str() == name)
                .map(|p| p.val.as_str().trim().to_owned())
        };
        let uid = prop("UID").filter(|u| !u.is_empty());
        let start = prop("DTSTART").and_then(|v| date_of(&v, utc_offset_minutes));
        let (Some(uid), Some(check_in)) = (uid, start) else {
            skipped += 1;
            continue;
        };
        let check_out = prop("DTEND")
            .and_then(|v| date_of(&v, utc_offset_minutes))
            .filter(|end| *end > check_in)
            .unwrap_or(check_in + Duration::days(1));
        let summary = unescape(&prop("SUMMARY").unwrap_or_default());
        events.push(FeedEvent {
            uid: unescape(&uid),
            check_in,
            check_out,
            not_available: is_closed(&summary),
            summary: summary.trim().to_owned(),
        });
    }
    events.sort_by(|a, b| (a.check_in, &a.uid).cmp(&(b.check_in, &b.uid)));
    Ok(Feed {
        events,
        complete,
        skipped,
    })
}

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

/// One stay in an exported calendar.
#[derive(Clone, Debug)]
pub struct ExportStay {
    /// Stable per stay: the channel recognises the same event across fetches.
    pub uid: String,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub summary: String,
    pub code: Option<String>,
    pub source: String,
}

/// Escapes TEXT values (RFC 5545 §3.3.11).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            other => out.push(other),
        }
    }
    out
}

/// Folds a content line at 75 octets (never inside a UTF-8 character) and ends it with CRLF.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
    out
}

/// The whole calendar. `stamp` (`YYYYMMDDTHHMMSSZ`) is when the calendar last changed: stable
/// across fetches, so an unchanged calendar is byte-for-byte the same.
pub fn export(name: &str, stays: &[ExportStay], stamp: &str) -> String {
    let mut out = String::new();
    let mut line = |s: String| out.push_str(&fold(&s));
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line("PRODID:-//cabanas//booking engine//ES".into());
    line("CALSCALE:GREGORIAN".into());
    line("METHOD:PUBLISH".into());
    line(format!("X-WR-CALNAME:{}", escape(name)));
    for s in stays {
        line("BEGIN:VEVENT".into());
        line(format!("UID:{}", escape(&s.uid)));
        line(format!("DTSTAMP:{stamp}"));
        line(format!(
            "DTSTART;VALUE=DATE:{}",
            s.check_in.format("%Y%m%d")
        ));
        line(format!("DTEND;VALUE=DATE:{}", s.check_out.format("%Y%m%d")));
        line(format!("SUMMARY:{}", escape(&s.summary)));
        if let Some(code) = &s.code {
            line(format!("X-CODE:{}", escape(code)));
        }
        line(format!("X-SOURCE:{}", escape(&s.source)));
        line("TRANSP:OPAQUE".into());
        line("END:VEVENT".into());
    }
    line("END:VCALENDAR".into());
    out
}

// ---------------------------------------------------------------------------------------------
// Fetching
// ---------------------------------------------------------------------------------------------

/// What a conditional GET brought back.
#[derive(Debug, PartialEq, Eq)]
pub enum Fetched {
    /// 304: nothing changed since the validators we sent.
    NotModified,
    Body {
        bytes: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("HTTP {0}")]
    Status(u16),
    #[error("unreachable: {0}")]
    Unreachable(String),
    #[error("circuit open for this host; not fetching for now")]
    CircuitOpen,
    #[error("larger than {0} bytes")]
    TooLarge(usize),
}

/// Fetches feeds: conditional GET, a timeout, retries with backoff, one circuit breaker per
/// host (one broken channel does not slow down the others).
pub struct Fetcher {
    http: reqwest::Client,
    breakers: std::sync::Mutex<
        std::collections::HashMap<String, std::sync::Arc<crate::breaker::CircuitBreaker>>,
    >,
    pub policy: crate::retry::RetryPolicy,
    pub max_bytes: usize,
}

impl Fetcher {
    pub fn new(timeout: std::time::Duration) -> Result<Fetcher, reqwest::Error> {
        Ok(Fetcher {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .user_agent("cabanas-ical/1")
                .build()?,
            breakers: Default::default(),
            policy: crate::retry::RetryPolicy {
                attempts: 3,
                backoff: std::time::Duration::from_millis(500),
            },
            max_bytes: 5 * 1024 * 1024,
        })
    }

    fn breaker(&self, url: &str) -> std::sync::Arc<crate::breaker::CircuitBreaker> {
        let host = url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', '?']).next())
            .unwrap_or(url)
            .to_owned();
        let mut map = match self.breakers.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(host)
            .or_insert_with(|| {
                std::sync::Arc::new(crate::breaker::CircuitBreaker::new(
                    "ical",
                    5,
                    std::time::Duration::from_secs(300),
                ))
            })
            .clone()
    }

    pub async fn fetch(
        &self,
        url: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<Fetched, FetchError> {
        use crate::retry::{Attempt, Failure};
        let breaker = self.breaker(url);
        crate::retry::call("ical", &breaker, self.policy, || async {
            let mut request = self.http.get(url);
            if let Some(e) = etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, e);
            }
            if let Some(m) = last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, m);
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => return Attempt::Retry(format!("request failed: {e}"), None),
            };
            let status = response.status();
            if status.as_u16() == 304 {
                return Attempt::Done(Fetched::NotModified);
            }
            if status.as_u16() == 429 || status.is_server_error() {
                return Attempt::Retry(format!("HTTP {status}"), None);
            }
            if !status.is_success() {
                return Attempt::Fail(FetchError::Status(status.as_u16()));
            }
            let header = |name: reqwest::header::HeaderName| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let etag = header(reqwest::header::ETAG);
            let last_modified = header(reqwest::header::LAST_MODIFIED);
            match response.bytes().await {
                Ok(b) if b.len() > self.max_bytes => {
                    Attempt::Fail(FetchError::TooLarge(self.max_bytes))
                }
                Ok(b) => Attempt::Done(Fetched::Body {
                    bytes: b.to_vec(),
                    etag,
                    last_modified,
                }),
                Err(e) => Attempt::Retry(format!("body cut off: {e}"), None),
            }
        })
        .await
        .map_err(|f| match f {
            Failure::Refused(e) => e,
            Failure::Exhausted(why) => match why.strip_prefix("HTTP ") {
                Some(code) => FetchError::Status(
                    code.split_whitespace()
                        .next()
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(503),
                ),
                None => FetchError::Unreachable(why),
            },
            Failure::CircuitOpen => FetchError::CircuitOpen,
        })
    }
}
