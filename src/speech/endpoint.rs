//! Voice activity and endpointing for one speaker: 16 kHz samples in, utterance events out.
//!
//! Sans-IO and clocked by the audio itself: positions are sample counts since the stream
//! started, so the same code serves a live call and a WAV file.
//!
//! Voice activity comes from `earshot` (a small streaming neural VAD on 16 ms frames). An
//! utterance starts after `min_speech_ms` of voiced frames, ends after `min_silence_ms` of
//! unvoiced frames, and is cut at `max_utterance_ms`. Each utterance keeps `pad_ms` of audio
//! before its first voiced frame, so soft onsets are not clipped.

use std::collections::VecDeque;

pub const SAMPLE_RATE: usize = 16_000;
const VAD_FRAME: usize = 256;

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
    state: State,
    next_utterance: u64,
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
            state: State::Silence,
            next_utterance: 1,
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
        let voiced = self.vad.predict_f32(frame) >= self.cfg.threshold;
        let frame_ms = (VAD_FRAME * 1000 / SAMPLE_RATE) as u32;

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
                if voiced {
                    *last_voiced_end = self.pos;
                    *silent_frames = 0;
                } else {
                    *silent_frames += 1;
                }
                let (u, s, lve) = (*utterance, *start, *last_voiced_end);
                let too_long = self.pos - s >= ms(self.cfg.max_utterance_ms);
                if *silent_frames * frame_ms >= self.cfg.min_silence_ms || too_long {
                    let end = if too_long { self.pos } else { lve };
                    events.push(self.end(u, s, end));
                    self.state = State::Silence;
                    return;
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

    fn end(&mut self, utterance: u64, start: u64, end: u64) -> EndpointEvent {
        // Keep a little of the trailing silence: Whisper likes a clean ending.
        let keep = ((end - start) + ms(self.cfg.pad_ms)).min(self.current.len() as u64);
        let mut audio = std::mem::take(&mut self.current);
        audio.truncate(keep as usize);
        EndpointEvent::Ended {
            utterance,
            start,
            end,
            audio,
        }
    }
}
