//! Prints what the pipeline target does with one input file: every frame's verdict, and
//! the frame in and out in hex (to read a crasher).
fn main() {
    for path in std::env::args().skip(1) {
        let data = std::fs::read(&path).expect("readable input");
        println!("{path}:");
        for line in relay_fuzz_checks::check::pipeline::explain(&data) {
            println!("  {line}");
        }
    }
}
