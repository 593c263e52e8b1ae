/*
 * nexus.h - C and C++ bindings for the Nexus host ABI, version 1 (functions-sdk/ABI.md).
 *
 * Build a function as a WASI reactor:
 *
 *   clang --target=wasm32-wasi -mexec-model=reactor --sysroot=<wasi-libc sysroot> \
 *         -I functions-sdk/c -O2 -o f.wasm f.c
 *
 * (clang >= 18 also accepts --target=wasm32-wasip1.) stdio and the rest of wasi-libc work
 * unchanged: files live in the function's virtual filesystem preopened as "/".
 *
 * Entry points are defined with NEXUS_INIT(), NEXUS_ON_CALL(), ... which export the function
 * under its ABI name and embed the matching manifest records in the "nexus.manifest" custom
 * section. The records are written with top-level assembly because clang places data declared
 * with __attribute__((section(".custom_section.*"))) in a data segment, not a custom section.
 */
#ifndef NEXUS_H
#define NEXUS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Constants (mirror nexus_types::abi) ------------------------------------------------ */

#define NEXUS_ABI_VERSION 1
#define NEXUS_NOT_FOUND (-1)
#define NEXUS_ITER_EXCLUSIVE 1
#define NEXUS_ITER_REVERSE 2
#define NEXUS_LOG_DEBUG 0
#define NEXUS_LOG_INFO 1
#define NEXUS_LOG_WARN 2
#define NEXUS_LOG_ERROR 3
#define NEXUS_TASK_DONE 0
#define NEXUS_TASK_CONTINUE 1
#define NEXUS_MAX_KEY_LEN 1024
#define NEXUS_MAX_VALUE_LEN (1 << 20)
#define NEXUS_MAX_PAYLOAD_LEN (256 * 1024)

/* ---- Host functions (import module "nexus") --------------------------------------------- */
/* Pointers and size_t are i32 on wasm32, matching the ABI's signatures. */

#define NEXUS_IMPORT(name) __attribute__((import_module("nexus"), import_name(#name)))

/* Length of the entry point's input. */
NEXUS_IMPORT(input_len) int32_t nexus_input_len(void);
/* Copies the input to ptr (nexus_input_len() bytes). */
NEXUS_IMPORT(input_read) void nexus_input_read(void *ptr);
/* Sets the invocation's output, replacing any earlier one (at most 256 KiB). */
NEXUS_IMPORT(output_write) void nexus_output_write(const void *ptr, size_t len);
/* Copies the return buffer (its length was returned by the previous call) to ptr. */
NEXUS_IMPORT(ret_read) void nexus_ret_read(void *ptr);
/* Value length into the return buffer, or NEXUS_NOT_FOUND. */
NEXUS_IMPORT(kv_get) int32_t nexus_kv_get(const void *key, size_t key_len);
/* Stores a value (key at most 1 KiB, value at most 1 MiB). */
NEXUS_IMPORT(kv_set) void nexus_kv_set(const void *key, size_t key_len, const void *val, size_t val_len);
/* 1 if a value was removed, else 0. */
NEXUS_IMPORT(kv_delete) int32_t nexus_kv_delete(const void *key, size_t key_len);
/* First entry at/after (or before, with NEXUS_ITER_REVERSE) the start key; the return buffer
 * holds [key_len: u32 LE][key][value]; returns its length or NEXUS_NOT_FOUND. */
NEXUS_IMPORT(kv_next) int32_t nexus_kv_next(const void *key, size_t key_len, int32_t flags);
/* Records an event (topic at most 256 bytes, data at most 256 KiB). */
NEXUS_IMPORT(emit_event) void nexus_emit_event(const void *topic, size_t topic_len, const void *data, size_t data_len);
/* A log line at NEXUS_LOG_DEBUG ... NEXUS_LOG_ERROR. */
NEXUS_IMPORT(log) void nexus_log(int32_t level, const char *msg, size_t len);
/* nexus_types::Context encoding into the return buffer; returns its length. */
NEXUS_IMPORT(context) int32_t nexus_context(void);
/* Fuel remaining in this invocation. */
NEXUS_IMPORT(gas_left) int64_t nexus_gas_left(void);
/* Fails the invocation with the UTF-8 message; none of its writes are kept. */
NEXUS_IMPORT(abort) __attribute__((noreturn)) void nexus_abort(const char *msg, size_t len);
/* Asks the chain to call on_task from the next block on. */
NEXUS_IMPORT(task_schedule) void nexus_task_schedule(void);
/* Outbound Ethereum message to the 20-byte address at target; returns the request id. */
NEXUS_IMPORT(eth_send) int64_t nexus_eth_send(const uint8_t target[20], const void *data, size_t data_len, int64_t gas_limit);
/* zkVM proof of the 32-byte program id on the input; returns the request id. */
NEXUS_IMPORT(request_proof) int64_t nexus_request_proof(const uint8_t program_id[32], const void *input, size_t input_len);
/* Calls another function after this invocation; value points to a u128 LE amount or is NULL. */
NEXUS_IMPORT(send) int64_t nexus_send(const uint8_t function_id[32], const void *data, size_t data_len, const uint8_t value[16]);

