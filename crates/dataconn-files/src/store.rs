//! Object stores per protocol and bucket, and turning a user's path into a [`Location`].
//!
//! A connection holds one store per bucket (or container, or HTTP origin), built on first use
//! from the section's options and the environment. Paths are relative to the connection's
//! `root` unless they carry their own scheme (`s3://other-bucket/key`).

use std::collections::HashMap;
use std::path::Path as FsPath;
use std::sync::{Arc, Mutex};

use dataconn_core::raw::MutexExt;
use dataconn_core::{Error, ErrorKind, Result};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};

use crate::config::{Protocol, Settings, local_root};

/// Whether `key` is a config key object_store knows for `protocol`.
pub(crate) fn valid_key(protocol: Protocol, key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    match protocol {
        #[cfg(feature = "s3")]
        Protocol::S3 => key.parse::<object_store::aws::AmazonS3ConfigKey>().is_ok(),
        #[cfg(feature = "gcs")]
        Protocol::Gcs => key.parse::<object_store::gcp::GoogleConfigKey>().is_ok(),
        #[cfg(feature = "azure")]
        Protocol::Azure => key.parse::<object_store::azure::AzureConfigKey>().is_ok(),
        #[cfg(feature = "http")]
        Protocol::Http => key.parse::<object_store::ClientConfigKey>().is_ok(),
        // Without the protocol's feature nothing is known; the connect says which feature.
        _ => true,
    }
}

/// A resolved place: the store, the path inside it, and the URL for messages (never with
/// userinfo or a query: see [`display_url`]).
#[derive(Debug, Clone)]
pub(crate) struct Location {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) path: Path,
    pub(crate) url: String,
}

/// `url` without its userinfo, query and fragment, for messages and logs: credentials written
/// into a URL (`https://user:pw@host`, `?sig=...`) never reach them.
pub(crate) fn display_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}{path}")
}

/// The stores of one connection, and the boundary its paths stay in.
pub(crate) struct Stores {
    settings: Settings,
    /// Bucket, container or origin → store (the local filesystem and memory use "").
    built: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
    /// The local folder relative paths start from (lexically normalised, absolute).
    local_root: std::path::PathBuf,
    /// For the other protocols: the root's store key (bucket, container, origin; "" for
    /// memory) and the key segments under it.
    root_key: Option<(String, Vec<String>)>,
    /// Whether paths must stay inside the root: a root is configured and the section does not
    /// set `allow_outside_root = true`.
    bounded: bool,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores")
            .field("protocol", &self.settings.protocol)
            .field("bounded", &self.bounded)
            .finish_non_exhaustive()
    }
}

fn store_error(protocol: Protocol, bucket: &str, err: object_store::Error) -> Error {
    Error::new(
        ErrorKind::Config,
        format!(
            "could not set up the {protocol:?} store for {}",
            display_url(bucket)
        ),
    )
    .with_source(err)
}

/// `text`'s segments with `.` and `..` resolved; `None` when a `..` climbs above the top.
fn normalize(text: &str) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for segment in text.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            other => out.push(other.to_owned()),
        }
    }
    Some(out)
}

