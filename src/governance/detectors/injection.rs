//! Prompt-injection phrasings: a documented list of known attack wordings, case-insensitive.
//!
//! Each entry is `(id, pattern)`; a match raises `prompt_injection.<id>`. Words are separated by
//! any whitespace. The list is deliberately phrase-level ("ignore previous instructions"), not
//! word-level ("instructions"), so ordinary text about instructions does not fire.

use super::rule::RuleSpec;

/// The phrase list. Keep ids stable: they are span attribute values.
pub const PHRASES: &[(&str, &str)] = &[
    // "Ignore (all) previous instructions", "ignore the above directions", ...
    (
        "ignore_previous",
        r"\bignore\s+(?:all\s+|any\s+|the\s+|your\s+|of\s+)*(?:previous|prior|above|earlier|preceding|former)\s+(?:instructions?|prompts?|directions?|directives?|rules|messages?|context)\b",
    ),
    // "Disregard (all) prior instructions".
    (
        "disregard_previous",
        r"\bdisregard\s+(?:all\s+|any\s+|the\s+|your\s+|of\s+)*(?:previous|prior|above|earlier|preceding|former)\s+(?:instructions?|prompts?|directions?|directives?|rules|messages?)\b",
    ),
    // "Forget everything you were told", "forget your instructions".
    (
        "forget_instructions",
        r"\bforget\s+(?:all\s+|everything\s+|your\s+|the\s+|previous\s+|prior\s+)+(?:instructions?|rules|you\s+(?:were|have\s+been)\s+told)\b",
    ),
    // "Disregard the system prompt", "ignore your system message", "override the system prompt".
    (
        "override_system_prompt",
        r"\b(?:disregard|ignore|forget|override|bypass)\s+(?:the\s+|your\s+|this\s+|my\s+)?system\s+(?:prompt|message|instructions?)\b",
    ),
    // "Reveal your system prompt", "print your initial instructions", "repeat the text above".
    (
        "reveal_system_prompt",
        r"\b(?:reveal|show|print|repeat|output|display|leak|dump|tell\s+me)\s+(?:me\s+)?(?:your|the)\s+(?:system\s+prompt|system\s+message|(?:initial|original|hidden|secret)\s+(?:instructions|prompt))\b",
    ),
    // "You are now DAN", "you are now in developer mode", "you are now jailbroken".
    (
        "dan",
        r"\byou\s+are\s+now\s+(?:dan|in\s+(?:developer|god|jailbreak)\s+mode|jailbroken|unrestricted|unfiltered|uncensored)\b|\bdo\s+anything\s+now\b|\bdan\s+mode\b",
    ),
    // "Enable developer mode", "enter jailbreak mode".
    (
        "developer_mode",
        r"\b(?:enable|activate|enter|switch\s+to)\s+(?:developer|jailbreak|god)\s+mode\b",
    ),
    // "You have no restrictions", "pretend you have no rules".
    (
        "no_restrictions",
        r"\b(?:you\s+(?:have|has)|pretend\s+(?:that\s+)?you\s+have|act\s+as\s+if\s+you\s+have)\s+no\s+(?:restrictions|rules|guidelines|filters|limitations)\b",
    ),
    // "New instructions:" / "system override:" injected mid-document.
    (
        "injected_instructions",
        r"\b(?:new|updated)\s+(?:system\s+)?instructions\s*:|\bsystem\s+override\s*:",
    ),
];

pub(crate) fn rules() -> Vec<RuleSpec> {
    PHRASES
        .iter()
        .map(|(id, pattern)| RuleSpec {
            name: format!("prompt_injection.{id}").into(),
            // ASCII case folding and ASCII word boundaries keep the automaton small and fast.
            pattern: format!("(?i-u){pattern}").into(),
            validate: None,
        })
        .collect()
}
