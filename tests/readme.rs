//! The README stays true: its state diagram is the one the table generates,
//! its first code block has exactly the two commands for a fresh machine, and
//! its API example is the crate-docs doctest.

const README: &str = include_str!("../README.md");
const LIB_RS: &str = include_str!("../src/lib.rs");

/// The bodies of the fenced code blocks of `text` whose info string is
/// `lang` (`None`: every block), in order.
fn blocks<'a>(text: &'a str, lang: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<(String, &'a str)> = None;
    for line in text.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) => current = Some((String::new(), info.trim())),
            (Some((body, info)), Some("")) => {
                if lang.is_none_or(|l| l == *info) {
                    out.push(std::mem::take(body));
                }
                current = None;
            }
            (Some((body, _)), _) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

#[test]
fn mermaid_diagram_is_generated_from_the_table() {
    let found = blocks(README, Some("mermaid"));
    assert_eq!(
        found.len(),
        1,
        "README.md needs exactly one ```mermaid block"
    );
    assert!(
        found[0] == tcpstate::state::to_mermaid(),
        "README.md's state diagram is stale: replace the ```mermaid block with \
         the output of `cargo run --example diagram`"
    );
}

#[test]
fn first_code_block_has_the_two_commands() {
    let first = blocks(README, None)
        .into_iter()
        .next()
        .expect("a code block");
    let commands: Vec<&str> = first.lines().collect();
    assert_eq!(
        commands,
        [
            "cargo run --example lifecycle",
            "cargo test --workspace --all-features"
        ]
    );
}

#[test]
fn api_example_is_the_crate_doctest() {
    let readme = blocks(README, Some("rust"));
    assert_eq!(readme.len(), 1, "README.md needs exactly one ```rust block");
    // The crate docs without their `//! ` prefix; hidden doctest lines dropped.
    let docs: String = LIB_RS
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .filter(|l| !(l.starts_with("# ") || *l == "#"))
        .map(|l| format!("{l}\n"))
        .collect();
    let doctests = blocks(&docs, Some(""));
    assert!(
        doctests.contains(&readme[0]),
        "README.md's ```rust example differs from the example in src/lib.rs's crate docs"
    );
}
