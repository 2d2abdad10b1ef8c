//! Secrets and PII: the one redaction engine of the project.
//!
//! Every piece of text that leaves the repository (tool results for a model, findings of the
//! checker, documents about to be written) goes through [`Redactor`]. A finding names the kind
//! of secret and where it is, never the secret itself.
//!
//! The engine is a list of rules, one regular expression per rule, compiled once for the
//! process. A regex only proposes candidates; a per-kind check then throws out placeholders
//! (`${VAR}`, `<your-key>`, `xxxxxxxx`, an earlier `[REDACTED:...]`), and for the loosely shaped
//! kinds (assignments to secret-looking names, e-mail addresses) the things that merely look
//! alike: identifiers, paths, version strings, `git@host:path` remotes.
//!
//! A match covers the secret value only, never the name it is assigned to or the quotes around
//! it, so a redacted line keeps its shape: `AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-key]`.
//! The marker itself matches no rule, which makes redaction idempotent.
//!
//! The patterns are plain automata (the `regex` crate has no backtracking), so a scan is linear
//! in the size of the text whatever the input.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// What kind of credential or personal datum a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecretKind {
    /// AWS access key id (`AKIA…`, `ASIA…`): an identifier, but it pins the account and key.
    AwsAccessKey,
    /// AWS secret access key, recognised by the name it is assigned to.
    AwsSecretKey,
    /// GitHub personal, OAuth, app or fine-grained token.
    GithubToken,
    /// GitLab personal, deploy, runner or other prefixed token.
    GitlabToken,
    /// Slack bot, user, app or refresh token.
    SlackToken,
    /// Slack incoming-webhook URL (the URL is the credential).
    SlackWebhook,
    /// Stripe secret, restricted, live publishable key or webhook secret.
    StripeKey,
    /// OpenAI-style `sk-` API key.
    OpenAiKey,
    /// PEM or PGP private key block, BEGIN line through END line.
    PrivateKey,
    /// JSON Web Token (`header.payload.signature`).
    Jwt,
    /// The password part of `scheme://user:password@host`.
    UrlPassword,
    /// A random-looking value assigned to a secret-looking name.
    GenericSecret,
    /// An e-mail address (personal data).
    Email,
}

impl SecretKind {
    /// Stable identifier, used in `[REDACTED:<id>]` and in rule ids.
    pub fn id(self) -> &'static str {
        match self {
            SecretKind::AwsAccessKey => "aws-access-key",
            SecretKind::AwsSecretKey => "aws-secret-key",
            SecretKind::GithubToken => "github-token",
            SecretKind::GitlabToken => "gitlab-token",
            SecretKind::SlackToken => "slack-token",
            SecretKind::SlackWebhook => "slack-webhook",
            SecretKind::StripeKey => "stripe-key",
            SecretKind::OpenAiKey => "openai-key",
            SecretKind::PrivateKey => "private-key",
            SecretKind::Jwt => "jwt",
            SecretKind::UrlPassword => "url-password",
            SecretKind::GenericSecret => "generic-secret",
            SecretKind::Email => "email",
        }
    }

    /// Human label for messages ("an AWS access key").
    pub fn label(self) -> &'static str {
        match self {
            SecretKind::AwsAccessKey => "AWS access key",
            SecretKind::AwsSecretKey => "AWS secret key",
            SecretKind::GithubToken => "GitHub token",
            SecretKind::GitlabToken => "GitLab token",
            SecretKind::SlackToken => "Slack token",
            SecretKind::SlackWebhook => "Slack webhook URL",
            SecretKind::StripeKey => "Stripe key",
            SecretKind::OpenAiKey => "OpenAI API key",
            SecretKind::PrivateKey => "private key block",
            SecretKind::Jwt => "JSON Web Token",
            SecretKind::UrlPassword => "password in a URL",
            SecretKind::GenericSecret => "secret assignment",
            SecretKind::Email => "e-mail address",
        }
    }

    /// Personal data rather than a credential.
    pub fn is_pii(self) -> bool {
        matches!(self, SecretKind::Email)
    }

    /// Which kind wins when two matches overlap: a whole private key block first (it may
    /// contain anything), then the kinds with a recognisable shape, then a URL password, then
    /// the guess from an assignment, then an e-mail address (the `pass@host` of a URL looks
    /// like one).
    fn rank(self) -> u8 {
        match self {
            SecretKind::PrivateKey => 5,
            SecretKind::AwsAccessKey
            | SecretKind::AwsSecretKey
            | SecretKind::GithubToken
            | SecretKind::GitlabToken
            | SecretKind::SlackToken
            | SecretKind::SlackWebhook
            | SecretKind::StripeKey
            | SecretKind::OpenAiKey
            | SecretKind::Jwt => 4,
            SecretKind::UrlPassword => 3,
            SecretKind::GenericSecret => 2,
            SecretKind::Email => 1,
        }
    }
}

/// One secret found in a text: its kind and the byte range of the secret value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretMatch {
    /// What was found.
    pub kind: SecretKind,
    /// Byte range of the secret value in the scanned text (not its name, not its quotes).
    pub range: Range<usize>,
}

/// A redacted text and how many secrets of each kind were replaced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Redacted {
    /// The text with every secret replaced by `[REDACTED:<id>]`.
    pub text: String,
    /// Replacements per [`SecretKind::id`].
    pub counts: BTreeMap<&'static str, usize>,
}

impl Redacted {
    /// Number of replacements of every kind.
    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }
}

// ---------------------------------------------------------------------------------------------
// Patterns. Each proposes candidates; the secret value is the group named `v` (or `v2`, `v3`
// when quoting needs alternatives), else the whole match. `(?-u:\b)` is an ASCII word boundary:
// the Unicode one would push the regex engine off its fast DFA on non-ASCII text. A vendor
// prefix may also follow `_` (`key_ghp_…` in a file name), which is no word boundary.

/// `AKIA`/`ASIA`/`ABIA`/`ACCA` and 16 upper-case letters or digits.
const AWS_ACCESS_KEY: &str = r"(?:(?-u:\b)|_)(?P<v>(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})(?-u:\b)";

/// 40 base64 characters assigned to an AWS secret key name (env, yaml, ini, json, escaped json).
/// The value alone is indistinguishable from any other base64, so the name is required.
const AWS_SECRET_KEY: &str = concat!(
    r#"(?i-u:(?:aws[_-]?)?secret[_-]?access[_-]?key|aws[_-]?secret[_-]?key)"#,
    r#"(?:\\?["'])?[ \t]*(?::=|=>|=|:)[ \t]*(?:\\?["'])?"#,
    r#"(?P<v>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|\z)"#,
);

/// Classic tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) and fine-grained `github_pat_`.
const GITHUB_TOKEN: &str =
    r"(?:(?-u:\b)|_)(?P<v>gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{36,})";

/// `glpat-` and its siblings (deploy, runner, trigger, feed, …); dotted routable suffixes too.
const GITLAB_TOKEN: &str = concat!(
    r"(?:(?-u:\b)|_)(?P<v>gl(?:pat|dt|rt|ptt|soat|cbt|ft|imt|agent|oas)-",
    r"[0-9A-Za-z_-]{20,}(?:\.[0-9A-Za-z_-]+)*)",
);

