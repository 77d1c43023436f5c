fn main() -> std::process::ExitCode {
    realms::main_entry()
}
