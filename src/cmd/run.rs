//! `skillrun run`: a skill with a model, from the prompt to the checked document.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use skillrun::agent::{self, Budget, Event, Outcome, RunOptions};
use skillrun::model::{Connection, Model, ModelSpec, RetryHook, RetryPolicy, Retrying};
use skillrun::skill::lint::LintOptions;
use skillrun::skill::select;

use crate::{EXIT_FINDINGS, EXIT_INTERRUPTED, catalog, first_sentence, plural};

/// `skillrun.toml`: defaults for `run`, from the repository, else the user's config folder.
/// Flags win. The API key is never read from it: it comes from `OPENAI_API_KEY`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunConfig {
    model: Option<String>,
    base_url: Option<String>,
    max_turns: Option<u32>,
    request_timeout: Option<u64>,
}

impl RunConfig {
    pub(crate) fn load(repo: &Path) -> Result<RunConfig> {
        let user = skillrun::skill::discover::user_skills_dir()
            .and_then(|d| d.parent().map(|p| p.join("skillrun.toml")));
        for path in std::iter::once(repo.join("skillrun.toml")).chain(user) {
            if path.is_file() {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("{}: cannot read", path.display()))?;
                return toml::from_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()));
            }
        }
        Ok(RunConfig::default())
    }
}

pub(crate) struct RunFlags {
    pub(crate) model: Option<String>,
    pub(crate) base_url: Option<String>,
    pub(crate) max_turns: Option<u32>,
    pub(crate) request_timeout: Option<u64>,
    pub(crate) force: bool,
    pub(crate) apply_guardrails: bool,
}

