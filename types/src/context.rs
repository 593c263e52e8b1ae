//! What a function invocation knows about its surroundings, and the inputs of its triggers.

use crate::codec::{Decode, DecodeError, Encode, Reader, decode_seq, encode_seq};
use crate::{Address, Hash32};
use alloc::vec::Vec;

/// The exported entry points a function may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntryPoint {
    /// Runs once when the function is deployed.
    Init,
    /// Runs when the code is upgraded, in place of `init`.
    Migrate,
    /// A transaction or another function called it.
    OnCall,
    /// A new finalized Ethereum block (input: [`EthBlock`]).
    OnEthBlock,
    /// A matching Ethereum log (input: [`EthLog`]).
    OnEthLog,
    /// An earlier outbound request was answered (input: [`Reply`]).
    OnReply,
    /// A long-running or scheduled task gets its slice of a block.
    OnTask,
    /// A read-only query; its writes are never kept.
    Query,
    /// A plain WASI command's `_start` (input on stdin, output from stdout).
    Start,
}

impl EntryPoint {
    /// Every entry point, in tag order.
    pub const ALL: [EntryPoint; 9] = [
        Self::Init,
        Self::Migrate,
        Self::OnCall,
        Self::OnEthBlock,
        Self::OnEthLog,
        Self::OnReply,
        Self::OnTask,
        Self::Query,
        Self::Start,
    ];

    /// The export name of this entry point.
    pub const fn export_name(self) -> &'static str {
        match self {
            Self::Init => "init",
            Self::Migrate => "migrate",
            Self::OnCall => "on_call",
            Self::OnEthBlock => "on_eth_block",
            Self::OnEthLog => "on_eth_log",
            Self::OnReply => "on_reply",
            Self::OnTask => "on_task",
            Self::Query => "query",
            Self::Start => "_start",
        }
    }

    /// Looks an entry point up by export name.
    pub fn from_export_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.export_name() == name)
    }

    fn tag(self) -> u8 {
        self as u8
    }
}

impl Encode for EntryPoint {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.tag());
    }
}

impl Decode for EntryPoint {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let t = u8::decode_from(r)?;
        Self::ALL.get(usize::from(t)).copied().ok_or(DecodeError::InvalidTag(t))
    }
}

/// The environment of one invocation, returned by the `context` host call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Context {
    /// Chain the function runs on.
    pub chain_id: alloc::string::String,
    /// Nexus block height being executed.
    pub height: u64,
    /// Block time, nanoseconds since the Unix epoch (also what WASI clocks report).
    pub time_ns: u64,
    /// The function's own id.
    pub self_id: Hash32,
    /// Who invoked it: the tx signer, the calling function's address form, or the Ethereum sender.
    pub caller: Address,
    /// Native tokens attached to the call.
    pub value: u128,
    /// Which entry point is running.
    pub entry: Option<EntryPoint>,
    /// The Ethereum block that triggered this invocation, if any.
    pub eth_block: Option<u64>,
}

impl Encode for Context {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.chain_id.encode_to(out);
        self.height.encode_to(out);
        self.time_ns.encode_to(out);
        self.self_id.encode_to(out);
        self.caller.encode_to(out);
        self.value.encode_to(out);
        self.entry.encode_to(out);
        self.eth_block.encode_to(out);
    }
}

impl Decode for Context {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            chain_id: Decode::decode_from(r)?,
            height: Decode::decode_from(r)?,
            time_ns: Decode::decode_from(r)?,
            self_id: Decode::decode_from(r)?,
            caller: Decode::decode_from(r)?,
            value: Decode::decode_from(r)?,
            entry: Decode::decode_from(r)?,
            eth_block: Decode::decode_from(r)?,
        })
    }
}

/// A finalized Ethereum block header, the input of `on_eth_block`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EthBlock {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: Hash32,
    /// Parent block hash.
    pub parent_hash: Hash32,
    /// Block timestamp in seconds.
    pub timestamp: u64,
    /// EIP-1559 base fee per gas in wei (0 before London).
    pub base_fee: u128,
}