/// `xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-` and the rotating `xoxe` forms, hyphen-separated
/// alphanumeric segments (the check wants a digit and a sensible length).
const SLACK_TOKEN: &str =
    r"(?:(?-u:\b)|_)(?P<v>(?:xox[abprs]|xoxe(?:\.xox[bp])?)-[0-9A-Za-z]+(?:-[0-9A-Za-z]+)*)";

/// `https://hooks.slack.com/services/T…/B…/…` (and workflow/trigger hooks).
const SLACK_WEBHOOK: &str = concat!(
    r"https?://hooks\.slack\.com/(?:services|workflows|triggers)/",
    r"[A-Za-z0-9]+(?:/[A-Za-z0-9_-]+)+",
);

/// Secret and restricted keys (live and test), live publishable keys, webhook secrets.
const STRIPE_KEY: &str =
    r"(?:(?-u:\b)|_)(?P<v>(?:(?:sk|rk)_(?:live|test)_|pk_live_|whsec_)[0-9A-Za-z]{16,})";

/// `sk-` keys, legacy and project/service-account/admin (the check wants mixed case and digits,
/// which keeps out `sk-some-hyphenated-slug`).
const OPENAI_KEY: &str = r"(?-u:\b)sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9][A-Za-z0-9_-]{19,}";

/// BEGIN line through END line, or to the end of the text when the END line is missing (a
/// truncated tool result). The BEGIN line must be followed by a line break (real or escaped in
/// JSON) or key data, so code that merely compares a line with the header is not swallowed.
const PRIVATE_KEY: &str = concat!(
    r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----",
    r"[ \t]*(?:\r?\n|(?:\\r)?\\n|[A-Za-z0-9+/=]{16})",
    r"(?s:.*?)",
    r"(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|\z)",
);

/// Header and payload are base64url JSON objects, so both start with `eyJ` (`{"`).
const JWT: &str = r"(?-u:\b)eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*";

/// `scheme://user:password@host`; only the password is the match. The password is greedy up to
/// the last `@` of the authority, so an unencoded `p@ss` is covered whole.
const URL_PASSWORD: &str = concat!(
    r#"(?-u:\b)[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@"'<>`]*:"#,
    r#"(?P<v>[^\s/?#"'<>`]+)@[A-Za-z0-9\[_-]"#,
);

/// A name containing a secret-ish word, `=`/`:`/`:=`/`=>`, then a value: double-quoted,
/// single-quoted or bare, optionally after `Bearer `/`Basic `/`Token ` (an Authorization
/// header). A bare value stops at what ends a value in shells, URLs and code (`&`, `;`, `,`,
/// brackets) and has `=` only as base64 padding. The check decides whether the name and the value
/// really look like a secret.
const GENERIC_SECRET: &str = concat!(
    r#"(?P<key>[A-Za-z0-9_.-]*"#,
    r#"(?i-u:secret|token|passw(?:or)?d|pwd|api[_-]?key|access[_-]?key|private[_-]?key"#,
    r#"|credential|auth)"#,
    r#"[A-Za-z0-9_.-]*)"#,
    r#"(?:\\?["'])?[ \t]*(?::=|=>|=|:)[ \t]*"#,
    r#"(?:"#,
    r#"\\?"(?:(?i-u:bearer|basic|token)[ \t]+)?(?P<v>[^"\s\\]{8,})\\?""#,
    r#"|'(?:(?i-u:bearer|basic|token)[ \t]+)?(?P<v2>[^'\s\\]{8,})'"#,
    r#"|(?:(?i-u:bearer|basic|token)[ \t]+)?"#,
    r#"(?P<v3>[^\s"'`=:,;&(){}\[\]<>\\][^\s"'`=,;&(){}\[\]<>\\]{7,}={0,2})"#,
    r#")"#,
);

/// A practical subset of RFC 5322: dotted domain, alphabetic top-level domain.
const EMAIL: &str = concat!(
    r"[A-Za-z0-9_][A-Za-z0-9._%+-]*@",
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?-u:\b)",
);

/// Every rule, in no particular order (overlaps are settled by [`SecretKind::rank`]).
const RULES: [(SecretKind, &str); 13] = [
    (SecretKind::AwsAccessKey, AWS_ACCESS_KEY),
    (SecretKind::AwsSecretKey, AWS_SECRET_KEY),
    (SecretKind::GithubToken, GITHUB_TOKEN),
    (SecretKind::GitlabToken, GITLAB_TOKEN),
    (SecretKind::SlackToken, SLACK_TOKEN),
    (SecretKind::SlackWebhook, SLACK_WEBHOOK),
    (SecretKind::StripeKey, STRIPE_KEY),
    (SecretKind::OpenAiKey, OPENAI_KEY),
    (SecretKind::PrivateKey, PRIVATE_KEY),
    (SecretKind::Jwt, JWT),
    (SecretKind::UrlPassword, URL_PASSWORD),
    (SecretKind::GenericSecret, GENERIC_SECRET),
    (SecretKind::Email, EMAIL),
];

/// One compiled rule.
struct Rule {
    kind: SecretKind,
    regex: Regex,
}

/// `SKILLRUN_TEST_DISABLE_REDACTION`, honoured only in debug builds: the eval suite's proof
/// that its graders catch a leak when redaction is broken. Release builds never read it.
fn redaction_disabled_for_tests() -> bool {
    #[cfg(debug_assertions)]
    {
        std::env::var_os("SKILLRUN_TEST_DISABLE_REDACTION").is_some()
    }
    #[cfg(not(debug_assertions))]
    {
        false
    }
}

/// The redaction engine (compiled once, shared).
pub struct Redactor {
    rules: Vec<Rule>,
}

impl Redactor {
    /// The process-wide engine.
    pub fn global() -> &'static Redactor {
        static GLOBAL: LazyLock<Redactor> = LazyLock::new(Redactor::compile);
        &GLOBAL
    }

    fn compile() -> Redactor {
        let rules = RULES
            .iter()
            .map(|&(kind, pattern)| Rule {
                kind,
                regex: compile_pattern(pattern),
            })
            .collect();
        Redactor { rules }
    }

    /// Every secret in `text`, sorted by position, non-overlapping.
    pub fn find(&self, text: &str) -> Vec<SecretMatch> {
        if redaction_disabled_for_tests() {
            return Vec::new();
        }
        let mut candidates = Vec::new();
        for rule in &self.rules {
            for caps in rule.regex.captures_iter(text) {
                if let Some(range) = accept(rule.kind, text, &caps) {
                    candidates.push(SecretMatch {
                        kind: rule.kind,
                        range,
                    });
                }
            }
        }
        resolve_overlaps(candidates)
    }

    /// `text` with every secret replaced by `[REDACTED:<id>]`.
    pub fn redact(&self, text: &str) -> Redacted {
        let mut out = String::with_capacity(text.len());
        let mut counts = BTreeMap::new();
        let mut last = 0;
        for m in self.find(text) {
            out.push_str(&text[last..m.range.start]);
            out.push_str("[REDACTED:");
            out.push_str(m.kind.id());
            out.push(']');
            *counts.entry(m.kind.id()).or_insert(0) += 1;
            last = m.range.end;
        }
        out.push_str(&text[last..]);
        Redacted { text: out, counts }
    }
}

