// Package nexus is the Go SDK for Nexus functions: bindings to the "nexus" host ABI
// (functions-sdk/ABI.md) for programs built with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared.
//
// Export entry points with //go:wasmexport (init, on_call, query, on_task returning int32, ...),
// keep an empty func main, and read the input with [Input]. Files work through package os
// unchanged: the function's virtual filesystem is preopened as "/". On other targets the same
// calls go to an in-memory mock (see [Mock]), so function logic can be tested with go test.
//
// Go cannot put data in a custom wasm section, so a Go function's manifest (triggers, limits)
// is appended after the build with cmd/nexus-manifest.
package nexus

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Address is a 20-byte Ethereum-style account address.
type Address = [20]byte

// Hash32 is a 32-byte identifier (function id, program id, block hash, topic).
type Hash32 = [32]byte

// Level is a log line's severity.
type Level int32

// Log levels, in increasing severity.
const (
	Debug Level = 0
	Info  Level = 1
	Warn  Level = 2
	Error Level = 3
)

// on_task return values.
const (
	TaskDone     int32 = 0
	TaskContinue int32 = 1
)

// kv_next flags.
const (
	iterExclusive int32 = 1
	iterReverse   int32 = 2
)

// Input returns the entry point's input.
func Input() []byte { return sysInput() }

// Output sets the invocation's output, replacing any earlier one (at most 256 KiB).
func Output(b []byte) { sysOutput(b) }

// OutputString sets the output to s.
func OutputString(s string) { sysOutput([]byte(s)) }

// Get returns the value stored under key and whether there was one.
func Get(key []byte) ([]byte, bool) { return sysKVGet(key) }

// Set stores value under key (key at most 1 KiB, value at most 1 MiB).
func Set(key, value []byte) { sysKVSet(key, value) }

// Delete removes key and reports whether it had a value.
func Delete(key []byte) bool { return sysKVDelete(key) }

// Entry is one key-value pair returned by [Scan].
type Entry struct {
	Key, Value []byte
}

// Scan returns the entries whose keys start with prefix, in ascending key order, at most limit
// of them (limit <= 0 means all).
func Scan(prefix []byte, limit int) []Entry {
	var out []Entry
	start, flags := prefix, int32(0)
	for limit <= 0 || len(out) < limit {
		buf, ok := sysKVNext(start, flags)
		if !ok {
			break
		}
		n := binary.LittleEndian.Uint32(buf[:4])
		e := Entry{Key: buf[4 : 4+n], Value: buf[4+n:]}
		if len(e.Key) < len(prefix) || string(e.Key[:len(prefix)]) != string(prefix) {
			break
		}
		out = append(out, e)
		start, flags = e.Key, iterExclusive
	}
	return out
}

// Emit records an event (topic at most 256 bytes, data at most 256 KiB).
func Emit(topic string, data []byte) { sysEmit([]byte(topic), data) }

// Log writes a log line.
func Log(level Level, msg string) { sysLog(level, msg) }

// Logf writes a formatted info line.
func Logf(format string, args ...any) { sysLog(Info, fmt.Sprintf(format, args...)) }

// Abort fails the invocation with msg; none of its writes are kept. It does not return.
func Abort(msg string) { sysAbort(msg) }

// CatchPanic, deferred at the top of an entry point, turns a panic into [Abort] with its message
// instead of the Go runtime's crash report and exit code.
func CatchPanic() {
	if r := recover(); r != nil {
		Abort(fmt.Sprint("panic: ", r))
	}
}

// GasLeft returns the fuel remaining in this invocation.
func GasLeft() int64 { return sysGasLeft() }

// TaskSchedule asks the chain to call on_task from the next block on.
func TaskSchedule() { sysTaskSchedule() }

// EthSend sends a threshold-signed message to the Ethereum contract target and returns the
// request id; the outcome arrives in on_reply.
func EthSend(target Address, data []byte, gasLimit uint64) uint64 {
	return sysEthSend(&target, data, min(gasLimit, 1<<63-1))
}

// RequestProof asks for a zkVM proof of programID on input and returns the request id.
func RequestProof(programID Hash32, input []byte) uint64 { return sysRequestProof(&programID, input) }

// Send calls the function functionID with data (and value tokens, low and high 64 bits) after
// this invocation returns, and returns the request id.
func Send(functionID Hash32, data []byte, valueLo, valueHi uint64) uint64 {
	if valueLo == 0 && valueHi == 0 {
		return sysSend(&functionID, data, nil)
	}
	var v [16]byte
	binary.LittleEndian.PutUint64(v[:8], valueLo)
	binary.LittleEndian.PutUint64(v[8:], valueHi)
	return sysSend(&functionID, data, &v)
}

// Context is the environment of one invocation (nexus_types::Context).
type Context struct {
	ChainID string
	Height  uint64
	// TimeNs is the block time in nanoseconds since the Unix epoch (what time.Now reports too).
	TimeNs uint64
	SelfID Hash32
	Caller Address
	// ValueLo and ValueHi are the low and high 64 bits of the native tokens attached.
	ValueLo, ValueHi uint64
	// Entry is the running entry point's tag (nexus_types::EntryPoint), or -1 if unknown.
	Entry int
	// EthBlock is the triggering Ethereum block number, if HasEthBlock.
	EthBlock    uint64
	HasEthBlock bool
}

var errShort = errors.New("context encoding ended early")

// GetContext returns the invocation context.
func GetContext() Context {
	c, err := decodeContext(sysContext())
	if err != nil {
		Abort("host sent a bad context: " + err.Error())
	}
	return c
}

func decodeContext(b []byte) (Context, error) {
	var c Context
	take := func(n int) ([]byte, error) {
		if len(b) < n {
			return nil, errShort
		}
		v := b[:n]
		b = b[n:]
		return v, nil
	}
	u64 := func() (uint64, error) {
		v, err := take(8)
		if err != nil {
			return 0, err
		}
		return binary.LittleEndian.Uint64(v), nil
	}
	v, err := take(4)
	if err != nil {
		return c, err
	}
	name, err := take(int(binary.LittleEndian.Uint32(v)))
	if err != nil {
		return c, err
	}
	c.ChainID = string(name)
	if c.Height, err = u64(); err != nil {
		return c, err
	}
	if c.TimeNs, err = u64(); err != nil {
		return c, err
	}
	if v, err = take(32); err != nil {
		return c, err
	}
	copy(c.SelfID[:], v)
	if v, err = take(20); err != nil {
		return c, err
	}
	copy(c.Caller[:], v)
	if c.ValueLo, err = u64(); err != nil {
		return c, err
	}
	if c.ValueHi, err = u64(); err != nil {
		return c, err
	}
	if v, err = take(1); err != nil {
		return c, err
	}
	c.Entry = -1
	if v[0] == 1 {
		if v, err = take(1); err != nil {
			return c, err
		}
		c.Entry = int(v[0])
	}
	if v, err = take(1); err != nil {
		return c, err
	}
	if v[0] == 1 {
		if c.EthBlock, err = u64(); err != nil {
			return c, err
		}
		c.HasEthBlock = true
	}
	if len(b) != 0 {
		return c, errors.New("trailing bytes after the context")
	}
	return c, nil
}
