//! `skillrun tools`: list the repository tools, or call one as a model would.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;

use skillrun::tools::{Registry, Sandbox};

use crate::EXIT_FINDINGS;

#[derive(Subcommand)]
pub(crate) enum ToolsCommand {
    /// Each tool's name, description and argument schema.
    List {
        /// Print name, description and `parameters` (JSON Schema) of every tool as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Call a tool on a repository, as a model would, and print its (sanitised) result.
    Call {
        /// The tool's name (`skillrun tools list` shows them).
        name: String,
        /// The arguments, as a JSON object.
        #[arg(long, default_value = "{}")]
        args: String,
        /// The arguments given after the name, as `tools call git_log '{"limit": 2}'`.
        #[arg(value_name = "ARGS", conflicts_with = "args")]
        positional_args: Option<String>,
        /// The git repository the tool reads.
        #[arg(long, value_name = "DIR", default_value = ".")]
        repo: PathBuf,
        /// Print the whole result as JSON: text, structured data, provenance, redaction counts.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn cmd_tools(command: ToolsCommand) -> Result<u8> {
    let registry = Registry::standard();
    match command {
        ToolsCommand::List { json } => {
            let specs = registry.specs();
            if json {
                out!("{}", serde_json::to_string_pretty(&specs)?);
            } else {
                for s in specs {
                    let params: Vec<String> = s.parameters["properties"]
                        .as_object()
                        .map(|p| {
                            let required: Vec<&str> = s.parameters["required"]
                                .as_array()
                                .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
                                .unwrap_or_default();
                            p.keys()
                                .map(|k| {
                                    if required.contains(&k.as_str()) {
                                        k.clone()
                                    } else {
                                        format!("{k}?")
                                    }
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    out!("{}({})", s.name, params.join(", "));
                    out!("    {}", s.description);
                }
            }
            Ok(0)
        }
        ToolsCommand::Call {
            name,
            args,
            positional_args,
            repo,
            json,
        } => {
            let args = positional_args.unwrap_or(args);
            // A name that is no tool is a usage mistake (exit 2), unlike a tool that fails.
            let names = registry.names();
            if !names.contains(&name.as_str()) {
                bail!("unknown tool `{name}`; the tools are: {}", names.join(", "));
            }
            let args: serde_json::Value = serde_json::from_str(&args)
                .with_context(|| format!("--args is not valid JSON: {args}"))?;
            if !args.is_object() {
                bail!(
                    "the arguments must be a JSON object, as {{\"limit\": 2}}, not {args}; `skillrun tools list` shows each tool's"
                );
            }
            let sandbox = Sandbox::open(&repo)?;
            match registry.call(&sandbox, &name, args) {
                Ok(result) => {
                    if json {
                        out!("{}", serde_json::to_string_pretty(&result)?);
                    } else {
                        out!("{}", result.text.trim_end());
                        if result.sanitized.redacted_total() > 0 {
                            // By kind: an e-mail address is redacted as personal data, which
                            // "secret" would misname.
                            let kinds: Vec<String> = result
                                .sanitized
                                .redacted
                                .iter()
                                .map(|(kind, n)| format!("{n} {kind}"))
                                .collect();
                            eprintln!("(redacted: {})", kinds.join(", "));
                        }
                    }
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("error: {name}: {e}");
                    Ok(EXIT_FINDINGS)
                }
            }
        }
    }
}
