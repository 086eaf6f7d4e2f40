//! Emotion of one utterance: acoustic cues from the PCM fused with the sentiment of its text.
//!
//! `docs/emotion.md` explains the rules and their limits. In short: *valence* (negative to
//! positive, -1..1) comes mostly from the words (VADER for English, a built-in lexicon for
//! Chinese); *arousal* (calm to agitated, 0..1) comes from the voice: loudness, pitch
//! variability, pitch raised above the speaker's own baseline, and speaking rate. An agitated
//! voice pulls non-positive words further negative. The label follows from both.

use serde::Serialize;
use std::sync::OnceLock;

const SAMPLE_RATE: usize = 16_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EmotionLabel {
    Neutral,
    Positive,
    Frustrated,
    Angry,
}

impl EmotionLabel {
    pub const ALL: [EmotionLabel; 4] = [
        EmotionLabel::Neutral,
        EmotionLabel::Positive,
        EmotionLabel::Frustrated,
        EmotionLabel::Angry,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EmotionLabel::Neutral => "neutral",
            EmotionLabel::Positive => "positive",
            EmotionLabel::Frustrated => "frustrated",
            EmotionLabel::Angry => "angry",
        }
    }

    pub fn is_negative(self) -> bool {
        matches!(self, EmotionLabel::Frustrated | EmotionLabel::Angry)
    }
}

/// What the voice alone says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Acoustics {
    /// Loudness of the voiced part, dBFS.
    pub level_db: f32,
    /// Median fundamental frequency of voiced frames, Hz (0 when none was found).
    pub pitch_hz: f32,
    /// Spread of the pitch, in semitones.
    pub pitch_var_st: f32,
    /// Syllables per second of speech (from the transcript).
    pub rate_sps: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Emotion {
    pub label: EmotionLabel,
    /// -1 (negative) .. 1 (positive).
    pub valence: f32,
    /// 0 (calm) .. 1 (agitated).
    pub arousal: f32,
    /// Sentiment of the words alone, -1..1.
    pub text_valence: f32,
    pub acoustics: Acoustics,
}

/// Measure loudness and pitch of 16 kHz mono audio.
pub fn measure(audio: &[f32]) -> Acoustics {
    use pitch_detection::detector::mcleod::McLeodDetector;
    use pitch_detection::detector::PitchDetector;
    const WIN: usize = 640; // 40 ms: two periods of 50 Hz
    const HOP: usize = 320;
    if audio.len() < WIN {
        return Acoustics::default();
    }
    // Level: mean power of the louder half of 20 ms frames (the voiced part).
    let mut powers: Vec<f32> = audio
        .chunks(HOP)
        .map(|c| c.iter().map(|x| x * x).sum::<f32>() / c.len() as f32)
        .collect();
    powers.sort_by(|a, b| b.total_cmp(a));
    let top = &powers[..powers.len().div_ceil(2)];
    let mean_power = top.iter().sum::<f32>() / top.len() as f32;
    let level_db = 10.0 * (mean_power.max(1e-10)).log10();

    let mut det = McLeodDetector::<f32>::new(WIN, WIN / 2);
    let mut pitches = vec![];
    let gate = mean_power * 0.1 * WIN as f32;
    let mut i = 0;
    while i + WIN <= audio.len() {
        if let Some(p) = det.get_pitch(&audio[i..i + WIN], SAMPLE_RATE, gate, 0.7) {
            if (60.0..=500.0).contains(&p.frequency) {
                pitches.push(p.frequency);
            }
        }
        i += HOP;
    }
    let (pitch_hz, pitch_var_st) = if pitches.len() >= 3 {
        pitches.sort_by(|a, b| a.total_cmp(b));
        let median = pitches[pitches.len() / 2];
        let st: Vec<f32> = pitches.iter().map(|f| 12.0 * (f / median).log2()).collect();
        let mean = st.iter().sum::<f32>() / st.len() as f32;
        let var = st.iter().map(|s| (s - mean).powi(2)).sum::<f32>() / st.len() as f32;
        (median, var.sqrt())
    } else {
        (0.0, 0.0)
    };
    Acoustics {
        level_db,
        pitch_hz,
        pitch_var_st,
        rate_sps: 0.0,
    }
}

