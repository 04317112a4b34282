"""Reads the calendars the iCal export test wrote (target/tmp/ical-export-*.ics) with Python's
`icalendar` package, a second, independent parser, and checks the bytes: CRLF line endings,
lines folded at 75 octets, all-day events with an exclusive DTEND and a UID and DTSTAMP each."""

import glob
import sys

import icalendar

files = sorted(glob.glob(sys.argv[1] if len(sys.argv) > 1 else "target/tmp/ical-export-*.ics"))
if not files:
    sys.exit("check_ical: no exported calendar found (did the export test run?)")
for name in files:
    raw = open(name, "rb").read()
    assert raw.endswith(b"\r\n"), f"{name}: does not end with CRLF"
    for n, line in enumerate(raw.split(b"\r\n")[:-1], 1):
        assert b"\n" not in line and b"\r" not in line, f"{name}:{n}: bare line ending"
        assert len(line) <= 75, f"{name}:{n}: {len(line)} octets"
    cal = icalendar.Calendar.from_ical(raw)
    events = list(cal.walk("VEVENT"))
    assert events, f"{name}: no events"
    for e in events:
        start, end = e["DTSTART"].dt, e["DTEND"].dt
        assert type(start).__name__ == "date" and type(end).__name__ == "date", f"{name}: not all-day"
        assert end > start, f"{name}: DTEND not after DTSTART"
        assert e.get("UID") and e.get("DTSTAMP") and e.get("X-SOURCE"), f"{name}: missing UID, DTSTAMP or X-SOURCE"
    print(f"check_ical: {name}: {len(events)} events read back by Python icalendar {icalendar.__version__}")
