fn main() {
    let path = std::env::args().nth(1).unwrap_or_default();
    let src = std::fs::read_to_string(&path).unwrap_or_default();
    match rpl::syntax::parse(&src) {
        Ok(p) => println!("{} items", p.items.len()),
        Err(d) => print!("{}", rpl::diag::render(&path, &src, &[d])),
    }
}
