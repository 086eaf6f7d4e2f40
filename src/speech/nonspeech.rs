//! Sounds the voice detector takes for speech but are not: steady tones (dial, busy and ring
//! tones, DTMF digits, a test tone) and mains hum. Whisper turns them into words ("A", "you",
//! "Thank you."), so an utterance that is mostly such frames never reaches the recogniser.
//!
//! Per 64 ms frame of 16 kHz audio with energy in it (hop 32 ms): whether it is *steady* (its
//! power spectrum has a cosine of at least 0.95 with a neighbouring frame's: a tone or hum
//! does not change, a voice's pitch and formants move), and if so, the share of its power
//! within ±2 bins (±31 Hz) of its two strongest peaks (a pure or dual tone puts nearly all of
//! it there) and the share below 250 Hz (hum). An utterance is non-speech when at least 80% of
//! its active frames are steady tone or hum.
//!
//! Both tests are needed: with the share alone (and 32 ms frames, as first written), a low
//! voice's first harmonics fill the two peaks' bins, and real voices such as the ALSA "Front
//! left" prompt were dropped as tones (docs/benchmarks.md).

use realfft::RealFftPlanner;

const FRAME: usize = 1024;
const HOP: usize = 512;
/// Cosine between neighbouring frames' power spectra at or above which a frame is steady.
const STEADY: f32 = 0.95;
/// Share of a frame's power near its two strongest peaks above which the frame is a tone.
const TONAL: f32 = 0.85;
/// Share of power below 250 Hz above which the frame is hum.
const HUM: f32 = 0.9;
/// Share of active frames that must be tone or hum.
const MOSTLY: f32 = 0.8;

/// Per-frame verdicts of one utterance.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Profile {
    pub active_frames: usize,
    pub tonal_frames: usize,
    pub hum_frames: usize,
}

impl Profile {
    pub fn is_non_speech(&self) -> bool {
        self.active_frames > 0
            && (self.tonal_frames + self.hum_frames) as f32 >= MOSTLY * self.active_frames as f32
    }
}

pub fn profile(audio: &[f32]) -> Profile {
    let mut p = Profile::default();
    if audio.len() < FRAME {
        return p;
    }
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(FRAME);
    let window: Vec<f32> = (0..FRAME)
        .map(|i| {
            let x = std::f32::consts::PI * 2.0 * i as f32 / FRAME as f32;
            0.5 - 0.5 * x.cos()
        })
        .collect();
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    // Frames quieter than 1/30 of the loudest are pauses, not evidence either way.
    let energies: Vec<f32> = audio
        .windows(FRAME)
        .step_by(HOP)
        .map(|f| f.iter().map(|x| x * x).sum::<f32>())
        .collect();
    let loudest = energies.iter().cloned().fold(0f32, f32::max);
    if loudest <= 1e-6 {
        return p;
    }
    // The power spectrum of each frame with energy in it (`None`: a pause).
    let spectra: Vec<Option<Vec<f32>>> = audio
        .windows(FRAME)
        .step_by(HOP)
        .zip(&energies)
        .map(|(frame, energy)| {
            if *energy < loudest / 30.0 {
                return None;
            }
            for ((i, x), w) in input.iter_mut().zip(frame).zip(&window) {
                *i = x * w;
            }
            fft.process(&mut input, &mut spectrum).ok()?;
            let mut power: Vec<f32> = spectrum.iter().map(|c| c.norm_sqr()).collect();
            power[0] = 0.0; // DC
            (power.iter().sum::<f32>() > 0.0).then_some(power)
        })
        .collect();
    let hz_per_bin = 16_000.0 / FRAME as f32;
    let low_bins = (250.0 / hz_per_bin) as usize;
    for (i, power) in spectra.iter().enumerate() {
        let Some(power) = power else { continue };
        p.active_frames += 1;
        let neighbours = [i.checked_sub(1), Some(i + 1)];
        let steady = neighbours
            .into_iter()
            .flatten()
            .filter_map(|j| spectra.get(j).and_then(|s| s.as_deref()))
            .any(|other| cosine(power, other) >= STEADY);
        if !steady {
            continue;
        }
        let total: f32 = power.iter().sum();
        let low: f32 = power[..low_bins].iter().sum();
        if low / total >= HUM {
            p.hum_frames += 1;
            continue;
        }
        // The strongest peak, then the strongest outside its ±2 bins.
        let near = |peak: usize, k: usize| k.abs_diff(peak) <= 2;
        let argmax = |skip: Option<usize>| {
            power
                .iter()
                .enumerate()
                .filter(|(k, _)| skip.is_none_or(|s| !near(s, *k)))
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(k, _)| k)
        };
        let Some(first) = argmax(None) else { continue };
        let second = argmax(Some(first));
        let peaks: f32 = power
            .iter()
            .enumerate()
            .filter(|(k, _)| near(first, *k) || second.is_some_and(|s| near(s, *k)))
            .map(|(_, v)| v)
            .sum();
        if peaks / total >= TONAL {
            p.tonal_frames += 1;
        }
    }
    p
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum();
    let nb: f32 = b.iter().map(|x| x * x).sum();
    dot / (na * nb).sqrt().max(f32::MIN_POSITIVE)
}

