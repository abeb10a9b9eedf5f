//! Capturing what the app logs during one test.
//!
//! One global subscriber for the whole test binary, writing into a buffer
//! owned by the current thread's capture (if any). A per-test thread-local
//! `set_default` subscriber loses events when tests run in parallel:
//! tracing caches a callsite's interest from whichever dispatchers exist when
//! it is first hit on any thread, so an event first seen by a test without a
//! subscriber could be cached as "never" for the test that captures. With a
//! global subscriber every callsite is always of interest.
//!
//! Tests that capture run on a `current_thread` runtime, so the server's
//! tasks write on the test's own thread.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, Once};

thread_local! {
    static CAPTURE: RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { RefCell::new(None) };
}

/// Everything logged on this thread while it lives.
pub struct Capture(Arc<Mutex<Vec<u8>>>);

/// Starts capturing this thread's log lines (the app's own at TRACE, its
/// dependencies' at DEBUG).
pub fn capture() -> Capture {
    install();
    let buf = Arc::new(Mutex::new(Vec::new()));
    CAPTURE.with(|c| *c.borrow_mut() = Some(buf.clone()));
    Capture(buf)
}

impl Capture {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        CAPTURE.with(|c| *c.borrow_mut() = None);
    }
}

struct ThreadWriter;

impl Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some(b) = &*c.borrow() {
                b.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,sf_inbox=trace,sf_sandbox=trace",
            ))
            .with_ansi(false)
            .with_writer(|| ThreadWriter)
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in the test binary");
    });
}
