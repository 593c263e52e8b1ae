//! A seeded 3-of-4 FROST group signing through the whole protocol (dealer, commitments, shares,
//! aggregation), for the tests.

use std::collections::BTreeMap;

use frost_secp256k1 as frost;
use nexus_tss::gateway::{GatewaySignature, GroupKey};
use rand::SeedableRng as _;
use rand::rngs::StdRng;

/// A 3-of-4 group from a dealer seeded with `seed`, and its signature over `message`.
pub fn group_signs(seed: u64, message: &[u8]) -> (GroupKey, GatewaySignature) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (shares, public) =
        frost::keys::generate_with_dealer(4, 3, frost::keys::IdentifierList::Default, &mut rng).unwrap();
    let packages: BTreeMap<_, _> = shares
        .into_iter()
        .take(3)
        .map(|(id, s)| (id, frost::keys::KeyPackage::try_from(s).unwrap()))
        .collect();
    let mut nonces = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for (id, package) in &packages {
        let (n, c) = frost::round1::commit(package.signing_share(), &mut rng);
        nonces.insert(*id, n);
        commitments.insert(*id, c);
    }
    let signing = frost::SigningPackage::new(commitments, message);
    let signature_shares: BTreeMap<_, _> = packages
        .iter()
        .map(|(id, package)| (*id, frost::round2::sign(&signing, &nonces[id], package).unwrap()))
        .collect();
    let signature = frost::aggregate(&signing, &signature_shares, &public).unwrap();
    public.verifying_key().verify(message, &signature).expect("FROST verifies its own signature");
    (GroupKey::from_frost(public.verifying_key()).unwrap(), GatewaySignature::from_frost(&signature).unwrap())
}