impl Encode for EthBlock {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.number.encode_to(out);
        self.hash.encode_to(out);
        self.parent_hash.encode_to(out);
        self.timestamp.encode_to(out);
        self.base_fee.encode_to(out);
    }
}

impl Decode for EthBlock {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            number: Decode::decode_from(r)?,
            hash: Decode::decode_from(r)?,
            parent_hash: Decode::decode_from(r)?,
            timestamp: Decode::decode_from(r)?,
            base_fee: Decode::decode_from(r)?,
        })
    }
}

/// An Ethereum log, the input of `on_eth_log`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EthLog {
    /// Block that holds the log.
    pub block_number: u64,
    /// Hash of that block.
    pub block_hash: Hash32,
    /// Index of the log within the block.
    pub log_index: u32,
    /// Transaction that emitted it.
    pub tx_hash: Hash32,
    /// Contract that emitted it.
    pub address: Address,
    /// Indexed topics (at most four).
    pub topics: Vec<Hash32>,
    /// Non-indexed data.
    pub data: Vec<u8>,
}

impl Encode for EthLog {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.block_number.encode_to(out);
        self.block_hash.encode_to(out);
        self.log_index.encode_to(out);
        self.tx_hash.encode_to(out);
        self.address.encode_to(out);
        encode_seq(&self.topics, out);
        self.data.encode_to(out);
    }
}

impl Decode for EthLog {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            block_number: Decode::decode_from(r)?,
            block_hash: Decode::decode_from(r)?,
            log_index: Decode::decode_from(r)?,
            tx_hash: Decode::decode_from(r)?,
            address: Decode::decode_from(r)?,
            topics: decode_seq(r)?,
            data: Decode::decode_from(r)?,
        })
    }
}

/// Which kind of outbound request a [`Reply`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// An `eth_send` message was executed (or failed) on Ethereum.
    EthSend,
    /// A `request_proof` was proved and verified.
    Proof,
    /// A `send` to another function returned.
    Send,
}

impl Encode for ReplyKind {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(*self as u8);
    }
}

impl Decode for ReplyKind {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode_from(r)? {
            0 => Ok(Self::EthSend),
            1 => Ok(Self::Proof),
            2 => Ok(Self::Send),
            t => Err(DecodeError::InvalidTag(t)),
        }
    }
}

/// The answer to an outbound request, the input of `on_reply`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The id the request call returned.
    pub request_id: u64,
    /// What kind of request it was.
    pub kind: ReplyKind,
    /// Whether it succeeded.
    pub ok: bool,
    /// Result bytes (returned data, proof output, or an error message).
    pub data: Vec<u8>,
}

impl Encode for Reply {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.request_id.encode_to(out);
        self.kind.encode_to(out);
        self.ok.encode_to(out);
        self.data.encode_to(out);
    }
}

impl Decode for Reply {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            request_id: Decode::decode_from(r)?,
            kind: Decode::decode_from(r)?,
            ok: Decode::decode_from(r)?,
            data: Decode::decode_from(r)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_and_trigger_inputs_round_trip() {
        let c = Context {
            chain_id: "nexus-dev".into(),
            height: 7,
            time_ns: 1_700_000_000_000_000_000,
            self_id: [9; 32],
            caller: [1; 20],
            value: 5,
            entry: Some(EntryPoint::OnCall),
            eth_block: Some(42),
        };
        assert_eq!(Context::decode(&c.encode()), Ok(c));
        let l = EthLog { topics: alloc::vec![[1; 32], [2; 32]], data: alloc::vec![3], ..Default::default() };
        assert_eq!(EthLog::decode(&l.encode()), Ok(l));
        for e in EntryPoint::ALL {
            assert_eq!(EntryPoint::from_export_name(e.export_name()), Some(e));
            assert_eq!(EntryPoint::decode(&e.encode()), Ok(e));
        }
    }
}
