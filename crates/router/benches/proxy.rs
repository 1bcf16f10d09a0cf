//! The router against nginx under wrk: written in the next change.
fn main() {
    eprintln!("the proxy benchmark is not written yet");
}
