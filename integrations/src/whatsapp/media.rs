//! Downloading a guest's media (voice notes) from the Cloud API.
//!
//! Two steps, both with the bearer token: `GET {base}/{media-id}` answers
//! `{"url", "mime_type", "sha256", "file_size", "id"}`, where `url` lives about five minutes;
//! then `GET url` gives the bytes. An expired or vanished URL (401/403/404/410) is asked for
//! again, a size over the limit is refused before and while downloading, and the bytes are
//! checked against the announced SHA-256. 429, 5xx and network failures are retried with backoff.

use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::client::Config;
use crate::breaker::CircuitBreaker;
use crate::retry::{self, Answer, Attempt, Failure, RetryPolicy};

/// WhatsApp's own ceiling for audio messages.
pub const MAX_AUDIO_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    pub bytes: Vec<u8>,
    /// As Meta reports it, e.g. `audio/ogg; codecs=opus`.
    pub mime_type: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MediaError {
    /// Meta does not know the media (deleted, or older than its retention): retrying won't help.
    #[error("media not available: {0}")]
    Gone(String),
    #[error("media is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: u64, limit: u64 },
    /// The bytes are not what Meta announced.
    #[error("media does not match its announced SHA-256")]
    Corrupt,
    /// Still failing after every retry: try again later.
    #[error("media download unavailable: {0}")]
    Transient(String),
    #[error("WhatsApp circuit open; not downloading for now")]
    CircuitOpen,
}

pub struct MediaClient {
    http: reqwest::Client,
    config: Config,
    breaker: CircuitBreaker,
    limit: u64,
}

/// Where the bytes are, as `GET /{media-id}` answers.
struct Location {
    url: String,
    mime_type: String,
    sha256: Option<String>,
}

impl MediaClient {
    pub fn new(config: Config, limit: u64) -> Result<MediaClient, reqwest::Error> {
        // Downloads can be long; connection trouble still shows within the configured timeout.
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeout)
            .timeout(config.timeout * 6)
            .build()?;
        Ok(MediaClient {
            breaker: CircuitBreaker::new(
                "whatsapp_media",
                config.breaker_threshold,
                config.breaker_cooldown,
            ),
            http,
            config,
            limit,
        })
    }

    /// Fetches a media object's bytes. A stale download URL is refreshed up to twice.
    pub async fn download(&self, media_id: &str) -> Result<Media, MediaError> {
        if media_id.is_empty() || !media_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(MediaError::Gone("not a media id".into()));
        }
        let mut last = String::new();
        for _ in 0..3 {
            let location = self.locate(media_id).await?;
            match self.fetch(&location).await? {
                Some(bytes) => {
                    if let Some(expected) = &location.sha256 {
                        let actual = hex::encode(Sha256::digest(&bytes));
                        // Meta documents a hex digest; accept base64 as some apps have seen.
                        if !expected.eq_ignore_ascii_case(&actual) && expected.len() == 64 {
                            return Err(MediaError::Corrupt);
                        }
                    }
                    return Ok(Media {
                        bytes,
                        mime_type: location.mime_type,
                    });
                }
                None => last = "download URL expired".into(),
            }
        }
        Err(MediaError::Transient(last))
    }

    fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            attempts: self.config.attempts,
            backoff: self.config.backoff,
        }
    }

    async fn locate(&self, media_id: &str) -> Result<Location, MediaError> {
        let url = format!("{}/{}", self.config.api_base, media_id);
        let limit = self.limit;
        let answer = retry::call("whatsapp", &self.breaker, self.policy(), || async {
            let request = self.http.get(&url).bearer_auth(&self.config.token);
            let answer = match Answer::of(request).await {
                Ok(a) => a,
                // A download or an upload repeated does no harm.
                Err(unanswered) => return Attempt::Retry(unanswered.why, None),
            };
            if answer.status.is_success() {
                Attempt::Done(answer.body)
            } else if answer.retryable() {
                Attempt::Retry(format!("HTTP {}", answer.status), answer.retry_after)
            } else {
                Attempt::Fail(MediaError::Gone(format!(
                    "HTTP {}: {}",
                    answer.status,
                    answer.error_message()
                )))
            }
        })
        .await
        .map_err(failure)?;
        let text = |k: &str| answer.get(k).and_then(Value::as_str).map(str::to_owned);
        let size = match answer.get("file_size") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        if let Some(size) = size
            && size > limit
        {
            return Err(MediaError::TooLarge { size, limit });
        }
        Ok(Location {
            url: text("url").ok_or_else(|| MediaError::Gone("answer without a url".into()))?,
            mime_type: text("mime_type").unwrap_or_default(),
            sha256: text("sha256"),
        })
    }

    /// The bytes, or `None` when the URL has expired and a fresh one is needed.
    async fn fetch(&self, location: &Location) -> Result<Option<Vec<u8>>, MediaError> {
        let limit = self.limit;
        retry::call("whatsapp", &self.breaker, self.policy(), || async {
            let response = match self
                .http
                .get(&location.url)
                .bearer_auth(&self.config.token)
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => return Attempt::Retry(format!("request failed: {e}"), None),
            };
            let status = response.status();
            if matches!(status.as_u16(), 401 | 403 | 404 | 410) {
                return Attempt::Done(None);
            }
            if retry::retryable_status(status) {
                return Attempt::Retry(format!("HTTP {status}"), Some(Duration::from_secs(1)));
            }
            if !status.is_success() {
                return Attempt::Fail(MediaError::Gone(format!("HTTP {status}")));
            }
            if let Some(size) = response.content_length()
                && size > limit
            {
                return Attempt::Fail(MediaError::TooLarge { size, limit });
            }
            // Read in chunks so a server that lies about (or omits) the length cannot make us
            // hold more than the limit.
            let mut response = response;
            let mut bytes = Vec::new();
            loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        bytes.extend_from_slice(&chunk);
                        if bytes.len() as u64 > limit {
                            return Attempt::Fail(MediaError::TooLarge {
                                size: bytes.len() as u64,
                                limit,
                            });
                        }
                    }
                    Ok(None) => return Attempt::Done(Some(bytes)),
                    Err(e) => return Attempt::Retry(format!("download cut: {e}"), None),
                }
            }
        })
        .await
        .map_err(failure)
    }
}

