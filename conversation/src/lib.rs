//! The WhatsApp dialogue as pure code. So far: the Spanish (Argentina) understanding of what a
//! guest writes or says — intents, stays and guest counts — relative to a given "today" — and
//! reply builders that cannot break WhatsApp's limits.

pub mod dialogue;
pub mod holidays;
pub mod nlu;
pub mod notices;
pub mod owner;
pub mod reply;
