//! `.slipway/outbox/`: where messages go when no channel is configured, or
//! when delivery failed, so nothing is lost. One JSON file per message,
//! named by UTC time to the microsecond so that names sort as time does.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::time;

/// One message as kept in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxEntry {
    /// `deploy.started`, `slack.message`, …
    pub kind: String,
    /// When it was written, RFC 3339 in UTC.
    pub time: String,
    /// Why it is here and not delivered.
    pub reason: String,
    /// The channel it was meant for, if one was configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// An event's fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// A message body as it would have been posted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
}

#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn new(dir: impl Into<PathBuf>) -> Outbox {
        Outbox { dir: dir.into() }
    }

    /// `<root>/.slipway/outbox`.
    pub fn in_repo(root: &Path) -> Outbox {
        Outbox::new(root.join(".slipway").join("outbox"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Write an entry, its `time` set to now; returns the file written.
    pub fn write(&self, entry: OutboxEntry) -> std::io::Result<PathBuf> {
        self.write_at(entry, SystemTime::now())
    }

    pub fn write_at(&self, mut entry: OutboxEntry, at: SystemTime) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        entry.time = time::rfc3339(at);
        let mut text = serde_json::to_string_pretty(&entry).map_err(std::io::Error::other)?;
        text.push('\n');
        let kind: String = entry
            .kind
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        // Two messages in the same microsecond: the later one a microsecond on.
        let mut at = at;
        loop {
            let path = self.dir.join(format!("{}-{kind}.json", time::compact(at)));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    file.write_all(text.as_bytes())?;
                    return Ok(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    at += Duration::from_micros(1);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The files in the outbox, oldest first.
    pub fn files(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut files = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect::<Vec<_>>(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        files.sort();
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn entry(kind: &str) -> OutboxEntry {
        OutboxEntry {
            kind: kind.into(),
            time: String::new(),
            reason: "no notification channel is configured".into(),
            channel: None,
            fields: Some(
                serde_json::json!({"service": "svc-portal", "version": "v2"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            payload: None,
        }
    }

    #[test]
    fn one_file_per_message_named_to_sort_by_time() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::in_repo(dir.path());
        assert!(outbox.files().unwrap().is_empty());
        let at = UNIX_EPOCH + Duration::from_secs(1_795_436_399);
        let a = outbox.write_at(entry("deploy.started"), at).unwrap();
        let b = outbox.write_at(entry("deploy/done"), at).unwrap();
        let c = outbox
            .write_at(entry("deploy.started"), at - Duration::from_secs(1))
            .unwrap();
        assert_eq!(
            a.file_name().unwrap(),
            "20261123T121959.000000Z-deploy.started.json"
        );
        assert_eq!(
            b.file_name().unwrap(),
            "20261123T121959.000000Z-deploy_done.json"
        );
        assert_eq!(outbox.files().unwrap(), vec![c.clone(), a.clone(), b]);
        // The same instant and kind again: a microsecond later, nothing overwritten.
        let d = outbox.write_at(entry("deploy.started"), at).unwrap();
        assert_eq!(
            d.file_name().unwrap(),
            "20261123T121959.000001Z-deploy.started.json"
        );
        let text = std::fs::read_to_string(&a).unwrap();
        assert_eq!(
            text,
            r#"{
  "kind": "deploy.started",
  "time": "2026-11-23T12:19:59Z",
  "reason": "no notification channel is configured",
  "fields": {
    "service": "svc-portal",
    "version": "v2"
  }
}
"#
        );
    }
}
