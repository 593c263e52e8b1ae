//! Echoes its input; the first input byte selects a behaviour: 'p' panics, 'x' exits with code
//! 7, anything else prints a debug line and echoes.
#![no_std]
#![no_main]

nexus_zkvm_guest::entry!(main);

fn main() {
    let input = nexus_zkvm_guest::read_input();
    match input.first() {
        Some(b'p') => panic!("asked to panic"),
        Some(b'x') => {
            nexus_zkvm_guest::commit(&input);
            nexus_zkvm_guest::exit(7)
        }
        _ => {
            nexus_zkvm_guest::println!("echoing {} bytes", input.len());
            nexus_zkvm_guest::commit(&input);
        }
    }
}
