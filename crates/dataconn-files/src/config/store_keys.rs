//! The keys that configure the object store: fsspec spellings (`key`, `secret`,
//! `endpoint_url`, `client_kwargs`, a GCS service account as the section, an Azure
//! `connection_string`) turned into object_store's own, and those checked per protocol.

use std::collections::BTreeMap;

use toml::{Table, Value};

use super::{Protocol, value_text};

/// fsspec spellings, shown in suggestions with object_store's names.
pub(super) const KNOWN_ALIASES: &[&str] = &[
    "key",
    "secret",
    "token",
    "endpoint_url",
    "region_name",
    "client_kwargs",
    "anon",
    "use_ssl",
    "allow_http",
    "account_name",
    "account_key",
    "sas_token",
    "connection_string",
    "use_emulator",
    "service_account_path",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_endpoint",
    "aws_region",
    "google_service_account",
    "google_service_account_key",
    "azure_storage_account_name",
    "azure_storage_account_key",
];

/// The fields of a Google service-account key, as Streamlit users put them in the section.
const SERVICE_ACCOUNT_FIELDS: &[&str] = &[
    "type",
    "project_id",
    "private_key_id",
    "private_key",
    "client_email",
    "client_id",
    "auth_uri",
    "token_uri",
    "auth_provider_x509_cert_url",
    "client_x509_cert_url",
    "universe_domain",
];

/// object_store options and a description of where the credentials come from.
type StoreOptions = (Vec<(String, String)>, String);

