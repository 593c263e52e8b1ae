module example.invalid/nexus/functions-sdk/go

go 1.24
