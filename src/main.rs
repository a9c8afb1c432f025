fn main() {
    let path = std::env::args().nth(1).unwrap_or_default();
    let src = std::fs::read_to_string(&path).unwrap_or_default();
    match rpl::syntax::parse(&src) {
        Ok(p) => {
            let (prog, diags) = rpl::check::check(&p, &src);
            print!("{}", rpl::diag::render(&path, &src, &diags));
            println!("program: {}", prog.is_some());
        }
        Err(d) => print!("{}", rpl::diag::render(&path, &src, &[d])),
    }
}