/* ---- Convenience helpers ------------------------------------------------------------------ */

/* strlen without requiring <string.h>. */
static inline size_t nexus__strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/* Fails the invocation with a NUL-terminated message. */
__attribute__((noreturn)) static inline void nexus_abort_str(const char *msg) {
    nexus_abort(msg, nexus__strlen(msg));
}

/* Sets the output to a NUL-terminated string. */
static inline void nexus_output_str(const char *s) { nexus_output_write(s, nexus__strlen(s)); }

/* Logs a NUL-terminated string. */
static inline void nexus_log_str(int32_t level, const char *s) { nexus_log(level, s, nexus__strlen(s)); }

/* Emits an event whose topic and data are NUL-terminated strings. */
static inline void nexus_emit_str(const char *topic, const char *data) {
    nexus_emit_event(topic, nexus__strlen(topic), data, nexus__strlen(data));
}

/* Copies the input into buf (NUL-terminated) if it fits in cap - 1 bytes; returns the input
 * length, or -1 (and copies nothing) when it does not fit. */
static inline int32_t nexus_input_copy(char *buf, size_t cap) {
    int32_t len = nexus_input_len();
    if (len < 0 || (size_t)len + 1 > cap) return -1;
    nexus_input_read(buf);
    buf[len] = 0;
    return len;
}

/* Reads the value of a NUL-terminated key into buf if it fits in cap bytes; returns its length,
 * NEXUS_NOT_FOUND, or -2 when it does not fit (the value is then left unread). */
static inline int32_t nexus_kv_get_str(const char *key, void *buf, size_t cap) {
    int32_t len = nexus_kv_get(key, nexus__strlen(key));
    if (len < 0) return NEXUS_NOT_FOUND;
    if ((size_t)len > cap) return -2;
    nexus_ret_read(buf);
    return len;
}

/* Stores a value under a NUL-terminated key. */
static inline void nexus_kv_set_str(const char *key, const void *val, size_t val_len) {
    nexus_kv_set(key, nexus__strlen(key), val, val_len);
}

/* ---- Manifest records (custom section "nexus.manifest") --------------------------------- */
/* Each record is [tag: u8][len: u32 LE][payload], see nexus_types::manifest. Records from
 * every translation unit concatenate in the linker; repeats are harmless. Numbers may be
 * constant expressions the assembler understands (16 << 20, 1000 * 1000). */

#define NEXUS__STR(x) #x
#define NEXUS__XSTR(x) NEXUS__STR(x)
#define NEXUS_MANIFEST_ASM(body) \
    __asm__(".section .custom_section.nexus.manifest,\"\",@\n" body "\n.text\n")

/* The ABI version record. Every NEXUS_<entry>() macro emits it too. */
#define NEXUS_MANIFEST_ABI() \
    NEXUS_MANIFEST_ASM(".byte 1\n.4byte 4\n.4byte " NEXUS__XSTR(NEXUS_ABI_VERSION))

/* Trigger: on_eth_block for every finalized Ethereum block (NEXUS_ON_ETH_BLOCK emits it). */
#define NEXUS_TRIGGER_ETH_BLOCKS() NEXUS_MANIFEST_ASM(".byte 2\n.4byte 0")

/* Trigger: on_task every `blocks` Nexus blocks (at least 1). */
#define NEXUS_TRIGGER_EVERY(blocks) NEXUS_MANIFEST_ASM(".byte 4\n.4byte 8\n.8byte " #blocks)

