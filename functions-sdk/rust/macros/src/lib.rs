//! Attribute macros of the Nexus Rust SDK: each turns a plain function into an exported entry point and embeds its manifest records.
//!
//! Use them through `nexus_sdk` (`#[nexus_sdk::on_call]`, …), whose docs describe the accepted
//! argument and return types; the expansion refers to the SDK as `::nexus_sdk`.
//!
//! For `#[on_call] fn handle(x: T) -> R` the expansion keeps `handle` as written and adds
//!
//! * `pub extern "C" fn on_call()`, exported with `#[unsafe(no_mangle)]` on wasm32 (a plain
//!   `pub fn` elsewhere, so native tests can call it and see panics unwind), which decodes the
//!   input as `T`, calls `handle` and turns `R` into the output or a failure;
//! * a `#[used]` static in the `nexus.manifest` link section holding the ABI-version record and
//!   the attribute's trigger record, if any. Records from all attributes concatenate in the linker.
//!
//! A user function already named like its export (`#[on_call] fn on_call(..)`) is moved inside the
//! wrapper, so the export keeps the name and the function's docs.

use nexus_types::{EthLogFilter, Manifest, Trigger};
use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{format_ident, quote};
use syn::punctuated::Punctuated;
use syn::{Expr, FnArg, ItemFn, Lit, MetaNameValue, Token, Type, Visibility, parse::Parser};

// The entry point an attribute declares; its export name comes from the shared ABI types.
use nexus_types::EntryPoint as Kind;

/// Exports the function as `init`, run once at deploy with the deploy arguments as input.
///
/// ```
/// #[nexus_sdk::init]
/// fn setup() {
///     nexus_sdk::kv::set("ready", "1");
/// }
/// # let host = nexus_sdk::testing::MockHost::new();
/// # init();
/// # assert_eq!(host.kv_get("ready"), Some(b"1".to_vec()));
/// ```
#[proc_macro_attribute]
pub fn init(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Init, args, item)
}

/// Exports the function as `migrate`, run at upgrade (instead of `init`) with the upgrade arguments.
///
/// ```
/// #[nexus_sdk::migrate]
/// fn upgrade(note: String) {
///     nexus_sdk::log::info!("upgraded: {note}");
/// }
/// # let host = nexus_sdk::testing::MockHost::new();
/// # host.set_input("v2");
/// # migrate();
/// # assert_eq!(host.logs()[0].message, "upgraded: v2");
/// ```
#[proc_macro_attribute]
pub fn migrate(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Migrate, args, item)
}

/// Exports the function as `on_call`, run for each call with the call payload as input.
///
/// ```
/// #[nexus_sdk::on_call]
/// fn shout(text: &str) -> String {
///     text.to_uppercase()
/// }
/// # let host = nexus_sdk::testing::MockHost::new();
/// # host.set_input("hi");
/// # on_call();
/// # assert_eq!(host.output_string().as_deref(), Some("HI"));
/// ```
#[proc_macro_attribute]
pub fn on_call(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::OnCall, args, item)
}

/// Exports the function as `on_eth_block` and subscribes it to every finalized Ethereum block.
///
/// ```
/// #[nexus_sdk::on_eth_block]
/// fn block(b: &nexus_sdk::EthBlock) {
///     nexus_sdk::log::info!("eth block {}", b.number);
/// }
/// # use nexus_sdk::types::Encode;
/// # let host = nexus_sdk::testing::MockHost::new();
/// # host.set_input(nexus_sdk::EthBlock { number: 3, ..Default::default() }.encode());
/// # on_eth_block();
/// # assert_eq!(host.logs()[0].message, "eth block 3");
/// # let m = nexus_sdk::types::Manifest::parse(&__NEXUS_MANIFEST_ON_ETH_BLOCK).unwrap();
/// # assert_eq!(m.triggers, [nexus_sdk::types::Trigger::EthBlocks]);
/// ```
#[proc_macro_attribute]
pub fn on_eth_block(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::OnEthBlock, args, item)
}

/// Exports the function as `on_eth_log` and subscribes it to the Ethereum logs matching
/// `address = "0x…"` and `topic0` … `topic3 = "0x…"` (each optional).
///
/// ```
/// #[nexus_sdk::on_eth_log(topic1 = "0x000000000000000000000000000000000000000000000000000000000000002a")]
/// fn seen(log: nexus_sdk::EthLog) {
///     nexus_sdk::emit("seen", log.log_index.to_le_bytes());
/// }
/// # use nexus_sdk::types::{EthLogFilter, Manifest, Trigger};
/// # let mut t = [0u8; 32];
/// # t[31] = 42;
/// # let m = Manifest::parse(&__NEXUS_MANIFEST_ON_ETH_LOG).unwrap();
/// # assert_eq!(m.triggers, [Trigger::EthLogs(EthLogFilter { address: None, topics: vec![None, Some(t)] })]);
/// ```
#[proc_macro_attribute]
pub fn on_eth_log(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::OnEthLog, args, item)
}

