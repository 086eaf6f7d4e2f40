//! Voice activity and endpointing for one speaker: 16 kHz samples in, utterance events out.
//!
//! Sans-IO and clocked by the audio itself: positions are sample counts since the stream
//! started, so the same code serves a live call and a WAV file.
//!
//! Voice activity comes from `earshot` (a small streaming neural VAD on 16 ms frames). An
//! utterance starts after `min_speech_ms` of voiced frames, ends after `min_silence_ms` of
//! unvoiced frames. One that reaches `max_utterance_ms` is split at the longest pause of its
//! last few seconds (never mid-word when there is any pause); the rest carries on as the next
//! utterance, so no audio is transcribed twice. Each utterance keeps `pad_ms` of audio before
//! its first voiced frame, so soft onsets are not clipped.

use std::collections::VecDeque;

pub const SAMPLE_RATE: usize = 16_000;
const VAD_FRAME: usize = 256;
/// How far back from the maximum length to look for a pause to split at.
const SPLIT_SEARCH_MS: u32 = 4000;

#[derive(Clone, Debug, PartialEq)]
pub struct EndpointConfig {
    /// Frame score above which a 16 ms frame counts as voiced.
    pub threshold: f32,
    pub min_speech_ms: u32,
    pub min_silence_ms: u32,
    pub max_utterance_ms: u32,
    pub pad_ms: u32,
    /// How often a partial hypothesis is requested while someone is talking (0: never).
    pub partial_every_ms: u32,
    /// After this much silence in an utterance, its audio is offered early ([`EndpointEvent::Pause`])
    /// so that its final can be recognised while the endpointer still waits for
    /// `min_silence_ms` (0: never). The pause's audio is the final's up to its trailing
    /// silence: `pad_ms` of it, or less when this is shorter.
    pub pause_ms: u32,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            min_speech_ms: 200,
            min_silence_ms: 500,
            max_utterance_ms: 15_000,
            pad_ms: 200,
            partial_every_ms: 800,
            pause_ms: 0,
        }
    }
}

/// Something the endpointer decided.
#[derive(Clone, Debug, PartialEq)]
pub enum EndpointEvent {
    /// Someone started talking. `start` is in samples.
    Started { utterance: u64, start: u64 },
    /// Time for a partial hypothesis: the utterance's audio so far.
    Partial {
        utterance: u64,
        start: u64,
        audio: Vec<f32>,
    },
    /// The speaker paused for `pause_ms`: if the utterance ends at this pause (no voice before
    /// `min_silence_ms`), its `Ended` event has this `end` and exactly this audio.
    Pause {
        utterance: u64,
        start: u64,
        end: u64,
        audio: Vec<f32>,
    },
    /// The utterance ended (silence or maximum length). `end` excludes trailing silence.
    Ended {
        utterance: u64,
        start: u64,
        end: u64,
        audio: Vec<f32>,
    },
}

enum State {
    Silence,
    /// Voiced frames seen, not yet long enough to count as speech.
    Onset {
        since: u64,
        voiced: u32,
    },
    Speech {
        utterance: u64,
        start: u64,
        last_voiced_end: u64,
        silent_frames: u32,
        next_partial: u64,
    },
}

pub struct Endpointer {
    cfg: EndpointConfig,
    vad: Box<earshot::Detector>,
    pending: Vec<f32>,
    /// Position (samples) of the next sample to arrive.
    pos: u64,
    /// Recent audio kept for padding before an onset.
    history: VecDeque<f32>,
    /// Audio of the current utterance, from its padded start.
    current: Vec<f32>,
    /// Voice score of each frame of the current utterance since speech began, with the
    /// position just after the frame.
    scores: Vec<(u64, f32)>,
    state: State,
    next_utterance: u64,
    /// The words before a pause make a whole turn ([`Endpointer::end_early`]): that
    /// utterance, the pause's `end`, and the silence that then ends it.
    early_end: Option<(u64, u64, u32)>,
}

