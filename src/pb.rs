//! The protobuf types generated from `proto/raftlab.proto`, included once.
#![allow(missing_docs)]
tonic::include_proto!("raftlab.v1");

pub mod convert;
