//! Key-pair authentication: an RS256 JWT signed with the user's RSA private key.
//!
//! The key is PKCS#8 PEM, given inline (`private_key`) or as a file (`private_key_file`),
//! optionally encrypted (`-----BEGIN ENCRYPTED PRIVATE KEY-----`, with
//! `private_key_file_pwd`). The JWT's issuer is `ACCOUNT.USER.SHA256:<fingerprint>`, the
//! fingerprint being the base64 SHA-256 of the public key's DER SubjectPublicKeyInfo — the same
//! value Snowflake shows as `RSA_PUBLIC_KEY_FP`.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use dataconn_core::{Error, ErrorKind, Result};
use sha2::{Digest, Sha256};

use crate::config::SnowflakeConfig;

fn key_error(what: &str) -> Error {
    Error::config(format!(
        "the private key for key-pair authentication {what}"
    ))
}

/// The most bytes read from `private_key_file`: a PEM key is a few KiB, and a path such as
/// `/dev/zero` must not fill memory.
const KEY_FILE_LIMIT: u64 = 1 << 20;

fn read_key_file(path: &str) -> Result<String> {
    use std::io::Read;
    let unreadable = |e: std::io::Error| {
        Error::new(
            ErrorKind::Config,
            format!("could not read private_key_file {path}"),
        )
        .with_source(e)
    };
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(KEY_FILE_LIMIT + 1).read_to_string(&mut text))
        .map_err(unreadable)?;
    if text.len() as u64 > KEY_FILE_LIMIT {
        return Err(Error::config(format!(
            "expected private_key_file {path} to be a PEM key of at most {KEY_FILE_LIMIT} \
             bytes, found a larger file"
        )));
    }
    Ok(text)
}

/// The PKCS#8 DER of the configured private key, decrypted when it is encrypted.
fn private_key_der(config: &SnowflakeConfig) -> Result<Vec<u8>> {
    let text = match (&config.private_key, &config.private_key_file) {
        (Some(inline), _) => inline.expose().to_owned(),
        (None, Some(path)) => read_key_file(path)?,
        (None, None) => {
            return Err(key_error(
                "is missing: give `private_key` or `private_key_file`",
            ));
        }
    };
    let text = text.trim();
    if !text.starts_with("-----BEGIN") {
        // A bare base64 body of an unencrypted PKCS#8 key, as some secret stores keep it.
        let compact: String = text.split_whitespace().collect();
        return STANDARD
            .decode(compact)
            .map_err(|_| key_error("is neither PEM nor base64 DER"));
    }
    let (label, der) =
        pkcs8::der::pem::decode_vec(text.as_bytes()).map_err(|_| key_error("is not valid PEM"))?;
    match label {
        "PRIVATE KEY" => Ok(der),
        "ENCRYPTED PRIVATE KEY" => {
            let password = config.private_key_file_pwd.as_ref().ok_or_else(|| {
                key_error("is encrypted: give its passphrase as `private_key_file_pwd`")
            })?;
            let encrypted = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
                .map_err(|_| key_error("is not a valid encrypted PKCS#8 key"))?;
            let decrypted = encrypted.decrypt(password.expose()).map_err(|_| {
                key_error("could not be decrypted with `private_key_file_pwd` (wrong passphrase?)")
            })?;
            Ok(decrypted.as_bytes().to_vec())
        }
        "RSA PRIVATE KEY" => Err(key_error(
            "is PKCS#1 (BEGIN RSA PRIVATE KEY); convert it to PKCS#8 with `openssl pkcs8 -topk8 -nocrypt`",
        )),
        other => Err(key_error(&format!(
            "has the PEM label {other:?}, expected PRIVATE KEY"
        ))),
    }
}

/// The base64 SHA-256 fingerprint of a public key's SubjectPublicKeyInfo DER.
pub(crate) fn fingerprint(spki_der: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(spki_der))
}