/// One VAD frame, in ms (16).
fn frame_ms() -> u32 {
    (VAD_FRAME * 1000 / SAMPLE_RATE) as u32
}

fn ms(ms: u32) -> u64 {
    ms as u64 * SAMPLE_RATE as u64 / 1000
}

impl Endpointer {
    pub fn new(cfg: EndpointConfig) -> Self {
        Self {
            cfg,
            vad: Box::new(earshot::Detector::default()),
            pending: Vec::with_capacity(VAD_FRAME),
            pos: 0,
            history: VecDeque::new(),
            current: vec![],
            scores: vec![],
            state: State::Silence,
            next_utterance: 1,
            early_end: None,
        }
    }

    /// Samples consumed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    pub fn is_speaking(&self) -> bool {
        matches!(self.state, State::Speech { .. })
    }

    /// Feed audio; returns the events it caused, in order.
    pub fn push(&mut self, samples: &[f32]) -> Vec<EndpointEvent> {
        let mut events = vec![];
        for &s in samples {
            self.pending.push(s.clamp(-1.0, 1.0));
            if self.pending.len() == VAD_FRAME {
                let frame = std::mem::take(&mut self.pending);
                self.frame(&frame, &mut events);
                self.pending = frame;
                self.pending.clear();
            }
        }
        events
    }

    /// The speaker's words up to the pause that ended at `end` (a [`EndpointEvent::Pause`])
    /// make a whole turn: utterance `utterance` ends once that pause has lasted `silence_ms`
    /// (now, if it already has) instead of `min_silence_ms`, with the pause's words (and up to
    /// `pad_ms` of its silence). If the speaker has gone on since, nothing changes.
    pub fn end_early(&mut self, utterance: u64, end: u64, silence_ms: u32) -> Vec<EndpointEvent> {
        let State::Speech {
            utterance: u,
            start,
            last_voiced_end,
            silent_frames,
            ..
        } = self.state
        else {
            return vec![];
        };
        if u != utterance || last_voiced_end != end {
            return vec![];
        }
        if silent_frames * frame_ms() >= silence_ms {
            self.state = State::Silence;
            return vec![self.end(u, start, last_voiced_end)];
        }
        self.early_end = Some((utterance, end, silence_ms));
        vec![]
    }

    /// The stream ended: close any open utterance.
    pub fn finish(&mut self) -> Vec<EndpointEvent> {
        let mut events = vec![];
        if let State::Speech {
            utterance,
            start,
            last_voiced_end,
            ..
        } = self.state
        {
            events.push(self.end(utterance, start, last_voiced_end));
        }
        self.state = State::Silence;
        events
    }

    fn frame(&mut self, frame: &[f32], events: &mut Vec<EndpointEvent>) {
        let frame_start = self.pos;
        self.pos += frame.len() as u64;
        let score = self.vad.predict_f32(frame);
        let voiced = score >= self.cfg.threshold;
        let frame_ms = frame_ms();
        let early_end = self.early_end;

        match &mut self.state {
            State::Silence | State::Onset { .. } => {
                self.history.extend(frame.iter().copied());
                let keep = (ms(self.cfg.pad_ms + self.cfg.min_speech_ms) as usize) + VAD_FRAME;
                while self.history.len() > keep {
                    self.history.pop_front();
                }
                if !voiced {
                    self.state = State::Silence;
                    return;
                }
                let (since, n) = match self.state {
                    State::Onset { since, voiced } => (since, voiced + 1),
                    _ => (frame_start, 1),
                };
                if n * frame_ms < self.cfg.min_speech_ms {
                    self.state = State::Onset { since, voiced: n };
                    return;
                }
                // Speech: the utterance starts at the onset, minus padding.
                let start = since.saturating_sub(ms(self.cfg.pad_ms));
                let have = (self.pos - start) as usize;
                let skip = self.history.len().saturating_sub(have);
                let start = self.pos - (self.history.len() - skip) as u64;
                self.current = self.history.iter().skip(skip).copied().collect();
                self.history.clear();
                self.scores.clear();
                let utterance = self.next_utterance;
                self.next_utterance += 1;
                self.state = State::Speech {
                    utterance,
                    start,
                    last_voiced_end: self.pos,
                    silent_frames: 0,
                    next_partial: self.pos + ms(self.cfg.partial_every_ms),
                };
                events.push(EndpointEvent::Started { utterance, start });
            }
            State::Speech {
                utterance,
                start,
                last_voiced_end,
                silent_frames,
                next_partial,
            } => {
                self.current.extend_from_slice(frame);
                self.scores.push((self.pos, score));
                if voiced {
                    *last_voiced_end = self.pos;
                    *silent_frames = 0;
                } else {
                    *silent_frames += 1;
                }
                let (u, s, lve) = (*utterance, *start, *last_voiced_end);
                let silence_ms = match early_end {
                    Some((eu, end, ms)) if eu == u && end == lve => ms.min(self.cfg.min_silence_ms),
                    _ => self.cfg.min_silence_ms,
                };
                if *silent_frames * frame_ms >= silence_ms {
                    events.push(self.end(u, s, lve));
                    self.state = State::Silence;
                    return;
                }
                if self.pos - s >= ms(self.cfg.max_utterance_ms) {
                    self.split(u, s, events);
                    return;
                }
                if self.cfg.pause_ms > 0 && *silent_frames == self.cfg.pause_ms.div_ceil(frame_ms) {
                    events.push(EndpointEvent::Pause {
                        utterance: u,
                        start: s,
                        end: lve,
                        audio: ending(&self.current, self.cfg.pad_ms, s, lve).to_vec(),
                    });
                }
                // Past 10 s a partial costs too much to repeat; the final follows soon.
                let partial_cap = ms(10_000);
                if self.cfg.partial_every_ms > 0
                    && self.pos >= *next_partial
                    && self.pos - s <= partial_cap
                {
                    *next_partial = self.pos + ms(self.cfg.partial_every_ms);
                    events.push(EndpointEvent::Partial {
                        utterance: u,
                        start: s,
                        audio: self.current.clone(),
                    });
                }
            }
        }
    }

    /// The utterance is too long: end it at the best pause of its last seconds and carry the
    /// rest on as a new utterance.
    fn split(&mut self, utterance: u64, start: u64, events: &mut Vec<EndpointEvent>) {
        let cut = self.best_cut(start);
        let offset = ((cut - start) as usize).min(self.current.len());
        let rest = self.current.split_off(offset);
        let audio = std::mem::replace(&mut self.current, rest);
        events.push(EndpointEvent::Ended {
            utterance,
            start,
            end: cut,
            audio,
        });
        self.scores.retain(|&(p, _)| p > cut);
        let next = self.next_utterance;
        self.next_utterance += 1;
        let voiced_after = self
            .scores
            .iter()
            .rev()
            .find(|(_, sc)| *sc >= self.cfg.threshold)
            .map_or(cut, |&(p, _)| p);
        self.state = State::Speech {
            utterance: next,
            start: cut,
            last_voiced_end: voiced_after,
            silent_frames: self
                .scores
                .iter()
                .rev()
                .take_while(|(_, sc)| *sc < self.cfg.threshold)
                .count() as u32,
            next_partial: self.pos + ms(self.cfg.partial_every_ms),
        };
        events.push(EndpointEvent::Started {
            utterance: next,
            start: cut,
        });
    }

    /// Where to split an over-long utterance: the middle of the longest run of unvoiced frames
    /// in its last `SPLIT_SEARCH_MS` (the later one on a tie), or failing any pause the frame
    /// the VAD found least voice-like. Never in the first second of the utterance.
    fn best_cut(&self, start: u64) -> u64 {
        let from = self
            .pos
            .saturating_sub(ms(SPLIT_SEARCH_MS))
            .max(start + ms(1000));
        let window: Vec<(u64, f32)> = self
            .scores
            .iter()
            .copied()
            .filter(|&(p, _)| p > from)
            .collect();
        let (mut best, mut best_len, mut run_start, mut run_len) = (None, 0usize, 0usize, 0usize);
        for (i, &(_, sc)) in window.iter().enumerate() {
            if sc < self.cfg.threshold {
                if run_len == 0 {
                    run_start = i;
                }
                run_len += 1;
                if run_len >= best_len {
                    best_len = run_len;
                    best = Some(run_start + run_len / 2);
                }
            } else {
                run_len = 0;
            }
        }
        let idx = best.or_else(|| {
            window
                .iter()
                .enumerate()
                .min_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
                .map(|(i, _)| i)
        });
        match idx {
            // Cut at the start of that frame.
            Some(i) => window[i].0 - VAD_FRAME as u64,
            None => self.pos,
        }
    }

    fn end(&mut self, utterance: u64, start: u64, end: u64) -> EndpointEvent {
        self.early_end = None;
        let keep = ending(&self.current, self.cfg.pad_ms, start, end).len();
        let mut audio = std::mem::take(&mut self.current);
        audio.truncate(keep);
        EndpointEvent::Ended {
            utterance,
            start,
            end,
            audio,
        }
    }
}

