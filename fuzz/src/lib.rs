//! Shared pieces of Switchboard's fuzz targets (`fuzz_targets/`); see `docs/fuzzing.md`.

#![forbid(unsafe_code)]

pub mod audio_script;