/// Compiles one of the literal patterns above.
#[expect(
    clippy::expect_used,
    reason = "the patterns are constants exercised by every test; a bad one is a programming error"
)]
fn compile_pattern(pattern: &str) -> Regex {
    Regex::new(pattern).expect("redaction pattern compiles")
}

/// Keeps the highest-ranked, then longest, then earliest of overlapping candidates, and returns
/// the survivors sorted by start.
fn resolve_overlaps(mut candidates: Vec<SecretMatch>) -> Vec<SecretMatch> {
    candidates.sort_by(|a, b| {
        b.kind
            .rank()
            .cmp(&a.kind.rank())
            .then(b.range.len().cmp(&a.range.len()))
            .then(a.range.start.cmp(&b.range.start))
    });
    let mut taken: BTreeMap<usize, SecretMatch> = BTreeMap::new();
    for candidate in candidates {
        let Range { start, end } = candidate.range;
        let clashes_before = taken
            .range(..=start)
            .next_back()
            .is_some_and(|(_, m)| m.range.end > start);
        let clashes_after = taken
            .range(start..)
            .next()
            .is_some_and(|(_, m)| m.range.start < end);
        if !clashes_before && !clashes_after {
            taken.insert(start, candidate);
        }
    }
    taken.into_values().collect()
}

/// The range of the secret value of a candidate, or `None` when the candidate is not a secret.
fn accept(kind: SecretKind, text: &str, caps: &Captures<'_>) -> Option<Range<usize>> {
    let whole = caps.get(0)?;
    let value = caps
        .name("v")
        .or_else(|| caps.name("v2"))
        .or_else(|| caps.name("v3"))
        .unwrap_or(whole);
    let mut range = value.range();
    let secret = value.as_str();
    let ok = match kind {
        SecretKind::PrivateKey => !is_placeholder_key_block(secret),
        SecretKind::Jwt => !is_placeholder(secret),
        SecretKind::AwsAccessKey
        | SecretKind::AwsSecretKey
        | SecretKind::GithubToken
        | SecretKind::GitlabToken
        | SecretKind::SlackWebhook
        | SecretKind::StripeKey => !is_placeholder(secret) && !has_long_run(secret),
        SecretKind::SlackToken => {
            secret.len() >= 15
                && secret.bytes().any(|b| b.is_ascii_digit())
                && !is_placeholder(secret)
                && !has_long_run(secret)
        }
        SecretKind::OpenAiKey => {
            secret.bytes().any(|b| b.is_ascii_digit())
                && secret.bytes().any(|b| b.is_ascii_uppercase())
                && secret.bytes().skip(3).any(|b| b.is_ascii_lowercase())
                && !is_placeholder(secret)
                && !has_long_run(secret)
        }
        SecretKind::UrlPassword => !is_placeholder(secret) && !is_placeholder_word(secret),
        SecretKind::GenericSecret => {
            // A bare value may end a sentence; the full stop is not part of it.
            let trimmed = if caps.name("v3").is_some() {
                secret.trim_end_matches(['.', '!', '?'])
            } else {
                secret
            };
            range.end = range.start + trimmed.len();
            let key = caps.name("key");
            // `token=f(…)` calls a function, `x: Secret[…]` indexes, `parse::<T>` names a type,
            // `a.token=b.c=d` chains assignments (minified JavaScript).
            let code = caps.name("v3").is_some_and(|v| {
                text[v.end()..].starts_with(|c: char| {
                    matches!(c, '(' | '[' | '<' | '_' | '$' | '!') || c.is_ascii_alphanumeric()
                })
            });
            // `arn:aws:secretsmanager:…`, `"AWS::IAM::AccessKey": …`: the name is a path part.
            let inside_path = key.is_some_and(|k| text[..k.start()].ends_with(':'));
            !code
                && !inside_path
                && is_secret_name(key.map_or("", |k| k.as_str()))
                && !is_uuid(trimmed)
                && !is_timestamp(trimmed)
                && !is_placeholder(trimmed)
                && !is_placeholder_word(trimmed)
                && !looks_like_words(trimmed)
                && looks_random(trimmed)
        }
        SecretKind::Email => is_email(text, whole.range()),
    };
    ok.then_some(range)
}

/// Values that stand for a secret rather than being one: template variables, angle-bracket
/// hints, masks, and the marker this module writes (which keeps redaction idempotent).
fn is_placeholder(value: &str) -> bool {
    let bytes = value.as_bytes();
    let starts_like_variable = matches!(
        bytes,
        [b'$', b'{' | b'(' | b'_' | b'A'..=b'Z' | b'a'..=b'z', ..]
            | [b'{', b'{', ..]
            | [b'<', ..]
            | [b'%', b'(' | b's', ..]
    );
    starts_like_variable
        || (value.starts_with('{') && value.ends_with('}'))
        || value.contains("[REDACTED")
        || value.contains("***")
        || value.contains("...")
        || value.contains('…')
        || is_x_filler(value)
}

/// The share of a value's letters and digits, in percent, that x's must make up for
/// [`is_x_filler`].
const X_FILLER_PERCENT: usize = 40;

/// x's standing in for a value (`xoxb-xxxxxxxxxxxx`, `AKIAXXXXXXXXXXXXXXXX`): five in a
/// row, and at least [`X_FILLER_PERCENT`] of its letters and digits. A random token holds
/// five x's in a row now and then (`...EORxxxxXXyk8...`), and is still a token.
fn is_x_filler(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if !lower.contains("xxxxx") {
        return false;
    }
    let alnum = lower.bytes().filter(u8::is_ascii_alphanumeric).count();
    let xs = lower.bytes().filter(|&b| b == b'x').count();
    xs * 100 >= alnum * X_FILLER_PERCENT
}

/// A key block whose data is a stand-in: `<key bytes>`, `XXXX`, `...`. Only the start of the
/// data is looked at: an unterminated block runs on into whatever text follows it.
fn is_placeholder_key_block(block: &str) -> bool {
    let data = block
        .split_once("-----")
        .and_then(|(_, rest)| rest.split_once("-----"))
        .map_or("", |(_, data)| data);
    let data = data
        .trim_start_matches([' ', '\t', '\r', '\n'])
        .trim_start_matches("\\n");
    let head = data
        .chars()
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with('<')
        || head.starts_with("...")
        || head.starts_with("xxxx")
        || head.starts_with("***")
}

