//! Layer compression for pushes: gzip on every core, pigz's way. The
//! input is cut into 1 MiB blocks, each deflated on its own and ended with
//! a sync flush (so blocks end on a byte boundary and can be joined), and
//! one gzip stream is written around them in order. Any gzip reader reads
//! it; registries and engines see an ordinary `tar+gzip` layer.
//!
//! While it compresses it computes what a push needs: the sha256 of the
//! uncompressed tar (the layer's diff id) and of the gzip bytes (the blob
//! digest), and both sizes.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::sync::mpsc;

use flate2::{Compress, Compression, FlushCompress, Status};
use sha2::{Digest, Sha256};

const BLOCK: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compressed {
    /// `sha256:` of the uncompressed bytes.
    pub diff_id: String,
    /// `sha256:` of the gzip bytes.
    pub digest: String,
    pub size: u64,
    pub uncompressed_size: u64,
}

/// Gzip `input` into `output` with `threads` workers (at least 1).
pub fn gzip(
    mut input: impl Read,
    output: impl Write,
    level: u32,
    threads: usize,
) -> io::Result<Compressed> {
    let threads = threads.max(1);
    let mut out = HashingWriter::new(output);
    // Header: no name, no mtime (so equal input gives equal bytes), OS unix.
    out.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])?;
    let mut crc = crc32fast::Hasher::new();
    let mut raw = Sha256::new();
    let mut total: u64 = 0;

    std::thread::scope(|scope| -> io::Result<()> {
        let (work_tx, work_rx) = mpsc::sync_channel::<(u64, Vec<u8>)>(threads * 2);
        let work_rx = std::sync::Arc::new(std::sync::Mutex::new(work_rx));
        let (done_tx, done_rx) = mpsc::channel::<(u64, io::Result<Vec<u8>>)>();
        for _ in 0..threads {
            let work_rx = work_rx.clone();
            let done_tx = done_tx.clone();
            scope.spawn(move || loop {
                let next = work_rx.lock().expect("work queue").recv();
                let Ok((seq, block)) = next else { break };
                let result = deflate_block(&block, level);
                if done_tx.send((seq, result)).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);

        let mut sent: u64 = 0;
        let mut written: u64 = 0;
        let mut waiting: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let write_ready = |waiting: &mut BTreeMap<u64, Vec<u8>>,
                           written: &mut u64,
                           out: &mut HashingWriter<_>|
         -> io::Result<()> {
            while let Some(block) = waiting.remove(written) {
                out.write_all(&block)?;
                *written += 1;
            }
            Ok(())
        };
        let mut eof = false;
        while !eof {
            let mut block = vec![0u8; BLOCK];
            let mut filled = 0;
            while filled < BLOCK {
                match input.read(&mut block[filled..]) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            block.truncate(filled);
            if block.is_empty() {
                break;
            }
            crc.update(&block);
            raw.update(&block);
            total += block.len() as u64;
            work_tx
                .send((sent, block))
                .map_err(|_| io::Error::other("a compression worker stopped"))?;
            sent += 1;
            // Collect what is done so memory stays bounded.
            while let Ok((seq, result)) = done_rx.try_recv() {
                waiting.insert(seq, result?);
            }
            write_ready(&mut waiting, &mut written, &mut out)?;
        }
        drop(work_tx);
        while written < sent {
            let (seq, result) = done_rx
                .recv()
                .map_err(|_| io::Error::other("a compression worker stopped"))?;
            waiting.insert(seq, result?);
            write_ready(&mut waiting, &mut written, &mut out)?;
        }
        Ok(())
    })?;

    // A final empty stored block ends the deflate stream (every block
    // before it ended byte-aligned), then CRC-32 and size, little-endian.
    out.write_all(&[0x01, 0x00, 0x00, 0xff, 0xff])?;
    out.write_all(&crc.finalize().to_le_bytes())?;
    out.write_all(&(total as u32).to_le_bytes())?;
    out.flush()?;
    Ok(Compressed {
        diff_id: format!("sha256:{:x}", raw.finalize()),
        digest: format!("sha256:{:x}", out.hash.finalize()),
        size: out.len,
        uncompressed_size: total,
    })
}

/// One block as raw deflate ending in a sync flush (never final).
/// Blocks that do not compress (binaries, compressed assets) are stored as
/// they are: deflate would spend most of its time on them and save
/// nothing (zlib stores them in the end too).
fn deflate_block(block: &[u8], level: u32) -> io::Result<Vec<u8>> {
    if incompressible(block) {
        return Ok(stored(block));
    }
    let mut c = Compress::new(Compression::new(level), false);
    let mut out = Vec::with_capacity(block.len() / 2 + 64);
    let mut input = block;
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(4096));
        }
        let before_in = c.total_in();
        let status = c
            .compress_vec(input, &mut out, FlushCompress::Sync)
            .map_err(io::Error::other)?;
        let consumed = (c.total_in() - before_in) as usize;
        input = &input[consumed..];
        // Done when all input is in and the flush had room to finish.
        if input.is_empty() && out.len() < out.capacity() {
            break;
        }
        if let Status::StreamEnd = status {
            break;
        }
    }
    Ok(out)
}

