//! Parser snapshots, one per file under `tests/parse/`: the tree as an
//! S-expression, or for `err_*.rpl` the rendered syntax errors (one per
//! broken item).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn parse() {
    insta::glob!("parse/*.rpl", |path| {
        let source = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let shown = format!("parse/{name}");
        let output = match rpl::internals::parse(&source) {
            Ok(ast) => {
                assert!(!name.starts_with("err_"), "{name} should not parse");
                ast.to_string()
            }
            Err(d) => {
                assert!(
                    name.starts_with("err_"),
                    "{name} should parse:\n{}",
                    rpl::render_diagnostics(&shown, &source, &d)
                );
                rpl::render_diagnostics(&shown, &source, &d)
            }
        };
        insta::with_settings!({ description => source.as_str(), omit_expression => true }, {
            insta::assert_snapshot!(output);
        });
    });
}