/// Rough syllable count: CJK characters count one each; Latin words count their vowel groups.
pub fn syllables(text: &str) -> usize {
    let mut n = 0;
    for word in text.split(|c: char| c.is_whitespace()) {
        let mut in_vowel = false;
        let mut latin = 0;
        for c in word.chars() {
            if is_cjk(c) {
                n += 1;
                continue;
            }
            let v = matches!(c.to_ascii_lowercase(), 'a' | 'e' | 'i' | 'o' | 'u' | 'y');
            if v && !in_vowel {
                latin += 1;
            }
            in_vowel = v;
        }
        // A final silent "e" ("there", "make") is not a syllable of its own.
        let lower = word.to_ascii_lowercase();
        let letters: Vec<char> = lower.chars().filter(|c| c.is_ascii_alphabetic()).collect();
        if latin > 1
            && letters.len() > 2
            && letters[letters.len() - 1] == 'e'
            && !matches!(
                letters[letters.len() - 2],
                'a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'l'
            )
        {
            latin -= 1;
        }
        if !letters.is_empty() {
            n += latin.max(1);
        }
    }
    n
}

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c)
}

/// Sentiment of the words, -1..1.
pub fn text_valence(text: &str, language: &str) -> f32 {
    if language.starts_with("zh") || text.chars().any(is_cjk) {
        return chinese_valence(text);
    }
    static VADER: OnceLock<vader_sentiment::SentimentIntensityAnalyzer<'static>> = OnceLock::new();
    let vader = VADER.get_or_init(vader_sentiment::SentimentIntensityAnalyzer::new);
    vader
        .polarity_scores(text)
        .get("compound")
        .copied()
        .unwrap_or(0.0) as f32
}

// A small hand-made Chinese lexicon for customer-service speech: polarity words with weights,
// negators that flip the next polarity word, and intensifiers that scale it.
const ZH_POSITIVE: &[(&str, f32)] = &[
    ("谢谢", 1.5),
    ("感谢", 2.0),
    ("非常好", 2.5),
    ("太好了", 2.5),
    ("很好", 2.0),
    ("好的", 0.5),
    ("满意", 2.0),
    ("喜欢", 1.5),
    ("开心", 2.0),
    ("高兴", 2.0),
    ("不错", 1.5),
    ("棒", 2.0),
    ("完美", 2.5),
    ("解决了", 1.5),
    ("方便", 1.0),
    ("快", 0.5),
    ("专业", 1.5),
    ("耐心", 1.5),
    ("帮助", 1.0),
    ("清楚", 1.0),
    ("放心", 1.0),
    ("可以", 0.3),
];

const ZH_NEGATIVE: &[(&str, f32)] = &[
    ("生气", -2.5),
    ("愤怒", -3.0),
    ("气死", -3.0),
    ("受够", -3.0),
    ("垃圾", -3.0),
    ("骗子", -3.0),
    ("欺骗", -2.5),
    ("投诉", -2.0),
    ("退款", -1.0),
    ("失望", -2.0),
    ("糟糕", -2.5),
    ("太差", -2.5),
    ("差劲", -2.5),
    ("不满", -2.0),
    ("烦", -2.0),
    ("麻烦", -1.0),
    ("问题", -0.5),
    ("错误", -1.5),
    ("坏了", -1.5),
    ("慢", -1.0),
    ("等了", -1.0),
    ("浪费", -2.0),
    ("荒唐", -2.5),
    ("离谱", -2.5),
    ("不行", -1.5),
    ("没用", -2.0),
    ("讨厌", -2.5),
    ("无语", -2.0),
    ("难受", -2.0),
    ("着急", -1.5),
    ("取消", -1.0),
    ("丢", -1.0),
];

