//! The parts of the `switchboard` binary that benchmarks and tools use as a library: the live
//! speech pipeline. Everything else (HTTP, WebSocket sessions, storage) lives in the binary.

#![forbid(unsafe_code)]

pub mod speech;
