//! The protobuf types generated from `proto/raftlab.proto`, included once.
#![allow(missing_docs)]
tonic::include_proto!("raftlab.v1");

pub mod convert;

/// The encoded descriptor set of `proto/raftlab.proto`, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/raftlab_descriptor.bin"));