/// Whether fast deflate saves under 3% on three samples of the block
/// (its start, middle and end).
fn incompressible(block: &[u8]) -> bool {
    const SAMPLE: usize = 16 * 1024;
    if block.len() < 4 * SAMPLE {
        return false;
    }
    let starts = [0, block.len() / 2 - SAMPLE / 2, block.len() - SAMPLE];
    starts.iter().all(|&at| {
        let sample = &block[at..at + SAMPLE];
        let mut c = Compress::new(Compression::fast(), false);
        let mut out = Vec::with_capacity(SAMPLE + 1024);
        match c.compress_vec(sample, &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => out.len() * 100 > sample.len() * 97,
            _ => true,
        }
    })
}

/// Stored (uncompressed) deflate blocks, never final: a byte for the
/// header (we are on a byte boundary), the length and its complement.
fn stored(block: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(block.len() + block.len() / 65_535 * 5 + 5);
    for chunk in block.chunks(65_535) {
        let len = chunk.len() as u16;
        out.push(0);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
    len: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hash: Sha256::new(),
            len: 0,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;

    fn data(len: usize) -> Vec<u8> {
        // Half compressible text, half noise.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..len)
            .map(|i| {
                if (i / 4096) % 2 == 0 {
                    b"layer text "[i % 11]
                } else {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                }
            })
            .collect()
    }

    #[test]
    fn any_gzip_reader_reads_it_back() {
        for (len, threads) in [
            (0, 1),
            (1, 2),
            (BLOCK, 2),
            (BLOCK * 3 + 17, 3),
            (5 * BLOCK / 2, 1),
        ] {
            let input = data(len);
            let mut out = Vec::new();
            let c = gzip(&input[..], &mut out, 6, threads).unwrap();
            let mut back = Vec::new();
            GzDecoder::new(&out[..]).read_to_end(&mut back).unwrap();
            assert_eq!(back, input, "{len} bytes, {threads} threads");
            assert_eq!(c.size, out.len() as u64);
            assert_eq!(c.uncompressed_size, len as u64);
            assert_eq!(c.digest, format!("sha256:{:x}", Sha256::digest(&out)));
            assert_eq!(c.diff_id, format!("sha256:{:x}", Sha256::digest(&input)));
        }
    }

    #[test]
    fn incompressible_blocks_are_stored() {
        let mut x: u64 = 88172645463325252;
        let noise: Vec<u8> = (0..3 * BLOCK)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(incompressible(&noise[..BLOCK]));
        assert!(!incompressible(&data(BLOCK)));
        let mut out = Vec::new();
        let c = gzip(&noise[..], &mut out, 6, 2).unwrap();
        // Stored: 5 bytes per 64 KiB, the gzip frame, nothing more.
        assert!(c.size < noise.len() as u64 + noise.len() as u64 / 65_535 * 5 + 64);
        let mut back = Vec::new();
        GzDecoder::new(&out[..]).read_to_end(&mut back).unwrap();
        assert_eq!(back, noise);
    }

    #[test]
    fn the_same_input_gives_the_same_blob_whatever_the_threads() {
        let input = data(3 * BLOCK + 5);
        let a = gzip(&input[..], io::sink(), 6, 1).unwrap();
        let b = gzip(&input[..], io::sink(), 6, 4).unwrap();
        assert_eq!(a, b);
    }
}