/// A local path with `.` and `..` resolved without touching the filesystem.
fn normalize_local(path: &FsPath) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Where `path` really is: its deepest existing ancestor with every symbolic link resolved,
/// then the parts that do not exist yet.
fn real_path(path: &FsPath) -> std::path::PathBuf {
    let mut missing = Vec::new();
    let mut at = path;
    loop {
        if let Ok(mut real) = std::fs::canonicalize(at) {
            real.extend(missing.iter().rev());
            return real;
        }
        match (at.file_name(), at.parent()) {
            (Some(name), Some(parent)) => {
                missing.push(name.to_owned());
                at = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// `store`'s key (bucket, container, origin) and the key text, of the part of a URL after
/// `scheme://`.
fn split_store(protocol: Protocol, scheme: &str, rest: &str) -> (String, String) {
    match protocol {
        Protocol::Memory => (String::new(), rest.to_owned()),
        Protocol::Http => {
            let (origin, key) = rest.split_once('/').unwrap_or((rest, ""));
            (format!("{scheme}://{origin}"), key.to_owned())
        }
        _ => {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            (bucket.to_owned(), key.to_owned())
        }
    }
}

impl Stores {
    pub(crate) fn new(settings: Settings) -> Result<Stores> {
        if let Some(feature) = settings.protocol.feature()
            && !compiled(settings.protocol)
        {
            return Err(Error::new(
                ErrorKind::FeatureDisabled,
                format!(
                    "the {:?} protocol is not in this build; enable the dataconn cargo feature `{feature}`",
                    settings.protocol
                ),
            ));
        }
        let protocol = settings.protocol;
        let local_root = match protocol {
            Protocol::File => normalize_local(&local_root(settings.root.as_deref())?),
            _ => std::path::PathBuf::new(),
        };
        let root_key = match (protocol, settings.root.as_deref()) {
            (Protocol::File, _) | (_, None) => None,
            (_, Some(root)) => {
                let (scheme, rest) = root.split_once("://").unwrap_or((protocol.scheme(), root));
                let (store, key) = split_store(protocol, scheme, rest);
                let segments = normalize(&key).ok_or_else(|| {
                    Error::config(format!(
                        "expected a root without `..` above the top of the store, found {}",
                        display_url(root)
                    ))
                })?;
                Some((store, segments))
            }
        };
        let bounded = settings.root.is_some() && !settings.allow_outside_root;
        Ok(Stores {
            settings,
            built: Mutex::new(HashMap::new()),
            local_root,
            root_key,
            bounded,
        })
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The store for `bucket` (ignored for the local filesystem and memory).
    pub(crate) fn store(&self, bucket: &str) -> Result<Arc<dyn ObjectStore>> {
        let key = display_url(bucket);
        let mut built = self.built.lock_unpoisoned();
        if let Some(store) = built.get(&key) {
            return Ok(store.clone());
        }
        let store = build(&self.settings, bucket)?;
        built.insert(key, store.clone());
        Ok(store)
    }

    /// The root as a user wrote it, without credentials, for messages.
    fn root_text(&self) -> String {
        match self.settings.root.as_deref() {
            Some(_) if self.settings.protocol == Protocol::File => {
                self.local_root.display().to_string()
            }
            Some(root) => display_url(root),
            None => "(none)".to_owned(),
        }
    }

    fn outside(&self, path: &str, why: &str) -> Error {
        Error::config(format!(
            "expected a path inside the root {} of this connection, found {path:?}, which {why}; \
             paths stay inside the root unless the section sets `allow_outside_root = true`",
            self.root_text()
        ))
    }

    /// Resolve a user's path (relative to the root, absolute, or a full URL), and keep it
    /// inside the root: every read, write, listing, glob and SQL table comes through here.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the root and the path, for a path that leaves the root
    /// (an absolute path or URL elsewhere, `..` above it, a symbolic link out of it, another
    /// bucket or host), unless the section sets `allow_outside_root = true`.
    ///
    /// A refusal names `shown` (a glob's folder is refused under the glob's name).
    pub(crate) fn resolve_as(&self, path: &str, shown: &str) -> Result<Location> {
        let protocol = self.settings.protocol;
        let url = match path.split_once("://") {
            Some((scheme, rest)) => {
                let Some(given) = Protocol::from_name(scheme) else {
                    return Err(Error::config(format!(
                        "expected a path or a {}:// URL, found {path:?}",
                        protocol.scheme()
                    )));
                };
                if given != protocol {
                    return Err(Error::config(format!(
                        "this connection reads {protocol:?} paths; {:?} is a {given:?} URL (use a connection of that protocol)",
                        display_url(path)
                    )));
                }
                Some((scheme, rest))
            }
            None => None,
        };
        if protocol == Protocol::File {
            let given = match url {
                Some((_, rest)) if rest.starts_with('/') => rest,
                Some(_) => return Err(Error::config("file:// URLs must be absolute")),
                None => path,
            };
            let full = normalize_local(&self.local_root.join(given));
            return self.local(shown, full);
        }
        let (store_key, key) = match url {
            Some((scheme, rest)) => split_store(protocol, scheme, rest),
            None => match &self.root_key {
                Some((store, prefix)) => (store.clone(), format!("{}/{path}", prefix.join("/"))),
                None if protocol == Protocol::Memory => (String::new(), path.to_owned()),
                None => {
                    return Err(Error::config(format!(
                        "expected a full {}:// URL (this connection has no `root`), found {path:?}",
                        protocol.scheme()
                    )));
                }
            },
        };
        if protocol != Protocol::Memory && protocol != Protocol::Http && store_key.is_empty() {
            return Err(Error::config(format!(
                "expected a bucket in {}, found none",
                display_url(path)
            )));
        }
        let segments = normalize(&key)
            .ok_or_else(|| self.outside(shown, "climbs with `..` above the top of the store"))?;
        // The root's store (with its credentials) for any URL naming the same origin.
        let store_key = match &self.root_key {
            Some((root_store, _)) if display_url(root_store) == display_url(&store_key) => {
                root_store.clone()
            }
            _ => store_key,
        };
        if self.bounded
            && let Some((root_store, prefix)) = &self.root_key
            && (root_store != &store_key || !segments.starts_with(prefix))
        {
            let why = if root_store == &store_key {
                format!("is {}", self.keyed_url(&store_key, &segments))
            } else {
                format!(
                    "names another {}",
                    match protocol {
                        Protocol::Http => "host",
                        Protocol::Azure => "container",
                        _ => "bucket",
                    }
                )
            };
            return Err(self.outside(shown, &why));
        }
        let joined = segments.join("/");
        Ok(Location {
            store: self.store(&store_key)?,
            path: Path::parse(&joined).map_err(|e| {
                Error::config(format!("expected a usable object path, found {path:?}"))
                    .with_source(e)
            })?,
            url: self.keyed_url(&store_key, &segments),
        })
    }

    fn keyed_url(&self, store_key: &str, segments: &[String]) -> String {
        let joined = segments.join("/");
        match self.settings.protocol {
            Protocol::Memory => format!("memory:///{joined}"),
            Protocol::Http => format!("{}/{joined}", display_url(store_key)),
            protocol => format!("{}://{store_key}/{joined}", protocol.scheme()),
        }
    }

    /// A local path, checked against the root: lexically, then with symbolic links resolved.
    fn local(&self, path: &str, full: std::path::PathBuf) -> Result<Location> {
        let display = full.display().to_string();
        if self.bounded {
            if !full.starts_with(&self.local_root) {
                return Err(self.outside(path, &format!("is {display}")));
            }
            self.check_links(path, &full)?;
        }
        let object = Path::from_absolute_path(&full).map_err(|e| {
            Error::config(format!("expected a usable file path, found {display:?}")).with_source(e)
        })?;
        Ok(Location {
            store: self.store("")?,
            path: object,
            url: format!("file://{display}"),
        })
    }

    /// Refuse a local path that a symbolic link leads out of the root.
    fn check_links(&self, path: &str, full: &FsPath) -> Result<()> {
        let real = real_path(full);
        if real.starts_with(real_path(&self.local_root)) {
            Ok(())
        } else {
            Err(self.outside(
                path,
                &format!("a symbolic link leads to {}", real.display()),
            ))
        }
    }

    /// The location of an object a listing under `base` returned, checked against the root
    /// (a symbolic link inside a local root may lead out of it).
    pub(crate) fn listed(&self, base: &Location, meta: &ObjectMeta) -> Result<Location> {
        let full = meta.location.as_ref();
        let relative = full
            .strip_prefix(base.path.as_ref())
            .unwrap_or(full)
            .trim_start_matches('/');
        let url = if relative.is_empty() {
            base.url.clone()
        } else {
            format!("{}/{relative}", base.url.trim_end_matches('/'))
        };
        if self.bounded && self.settings.protocol == Protocol::File {
            let fs_path = object_store::local::LocalFileSystem::new()
                .path_to_filesystem(&meta.location)
                .map_err(|e| {
                    Error::config(format!("expected a usable file path, found {url}"))
                        .with_source(e)
                })?;
            self.check_links(&url, &fs_path)?;
        }
        Ok(Location {
            store: base.store.clone(),
            path: meta.location.clone(),
            url,
        })
    }

    fn too_many(&self, base: &Location) -> Error {
        Error::new(
            ErrorKind::Unsupported,
            format!(
                "expected at most {} entries (`max_list_objects`) listing {}, found more; \
                 narrow the path or glob, or raise `max_list_objects` in the section",
                self.settings.limits.max_list_objects, base.url
            ),
        )
    }

    /// Every object under `base`, recursively, at most `max_list_objects` of them.
    pub(crate) async fn list_all(
        &self,
        base: &Location,
        credentials: &str,
    ) -> Result<Vec<(Location, ObjectMeta)>> {
        let prefix = (!base.path.as_ref().is_empty()).then_some(&base.path);
        let mut stream = base.store.list(prefix);
        let mut out = Vec::new();
        while let Some(meta) = stream
            .try_next()
            .await
            .map_err(|e| object_error(e, &base.url, credentials))?
        {
            if out.len() >= self.settings.limits.max_list_objects {
                return Err(self.too_many(base));
            }
            out.push((self.listed(base, &meta)?, meta));
        }
        Ok(out)
    }

    /// The objects under `base` whose path relative to it matches `pattern` (segments split
    /// by `/`; `**` crosses them). Without `**` the walk goes no deeper than the pattern has
    /// segments, one listing per folder that can still match; with it, one listing from the
    /// fixed part before the first `**`. At most `max_list_objects` entries are visited.
    pub(crate) async fn glob(
        &self,
        base: &Location,
        pattern: &str,
        credentials: &str,
    ) -> Result<Vec<(Location, ObjectMeta)>> {
        let compile = |glob: &str| {
            globset::GlobBuilder::new(glob)
                .literal_separator(true)
                .build()
                .map(|g| g.compile_matcher())
                .map_err(|e| {
                    Error::config(format!("expected a glob pattern, found {pattern:?}"))
                        .with_source(e)
                })
        };
        let whole = compile(pattern)?;
        let relative = |meta: &ObjectMeta| {
            let full = meta.location.as_ref();
            full.strip_prefix(base.path.as_ref())
                .unwrap_or(full)
                .trim_start_matches('/')
                .to_owned()
        };
        let segments: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
        let mut found = Vec::new();
        if segments.iter().any(|s| s.contains("**")) {
            let fixed: Vec<&str> = segments
                .iter()
                .take_while(|s| !crate::read::is_glob(s))
                .copied()
                .collect();
            let mut start = base.clone();
            for part in &fixed {
                start.path = start.path.clone().join(*part);
            }
            for (location, meta) in self.list_all(&start, credentials).await? {
                if whole.is_match(relative(&meta)) {
                    found.push((location, meta));
                }
            }
            return Ok(found);
        }
        let mut visited = 0usize;
        let mut folders = vec![base.path.clone()];
        for (i, segment) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            if !last && !crate::read::is_glob(segment) {
                folders = folders.iter().map(|f| f.clone().join(*segment)).collect();
                continue;
            }
            let matcher = compile(segment)?;
            let mut next = Vec::new();
            for folder in &folders {
                let prefix = (!folder.as_ref().is_empty()).then_some(folder);
                let listing = match base.store.list_with_delimiter(prefix).await {
                    Ok(listing) => listing,
                    Err(object_store::Error::NotFound { .. }) => continue,
                    Err(e) => return Err(object_error(e, &base.url, credentials)),
                };
                visited += listing.objects.len() + listing.common_prefixes.len();
                if visited > self.settings.limits.max_list_objects {
                    return Err(self.too_many(base));
                }
                if last {
                    for meta in listing.objects {
                        if meta
                            .location
                            .filename()
                            .is_some_and(|n| matcher.is_match(n))
                            && whole.is_match(relative(&meta))
                        {
                            found.push((self.listed(base, &meta)?, meta));
                        }
                    }
                } else {
                    next.extend(
                        listing
                            .common_prefixes
                            .into_iter()
                            .filter(|p| p.filename().is_some_and(|n| matcher.is_match(n))),
                    );
                }
            }
            folders = next;
        }
        Ok(found)
    }
}

fn compiled(protocol: Protocol) -> bool {
    match protocol {
        Protocol::File | Protocol::Memory => true,
        Protocol::S3 => cfg!(feature = "s3"),
        Protocol::Gcs => cfg!(feature = "gcs"),
        Protocol::Azure => cfg!(feature = "azure"),
        Protocol::Http => cfg!(feature = "http"),
    }
}

/// Apply the validated options to an object_store builder (each key parses; see `valid_key`).
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure", feature = "http"))]
macro_rules! configured {
    ($builder:expr, $options:expr) => {{
        let mut b = $builder;
        for (k, v) in $options {
            if let Ok(key) = k.parse() {
                b = b.with_config(key, v);
            }
        }
        b
    }};
}

#[allow(unused_variables)]
fn build(settings: &Settings, bucket: &str) -> Result<Arc<dyn ObjectStore>> {
    let protocol = settings.protocol;
    let options = &settings.options;
    #[cfg(any(feature = "s3", feature = "gcs", feature = "azure", feature = "http"))]
    let retry = object_store::RetryConfig {
        max_retries: settings.retries,
        retry_timeout: settings.retry_timeout,
        ..object_store::RetryConfig::default()
    };
    Ok(match protocol {
        Protocol::File => Arc::new(object_store::local::LocalFileSystem::new()),
        Protocol::Memory => Arc::new(object_store::memory::InMemory::new()),
        #[cfg(feature = "s3")]
        Protocol::S3 => {
            let b = configured!(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_retry(retry),
                options
            );
            Arc::new(b.build().map_err(|e| store_error(protocol, bucket, e))?)
        }
        #[cfg(feature = "gcs")]
        Protocol::Gcs => {
            let b = configured!(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_bucket_name(bucket)
                    .with_retry(retry),
                options
            );
            Arc::new(b.build().map_err(|e| store_error(protocol, bucket, e))?)
        }
        #[cfg(feature = "azure")]
        Protocol::Azure => {
            let b = configured!(
                object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_container_name(bucket)
                    .with_retry(retry),
                options
            );
            Arc::new(b.build().map_err(|e| store_error(protocol, bucket, e))?)
        }
        #[cfg(feature = "http")]
        Protocol::Http => {
            // Userinfo in the URL becomes a Basic authorization header, so that the URL the
            // HTTP client holds (and its trace logs show) carries no credentials.
            let (url, authorization) = split_userinfo(bucket);
            let mut client = object_store::ClientOptions::new();
            if let Some(userinfo) = authorization {
                let mut value = object_store::HeaderValue::from_str(&format!(
                    "Basic {}",
                    base64(&percent_decode(userinfo))
                ))
                .map_err(|_| {
                    Error::config(format!(
                        "expected the user and password in {} to be usable in a header",
                        display_url(bucket)
                    ))
                })?;
                value.set_sensitive(true);
                let mut headers = object_store::HeaderMap::new();
                headers.insert("authorization", value);
                client = client.with_default_headers(headers);
            }
            let mut b = object_store::http::HttpBuilder::new()
                .with_client_options(client)
                .with_url(url)
                .with_retry(retry);
            if bucket.starts_with("http://") {
                b = b.with_config(object_store::ClientConfigKey::AllowHttp, "true");
            }
            let b = configured!(b, options);
            Arc::new(b.build().map_err(|e| store_error(protocol, bucket, e))?)
        }
        #[allow(unreachable_patterns)]
        other => {
            return Err(Error::new(
                ErrorKind::FeatureDisabled,
                format!("the {other:?} protocol is not in this build"),
            ));
        }
    })
}

/// The whole object at `location`, at most `limit` bytes (`max_object_bytes`): the body is
/// read as a stream and refused as soon as it passes the limit, whatever the server declared.
///
/// # Errors
/// The store's error; [`ErrorKind::Unsupported`] naming the limit and the URL beyond it.
pub(crate) async fn get_bounded(
    location: &Location,
    limit: u64,
    credentials: &str,
) -> Result<bytes::Bytes> {
    let too_big = || {
        Error::new(
            ErrorKind::Unsupported,
            format!(
                "expected {} to hold at most {limit} bytes (`max_object_bytes`), found more; \
                 raise `max_object_bytes` in the section to read it",
                location.url
            ),
        )
    };
    let result = location
        .store
        .get(&location.path)
        .await
        .map_err(|e| object_error(e, &location.url, credentials))?;
    if result.meta.size > limit {
        return Err(too_big());
    }
    let mut body = result.into_stream();
    let mut first: Option<bytes::Bytes> = None;
    let mut out: Vec<u8> = Vec::new();
    let mut total = 0u64;
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|e| object_error(e, &location.url, credentials))?
    {
        total += chunk.len() as u64;
        if total > limit {
            return Err(too_big());
        }
        // One chunk (the usual case for small objects) is kept without a copy.
        match first.take() {
            None if out.is_empty() => first = Some(chunk),
            Some(previous) => {
                out.extend_from_slice(&previous);
                out.extend_from_slice(&chunk);
            }
            None => out.extend_from_slice(&chunk),
        }
    }
    Ok(match first {
        Some(only) => only,
        None => out.into(),
    })
}

/// `url` without its userinfo, and the userinfo.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
fn split_userinfo(url: &str) -> (String, Option<&str>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) => (
            format!("{scheme}://{host}{}", &rest[authority_end..]),
            Some(userinfo),
        ),
        None => (url.to_owned(), None),
    }
}

/// `%XX` escapes decoded (userinfo as written in a URL).
#[cfg_attr(not(feature = "http"), allow(dead_code))]
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// Standard base64 with padding.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An object_store error as dataconn's, naming the URL and, for credential failures, the
/// credential source (never its values).
pub(crate) fn object_error(err: object_store::Error, url: &str, credentials: &str) -> Error {
    // Some stores report refused credentials as a generic HTTP 401/403 failure.
    let refused = matches!(err, object_store::Error::Generic { .. }) && {
        let text = err.to_string();
        text.contains("401 Unauthorized") || text.contains("403 Forbidden")
    };
    if refused {
        return Error::new(
            ErrorKind::Connect,
            format!(
                "the store refused the credentials for {url}; credentials came from {credentials}"
            ),
        )
        .set_temporary(false)
        .with_source(err);
    }
    match &err {
        object_store::Error::NotFound { .. } => Error::new(
            ErrorKind::NotFound,
            format!("expected an object at {url}, found none"),
        )
        .with_source(err),
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => Error::new(
            ErrorKind::Connect,
            format!(
                "the store refused the credentials for {url}; credentials came from {credentials}"
            ),
        )
        .set_temporary(false)
        .with_source(err),
        object_store::Error::NotSupported { .. } | object_store::Error::NotImplemented { .. } => {
            Error::new(
                ErrorKind::Unsupported,
                format!("the store cannot do this for {url}"),
            )
            .with_source(err)
        }
        object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. } => {
            Error::new(
                ErrorKind::Query,
                format!("the store refused the write to {url}"),
            )
            .with_source(err)
        }
        _ => Error::new(ErrorKind::Io, format!("the store failed for {url}"))
            .set_temporary(true)
            .with_source(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_split_off_and_encoded_for_basic_auth() {
        assert_eq!(
            split_userinfo("https://u:p%40ss@h:1/x"),
            ("https://h:1/x".to_owned(), Some("u:p%40ss"))
        );
        assert_eq!(
            split_userinfo("https://h/x@y"),
            ("https://h/x@y".to_owned(), None)
        );
        assert_eq!(
            base64(&percent_decode("Aladdin:open%20sesame")),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(display_url("https://u:p@h/x?sig=s#f"), "https://h/x");
    }
}
