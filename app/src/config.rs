//! Settings. Every value can come from the environment or from a config file of
//! `CABANAS_NAME = value` lines (`--config PATH` or `CABANAS_CONFIG`); the environment wins.
//! Unset means the embedded default, so the service runs on a fresh machine with nothing
//! configured (SQLite under ./data/, in-process rate limits, a JWT secret generated once).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};

#[derive(Clone)]
pub struct Settings {
    pub bind: SocketAddr,
    pub database_url: String,
    /// How long a request waits for a PostgreSQL connection before it is answered 503 (see
    /// `eventstore::Tuning`).
    pub db_acquire_timeout: Duration,
    pub redis_url: Option<String>,
    /// Namespace of this deployment's Redis keys and channel (several deployments may share one
    /// Redis; the instances of one deployment must use the same prefix).
    pub redis_prefix: String,
    /// HMAC secret for admin/auditor tokens; `None` until [`Settings::prepare_storage`] loads or
    /// generates the embedded default.
    pub jwt_secret: Option<String>,
    pub hold_minutes: i64,
    /// Meta app secret: when set, every webhook delivery must carry its signature.
    pub whatsapp_app_secret: Option<String>,
    /// The token Meta echoes in the webhook verification handshake.
    pub whatsapp_verify_token: Option<String>,
    /// Cloud API token and sender: both set means replies are really sent.
    pub whatsapp_token: Option<String>,
    pub whatsapp_phone_number_id: Option<String>,
    pub whatsapp_api_base: String,
    /// The owner's WhatsApp number: news of bookings and alerts (calendar conflicts, payment
    /// problems, handoffs) go there.
    pub owner_whatsapp: Option<String>,
    /// The approved template that carries a message refused outside the 24-hour window, and its
    /// language; unset: such a message stays failed (131047).
    pub whatsapp_notice: Option<integrations::whatsapp::template::NoticeTemplate>,
    /// Mercado Pago access token: set means real payment links; unset means sandbox payments.
    pub mp_access_token: Option<String>,
    /// Secret of Mercado Pago's webhook signatures: when set, notifications must be signed.
    pub mp_webhook_secret: Option<String>,
    pub mp_api_base: String,
    /// How far a notification's signed timestamp may be from now.
    pub mp_signature_max_age: Duration,
    /// How long one call to Mercado Pago may take before it is retried.
    pub mp_timeout: Duration,
    /// How long a provider's circuit breaker (Mercado Pago, the Cloud API) stays open after
    /// failures in a row before one call probes it again.
    pub breaker_cooldown: Duration,
    /// How the outside world reaches this service (notification URL, return page, links).
    pub public_url: String,
    /// How often each imported calendar is fetched (jittered by up to a tenth).
    pub ical_interval: Duration,
    /// A feed not synced for longer than this makes /readyz report `degraded`.
    pub ical_max_age: Duration,
    /// A feed that had at least this many events and suddenly has none is not applied.
    pub ical_empty_guard: i32,
    pub ical_timeout: Duration,
    pub expiry_interval: Duration,
    /// The Whisper model for voice notes; `None` (or a missing file) means voice notes are
    /// answered with "please type".
    pub whisper_model: Option<std::path::PathBuf>,
    /// Threads per transcription, transcriptions at once, and notes allowed to wait.
    pub whisper_threads: usize,
    pub voice_concurrency: usize,
    pub voice_queue: usize,
    /// Longer voice notes are refused with a friendly reply.
    pub voice_max_secs: u32,
    /// Transcripts less sure than this (mean token probability) are confirmed with the guest.
    pub voice_min_confidence: f32,
    /// Requests per minute per client IP and route.
    pub rate_limit_per_minute: u32,
    /// Use X-Forwarded-For / Forwarded for the client IP (only behind a proxy you run).
    pub trust_forwarded: bool,
    pub log_filter: String,
}

impl std::fmt::Debug for Settings {
    /// The database URL can hold a password and the secret is a secret: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("database", &self.backend_name())
            .field("redis", &self.redis_url.is_some())
            .field("hold_minutes", &self.hold_minutes)
            .field("expiry_interval", &self.expiry_interval)
            .field("rate_limit_per_minute", &self.rate_limit_per_minute)
            .finish_non_exhaustive()
    }
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/cabanas.db";
/// Where a Whisper model is looked for when `CABANAS_WHISPER_MODEL` is not set.
pub const DEFAULT_WHISPER_MODEL: &str = "./models/ggml-base.bin";
/// Where the embedded default keeps its generated JWT secret.
pub const SECRET_FILE: &str = "./data/jwt-secret";