const ZH_NEGATORS: &[&str] = &["不", "没", "没有", "别", "并不", "不是"];
const ZH_INTENSIFIERS: &[(&str, f32)] = &[
    ("非常", 1.5),
    ("特别", 1.5),
    ("太", 1.5),
    ("很", 1.3),
    ("真", 1.3),
    ("极其", 1.8),
    ("十分", 1.5),
];

fn chinese_valence(text: &str) -> f32 {
    let chars: Vec<char> = text.chars().collect();
    let mut sum = 0f32;
    let mut i = 0;
    let mut negate = false;
    let mut scale = 1.0f32;
    let starts = |i: usize, w: &str| {
        let wc: Vec<char> = w.chars().collect();
        chars.len() >= i + wc.len() && chars[i..i + wc.len()] == wc[..]
    };
    while i < chars.len() {
        // Longest match first among polarity words (so 不满 wins over the negator 不).
        let mut best: Option<(usize, f32)> = None;
        for (w, s) in ZH_POSITIVE.iter().chain(ZH_NEGATIVE) {
            if starts(i, w) && best.is_none_or(|(l, _)| w.chars().count() > l) {
                best = Some((w.chars().count(), *s));
            }
        }
        let neg = ZH_NEGATORS
            .iter()
            .filter(|w| starts(i, w))
            .map(|w| w.chars().count())
            .max();
        if let Some((len, s)) = best.filter(|(l, _)| neg.is_none_or(|n| *l > n)) {
            let s = s * scale;
            sum += if negate { -0.7 * s } else { s };
            negate = false;
            scale = 1.0;
            i += len;
            continue;
        }
        if let Some(n) = neg {
            negate = true;
            i += n;
            continue;
        }
        if let Some((w, f)) = ZH_INTENSIFIERS.iter().find(|(w, _)| starts(i, w)) {
            scale *= f;
            i += w.chars().count();
            continue;
        }
        if matches!(chars[i], '，' | '。' | '！' | '？' | ',' | '.' | '!' | '?') {
            negate = false;
            scale = 1.0;
            if chars[i] == '！' || chars[i] == '!' {
                sum *= 1.1;
            }
        }
        i += 1;
    }
    // The same squashing as VADER's compound score.
    sum / (sum * sum + 15.0).sqrt()
}

