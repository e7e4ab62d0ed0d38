package host

import (
	"slices"
	"strings"

	"github.com/heksher-go/heksher"
)

// FlagSetting implements admin.FlagBackend: the setting of that name, for
// the OFREP endpoints.
func (h *Host) FlagSetting(name string) (heksher.AnySetting, bool) {
	h.settingsMu.RLock()
	s, ok := h.settings[name]
	h.settingsMu.RUnlock()
	if !ok {
		return nil, false
	}
	return s, true
}

// FlagSettings implements admin.FlagBackend: every setting the host keeps,
// sorted by name.
func (h *Host) FlagSettings() []heksher.AnySetting {
	h.settingsMu.RLock()
	out := make([]heksher.AnySetting, 0, len(h.settings))
	for _, s := range h.settings {
		out = append(out, s)
	}
	h.settingsMu.RUnlock()
	slices.SortFunc(out, func(a, b heksher.AnySetting) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}
