//! The data path's threads: one single-threaded tokio runtime per worker,
//! as nginx runs one event loop per worker process. A client connection,
//! the request it carries and the upstream connection that serves it all
//! stay on one thread, so the data path never wakes another thread.

use std::io;
use std::sync::mpsc;

use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

/// Worker threads; they stop (and close their connections) when dropped.
pub(crate) struct Workers {
    handles: Vec<Handle>,
    stop: CancellationToken,
}

impl Workers {
    pub fn start(count: usize) -> io::Result<Workers> {
        // Dropped on an error: the threads already started stop.
        let mut workers = Workers {
            handles: Vec::with_capacity(count),
            stop: CancellationToken::new(),
        };
        for i in 0..count.max(1) {
            let (tx, rx) = mpsc::channel();
            let stop = workers.stop.clone();
            std::thread::Builder::new()
                .name(format!("slipway-router-{i}"))
                .spawn(move || {
                    let runtime = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(r) => r,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = tx.send(Ok(runtime.handle().clone()));
                    runtime.block_on(stop.cancelled());
                })?;
            let handle = rx
                .recv()
                .map_err(|_| io::Error::other("a router worker thread ended at start"))??;
            workers.handles.push(handle);
        }
        Ok(workers)
    }

    pub fn len(&self) -> usize {
        self.handles.len()
    }

    pub fn handle(&self, i: usize) -> &Handle {
        &self.handles[i]
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        // Each thread leaves `block_on` and drops its runtime with every
        // task on it; not joined, so that dropping a router never blocks.
        self.stop.cancel();
    }
}