/// Reads a config file: `NAME = value` per line, `#` comments, optional quotes.
pub fn read_config_file(path: &Path) -> anyhow::Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    let mut out = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            bail!(
                "{}:{}: expected NAME = value, got {line:?}",
                path.display(),
                n + 1
            );
        };
        let k = k.trim();
        if !k.starts_with("CABANAS_") {
            bail!(
                "{}:{}: unknown setting {k:?} (names start with CABANAS_)",
                path.display(),
                n + 1
            );
        }
        let v = v.trim().trim_matches('"').to_owned();
        out.insert(k.to_owned(), v);
    }
    Ok(out)
}

impl Settings {
    /// The environment over the config file named by `config` or `CABANAS_CONFIG`.
    pub fn load(config: Option<&Path>) -> anyhow::Result<Settings> {
        let path = config
            .map(Path::to_path_buf)
            // Empty is unset, as for every other setting (compose passes empty variables).
            .or_else(|| {
                std::env::var("CABANAS_CONFIG")
                    .ok()
                    .filter(|p| !p.trim().is_empty())
                    .map(Into::into)
            });
        let file = match path {
            Some(p) => read_config_file(&p)?,
            None => HashMap::new(),
        };
        Self::from_lookup(|k| std::env::var(k).ok().or_else(|| file.get(k).cloned()))
    }

