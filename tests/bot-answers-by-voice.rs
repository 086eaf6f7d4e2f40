//! A caller asks the bot a question out loud and hears the answer: real WebRTC customer, live
//! Whisper on the server, the knowledge base's match, Kokoro speaking the answer, and the
//! received audio transcribed again by Whisper on this side. In English (espeak-ng's voice
//! asking) and in Chinese (a Kokoro voice other than the bot's asking); and an order number
//! read out slowly, letter by letter and digit by digit after a pause, is not cut off (a male
//! Kokoro voice).

mod common;
use common::*;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn kb_answer(file: &str, id: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets/kb")
        .join(file);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let entries = v
        .as_array()
        .cloned()
        .or_else(|| v["entries"].as_array().cloned());
    entries
        .unwrap()
        .into_iter()
        .find(|e| e["id"] == id)
        .map(|e| e["answer"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no entry {id} in {file}"))
}

fn transcript(pcm: &[i16], language: &str, multilingual: Option<&std::path::Path>) -> String {
    let wav = std::env::temp_dir().join(format!(
        "sb-voice-answer-{language}-{}.wav",
        std::process::id()
    ));
    write_wav_i16(&wav, 48_000, pcm);
    let text = transcribe_texts(&wav, language, multilingual).join(" ");
    let _ = std::fs::remove_file(&wav);
    text
}

/// `text` in a Kokoro voice (`switchboard say`), 48 kHz.
fn kokoro_48k(text: &str, language: &str, voice: &str, speed: &str) -> Vec<i16> {
    let wav = std::env::temp_dir().join(format!(
        "sb-caller-{voice}-{}-{}.wav",
        std::process::id(),
        text.len()
    ));
    let o = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "say",
            "--language",
            language,
            "--voice",
            voice,
            "--speed",
            speed,
        ])
        .arg("--out")
        .arg(&wav)
        .arg(text)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pcm: Vec<i16> = switchboard::speech::wav::read_16k_mono(&wav)
        .unwrap()
        .iter()
        .map(|s| (s.clamp(-1.0, 1.0) * 32767.0) as i16)
        .collect();
    let _ = std::fs::remove_file(&wav);
    resample_linear(&pcm, 16_000, 48_000)
}

/// Character error rate, for Chinese.
fn cer(reference: &str, hyp: &str) -> f64 {
    let chars = |s: &str| -> Vec<String> {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .map(|c| c.to_string())
            .collect()
    };
    let (r, h) = (chars(reference), chars(hyp));
    word_edits(&r, &h) as f64 / r.len().max(1) as f64
}

