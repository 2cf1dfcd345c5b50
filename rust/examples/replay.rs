//! Replays a trace from Rust alone: `cargo run --release --example replay -- TRACE.jsonl`.
//! Handy for profiling the engine without Python in the picture.

use std::io::{BufReader, BufWriter, Write};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: replay TRACE.jsonl");
        std::process::exit(2);
    };
    let file = std::fs::File::open(&path).unwrap_or_else(|e| {
        eprintln!("cannot open {path}: {e}");
        std::process::exit(2);
    });
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = acdcore::replay::run(BufReader::new(file), &mut out);
    out.flush().ok();
    if let Err(e) = result {
        eprintln!("{path}: {e}");
        std::process::exit(1);
    }
}