// Contact-centre complaint language that general sentiment lexicons miss: VADER reads "this
// is a joke" as positive and "third time I've called" as neutral. Two kinds of cue, matched as
// lower-case substrings: *frustration* (repetition, waiting, broken promises, things still
// not working) and *hostility* (anger words, demands, threats, insults). Written from what
// customers commonly say, not from any evaluation clip.
const EN_FRUSTRATION: &[&str] = &[
    "again",
    "still not",
    "still no ",
    "still hasn't",
    "still haven't",
    "still waiting",
    "still broken",
    "still doesn't",
    "second time",
    "third time",
    "fourth time",
    "fifth time",
    "how many times",
    "times already",
    "times now",
    "already told",
    "already explained",
    "already done",
    "already sent",
    "already tried",
    "on hold",
    "been waiting",
    "keep getting",
    "keep being",
    "keeps happening",
    "every time",
    "every month",
    "every single",
    "nobody",
    "no one ever",
    "never called",
    "never got",
    "never received",
    "never heard",
    "passed from",
    "passed around",
    "transferred",
    "not working",
    "doesn't work",
    "isn't working",
    "didn't work",
    "nothing has changed",
    "nothing happened",
    "nothing works",
    "why does",
    "why is it",
    "why can't",
    "why do i",
    "so difficult",
    "so hard",
    "actually fix",
    "actually help",
    "last person",
    "same thing",
    "same problem",
    "same issue",
    "waste of time",
    "wasting my time",
    "fed up",
    "frustrat",
    "annoy",
    "disappoint",
    "supposed to",
    "you said",
    "you promised",
    "was promised",
    "was told",
    "i was told",
    "hours",
    "weeks now",
    "days now",
    "mistake",
    "wrong again",
    "not good enough",
    "honestly",
    "seriously",
    "come on",
];
const EN_HOSTILITY: &[&str] = &[
    "angry",
    "furious",
    "livid",
    "outrage",
    "unacceptable",
    "ridiculous",
    "disgrace",
    "disgusting",
    "pathetic",
    "useless",
    "incompetent",
    "a joke",
    "worst",
    "manager",
    "supervisor",
    "right now",
    "immediately",
    "how dare",
    "sick of",
    "had enough",
    "i'm done",
    "done with you",
    "lied",
    "liars",
    "scam",
    "rip off",
    "ripped off",
    "lawyer",
    "ombudsman",
    "regulator",
    "sue you",
    "report you",
    "never use",
    "close my account",
    "cancel my account",
    "cancel everything",
    "listen to me",
    "shut up",
    "damn",
    "hell",
    "bloody",
    "crap",
    "nobody cares",
    "don't care",
    "you people",
    "refund me",
    "give me my",
    "fix it now",
    "sort it out",
    "stop wasting",
    "stop reading",
    "not listening",
];
const ZH_FRUSTRATION: &[&str] = &[
    "又",
    "还是",
    "一直",
    "好几遍",
    "好几次",
    "几次了",
    "三次",
    "多次",
    "很多次",
    "等了",
    "没人",
    "没有人",
    "怎么还",
    "怎么又",
    "到底",
    "为什么",
    "烦",
    "老是",
    "总是",
    "每次",
    "每个月",
    "转来转去",
    "还没",
    "还不",
    "说过",
    "记录",
    "答应",
    "承诺",
    "白等",
    "浪费时间",
    "失望",
];
const ZH_HOSTILITY: &[&str] = &[
    "生气",
    "愤怒",
    "气死",
    "受够",
    "垃圾",
    "骗子",
    "骗人",
    "投诉",
    "经理",
    "领导",
    "马上",
    "立刻",
    "凭什么",
    "过分",
    "简直",
    "再也不",
    "不讲道理",
    "差劲",
    "最差",
    "太差",
    "滚",
    "律师",
    "曝光",
    "消协",
    "12315",
    "乱扣",
    "退钱",
    "给我退",
    "什么破",
];

/// How many frustration and hostility cues `text` carries (each list counted at most 3).
pub fn complaint_cues(text: &str, language: &str) -> (u32, u32) {
    let lower = text.to_lowercase();
    let zh = language.starts_with("zh") || text.chars().any(is_cjk);
    let (f, h) = if zh {
        (ZH_FRUSTRATION, ZH_HOSTILITY)
    } else {
        (EN_FRUSTRATION, EN_HOSTILITY)
    };
    let count = |list: &[&str]| list.iter().filter(|w| lower.contains(*w)).count().min(3) as u32;
    (count(f), count(h))
}

/// A speaker's running baseline, so pitch and loudness are judged against their own voice.
#[derive(Clone, Debug, Default)]
pub struct SpeakerBaseline {
    n: u32,
    level_db: f32,
    pitch_hz: f32,
}

impl SpeakerBaseline {
    fn update(&mut self, a: &Acoustics) {
        let w = 1.0 / (self.n.min(9) + 1) as f32;
        self.level_db += w * (a.level_db - self.level_db);
        if a.pitch_hz > 0.0 {
            if self.pitch_hz == 0.0 {
                self.pitch_hz = a.pitch_hz;
            } else {
                self.pitch_hz += w * (a.pitch_hz - self.pitch_hz);
            }
        }
        self.n += 1;
    }
}

