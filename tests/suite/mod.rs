mod check;
mod cli;
mod contract;
mod frontmatter;
mod select;
mod support;
