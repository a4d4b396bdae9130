//! The examples of `docs/mapping.md` compile, so the reference cannot drift from the code.
//!
//! Conventions for fenced code blocks in `docs/mapping.md` (the info string is the text right
//! after the opening fence):
//!
//! - ```` ```toml ````: a complete mapping. It must compile for every dialect (SQLite,
//!   PostgreSQL, MySQL).
//! - ```` ```toml-fragment ````: a partial snippet (a section alone, alternative lines). Not
//!   compiled.
//! - ```` ```toml-error ````: a mapping that must be rejected. The last non-blank line before
//!   the fence must be an HTML comment `<!-- error: TEXT -->` (checked with SQLite) or
//!   `<!-- error DIALECT: TEXT -->` (`sqlite`, `postgres` or `mysql`); the rendered error
//!   message must contain TEXT.
//! - Any other block (`json`, `sql`, `text`, `sh`) is ignored.

use fhir_facade::mapping::parse;
use fhir_facade::sql::Dialect;

/// One fenced block of the document.
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    /// The info string.
    info: String,
    /// The block's text.
    text: String,
    /// The last non-blank line before the fence.
    before: String,
}

fn blocks(doc: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = doc.lines().enumerate();
    let mut before = String::new();
    while let Some((i, line)) = lines.next() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            let indent = line.len() - trimmed.len();
            let mut text = String::new();
            let mut closed = false;
            for (_, l) in lines.by_ref() {
                if l.trim() == "```" {
                    closed = true;
                    break;
                }
                text.push_str(l.get(indent..).unwrap_or(l.trim_start()));
                text.push('\n');
            }
            assert!(closed, "docs/mapping.md:{}: unclosed code block", i + 1);
            out.push(Block {
                line: i + 1,
                info: info.trim().to_string(),
                text,
                before: std::mem::take(&mut before),
            });
        } else if !line.trim().is_empty() {
            before = line.trim().to_string();
        }
    }
    out
}

fn doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/mapping.md");
    std::fs::read_to_string(path).expect("docs/mapping.md exists")
}

fn dialect_named(name: &str) -> Dialect {
    Dialect::ALL
        .into_iter()
        .find(|d| d.key() == name)
        .unwrap_or_else(|| panic!("unknown dialect '{name}' in an error comment"))
}

/// `<!-- error: TEXT -->` or `<!-- error DIALECT: TEXT -->` → (dialect, TEXT).
fn expected_error(comment: &str) -> Option<(Dialect, String)> {
    let inner = comment.strip_prefix("<!--")?.strip_suffix("-->")?.trim();
    let rest = inner.strip_prefix("error")?;
    let (head, text) = rest.split_once(':')?;
    let dialect = match head.trim() {
        "" => Dialect::Sqlite,
        name => dialect_named(name),
    };
    Some((dialect, text.trim().to_string()))
}

#[test]
fn every_complete_example_compiles_for_every_dialect() {
    let doc = doc();
    let mut count = 0;
    for b in blocks(&doc).iter().filter(|b| b.info == "toml") {
        assert!(
            b.text.contains("[[resource]]"),
            "docs/mapping.md:{}: a ```toml block must be a complete mapping; mark snippets ```toml-fragment",
            b.line
        );
        for d in Dialect::ALL {
            if let Err(e) = parse("docs", &b.text, d) {
                panic!(
                    "docs/mapping.md:{}: the example does not compile for {d}:\n{e}",
                    b.line
                );
            }
        }
        count += 1;
    }
    assert!(count >= 25, "only {count} ```toml examples found");
}

#[test]
fn every_error_example_fails_with_its_message() {
    let doc = doc();
    let mut count = 0;
    for b in blocks(&doc).iter().filter(|b| b.info == "toml-error") {
        let Some((dialect, wanted)) = expected_error(&b.before) else {
            panic!(
                "docs/mapping.md:{}: a ```toml-error block needs <!-- error: TEXT --> before it",
                b.line
            );
        };
        match parse("docs", &b.text, dialect) {
            Ok(_) => panic!(
                "docs/mapping.md:{}: the example compiles for {dialect} but should fail with '{wanted}'",
                b.line
            ),
            Err(e) => assert!(
                e.to_string().contains(&wanted),
                "docs/mapping.md:{}: expected '{wanted}' in:\n{e}",
                b.line
            ),
        }
        count += 1;
    }
    assert!(count >= 10, "only {count} ```toml-error examples found");
}

#[test]
fn fragments_and_other_blocks_use_known_info_strings() {
    let doc = doc();
    for b in blocks(&doc) {
        assert!(
            [
                "toml",
                "toml-fragment",
                "toml-error",
                "json",
                "sql",
                "text",
                "sh"
            ]
            .contains(&b.info.as_str()),
            "docs/mapping.md:{}: unknown code block kind '{}'",
            b.line,
            b.info
        );
    }
}

