//go:build !wasip1

package nexus

import (
	"fmt"
	"testing"
)

func TestScanWalksAPrefixInKeyOrder(t *testing.T) {
	NewMock()
	for _, k := range []string{"b/2", "a", "b/1", "b/3", "c"} {
		Set([]byte(k), []byte("v"+k))
	}
	var got []string
	for _, e := range Scan([]byte("b/"), 0) {
		got = append(got, string(e.Key)+"="+string(e.Value))
	}
	if fmt.Sprint(got) != "[b/1=vb/1 b/2=vb/2 b/3=vb/3]" {
		t.Fatalf("scan: %v", got)
	}
	if n := len(Scan(nil, 2)); n != 2 {
		t.Fatalf("limit: %d entries", n)
	}
	if !Delete([]byte("a")) || Delete([]byte("a")) {
		t.Fatal("delete reports presence")
	}
}

func TestContextRoundTripsThroughTheAbiEncoding(t *testing.T) {
	m := NewMock()
	m.Context = Context{ChainID: "c", Height: 7, TimeNs: 9, Caller: Address{1}, ValueLo: 5, Entry: 2, EthBlock: 11, HasEthBlock: true}
	if got := GetContext(); got != m.Context {
		t.Fatalf("got %+v, want %+v", got, m.Context)
	}
	if _, err := decodeContext(sysContext()[:10]); err == nil {
		t.Fatal("a truncated context decoded")
	}
}

func TestAbortAndCatchPanicFailWithTheMessage(t *testing.T) {
	NewMock()
	defer func() {
		if r, ok := recover().(Aborted); !ok || r.Msg != "panic: boom" {
			t.Fatalf("recovered %v", r)
		}
	}()
	func() {
		defer CatchPanic()
		panic("boom")
	}()
}

func TestRequestIdsCountUp(t *testing.T) {
	NewMock()
	a := EthSend(Address{}, nil, 1)
	b := RequestProof(Hash32{}, nil)
	c := Send(Hash32{}, nil, 1, 0)
	if a != 0 || b != 1 || c != 2 {
		t.Fatalf("ids %d %d %d", a, b, c)
	}
}
