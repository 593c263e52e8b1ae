//go:build wasip1

package main

import "example.invalid/nexus/functions-sdk/go/nexus"

//go:wasmexport init
func exportInit() {
	defer nexus.CatchPanic()
	start()
}

//go:wasmexport on_call
func exportOnCall() {
	defer nexus.CatchPanic()
	increment()
}

//go:wasmexport query
func exportQuery() {
	defer nexus.CatchPanic()
	query()
}
