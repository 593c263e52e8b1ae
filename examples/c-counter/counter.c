/*
 * Example function in C: a counter in key-value storage that also keeps a history file.
 *
 * Same state layout and behaviour as examples/counter (key "count" = u64 little-endian; on_call
 * adds the decimal input or 1, emits "incremented", outputs the new value; query outputs it),
 * plus: every call appends "count=<n>" to /history.log through stdio, and query with input
 * "history" outputs that file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexus.h"

#define HISTORY "/history.log"

static uint64_t load(void) {
    uint8_t le[8];
    int32_t len = nexus_kv_get_str("count", le, sizeof le);
    if (len == NEXUS_NOT_FOUND) return 0;
    if (len != 8) nexus_abort_str("stored count is not 8 bytes");
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | le[i];
    return v;
}

static void store(uint64_t v) {
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(v >> (8 * i));
    nexus_kv_set_str("count", le, sizeof le);
}

/* Parses the whole input as a decimal amount; blank input means 1. */
static uint64_t amount(void) {
    char buf[32];
    if (nexus_input_copy(buf, sizeof buf) < 0) nexus_abort_str("amount is too long");
    char *p = buf;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    if (*p == 0) return 1;
    if (*p < '0' || *p > '9') nexus_abort_str("amount is not a whole number");
    uint64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) nexus_abort_str("amount is too large");
        v = v * 10 + d;
    }
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    if (*p != 0) nexus_abort_str("amount is not a whole number");
    return v;
}

NEXUS_INIT() { store(0); }

NEXUS_ON_CALL() {
    uint64_t by = amount();
    uint64_t v = load();
    if (v > UINT64_MAX - by) nexus_abort_str("counter would overflow");
    v += by;
    store(v);

    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, v);
    nexus_emit_str("incremented", text);
    nexus_output_str(text);

    FILE *f = fopen(HISTORY, "a");
    if (!f || fprintf(f, "count=%s\n", text) < 0 || fclose(f) != 0) nexus_abort_str("cannot append to " HISTORY);
}

NEXUS_QUERY() {
    char input[16];
    if (nexus_input_copy(input, sizeof input) >= 0 && strcmp(input, "history") == 0) {
        FILE *f = fopen(HISTORY, "r");
        if (!f) {
            nexus_output_write("", 0);
            return;
        }
        char *buf = NULL;
        size_t len = 0, cap = 0, n;
        char chunk[512];
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
            if (len + n > cap) {
                cap = 2 * (len + n);
                buf = realloc(buf, cap);
                if (!buf) nexus_abort_str("out of memory");
            }
            memcpy(buf + len, chunk, n);
            len += n;
        }
        fclose(f);
        nexus_output_write(buf, len);
        free(buf);
        return;
    }
    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, load());
    nexus_output_str(text);
}
