//! Pushing an image from the engine to registries over the distribution
//! API.
//!
//! The engine gives its images only as a `docker save` stream, so the push
//! reads that stream once: each layer is compressed as it goes by (on every
//! core, see `compress`) into a temporary file, and its upload starts while
//! the next layer is being read. Layers this machine already compressed and
//! every target already holds are passed over without compressing them
//! again (the layer cache remembers which compressed blob each layer
//! became). Nothing is tagged until every blob is in; then the manifest is
//! put under each tag, the digest the registry answers is checked against
//! the manifest's own, and a HEAD of each tag must name that digest too.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Semaphore};

use crate::auth::Credentials;
use crate::compress::{self, Compressed};
use crate::distribution::{
    file_body, short_digest, Body, RegistryError, Repository, RetryPolicy, CONFIG_V1, LAYER_GZIP,
    MANIFEST_V2,
};
use crate::docker::{Docker, DockerError};
use crate::reference::Reference;

#[derive(Debug, Clone)]
pub struct PushOptions {
    /// The local image (a name or an id).
    pub source: String,
    /// Where it goes; every reference has a registry.
    pub targets: Vec<Reference>,
    /// Credentials by registry (host[:port]).
    pub credentials: HashMap<String, Credentials>,
    /// Plain HTTP for registries that are not on loopback.
    pub insecure: bool,
    /// Remembers which compressed blob each layer became.
    pub cache_dir: Option<PathBuf>,
    /// gzip level, 1-9.
    pub level: u32,
    /// Compression threads; 0 for one per core.
    pub threads: usize,
    pub retry: RetryPolicy,
}

impl PushOptions {
    pub fn new(source: &str, targets: Vec<Reference>) -> PushOptions {
        PushOptions {
            source: source.to_string(),
            targets,
            credentials: HashMap::new(),
            insecure: false,
            cache_dir: None,
            level: 6,
            threads: 0,
            retry: RetryPolicy::default(),
        }
    }
}

/// What a push reports while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushEvent {
    Started {
        image_id: String,
        layers: usize,
    },
    /// Compressed here (the diff id names the layer).
    Compressed {
        diff_id: String,
        digest: String,
        size: u64,
        uncompressed_size: u64,
    },
    /// Known from an earlier push and already in every target: not read.
    Reused {
        diff_id: String,
        digest: String,
    },
    Uploaded {
        repository: String,
        digest: String,
        size: u64,
    },
    AlreadyThere {
        repository: String,
        digest: String,
    },
    Tagged {
        reference: String,
        digest: String,
    },
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PushedTag {
    pub reference: String,
    /// The manifest digest, as the registry serves it.
    pub digest: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pushed {
    pub image_id: String,
    pub manifest_digest: String,
    pub tags: Vec<PushedTag>,
    pub layers: usize,
    /// Blobs sent (layers and config, counted once per repository).
    pub uploaded_blobs: usize,
    pub uploaded_bytes: u64,
    /// Blobs the registries already had.
    pub existing_blobs: usize,
    /// Compressed size of the image (config and layers).
    pub size: u64,
    pub retries: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{0}")]
    Local(String),
    #[error("{error} (pushed before it failed: {})", .pushed.iter().map(|t| t.reference.as_str()).collect::<Vec<_>>().join(", "))]
    Partial {
        pushed: Vec<PushedTag>,
        error: Box<PushError>,
    },
}

impl PushError {
    pub fn is_usage(&self) -> bool {
        matches!(self, PushError::Usage(_))
    }
}

/// A compressed blob.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Blob {
    digest: String,
    size: u64,
}

/// What the tar reader thread reports.
enum Found {
    /// A layer is being compressed: its bytes as they come, and its
    /// digest once known.
    Started {
        entry: String,
        chunks: mpsc::Receiver<Bytes>,
        digest: tokio::sync::oneshot::Receiver<String>,
    },
    Layer {
        entry: String,
        path: PathBuf,
        compressed: Compressed,
    },
    Skipped {
        entry: String,
        diff_id: String,
    },
}

struct TarResult {
    /// `manifest.json`'s layer entries, in order.
    layer_entries: Vec<String>,
    config: Vec<u8>,
}

