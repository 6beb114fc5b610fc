//! The S3 client behind [`super::remote::Store`] (`--features s3`): object_store's
//! `AmazonS3`, one per bucket, driven from the worker threads through a small tokio runtime.
//!
//! Configuration is the AWS tools': `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `AWS_REGION` (or `AWS_DEFAULT_REGION`), `AWS_ENDPOINT_URL`, and the
//! profile (`AWS_PROFILE`, default `default`) in `~/.aws/credentials` and `~/.aws/config` (or
//! `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE`) for what the environment does not set.
//! A plain `http://` endpoint is allowed only on a loopback address or with
//! `AWS_ALLOW_HTTP=true`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::client::{HttpClient, HttpConnector, ReqwestConnector};
use object_store::path::Path as Key;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, GetOptions, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, RetryConfig, WriteMultipart,
};

use super::remote::{ENTRY_METADATA, Listed, Location, Store, StoreError, Tagged};

/// Objects larger than this are uploaded in parts of this size.
const PART: usize = 8 << 20;

/// The settings every bucket's client is built from.
#[derive(Debug, Clone, Default)]
struct Settings {
    key_id: Option<String>,
    secret: Option<String>,
    token: Option<String>,
    region: Option<String>,
    endpoint: Option<String>,
    allow_http: bool,
}

/// An INI file's `[section]` as key → value.
fn ini_section(text: &str, section: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == section;
            continue;
        }
        if inside && let Some((k, v)) = line.split_once('=') {
            out.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    out
}

/// The file `name` names, else `default` under the home folder.
fn home_file(var: &dyn Fn(&str) -> Option<String>, name: &str, default: &str) -> Option<PathBuf> {
    var(name)
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| Path::new(&h).join(default)))
}

impl Settings {
    /// From the environment, then the profile's files for what it leaves unset.
    fn load(var: &dyn Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let env = |name: &str| var(name).filter(|v| !v.is_empty());
        let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".into());
        let read = |path: Option<PathBuf>| {
            path.and_then(|p| std::fs::read_to_string(p).ok())
                .unwrap_or_default()
        };
        let credentials = ini_section(
            &read(home_file(
                var,
                "AWS_SHARED_CREDENTIALS_FILE",
                ".aws/credentials",
            )),
            &profile,
        );
        let config_text = read(home_file(var, "AWS_CONFIG_FILE", ".aws/config"));
        let mut config = ini_section(&config_text, &format!("profile {profile}"));
        if config.is_empty() && profile == "default" {
            config = ini_section(&config_text, "default");
        }
        let from_files = |key: &str| credentials.get(key).or_else(|| config.get(key)).cloned();
        let endpoint = env("AWS_ENDPOINT_URL")
            .or_else(|| env("AWS_ENDPOINT"))
            .or_else(|| from_files("endpoint_url"));
        let allow_http_asked =
            env("AWS_ALLOW_HTTP").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let mut allow_http = false;
        if let Some(url) = endpoint.as_deref()
            && let Some(rest) = url.strip_prefix("http://")
        {
            let authority = rest.split('/').next().unwrap_or("");
            let host = match authority.strip_prefix('[') {
                Some(v6) => v6.split(']').next().unwrap_or(""),
                None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
            };
            let loopback = host == "localhost"
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !loopback && !allow_http_asked {
                return Err(format!(
                    "the endpoint {url} is plain http on a non-loopback address; use https, or \
                     set AWS_ALLOW_HTTP=true to send credentials and images unencrypted"
                ));
            }
            allow_http = true;
        }
        Ok(Settings {
            key_id: env("AWS_ACCESS_KEY_ID").or_else(|| from_files("aws_access_key_id")),
            secret: env("AWS_SECRET_ACCESS_KEY").or_else(|| from_files("aws_secret_access_key")),
            token: env("AWS_SESSION_TOKEN").or_else(|| from_files("aws_session_token")),
            region: env("AWS_REGION")
                .or_else(|| env("AWS_DEFAULT_REGION"))
                .or_else(|| from_files("region")),
            endpoint,
            allow_http,
        })
    }

