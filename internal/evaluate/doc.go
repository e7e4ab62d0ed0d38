// Package evaluate is the one mapping between a Heksher setting and the
// vocabulary of OpenFeature: every door that evaluates a setting for an
// outside caller (the OpenFeature provider heksherof, the host's OFREP
// endpoints) goes through it, and only translates its own protocol.
//
// # Context
//
// Evaluation-context attributes become context-feature values
// ([Explicit]): only the features the setting configures are taken, in
// its resolution order; other attributes are ignored, or refused with
// [InvalidContext] when [ContextOptions.RefuseUnknown] is set. The
// targeting key becomes the value of [ContextOptions.TargetingFeature]
// when one is named, and is ignored otherwise. Strings are taken as they
// are; numbers and booleans are written as Heksher expects them (42,
// 2.5, true); any other value (null, an object, a list) is refused with
// [InvalidContext]. A feature that resolution needs and that has no value
// (neither given nor defaulted by the client) is [InvalidContext], or
// [TargetingKeyMissing] when it is the targeting feature.
//
// # Values
//
// A setting's type string decides which OpenFeature types it answers
// ([Accepts]): bool as boolean; str and an Enum of strings as string; int
// as integer and as float; float as float; Flags (a string list),
// Sequence and Mapping as objects. Any other request is [TypeMismatch].
//
// # Reasons and variants
//
// A rule gives [TargetingMatch] with the rule's id as variant; the
// server default gives [Default]; the local default (the value written in
// code, also served before any value was retrieved) gives [Static]. The
// metadata says where the value came from ("source": "rule",
// "server_default" or "local_default"), and for a rule its id
// ("rule_id") and conditions ("condition.<feature>": value).
package evaluate
