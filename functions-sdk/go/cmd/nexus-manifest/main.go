// Command nexus-manifest writes the "nexus.manifest" custom section (functions-sdk/ABI.md) into
// a wasm module, for toolchains that cannot emit custom sections themselves, such as Go.
//
//	nexus-manifest [-every N] [-eth-blocks] [-eth-log address=0x..,topic0=0x..]... \
//	               [-fuel N] [-memory BYTES] [-storage BYTES] f.wasm
//
// It replaces any existing nexus.manifest section, so running it twice gives the same file.
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// Record tags (nexus_types::manifest).
const (
	tagABI       = 1
	tagEthBlocks = 2
	tagEthLogs   = 3
	tagEvery     = 4
	tagLimits    = 5
)

type logFilters []string

func (l *logFilters) String() string     { return strings.Join(*l, " ") }
func (l *logFilters) Set(s string) error { *l = append(*l, s); return nil }

func record(tag byte, payload []byte) []byte {
	out := binary.LittleEndian.AppendUint32([]byte{tag}, uint32(len(payload)))
	return append(out, payload...)
}

func optU64(out []byte, v uint64) []byte {
	if v == 0 {
		return append(out, 0)
	}
	return binary.LittleEndian.AppendUint64(append(out, 1), v)
}

func hexBytes(s string, n int) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"))
	if err != nil || len(b) != n {
		return nil, fmt.Errorf("%q is not 0x followed by %d hex digits", s, 2*n)
	}
	return b, nil
}

// ethLogFilter encodes nexus_types::EthLogFilter from "address=0x..,topic0=0x..,...".
func ethLogFilter(spec string) ([]byte, error) {
	var addr []byte
	var topics [][]byte
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return nil, fmt.Errorf("%q: expected key=value", kv)
		}
		switch {
		case k == "address":
			b, err := hexBytes(v, 20)
			if err != nil {
				return nil, err
			}
			addr = b
		case len(k) == 6 && strings.HasPrefix(k, "topic") && k[5] >= '0' && k[5] <= '3':
			b, err := hexBytes(v, 32)
			if err != nil {
				return nil, err
			}
			i := int(k[5] - '0')
			for len(topics) <= i {
				topics = append(topics, nil)
			}
			topics[i] = b
		default:
			return nil, fmt.Errorf("unknown filter key %q (address, topic0..topic3)", k)
		}
	}
	var out []byte
	if addr == nil {
		out = append(out, 0)
	} else {
		out = append(append(out, 1), addr...)
	}
	out = binary.LittleEndian.AppendUint32(out, uint32(len(topics)))
	for _, t := range topics {
		if t == nil {
			out = append(out, 0)
		} else {
			out = append(append(out, 1), t...)
		}
	}
	return out, nil
}

func uleb(out []byte, v uint64) []byte {
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}

func readUleb(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errors.New("bad LEB128 number")
}

// withManifest returns the module with every nexus.manifest section replaced by one holding body.
func withManifest(wasm, body []byte) ([]byte, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:4], []byte("\x00asm")) {
		return nil, errors.New("not a wasm module")
	}
	out := append([]byte(nil), wasm[:8]...)
	for i := 8; i < len(wasm); {
		id := wasm[i]
		size, n, err := readUleb(wasm[i+1:])
		if err != nil || i+1+n+int(size) > len(wasm) {
			return nil, errors.New("truncated section")
		}
		end := i + 1 + n + int(size)
		if id == 0 {
			content := wasm[i+1+n : end]
			nameLen, m, err := readUleb(content)
			if err == nil && m+int(nameLen) <= len(content) && string(content[m:m+int(nameLen)]) == "nexus.manifest" {
				i = end
				continue
			}
		}
		out = append(out, wasm[i:end]...)
		i = end
	}
	name := "nexus.manifest"
	content := append(uleb(nil, uint64(len(name))), name...)
	content = append(content, body...)
	out = append(out, 0)
	out = uleb(out, uint64(len(content)))
	return append(out, content...), nil
}

func run(args []string) error {
	fs := flag.NewFlagSet("nexus-manifest", flag.ContinueOnError)
	every := fs.Uint64("every", 0, "run on_task every N blocks")
	ethBlocks := fs.Bool("eth-blocks", false, "run on_eth_block for every finalized Ethereum block")
	var logs logFilters
	fs.Var(&logs, "eth-log", "run on_eth_log for logs matching address=0x..,topic0=0x.. (repeatable)")
	fuel := fs.Uint64("fuel", 0, "fuel per invocation (0 = chain default)")
	memory := fs.Uint64("memory", 0, "linear memory bytes (0 = chain default)")
	storage := fs.Uint64("storage", 0, "storage bytes (0 = chain default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: nexus-manifest [flags] f.wasm")
	}
	body := record(tagABI, binary.LittleEndian.AppendUint32(nil, 1))
	if *ethBlocks {
		body = append(body, record(tagEthBlocks, nil)...)
	}
	for _, spec := range logs {
		f, err := ethLogFilter(spec)
		if err != nil {
			return fmt.Errorf("-eth-log: %w", err)
		}
		body = append(body, record(tagEthLogs, f)...)
	}
	if *every > 0 {
		body = append(body, record(tagEvery, binary.LittleEndian.AppendUint64(nil, *every))...)
	}
	if *fuel != 0 || *memory != 0 || *storage != 0 {
		body = append(body, record(tagLimits, optU64(optU64(optU64(nil, *fuel), *memory), *storage))...)
	}
	path := fs.Arg(0)
	wasm, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := withManifest(wasm, body)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, out, 0o644)
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "nexus-manifest:", err)
		os.Exit(1)
	}
}