/// An ISO 8601 date or date-time (`2019-06-15T13:12:06Z`): letters, digits, punctuation, and
/// nothing secret.
fn is_timestamp(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

/// The 8-4-4-4-12 hex form: request ids and idempotency tokens far more often than keys.
fn is_uuid(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

/// A single character repeated a dozen times (`ghp_000000000000…`) is filler, not key material.
fn has_long_run(value: &str) -> bool {
    let mut run = 0;
    let mut prev = None;
    for b in value.bytes() {
        run = if prev == Some(b) { run + 1 } else { 1 };
        if run >= 12 {
            return true;
        }
        prev = Some(b);
    }
    false
}

/// Documentation values (`changeme`, `your-api-key-here`, a bare `password`) in the loosely
/// shaped kinds. Not used for the shaped tokens: AWS's own documented example key
/// `AKIAIOSFODNN7EXAMPLE` is what tests and fixtures paste, and it should be caught.
fn is_placeholder_word(value: &str) -> bool {
    const CONTAINS: &str = "example changeme change_me change-me placeholder your redacted dummy \
         sample replace insert notreal not_real not-a-real";
    const EXACT: &str = "password passwd pass pwd secret token none null nil undefined true false";
    let lower = value.to_ascii_lowercase();
    CONTAINS.split_whitespace().any(|w| lower.contains(w))
        || EXACT.split_whitespace().any(|w| w == lower)
}

/// Whether an assignment target names a secret: it contains a secret-ish word, and its last word
/// does not say it holds metadata about the secret (`token_type`, `secret_name`,
/// `AWS_ACCESS_KEY_ID`, `password_file`).
fn is_secret_name(key: &str) -> bool {
    const WORDS: &str = "secret token password passwd pwd api_key apikey api-key \
         access_key accesskey access-key private_key privatekey private-key credential";
    const METADATA: &str = "id ids name names url urls uri endpoint host path file filename \
         dir type kind count length len size ttl expiry expires expiration timeout header \
         prefix suffix field env var arn version format mode method provider strategy enabled \
         required policy at limit ref pattern max min num nonce timestamp namespace hint scope \
         scopes time date used created updated modified age";
    let lower = key.to_ascii_lowercase();
    let named = WORDS.split_whitespace().any(|w| lower.contains(w)) || mentions_auth(&lower);
    // `auth_public_key`, `publicToken`: meant to be seen.
    let public = lower.contains("public");
    let metadata = last_word(key).is_some_and(|w| {
        METADATA
            .split_whitespace()
            .any(|m| m.eq_ignore_ascii_case(w))
    });
    named && !public && !metadata
}

/// `auth` as in credentials (`auth_token`, `oauth`, `Authorization`), not as in `author` or
/// `authority`.
fn mentions_auth(lower: &str) -> bool {
    lower.match_indices("auth").any(|(i, _)| {
        let rest = &lower[i + 4..];
        !rest.starts_with("or") || rest.starts_with("oriz")
    })
}

/// Last word of an identifier in any casing (`client_secret` → `secret`, `tokenType` → `Type`).
fn last_word(key: &str) -> Option<&str> {
    let segment = key.rsplit(['_', '-', '.']).find(|s| !s.is_empty())?;
    let bytes = segment.as_bytes();
    let cut = (1..bytes.len())
        .rev()
        .find(|&i| bytes[i].is_ascii_uppercase() && bytes[i - 1].is_ascii_lowercase())
        .unwrap_or(0);
    Some(&segment[cut..])
}

/// Values made of words: identifiers, dotted paths, file paths, URLs without credentials,
/// version strings (`process.env.GITHUB_TOKEN`, `src/auth/token.rs`, `OAuth2Credentials`,
/// `v1.2.3`). Measured on the letters: four in five must sit in word-like pieces, digits may not
/// outnumber letters, and no alphanumeric run has more than two groups of digits (`h480djs93hd8`
/// is noise, `S3HmacAuthV4Handler` a name).
fn looks_like_words(value: &str) -> bool {
    let digit_groups_ok = value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .all(|segment| {
            let bytes = segment.as_bytes();
            let groups = (0..bytes.len())
                .filter(|&i| {
                    bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit())
                })
                .count();
            groups <= 2
        });
    let digits = value.bytes().filter(u8::is_ascii_digit).count();
    let mut letters = 0;
    let mut wordy = 0;
    for run in value
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|run| !run.is_empty())
    {
        letters += run.len();
        wordy += wordy_letters(run.as_bytes());
    }
    letters == 0 || (digit_groups_ok && digits <= letters && wordy * 5 >= letters * 4)
}

/// How many letters of a run of letters read as words. A run of one letter, or of two in one
/// case (`k8s`, `os.environ`, `CRAM-MD5`), counts whole. Otherwise the run is cut into camelCase
/// pieces (`HTTPServer` → `HTTP`, `Server`) and a piece counts when it has three letters or more
/// (or is a two-letter suffix, `userId`) and vowels: one from six letters on, two from ten
/// (`strings` yes, `kjshdfp` no; `http`, `pkcs` are too short to judge).
fn wordy_letters(run: &[u8]) -> usize {
    let one_case = run.iter().all(u8::is_ascii_lowercase) || run.iter().all(u8::is_ascii_uppercase);
    if run.len() == 1 || (run.len() == 2 && one_case) {
        return run.len();
    }
    let mut cuts = vec![0];
    for i in 1..run.len() {
        let lower_to_upper = run[i - 1].is_ascii_lowercase() && run[i].is_ascii_uppercase();
        let acronym_end = run[i - 1].is_ascii_uppercase()
            && run[i].is_ascii_uppercase()
            && run.get(i + 1).is_some_and(u8::is_ascii_lowercase);
        if lower_to_upper || acronym_end {
            cuts.push(i);
        }
    }
    let last = *cuts.last().unwrap_or(&0);
    cuts.push(run.len());
    cuts.windows(2)
        .filter(|w| {
            let piece = &run[w[0]..w[1]];
            let vowels = piece.iter().filter(|b| b"aeiouyAEIOUY".contains(b)).count();
            let needed = match piece.len() {
                0..6 => 0,
                6..10 => 1,
                _ => 2,
            };
            // `userId`, `JobId`: a short last piece is a common suffix.
            let suffix = last > 0
                && w[0] == last
                && matches!(piece, [a, b] if a.is_ascii_uppercase() && b.is_ascii_lowercase());
            (piece.len() >= 3 || suffix) && vowels >= needed
        })
        .map(|w| w[1] - w[0])
        .sum()
}

/// A value that looks generated: at least two character classes and a Shannon entropy near the
/// maximum its length allows. Human passwords made of words (`hunter2hunter2`) slip through
/// before this (see [`looks_like_words`]); catching them would mean flagging every identifier
/// assigned to a name like `token_source`.
fn looks_random(value: &str) -> bool {
    if value.len() < 8 {
        return false;
    }
    let classes = [
        value.bytes().any(|b| b.is_ascii_lowercase()),
        value.bytes().any(|b| b.is_ascii_uppercase()),
        value.bytes().any(|b| b.is_ascii_digit()),
        value.bytes().any(|b| !b.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|&&present| present)
    .count();
    let length = value.len() as f64;
    let letters = value.bytes().filter(u8::is_ascii_alphabetic).count();
    // `T1556.003`, `2024-01-01`: numbers with a letter or two are identifiers and dates.
    classes >= 2 && letters >= 2 && shannon_entropy(value) >= (length.log2() * 0.8).min(3.2)
}

/// Bits per byte.
fn shannon_entropy(value: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in value.bytes() {
        counts[usize::from(b)] += 1;
    }
    let length = value.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / length;
            -p * p.log2()
        })
        .sum()
}

