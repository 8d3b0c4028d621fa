//! Service-account sign-in, as Google documents it for server-to-server applications: a JWT
//! (RS256, signed with the key's private key) exchanged at the key's `token_uri` with the
//! `urn:ietf:params:oauth:grant-type:jwt-bearer` grant (RFC 7523) for an access token, which
//! is reused until a minute before it expires.
//!
//! The exchange goes through [`Http`], so it has the connection's timeout and reply limit. The
//! private key and the token never leave this module in any text: `Debug` shows neither, and
//! errors name the service account's email only.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use dataconn_core::{Error, ErrorKind, Result, Secret};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use url::Url;

use crate::http::{Http, Repeat};

/// The scope of every call: read and write spreadsheets.
const SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";
/// Google's token endpoint, when the key names none.
pub(crate) const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// How long an assertion (and so at most a token) lives; Google allows at most an hour.
const ASSERTION_LIFETIME: u64 = 3600;
/// A token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// The fields of a service-account key this connector uses (from the section or the JSON).
#[derive(Clone, Deserialize)]
pub(crate) struct KeyFields {
    pub(crate) client_email: String,
    pub(crate) private_key: Secret,
    #[serde(default)]
    pub(crate) token_uri: Option<String>,
}

/// A service account, signed in lazily.
pub(crate) struct ServiceAccount {
    /// The service account's email, for "share the sheet with ..." messages.
    pub(crate) email: String,
    key: RsaKeyPair,
    token_uri: Url,
    token: tokio::sync::Mutex<Option<Token>>,
}

