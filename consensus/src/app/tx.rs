//! Transactions: the envelope, its messages, its wire encoding, and its EIP-712 signature.
//!
//! A transaction is signed as EIP-712 typed data (`Transaction` under the domain
//! `{name: "Nexus", version: "1", chainId}`), so any Ethereum key or wallet can sign it and the
//! signature binds the chain id. On the wire it is the Borsh encoding of [`SignedTx`]; its hash is
//! `keccak256` of those bytes.

use alloy_primitives::{Address as EthAddress, B256, Bytes, Signature, U256, keccak256};
use alloy_sol_types::{Eip712Domain, SolStruct};
use borsh::{BorshDeserialize, BorshSerialize};
use k256::ecdsa::SigningKey;
use nexus_types::{Address, Hash32};

/// Largest accepted transaction, in wire bytes (a 256 KiB module plus its envelope fits).
pub const MAX_TX_BYTES: usize = 512 << 10;

/// Most messages in one transaction.
pub const MAX_MESSAGES: usize = 64;

mod typed {
    alloy_sol_types::sol! {
        /// One message, flattened into a single struct type so wallets can display any kind.
        struct Message {
            uint8 kind;
            address to;
            bytes32 function;
            uint128 value;
            bytes code;
            bytes input;
        }

        /// The signed envelope.
        struct Transaction {
            uint64 chainId;
            uint64 nonce;
            uint64 expiresAt;
            uint64 gasLimit;
            uint128 gasPrice;
            Message[] messages;
        }
    }
}

/// One action in a transaction.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Msg {
    /// Moves native tokens to an account.
    Transfer {
        /// Recipient.
        to: Address,
        /// Amount in the smallest unit.
        amount: u128,
    },
    /// Stores a module, creates a function owned by the signer and runs its `init`.
    Deploy {
        /// The WebAssembly module.
        code: Vec<u8>,
        /// Input of `init`.
        input: Vec<u8>,
    },
    /// Calls a function's `on_call`, attaching `value` native tokens.
    Call {
        /// The function.
        function: Hash32,
        /// Input of `on_call`.
        input: Vec<u8>,
        /// Tokens moved from the signer to the function.
        value: u128,
    },
    /// Replaces a function's code (owner only), running the new code's `migrate` (or `init`).
    Upgrade {
        /// The function.
        function: Hash32,
        /// The new module.
        code: Vec<u8>,
        /// Input of `migrate`/`init`.
        input: Vec<u8>,
    },
    /// Removes a function and all its state (owner only).
    Delete {
        /// The function.
        function: Hash32,
    },
    /// Makes the signer the operator of a new validator, bonding `amount` of its tokens to it.
    CreateValidator {
        /// The validator's ed25519 consensus public key.
        consensus_key: [u8; 32],
        /// The consensus key's signature over
        /// [`key_ownership_message`](super::staking::key_ownership_message), so nobody registers
        /// a key they do not hold.
        key_signature: [u8; 64],
        /// Share of rewards the operator keeps, in basis points.
        commission_bps: u16,
        /// The self-bond.
        amount: u128,
    },
    /// Bonds `amount` of the signer's tokens to a validator.
    Delegate {
        /// The validator's operator.
        validator: Address,
        /// Tokens to bond.
        amount: u128,
    },
    /// Starts unbonding `amount` tokens of the signer's stake; they are released after the
    /// unbonding period.
    Undelegate {
        /// The validator's operator.
        validator: Address,
        /// Tokens to unbond.
        amount: u128,
    },
    /// Lets the signer's jailed validator back into the set at the next epoch.
    Unjail,
    /// Pays out the signer's rewards from a validator (and its commission, for the operator).
    WithdrawRewards {
        /// The validator's operator.
        validator: Address,
    },
}