/* Resource limits; 0 leaves a limit at the chain's default. At most one per function. */
#define NEXUS_LIMITS(fuel, memory_bytes, storage_bytes)                                      \
    NEXUS_MANIFEST_ASM(".byte 5\n.4byte 3 + 8*(((" #fuel ")!=0)&1) + 8*(((" #memory_bytes   \
                       ")!=0)&1) + 8*(((" #storage_bytes ")!=0)&1)\n" NEXUS__OPT_U64(fuel) \
                           NEXUS__OPT_U64(memory_bytes) NEXUS__OPT_U64(storage_bytes))
#define NEXUS__OPT_U64(v) ".if (" #v ") != 0\n.byte 1\n.8byte " #v "\n.else\n.byte 0\n.endif\n"

#ifdef __cplusplus
#define NEXUS__STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define NEXUS__STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif
#define NEXUS__UNPAREN(...) __VA_ARGS__
#define NEXUS__BYTES(list) ".byte " NEXUS__STR2 list
#define NEXUS__STR2(...) #__VA_ARGS__
#define NEXUS__COUNT(list, n, what) \
    NEXUS__STATIC_ASSERT(sizeof((const unsigned char[]){NEXUS__UNPAREN list}) == n, what)

/* Ethereum log filters for on_eth_log. Addresses are 20 and topics 32 parenthesized byte
 * lists, e.g. NEXUS_TRIGGER_ETH_LOGS_ADDRESS((0x5f, 0xbd, ...)). Omitted fields match anything;
 * use several macros for several filters. */
#define NEXUS_TRIGGER_ETH_LOGS_ADDRESS(address)                                             \
    NEXUS__COUNT(address, 20, "an address is 20 bytes");                                    \
    NEXUS_MANIFEST_ASM(".byte 3\n.4byte 25\n.byte 1\n" NEXUS__BYTES(address) "\n.4byte 0")
#define NEXUS_TRIGGER_ETH_LOGS_TOPIC0(topic0)                                               \
    NEXUS__COUNT(topic0, 32, "a topic is 32 bytes");                                        \
    NEXUS_MANIFEST_ASM(".byte 3\n.4byte 38\n.byte 0\n.4byte 1\n.byte 1\n" NEXUS__BYTES(topic0))
#define NEXUS_TRIGGER_ETH_LOGS_ADDRESS_TOPIC0(address, topic0)                              \
    NEXUS__COUNT(address, 20, "an address is 20 bytes");                                    \
    NEXUS__COUNT(topic0, 32, "a topic is 32 bytes");                                        \
    NEXUS_MANIFEST_ASM(".byte 3\n.4byte 58\n.byte 1\n" NEXUS__BYTES(address)                \
                       "\n.4byte 1\n.byte 1\n" NEXUS__BYTES(topic0))

/* ---- Entry points ------------------------------------------------------------------------ */
/* Use as function heads: NEXUS_ON_CALL() { ... }. NEXUS_ON_TASK functions return
 * NEXUS_TASK_CONTINUE or NEXUS_TASK_DONE. */

#define NEXUS_EXPORT(name) __attribute__((export_name(#name)))
#define NEXUS__ENTRY(name) \
    NEXUS_MANIFEST_ABI();  \
    NEXUS_EXPORT(name) void nexus_entry_##name(void)

#define NEXUS_INIT() NEXUS__ENTRY(init)
#define NEXUS_MIGRATE() NEXUS__ENTRY(migrate)
#define NEXUS_ON_CALL() NEXUS__ENTRY(on_call)
#define NEXUS_ON_ETH_LOG() NEXUS__ENTRY(on_eth_log)
#define NEXUS_ON_REPLY() NEXUS__ENTRY(on_reply)
#define NEXUS_QUERY() NEXUS__ENTRY(query)
#define NEXUS_ON_ETH_BLOCK()        \
    NEXUS_TRIGGER_ETH_BLOCKS();     \
    NEXUS__ENTRY(on_eth_block)
#define NEXUS_ON_TASK()       \
    NEXUS_MANIFEST_ABI();     \
    NEXUS_EXPORT(on_task) int32_t nexus_entry_on_task(void)
#define NEXUS_ON_TASK_EVERY(blocks) \
    NEXUS_TRIGGER_EVERY(blocks);    \
    NEXUS_ON_TASK()

#ifdef __cplusplus
}
#endif

#endif /* NEXUS_H */
