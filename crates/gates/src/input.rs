//! Where a report comes from: a file, or bytes already in memory (tests,
//! fuzzing). Opening twice is allowed, so an error position given as a
//! byte offset can be turned into a line and column afterwards.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;

pub trait Input {
    /// The name used in messages (the path as the user gave it).
    fn name(&self) -> &str;
    fn open(&self) -> io::Result<Box<dyn BufRead + '_>>;

    /// Bytes `start..end` into `buf` (replacing what it held): a part of
    /// the input found by reading it before. The default reads from the
    /// start.
    fn read_range(&self, start: u64, end: u64, buf: &mut Vec<u8>) -> io::Result<()> {
        let mut reader = self.open()?;
        io::copy(&mut (&mut reader).take(start), &mut io::sink())?;
        buf.clear();
        reader.take(end.saturating_sub(start)).read_to_end(buf)?;
        Ok(())
    }
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

    fn read_range(&self, start: u64, end: u64, buf: &mut Vec<u8>) -> io::Result<()> {
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::Start(start))?;
        buf.clear();
        file.take(end.saturating_sub(start)).read_to_end(buf)?;
        Ok(())
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

    fn read_range(&self, start: u64, end: u64, buf: &mut Vec<u8>) -> io::Result<()> {
        let len = self.bytes.len() as u64;
        let start = start.min(len);
        let end = end.clamp(start, len);
        buf.clear();
        buf.extend_from_slice(&self.bytes[start as usize..end as usize]);
        Ok(())
    }
}