    fn build(&self, bucket: &str, clients: &SharedClients) -> Result<AmazonS3, String> {
        let mut b = AmazonS3Builder::new()
            .with_http_connector(clients.clone())
            .with_bucket_name(bucket)
            .with_region(self.region.clone().unwrap_or_else(|| "us-east-1".into()))
            .with_allow_http(self.allow_http)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(5),
                    base: 2.0,
                },
                max_retries: 4,
                retry_timeout: Duration::from_secs(60),
            });
        if let Some(v) = &self.key_id {
            b = b.with_access_key_id(v);
        }
        if let Some(v) = &self.secret {
            b = b.with_secret_access_key(v);
        }
        if let Some(v) = &self.token {
            b = b.with_token(v);
        }
        if let Some(v) = &self.endpoint {
            b = b.with_endpoint(v);
        }
        b.build()
            .map_err(|e| format!("s3://{bucket}: cannot set up the client: {e}"))
    }
}

/// The HTTP clients every bucket's store shares: one per set of client options (in practice
/// one), so the connection pool is shared and the system's root certificates are read once, not
/// once per bucket (about 10 ms each).
#[derive(Debug, Clone, Default)]
struct SharedClients(Arc<Mutex<Vec<(String, HttpClient)>>>);

impl HttpConnector for SharedClients {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        // `ClientOptions` has no equality; its full description stands in for one.
        let key = format!("{options:?}");
        let mut made = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, client)) = made.iter().find(|(k, _)| *k == key) {
            return Ok(client.clone());
        }
        let client = ReqwestConnector::default().connect(options)?;
        made.push((key, client.clone()));
        Ok(client)
    }
}

/// One store per bucket, made on first use.
#[derive(Debug)]
pub struct S3 {
    settings: Settings,
    runtime: tokio::runtime::Runtime,
    buckets: Mutex<HashMap<String, Arc<AmazonS3>>>,
    clients: SharedClients,
}

/// The store, configured from the environment and the AWS files.
pub fn connect() -> Result<Arc<dyn Store>, String> {
    connect_with(&|name| std::env::var(name).ok())
}

/// The store, configured from `var` (what the environment would say of each `AWS_…` name) and
/// the AWS files it names: for a front end or a test that configures it itself.
pub fn connect_with(var: &dyn Fn(&str) -> Option<String>) -> Result<Arc<dyn Store>, String> {
    let settings = Settings::load(var)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("conveyor-s3")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the network runtime: {e}"))?;
    Ok(Arc::new(S3 {
        settings,
        runtime,
        buckets: Mutex::new(HashMap::new()),
        clients: SharedClients::default(),
    }))
}

/// Whether an error means the batch as a whole cannot go on.
fn error(e: &object_store::Error, what: &str, loc: &Location) -> StoreError {
    let text = e.to_string();
    let fatal = matches!(
        e,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
    ) || [
        "NoSuchBucket",
        "ExpiredToken",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "AccessDenied",
    ]
    .iter()
    .any(|code| text.contains(code));
    // Without credentials object_store asks the instance metadata service last.
    let no_credentials = text.contains("169.254.169.254");
    let fatal = fatal || no_credentials;
    // S3 explains a refusal in an XML body: its code and message say it; the rest is noise.
    let said = server_said(&text).unwrap_or_else(|| text.clone());
    let reason = if let object_store::Error::InvalidPath { .. } = e {
        format!(
            "{loc} holds an object whose key has a '.' or '..' part, an empty part ('//') or a \
             control character ({}); Conveyor's S3 client cannot name such keys, so rename that \
             object (or list a prefix without it)",
            text.split('"')
                .nth(1)
                .map_or_else(|| text.clone(), |k| format!("\"{k}\""))
        )
    } else if text.contains("NoSuchBucket") {
        format!("the bucket s3://{} does not exist", loc.bucket)
    } else if no_credentials {
        format!(
            "no credentials for s3://{}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
             choose a profile with AWS_PROFILE, or run where the instance or task provides \
             them ({text})",
            loc.bucket
        )
    } else if fatal {
        format!(
            "the store refused the credentials for s3://{} ({said})",
            loc.bucket
        )
    } else {
        format!("cannot {what} {loc}: {said}")
    };
    StoreError { fatal, reason }
}

/// "Code: Message" from the XML error body S3 servers send, if `text` carries one.
fn server_said(text: &str) -> Option<String> {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = start + text[start..].find(&format!("</{name}>"))?;
        Some(text[start..end].trim())
    };
    let code = tag("Code").filter(|c| !c.is_empty())?;
    Some(match tag("Message").filter(|m| !m.is_empty()) {
        Some(message) => format!("{code}: {message}"),
        None => code.to_owned(),
    })
}

