//go:build wasip1

package nexus

import "unsafe"

// The "nexus" imports, signatures as in functions-sdk/ABI.md. Pointers and lengths are i32.

//go:wasmimport nexus input_len
func hostInputLen() int32

//go:wasmimport nexus input_read
func hostInputRead(ptr unsafe.Pointer)

//go:wasmimport nexus output_write
func hostOutputWrite(ptr unsafe.Pointer, n uint32)

//go:wasmimport nexus ret_read
func hostRetRead(ptr unsafe.Pointer)

//go:wasmimport nexus kv_get
func hostKVGet(key unsafe.Pointer, keyLen uint32) int32

//go:wasmimport nexus kv_set
func hostKVSet(key unsafe.Pointer, keyLen uint32, val unsafe.Pointer, valLen uint32)

//go:wasmimport nexus kv_delete
func hostKVDelete(key unsafe.Pointer, keyLen uint32) int32

//go:wasmimport nexus kv_next
func hostKVNext(key unsafe.Pointer, keyLen uint32, flags int32) int32

//go:wasmimport nexus emit_event
func hostEmitEvent(topic unsafe.Pointer, topicLen uint32, data unsafe.Pointer, dataLen uint32)

//go:wasmimport nexus log
func hostLog(level int32, msg unsafe.Pointer, n uint32)

//go:wasmimport nexus context
func hostContext() int32

//go:wasmimport nexus gas_left
func hostGasLeft() int64

//go:wasmimport nexus abort
func hostAbort(msg unsafe.Pointer, n uint32)

//go:wasmimport nexus task_schedule
func hostTaskSchedule()

//go:wasmimport nexus eth_send
func hostEthSend(target unsafe.Pointer, data unsafe.Pointer, dataLen uint32, gasLimit int64) int64

//go:wasmimport nexus request_proof
func hostRequestProof(programID unsafe.Pointer, input unsafe.Pointer, inputLen uint32) int64

//go:wasmimport nexus send
func hostSend(functionID unsafe.Pointer, data unsafe.Pointer, dataLen uint32, value unsafe.Pointer) int64

// ptr is the address of b's first byte, or nil for an empty slice (the host reads nothing then).
func ptr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

// takeRet copies n bytes of the return buffer out; ok is false for a negative n.
func takeRet(n int32) (b []byte, ok bool) {
	if n < 0 {
		return nil, false
	}
	b = make([]byte, n)
	if n > 0 {
		hostRetRead(ptr(b))
	}
	return b, true
}

func sysInput() []byte {
	b := make([]byte, hostInputLen())
	if len(b) > 0 {
		hostInputRead(ptr(b))
	}
	return b
}

func sysOutput(b []byte) { hostOutputWrite(ptr(b), uint32(len(b))) }

func sysKVGet(key []byte) ([]byte, bool) { return takeRet(hostKVGet(ptr(key), uint32(len(key)))) }

func sysKVSet(key, value []byte) {
	hostKVSet(ptr(key), uint32(len(key)), ptr(value), uint32(len(value)))
}

func sysKVDelete(key []byte) bool { return hostKVDelete(ptr(key), uint32(len(key))) == 1 }

func sysKVNext(start []byte, flags int32) ([]byte, bool) {
	return takeRet(hostKVNext(ptr(start), uint32(len(start)), flags))
}

func sysEmit(topic, data []byte) {
	hostEmitEvent(ptr(topic), uint32(len(topic)), ptr(data), uint32(len(data)))
}

func sysLog(level Level, msg string) {
	hostLog(int32(level), unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}

func sysContext() []byte {
	b, _ := takeRet(hostContext())
	return b
}

func sysGasLeft() int64 { return hostGasLeft() }

func sysAbort(msg string) {
	hostAbort(unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
	panic("unreachable: the host does not return from abort")
}

func sysTaskSchedule() { hostTaskSchedule() }

func sysEthSend(target *Address, data []byte, gasLimit uint64) uint64 {
	return uint64(hostEthSend(unsafe.Pointer(target), ptr(data), uint32(len(data)), int64(gasLimit)))
}

func sysRequestProof(programID *Hash32, input []byte) uint64 {
	return uint64(hostRequestProof(unsafe.Pointer(programID), ptr(input), uint32(len(input))))
}

func sysSend(functionID *Hash32, data []byte, value *[16]byte) uint64 {
	return uint64(hostSend(unsafe.Pointer(functionID), ptr(data), uint32(len(data)), unsafe.Pointer(value)))
}
