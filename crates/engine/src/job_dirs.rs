//! The folders jobs work in: `jobs/1`, `jobs/2`, ... under the run folder.
//! Each holds a job's environment files, its `RUNNER_TEMP` (`tmp`) and
//! tool shims. A job takes one from the pool and gives it back emptied,
//! as a runner reuses its work folder and empties its temp folder between
//! jobs, so a run makes only as many folders as it runs jobs at once.
//! That matters for speed: creating files (ext4 inode allocation)
//! dominated a profile of a run of many short jobs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

pub(crate) struct JobDirs {
    root: PathBuf,
    free: Mutex<Vec<PathBuf>>,
    made: AtomicUsize,
}

impl JobDirs {
    pub(crate) fn new(run_dir: &Path) -> JobDirs {
        JobDirs {
            root: run_dir.join("jobs"),
            free: Mutex::new(Vec::new()),
            made: AtomicUsize::new(0),
        }
    }

    /// A folder with an empty `tmp` inside.
    pub(crate) fn take(&self) -> PathBuf {
        if let Some(dir) = self.free.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return dir;
        }
        let n = self.made.fetch_add(1, Ordering::Relaxed) + 1;
        let dir = self.root.join(n.to_string());
        let _ = std::fs::create_dir_all(dir.join("tmp"));
        dir
    }

    /// Empty the folder and return it to the pool. Its own files (the
    /// environment files, emptied before each step, and the step scripts,
    /// blanked after each) stay for the next job; `tmp` is emptied and
    /// anything else removed. A folder that cannot be emptied (a step left
    /// something read-only) is left out of the pool.
    pub(crate) fn give_back(&self, dir: PathBuf) {
        if empty(&dir, true).is_ok() {
            self.free
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(dir);
        }
    }
}

/// At the top: keep files, keep `tmp` (emptied). Below: remove all.
fn empty(dir: &Path, top: bool) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if top && entry.file_name() == "tmp" {
                empty(&path, false)?;
            } else {
                std::fs::remove_dir_all(&path)?;
            }
        } else if top && kind.is_file() {
            continue;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_come_back_empty_and_are_reused() {
        let run = std::env::temp_dir().join(format!("slipway-job-dirs-{}", std::process::id()));
        let dirs = JobDirs::new(&run);
        let a = dirs.take();
        let b = dirs.take();
        assert_ne!(a, b);
        std::fs::write(a.join("step0_env"), "SECRET=1\n").unwrap();
        std::fs::create_dir_all(a.join("tmp/setup-go/bin")).unwrap();
        std::fs::write(a.join("tmp/setup-go/bin/go"), "#!/bin/sh\n").unwrap();
        std::fs::create_dir_all(a.join("action-1-1")).unwrap();
        dirs.give_back(a.clone());
        let again = dirs.take();
        assert_eq!(again, a);
        assert!(a.join("step0_env").exists());
        assert_eq!(std::fs::read_dir(a.join("tmp")).unwrap().count(), 0);
        assert!(!a.join("action-1-1").exists());
        // The pool was empty, so a third job gets a new folder.
        assert_eq!(dirs.take(), run.join("jobs/3"));
        let _ = std::fs::remove_dir_all(&run);
    }
}
