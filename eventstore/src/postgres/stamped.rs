//! The positions this process's sequencer stamped last, kept in memory for the callers here
//! that wait for their own events' positions (a hold answers with its position).
//!
//! Before, such a caller asked the database once as it started waiting (a look that almost
//! never found the stamp, since the events had just been written) and once more after each
//! stamping pass: two queries per hold on the same two cores as the writers. Now it reads
//! what the sequencer has just written; the database is asked only when the stamp is not
//! here, which happens when another instance's sequencer stamped the events first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use uuid::Uuid;

/// How many stamps are remembered. A caller looks as soon as the pass that stamped its
/// events is announced, so only the last pass or two matter; a pass stamps at most `BATCH`.
const KEEP: usize = 4096;

/// Recent stamps by event id, the oldest forgotten first.
#[derive(Default)]
pub(super) struct Stamped {
    recent: Mutex<Recent>,
}

#[derive(Default)]
struct Recent {
    positions: HashMap<Uuid, i64>,
    order: VecDeque<Uuid>,
}

impl Stamped {
    /// Remembers a pass's stamps (after its commit).
    pub(super) fn remember(&self, stamps: impl IntoIterator<Item = (Uuid, i64)>) {
        // A poisoned lock only means a panic elsewhere: the map is still a valid cache.
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        for (id, position) in stamps {
            if recent.positions.insert(id, position).is_none() {
                recent.order.push_back(id);
            }
        }
        while recent.order.len() > KEEP {
            if let Some(old) = recent.order.pop_front() {
                recent.positions.remove(&old);
            }
        }
    }

    /// The positions of all of `ids`, when every one is remembered.
    pub(super) fn all_of(&self, ids: &[Uuid]) -> Option<Vec<i64>> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        ids.iter()
            .map(|id| recent.positions.get(id).copied())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_found_until_newer_ones_push_them_out() {
        let stamped = Stamped::default();
        let first = Uuid::new_v4();
        stamped.remember([(first, 1)]);
        let others: Vec<Uuid> = (0..KEEP).map(|_| Uuid::new_v4()).collect();
        assert_eq!(stamped.all_of(&[first]), Some(vec![1]));
        // Every id asked for must be known: one missing is the database's question.
        assert_eq!(stamped.all_of(&[first, others[0]]), None);
        stamped.remember(others.iter().copied().zip(2..));
        assert_eq!(stamped.all_of(&[first]), None);
        assert_eq!(
            stamped.all_of(&[others[0], others[KEEP - 1]]),
            Some(vec![2, KEEP as i64 + 1])
        );
    }
}
