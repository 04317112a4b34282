//! The `cabanas` command line's parts that talk to a running service (`chat`, `pay`); the
//! commands themselves are in `main.rs`.

pub mod chat;
