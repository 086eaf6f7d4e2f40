//! What hearing two voices at once would cost as a server-side mix (docs/media.md). A mix for
//! one subscriber decodes both voices, sums them and encodes the result, 50 times a second, on
//! top of forwarding the mixed stream; the extra slot Switchboard negotiates instead costs one
//! more forwarded packet per 20 ms, whose whole cost `call_bench` measures ("us CPU per
//! forwarded packet"). Pure CPU, one core: `cargo bench --bench mix_cost`.

use std::time::Instant;

const FRAME: usize = 960; // 20 ms at 48 kHz

fn voice(hz: f64, frames: usize) -> Vec<Vec<i16>> {
    (0..frames)
        .map(|f| {
            (0..FRAME)
                .map(|i| {
                    let t = (f * FRAME + i) as f64 / 48_000.0;
                    // A voice-like signal: a tone with a slow amplitude envelope and some noise.
                    let env = 0.5 + 0.5 * (t * 3.0).sin();
                    let noise = ((f * FRAME + i) as u64).wrapping_mul(6364136223846793005) >> 52;
                    ((t * hz * std::f64::consts::TAU).sin() * 9000.0 * env + noise as f64 - 2048.0)
                        as i16
                })
                .collect()
        })
        .collect()
}

fn encode_all(pcm: &[Vec<i16>]) -> Vec<Vec<u8>> {
    let mut enc =
        opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
    pcm.iter()
        .map(|f| enc.encode_vec(f, 1500).unwrap())
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let frames = 500; // 10 s of audio
    let a = encode_all(&voice(220.0, frames));
    let b = encode_all(&voice(330.0, frames));
    let mut runs_mix = vec![];
    for _ in 0..7 {
        // Server-side mix for one subscriber.
        let mut da = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
        let mut db = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
        let mut enc =
            opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
        let (mut pa, mut pb, mut mix) = (vec![0i16; FRAME], vec![0i16; FRAME], vec![0i16; FRAME]);
        let mut out = vec![0u8; 1500];
        let t = Instant::now();
        let mut bytes = 0;
        for i in 0..frames {
            da.decode(&a[i], &mut pa, false).unwrap();
            db.decode(&b[i], &mut pb, false).unwrap();
            for j in 0..FRAME {
                mix[j] = pa[j].saturating_add(pb[j]);
            }
            bytes += enc.encode(&mix, &mut out).unwrap();
        }
        runs_mix.push(t.elapsed().as_secs_f64() / frames as f64);
        std::hint::black_box(bytes);
    }
    let mix = median(runs_mix);
    println!(
        "server-side mix, one subscriber: {:.1} us per 20 ms frame = {:.2}% of one core per mixed subscriber",
        mix * 1e6,
        mix * 50.0 * 100.0
    );
}