impl Msg {
    /// The message kind's name, as shown in results and logs.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Msg::Transfer { .. } => "transfer",
            Msg::Deploy { .. } => "deploy",
            Msg::Call { .. } => "call",
            Msg::Upgrade { .. } => "upgrade",
            Msg::Delete { .. } => "delete",
            Msg::CreateValidator { .. } => "create_validator",
            Msg::Delegate { .. } => "delegate",
            Msg::Undelegate { .. } => "undelegate",
            Msg::Unjail => "unjail",
            Msg::WithdrawRewards { .. } => "withdraw_rewards",
        }
    }

    fn typed(&self) -> typed::Message {
        // A create-validator's commission rides in `input`, big-endian.
        let commission = match self {
            Msg::CreateValidator { commission_bps, .. } => commission_bps.to_be_bytes(),
            _ => [0; 2],
        };
        let (kind, to, function, value, code, input): (u8, Address, Hash32, u128, &[u8], &[u8]) = match self {
            Msg::Transfer { to, amount } => (0, *to, [0; 32], *amount, &[], &[]),
            Msg::Deploy { code, input } => (1, [0; 20], [0; 32], 0, code, input),
            Msg::Call { function, input, value } => (2, [0; 20], *function, *value, &[], input),
            Msg::Upgrade { function, code, input } => (3, [0; 20], *function, 0, code, input),
            Msg::Delete { function } => (4, [0; 20], *function, 0, &[], &[]),
            Msg::CreateValidator { consensus_key, key_signature, amount, .. } => {
                (5, [0; 20], *consensus_key, *amount, key_signature, &commission)
            }
            Msg::Delegate { validator, amount } => (6, *validator, [0; 32], *amount, &[], &[]),
            Msg::Undelegate { validator, amount } => (7, *validator, [0; 32], *amount, &[], &[]),
            Msg::Unjail => (8, [0; 20], [0; 32], 0, &[], &[]),
            Msg::WithdrawRewards { validator } => (9, *validator, [0; 32], 0, &[], &[]),
        };
        typed::Message {
            kind,
            to: EthAddress::from(to),
            function: B256::from(function),
            value,
            code: Bytes::copy_from_slice(code),
            input: Bytes::copy_from_slice(input),
        }
    }
}

/// The unsigned envelope.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Tx {
    /// The chain this transaction is for (also the EIP-712 domain's `chainId`).
    pub chain_id: u64,
    /// The signer's account nonce this transaction uses; each nonce is used once, in order.
    pub nonce: u64,
    /// Last height at which the transaction may be included; 0 means no expiry.
    pub expires_at: u64,
    /// Most gas the transaction may use; `gas_limit * gas_price` is charged up front.
    pub gas_limit: u64,
    /// Price per unit of gas in the smallest native unit.
    pub gas_price: u128,
    /// The actions, executed in order; if one fails, all are undone (the fee is still paid).
    pub msgs: Vec<Msg>,
}

/// The EIP-712 domain of a chain.
pub fn domain(chain_id: u64) -> Eip712Domain {
    Eip712Domain::new(Some("Nexus".into()), Some("1".into()), Some(U256::from(chain_id)), None, None)
}

impl Tx {
    /// The EIP-712 digest a signer signs.
    pub fn signing_hash(&self) -> Hash32 {
        let typed = typed::Transaction {
            chainId: self.chain_id,
            nonce: self.nonce,
            expiresAt: self.expires_at,
            gasLimit: self.gas_limit,
            gasPrice: self.gas_price,
            messages: self.msgs.iter().map(Msg::typed).collect(),
        };
        typed.eip712_signing_hash(&domain(self.chain_id)).0
    }

    /// Signs with a secp256k1 key.
    pub fn sign(self, key: &SigningKey) -> SignedTx {
        let (sig, recovery) = key
            .sign_prehash_recoverable(&self.signing_hash())
            .expect("signing a 32-byte prehash cannot fail");
        // k256 already produces low-s signatures, which is what `verify` demands.
        let mut signature = [0u8; 65];
        signature[..64].copy_from_slice(&sig.to_bytes());
        signature[64] = 27 + recovery.to_byte();
        SignedTx { tx: self, signature }
    }
}

/// A transaction with its signature `r ‖ s ‖ v` (v = 27 or 28, as Ethereum wallets produce).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedTx {
    /// The envelope.
    pub tx: Tx,
    /// The 65-byte recoverable ECDSA signature over [`Tx::signing_hash`].
    pub signature: [u8; 65],
}

/// Why transaction bytes were refused before looking at any state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeTxError {
    /// The bytes exceed [`MAX_TX_BYTES`].
    #[error("transaction is {size} bytes; the limit is {MAX_TX_BYTES}")]
    TooLarge {
        /// Its size.
        size: usize,
    },
    /// The bytes are not a Borsh-encoded signed transaction.
    #[error("malformed transaction bytes: {0}")]
    Malformed(String),
    /// No messages, or more than [`MAX_MESSAGES`].
    #[error("a transaction carries 1 to {MAX_MESSAGES} messages, this one has {0}")]
    MessageCount(usize),
    /// The signature is malformed, high-s, or recovers no key.
    #[error("invalid signature: {0}")]
    BadSignature(String),
    /// Signed for another chain.
    #[error("transaction is for chain id {got}, this chain is {expected}")]
    WrongChain {
        /// This chain's id.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
}

