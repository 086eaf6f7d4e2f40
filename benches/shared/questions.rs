//! The questions the voice benches ask the demo knowledge base (espeak-ng speech).

pub const QUESTIONS: [&str; 8] = [
    "How do I check my data balance?",
    "Can I keep my number if I switch to you?",
    "What should I do if my phone is stolen?",
    "How can I pay my bill?",
    "Do you have coverage abroad?",
    "How do I change my plan?",
    "My internet is very slow, what can I do?",
    "How do I set up voicemail?",
];
