//! skillrun: a runtime for LLM agent skills.
//!
//! A skill is a markdown file with YAML front matter (`SKILL.md`). This crate loads skills
//! ([`skill`]), derives from a skill's own template what a correct document is
//! ([`skill::contract`]), and checks documents against it ([`check`](mod@check)), reading the
//! repository's history in-process ([`repo`]) and keeping secrets out ([`redact`]).

pub mod agent;
pub mod check;
pub mod commitgraph;
pub mod demo;
pub mod diag;
pub mod diff;
pub mod eval;
pub mod markdown;
pub mod mcp;
pub mod model;
pub mod odb;
pub mod redact;
pub mod repo;
pub mod skill;
pub mod text;
pub mod tools;
pub mod trace;
pub mod untrusted;

pub use check::{Document, Rules, check};
pub use diag::{Finding, Severity};
pub use skill::{Contract, Skill};
