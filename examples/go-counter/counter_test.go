//go:build !wasip1

package main

import (
	"path/filepath"
	"testing"

	"example.invalid/nexus/functions-sdk/go/nexus"
)

// call runs an entry point and returns the Abort message, if it aborted.
func call(f func()) (aborted string) {
	defer func() {
		if r := recover(); r != nil {
			aborted = r.(nexus.Aborted).Msg
		}
	}()
	f()
	return ""
}

func TestCountsAndKeepsAHistory(t *testing.T) {
	m := nexus.NewMock()
	historyPath = filepath.Join(t.TempDir(), "history.log")
	start()
	for _, in := range []string{"", " 41\n"} {
		m.Input = []byte(in)
		if msg := call(increment); msg != "" {
			t.Fatal(msg)
		}
	}
	if string(m.Output) != "42" || len(m.Events) != 2 || string(m.Events[1].Data) != "42" {
		t.Fatalf("output %q events %+v", m.Output, m.Events)
	}
	if got := m.KV["count"]; string(got) != "\x2a\x00\x00\x00\x00\x00\x00\x00" {
		t.Fatalf("stored %x", got)
	}
	m.Input = []byte("history")
	query()
	if string(m.Output) != "count=1\ncount=42\n" {
		t.Fatalf("history %q", m.Output)
	}
}

func TestBadInputAndOverflowAbort(t *testing.T) {
	m := nexus.NewMock()
	historyPath = filepath.Join(t.TempDir(), "history.log")
	m.KV["count"] = []byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	m.Input = []byte("two")
	if msg := call(increment); msg == "" {
		t.Fatal("a non-number was accepted")
	}
	m.Input = []byte("2")
	if msg := call(increment); msg != "counter would overflow" {
		t.Fatalf("got %q", msg)
	}
	m.KV["count"] = []byte{1}
	if msg := call(query); msg != "stored count is not 8 bytes" {
		t.Fatalf("got %q", msg)
	}
}
