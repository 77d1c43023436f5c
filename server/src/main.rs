/// jemalloc: thread caches keep a request's many small allocations cheap (the system allocator
/// grows and shrinks its per-thread heaps with a system call per request under load), and its
/// memory per open stream stays as low as the system allocator's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    realms::main_entry()
}
