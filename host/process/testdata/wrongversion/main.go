// Command wrongversion is a plugin built against protocol version 2 of the
// handshake, which this host does not speak. Built by `make process-plugins`.
package main

import (
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

type nothing struct {
	goplugin.NetRPCUnsupportedPlugin
}

func main() {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: goplugin.HandshakeConfig{
			ProtocolVersion:  pluginv1.ProtocolVersion + 1,
			MagicCookieKey:   pluginv1.MagicCookieKey,
			MagicCookieValue: pluginv1.MagicCookieValue,
		},
		Plugins:    goplugin.PluginSet{pluginv1.PluginName: nothing{}},
		GRPCServer: goplugin.DefaultGRPCServer,
	})
}
