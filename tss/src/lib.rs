//! Threshold signing for Nexus validators: the FROST-secp256k1 DKG and signing steps the chain
//! checks, the sealed shares and encrypted keystore a validator keeps, and the form the
//! `NexusGateway` contract verifies signatures in.

pub mod dkg;
pub mod gateway;
pub mod keystore;
pub mod participant;
pub mod protocol;
pub mod share_box;
pub mod signing;
