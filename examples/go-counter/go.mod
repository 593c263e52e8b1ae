module example.invalid/nexus/examples/go-counter

go 1.24

require example.invalid/nexus/functions-sdk/go v0.0.0

replace example.invalid/nexus/functions-sdk/go => ../../functions-sdk/go
