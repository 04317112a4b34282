//! Settings. Every value can come from the environment; unset means the embedded default, so the
//! service runs on a fresh machine with nothing configured (SQLite under ./data/).

use std::net::SocketAddr;

use anyhow::{Context, bail};

#[derive(Clone)]
pub struct Settings {
    pub bind: SocketAddr,
    pub database_url: String,
    pub hold_minutes: i64,
    pub log_filter: String,
}

impl std::fmt::Debug for Settings {
    /// The database URL can hold a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("database", &self.backend_name())
            .field("hold_minutes", &self.hold_minutes)
            .finish_non_exhaustive()
    }
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/cabanas.db";

impl Settings {
    pub fn from_env() -> anyhow::Result<Settings> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Settings> {
        let bind = lookup("CABANAS_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind: SocketAddr = bind
            .parse()
            .with_context(|| format!("CABANAS_BIND must be HOST:PORT, got {bind:?}"))?;
        let database_url =
            lookup("CABANAS_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres")) {
            bail!("CABANAS_DATABASE_URL must start with sqlite:// or postgres://");
        }
        let hold_minutes = match lookup("CABANAS_HOLD_MINUTES") {
            None => 30,
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|m| (1..=24 * 60).contains(m))
                .with_context(|| format!("CABANAS_HOLD_MINUTES must be 1..1440, got {v:?}"))?,
        };
        Ok(Settings {
            bind,
            database_url,
            hold_minutes,
            log_filter: lookup("CABANAS_LOG").unwrap_or_else(|| "info".into()),
        })
    }

    pub fn backend_name(&self) -> &'static str {
        if self.database_url.starts_with("sqlite:") {
            "sqlite"
        } else {
            "postgres"
        }
    }

    /// Creates the directory of a SQLite file so the default works on a fresh checkout.
    pub fn prepare_storage(&self) -> anyhow::Result<()> {
        if let Some(path) = self.database_url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or(path);
            if let Some(dir) = std::path::Path::new(path).parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_set_means_the_embedded_default() {
        let s = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(s.hold_minutes, 30);
    }

    #[test]
    fn bad_values_are_named_in_the_error() {
        let err = Settings::from_lookup(|k| (k == "CABANAS_HOLD_MINUTES").then(|| "soon".into()))
            .unwrap_err();
        assert!(err.to_string().contains("CABANAS_HOLD_MINUTES"));
        let err =
            Settings::from_lookup(|k| (k == "CABANAS_DATABASE_URL").then(|| "mysql://x".into()))
                .unwrap_err();
        assert!(err.to_string().contains("CABANAS_DATABASE_URL"));
    }

    #[test]
    fn debug_output_never_shows_the_database_url() {
        let s = Settings::from_lookup(|k| {
            (k == "CABANAS_DATABASE_URL").then(|| "postgres://u:secret@h/db".into())
        })
        .unwrap();
        assert!(!format!("{s:?}").contains("secret"));
    }
}