/// A decoded transaction whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTx {
    /// `keccak256` of the wire bytes.
    pub hash: Hash32,
    /// The recovered signer.
    pub sender: Address,
    /// The envelope.
    pub tx: Tx,
    /// Size on the wire.
    pub size: usize,
}

impl SignedTx {
    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("borsh into a Vec cannot fail")
    }

    /// The transaction hash: `keccak256` of the wire bytes.
    pub fn hash(&self) -> Hash32 {
        keccak256(self.encode()).0
    }
}

/// The transaction hash of wire bytes.
pub fn tx_hash(bytes: &[u8]) -> Hash32 {
    keccak256(bytes).0
}

/// Decodes wire bytes without checking the signature (the signature check is the costly part).
pub fn decode(bytes: &[u8]) -> Result<SignedTx, DecodeTxError> {
    if bytes.len() > MAX_TX_BYTES {
        return Err(DecodeTxError::TooLarge { size: bytes.len() });
    }
    let signed: SignedTx = borsh::from_slice(bytes).map_err(|e| DecodeTxError::Malformed(e.to_string()))?;
    let count = signed.tx.msgs.len();
    if count == 0 || count > MAX_MESSAGES {
        return Err(DecodeTxError::MessageCount(count));
    }
    Ok(signed)
}

/// Recovers the signer of `tx` from a 65-byte `r ‖ s ‖ v` signature.
pub fn recover_signer(tx: &Tx, signature: &[u8; 65]) -> Result<Address, DecodeTxError> {
    let v = match signature[64] {
        27 | 0 => false,
        28 | 1 => true,
        v => return Err(DecodeTxError::BadSignature(format!("recovery byte {v} is not 27 or 28"))),
    };
    let sig = Signature::from_bytes_and_parity(&signature[..64], v);
    // A high-s twin of a valid signature would give the same tx a second hash.
    if sig.normalize_s().is_some() {
        return Err(DecodeTxError::BadSignature("s is in the upper half of the curve order".into()));
    }
    recover_address(&tx.signing_hash(), &signature[..64], v)
        .map_err(|e| DecodeTxError::BadSignature(e.to_string()))
}

/// ECDSA public-key recovery by libsecp256k1 (through alloy): ~60 µs against ~270 µs for k256's
/// recovery with its closing re-verification, and half the node's CPU was signature recovery.
/// `rs` is `r ‖ s`, already known to be low-s.
fn recover_address(
    prehash: &Hash32,
    rs: &[u8],
    y_odd: bool,
) -> Result<Address, alloy_primitives::SignatureError> {
    Signature::from_bytes_and_parity(rs, y_odd)
        .recover_address_from_prehash(&B256::from(*prehash))
        .map(|a| a.into_array())
}

/// Decodes wire bytes, checks the chain id and recovers the signer: everything that needs no state.
pub fn decode_and_verify(bytes: &[u8], chain_id: u64) -> Result<VerifiedTx, DecodeTxError> {
    let signed = decode(bytes)?;
    if signed.tx.chain_id != chain_id {
        return Err(DecodeTxError::WrongChain { expected: chain_id, got: signed.tx.chain_id });
    }
    let sender = recover_signer(&signed.tx, &signed.signature)?;
    Ok(VerifiedTx { hash: tx_hash(bytes), sender, tx: signed.tx, size: bytes.len() })
}

