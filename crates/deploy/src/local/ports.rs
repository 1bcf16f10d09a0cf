//! Loopback ports for instances: ones the kernel says are free now, and
//! that no other instance of this fleet holds (an instance waiting to be
//! restarted keeps its port).

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::Mutex;

#[derive(Debug, Default)]
pub(crate) struct Ports {
    held: Mutex<BTreeSet<u16>>,
}

impl Ports {
    /// A free port, held until [`Ports::release`].
    pub fn take(&self) -> std::io::Result<u16> {
        for _ in 0..100 {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
                .local_addr()?
                .port();
            if self.lock().insert(port) {
                return Ok(port);
            }
        }
        Err(std::io::Error::other(
            "no free loopback port found in 100 tries",
        ))
    }

    /// Holds a port an instance already has (an adopted one).
    pub fn hold(&self, port: u16) {
        self.lock().insert(port);
    }

    pub fn release(&self, port: u16) {
        self.lock().remove(&port);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<u16>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_port_is_not_given_twice() {
        let ports = Ports::default();
        let a = ports.take().unwrap();
        let b = ports.take().unwrap();
        assert_ne!(a, b);
        ports.release(a);
        assert!(!ports.lock().contains(&a));
    }
}