pub async fn push(
    docker: &Docker,
    options: &PushOptions,
    mut on_event: impl FnMut(PushEvent),
) -> Result<Pushed, PushError> {
    if options.targets.is_empty() {
        return Err(PushError::Usage("nothing to push to".into()));
    }
    let Some(image) = docker.inspect_image(&options.source).await? else {
        return Err(PushError::Usage(format!(
            "no image `{}` on this Docker Engine",
            options.source
        )));
    };
    let diff_ids = image.root_fs.layers.clone();
    on_event(PushEvent::Started {
        image_id: image.id.clone(),
        layers: diff_ids.len(),
    });

    // One client per repository; each is checked before anything is read
    // so that an unreachable registry or refused credentials fail fast.
    let mut repos: Vec<Arc<Repository>> = Vec::new();
    let mut by_target: Vec<(usize, &Reference)> = Vec::new();
    for t in &options.targets {
        let registry = t
            .registry
            .as_deref()
            .ok_or_else(|| PushError::Usage(format!("`{t}` names no registry")))?;
        let at = match repos
            .iter()
            .position(|r| r.registry() == registry && r.name() == t.repository)
        {
            Some(i) => i,
            None => {
                let repo = Repository::new(
                    registry,
                    &t.repository,
                    options.credentials.get(registry).cloned(),
                    options.insecure,
                    options.retry,
                )?;
                repo.check().await?;
                repos.push(Arc::new(repo));
                repos.len() - 1
            }
        };
        by_target.push((at, t));
    }

    let cache = options.cache_dir.as_deref().map(LayerCache::new);
    // Layers compressed before, at this level, that every target has.
    let mut known: HashMap<String, Blob> = HashMap::new();
    let mut present: HashSet<String> = HashSet::new();
    if let Some(cache) = &cache {
        for d in &diff_ids {
            if let Some(blob) = cache.blob(d, options.level) {
                let mut everywhere = true;
                for r in &repos {
                    if !r.has_blob(&blob.digest).await? {
                        everywhere = false;
                        break;
                    }
                }
                if everywhere {
                    present.insert(d.clone());
                }
                known.insert(d.clone(), blob);
            }
        }
    }

    let work = tempfile::Builder::new()
        .prefix("slipway-push-")
        .tempdir()
        .map_err(|e| PushError::Local(format!("a temporary folder for the push: {e}")))?;

    // The save stream, fed to a reader thread.
    let export = docker.export_image(&image.id).await?;
    let (chunk_tx, chunk_rx) = mpsc::channel::<Result<Bytes, String>>(16);
    let feeder = tokio::spawn(async move {
        futures_util::pin_mut!(export);
        while let Some(chunk) = export.next().await {
            let failed = chunk.is_err();
            if chunk_tx
                .send(chunk.map_err(|e| e.to_string()))
                .await
                .is_err()
                || failed
            {
                break;
            }
        }
    });
    let (found_tx, mut found_rx) = mpsc::unbounded_channel::<Found>();
    let reader = {
        let work = work.path().to_path_buf();
        let image_id = image.id.clone();
        let diff_ids = diff_ids.clone();
        let present = present.clone();
        let dirs: HashMap<String, String> = cache.as_ref().map(|c| c.dirs()).unwrap_or_default();
        let level = options.level;
        let threads = if options.threads == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            options.threads
        };
        tokio::task::spawn_blocking(move || {
            read_save(
                ChannelReader::new(chunk_rx),
                &work,
                &image_id,
                &diff_ids,
                &present,
                &dirs,
                level,
                threads,
                &found_tx,
            )
        })
    };

    // Uploads start as layers come out of the reader.
    let limit = Arc::new(Semaphore::new(3));
    let (event_tx, mut event_rx) = mpsc::unbounded_channel::<PushEvent>();
    let mut uploads = tokio::task::JoinSet::new();
    let mut blobs: HashMap<String, Blob> = HashMap::new();
    let mut entry_diff: HashMap<String, String> = HashMap::new();
    let mut uploading: HashSet<String> = HashSet::new();
    let mut new_dirs: Vec<(String, String)> = Vec::new();
    // Uploads that run while their layer is compressed, to the first
    // repository (the others get the finished file).
    let mut streaming: HashMap<String, tokio::task::JoinHandle<Result<String, RegistryError>>> =
        HashMap::new();
    while let Some(found) = found_rx.recv().await {
        match found {
            Found::Started {
                entry,
                chunks,
                digest,
            } => {
                let repo = repos[0].clone();
                streaming.insert(
                    entry,
                    tokio::spawn(async move { repo.upload_streaming(chunks, digest).await }),
                );
            }
            Found::Layer {
                entry,
                path,
                compressed,
            } => {
                on_event(PushEvent::Compressed {
                    diff_id: compressed.diff_id.clone(),
                    digest: compressed.digest.clone(),
                    size: compressed.size,
                    uncompressed_size: compressed.uncompressed_size,
                });
                if let Some(dir) = legacy_dir(&entry) {
                    new_dirs.push((dir.to_string(), compressed.diff_id.clone()));
                }
                let stream = streaming.remove(&entry);
                entry_diff.insert(entry, compressed.diff_id.clone());
                let blob = Blob {
                    digest: compressed.digest.clone(),
                    size: compressed.size,
                };
                blobs.insert(compressed.diff_id.clone(), blob.clone());
                if uploading.insert(blob.digest.clone()) {
                    let body = file_body(&path)
                        .map_err(|e| PushError::Local(format!("{}: {e}", path.display())))?;
                    for (i, r) in repos.iter().enumerate() {
                        let job = upload(
                            r.clone(),
                            blob.clone(),
                            body.clone(),
                            limit.clone(),
                            event_tx.clone(),
                        );
                        match (i, stream.as_ref()) {
                            (0, Some(_)) => {}
                            _ => {
                                uploads.spawn(job);
                            }
                        }
                    }
                    if let Some(handle) = stream {
                        uploads.spawn(after_stream(
                            handle,
                            repos[0].clone(),
                            blob.clone(),
                            body.clone(),
                            limit.clone(),
                            event_tx.clone(),
                        ));
                    }
                } else if let Some(handle) = stream {
                    // The same blob is already on its way.
                    handle.abort();
                }
            }
            Found::Skipped { entry, diff_id } => {
                if let Some(blob) = known.get(&diff_id) {
                    on_event(PushEvent::Reused {
                        diff_id: diff_id.clone(),
                        digest: blob.digest.clone(),
                    });
                    blobs.insert(diff_id.clone(), blob.clone());
                }
                entry_diff.insert(entry, diff_id);
            }
        }
        while let Ok(e) = event_rx.try_recv() {
            on_event(e);
        }
    }
    let read = reader
        .await
        .map_err(|e| PushError::Local(format!("reading the image: {e}")));
    feeder.abort();
    let tar = match read {
        Ok(Ok(t)) => t,
        Ok(Err(e)) | Err(e) => {
            uploads.abort_all();
            return Err(e);
        }
    };

    let config_digest = crate::sha256_digest(&tar.config);
    if config_digest != image.id {
        uploads.abort_all();
        return Err(PushError::Local(format!(
            "the saved image's config is {config_digest}, not the image id {}",
            image.id
        )));
    }
    let mut layers = Vec::new();
    for entry in &tar.layer_entries {
        let diff = entry_diff.get(entry).ok_or_else(|| {
            PushError::Local(format!(
                "the saved image lists layer `{entry}` but does not hold it"
            ))
        })?;
        let blob = blobs
            .get(diff)
            .ok_or_else(|| PushError::Local(format!("layer {diff} was not compressed")))?;
        layers.push((diff.clone(), blob.clone()));
    }
    let order: Vec<&String> = layers.iter().map(|(d, _)| d).collect();
    if order != diff_ids.iter().collect::<Vec<_>>() {
        uploads.abort_all();
        return Err(PushError::Local(
            "the saved image's layers differ from the engine's description of it".into(),
        ));
    }

    let config_blob = Blob {
        digest: config_digest.clone(),
        size: tar.config.len() as u64,
    };
    let config_body = Body::Bytes(Bytes::from(tar.config.clone()));
    for r in &repos {
        uploads.spawn(upload(
            r.clone(),
            config_blob.clone(),
            config_body.clone(),
            limit.clone(),
            event_tx.clone(),
        ));
    }
    drop(event_tx);
    let mut uploaded_blobs = 0;
    let mut uploaded_bytes = 0;
    let mut existing_blobs = 0;
    let mut failure = None;
    while let Some(done) = uploads.join_next().await {
        while let Ok(e) = event_rx.try_recv() {
            on_event(e);
        }
        match done {
            Ok(Ok(Some(size))) => {
                uploaded_blobs += 1;
                uploaded_bytes += size;
            }
            Ok(Ok(None)) => existing_blobs += 1,
            Ok(Err(e)) => {
                if failure.is_none() {
                    failure = Some(PushError::Registry(e));
                    uploads.abort_all();
                }
            }
            Err(e) if e.is_cancelled() => {}
            Err(e) => {
                failure.get_or_insert(PushError::Local(format!("an upload stopped: {e}")));
            }
        }
    }
    while let Ok(e) = event_rx.try_recv() {
        on_event(e);
    }
    if let Some(e) = failure {
        return Err(e);
    }
    // Layers reused from the cache are already in every repository.
    existing_blobs += layers.iter().filter(|(d, _)| present.contains(d)).count() * repos.len();

    let manifest = manifest_json(&config_blob, layers.iter().map(|(_, b)| b));
    let manifest_digest = crate::sha256_digest(&manifest);
    let mut tags = Vec::new();
    for (at, target) in by_target {
        let r = &repos[at];
        let result = async {
            let digest = r.put_manifest(&target.tag, MANIFEST_V2, &manifest).await?;
            match r.manifest_digest(&target.tag).await? {
                Some(served) if served == digest => Ok(digest),
                Some(served) => Err(RegistryError::DigestMismatch {
                    what: format!("checking {target}"),
                    expected: digest,
                    got: served,
                }),
                None => Err(RegistryError::Refused {
                    what: format!("checking {target}"),
                    status: 404,
                    body: "the tag just pushed is not there".into(),
                }),
            }
        }
        .await;
        match result {
            Ok(digest) => {
                on_event(PushEvent::Tagged {
                    reference: target.to_string(),
                    digest: digest.clone(),
                });
                tags.push(PushedTag {
                    reference: target.to_string(),
                    digest,
                });
            }
            Err(e) if tags.is_empty() => return Err(e.into()),
            Err(e) => {
                return Err(PushError::Partial {
                    pushed: tags,
                    error: Box::new(e.into()),
                })
            }
        }
    }

    if let Some(cache) = &cache {
        for (d, b) in &layers {
            cache.remember_blob(d, options.level, b);
        }
        for (dir, d) in &new_dirs {
            cache.remember_dir(dir, d);
        }
    }
    let retries = repos
        .iter()
        .map(|r| r.retries.load(std::sync::atomic::Ordering::Relaxed))
        .sum();
    Ok(Pushed {
        image_id: image.id,
        manifest_digest,
        tags,
        layers: layers.len(),
        uploaded_blobs,
        uploaded_bytes,
        existing_blobs,
        size: config_blob.size + layers.iter().map(|(_, b)| b.size).sum::<u64>(),
        retries,
    })
}

