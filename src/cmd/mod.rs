//! The subcommands, one module each.

pub(crate) mod check;
pub(crate) mod demo;
pub(crate) mod eval;
pub(crate) mod run;
pub(crate) mod skills;
pub(crate) mod tools;
pub(crate) mod trace;