impl S3 {
    fn bucket(&self, loc: &Location) -> Result<Arc<AmazonS3>, StoreError> {
        let mut map = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = map.get(&loc.bucket) {
            return Ok(Arc::clone(s));
        }
        let store = Arc::new(self.settings.build(&loc.bucket, &self.clients).map_err(
            |reason| StoreError {
                fatal: true,
                reason,
            },
        )?);
        map.insert(loc.bucket.clone(), Arc::clone(&store));
        Ok(store)
    }
}

/// The object key exactly as written: `Key::from` would percent-encode `%`, `\\` and every
/// character outside ASCII, so `unicodé.jpg` would be asked for as `unicod%C3%A9.jpg`, an
/// object that does not exist. Keys `Key::parse` refuses (`.` or `..` or an empty part, control
/// characters) cannot be named raw; they keep the encoded form.
fn key(loc: &Location) -> Key {
    Key::parse(&loc.key).unwrap_or_else(|_| Key::from(loc.key.as_str()))
}

impl Store for S3 {
    fn list_each(
        &self,
        prefix: &Location,
        recursive: bool,
        each: &mut dyn FnMut(Listed),
    ) -> Result<(), StoreError> {
        let store = self.bucket(prefix)?;
        let p = (!prefix.key.is_empty()).then(|| key(prefix));
        let mut hand = |m: object_store::ObjectMeta| {
            if let Some(rel) = prefix.relative(m.location.as_ref()) {
                each(Listed {
                    rel: rel.to_owned(),
                    bytes: m.size,
                    modified: Some(std::time::SystemTime::from(m.last_modified)),
                    etag: m.e_tag,
                });
            }
        };
        let listed = self.runtime.block_on(async {
            if recursive {
                let mut stream = store.list(p.as_ref());
                while let Some(m) = stream.next().await {
                    hand(m?);
                }
            } else {
                for m in store.list_with_delimiter(p.as_ref()).await?.objects {
                    hand(m);
                }
            }
            Ok::<(), object_store::Error>(())
        });
        listed.map_err(|e| error(&e, "list", prefix))
    }