fn clamp01(x: f32) -> f32 {
    x.clamp(0.0, 1.0)
}

/// Score one utterance. `baseline` is the speaker's so far; it is updated.
pub fn score(audio: &[f32], text: &str, language: &str, baseline: &mut SpeakerBaseline) -> Emotion {
    let mut a = measure(audio);
    let secs = audio.len() as f32 / SAMPLE_RATE as f32;
    a.rate_sps = if secs > 0.3 {
        syllables(text) as f32 / secs
    } else {
        0.0
    };
    let loud_abs = clamp01((a.level_db + 32.0) / 22.0); // -32 dBFS calm .. -10 dBFS shouting
    let loud = if baseline.n >= 2 {
        0.5 * loud_abs + 0.5 * clamp01((a.level_db - baseline.level_db + 3.0) / 12.0)
    } else {
        loud_abs
    };
    let var = clamp01((a.pitch_var_st - 1.5) / 4.0);
    let raised = if baseline.n >= 2 && baseline.pitch_hz > 0.0 && a.pitch_hz > 0.0 {
        clamp01(12.0 * (a.pitch_hz / baseline.pitch_hz).log2() / 6.0)
    } else {
        0.0
    };
    let rate = clamp01((a.rate_sps - 3.5) / 3.0);
    let arousal = clamp01(0.4 * loud + 0.3 * var + 0.15 * rate + 0.15 * raised.max(var));
    baseline.update(&a);

    let lexical = text_valence(text, language);
    let (frustration, hostility) = complaint_cues(text, language);
    // Complaint cues pull the words negative; a general lexicon's praise for "a joke" or
    // "money" does not survive them.
    let tv = if frustration + hostility > 0 {
        (lexical.min(0.1) - 0.3 * frustration.min(2) as f32 - 0.45 * hostility.min(2) as f32)
            .clamp(-1.0, 1.0)
    } else {
        lexical
    };
    let agitation = (arousal - 0.5).max(0.0);
    let valence = if tv <= 0.05 {
        (tv - 0.6 * agitation).clamp(-1.0, 1.0)
    } else {
        tv
    };
    // Anger is negative words said with an agitated voice, or hostile words (demands,
    // threats, anger words) said with some energy.
    let hot = arousal >= 0.5 || (hostility >= 1 && arousal >= 0.35) || hostility >= 2;
    let label = if valence <= -0.3 && hot {
        EmotionLabel::Angry
    } else if valence <= -0.2 {
        EmotionLabel::Frustrated
    } else if valence >= 0.3 {
        EmotionLabel::Positive
    } else {
        EmotionLabel::Neutral
    };
    Emotion {
        label,
        valence,
        arousal,
        text_valence: tv,
        acoustics: a,
    }
}

/// The rolling mood of one speaker in one call.
#[derive(Clone, Debug, Default)]
pub struct Trend {
    /// Exponential moving average of valence (weight 0.4 on the newest utterance).
    pub valence: f32,
    /// Negative utterances in a row.
    pub negative_run: u32,
    pub utterances: u32,
}