    pub fn from_env() -> anyhow::Result<Settings> {
        Self::load(None)
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    /// Long on purpose: one read per setting, each with its default and its check, in one place.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Settings> {
        let lookup = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let bind = lookup("CABANAS_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind: SocketAddr = bind
            .parse()
            .with_context(|| format!("CABANAS_BIND must be HOST:PORT, got {bind:?}"))?;
        let database_url =
            lookup("CABANAS_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres")) {
            bail!("CABANAS_DATABASE_URL must start with sqlite:// or postgres://");
        }
        let redis_url = lookup("CABANAS_REDIS_URL");
        if let Some(url) = &redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            bail!("CABANAS_REDIS_URL must start with redis:// or rediss://");
        }
        let redis_prefix = lookup("CABANAS_REDIS_PREFIX").unwrap_or_else(|| "cabanas".into());
        if !redis_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            bail!("CABANAS_REDIS_PREFIX may only hold letters, digits, - _ and .");
        }
        let jwt_secret = lookup("CABANAS_JWT_SECRET");
        if let Some(secret) = &jwt_secret
            && secret.len() < 32
        {
            bail!("CABANAS_JWT_SECRET must be at least 32 characters");
        }
        let number =
            |name: &str, default: i64, range: std::ops::RangeInclusive<i64>| match lookup(name) {
                None => Ok(default),
                Some(v) => v
                    .parse::<i64>()
                    .ok()
                    .filter(|m| range.contains(m))
                    .with_context(|| {
                        format!(
                            "{name} must be a number in {}..={}, got {v:?}",
                            range.start(),
                            range.end()
                        )
                    }),
            };
        let hold_minutes = number("CABANAS_HOLD_MINUTES", 30, 1..=24 * 60)?;
        let expiry_secs = number("CABANAS_EXPIRY_INTERVAL_SECS", 30, 1..=3600)?;
        let rate = number("CABANAS_RATE_LIMIT_PER_MINUTE", 300, 1..=1_000_000)?;
        let mp_max_age = number("CABANAS_MP_SIGNATURE_MAX_AGE_SECS", 900, 10..=86_400)?;
        let mp_timeout = number("CABANAS_MP_TIMEOUT_SECS", 10, 1..=120)?;
        let breaker_cooldown = number("CABANAS_BREAKER_COOLDOWN_SECS", 30, 1..=3600)?;
        let ical_interval = number("CABANAS_ICAL_INTERVAL_SECS", 300, 10..=86_400)?;
        let ical_max_age = number("CABANAS_ICAL_MAX_AGE_SECS", 1200, 60..=7 * 86_400)?;
        let db_acquire_ms = number("CABANAS_DB_ACQUIRE_TIMEOUT_MS", 1500, 100..=30_000)?;
        let ical_empty_guard = number("CABANAS_ICAL_EMPTY_GUARD", 3, 1..=10_000)?;
        let ical_timeout = number("CABANAS_ICAL_TIMEOUT_SECS", 20, 1..=120)?;
        let public_url = lookup("CABANAS_PUBLIC_URL")
            .unwrap_or_else(|| "http://127.0.0.1:8080".into())
            .trim_end_matches('/')
            .to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            bail!("CABANAS_PUBLIC_URL must start with http:// or https://");
        }
        let whisper_threads = number("CABANAS_WHISPER_THREADS", 2, 1..=64)?;
        let voice_concurrency = number("CABANAS_VOICE_CONCURRENCY", 1, 1..=16)?;
        let voice_queue = number("CABANAS_VOICE_QUEUE", 32, 0..=10_000)?;
        let voice_max_secs = number("CABANAS_VOICE_MAX_SECS", 120, 1..=900)?;
        let voice_min_confidence = match lookup("CABANAS_VOICE_MIN_CONFIDENCE") {
            None => 0.7,
            Some(v) => v
                .parse::<f32>()
                .ok()
                .filter(|c| (0.0..=1.0).contains(c))
                .with_context(|| {
                    format!("CABANAS_VOICE_MIN_CONFIDENCE must be between 0 and 1, got {v:?}")
                })?,
        };
        let whisper_model = match lookup("CABANAS_WHISPER_MODEL") {
            // Voice notes off, even with a model in the default place.
            Some(path) if path == "off" => None,
            Some(path) => Some(std::path::PathBuf::from(path)),
            None => Some(std::path::PathBuf::from(DEFAULT_WHISPER_MODEL)).filter(|p| p.is_file()),
        };
        let trust_forwarded = matches!(
            lookup("CABANAS_TRUST_FORWARDED").as_deref(),
            Some("1" | "true" | "yes")
        );
        Ok(Settings {
            bind,
            database_url,
            db_acquire_timeout: Duration::from_millis(db_acquire_ms as u64),
            redis_url,
            redis_prefix,
            jwt_secret,
            hold_minutes,
            whatsapp_app_secret: lookup("CABANAS_WHATSAPP_APP_SECRET"),
            whatsapp_verify_token: lookup("CABANAS_WHATSAPP_VERIFY_TOKEN"),
            whatsapp_token: lookup("CABANAS_WHATSAPP_TOKEN"),
            whatsapp_phone_number_id: lookup("CABANAS_WHATSAPP_PHONE_NUMBER_ID"),
            whatsapp_api_base: lookup("CABANAS_WHATSAPP_API_BASE")
                .unwrap_or_else(|| "https://graph.facebook.com/v21.0".into()),
            owner_whatsapp: lookup("CABANAS_OWNER_WHATSAPP")
                .map(|n| n.chars().filter(char::is_ascii_digit).collect()),
            whatsapp_notice: lookup("CABANAS_WHATSAPP_NOTICE_TEMPLATE").map(|name| {
                integrations::whatsapp::template::NoticeTemplate {
                    name: name.trim().to_owned(),
                    language: lookup("CABANAS_WHATSAPP_NOTICE_LANGUAGE")
                        .unwrap_or_else(|| "es_AR".into()),
                }
            }),
            mp_access_token: lookup("CABANAS_MP_ACCESS_TOKEN"),
            mp_webhook_secret: lookup("CABANAS_MP_WEBHOOK_SECRET"),
            mp_api_base: lookup("CABANAS_MP_API_BASE")
                .unwrap_or_else(|| "https://api.mercadopago.com".into()),
            mp_signature_max_age: Duration::from_secs(mp_max_age as u64),
            mp_timeout: Duration::from_secs(mp_timeout as u64),
            breaker_cooldown: Duration::from_secs(breaker_cooldown as u64),
            public_url,
            ical_interval: Duration::from_secs(ical_interval as u64),
            ical_max_age: Duration::from_secs(ical_max_age as u64),
            ical_empty_guard: ical_empty_guard as i32,
            ical_timeout: Duration::from_secs(ical_timeout as u64),
            expiry_interval: Duration::from_secs(expiry_secs as u64),
            whisper_model,
            whisper_threads: whisper_threads as usize,
            voice_concurrency: voice_concurrency as usize,
            voice_queue: voice_queue as usize,
            voice_max_secs: voice_max_secs as u32,
            voice_min_confidence,
            rate_limit_per_minute: rate as u32,
            trust_forwarded,
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

    /// The owner's WhatsApp number (digits only), when one is configured.
    pub fn owner(&self) -> Option<&str> {
        self.owner_whatsapp.as_deref().filter(|n| !n.is_empty())
    }

    /// The Cloud API's settings, when WhatsApp credentials are configured (sandbox: `None`).
    pub fn whatsapp_api(&self) -> Option<integrations::whatsapp::client::Config> {
        match (&self.whatsapp_token, &self.whatsapp_phone_number_id) {
            (Some(token), Some(sender)) => {
                let mut config = integrations::whatsapp::client::Config::new(
                    &self.whatsapp_api_base,
                    token,
                    sender,
                );
                config.breaker_cooldown = self.breaker_cooldown;
                Some(config)
            }
            _ => None,
        }
    }

    /// A client that downloads guests' media of up to `limit` bytes, when WhatsApp credentials
    /// are configured.
    pub fn whatsapp_media(&self, limit: u64) -> Option<integrations::whatsapp::media::MediaClient> {
        let config = self.whatsapp_api()?;
        match integrations::whatsapp::media::MediaClient::new(config, limit) {
            Ok(client) => Some(client),
            Err(err) => {
                tracing::warn!(error = %err, "WhatsApp media client unavailable");
                None
            }
        }
    }

    /// Creates the directory of a SQLite file so the default works on a fresh checkout, and
    /// loads (or generates once) the JWT secret when none is configured.
    pub fn prepare_storage(&mut self) -> anyhow::Result<()> {
        if let Some(path) = self.database_url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or(path);
            if let Some(dir) = Path::new(path).parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
        }
        if self.jwt_secret.is_none() {
            self.jwt_secret = Some(load_or_create_secret(Path::new(SECRET_FILE))?);
        }
        Ok(())
    }

    pub fn secret(&self) -> anyhow::Result<&str> {
        self.jwt_secret
            .as_deref()
            .context("no JWT secret: set CABANAS_JWT_SECRET")
    }
}

