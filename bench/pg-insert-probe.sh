#!/usr/bin/env bash
# The server-side cost of one event insert against the raw baseline, without our client in the
# way: pgbench runs, alternately, the bench's raw INSERT-and-commit and a single-event append
# like the one a warm booking command sends (`insert_one_at` unchecked: a plain INSERT … VALUES
# of the same columns, a booking-sized payload, time-ordered ids), on the real schema from
# migrations/postgres. pgbench keeps no state between statements, so each append starts a new
# stream at version 1 instead of following one; the unique (stream_id, stream_version) index is
# written all the same. Two steps between them show where the difference goes: `sized`, the raw
# insert with the booking-sized payload, and `bare`, the event's columns in a table with no index
# but its key. Used to tell how much of the write ratio the schema costs and how much the
# client does. Usage: bench/pg-insert-probe.sh [SECONDS_PER_RUN] (default 8).
# Connects with PGHOST and PGUSER (default 127.0.0.1 and postgres).
set -euo pipefail

secs="${1:-8}"
export PGHOST="${PGHOST:-127.0.0.1}" PGUSER="${PGUSER:-postgres}"
db="cabanas_probe_$$"
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"; psql -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null' EXIT

psql -q -d postgres -c "CREATE DATABASE $db"
for f in "$here"/migrations/postgres/*.sql; do
  psql -q -v ON_ERROR_STOP=1 -d "$db" -f "$f" >/dev/null
done
psql -q -d "$db" -c "CREATE TABLE raw_bench (id BIGSERIAL PRIMARY KEY, payload JSONB NOT NULL)"
psql -q -d "$db" -c "CREATE TABLE bare (LIKE events INCLUDING DEFAULTS INCLUDING IDENTITY)"
psql -q -d "$db" -c "ALTER TABLE bare ADD PRIMARY KEY (seq)"

# A HoldPlaced payload's size (about 600 bytes), and time-ordered ids as the application's UUIDv7.
# A space after every colon: pgbench would read `:name` as one of its variables.
payload='{"reservation_id": "0193a1b2-0000-7000-8000-000000000000","code": "ABCD-2345","guest_ref": "g-0193a1b2-0000-4000-8000-000000000000","stay": {"check_in": "2026-12-01","check_out": "2026-12-02"},"guests": 2,"channel": "direct","quote": {"nights": 1,"per_night": [{"date": "2026-12-01","price": "40000","weekend": false,"seasonal": null}],"weekend_nights": 0,"cleaning_fee": "8000","total": "48000","deposit": "14400","deposit_percent": "30"},"expires_at": "2026-12-01T00:30:00Z","hold_duration_minutes": 30,"note": "padding to the size of a real hold with its quote and adjustments, padding to size"}'
cat > "$work/raw.sql" <<'EOF'
INSERT INTO raw_bench (payload) VALUES ('{"n": 1, "note": "a payload of typical size for a booking event"}');
EOF
cat > "$work/sized.sql" <<EOF
INSERT INTO raw_bench (payload) VALUES ('$payload');
EOF
for table in events bare; do
cat > "$work/$table.sql" <<EOF
INSERT INTO $table (stream_id, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at)
VALUES ('accommodation-' || gen_random_uuid(), 1,
        encode(overlay(uuid_send(gen_random_uuid()) PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 'hex')::uuid,
        'HoldPlaced', 1, '$payload', '{"actor": "bench"}', now());
EOF
done

for clients in 1 8; do
  for round in 1 2 3; do
    for what in raw sized bare events; do
      out=$(pgbench -n -M prepared -c "$clients" -j "$clients" -T "$secs" -f "$work/$what.sql" "$db" 2>&1) || true
      tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
      # An aborted run still prints a rate for what it did before failing: refuse it, loudly.
      if [ -z "$tps" ] || grep -q 'aborted' <<<"$out"; then
        echo "pgbench failed on $what.sql:" >&2
        echo "$out" >&2
        exit 1
      fi
      printf '%-6s %d client(s), round %d: %8.0f/s\n' "$what" "$clients" "$round" "$tps"
    done
  done
done
