//! Where a report comes from: a file, or bytes already in memory (tests,
//! fuzzing). Opening twice is allowed, so an error position given as a
//! byte offset can be turned into a line and column afterwards.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;

pub trait Input {
    /// The name used in messages (the path as the user gave it).
    fn name(&self) -> &str;
    fn open(&self) -> io::Result<Box<dyn BufRead + '_>>;
}

pub struct FileInput {
    pub path: PathBuf,
    pub name: String,
}

impl FileInput {
    pub fn new(path: impl Into<PathBuf>) -> FileInput {
        let path = path.into();
        FileInput {
            name: path.display().to_string(),
            path,
        }
    }
}

impl Input for FileInput {
    fn name(&self) -> &str {
        &self.name
    }

    fn open(&self) -> io::Result<Box<dyn BufRead + '_>> {
        Ok(Box::new(BufReader::with_capacity(
            64 * 1024,
            File::open(&self.path)?,
        )))
    }
}

pub struct BytesInput<'a> {
    pub name: String,
    pub bytes: &'a [u8],
}

impl<'a> BytesInput<'a> {
    pub fn new(name: &str, bytes: &'a [u8]) -> BytesInput<'a> {
        BytesInput {
            name: name.to_string(),
            bytes,
        }
    }
}

impl Input for BytesInput<'_> {
    fn name(&self) -> &str {
        &self.name
    }

    fn open(&self) -> io::Result<Box<dyn BufRead + '_>> {
        Ok(Box::new(self.bytes))
    }
}
