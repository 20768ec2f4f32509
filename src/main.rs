//! The `raftlab` command: parses the command line and hands over to the library.

/// mimalloc instead of the system allocator: the gRPC path allocates and frees a buffer or more
/// per request, and the profile of `raftlab bench` spent about an eighth of its time in glibc's
/// malloc and free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    raftlab::cli::main()
}
