//! slipway's state on disk.