impl Trend {
    pub fn update(&mut self, e: &Emotion) {
        self.valence = if self.utterances == 0 {
            e.valence
        } else {
            0.6 * self.valence + 0.4 * e.valence
        };
        self.utterances += 1;
        if e.label.is_negative() || e.valence <= -0.2 {
            self.negative_run += 1;
        } else {
            self.negative_run = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, amp: f32, secs: f32, vibrato_st: f32) -> Vec<f32> {
        let n = (secs * SAMPLE_RATE as f32) as usize;
        let mut phase = 0f32;
        (0..n)
            .map(|i| {
                let t = i as f32 / SAMPLE_RATE as f32;
                let f = freq
                    * 2f32.powf(vibrato_st * (2.0 * std::f32::consts::PI * 1.5 * t).sin() / 12.0);
                phase += 2.0 * std::f32::consts::PI * f / SAMPLE_RATE as f32;
                // a few harmonics, like a voice
                amp * (phase.sin() + 0.5 * (2.0 * phase).sin() + 0.25 * (3.0 * phase).sin()) / 1.75
            })
            .collect()
    }

    #[test]
    fn measures_level_and_pitch() {
        let a = measure(&tone(180.0, 0.3, 1.0, 0.0));
        assert!((a.pitch_hz - 180.0).abs() < 5.0, "{a:?}");
        assert!(a.pitch_var_st < 0.5, "{a:?}");
        assert!((-20.0..-14.0).contains(&a.level_db), "{a:?}");
        let b = measure(&tone(180.0, 0.3, 2.0, 4.0));
        assert!(b.pitch_var_st > 2.0, "{b:?}");
    }

    #[test]
    fn words_set_valence() {
        assert!(text_valence("Thank you so much, that was really helpful!", "en") > 0.5);
        assert!(text_valence("This is ridiculous, I hate this terrible service.", "en") < -0.5);
        assert!(text_valence("My order number is four five six.", "en").abs() < 0.2);
        assert!(text_valence("非常感谢，服务很好", "zh") > 0.4);
        assert!(text_valence("我非常生气，这是垃圾服务，我要投诉", "zh") < -0.5);
        assert!(text_valence("我不满意", "zh") < -0.2);
        assert!(text_valence("没有问题", "zh") > 0.0);
        assert!(text_valence("我的订单号是一二三", "zh").abs() < 0.1);
    }

    #[test]
    fn an_agitated_voice_raises_arousal_and_angry_words_make_it_angry() {
        let mut calm_base = SpeakerBaseline::default();
        let calm = score(
            &tone(120.0, 0.03, 2.0, 0.5),
            "I am calling about my order number",
            "en",
            &mut calm_base,
        );
        let mut hot_base = SpeakerBaseline::default();
        let hot = score(
            &tone(220.0, 0.5, 2.0, 5.0),
            "This is absolutely ridiculous, I am furious, worst service ever",
            "en",
            &mut hot_base,
        );
        assert_eq!(calm.label, EmotionLabel::Neutral, "{calm:?}");
        assert_eq!(hot.label, EmotionLabel::Angry, "{hot:?}");
        assert!(hot.arousal > calm.arousal + 0.3, "{calm:?} {hot:?}");
        // Same words, agitated voice: more negative than the calm reading.
        let mut b = SpeakerBaseline::default();
        let shouted = score(
            &tone(220.0, 0.5, 2.0, 5.0),
            "I want to cancel",
            "en",
            &mut b,
        );
        let mut b = SpeakerBaseline::default();
        let said = score(
            &tone(120.0, 0.03, 2.0, 0.5),
            "I want to cancel",
            "en",
            &mut b,
        );
        assert!(shouted.valence < said.valence, "{said:?} {shouted:?}");
        assert_eq!(said.label, EmotionLabel::Neutral, "{said:?}");
        assert_eq!(shouted.label, EmotionLabel::Frustrated, "{shouted:?}");
    }

    #[test]
    fn trend_counts_negative_runs() {
        let mut t = Trend::default();
        let mk = |label, valence| Emotion {
            label,
            valence,
            arousal: 0.5,
            text_valence: valence,
            acoustics: Acoustics::default(),
        };
        t.update(&mk(EmotionLabel::Frustrated, -0.4));
        t.update(&mk(EmotionLabel::Angry, -0.7));
        assert_eq!(t.negative_run, 2);
        assert!(t.valence < -0.4);
        t.update(&mk(EmotionLabel::Positive, 0.6));
        assert_eq!(t.negative_run, 0);
    }

    #[test]
    fn counts_syllables() {
        assert_eq!(syllables("hello there"), 3);
        assert_eq!(syllables("你好吗"), 3);
    }
}
