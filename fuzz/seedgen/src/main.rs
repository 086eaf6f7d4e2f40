//! Writes `fuzz/corpus/audio_tap/*.bin`: scripts of real Opus packets (a 440 Hz tone encoded
//! as the browsers send it, and other frame sizes, stereo and CELT-only packets) and hand-made
//! TOC bytes, in the layout the `audio_tap` target decodes. Each file is checked to decode back
//! to its script before it is written.

#[allow(dead_code)] // the fuzz target uses the rest
#[path = "../../src/audio_script.rs"]
mod audio_script;

use arbitrary::{Arbitrary, Unstructured};
use audio_script::{Blob, Payload, Push, Script, Seq};
use std::path::Path;

const RATE: usize = 48_000;

/// `n` packets of a 440 Hz tone, `ms` each.
fn tone(
    n: usize,
    ms: usize,
    channels: opus::Channels,
    app: opus::Application,
    fec: bool,
) -> Vec<Vec<u8>> {
    let ch = match channels {
        opus::Channels::Mono => 1,
        opus::Channels::Stereo => 2,
    };
    let mut enc = opus::Encoder::new(RATE as u32, channels, app).expect("encoder");
    enc.set_bitrate(opus::Bitrate::Bits(24_000))
        .expect("bitrate");
    if fec {
        enc.set_inband_fec(true).expect("fec");
        enc.set_packet_loss_perc(20).expect("loss");
    }
    let len = RATE * ms / 1000;
    (0..n)
        .map(|i| {
            let pcm: Vec<f32> = (0..len * ch)
                .map(|k| {
                    let t = (i * len + k / ch) as f32 / RATE as f32;
                    0.3 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
                })
                .collect();
            enc.encode_vec_float(&pcm, 1500).expect("encode")
        })
        .collect()
}

fn raw(p: &[u8]) -> Payload {
    Payload::Raw(Blob(p.to_vec()))
}

fn push(seq: Seq, payload: Payload) -> Push {
    Push { seq, payload }
}

fn script(depth: u8, max_conceal: u8, pushes: Vec<Push>) -> Script {
    Script {
        depth,
        max_conceal,
        flush: true,
        pushes,
    }
}