/// Whether an e-mail candidate is an address rather than something shaped like one: not the
/// `git@` of an SSH remote (`git@github.com:o/r.git`), not the user of a URL's authority
/// (`ssh://deploy@host`), not a retina asset (`logo@2x.png`), a package version
/// (`pkg@1.7.0.Final`) or a locale (`sd_IN@devanagari.UTF-8`).
fn is_email(text: &str, range: Range<usize>) -> bool {
    const FILE_EXTENSIONS: &str = "png jpg jpeg gif svg webp ico bmp js mjs cjs ts tsx jsx css \
         scss html htm json yaml yml toml lock md rs py rb txt log pdf";
    let candidate = &text[range.clone()];
    let Some((local, domain)) = candidate.split_once('@') else {
        return false;
    };
    let tld = domain
        .rsplit('.')
        .next()
        .unwrap_or(domain)
        .to_ascii_lowercase();
    if local.eq_ignore_ascii_case("git") || FILE_EXTENSIONS.split_whitespace().any(|e| e == tld) {
        return false;
    }
    // `pkg@1.7.0.Final`: a version, not a host.
    let numeric_labels = domain
        .split('.')
        .filter(|label| label.bytes().all(|b| b.is_ascii_digit()))
        .count();
    let mut after = text[range.end..].chars();
    match after.next() {
        // `git@host:owner/repo`.
        Some(':') if after.next().is_some_and(|c| !c.is_whitespace()) => return false,
        // `sd_IN@devanagari.UTF-8`: a locale; a top-level domain never goes on with a hyphen.
        Some('-') => return false,
        _ => {}
    }
    if numeric_labels >= 2 {
        return false;
    }
    !in_url_authority(&text[..range.start])
}

