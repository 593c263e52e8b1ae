// Command go-counter is an example Nexus function in Go: a counter in key-value storage that
// keeps a history file through package os.
//
// Same state layout and behaviour as examples/counter (key "count" = u64 little-endian; on_call
// adds the decimal input or 1, emits "incremented", outputs the new value; query outputs it),
// plus: every call appends "count=<n>" to /history.log, and query with input "history" outputs
// that file. Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o go-counter.wasm .
package main

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"example.invalid/nexus/functions-sdk/go/nexus"
)

const (
	countKey = "count"
	history  = "/history.log"
)

// historyPath is a variable so native tests can point it at a temporary directory.
var historyPath = history

func load() uint64 {
	v, ok := nexus.Get([]byte(countKey))
	if !ok {
		return 0
	}
	if len(v) != 8 {
		nexus.Abort("stored count is not 8 bytes")
	}
	return binary.LittleEndian.Uint64(v)
}

func store(v uint64) { nexus.Set([]byte(countKey), binary.LittleEndian.AppendUint64(nil, v)) }

func start() { store(0) }

func increment() {
	amount := strings.TrimSpace(string(nexus.Input()))
	by := uint64(1)
	if amount != "" {
		n, err := strconv.ParseUint(amount, 10, 64)
		if err != nil {
			nexus.Abort("amount is not a whole number: " + err.Error())
		}
		by = n
	}
	v := load()
	if v > ^uint64(0)-by {
		nexus.Abort("counter would overflow")
	}
	v += by
	store(v)
	text := strconv.FormatUint(v, 10)
	nexus.Emit("incremented", []byte(text))
	nexus.OutputString(text)

	f, err := os.OpenFile(historyPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		_, err = f.WriteString("count=" + text + "\n")
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		nexus.Abort("cannot append to " + history + ": " + err.Error())
	}
}

func query() {
	if string(nexus.Input()) == "history" {
		b, err := os.ReadFile(historyPath)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			nexus.Abort("cannot read " + history + ": " + err.Error())
		}
		nexus.Output(b)
		return
	}
	nexus.OutputString(strconv.FormatUint(load(), 10))
}

// main is required by the Go toolchain but never runs: the module is a reactor (c-shared).
func main() {}