fn main() {
    let voip = tone(24, 20, opus::Channels::Mono, opus::Application::Voip, true);
    let ms10 = tone(4, 10, opus::Channels::Mono, opus::Application::Voip, false);
    let ms60 = tone(3, 60, opus::Channels::Mono, opus::Application::Audio, false);
    let stereo = tone(
        4,
        20,
        opus::Channels::Stereo,
        opus::Application::Audio,
        true,
    );
    let celt = tone(
        4,
        20,
        opus::Channels::Mono,
        opus::Application::LowDelay,
        false,
    );

    let mut seeds: Vec<(&str, Script)> = vec![];

    // In order, from an arbitrary start.
    let mut p = vec![push(Seq::Abs(1000), raw(&voip[0]))];
    p.extend(voip[1..12].iter().map(|x| push(Seq::Next, raw(x))));
    seeds.push(("in_order_voip_20ms", script(3, 5, p)));

    // Reordered by one, as in the unit test: 0 2 1 3 5 4 6 7.
    let order: [(Seq, usize); 8] = [
        (Seq::Abs(1000), 0),
        (Seq::Ahead(2), 2),
        (Seq::Back(1), 1),
        (Seq::Ahead(2), 3),
        (Seq::Ahead(2), 5),
        (Seq::Back(1), 4),
        (Seq::Ahead(2), 6),
        (Seq::Next, 7),
    ];
    let p = order.iter().map(|&(s, i)| push(s, raw(&voip[i]))).collect();
    seeds.push(("reordered", script(3, 5, p)));

    // Losses (5, 10 and 11) around the 16-bit wrap: FEC and concealment.
    let mut p = vec![];
    let mut lost = 0u8;
    for (i, x) in voip[..20].iter().enumerate() {
        if i == 5 || i == 10 || i == 11 {
            lost += 1;
            continue;
        }
        let seq = if i == 0 {
            Seq::Abs(65_530)
        } else {
            Seq::Ahead(lost + 1)
        };
        lost = 0;
        p.push(push(seq, raw(x)));
    }
    seeds.push(("losses_fec_wrap", script(2, 5, p)));

    // A gap longer than the concealment limit, then a packet too late to use.
    let p = vec![
        push(Seq::Abs(0), raw(&voip[0])),
        push(Seq::Next, raw(&voip[1])),
        push(Seq::Ahead(29), raw(&voip[2])),
        push(Seq::Abs(2), raw(&voip[3])),
        push(Seq::Abs(31), raw(&voip[4])),
    ];
    seeds.push(("long_gap_then_late", script(1, 5, p)));

    // Duplicates and empty payloads.
    let p = vec![
        push(Seq::Abs(500), raw(&voip[0])),
        push(Seq::Same, raw(&voip[0])),
        push(Seq::Next, Payload::Empty),
        push(Seq::Same, raw(&voip[1])),
        push(Seq::Same, raw(&voip[1])),
        push(Seq::Next, raw(&voip[2])),
        push(Seq::Back(2), raw(&voip[0])),
        push(Seq::Ahead(3), Payload::Empty),
        push(Seq::Next, raw(&voip[3])),
    ];
    seeds.push(("duplicates_and_empty", script(3, 5, p)));

    // Sequence jumps around half the sequence space, where unwrapping has to guess.
    let p = vec![
        push(Seq::Abs(10), raw(&voip[0])),
        push(Seq::Jump(32_767), raw(&voip[1])),
        push(Seq::Jump(32_768), raw(&voip[2])),
        push(Seq::Jump(32_769), raw(&voip[3])),
        push(Seq::Jump(40_000), raw(&voip[4])),
        push(Seq::Abs(65_535), raw(&voip[5])),
        push(Seq::Abs(0), raw(&voip[6])),
        push(Seq::Back(200), raw(&voip[7])),
        push(Seq::Next, raw(&voip[8])),
    ];
    seeds.push(("sequence_jumps", script(4, 5, p)));

    // Frame sizes changing mid-stream (10, 20, 60 ms), stereo and CELT-only, with losses so the
    // FEC path asks for the previous frame's length.
    let p = vec![
        push(Seq::Abs(7000), raw(&ms10[0])),
        push(Seq::Next, raw(&ms10[1])),
        push(Seq::Ahead(2), raw(&voip[0])),
        push(Seq::Next, raw(&ms60[0])),
        push(Seq::Ahead(2), raw(&ms60[1])),
        push(Seq::Next, raw(&stereo[0])),
        push(Seq::Ahead(3), raw(&stereo[1])),
        push(Seq::Next, raw(&celt[0])),
        push(Seq::Ahead(2), raw(&celt[1])),
        push(Seq::Next, raw(&ms10[2])),
        push(Seq::Ahead(2), raw(&voip[1])),
    ];
    seeds.push(("mixed_frame_sizes", script(2, 8, p)));

    // Hand-made TOC bytes between real packets: 0xFC (CELT FB 20 ms stereo, one frame), 0x78
    // (hybrid FB 20 ms mono), code 3 (several frames, with and without padding), and garbage.
    let p = vec![
        push(Seq::Abs(300), raw(&voip[0])),
        push(
            Seq::Next,
            Payload::Toc {
                toc: 0xFC,
                body: Blob(vec![0xFF, 0xFE, 0x00, 0x10, 0x42]),
            },
        ),
        push(
            Seq::Next,
            Payload::Toc {
                toc: 0x78,
                body: Blob(vec![0x0B, 0xE4, 0xC1, 0x36, 0xEC, 0xC5, 0x80]),
            },
        ),
        push(
            Seq::Next,
            Payload::Toc {
                toc: 0x7B,
                body: Blob(vec![0x03, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66]),
            },
        ),
        push(
            Seq::Next,
            Payload::Toc {
                toc: 0x4B,
                body: Blob(vec![0xC5, 0x02, 0x01, 0x02, 0xAA, 0xBB, 0xCC]),
            },
        ),
        push(Seq::Next, raw(&[0xFF; 7])),
        push(
            Seq::Next,
            Payload::Toc {
                toc: 0xF8,
                body: Blob(vec![]),
            },
        ),
        push(Seq::Ahead(2), raw(&voip[1])),
        push(Seq::Next, raw(&voip[2][..voip[2].len() / 2])),
        push(Seq::Next, raw(&voip[3])),
    ];
    seeds.push(("toc_and_garbage", script(1, 5, p)));

    // A stream that never flushes (the tap is dropped with packets held back).
    let mut s = script(
        8,
        5,
        voip[12..20]
            .iter()
            .rev()
            .enumerate()
            .map(|(i, x)| push(if i == 0 { Seq::Abs(2000) } else { Seq::Back(1) }, raw(x)))
            .collect(),
    );
    s.flush = false;
    seeds.push(("reversed_no_flush", s));

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/audio_tap");
    std::fs::create_dir_all(&dir).expect("corpus dir");
    for (name, s) in seeds {
        let bytes = s.encode();
        let back = Script::arbitrary_take_rest(Unstructured::new(&bytes)).expect("decodes");
        assert_eq!(back, s, "{name}: the encoding does not decode back");
        assert!(bytes.len() < 4096, "{name}: {} bytes", bytes.len());
        std::fs::write(dir.join(format!("{name}.bin")), &bytes).expect("write seed");
        println!(
            "{name}.bin: {} pushes, {} bytes",
            s.pushes.len(),
            bytes.len()
        );
    }
}