fn load_or_create_secret(path: &Path) -> anyhow::Result<String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            return Ok(existing);
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let secret = hex::encode(rand::random::<[u8; 32]>());
    std::fs::write(path, &secret).with_context(|| format!("writing {}", path.display()))?;
    Ok(secret)
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
        assert_eq!(s.expiry_interval, Duration::from_secs(30));
        assert!(s.redis_url.is_none());
        assert!(s.whatsapp_notice.is_none());
    }

    #[test]
    fn voice_notes_are_turned_off_by_name_and_a_path_is_taken_as_given() {
        let off = Settings::from_lookup(|k| (k == "CABANAS_WHISPER_MODEL").then(|| "off".into()));
        assert_eq!(off.unwrap().whisper_model, None);
        let given = Settings::from_lookup(|k| {
            (k == "CABANAS_WHISPER_MODEL").then(|| "/models/ggml-small.bin".into())
        });
        assert_eq!(
            given.unwrap().whisper_model,
            Some(std::path::PathBuf::from("/models/ggml-small.bin"))
        );
    }

    #[test]
    fn the_notice_template_is_named_with_its_language() {
        let s = Settings::from_lookup(|k| {
            (k == "CABANAS_WHATSAPP_NOTICE_TEMPLATE").then(|| " aviso_reserva ".into())
        })
        .unwrap();
        let notice = s.whatsapp_notice.unwrap();
        assert_eq!(
            (notice.name.as_str(), notice.language.as_str()),
            ("aviso_reserva", "es_AR")
        );
        let s = Settings::from_lookup(|k| match k {
            "CABANAS_WHATSAPP_NOTICE_TEMPLATE" => Some("aviso".into()),
            "CABANAS_WHATSAPP_NOTICE_LANGUAGE" => Some("es".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.whatsapp_notice.unwrap().language, "es");
    }

    #[test]
    fn bad_values_are_named_in_the_error() {
        for (key, value) in [
            ("CABANAS_HOLD_MINUTES", "soon"),
            ("CABANAS_DATABASE_URL", "mysql://x"),
            ("CABANAS_REDIS_URL", "localhost:6379"),
            ("CABANAS_JWT_SECRET", "short"),
            ("CABANAS_RATE_LIMIT_PER_MINUTE", "0"),
            ("CABANAS_VOICE_MIN_CONFIDENCE", "90%"),
            ("CABANAS_WHISPER_THREADS", "0"),
        ] {
            let err = Settings::from_lookup(|k| (k == key).then(|| value.into())).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let s = Settings::from_lookup(|k| match k {
            "CABANAS_DATABASE_URL" => Some("postgres://u:secret@h/db".into()),
            "CABANAS_JWT_SECRET" => Some("x".repeat(40)),
            _ => None,
        })
        .unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("secret@") && !shown.contains(&"x".repeat(40)));
    }

    #[test]
    fn a_config_file_is_read_and_its_mistakes_named() {
        let dir = std::env::temp_dir().join(format!("cabanas-conf-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.conf");
        std::fs::write(
            &good,
            "# test\nCABANAS_HOLD_MINUTES = 45\nCABANAS_BIND=\"0.0.0.0:9000\"\n",
        )
        .unwrap();
        let file = read_config_file(&good).unwrap();
        let s = Settings::from_lookup(|k| file.get(k).cloned()).unwrap();
        assert_eq!(s.hold_minutes, 45);
        assert_eq!(s.bind.port(), 9000);
        let bad = dir.join("bad.conf");
        std::fs::write(&bad, "HOLD = 3\n").unwrap();
        assert!(
            read_config_file(&bad)
                .unwrap_err()
                .to_string()
                .contains(":1:")
        );
    }
}
