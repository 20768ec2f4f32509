//! Compiles `proto/raftlab.proto` into Rust with a pure-Rust protobuf compiler (protox), so that a
//! fresh machine needs nothing but cargo: no system `protoc`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/raftlab.proto";
    println!("cargo:rerun-if-changed={proto}");
    let fds = protox::compile([proto], ["proto"])?;

    // Keep the encoded descriptor set for gRPC server reflection (grpcurl without the .proto file).
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("raftlab_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;

    tonic_prost_build::configure()
        .bytes(".raftlab.v1.Entry.data")
        .bytes(".raftlab.v1.InstallSnapshotArgs.data")
        .compile_fds(fds)?;
    Ok(())
}
