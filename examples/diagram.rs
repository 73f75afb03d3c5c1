//! Prints the TCP state diagram, generated from `tcpstate::TRANSITIONS`.
//!
//! ```text
//! cargo run --example diagram          # Mermaid stateDiagram-v2
//! cargo run --example diagram -- --dot # Graphviz DOT (| dot -Tsvg > tcp.svg)
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] | ["--mermaid"] => print!("{}", tcpstate::state::to_mermaid()),
        ["--dot"] => print!("{}", tcpstate::state::to_dot()),
        _ => {
            eprintln!("usage: diagram [--mermaid | --dot]");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
