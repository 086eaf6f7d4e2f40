//! The input of the `audio_tap` fuzz target: a script of packets pushed into one `OpusTap`.
//!
//! Decoded from the fuzzer's bytes with `arbitrary` (the derives below) and, for the seed
//! corpus only, encoded back to bytes by [`Script::encode`], so seeds can hold real Opus packets
//! (`fuzz/seedgen` writes them). This file depends on `arbitrary` alone so that the seed
//! generator can include it without building the media crate.
//!
//! Byte layout (what the derives read): `depth` u8, `max_conceal` u8, `flush` u8 (bit 0), then
//! per push a `1` byte, a variant index as a little-endian u32 scaled to the variant count, and
//! the variant's fields; the script ends at the first byte with bit 0 clear, or at the end.

use arbitrary::{Arbitrary, Result, Unstructured};

/// Longest payload a script can hold (an Opus packet is at most 1275 bytes per frame; RTP
/// payloads stay under a 1500-byte MTU).
pub const MAX_PAYLOAD: usize = 1500;

#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct Script {
    /// Reorder depth given to `OpusTap::new`; the target uses `depth % 17` (0 included).
    pub depth: u8,
    /// Concealment limit given to `OpusTap::new`; the target uses `max_conceal % 33`, which keeps
    /// one push from synthesising more than 32 frames (the service uses 5).
    pub max_conceal: u8,
    /// Whether to flush at the end (the stream ended) and check the tap is then empty.
    pub flush: bool,
    pub pushes: Vec<Push>,
}

#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct Push {
    pub seq: Seq,
    pub payload: Payload,
}

/// The packet's RTP sequence number, relative to the previous push (the first is relative to 0).
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seq {
    Next,
    /// A duplicate.
    Same,
    /// Reordered or late by n.
    Back(u8),
    /// A loss of n - 1 packets.
    Ahead(u8),
    /// A jump of n, wrapping at 65536: with n near 32768 the unwrapping has to guess.
    Jump(u16),
    Abs(u16),
}

impl Seq {
    pub fn apply(self, prev: u16) -> u16 {
        match self {
            Seq::Next => prev.wrapping_add(1),
            Seq::Same => prev,
            Seq::Back(n) => prev.wrapping_sub(n as u16),
            Seq::Ahead(n) => prev.wrapping_add(n as u16),
            Seq::Jump(n) => prev.wrapping_add(n),
            Seq::Abs(n) => n,
        }
    }
}

#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    Empty,
    /// Any bytes: a real packet, a truncated one, garbage.
    Raw(Blob),
    /// A chosen TOC byte (config, stereo, frame count code) followed by any bytes.
    Toc {
        toc: u8,
        body: Blob,
    },
}

impl Payload {
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Payload::Empty => vec![],
            Payload::Raw(b) => b.0.clone(),
            Payload::Toc { toc, body } => {
                let mut v = Vec::with_capacity(1 + body.0.len());
                v.push(*toc);
                v.extend_from_slice(&body.0);
                v
            }
        }
    }
}

/// Up to [`MAX_PAYLOAD`] bytes, length first (u16 little-endian, modulo `MAX_PAYLOAD + 1`), cut
/// short at the end of the input. Simpler to seed than `Vec<u8>`, whose length `arbitrary`
/// takes from the end of the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl<'a> Arbitrary<'a> for Blob {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let len = u16::arbitrary(u)? as usize % (MAX_PAYLOAD + 1);
        let len = len.min(u.len());
        Ok(Blob(u.bytes(len)?.to_vec()))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (2, Some(2 + MAX_PAYLOAD))
    }
}

impl Script {
    /// The bytes the derives decode back into this script (for writing seed files).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.depth, self.max_conceal, self.flush as u8];
        for p in &self.pushes {
            out.push(1);
            match p.seq {
                Seq::Next => variant(&mut out, 0, 6),
                Seq::Same => variant(&mut out, 1, 6),
                Seq::Back(n) => {
                    variant(&mut out, 2, 6);
                    out.push(n);
                }
                Seq::Ahead(n) => {
                    variant(&mut out, 3, 6);
                    out.push(n);
                }
                Seq::Jump(n) => {
                    variant(&mut out, 4, 6);
                    out.extend_from_slice(&n.to_le_bytes());
                }
                Seq::Abs(n) => {
                    variant(&mut out, 5, 6);
                    out.extend_from_slice(&n.to_le_bytes());
                }
            }
            match &p.payload {
                Payload::Empty => variant(&mut out, 0, 3),
                Payload::Raw(b) => {
                    variant(&mut out, 1, 3);
                    bytes(&mut out, b);
                }
                Payload::Toc { toc, body } => {
                    variant(&mut out, 2, 3);
                    out.push(*toc);
                    bytes(&mut out, body);
                }
            }
        }
        out.push(0);
        out
    }
}

/// The derive picks variant `(u32 * count) >> 32`; write the smallest u32 that picks `index`.
fn variant(out: &mut Vec<u8>, index: u64, count: u64) {
    let v = (index << 32).div_ceil(count);
    out.extend_from_slice(&(v as u32).to_le_bytes());
}

fn bytes(out: &mut Vec<u8>, b: &Blob) {
    assert!(b.0.len() <= MAX_PAYLOAD);
    out.extend_from_slice(&(b.0.len() as u16).to_le_bytes());
    out.extend_from_slice(&b.0);
}