    fn fetch(&self, object: &Location, file: &mut std::fs::File) -> Result<(), StoreError> {
        let store = self.bucket(object)?;
        let local = |e: std::io::Error| StoreError::local_copy(object, &e, false);
        self.runtime.block_on(async {
            let got = store
                .get(&key(object))
                .await
                .map_err(|e| error(&e, "read", object))?;
            let mut stream = got.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| error(&e, "read", object))?;
                file.write_all(&chunk).map_err(local)?;
            }
            Ok::<(), StoreError>(())
        })?;
        file.flush().map_err(local)
    }

    fn read(&self, object: &Location) -> Result<Option<Vec<u8>>, StoreError> {
        let store = self.bucket(object)?;
        self.runtime.block_on(async {
            match store.get(&key(object)).await {
                Ok(got) => got
                    .bytes()
                    .await
                    .map(|b| Some(b.to_vec()))
                    .map_err(|e| error(&e, "read", object)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(error(&e, "read", object)),
            }
        })
    }

    fn put(
        &self,
        object: &Location,
        bytes: &[u8],
        entry: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let store = self.bucket(object)?;
        let mut attributes = Attributes::new();
        if let Some(entry) = entry {
            attributes.insert(
                Attribute::Metadata(ENTRY_METADATA.into()),
                entry.to_owned().into(),
            );
        }
        let k = key(object);
        self.runtime.block_on(async {
            let put = if bytes.len() <= PART {
                let opts = PutOptions {
                    attributes,
                    ..PutOptions::default()
                };
                store
                    .put_opts(&k, PutPayload::from(bytes.to_vec()), opts)
                    .await
            } else {
                let opts = PutMultipartOptions {
                    attributes,
                    ..PutMultipartOptions::default()
                };
                match store.put_multipart_opts(&k, opts).await {
                    Ok(upload) => {
                        let mut parts = WriteMultipart::new_with_chunk_size(upload, PART);
                        parts.write(bytes);
                        parts.finish().await
                    }
                    Err(e) => Err(e),
                }
            };
            put.map(|r| r.e_tag).map_err(|e| error(&e, "write", object))
        })
    }

    fn entry(&self, object: &Location) -> Result<Option<Tagged>, StoreError> {
        let store = self.bucket(object)?;
        let opts = GetOptions {
            head: true,
            ..GetOptions::default()
        };
        self.runtime.block_on(async {
            match store.get_opts(&key(object), opts).await {
                Ok(got) => Ok(Some(Tagged {
                    entry: got
                        .attributes
                        .get(&Attribute::Metadata(ENTRY_METADATA.into()))
                        .map(|v| v.as_ref().to_owned()),
                    etag: got.meta.e_tag,
                })),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(error(&e, "read", object)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(env: &[(&str, &str)]) -> Result<Settings, String> {
        let owned: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::load(&move |name| {
            owned
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn a_refusal_is_worded_from_the_servers_code_and_message_and_stops_the_batch() {
        let loc = Location {
            bucket: "web".into(),
            key: "thumbs/a.jpg".into(),
        };
        let body = "Error performing PUT http://127.0.0.1:9/web/thumbs/a.jpg in 5ms - Server \
                    returned non-2xx status code: 403 Forbidden: <?xml version=\"1.0\"?>\n\
                    <Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you \
                    provided does not exist in our records.</Message><RequestId>X1</RequestId>\
                    </Error>";
        let e = object_store::Error::Generic {
            store: "S3",
            source: body.into(),
        };
        let refused = error(&e, "write", &loc);
        assert!(refused.fatal);
        assert_eq!(
            refused.reason,
            "the store refused the credentials for s3://web (InvalidAccessKeyId: The AWS \
             Access Key Id you provided does not exist in our records.)"
        );
        let slow = object_store::Error::Generic {
            store: "S3",
            source: "503 Service Unavailable: <Error><Code>SlowDown</Code></Error>".into(),
        };
        let slow = error(&slow, "read", &loc);
        assert!(!slow.fatal);
        assert_eq!(slow.reason, "cannot read s3://web/thumbs/a.jpg: SlowDown");
        let plain = object_store::Error::Generic {
            store: "S3",
            source: "connection refused".into(),
        };
        let plain = error(&plain, "read", &loc);
        assert!(!plain.fatal);
        assert!(
            plain.reason.ends_with("connection refused"),
            "{}",
            plain.reason
        );
    }

    #[test]
    fn plain_http_only_on_loopback_or_when_allowed_and_profiles_fill_gaps() {
        let tmp = tempfile::tempdir().expect("tmp");
        let creds = tmp.path().join("credentials");
        let config = tmp.path().join("config");
        std::fs::write(
            &creds,
            "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n\
             [work]\naws_access_key_id = W\naws_secret_access_key = WS\n",
        )
        .expect("write");
        std::fs::write(&config, "[profile work]\nregion = eu-west-3\n").expect("write");
        let (c, f) = (
            creds.to_str().expect("utf-8"),
            config.to_str().expect("utf-8"),
        );
        let files = [("AWS_SHARED_CREDENTIALS_FILE", c), ("AWS_CONFIG_FILE", f)];
        let s = settings(&[files[0], files[1], ("AWS_PROFILE", "work")]).expect("ok");
        assert_eq!(s.key_id.as_deref(), Some("W"));
        assert_eq!(s.region.as_deref(), Some("eu-west-3"));
        let s = settings(&[files[0], files[1], ("AWS_ACCESS_KEY_ID", "E")]).expect("ok");
        assert_eq!(
            (s.key_id.as_deref(), s.secret.as_deref()),
            (Some("E"), Some("DS"))
        );
        for ok in [
            "http://127.0.0.1:9000",
            "http://localhost:5000/",
            "http://[::1]:9000",
        ] {
            let s = settings(&[("AWS_ENDPOINT_URL", ok)]).expect(ok);
            assert!(s.allow_http, "{ok}");
        }
        let e = settings(&[("AWS_ENDPOINT_URL", "http://10.0.0.5:9000")]).expect_err("refused");
        assert!(e.contains("AWS_ALLOW_HTTP=true"), "{e}");
        let s = settings(&[
            ("AWS_ENDPOINT_URL", "http://10.0.0.5:9000"),
            ("AWS_ALLOW_HTTP", "true"),
        ])
        .expect("allowed");
        assert!(s.allow_http);
        let s = settings(&[("AWS_ENDPOINT_URL", "https://s3.example.net")]).expect("https");
        assert!(!s.allow_http);
    }
}
