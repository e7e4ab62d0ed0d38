//go:build tools

// Package tools pins the project's dependencies while the packages that use
// them are being written, so that `go mod tidy` keeps them in go.mod.
package tools

import (
	_ "github.com/hashicorp/go-hclog"
	_ "github.com/hashicorp/go-plugin"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/tetratelabs/wazero"
	_ "go.uber.org/goleak"
	_ "google.golang.org/grpc"
	_ "google.golang.org/protobuf/proto"
	_ "gopkg.in/yaml.v3"
)