/// An utterance's audio (`current`, from sample `start`) if it ends at `end`: a little of the
/// trailing silence is kept, for Whisper likes a clean ending.
fn ending(current: &[f32], pad_ms: u32, start: u64, end: u64) -> &[f32] {
    let keep = ((end - start) + ms(pad_ms)).min(current.len() as u64);
    &current[..keep as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIBRIVOX: &str = "/usr/share/pocketsphinx/test/data/librivox";

    /// All LibriVox clips back to back: ~25 s of read speech with short pauses.
    fn speech() -> Option<Vec<f32>> {
        let mut names: Vec<_> = std::fs::read_dir(LIBRIVOX)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "wav"))
            .collect();
        names.sort();
        let mut out = vec![];
        for n in names {
            out.extend(crate::speech::wav::read_16k_mono(&n).ok()?);
        }
        Some(out)
    }

    #[test]
    fn long_turns_are_split_at_a_pause_without_losing_or_repeating_audio() {
        let Some(audio) = speech() else {
            panic!("pocketsphinx-testdata must be installed (make test installs it)");
        };
        let cfg = EndpointConfig {
            min_silence_ms: 3000, // pauses never end the turn: only the length limit does
            max_utterance_ms: 6000,
            partial_every_ms: 0,
            ..EndpointConfig::default()
        };
        let mut ep = Endpointer::new(cfg.clone());
        let mut vad = earshot::Detector::default();
        let scores: Vec<f32> = audio
            .chunks_exact(VAD_FRAME)
            .map(|f| vad.predict_f32(f))
            .collect();
        let mut events = vec![];
        for c in audio.chunks(1000) {
            events.extend(ep.push(c));
        }
        events.extend(ep.finish());
        let ended: Vec<(u64, u64, usize)> = events
            .iter()
            .filter_map(|e| match e {
                EndpointEvent::Ended {
                    start, end, audio, ..
                } => Some((*start, *end, audio.len())),
                _ => None,
            })
            .collect();
        assert!(ended.len() >= 4, "{ended:?}");
        let mut splits = 0;
        for w in ended.windows(2) {
            let ((s0, e0, n0), (s1, _, _)) = (w[0], w[1]);
            assert!(e0 <= s1, "utterances overlap: {ended:?}");
            assert!(
                n0 as u64 <= e0 - s0 + ms(cfg.pad_ms),
                "audio beyond the end"
            );
            if e0 == s1 {
                // A split: the cut must sit in a pause, where the VAD heard no voice.
                splits += 1;
                let frame = (e0 as usize / VAD_FRAME).min(scores.len() - 1);
                assert!(
                    scores[frame] < cfg.threshold,
                    "cut at {e0} is mid-speech (score {})",
                    scores[frame]
                );
                assert!(e0 - s0 <= ms(cfg.max_utterance_ms));
            }
        }
        assert!(splits >= 2, "{ended:?}");
    }

    #[test]
    fn a_pause_offers_exactly_the_audio_its_utterance_ends_with() {
        let Some(audio) = speech() else {
            panic!("pocketsphinx-testdata must be installed (make test installs it)");
        };
        let cfg = EndpointConfig {
            pause_ms: 200,
            max_utterance_ms: 60_000, // only silence ends utterances here
            ..EndpointConfig::default()
        };
        // Quiet gaps, so that several utterances end in silence.
        let audio: Vec<f32> = audio
            .chunks(4 * SAMPLE_RATE)
            .flat_map(|c| c.iter().copied().chain(std::iter::repeat_n(0.0, 700 * 16)))
            .collect();
        let mut ep = Endpointer::new(cfg);
        let mut events = vec![];
        for c in audio.chunks(1000) {
            events.extend(ep.push(c));
        }
        let mut pauses: Vec<(u64, u64, Vec<f32>)> = vec![];
        let (mut ended, mut matched) = (0, 0);
        for e in events {
            match e {
                EndpointEvent::Pause {
                    utterance,
                    end,
                    audio,
                    ..
                } => pauses.push((utterance, end, audio)),
                EndpointEvent::Ended {
                    utterance,
                    end,
                    audio,
                    ..
                } => {
                    ended += 1;
                    let last = pauses.iter().rev().find(|p| p.0 == utterance);
                    let last = last.expect("every utterance that ends in silence paused first");
                    assert_eq!(last.1, end, "the last pause is where it ended");
                    assert!(last.2 == audio, "the early audio is the final audio");
                    matched += 1;
                }
                _ => {}
            }
        }
        assert!(
            ended >= 3 && matched == ended,
            "{ended} ended, {matched} matched"
        );
        assert!(pauses.len() > ended, "some pauses were not the end");
    }

    /// LibriVox in 4 s pieces with 700 ms of quiet after each.
    fn speech_with_gaps() -> Vec<f32> {
        let Some(audio) = speech() else {
            panic!("pocketsphinx-testdata must be installed (make test installs it)");
        };
        audio
            .chunks(4 * SAMPLE_RATE)
            .flat_map(|c| c.iter().copied().chain(std::iter::repeat_n(0.0, 700 * 16)))
            .collect()
    }

    #[test]
    fn a_whole_turn_ends_at_its_pause_sooner_with_the_same_audio() {
        let cfg = EndpointConfig {
            pause_ms: 120,
            max_utterance_ms: 60_000,
            partial_every_ms: 0,
            ..EndpointConfig::default()
        };
        let audio = speech_with_gaps();
        // Every pause is declared a whole turn, ending after 300 ms instead of 500.
        let mut ep = Endpointer::new(cfg.clone());
        let mut pauses: Vec<(u64, u64, Vec<f32>)> = vec![];
        let mut ended = vec![];
        for c in audio.chunks(VAD_FRAME) {
            for e in ep.push(c) {
                match e {
                    EndpointEvent::Pause {
                        utterance,
                        end,
                        audio,
                        ..
                    } => {
                        // Asked at once: the pause is 120 ms old, so it ends later.
                        assert!(ep.end_early(utterance, end, 300).is_empty());
                        pauses.push((utterance, end, audio));
                    }
                    EndpointEvent::Ended {
                        utterance,
                        end,
                        audio,
                        ..
                    } => ended.push((utterance, end, audio, ep.position())),
                    _ => {}
                }
            }
        }
        assert!(ended.len() >= 3, "{} ended", ended.len());
        for (u, end, audio, at) in &ended {
            let waited = (at - end) * 1000 / SAMPLE_RATE as u64;
            assert!(
                (300..340).contains(&waited),
                "utterance {u} ended {waited} ms after its voice"
            );
            let p = pauses
                .iter()
                .rev()
                .find(|p| p.0 == *u)
                .expect("paused first");
            assert_eq!(p.1, *end);
            assert!(
                audio.starts_with(&p.2),
                "the early audio is the final's, less some trailing silence"
            );
        }

        // Without the word, the same audio ends each utterance after the full 500 ms.
        let mut plain = Endpointer::new(cfg.clone());
        let mut waits = vec![];
        for c in audio.chunks(VAD_FRAME) {
            for e in plain.push(c) {
                if let EndpointEvent::Ended { end, .. } = e {
                    waits.push((plain.position() - end) * 1000 / SAMPLE_RATE as u64);
                }
            }
        }
        assert!(waits.iter().all(|w| *w >= 500), "{waits:?}");

        // Declared after the silence is already long enough: it ends there and then.
        let mut late = Endpointer::new(cfg);
        let mut pause = None;
        let mut got = None;
        'outer: for c in audio.chunks(VAD_FRAME) {
            for e in late.push(c) {
                if let EndpointEvent::Pause { utterance, end, .. } = e {
                    pause = Some((utterance, end));
                }
            }
            if let Some((u, end)) = pause {
                if (late.position() - end) * 1000 / SAMPLE_RATE as u64 >= 250 {
                    let ev = late.end_early(u, end, 200);
                    if !ev.is_empty() {
                        got = Some(ev);
                        break 'outer;
                    }
                    pause = None; // the speaker went on after that pause
                }
            }
        }
        let ev = got.expect("a pause that lasted 250 ms");
        assert!(matches!(ev[..], [EndpointEvent::Ended { .. }]), "{ev:?}");
        assert!(!late.is_speaking());
    }

    #[test]
    fn a_turn_declared_whole_goes_on_when_the_speaker_does() {
        let cfg = EndpointConfig {
            pause_ms: 120,
            max_utterance_ms: 60_000,
            partial_every_ms: 0,
            ..EndpointConfig::default()
        };
        let Some(speech) = speech() else {
            panic!("pocketsphinx-testdata must be installed (make test installs it)");
        };
        // Speech, 250 ms of quiet, more speech, then a long quiet.
        let a = &speech[..2 * SAMPLE_RATE];
        let b = &speech[2 * SAMPLE_RATE..4 * SAMPLE_RATE];
        let gap_at = a.len() as u64;
        let mut audio = a.to_vec();
        audio.extend(std::iter::repeat_n(0.0, 250 * 16));
        audio.extend_from_slice(b);
        audio.extend(std::iter::repeat_n(0.0, 1000 * 16));
        let mut ep = Endpointer::new(cfg);
        let (mut declared, mut ends, mut pauses) = (None, vec![], vec![]);
        for c in audio.chunks(VAD_FRAME) {
            for e in ep.push(c) {
                match e {
                    // The pause in the quiet gap is declared a whole turn; the speaker goes on.
                    EndpointEvent::Pause { utterance, end, .. }
                        if end + ms(300) >= gap_at && end <= gap_at + ms(150) =>
                    {
                        assert!(ep.end_early(utterance, end, 300).is_empty());
                        declared = Some((utterance, end));
                    }
                    EndpointEvent::Ended { end, .. } => ends.push(end),
                    EndpointEvent::Pause { end, .. } => pauses.push(end),
                    _ => {}
                }
            }
            // Asked again once the speaker is back: still nothing.
            if let Some((u, end)) = declared {
                if ep.position() > gap_at + ms(400) {
                    assert!(ep.end_early(u, end, 0).is_empty());
                }
            }
        }
        let (_, end) =
            declared.unwrap_or_else(|| panic!("a pause in the gap at {gap_at}: {pauses:?}"));
        assert!(
            ends.iter().all(|e| *e > end),
            "ended at the declared pause {end}: {ends:?}"
        );
        assert!(ends.iter().any(|e| *e > gap_at + ms(1000)), "{ends:?}");
    }
}
