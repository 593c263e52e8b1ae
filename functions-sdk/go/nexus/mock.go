//go:build !wasip1

package nexus

import (
	"encoding/binary"
	"sort"
)

// Event is an event recorded by the mock host.
type Event struct {
	Topic string
	Data  []byte
}

// LogLine is a log line recorded by the mock host.
type LogLine struct {
	Level Level
	Msg   string
}

// MockHost is the in-memory host that backs the SDK off wasm, for go test. Reset it with
// [NewMock], then set Input/Context and inspect the rest after calling an entry point.
type MockHost struct {
	Input   []byte
	Output  []byte
	KV      map[string][]byte
	Events  []Event
	Logs    []LogLine
	Context Context
	Gas     int64
	// TaskScheduled records a call to TaskSchedule.
	TaskScheduled bool
	// Requests counts EthSend, RequestProof and Send calls (the next request id).
	Requests uint64
}

// Mock is the current mock host.
var Mock *MockHost

func init() { NewMock() }

// NewMock installs a fresh mock host and returns it.
func NewMock() *MockHost {
	Mock = &MockHost{KV: map[string][]byte{}, Gas: 1<<63 - 1, Context: Context{ChainID: "nexus-mock", Height: 1, Entry: -1}}
	return Mock
}

// Aborted is the panic value of Abort in the mock, so tests can recover it.
type Aborted struct{ Msg string }

func (a Aborted) Error() string { return a.Msg }

func sysInput() []byte       { return append([]byte(nil), Mock.Input...) }
func sysOutput(b []byte)     { Mock.Output = append([]byte(nil), b...) }
func sysKVSet(key, v []byte) { Mock.KV[string(key)] = append([]byte(nil), v...) }
func sysGasLeft() int64      { return Mock.Gas }
func sysTaskSchedule()       { Mock.TaskScheduled = true }
func sysAbort(msg string)    { panic(Aborted{msg}) }
func sysEmit(topic, d []byte) {
	Mock.Events = append(Mock.Events, Event{string(topic), append([]byte(nil), d...)})
}
func sysLog(l Level, m string) {
	Mock.Logs = append(Mock.Logs, LogLine{l, m})
}

func sysKVGet(key []byte) ([]byte, bool) {
	v, ok := Mock.KV[string(key)]
	return append([]byte(nil), v...), ok
}

func sysKVDelete(key []byte) bool {
	_, ok := Mock.KV[string(key)]
	delete(Mock.KV, string(key))
	return ok
}

// sysKVNext walks the keys in sorted order, as the host does (map order is random).
func sysKVNext(start []byte, flags int32) ([]byte, bool) {
	keys := make([]string, 0, len(Mock.KV))
	for k := range Mock.KV {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s, excl := string(start), flags&iterExclusive != 0
	found := -1
	if flags&iterReverse == 0 {
		for i, k := range keys {
			if k > s || (k == s && !excl) {
				found = i
				break
			}
		}
	} else {
		for i := len(keys) - 1; i >= 0; i-- {
			if s == "" || keys[i] < s || (keys[i] == s && !excl) {
				found = i
				break
			}
		}
	}
	if found < 0 {
		return nil, false
	}
	k, v := keys[found], Mock.KV[keys[found]]
	buf := binary.LittleEndian.AppendUint32(nil, uint32(len(k)))
	return append(append(buf, k...), v...), true
}

func sysContext() []byte {
	c := Mock.Context
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(c.ChainID)))
	b = append(b, c.ChainID...)
	b = binary.LittleEndian.AppendUint64(b, c.Height)
	b = binary.LittleEndian.AppendUint64(b, c.TimeNs)
	b = append(b, c.SelfID[:]...)
	b = append(b, c.Caller[:]...)
	b = binary.LittleEndian.AppendUint64(b, c.ValueLo)
	b = binary.LittleEndian.AppendUint64(b, c.ValueHi)
	if c.Entry >= 0 {
		b = append(b, 1, byte(c.Entry))
	} else {
		b = append(b, 0)
	}
	if c.HasEthBlock {
		b = binary.LittleEndian.AppendUint64(append(b, 1), c.EthBlock)
	} else {
		b = append(b, 0)
	}
	return b
}

func request() uint64 {
	id := Mock.Requests
	Mock.Requests++
	return id
}

func sysEthSend(*Address, []byte, uint64) uint64 { return request() }
func sysRequestProof(*Hash32, []byte) uint64     { return request() }
func sysSend(*Hash32, []byte, *[16]byte) uint64  { return request() }