#[test]
fn the_printed_binding_error_is_the_real_one() {
    // §13 shows the full output of one rejected example; keep it true.
    let text = "[maps.sex]\nvalues = { M = \"M\", F = \"F\" }\n\n[[resource]]\ntype = \"Patient\"\n\
                table = \"PATIENT\"\nid = \"PAT_ID\"\n[resource.elements]\n\
                gender = { column = \"SEX_CD\", map = \"sex\" }\n";
    let printed = parse("mapping.toml", text, Dialect::Sqlite)
        .unwrap_err()
        .to_string();
    let doc = doc();
    assert!(
        doc.contains(&printed),
        "docs/mapping.md should contain exactly:\n{printed}"
    );
}

#[test]
fn the_block_parser_follows_the_conventions() {
    let sample =
        "text\n<!-- error mysql: boom -->\n```toml-error\na = 1\n```\n\n```toml\nb = 2\n```\n";
    let bs = blocks(sample);
    assert_eq!(bs.len(), 2);
    assert_eq!(bs[0].info, "toml-error");
    assert_eq!(bs[0].line, 3);
    assert_eq!(bs[0].text, "a = 1\n");
    assert_eq!(
        expected_error(&bs[0].before),
        Some((Dialect::Mysql, "boom".to_string()))
    );
    assert_eq!(bs[1].before, "");
    assert_eq!(expected_error("<!-- error: x: y -->").unwrap().1, "x: y");
}

/// The standard parameters that can never be declared, whatever the mapping: each type's
/// parameters are declared on a source that maps nothing, and every refusal other than "map
/// the elements it searches" is such a parameter. `Type.code: why`, sorted.
fn never_declarable() -> Vec<String> {
    use fhir_facade::fhir::Definitions;
    use fhir_facade::mapping::MappingLoadError;
    let defs = Definitions::r4();
    // What a source that maps nothing is told about a parameter it could serve.
    let mapping_dependent = [
        "none of the elements it searches is mapped",
        "has all of its components",
        "the source has no `last_updated`",
    ];
    let mut out = Vec::new();
    for rt in defs.resource_types() {
        let mut text = format!(
            "[[resource]]\ntype = \"{rt}\"\ntable = \"T\"\nid = \"ID\"\n[resource.search]\n"
        );
        let codes: Vec<&str> = defs.search_params(rt).map(|p| p.code.as_str()).collect();
        for code in &codes {
            text.push_str(&format!("\"{code}\" = true\n"));
        }
        let errors = match parse("probe.toml", &text, Dialect::Sqlite) {
            Ok(_) => continue,
            Err(MappingLoadError::Invalid { errors, .. }) => errors,
            Err(e) => panic!("{rt}: {e}"),
        };
        for e in errors {
            if mapping_dependent.iter().any(|m| e.message.contains(m)) {
                continue;
            }
            let code = e
                .entry
                .split("search \"")
                .nth(1)
                .and_then(|c| c.strip_suffix('"'))
                .unwrap_or_else(|| panic!("{rt}: an error that is not a parameter's: {e}"));
            let why = e
                .message
                .split(" cannot be searched: ")
                .nth(1)
                .unwrap_or(&e.message);
            out.push(format!("{rt}.{code}: {why}"));
        }
    }
    out.sort();
    out
}

/// The first column of the table after `<!-- never-declarable -->` in docs/mapping.md: every
/// `code` in backticks (`Type.code`, or `_code` for a common parameter of every type).
fn documented_never_declarable(doc: &str) -> std::collections::BTreeSet<String> {
    let (_, rest) = doc
        .split_once("<!-- never-declarable -->")
        .expect("docs/mapping.md lists the parameters that cannot be declared");
    let mut out = std::collections::BTreeSet::new();
    for line in rest.trim_start().lines().skip(2) {
        let Some(first) = line.strip_prefix('|').and_then(|l| l.split('|').next()) else {
            break;
        };
        out.extend(first.split('`').skip(1).step_by(2).map(str::to_string));
    }
    out
}

#[test]
fn the_documented_undeclarable_parameters_are_those_the_code_refuses() {
    let mut refused = std::collections::BTreeSet::new();
    let mut common: std::collections::BTreeMap<String, usize> = Default::default();
    for l in never_declarable() {
        let (param, _) = l.split_once(": ").unwrap();
        let (_, code) = param.split_once('.').unwrap();
        if code.starts_with('_') {
            *common.entry(code.to_string()).or_default() += 1;
            refused.insert(code.to_string());
        } else {
            refused.insert(param.to_string());
        }
    }
    // A common parameter is listed alone only when no type can declare it.
    let types = fhir_facade::fhir::Definitions::r4()
        .resource_types()
        .count();
    for (code, n) in &common {
        assert!(
            *n >= types - 5,
            "{code} is refused on {n} of {types} types only"
        );
    }
    assert_eq!(
        documented_never_declarable(&doc()),
        refused,
        "docs/mapping.md (the table after <!-- never-declarable -->) and the code disagree"
    );
}
