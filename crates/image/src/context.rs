//! The build context as the engine wants it: a tar stream of the context
//! folder without what `.dockerignore` leaves out, written on a thread of
//! its own while the engine reads it.
//!
//! As the docker CLI does: owners become root, modes and times are kept,
//! symlinks stay links, the Dockerfile and `.dockerignore` are always sent,
//! and a Dockerfile outside the context goes in as `.dockerfile.<hash>`.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::Stream;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use crate::dockerignore::{DockerIgnore, IgnoreError};

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error(transparent)]
    Ignore(#[from] IgnoreError),
    #[error("{path}: {source}")]
    Read {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// A context being written: the tar stream, the Dockerfile's name inside
/// it, and how the writing ended.
pub struct Context {
    pub stream: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, io::Error>> + Send>>,
    pub dockerfile: String,
    pub done: oneshot::Receiver<Result<ContextSummary, ContextError>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContextSummary {
    pub files: u64,
    pub bytes: u64,
}

/// Starts writing the context of `dir` with the Dockerfile at `dockerfile`.
/// `.dockerignore` is read (and checked) before anything is written.
pub fn start(dir: &Path, dockerfile: &Path) -> Result<Context, ContextError> {
    let ignore = match fs::read_to_string(dir.join(".dockerignore")) {
        Ok(text) => DockerIgnore::parse(&text)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => DockerIgnore::default(),
        Err(source) => {
            return Err(ContextError::Read {
                path: dir.join(".dockerignore").display().to_string(),
                source,
            })
        }
    };
    let (inside, extra) = match dockerfile.strip_prefix(dir) {
        Ok(rel) => (rel.to_string_lossy().replace('\\', "/"), None),
        Err(_) => {
            let text = fs::read(dockerfile).map_err(|source| ContextError::Read {
                path: dockerfile.display().to_string(),
                source,
            })?;
            let hash = format!("{:x}", Sha256::digest(&text));
            (format!(".dockerfile.{}", &hash[..12]), Some(text))
        }
    };
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, io::Error>>(8);
    let (done_tx, done) = oneshot::channel();
    let dir = dir.to_path_buf();
    let name = inside.clone();
    std::thread::spawn(move || {
        let mut out = ChannelWriter::new(tx.clone());
        let result = write_tar(&dir, &ignore, &name, extra.as_deref(), &mut out);
        let result = result.and_then(|summary| {
            out.flush().map_err(|source| ContextError::Read {
                path: dir.display().to_string(),
                source,
            })?;
            Ok(summary)
        });
        if let Err(e) = &result {
            let _ = tx.blocking_send(Err(io::Error::other(e.to_string())));
        }
        let _ = done_tx.send(result);
    });
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok(Context {
        stream: Box::pin(stream),
        dockerfile: inside,
        done,
    })
}

fn write_tar(
    dir: &Path,
    ignore: &DockerIgnore,
    dockerfile: &str,
    extra_dockerfile: Option<&[u8]>,
    out: &mut ChannelWriter,
) -> Result<ContextSummary, ContextError> {
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    let mut summary = ContextSummary::default();
    let mut stack: Vec<(PathBuf, String)> = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, rel)) = stack.pop() {
        let read_err = |source| ContextError::Read {
            path: folder.display().to_string(),
            source,
        };
        let mut entries: Vec<_> = fs::read_dir(&folder)
            .map_err(read_err)?
            .collect::<Result<_, _>>()
            .map_err(|source| ContextError::Read {
                path: folder.display().to_string(),
                source,
            })?;
        entries.sort_by_key(|e| e.file_name());
        // Depth first in name order: push in reverse so the first pops first.
        let mut subfolders = Vec::new();
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let rel_path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let meta = fs::symlink_metadata(&path).map_err(|source| ContextError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let always = rel_path == dockerfile || rel_path == ".dockerignore";
            let excluded = !always && ignore.excludes(&rel_path);
            if meta.is_dir() {
                if excluded && !ignore.has_exceptions() {
                    continue;
                }
                if !excluded {
                    append(&mut tar, &path, &rel_path, &meta, &mut summary)?;
                }
                subfolders.push((path, rel_path));
                continue;
            }
            if excluded {
                continue;
            }
            if meta.is_file() || meta.file_type().is_symlink() {
                append(&mut tar, &path, &rel_path, &meta, &mut summary)?;
            }
        }
        stack.extend(subfolders.into_iter().rev());
    }
    if let Some(text) = extra_dockerfile {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, dockerfile, text)
            .map_err(|source| ContextError::Read {
                path: dockerfile.to_string(),
                source,
            })?;
        summary.files += 1;
        summary.bytes += text.len() as u64;
    }
    tar.finish().map_err(|source| ContextError::Read {
        path: dir.display().to_string(),
        source,
    })?;
    Ok(summary)
}