/// What the customer said, as the server heard it (the stored transcript), for messages.
async fn customer_words(server: &Server, call: &str) -> Vec<String> {
    let t: Value = reqwest::Client::new()
        .get(format!(
            "http://{}/api/calls/{call}/transcript",
            server.addr
        ))
        .basic_auth("sam", Some("demo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap_or_default();
    t["utterances"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|u| u["speaker"] == "customer")
        .map(|u| u["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_english_question_asked_aloud_is_answered_aloud_from_the_knowledge_base() {
    let server = Server::start_with_speech(
        "[[entry_points]]\nname = \"phone\"\nbot = true\nlanguage = \"en\"\n",
    )
    .await;
    let mut customer = customer_calls(&server, "Ines").await;
    greeted(&mut customer).await;

    let before = customer.peer.received(0).recorded.len();
    let mut q = espeak_48k("What ways can I pay my bill?", &["-s", "140"]);
    q.extend(vec![0i16; 48 * 3000]);
    let audio = customer.peer.start_pcm(q, false).await;
    let reply = tokio::time::timeout(Duration::from_secs(60), customer.ws.chat_from("bot"))
        .await
        .expect("the bot answers the spoken question");
    let expected = kb_answer("northwind.en.json", "billing-payment-methods");
    assert_eq!(
        reply["text"],
        expected.as_str(),
        "the entry for paying a bill"
    );
    let heard = transcript(&heard_after(&customer.peer, before).await, "en", None);
    let w = wer(&expected, &heard);
    println!("answer {expected:?}\nheard  {heard:?}\nWER {w:.2}");
    assert!(
        w <= 0.35,
        "the spoken answer is not the entry's answer: WER {w:.2}"
    );
    audio.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chinese_question_asked_aloud_is_answered_aloud_in_chinese() {
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/ggml-base.bin");
    assert!(
        base.exists(),
        "models/ggml-base.bin: run scripts/fetch-models.sh --base"
    );
    let server = Server::start_with_speech(&format!(
        "[speech]\nmultilingual_model = {:?}\n\n[[entry_points]]\nname = \"phone\"\nbot = true\nlanguage = \"zh\"\n",
        base.display().to_string()
    ))
    .await;
    let mut customer = customer_calls(&server, "Li Wei").await;
    greeted(&mut customer).await;

    // The caller's question in a male Kokoro voice (the bot speaks with a female one).
    let mut q = kokoro_48k("请问怎么查询话费余额？", "zh", "zm_yunxi", "1.0");
    q.extend(vec![0i16; 48 * 3000]);

    let before = customer.peer.received(0).recorded.len();
    let audio = customer.peer.start_pcm(q, false).await;
    let reply = tokio::time::timeout(Duration::from_secs(90), customer.ws.chat_from("bot"))
        .await
        .expect("the bot answers the spoken question");
    let expected = kb_answer("northwind.zh.json", "billing-balance-query");
    assert_eq!(
        reply["text"],
        expected.as_str(),
        "the entry for the balance; heard {:?}",
        customer_words(&server, &customer.call_id).await
    );
    let heard = transcript(
        &heard_after(&customer.peer, before).await,
        "zh",
        Some(&base),
    );
    let c = cer(&expected, &heard);
    println!("answer {expected:?}\nheard  {heard:?}\nCER {c:.2}");
    assert!(
        c <= 0.5,
        "the spoken answer is not the entry's answer: CER {c:.2}"
    );
    audio.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_number_read_out_slowly_after_a_pause_is_heard_whole() {
    let server = Server::start_with_speech(
        "[[entry_points]]\nname = \"phone\"\nbot = true\nlanguage = \"en\"\n",
    )
    .await;
    let mut customer = customer_calls(&server, "Omar").await;
    greeted(&mut customer).await;

    let mut q = espeak_48k(
        "Where is my order? It still hasn't arrived.",
        &["-s", "140"],
    );
    q.extend(vec![0i16; 48 * 3000]);
    let audio = customer.peer.start_pcm(q, false).await;
    let ask = tokio::time::timeout(Duration::from_secs(60), customer.ws.chat_from("bot"))
        .await
        .expect("the bot asks for the order number");
    assert!(
        ask["text"].as_str().unwrap().contains("order number"),
        "{ask}"
    );
    heard_after(&customer.peer, customer.peer.received(0).recorded.len()).await;
    audio.abort();

    // "My order number is", a pause to find it (longer than the silence that ends an
    // utterance), then the number one character at a time.
    // A caller's voice (Kokoro, a male American one), slow for the number.
    let mut q = kokoro_48k("My order number is", "en", "am_michael", "1.0");
    q.extend(vec![0i16; 48 * 900]);
    q.extend(kokoro_48k(
        "N, W, 1, 2, 3, 4, 5, 6.",
        "en",
        "am_michael",
        "0.8",
    ));
    q.extend(vec![0i16; 48 * 3000]);
    let audio = customer.peer.start_pcm(q, false).await;
    let r = tokio::time::timeout(Duration::from_secs(60), customer.ws.chat_from("bot"))
        .await
        .expect("the bot answers the number");
    let r = r["text"].as_str().unwrap().to_string();
    assert!(
        !r.contains("order number"),
        "the bot asked again (it was cut off mid-number): {r}; heard {:?}",
        customer_words(&server, &customer.call_id).await
    );
    let status = tokio::time::timeout(Duration::from_secs(30), customer.ws.chat_from("bot"))
        .await
        .expect("the order's status");
    let status = status["text"].as_str().unwrap();
    assert!(
        status.contains("NW123456") && status.contains("on its way"),
        "{status}"
    );
    audio.abort();
}
