//! The app hash is consensus: the roots of a fixed history are pinned here, so a faster commit
//! path (or a dependency bump) that changes any root, on any backend or history setting, fails.

mod every_backend;

use nexus_consensus::{Changes, EMPTY_ROOT, StoreConfig};

fn kv(i: u32, tag: &str) -> (Vec<u8>, Option<Vec<u8>>) {
    (format!("k{i}").into_bytes(), Some(format!("{tag}{i}").into_bytes()))
}

fn del(i: u32) -> (Vec<u8>, Option<Vec<u8>>) {
    (format!("k{i}").into_bytes(), None)
}

/// Inserts into an empty tree, updates, deletes, empty blocks, rewrites of identical values, a
/// block that empties the tree, and empty keys and values.
fn history() -> Vec<Changes> {
    vec![
        (0..300).map(|i| kv(i, "a")).collect(),
        (0..100)
            .map(|i| kv(i, "b"))
            .chain((100..150).map(del))
            .chain((300..350).map(|i| kv(i, "a")))
            .collect(),
        Changes::new(),
        (0..50).map(|i| kv(i, "b")).chain((350..360).map(|i| kv(i, "c"))).collect(),
        (0..400).map(del).collect(),
        (0..2).map(|i| kv(i, "d")).chain([(b"".to_vec(), Some(Vec::new())), (b"e".to_vec(), None)]).collect(),
        (1000..1200).map(|i| kv(i, "e")).collect(),
    ]
}

/// Computed with the per-write insertion (`put_value_set`) the store used before batching.
const ROOTS: [&str; 7] = [
    "fc5706f7f2c68f8cf1c9841a16cd1f73cd5ea1022d2b281da75cfcd68e4c8a4d",
    "930fe53370f96faf773c3d79875266dbf91887cebafb35768cf89f56cb4e8879",
    "930fe53370f96faf773c3d79875266dbf91887cebafb35768cf89f56cb4e8879",
    "c60d5414574b3d9431a5fa4502287231bec722c3b0d07cc13af01fac23629e99",
    "5350415253455f4d45524b4c455f504c414345484f4c4445525f484153485f5f",
    "b1bdcb2b791bf410e5772d882dd85203f84f93ac820331afa6f32b3b44039844",
    "c13a95edefd69a8da979067c7377d48293102a051955480a6fcb0beb81c10c9a",
];

fn hex(root: &[u8; 32]) -> String {
    root.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_fixed_history_gives_the_pinned_roots_on_every_backend_and_history_setting() {
    for keep_recent in [None, Some(1), Some(3)] {
        every_backend::on_every_backend(StoreConfig { keep_recent }, |backend, mut store| {
            let roots: Vec<String> = history()
                .into_iter()
                .zip(1..)
                .map(|(changes, height)| {
                    store.apply(changes);
                    hex(&store.commit(height).unwrap())
                })
                .collect();
            assert_eq!(roots, ROOTS, "{backend}, keep_recent {keep_recent:?}");
        });
    }
}

#[test]
fn deleting_every_key_gives_the_empty_root() {
    every_backend::on_every_backend(StoreConfig::default(), |backend, mut store| {
        store.apply((0..20).map(|i| kv(i, "x")).collect());
        store.commit(1).unwrap();
        store.apply((0..20).map(del).collect());
        assert_eq!(store.commit(2).unwrap(), EMPTY_ROOT, "{backend}");
    });
}
