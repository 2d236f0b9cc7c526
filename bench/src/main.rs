fn main() {
    eprintln!("benchmarks: see bench/README.md");
}
