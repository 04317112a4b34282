//! Nights that are not for sale: blocked by the owner, or by an imported calendar (Airbnb,
//! Booking.com, …) whose sync keeps its blocks where its events are and tells the admin when an
//! imported reservation wants nights that are already taken here.

use chrono::{DateTime, NaiveDate, Utc};

use crate::event::Aggregate;
use crate::ids::{AccommodationId, BlockId};
use crate::{BookingError, StayDates};

use super::validate::{local_today, valid_calendar_name, validate_block};
use super::{
    Accommodation, AccommodationEvent, Block, BlockDates, BlockMoved, BlockSource, DatesBlocked,
    DatesUnblocked, ExternalConflictDetected, ExternalConflictResolved, ExternalKind, ExternalStay,
    Occupant, OccupantRef, SyncCalendar, UnblockDates,
};

impl Accommodation {
    pub(super) fn decide_block(
        &self,
        cmd: &BlockDates,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        let info = self.registered()?;
        if self.blocks.contains_key(&cmd.block_id) {
            return Err(BookingError::DuplicateBlock(cmd.block_id));
        }
        validate_block(&cmd.stay, info.utc_offset_minutes, now)?;
        let mut events = self.claim(&cmd.stay, now)?;
        events.push(AccommodationEvent::DatesBlocked(DatesBlocked {
            block_id: cmd.block_id,
            stay: cmd.stay,
            source: cmd.source.clone(),
            note: cmd.note.clone(),
            external_kind: None,
            blocked_at: now,
        }));
        Ok(events)
    }

    pub(super) fn decide_unblock(
        &self,
        cmd: &UnblockDates,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        self.registered()?;
        let block = self
            .blocks
            .get(&cmd.block_id)
            .ok_or(BookingError::BlockNotFound(cmd.block_id))?;
        Ok(vec![AccommodationEvent::DatesUnblocked(DatesUnblocked {
            block_id: block.id,
            stay: block.stay,
            source: block.source.clone(),
            unblocked_at: now,
        })])
    }

    /// Reconciles one imported calendar with the blocks it produced before (see
    /// [`SyncCalendar`]). Decided event by event on a working copy of the state, so each
    /// decision sees the ones before it.
    pub(super) fn decide_sync(
        &self,
        cmd: &SyncCalendar,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        let info = self.registered()?;
        let calendar = cmd.calendar.trim();
        if !valid_calendar_name(calendar) {
            return Err(BookingError::InvalidAccommodation(
                "a calendar name is 1 to 40 lower-case letters, digits, - or _".into(),
            ));
        }
        let today = local_today(now, info.utc_offset_minutes);
        let mut sync = CalendarSync {
            work: self.clone(),
            out: Vec::new(),
            accommodation: info.id,
            calendar,
            today,
            now,
        };
        let wanted = wanted(&cmd.events, today);
        if cmd.complete {
            sync.forget_vanished(&cmd.events, &wanted);
        }
        for e in wanted {
            sync.follow(e);
        }
        Ok(sync.out)
    }

    pub(super) fn evolve_dates_blocked(&mut self, e: &DatesBlocked) {
        self.blocks.insert(
            e.block_id,
            Block {
                id: e.block_id,
                stay: e.stay,
                source: e.source.clone(),
            },
        );
    }

    pub(super) fn evolve_dates_unblocked(&mut self, e: &DatesUnblocked) {
        self.blocks.remove(&e.block_id);
    }

    pub(super) fn evolve_block_moved(&mut self, e: &BlockMoved) {
        if let Some(b) = self.blocks.get_mut(&e.block_id) {
            b.stay = e.stay;
        }
    }

    pub(super) fn evolve_conflict_detected(&mut self, e: &ExternalConflictDetected) {
        self.conflicts
            .insert((e.calendar.clone(), e.uid.clone()), e.stay);
    }

    pub(super) fn evolve_conflict_resolved(&mut self, e: &ExternalConflictResolved) {
        self.conflicts.remove(&(e.calendar.clone(), e.uid.clone()));
    }
}