/// Exports the function as `on_reply`, run with the [`Reply`](../nexus_sdk/struct.Reply.html) to
/// an earlier `eth_send`, `request_proof` or `send`.
///
/// ```
/// #[nexus_sdk::on_reply]
/// fn reply(r: nexus_sdk::Reply) -> Result<(), String> {
///     if r.ok { Ok(()) } else { Err(String::from_utf8_lossy(&r.data).into_owned()) }
/// }
/// # use nexus_sdk::{Reply, ReplyKind, types::Encode};
/// # let host = nexus_sdk::testing::MockHost::new();
/// # host.set_input(Reply { request_id: 1, kind: ReplyKind::Send, ok: false, data: b"nope".to_vec() }.encode());
/// # assert_eq!(host.invoke(on_reply), Err("nope".to_string()));
/// ```
#[proc_macro_attribute]
pub fn on_reply(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::OnReply, args, item)
}

/// Exports the function as `on_task` (returning the ABI's `i32` status), optionally with
/// `every = N` to run it every `N` blocks.
///
/// ```
/// #[nexus_sdk::on_task]
/// fn step() -> bool {
///     let left = nexus_sdk::kv::get("left").map_or(3, |v| v[0]) - 1;
///     nexus_sdk::kv::set("left", [left]);
///     left > 0
/// }
/// # let _host = nexus_sdk::testing::MockHost::new();
/// # assert_eq!([on_task(), on_task(), on_task()], [1, 1, 0]);
/// ```
#[proc_macro_attribute]
pub fn on_task(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::OnTask, args, item)
}

/// Exports the function as `query`, a read-only request whose writes the chain discards.
///
/// ```
/// #[nexus_sdk::query]
/// fn height() -> String {
///     nexus_sdk::block_height().to_string()
/// }
/// # let host = nexus_sdk::testing::MockHost::new();
/// # host.update_context(|c| c.height = 12);
/// # query();
/// # assert_eq!(host.output_string().as_deref(), Some("12"));
/// ```
#[proc_macro_attribute]
pub fn query(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Query, args, item)
}

fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    expand2(kind, args.into(), item.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

fn expand2(kind: Kind, args: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let mut func: ItemFn = syn::parse2(item)?;
    let trigger = parse_trigger(kind, args)?;
    let arg_ty = check_signature(kind, &func)?;

    let export = format_ident!("{}", kind.export_name());
    let variant = format_ident!("{kind:?}");
    let user = func.sig.ident.clone();

    let (decode, call) = match &arg_ty {
        None => (quote! {}, quote! { #user() }),
        Some(Type::Reference(r)) => {
            let inner = &r.elem;
            (
                quote! {
                    let __nexus_input: <#inner as ::std::borrow::ToOwned>::Owned =
                        ::nexus_sdk::__private::input()?;
                },
                quote! { #user(::core::borrow::Borrow::borrow(&__nexus_input)) },
            )
        }
        Some(ty) => (
            quote! { let __nexus_input: #ty = ::nexus_sdk::__private::input()?; },
            quote! { #user(__nexus_input) },
        ),
    };

    let (ret, body) = if kind == Kind::OnTask {
        (
            quote! { -> i32 },
            quote! {
                ::nexus_sdk::__private::run_task(|| ::nexus_sdk::entry::IntoTaskStatus::into_task_status(#call))
            },
        )
    } else {
        (
            quote! {},
            quote! {
                ::nexus_sdk::__private::run(::nexus_sdk::EntryPoint::#variant, || {
                    #decode
                    ::nexus_sdk::entry::IntoOutput::into_output(#call)
                })
            },
        )
    };

    // A user function named like the export moves inside the wrapper and lends it its docs.
    let (outer, inner, docs) = if user == export {
        let docs: Vec<_> = func.attrs.iter().filter(|a| a.path().is_ident("doc")).cloned().collect();
        func.attrs.retain(|a| !a.path().is_ident("doc"));
        func.vis = Visibility::Inherited;
        let docs = if docs.is_empty() { vec![generated_doc(kind, None)] } else { docs };
        (quote! {}, quote! { #func }, docs)
    } else {
        (quote! { #func }, quote! {}, vec![generated_doc(kind, Some(&user.to_string()))])
    };

    let mut manifest = Manifest::abi_record();
    if let Some(t) = &trigger {
        manifest.extend(Manifest::trigger_record(t));
    }
    let len = manifest.len();
    let static_name = format_ident!("__NEXUS_MANIFEST_{}", kind.export_name().to_uppercase());

    Ok(quote! {
        #outer

        #[cfg(target_arch = "wasm32")]
        #(#docs)*
        #[unsafe(no_mangle)]
        pub extern "C" fn #export() #ret {
            #inner
            #body
        }

        #[cfg(not(target_arch = "wasm32"))]
        #(#docs)*
        pub fn #export() #ret {
            #inner
            #body
        }

        #[doc(hidden)]
        #[cfg_attr(target_arch = "wasm32", unsafe(link_section = "nexus.manifest"))]
        #[used]
        pub static #static_name: [u8; #len] = [#(#manifest),*];
    })
}

fn generated_doc(kind: Kind, user: Option<&str>) -> syn::Attribute {
    let text = match user {
        Some(u) => format!(" The Nexus `{}` entry point: runs `{u}` on this invocation.", kind.export_name()),
        None => format!(" The Nexus `{}` entry point.", kind.export_name()),
    };
    syn::parse_quote!(#[doc = #text])
}

/// Returns the argument type, if the function takes one.
fn check_signature(kind: Kind, func: &ItemFn) -> syn::Result<Option<Type>> {
    let sig = &func.sig;
    let name = kind.export_name();
    if let Some(a) = &sig.asyncness {
        return Err(syn::Error::new_spanned(a, format!("`#[{name}]` functions cannot be async")));
    }
    if let Some(u) = &sig.unsafety {
        return Err(syn::Error::new_spanned(u, format!("`#[{name}]` functions cannot be unsafe")));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            format!("`#[{name}]` functions cannot be generic"),
        ));
    }
    if let Some(v) = &sig.variadic {
        return Err(syn::Error::new_spanned(v, format!("`#[{name}]` functions cannot be variadic")));
    }
    let mut inputs = sig.inputs.iter();
    let arg = match (inputs.next(), inputs.next()) {
        (None, _) => None,
        (Some(FnArg::Receiver(r)), _) => {
            return Err(syn::Error::new_spanned(
                r,
                format!("`#[{name}]` must be a free function, not a method"),
            ));
        }
        (Some(FnArg::Typed(pt)), None) => Some((*pt.ty).clone()),
        (Some(_), Some(extra)) => {
            return Err(syn::Error::new_spanned(
                extra,
                format!("`#[{name}]` functions take at most one argument: the decoded input"),
            ));
        }
    };
    if let Some(ty) = &arg {
        if kind == Kind::OnTask {
            return Err(syn::Error::new_spanned(ty, "`#[on_task]` has no input; take no arguments"));
        }
        if let Type::Reference(r) = ty
            && (r.mutability.is_some() || r.lifetime.is_some())
        {
            return Err(syn::Error::new_spanned(
                r,
                "take the input as `&T` (shared, elided lifetime) or by value",
            ));
        }
    }
    Ok(arg)
}

fn parse_trigger(kind: Kind, args: TokenStream2) -> syn::Result<Option<Trigger>> {
    let pairs = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(args)?;
    match kind {
        Kind::OnEthBlock | Kind::OnEthLog | Kind::OnTask => {}
        _ => {
            if let Some(p) = pairs.first() {
                let msg = format!("`#[{}]` takes no arguments", kind.export_name());
                return Err(syn::Error::new_spanned(p, msg));
            }
            return Ok(None);
        }
    }
    match kind {
        Kind::OnEthBlock => match pairs.first() {
            Some(p) => Err(syn::Error::new_spanned(p, "`#[on_eth_block]` takes no arguments")),
            None => Ok(Some(Trigger::EthBlocks)),
        },
        Kind::OnTask => {
            let mut every = None;
            for p in &pairs {
                if !p.path.is_ident("every") || every.is_some() {
                    return Err(syn::Error::new_spanned(
                        &p.path,
                        "`#[on_task]` takes only `every = <blocks>`",
                    ));
                }
                let blocks: u64 = match &p.value {
                    Expr::Lit(l) => match &l.lit {
                        Lit::Int(i) => i.base10_parse()?,
                        other => return Err(syn::Error::new_spanned(other, "expected a block count")),
                    },
                    other => return Err(syn::Error::new_spanned(other, "expected an integer literal")),
                };
                if blocks == 0 {
                    return Err(syn::Error::new_spanned(&p.value, "`every` must be at least 1 block"));
                }
                every = Some(Trigger::Every { blocks });
            }
            Ok(every)
        }
        _ => {
            let mut filter = EthLogFilter::default();
            let mut seen: Vec<String> = Vec::new();
            for p in &pairs {
                let key = p.path.get_ident().map(ToString::to_string).unwrap_or_default();
                if seen.contains(&key) {
                    return Err(syn::Error::new_spanned(&p.path, format!("`{key}` given twice")));
                }
                let text = match &p.value {
                    Expr::Lit(l) => match &l.lit {
                        Lit::Str(s) => s.value(),
                        other => return Err(syn::Error::new_spanned(other, "expected a \"0x…\" hex string")),
                    },
                    other => return Err(syn::Error::new_spanned(other, "expected a \"0x…\" hex string")),
                };
                match key.as_str() {
                    "address" => filter.address = Some(hex_array::<20>(&text, &p.value)?),
                    "topic0" | "topic1" | "topic2" | "topic3" => {
                        let i = usize::from(key.as_bytes()[5] - b'0');
                        if filter.topics.len() <= i {
                            filter.topics.resize(i + 1, None);
                        }
                        filter.topics[i] = Some(hex_array::<32>(&text, &p.value)?);
                    }
                    _ => {
                        return Err(syn::Error::new_spanned(
                            &p.path,
                            "expected `address`, `topic0`, `topic1`, `topic2` or `topic3`",
                        ));
                    }
                }
                seen.push(key);
            }
            Ok(Some(Trigger::EthLogs(filter)))
        }
    }
}

fn hex_array<const N: usize>(text: &str, at: &Expr) -> syn::Result<[u8; N]> {
    let err = || syn::Error::new_spanned(at, format!("expected \"0x\" followed by {} hex digits", 2 * N));
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).ok_or_else(err)?;
    if digits.len() != 2 * N || !digits.is_ascii() {
        return Err(err());
    }
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).map_err(|_| err())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(kind: Kind, args: &str, item: &str) -> syn::Result<String> {
        expand2(kind, args.parse().unwrap(), item.parse().unwrap()).map(|t| t.to_string())
    }

    fn error(kind: Kind, args: &str, item: &str) -> String {
        expand_str(kind, args, item).unwrap_err().to_string()
    }

    #[test]
    fn bad_signatures_and_arguments_are_refused_with_a_reason() {
        assert!(error(Kind::OnCall, "", "async fn f() {}").contains("async"));
        assert!(error(Kind::OnCall, "", "fn f<T>(t: T) {}").contains("generic"));
        assert!(error(Kind::OnCall, "", "fn f(a: u8, b: u8) {}").contains("at most one"));
        assert!(error(Kind::OnTask, "", "fn f(a: Vec<u8>) {}").contains("no input"));
        assert!(error(Kind::OnCall, "every = 1", "fn f() {}").contains("no arguments"));
        assert!(error(Kind::OnTask, "every = 0", "fn f() {}").contains("at least 1"));
        assert!(error(Kind::OnEthLog, "address = \"0x12\"", "fn f() {}").contains("40 hex digits"));
        assert!(error(Kind::OnEthLog, "topic4 = \"0x12\"", "fn f() {}").contains("topic3"));
        assert!(error(Kind::OnCall, "", "fn f(x: &mut [u8]) {}").contains("shared"));
    }

    #[test]
    fn eth_log_filter_positions_topics_and_fills_gaps() {
        let addr = format!("0x{}", "ab".repeat(20));
        let topic = format!("0x{}", "01".repeat(32));
        let args = format!("address = \"{addr}\", topic2 = \"{topic}\"");
        let trigger = parse_trigger(Kind::OnEthLog, args.parse().unwrap()).unwrap();
        let want = EthLogFilter { address: Some([0xab; 20]), topics: vec![None, None, Some([1; 32])] };
        assert_eq!(trigger, Some(Trigger::EthLogs(want)));
    }

    #[test]
    fn a_user_function_named_like_the_export_moves_inside() {
        let out =
            expand_str(Kind::Query, "", "/// Docs.\npub fn query() -> String { String::new() }").unwrap();
        // Two wrappers (wasm and native), each holding the private user function.
        assert_eq!(out.matches("pub fn query").count(), 1);
        assert_eq!(out.matches("pub extern \"C\" fn query").count(), 1);
        assert_eq!(out.matches("fn query () -> String").count(), 2);
        assert_eq!(out.matches("Docs.").count(), 2);
    }
}