/// Waits for an upload made while compressing; if it failed, uploads the
/// finished file the usual way (with retries).
async fn after_stream(
    stream: tokio::task::JoinHandle<Result<String, RegistryError>>,
    repo: Arc<Repository>,
    blob: Blob,
    body: Body,
    limit: Arc<Semaphore>,
    events: mpsc::UnboundedSender<PushEvent>,
) -> Result<Option<u64>, RegistryError> {
    match stream.await {
        Ok(Ok(digest)) if digest == blob.digest => {
            let _ = events.send(PushEvent::Uploaded {
                repository: format!("{}/{}", repo.registry(), repo.name()),
                digest: blob.digest.clone(),
                size: blob.size,
            });
            Ok(Some(blob.size))
        }
        _ => {
            repo.retries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            upload(repo, blob, body, limit, events).await
        }
    }
}

/// Uploads one blob to one repository unless it is there. Some(size) when
/// sent, None when the registry had it.
async fn upload(
    repo: Arc<Repository>,
    blob: Blob,
    body: Body,
    limit: Arc<Semaphore>,
    events: mpsc::UnboundedSender<PushEvent>,
) -> Result<Option<u64>, RegistryError> {
    let _permit = limit
        .acquire_owned()
        .await
        .expect("the semaphore stays open");
    let repository = format!("{}/{}", repo.registry(), repo.name());
    if repo.has_blob(&blob.digest).await? {
        let _ = events.send(PushEvent::AlreadyThere {
            repository,
            digest: blob.digest.clone(),
        });
        return Ok(None);
    }
    repo.upload_blob(&blob.digest, body).await?;
    let _ = events.send(PushEvent::Uploaded {
        repository,
        digest: blob.digest.clone(),
        size: blob.size,
    });
    Ok(Some(blob.size))
}