struct Token {
    value: Secret,
    renew_at: Instant,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("email", &self.email)
            .field("token_uri", &self.token_uri.as_str())
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// The service account of `fields`; `key_origin` and `uri_origin` say where `private_key`
    /// and `token_uri` came from (a `file:line` of the secrets, or the key file), for messages.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the private key is not an RSA key in PKCS#8 PEM or
    /// `token_uri` is not an http(s) URL with a host; the key is never shown.
    pub(crate) fn new(
        fields: KeyFields,
        key_origin: &str,
        uri_origin: &str,
    ) -> Result<ServiceAccount> {
        let token_uri = fields.token_uri.as_deref().unwrap_or(DEFAULT_TOKEN_URI);
        let token_uri =
            crate::config::http_url("token_uri", uri_origin, token_uri).map_err(Error::config)?;
        let origin = key_origin;
        let der = pkcs8_der(fields.private_key.expose()).ok_or_else(|| {
            Error::config(format!(
                "expected `private_key` ({origin}) to be a PEM block \"-----BEGIN PRIVATE \
                 KEY-----\" ... \"-----END PRIVATE KEY-----\", as in the service-account key \
                 JSON; found text that is not"
            ))
        })?;
        let key = RsaKeyPair::from_pkcs8(&der).map_err(|e| {
            Error::config(format!(
                "expected `private_key` ({origin}) to be an RSA private key (PKCS#8), as in the \
                 service-account key JSON; found a PEM block that is not one ({e})"
            ))
        })?;
        Ok(ServiceAccount {
            email: fields.client_email,
            key,
            token_uri,
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// A valid access token: the last one, or a new one from `token_uri`.
    ///
    /// # Errors
    /// [`ErrorKind::Connect`] naming the service account when the endpoint refuses or cannot be
    /// reached; [`Http::send`]'s timeout and size errors.
    pub(crate) async fn token(&self, http: &Http) -> Result<Secret> {
        let mut held = self.token.lock().await;
        if let Some(token) = held.as_ref()
            && Instant::now() < token.renew_at
        {
            return Ok(token.value.clone());
        }
        let assertion = self.assertion()?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
            .append_pair("assertion", &assertion)
            .finish();
        let asked = Instant::now();
        let reply = http
            .send(
                "sign in as the service account (the token exchange at `token_uri`)",
                Repeat::Safe,
                |client| {
                    client
                        .post(self.token_uri.clone())
                        .header(
                            reqwest::header::CONTENT_TYPE,
                            "application/x-www-form-urlencoded",
                        )
                        .body(form.clone())
                },
            )
            .await?;
        let body: Json = serde_json::from_slice(&reply.body).unwrap_or(Json::Null);
        let refused = |found: String| {
            Error::new(
                ErrorKind::Connect,
                format!(
                    "expected an access token for the service account {}, found {found}",
                    self.email
                ),
            )
        };
        if !reply.status.is_success() {
            // Google's OAuth errors: {"error": "invalid_grant", "error_description": "..."}.
            let error = body["error"].as_str().unwrap_or_default();
            let description = body["error_description"].as_str().unwrap_or_default();
            let temporary = reply.status.as_u16() == 429 || reply.status.is_server_error();
            return Err(refused(format!(
                "the sign-in refused (HTTP {}: {} {})",
                reply.status,
                crate::service::clip(error),
                crate::service::clip(description)
            ))
            .set_temporary(temporary));
        }
        let Some(value) = body["access_token"].as_str().filter(|t| !t.is_empty()) else {
            return Err(refused(
                "a reply without `access_token` from `token_uri`".to_owned(),
            ));
        };
        let lifetime = body["expires_in"]
            .as_u64()
            .unwrap_or(ASSERTION_LIFETIME)
            .min(ASSERTION_LIFETIME);
        let token = Token {
            value: Secret::new(value),
            renew_at: asked + Duration::from_secs(lifetime).saturating_sub(RENEW_BEFORE),
        };
        let value = token.value.clone();
        *held = Some(token);
        Ok(value)
    }

    /// The signed JWT-bearer assertion: `header.claims.signature`, each base64url.
    fn assertion(&self) -> Result<String> {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let header = json!({"alg": "RS256", "typ": "JWT"});
        let claims = json!({
            "iss": self.email,
            "scope": SCOPE,
            "aud": self.token_uri.as_str(),
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
        });
        let signed = format!(
            "{}.{}",
            b64.encode(header.to_string()),
            b64.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.key
            .sign(&RSA_PKCS1_SHA256, &rng, signed.as_bytes(), &mut signature)
            .map_err(|_| {
                Error::internal(format!(
                    "could not sign the sign-in assertion of the service account {}",
                    self.email
                ))
            })?;
        Ok(format!("{signed}.{}", b64.encode(signature)))
    }
}

/// The DER bytes of a PKCS#8 PEM block (`\n` written as the two characters `\` `n`, as keys
/// pasted from JSON sometimes are, is read as a line break).
fn pkcs8_der(pem: &str) -> Option<Vec<u8>> {
    let pem = pem.replace("\\n", "\n");
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN PRIVATE KEY-----")?
        .strip_suffix("-----END PRIVATE KEY-----")?;
    let text: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// The largest key file read: a key JSON is about 2.3 KB, and `/dev/zero` is not one.
const MAX_KEY_FILE_BYTES: u64 = 1 << 20;

/// The key fields from the JSON file at `path`; errors name the file and never a value.
pub(crate) async fn read_key_file(path: &str) -> Result<KeyFields> {
    use tokio::io::AsyncReadExt;
    let unreadable = |e: std::io::Error| {
        Error::config(format!(
            "expected a service-account key JSON at {path} (`service_account_file`), found none \
             readable"
        ))
        .with_source(e)
    };
    let file = tokio::fs::File::open(path).await.map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(Error::config(format!(
            "expected a service-account key JSON of at most 1 MiB at {path} \
             (`service_account_file`), found a larger file"
        )));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        // serde's text can quote a value (a number where text belongs); say where instead.
        let found = match e.classify() {
            serde_json::error::Category::Data if e.to_string().starts_with("missing field") => e
                .to_string()
                .split(" at line")
                .next()
                .unwrap_or_default()
                .to_owned(),
            serde_json::error::Category::Data => format!(
                "a field of the wrong type at line {}, column {}",
                e.line(),
                e.column()
            ),
            _ => format!(
                "text that is not JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        };
        Error::config(format!(
            "expected a service-account key JSON at {path} with `client_email` and \
             `private_key`, found {found}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_file_that_never_ends_is_refused_after_a_mebibyte() {
        let err = read_key_file("/dev/zero").await.map(|_| ()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(
            err.to_string().contains("at most 1 MiB at /dev/zero"),
            "{err}"
        );
        let err = read_key_file("/nonexistent/key.json")
            .await
            .map(|_| ())
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/key.json"), "{err}");
    }

    #[test]
    fn a_key_that_is_not_pkcs8_pem_is_refused_without_showing_it() {
        for pem in [
            "not a key at all, hunter2",
            "-----BEGIN PRIVATE KEY-----\nhunter2!!\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\naHVudGVyMg==\n-----END PRIVATE KEY-----\n",
        ] {
            let fields = KeyFields {
                client_email: "a@b.c".into(),
                private_key: Secret::new(pem),
                token_uri: None,
            };
            let err = ServiceAccount::new(fields, "secrets.toml:4", "secrets.toml:5").unwrap_err();
            let shown = format!("{err} {err:?}");
            assert_eq!(err.kind(), ErrorKind::Config, "{shown}");
            assert!(shown.contains("`private_key` (secrets.toml:4)"), "{shown}");
            assert!(
                !shown.contains("hunter2") && !shown.contains("aHVudGVyMg"),
                "{shown}"
            );
        }
    }
}
