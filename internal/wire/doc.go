// Package wire holds the request and response shapes of the Heksher HTTP API
// v1 and their decoding, shared by the client core and the compatible server.
//
// # Shapes
//
// Every type here mirrors one JSON body of the API: [DeclareRequest] and
// [DeclareResponse] for POST /api/v1/settings/declare, [QueryResponse] for
// GET /api/v1/query, [ContextFeatures] for GET /api/v1/context_features and
// [SettingsList] for GET /api/v1/settings. Values whose type only the
// setting knows travel as [json.RawMessage].
//
// # Order
//
// A query answer's "settings" object is applied in the order it arrives, so
// [DecodeQuery] keeps that order in [QueryResponse.Settings], and
// [QueryResponse.MarshalJSON] writes it back in the same order.
//
// # Errors
//
// Decoding functions return errors that say where in the body the problem is
// (for example `settings["size"].rules[2].context_features[0]`); callers add
// the URL.
package wire

// Endpoint paths, relative to the service's base URL.
const (
	PathHealth          = "api/health"
	PathContextFeatures = "api/v1/context_features"
	PathDeclare         = "api/v1/settings/declare"
	PathQuery           = "api/v1/query"
	PathSettings        = "api/v1/settings"
)