/// A fresh JWT for `config`'s account and user, valid for 59 minutes.
pub(crate) fn jwt(config: &SnowflakeConfig) -> Result<String> {
    let der = private_key_der(config)?;
    let key = aws_lc_rs::rsa::KeyPair::from_pkcs8(&der)
        .map_err(|_| key_error("is not an RSA PKCS#8 key"))?;
    let spki = key
        .public_key()
        .as_der()
        .map_err(|_| Error::internal("could not encode the RSA public key"))?;
    let qualified = format!(
        "{}.{}",
        config.account_name(),
        config.user.clone().unwrap_or_default().to_ascii_uppercase()
    );
    let now = chrono::Utc::now().timestamp();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": format!("{qualified}.SHA256:{}", fingerprint(spki.as_ref())),
        "sub": qualified,
        "iat": now,
        "exp": now + 59 * 60,
    });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{claims}");
    let mut signature = vec![0u8; key.public_modulus_len()];
    key.sign(
        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| Error::internal("could not sign the JWT"))?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataconn_core::Secret;
    use std::process::Command;

    /// Run openssl (the reference implementation) with `args` in `dir`.
    fn openssl(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn config(key: &str, pwd: Option<&str>) -> SnowflakeConfig {
        SnowflakeConfig {
            account: Some("myorg-acct.eu-west-1".into()),
            user: Some("analyst".into()),
            private_key: Some(Secret::new(key)),
            private_key_file_pwd: pwd.map(Secret::new),
            ..SnowflakeConfig::default()
        }
    }

    #[test]
    fn the_jwt_is_signed_by_the_key_and_names_its_fingerprint() {
        if Command::new("openssl").arg("version").output().is_err() {
            assert!(
                std::env::var("CI").is_err(),
                "CI=true needs openssl for this test"
            );
            eprintln!("SKIPPING key-pair test: openssl is not installed");
            return;
        }
        let dir = std::env::temp_dir().join(format!("dataconn-jwt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        openssl(
            &dir,
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                "key.pem",
            ],
        );
        openssl(
            &dir,
            &["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"],
        );
        let spki = openssl(
            &dir,
            &["pkey", "-in", "key.pem", "-pubout", "-outform", "DER"],
        )
        .stdout;
        let key = std::fs::read_to_string(dir.join("key.pem")).unwrap();

        let token = jwt(&config(&key, None)).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            claims["sub"], "MYORG-ACCT.ANALYST",
            "account upper-cased, region stripped"
        );
        assert_eq!(
            claims["iss"],
            format!("MYORG-ACCT.ANALYST.SHA256:{}", fingerprint(&spki))
        );
        assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 3600);

        // openssl checks the RS256 signature over `header.claims`.
        std::fs::write(dir.join("input"), format!("{}.{}", parts[0], parts[1])).unwrap();
        std::fs::write(dir.join("sig"), URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
        let verified = openssl(
            &dir,
            &[
                "dgst",
                "-sha256",
                "-verify",
                "pub.pem",
                "-signature",
                "sig",
                "input",
            ],
        );
        assert!(String::from_utf8_lossy(&verified.stdout).contains("Verified OK"));

        // An encrypted key needs its passphrase, and a wrong one says so.
        openssl(
            &dir,
            &[
                "pkcs8",
                "-topk8",
                "-in",
                "key.pem",
                "-v2",
                "aes-256-cbc",
                "-passout",
                "pass:s3cret",
                "-out",
                "enc.pem",
            ],
        );
        let encrypted = std::fs::read_to_string(dir.join("enc.pem")).unwrap();
        assert!(encrypted.contains("ENCRYPTED PRIVATE KEY"));
        let again = jwt(&config(&encrypted, Some("s3cret"))).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(again.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            claims["iss"],
            format!("MYORG-ACCT.ANALYST.SHA256:{}", fingerprint(&spki))
        );
        let err = jwt(&config(&encrypted, Some("wrong"))).unwrap_err();
        assert!(err.message().contains("wrong passphrase"), "{err}");
        let err = jwt(&config(&encrypted, None)).unwrap_err();
        assert!(err.message().contains("private_key_file_pwd"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_private_key_file_that_never_ends_is_a_config_error() {
        let c = SnowflakeConfig {
            private_key_file: Some("/dev/zero".to_owned()),
            ..Default::default()
        };
        let err = private_key_der(&c).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("at most 1048576 bytes"), "{err}");
    }
}
