//! Reading every fixture feed (real Airbnb and Booking.com exports and hand-made edge cases),
//! and writing a calendar that reads back the same.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

use chrono::NaiveDate;
use integrations::ical::{self, ExportStay, FeedError};

const ART: i32 = -180;

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/ical/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[test]
fn airbnb_reservations_and_blocks_in_lf_and_crlf_read_the_same() {
    let lf = ical::parse(&read("airbnb_reserved_and_blocked.real-export.ics"), ART).unwrap();
    let crlf = ical::parse(
        &read("airbnb_reserved_and_blocked.real-export.crlf.ics"),
        ART,
    )
    .unwrap();
    assert_eq!(lf, crlf);
    assert!(lf.complete);
    assert_eq!(lf.events.len(), 4);
    let first = &lf.events[0];
    assert_eq!(
        first.uid,
        "1418fb94e984-8c79f32c389eb94bda0c2dba727de2dc@airbnb.com"
    );
    assert_eq!(
        (first.check_in, first.check_out),
        (d("2022-08-16"), d("2022-08-20"))
    );
    assert_eq!(first.summary, "Reserved");
    assert!(!first.not_available);
    let closed: Vec<_> = lf.events.iter().filter(|e| e.not_available).collect();
    assert_eq!(closed.len(), 2);
    assert_eq!(
        (closed[0].check_in, closed[0].check_out),
        (d("2022-08-20"), d("2022-09-04"))
    );
}

#[test]
fn the_old_airbnb_format_and_the_not_available_feed_read() {
    let old = ical::parse(&read("airbnb_old_itinerary_format.redacted.ics"), ART).unwrap();
    assert_eq!(old.events.len(), 2);
    assert_eq!(old.events[0].check_in, d("2020-07-03"));
    assert!(old.events[0].not_available);
    assert!(!old.events[1].not_available);
    let closed = ical::parse(&read("airbnb_not_available.atticodellino.ics"), ART).unwrap();
    assert_eq!(closed.events.len(), 2);
    assert!(closed.events.iter().all(|e| e.not_available));
    assert_eq!(closed.events[1].check_out, d("2022-01-31"));
}

#[test]
fn booking_com_reads_and_its_escaped_prodid_does_no_harm() {
    let feed = ical::parse(&read("booking_com_closed.real-export.ics"), ART).unwrap();
    assert_eq!(feed.events.len(), 7);
    assert!(feed.events.iter().all(|e| e.not_available));
    assert_eq!(
        (feed.events[1].check_in, feed.events[1].check_out),
        (d("2025-04-25"), d("2025-04-27"))
    );
    assert!(feed.complete);
    assert_eq!(feed.events[6].check_out, d("2026-09-16"));
    // Cut after an event but before the closing line: read, not trusted to remove anything.
    let raw = String::from_utf8(read("booking_com_closed.real-export.ics")).unwrap();
    let cut = raw.trim_end().strip_suffix("END:VCALENDAR").unwrap();
    let partial = ical::parse(cut.as_bytes(), ART).unwrap();
    assert_eq!(partial.events.len(), 7);
    assert!(!partial.complete);
}

#[test]
fn a_bom_a_tzid_start_a_utc_end_and_lower_case_names_are_understood() {
    let bom = ical::parse(&read("edge-cases/bom_tzid.ics"), ART).unwrap();
    assert_eq!(bom.events.len(), 1);
    // 14:00 in Buenos Aires on 1 January; 10:00 UTC on 5 January is 07:00 there.
    assert_eq!(
        (bom.events[0].check_in, bom.events[0].check_out),
        (d("2026-01-01"), d("2026-01-05"))
    );
    let lower = ical::parse(&read("edge-cases/lowercase.ics"), ART).unwrap();
    assert_eq!(lower.events.len(), 1);
    assert_eq!(lower.events[0].check_in, d("2026-01-01"));
    assert_eq!(lower.events[0].summary, "Reserved");
}

#[test]
fn bad_fetches_are_refused_and_an_empty_calendar_is_empty() {
    assert!(matches!(
        ical::parse(&read("edge-cases/html.ics"), ART),
        Err(FeedError::NotACalendar(_))
    ));
    assert_eq!(
        ical::parse(&read("edge-cases/truncated_mid_event.ics"), ART),
        Err(FeedError::Truncated)
    );
    let empty = ical::parse(&read("edge-cases/empty.ics"), ART).unwrap();
    assert!(empty.events.is_empty() && empty.complete);
    assert!(matches!(
        ical::parse(b"", ART),
        Err(FeedError::NotACalendar(_))
    ));
    assert_eq!(
        ical::parse(&[0xff, 0xfe, 0x00], ART),
        Err(FeedError::NotUtf8)
    );
}

#[test]
fn a_missing_dtend_means_one_night() {
    let feed = "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:x\nDTSTART;VALUE=DATE:20260310\nSUMMARY:Reserved\nEND:VEVENT\nEND:VCALENDAR\n";
    let parsed = ical::parse(feed.as_bytes(), ART).unwrap();
    assert_eq!(parsed.events[0].check_out, d("2026-03-11"));
}

#[test]
fn the_export_is_folded_crlf_text_that_reads_back() {
    let stays = vec![
        ExportStay {
            uid: "0193a5e0-0000-7000-8000-000000000001@cabanas".into(),
            check_in: d("2026-12-20"),
            check_out: d("2026-12-22"),
            summary: "Reservado, cabaña \"del Lago\"; con una descripción larga que obliga a plegar la línea en varias partes".into(),
            code: Some("K7M2QXP".into()),
            source: "whatsapp".into(),
        },
        ExportStay {
            uid: "b@cabanas".into(),
            check_in: d("2027-01-02"),
            check_out: d("2027-01-05"),
            summary: "Bloqueado".into(),
            code: None,
            source: "booking".into(),
        },
    ];
    let text = ical::export("Cabaña del Lago", &stays, "20261128T120000Z");
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
        assert!(!line.contains('\n'));
    }
    assert!(text.ends_with("END:VCALENDAR\r\n"));
    assert!(text.contains("SUMMARY:Reservado\\, cabaña"));
    let back = ical::parse(text.as_bytes(), ART).unwrap();
    assert!(back.complete);
    assert_eq!(back.events.len(), 2);
    assert_eq!(back.events[0].summary, stays[0].summary);
    assert_eq!(back.events[0].uid, stays[0].uid);
    assert_eq!(
        (back.events[1].check_in, back.events[1].check_out),
        (d("2027-01-02"), d("2027-01-05"))
    );
    // The crate's own reader agrees.
    let parsed: icalendar::Calendar = text.parse().unwrap();
    assert_eq!(parsed.components.len(), 2);
}
