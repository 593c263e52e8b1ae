package main

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An empty module with one unrelated custom section.
var module = append([]byte("\x00asm\x01\x00\x00\x00"), 0, 4, 3, 'a', 'b', 'c')

func TestManifestIsWrittenOnceAndEncodedLikeNexusTypes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.wasm")
	if err := os.WriteFile(path, module, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-every", "10", "-eth-log", "topic1=0x" + strings.Repeat("ab", 32), "-fuel", "7", path}
	for range 2 {
		if err := run(args); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(path)
	if !bytes.HasPrefix(got, module) {
		t.Fatal("the existing sections were not kept in front")
	}
	body := hex.EncodeToString(got[len(module):])
	want := "00" + "61" + "0e" + hex.EncodeToString([]byte("nexus.manifest")) +
		"01" + "04000000" + "01000000" +
		"03" + "27000000" + "00" + "02000000" + "00" + "01" + strings.Repeat("ab", 32) +
		"04" + "08000000" + "0a00000000000000" +
		"05" + "0b000000" + "01" + "0700000000000000" + "00" + "00"
	if body != want {
		t.Fatalf("section\n got %s\nwant %s", body, want)
	}
}

func TestBadFiltersAndModulesAreRefused(t *testing.T) {
	if _, err := ethLogFilter("address=0x12"); err == nil {
		t.Fatal("short address accepted")
	}
	if _, err := ethLogFilter("topic4=0x00"); err == nil {
		t.Fatal("topic4 accepted")
	}
	if _, err := withManifest([]byte("nope"), nil); err == nil {
		t.Fatal("non-wasm accepted")
	}
}
