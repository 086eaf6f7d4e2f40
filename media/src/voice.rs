//! A server-side publication: a participant with no peer connection (the voice bot, a queue
//! announcement) whose audio is PCM from the server, encoded to Opus and paced as RTP.
//!
//! The voice's task ticks every 20 ms. Each tick it advances the RTP timestamp by one frame
//! (960 at Opus's 48 kHz clock) whether or not it sends, so a pause between prompts shows as
//! the right gap in time; when it has audio it encodes one frame and forwards it through the
//! voice's [`Source`] exactly like a browser's microphone. The first packet after a pause
//! carries the marker bit (start of a talk spurt).

use crate::metrics::MediaMetrics;
use crate::plan::Kind;
use crate::source::Source;
use crate::{MediaError, Result};
use rtc::rtp::header::Header;
use rtc::rtp::Packet;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use vocab::{ParticipantId, ParticipantKind};

/// Sample rates a voice accepts (Opus encodes each natively).
pub const VOICE_RATES: [u32; 5] = [8000, 12000, 16000, 24000, 48000];

/// Opus payload type used by voices; each subscriber's slot rewrites it to its own.
const PT: u8 = 111;

enum Command {
    Play { pcm: Arc<[i16]>, rate: u32 },
    Stop,
    Gain(f32),
}

/// A server-side voice in a room. Dropping it (or the room closing) ends its task.
pub struct Voice {
    pub(crate) source: Arc<Source>,
    tx: mpsc::UnboundedSender<Command>,
    /// Clips queued or playing: raised by `play` before the task sees the clip, lowered by the
    /// task when a clip is sent or dropped.
    pending: Arc<watch::Sender<usize>>,
}

impl Voice {
    pub(crate) fn spawn(id: ParticipantId, kind: ParticipantKind, metrics: &MediaMetrics) -> Self {
        let ssrc: u32 = rand::random();
        let source = Arc::new(Source::new(id, kind, Kind::Audio, None, ssrc, metrics));
        let (tx, rx) = mpsc::unbounded_channel();
        let pending = Arc::new(watch::Sender::new(0usize));
        tokio::spawn(run(Arc::downgrade(&source), ssrc, rx, pending.clone()));
        Self {
            source,
            tx,
            pending,
        }
    }

    pub fn id(&self) -> &ParticipantId {
        &self.source.publisher
    }

    pub fn kind(&self) -> ParticipantKind {
        self.source.publisher_kind
    }

    /// Queue mono PCM at `rate` Hz (one of [`VOICE_RATES`]) after whatever is playing. A
    /// prompt played again and again is shared, not copied (`Arc<[i16]>`).
    pub fn play(&self, pcm: impl Into<Arc<[i16]>>, rate: u32) -> Result<()> {
        let pcm = pcm.into();
        if !VOICE_RATES.contains(&rate) {
            return Err(MediaError::BadAudio(format!(
                "sample rate {rate} Hz; use one of {VOICE_RATES:?}"
            )));
        }
        if pcm.is_empty() {
            return Ok(());
        }
        self.pending.send_modify(|n| *n += 1);
        self.tx.send(Command::Play { pcm, rate }).map_err(|_| {
            self.pending.send_modify(|n| *n = n.saturating_sub(1));
            MediaError::BadAudio("the voice has ended".into())
        })
    }

    /// Drop everything queued and fall silent (barge-in: the customer started talking).
    pub fn stop(&self) {
        let _ = self.tx.send(Command::Stop);
    }

    /// Play at this fraction of the audio's level from the next frame on (1.0: as it is); the
    /// voice bot ducks while a caller may be talking over it.
    pub fn set_gain(&self, gain: f32) {
        let _ = self.tx.send(Command::Gain(gain.clamp(0.0, 1.0)));
    }

    /// Out of the room: silent, and feeding no slot.
    pub(crate) fn retire(&self) {
        self.stop();
        self.source.detach();
    }

    /// Whether the voice has audio queued or playing.
    pub fn speaking(&self) -> bool {
        *self.pending.borrow() > 0
    }

    /// Wait until everything queued so far has been sent (or stopped).
    pub async fn finished(&self) {
        let mut rx = self.pending.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

/// The voice's pacing loop. Ends when the source is gone or every `Voice` handle dropped.
async fn run(
    source: std::sync::Weak<Source>,
    ssrc: u32,
    mut rx: mpsc::UnboundedReceiver<Command>,
    pending: Arc<watch::Sender<usize>>,
) {
    let mut queue: VecDeque<(Arc<[i16]>, u32)> = VecDeque::new();
    let mut pos = 0usize;
    let mut encoder: Option<(u32, opus::Encoder)> = None;
    let mut seq: u16 = rand::random();
    let mut ts: u32 = rand::random();
    let mut talking = false;
    let mut gain = 1.0f32;
    let mut out = vec![0u8; 1500];
    let mut frame = Vec::with_capacity(960);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    // A late tick sends late rather than twice: receivers' jitter buffers follow timestamps.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            cmd = rx.recv() => match cmd {
                Some(Command::Play { pcm, rate }) => {
                    queue.push_back((pcm, rate));
                    continue;
                }
                Some(Command::Stop) => {
                    let dropped = queue.len();
                    queue.clear();
                    pos = 0;
                    pending.send_modify(|n| *n = n.saturating_sub(dropped));
                    continue;
                }
                Some(Command::Gain(g)) => {
                    gain = g;
                    continue;
                }
                None => break,
            },
            _ = tick.tick() => {}
        }
        let Some(src) = source.upgrade() else { break };
        ts = ts.wrapping_add(960);
        let Some((pcm, rate)) = queue.front() else {
            talking = false;
            continue;
        };
        let rate = *rate;
        let n = (rate / 50) as usize;
        frame.clear();
        let end = (pos + n).min(pcm.len());
        frame.extend_from_slice(&pcm[pos..end]);
        frame.resize(n, 0);
        if gain < 1.0 {
            for s in frame.iter_mut() {
                *s = (*s as f32 * gain) as i16;
            }
        }
        pos = end;
        if pos >= pcm.len() {
            queue.pop_front();
            pos = 0;
            pending.send_modify(|n| *n = n.saturating_sub(1));
        }
        if encoder.as_ref().is_none_or(|(r, _)| *r != rate) {
            match opus::Encoder::new(rate, opus::Channels::Mono, opus::Application::Voip) {
                Ok(e) => encoder = Some((rate, e)),
                Err(e) => {
                    tracing::error!("voice: opus encoder: {e}");
                    break;
                }
            }
        }
        let Some((_, enc)) = encoder.as_mut() else {
            break;
        };
        let len = match enc.encode(&frame, &mut out) {
            Ok(len) => len,
            Err(e) => {
                tracing::warn!("voice: encode: {e}");
                continue;
            }
        };
        let packet = Packet {
            header: Header {
                version: 2,
                marker: !talking,
                payload_type: PT,
                sequence_number: seq,
                timestamp: ts,
                ssrc,
                ..Default::default()
            },
            payload: bytes::Bytes::copy_from_slice(&out[..len]),
        };
        talking = true;
        seq = seq.wrapping_add(1);
        src.forward(&packet);
    }
    pending.send_replace(0);
}
