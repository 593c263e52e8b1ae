//! Threshold signing for Nexus validators: FROST-secp256k1 signatures, and the form the
//! `NexusGateway` contract verifies them in.

pub mod gateway;
