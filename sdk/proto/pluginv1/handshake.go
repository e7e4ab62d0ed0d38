package pluginv1

// ProtocolVersion is the major version of this contract. A plugin built
// against another version is refused at start.
const ProtocolVersion = 1

// MagicCookieKey and MagicCookieValue are the environment variable the host
// sets when it starts a plugin. They are not a security measure: they let a
// plugin binary run by hand say so instead of waiting for a host.
const (
	MagicCookieKey   = "HEKSHER_PLUGIN"
	MagicCookieValue = "5d1c7f0e9a3b42c68e1f7a2d4b6c8e0f3a5b7c9d1e2f4a6b"
)

// PluginName is the name under which the plugin's gRPC client and server are
// registered in go-plugin's plugin set.
const PluginName = "heksher"

// HostPIDKey is the environment variable in which the host passes its
// process id, so that a plugin can tell when it has been orphaned even if
// the host died before the plugin started watching.
const HostPIDKey = "HEKSHER_PLUGIN_HOST_PID"