#[allow(
    clippy::too_many_arguments,
    reason = "one parameter per command-line option"
)]
pub(crate) fn cmd_run(
    skills: &[PathBuf],
    prompt: &str,
    repo: &Path,
    skill: Option<&str>,
    flags: RunFlags,
    config: RunConfig,
    runs_dir: Option<PathBuf>,
    json: bool,
    quiet: bool,
) -> Result<u8> {
    if prompt.trim().is_empty() {
        bail!(
            "the prompt is empty: say what to write, e.g. `skillrun run \"write a postmortem for the payment outage\"`"
        );
    }
    for day in skillrun::trace::dates_in(prompt)
        .into_iter()
        .filter(|d| skillrun::trace::is_future(*d))
    {
        eprintln!(
            "warning: the request's date {day} has not come yet, so it is not taken as the incident's; write the date it happened, as YYYY-MM-DD"
        );
    }
    if let Ok(git) = skillrun::repo::open(repo) {
        for sha in skillrun::trace::unknown_shas(&git, prompt) {
            eprintln!(
                "warning: the request names {sha}, which is no commit of this repository; the fix will be looked for by the request's other words"
            );
        }
    }
    let catalog = catalog(skills, Some(repo), &LintOptions::default())?;
    let skill = match skill {
        Some(name) => catalog.get(name).ok_or_else(|| {
            anyhow!(
                "no skill named {name:?}; skills found: {}",
                catalog.names().join(", ")
            )
        })?,
        None => {
            let Some(sel) = select(prompt, catalog.skills.iter().map(|(s, _)| s)) else {
                let list: Vec<String> = catalog
                    .skills
                    .iter()
                    .map(|(s, _)| {
                        format!(
                            "  {:<20} {}",
                            s.meta.name,
                            first_sentence(&s.meta.description)
                        )
                    })
                    .collect();
                bail!(
                    "no skill matches {prompt:?}; use --skill NAME with one of:\n{}",
                    list.join("\n")
                );
            };
            catalog
                .get(&sel.skill)
                .ok_or_else(|| anyhow!("selected skill {} vanished", sel.skill))?
        }
    };
    let spec: ModelSpec = flags
        .model
        .or(config.model)
        .unwrap_or_else(|| "offline".to_string())
        .parse()?;
    if matches!(spec, ModelSpec::Offline)
        && let Some(contract) = &skill.contract
    {
        let other = skillrun::model::offline::unwritable_sections(contract);
        if !other.is_empty() {
            bail!(
                "the offline investigator (the default model) writes postmortems only, and skill `{}` asks for {}; run it with a model: --model openai:MODEL (any OpenAI-compatible server) or --model ollama:MODEL",
                skill.meta.name,
                other
                    .iter()
                    .map(|t| format!("`## {t}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let timeout = flags.request_timeout.or(config.request_timeout);
    if timeout == Some(0) {
        bail!("request_timeout in skillrun.toml is 0: a request needs at least 1 second");
    }
    let retry = RetryPolicy {
        timeout: timeout.map_or(
            RetryPolicy::default().timeout,
            std::time::Duration::from_secs,
        ),
        ..RetryPolicy::default()
    };
    let mut budget = Budget::default();
    if let Some(n) = flags.max_turns.or(config.max_turns) {
        if n == 0 {
            bail!("max_turns in skillrun.toml is 0: a run needs at least 1 turn");
        }
        budget.max_turns = n;
    }
    let base_url = flags.base_url.or(config.base_url);
    // On a terminal, a spinner under the step lines says the run is alive while the model
    // thinks; elsewhere (pipes, CI logs) the plain lines only.
    use std::io::IsTerminal as _;
    let spinner = (!json && !quiet && std::io::stderr().is_terminal())
        .then(indicatif::ProgressBar::new_spinner);
    // A server that does not answer is asked again, for minutes at worst: each retry gets
    // a line, under --quiet too, as a warning does.
    let on_retry = {
        let pb = spinner.clone();
        RetryHook(std::sync::Arc::new(move |r: &Retrying| {
            if json {
                let event = serde_json::json!({"event": "retrying", "attempt": r.attempt,
                    "attempts": r.attempts, "wait_ms": r.wait.as_millis(), "why": r.why});
                out!("{event}");
                return;
            }
            let line = format!(
                "  the model server failed (attempt {} of {}): {}; asking again in {:.1} s",
                r.attempt,
                r.attempts,
                r.why,
                r.wait.as_secs_f64()
            );
            match &pb {
                Some(pb) => pb.println(line),
                None => eprintln!("{line}"),
            }
        }))
    };
    let mut model: Box<dyn Model> = spec.build(&Connection {
        base_url,
        retry,
        apply_guardrails: flags.apply_guardrails,
        replay_case: None,
        on_retry: Some(on_retry),
    })?;
    if let Some(pb) = &spinner {
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        pb.set_message("starting");
    }
    let opts = RunOptions {
        prompt: prompt.to_string(),
        repo: repo.to_path_buf(),
        skill,
        budget,
        runs_dir,
        force: flags.force,
        apply_guardrails: flags.apply_guardrails,
    };
    let mut on_event = |e: &Event| {
        if json {
            if let Ok(line) = serde_json::to_string(e) {
                out!("{line}");
            }
        } else if matches!(e, Event::Stopped { .. }) {
            // Said once, by the run's last line (`failed: ...`).
        } else if let Some(pb) = &spinner {
            pb.println(describe(e));
            pb.set_message(match e {
                Event::Turn { .. } | Event::ToolCall { .. } => "waiting for the model".to_string(),
                Event::Start { .. } => "asking the model".to_string(),
                _ => "finishing".to_string(),
            });
        } else if !quiet || matches!(e, Event::ContextCut { .. }) {
            // A warning is worth a line even under --quiet.
            eprintln!("{}", describe(e));
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let controls = agent::RunControls::default();
    let cancel = controls.cancel.clone();
    let report = runtime.block_on(async {
        // SIGINT stops the run at its next step; the run folder records what was done.
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        });
        agent::run_with(model.as_mut(), opts, &controls, &mut on_event).await
    })?;
    if let Some(pb) = &spinner {
        pb.finish_and_clear();
    }
    if json {
        out!("{}", serde_json::to_string(&report)?);
    } else {
        match &report.outcome {
            Outcome::Written { path } => {
                if quiet {
                    out!("{}", repo.join(path).display());
                } else {
                    out!("wrote {}", repo.join(path).display());
                }
            }
            Outcome::Addendum { path } => {
                if quiet {
                    out!("{}", repo.join(path).display());
                } else {
                    out!("appended an addendum to {}", repo.join(path).display());
                }
            }
            Outcome::Declined { reason } => {
                if quiet {
                    // Nothing on stdout, where a path is expected, but not silence.
                    eprintln!("declined: {reason}");
                } else {
                    out!("declined: {reason}");
                }
            }
            Outcome::Failed { reason, .. } => {
                eprintln!("failed: {reason}");
                eprintln!(
                    "nothing was written; the run is kept in {}",
                    report.run_dir.display()
                );
            }
        }
        if !quiet {
            // A model that counts no tokens (the offline investigator, a replay of it) gets no
            // token count.
            let tokens = if report.prompt_tokens + report.completion_tokens > 0 {
                format!(
                    ", {} prompt + {} completion tokens",
                    report.prompt_tokens, report.completion_tokens
                )
            } else {
                String::new()
            };
            eprintln!(
                "{} turn{}, {} tool call{}{tokens}",
                report.turns,
                plural(report.turns as usize),
                report.tool_calls,
                plural(report.tool_calls as usize),
            );
        }
    }
    Ok(match &report.outcome {
        Outcome::Written { .. } | Outcome::Addendum { .. } | Outcome::Declined { .. } => 0,
        Outcome::Failed { reason, .. } if reason == agent::INTERRUPTED => EXIT_INTERRUPTED,
        Outcome::Failed { .. } => EXIT_FINDINGS,
    })
}

/// One progress line for a step of a run.
pub(crate) fn describe(e: &Event) -> String {
    match e {
        Event::Start {
            run_dir,
            model,
            skill,
        } => {
            format!(
                "skill {skill}, model {model}; run folder {}",
                run_dir.display()
            )
        }
        Event::Turn { turn, tokens: 0 } => format!("turn {turn}"),
        Event::Turn { turn, tokens } => format!("turn {turn} ({tokens} tokens so far)"),
        Event::ToolCall {
            name,
            args,
            ok,
            bytes,
            ms,
            redacted,
        } => format!(
            "  {} {name} {args}  {bytes} B, {ms} ms{}",
            if *ok { "ok " } else { "err" },
            if *redacted > 0 {
                format!(", {redacted} redacted")
            } else {
                String::new()
            }
        ),
        Event::Submitted {
            accepted,
            errors,
            warnings,
        } => {
            if *accepted {
                format!("  submit_document: accepted ({warnings} warnings)")
            } else if *errors == 0 {
                // Rejected with no finding: the writing failed, as the next line says.
                format!(
                    "  submit_document: passed the checks ({warnings} warnings) but was not written"
                )
            } else {
                format!("  submit_document: rejected ({errors} errors, {warnings} warnings)")
            }
        }
        Event::Written { path } => format!("  wrote {}", path.display()),
        Event::Addendum { path } => format!("  appended an addendum to {}", path.display()),
        Event::Guardrail { path } => format!("  wrote guardrail {}", path.display()),
        Event::Declined { reason } => format!("  declined: {reason}"),
        Event::Shortened { removed } => format!(
            "  the conversation outgrew the model's context window: {removed} older tool result{} now replaced by a note; asking again",
            crate::plural(*removed)
        ),
        Event::ContextCut {
            prompt_tokens,
            previous,
        } => format!(
            "  warning: the server counted {prompt_tokens} prompt tokens, no more than the {previous} of the request before, though the conversation grew: it is probably cutting the conversation to fit its context window (for Ollama, raise OLLAMA_CONTEXT_LENGTH to 16384 or more)"
        ),
        Event::Stopped { reason } => format!("  stopped: {reason}"),
    }
}