/// The events of a feed that still matter, the first of each UID, by check-in.
fn wanted(events: &[ExternalStay], today: NaiveDate) -> Vec<&ExternalStay> {
    // Past stays are history: neither added nor removed.
    let mut wanted: Vec<&ExternalStay> = Vec::new();
    for e in events {
        if e.stay.check_out() > today && !wanted.iter().any(|w| w.uid == e.uid) {
            wanted.push(e);
        }
    }
    wanted.sort_by_key(|e| e.stay.check_in());
    wanted
}

/// One calendar's sync under way: the state as the events decided so far leave it, and those
/// events.
struct CalendarSync<'a> {
    /// A working copy of the state, evolved by each event as it is decided.
    work: Accommodation,
    /// The events decided so far, in order.
    out: Vec<AccommodationEvent>,
    accommodation: AccommodationId,
    /// The calendar's name, trimmed.
    calendar: &'a str,
    today: NaiveDate,
    now: DateTime<Utc>,
}

impl CalendarSync<'_> {
    fn emit(&mut self, e: AccommodationEvent) {
        self.work.evolve(&e);
        self.out.push(e);
    }

    /// This calendar's blocks for `uid`, by check-in.
    fn mine(&self, uid: &str) -> Vec<Block> {
        let calendar = self.calendar;
        let mut v: Vec<Block> = self
            .work
            .blocks
            .values()
            .filter(|b| matches!(&b.source, BlockSource::External { calendar: c, uid: u } if c == calendar && u == uid))
            .cloned()
            .collect();
        v.sort_by_key(|b| b.stay.check_in());
        v
    }

    /// A complete feed: the blocks of the events it no longer has are unblocked, and the
    /// conflicts of the events no longer wanted are resolved.
    fn forget_vanished(&mut self, events: &[ExternalStay], wanted: &[&ExternalStay]) {
        let calendar = self.calendar;
        let today = self.today;
        let gone: Vec<Block> = self
            .work
            .blocks
            .values()
            .filter(|b| match &b.source {
                BlockSource::External { calendar: c, uid } => {
                    c == calendar
                        && b.stay.check_out() > today
                        && !events.iter().any(|e| &e.uid == uid)
                }
                BlockSource::Admin => false,
            })
            .cloned()
            .collect();
        for b in gone {
            self.emit(AccommodationEvent::DatesUnblocked(DatesUnblocked {
                block_id: b.id,
                stay: b.stay,
                source: b.source.clone(),
                unblocked_at: self.now,
            }));
        }
        let stale: Vec<String> = self
            .work
            .conflicts
            .keys()
            .filter(|(c, uid)| c == calendar && !wanted.iter().any(|e| &e.uid == uid))
            .map(|(_, uid)| uid.clone())
            .collect();
        for uid in stale {
            self.emit(AccommodationEvent::ExternalConflictResolved(
                ExternalConflictResolved {
                    calendar: calendar.to_owned(),
                    uid,
                    resolved_at: self.now,
                },
            ));
        }
    }

    /// One imported event: what stands in its way, the conflict that makes (or no longer
    /// makes), and the blocks it should have.
    fn follow(&mut self, e: &ExternalStay) {
        let existing = self.mine(&e.uid);
        let others: Vec<(StayDates, Occupant)> = self
            .work
            .active_stays()
            .filter(|(stay, occupant)| {
                stay.overlaps(&e.stay)
                    && !matches!(occupant, Occupant::Block(id) if existing.iter().any(|b| b.id == *id))
            })
            .collect();
        let desired: Vec<StayDates> = if others.is_empty() {
            vec![e.stay]
        } else if e.kind == ExternalKind::Reservation {
            Vec::new()
        } else {
            // Closed nights that are partly ours already (often the channel echoing our own
            // export back): block only what is still free.
            free_segments(&e.stay, others.iter().map(|(s, _)| *s))
        };
        self.mark_conflict(e, &others);
        self.place_blocks(e, &existing, &desired);
    }

    /// An imported reservation on nights that are taken here is a conflict, told when it
    /// appears or its nights change; once nothing is in its way, it is resolved.
    fn mark_conflict(&mut self, e: &ExternalStay, others: &[(StayDates, Occupant)]) {
        let calendar = self.calendar;
        let key = (calendar.to_owned(), e.uid.clone());
        let conflict = e.kind == ExternalKind::Reservation && !others.is_empty();
        match (conflict, self.work.conflicts.get(&key)) {
            (true, Some(stay)) if *stay == e.stay => {}
            (true, _) => {
                let (_, occupant) = others[0];
                let (occupant, code) = match occupant {
                    Occupant::Reservation(id) => (
                        OccupantRef::Reservation(id),
                        self.work.reservations.get(&id).map(|r| r.code.clone()),
                    ),
                    Occupant::Block(id) => (OccupantRef::Block(id), None),
                };
                self.emit(AccommodationEvent::ExternalConflictDetected(
                    ExternalConflictDetected {
                        calendar: calendar.to_owned(),
                        uid: e.uid.clone(),
                        kind: e.kind,
                        stay: e.stay,
                        occupant,
                        occupant_code: code,
                        detected_at: self.now,
                    },
                ));
            }
            (false, Some(_)) => self.emit(AccommodationEvent::ExternalConflictResolved(
                ExternalConflictResolved {
                    calendar: calendar.to_owned(),
                    uid: e.uid.clone(),
                    resolved_at: self.now,
                },
            )),
            (false, None) => {}
        }
    }

    /// Brings the event's blocks (`existing`) to the nights it should hold (`desired`).
    fn place_blocks(&mut self, e: &ExternalStay, existing: &[Block], desired: &[StayDates]) {
        let calendar = self.calendar;
        let source = BlockSource::External {
            calendar: calendar.to_owned(),
            uid: e.uid.clone(),
        };
        if existing.len() == 1 && desired.len() == 1 {
            // One block that follows its event wherever it moves.
            let b = &existing[0];
            if b.stay != desired[0] {
                self.emit(AccommodationEvent::BlockMoved(BlockMoved {
                    block_id: b.id,
                    source,
                    previous: b.stay,
                    stay: desired[0],
                    moved_at: self.now,
                }));
            }
            return;
        }
        for b in existing.iter().filter(|b| !desired.contains(&b.stay)) {
            self.emit(AccommodationEvent::DatesUnblocked(DatesUnblocked {
                block_id: b.id,
                stay: b.stay,
                source: b.source.clone(),
                unblocked_at: self.now,
            }));
        }
        for stay in desired
            .iter()
            .filter(|d| !existing.iter().any(|b| b.stay == **d))
        {
            self.emit(AccommodationEvent::DatesBlocked(DatesBlocked {
                block_id: external_block_id(self.accommodation, calendar, &e.uid, stay),
                stay: *stay,
                source: source.clone(),
                note: None,
                external_kind: Some(e.kind),
                blocked_at: self.now,
            }));
        }
    }
}

/// The parts of `stay` no range in `taken` covers.
fn free_segments(stay: &StayDates, taken: impl Iterator<Item = StayDates>) -> Vec<StayDates> {
    let mut taken: Vec<StayDates> = taken.collect();
    taken.sort_by_key(|t| t.check_in());
    let mut out = Vec::new();
    let mut from = stay.check_in();
    for t in taken {
        if t.check_in() > from
            && let Ok(free) = StayDates::new(from, t.check_in().min(stay.check_out()))
        {
            out.push(free);
        }
        from = from.max(t.check_out());
    }
    if let Ok(free) = StayDates::new(from, stay.check_out()) {
        out.push(free);
    }
    out
}

/// A stable block id for an imported event's nights, unique across accommodations (the
/// availability read model keys stays by it).
fn external_block_id(
    accommodation: AccommodationId,
    calendar: &str,
    uid: &str,
    stay: &StayDates,
) -> BlockId {
    use sha2::{Digest, Sha256};
    let digest =
        Sha256::digest(format!("{accommodation}|{calendar}|{uid}|{}", stay.check_in()).as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    BlockId::from_uuid(uuid::Builder::from_random_bytes(bytes).into_uuid())
}