/// Is this utterance (16 kHz mono) a tone or hum rather than a voice?
pub fn is_non_speech(audio: &[f32]) -> bool {
    profile(audio).is_non_speech()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freqs: &[f32], secs: f32, amp: f32) -> Vec<f32> {
        (0..(secs * 16_000.0) as usize)
            .map(|i| {
                let t = i as f32 / 16_000.0;
                freqs
                    .iter()
                    .map(|f| (2.0 * std::f32::consts::PI * f * t).sin())
                    .sum::<f32>()
                    * amp
                    / freqs.len() as f32
            })
            .collect()
    }

    #[test]
    fn tones_and_hum_are_not_speech() {
        assert!(is_non_speech(&tone(&[440.0], 2.0, 0.5)), "test tone");
        assert!(is_non_speech(&tone(&[350.0, 440.0], 3.0, 0.3)), "dial tone");
        assert!(is_non_speech(&tone(&[697.0, 1209.0], 0.3, 0.3)), "DTMF 1");
        assert!(is_non_speech(&tone(&[1000.0], 1.0, 0.05)), "quiet tone");
        assert!(
            is_non_speech(&tone(&[50.0, 100.0, 150.0], 2.0, 0.4)),
            "mains hum"
        );
    }

    #[test]
    fn cadenced_ring_and_busy_tones_are_not_speech() {
        let cadence = |mut x: Vec<f32>, on: f32, off: f32| {
            let period = ((on + off) * 16_000.0) as usize;
            for (i, v) in x.iter_mut().enumerate() {
                if (i % period) as f32 >= on * 16_000.0 {
                    *v = 0.0;
                }
            }
            x
        };
        let ring = cadence(tone(&[440.0, 480.0], 6.0, 0.3), 2.0, 4.0);
        assert!(is_non_speech(&ring), "ring tone {:?}", profile(&ring));
        let busy = cadence(tone(&[480.0, 620.0], 3.0, 0.3), 0.5, 0.5);
        assert!(is_non_speech(&busy), "busy tone {:?}", profile(&busy));
    }

    #[test]
    fn a_low_voice_with_few_harmonics_is_speech() {
        // Most of a low voice's power is in its first harmonics, which fill the bins of two
        // peaks as a tone's would; its pitch moving (a glide and vibrato) is what tells it apart.
        let mut phase = 0.0f32;
        let audio: Vec<f32> = (0..16_000)
            .map(|i| {
                let t = i as f32 / 16_000.0;
                let f0 = 120.0 - 30.0 * t + 8.0 * (2.0 * std::f32::consts::PI * 5.0 * t).sin();
                phase += 2.0 * std::f32::consts::PI * f0 / 16_000.0;
                [1.0, 0.8, 0.4, 0.2, 0.1, 0.05]
                    .iter()
                    .enumerate()
                    .map(|(k, a)| a * ((k + 1) as f32 * phase).sin())
                    .sum::<f32>()
                    * 0.3
            })
            .collect();
        let p = profile(&audio);
        assert!(!p.is_non_speech(), "{p:?}");
    }

    #[test]
    fn a_voiced_sound_with_harmonics_and_formants_is_speech() {
        // A crude vowel: 120 Hz harmonics shaped by formants at 700 and 1200 Hz, vibrato.
        let audio: Vec<f32> = (0..32_000)
            .map(|i| {
                let t = i as f32 / 16_000.0;
                let f0 = 120.0 + 8.0 * (2.0 * std::f32::consts::PI * 5.0 * t).sin();
                (1..30)
                    .map(|h| {
                        let f = f0 * h as f32;
                        let g = (-((f - 700.0) / 250.0).powi(2)).exp()
                            + 0.6 * (-((f - 1200.0) / 300.0).powi(2)).exp()
                            + 0.05;
                        g * (2.0 * std::f32::consts::PI * f * t).sin()
                    })
                    .sum::<f32>()
                    * 0.05
            })
            .collect();
        let p = profile(&audio);
        assert!(!p.is_non_speech(), "{p:?}");
        assert!(!is_non_speech(&[0.0; 8000]), "silence is not evidence");
    }
}
