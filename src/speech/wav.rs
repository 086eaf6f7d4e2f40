//! Reading recordings for the offline command: any sample rate, mono or stereo, integer or
//! float WAV, converted to 16 kHz mono f32.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("cannot read {path}: {why}")]
    Unreadable { path: String, why: String },
    #[error("{path}: unsupported WAV ({why})")]
    Unsupported { path: String, why: String },
}

/// Decode `path` to 16 kHz mono samples in [-1, 1].
pub fn read_16k_mono(path: &Path) -> Result<Vec<f32>, WavError> {
    let p = path.display().to_string();
    let unreadable = |why: String| WavError::Unreadable {
        path: p.clone(),
        why,
    };
    let mut reader = hound::WavReader::open(path).map_err(|e| unreadable(e.to_string()))?;
    let spec = reader.spec();
    if spec.channels == 0 || spec.sample_rate < 4000 || spec.sample_rate > 384_000 {
        return Err(WavError::Unsupported {
            path: p,
            why: format!("{} channels at {} Hz", spec.channels, spec.sample_rate),
        });
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| unreadable(e.to_string()))?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(8, 32) - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(|e| unreadable(e.to_string()))?
        }
    };
    let ch = spec.channels as usize;
    let mono: Vec<f32> = interleaved
        .chunks_exact(ch)
        .map(|f| f.iter().sum::<f32>() / ch as f32)
        .collect();
    resample(&mono, spec.sample_rate as usize, 16_000)
        .map_err(|why| WavError::Unsupported { path: p, why })
}

/// Resample a mono clip.
pub fn resample(mono: &[f32], from: usize, to: usize) -> Result<Vec<f32>, String> {
    if from == to || mono.is_empty() {
        return Ok(mono.to_vec());
    }
    let mut r = Fft::<f32>::new(from, to, 1024, 1, FixedSync::Input).map_err(|e| e.to_string())?;
    let input = InterleavedSlice::new(mono, 1, mono.len()).map_err(|e| e.to_string())?;
    let out = r
        .process_all(&input, mono.len(), None)
        .map_err(|e| e.to_string())?;
    Ok(out.take_data())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resamples_a_tone_keeping_its_pitch() {
        let sr = 44_100;
        let tone: Vec<f32> = (0..sr)
            .map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / sr as f32).sin() * 0.5)
            .collect();
        let out = resample(&tone, sr, 16_000).unwrap();
        assert!((out.len() as i64 - 16_000).abs() < 50, "{}", out.len());
        // Zero crossings per second ≈ 2 × 440.
        let zc = out
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        assert!((860..=900).contains(&zc), "{zc}");
    }
}
