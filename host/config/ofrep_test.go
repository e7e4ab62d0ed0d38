package config

import (
	"strings"
	"testing"
)

func TestOFREPTargetingFeatureIsAContextFeature(t *testing.T) {
	c, _, err := Parse("host.yaml", []byte("context_features: [user, theme]\nadmin:\n  ofrep_targeting_feature: user\n  ofrep_strict_context: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Admin.OFREPTargetingFeature != "user" || !c.Admin.OFREPStrictContext {
		t.Fatalf("admin = %+v", c.Admin)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Admin.OFREPTargetingFeature = "usr"
	err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), "admin.ofrep_targeting_feature") || !strings.Contains(err.Error(), `"usr" is not one of context_features`) {
		t.Fatalf("a feature that is not a context feature: %v", err)
	}
}