fn manifest_json<'a>(config: &Blob, layers: impl Iterator<Item = &'a Blob>) -> Vec<u8> {
    let layers: Vec<serde_json::Value> = layers
        .map(|b| serde_json::json!({"mediaType": LAYER_GZIP, "size": b.size, "digest": b.digest}))
        .collect();
    let m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_V2,
        "config": {"mediaType": CONFIG_V1, "size": config.size, "digest": config.digest},
        "layers": layers,
    });
    serde_json::to_vec_pretty(&m).expect("a manifest serializes")
}

/// `abc123/layer.tar` -> `abc123` (the legacy save layout's layer folder).
fn legacy_dir(entry: &str) -> Option<&str> {
    entry
        .strip_suffix("/layer.tar")
        .filter(|d| !d.contains('/'))
}

/// Reads the `docker save` tar: layers compressed (or passed over), the
/// config and `manifest.json` kept. Both layouts: the legacy one
/// (`<id>/layer.tar`, `<id>.json`) and the OCI one (`blobs/sha256/<hex>`).
#[allow(clippy::too_many_arguments)]
fn read_save(
    input: impl Read,
    work: &Path,
    image_id: &str,
    diff_ids: &[String],
    present: &HashSet<String>,
    dirs: &HashMap<String, String>,
    level: u32,
    threads: usize,
    found: &mpsc::UnboundedSender<Found>,
) -> Result<TarResult, PushError> {
    let read_err = |e: std::io::Error| PushError::Local(format!("reading the saved image: {e}"));
    let mut archive = tar::Archive::new(input);
    let mut manifest: Option<Vec<u8>> = None;
    let mut configs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let id_hex = image_id.strip_prefix("sha256:").unwrap_or(image_id);
    let mut n = 0;
    for entry in archive.entries().map_err(read_err)? {
        let mut entry = entry.map_err(read_err)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry
            .path()
            .map_err(read_err)?
            .to_string_lossy()
            .into_owned();
        let blob_hex = name.strip_prefix("blobs/sha256/");
        let is_layer = match blob_hex {
            Some(hex) => diff_ids
                .iter()
                .any(|d| d.strip_prefix("sha256:") == Some(hex)),
            None => name.ends_with("/layer.tar"),
        };
        if is_layer {
            let known_diff = match (blob_hex, legacy_dir(&name)) {
                (Some(hex), _) => Some(format!("sha256:{hex}")),
                (None, Some(dir)) => dirs.get(dir).cloned(),
                _ => None,
            };
            if let Some(d) = known_diff.filter(|d| present.contains(d)) {
                let _ = found.send(Found::Skipped {
                    entry: name,
                    diff_id: d,
                });
                continue;
            }
            n += 1;
            let path = work.join(format!("layer-{n}.tar.gz"));
            let file = std::fs::File::create(&path).map_err(read_err)?;
            // The compressed bytes go to the file (for retries and other
            // repositories) and, as they come, to an upload.
            let (chunks_tx, chunks) = mpsc::channel(16);
            let (digest_tx, digest) = tokio::sync::oneshot::channel();
            let _ = found.send(Found::Started {
                entry: name.clone(),
                chunks,
                digest,
            });
            let mut out = Tee {
                inner: std::io::BufWriter::with_capacity(1 << 20, file),
                tx: Some(chunks_tx),
            };
            let compressed =
                compress::gzip(&mut entry, &mut out, level, threads).map_err(read_err)?;
            std::io::Write::flush(&mut out.inner).map_err(read_err)?;
            drop(out);
            let _ = digest_tx.send(compressed.digest.clone());
            if found
                .send(Found::Layer {
                    entry: name,
                    path,
                    compressed,
                })
                .is_err()
            {
                return Err(PushError::Local("the push stopped".into()));
            }
        } else if name == "manifest.json" {
            let mut b = Vec::new();
            entry.read_to_end(&mut b).map_err(read_err)?;
            manifest = Some(b);
        } else if name == format!("{id_hex}.json") || blob_hex == Some(id_hex) {
            let mut b = Vec::new();
            entry.read_to_end(&mut b).map_err(read_err)?;
            configs.insert(name, b);
        }
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct SaveManifest {
        config: String,
        layers: Vec<String>,
    }
    let manifest =
        manifest.ok_or_else(|| PushError::Local("the saved image has no manifest.json".into()))?;
    let list: Vec<SaveManifest> = serde_json::from_slice(&manifest)
        .map_err(|e| PushError::Local(format!("the saved image's manifest.json: {e}")))?;
    let m = list
        .into_iter()
        .next()
        .ok_or_else(|| PushError::Local("the saved image's manifest.json is empty".into()))?;
    let config = configs
        .remove(&m.config)
        .ok_or_else(|| PushError::Local(format!("the saved image has no config `{}`", m.config)))?;
    Ok(TarResult {
        layer_entries: m.layers,
        config,
    })
}

/// Writes to a file and hands a copy of each write to an upload; when the
/// upload stops taking them, to the file alone.
struct Tee<W> {
    inner: W,
    tx: Option<mpsc::Sender<Bytes>>,
}

impl<W: std::io::Write> std::io::Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(tx) = &self.tx {
            if tx.blocking_send(Bytes::copy_from_slice(&buf[..n])).is_err() {
                self.tx = None;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A `Read` over the chunks the async side forwards.
struct ChannelReader {
    rx: mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl ChannelReader {
    fn new(rx: mpsc::Receiver<Result<Bytes, String>>) -> Self {
        ChannelReader {
            rx,
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// What earlier pushes learnt: layer (diff id) -> compressed blob at a
/// level, and legacy save folder -> diff id. One small file per fact, so
/// pushes running at once never overwrite each other's.
struct LayerCache {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct CachedBlob {
    digest: String,
    size: u64,
    level: u32,
}

impl LayerCache {
    fn new(dir: &Path) -> LayerCache {
        LayerCache {
            dir: dir.to_path_buf(),
        }
    }

    fn blob(&self, diff_id: &str, level: u32) -> Option<Blob> {
        let hex = diff_id.strip_prefix("sha256:")?;
        let text = std::fs::read(self.dir.join(format!("layer-{hex}.json"))).ok()?;
        let c: CachedBlob = serde_json::from_slice(&text).ok()?;
        (c.level == level).then_some(Blob {
            digest: c.digest,
            size: c.size,
        })
    }

    fn dirs(&self) -> HashMap<String, String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return HashMap::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let dir = name.strip_prefix("save-")?.to_string();
                let diff = std::fs::read_to_string(e.path()).ok()?;
                Some((dir, diff.trim().to_string()))
            })
            .collect()
    }

    fn write(&self, name: &str, data: &[u8]) {
        // Best effort: the cache only saves work.
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let tmp = self.dir.join(format!(".{name}.{}", std::process::id()));
        if std::fs::write(&tmp, data).is_ok() {
            let _ = std::fs::rename(&tmp, self.dir.join(name));
        }
    }

    fn remember_blob(&self, diff_id: &str, level: u32, blob: &Blob) {
        let Some(hex) = diff_id.strip_prefix("sha256:") else {
            return;
        };
        let c = CachedBlob {
            digest: blob.digest.clone(),
            size: blob.size,
            level,
        };
        self.write(
            &format!("layer-{hex}.json"),
            &serde_json::to_vec(&c).expect("json serializes"),
        );
    }

    fn remember_dir(&self, dir: &str, diff_id: &str) {
        if dir.bytes().all(|b| b.is_ascii_hexdigit()) {
            self.write(&format!("save-{dir}"), diff_id.as_bytes());
        }
    }
}

/// For messages: `sha256:0123456789ab`.
pub fn short(d: &str) -> String {
    format!("sha256:{}", short_digest(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_docker_schema2() {
        let m = manifest_json(
            &Blob {
                digest: "sha256:c".into(),
                size: 10,
            },
            [Blob {
                digest: "sha256:l".into(),
                size: 20,
            }]
            .iter(),
        );
        let v: serde_json::Value = serde_json::from_slice(&m).unwrap();
        assert_eq!(v["mediaType"], MANIFEST_V2);
        assert_eq!(v["config"]["digest"], "sha256:c");
        assert_eq!(v["layers"][0]["mediaType"], LAYER_GZIP);
        assert_eq!(v["layers"][0]["size"], 20);
    }

    #[test]
    fn the_cache_remembers_blobs_by_level() {
        let dir = tempfile::tempdir().unwrap();
        let c = LayerCache::new(dir.path());
        let b = Blob {
            digest: "sha256:beef".into(),
            size: 3,
        };
        c.remember_blob("sha256:aa", 6, &b);
        c.remember_dir("0123abcd", "sha256:aa");
        assert_eq!(c.blob("sha256:aa", 6), Some(b));
        assert_eq!(c.blob("sha256:aa", 1), None);
        assert_eq!(
            c.dirs().get("0123abcd").map(String::as_str),
            Some("sha256:aa")
        );
        assert_eq!(legacy_dir("0123abcd/layer.tar"), Some("0123abcd"));
        assert_eq!(legacy_dir("blobs/sha256/x"), None);
    }
}