fn append(
    tar: &mut tar::Builder<&mut ChannelWriter>,
    path: &Path,
    rel: &str,
    meta: &fs::Metadata,
    summary: &mut ContextSummary,
) -> Result<(), ContextError> {
    let err = |source| ContextError::Read {
        path: path.display().to_string(),
        source,
    };
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
    header.set_uid(0);
    header.set_gid(0);
    let _ = header.set_username("");
    let _ = header.set_groupname("");
    if meta.is_dir() {
        header.set_size(0);
        tar.append_data(&mut header, format!("{rel}/"), io::empty())
            .map_err(err)?;
    } else if meta.file_type().is_symlink() {
        let target = fs::read_link(path).map_err(err)?;
        header.set_size(0);
        tar.append_link(&mut header, rel, target).map_err(err)?;
    } else {
        let file = File::open(path).map_err(err)?;
        tar.append_data(&mut header, rel, file).map_err(err)?;
        summary.files += 1;
        summary.bytes += meta.len();
    }
    Ok(())
}

/// A `Write` that hands 256 KiB chunks to the async side.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
    buf: Vec<u8>,
}

const CHUNK: usize = 256 * 1024;

impl ChannelWriter {
    fn new(tx: mpsc::Sender<Result<Bytes, io::Error>>) -> Self {
        ChannelWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx.blocking_send(Ok(Bytes::from(chunk))).map_err(|_| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the engine stopped reading the context",
            )
        })
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    async fn names(dir: &Path, dockerfile: &Path) -> (Vec<String>, String) {
        let mut ctx = start(dir, dockerfile).unwrap();
        let mut bytes = Vec::new();
        while let Some(chunk) = ctx.stream.next().await {
            bytes.extend_from_slice(&chunk.unwrap());
        }
        ctx.done.await.unwrap().unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let names = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                assert_eq!(e.header().uid().unwrap(), 0);
                e.path().unwrap().to_string_lossy().into_owned()
            })
            .collect();
        (names, ctx.dockerfile)
    }

    #[tokio::test]
    async fn honours_dockerignore_but_always_sends_the_dockerfile() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (p, t) in [
            ("Dockerfile", "FROM scratch\n"),
            (
                ".dockerignore",
                "Dockerfile\n.dockerignore\nnode_modules\n*.log\ndocs/*\n!docs/keep.md\n",
            ),
            ("src/app.js", "x"),
            ("node_modules/a/index.js", "x"),
            ("debug.log", "x"),
            ("docs/a.md", "x"),
            ("docs/keep.md", "x"),
        ] {
            fs::create_dir_all(d.join(p).parent().unwrap()).unwrap();
            fs::write(d.join(p), t).unwrap();
        }
        std::os::unix::fs::symlink("src/app.js", d.join("link")).unwrap();
        let (mut names, dockerfile) = names(d, &d.join("Dockerfile")).await;
        names.sort();
        assert_eq!(dockerfile, "Dockerfile");
        assert_eq!(
            names,
            // `docs/*` leaves the folder itself in, as Docker does.
            [
                ".dockerignore",
                "Dockerfile",
                "docs/",
                "docs/keep.md",
                "link",
                "src/",
                "src/app.js"
            ]
        );
    }

    #[tokio::test]
    async fn a_dockerfile_outside_the_context_goes_in_under_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a"), "a").unwrap();
        fs::write(other.path().join("build.Dockerfile"), "FROM scratch\n").unwrap();
        let (names, dockerfile) = names(dir.path(), &other.path().join("build.Dockerfile")).await;
        assert!(dockerfile.starts_with(".dockerfile."), "{dockerfile}");
        assert_eq!(names, ["a".to_string(), dockerfile]);
    }

    #[test]
    fn a_bad_dockerignore_is_reported_before_anything_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".dockerignore"), "ok\n[z-a]\n").unwrap();
        let err = start(dir.path(), &dir.path().join("Dockerfile"))
            .err()
            .unwrap();
        assert!(err.to_string().starts_with(".dockerignore:2:"), "{err}");
    }
}