/// Translate fsspec spellings and validate object_store keys. Returns the options and a
/// description of the credential source, or the keys nobody knows.
pub(super) fn store_options(
    protocol: Protocol,
    keys: &Table,
) -> std::result::Result<StoreOptions, Vec<String>> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut unknown = Vec::new();
    let mut put = |k: &str, v: String| {
        out.insert(k.to_owned(), v);
    };
    match protocol {
        Protocol::File | Protocol::Memory => {
            unknown.extend(keys.keys().cloned());
        }
        Protocol::S3 => {
            for (key, value) in keys {
                match key.as_str() {
                    "key" => put("aws_access_key_id", value_text(value)),
                    "secret" => put("aws_secret_access_key", value_text(value)),
                    "token" => put("aws_session_token", value_text(value)),
                    "endpoint_url" => put("aws_endpoint", value_text(value)),
                    "region_name" => put("aws_region", value_text(value)),
                    "anon" => put("aws_skip_signature", value_text(value)),
                    "use_ssl" => put(
                        "aws_allow_http",
                        (value.as_bool() == Some(false)).to_string(),
                    ),
                    "allow_http" => put("aws_allow_http", value_text(value)),
                    "client_kwargs" => match value.as_table() {
                        Some(kwargs) => {
                            for (k, v) in kwargs {
                                match k.as_str() {
                                    "region_name" => put("aws_region", value_text(v)),
                                    "endpoint_url" => put("aws_endpoint", value_text(v)),
                                    other => unknown.push(format!("client_kwargs.{other}")),
                                }
                            }
                        }
                        None => unknown.push(key.clone()),
                    },
                    other if crate::store::valid_key(protocol, other) => {
                        put(other, value_text(value))
                    }
                    _ => unknown.push(key.clone()),
                }
            }
        }
        Protocol::Gcs => {
            let mut account = serde_json::Map::new();
            for (key, value) in keys {
                match key.as_str() {
                    field if SERVICE_ACCOUNT_FIELDS.contains(&field) => {
                        account.insert(
                            field.to_owned(),
                            serde_json::Value::String(value_text(value)),
                        );
                    }
                    "token" | "service_account_path" => match value {
                        Value::Table(t) => {
                            let json = serde_json::to_string(t).unwrap_or_default();
                            put("google_service_account_key", json);
                        }
                        other => put("google_service_account", value_text(other)),
                    },
                    other if crate::store::valid_key(protocol, other) => {
                        put(other, value_text(value))
                    }
                    _ => unknown.push(key.clone()),
                }
            }
            if !account.is_empty() {
                put(
                    "google_service_account_key",
                    serde_json::Value::Object(account).to_string(),
                );
            }
        }
        Protocol::Azure => {
            for (key, value) in keys {
                match key.as_str() {
                    "connection_string" => {
                        for part in value_text(value).split(';').filter(|p| !p.is_empty()) {
                            let Some((k, v)) = part.split_once('=') else {
                                continue;
                            };
                            match k.to_ascii_lowercase().as_str() {
                                "accountname" => put("azure_storage_account_name", v.to_owned()),
                                "accountkey" => put("azure_storage_account_key", v.to_owned()),
                                "sharedaccesssignature" => {
                                    put("azure_storage_sas_key", v.to_owned())
                                }
                                "blobendpoint" => put("azure_storage_endpoint", v.to_owned()),
                                "usedevelopmentstorage" => {
                                    put("azure_storage_use_emulator", v.to_owned())
                                }
                                _ => {}
                            }
                        }
                    }
                    "allow_http" => put("azure_allow_http", value_text(value)),
                    other if crate::store::valid_key(protocol, other) => {
                        put(other, value_text(value))
                    }
                    _ => unknown.push(key.clone()),
                }
            }
        }
        Protocol::Http => {
            for (key, value) in keys {
                if crate::store::valid_key(protocol, key) {
                    put(key, value_text(value));
                } else {
                    unknown.push(key.clone());
                }
            }
        }
    }
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let credential_keys: Vec<&str> = keys
        .keys()
        .map(String::as_str)
        // Secret keys by core's one rule, plus the keys that name whose credentials they are.
        .filter(|k| {
            dataconn_core::is_secret_key(k) || k.contains("account") || k.contains("service")
        })
        .collect();
    let source = if credential_keys.is_empty() {
        match protocol {
            Protocol::S3 => {
                "the environment (AWS_* variables, profile or instance role)".to_owned()
            }
            Protocol::Gcs => {
                "the environment (GOOGLE_* variables or application default credentials)".to_owned()
            }
            Protocol::Azure => "the environment (AZURE_* variables)".to_owned(),
            _ => "none".to_owned(),
        }
    } else {
        format!("the secrets section (keys: {})", credential_keys.join(", "))
    };
    Ok((out.into_iter().collect(), source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsspec_spellings_become_object_store_keys() {
        let keys: Table = toml::from_str(
            "key = \"AK\"\nsecret = \"SK\"\nendpoint_url = \"http://h\"\nanon = false\n\
             client_kwargs = { region_name = \"eu-west-1\" }\naws_virtual_hosted_style_request = true\n",
        )
        .unwrap();
        let (options, source) = store_options(Protocol::S3, &keys).unwrap();
        let get = |k: &str| {
            options
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("aws_access_key_id"), Some("AK"));
        assert_eq!(get("aws_secret_access_key"), Some("SK"));
        assert_eq!(get("aws_endpoint"), Some("http://h"));
        assert_eq!(get("aws_region"), Some("eu-west-1"));
        assert_eq!(get("aws_virtual_hosted_style_request"), Some("true"));
        assert!(
            source.contains("key, secret") && !source.contains("AK"),
            "{source}"
        );
    }

    #[test]
    fn a_service_account_section_becomes_one_json_key() {
        let keys: Table = toml::from_str(
            "type = \"service_account\"\nproject_id = \"p\"\nclient_email = \"sa@p\"\nprivate_key = \"PK\"\n",
        )
        .unwrap();
        let (options, _) = store_options(Protocol::Gcs, &keys).unwrap();
        let (key, json) = &options[0];
        assert_eq!(key, "google_service_account_key");
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(
            (v["client_email"].as_str(), v["type"].as_str()),
            (Some("sa@p"), Some("service_account"))
        );
    }

    #[test]
    fn an_azure_connection_string_is_split_into_keys() {
        let keys: Table = toml::from_str(
            "connection_string = \"DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=c2VjcmV0;BlobEndpoint=http://127.0.0.1:1/acct;\"\n",
        )
        .unwrap();
        let (options, _) = store_options(Protocol::Azure, &keys).unwrap();
        let get = |k: &str| {
            options
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("azure_storage_account_name"), Some("acct"));
        assert_eq!(get("azure_storage_account_key"), Some("c2VjcmV0"));
        assert_eq!(
            get("azure_storage_endpoint"),
            Some("http://127.0.0.1:1/acct")
        );
    }
}