fn failure(f: Failure<MediaError>) -> MediaError {
    match f {
        Failure::Refused(e) => e,
        Failure::Exhausted(why) => MediaError::Transient(why),
        Failure::CircuitOpen => MediaError::CircuitOpen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn client(server: &MockServer, limit: u64) -> MediaClient {
        let mut config = Config::new(&server.uri(), "TOKEN", "123");
        config.backoff = Duration::from_millis(5);
        config.attempts = 3;
        MediaClient::new(config, limit).expect("client")
    }

    async fn announce(server: &MockServer, bytes: &[u8], path_: &str) {
        Mock::given(method("GET"))
            .and(path("/4490709327384033"))
            .and(header("authorization", "Bearer TOKEN"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "messaging_product": "whatsapp",
                "url": format!("{}{path_}", server.uri()),
                "mime_type": "audio/ogg; codecs=opus",
                "sha256": hex::encode(Sha256::digest(bytes)),
                "file_size": bytes.len(),
                "id": "4490709327384033"
            })))
            .mount(server)
            .await;
    }

    #[tokio::test]
    async fn downloads_with_the_token_in_two_steps() {
        let server = MockServer::start().await;
        announce(&server, b"OggS voice", "/media/abc").await;
        Mock::given(method("GET"))
            .and(path("/media/abc"))
            .and(header("authorization", "Bearer TOKEN"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(&b"OggS voice"[..]))
            .mount(&server)
            .await;
        let media = client(&server, MAX_AUDIO_BYTES)
            .download("4490709327384033")
            .await
            .expect("downloaded");
        assert_eq!(media.bytes, b"OggS voice");
        assert_eq!(media.mime_type, "audio/ogg; codecs=opus");
    }

    #[tokio::test]
    async fn an_expired_url_is_asked_for_again() {
        let server = MockServer::start().await;
        announce(&server, b"OggS", "/media/abc").await;
        Mock::given(method("GET"))
            .and(path("/media/abc"))
            .respond_with(ResponseTemplate::new(404))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/media/abc"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(&b"OggS"[..]))
            .mount(&server)
            .await;
        let media = client(&server, MAX_AUDIO_BYTES)
            .download("4490709327384033")
            .await
            .expect("downloaded on the second URL");
        assert_eq!(media.bytes, b"OggS");
        let lookups = server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == "/4490709327384033")
            .count();
        assert_eq!(lookups, 2, "a fresh URL was requested");
    }

    #[tokio::test]
    async fn oversized_and_corrupt_media_are_refused() {
        let server = MockServer::start().await;
        announce(&server, &[7u8; 64], "/media/big").await;
        Mock::given(method("GET"))
            .and(path("/media/big"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![7u8; 64]))
            .mount(&server)
            .await;
        assert_eq!(
            client(&server, 32).download("4490709327384033").await,
            Err(MediaError::TooLarge {
                size: 64,
                limit: 32
            })
        );

        let server = MockServer::start().await;
        announce(&server, b"what Meta hashed", "/media/x").await;
        Mock::given(method("GET"))
            .and(path("/media/x"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(&b"something else"[..]))
            .mount(&server)
            .await;
        assert_eq!(
            client(&server, MAX_AUDIO_BYTES)
                .download("4490709327384033")
                .await,
            Err(MediaError::Corrupt)
        );
    }

    #[tokio::test]
    async fn unknown_media_is_gone_and_outages_are_transient() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/111"))
            .respond_with(ResponseTemplate::new(400).set_body_json(
                serde_json::json!({"error": {"code": 100, "message": "Invalid parameter"}}),
            ))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/222"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        let c = client(&server, MAX_AUDIO_BYTES);
        assert!(matches!(c.download("111").await, Err(MediaError::Gone(_))));
        assert!(matches!(
            c.download("222").await,
            Err(MediaError::Transient(_))
        ));
        assert!(matches!(
            c.download("../etc").await,
            Err(MediaError::Gone(_))
        ));
    }
}