/// The Ethereum address of a secp256k1 key.
pub fn address_of(key: &SigningKey) -> Address {
    let point = key.verifying_key().to_encoded_point(false);
    let hash = keccak256(&point.as_bytes()[1..]);
    hash.0[12..].try_into().expect("20 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32].into()).expect("a valid scalar")
    }

    fn sample() -> Tx {
        Tx {
            chain_id: 7,
            nonce: 3,
            expires_at: 0,
            gas_limit: 1_000_000,
            gas_price: 1,
            msgs: vec![Msg::Call { function: [9; 32], input: b"5".to_vec(), value: 0 }],
        }
    }

    #[test]
    fn a_signed_transaction_recovers_its_signer() {
        let signed = sample().sign(&key(1));
        let verified = decode_and_verify(&signed.encode(), 7).expect("valid");
        assert_eq!(verified.sender, address_of(&key(1)));
        assert_ne!(verified.sender, address_of(&key(2)));
        assert_eq!(verified.hash, signed.hash());
    }

    #[test]
    fn any_change_to_the_envelope_changes_the_signer() {
        let mut signed = sample().sign(&key(1));
        signed.tx.nonce = 4;
        let verified = decode_and_verify(&signed.encode(), 7).expect("still a valid signature");
        assert_ne!(verified.sender, address_of(&key(1)));
    }

    #[test]
    fn another_chain_is_refused() {
        let signed = sample().sign(&key(1));
        assert_eq!(
            decode_and_verify(&signed.encode(), 8),
            Err(DecodeTxError::WrongChain { expected: 8, got: 7 })
        );
    }

    #[test]
    fn the_domain_binds_the_chain_id_into_the_digest() {
        let mut other = sample();
        other.chain_id = 8;
        assert_ne!(sample().signing_hash(), other.signing_hash());
    }

    #[test]
    fn trailing_bytes_and_truncation_are_malformed() {
        let bytes = sample().sign(&key(1)).encode();
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(decode(&long), Err(DecodeTxError::Malformed(_))));
        assert!(matches!(decode(&bytes[..bytes.len() - 1]), Err(DecodeTxError::Malformed(_))));
    }

    /// An independent implementation to check libsecp256k1 against: k256's recovery, which also
    /// verifies the signature against the recovered key.
    fn reference(prehash: &Hash32, rs: &[u8], y_odd: bool) -> Option<Address> {
        let sig = k256::ecdsa::Signature::from_slice(rs).ok()?;
        let id = k256::ecdsa::RecoveryId::new(y_odd, false);
        let key = k256::ecdsa::VerifyingKey::recover_from_prehash(prehash, &sig, id).ok()?;
        Some(alloy_primitives::Address::from_public_key(&key).into_array())
    }

    proptest::proptest! {
        #[test]
        fn recovery_matches_the_verifying_reference(
            secret in proptest::array::uniform32(1u8..),
            prehash in proptest::array::uniform32(proptest::num::u8::ANY),
            flip in proptest::bool::ANY,
            junk in proptest::array::uniform32(proptest::num::u8::ANY),
        ) {
            let key = SigningKey::from_bytes(&secret.into()).expect("nonzero bytes below the order");
            let (sig, recovery) = key.sign_prehash_recoverable(&prehash).expect("signs");
            let rs = sig.to_bytes();
            // Genuine signatures recover their signer; the other parity recovers another key,
            // and a junk r (usually no curve point) must fail or agree too.
            let y_odd = recovery.is_y_odd();
            proptest::prop_assert_eq!(recover_address(&prehash, &rs, y_odd).ok(), Some(address_of(&key)));
            proptest::prop_assert_eq!(
                recover_address(&prehash, &rs, y_odd ^ flip).ok(),
                reference(&prehash, &rs, y_odd ^ flip)
            );
            let mut junk_rs = rs;
            junk_rs[..32].copy_from_slice(&junk);
            proptest::prop_assert_eq!(
                recover_address(&prehash, &junk_rs, flip).ok(),
                reference(&prehash, &junk_rs, flip)
            );
        }
    }

    #[test]
    fn out_of_range_scalars_are_refused() {
        let order: [u8; 32] = hex::decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
            .unwrap()
            .try_into()
            .unwrap();
        let one = U256::from(1).to_be_bytes::<32>();
        for (r, s) in [([0u8; 32], one), (one, [0u8; 32]), (order, one)] {
            let rs = [r, s].concat();
            assert!(recover_address(&[5; 32], &rs, false).is_err());
            assert_eq!(reference(&[5; 32], &rs, false), None);
        }
    }

    #[test]
    fn high_s_twins_are_refused() {
        let signed = sample().sign(&key(1));
        let sig = Signature::from_bytes_and_parity(&signed.signature[..64], signed.signature[64] == 28);
        let order: U256 =
            "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141".parse().expect("hex");
        let high_s = order - sig.s();
        let mut twin = signed.clone();
        twin.signature[32..64].copy_from_slice(&high_s.to_be_bytes::<32>());
        twin.signature[64] ^= 1;
        assert!(matches!(recover_signer(&twin.tx, &twin.signature), Err(DecodeTxError::BadSignature(_))));
    }
}