/// Whether the text just before a position is `scheme://` plus part of an authority (no `/`, `?`
/// or `#` yet), i.e. the position is inside a URL's user information.
fn in_url_authority(before: &str) -> bool {
    let token_start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '(' | '`'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let token = &before[token_start..];
    token
        .rfind("://")
        .is_some_and(|i| !token[i + 3..].contains(['/', '?', '#']))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Token-shaped test values are assembled with `concat!` so that push protection and other
    // scanners do not take this file for a leak.
    const AKID: &str = concat!("AKIA", "QX7Z3KJ2M5N8P4RT");
    const AWS_SECRET: &str = concat!("wJalrXUtnFEMI/K7MDENG", "/bPxRfiCYzq8vT3mW1p");
    const GH_PAT: &str = concat!("ghp_", "R8sT2vWq9LmZ4xK7nB3cJ6hF1dG5yP0aE8uQ");
    const GH_FINE: &str = concat!(
        "github_pat_",
        "11ABCDEFG0aB3dE5gH7jK9mN_",
        "q2W4e6R8t0Y1u3I5o7P9a1S3d5F7g9H1j3K5l7Z9x1C3v5B7n9M1q3W5e7R9t1Y3u5I"
    );
    const GLPAT: &str = concat!("glpat-", "x7Kp2QmZ9vR4tW8nB3cD");
    const SLACK_BOT: &str = concat!(
        "xoxb-",
        "2841928374-5729384756201-",
        "aB3dE5gH7jK9mN2pQ4rS6tU8"
    );
    const SLACK_HOOK: &str = concat!(
        "https://hooks.slack.com/services/",
        "T024BE7LD/B01ABCD2EFG/",
        "kQ8zR3mT5vW7yX9aB1cD2eF4"
    );
    const STRIPE: &str = concat!("sk_", "live_", "51HqT3kLm9Pz2XvB7nQ4wR8tY6uI0oP");
    const OPENAI: &str = concat!(
        "sk-",
        "proj-",
        "Xk2P9mQ4vR7tW1nB5cD8eF3gH6jK0lZ_aS2dF4gH6jK8lZ0xC2vB4nM6"
    );
    const OPENAI_LEGACY: &str = concat!("sk-", "Ab3De5Gh7Jk9Mn2Pq4Rs6Tu8Vw0Xy1Za3Bc5De7Fg9Hi2Jk");
    const JWT_TOKEN: &str = concat!(
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
        ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ",
        ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    );

    fn redact(text: &str) -> String {
        Redactor::global().redact(text).text
    }

    /// `_` is a word character, so a token glued to a name by one (`key_ghp_…` in a file name,
    /// `PROD_AKIA…`) has no word boundary before it; it is still a token, and only the token
    /// is replaced.
    #[test]
    fn a_vendor_token_after_an_underscore_is_found() {
        for (token, id) in [
            (GH_PAT, "github-token"),
            (GH_FINE, "github-token"),
            (GLPAT, "gitlab-token"),
            (SLACK_BOT, "slack-token"),
            (STRIPE, "stripe-key"),
            (AKID, "aws-access-key"),
        ] {
            assert_eq!(
                redact(&format!("cfg/key_{token}/a.py")),
                format!("cfg/key_[REDACTED:{id}]/a.py"),
                "{id}"
            );
        }
        // A longer word that merely contains the prefix letters is not a token.
        assert_eq!(redact("my_ghp_short.py"), "my_ghp_short.py");
    }

    fn kinds(text: &str) -> Vec<SecretKind> {
        Redactor::global()
            .find(text)
            .into_iter()
            .map(|m| m.kind)
            .collect()
    }

    fn assert_clean(text: &str) {
        let found = Redactor::global().find(text);
        assert!(
            found.is_empty(),
            "expected nothing in {text:?}, found {found:?}"
        );
    }

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(Redactor::global().rules.len(), RULES.len());
    }

    #[test]
    fn aws_access_key() {
        let line = format!("aws_access_key_id = {AKID}");
        assert_eq!(
            redact(&line),
            "aws_access_key_id = [REDACTED:aws-access-key]"
        );
        // AWS's documented example key is still a key-shaped string worth hiding.
        let doc = concat!("key ", "AKIA", "IOSFODNN7EXAMPLE", " here");
        assert_eq!(redact(doc), "key [REDACTED:aws-access-key] here");
        let session = concat!("\"AccessKeyId\": \"", "ASIA", "Y34FZKBOKMUTVV7A\",");
        assert_eq!(
            redact(session),
            "\"AccessKeyId\": \"[REDACTED:aws-access-key]\","
        );
    }

    #[test]
    fn aws_secret_key_env_yaml_json() {
        let env = format!("AWS_SECRET_ACCESS_KEY={AWS_SECRET}");
        assert_eq!(
            redact(&env),
            "AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-key]"
        );
        let yaml = format!("  aws_secret_access_key: \"{AWS_SECRET}\"\n");
        assert_eq!(
            redact(&yaml),
            "  aws_secret_access_key: \"[REDACTED:aws-secret-key]\"\n"
        );
        let json = format!("{{\"SecretAccessKey\": \"{AWS_SECRET}\", \"Expiration\": \"soon\"}}");
        assert_eq!(
            redact(&json),
            "{\"SecretAccessKey\": \"[REDACTED:aws-secret-key]\", \"Expiration\": \"soon\"}"
        );
        let ini = format!("[default]\naws_secret_access_key = {AWS_SECRET}\n");
        assert_eq!(
            redact(&ini),
            "[default]\naws_secret_access_key = [REDACTED:aws-secret-key]\n"
        );
    }

    #[test]
    fn github_tokens() {
        let line = format!("export GITHUB_TOKEN={GH_PAT}");
        assert_eq!(redact(&line), "export GITHUB_TOKEN=[REDACTED:github-token]");
        let fine = format!("token: {GH_FINE}");
        assert_eq!(redact(&fine), "token: [REDACTED:github-token]");
        let oauth = concat!(
            "Authorization: token ",
            "gho_",
            "16C7e42F292c6912E7710c838347Ae178B4a"
        );
        assert_eq!(
            redact(oauth),
            "Authorization: token [REDACTED:github-token]"
        );
    }

    #[test]
    fn gitlab_token() {
        let line = format!("GITLAB_TOKEN: {GLPAT}");
        assert_eq!(redact(&line), "GITLAB_TOKEN: [REDACTED:gitlab-token]");
    }

    #[test]
    fn slack_token_and_webhook() {
        let line = format!("SLACK_BOT_TOKEN={SLACK_BOT}");
        assert_eq!(redact(&line), "SLACK_BOT_TOKEN=[REDACTED:slack-token]");
        let hook = format!("curl -X POST -d @msg.json {SLACK_HOOK}");
        assert_eq!(
            redact(&hook),
            "curl -X POST -d @msg.json [REDACTED:slack-webhook]"
        );
        // Five x's in a row can occur in a random token; it is still one.
        let xs = concat!(
            "xoxb-",
            "00356206645-753762776781-",
            "d7LSmKsctEORxxxxXXyk8M7F"
        );
        assert_eq!(redact(&format!("t {xs} ")), "t [REDACTED:slack-token] ");
    }

    #[test]
    fn stripe_key() {
        let line = format!("stripe.api_key = \"{STRIPE}\"");
        assert_eq!(redact(&line), "stripe.api_key = \"[REDACTED:stripe-key]\"");
        let test_key = concat!(
            "Stripe::setApiKey('",
            "sk_",
            "test_",
            "4eC39HqLyjWDarjtT1zdp7dc');"
        );
        assert_eq!(
            redact(test_key),
            "Stripe::setApiKey('[REDACTED:stripe-key]');"
        );
    }

    #[test]
    fn openai_keys() {
        let line = format!("OPENAI_API_KEY={OPENAI}");
        assert_eq!(redact(&line), "OPENAI_API_KEY=[REDACTED:openai-key]");
        let legacy = format!("client = OpenAI(api_key=\"{OPENAI_LEGACY}\")");
        assert_eq!(
            redact(&legacy),
            "client = OpenAI(api_key=\"[REDACTED:openai-key]\")"
        );
    }

    #[test]
    fn private_key_block() {
        let text = concat!(
            "key file:\n",
            "-----BEGIN RSA PRIVATE KEY-----\n",
            "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi3pVxHk0ZyRm1vB8q7yQ2oK9xF\n",
            "nL4cWz8gT5rJ0hP2dV6sY1uA3eX9bK7mQ4wN8tR2yU6iO0pL3kJ5hG7fD9sA1zC\n",
            "-----END RSA PRIVATE KEY-----\n",
            "done\n"
        );
        assert_eq!(redact(text), "key file:\n[REDACTED:private-key]\ndone\n");
        let escaped = concat!(
            "{\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
            "\\n-----END PRIVATE KEY-----\\n\", ",
            "\"client_email\": \"svc@proj.iam.gserviceaccount.com\"}"
        );
        assert_eq!(
            redact(escaped),
            concat!(
                "{\"private_key\": \"[REDACTED:private-key]\\n\", ",
                "\"client_email\": \"[REDACTED:email]\"}"
            )
        );
    }

    #[test]
    fn unterminated_private_key_runs_to_end() {
        let text = concat!(
            "$ cat ~/.ssh/id_ed25519\n",
            "-----BEGIN OPENSSH PRIVATE KEY-----\n",
            "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n",
            "QyNTUxOQAAACB4bX... (output truncated)"
        );
        assert_eq!(
            redact(text),
            "$ cat ~/.ssh/id_ed25519\n[REDACTED:private-key]"
        );
    }

    #[test]
    fn private_key_header_alone_is_not_a_block() {
        assert_clean(
            "if line.starts_with(\"-----BEGIN RSA PRIVATE KEY-----\") {\n    return;\n}\n",
        );
        assert_clean("A PEM file starts with `-----BEGIN PRIVATE KEY-----` and ends with END.");
    }

    #[test]
    fn jwt() {
        let line = format!("Authorization: Bearer {JWT_TOKEN}");
        assert_eq!(redact(&line), "Authorization: Bearer [REDACTED:jwt]");
        let cookie = format!("Set-Cookie: session={JWT_TOKEN}; HttpOnly");
        assert_eq!(
            redact(&cookie),
            "Set-Cookie: session=[REDACTED:jwt]; HttpOnly"
        );
    }

    #[test]
    fn url_password_covers_the_password_only() {
        let line = "DATABASE_URL=postgres://app:s3cr3tP4ss@db.internal:5432/app";
        assert_eq!(
            redact(line),
            "DATABASE_URL=postgres://app:[REDACTED:url-password]@db.internal:5432/app"
        );
        let redis = "REDIS_URL=redis://:Zq8!mR2vK@cache:6379/0";
        assert_eq!(
            redact(redis),
            "REDIS_URL=redis://:[REDACTED:url-password]@cache:6379/0"
        );
        let at_sign = "amqp://guest:p@ssw0rd9@rabbit.example.com/";
        assert_eq!(
            redact(at_sign),
            "amqp://guest:[REDACTED:url-password]@rabbit.example.com/"
        );
    }

    #[test]
    fn generic_assignments() {
        assert_eq!(
            redact("db_password = \"Xk9#mP2$vL7q\""),
            "db_password = \"[REDACTED:generic-secret]\""
        );
        assert_eq!(
            redact("client_secret: 8f4e2a9b7c1d3e5f6a7b"),
            "client_secret: [REDACTED:generic-secret]"
        );
        assert_eq!(
            redact("{\"apiKey\": \"AbC123xYz789QwE456\", \"region\": \"eu-west-1\"}"),
            "{\"apiKey\": \"[REDACTED:generic-secret]\", \"region\": \"eu-west-1\"}"
        );
        assert_eq!(
            redact("  --auth-token='Qm9vbGVhbjpUcnVlOjE2'"),
            "  --auth-token='[REDACTED:generic-secret]'"
        );
        assert_eq!(
            redact("Authorization: Basic dXNlcjpwNHNzdzByZA=="),
            "Authorization: Basic [REDACTED:generic-secret]"
        );
        assert_eq!(
            redact("{\\\"password\\\": \\\"Tr0ub4dor&3x\\\"}"),
            "{\\\"password\\\": \\\"[REDACTED:generic-secret]\\\"}"
        );
        assert_eq!(
            redact("The token=aZ3kP9qL2mX7 was rotated."),
            "The token=[REDACTED:generic-secret] was rotated."
        );
        // Query parameters are redacted one by one, the rest of the URL stays.
        assert_eq!(
            redact("GET /cb?oauth_token=Kq3xZ9mW2pLr&oauth_verifier=Tn5vB8cY1dQs&lang=en"),
            "GET /cb?oauth_token=[REDACTED:generic-secret]\
             &oauth_verifier=[REDACTED:generic-secret]&lang=en"
        );
    }

    #[test]
    fn words_and_noise() {
        for words in [
            "process.env.GITHUB_TOKEN",
            "OAuth2Credentials",
            "S3HmacAuthV4Handler",
            "nl80211_auth_type",
            "enable_k8s_tokens_via_dns",
            "RFC6749-compliant",
            "v1.2.3-beta.4+build.567x",
            "https://accounts.google.com",
            "Jobs[-1].JobId",
            "hunter2hunter2",
        ] {
            assert!(looks_like_words(words), "{words} should read as words");
        }
        for noise in [
            "dXNlcjpwNHNzdzByZA==",
            "2YotnFZFEjr1zCsicMWpAA",
            "tGzv3JOkF0XG5Qx2TlKWIA",
            "h480djs93hd8",
            "8f4e2a9b7c1d3e5f6a7b",
            "Tr0ub4dor&3x",
            "kjshdfp",
            "abc_ThIsIsAsEcReT",
        ] {
            assert!(!looks_like_words(noise), "{noise} should read as noise");
        }
    }

    #[test]
    fn email() {
        assert_eq!(
            redact("Author: Jane Doe <jane.doe@example.com>"),
            "Author: Jane Doe <[REDACTED:email]>"
        );
        assert_eq!(
            redact("mailto:ops+alerts@corp.co.uk."),
            "mailto:[REDACTED:email]."
        );
        assert!(SecretKind::Email.is_pii());
        assert!(!SecretKind::GithubToken.is_pii());
    }

    #[test]
    fn prose_and_identifiers_are_clean() {
        assert_clean(
            "The retry logic in the payments service now backs off exponentially. \
             Authentication tokens are refreshed by token_refresh before they expire, \
             and the password policy requires twelve characters. See the author's notes.",
        );
        assert_clean(
            "Fixed in 3f2a9c1 (3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39), reverted by a1b2c3d.",
        );
        assert_clean("request 550e8400-e29b-41d4-a716-446655440000 failed after 3 retries");
        assert_clean("regex = \"1.10.2\"\nrust-version = \"1.88\"\nBumped to v2.14.0-rc.1");
        assert_clean("see src/payments/retry.rs and src/auth/token_store.rs:42");
        assert_clean(
            "| Field | Type | Notes |\n|---|---|---|\n\
             | token | string | API token, rotated daily |\n\
             | password_hash | bytes | argon2id |\n",
        );
        assert_clean(
            "https://github.com/o/r/commit/abc123 and https://example.com:8443/oauth/token?x=1",
        );
        assert_clean("git remote add origin git@github.com:o/r.git");
        assert_clean("git clone ssh://git@gitlab.com/o/r.git");
        assert_clean(
            "token_refresh\nfn token_refresh(&mut self) -> Result<()>\ntoken_refresh: true",
        );
        assert_clean("max_tokens: 4096\ntoken_type: Bearer\nsecret_name: prod-db-credentials");
        assert_clean("Password: Remember to rotate it. OAuth: RFC6749-compliant.");
        assert_clean("<img src=\"logo@2x.png\"> npm i lodash@4.17.21 @types/node");
        assert_clean("pkg:maven/org.jboss.logging/jboss-logging@3.6.1.Final?type=jar");
        assert_clean("updated 'sd' -> 'sd_IN@devanagari.UTF-8'");
    }

    #[test]
    fn code_that_names_secrets_is_clean() {
        assert_clean("let token = env::var(\"GITHUB_TOKEN\")?;");
        assert_clean("password: hash_password(&input),");
        assert_clean("api_key = os.environ[\"API_KEY\"]");
        assert_clean("const token = process.env.GITHUB_TOKEN;");
        assert_clean("credentials_file: ~/.aws/credentials\ntokenizer: bert-base-uncased");
        assert_clean("let secret = Secret::from_bytes_unchecked(raw);");
        assert_clean("token_expires_at: 2024-01-01T00:00:00Z");
        assert_clean("\"PasswordLastUsed\": \"2016-09-24T16:18:07Z\",");
        assert_clean("password = base64.b16encode(random_bytes[8:])");
        assert_clean("auth = HmacAuthV4Handler('glacier.us-east-1.amazonaws.com')");
        assert_clean("let mut tokens = strings.parse::<TokenStream>().unwrap();");
        assert_clean("private_key: ed25519.Ed25519PrivateKey, credentials: OAuth2Credentials");
        assert_clean("capabilities = 'LOGINDISABLED AUTH=CRAM-MD5'");
        assert_clean("\"AWS::SecretsManager::Secret\": \"c85175a4ebcce361\",");
        assert_clean(
            "arn:aws:secretsmanager:us-west-2:123456789012:secret:MyTestDatabaseSecret-a1b2c3",
        );
        assert_clean("\"ChangeToken\": \"abcd12f2-46da-4fdb-b8d5-fbd4c466928f\",");
        assert_clean("\"auth_public_key\": \"A66Z6Ocbtd9LCK8Y6juhsSkaSJEHYBIq92mRCuGmO98=\",");
    }

    #[test]
    fn placeholders_are_clean() {
        assert_clean("API_KEY=${API_KEY}");
        assert_clean("password: \"<your-password>\"");
        assert_clean("token = \"[REDACTED:github-token]\"");
        assert_clean("secret: xxxxxxxxxxxx");
        assert_clean("password: \"********\"");
        assert_clean("DATABASE_URL=postgres://user:${DB_PASSWORD}@db/app");
        assert_clean("DATABASE_URL=postgres://user:password@localhost/app");
        assert_clean("api_key: your-api-key-here");
        assert_clean("password = \"changeme\"");
        assert_clean("PASSWORD=\"$DB_PASS\"");
        assert_clean(concat!(
            "GITHUB_TOKEN=ghp_",
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        ));
        assert_clean(concat!(
            "https://hooks.slack.com/services/",
            "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
        ));
        assert_clean("slack: xoxb-your-token-here");
        assert_clean("uses: scikit sk-learn-style-model-name-here");
        assert_clean("\"PurchaseToken\": \"eyJ2IjoiMSIsInMiOjEsImMiOi...\",");
        assert_clean("oauth_callback = 'http://{host}:{port}/'");
        assert_clean(
            "\"private_key\": \"-----BEGIN EC PRIVATE KEY-----\\n<key bytes>\\n\
             -----END EC PRIVATE KEY-----\"",
        );
        assert_clean(
            "key=\"-----BEGIN PRIVATE KEY-----\\nXXXX\\nXXXX\\n-----END PRIVATE KEY-----\"",
        );
    }

    #[test]
    fn overlapping_matches_keep_the_specific_kind() {
        // The generic rule sees `GITHUB_TOKEN=<value>` too; the GitHub rule is more specific.
        let line = format!("GITHUB_TOKEN={GH_PAT}");
        assert_eq!(kinds(&line), [SecretKind::GithubToken]);
        // A GitLab token used as a URL password is both; the token kind wins, same range.
        let remote = format!("https://oauth2:{GLPAT}@gitlab.com/o/r.git");
        assert_eq!(
            redact(&remote),
            "https://oauth2:[REDACTED:gitlab-token]@gitlab.com/o/r.git"
        );
        // `pw@host.example.com` looks like an address; it is the password of a URL.
        let url = "https://deploy:Wq7zK2pX@host.example.com/path";
        assert_eq!(kinds(url), [SecretKind::UrlPassword]);
        // Bearer JWT: the generic assignment and the JWT cover the same value.
        let header = format!("\"Authorization\": \"Bearer {JWT_TOKEN}\"");
        assert_eq!(kinds(&header), [SecretKind::Jwt]);
        // A token inside a private key block does not split the block.
        let block = format!(
            "-----BEGIN PRIVATE KEY-----\n{AKID}\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n\
             -----END PRIVATE KEY-----"
        );
        assert_eq!(redact(&block), "[REDACTED:private-key]");
    }

    #[test]
    fn resolve_overlaps_prefers_rank_then_length() {
        let m = |kind, range: Range<usize>| SecretMatch { kind, range };
        let resolved = resolve_overlaps(vec![
            m(SecretKind::Email, 0..20),
            m(SecretKind::GenericSecret, 5..30),
            m(SecretKind::GenericSecret, 25..40),
            m(SecretKind::StripeKey, 35..45),
            m(SecretKind::Email, 50..60),
        ]);
        assert_eq!(
            resolved,
            [
                m(SecretKind::GenericSecret, 5..30),
                m(SecretKind::StripeKey, 35..45),
                m(SecretKind::Email, 50..60),
            ]
        );
    }

    fn sample() -> String {
        format!(
            "## Deploy notes\n\
             Contact: ops@acme.io (on call: j.smith@acme.io)\n\
             Remote: git@github.com:acme/payments.git at 3f2a9c1\n\
             \n\
             ```env\n\
             AWS_ACCESS_KEY_ID={AKID}\n\
             AWS_SECRET_ACCESS_KEY={AWS_SECRET}\n\
             DATABASE_URL=postgres://payments:N7q!x2Lp9@db.internal/payments\n\
             STRIPE_SECRET_KEY={STRIPE}\n\
             SLACK_WEBHOOK={SLACK_HOOK}\n\
             SESSION_SECRET=Gk4mZ8qT2wR6yB1n\n\
             LOG_LEVEL=info\n\
             ```\n\
             Token for CI: {GH_PAT}\n"
        )
    }

    #[test]
    fn multi_line_text_with_several_kinds() {
        let redacted = Redactor::global().redact(&sample());
        assert_eq!(
            redacted.text,
            "## Deploy notes\n\
             Contact: [REDACTED:email] (on call: [REDACTED:email])\n\
             Remote: git@github.com:acme/payments.git at 3f2a9c1\n\
             \n\
             ```env\n\
             AWS_ACCESS_KEY_ID=[REDACTED:aws-access-key]\n\
             AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-key]\n\
             DATABASE_URL=postgres://payments:[REDACTED:url-password]@db.internal/payments\n\
             STRIPE_SECRET_KEY=[REDACTED:stripe-key]\n\
             SLACK_WEBHOOK=[REDACTED:slack-webhook]\n\
             SESSION_SECRET=[REDACTED:generic-secret]\n\
             LOG_LEVEL=info\n\
             ```\n\
             Token for CI: [REDACTED:github-token]\n"
        );
        let found = Redactor::global().find(&sample());
        assert!(found.windows(2).all(|w| w[0].range.end <= w[1].range.start));
    }

    #[test]
    fn counts_per_kind() {
        let redacted = Redactor::global().redact(&sample());
        let expected: BTreeMap<&str, usize> = [
            ("aws-access-key", 1),
            ("aws-secret-key", 1),
            ("email", 2),
            ("generic-secret", 1),
            ("github-token", 1),
            ("slack-webhook", 1),
            ("stripe-key", 1),
            ("url-password", 1),
        ]
        .into_iter()
        .collect();
        assert_eq!(redacted.counts, expected);
        assert_eq!(redacted.total(), 9);
        assert_eq!(Redactor::global().redact("nothing here").total(), 0);
    }

    #[test]
    fn redaction_is_idempotent() {
        let inputs = [
            sample(),
            format!("Authorization: Bearer {JWT_TOKEN}"),
            format!("https://oauth2:{GLPAT}@gitlab.com/o/r.git"),
            format!("OPENAI_API_KEY={OPENAI} SLACK={SLACK_BOT} {GH_FINE}"),
            "db_password = \"Xk9#mP2$vL7q\" and redis://:Zq8!mR2vK@cache:6379/0".to_string(),
            "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oWSH1Y3kLdJq\n"
                .to_string(),
        ];
        for input in inputs {
            let once = redact(&input);
            let twice = Redactor::global().redact(&once);
            assert_eq!(twice.text, once, "second pass changed {input:?}");
            assert_eq!(twice.total(), 0, "the marker matched in {once:?}");
        }
    }

    #[test]
    fn secrets_never_grow_past_their_value() {
        // Quotes, separators and what follows stay; nothing of the secret survives.
        let line = format!("  \"token\": \"{GH_PAT}\",\n");
        let found = Redactor::global().find(&line);
        assert_eq!(found.len(), 1);
        assert_eq!(&line[found[0].range.clone()], GH_PAT);
        let redacted = redact(&sample());
        for secret in [
            AKID,
            AWS_SECRET,
            STRIPE,
            SLACK_HOOK,
            GH_PAT,
            "N7q!x2Lp9",
            "Gk4mZ8qT2wR6yB1n",
        ] {
            assert!(!redacted.contains(secret), "{secret} survived");
        }
    }

    #[test]
    fn non_ascii_text_is_handled() {
        let text = format!("Schlüssel für München: {GH_PAT} — André <andre@beispiel.de> ✓");
        assert_eq!(
            redact(&text),
            "Schlüssel für München: [REDACTED:github-token] — André <[REDACTED:email]> ✓"
        );
    }

    #[test]
    fn labels_and_ids_are_distinct() {
        let all = RULES.map(|(kind, _)| kind);
        let mut ids: Vec<_> = all.iter().map(|k| k.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
        assert!(all.iter().all(|k| !k.label().is_empty()));
    }
}
